//! The `s2-revoke` binary, run as a user would.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

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
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["revoked demo-1", "revoked demo-2"]);
    assert!(
        text(&out.stderr).contains("2 revoked, 0 already gone, 0 refused, 0 failed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_refused_id_is_named_and_exits_1() {
    let out = s2_revoke(&["--local", "ok-1", ".."], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("revoked ok-1\n"), "{stdout}");
    assert!(
        stdout.contains("refused .. (argument 2): refused before sending"),
        "{stdout}"
    );
}

#[test]
fn server_errors_name_the_id_and_s2_code() {
    // Nothing listens on the endpoint: a transport failure, exit 1.
    let endpoint = unreachable_endpoint();
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
    let endpoint = unreachable_endpoint();
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

fn unreachable_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    endpoint
}

#[test]
fn ids_from_stdin_with_json_output_get_one_outcome_each() {
    // --local issues only argument ids; stdin ids are unknown to it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_s2-revoke"))
        .args(["--local", "--json", "--from-file", "-", "issued-1"])
        .env_remove("S2_ACCESS_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"  unknown-1  \n\n..\nissued-1\n\t\nunknown-2")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let mut rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by_key(|r| {
        (
            r["line"].as_u64().unwrap_or(0),
            r["argument"].as_u64().unwrap_or(0),
        )
    });
    let summary: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            let at = r
                .get("line")
                .map_or_else(|| format!("arg {}", r["argument"]), |l| format!("line {l}"));
            (
                at,
                r["id"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect =
        |at: &str, id: &str, outcome: &str| (at.to_owned(), id.to_owned(), outcome.to_owned());
    assert_eq!(
        summary,
        [
            expect("arg 1", "issued-1", "revoked"),
            expect("line 1", "unknown-1", "already_gone"),
            expect("line 3", "..", "refused"),
            expect("line 4", "issued-1", "duplicate"),
            expect("line 6", "unknown-2", "already_gone"),
        ]
    );
    let gone = rows.iter().find(|r| r["id"] == "unknown-1").unwrap();
    assert_eq!(gone["status"], 404);
    assert_eq!(gone["code"], "access_token_not_found");
    let duplicate = rows.iter().find(|r| r["outcome"] == "duplicate").unwrap();
    assert_eq!(duplicate["first"], "revoked");
}

#[test]
fn ids_from_a_file_and_a_missing_file() {
    let dir = std::env::temp_dir().join(format!("s2-revoke-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ids.txt");
    std::fs::write(&path, "a\nb\n\nc\n").unwrap();
    let endpoint = unreachable_endpoint();
    let out = s2_revoke(
        &[
            "--endpoint",
            &endpoint,
            "--quiet",
            "--from-file",
            path.to_str().unwrap(),
        ],
        &[("S2_ACCESS_TOKEN", "t")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("failed  "))
            .count(),
        3
    );
    assert!(
        text(&out.stderr).is_empty(),
        "--quiet: {}",
        text(&out.stderr)
    );
    let out = s2_revoke(
        &["--from-file", "/nonexistent/ids", "--endpoint", &endpoint],
        &[("S2_ACCESS_TOKEN", "t")],
    );
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ctrl_c_stops_sending_and_reports_every_id_not_attempted() {
    // Every request stays in flight.
    let endpoint = support::silent_endpoint();
    let ids: Vec<String> = (0..50).map(|i| format!("id-{i}")).collect();
    let mut args = vec![
        "--endpoint".to_owned(),
        endpoint,
        "--concurrency".into(),
        "4".into(),
        "--json".into(),
    ];
    args.extend(ids.iter().cloned());
    let child = Command::new(env!("CARGO_BIN_EXE_s2-revoke"))
        .args(&args)
        .env("S2_ACCESS_TOKEN", "t")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Every id exactly once.
    let mut seen: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    seen.sort_unstable();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(seen, expected);
    let not_attempted = rows
        .iter()
        .filter(|r| r["outcome"] == "not_attempted")
        .count();
    // The 4 in flight finished (timed out); the other 46 were never sent.
    assert_eq!(not_attempted, 46, "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("stopping"),
        "{}",
        text(&out.stderr)
    );
}
