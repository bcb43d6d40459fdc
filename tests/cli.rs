//! The `s2-revoke` binary, run as a user would.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
    let endpoint = support::closed_endpoint();
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
    let endpoint = support::closed_endpoint();
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
        .write_all(b" unknown-1 \n\n..\nissued-1\r\n\t\nunknown-2")
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
            // Spaces are part of an id (S2 allows them); a line ending,
            // `\r\n` included, is not.
            expect("line 1", " unknown-1 ", "already_gone"),
            expect("line 3", "..", "refused"),
            expect("line 4", "issued-1", "duplicate"),
            expect("line 5", "\t", "already_gone"),
            expect("line 6", "unknown-2", "already_gone"),
        ]
    );
    let gone = rows.iter().find(|r| r["id"] == " unknown-1 ").unwrap();
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
    let endpoint = support::closed_endpoint();
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

/// A running `s2-revoke`, its stdout and stderr lines arriving on one
/// channel as they are printed.
struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<(Stream, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// Long enough never to be reached by a working binary; only keeps a broken
/// one from hanging the test.
const NEVER: Duration = Duration::from_secs(60);

impl Running {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_s2-revoke"));
        command
            .args(args)
            .env_remove("S2_ACCESS_TOKEN")
            .env_remove("S2_ACCOUNT_ENDPOINT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for (stream, pipe) in [
            (Stream::Out, Box::new(out) as Box<dyn std::io::Read + Send>),
            (Stream::Err, Box::new(err)),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { return };
                    if tx.send((stream, line)).is_err() {
                        return;
                    }
                }
            });
        }
        Self { child, lines }
    }

    /// Waits for a line on `stream` that contains `text`; returns the lines
    /// seen before it, and it.
    fn wait_for(&self, stream: Stream, text: &str) -> Vec<(Stream, String)> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(NEVER)
                .unwrap_or_else(|_| panic!("no line with {text:?}: {seen:?}"));
            let found = line.0 == stream && line.1.contains(text);
            seen.push(line);
            if found {
                return seen;
            }
        }
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit (stdin, if still held, stays open); returns the
    /// status and every line printed that was not yet taken.
    fn finish(self) -> (Option<i32>, Vec<(Stream, String)>) {
        let (tx, exited) = mpsc::channel();
        let mut child = self.child;
        let stdin = child.stdin.take();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait().unwrap().code());
        });
        let code = exited
            .recv_timeout(NEVER)
            .expect("s2-revoke did not exit: it is still waiting for its input");
        drop(stdin);
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(NEVER) {
            rest.push(line);
        }
        (code, rest)
    }
}

fn on(stream: Stream, lines: &[(Stream, String)]) -> Vec<String> {
    lines
        .iter()
        .filter(|(s, _)| *s == stream)
        .map(|(_, l)| l.clone())
        .collect()
}

#[test]
fn ctrl_c_stops_sending_and_reports_every_id_not_attempted() {
    // Every request stays in flight; the server says when each arrives.
    let (endpoint, connected) = support::silent_server();
    let ids: Vec<String> = (0..50).map(|i| format!("id-{i}")).collect();
    let mut args = vec!["--endpoint", &endpoint, "--concurrency", "4", "--json"];
    args.extend(ids.iter().map(String::as_str));
    let run = Running::start(&args, &[("S2_ACCESS_TOKEN", "t")]);
    // Once the 4 requests the concurrency allows are in flight, stop.
    for _ in 0..4 {
        connected.recv_timeout(NEVER).unwrap();
    }
    run.interrupt();
    let (code, lines) = run.finish();
    let stderr = on(Stream::Err, &lines).join("\n");
    assert_eq!(code, Some(1), "{stderr}");
    let rows: Vec<serde_json::Value> = on(Stream::Out, &lines)
        .iter()
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
    assert_eq!(not_attempted, 46, "{rows:?}");
    assert!(stderr.contains("stopping"), "{stderr}");
}

