//! A producer: records submitted one at a time, appended in batches by
//! S2's limits, in order, each acknowledged with its sequence number.
//!
//! One task per producer owns the batching. Records wait in the open batch
//! until it is full (S2's [`MAX_BATCH_RECORDS`] and [`MAX_BATCH_BYTES`], or
//! the configured smaller limits), its linger has passed, or a flush asks
//! for it; while batches are in flight the next one fills, so under load
//! batches are full.
//!
//! Every batch goes through the generated `append` and the request layer.
//! Without the stream's position, one batch is in flight at a time: S2
//! appends unary requests in the order they arrive, and two in flight could
//! arrive in either order. With the position, each batch carries the
//! `match_seq_num` it must start at, which keeps order and makes a repeat
//! fail instead of appending twice: several batches may be in flight (one
//! that arrives too early fails its condition at an earlier batch's start,
//! and is sent again), the layer retries attempts that may have acted, and
//! a `412` whose tail is at this batch's end (or a later batch's of its
//! own) after such an attempt, of this send or an earlier one, means the
//! batch was appended. Answers are taken in the order batches were sent
//! ([`FuturesOrdered`]); a batch sent again goes behind those in flight.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::Instant;

use crate::error::Error;
use crate::layer::reporting_client;
use crate::generated::{self, DeclaredError, types};

/// Most records in one append (S2's `RECORD_BATCH_MAX`, crate `s2-common`).
pub const MAX_BATCH_RECORDS: usize = 1000;
/// Most metered bytes in one append, which is also the largest record
/// (S2's `RECORD_BATCH_MAX`, crate `s2-common`).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// How a [`Producer`] batches and what it guarantees; the defaults are S2's
/// SDK's: a 5 ms linger, full batches of S2's limits, 5 MiB unacknowledged.
#[derive(Clone, Debug)]
pub struct ProducerConfig {
    linger: Duration,
    max_batch_records: usize,
    max_batch_bytes: usize,
    max_unacked_bytes: usize,
    max_in_flight: usize,
    position: Position,
    fencing_token: Option<types::FencingToken>,
}

/// Where the producer's first batch must start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    /// Unknown: appends carry no condition.
    Unknown,
    /// The stream's tail when the producer starts.
    Tail,
    /// This sequence number.
    At(u64),
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            linger: Duration::from_millis(5),
            max_batch_records: MAX_BATCH_RECORDS,
            max_batch_bytes: MAX_BATCH_BYTES,
            max_unacked_bytes: 5 * MAX_BATCH_BYTES,
            max_in_flight: 5,
            position: Position::Unknown,
            fencing_token: None,
        }
    }
}

