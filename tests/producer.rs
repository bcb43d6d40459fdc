//! The producer: batching, order, acknowledgements, backpressure, flush,
//! close and drop, conditions, and exactly once through a proxy that cuts
//! requests and answers. Against scripted servers and s2-lite; built from
//! a spec with `append` (`.ci/run`'s spec matrix); built from a smaller
//! spec, one ignored test says why the rest is absent.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[cfg(not(s2_operation = "append"))]
#[test]
#[ignore = "the spec has no append: build with \
            S2_OPENAPI_SPEC=<a spec of the whole API> (.ci/run's spec matrix does)"]
fn the_producer_needs_a_spec_with_append() {
    let upstream =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/openapi/upstream");
    assert!(
        upstream.is_dir(),
        "no upstream specs at {}",
        upstream.display()
    );
}

#[cfg(s2_operation = "append")]
mod scripted {
    use std::time::Duration;

    use futures_util::FutureExt as _;
    use s2_openapi::{BatchAck, NotSent, ProducerConfig, ProducerError, types};

    use crate::support::faults::{Fault, FaultServer, client};

    const BASIN: &str = "my-basin-1";

    fn record(body: &str) -> types::AppendRecord {
        types::AppendRecord::new(body)
    }

    fn condition_failed(tail: u64) -> Fault {
        Fault::Reply(
            412,
            vec![("content-type", "application/json".into())],
            format!(r#"{{"seq_num_mismatch":{tail}}}"#).into_bytes(),
        )
    }

    /// An answer lost after the append may have acted, then `412` with the
    /// tail at the batch's end: the lost attempt appended it.
    #[tokio::test]
    async fn a_lost_answer_then_the_batchs_own_tail_counts_as_appended() {
        let server = FaultServer::start(vec![Fault::Reset, condition_failed(13)]).await;
        let basin = client(&server.endpoint).basin(BASIN).unwrap();
        let config = ProducerConfig::new().match_seq_num(10);
        let producer = basin.producer("s", config).await.unwrap();
        let tickets = [
            producer.submit(record("a")).await.unwrap(),
            producer.submit(record("b")).await.unwrap(),
            producer.submit(record("c")).await.unwrap(),
        ];
        producer.close().await.unwrap();
        for (ticket, seq_num) in tickets.into_iter().zip(10..) {
            let ack = ticket.await.unwrap();
            assert_eq!(ack.seq_num, seq_num);
            assert!(
                matches!(*ack.batch, BatchAck::FoundAppended { start: 10, end: 13 }),
                "{ack:?}"
            );
        }
        assert_eq!(server.attempts(), 2);
    }

    /// The same `412` without an uncertain attempt before it is another
    /// writer's doing: the batch fails with the condition, and the
    /// producer stops.
    #[tokio::test]
    async fn a_failed_condition_fails_the_batch_and_stops_the_producer() {
        let server = FaultServer::start(vec![condition_failed(3)]).await;
        let basin = client(&server.endpoint).basin(BASIN).unwrap();
        let producer = (basin.producer("s", ProducerConfig::new().match_seq_num(0)))
            .await
            .unwrap();
        let ticket = producer.submit(record("a")).await.unwrap();
        let ticket2 = producer.submit(record("b")).await.unwrap();
        let flushed = producer.flush().await.unwrap_err();
        for err in [
            ticket.await.unwrap_err(),
            ticket2.await.unwrap_err(),
            flushed,
        ] {
            assert!(
                matches!(
                    err.condition(),
                    Some(types::AppendConditionFailed::SeqNumMismatch(3))
                ),
                "{err:?}"
            );
            assert!(!err.may_have_been_appended(), "{err:?}");
            assert_eq!(err.error().and_then(|e| e.status()).unwrap().as_u16(), 412);
        }
        let after = producer.submit(record("c")).await.unwrap_err();
        assert!(
            matches!(after, ProducerError::NotSent(NotSent::EarlierBatchFailed)),
            "{after:?}"
        );
        assert!(!after.may_have_been_appended());
        assert_eq!(server.attempts(), 1);
    }

    /// Without a position an append is not retried once it may have acted,
    /// and its tickets say it may have been appended.
    #[tokio::test]
    async fn without_a_position_an_uncertain_append_is_not_retried() {
        let server = FaultServer::start(vec![Fault::Reset, condition_failed(1)]).await;
        let basin = client(&server.endpoint).basin(BASIN).unwrap();
        let producer = basin.producer("s", ProducerConfig::new()).await.unwrap();
        let ticket = producer.submit(record("a")).await.unwrap();
        let err = ticket.await.unwrap_err();
        assert!(err.may_have_been_appended(), "{err:?}");
        assert!(matches!(
            err,
            ProducerError::Append {
                indefinite: false,
                ..
            }
        ));
        assert_eq!(server.attempts(), 1);
        // The chain says what failed, then why.
        let chain = crate::support::chain(&err);
        assert!(chain[0].contains("batch failed"), "{chain:?}");
    }

    /// With the bound on unacknowledged bytes reached, `submit` waits.
    #[tokio::test]
    async fn submit_waits_while_the_unacknowledged_bytes_are_at_the_bound() {
        let server = FaultServer::start(vec![Fault::Hang]).await;
        let basin = client(&server.endpoint).basin(BASIN).unwrap();
        let config = ProducerConfig::new().max_unacked_bytes(s2_openapi::MAX_BATCH_BYTES);
        let producer = basin.producer("s", config).await.unwrap();
        let body = "x".repeat(100 * 1024);
        let mut tickets = Vec::new();
        // Ten records of 100 KiB fit in 1 MiB; an eleventh does not.
        for _ in 0..10 {
            let submit = producer.submit(record(&body)).now_or_never();
            tickets.push(submit.expect("room for it").unwrap());
        }
        assert!(producer.submit(record(&body)).now_or_never().is_none());
        drop(producer);
    }

    /// Dropping the producer fails the records not yet sent, which were
    /// not appended; nothing is sent.
    #[tokio::test]
    async fn dropping_the_producer_fails_what_was_not_sent() {
        let server = FaultServer::start(vec![Fault::Hang]).await;
        let basin = client(&server.endpoint).basin(BASIN).unwrap();
        let config = ProducerConfig::new().linger(Duration::from_secs(3600));
        let producer = basin.producer("s", config).await.unwrap();
        let tickets = [
            producer.submit(record("a")).await.unwrap(),
            producer.submit(record("b")).await.unwrap(),
        ];
        drop(producer);
        for ticket in tickets {
            let err = ticket.await.unwrap_err();
            assert!(
                matches!(err, ProducerError::NotSent(NotSent::Dropped)),
                "{err:?}"
            );
            assert!(!err.may_have_been_appended());
            assert!(err.to_string().contains("dropped"), "{err}");
        }
        assert_eq!(server.attempts(), 0);
    }

    #[tokio::test]
    async fn configurations_s2_would_refuse_are_refused() {
        let server = FaultServer::start(vec![Fault::Hang]).await;
        let basin = client(&server.endpoint).basin(BASIN).unwrap();
        for config in [
            ProducerConfig::new().max_batch_records(1001),
            ProducerConfig::new().max_batch_records(0),
            ProducerConfig::new().max_batch_bytes(s2_openapi::MAX_BATCH_BYTES + 1),
            ProducerConfig::new().max_unacked_bytes(1000),
            ProducerConfig::new().max_unacked_bytes(usize::MAX),
            ProducerConfig::new().max_in_flight(0),
        ] {
            let err = basin.producer("s", config).await.unwrap_err();
            assert!(err.is_invalid_input(), "{err}");
        }
        assert!(ProducerConfig::new().fencing_token("x".repeat(37)).is_err());
        let producer = basin.producer("s", ProducerConfig::new()).await.unwrap();
        let too_big = "x".repeat(s2_openapi::MAX_BATCH_BYTES);
        let err = producer.submit(record(&too_big)).await.unwrap_err();
        assert!(matches!(err, ProducerError::Invalid(_)), "{err:?}");
        // A linger past what a clock holds never ends a batch by itself,
        // and takes nothing down with it.
        let producer = (basin.producer("s", ProducerConfig::new().linger(Duration::MAX)))
            .await
            .unwrap();
        let ticket = producer.submit(record("a")).await.unwrap();
        drop(producer);
        let err = ticket.await.unwrap_err();
        assert!(
            matches!(err, ProducerError::NotSent(NotSent::Dropped)),
            "{err:?}"
        );
        assert_eq!(server.attempts(), 0);
    }

    /// A producer whose runtime shuts down leaves no ticket waiting: the
    /// tickets of records sent and of records not yet sent resolve while
    /// the application still holds the producer.
    #[test]
    fn tickets_resolve_when_the_producers_runtime_shuts_down() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        // The first append is never answered; the second batch waits
        // behind it, or both wait to be sent.
        let (producer, tickets) = runtime.block_on(async {
            let server = FaultServer::start(vec![Fault::Hang]).await;
            let basin = client(&server.endpoint).basin(BASIN).unwrap();
            let config = ProducerConfig::new().max_batch_records(1);
            let producer = basin.producer("s", config).await.unwrap();
            let first = producer.submit(record("a")).await.unwrap();
            let second = producer.submit(record("b")).await.unwrap();
            (producer, [first, second])
        });
        drop(runtime);
        let other = tokio::runtime::Runtime::new().unwrap();
        for ticket in tickets {
            let outcome = other
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), ticket).await });
            let err = outcome.expect("the ticket still waits").unwrap_err();
            // Abandoned when the task went first; when the shutdown cut the
            // connection under a batch first, the task saw that failure
            // (and stopped), as it would any other.
            assert!(
                matches!(
                    err,
                    ProducerError::Abandoned
                        | ProducerError::Append { .. }
                        | ProducerError::NotSent(NotSent::EarlierBatchFailed)
                ),
                "{err:?}"
            );
        }
        let err = other.block_on(producer.submit(record("c"))).unwrap_err();
        assert!(
            matches!(err, ProducerError::NotSent(NotSent::Stopped)),
            "{err:?}"
        );
    }
}

