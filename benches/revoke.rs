//! `cargo bench --features cli`: the wrapper against the generated client,
//! a hand-written reqwest DELETE and S2's official SDK (`s2-sdk`), per call
//! and in bulk, over HTTP/1.1 and h2c, all against the crate's in-process
//! local server on the same runtime; how busy that server is when alone on
//! a thread of its own under the fastest peer; a bulk run against a server
//! that rate-limits, with and without the run's rate limiter; the CLI's
//! peak memory streaming ids from stdin; code generation and no-op rebuild
//! times. Every figure is a ratio against a baseline measured in the same
//! run; the last lines are `name: value`.
//!
//! `S2_BENCH_CALLS` (default 500 per round), `S2_BENCH_BULK` (10000),
//! `S2_BENCH_RATE_IDS` (3000) and `S2_BENCH_RATE` (500 requests per second
//! admitted), and `S2_BENCH_STDIN_IDS` (1000000) scale the runs;
//! `S2_BENCH_ONLY` (a comma-separated subset of `per-call,bulk,rate-limit,codegen,rebuild,memory`)
//! picks sections. `S2_BENCH_ONLY=count` runs only `S2_BENCH_COUNT`
//! (`MODE:VARIANT:N[:h2c]`), untimed, for `scripts/callgrind.sh` to count
//! instructions (see [`count_section`]). The raw peer sets a 3 s connect and 5 s request timeout, as the
//! wrapper and s2-sdk do by default; `S2_BENCH_RAW_NO_TIMEOUTS=1` drops them.

// A benchmark: failures are bugs to see, not to handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use s2_openapi::local_server::LocalServer;
use s2_openapi::{BulkOptions, Client};

const TOKEN: &str = "bench-token";
const CONCURRENCY: usize = 64;
/// Interleaved rounds per variant, each on a fresh server; a figure is the
/// median round, a ratio the median of the rounds' ratios
/// ([`paired_ratio`]). Many short rounds: this 2-core VM's noise comes in
/// bursts that a few long rounds cannot outvote.
const PER_CALL_ROUNDS: usize = 31;
const BULK_ROUNDS: usize = 15;
/// The rebuild timings.
const REBUILD_ROUNDS: usize = 3;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The clients compared. `S2Sdk` speaks HTTP/2 only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Variant {
    Raw,
    Generated,
    Wrapper,
    S2Sdk,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Generated => "generated",
            Self::Wrapper => "wrapper",
            Self::S2Sdk => "s2-sdk",
        }
    }

    /// The ids a variant revokes in a round: the same length for every
    /// variant, since the id is formatted, parsed, hashed and checked on
    /// both sides of each call.
    fn ids(self, section: &str, round: usize) -> String {
        let tag = match self {
            Self::Raw => 'r',
            Self::Generated => 'g',
            Self::Wrapper => 'w',
            Self::S2Sdk => 's',
        };
        format!("{section}{tag}-{round:02}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Http1,
    H2c,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::Http1 => "http1",
            Self::H2c => "h2c",
        }
    }
}

/// The clients under test, all pointed at one endpoint. Every client is
/// built with its defaults (timeouts, retries), as a user would.
struct Peers {
    base: String,
    wrapper: Client,
    raw: reqwest::Client,
    sdk: Option<s2_sdk::S2>,
}

fn peers(endpoint: &str, protocol: Protocol) -> Peers {
    let http2 = protocol == Protocol::H2c;
    let wrapper = Client::builder()
        .access_token(TOKEN)
        .endpoint(endpoint)
        .http2_prior_knowledge(http2)
        .build()
        .unwrap();
    // The same request the wrapper puts on the wire (Authorization, Accept,
    // User-Agent), so the ratios measure client work, not header count.
    let mut raw = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .user_agent(concat!("s2-openapi/", env!("CARGO_PKG_VERSION")));
    if std::env::var_os("S2_BENCH_RAW_NO_TIMEOUTS").is_none() {
        // What a hand-written production call sets, and the defaults of the
        // wrapper and of s2-sdk alike.
        raw = raw
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3));
    }
    if http2 {
        raw = raw.http2_prior_knowledge();
    }
    let sdk = http2.then(|| {
        let endpoints = s2_sdk::types::S2Endpoints::for_endpoint(endpoint).unwrap();
        s2_sdk::S2::new(s2_sdk::types::S2Config::new(TOKEN).with_endpoints(endpoints)).unwrap()
    });
    Peers {
        base: format!("{endpoint}/v1/access-tokens"),
        wrapper,
        raw: raw.build().unwrap(),
        sdk,
    }
}

