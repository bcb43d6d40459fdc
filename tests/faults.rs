//! Fault injection: a loopback server scripted per test misbehaves in one
//! way, and the client must retry exactly what is safe, give up in bounded
//! time, and say what happened. Each test checks the attempts the server
//! saw, the elapsed time (generous bounds) and the exact error.
//!
//! Waits are real but short (backoff 1-5 ms, attempt timeout 300 ms):
//! tokio's paused clock cannot be used with real sockets, since it jumps to
//! the next timer (the attempt timeout) whenever the runtime waits on I/O.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use s2_openapi::{Client, Confirmation, Error, ErrorCode, RetryPolicy};
use support::faults::{
    ATTEMPT_TIMEOUT, Fault, FaultServer, client, error_info, read_head, reply, with_header,
};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

async fn run(script: Vec<Fault>) -> (Result<s2_openapi::Revoked, Error>, usize, Duration) {
    let server = FaultServer::start(script).await;
    let started = Instant::now();
    let result = client(&server.endpoint).revoke_access_token("tok-1").await;
    (result, server.attempts(), started.elapsed())
}

const SHORT: Duration = Duration::from_secs(3);

/// `fault` on every attempt: three attempts, then a transport error.
async fn assert_retried_then_transport_error(fault: Fault) {
    let (result, attempts, elapsed) = run(vec![fault]).await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(attempts, 3);
    assert!(elapsed < SHORT);
}

#[tokio::test]
async fn reset_before_the_response_is_retried() {
    assert_retried_then_transport_error(Fault::Reset).await;

    let (result, attempts, _) = run(vec![Fault::Reset, reply(204)]).await;
    let revoked = result.unwrap();
    assert_eq!((attempts, revoked.attempts), (2, 2));
    assert_eq!(revoked.confirmation, Confirmation::Revoked);
}