impl ProducerConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a batch waits for more records after its first, unless it
    /// fills first or is flushed.
    pub fn linger(self, linger: Duration) -> Self {
        Self { linger, ..self }
    }

    /// At most this many records per append (1 to [`MAX_BATCH_RECORDS`]).
    pub fn max_batch_records(self, records: usize) -> Self {
        Self {
            max_batch_records: records,
            ..self
        }
    }

    /// At most this many metered bytes per append (up to
    /// [`MAX_BATCH_BYTES`]); a single larger record still goes alone.
    pub fn max_batch_bytes(self, bytes: usize) -> Self {
        Self {
            max_batch_bytes: bytes,
            ..self
        }
    }

    /// At most this many metered bytes submitted and not yet acknowledged;
    /// [`Producer::submit`] waits for room (at least [`MAX_BATCH_BYTES`]).
    pub fn max_unacked_bytes(self, bytes: usize) -> Self {
        Self {
            max_unacked_bytes: bytes,
            ..self
        }
    }

    /// At most this many batches in flight when the producer knows the
    /// stream's position (default 5); without one, batches go one at a time.
    /// Each batch must start where the previous one ends, so one that
    /// arrives before an earlier batch fails its condition and is sent
    /// again: order is kept either way.
    pub fn max_in_flight(self, batches: usize) -> Self {
        Self {
            max_in_flight: batches,
            ..self
        }
    }

    /// Appends exactly once, starting at this sequence number: each batch
    /// must start where the previous one ended (`match_seq_num`), so a batch
    /// sent again after a lost answer cannot be appended twice.
    pub fn match_seq_num(self, seq_num: u64) -> Self {
        Self {
            position: Position::At(seq_num),
            ..self
        }
    }

    /// Appends exactly once, starting at the stream's tail when the
    /// producer starts (read with `check_tail`).
    pub fn match_tail(self) -> Self {
        Self {
            position: Position::Tail,
            ..self
        }
    }

    /// Appends only while the stream's fencing token is `token`: another
    /// writer that fences the stream stops this producer, so it is the
    /// stream's only writer while it runs. Implies [`match_tail`](Self::match_tail)
    /// unless [`match_seq_num`](Self::match_seq_num) is given.
    ///
    /// # Errors
    /// [`InvalidInput::Argument`](crate::InvalidInput::Argument) when the
    /// spec's rule for a fencing token refuses `token`.
    pub fn fencing_token(self, token: impl Into<String>) -> Result<Self, Error> {
        let token = types::FencingToken::try_from(token.into())
            .map_err(|e| Error::argument(format!("fencing token: {e}")))?;
        let position = match self.position {
            Position::Unknown => Position::Tail,
            known => known,
        };
        Ok(Self {
            fencing_token: Some(token),
            position,
            ..self
        })
    }

    fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_BATCH_RECORDS).contains(&self.max_batch_records) {
            return Err(Error::argument(format!(
                "max_batch_records must be 1 to {MAX_BATCH_RECORDS}, not {}",
                self.max_batch_records
            )));
        }
        if !(1..=MAX_BATCH_BYTES).contains(&self.max_batch_bytes) {
            return Err(Error::argument(format!(
                "max_batch_bytes must be 1 to {MAX_BATCH_BYTES}, not {}",
                self.max_batch_bytes
            )));
        }
        if self.max_in_flight == 0 {
            return Err(Error::argument("max_in_flight must be at least 1"));
        }
        if self.max_unacked_bytes > Semaphore::MAX_PERMITS {
            return Err(Error::argument(format!(
                "max_unacked_bytes must be at most {}, not {}",
                Semaphore::MAX_PERMITS,
                self.max_unacked_bytes
            )));
        }
        if self.max_unacked_bytes < MAX_BATCH_BYTES {
            return Err(Error::argument(format!(
                "max_unacked_bytes must be at least {MAX_BATCH_BYTES}, not {}",
                self.max_unacked_bytes
            )));
        }
        Ok(())
    }
}