/// One fresh server with `ids` issued, and the clients.
struct Setup {
    server: LocalServer,
    peers: Peers,
}

async fn setup(protocol: Protocol, ids: usize, prefix: &str) -> Setup {
    let server = LocalServer::builder()
        .access_token(TOKEN)
        .issue_all((0..ids).map(|i| format!("{prefix}-{i}")))
        .start()
        .await
        .unwrap();
    let peers = peers(server.endpoint(), protocol);
    Setup { server, peers }
}

/// One revoke of `id` through `variant`; panics unless it answered 204.
async fn revoke(peers: &Peers, variant: Variant, id: String) {
    match variant {
        Variant::Wrapper => {
            peers.wrapper.revoke_access_token(&id).await.unwrap();
        }
        Variant::Generated => {
            peers
                .wrapper
                .generated()
                .revoke_access_token()
                .id(id.as_str())
                .send()
                .await
                .unwrap();
        }
        Variant::S2Sdk => {
            let sdk = peers.sdk.as_ref().expect("s2-sdk speaks HTTP/2 only");
            sdk.revoke_access_token(id.parse().unwrap()).await.unwrap();
        }
        Variant::Raw => {
            let response = peers
                .raw
                .delete(format!("{}/{id}", peers.base))
                .bearer_auth(TOKEN)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 204);
        }
    }
}

/// Seconds per call of `n` sequential revokes of fresh ids.
async fn per_call(peers: &Peers, variant: Variant, prefix: &str, n: usize) -> f64 {
    let started = Instant::now();
    for i in 0..n {
        revoke(peers, variant, format!("{prefix}-{i}")).await;
    }
    started.elapsed().as_secs_f64() / n as f64
}

