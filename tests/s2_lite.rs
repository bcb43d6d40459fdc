//! Conformance with S2's own open-source server, `s2-lite`.
//!
//! The binary comes from `S2_LITE_BIN`, else
//! `~/.cache/s2-openapi/s2-lite-0.43.4/bin/server` (where `.ci/run` installs it
//! with `cargo install s2-lite --locked`). The tests are ignored by default,
//! so `cargo test` reports them as not run, with the reason; `cargo test --
//! --include-ignored` (as `.ci/run` does) runs them, and then a missing
//! binary is a failure. Each test starts its own server on a free loopback
//! port.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use s2_openapi::{Error, ErrorCode};

mod support;

use support::s2_lite::S2Lite;
#[cfg(s2_operation = "create_basin")]
use support::s2_lite::create_basin;
#[cfg(s2_operation = "create_stream")]
use support::s2_lite::create_stream;
#[cfg(s2_operation = "delete_basin")]
use support::s2_lite::delete_basin;

#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn revoke_maps_s2_lites_answers_to_typed_errors() {
    let s2 = S2Lite::start().await;
    for http2 in [false, true] {
        let client = s2.client(http2);
        let err = client.revoke_access_token("abc").await.unwrap_err();
        assert!(matches!(err, Error::Api(_)), "{err:?}");
        assert_eq!(err.code(), Some(&ErrorCode::NotImplemented), "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(501));
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn s2_lite_refuses_what_the_client_refuses_first() {
    let s2 = S2Lite::start().await;
    let client = s2.client(false);
    // 60 characters, 120 bytes: the vendored spec allows it, S2 does not.
    // Sent raw (plain reqwest, whatever the spec says), s2-lite answers 400
    // bad_path...
    let id = "é".repeat(60);
    let raw = reqwest::Client::new()
        .delete(format!(
            "{}/v1/access-tokens/{}",
            s2.endpoint,
            percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["code"], "bad_path", "{body}");
    // ...and the wrapper never sends it, nor the traversal ids.
    for id in [id.as_str(), ".", "..", "..\\admin", "a\0b", ""] {
        let err = client.revoke_access_token(id).await.unwrap_err();
        assert!(
            matches!(err, Error::Invalid(s2_openapi::InvalidInput::Id(_))),
            "{id:?}: {err:?}"
        );
    }
}

/// With a client generated from the full S2 spec (CI's spec matrix builds
/// the crate from `../shared/openapi/upstream/`), drive s2-lite for real
/// through the same configuration: auth, endpoint, errors.
///
/// Only specs newer than the `create_or_reconfigure_basin` era: the
/// 2025-11-05 spec requires `BasinInfo.scope`, which today's s2-lite
/// (0.43.4) omits, so its generated client rightly refuses the answer.
#[cfg(all(
    not(s2_operation = "create_or_reconfigure_basin"),
    s2_operation = "create_basin",
    s2_operation = "list_basins",
    s2_operation = "get_basin_config",
    s2_operation = "delete_basin"
))]
#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn full_api_basins_against_s2_lite() {
    use s2_openapi::types;

    let s2 = S2Lite::start().await;
    let client = s2.client(false);
    let api = client.generated();
    let basin = format!("s2-openapi-{}", std::process::id());

    api.create_basin()
        .body(types::CreateBasinRequest::builder().basin(basin.as_str()))
        .send()
        .await
        .unwrap();
    // Creating it again conflicts.
    let err = api
        .create_basin()
        .body(types::CreateBasinRequest::builder().basin(basin.as_str()))
        .send()
        .await
        .unwrap_err();
    let err = Error::from(err);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409), "{err}");
    assert_eq!(err.code(), Some(&ErrorCode::ResourceAlreadyExists), "{err}");

    let listed = api.list_basins().send().await.unwrap().into_inner();
    assert!(
        listed.basins.iter().any(|b| b.name.as_str() == basin),
        "{listed:?}"
    );

    let err = api
        .get_basin_config()
        .basin("no-such-basin-here")
        .send()
        .await
        .unwrap_err();
    let err = Error::from(err);
    assert_eq!(err.code(), Some(&ErrorCode::BasinNotFound), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));

    api.delete_basin()
        .basin(basin.as_str())
        .send()
        .await
        .unwrap();
}