/// Appends the records submitted to it to one stream, in the order they
/// were submitted, in batches; each [`submit`](Self::submit) gives a
/// [`Ticket`] that resolves to the record's acknowledgement.
///
/// Made by [`Basin::producer`](crate::Basin::producer). A batch that fails
/// ends the producer: its records' tickets get the failure, and every
/// record after it is not sent. Dropping the producer sends nothing more:
/// a batch in flight still gets its answer, and the tickets of records not
/// yet sent fail with [`ProducerError::NotSent`].
///
/// ```no_run
/// # #[cfg(s2_operation = "append")]
/// # async fn f(basin: &s2_openapi::Basin) -> Result<(), Box<dyn std::error::Error>> {
/// use s2_openapi::{ProducerConfig, types};
///
/// let producer = basin.producer("orders", ProducerConfig::new().match_tail()).await?;
/// let ticket = producer.submit(types::AppendRecord::new("first")).await?;
/// producer.submit(types::AppendRecord::new("second")).await?;
/// producer.close().await?;
/// println!("first is {}", ticket.await?.seq_num);
/// # Ok(()) }
/// ```
pub struct Producer {
    commands: mpsc::Sender<Command>,
    unacked: Arc<Semaphore>,
    /// Why the producer stopped, once it has.
    ended: Arc<OnceLock<ProducerError>>,
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("ended", &self.ended.get())
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// Starts a producer for `stream` on `basin`'s client, reading the
    /// stream's tail first when the configuration asks for it.
    pub(crate) async fn start(
        basin: &generated::Client,
        stream: &str,
        config: ProducerConfig,
    ) -> Result<Self, Error> {
        config.check()?;
        let stream = types::StreamNameStr::try_from(stream.to_owned())
            .map_err(|e| Error::argument(format!("stream name {stream:?}: {e}")))?;
        let position = match config.position {
            Position::Unknown => None,
            Position::At(seq_num) => Some(seq_num),
            Position::Tail => Some(tail(basin, &stream).await?),
        };
        // With a position every append is conditional, so the layer may
        // retry one whose attempt may have acted.
        let layer = match position {
            Some(_) => basin.inner.for_conditional_requests(),
            None => basin.inner.clone(),
        };
        let appender = Appender {
            client: generated::Client::new_with_client(&basin.baseurl, basin.client.clone(), layer),
            stream,
            fencing_token: config.fencing_token.clone(),
        };
        let (commands, inbox) = mpsc::channel(MAX_BATCH_RECORDS);
        let ended = Arc::new(OnceLock::new());
        let batcher = Batcher::new(&config, position);
        tokio::spawn(batcher.run(appender, inbox, Arc::clone(&ended)));
        Ok(Self {
            commands,
            unacked: Arc::new(Semaphore::new(config.max_unacked_bytes)),
            ended,
        })
    }

    /// Submits `record`, waiting while the unacknowledged bytes would pass
    /// the configured bound; the [`Ticket`] resolves once the record's
    /// batch is acknowledged. Records are appended in the order their
    /// `submit` calls complete.
    ///
    /// # Errors
    /// [`ProducerError::Invalid`] for a record larger than S2 takes (its
    /// [`metered_size`](types::AppendRecord::metered_size) over [`MAX_BATCH_BYTES`]), and
    /// [`ProducerError::NotSent`] once the producer has stopped.
    pub async fn submit(&self, record: types::AppendRecord) -> Result<Ticket, ProducerError> {
        let size = record.metered_size();
        // Larger than a batch, it could never be sent (nor fit the bound on
        // unacknowledged bytes, which is at least a batch).
        if size > MAX_BATCH_BYTES {
            return Err(ProducerError::Invalid(format!(
                "a record of {size} metered bytes is larger than S2 appends ({MAX_BATCH_BYTES})"
            )));
        }
        let ended = || ProducerError::NotSent(self.not_sent());
        if self.ended.get().is_some() {
            return Err(ended());
        }
        // Sizes fit in u32: they are at most MAX_BATCH_BYTES.
        let permits = u32::try_from(size).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.unacked)
            .acquire_many_owned(permits)
            .await
            .map_err(|_| ended())?;
        let (ack, ticket) = oneshot::channel();
        let pending = Pending {
            record,
            size,
            waiting: Waiting {
                ack,
                _permit: permit,
            },
        };
        self.commands
            .send(Command::Submit(pending))
            .await
            .map_err(|_| ended())?;
        Ok(Ticket(ticket))
    }

    /// Sends the open batch at once and waits until every record submitted
    /// before this call is acknowledged. The producer stays open.
    ///
    /// # Errors
    /// The failure of a batch it waited for, or [`ProducerError::NotSent`]
    /// when the producer had stopped.
    pub async fn flush(&self) -> Result<(), ProducerError> {
        let (done, flushed) = oneshot::channel();
        self.commands
            .send(Command::Flush(done))
            .await
            .map_err(|_| self.stopped())?;
        flushed.await.map_err(|_| self.stopped())?
    }

    /// Flushes, then stops the producer: every ticket has its outcome when
    /// this returns.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub async fn close(self) -> Result<(), ProducerError> {
        self.flush().await
    }

    /// Why the producer stopped, for a flush: the failure that stopped it.
    fn stopped(&self) -> ProducerError {
        (self.ended.get().cloned()).unwrap_or(ProducerError::NotSent(NotSent::Stopped))
    }

    /// Why a record submitted after the producer stopped is not sent.
    fn not_sent(&self) -> NotSent {
        match self.ended.get() {
            Some(_) => NotSent::EarlierBatchFailed,
            None => NotSent::Stopped,
        }
    }
}

