//! The command itself: arguments, input, the bulk run and its report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

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

// `about` and `long_about` are the command's own, not Cargo.toml's description
// (the library's): `--help` opens with what the command does.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Revoke S2 access tokens by id, from arguments or standard input",
    long_about = "Revokes S2 access tokens by id. Ids come from arguments and/or a file, \
        one per line; a lone `-` reads standard input. Every id gets one outcome line on \
        stdout (text, or NDJSON with --json), in completion order, then a summary with \
        counts on stderr (none with --quiet). The access token comes from S2_ACCESS_TOKEN or \
        --access-token-file, never from an argument. --local revokes the given ids \
        against an in-process S2-compatible server (offline demo).\n\n\
        Exit status: 0 when every id was revoked, already gone or a duplicate; 1 when any \
        failed, was refused or was not attempted, or the input was cut short; 2 for usage \
        or configuration errors."
)]
struct Args {
    /// Access token ids to revoke. A lone `-` reads ids from standard
    /// input, one per line (an id that really is `-` can come from a file).
    #[arg(value_name = "ID", required_unless_present = "from_file")]
    ids: Vec<String>,

    /// Also read ids from this file, one per line (`-` reads standard
    /// input).
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

    /// S2 account endpoint: `[scheme://]host[:port]` as S2's SDK reads it
    /// (https when no scheme is given), or a URL with a path prefix
    /// [default: S2_ACCOUNT_ENDPOINT, else the spec's server]
    #[arg(long, value_name = "URL", conflicts_with = "local")]
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

pub(crate) fn main() -> ExitCode {
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
    let code = runtime.block_on(run(args));
    // Without waiting for blocking tasks: a read of standard input left
    // pending by a stop would otherwise hold the exit until input ends.
    runtime.shutdown_background();
    code
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
    // Listened for from the start: registered only when the watcher task
    // first ran, a Ctrl-C before that (requests already in flight) would
    // kill the process with no summary.
    let interrupts = ctrl_c().ok();
    let file = match input_file(&args) {
        Ok(file) => file,
        Err(message) => {
            eprintln!("s2-revoke: {message}");
            return ExitCode::from(2);
        }
    };
    let (client, server) = match connect(&args).await {
        Ok(pair) => pair,
        Err(message) => {
            eprintln!("s2-revoke: {message}");
            return ExitCode::from(2);
        }
    };
    let stop = CancellationToken::new();
    let reading = Arc::new(Mutex::new(Reading::default()));
    let (unreadable_lines, mut unreadable) = tokio::sync::mpsc::unbounded_channel();
    let input = match input(&args, file, &stop, &reading, unreadable_lines).await {
        Ok(input) => input,
        Err(message) => {
            eprintln!("s2-revoke: {message}");
            return ExitCode::from(2);
        }
    };

    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let Some(mut interrupts) = interrupts else {
                return;
            };
            if interrupts.recv().await.is_none() {
                return;
            }
            eprintln!(
                "s2-revoke: stopping: no more ids are read or sent; waiting for requests \
                 in flight (Ctrl-C again to quit at once)"
            );
            stop.cancel();
            if interrupts.recv().await.is_some() {
                eprintln!("s2-revoke: interrupted");
                std::process::exit(130);
            }
        })
    };
    let progress = progress_bar(&args);
    let options = BulkOptions::default()
        .with_concurrency(usize::from(args.concurrency))
        .with_stop(stop.clone());
    let mut outcomes = std::pin::pin!(client.revoke_many(input, options));
    let mut counts = Counts::default();
    let mut stdout = std::io::stdout().lock();
    let mut emit = |line: String| {
        progress.suspend(|| {
            let _ = writeln!(stdout, "{line}");
        });
        progress.inc(1);
    };
    loop {
        let line = tokio::select! {
            Some(line) = unreadable.recv() => {
                counts.refused += 1;
                unreadable_line(&line, args.json)
            }
            outcome = outcomes.next() => {
                let Some(outcome) = outcome else { break };
                count(&mut counts, &outcome.outcome);
                if args.json {
                    json_line(&outcome)
                } else {
                    text_line(&outcome)
                }
            }
        };
        emit(line);
    }
    // Lines read after the last outcome.
    while let Ok(line) = unreadable.try_recv() {
        counts.refused += 1;
        emit(unreadable_line(&line, args.json));
    }
    progress.finish_and_clear();
    watcher.abort();
    let cut_short = reading
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .cut_short(stop.is_cancelled());
    if !args.quiet {
        let mut summary = format!(
            "{} revoked, {} already gone, {} refused, {} failed, {} duplicate, {} not attempted",
            counts.revoked,
            counts.already_gone,
            counts.refused,
            counts.failed,
            counts.duplicate,
            counts.not_attempted
        );
        if let Some(why) = &cut_short {
            summary.push_str(&format!("; input cut short: {why}"));
        }
        eprintln!("{summary}");
    }
    if let Some(server) = server {
        let _ = server.shutdown().await;
    }
    if counts.refused + counts.failed + counts.not_attempted == 0 && cut_short.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// How far the input (file or standard input) was read.
