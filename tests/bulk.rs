//! Bulk revocation: exactly one outcome per input id, with faults in the
//! middle, duplicates and a stop, on current-thread and multi-thread
//! runtimes; outcomes as soon as their request ends; a run that slows down
//! under S2's rate limits.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use s2_openapi::{
    BulkOptions, CancellationToken, Client, Error, FirstOutcome, Outcome, RetryPolicy,
};
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

#[tokio::test]
async fn every_input_gets_exactly_one_outcome() {
    exactly_one_outcome_each(BulkOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_gets_exactly_one_outcome_multi_thread() {
    exactly_one_outcome_each(BulkOptions::default()).await;
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
    // Each duplicate says what the first occurrence got.
    assert!(
        dups.iter()
            .all(|o| o.outcome.is_ok() && o.outcome.kind() != "duplicate"
                || matches!(o.outcome, Outcome::Duplicate(FirstOutcome::Revoked))),
        "{dups:?}"
    );
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
async fn a_stop_leaves_the_rest_not_attempted_multi_thread() {
    stop_leaves_the_rest(BulkOptions::default()).await;
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

/// A client whose requests wait a minute for an answer: longer than any
/// bound these tests wait for an event.
fn patient_client(endpoint: &str) -> Client {
    builder(endpoint)
        .request_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// Waits (at most 30 s, then fails) until `done` holds.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let waiting = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .unwrap_or_else(|_| panic!("waited 30 s for {what}"));
}

/// A loopback endpoint that takes connections and never answers, with the
/// count of connections taken and of those the client has since closed.
fn hanging_server() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, c) = (Arc::clone(&accepted), Arc::clone(&closed));
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            a.fetch_add(1, Ordering::SeqCst);
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                let mut buf = [0; 1024];
                while matches!(socket.read(&mut buf), Ok(n) if n > 0) {}
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (endpoint, accepted, closed)
}

/// Dropping the stream cancels the requests in flight: their connections
/// close at once, long before the requests' own timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_cancels_its_requests() {
    let (endpoint, accepted, closed) = hanging_server();
    let client = patient_client(&endpoint);
    let ids: Vec<String> = (0..100).map(|i| format!("d{i}")).collect();
    let mut stream = Box::pin(client.revoke_all(ids, BulkOptions::default().with_concurrency(4)));
    // The stream drives its requests: poll it until 4 have arrived (none
    // can come back).
    tokio::select! {
        outcome = stream.next() => panic!("the server never answers, yet: {outcome:?}"),
        () = wait_for("4 requests to arrive", || accepted.load(Ordering::SeqCst) == 4) => {}
    }
    drop(stream);
    wait_for("the 4 connections to close", || {
        closed.load(Ordering::SeqCst) == 4
    })
    .await;
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}

/// A concurrency meant as "unlimited" is taken as such, without overflow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbounded_concurrency_works() {
    let (server, _hits) = scripted().await;
    let ids: Vec<String> = (0..30).map(|i| format!("u{i}")).collect();
    let outcomes: Vec<_> = client(&server.endpoint)
        .revoke_all(ids, BulkOptions::default().with_concurrency(usize::MAX))
        .collect()
        .await;
    assert!(outcomes.iter().all(|o| o.outcome.kind() == "revoked"));
    assert_eq!(outcomes.len(), 30);
}

/// Outside a tokio runtime there is nothing to send from: ids that need a
/// request fail with a clear error instead of a panic, nothing is sent, and
/// a duplicate of such an id is not counted as a success.
#[test]
fn outside_a_runtime_nothing_is_sent() {
    let (endpoint, accepted, _) = hanging_server();
    let client = client(&endpoint);
    let ids = vec!["..".to_owned(), "t1".to_owned(), "t1".to_owned()];
    let outcomes = client
        .revoke_all(ids, BulkOptions::default())
        .collect::<Vec<_>>()
        .now_or_never()
        .expect("nothing to wait for");
    let mut outcomes: Vec<_> = outcomes.into_iter().map(|o| (o.tag, o.outcome)).collect();
    outcomes.sort_by_key(|(tag, _)| *tag);
    let kinds: Vec<_> = outcomes.iter().map(|(_, o)| o.kind()).collect();
    assert_eq!(kinds, ["refused", "failed", "duplicate"]);
    let Outcome::Failed(error) = &outcomes[1].1 else {
        unreachable!()
    };
    assert!(error.to_string().contains("tokio runtime"), "{error}");
    assert!(
        matches!(outcomes[2].1, Outcome::Duplicate(FirstOutcome::Failed)),
        "{:?}",
        outcomes[2]
    );
    assert!(!outcomes[2].1.is_ok());
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}

/// An input that comes slowly (a pipe, a queue) gets each outcome as soon as
/// its request ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_come_while_the_input_waits() {
    let (server, _hits) = scripted().await;
    let client = client(&server.endpoint);
    let (feed, input) = fed_input();
    let mut outcomes =
        std::pin::pin!(client.revoke_many(input, BulkOptions::default().with_concurrency(64)));
    for i in 0..20 {
        feed.send((i, format!("w{i}"))).unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(30), outcomes.next())
            .await
            .expect("an outcome held back while the input waits")
            .unwrap();
        assert_eq!((outcome.tag, outcome.outcome.kind()), (i, "revoked"));
    }
    drop(feed);
    assert!(outcomes.next().await.is_none());
}

