//! Bulk revocation: exactly one outcome per input id, with faults in the
//! middle, duplicates and a stop, in one lane and in several; lanes on
//! connections of their own.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use s2_openapi::{BulkOptions, CancellationToken, Client, Outcome, RetryPolicy};
use support::{Recorder, Reply};

/// 204 for most ids; `*-fail` 403; `*-gone` 404; `*-flaky` 503 once, then 204.
async fn scripted() -> (Recorder, Arc<Mutex<HashMap<String, usize>>>) {
    let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let seen = Arc::clone(&hits);
    let server = Recorder::start(move |r| {
        let id = r.target.rsplit('/').next().unwrap().to_owned();
        let n = {
            let mut hits = seen.lock().unwrap();
            let n = hits.entry(id.clone()).or_default();
            *n += 1;
            *n
        };
        if id.ends_with("-fail") {
            Reply::error_info(403, "permission_denied", "no")
        } else if id.ends_with("-gone") {
            Reply::error_info(404, "access_token_not_found", "gone")
        } else if id.ends_with("-flaky") && n == 1 {
            Reply::error_info(503, "unavailable", "busy")
        } else {
            Reply::status(204)
        }
    })
    .await;
    (server, hits)
}

fn client(endpoint: &str) -> Client {
    builder(endpoint).build().unwrap()
}

