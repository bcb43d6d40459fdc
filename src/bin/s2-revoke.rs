//! `s2-revoke`: revoke S2 access tokens by id.
//!
//! The token comes from `S2_ACCESS_TOKEN` or `--access-token-file`, never
//! from an argument (arguments are visible to other users of the machine).
//! Exit status: 0 when every id was revoked, 1 when any failed, 2 for usage
//! or configuration errors.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use s2_openapi::local_server::LocalServer;
use s2_openapi::{Client, ClientBuilder, Error};
use secrecy::ExposeSecret;

/// Revoke S2 access tokens by id.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Access token ids to revoke.
    #[arg(required = true, value_name = "ID")]
    ids: Vec<String>,

    /// S2 account endpoint, such as http://localhost:8080 [default: the spec's server]
    #[arg(
        long,
        env = "S2_ACCOUNT_ENDPOINT",
        value_name = "URL",
        conflicts_with = "local"
    )]
    endpoint: Option<String>,

    /// Read the access token from this file (surrounding whitespace is
    /// ignored) instead of S2_ACCESS_TOKEN.
    #[arg(long, value_name = "PATH", conflicts_with = "local")]
    access_token_file: Option<PathBuf>,

    /// Offline demo: start an in-process S2-compatible server with the
    /// given ids issued, and revoke them there.
    #[arg(long)]
    local: bool,

    /// Speak HTTP/2 with prior knowledge on http:// endpoints (h2c).
    #[arg(long)]
    http2: bool,

    /// Allow a plain http:// endpoint that is not loopback (the token then
    /// crosses the network in clear text).
    #[arg(long)]
    allow_insecure_http: bool,

    /// Trust this root certificate (PEM) for https://, e.g. s2-lite's
    /// self-signed one.
    #[arg(long, value_name = "PATH", conflicts_with = "local")]
    root_certificate: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("s2-revoke: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let (client, server) = match connect(&args).await {
        Ok(pair) => pair,
        Err(message) => {
            eprintln!("s2-revoke: {message}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0usize;
    for id in &args.ids {
        match client.revoke_access_token(id).await {
            Ok(_) => println!("revoked {id}"),
            Err(e) => {
                failed += 1;
                println!("failed  {id}: {}", describe(&e));
            }
        }
    }
    let revoked = args.ids.len() - failed;
    eprintln!("{revoked} revoked, {failed} failed");
    if let Some(server) = server {
        let _ = server.shutdown().await;
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Builds the client, starting the local server first with `--local`.
async fn connect(args: &Args) -> Result<(Client, Option<LocalServer>), String> {
    let mut builder = ClientBuilder::from_env()
        .http2_prior_knowledge(args.http2)
        .allow_insecure_http(args.allow_insecure_http);
    let mut server = None;
    if args.local {
        let local = LocalServer::builder()
            .issue_all(args.ids.iter().cloned())
            .start()
            .await
            .map_err(|e| format!("cannot start the local server: {e}"))?;
        builder = builder
            .endpoint(local.endpoint())
            .access_token(local.access_token().expose_secret());
        eprintln!("local S2-compatible server at {}", local.endpoint());
        server = Some(local);
    } else {
        if let Some(endpoint) = &args.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if let Some(path) = &args.root_certificate {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read the root certificate {}: {e}", path.display()))?;
            builder = builder.add_root_certificate_pem(pem);
        }
        if let Some(path) = &args.access_token_file {
            let token = std::fs::read_to_string(path).map_err(|e| {
                format!("cannot read the access token file {}: {e}", path.display())
            })?;
            builder = builder.access_token(token.trim());
        } else if std::env::var_os(s2_openapi::ENV_ACCESS_TOKEN).is_none_or(|t| t.is_empty()) {
            return Err(format!(
                "no access token: set {} or pass --access-token-file",
                s2_openapi::ENV_ACCESS_TOKEN
            ));
        }
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    Ok((client, server))
}

/// One line naming S2's code (or the kind of failure) and what happened.
fn describe(e: &Error) -> String {
    match (e.code(), e.status()) {
        (Some(code), Some(status)) => format!("{code} (HTTP {}): {e}", status.as_u16()),
        (None, Some(status)) => format!("HTTP {}: {e}", status.as_u16()),
        _ if e.is_invalid_input() => format!("refused before sending: {e}"),
        _ => e.to_string(),
    }
}