/// The stream's tail: where the next record will go.
async fn tail(basin: &generated::Client, stream: &types::StreamNameStr) -> Result<u64, Error> {
    let answer = basin.check_tail().stream(stream.clone()).await?;
    Ok(answer.tail.seq_num)
}

/// A record's acknowledgement, which its [`Ticket`] resolves to.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecordAck {
    /// The record's sequence number.
    pub seq_num: u64,
    /// The acknowledgement of the batch the record was appended in.
    pub batch: Arc<BatchAck>,
}

/// How a batch was acknowledged.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum BatchAck {
    /// S2's answer to the append.
    Appended(types::AppendAck),
    /// The answer was lost, and the append sent again failed its condition
    /// with the stream's tail at this batch's end: the lost attempt
    /// appended it, at `start..end`.
    FoundAppended {
        /// The first record's sequence number.
        start: u64,
        /// The sequence number after the last record's.
        end: u64,
    },
}

impl BatchAck {
    /// The first record's sequence number.
    pub fn start(&self) -> u64 {
        match self {
            Self::Appended(ack) => ack.start.seq_num,
            Self::FoundAppended { start, .. } => *start,
        }
    }

    /// The sequence number after the last record's.
    pub fn end(&self) -> u64 {
        match self {
            Self::Appended(ack) => ack.end.seq_num,
            Self::FoundAppended { end, .. } => *end,
        }
    }
}

/// A submitted record's outcome: awaited, its [`RecordAck`] or why it was
/// not acknowledged.
#[derive(Debug)]
#[must_use = "a ticket does nothing unless awaited; dropping it does not withdraw the record"]
pub struct Ticket(oneshot::Receiver<Result<RecordAck, ProducerError>>);

impl std::future::Future for Ticket {
    type Output = Result<RecordAck, ProducerError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|outcome| outcome.unwrap_or(Err(ProducerError::Abandoned)))
    }
}

/// Why a record was not acknowledged.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProducerError {
    /// Its batch's append failed. `indefinite` is true when an attempt
    /// before the last may have appended it all the same (as with the
    /// crate's [`Error::may_have_taken_effect`] for the last one).
    #[error("{}", if *.indefinite {
        "appending the record's batch failed after an attempt that may have appended it"
    } else {
        "appending the record's batch failed"
    })]
    Append {
        /// The last attempt's error.
        #[source]
        error: Arc<Error>,
        /// Whether an earlier attempt may have appended the batch.
        indefinite: bool,
    },
    /// The record was refused before it was sent.
    #[error("record refused: {0}")]
    Invalid(String),
    /// The record was never sent.
    #[error("record not sent: {0}")]
    NotSent(NotSent),
    /// The producer's task ended (its runtime shut down) before the
    /// record's outcome was known: it may have been appended.
    #[error("the producer stopped before the record's outcome was known")]
    Abandoned,
}

impl ProducerError {
    /// Whether the record may have been appended although the ticket
    /// failed: its batch's last attempt may have acted, or an earlier one.
    pub fn may_have_been_appended(&self) -> bool {
        match self {
            Self::Append { error, indefinite } => *indefinite || error.may_have_taken_effect(),
            Self::Abandoned => true,
            Self::Invalid(_) | Self::NotSent(_) => false,
        }
    }

