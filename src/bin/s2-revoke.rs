//! `s2-revoke`: revoke S2 access tokens by id, one or a million.
//!
//! Ids come from arguments and/or `--from-file PATH` (`-` for stdin), one
//! per line; blank lines and surrounding whitespace are ignored. The token
//! comes from `S2_ACCESS_TOKEN` or `--access-token-file`, never from an
//! argument (arguments are visible to other users of the machine).
//!
//! Every input id gets exactly one outcome line (text, or NDJSON with
//! `--json`), in completion order. Exit status: 0 when every id was revoked
//! (or was already gone, or repeated an earlier one), 1 when any failed, was
//! refused or was not attempted, 2 for usage or configuration errors.
//! Ctrl-C stops sending, waits for requests in flight, and reports every id
//! not attempted.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use s2_openapi::local_server::LocalServer;
use s2_openapi::{
    BulkOptions, BulkOutcome, CancellationToken, Client, ClientBuilder, Error, Outcome,
};
use secrecy::ExposeSecret;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Revoke S2 access tokens by id.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Access token ids to revoke.
    #[arg(value_name = "ID", required_unless_present = "from_file")]
    ids: Vec<String>,

    /// Also read ids from this file, one per line (`-` reads stdin).
    #[arg(long, value_name = "PATH")]
    from_file: Option<PathBuf>,

    /// Revocations in flight at most.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,

    /// Write one JSON object per id (NDJSON) instead of text.
    #[arg(long)]
    json: bool,

    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,

    /// S2 account endpoint, such as http://localhost:8080 [default: the spec's server]
    #[arg(
        long,
        env = "S2_ACCOUNT_ENDPOINT",
        value_name = "URL",
        conflicts_with = "local"
    )]
    endpoint: Option<String>,

    /// Read the access token from this file (surrounding whitespace is
    /// ignored) instead of S2_ACCESS_TOKEN.
    #[arg(long, value_name = "PATH", conflicts_with = "local")]
    access_token_file: Option<PathBuf>,

    /// Offline demo: start an in-process S2-compatible server with the
    /// given argument ids issued, and revoke them there.
    #[arg(long)]
    local: bool,

    /// Speak HTTP/2 with prior knowledge on http:// endpoints (h2c).
    #[arg(long)]
    http2: bool,

    /// Allow a plain http:// endpoint that is not loopback (the token then
    /// crosses the network in clear text).
    #[arg(long)]
    allow_insecure_http: bool,

    /// Trust this root certificate (PEM) for https://, e.g. s2-lite's
    /// self-signed one.
    #[arg(long, value_name = "PATH", conflicts_with = "local")]
    root_certificate: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("s2-revoke: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(args))
}

/// Where an id came from, for messages.
#[derive(Clone, Copy, Debug)]
enum Source {
    Arg(usize),
    Line(u64),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Arg(n) => write!(f, "argument {n}"),
            Self::Line(n) => write!(f, "line {n}"),
        }
    }
}

#[derive(Default)]
struct Counts {
    revoked: u64,
    already_gone: u64,
    refused: u64,
    failed: u64,
    duplicate: u64,
    not_attempted: u64,
}

async fn run(args: Args) -> ExitCode {
    let (client, server) = match connect(&args).await {
        Ok(pair) => pair,
        Err(message) => {
            eprintln!("s2-revoke: {message}");
            return ExitCode::from(2);
        }
    };
    let input = match input(&args).await {
        Ok(input) => input,
        Err(message) => {
            eprintln!("s2-revoke: {message}");
            return ExitCode::from(2);
        }
    };

    let stop = CancellationToken::new();
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("s2-revoke: stopping: waiting for requests in flight");
                stop.cancel();
            }
        })
    };
    let progress = progress_bar(&args);
    let options = BulkOptions::default()
        .with_concurrency(usize::from(args.concurrency))
        .with_stop(stop);
    let mut outcomes = std::pin::pin!(client.revoke_many(input, options));
    let mut counts = Counts::default();
    let mut stdout = std::io::stdout().lock();
    while let Some(outcome) = outcomes.next().await {
        count(&mut counts, &outcome.outcome);
        let line = if args.json {
            json_line(&outcome)
        } else {
            text_line(&outcome)
        };
        progress.suspend(|| {
            let _ = writeln!(stdout, "{line}");
        });
        progress.inc(1);
    }
    progress.finish_and_clear();
    watcher.abort();
    if !args.quiet {
        eprintln!(
            "{} revoked, {} already gone, {} refused, {} failed, {} duplicate, {} not attempted",
            counts.revoked,
            counts.already_gone,
            counts.refused,
            counts.failed,
            counts.duplicate,
            counts.not_attempted
        );
    }
    if let Some(server) = server {
        let _ = server.shutdown().await;
    }
    if counts.refused + counts.failed + counts.not_attempted == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn count(counts: &mut Counts, outcome: &Outcome) {
    let slot = match outcome {
        Outcome::Revoked(_) => &mut counts.revoked,
        Outcome::AlreadyGone(_) => &mut counts.already_gone,
        Outcome::Refused(_) => &mut counts.refused,
        Outcome::Duplicate(_) => &mut counts.duplicate,
        Outcome::NotAttempted => &mut counts.not_attempted,
        _ => &mut counts.failed,
    };
    *slot += 1;
}

