//! S2's own open-source server, `s2-lite`, started per test on a free
//! loopback port, and what the tests and benches built from a whole-API
//! spec do with it.
//!
//! The binary comes from `S2_LITE_BIN`, else
//! `~/.cache/s2-openapi/s2-lite-0.43.4/bin/server`, where `.ci/run`
//! installs it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use s2_openapi::Client;

pub struct S2Lite {
    child: Child,
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
    pub fn start() -> Self {
        Self::start_if_installed()
            .expect("no s2-lite binary: set S2_LITE_BIN, or install it as .ci/run does")
    }

    /// Starts s2-lite when it is installed.
    pub fn start_if_installed() -> Option<Self> {
        let bin = binary()?;
        let port = super::free_port();
        let child = Command::new(&bin)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        loop {
            // Answering on the port, and still running: the server there is
            // this one (an s2-lite that could not bind it has exited).
            let exited = server.child.try_wait().unwrap();
            assert!(exited.is_none(), "s2-lite exited at start: {exited:?}");
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "s2-lite did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
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
        let _ = self.child.kill();
        let _ = self.child.wait();
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