#[tokio::test]
async fn not_found_after_an_uncertain_attempt_is_reported_as_gone() {
    // S2's `unavailable` may have side effects (s2-api), so it is uncertain too.
    for first in [
        Fault::Reset,
        Fault::Hang,
        error_info(504, "upstream_timeout"),
        error_info(503, "unavailable"),
    ] {
        let (result, attempts, _) = run(vec![
            first.clone(),
            error_info(404, "access_token_not_found"),
        ])
        .await;
        let revoked = result.unwrap_or_else(|e| panic!("{first:?}: {e}"));
        assert_eq!(
            revoked.confirmation,
            Confirmation::GoneAfterUncertainAttempt,
            "{first:?}"
        );
        assert_eq!(revoked.status.as_u16(), 404);
        assert_eq!(attempts, 2);
    }
    // A first-attempt 404 is a plain failure, not retried.
    let (result, attempts, _) = run(vec![error_info(404, "access_token_not_found")]).await;
    assert_eq!(
        result.unwrap_err().code(),
        Some(&ErrorCode::AccessTokenNotFound)
    );
    assert_eq!(attempts, 1);
    // After a certain failure (503 server_draining: by S2's table, no side
    // effects), 404 is a failure too.
    let (result, attempts, _) = run(vec![
        error_info(503, "server_draining"),
        error_info(404, "access_token_not_found"),
    ])
    .await;
    assert_eq!(
        result.unwrap_err().code(),
        Some(&ErrorCode::AccessTokenNotFound)
    );
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn a_connection_closed_during_the_response_is_retried() {
    assert_retried_then_transport_error(Fault::CloseMidBody).await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_each_attempt() {
    let (result, attempts, elapsed) = run(vec![Fault::Hang]).await;
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(attempts, 3);
    assert!(elapsed >= ATTEMPT_TIMEOUT * 3, "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_slow_body_times_out() {
    let (result, attempts, elapsed) = run(vec![Fault::SlowBody]).await;
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(attempts, 3);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn transient_statuses_are_retried_three_times() {
    for status in [408, 429, 500, 502, 503, 504] {
        // Without a body...
        let (result, attempts, elapsed) = run(vec![reply(status)]).await;
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Api(_)), "{status}: {err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(attempts, 3, "{status}");
        assert!(elapsed < SHORT);
        // ...and then a success.
        let (result, attempts, _) = run(vec![reply(status), reply(204)]).await;
        assert_eq!(result.unwrap().attempts, 2, "{status}");
        assert_eq!(attempts, 2);
    }
}

#[tokio::test]
async fn retry_after_hints_are_honoured() {
    // S2's header, in milliseconds.
    let fault = with_header(error_info(429, "rate_limited"), "retry-after-ms", "300");
    let (result, attempts, elapsed) = run(vec![fault.clone(), fault, reply(204)]).await;
    assert_eq!(result.unwrap().attempts, 3);
    assert_eq!(attempts, 3);
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < SHORT, "{elapsed:?}");

    // The standard header, in seconds.
    let fault = with_header(reply(503), "retry-after", "1");
    let (result, _, elapsed) = run(vec![fault, reply(204)]).await;
    result.unwrap();
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");

    // The standard header, as an HTTP date two seconds ahead (second granularity).
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let fault = with_header(reply(503), "retry-after", date);
    let (result, _, elapsed) = run(vec![fault, reply(204)]).await;
    result.unwrap();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn a_hint_past_the_deadline_ends_the_call_at_once() {
    // The largest hint is past what an `Instant` can hold: no overflow.
    for hint in ["60", "18446744073709551615"] {
        let fault = with_header(error_info(503, "unavailable"), "retry-after", hint);
        let (result, attempts, elapsed) = run(vec![fault]).await;
        assert_eq!(result.unwrap_err().code(), Some(&ErrorCode::Unavailable));
        assert_eq!(attempts, 1, "{hint}");
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    }
}

#[tokio::test]
async fn an_endless_deadline_is_no_deadline() {
    let server = FaultServer::start(vec![reply(503), reply(204)]).await;
    let client = Client::builder()
        .access_token(support::TOKEN)
        .endpoint(&server.endpoint)
        .operation_timeout(Duration::MAX)
        .retry_policy(RetryPolicy::new().with_backoff(Duration::ZERO, Duration::ZERO))
        .build()
        .unwrap();
    let revoked = client.revoke_access_token("tok-1").await.unwrap();
    assert_eq!((server.attempts(), revoked.attempts), (2, 2));
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    for (status, code) in [
        (400, "bad_path"),
        (401, "authn"),
        (403, "permission_denied"),
        (404, "access_token_not_found"),
        (409, "resource_already_exists"),
        (422, "invalid"),
        // S2 saw the client go away; it may have acted on the request.
        (499, "client_hangup"),
        (501, "not_implemented"),
    ] {
        let (result, attempts, _) = run(vec![error_info(status, code)]).await;
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Api(_)), "{status}: {err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        // Each is S2's own code, so the crate's table decides, not the
        // status fallback.
        let known = err
            .code()
            .is_some_and(|c| !matches!(c, ErrorCode::Unknown(_)));
        assert!(known, "{code} is not in the table");
        assert_eq!(attempts, 1, "{status} was retried");
    }
}

#[tokio::test]
async fn odd_error_bodies_keep_the_status() {
    let json = |body: &str| {
        Fault::Reply(
            503,
            vec![("content-type", "application/json".into())],
            body.as_bytes().to_vec(),
        )
    };
    for fault in [
        json(""),
        Fault::Reply(
            503,
            vec![("content-type", "text/html".into())],
            b"<h1>down</h1>".to_vec(),
        ),
        json(r#"{"code": 1, "message": []}"#),
        json(r#"{"unrelated": true}"#),
        Fault::Reply(503, vec![], vec![b'x'; 10 * 1024 * 1024]),
    ] {
        let (result, attempts, elapsed) = run(vec![fault]).await;
        let err = result.unwrap_err();
        match &err {
            Error::Api(e) => {
                assert_eq!(e.status().as_u16(), 503);
                assert!(e.message().len() <= 512);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(attempts, 3);
        assert!(elapsed < SHORT);
    }
}

#[tokio::test]
async fn a_redirect_is_reported_and_not_followed() {
    let elsewhere = FaultServer::start(vec![reply(204)]).await;
    let location = format!("{}/v1/access-tokens/tok-1", elsewhere.endpoint);
    let (result, attempts, _) =
        run(vec![with_header(reply(307), "location", location.clone())]).await;
    match result.unwrap_err() {
        Error::Api(e) => {
            assert_eq!(e.status().as_u16(), 307);
            assert_eq!(e.location(), Some(location.as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(attempts, 1);
    assert_eq!(elsewhere.attempts(), 0);
}

#[tokio::test]
async fn the_overall_deadline_bounds_the_call() {
    let server = FaultServer::start(vec![Fault::Hang]).await;
    let client = Client::builder()
        .access_token(support::TOKEN)
        .endpoint(&server.endpoint)
        .request_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.revoke_access_token("tok-1").await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let server = FaultServer::start(vec![reply(503)]).await;
    let client = Client::builder()
        .access_token(support::TOKEN)
        .endpoint(&server.endpoint)
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    assert_eq!(
        client
            .revoke_access_token("tok-1")
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(503)
    );
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn dropping_the_future_stops_the_call() {
    // A server that says when the request has arrived and when the client
    // has closed its connection.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (arrived, request_arrived) = tokio::sync::oneshot::channel();
    let (closed, connection_closed) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        assert!(read_head(&mut socket).await.is_some());
        let _ = arrived.send(());
        let mut rest = [0u8; 64];
        while socket.read(&mut rest).await.is_ok_and(|n| n > 0) {}
        let _ = closed.send(());
    });
    // Attempts that would run for a minute, were the call to go on.
    let client = Client::builder()
        .access_token(support::TOKEN)
        .endpoint(&endpoint)
        .request_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let call = client.revoke_access_token("tok-1");
    tokio::select! {
        result = call => panic!("the server never answers, yet: {result:?}"),
        _ = request_arrived => {}
    }
    // The call is dropped: its connection closes now, not when its attempt
    // would have timed out (the bound only keeps a failure from hanging).
    tokio::time::timeout(Duration::from_secs(30), connection_closed)
        .await
        .expect("the connection is still open: the dropped call goes on")
        .unwrap();
}

/// Each message of the chain says something of its own: none is empty and
/// none contains another.
fn assert_said_once(error: &Error) -> Vec<String> {
    let messages = support::chain(error);
    for (i, outer) in messages.iter().enumerate() {
        assert!(!outer.is_empty(), "{messages:?}");
        for inner in &messages[i + 1..] {
            assert!(!outer.contains(inner.as_str()), "{messages:?}");
        }
    }
    messages
}

#[tokio::test]
async fn error_chains_say_each_thing_once() {
    let closed = support::closed_endpoint();
    let one_attempt = |endpoint: &str| {
        Client::builder()
            .access_token(support::TOKEN)
            .endpoint(endpoint)
            .request_timeout(ATTEMPT_TIMEOUT)
            .retry_policy(RetryPolicy::disabled())
            .build()
            .unwrap()
    };

    let err = one_attempt(&closed)
        .revoke_access_token("tok-1")
        .await
        .unwrap_err();
    let messages = assert_said_once(&err);
    assert_eq!(messages[0], "cannot connect to S2");
    assert!(messages.len() > 2, "the cause is kept: {messages:?}");

    let (result, _, _) = run(vec![Fault::Reset]).await;
    let messages = assert_said_once(&result.unwrap_err());
    assert_eq!(messages[0], "transport error talking to S2");
    assert!(messages.len() > 2, "the cause is kept: {messages:?}");

    let server = FaultServer::start(vec![Fault::Hang]).await;
    let err = one_attempt(&server.endpoint)
        .revoke_access_token("tok-1")
        .await
        .unwrap_err();
    let messages = assert_said_once(&err);
    assert_eq!(messages[0], "request to S2 timed out");
    assert!(messages.len() > 1, "the cause is kept: {messages:?}");

    let err = Client::builder()
        .access_token(support::TOKEN)
        .endpoint(&server.endpoint)
        .request_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .revoke_access_token("tok-1")
        .await
        .unwrap_err();
    // The call's deadline ends it as a timeout, as the same failure reads
    // through `?` on a generated call.
    let messages = assert_said_once(&err);
    assert_eq!(messages[0], "request to S2 timed out");
    assert!(messages.len() > 1, "the cause is kept: {messages:?}");
}