/// A progress bar with rate and ETA on a terminal; hidden on a pipe, with
/// `--quiet`, or with `--json`.
fn progress_bar(args: &Args) -> ProgressBar {
    if args.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = if args.from_file.is_none() {
        let bar = ProgressBar::new(args.ids.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} ids {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar
}

fn describe(e: &Error) -> String {
    match (e.code(), e.status()) {
        (Some(code), Some(status)) => format!("{code} (HTTP {}): {e}", status.as_u16()),
        (None, Some(status)) => format!("HTTP {}: {e}", status.as_u16()),
        _ => e.to_string(),
    }
}

fn text_line(o: &BulkOutcome<Source>) -> String {
    let id = &o.id;
    match &o.outcome {
        Outcome::Revoked(_) => format!("revoked {id}"),
        Outcome::AlreadyGone(e) => format!("already-gone {id}: {}", describe(e)),
        Outcome::Refused(e) => format!("refused {id} ({}): refused before sending: {e}", o.tag),
        Outcome::Duplicate(first) => format!(
            "duplicate {id} ({}): sent once, under its first occurrence: {}",
            o.tag,
            first.kind()
        ),
        Outcome::NotAttempted => format!("not-attempted {id}"),
        Outcome::Failed(e) => format!("failed  {id}: {}", describe(e)),
        _ => format!("failed  {id}"),
    }
}

fn json_line(o: &BulkOutcome<Source>) -> String {
    let mut value = serde_json::json!({"id": o.id, "outcome": o.outcome.kind()});
    match o.tag {
        Source::Arg(n) => value["argument"] = n.into(),
        Source::Line(n) => value["line"] = n.into(),
    }
    let error = match &o.outcome {
        Outcome::AlreadyGone(e) | Outcome::Failed(e) => Some(e.to_string()),
        Outcome::Refused(e) => Some(e.to_string()),
        _ => None,
    };
    if let Outcome::AlreadyGone(e) | Outcome::Failed(e) = &o.outcome {
        if let Some(status) = e.status() {
            value["status"] = status.as_u16().into();
        }
        if let Some(code) = e.code() {
            value["code"] = code.as_str().into();
        }
    }
    if let Outcome::Duplicate(first) = &o.outcome {
        value["first"] = first.kind().into();
    }
    if let Outcome::Revoked(r) = &o.outcome {
        value["status"] = r.status.as_u16().into();
        value["attempts"] = r.attempts.into();
    }
    if let Some(message) = error {
        value["message"] = message.into();
    }
    value.to_string()
}

/// Argument ids, then the file's (or stdin's) non-blank lines, streamed.
async fn input(args: &Args) -> Result<BoxStream<'static, (Source, String)>, String> {
    let from_args = stream::iter(
        args.ids
            .clone()
            .into_iter()
            .enumerate()
            .map(|(i, id)| (Source::Arg(i + 1), id)),
    );
    let Some(path) = &args.from_file else {
        return Ok(from_args.boxed());
    };
    let reader: Box<dyn AsyncRead + Send + Unpin> = if path.as_os_str() == "-" {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(
            tokio::fs::File::open(path)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        )
    };
    let lines = stream::unfold(
        (BufReader::new(reader), 0u64),
        |(mut reader, mut number)| async move {
            let mut buf = Vec::new();
            loop {
                buf.clear();
                number += 1;
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) => return None,
                    Ok(_) => match std::str::from_utf8(&buf) {
                        Ok(line) if line.trim().is_empty() => continue,
                        Ok(line) => {
                            return Some((
                                (Source::Line(number), line.trim().to_owned()),
                                (reader, number),
                            ));
                        }
                        // Not UTF-8: S2 ids are strings. Pass a marker the id
                        // rules refuse, so the line is reported, not revoked.
                        Err(_) => {
                            return Some((
                                (Source::Line(number), "\0<not UTF-8>".to_owned()),
                                (reader, number),
                            ));
                        }
                    },
                    Err(e) => {
                        eprintln!("s2-revoke: stopped reading input at line {number}: {e}");
                        return None;
                    }
                }
            }
        },
    );
    Ok(from_args.chain(lines).boxed())
}

/// Builds the client, starting the local server first with `--local`.
async fn connect(args: &Args) -> Result<(Client, Option<LocalServer>), String> {
    let mut builder = ClientBuilder::from_env()
        .http2_prior_knowledge(args.http2)
        .allow_insecure_http(args.allow_insecure_http);
    let mut server = None;
    if args.local {
        let local = LocalServer::builder()
            .issue_all(args.ids.iter().cloned())
            .start()
            .await
            .map_err(|e| format!("cannot start the local server: {e}"))?;
        builder = builder
            .endpoint(local.endpoint())
            .access_token(local.access_token().expose_secret());
        if !args.quiet {
            eprintln!("local S2-compatible server at {}", local.endpoint());
        }
        server = Some(local);
    } else {
        if let Some(endpoint) = &args.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if let Some(path) = &args.root_certificate {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read the root certificate {}: {e}", path.display()))?;
            builder = builder.add_root_certificate_pem(pem);
        }
        if let Some(path) = &args.access_token_file {
            let token = std::fs::read_to_string(path).map_err(|e| {
                format!("cannot read the access token file {}: {e}", path.display())
            })?;
            builder = builder.access_token(token.trim());
        } else if std::env::var_os(s2_openapi::ENV_ACCESS_TOKEN).is_none_or(|t| t.is_empty()) {
            return Err(format!(
                "no access token: set {} or pass --access-token-file",
                s2_openapi::ENV_ACCESS_TOKEN
            ));
        }
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    Ok((client, server))
}