#[cfg(all(
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "check_tail",
    s2_operation = "create_basin",
    s2_operation = "create_stream"
))]
mod against_s2_lite {
    use std::time::Duration;

    use s2_openapi::{BatchAck, Error, ProducerConfig, types};

    use crate::support::proxy::{Breaks, Proxy};
    use crate::support::s2_lite::{S2Lite, create_basin, create_stream};

    /// The stream's records from `start`, `count` of them, read in pages.
    async fn read_all(basin: &s2_openapi::Basin, stream: &str, count: u64) -> Vec<Vec<u8>> {
        let mut bodies = Vec::new();
        while (bodies.len() as u64) < count {
            let batch = (basin.generated().read().stream(stream))
                .seq_num(bodies.len() as u64)
                .count(1000u64)
                .await
                .unwrap();
            assert!(
                !batch.records.is_empty(),
                "the stream ended at {}",
                bodies.len()
            );
            for record in batch.records {
                assert_eq!(record.seq_num, bodies.len() as u64);
                bodies.push(record.body.unwrap_or_default().into());
            }
        }
        bodies
    }

    async fn tail(basin: &s2_openapi::Basin, stream: &str) -> u64 {
        basin
            .generated()
            .check_tail()
            .stream(stream)
            .await
            .unwrap()
            .tail
            .seq_num
    }