    /// The append's error, when the batch was sent and failed.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Self::Append { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The failed condition, when S2 refused the batch for one (`412`):
    /// another writer appended first, or fenced the stream.
    pub fn condition(&self) -> Option<types::AppendConditionFailed> {
        condition(self.error()?)
    }
}

/// Why a record was never sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotSent {
    /// An earlier batch failed, which stopped the producer.
    #[error("an earlier batch failed, which stopped the producer")]
    EarlierBatchFailed,
    /// The producer was dropped first.
    #[error("the producer was dropped before the record was sent")]
    Dropped,
    /// The producer had stopped.
    #[error("the producer has stopped")]
    Stopped,
}

/// The failed condition of an append refused with `412`.
fn condition(error: &Error) -> Option<types::AppendConditionFailed> {
    match error {
        Error::Api(answer) => match answer.declared()? {
            DeclaredError::AppendConditionFailed(condition) => Some(condition),
            _ => None,
        },
        _ => None,
    }
}

/// The tail a `412` reports, when the sequence number was the condition
/// that failed.
fn reported_tail(error: &Error) -> Option<u64> {
    match condition(error)? {
        types::AppendConditionFailed::SeqNumMismatch(tail) => Some(tail),
        _ => None,
    }
}

/// Commands taken from the channel at most per wake-up of the task.
const COMMANDS_PER_WAKE: usize = 256;

/// How many times a batch is sent again after arriving before an earlier
/// one it was sent behind (a `412` at the earlier one's start).
const MAX_REORDERED_RESENDS: u32 = 16;

enum Command {
    Submit(Pending),
    Flush(oneshot::Sender<Result<(), ProducerError>>),
}

/// A submitted record until it is sent.
struct Pending {
    record: types::AppendRecord,
    size: usize,
    waiting: Waiting,
}

/// A record's ticket until its batch is answered; the permit holds the
/// record's bytes against the producer's bound until then.
struct Waiting {
    ack: oneshot::Sender<Result<RecordAck, ProducerError>>,
    _permit: OwnedSemaphorePermit,
}

/// Records that go in one append.
#[derive(Default)]
struct Batch {
    /// Its place among the batches sealed, from 0.
    id: u64,
    records: Vec<Pending>,
    bytes: usize,
    /// When its first record arrived.
    opened: Option<Instant>,
}

/// A batch sent, until it is settled.
struct Sent {
    id: u64,
    /// The `match_seq_num` it carries, when the position is known.
    start: Option<u64>,
    /// Its records, kept while it may be sent again (with a position).
    records: Vec<types::AppendRecord>,
    waiting: Vec<Waiting>,
    /// Whether an earlier batch was unsettled when it was sent, so it may
    /// have arrived first.
    behind: bool,
    resends: u32,
    /// Whether an attempt of any send so far may have appended it.
    uncertain: bool,
}

/// An append's failure: the last attempt's error, and whether an earlier
/// attempt may have acted.
struct Rejection {
    error: Error,
    uncertain: bool,
}

/// Sends batches.
struct Appender {
    client: generated::Client,
    stream: types::StreamNameStr,
    fencing_token: Option<types::FencingToken>,
}

impl Appender {
    /// Appends `records`, conditional on the stream's tail being
    /// `match_seq_num` when it is known.
    async fn append(
        &self,
        records: Vec<types::AppendRecord>,
        match_seq_num: Option<u64>,
    ) -> Result<types::AppendAck, Rejection> {
        let count = records.len() as u64;
        let (client, report) = reporting_client(&self.client);
        let input = types::AppendInput {
            fencing_token: self.fencing_token.clone(),
            match_seq_num,
            records,
        };
        let result = (client.append().stream(self.stream.clone()).body(input))
            .send()
            .await;
        let uncertain = report.get().uncertain;
        let error = match result {
            Ok(answer) => {
                let ack = answer.into_inner();
                // Acknowledgements are counted out per record: an answer
                // that does not cover the batch exactly would give wrong
                // sequence numbers.
                if ack.end.seq_num.checked_sub(ack.start.seq_num) == Some(count)
                    && match_seq_num.is_none_or(|at| at == ack.start.seq_num)
                {
                    return Ok(ack);
                }
                Error::contradiction("the append's acknowledgement does not cover the batch sent")
            }
            Err(e) => Error::from(e),
        };
        Err(Rejection { error, uncertain })
    }
}

