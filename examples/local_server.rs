//! Runs the local S2-compatible server until Ctrl-C, for tools that test
//! it from outside (CI runs schemathesis against it).
//!
//! `S2_ACCESS_TOKEN=t cargo run --example local_server --features local-server -- ID...`
//!
//! Prints the endpoint on the first line of stdout.

use s2_openapi::local_server::LocalServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = LocalServer::builder().issue_all(std::env::args().skip(1));
    if let Ok(token) = std::env::var("S2_ACCESS_TOKEN") {
        builder = builder.access_token(token);
    }
    let server = builder.start().await?;
    println!("{}", server.endpoint());
    tokio::signal::ctrl_c().await?;
    server.shutdown().await?;
    Ok(())
}
