//! `cargo bench --features cli`: the wrapper against the generated client
//! and a hand-written reqwest DELETE, per call and in bulk, over HTTP/1.1
//! and h2c, all against the crate's in-process local server on the same
//! runtime; the CLI's peak memory streaming ids from stdin; code generation
//! time. Every figure is a ratio against a baseline measured in the same
//! run; the last lines are `name: value`.
//!
//! `S2_BENCH_CALLS` (default 2000), `S2_BENCH_BULK` (10000) and
//! `S2_BENCH_STDIN_IDS` (1000000) scale the runs.

// A benchmark: failures are bugs to see, not to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use s2_openapi::local_server::LocalServer;
use s2_openapi::{BulkOptions, Client, RetryPolicy};

const TOKEN: &str = "bench-token";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Setup {
    server: LocalServer,
    wrapper: Client,
    raw: reqwest::Client,
}

async fn setup(http2: bool, ids: usize, prefix: &str) -> Setup {
    let server = LocalServer::builder()
        .access_token(TOKEN)
        .issue_all((0..ids).map(|i| format!("{prefix}-{i}")))
        .start()
        .await
        .unwrap();
    let wrapper = Client::builder()
        .access_token(TOKEN)
        .endpoint(server.endpoint())
        .http2_prior_knowledge(http2)
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let mut raw = reqwest::Client::builder().pool_max_idle_per_host(256);
    if std::env::var_os("S2_BENCH_RAW_TIMEOUTS").is_some() {
        raw = raw
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3));
    }
    if http2 {
        raw = raw.http2_prior_knowledge();
    }
    Setup {
        server,
        wrapper,
        raw: raw.build().unwrap(),
    }
}

/// Seconds per call of `n` sequential revokes of fresh ids.
async fn per_call(setup: &Setup, variant: &str, prefix: &str, n: usize) -> f64 {
    let base = format!("{}/v1/access-tokens", setup.server.endpoint());
    let started = Instant::now();
    for i in 0..n {
        let id = format!("{prefix}-{i}");
        match variant {
            "wrapper" => {
                setup.wrapper.revoke_access_token(&id).await.unwrap();
            }
            "generated" => {
                setup
                    .wrapper
                    .generated()
                    .revoke_access_token()
                    .id(id.as_str())
                    .send()
                    .await
                    .unwrap();
            }
            _ => {
                let r = setup
                    .raw
                    .delete(format!("{base}/{id}"))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 204);
            }
        }
    }
    started.elapsed().as_secs_f64() / n as f64
}

