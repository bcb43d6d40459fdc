//! `cargo bench --bench live_read --features full-spec`, built from a spec
//! with S2's event-stream read (`S2_OPENAPI_SPEC`), against `s2-lite`
//! (`S2_LITE_BIN`, else where `.ci/run` installs it): a live read of
//! `S2_BENCH_LIVE_RECORDS` records (default 100,000) through
//! `Basin::live`, against a plain reqwest loop reading the same request
//! with the same SSE parser (`eventsource-stream`) into the same types,
//! and S2's own SDK (`s2-sdk`, its read session: a peer, not a target).
//! Rounds turn the order; each figure is the median round. The last lines are
//! `name: value`, throughput ratios against the reqwest loop.

// A benchmark: failures are bugs to see, not to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

#[cfg(not(s2_operation = "read"))]
fn main() {
    println!(
        "live-read: skipped: the client was built from a spec without `read` (set S2_OPENAPI_SPEC)"
    );
}

#[cfg(s2_operation = "read")]
fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(live::run());
}

#[cfg(s2_operation = "read")]
mod live {
    use std::time::Instant;

    use eventsource_stream::Eventsource as _;
    use futures_util::{StreamExt as _, TryStreamExt as _};
    use s2_openapi::{LiveEvent, types};

    use crate::support::s2_lite::{S2Lite, append, create_basin, create_stream};

    /// Rounds per client: with 7, the ratio swung from 0.87 to 1.07 between
    /// runs of the same code on this 2-core VM.
    const ROUNDS: usize = 15;
    const BATCH: usize = 1000;
    const BODY: usize = 100;

    pub async fn run() {
        let Some(s2) = S2Lite::start_if_installed().await else {
            println!("live-read: skipped: no s2-lite binary (S2_LITE_BIN)");
            return;
        };
        let records = std::env::var("S2_BENCH_LIVE_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000usize);
        let client = s2.client(false);
        let basin = create_basin(&client, "bench-live").await.unwrap();
        create_stream(&basin, "s").await.unwrap();
        let bodies = (0..records).map(|n| vec![(n % 251) as u8; BODY]);
        append(&basin, "s", bodies, BATCH).await.unwrap();
        println!("live-read: {records} records of {BODY} bytes from s2-lite, {ROUNDS} rounds");

        let raw = reqwest::Client::new();
        let url = format!(
            "{}/v1/streams/s/records?seq_num=0&count={records}",
            s2.endpoint
        );
        let endpoints = s2_sdk::types::S2Endpoints::for_endpoint(&s2.endpoint).unwrap();
        let sdk = s2_sdk::S2::new(s2_sdk::types::S2Config::new("bench").with_endpoints(endpoints))
            .unwrap();
        let (mut t_crate, mut t_raw, mut t_sdk) = (Vec::new(), Vec::new(), Vec::new());
        // The order turns each round, so that none always goes first.
        for round in 0..ROUNDS {
            for turn in 0..3 {
                match (round + turn) % 3 {
                    0 => t_raw.push(timed(records, read_raw(&raw, &url, records)).await),
                    1 => t_crate.push(timed(records, read_crate(&basin, records)).await),
                    _ => t_sdk.push(timed(records, read_sdk(&sdk, records)).await),
                }
            }
        }
        let (c, r, s) = (median(t_crate), median(t_raw), median(t_sdk));
        println!(
            "  median: crate {:.1} ms, reqwest loop {:.1} ms, s2-sdk {:.1} ms",
            c * 1e3,
            r * 1e3,
            s * 1e3
        );
        println!("live-read crate/reqwest-loop: {:.3}", r / c);
        println!("live-read s2-sdk/reqwest-loop: {:.3}", r / s);
    }

    async fn timed(records: usize, read: impl std::future::Future<Output = usize>) -> f64 {
        let started = Instant::now();
        let got = read.await;
        assert_eq!(got, records);
        started.elapsed().as_secs_f64()
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    async fn read_crate(basin: &s2_openapi::Basin, records: usize) -> usize {
        basin
            .live(|live| live.read().stream("s").seq_num(0u64).count(records as u64))
            .try_fold(0, |n, event| async move {
                Ok(match event {
                    LiveEvent::Data(batch) => n + batch.records.len(),
                    _ => n,
                })
            })
            .await
            .unwrap()
    }

    /// What an application writes by hand: the same request, the same SSE
    /// parser and the same types, no resumption.
    async fn read_raw(raw: &reqwest::Client, url: &str, records: usize) -> usize {
        let response = raw
            .get(url)
            .header("accept", "text/event-stream")
            .header("s2-basin", "bench-live")
            .header("s2-format", "base64")
            .bearer_auth("bench")
            .send()
            .await
            .unwrap();
        let mut events = response.bytes_stream().eventsource();
        let mut n = 0;
        while let Some(event) = events.next().await {
            let event = event.unwrap();
            if event.data == "[DONE]" {
                break;
            }
            if event.event == "batch" {
                let batch: types::ReadBatch = serde_json::from_str(&event.data).unwrap();
                n += batch.records.len();
            }
        }
        assert!(n <= records);
        n
    }

    async fn read_sdk(sdk: &s2_sdk::S2, records: usize) -> usize {
        use s2_sdk::types::{ReadFrom, ReadInput, ReadLimits, ReadStart, ReadStop};
        let stream = sdk
            .basin("bench-live".parse().unwrap())
            .stream("s".parse().unwrap());
        let input = ReadInput::new()
            .with_start(ReadStart::new().with_from(ReadFrom::SeqNum(0)))
            .with_stop(ReadStop::new().with_limits(ReadLimits::new().with_count(records)));
        let session = stream
            .read_session(input, Default::default())
            .await
            .unwrap();
        session
            .try_fold(0, |n, batch| async move { Ok(n + batch.records.len()) })
            .await
            .unwrap()
    }
}
