//! Live reads against a scripted server: the event stream's faults, each
//! with what the reader must do. Built from a spec with an event-stream
//! read (`.ci/run`'s spec matrix); built from a smaller spec, one ignored
//! test says why the rest is absent.
//!
//! The scripted batches hold records with the fields every S2 spec
//! requires of a sequenced record, and nothing else.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[cfg(not(s2_operation = "read"))]
#[test]
#[ignore = "the spec has no event-stream read: build with \
            S2_OPENAPI_SPEC=<a spec of the whole API> (.ci/run's spec matrix does)"]
fn live_reads_need_a_spec_with_one() {
    let upstream =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/openapi/upstream");
    assert!(
        upstream.is_dir(),
        "no upstream specs at {}",
        upstream.display()
    );
}

#[cfg(s2_operation = "read")]
mod scripted {
    use std::time::Duration;

    use futures_util::StreamExt as _;
    use s2_openapi::{Error, ErrorCode, LiveEvent, types};

    use crate::support::faults::{ATTEMPT_TIMEOUT, client};
    use crate::support::{Recorder, Reply};

    /// A `batch` event holding records `seq_nums`, with the id S2 gives it.
    fn batch(seq_nums: std::ops::Range<u64>) -> String {
        let records: Vec<String> = seq_nums
            .clone()
            .map(|n| format!(r#"{{"seq_num":{n},"timestamp":0,"body":"{}"}}"#, body(n)))
            .collect();
        format!(
            "event: batch\nid: {},{},0\ndata: {{\"records\":[{}]}}\n\n",
            seq_nums.end - 1,
            seq_nums.end,
            records.join(",")
        )
    }

    /// Record `n`'s body, base64.
    fn body(n: u64) -> &'static str {
        ["AA==", "AQ==", "Ag==", "Aw=="][n as usize % 4]
    }

    fn done() -> String {
        "data: [DONE]\n\n".to_owned()
    }

    fn ping() -> String {
        "event: ping\ndata: {\"timestamp\":1,\"tail\":{\"seq_num\":9,\"timestamp\":2}}\n\n"
            .to_owned()
    }

    fn error_event(code: &str) -> String {
        format!("event: error\ndata: {{\"code\":\"{code}\",\"message\":\"scripted\"}}\n\n")
    }

    /// What a live read of stream `s` on basin `some-basin` yields: the
    /// sequence numbers received, the pings, and the error it ended with.
    async fn read_all(server: &Recorder) -> (Vec<u64>, usize, Option<Error>) {
        let basin = client(&server.endpoint).basin("some-basin").unwrap();
        let mut events = std::pin::pin!(basin.live(|live| live.read().stream("s")));
        let (mut seq_nums, mut pings) = (Vec::new(), 0);
        while let Some(event) = events.next().await {
            match event {
                Ok(LiveEvent::Data(batch)) => {
                    let batch: types::ReadBatch = batch;
                    seq_nums.extend(batch.records.iter().map(|r| r.seq_num));
                }
                Ok(LiveEvent::Ping(heartbeat)) => {
                    let tail: types::StreamPosition = heartbeat.tail().unwrap();
                    assert_eq!(tail.seq_num, 9);
                    assert_eq!(heartbeat.caught_up_at(), Some(tail));
                    pings += 1;
                }
                Ok(other) => panic!("{other:?}"),
                Err(e) => return (seq_nums, pings, Some(e)),
            }
        }
        (seq_nums, pings, None)
    }

    #[tokio::test]
    async fn a_live_read_asks_for_events_and_ends_at_done() {
        let server =
            Recorder::always(Reply::events(&[batch(0..2), ping(), batch(2..3), done()])).await;
        let (seq_nums, pings, error) = read_all(&server).await;
        assert_eq!(seq_nums, [0, 1, 2]);
        assert_eq!(pings, 1);
        assert!(error.is_none(), "{error:?}");
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let header = |name: &str| requests[0].headers.get(name).map(|v| v.to_str().unwrap());
        assert_eq!(header("accept"), Some("text/event-stream"));
        assert_eq!(header("s2-basin"), Some("some-basin"));
        assert_eq!(header("s2-format"), Some("base64"));
        assert_eq!(header("last-event-id"), None);
    }

    #[tokio::test]
    async fn an_error_event_ends_the_read_with_s2s_error() {
        let server = Recorder::always(Reply::events(&[
            batch(0..1),
            error_event("stream_not_found"),
        ]))
        .await;
        let (seq_nums, _, error) = read_all(&server).await;
        assert_eq!(seq_nums, [0]);
        let error = error.expect("the error event");
        assert_eq!(error.code(), Some(&ErrorCode::StreamNotFound), "{error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
        assert_eq!(server.count(), 1, "not retried");
    }

    #[tokio::test]
    async fn a_retryable_error_event_resumes_after_the_last_batch() {
        let server = Recorder::start(|r| {
            if r.headers.contains_key("last-event-id") {
                Reply::events(&[batch(1..2), done()])
            } else {
                Reply::events(&[batch(0..1), error_event("unavailable")])
            }
        })
        .await;
        let (seq_nums, _, error) = read_all(&server).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(seq_nums, [0, 1]);
        assert_eq!(
            server.header_values("last-event-id"),
            [None, Some("0,1,0".to_owned())]
        );
    }

    #[tokio::test]
    async fn a_stream_without_done_resumes_with_last_event_id() {
        let server = Recorder::start(|r| match r.headers.get("last-event-id") {
            None => Reply::events(&[batch(0..2)]),
            Some(_) => Reply::events(&[batch(2..4), done()]),
        })
        .await;
        let (seq_nums, _, error) = read_all(&server).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(seq_nums, [0, 1, 2, 3], "none lost, none repeated");
        assert_eq!(
            server.header_values("last-event-id"),
            [None, Some("1,2,0".to_owned())]
        );
    }

    #[tokio::test]
    async fn a_malformed_event_ends_the_read_with_an_invalid_body() {
        let server = Recorder::always(Reply::events(&[
            batch(0..1),
            "event: batch\nid: 1,2,0\ndata: {\"records\": [{\"seq\n\n".to_owned(),
        ]))
        .await;
        let (seq_nums, _, error) = read_all(&server).await;
        assert_eq!(seq_nums, [0]);
        assert!(matches!(error, Some(Error::InvalidBody(_))), "{error:?}");
        assert_eq!(server.count(), 1);
    }

    #[tokio::test]
    async fn a_503_on_reconnect_is_retried_by_the_layer() {
        let server = Recorder::in_turn(|call| match call {
            0 => Reply::events(&[batch(0..1)]),
            1 => Reply::error_info(503, "unavailable", "scripted"),
            _ => Reply::events(&[batch(1..2), done()]),
        })
        .await;
        let (seq_nums, _, error) = read_all(&server).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(seq_nums, [0, 1]);
        let resumed = Some("0,1,0".to_owned());
        assert_eq!(
            server.header_values("last-event-id"),
            [None, resumed.clone(), resumed]
        );
    }

    #[tokio::test]
    async fn a_4xx_on_reconnect_ends_the_read_without_retrying() {
        let server = Recorder::start(|r| match r.headers.get("last-event-id") {
            None => Reply::events(&[batch(0..1)]),
            Some(_) => Reply::error_info(404, "stream_not_found", "scripted"),
        })
        .await;
        let (seq_nums, _, error) = read_all(&server).await;
        assert_eq!(seq_nums, [0]);
        let error = error.expect("the 404");
        assert_eq!(error.code(), Some(&ErrorCode::StreamNotFound), "{error:?}");
        assert_eq!(server.count(), 2);
    }

    /// The per-attempt timeout bounds a request, not a live read: a stream
    /// that lasts several times that timeout, with pings, is read to its end.
    #[tokio::test]
    async fn the_attempt_timeout_does_not_cut_a_live_read() {
        let wait = ATTEMPT_TIMEOUT / 2;
        let mut parts: Vec<(Duration, Vec<u8>)> =
            (0..6).map(|_| (wait, ping().into_bytes())).collect();
        parts.push((wait, format!("{}{}", batch(0..1), done()).into_bytes()));
        let server = Recorder::always(
            Reply::status(200)
                .header("content-type", "text/event-stream")
                .in_parts(parts),
        )
        .await;
        // Cut at each attempt timeout, the read would start over forever.
        let read = tokio::time::timeout(Duration::from_secs(10), read_all(&server));
        let (seq_nums, pings, error) = read.await.expect("the read ended");
        assert!(error.is_none(), "{error:?}");
        assert_eq!((seq_nums, pings), (vec![0], 6));
        assert_eq!(server.count(), 1);
    }

    /// The first request ends the read with S2's answer however long the
    /// request layer waits between attempts within the call's deadline: a
    /// 503 asking for 21 s (past the heartbeat window) twice ends it with
    /// that 503, not with silence.
    #[tokio::test]
    async fn a_first_request_ends_with_s2s_answer_after_the_layers_waits() {
        let hint = Duration::from_secs(21);
        let server = Recorder::always(
            Reply::error_info(503, "unavailable", "scripted")
                .header("retry-after-ms", hint.as_millis().to_string()),
        )
        .await;
        let client = s2_openapi::Client::builder()
            .access_token(crate::support::TOKEN)
            .endpoint(&server.endpoint)
            .operation_timeout(Duration::from_secs(60))
            .retry_policy(s2_openapi::RetryPolicy::new().with_max_attempts(2))
            .build()
            .unwrap();
        let basin = client.basin("some-basin").unwrap();
        let mut events = std::pin::pin!(basin.live(|live| live.read().stream("s")));
        let started = std::time::Instant::now();
        let err = events.next().await.unwrap().unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::Unavailable), "{err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
        assert_eq!(server.count(), 2);
        assert!(started.elapsed() >= hint, "the hint was not waited for");
        assert!(events.next().await.is_none());
    }

    /// Silence is the server's, not the caller's: a caller that takes
    /// longer than the heartbeat window between two polls, with the next
    /// batch already sent, reads on over the same connection.
    #[tokio::test]
    async fn a_slow_caller_is_not_a_silent_server() {
        // The second batch comes in a chunk of its own, while the caller
        // is busy with the first.
        let parts = vec![
            (Duration::ZERO, batch(0..1).into_bytes()),
            (
                Duration::from_millis(100),
                format!("{}{}", batch(1..2), done()).into_bytes(),
            ),
        ];
        let server = Recorder::always(
            Reply::status(200)
                .header("content-type", "text/event-stream")
                .in_parts(parts),
        )
        .await;
        let basin = client(&server.endpoint).basin("some-basin").unwrap();
        let mut events = std::pin::pin!(basin.live(|live| live.read().stream("s")));
        let mut seq_nums = Vec::new();
        while let Some(event) = events.next().await {
            let Ok(LiveEvent::Data(batch)) = event else {
                panic!("{event:?}");
            };
            let batch: types::ReadBatch = batch;
            seq_nums.extend(batch.records.iter().map(|r| r.seq_num));
            if seq_nums == [0] {
                tokio::time::sleep(s2_openapi::HEARTBEAT_TIMEOUT + Duration::from_secs(1)).await;
            }
        }
        assert_eq!(seq_nums, [0, 1]);
        assert_eq!(server.count(), 1, "the read reconnected");
    }

    /// Connections that drop again and again without a new event end the
    /// read with the last failure, after the retry policy's attempts.
    #[tokio::test]
    async fn reconnections_without_progress_are_bounded() {
        let server = Recorder::always(Reply::events(&[])).await;
        let (seq_nums, _, error) = read_all(&server).await;
        assert!(seq_nums.is_empty());
        let Some(Error::GaveUp(gave_up)) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(gave_up.reconnections, 2);
        assert!(matches!(*gave_up.last, Error::InvalidBody(_)), "{error:?}");
        // Says what happened, with the last failure as its source.
        let error = error.unwrap();
        let chain = crate::support::chain(&error);
        assert!(
            chain[0].starts_with("the live read gave up after 2 reconnections"),
            "{chain:?}"
        );
        assert!(chain.len() > 1, "{chain:?}");
        assert_eq!(server.count(), 3, "the policy's 3 attempts");
    }

    /// An event stream may begin with a byte order mark, whole or split
    /// across chunks: it is skipped (the parser would panic on it).
    #[tokio::test]
    async fn a_byte_order_mark_is_skipped() {
        let events = format!("{}{}", batch(0..1), done()).into_bytes();
        let whole = [b"\xef\xbb\xbf".to_vec(), events.clone()].concat();
        let split = vec![
            (Duration::ZERO, b"\xef\xbb".to_vec()),
            (Duration::ZERO, [b"\xbf".to_vec(), events].concat()),
        ];
        for reply in [
            Reply::status(200)
                .header("content-type", "text/event-stream")
                .body(whole),
            Reply::status(200)
                .header("content-type", "text/event-stream")
                .in_parts(split),
        ] {
            let server = Recorder::always(reply).await;
            let (seq_nums, _, error) = read_all(&server).await;
            assert!(error.is_none(), "{error:?}");
            assert_eq!(seq_nums, [0]);
        }
    }

    /// Dropped before any batch, a read that reached the tail resumes after
    /// the record before the tail the heartbeat reported, so records
    /// appended meanwhile are not skipped.
    #[tokio::test]
    async fn before_any_batch_a_read_resumes_at_the_tail_a_ping_reported() {
        let ping_at = |tail: u64| {
            format!(
                "event: ping\ndata: {{\"timestamp\":1,\"tail\":{{\"seq_num\":{tail},\"timestamp\":2}}}}\n\n"
            )
        };
        let server = Recorder::start(move |r| match r.headers.get("last-event-id") {
            None => Reply::events(&[ping_at(5)]),
            Some(_) => Reply::events(&[batch(5..6), done()]),
        })
        .await;
        let basin = client(&server.endpoint).basin("some-basin").unwrap();
        let events = basin.live(|live| live.read().stream("s"));
        let events: Vec<_> = events.collect().await;
        assert!(events.iter().all(Result::is_ok), "{events:?}");
        assert_eq!(
            server.header_values("last-event-id"),
            [None, Some("4,0,0".to_owned())]
        );
    }

    /// Once a read is under way, a request that still fails transiently
    /// after the layer's retries (a restarting server) is sent again.
    #[tokio::test]
    async fn an_unavailable_server_during_a_read_is_waited_for() {
        let server = Recorder::in_turn(|call| match call {
            0 => Reply::events(&[batch(0..1)]),
            1..=3 => Reply::error_info(503, "unavailable", "restarting"),
            _ => Reply::events(&[batch(1..2), done()]),
        })
        .await;
        let (seq_nums, _, error) = read_all(&server).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(seq_nums, [0, 1]);
        assert_eq!(
            server.count(),
            5,
            "3 attempts by the layer, then a reconnection"
        );
    }

    /// Heartbeats alone do not keep a failing read reconnecting forever.
    #[tokio::test]
    async fn pings_do_not_reset_the_reconnection_count() {
        let server = Recorder::always(Reply::events(&[ping()])).await;
        let (seq_nums, pings, error) = read_all(&server).await;
        assert!(seq_nums.is_empty());
        assert_eq!(pings, 3);
        let Some(Error::GaveUp(gave_up)) = &error else {
            panic!("{error:?}");
        };
        assert!(matches!(*gave_up.last, Error::InvalidBody(_)), "{error:?}");
        assert_eq!(server.count(), 3);
    }

    /// A heartbeat that is not the spec's type is a sign of life, not an
    /// error.
    #[tokio::test]
    async fn a_heartbeat_not_as_the_spec_says_is_skipped() {
        let odd_ping = "event: ping\ndata: {\"unexpected\":true}\n\n".to_owned();
        let server = Recorder::always(Reply::events(&[odd_ping, batch(0..1), done()])).await;
        let (seq_nums, pings, error) = read_all(&server).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!((seq_nums, pings), (vec![0], 0));
    }

    /// An answer that is not an event stream (a proxy ignoring `Accept`)
    /// ends the read with a clear error, without retrying.
    #[tokio::test]
    async fn an_answer_that_is_not_an_event_stream_is_an_error() {
        let server = Recorder::always(Reply::json(200, r#"{"records":[]}"#)).await;
        let (_, _, error) = read_all(&server).await;
        let error = error.expect("an error");
        assert!(matches!(error, Error::InvalidBody(_)), "{error:?}");
        let chain = crate::support::chain(&error).join(": ");
        assert!(chain.contains("not an event stream"), "{chain}");
        assert_eq!(server.count(), 1);
    }
}
