//! Compression on the wire, against a scripted loopback server: what the
//! client asks for, what it sends, and what it makes of compressed
//! answers. Built from a spec with `append` and `read` (`.ci/run`'s spec
//! matrix); the s2-lite tests are in `tests/s2_lite.rs`.
//!
//! The server's answers are errors (and an empty batch), whose shape S2
//! fixes, so the tests hold for any spec with these operations.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[cfg(not(all(s2_operation = "append", s2_operation = "read")))]
#[test]
#[ignore = "the spec has no append or read: build with S2_OPENAPI_SPEC=<a spec of the whole \
            API> (.ci/run's spec matrix does)"]
fn compression_tests_need_a_spec_with_append_and_read() {}

#[cfg(all(s2_operation = "append", s2_operation = "read"))]
mod whole_api {
    use std::io::{Read as _, Write as _};
    use std::time::Duration;

    use s2_openapi::{Client, Compression, Error, ErrorCode, RetryPolicy, types};

    use crate::support::{Recorded, Recorder, Reply, TOKEN};

    fn client(endpoint: &str, compression: Compression) -> Client {
        Client::builder()
            .access_token(TOKEN)
            .endpoint(endpoint)
            .compression(compression)
            .retry_policy(
                RetryPolicy::new().with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
            )
            .build()
            .unwrap()
    }

    /// An append of one record with a body of `len` bytes, and the JSON
    /// the client sends for it.
    fn append_input(len: usize) -> (types::builder::AppendInput, Vec<u8>) {
        let body: Vec<u8> = b"s2 record body "
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect();
        let record = types::AppendRecord {
            body: Some(body.into()),
            headers: Vec::new(),
            timestamp: None,
        };
        let input = types::builder::AppendInput::default().records(vec![record]);
        let json = serde_json::to_vec(&types::AppendInput::try_from(input.clone()).unwrap());
        (input, json.unwrap())
    }

    fn decoded(request: &Recorded) -> Vec<u8> {
        let mut body = Vec::new();
        match request
            .headers
            .get("content-encoding")
            .map(|v| v.to_str().unwrap())
        {
            None => body = request.body.clone(),
            Some("gzip") => {
                flate2::read::GzDecoder::new(&request.body[..])
                    .read_to_end(&mut body)
                    .unwrap();
            }
            Some("zstd") => body = zstd::stream::decode_all(&request.body[..]).unwrap(),
            Some(other) => panic!("unexpected content-encoding {other}"),
        }
        body
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[tokio::test]
    async fn a_large_body_goes_compressed_and_a_small_one_as_it_is() {
        for (compression, encoding) in [(Compression::Gzip, "gzip"), (Compression::Zstd, "zstd")] {
            // Rate limited (no side effects: retried), then no such stream.
            let server = Recorder::in_turn(|n| match n % 2 {
                0 => Reply::error_info(429, "rate_limited", "slow down")
                    .header("retry-after-ms", "1"),
                _ => Reply::error_info(404, "stream_not_found", "no such stream"),
            })
            .await;
            let basin = client(&server.endpoint, compression)
                .basin("some-basin")
                .unwrap();
            for len in [4 * 1024, 16] {
                let (input, json) = append_input(len);
                let err = basin
                    .generated()
                    .append()
                    .stream("s1")
                    .body(input)
                    .await
                    .unwrap_err();
                assert_eq!(err.code(), Some(&ErrorCode::StreamNotFound), "{err}");
                let requests = server.requests();
                let [first, retry] = &requests[requests.len() - 2..] else {
                    unreachable!()
                };
                let sent = first.headers.get("content-encoding");
                if len > 1024 {
                    assert_eq!(sent.unwrap(), encoding, "{len} bytes");
                    assert!(first.body.len() < json.len() / 4, "{}", first.body.len());
                } else {
                    assert_eq!(sent, None, "{len} bytes");
                }
                assert_eq!(decoded(first), json, "{encoding}, {len} bytes");
                // The retry resends the same bytes, encoded the same way.
                assert_eq!(retry.body, first.body);
                assert_eq!(retry.headers.get("content-encoding"), sent);
            }
            assert_eq!(server.count(), 4);
        }
    }

    #[tokio::test]
    async fn only_the_chosen_encoding_is_asked_for() {
        let server = Recorder::always(Reply::error_info(404, "stream_not_found", "no")).await;
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let basin = client(&server.endpoint, compression)
                .basin("some-basin")
                .unwrap();
            let _ = basin.generated().read().stream("s1").await.unwrap_err();
            // A live read asks for events; what it is given is not the point.
            let live = basin.live(|live| live.read().stream("s1"));
            let _ = futures_util::StreamExt::next(&mut std::pin::pin!(live)).await;
        }
        let asked = server.header_values("accept-encoding");
        let expected = [
            None,
            None,
            Some("gzip"),
            Some("gzip"),
            Some("zstd"),
            Some("zstd"),
        ];
        let expected: Vec<_> = expected.iter().map(|e| e.map(str::to_owned)).collect();
        assert_eq!(asked, expected);
    }

    #[tokio::test]
    async fn compressed_answers_are_decompressed_errors_included() {
        let batch = gzip(br#"{"records":[]}"#);
        let error = gzip(br#"{"code":"stream_not_found","message":"no such stream"}"#);
        let server = Recorder::in_turn(move |n| match n {
            0 => Reply::status(200)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(batch.clone()),
            _ => Reply::status(404)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(error.clone()),
        })
        .await;
        let basin = client(&server.endpoint, Compression::Gzip)
            .basin("some-basin")
            .unwrap();
        let read = basin.generated().read().stream("s1").await.unwrap();
        assert!(read.records.is_empty());
        let err = basin.generated().read().stream("s1").await.unwrap_err();
        assert!(matches!(err, Error::Api(_)), "{err:?}");
        assert_eq!(err.code(), Some(&ErrorCode::StreamNotFound), "{err}");
    }
}