fn builder(endpoint: &str) -> s2_openapi::ClientBuilder {
    Client::builder()
        .access_token(support::TOKEN)
        .endpoint(endpoint)
        .retry_policy(
            RetryPolicy::new().with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
}

/// The default: one lane on a current-thread runtime.
#[tokio::test]
async fn every_input_gets_exactly_one_outcome() {
    exactly_one_outcome_each(BulkOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_gets_exactly_one_outcome_over_lanes() {
    exactly_one_outcome_each(BulkOptions::default().with_lanes(3)).await;
}

async fn exactly_one_outcome_each(options: BulkOptions) {
    let (server, hits) = scripted().await;
    let mut ids = Vec::new();
    for i in 0..300 {
        ids.push(match i % 6 {
            0 => format!("t{i}-fail"),
            1 => format!("t{i}-gone"),
            2 => format!("t{i}-flaky"),
            3 => "..".to_owned(),
            4 => "dup".to_owned(),
            _ => format!("t{i}"),
        });
    }
    let outcomes: Vec<_> = client(&server.endpoint)
        .revoke_all(ids.clone(), options.with_concurrency(8))
        .collect()
        .await;
    assert_eq!(outcomes.len(), ids.len());
    let mut by_tag: Vec<Option<&Outcome>> = vec![None; ids.len()];
    for o in &outcomes {
        assert!(by_tag[o.tag].is_none(), "two outcomes for #{}", o.tag);
        assert_eq!(o.id, ids[o.tag]);
        by_tag[o.tag] = Some(&o.outcome);
    }
    let mut first_dup = true;
    for (i, outcome) in by_tag.into_iter().enumerate() {
        let outcome = outcome.unwrap();
        let expected = match i % 6 {
            0 => "failed",
            1 => "already_gone",
            2 | 5 => "revoked",
            3 => "refused",
            // The first occurrence is the one sent, whenever it comes out.
            _ if first_dup => {
                first_dup = false;
                "revoked"
            }
            _ => "duplicate",
        };
        assert_eq!(outcome.kind(), expected, "#{i} {}: {outcome:?}", ids[i]);
    }
    let dups: Vec<_> = outcomes.iter().filter(|o| o.id == "dup").collect();
    assert_eq!(
        dups.iter()
            .filter(|o| o.outcome.kind() == "revoked")
            .count(),
        1
    );
    assert_eq!(
        dups.iter()
            .filter(|o| o.outcome.kind() == "duplicate")
            .count(),
        49
    );
    // Each distinct valid id reached the server once; flaky ones twice.
    let hits = hits.lock().unwrap();
    assert_eq!(hits.get("dup"), Some(&1));
    for (id, n) in hits.iter() {
        let expected = if id.ends_with("-flaky") { 2 } else { 1 };
        assert_eq!(*n, expected, "{id}");
    }
    assert_eq!(hits.len(), 4 * 50 + 1);
    assert!(!hits.contains_key(".."));
}

#[tokio::test]
async fn a_stop_leaves_the_rest_not_attempted() {
    stop_leaves_the_rest(BulkOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_leaves_the_rest_not_attempted_over_lanes() {
    stop_leaves_the_rest(BulkOptions::default().with_lanes(2)).await;
}

async fn stop_leaves_the_rest(options: BulkOptions) {
    let (server, hits) = scripted().await;
    let stop = CancellationToken::new();
    let ids: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
    let client = client(&server.endpoint);
    let mut stream = std::pin::pin!(client.revoke_all(
        ids.clone(),
        options.with_concurrency(4).with_stop(stop.clone()),
    ));
    let mut outcomes = Vec::new();
    while let Some(o) = stream.next().await {
        if outcomes.len() == 10 {
            stop.cancel();
        }
        outcomes.push(o);
    }
    assert_eq!(outcomes.len(), 200);
    let mut tags: Vec<usize> = outcomes.iter().map(|o| o.tag).collect();
    tags.sort_unstable();
    assert_eq!(tags, (0..200).collect::<Vec<_>>());
    let revoked = outcomes
        .iter()
        .filter(|o| o.outcome.kind() == "revoked")
        .count();
    let skipped = outcomes
        .iter()
        .filter(|o| o.outcome.kind() == "not_attempted")
        .count();
    assert_eq!(revoked + skipped, 200);
    assert!((10..=20).contains(&revoked), "{revoked} revoked");
    assert_eq!(
        hits.lock().unwrap().len(),
        revoked,
        "a not-attempted id reached the server"
    );
}

#[tokio::test]
async fn dropping_the_stream_stops_new_requests() {
    dropping_stops(BulkOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_new_requests_over_lanes() {
    dropping_stops(BulkOptions::default().with_lanes(2)).await;
}

/// Ids handed to a lane that has not run yet are never sent once the
/// stream is dropped: its task is aborted with it.
#[tokio::test]
async fn dropping_the_stream_aborts_the_lanes() {
    use futures_util::FutureExt;
    let (server, hits) = scripted().await;
    let ids: Vec<String> = (0..100).map(|i| format!("a{i}")).collect();
    let client = client(&server.endpoint);
    let mut stream = Box::pin(client.revoke_all(ids, BulkOptions::default().with_concurrency(4)));
    // One poll on this (current-thread) runtime: 8 ids handed out, and the
    // lane not yet run.
    assert!(stream.next().now_or_never().is_none());
    drop(stream);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hits.lock().unwrap().len(),
        0,
        "a request went out after the drop"
    );
}

/// A stop reaches ids already handed to a lane: they are checked again when
/// they would start.
#[tokio::test]
async fn a_stop_reaches_ids_already_handed_out() {
    use futures_util::FutureExt;
    let (server, hits) = scripted().await;
    let ids: Vec<String> = (0..20).map(|i| format!("h{i}")).collect();
    let client = client(&server.endpoint);
    let stop = CancellationToken::new();
    let mut stream = Box::pin(
        client.revoke_all(
            ids,
            BulkOptions::default()
                .with_concurrency(4)
                .with_stop(stop.clone()),
        ),
    );
    // One poll: 8 ids handed out, the lane not yet run.
    assert!(stream.next().now_or_never().is_none());
    stop.cancel();
    let outcomes: Vec<_> = stream.collect().await;
    assert_eq!(outcomes.len(), 20);
    assert!(
        outcomes.iter().all(|o| o.outcome.kind() == "not_attempted"),
        "{outcomes:?}"
    );
    assert_eq!(hits.lock().unwrap().len(), 0);
}

/// A concurrency meant as "unlimited" is taken as such, without overflow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbounded_concurrency_works() {
    let (server, _hits) = scripted().await;
    let ids: Vec<String> = (0..30).map(|i| format!("u{i}")).collect();
    let outcomes: Vec<_> = client(&server.endpoint)
        .revoke_all(
            ids,
            BulkOptions::default()
                .with_concurrency(usize::MAX)
                .with_lanes(3),
        )
        .collect()
        .await;
    assert!(outcomes.iter().all(|o| o.outcome.kind() == "revoked"));
    assert_eq!(outcomes.len(), 30);
}

async fn dropping_stops(options: BulkOptions) {
    let (server, hits) = scripted().await;
    let ids: Vec<String> = (0..100).map(|i| format!("d{i}")).collect();
    let client = client(&server.endpoint);
    {
        let mut stream = std::pin::pin!(client.revoke_all(ids, options.with_concurrency(2)));
        for _ in 0..5 {
            stream.next().await.unwrap();
        }
    }
    // Lanes go on while the caller is busy, with at most twice the
    // concurrency (4) of ids handed to them ahead of it; after the drop
    // nothing new starts, however long we wait.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let n = hits.lock().unwrap().len();
    assert!((5..=9).contains(&n), "{n} ids reached the server");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        hits.lock().unwrap().len(),
        n,
        "a request started after the drop"
    );
}

/// Distinct client connections the server saw, and how many requests.
async fn connections_used(options: BulkOptions) -> (usize, usize) {
    connections_used_by_runs(&[options]).await
}

/// The same, over several runs of one client.
async fn connections_used_by_runs(runs: &[BulkOptions]) -> (usize, usize) {
    let server = support::Recorder::always(Reply::status(204)).await;
    let client = builder(&server.endpoint)
        .http2_prior_knowledge(true)
        .build()
        .unwrap();
    for options in runs {
        let ids: Vec<String> = (0..60).map(|i| format!("c{i}")).collect();
        let outcomes: Vec<_> = client
            .revoke_all(ids, options.clone().with_concurrency(6))
            .collect()
            .await;
        assert!(outcomes.iter().all(|o| o.outcome.kind() == "revoked"));
    }
    let requests = server.requests();
    let peers: HashSet<_> = requests.iter().map(|r| r.peer).collect();
    (peers.len(), requests.len())
}

/// Over HTTP/2 a pool holds one connection: each lane brings its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_lane_has_a_connection_of_its_own() {
    assert_eq!(
        connections_used(BulkOptions::default().with_lanes(3)).await,
        (3, 60)
    );
    assert_eq!(
        connections_used(BulkOptions::default().with_lanes(1)).await,
        (1, 60)
    );
}

/// A later run takes the pools of an earlier one, open connections included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lanes_keep_their_connections_between_runs() {
    let two = BulkOptions::default().with_lanes(2);
    let three = BulkOptions::default().with_lanes(3);
    assert_eq!(
        connections_used_by_runs(&[two.clone(), three, two]).await,
        (3, 180)
    );
}

/// One lane unless asked: more measured no faster with the server on the
/// same cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_one_lane() {
    assert_eq!(connections_used(BulkOptions::default()).await, (1, 60));
}

/// Lanes run on the runtime that first polled the run. When that runtime
/// shuts down with requests in flight, those requests fail (they may have
/// been sent) and the ids after them are not attempted: no id is left
/// without an outcome, and the stream ends.
#[test]
fn a_lane_torn_down_loses_no_outcome() {
    let (endpoint, accepted) = support::silent_server();
    let lanes_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = lanes_runtime.block_on(async { client(&endpoint) });
    let ids: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    let mut stream = Box::pin(client.revoke_all(
        ids,
        BulkOptions::default().with_concurrency(4).with_lanes(2),
    ));
    // Starts the lanes there: 4 requests that hang (on 4 connections, one
    // per request over HTTP/1.1), and 4 more ids handed to the lanes ahead.
    lanes_runtime.block_on(async {
        let first = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        assert!(first.is_err(), "an outcome came from a silent server");
        let waiting = tokio::time::timeout(Duration::from_secs(4), async {
            while accepted.load(std::sync::atomic::Ordering::SeqCst) < 4 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        waiting.await.expect("4 requests started");
    });
    drop(lanes_runtime);

    let outcomes = collect_on_a_new_runtime(stream);
    let mut tags: Vec<usize> = outcomes.iter().map(|o| o.tag).collect();
    tags.sort_unstable();
    assert_eq!(tags, (0..20).collect::<Vec<_>>());
    let count = |kind| outcomes.iter().filter(|o| o.outcome.kind() == kind).count();
    assert_eq!(count("failed"), 4, "{outcomes:?}");
    assert_eq!(count("not_attempted"), 16, "{outcomes:?}");
    let failed = outcomes
        .iter()
        .find(|o| o.outcome.kind() == "failed")
        .unwrap();
    assert!(
        format!("{:?}", failed.outcome).contains("may or may not have been sent"),
        "{failed:?}"
    );
}

/// Outside a tokio runtime there is nothing to send from: ids that need a
/// request fail with a clear error instead of a panic, and nothing is sent.
#[test]
fn outside_a_runtime_nothing_is_sent() {
    use futures_util::FutureExt;
    let server = support::silent_endpoint();
    let client = client(&server);
    let ids = vec!["..".to_owned(), "t1".to_owned(), "t1".to_owned()];
    let outcomes = client
        .revoke_all(ids, BulkOptions::default().with_lanes(4))
        .collect::<Vec<_>>()
        .now_or_never()
        .expect("nothing to wait for");
    let kinds: Vec<_> = outcomes.iter().map(|o| o.outcome.kind()).collect();
    assert_eq!(kinds, ["refused", "failed", "duplicate"]);
    let Outcome::Failed(error) = &outcomes[1].outcome else {
        unreachable!()
    };
    assert!(error.to_string().contains("tokio runtime"), "{error}");
}

/// A lane whose task is dropped before it ever ran (its runtime shut down
/// first) still settles the ids it was handed.
#[test]
fn a_lane_dropped_before_it_ran_loses_no_outcome() {
    let endpoint = support::silent_endpoint();
    let lanes_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = lanes_runtime.block_on(async { client(&endpoint) });
    let ids = vec!["t0".to_owned(), "..".to_owned()];
    let mut stream = Box::pin(client.revoke_all(ids, BulkOptions::default()));
    // "t0" goes to the lane, spawned but not yet run; ".." comes out at once.
    let first = lanes_runtime.block_on(stream.next()).unwrap();
    assert_eq!((first.tag, first.outcome.kind()), (1, "refused"));
    drop(lanes_runtime);

    let rest = collect_on_a_new_runtime(stream);
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!((rest[0].tag, rest[0].outcome.kind()), (0, "not_attempted"));
}

/// An input that comes slowly (a pipe, a queue) gets each outcome as soon as
/// its request ends: the run is woken for every report while it waits for
/// input, not only once a batch has gathered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_come_while_the_input_waits() {
    let (server, _hits) = scripted().await;
    let client = client(&server.endpoint);
    let (feed, input) = fed_input();
    let mut outcomes = std::pin::pin!(client.revoke_many(
        input,
        BulkOptions::default().with_concurrency(64).with_lanes(2),
    ));
    for i in 0..20 {
        feed.send((i, format!("w{i}"))).unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(5), outcomes.next())
            .await
            .expect("an outcome held back while the input waits")
            .unwrap();
        assert_eq!((outcome.tag, outcome.outcome.kind()), (i, "revoked"));
    }
    drop(feed);
    assert!(outcomes.next().await.is_none());
}

/// While the run waits for input, each outcome wakes it at once, even while
/// the lane still has another request in flight (so it is not idle) and far
/// fewer outcomes than a batch have come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_come_while_a_slow_request_is_in_flight() {
    let server = support::Recorder::start(|r| {
        if r.target.ends_with("/slow") {
            Reply::status(204).after(Duration::from_secs(3))
        } else {
            Reply::status(204)
        }
    })
    .await;
    let client = client(&server.endpoint);
    let (feed, input) = fed_input();
    let mut outcomes =
        std::pin::pin!(client.revoke_many(input, BulkOptions::default().with_concurrency(64)));
    feed.send((0, "slow".to_owned())).unwrap();
    for i in 1..6 {
        feed.send((i, format!("f{i}"))).unwrap();
        let asked = std::time::Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(3), outcomes.next())
            .await
            .expect("an outcome held back behind the slow request")
            .unwrap();
        // Milliseconds when woken at once; held back, it would come only
        // when something else polled the stream.
        let waited = asked.elapsed();
        assert!(
            waited < Duration::from_secs(1),
            "outcome {i} came after {waited:?}"
        );
        assert_eq!((outcome.tag, outcome.outcome.kind()), (i, "revoked"));
    }
    drop(feed);
    let last = outcomes.next().await.unwrap();
    assert_eq!((last.tag, last.outcome.kind()), (0, "revoked"));
    assert!(outcomes.next().await.is_none());
}

/// The rest of a run's outcomes, taken on a runtime of its own.
fn collect_on_a_new_runtime<S: futures_util::Stream + Unpin>(stream: S) -> Vec<S::Item> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>()).await
        })
        .expect("the stream ended")
}

/// An input stream fed by the test, one id at a time.
fn fed_input() -> (
    tokio::sync::mpsc::UnboundedSender<(usize, String)>,
    impl futures_util::Stream<Item = (usize, String)>,
) {
    let (feed, input) = tokio::sync::mpsc::unbounded_channel();
    let input = futures_util::stream::unfold(input, |mut input| async move {
        input.recv().await.map(|item| (item, input))
    });
    (feed, input)
}