/// Streams live in a basin: a basin handle (`s2-basin` header on s2-lite's
/// one endpoint) drives the spec's stream operations.
#[cfg(all(
    not(s2_operation = "create_or_reconfigure_basin"),
    s2_operation = "create_basin",
    s2_operation = "delete_basin",
    s2_operation = "create_stream",
    s2_operation = "list_streams",
    s2_operation = "delete_stream"
))]
#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn full_api_streams_against_s2_lite() {
    use s2_openapi::types;

    let s2 = S2Lite::start().await;
    let account = s2.client(false);
    let basin = format!("s2-openapi-streams-{}", std::process::id());
    account
        .generated()
        .create_basin()
        .body(types::CreateBasinRequest::builder().basin(basin.as_str()))
        .send()
        .await
        .unwrap();

    let scoped = account.basin(basin.as_str()).unwrap();
    let api = scoped.generated();
    api.create_stream()
        .body(types::CreateStreamRequest::builder().stream("events"))
        .send()
        .await
        .unwrap();
    let err = api
        .create_stream()
        .body(types::CreateStreamRequest::builder().stream("events"))
        .send()
        .await
        .unwrap_err();
    let err = Error::from(err);
    assert_eq!(err.code(), Some(&ErrorCode::ResourceAlreadyExists), "{err}");

    let listed = api.list_streams().send().await.unwrap().into_inner();
    let names: Vec<&str> = listed.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["events"]);

    api.delete_stream().stream("events").send().await.unwrap();
    let err = api
        .delete_stream()
        .stream("never-created")
        .send()
        .await
        .unwrap_err();
    let err = Error::from(err);
    assert_eq!(err.code(), Some(&ErrorCode::StreamNotFound), "{err}");

    // Without the basin, S2 cannot route a stream operation (s2-lite
    // answers 400 `bad_header`): the account's handle refuses to send it.
    let err = account.generated().list_streams().send().await.unwrap_err();
    let err = Error::from(err);
    assert!(matches!(err, Error::NotSent(_)), "{err}");

    account
        .generated()
        .delete_basin()
        .basin(basin.as_str())
        .send()
        .await
        .unwrap();
}

/// A basin's and a stream's whole life through the generated operations and
/// `?` alone, each call through the request layer. Built from a spec with
/// the whole API (the spec matrix in `.ci/run`).
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "create_stream",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "check_tail",
    s2_operation = "list_streams",
    s2_operation = "delete_stream",
    s2_operation = "delete_basin"
))]
#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn a_stream_lifecycle_through_the_generated_operations() -> Result<(), Error> {
    use s2_openapi::types;

    let s2 = S2Lite::start().await;
    for (n, http2) in [false, true].into_iter().enumerate() {
        let client = s2.client(http2);
        let name = format!("lifecycle-{n}");
        let created = client
            .generated()
            .create_basin()
            .body(types::builder::CreateBasinRequest::default().basin(name.as_str()))
            .send()
            .await;
        match created.map_err(Error::from) {
            // The 2025-11-05 spec requires `BasinInfo.scope`, which s2-lite
            // omits: the basin exists, its description does not decode.
            Ok(_) | Err(Error::InvalidBody(_)) => {}
            Err(e) => return Err(e),
        }
        let basin = client.basin(&name)?;
        let api = basin.generated();
        api.create_stream()
            .body(types::builder::CreateStreamRequest::default().stream("s1"))
            .send()
            .await?;
        let records: Vec<types::AppendRecord> = ["a", "b", "c"]
            .into_iter()
            .map(|body| types::AppendRecord {
                body: Some(body.into()),
                headers: Vec::new(),
                timestamp: None,
            })
            .collect();
        let ack = api
            .append()
            .stream("s1")
            .body(types::builder::AppendInput::default().records(records))
            .send()
            .await?;
        assert_eq!((ack.start.seq_num, ack.end.seq_num), (0, 3));

        let batch = api.read().stream("s1").seq_num(0).send().await?;
        let bodies: Vec<_> = batch.records.iter().map(|r| r.body.as_deref()).collect();
        assert_eq!(bodies, [Some(&b"a"[..]), Some(b"b"), Some(b"c")]);

        let tail = api.check_tail().stream("s1").send().await?;
        assert_eq!(tail.tail.seq_num, 3);

        let listed = api.list_streams().send().await?;
        let names: Vec<&str> = listed.streams.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s1"]);

        api.delete_stream().stream("s1").send().await?;
        client
            .generated()
            .delete_basin()
            .basin(name.as_str())
            .send()
            .await?;
        // Gone: S2's typed error, with status and code, through `?`.
        let err: Error = match api.check_tail().stream("s1").send().await {
            Ok(tail) => panic!("the stream outlived its basin: {tail:?}"),
            Err(e) => e.into(),
        };
        assert!(
            matches!(err.status().map(|s| s.as_u16()), Some(404 | 409)),
            "{err:?}"
        );
        assert!(err.code().is_some(), "{err:?}");
    }
    Ok(())
}