/// The producer's task: what is waiting, what is in flight, who waits for
/// a flush.
struct Batcher {
    linger: Duration,
    max_records: usize,
    max_bytes: usize,
    /// Batches in flight at most: one without a position (S2 appends in
    /// the order requests arrive), more with one (a batch that arrives too
    /// early fails its condition and is sent again).
    window: usize,
    /// Where the next batch sent must start, when known.
    position: Option<u64>,
    open: Batch,
    /// Full batches, oldest first.
    full: VecDeque<Batch>,
    /// Batches sealed so far: the next batch's id.
    sealed: u64,
    /// The ids of the batches in flight.
    in_flight: BTreeSet<u64>,
    /// Flushes, each waiting for the batches below an id.
    flushes: Vec<(u64, oneshot::Sender<Result<(), ProducerError>>)>,
    /// Why the producer stopped sending: a batch failed.
    stopped: Option<ProducerError>,
}

type InFlight<'a> = BoxFuture<'a, (Sent, Result<types::AppendAck, Rejection>)>;

impl Batcher {
    fn new(config: &ProducerConfig, position: Option<u64>) -> Self {
        Self {
            linger: config.linger,
            max_records: config.max_batch_records,
            max_bytes: config.max_batch_bytes,
            window: if position.is_some() {
                config.max_in_flight
            } else {
                1
            },
            position,
            open: Batch::default(),
            full: VecDeque::new(),
            sealed: 0,
            in_flight: BTreeSet::new(),
            flushes: Vec::new(),
            stopped: None,
        }
    }

    async fn run(
        mut self,
        appender: Appender,
        mut inbox: mpsc::Receiver<Command>,
        ended: Arc<OnceLock<ProducerError>>,
    ) {
        let mut in_flight: FuturesOrdered<InFlight<'_>> = FuturesOrdered::new();
        let mut dropped = false;
        // Commands are taken in runs: one wake-up for many records.
        let mut commands = Vec::with_capacity(COMMANDS_PER_WAKE);
        // One timer for the open batch's linger, reset when its deadline
        // changes rather than made anew for every record.
        let mut linger = std::pin::pin!(tokio::time::sleep_until(Instant::now()));
        let mut linger_at = None;
        loop {
            if !dropped && inbox.is_closed() {
                // Dropped while the task was busy: nothing more is sent.
                dropped = true;
                self.drain(&mut inbox);
                self.fail_unsent(&NotSent::Dropped);
            }
            while !dropped && in_flight.len() < self.window && self.stopped.is_none() {
                let Some(batch) = self.next_batch(Instant::now()) else {
                    break;
                };
                let sent = self.sent(batch);
                in_flight.push_back(self.send(&appender, sent));
            }
            if (dropped || self.stopped.is_some()) && in_flight.is_empty() {
                // What a racing `submit` put in the channel is not sent.
                inbox.close();
                self.drain(&mut inbox);
                let why = match self.stopped {
                    Some(_) => NotSent::EarlierBatchFailed,
                    None => NotSent::Dropped,
                };
                self.fail_unsent(&why);
                self.answer_flushes();
                return;
            }
            // The open batch's linger matters only when it could be sent:
            // an answer is the next moment to send otherwise.
            let deadline = (self.open.opened)
                .filter(|_| in_flight.len() < self.window && self.stopped.is_none())
                .and_then(|opened| opened.checked_add(self.linger));
            if let Some(at) = deadline.filter(|at| linger_at != Some(*at)) {
                linger.as_mut().reset(at);
            }
            linger_at = deadline;
            tokio::select! {
                taken = inbox.recv_many(&mut commands, COMMANDS_PER_WAKE), if !dropped => {
                    for command in commands.drain(..) {
                        self.take(command);
                    }
                    // None taken: every sender is gone.
                    if taken == 0 {
                        dropped = true;
                        self.fail_unsent(&NotSent::Dropped);
                    }
                },
                () = &mut linger, if linger_at.is_some() => linger_at = None,
                Some((sent, outcome)) = in_flight.next() => {
                    if let Some(again) = self.settle(sent, outcome) {
                        in_flight.push_back(self.send(&appender, again));
                    }
                    if let Some(why) = &self.stopped {
                        let _ = ended.set(why.clone());
                    }
                    self.answer_flushes();
                }
            }
        }
    }