/// Half the requests hang until their timeout (a minute); the other half's
/// outcomes all come meanwhile. Held back behind the hanging ones, they
/// would come only after that minute: the 30 s bound fails first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_comes_as_soon_as_its_request_ends() {
    let server = Recorder::start(|r| {
        if r.target.contains("/hang") {
            Reply::status(204).after(Duration::from_secs(3600))
        } else {
            Reply::status(204)
        }
    })
    .await;
    let client = patient_client(&server.endpoint);
    let ids: Vec<String> = (0..32)
        .map(|i| {
            if i % 2 == 0 {
                format!("hang{i}")
            } else {
                format!("fast{i}")
            }
        })
        .collect();
    let mut outcomes =
        std::pin::pin!(client.revoke_all(ids, BulkOptions::default().with_concurrency(32)));
    let fast = tokio::time::timeout(
        Duration::from_secs(30),
        outcomes.by_ref().take(16).collect::<Vec<_>>(),
    )
    .await
    .expect("outcomes held back behind the hanging requests");
    for o in &fast {
        assert!(o.id.starts_with("fast"), "{o:?}");
        assert_eq!(o.outcome.kind(), "revoked");
    }
    // And the hanging ones are all in flight, not merely behind: the
    // stream, polled, gives nothing more while they reach the server.
    tokio::select! {
        outcome = outcomes.next() => panic!("a hanging request answered: {outcome:?}"),
        () = wait_for("the 16 hanging requests to arrive", || server.count() == 32) => {}
    }
}

/// A duplicate is ok only when its first occurrence got the token gone,
/// including when the first occurrence settles after the duplicate is seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_says_what_its_first_occurrence_got() {
    let server = Recorder::start(|r| {
        let id = r.target.rsplit('/').next().unwrap();
        match id {
            "a-fail" => Reply::error_info(403, "permission_denied", "no"),
            // Slow: its duplicate is taken while it is in flight.
            "s-fail" => {
                Reply::error_info(403, "permission_denied", "no").after(Duration::from_millis(100))
            }
            "b-gone" => Reply::error_info(404, "access_token_not_found", "gone"),
            _ => Reply::status(204),
        }
    })
    .await;
    let ids: Vec<String> = [
        "a-fail", "a-fail", "b-gone", "b-gone", "c", "c", "s-fail", "s-fail", "c",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut outcomes: Vec<_> = client(&server.endpoint)
        .revoke_all(ids, BulkOptions::default().with_concurrency(8))
        .map(|o| (o.tag, o.outcome))
        .collect()
        .await;
    outcomes.sort_by_key(|(tag, _)| *tag);
    let got: Vec<(&str, Option<FirstOutcome>, bool)> = outcomes
        .iter()
        .map(|(_, o)| {
            let first = match o {
                Outcome::Duplicate(first) => Some(*first),
                _ => None,
            };
            (o.kind(), first, o.is_ok())
        })
        .collect();
    use FirstOutcome as F;
    assert_eq!(
        got,
        [
            ("failed", None, false),
            ("duplicate", Some(F::Failed), false),
            ("already_gone", None, true),
            ("duplicate", Some(F::AlreadyGone), true),
            ("revoked", None, true),
            ("duplicate", Some(F::Revoked), true),
            ("failed", None, false),
            ("duplicate", Some(F::Failed), false),
            ("duplicate", Some(F::Revoked), true),
        ]
    );
    assert_eq!(server.count(), 4);
}

/// Against a server admitting 500 requests per second, 300 ids at
/// concurrency 64 all get revoked, and few requests are answered 429: the
/// run slows down as a whole. Each request alone, retrying on its own, gets
/// about two thirds of its attempts answered 429. (The benchmark measures
/// this at full size with the default retry policy, the per-request retry
/// alone beside it; here five attempts keep a loaded machine's stalls from
/// failing an id.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_slows_down_under_rate_limits() {
    let (server, throttled) = support::rate_limited(500.0, 25.0).await;
    let client = Client::builder()
        .access_token(support::TOKEN)
        .endpoint(&server.endpoint)
        .retry_policy(s2_openapi::RetryPolicy::new().with_max_attempts(5))
        .build()
        .unwrap();
    let ids: Vec<String> = (0..300).map(|i| format!("r{i}")).collect();
    let outcomes: Vec<_> = client
        .revoke_all(ids, BulkOptions::default().with_concurrency(64))
        .collect()
        .await;
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.outcome.is_ok()).collect();
    assert!(
        failed.is_empty(),
        "{} failed, {} answered 429: {:?}",
        failed.len(),
        throttled.load(Ordering::Relaxed),
        failed.first()
    );
    assert_eq!(outcomes.len(), 300);
    let throttled = throttled.load(Ordering::Relaxed);
    assert!(
        throttled * 4 < server.count(),
        "{throttled} of {} requests answered 429",
        server.count()
    );
}