/// Revokes per second of `n` revokes at `concurrency`. The wrapper goes
/// through its bulk API (with its defaults); the others through
/// `buffer_unordered`, as a caller would.
async fn bulk(peers: &Peers, variant: Variant, prefix: &str, n: usize, concurrency: usize) -> f64 {
    let started = Instant::now();
    let ids = (0..n).map(|i| format!("{prefix}-{i}"));
    let done = if variant == Variant::Wrapper {
        let options = BulkOptions::default().with_concurrency(concurrency);
        peers
            .wrapper
            .revoke_all(ids, options)
            .filter(|o| std::future::ready(o.outcome.kind() == "revoked"))
            .count()
            .await
    } else {
        futures_util::stream::iter(ids)
            .map(|id| revoke(peers, variant, id))
            .buffer_unordered(concurrency)
            .count()
            .await
    };
    assert_eq!(done, n);
    n as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The median over rounds of `of`'s figure divided by `by`'s in the same
/// round: each pair was measured back to back, so a burst of the machine's
/// noise skews one round's ratio, which the median then drops, rather than
/// one variant's figure.
fn paired_ratio(figures: &HashMap<Variant, Vec<f64>>, of: Variant, by: Variant) -> f64 {
    let pairs = figures[&of].iter().zip(&figures[&by]);
    median(pairs.map(|(a, b)| a / b).collect())
}

/// The variants measured over `protocol`, per call or in bulk.
fn variants(protocol: Protocol, per_call: bool) -> Vec<Variant> {
    let mut v = vec![Variant::Raw];
    if per_call {
        v.push(Variant::Generated);
    }
    v.push(Variant::Wrapper);
    if protocol == Protocol::H2c {
        v.push(Variant::S2Sdk);
    }
    v
}

type Results = Vec<(String, f64)>;

async fn per_call_section(calls: usize, results: &mut Results) {
    let mut wrapper_per_protocol = HashMap::new();
    let mut sdk_h2c = None;
    for protocol in [Protocol::Http1, Protocol::H2c] {
        let variants = variants(protocol, true);
        let mut times: HashMap<Variant, Vec<f64>> = HashMap::new();
        // Interleaved rounds, each on a fresh server, so drift hits every
        // variant alike.
        for round in 0..PER_CALL_ROUNDS {
            for &variant in &variants {
                let prefix = variant.ids("c", round);
                let setup = setup(protocol, calls, &prefix).await;
                // Warm the connection with the first id, then issue it again.
                per_call(&setup.peers, variant, &prefix, 1).await;
                setup.server.issue(format!("{prefix}-0"));
                let t = per_call(&setup.peers, variant, &prefix, calls).await;
                times.entry(variant).or_default().push(t);
            }
        }
        let t: HashMap<Variant, f64> = times.iter().map(|(&v, t)| (v, median(t.clone()))).collect();
        let line: Vec<String> = variants
            .iter()
            .map(|v| format!("{} {:.1} us", v.name(), t[v] * 1e6))
            .collect();
        println!(
            "per call over {} (median of {PER_CALL_ROUNDS} rounds of {calls}): {}",
            protocol.name(),
            line.join(", ")
        );
        let proto = protocol.name();
        for &variant in &variants[1..] {
            let name = variant.name();
            let ratio = paired_ratio(&times, variant, Variant::Raw);
            results.push((format!("overhead {name}/raw {proto}"), ratio));
        }
        wrapper_per_protocol.insert(proto, t[&Variant::Wrapper]);
        sdk_h2c = sdk_h2c.or(t.get(&Variant::S2Sdk).copied());
    }
    if let Some(sdk) = sdk_h2c {
        results.push((
            "overhead wrapper/s2-sdk h2c".to_owned(),
            wrapper_per_protocol["h2c"] / sdk,
        ));
        // s2-sdk speaks HTTP/2 only; the wrapper's default for an http://
        // endpoint is HTTP/1.1.
        results.push((
            "overhead wrapper (http1)/s2-sdk".to_owned(),
            wrapper_per_protocol["http1"] / sdk,
        ));
    }
}

async fn bulk_section(n: usize, results: &mut Results) {
    let mut best_peer: f64 = 0.0;
    let mut best_wrapper: (f64, &str) = (0.0, "");
    let mut rates_by: HashMap<(Variant, &str), f64> = HashMap::new();
    for protocol in [Protocol::Http1, Protocol::H2c] {
        let variants = variants(protocol, false);
        let mut rates: HashMap<Variant, Vec<f64>> = HashMap::new();
        for round in 0..BULK_ROUNDS {
            for &variant in &variants {
                let prefix = variant.ids("b", round);
                let setup = setup(protocol, n, &prefix).await;
                let rate = bulk(&setup.peers, variant, &prefix, n, CONCURRENCY).await;
                rates.entry(variant).or_default().push(rate);
            }
        }
        let proto = protocol.name();
        let r: HashMap<Variant, f64> = rates.iter().map(|(&v, r)| (v, median(r.clone()))).collect();
        let line: Vec<String> = variants
            .iter()
            .map(|v| format!("{} {:.0}/s", v.name(), r[v]))
            .collect();
        println!(
            "bulk {n} at concurrency {CONCURRENCY} over {proto} (median of {BULK_ROUNDS}): {}",
            line.join(", ")
        );
        results.push((
            format!("bulk wrapper/raw {proto}"),
            paired_ratio(&rates, Variant::Wrapper, Variant::Raw),
        ));
        results.push((
            format!("bulk wrapper {proto} per second"),
            r[&Variant::Wrapper],
        ));
        for (&v, &rate) in &r {
            rates_by.insert((v, proto), rate);
            match v {
                Variant::Wrapper if rate > best_wrapper.0 => best_wrapper = (rate, proto),
                Variant::Raw | Variant::S2Sdk => best_peer = best_peer.max(rate),
                _ => {}
            }
        }
    }
    if let Some(sdk) = rates_by.get(&(Variant::S2Sdk, "h2c")) {
        results.push((
            format!("bulk wrapper ({})/s2-sdk", best_wrapper.1),
            best_wrapper.0 / sdk,
        ));
    }
    results.push((
        format!("bulk wrapper ({})/fastest peer", best_wrapper.1),
        best_wrapper.0 / best_peer,
    ));
}

/// `n` ids at concurrency 64 through the bulk API (the client's defaults)
/// against a server admitting `rate` requests per second (a token bucket
/// holding 50 ms of them) and answering 429 `rate_limited` with
/// `retry-after-ms` above that: with the run's rate limiter, and without it
/// (each call retrying on its own, as before it existed).
async fn rate_limit_section(n: usize, rate: usize, results: &mut Results) {
    for (adapt, name) in [(true, "limiter"), (false, "no limiter")] {
        let (server, throttled) = support::rate_limited(rate as f64, rate as f64 / 20.0).await;
        let client = Client::builder()
            .access_token(TOKEN)
            .endpoint(&server.endpoint)
            .build()
            .unwrap();
        let ids = (0..n).map(|i| format!("rl-{i}"));
        let options = BulkOptions::default()
            .with_concurrency(CONCURRENCY)
            .with_adapt_to_rate_limits(adapt);
        let started = Instant::now();
        let failed = client
            .revoke_all(ids, options)
            .filter(|o| std::future::ready(!o.outcome.is_ok()))
            .count()
            .await;
        let secs = started.elapsed().as_secs_f64();
        let requests = server.count();
        let throttled = throttled.load(std::sync::atomic::Ordering::Relaxed);
        let share = throttled as f64 / requests as f64;
        let time_ratio = secs / (n as f64 / rate as f64);
        println!(
            "rate-limited server ({rate}/s), bulk {n} at concurrency {CONCURRENCY}, {name}: \
             {failed} failed, {requests} requests, {throttled} answered 429 ({:.1}%), \
             {secs:.2} s ({time_ratio:.2} x {n}/{rate})",
            share * 100.0
        );
        let key = if adapt { "limiter" } else { "no limiter" };
        results.push((format!("rate limit {key} failed"), failed as f64));
        results.push((format!("rate limit {key} 429 share"), share));
        results.push((format!("rate limit {key} time / (n / rate)"), time_ratio));
    }
}

/// CPU time (ns) a thread of this process has run, from the scheduler.
fn thread_cpu_ns(tid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).unwrap();
    stat.split_whitespace().next().unwrap().parse().unwrap()
}