/// Record data are bytes: every byte value, invalid UTF-8, and binary
/// header names and values come back from S2 exactly as they went in,
/// through a read and a live read, with no format to set (the layer sends
/// `s2-format: base64`).
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "create_stream",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "delete_basin"
))]
#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn record_bytes_round_trip_through_append_and_read() -> Result<(), Error> {
    use futures_util::TryStreamExt as _;
    use s2_openapi::{RecordBytes, types};

    let s2 = S2Lite::start().await;
    let client = s2.client(false);
    let name = format!("bytes-{}", std::process::id());
    let basin = create_basin(&client, &name).await?;
    create_stream(&basin, "bin").await?;
    let api = basin.generated();

    let every_byte: Vec<u8> = (0..=255).collect();
    let bodies: Vec<Vec<u8>> = vec![
        every_byte.clone(),
        vec![0xff, 0x00],
        b"\xc3\x28 invalid UTF-8".to_vec(),
        Vec::new(),
        b"plain text".to_vec(),
    ];
    let header = |name: &[u8], value: &[u8]| types::Header::from((name, value));
    let records: Vec<types::AppendRecord> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| types::AppendRecord {
            body: Some(RecordBytes::from(body.clone())),
            headers: vec![
                header(&[0x80, 0xfe, i as u8], &every_byte),
                header(b"text", b"\x00\xff"),
            ],
            timestamp: None,
        })
        .collect();
    api.append()
        .stream("bin")
        .body(types::builder::AppendInput::default().records(records))
        .send()
        .await?;

    let batch = api.read().stream("bin").seq_num(0u64).send().await?;
    // And the same records through a live read, which ends after `count`.
    let live: Vec<types::ReadBatch> = basin
        .live(|live| {
            live.read()
                .stream("bin")
                .seq_num(0u64)
                .count(bodies.len() as u64)
        })
        .try_filter_map(|event| async move { Ok(event.into_data()) })
        .try_collect()
        .await?;
    let live: Vec<types::SequencedRecord> = live.into_iter().flat_map(|b| b.records).collect();
    assert_eq!(live.len(), bodies.len());
    assert_eq!(batch.records.len(), bodies.len());
    let both = batch.records.iter().chain(&live);
    for (i, (record, body)) in both.zip(bodies.iter().cycle()).enumerate() {
        let i = i % bodies.len();
        let got = record.body.as_deref().unwrap_or_default();
        assert_eq!(got, &body[..], "record {i}");
        let headers: Vec<(&[u8], &[u8])> = record
            .headers
            .iter()
            .map(|h| (h.0[0].as_bytes(), h.0[1].as_bytes()))
            .collect();
        assert_eq!(
            headers,
            [
                (&[0x80, 0xfe, i as u8][..], &every_byte[..]),
                (&b"text"[..], &b"\x00\xff"[..])
            ],
            "record {i}"
        );
    }
    delete_basin(&client, &name).await?;
    Ok(())
}