#[test]
fn ctrl_c_stops_reading_an_input_that_has_not_ended() {
    // Standard input stays open, as on a terminal: the run must not wait
    // for its end once stopped.
    let mut run = Running::start(&["--local", "-"], &[]);
    let mut stdin = run.child.stdin.take().unwrap();
    stdin.write_all(b"read-1\n").unwrap();
    run.wait_for(Stream::Out, "read-1");
    run.interrupt();
    run.wait_for(Stream::Err, "stopping");
    run.child.stdin = Some(stdin);
    let (code, lines) = run.finish();
    let stderr = on(Stream::Err, &lines).join("\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("1 already gone")
            && stderr.contains("input cut short: stopped after line 1"),
        "{stderr}"
    );
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let (endpoint, connected) = support::silent_server();
    let run = Running::start(&["--endpoint", &endpoint, "x"], &[("S2_ACCESS_TOKEN", "t")]);
    connected.recv_timeout(NEVER).unwrap();
    run.interrupt();
    run.wait_for(Stream::Err, "stopping");
    // The request in flight would take its 5 s timeout and more to end:
    // exiting with 130 rather than 1 shows it was not waited for.
    run.interrupt();
    let (code, lines) = run.finish();
    assert_eq!(code, Some(130), "{lines:?}");
    assert!(on(Stream::Out, &lines).is_empty(), "{lines:?}");
}

#[test]
fn a_lone_dash_reads_standard_input() {
    let mut run = Running::start(&["--local", "issued-1", "-", "--json"], &[]);
    run.child
        .stdin
        .take()
        .unwrap()
        .write_all(b"unknown-1\n-\n")
        .unwrap();
    let (code, lines) = run.finish();
    assert_eq!(code, Some(0), "{lines:?}");
    let mut rows: Vec<(String, String)> = on(Stream::Out, &lines)
        .iter()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            let at = row.get("line").map_or_else(
                || format!("arg {}", row["argument"]),
                |l| format!("line {l}"),
            );
            (at, row["id"].as_str().unwrap().to_owned())
        })
        .collect();
    rows.sort();
    // `-` is read as stdin; a line `-` is an id like any other.
    assert_eq!(
        rows,
        [
            ("arg 1".to_owned(), "issued-1".to_owned()),
            ("line 1".to_owned(), "unknown-1".to_owned()),
            ("line 2".to_owned(), "-".to_owned()),
        ]
    );
    let help = text(&s2_revoke(&["--help"], &[]).stdout);
    assert!(
        help.contains("A lone `-` reads ids from standard input"),
        "{help}"
    );
    // Both helps open with what the command does, not the library's description.
    assert!(
        help.starts_with("Revokes S2 access tokens by id."),
        "{help}"
    );
    let short = text(&s2_revoke(&["-h"], &[]).stdout);
    assert!(
        short.starts_with("Revoke S2 access tokens by id"),
        "{short}"
    );
    // Stdin cannot be two inputs.
    let out = s2_revoke(&["--local", "-", "--from-file", "ids.txt"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_read_error_fails_the_run_and_says_the_input_was_cut_short() {
    // A directory opens but cannot be read: an error on its first line,
    // after the argument ids were all revoked.
    let dir = std::env::temp_dir();
    let out = s2_revoke(
        &["--local", "issued-1", "--from-file", dir.to_str().unwrap()],
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout, "revoked issued-1\n");
    assert!(
        stderr.contains("1 revoked") && stderr.contains("input cut short: cannot read line 1 of"),
        "{stderr}"
    );
}

#[test]
fn a_line_that_is_not_utf8_is_refused_as_such() {
    let mut run = Running::start(&["--local", "-"], &[]);
    run.child
        .stdin
        .take()
        .unwrap()
        .write_all(b"ok-1\nab\xffc\n")
        .unwrap();
    let (code, lines) = run.finish();
    assert_eq!(code, Some(1), "{lines:?}");
    let refused: Vec<String> = on(Stream::Out, &lines)
        .into_iter()
        .filter(|l| l.starts_with("refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{lines:?}");
    assert!(
        refused[0].contains("(line 2)") && refused[0].contains("not UTF-8 (byte 0xFF at byte 3)"),
        "{refused:?}"
    );
    assert!(!refused[0].contains("NUL"), "{refused:?}");
}

#[test]
fn local_ignores_the_endpoint_in_the_environment() {
    let out = s2_revoke(
        &["--local", "demo-1"],
        &[("S2_ACCOUNT_ENDPOINT", "https://example.invalid")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "revoked demo-1\n");
}

#[test]
fn the_endpoint_takes_s2_sdk_forms() {
    // `host:port` is https, as S2's SDK reads it: here a TLS handshake with
    // nothing listening, so a connection failure, not a usage error.
    let closed = support::closed_endpoint();
    let authority = closed.trim_start_matches("http://");
    let out = s2_revoke(
        &["x"],
        &[("S2_ACCESS_TOKEN", "t"), ("S2_ACCOUNT_ENDPOINT", authority)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("failed  x: cannot connect"), "{stdout}");
    assert!(
        stdout.contains(&format!("https://{authority}/v1/")),
        "{stdout}"
    );
}