/// Is the server the limit? The same local server, alone on a thread of its
/// own (its own current-thread runtime), answers the fastest peer's bulk
/// run; the share of the run's wall time that thread spent on a CPU says
/// how busy it was. Well under 1, it waited for requests: the clients set
/// the pace.
fn server_busy_section(n: usize, results: &mut Results) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let server = LocalServer::builder()
                .access_token(TOKEN)
                .issue_all(
                    [Protocol::Http1, Protocol::H2c]
                        .into_iter()
                        .flat_map(|p| (0..n).map(move |i| format!("busy-{}-{i}", p.name()))),
                )
                .start()
                .await
                .unwrap();
            let tid = std::fs::read_link("/proc/thread-self").unwrap();
            let tid = tid.file_name().unwrap().to_string_lossy().into_owned();
            tx.send((server.endpoint().to_owned(), tid)).unwrap();
            let _ = stop_rx.await;
        });
    });
    let (endpoint, tid) = rx.recv().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for (variant, protocol) in [
        (Variant::Raw, Protocol::Http1),
        (Variant::S2Sdk, Protocol::H2c),
    ] {
        let prefix = format!("busy-{}", protocol.name());
        // Built outside the measured run (s2-sdk wants a runtime context).
        let peers = runtime.block_on(async { peers(&endpoint, protocol) });
        let before = thread_cpu_ns(&tid);
        let started = Instant::now();
        let rate = runtime.block_on(bulk(&peers, variant, &prefix, n, CONCURRENCY));
        let busy = (thread_cpu_ns(&tid) - before) as f64 / started.elapsed().as_nanos() as f64;
        println!(
            "server alone on a thread, bulk {n} {} over {}: {rate:.0}/s, server thread on CPU {:.0}% of the run",
            variant.name(),
            protocol.name(),
            busy * 100.0
        );
        results.push((format!("server busy share {}", protocol.name()), busy));
    }
    let _ = stop_tx.send(());
    server_thread.join().unwrap();
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

fn memory_section(ids: usize, results: &mut Results) {
    let (peak_kib, elapsed) = cli_peak_rss_kib(ids);
    let mib = peak_kib as f64 / 1024.0;
    println!(
        "s2-revoke streaming {ids} ids from stdin: peak RSS {mib:.1} MiB in {:.1} s",
        elapsed.as_secs_f64()
    );
    results.push(("cli peak rss MiB".to_owned(), mib));
    results.push(("cli peak rss / 64 MiB".to_owned(), mib / 64.0));
}