    /// Full batches by count, the rest at close; every record acknowledged
    /// with its place; the stream holds them in order.
    #[tokio::test]
    #[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
    async fn records_are_batched_by_count_and_acknowledged_in_order() -> Result<(), Error> {
        let s2 = S2Lite::start().await;
        let client = s2.client(false);
        let basin =
            create_basin(&client, &format!("producer-count-{}", std::process::id())).await?;
        create_stream(&basin, "s").await?;
        let config = ProducerConfig::new().linger(Duration::from_secs(3600));
        let producer = basin.producer("s", config).await?;
        let mut tickets = Vec::new();
        for i in 0..2500u32 {
            tickets.push(
                producer
                    .submit(types::AppendRecord::new(i.to_string()))
                    .await
                    .unwrap(),
            );
        }
        producer.close().await.unwrap();
        let mut spans = Vec::new();
        for (ticket, i) in tickets.into_iter().zip(0u64..) {
            let ack = ticket.await.unwrap();
            assert_eq!(ack.seq_num, i);
            assert!(matches!(*ack.batch, BatchAck::Appended(_)));
            let span = (ack.batch.start(), ack.batch.end());
            if spans.last() != Some(&span) {
                spans.push(span);
            }
        }
        assert_eq!(spans, [(0, 1000), (1000, 2000), (2000, 2500)]);
        let bodies = read_all(&basin, "s", 2500).await;
        for (body, i) in bodies.iter().zip(0u32..) {
            assert_eq!(body, i.to_string().as_bytes());
        }
        Ok(())
    }