/// Revokes per second of `n` revokes at concurrency 64.
async fn bulk(setup: &Setup, variant: &str, prefix: &str, n: usize) -> f64 {
    let base = format!("{}/v1/access-tokens", setup.server.endpoint());
    let started = Instant::now();
    if variant == "wrapper" {
        let ids = (0..n).map(|i| format!("{prefix}-{i}"));
        let outcomes = setup
            .wrapper
            .revoke_all(ids, BulkOptions::default().with_concurrency(64));
        let revoked = outcomes
            .filter(|o| std::future::ready(o.outcome.kind() == "revoked"))
            .count()
            .await;
        assert_eq!(revoked, n);
    } else {
        let raw = setup.raw.clone();
        let done = futures_util::stream::iter(0..n)
            .map(|i| {
                let request = raw
                    .delete(format!("{base}/{prefix}-{i}"))
                    .bearer_auth(TOKEN);
                async move { request.send().await.unwrap().status().as_u16() }
            })
            .buffer_unordered(64)
            .filter(|s| std::future::ready(*s == 204))
            .count()
            .await;
        assert_eq!(done, n);
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak RSS (KiB) of `s2-revoke --local --from-file -` fed `n` ids.
fn cli_peak_rss_kib(n: usize) -> (u64, Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_s2-revoke"))
        .args([
            "--local",
            "--quiet",
            "--concurrency",
            "64",
            "--from-file",
            "-",
            "seed-id",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        let mut out = std::io::BufWriter::new(&mut stdin);
        for i in 0..n {
            writeln!(out, "stdin-id-{i:08}").unwrap();
        }
    });
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            for line in status.lines() {
                if let Some(kib) = line.strip_prefix("VmHWM:") {
                    let kib: u64 = kib
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse()
                        .unwrap_or(0);
                    peak = peak.max(kib);
                }
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    writer.join().unwrap();
    (peak, started.elapsed())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // just prove the harness runs, small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let calls = if quick {
        50
    } else {
        env_usize("S2_BENCH_CALLS", 2000)
    };
    let bulk_n = if quick {
        200
    } else {
        env_usize("S2_BENCH_BULK", 10_000)
    };
    let stdin_ids = if quick {
        1000
    } else {
        env_usize("S2_BENCH_STDIN_IDS", 1_000_000)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut results: Vec<(String, f64)> = Vec::new();

    runtime.block_on(async {
        for (http2, proto) in [(false, "http1"), (true, "h2c")] {
            let rounds = 3;
            let mut times: std::collections::HashMap<&str, Vec<f64>> = Default::default();
            for round in 0..rounds {
                for variant in ["raw", "generated", "wrapper"] {
                    let prefix = format!("{variant}-{round}");
                    let setup = setup(http2, calls, &prefix).await;
                    // Warm the connection with the first id, then issue it again.
                    let _ = per_call(&setup, variant, &prefix, 1).await;
                    setup.server.issue(format!("{prefix}-0"));
                    times.entry(variant).or_default().push(per_call(&setup, variant, &prefix, calls).await);
                }
            }
            let raw = median(times["raw"].clone());
            let generated = median(times["generated"].clone());
            let wrapper = median(times["wrapper"].clone());
            println!(
                "per call over {proto}: raw {:.1} us, generated {:.1} us, wrapper {:.1} us",
                raw * 1e6,
                generated * 1e6,
                wrapper * 1e6
            );
            results.push((format!("overhead generated/raw {proto}"), generated / raw));
            results.push((format!("overhead wrapper/raw {proto}"), wrapper / raw));

            let mut rates: std::collections::HashMap<&str, Vec<f64>> = Default::default();
            for round in 0..rounds {
                for variant in ["raw", "wrapper"] {
                    let prefix = format!("bulk-{variant}-{round}");
                    let setup = setup(http2, bulk_n, &prefix).await;
                    rates.entry(variant).or_default().push(bulk(&setup, variant, &prefix, bulk_n).await);
                }
            }
            let raw = median(rates["raw"].clone());
            let wrapper = median(rates["wrapper"].clone());
            println!("bulk {bulk_n} at concurrency 64 over {proto}: raw {raw:.0}/s, wrapper {wrapper:.0}/s");
            results.push((format!("bulk wrapper/raw {proto}"), wrapper / raw));
            results.push((format!("bulk wrapper {proto} per second"), wrapper));
        }
    });

    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/openapi/upstream/2026-05-14-f7c8dd3.json");
    if spec.is_file() {
        let started = Instant::now();
        let generated = s2_openapi_codegen::generate(&spec).unwrap();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "codegen of the latest full spec: {} lines in {secs:.2} s",
            generated.client_code.lines().count()
        );
        results.push(("codegen latest full spec seconds".to_owned(), secs));
    }

    let (peak_kib, elapsed) = cli_peak_rss_kib(stdin_ids);
    println!(
        "s2-revoke streaming {stdin_ids} ids from stdin: peak RSS {:.1} MiB in {:.1} s",
        peak_kib as f64 / 1024.0,
        elapsed.as_secs_f64()
    );
    results.push(("cli peak rss MiB".to_owned(), peak_kib as f64 / 1024.0));
    results.push((
        "cli peak rss under 64 MiB".to_owned(),
        f64::from(u8::from(peak_kib < 64 * 1024)),
    ));

    for (name, value) in results {
        println!("{name}: {value:.3}");
    }
}
