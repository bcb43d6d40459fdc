//! Long polls: a request that asks the server to wait (`read`'s `wait`,
//! found in the spec) gets that much longer to be answered, against a
//! scripted loopback server. Built from a spec with `read` (`.ci/run`'s
//! spec matrix); the s2-lite tests are in `tests/s2_lite.rs`.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[cfg(not(s2_operation = "read"))]
#[test]
#[ignore = "the spec has no read: build with S2_OPENAPI_SPEC=<a spec of the whole API> \
            (.ci/run's spec matrix does)"]
fn long_polls_need_a_spec_with_read() {}

#[cfg(s2_operation = "read")]
mod whole_api {
    use std::time::{Duration, Instant};

    use s2_openapi::{Client, Error, RetryPolicy};

    use crate::support::{Recorder, Reply, TOKEN};

    /// A server answering an empty batch 6 s after each request, and a
    /// client whose attempts and calls time out after 5 s, one attempt per
    /// call.
    async fn slow_server_and_client() -> (Recorder, Client) {
        let reply = Reply::json(200, r#"{"records":[]}"#).after(Duration::from_secs(6));
        let server = Recorder::always(reply).await;
        let client = Client::builder()
            .access_token(TOKEN)
            .endpoint(&server.endpoint)
            .request_timeout(Duration::from_secs(5))
            .operation_timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::disabled())
            .build()
            .unwrap();
        (server, client)
    }

    #[tokio::test]
    async fn a_long_polls_attempt_timeout_grows_with_its_wait() {
        let (server, client) = slow_server_and_client().await;
        let basin = client.basin("some-basin").unwrap();
        // 6 s is within 5 s + the 4 s wait, for the attempt and the call.
        let started = Instant::now();
        let batch = basin
            .generated()
            .read()
            .stream("s")
            .seq_num(0u64)
            .wait(4u32)
            .await
            .unwrap();
        assert!(batch.records.is_empty());
        assert!(started.elapsed() >= Duration::from_secs(6));
        assert_eq!(server.count(), 1);
        assert!(
            server.requests()[0].target.contains("wait=4"),
            "{:?}",
            server.requests()[0].target
        );
    }

    #[tokio::test]
    async fn without_a_wait_the_attempt_timeout_is_the_clients() {
        let (server, client) = slow_server_and_client().await;
        let basin = client.basin("some-basin").unwrap();
        let started = Instant::now();
        let err = basin
            .generated()
            .read()
            .stream("s")
            .seq_num(0u64)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
        assert_eq!(server.count(), 1);
        // `wait=0` asks for no wait: the same.
        let err = basin
            .generated()
            .read()
            .stream("s")
            .seq_num(0u64)
            .wait(0u32)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    }
}