#[derive(Debug, Default)]
struct Reading {
    /// The last line read.
    line: u64,
    /// Whether its end was reached.
    ended: bool,
    /// The error that ended it early.
    error: Option<String>,
}

impl Reading {
    /// Why the input was not read to its end, if it was not.
    fn cut_short(&self, stopped: bool) -> Option<String> {
        if let Some(error) = &self.error {
            Some(error.clone())
        } else if stopped && !self.ended {
            Some(format!("stopped after line {}", self.line))
        } else {
            None
        }
    }
}

/// A line that is not UTF-8, refused without being sent.
struct UnreadableLine {
    line: u64,
    /// The line, lossily decoded.
    shown: String,
    reason: String,
}

/// Ctrl-C, registered at once (`tokio::signal::ctrl_c` registers when
/// first polled).
#[cfg(unix)]
fn ctrl_c() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

/// Ctrl-C, registered at once (`tokio::signal::ctrl_c` registers when
/// first polled).
#[cfg(windows)]
fn ctrl_c() -> std::io::Result<tokio::signal::windows::CtrlC> {
    tokio::signal::windows::ctrl_c()
}

fn unreadable_line(line: &UnreadableLine, json: bool) -> String {
    if json {
        serde_json::json!({
            "id": line.shown,
            "line": line.line,
            "outcome": "refused",
            "message": line.reason,
        })
        .to_string()
    } else {
        format!(
            "refused {:?} (line {}): refused before sending: {}",
            line.shown, line.line, line.reason
        )
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
    let bar = if args.from_file.is_none() && !args.ids.iter().any(|id| id == "-") {
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
    let message = chain(e);
    match (e.code(), e.status()) {
        (Some(code), Some(status)) => format!("{code} (HTTP {}): {message}", status.as_u16()),
        (None, Some(status)) => format!("HTTP {}: {message}", status.as_u16()),
        _ => message,
    }
}

/// An error's message and its causes', joined by ": ".
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn text_line(o: &BulkOutcome<Source>) -> String {
    let id = &o.id;
    match &o.outcome {
        Outcome::Revoked(_) => format!("revoked {id}"),
        Outcome::AlreadyGone(e) => format!("already-gone {id}: {}", describe(e)),
        Outcome::Refused(e) => format!(
            "refused {id} ({}): refused before sending: {}",
            o.tag,
            chain(e)
        ),
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
        Outcome::AlreadyGone(e) | Outcome::Failed(e) => Some(chain(e)),
        Outcome::Refused(e) => Some(chain(e)),
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

/// The file ids are read from, if any: `--from-file`, or standard input
/// for a lone `-` argument (`-` as a path means standard input too).
fn input_file(args: &Args) -> Result<Option<PathBuf>, String> {
    let dashes = args.ids.iter().filter(|id| *id == "-").count();
    match (dashes, &args.from_file) {
        (0, file) => Ok(file.clone()),
        (1, None) => Ok(Some(PathBuf::from("-"))),
        _ => Err(
            "standard input (`-`) and --from-file name more than one input; give one of them"
                .to_owned(),
        ),
    }
}

/// Argument ids, then the file's (or stdin's) non-empty lines, streamed
/// until their end, a read error or a stop. Lines that are not UTF-8 go to
/// `unreadable` instead; `reading` says how far the input got.
async fn input(
    args: &Args,
    file: Option<PathBuf>,
    stop: &CancellationToken,
    reading: &Arc<Mutex<Reading>>,
    unreadable: tokio::sync::mpsc::UnboundedSender<UnreadableLine>,
) -> Result<BoxStream<'static, (Source, String)>, String> {
    let from_args = stream::iter(
        args.ids
            .clone()
            .into_iter()
            .enumerate()
            .filter(|(_, id)| id != "-")
            .map(|(i, id)| (Source::Arg(i + 1), id)),
    );
    let Some(path) = file else {
        return Ok(from_args.boxed());
    };
    let stdin = path.as_os_str() == "-";
    let reader: Box<dyn AsyncRead + Send + Unpin> = if stdin {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(
            tokio::fs::File::open(&path)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        )
    };
    let name = if stdin {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    let lines = read_lines(reader, name, Arc::clone(reading), unreadable);
    // On a stop, reading ends at once (on a terminal it would otherwise
    // wait for the end of input); the ids already read are reported.
    let lines = lines.take_until(stop.clone().cancelled_owned());
    Ok(from_args.chain(lines).boxed())
}

type LineState = (
    BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    u64,
    String,
    Arc<Mutex<Reading>>,
    tokio::sync::mpsc::UnboundedSender<UnreadableLine>,
);

fn read_lines(
    reader: Box<dyn AsyncRead + Send + Unpin>,
    name: String,
    reading: Arc<Mutex<Reading>>,
    unreadable: tokio::sync::mpsc::UnboundedSender<UnreadableLine>,
) -> impl futures_util::Stream<Item = (Source, String)> + Send {
    let state: LineState = (BufReader::new(reader), 0, name, reading, unreadable);
    stream::unfold(
        state,
        |(mut reader, mut number, name, reading, unreadable)| async move {
            let mut buf = Vec::new();
            loop {
                buf.clear();
                let read = reader.read_until(b'\n', &mut buf).await;
                {
                    let mut progress = reading.lock().unwrap_or_else(PoisonError::into_inner);
                    match read {
                        Ok(0) => {
                            progress.ended = true;
                            return None;
                        }
                        Ok(_) => {
                            number += 1;
                            progress.line = number;
                        }
                        Err(e) => {
                            let error = format!("cannot read line {} of {name}: {e}", number + 1);
                            eprintln!("s2-revoke: {error}");
                            progress.error = Some(error);
                            return None;
                        }
                    }
                }
                match std::str::from_utf8(&buf).map(without_line_ending) {
                    Ok("") => continue,
                    Ok(line) => {
                        let id = (Source::Line(number), line.to_owned());
                        return Some((id, (reader, number, name, reading, unreadable)));
                    }
                    // S2 ids are text: the line is reported, never sent.
                    Err(e) => {
                        let _ = unreadable.send(UnreadableLine {
                            line: number,
                            shown: without_line_ending(&String::from_utf8_lossy(&buf)).to_owned(),
                            reason: not_utf8(&buf, &e),
                        });
                    }
                }
            }
        },
    )
}

/// A line without its ending (`\n` or `\r\n`). The rest is the id as
/// written: S2's ids may start or end with spaces, and trimming them would
/// revoke another token.
fn without_line_ending(line: &str) -> &str {
    match line.strip_suffix('\n') {
        Some(line) => line.strip_suffix('\r').unwrap_or(line),
        // The last line, without an ending: a `\r` there is the id's.
        None => line,
    }
}

/// What is wrong with a line that is not UTF-8.
fn not_utf8(line: &[u8], e: &std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let byte = line.get(at).copied().unwrap_or_default();
    format!(
        "the line is not UTF-8 (byte 0x{byte:02X} at byte {}), and S2 ids are UTF-8 text",
        at + 1
    )
}

/// Builds the client, starting the local server first with `--local`.
async fn connect(args: &Args) -> Result<(Client, Option<LocalServer>), String> {
    let mut builder = ClientBuilder::from_env()
        .http2_prior_knowledge(args.http2)
        .allow_insecure_http(args.allow_insecure_http);
    let mut server = None;
    if args.local {
        let local = LocalServer::builder()
            .issue_all(args.ids.iter().filter(|id| *id != "-").cloned())
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

#[cfg(test)]
mod tests {
    use super::without_line_ending;

    #[test]
    fn a_line_loses_its_ending_and_nothing_else() {
        for (line, id) in [
            ("tok\n", "tok"),
            ("tok\r\n", "tok"),
            (" tok \n", " tok "),
            ("tok\r\r\n", "tok\r"),
            ("\t\n", "\t"),
            // The last line may have no ending: all of it is the id.
            ("tok", "tok"),
            ("tok\r", "tok\r"),
            ("\n", ""),
        ] {
            assert_eq!(without_line_ending(line), id, "{line:?}");
        }
    }
}
