//! The request layer under every operation, not just the hand-wrapped one:
//! retries by S2's rules for each kind of request, idempotency tokens, the
//! deadline, capped error bodies and spans, against a scripted loopback
//! server. Built from a spec with the whole API (`.ci/run`'s spec matrix);
//! built from a smaller spec, one ignored test says why the rest is absent.
//!
//! Every assertion holds for any valid spec that has these operations: the
//! server's answers are errors, whose shape S2 fixes, never success bodies,
//! whose schema a newer spec may change.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[cfg(not(all(
    s2_operation = "list_basins",
    s2_operation = "create_basin",
    s2_operation = "append"
)))]
#[test]
#[ignore = "the spec lacks list_basins, create_basin or append: build with \
            S2_OPENAPI_SPEC=<a spec of the whole API> (.ci/run's spec matrix does)"]
fn every_operation_gets_the_request_layer() {
    // Run anyway (--include-ignored), it checks that the specs these tests
    // are built from in CI are there.
    let upstream =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/openapi/upstream");
    assert!(
        upstream.is_dir(),
        "no upstream specs at {} to build these tests from",
        upstream.display()
    );
}

#[cfg(all(
    s2_operation = "list_basins",
    s2_operation = "create_basin",
    s2_operation = "append"
))]
mod whole_api {
    use std::time::{Duration, Instant};

    use s2_openapi::{Client, Error, ErrorCode, RetryPolicy, types};

    use crate::support::faults::{
        ATTEMPT_TIMEOUT, Fault, FaultServer, client, error_info, reply, with_header,
    };
    use crate::support::{self, TOKEN};

    /// Names held in a `String` are passed by reference, as `&str` is; a
    /// read past the tail gives the declared `416` body typed; values
    /// compare.
    #[tokio::test]
    async fn strings_by_reference_typed_declared_bodies_and_comparable_values() {
        use s2_openapi::generated::DeclaredError;

        let tail = br#"{"tail": {"seq_num": 3, "timestamp": 7}}"#.to_vec();
        let json = vec![("content-type", "application/json".into())];
        let server = FaultServer::start(vec![Fault::Reply(416, json, tail)]).await;
        let basin = client(&server.endpoint).basin("my-basin-1").unwrap();
        let name = String::from("orders");
        let err = basin
            .generated()
            .read()
            .stream(&name)
            .seq_num(10u64)
            .await
            .unwrap_err();
        assert_eq!(
            server.paths()[0].split('?').next(),
            Some("/v1/streams/orders/records")
        );
        let Error::Api(answer) = &err else {
            panic!("{err:?}");
        };
        let Some(DeclaredError::TailResponse(response)) = answer.declared() else {
            panic!("{err:?}");
        };
        let expected = types::StreamPosition {
            seq_num: 3,
            timestamp: 7,
        };
        assert_eq!(response.tail, expected);
        assert_ne!(
            response.tail,
            types::StreamPosition {
                seq_num: 4,
                ..expected.clone()
            }
        );
        // An ErrorInfo is not a declared body of its own.
        let (err, _) = list_basins(vec![error_info(503, "unavailable")]).await;
        let Error::Api(answer) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(answer.declared(), None);
    }

    /// A success whose body is cut short is a failed attempt, retried by
    /// the same rules: an idempotent request again, an append not (it may
    /// have acted).
    #[tokio::test]
    async fn a_success_cut_short_is_a_failed_attempt() {
        let listed = Fault::Reply(
            200,
            vec![("content-type", "application/json".into())],
            br#"{"basins": [], "has_more": false}"#.to_vec(),
        );
        let server = FaultServer::start(vec![Fault::CutSuccess, listed]).await;
        let api = client(&server.endpoint);
        let page = api.generated().list_basins().await.unwrap();
        assert!(page.basins.is_empty());
        assert_eq!(server.attempts(), 2);

        let server = FaultServer::start(vec![Fault::CutSuccess, reply(200)]).await;
        let basin = client(&server.endpoint).basin("my-basin-1").unwrap();
        let input =
            types::builder::AppendInput::default().records(vec![types::AppendRecord::new("a")]);
        let err = basin
            .generated()
            .append()
            .stream("s")
            .body(input)
            .await
            .unwrap_err();
        assert!(err.may_have_taken_effect(), "{err:?}");
        assert!(matches!(err, Error::Transport(_)), "{err:?}");
        assert_eq!(server.attempts(), 1);
    }