    /// Takes every command left in the channel.
    fn drain(&mut self, inbox: &mut mpsc::Receiver<Command>) {
        while let Ok(command) = inbox.try_recv() {
            self.take(command);
        }
    }

    fn take(&mut self, command: Command) {
        match command {
            Command::Submit(pending) => self.push(pending),
            Command::Flush(done) => self.flush(done),
        }
    }

    /// Adds a record to the open batch, sealing that batch first when the
    /// record would not fit; a record after the producer stopped is not
    /// sent.
    fn push(&mut self, pending: Pending) {
        if self.stopped.is_some() {
            let not_sent = ProducerError::NotSent(NotSent::EarlierBatchFailed);
            let _ = pending.waiting.ack.send(Err(not_sent));
            return;
        }
        let open = &self.open;
        if !open.records.is_empty()
            && (open.records.len() >= self.max_records
                || open.bytes + pending.size > self.max_bytes)
        {
            self.seal();
        }
        let open = &mut self.open;
        open.opened.get_or_insert_with(Instant::now);
        open.bytes += pending.size;
        open.records.push(pending);
        if open.records.len() >= self.max_records || open.bytes >= self.max_bytes {
            self.seal();
        }
    }

    /// Closes the open batch, which is sent after the full ones before it.
    fn seal(&mut self) {
        if !self.open.records.is_empty() {
            let mut batch = std::mem::take(&mut self.open);
            batch.id = self.sealed;
            self.full.push_back(batch);
            self.sealed += 1;
        }
    }

    /// Answers `done` once every batch holding a record submitted so far is
    /// settled.
    fn flush(&mut self, done: oneshot::Sender<Result<(), ProducerError>>) {
        self.seal();
        self.flushes.push((self.sealed, done));
        self.answer_flushes();
    }

    /// Answers the flushes whose batches are all settled: with the failure
    /// that stopped the producer, once one has.
    fn answer_flushes(&mut self) {
        let unsettled = (self.in_flight.first().copied())
            .or_else(|| self.full.front().map(|batch| batch.id))
            .unwrap_or(self.sealed);
        let stopped = self.stopped.clone();
        let (done, waiting) = std::mem::take(&mut self.flushes)
            .into_iter()
            .partition(|(through, _)| *through <= unsettled);
        self.flushes = waiting;
        for (_, flushed) in done {
            let _ = flushed.send(stopped.clone().map_or(Ok(()), Err));
        }
    }

    /// The batch to send now, if any: a full one, else the open one once
    /// its linger has passed or a flush waits for it (flushes seal it).
    fn next_batch(&mut self, now: Instant) -> Option<Batch> {
        let lingered = (self.open.opened)
            .and_then(|opened| opened.checked_add(self.linger))
            .is_some_and(|at| at <= now);
        if self.full.is_empty() && lingered {
            self.seal();
        }
        self.full.pop_front()
    }

