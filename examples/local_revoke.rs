//! Revoke tokens against the crate's own local S2-compatible server.
//!
//! `cargo run --example local_revoke --features local-server`

use s2_openapi::local_server::LocalServer;
use s2_openapi::{Client, ErrorCode};
use secrecy::ExposeSecret;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = LocalServer::builder().issue("ci-token-1").start().await?;
    let client = Client::builder()
        .access_token(server.access_token().expose_secret())
        .endpoint(server.endpoint())
        .build()?;

    let revoked = client.revoke_access_token("ci-token-1").await?;
    println!("revoked {} (HTTP {})", revoked.id, revoked.status.as_u16());

    // Revoking it again: S2 answers 404 access_token_not_found.
    match client.revoke_access_token("ci-token-1").await {
        Err(e) if e.code() == Some(&ErrorCode::AccessTokenNotFound) => {
            println!("already gone: {e}");
        }
        other => println!("unexpected: {other:?}"),
    }
    server.shutdown().await?;
    Ok(())
}