/// Lists are streams: 2,500 streams come back through `items()` each once
/// and in order, across pages, with and without a prefix; `pages()` gives
/// the pages themselves.
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "create_stream",
    s2_operation = "list_streams",
    s2_operation = "delete_basin"
))]
#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn lists_are_streams_across_pages() -> Result<(), Error> {
    use futures_util::{StreamExt as _, TryStreamExt as _};
    use s2_openapi::CursorList as _;

    let s2 = S2Lite::start().await;
    let client = s2.client(true);
    let name = format!("lists-{}", std::process::id());
    let basin = create_basin(&client, &name).await?;
    let api = basin.generated();
    // 2,000 under one prefix, 500 under another that sorts between them.
    let mut names: Vec<String> = (0..2000)
        .map(|i| format!("s-{i:05}"))
        .chain((0..500).map(|i| format!("r-{i:04}")))
        .collect();
    let basin_ref = &basin;
    futures_util::stream::iter(names.clone())
        .map(|stream| async move { create_stream(basin_ref, &stream).await })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await?;
    names.sort();

    let listed: Vec<String> = api
        .list_streams()
        .items()
        .map_ok(|s| s.name.to_string())
        .try_collect()
        .await?;
    assert_eq!(listed.len(), 2500);
    assert_eq!(listed, names, "every stream once, in order");

    let prefixed: Vec<String> = api
        .list_streams()
        .prefix("s-")
        .items()
        .map_ok(|s| s.name.to_string())
        .try_collect()
        .await?;
    assert_eq!(
        prefixed,
        names[500..],
        "only the prefix, every one, in order"
    );

    let pages: Vec<usize> = api
        .list_streams()
        .prefix("r-")
        .limit(200u64)
        .pages()
        .map_ok(|page| page.streams.len())
        .try_collect()
        .await?;
    assert_eq!(pages, [200, 200, 100]);

    delete_basin(&client, &name).await?;
    Ok(())
}

/// A live read started at the first record while a writer appends 100,000
/// records, through a proxy that cuts the connection about every 7,000
/// records and once goes silent for 25 s (past the heartbeat window): every
/// record arrives exactly once, in order, and the read follows the stream
/// (it ends when dropped).
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "create_stream",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "delete_basin"
))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn a_live_read_resumes_through_cuts_and_silence_without_loss_or_repeat() -> Result<(), Error>
{
    use futures_util::TryStreamExt as _;
    use s2_openapi::LiveEvent;
    use support::proxy::{Breaks, Proxy};

    const RECORDS: u64 = 100_000;
    const BATCH: usize = 1_000;
    let s2 = S2Lite::start().await;
    let writer = s2.client(false);
    let name = format!("live-{}", std::process::id());
    let basin = create_basin(&writer, &name).await?;
    create_stream(&basin, "live").await?;

    // A record is about 65 bytes on the wire: about 7,000 records per
    // connection; the third connection goes silent.
    let upstream = s2.endpoint.trim_start_matches("http://").to_owned();
    let breaks = Breaks {
        cut_after: 450_000,
        cut_requests_after: usize::MAX,
        until: usize::MAX,
        silent: Some((2, std::time::Duration::from_secs(25))),
    };
    let proxy = Proxy::start(upstream, breaks).await;
    let reader = s2_openapi::Client::builder()
        .access_token("s2-lite-ignores-tokens")
        .endpoint(&proxy.endpoint)
        .build()?;
    let reader_basin = reader.basin(&name)?;
    let read = tokio::spawn(async move {
        let events = reader_basin.live(|live| {
            // No bound: the read follows the stream until dropped.
            live.read().stream("live").seq_num(0u64)
        });
        let mut events = std::pin::pin!(events);
        let mut next = 0u64;
        let mut pings = 0;
        while next < RECORDS {
            let Some(event) = events.try_next().await? else {
                panic!("the live read ended after {next} records");
            };
            match event {
                LiveEvent::Data(batch) => {
                    for record in batch.records {
                        assert_eq!(record.seq_num, next, "in order, none lost or repeated");
                        let body = record.body.unwrap_or_default();
                        assert_eq!(body.as_bytes(), next.to_be_bytes(), "record {next}");
                        next += 1;
                    }
                }
                LiveEvent::Ping(heartbeat) => {
                    // S2 sends heartbeats only at the tail: where this
                    // reader is.
                    let at = heartbeat.caught_up_at().expect("a heartbeat with the tail");
                    assert_eq!(at.seq_num, next, "caught up at the reader's position");
                    pings += 1;
                }
                _ => {}
            }
        }
        Ok::<_, Error>((next, pings))
    });

    let bodies = (0..RECORDS).map(|n| n.to_be_bytes().to_vec());
    support::s2_lite::append(&basin, "live", bodies, BATCH).await?;
    let (received, _pings) = read.await.unwrap()?;
    assert_eq!(received, RECORDS);
    // Cut about every 7,000 records, and once silent: many connections.
    assert!(
        proxy.connections() >= 10,
        "{} connections",
        proxy.connections()
    );
    Ok(())
}