    /// Batches by metered bytes: ten records of 100 KiB fit in S2's 1 MiB,
    /// eleven do not.
    #[tokio::test]
    #[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
    async fn records_are_batched_by_metered_bytes() -> Result<(), Error> {
        let s2 = S2Lite::start().await;
        let client = s2.client(false);
        let basin =
            create_basin(&client, &format!("producer-bytes-{}", std::process::id())).await?;
        create_stream(&basin, "s").await?;
        let config = ProducerConfig::new().linger(Duration::from_secs(3600));
        let producer = basin.producer("s", config).await?;
        let body = vec![7u8; 100 * 1024];
        let mut tickets = Vec::new();
        for _ in 0..25 {
            let record = types::AppendRecord::new(body.clone());
            tickets.push(producer.submit(record).await.unwrap());
        }
        producer.close().await.unwrap();
        let mut sizes = Vec::new();
        for ticket in tickets {
            let ack = ticket.await.unwrap();
            let size = ack.batch.end() - ack.batch.start();
            if ack.seq_num == ack.batch.start() {
                sizes.push(size);
            }
        }
        assert_eq!(sizes, [10, 10, 5]);
        Ok(())
    }

    /// `flush` sends the open batch at once and can be called again.
    #[tokio::test]
    #[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
    async fn flush_sends_the_open_batch_and_can_be_called_again() -> Result<(), Error> {
        let s2 = S2Lite::start().await;
        let client = s2.client(false);
        let basin =
            create_basin(&client, &format!("producer-flush-{}", std::process::id())).await?;
        create_stream(&basin, "s").await?;
        let config = ProducerConfig::new().linger(Duration::from_secs(3600));
        let producer = basin.producer("s", config).await?;
        for round in 0..3u64 {
            let first = producer
                .submit(types::AppendRecord::new("a"))
                .await
                .unwrap();
            let second = producer
                .submit(types::AppendRecord::new("b"))
                .await
                .unwrap();
            producer.flush().await.unwrap();
            assert_eq!(tail(&basin, "s").await, 2 * (round + 1));
            assert_eq!(first.await.unwrap().seq_num, 2 * round);
            assert_eq!(second.await.unwrap().seq_num, 2 * round + 1);
        }
        // Nothing waiting: flush returns at once.
        producer.flush().await.unwrap();
        producer.close().await.unwrap();
        Ok(())
    }

    /// A fencing token the stream does not have stops the producer with
    /// the stream's token; the right one appends.
    #[tokio::test]
    #[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
    async fn a_fencing_token_guards_the_producer() -> Result<(), Error> {
        let s2 = S2Lite::start().await;
        let client = s2.client(false);
        let basin =
            create_basin(&client, &format!("producer-fence-{}", std::process::id())).await?;
        create_stream(&basin, "s").await?;
        let fence = types::AppendRecord::new("token-1").with_header("", "fence");
        let input = types::builder::AppendInput::default().records(vec![fence]);
        basin.generated().append().stream("s").body(input).await?;

        let wrong = ProducerConfig::new().fencing_token("token-2")?;
        let producer = basin.producer("s", wrong).await?;
        let err = producer
            .submit(types::AppendRecord::new("x"))
            .await
            .unwrap()
            .await
            .unwrap_err();
        match err.condition() {
            Some(types::AppendConditionFailed::FencingTokenMismatch(token)) => {
                assert_eq!(token.as_str(), "token-1");
            }
            other => panic!("{other:?}: {err:?}"),
        }

        // By hand, as docs/streams.md shows it: on the tail and the token.
        let token: types::FencingToken = "token-1".parse().unwrap();
        let input = types::builder::AppendInput::default()
            .records(vec![types::AppendRecord::new("z")])
            .match_seq_num(1u64)
            .fencing_token(token);
        let ack = basin.generated().append().stream("s").body(input).await?;
        assert_eq!((ack.start.seq_num, ack.end.seq_num), (1, 2));

        let right = ProducerConfig::new().fencing_token("token-1")?;
        let producer = basin.producer("s", right).await?;
        let ticket = producer
            .submit(types::AppendRecord::new("y"))
            .await
            .unwrap();
        producer.close().await.unwrap();
        // After the fence command record (0) and the one by hand (1).
        assert_eq!(ticket.await.unwrap().seq_num, 2);
        Ok(())
    }

