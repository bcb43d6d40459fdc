//! `cargo bench --bench producer --features full-spec`, built from a spec
//! with S2's `append` (`S2_OPENAPI_SPEC`), against `s2-lite` (`S2_LITE_BIN`,
//! else where `.ci/run` installs it): `S2_BENCH_PRODUCER_RECORDS` records
//! (default 1,000,000) of 100 bytes through the crate's `Producer`, against
//! a plain reqwest loop posting the same batches of 1,000 one after another
//! (the floor), and S2's own SDK's `Producer` (over HTTP/2: a peer); and the
//! generated `append` called once per record on the first 10,000 (a rate).
//! Each round writes a fresh stream; rounds turn the order; each figure is
//! the median round. The last lines are `name: value`, throughput ratios
//! against the reqwest loop.

// A benchmark: failures are bugs to see, not to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

#[cfg(not(s2_operation = "append"))]
fn main() {
    println!(
        "producer: skipped: the client was built from a spec without `append` (set S2_OPENAPI_SPEC)"
    );
}

#[cfg(s2_operation = "append")]
fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(producer::run());
}

#[cfg(s2_operation = "append")]
mod producer {
    use std::time::Instant;

    use s2_openapi::{ProducerConfig, types};

    use crate::support::s2_lite::{S2Lite, create_basin, create_stream};

    const ROUNDS: usize = 3;
    const BATCH: usize = 1000;
    const BODY: usize = 100;
    const PER_CALL: usize = 10_000;
    const BASIN: &str = "bench-producer";

    fn body(n: usize) -> Vec<u8> {
        vec![(n % 251) as u8; BODY]
    }

    pub async fn run() {
        let Some(s2) = S2Lite::start_if_installed().await else {
            println!("producer: skipped: no s2-lite binary (S2_LITE_BIN)");
            return;
        };
        let records = std::env::var("S2_BENCH_PRODUCER_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000usize);
        let client = s2.client(false);
        let basin = create_basin(&client, BASIN).await.unwrap();
        println!("producer: {records} records of {BODY} bytes to s2-lite, {ROUNDS} rounds");

        let raw = reqwest::Client::new();
        let url = format!("{}/v1/streams", s2.endpoint);
        let endpoints = s2_sdk::types::S2Endpoints::for_endpoint(&s2.endpoint).unwrap();
        let sdk = s2_sdk::S2::new(s2_sdk::types::S2Config::new("bench").with_endpoints(endpoints))
            .unwrap();
        let (mut t_crate, mut t_raw, mut t_sdk) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            for turn in 0..3 {
                let stream = format!("s-{round}-{turn}");
                create_stream(&basin, &stream).await.unwrap();
                let started = Instant::now();
                match (round + turn) % 3 {
                    0 => {
                        write_raw(&raw, &url, &stream, records).await;
                        t_raw.push(started.elapsed().as_secs_f64());
                    }
                    1 => {
                        write_crate(&basin, &stream, records).await;
                        t_crate.push(started.elapsed().as_secs_f64());
                    }
                    _ => {
                        write_sdk(&sdk, &stream, records).await;
                        t_sdk.push(started.elapsed().as_secs_f64());
                    }
                }
                let tail = (basin.generated().check_tail().stream(stream.as_str()))
                    .await
                    .unwrap();
                assert_eq!(tail.tail.seq_num, records as u64, "{stream}");
            }
        }
        create_stream(&basin, "per-call").await.unwrap();
        let started = Instant::now();
        for n in 0..PER_CALL {
            let input = types::builder::AppendInput::default()
                .records(vec![types::AppendRecord::new(body(n))]);
            basin
                .generated()
                .append()
                .stream("per-call")
                .body(input)
                .await
                .unwrap();
        }
        let per_call = PER_CALL as f64 / started.elapsed().as_secs_f64();

        let (c, r, s) = (median(t_crate), median(t_raw), median(t_sdk));
        let rate = |t: f64| records as f64 / t;
        println!(
            "  median records/s: producer {:.0}, reqwest loop {:.0}, s2-sdk producer {:.0}; \
             generated append per record {per_call:.0}",
            rate(c),
            rate(r),
            rate(s),
        );
        println!("producer crate/reqwest-loop: {:.3}", r / c);
        println!("producer s2-sdk/reqwest-loop: {:.3}", r / s);
        println!("producer crate/s2-sdk: {:.3}", s / c);
        println!(
            "producer per-call-append/reqwest-loop: {:.4}",
            per_call / rate(r)
        );
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    async fn write_crate(basin: &s2_openapi::Basin, stream: &str, records: usize) {
        let producer = basin.producer(stream, ProducerConfig::new()).await.unwrap();
        let mut last = None;
        for n in 0..records {
            let ticket = producer.submit(types::AppendRecord::new(body(n))).await;
            last = Some(ticket.unwrap());
        }
        producer.close().await.unwrap();
        let last = last.unwrap().await.unwrap();
        assert_eq!(last.seq_num, records as u64 - 1);
    }

    /// What an application writes by hand: the same batches, in the same
    /// types, posted one after another.
    async fn write_raw(raw: &reqwest::Client, url: &str, stream: &str, records: usize) {
        let url = format!("{url}/{stream}/records");
        let mut n = 0;
        while n < records {
            let batch: Vec<types::AppendRecord> = (n..records.min(n + BATCH))
                .map(|n| types::AppendRecord::new(body(n)))
                .collect();
            n += batch.len();
            let input = types::AppendInput {
                fencing_token: None,
                match_seq_num: None,
                records: batch,
            };
            let response = raw
                .post(&url)
                .header("s2-basin", BASIN)
                .header("s2-format", "base64")
                .bearer_auth("bench")
                .json(&input)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            let _ack: types::AppendAck = response.json().await.unwrap();
        }
    }

    async fn write_sdk(sdk: &s2_sdk::S2, stream: &str, records: usize) {
        use s2_sdk::producer::ProducerConfig;
        use s2_sdk::types::AppendRecord;
        let stream = sdk
            .basin(BASIN.parse().unwrap())
            .stream(stream.parse().unwrap());
        let producer = stream.producer(ProducerConfig::default());
        let mut last = None;
        for n in 0..records {
            let record = AppendRecord::new(body(n)).unwrap();
            last = Some(producer.submit(record).await.unwrap());
        }
        producer.close().await.unwrap();
        let last = last.unwrap().await.unwrap();
        assert_eq!(last.seq_num, records as u64 - 1);
    }
}