/// A long poll: `read` with `wait(12)` on a stream where nothing arrives
/// is answered, empty, after about 12 s in one request (the attempt
/// timeout, 5 s, grows by the wait); a record appended 3 s into such a
/// read comes back as soon as it is appended.
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "create_stream",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "delete_basin"
))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn a_long_poll_waits_in_one_request_and_ends_when_a_record_arrives() -> Result<(), Error> {
    use std::time::{Duration, Instant};
    use support::proxy::{Breaks, Proxy};

    let s2 = S2Lite::start().await;
    let writer = s2.client(false);
    let name = format!("long-poll-{}", std::process::id());
    let basin = create_basin(&writer, &name).await?;
    create_stream(&basin, "poll").await?;
    // The reader's requests go through a proxy that counts them; its
    // timeouts are the defaults (5 s an attempt, 20 s a call).
    let upstream = s2.endpoint.trim_start_matches("http://").to_owned();
    let proxy = Proxy::start(upstream, Breaks::NONE).await;
    let reader = s2_openapi::Client::builder()
        .access_token("s2-lite-ignores-tokens")
        .endpoint(&proxy.endpoint)
        .build()?;
    let reader = reader.basin(&name)?;

    let started = Instant::now();
    let batch = reader
        .generated()
        .read()
        .stream("poll")
        .seq_num(0u64)
        .wait(12u32)
        .await?;
    let elapsed = started.elapsed();
    eprintln!("long poll with nothing appended: {elapsed:?}");
    assert!(batch.records.is_empty(), "{batch:?}");
    assert!(elapsed >= Duration::from_secs(11), "{elapsed:?}");
    assert_eq!(proxy.requests(), 1, "one request, not retried");

    let appended = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        support::s2_lite::append(&basin, "poll", [b"late".to_vec()], 1).await
    });
    let started = Instant::now();
    let batch = reader
        .generated()
        .read()
        .stream("poll")
        .seq_num(0u64)
        .wait(12u32)
        .await?;
    let elapsed = started.elapsed();
    eprintln!("long poll answered by a record appended after 3 s: {elapsed:?}");
    appended.await.unwrap()?;
    let bodies: Vec<_> = batch.records.iter().map(|r| r.body.as_deref()).collect();
    assert_eq!(bodies, [Some(&b"late"[..])]);
    assert!(elapsed < Duration::from_secs(9), "{elapsed:?}");
    assert_eq!(proxy.requests(), 2);
    delete_basin(&writer, &name).await?;
    Ok(())
}

