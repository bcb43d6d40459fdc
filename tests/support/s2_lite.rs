//! S2's own open-source server, `s2-lite`, started per test on a free
//! loopback port, and what the tests and benches built from a whole-API
//! spec do with it.
//!
//! The binary comes from `S2_LITE_BIN`, else
//! `~/.cache/s2-openapi/s2-lite-0.43.4/bin/server`, where `.ci/run`
//! installs it.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use s2_openapi::Client;

pub struct S2Lite {
    child: Child,
    /// Where the server's output goes: shown when a test using it fails.
    log: PathBuf,
    pub endpoint: String,
}

/// The s2-lite binary, if it is installed.
pub fn binary() -> Option<PathBuf> {
    std::env::var_os("S2_LITE_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/s2-openapi/s2-lite-0.43.4/bin/server"))
        })
        .filter(|bin| bin.is_file())
}

impl S2Lite {
    /// Starts s2-lite; a test that asked for it fails without it.
    pub async fn start() -> Self {
        Self::start_if_installed()
            .await
            .expect("no s2-lite binary: set S2_LITE_BIN, or install it as .ci/run does")
    }

    /// Starts s2-lite when it is installed, and returns once it answers.
    pub async fn start_if_installed() -> Option<Self> {
        let bin = binary()?;
        let port = super::free_port();
        // A name only this server has (its storage path, which its
        // dashboard reports): the server that answers on the port is this
        // one, not another that took the port first.
        let tag = format!("s2-openapi-test-{}-{port}", std::process::id());
        let log = std::env::temp_dir().join(format!("{tag}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--path", &tag])
            .env_remove("S2LITE_NO_DASHBOARD")
            .env("NO_COLOR", "1")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            log,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Bounded: whatever else may hold the port must not stall the wait.
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let config = format!("{}/dashboard/config.json", server.endpoint);
        let started = Instant::now();
        loop {
            if let Ok(answer) = probe.get(&config).send().await {
                let config: serde_json::Value = answer.json().await.unwrap_or_default();
                if config["path"] == tag.as_str() {
                    return Some(server);
                }
            }
            let exited = server.child.try_wait().unwrap();
            assert!(exited.is_none(), "s2-lite exited at start: {exited:?}");
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "s2-lite did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn client(&self, http2: bool) -> Client {
        Client::builder()
            .access_token("s2-lite-ignores-tokens")
            .endpoint(&self.endpoint)
            .http2_prior_knowledge(http2)
            .build()
            .unwrap()
    }
}

impl Drop for S2Lite {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What the server was doing is part of why the test failed.
            let status = self.child.try_wait();
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "s2-lite at {} (exited: {status:?}), its last lines:\n{}",
                self.endpoint,
                lines[lines.len().saturating_sub(30)..].join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Creates the basin `name` and returns its handle. Its description may
/// not decode: the 2025-11-05 spec requires `BasinInfo.scope`, which
/// s2-lite (0.43.4) omits.
#[cfg(s2_operation = "create_basin")]
pub async fn create_basin(
    client: &Client,
    name: &str,
) -> Result<s2_openapi::Basin, s2_openapi::Error> {
    let request = s2_openapi::types::builder::CreateBasinRequest::default().basin(name);
    match client.generated().create_basin().body(request).await {
        Ok(_) | Err(s2_openapi::Error::InvalidBody(_)) => client.basin(name),
        Err(e) => Err(e),
    }
}

/// Deletes the basin `name`.
#[cfg(s2_operation = "delete_basin")]
pub async fn delete_basin(client: &Client, name: &str) -> Result<(), s2_openapi::Error> {
    client.generated().delete_basin().basin(name).await
}

/// Creates the stream `name` in `basin`.
#[cfg(s2_operation = "create_stream")]
pub async fn create_stream(basin: &s2_openapi::Basin, name: &str) -> Result<(), s2_openapi::Error> {
    let request = s2_openapi::types::builder::CreateStreamRequest::default().stream(name);
    basin
        .generated()
        .create_stream()
        .body(request)
        .await
        .map(drop)
}

/// Appends records with `bodies` to `stream`, `batch` records an append.
#[cfg(s2_operation = "append")]
pub async fn append(
    basin: &s2_openapi::Basin,
    stream: &str,
    bodies: impl IntoIterator<Item = Vec<u8>>,
    batch: usize,
) -> Result<(), s2_openapi::Error> {
    use s2_openapi::types;

    let mut bodies = bodies.into_iter().peekable();
    while bodies.peek().is_some() {
        let records: Vec<types::AppendRecord> = bodies
            .by_ref()
            .take(batch)
            .map(|body| types::AppendRecord {
                body: Some(body.into()),
                headers: Vec::new(),
                timestamp: None,
            })
            .collect();
        basin
            .generated()
            .append()
            .stream(stream)
            .body(types::builder::AppendInput::default().records(records))
            .await?;
    }
    Ok(())
}