    /// A batch as it is sent: its start, when the position is known, is
    /// where the previous one sent ends.
    fn sent(&mut self, batch: Batch) -> Sent {
        let (records, waiting): (Vec<_>, Vec<_>) = (batch.records.into_iter())
            .map(|pending| (pending.record, pending.waiting))
            .unzip();
        let start = self.position;
        if let Some(position) = &mut self.position {
            // S2's sequence numbers end long before u64's: a position
            // past them would only fail its condition.
            *position = position.saturating_add(records.len() as u64);
        }
        Sent {
            id: batch.id,
            start,
            records,
            waiting,
            behind: false,
            resends: 0,
            uncertain: false,
        }
    }

    fn send<'a>(&mut self, appender: &'a Appender, mut sent: Sent) -> InFlight<'a> {
        sent.behind = self.in_flight.first().is_some_and(|&first| first < sent.id);
        self.in_flight.insert(sent.id);
        // With a position the batch may be sent again: a copy (record data
        // are `Bytes`, so no payload is copied). Without, it goes once.
        let records = match sent.start {
            Some(_) => sent.records.clone(),
            None => std::mem::take(&mut sent.records),
        };
        Box::pin(async move {
            let outcome = appender.append(records, sent.start).await;
            (sent, outcome)
        })
    }

    /// Settles a batch's tickets from its answer; the batch to send again
    /// when it arrived before an earlier one. A failure stops the producer.
    fn settle(&mut self, mut sent: Sent, outcome: Result<types::AppendAck, Rejection>) -> Option<Sent> {
        self.in_flight.remove(&sent.id);
        let rejection = match outcome {
            Ok(ack) => {
                self.acknowledge(sent.waiting, BatchAck::Appended(ack));
                return None;
            }
            Err(rejection) => rejection,
        };
        // An earlier send's attempt may have acted as well as this one's.
        sent.uncertain |= rejection.uncertain;
        if let (Some(start), Some(tail)) = (sent.start, reported_tail(&rejection.error)) {
            let end = start.saturating_add(sent.waiting.len() as u64);
            // The tail at this batch's end, or past it at a later batch
            // sent after it (which could only follow this one), after an
            // attempt that may have appended it: that attempt did.
            let furthest = self.position.unwrap_or(end);
            if sent.uncertain && (end..=furthest).contains(&tail) {
                tracing::debug!(start, end, "batch found appended by an earlier attempt");
                self.acknowledge(sent.waiting, BatchAck::FoundAppended { start, end });
                return None;
            }
            // Arrived before an earlier batch it was sent behind.
            if tail < start
                && sent.behind
                && sent.resends < MAX_REORDERED_RESENDS
                && self.stopped.is_none()
            {
                tracing::debug!(start, tail, "batch arrived before an earlier one: sending it again");
                sent.resends += 1;
                return Some(sent);
            }
        }
        let why = ProducerError::Append {
            error: Arc::new(rejection.error),
            indefinite: sent.uncertain,
        };
        for waiting in sent.waiting {
            let _ = waiting.ack.send(Err(why.clone()));
        }
        if self.stopped.is_none() {
            self.stopped = Some(why);
            self.fail_unsent(&NotSent::EarlierBatchFailed);
        }
        None
    }

    /// Settles the tickets of a batch appended.
    fn acknowledge(&mut self, waiting: Vec<Waiting>, ack: BatchAck) {
        let ack = Arc::new(ack);
        for (waiting, seq_num) in waiting.into_iter().zip(ack.start()..) {
            let batch = Arc::clone(&ack);
            let _ = waiting.ack.send(Ok(RecordAck { seq_num, batch }));
        }
    }

    /// Fails every record not yet sent.
    fn fail_unsent(&mut self, why: &NotSent) {
        self.seal();
        for batch in self.full.drain(..) {
            for pending in batch.records {
                let not_sent = ProducerError::NotSent(why.clone());
                let _ = pending.waiting.ack.send(Err(not_sent));
            }
        }
    }
}