/// A client of s2-lite at `endpoint` with `compression`.
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "delete_basin"
))]
fn compressing_client(endpoint: &str, compression: s2_openapi::Compression) -> s2_openapi::Client {
    s2_openapi::Client::builder()
        .access_token("s2-lite-ignores-tokens")
        .endpoint(endpoint)
        .compression(compression)
        .build()
        .unwrap()
}

/// Record bodies as an application might write them: JSON, alike but not
/// the same.
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "create_stream",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "delete_basin"
))]
fn order_bodies(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            format!(
                r#"{{"order":{i},"customer":"customer-{:04}","status":"shipped","items":[{{"sku":"sku-{:03}","quantity":{}}}],"note":"left at the front door"}}"#,
                i % 97,
                i % 13,
                i % 5 + 1
            )
            .into_bytes()
        })
        .collect()
}

/// With gzip and with zstd: records with bodies large enough that the
/// append is sent compressed (and the read answered compressed) come back
/// as they went in, through a read and a live read (never compressed).
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "create_stream",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "delete_basin"
))]
#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn compression_roundtrip() -> Result<(), Error> {
    use futures_util::TryStreamExt as _;
    use s2_openapi::{Compression, types};
    use support::proxy::{Breaks, Proxy};

    let s2 = S2Lite::start().await;
    let upstream = s2.endpoint.trim_start_matches("http://").to_owned();
    for compression in [Compression::Gzip, Compression::Zstd] {
        // Through a proxy that counts the bytes each way.
        let proxy = Proxy::start(upstream.clone(), Breaks::NONE).await;
        let client = compressing_client(&proxy.endpoint, compression);
        let name = format!("compressed-{compression:?}-{}", std::process::id()).to_lowercase();
        let basin = create_basin(&client, &name).await?;
        create_stream(&basin, "s1").await?;
        // 20 bodies of 4 KiB: about 110 KiB of JSON each way.
        let bodies: Vec<Vec<u8>> = (0..20u8)
            .map(|i| {
                [i; 16]
                    .iter()
                    .chain(b"compressible ")
                    .copied()
                    .cycle()
                    .take(4096)
                    .collect()
            })
            .collect();
        support::s2_lite::append(&basin, "s1", bodies.clone(), 20).await?;
        let batch = basin.generated().read().stream("s1").seq_num(0u64).await?;
        let read: Vec<Vec<u8>> = batch
            .records
            .iter()
            .map(|r| r.body.as_deref().unwrap_or_default().to_vec())
            .collect();
        assert_eq!(read, bodies, "{compression:?}");
        // Both ways compressed: far below the 110 KiB the records take
        // each way.
        let (sent, received) = (proxy.bytes_to_server(), proxy.bytes_to_client());
        eprintln!("round trip, {compression:?}: {sent} bytes sent, {received} received");
        assert!(sent < 30_000, "{compression:?}: {sent} bytes sent");
        assert!(
            received < 30_000,
            "{compression:?}: {received} bytes received"
        );
        // A live read asks for the encoding too; S2 never compresses event
        // streams, and the read is unchanged.
        let live: Vec<types::ReadBatch> = basin
            .live(|live| live.read().stream("s1").seq_num(0u64).count(20u64))
            .try_filter_map(|event| async move { Ok(event.into_data()) })
            .try_collect()
            .await?;
        let live: Vec<Vec<u8>> = (live.iter().flat_map(|b| &b.records))
            .map(|r| r.body.as_deref().unwrap_or_default().to_vec())
            .collect();
        assert_eq!(live, bodies, "{compression:?}: live");
        delete_basin(&client, &name).await?;
    }
    Ok(())
}