/// A server that answers every request 429 `rate_limited` with
/// `retry-after-ms: 60000`: a run's limiter then holds every attempt for a
/// minute.
async fn throttling_for_a_minute() -> Recorder {
    Recorder::always(
        Reply::error_info(429, "rate_limited", "slow down").header("retry-after-ms", "60000"),
    )
    .await
}

/// A run over `ids`, one at a time and without retries, whose first id
/// has been answered 429 (the run's limiter now holds every attempt for a
/// minute); on paused time from then on.
async fn held_by_the_limiter(
    server: &Recorder,
    operation_timeout: Duration,
    ids: &[&str],
    stop: &CancellationToken,
) -> impl futures_util::Stream<Item = s2_openapi::BulkOutcome<usize>> + use<> {
    let client = builder(&server.endpoint)
        .retry_policy(RetryPolicy::disabled())
        .request_timeout(Duration::from_secs(60))
        .operation_timeout(operation_timeout)
        .build()
        .unwrap();
    let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    let options = BulkOptions::default()
        .with_concurrency(1)
        .with_stop(stop.clone());
    let mut stream = Box::pin(client.revoke_all(ids, options));
    let first = stream.next().await.unwrap();
    assert_eq!(first.outcome.kind(), "failed", "{first:?}");
    assert_eq!(server.count(), 1);
    // Nothing is on the network any more: from here on, time passes only
    // when the runtime has nothing else to do.
    tokio::time::pause();
    stream
}

/// A stop ends the wait of a first attempt held by the run's rate limiter
/// (S2 asked for a minute): it is not sent and comes out not attempted, as
/// does the rest, and the stream ends with no time passing.
#[tokio::test]
async fn a_stop_ends_a_wait_for_the_rate_limiter() {
    let server = throttling_for_a_minute().await;
    let stop = CancellationToken::new();
    let mut stream =
        held_by_the_limiter(&server, Duration::from_secs(120), &["a", "b", "c"], &stop).await;
    // One poll starts "b", whose first attempt waits for the limiter.
    assert!(stream.next().now_or_never().is_none());
    let stopped_at = tokio::time::Instant::now();
    stop.cancel();
    let rest: Vec<_> = stream.map(|o| (o.id, o.outcome.kind())).collect().await;
    assert_eq!(
        rest,
        [
            ("b".to_owned(), "not_attempted"),
            ("c".to_owned(), "not_attempted")
        ]
    );
    assert_eq!(stopped_at.elapsed(), Duration::ZERO);
    assert_eq!(server.count(), 1);
}

/// A stop ends the wait of a retry (for its backoff, the minute S2 asked
/// for, and the limiter): the call's outcome is its 429, and the stream
/// ends with no time passing.
#[tokio::test]
async fn a_stop_ends_a_retrys_wait() {
    let server = throttling_for_a_minute().await;
    let stop = CancellationToken::new();
    let client = builder(&server.endpoint)
        .request_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let ids = vec!["a".to_owned(), "b".to_owned()];
    let options = BulkOptions::default()
        .with_concurrency(1)
        .with_stop(stop.clone());
    let mut stream = Box::pin(client.revoke_all(ids, options));
    tokio::select! {
        outcome = stream.next() => panic!("S2 asked for a minute, yet: {outcome:?}"),
        () = wait_for("the first attempt", || server.count() == 1) => {}
    }
    tokio::time::pause();
    // Nothing comes for half a minute: the retry waits.
    assert!(
        tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .is_err()
    );
    let stopped_at = tokio::time::Instant::now();
    stop.cancel();
    let outcomes: Vec<_> = stream.collect().await;
    assert_eq!(stopped_at.elapsed(), Duration::ZERO);
    let kinds: Vec<_> = outcomes.iter().map(|o| o.outcome.kind()).collect();
    assert_eq!(kinds, ["failed", "not_attempted"], "{outcomes:?}");
    let Outcome::Failed(error) = &outcomes[0].outcome else {
        unreachable!()
    };
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429), "{error}");
    assert_eq!(server.count(), 1);
}

/// The call's deadline passes while its first attempt waits for the
/// limiter: nothing is sent, and the call fails saying so.
#[tokio::test]
async fn an_attempt_whose_deadline_passed_in_the_limiter_is_not_sent() {
    let server = throttling_for_a_minute().await;
    let stop = CancellationToken::new();
    let mut stream = held_by_the_limiter(&server, Duration::from_secs(2), &["a", "b"], &stop).await;
    let waited_from = tokio::time::Instant::now();
    let b = stream.next().await.unwrap();
    let waited = waited_from.elapsed();
    let Outcome::Failed(error) = &b.outcome else {
        panic!("{b:?}")
    };
    assert!(matches!(error, Error::NotSent(_)), "{error:?}");
    assert!(error.to_string().contains("deadline"), "{error}");
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(3)).contains(&waited),
        "{waited:?}"
    );
    assert!(stream.next().await.is_none());
    assert_eq!(server.count(), 1);
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