fn codegen_section(results: &mut Results) {
    let spec = root().join("../shared/openapi/upstream/2026-05-14-f7c8dd3.json");
    if !spec.is_file() {
        println!("codegen: skipped, {} is absent", spec.display());
        return;
    }
    let started = Instant::now();
    let generated = s2_openapi_codegen::generate(&spec).unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "codegen of the latest full spec: {} lines in {secs:.3} s",
        generated.client_code.lines().count()
    );
    results.push(("codegen latest full spec seconds".to_owned(), secs));
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo build --lib` of this crate from `spec` in its own target
/// directory; seconds taken.
fn cargo_build(spec: &Path, target: &Path) -> f64 {
    let started = Instant::now();
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "--lib", "--offline", "--quiet", "-p", "s2-openapi"])
        .args(["--features", "full-spec"])
        .env("CARGO_TARGET_DIR", target)
        .env("S2_OPENAPI_SPEC", spec)
        .env_remove("RUSTFLAGS")
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

/// The rebuild after the spec changed (the build script regenerates and the
/// crate recompiles) against the rebuild when nothing changed.
fn rebuild_section(results: &mut Results) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-rebuild");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("s2.yaml");
    let vendored = std::fs::read(root().join("openapi/s2.yaml")).unwrap();
    std::fs::write(&spec, &vendored).unwrap();
    let target = dir.join("target");
    cargo_build(&spec, &target); // cold or warm: not measured
    let mut changed = Vec::new();
    let mut noop = Vec::new();
    for round in 0..REBUILD_ROUNDS {
        // Same meaning, new bytes: the build script must run again.
        let mut edited = vendored.clone();
        edited.extend(std::iter::repeat_n(b'\n', round + 1));
        std::fs::write(&spec, &edited).unwrap();
        changed.push(cargo_build(&spec, &target));
        noop.push(cargo_build(&spec, &target));
    }
    let (changed, noop) = (median(changed), median(noop));
    println!("rebuild after a spec change {changed:.2} s, with nothing changed {noop:.3} s");
    results.push(("rebuild no-op seconds".to_owned(), noop));
    results.push(("rebuild no-op/after spec change".to_owned(), noop / changed));
}

/// One untimed run on a current-thread runtime (client and server on one
/// thread: the same instructions every time), for `scripts/callgrind.sh`.
/// `S2_BENCH_COUNT` is `MODE:VARIANT:N[:h2c]`: `N` revokes by `VARIANT`
/// (`raw`, `generated`, `wrapper`), one after the other (`MODE` `call`),
/// at concurrency 64 through `buffer_unordered` (`each`), or as the bench's
/// bulk section runs them (`bulk`: the bulk API for the wrapper).
fn count_section() {
    let spec = std::env::var("S2_BENCH_COUNT").unwrap_or_else(|_| "bulk:wrapper:200".into());
    let parts: Vec<&str> = spec.split(':').collect();
    let (mode, variant, n) = (parts[0], parts[1], parts[2].parse::<usize>().unwrap());
    let protocol = match parts.get(3) {
        Some(&"h2c") => Protocol::H2c,
        _ => Protocol::Http1,
    };
    let variant = [Variant::Raw, Variant::Generated, Variant::Wrapper]
        .into_iter()
        .find(|v| v.name() == variant)
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let setup = setup(protocol, n, "count").await;
        let peers = &setup.peers;
        match mode {
            "call" => {
                per_call(peers, variant, "count", n).await;
            }
            "each" => {
                let done = futures_util::stream::iter((0..n).map(|i| format!("count-{i}")))
                    .map(|id| revoke(peers, variant, id))
                    .buffer_unordered(CONCURRENCY)
                    .count()
                    .await;
                assert_eq!(done, n);
            }
            "bulk" => {
                bulk(peers, variant, "count", n, CONCURRENCY).await;
            }
            _ => panic!("S2_BENCH_COUNT: unknown mode {mode}"),
        }
    });
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // just prove the harness runs, small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let scaled = |name, full, small| {
        if quick { small } else { env_usize(name, full) }
    };
    let calls = scaled("S2_BENCH_CALLS", 500, 20);
    let bulk_n = scaled("S2_BENCH_BULK", 10_000, 200);
    let stdin_ids = scaled("S2_BENCH_STDIN_IDS", 1_000_000, 1000);
    let only = std::env::var("S2_BENCH_ONLY").unwrap_or_default();
    let run = |section: &str| only.is_empty() || only.split(',').any(|s| s.trim() == section);

    if only == "count" {
        count_section();
        return;
    }
    let mut results = Results::new();
    if run("per-call") {
        // One thread for client and server: a call's cost is the work done
        // for it, not how the scheduler happened to hand it between threads.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(per_call_section(calls, &mut results));
    }
    if run("bulk") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(bulk_section(bulk_n, &mut results));
        server_busy_section(bulk_n, &mut results);
    }
    if run("rate-limit") {
        let n = scaled("S2_BENCH_RATE_IDS", 3000, 200);
        let rate = scaled("S2_BENCH_RATE", 500, 1000);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(rate_limit_section(n, rate, &mut results));
    }
    if run("codegen") {
        codegen_section(&mut results);
    }
    if run("rebuild") && !quick {
        rebuild_section(&mut results);
    }
    if run("memory") {
        memory_section(stdin_ids, &mut results);
    }
    for (name, value) in results {
        println!("{name}: {value:.3}");
    }
}