/// With gzip and with zstd, a failed call (a compressed append to a stream
/// that does not exist) still gives S2's typed error.
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "delete_basin"
))]
#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn compression_with_no_side_effects() -> Result<(), Error> {
    use s2_openapi::Compression;

    let s2 = S2Lite::start().await;
    for compression in [Compression::Gzip, Compression::Zstd] {
        let client = compressing_client(&s2.endpoint, compression);
        let name = format!("no-stream-{compression:?}-{}", std::process::id()).to_lowercase();
        let basin = create_basin(&client, &name).await?;
        let bodies = vec![vec![b'x'; 8 * 1024]];
        let err = support::s2_lite::append(&basin, "never-created", bodies, 1)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::StreamNotFound), "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
        // And a read of it, whose answer is asked for compressed.
        let err = basin
            .generated()
            .read()
            .stream("never-created")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::StreamNotFound), "{err}");
        delete_basin(&client, &name).await?;
    }
    Ok(())
}

/// A read of 1,000 records moves substantially fewer bytes towards the
/// client compressed (gzip, zstd) than not, counted by a loopback proxy
/// between the client and s2-lite, and returns the same records.
#[cfg(all(
    s2_operation = "create_basin",
    s2_operation = "create_stream",
    s2_operation = "append",
    s2_operation = "read",
    s2_operation = "delete_basin"
))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn compression_shrinks_a_1000_record_read_on_the_wire() -> Result<(), Error> {
    use s2_openapi::Compression;
    use support::proxy::{Breaks, Proxy};

    let s2 = S2Lite::start().await;
    let writer = s2.client(false);
    let name = format!("wire-bytes-{}", std::process::id());
    let basin = create_basin(&writer, &name).await?;
    create_stream(&basin, "orders").await?;
    let bodies = order_bodies(1000);
    support::s2_lite::append(&basin, "orders", bodies.clone(), 1000).await?;

    let upstream = s2.endpoint.trim_start_matches("http://").to_owned();
    let mut moved = Vec::new();
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let proxy = Proxy::start(upstream.clone(), Breaks::NONE).await;
        let reader = compressing_client(&proxy.endpoint, compression).basin(&name)?;
        let batch = reader
            .generated()
            .read()
            .stream("orders")
            .seq_num(0u64)
            .count(1000u64)
            .await?;
        let read: Vec<&[u8]> = batch
            .records
            .iter()
            .map(|r| r.body.as_deref().unwrap_or_default())
            .collect();
        assert_eq!(read.len(), 1000, "{compression:?}");
        assert!(
            read.iter().eq(bodies.iter()),
            "{compression:?}: other records"
        );
        eprintln!(
            "1,000-record read, {compression:?}: {} bytes to the client, {} to s2-lite",
            proxy.bytes_to_client(),
            proxy.bytes_to_server()
        );
        moved.push(proxy.bytes_to_client());
    }
    let [plain, gzip, zstd] = moved[..] else {
        unreachable!()
    };
    assert!(gzip < plain / 2, "gzip {gzip} of {plain} bytes");
    assert!(zstd < plain / 2, "zstd {zstd} of {plain} bytes");
    delete_basin(&writer, &name).await?;
    Ok(())
}

/// An ensure without configuration (`null`, sent as no body) creates with
/// S2's defaults, and its response says whether it created: 201, then 200.
#[cfg(all(
    s2_operation = "ensure_basin",
    s2_operation = "ensure_stream",
    s2_operation = "delete_basin"
))]
#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN); run with --include-ignored"]
async fn an_ensure_without_configuration_says_whether_it_created() -> Result<(), Error> {
    use s2_openapi::types;

    let s2 = S2Lite::start().await;
    let client = s2.client(false);
    // Held in a `String`, passed by reference.
    let name = format!("ensure-{}", std::process::id());
    for expected in [201, 200] {
        let response = (client.generated().ensure_basin().basin(&name))
            .body(None::<types::EnsureBasinRequest>)
            .response()
            .await?;
        assert_eq!(response.status().as_u16(), expected);
    }
    let basin = client.basin(&name)?;
    let stream = String::from("events");
    for expected in [201, 200] {
        let response = (basin.generated().ensure_stream().stream(&stream))
            .body(None::<types::StreamConfig>)
            .response()
            .await?;
        assert_eq!(response.status().as_u16(), expected);
    }
    delete_basin(&client, &name).await
}
