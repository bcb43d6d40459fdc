//! The `s2-revoke` binary, run as a user would.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn s2_revoke(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_s2-revoke"));
    command
        .args(args)
        .env_remove("S2_ACCESS_TOKEN")
        .env_remove("S2_ACCOUNT_ENDPOINT");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn local_demo_revokes_every_id_and_exits_0() {
    let out = s2_revoke(&["--local", "demo-1", "demo-2"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout, "revoked demo-1\nrevoked demo-2\n");
    assert!(text(&out.stderr).contains("2 revoked, 0 failed"));
}

#[test]
fn a_refused_id_is_named_and_exits_1() {
    let out = s2_revoke(&["--local", "ok-1", ".."], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("revoked ok-1\n"), "{stdout}");
    assert!(
        stdout.contains("failed  ..: refused before sending"),
        "{stdout}"
    );
}

#[test]
fn server_errors_name_the_id_and_s2_code() {
    // Nothing listens on the endpoint: a transport failure, exit 1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let secret = "cli-secret-token-123";
    let out = s2_revoke(
        &["--endpoint", &endpoint, "gone"],
        &[("S2_ACCESS_TOKEN", secret)],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("failed  gone: cannot connect"),
        "{stdout}"
    );
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
}

#[test]
fn configuration_and_usage_errors_exit_2() {
    let out = s2_revoke(&["some-id"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no access token"),
        "{}",
        text(&out.stderr)
    );

    let out = s2_revoke(
        &["--endpoint", "ftp://x", "some-id"],
        &[("S2_ACCESS_TOKEN", "t")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("must use http or https"));

    let out = s2_revoke(
        &["--endpoint", "http://example.com", "x"],
        &[("S2_ACCESS_TOKEN", "t")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("clear text"),
        "{}",
        text(&out.stderr)
    );

    let out = s2_revoke(&[], &[]);
    assert_eq!(out.status.code(), Some(2));

    let out = s2_revoke(&["--access-token-file", "/nonexistent/token", "x"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/token"));
}

#[test]
fn token_file_is_used_and_never_echoed() {
    let dir = std::env::temp_dir().join(format!("s2-revoke-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("token");
    std::fs::write(&path, "file-secret-token-456\n").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = s2_revoke(
        &[
            "--endpoint",
            &endpoint,
            "--access-token-file",
            path.to_str().unwrap(),
            "x",
        ],
        &[],
    );
    // The token was accepted (we got as far as connecting).
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(!all.contains("file-secret-token-456"), "{all}");
    std::fs::remove_dir_all(&dir).unwrap();
}
