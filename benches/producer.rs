//! `cargo bench --bench producer --features full-spec`, built from a spec
//! with S2's `append` (`S2_OPENAPI_SPEC`), against `s2-lite` (`S2_LITE_BIN`,
//! else where `.ci/run` installs it): `S2_BENCH_PRODUCER_RECORDS` records
//! (default 1,000,000) of 100 bytes through the crate's `Producer` (without
//! a position: one batch in flight; and exactly once, `match_tail`: up to
//! five, over HTTP/1.1 and over h2c), against
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
        if S2Lite::start_if_installed().await.is_none() {
            println!("producer: skipped: no s2-lite binary (S2_LITE_BIN)");
            return;
        }
        let records = std::env::var("S2_BENCH_PRODUCER_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000usize);
        println!(
            "producer: {records} records of {BODY} bytes to s2-lite, {ROUNDS} rounds, \
             a fresh s2-lite for each run"
        );
        let (mut t_crate, mut t_raw, mut t_sdk) = (Vec::new(), Vec::new(), Vec::new());
        let mut t_once = Vec::new();
        let mut t_once_h2 = Vec::new();
        let mut sdk_extra = Vec::new();
        for round in 0..ROUNDS {
            for turn in 0..5 {
                // A fresh server each run: s2-lite keeps what it was given
                // in memory and slows down as it grows.
                let s2 = S2Lite::start().await;
                let which = (round + turn) % 5;
                // Exactly once over h2c: its batches in flight share one
                // connection instead of one each.
                let client = s2.client(which == 4);
                let basin = create_basin(&client, BASIN).await.unwrap();
                create_stream(&basin, "s").await.unwrap();
                let started = Instant::now();
                match which {
                    0 => {
                        let raw = reqwest::Client::new();
                        write_raw(&raw, &s2.endpoint, records).await;
                        t_raw.push(started.elapsed().as_secs_f64());
                    }
                    1 => {
                        write_crate(&basin, records, ProducerConfig::new()).await;
                        t_crate.push(started.elapsed().as_secs_f64());
                    }
                    2 => {
                        let config = ProducerConfig::new().match_tail();
                        write_crate(&basin, records, config).await;
                        t_once.push(started.elapsed().as_secs_f64());
                    }
                    3 => {
                        let endpoints =
                            s2_sdk::types::S2Endpoints::for_endpoint(&s2.endpoint).unwrap();
                        let config =
                            s2_sdk::types::S2Config::new("bench").with_endpoints(endpoints);
                        let sdk = s2_sdk::S2::new(config).unwrap();
                        write_sdk(&sdk, records).await;
                        t_sdk.push(started.elapsed().as_secs_f64());
                    }
                    _ => {
                        let config = ProducerConfig::new().match_tail();
                        write_crate(&basin, records, config).await;
                        t_once_h2.push(started.elapsed().as_secs_f64());
                    }
                }
                let tail = basin.generated().check_tail().stream("s").await.unwrap();
                // S2's SDK retries appends by default (`AppendRetryPolicy::All`),
                // which can append a batch twice: counted, not asserted.
                if which == 3 {
                    sdk_extra.push(tail.tail.seq_num - records as u64);
                } else {
                    assert_eq!(tail.tail.seq_num, records as u64);
                }
            }
        }
        let s2 = S2Lite::start().await;
        let basin = create_basin(&s2.client(false), BASIN).await.unwrap();
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
        println!("  records s2-sdk appended beyond those submitted, per run: {sdk_extra:?}");

        let (c, o, r, s) = (
            median(t_crate),
            median(t_once),
            median(t_raw),
            median(t_sdk),
        );
        let o2 = median(t_once_h2);
        let rate = |t: f64| records as f64 / t;
        println!(
            "  median records/s: producer {:.0}, producer exactly once {:.0} (over h2c {:.0}), \
             reqwest loop {:.0}, s2-sdk producer {:.0}; generated append per record {per_call:.0}",
            rate(c),
            rate(o),
            rate(o2),
            rate(r),
            rate(s),
        );
        println!("producer crate/reqwest-loop: {:.3}", r / c);
        println!("producer crate-exactly-once/reqwest-loop: {:.3}", r / o);
        println!(
            "producer crate-exactly-once-h2c/reqwest-loop: {:.3}",
            r / o2
        );
        println!("producer s2-sdk/reqwest-loop: {:.3}", r / s);
        println!("producer crate/s2-sdk: {:.3}", s / c);
        println!("producer crate-exactly-once/s2-sdk: {:.3}", s / o);
        println!(
            "producer per-call-append/reqwest-loop: {:.4}",
            per_call / rate(r)
        );
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    async fn write_crate(basin: &s2_openapi::Basin, records: usize, config: ProducerConfig) {
        let producer = basin.producer("s", config).await.unwrap();
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
    async fn write_raw(raw: &reqwest::Client, endpoint: &str, records: usize) {
        let url = format!("{endpoint}/v1/streams/s/records");
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

    async fn write_sdk(sdk: &s2_sdk::S2, records: usize) {
        use s2_sdk::producer::ProducerConfig;
        use s2_sdk::types::AppendRecord;
        let stream = sdk
            .basin(BASIN.parse().unwrap())
            .stream("s".parse().unwrap());
        let producer = stream.producer(ProducerConfig::default());
        let mut last = None;
        for n in 0..records {
            let record = AppendRecord::new(body(n)).unwrap();
            last = Some(producer.submit(record).await.unwrap());
        }
        producer.close().await.unwrap();
        let last = last.unwrap().await.unwrap();
        assert!(last.seq_num >= records as u64 - 1);
    }
}
