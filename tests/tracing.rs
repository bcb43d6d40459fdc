//! Tracing: a span per call and per attempt, with the fields that matter,
//! and never the token, at every level down to TRACE (h2 and hyper
//! included).

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use s2_openapi::{Client, RetryPolicy};
use support::{Recorder, Reply, TOKEN};

#[test]
fn calls_and_attempts_are_traced_without_the_token() {
    let log = support::traced(|| async {
        // One retried call over HTTP/1.1 and one over h2c.
        for http2 in [false, true] {
            let calls = Arc::new(Mutex::new(0));
            let seen = Arc::clone(&calls);
            let server = Recorder::start(move |_| {
                let mut n = seen.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    Reply::error_info(503, "unavailable", "busy").header("retry-after-ms", "1")
                } else {
                    Reply::status(204)
                }
            })
            .await;
            let client = Client::builder()
                .access_token(TOKEN)
                .endpoint(&server.endpoint)
                .http2_prior_knowledge(http2)
                .retry_policy(
                    RetryPolicy::new()
                        .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
                )
                .build()
                .unwrap();
            let revoked = client.revoke_access_token("traced-id").await.unwrap();
            assert_eq!(revoked.attempts, 2);
            // And a failure.
            let _ = client.revoke_access_token("..").await.unwrap_err();
        }
    });
    assert!(!log.contains(TOKEN), "the token is in the trace:\n{log}");
    for needle in [
        "s2.revoke{id=traced-id}:s2.call{operation=\"revoke_access_token\"}:s2.attempt{attempt=1",
        "s2.attempt",
        "attempt=1",
        "attempt=2",
        "status=503",
        "code=\"unavailable\"",
        "status=204",
        "latency_ms=",
        "retrying",
        // The layer's call span closes with the call's outcome, not the
        // code of an attempt that was retried.
        "s2.call{operation=\"revoke_access_token\" attempts=2 status=204}: s2_openapi::layer: close",
        // The revocation's outcome is an event in its own span.
        "s2.revoke{id=traced-id}: s2_openapi::revoke: revoked latency_ms=",
    ] {
        assert!(
            log.contains(needle),
            "{needle} missing from the trace:\n{log}"
        );
    }
}

/// A refused connection sent nothing, so every attempt is made and the
/// last is reported (a closed port cannot count them: the attempts' spans
/// do). Here, where every test runs under a subscriber: beside tests
/// without one, a span's cached interest may leave it disabled.
#[test]
fn connection_refused_is_retried_then_reported() {
    let endpoint = support::closed_endpoint();
    let log = support::traced(|| async {
        let started = std::time::Instant::now();
        let err = support::faults::client(&endpoint)
            .revoke_access_token("tok-1")
            .await
            .unwrap_err();
        assert!(matches!(err, s2_openapi::Error::Connect(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    });
    // Each attempt's span closes once (`FmtSpan::CLOSE` writes " close ").
    let attempts = log
        .lines()
        .filter(|line| line.contains("s2.attempt{") && line.contains(" close "))
        .count();
    assert_eq!(attempts, 3, "{log}");
}