    async fn list_basins(script: Vec<Fault>) -> (Error, FaultServer) {
        let server = FaultServer::start(script).await;
        let result = client(&server.endpoint)
            .generated()
            .list_basins()
            .send()
            .await;
        (Error::from(result.unwrap_err()), server)
    }

    /// An append without a token: not idempotent.
    async fn append(client: &Client) -> Result<(), Error> {
        let record = types::AppendRecord {
            body: Some("r".into()),
            headers: Vec::new(),
            timestamp: None,
        };
        client
            .basin("some-basin")?
            .generated()
            .append()
            .stream("s1")
            .body(types::builder::AppendInput::default().records(vec![record]))
            .send()
            .await?;
        Ok(())
    }

    #[tokio::test]
    async fn a_get_is_retried_on_503_and_on_429_after_the_servers_hint() {
        let hinted = with_header(error_info(429, "rate_limited"), "retry-after-ms", "400");
        let started = Instant::now();
        let (err, server) = list_basins(vec![
            error_info(503, "unavailable"),
            hinted,
            error_info(403, "permission_denied"),
        ])
        .await;
        assert_eq!(server.attempts(), 3);
        // The last answer, typed, with its status.
        assert_eq!(err.code(), Some(&ErrorCode::PermissionDenied), "{err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
        // The backoff alone is at most 5 ms: the hint was waited out.
        assert!(started.elapsed() >= Duration::from_millis(400));
    }

    #[tokio::test]
    async fn a_create_is_retried_with_one_request_token() {
        let server = FaultServer::start(vec![Fault::Reset]).await;
        let client = client(&server.endpoint);
        let create = |token: Option<&str>| {
            let mut call = client
                .generated()
                .create_basin()
                .body(types::builder::CreateBasinRequest::default().basin("my-basin-1"));
            if let Some(token) = token {
                call = call.s2_request_token(token);
            }
            call.send()
        };
        let err = Error::from(create(None).await.unwrap_err());
        assert!(
            matches!(err, Error::Transport(_)),
            "a reset is a transport failure: {err:?}"
        );
        // Retried after each reset (creates carry a token), and every
        // attempt carried the same fresh one.
        let tokens = server.header_values("s2-request-token");
        assert_eq!(tokens.len(), 3, "{tokens:?}");
        let first = tokens[0].clone().expect("a token");
        assert_eq!(first.len(), 32);
        assert!(tokens.iter().all(|t| t.as_deref() == Some(first.as_str())));
        // The next call gets a new one; the caller's own is kept.
        let _ = create(None).await;
        let _ = create(Some("caller-token-1")).await;
        let tokens = server.header_values("s2-request-token");
        assert_eq!(tokens.len(), 9);
        assert!(tokens[3..6].iter().all(|t| t == &tokens[3]));
        assert_ne!(tokens[3], tokens[0]);
        assert!(
            tokens[6..]
                .iter()
                .all(|t| t.as_deref() == Some("caller-token-1"))
        );
    }

    #[tokio::test]
    async fn an_append_without_a_token_is_retried_only_when_nothing_happened() {
        // It may have been carried out: one attempt, the failure reported.
        for (fault, what) in [
            (Fault::Hang, "timeout"),
            (Fault::Reset, "reset"),
            (error_info(500, "other"), "500 other"),
            (error_info(503, "unavailable"), "503 unavailable"),
        ] {
            let server = FaultServer::start(vec![fault]).await;
            let err = append(&client(&server.endpoint)).await.unwrap_err();
            assert_eq!(server.attempts(), 1, "{what} was retried: {err:?}");
            assert!(err.is_retryable(), "{what}: {err:?}");
        }
        // S2 says it had no effect: retried.
        for code in [(429, "rate_limited"), (503, "server_draining")] {
            let server = FaultServer::start(vec![
                with_header(error_info(code.0, code.1), "retry-after-ms", "1"),
                error_info(400, "invalid"),
            ])
            .await;
            let err = append(&client(&server.endpoint)).await.unwrap_err();
            assert_eq!(server.attempts(), 2, "{code:?}: {err:?}");
            assert_eq!(err.code(), Some(&ErrorCode::Invalid));
        }
    }

    #[test]
    fn a_refused_append_is_retried_and_spans_name_the_operation() {
        let log = support::traced(|| async {
            // A port nobody listens on: every attempt is refused.
            let port = support::free_port();
            let err = append(&client(&format!("http://127.0.0.1:{port}")))
                .await
                .unwrap_err();
            assert!(err.is_connect(), "{err:?}");
        });
        assert!(!log.contains(TOKEN), "the token is in the trace:\n{log}");
        assert!(
            log.contains("s2.call{operation=\"append\" attempts=3}"),
            "{log}"
        );
        assert!(log.contains("s2.attempt{attempt=3"), "{log}");
    }

    #[tokio::test]
    async fn the_deadline_holds_across_attempts() {
        let server = FaultServer::start(vec![Fault::Hang]).await;
        let client = Client::builder()
            .access_token(TOKEN)
            .endpoint(&server.endpoint)
            .request_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(Duration::from_millis(450))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = Error::from(client.generated().list_basins().send().await.unwrap_err());
        let elapsed = started.elapsed();
        assert!(err.is_timeout(), "{err:?}");
        // The second attempt got what was left of 450 ms, not 300 ms more.
        assert_eq!(server.attempts(), 2);
        assert!(
            elapsed < Duration::from_millis(450) + ATTEMPT_TIMEOUT,
            "{elapsed:?}"
        );
    }

    #[tokio::test]
    async fn error_bodies_are_capped() {
        let server = FaultServer::start(vec![Fault::Endless]).await;
        let client = Client::builder()
            .access_token(TOKEN)
            .endpoint(&server.endpoint)
            .retry_policy(RetryPolicy::disabled())
            .build()
            .unwrap();
        // The body never ends: only a cap lets the call finish before its
        // timeout, with the status and a short excerpt.
        let err = Error::from(client.generated().list_basins().send().await.unwrap_err());
        let Error::Api(response) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(response.status().as_u16(), 500);
        assert_eq!(response.message().len(), 512);
    }

    #[tokio::test]
    async fn every_answer_keeps_its_status_and_code() {
        // A status the spec does not list for the operation, with S2's body.
        let (err, server) = list_basins(vec![error_info(404, "basin_not_found")]).await;
        assert_eq!(err.code(), Some(&ErrorCode::BasinNotFound), "{err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
        assert_eq!(server.attempts(), 1);
        // A bare 502 (a proxy's), retried, then a documented error.
        let (err, server) = list_basins(vec![reply(502), error_info(400, "invalid")]).await;
        assert_eq!(err.code(), Some(&ErrorCode::Invalid), "{err:?}");
        assert_eq!(server.attempts(), 2);
        // A documented error status whose body is not the spec's: progenitor
        // drops the status when it fails to decode; the layer keeps it.
        let html = Fault::Reply(403, Vec::new(), b"<html>denied</html>".to_vec());
        let (err, _) = list_basins(vec![html]).await;
        let Error::Api(response) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(response.status().as_u16(), 403);
        assert_eq!(response.message(), "<html>denied</html>");
    }

    /// An operation the spec serves per basin is refused on the account's
    /// handle, before anything is sent, with what to do instead; on a
    /// basin's handle it goes out with the basin named.
    #[cfg(s2_operation = "list_streams")]
    #[tokio::test]
    async fn basin_operations_need_a_basin_handle() {
        let server = FaultServer::start(vec![error_info(404, "basin_not_found")]).await;
        let account = client(&server.endpoint);
        let err = Error::from(account.generated().list_streams().send().await.unwrap_err());
        assert!(matches!(err, Error::NotSent(_)), "{err:?}");
        assert!(err.to_string().contains("client.basin(name)"), "{err}");
        assert_eq!(server.attempts(), 0);

        let basin = account.basin("some-basin").unwrap();
        let err = Error::from(basin.generated().list_streams().send().await.unwrap_err());
        assert_eq!(err.code(), Some(&ErrorCode::BasinNotFound), "{err:?}");
        assert_eq!(server.attempts(), 1);

        // And the account's operations are refused on a basin's handle.
        let err = basin.generated().list_basins().await.unwrap_err();
        assert!(matches!(err, Error::NotSent(_)), "{err:?}");
        assert!(err.to_string().contains("served by the account"), "{err}");
        assert_eq!(server.attempts(), 1);
        assert_eq!(
            server.header_values("s2-basin"),
            [Some("some-basin".to_owned())]
        );
    }

    /// A name that URL parsing would not keep as one path segment (a `\`
    /// read as `/`, a `.` or `..` resolved) is refused before sending, so
    /// a call never reaches another resource; a name that is one segment
    /// goes out percent-encoded.
    #[cfg(s2_operation = "delete_stream")]
    #[tokio::test]
    async fn a_name_that_would_leave_its_path_segment_is_not_sent() {
        let server = FaultServer::start(vec![Fault::Reply(202, Vec::new(), Vec::new())]).await;
        let basin = client(&server.endpoint).basin("some-basin").unwrap();
        for name in [r"logs\2024", r"..\basins\other-basin", "..", "."] {
            let err = basin
                .generated()
                .delete_stream()
                .stream(name)
                .await
                .unwrap_err();
            assert!(matches!(err, Error::NotSent(_)), "{name}: {err:?}");
            assert!(err.to_string().contains("one path segment"), "{err}");
        }
        assert_eq!(server.attempts(), 0);
        let _ = basin.generated().delete_stream().stream("a/b?c").await;
        assert_eq!(server.attempts(), 1);
        assert_eq!(server.paths(), ["/v1/streams/a%2Fb%3Fc"]);
    }

    /// A list as a stream: each page starts after the last item of the one
    /// before, with the request's other parameters kept; an error part-way
    /// ends the stream with it, after every item received before it.
    #[cfg(s2_operation = "list_streams")]
    #[tokio::test]
    async fn a_list_stream_follows_the_cursor_then_ends_with_its_error() {
        use futures_util::StreamExt as _;
        use s2_openapi::CursorList as _;
        use support::{Recorder, Reply};

        let page = |names: &[&str], more: bool| {
            let streams: Vec<String> = names
                .iter()
                .map(|n| format!(r#"{{"name":"{n}","created_at":"2026-01-01T00:00:00Z"}}"#))
                .collect();
            Reply::json(
                200,
                &format!(r#"{{"streams":[{}],"has_more":{more}}}"#, streams.join(",")),
            )
        };
        let server = Recorder::start(move |r| {
            if r.target.contains("start_after=p-b") {
                page(&["p-c"], true)
            } else if r.target.contains("start_after=p-c") {
                Reply::error_info(400, "invalid", "bad cursor")
            } else {
                page(&["p-a", "p-b"], true)
            }
        })
        .await;
        let basin = client(&server.endpoint).basin("some-basin").unwrap();
        let results: Vec<Result<String, Error>> = basin
            .generated()
            .list_streams()
            .prefix("p-")
            .items()
            .map(|item| item.map(|s| s.name.to_string()))
            .collect()
            .await;
        let (items, errors): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        let items: Vec<String> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(items, ["p-a", "p-b", "p-c"]);
        let [Err(err)] = errors.as_slice() else {
            panic!("{errors:?}")
        };
        assert_eq!(err.code(), Some(&ErrorCode::Invalid), "{err:?}");
        let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
        assert_eq!(targets.len(), 3, "{targets:?}");
        assert!(
            targets.iter().all(|t| t.contains("prefix=p-")),
            "{targets:?}"
        );
        assert!(!targets[0].contains("start_after"), "{targets:?}");
    }

    /// A list that would ask for the same page forever ends with an error:
    /// a page that promises more and holds nothing to continue after (one
    /// request), or a page ending where the one before ended (two).
    #[cfg(s2_operation = "list_streams")]
    #[tokio::test]
    async fn a_list_that_would_not_move_on_is_an_error() {
        use futures_util::TryStreamExt as _;
        use s2_openapi::CursorList as _;
        use support::{Recorder, Reply};

        let same_item =
            r#"{"streams":[{"name":"p-a","created_at":"2026-01-01T00:00:00Z"}],"has_more":true}"#;
        for (page, requests) in [(r#"{"streams":[],"has_more":true}"#, 1), (same_item, 2)] {
            let server = Recorder::always(Reply::json(200, page)).await;
            let basin = client(&server.endpoint).basin("some-basin").unwrap();
            let err = basin
                .generated()
                .list_streams()
                .items()
                .try_collect::<Vec<_>>()
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidBody(_)), "{page}: {err:?}");
            assert_eq!(server.count(), requests, "{page}");
        }
    }
}
