//! Bulk revocation: exactly one outcome per input id, with faults in the
//! middle, duplicates and a stop.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
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
    Client::builder()
        .access_token(support::TOKEN)
        .endpoint(endpoint)
        .retry_policy(
            RetryPolicy::new().with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_input_gets_exactly_one_outcome() {
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
        .revoke_all(ids.clone(), BulkOptions::default().with_concurrency(8))
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
            _ if first_dup => {
                first_dup = false;
                // The first occurrence is sent; it may come out before or
                // after its duplicates.
                assert!(
                    matches!(outcome.kind(), "revoked" | "duplicate"),
                    "#{i}: {outcome:?}"
                );
                continue;
            }
            _ => {
                assert!(
                    matches!(outcome.kind(), "revoked" | "duplicate"),
                    "#{i}: {outcome:?}"
                );
                continue;
            }
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
    let (server, hits) = scripted().await;
    let stop = CancellationToken::new();
    let ids: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
    let client = client(&server.endpoint);
    let mut stream = std::pin::pin!(
        client.revoke_all(
            ids.clone(),
            BulkOptions::default()
                .with_concurrency(4)
                .with_stop(stop.clone()),
        )
    );
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
    let (server, hits) = scripted().await;
    let ids: Vec<String> = (0..100).map(|i| format!("d{i}")).collect();
    let client = client(&server.endpoint);
    {
        let mut stream =
            std::pin::pin!(client.revoke_all(ids, BulkOptions::default().with_concurrency(2)));
        for _ in 0..5 {
            stream.next().await.unwrap();
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let n = hits.lock().unwrap().len();
    assert!((5..=7).contains(&n), "{n} ids reached the server");
}