    /// Exactly once through a network that cuts requests and answers:
    /// 100,000 records submitted, the stream holds exactly those, in
    /// order, each once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
    async fn exactly_once_through_cut_requests_and_answers() -> Result<(), Error> {
        const RECORDS: u32 = 100_000;
        let s2 = S2Lite::start().await;
        let direct = s2.client(false);
        let name = format!("producer-once-{}", std::process::id());
        let basin = create_basin(&direct, &name).await?;
        create_stream(&basin, "s").await?;

        let bodies = (0..RECORDS).map(|i| format!("{i:0100}"));
        let mut rounds = Vec::new();
        // Requests of 1,000 records are about 150 kB and answers a few
        // hundred bytes: the first run of connections cut requests in
        // their second, the second run answers in their third.
        for (cut_requests_after, cut_after) in [(250_000, usize::MAX), (usize::MAX, 700)] {
            let upstream = s2.endpoint.trim_start_matches("http://").to_owned();
            let breaks = Breaks {
                cut_after,
                cut_requests_after,
                until: 40,
                silent: None,
            };
            rounds.push(Proxy::start(upstream, breaks).await);
        }
        let mut found_appended = 0;
        let mut next = 0u64;
        let mut bodies = bodies.peekable();
        for proxy in &rounds {
            // Every connection is cut within its first few requests, and
            // with batches in flight on several connections a retry may
            // take one already cut into: more attempts than the default.
            let retries = s2_openapi::RetryPolicy::new().with_max_attempts(10);
            let client = s2_openapi::Client::builder()
                .access_token("s2-lite-ignores-tokens")
                .endpoint(&proxy.endpoint)
                .retry_policy(retries)
                .build()?;
            let basin = client.basin(&name)?;
            let producer = basin
                .producer("s", ProducerConfig::new().match_tail())
                .await?;
            let mut tickets = Vec::new();
            for body in bodies.by_ref().take(RECORDS as usize / 2) {
                // Refused once the producer stopped: the tickets say why.
                let Ok(ticket) = producer.submit(types::AppendRecord::new(body)).await else {
                    break;
                };
                tickets.push(ticket);
            }
            let _ = producer.close().await;
            for ticket in tickets {
                let ack = ticket
                    .await
                    .unwrap_or_else(|e| panic!("record {next}: {e:?}"));
                assert_eq!(ack.seq_num, next);
                if matches!(*ack.batch, BatchAck::FoundAppended { .. })
                    && ack.seq_num == ack.batch.start()
                {
                    found_appended += 1;
                }
                next += 1;
            }
            assert!(
                proxy.connections() >= 10,
                "{} connections",
                proxy.connections()
            );
        }
        assert!(bodies.peek().is_none());
        let connections: Vec<usize> = rounds.iter().map(Proxy::connections).collect();
        eprintln!("connections per run {connections:?}, batches found appended {found_appended}");
        // The second run lost answers to appends that had been made.
        assert!(found_appended > 0, "no answer was lost after its append");

        assert_eq!(tail(&basin, "s").await, u64::from(RECORDS));
        let stored = read_all(&basin, "s", u64::from(RECORDS)).await;
        for (body, i) in stored.iter().zip(0..RECORDS) {
            assert_eq!(body, format!("{i:0100}").as_bytes(), "record {i}");
        }
        Ok(())
    }
}
