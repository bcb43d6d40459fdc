//! Revoking many tokens at once: bounded concurrency, one outcome per input
//! id as results arrive, bounded memory, duplicates revoked once.
//!
//! The caller's stream (a [`BulkRun`]) reads the input, settles what needs
//! no request (refused ids, duplicates, ids after a stop) and hands the rest
//! to lanes: tasks of their own, each with a connection pool of its own,
//! that send the requests. Lanes let the client's work use every core of a
//! multi-thread runtime and, over HTTP/2, spread streams over several
//! connections.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_util::stream::{self, Stream, StreamExt};
use futures_util::task::AtomicWaker;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::client::{Client, Revoked};
use crate::error::{Error, ErrorCode};
use crate::id::{AccessTokenId, InvalidId};

/// Default number of revocations in flight.
pub const DEFAULT_BULK_CONCURRENCY: usize = 16;

/// At most this many lanes: each is a task and a connection pool.
pub const MAX_BULK_LANES: usize = 64;

/// Ids handed to the lanes, per request the concurrency allows in flight:
/// each lane has its next ids at hand (they are checked against the stop
/// when they start).
const QUEUED_PER_REQUEST: usize = 2;

/// How a bulk revocation runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkOptions {
    /// Revocations in flight at most (at least 1), over all lanes.
    pub concurrency: usize,
    /// Once cancelled, no new request starts; ids not yet started come out
    /// as [`Outcome::NotAttempted`] and requests in flight finish.
    pub stop: CancellationToken,
    /// How many lanes send the requests: tasks of their own, each with a
    /// connection pool of its own (over HTTP/2, a connection of its own),
    /// sharing [`concurrency`](Self::concurrency); at least 1, at most
    /// `concurrency` and [`MAX_BULK_LANES`]. Default 1: with the server on
    /// the same two cores, more lanes measured no faster (README,
    /// Benchmarks); more may pay where the client has cores to spare or one
    /// HTTP/2 connection is the limit.
    pub lanes: usize,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_BULK_CONCURRENCY,
            stop: CancellationToken::new(),
            lanes: 1,
        }
    }
}

impl BulkOptions {
    /// Sets the concurrency (at least 1).
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Uses `stop` to end the run early.
    #[must_use]
    pub fn with_stop(mut self, stop: CancellationToken) -> Self {
        self.stop = stop;
        self
    }

    /// Sets the number of lanes (at least 1, at most the concurrency and
    /// [`MAX_BULK_LANES`]).
    #[must_use]
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.clamp(1, MAX_BULK_LANES);
        self
    }
}

/// What happened to one input id.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Revoked by this run (see [`Revoked::confirmation`]).
    Revoked(Revoked),
    /// S2 had no such token (`access_token_not_found`, with no earlier
    /// attempt of the call that may have revoked it): it cannot be used,
    /// but this run did not revoke it.
    AlreadyGone(Error),
    /// Refused before sending; nothing went out.
    Refused(InvalidId),
    /// The revocation failed.
    Failed(Error),
    /// The same id appeared earlier in the input; it is handled once, under
    /// its first occurrence, whose outcome is the one that counts.
    Duplicate,
    /// Not sent: the run was stopped first, or the task that was to send it
    /// ended first (its runtime shut down).
    NotAttempted,
}

impl Outcome {
    /// A short, stable name: `revoked`, `already_gone`, `refused`,
    /// `failed`, `duplicate`, `not_attempted`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Revoked(_) => "revoked",
            Self::AlreadyGone(_) => "already_gone",
            Self::Refused(_) => "refused",
            Self::Failed(_) => "failed",
            Self::Duplicate => "duplicate",
            Self::NotAttempted => "not_attempted",
        }
    }

    /// Whether this input item calls for nothing more: revoked, already
    /// gone, or a duplicate (its first occurrence carries the outcome).
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            Self::Revoked(_) | Self::AlreadyGone(_) | Self::Duplicate
        )
    }
}

/// One input id and its outcome.
#[derive(Debug)]
#[non_exhaustive]
pub struct BulkOutcome<T> {
    /// The tag given with the id (a line number, a record key...).
    pub tag: T,
    /// The id as given.
    pub id: String,
    /// What happened.
    pub outcome: Outcome,
}

impl Client {
    /// Revokes every id of `ids` (each with a tag of the caller's, returned
    /// with its outcome), at most `options.concurrency` at a time, yielding
    /// one [`BulkOutcome`] per input item as results arrive (not in input
    /// order).
    ///
    /// Requests are sent by [`lanes`](BulkOptions::lanes), tasks spawned on
    /// the tokio runtime whose context the stream is first polled in (it
    /// must be running), which go on while the caller handles an outcome.
    /// Polled outside any tokio runtime, the ids that need a request fail
    /// with [`Error::InvalidConfig`] and nothing is sent. Input is pulled
    /// only as fast as outcomes are taken: at most twice the concurrency of
    /// ids are handed to the lanes ahead of the caller, so memory stays
    /// bounded whatever the input size, apart from 20 to 40 bytes per distinct id to recognise
    /// duplicates (a 128-bit fingerprint in a hash table: about 35 MiB for
    /// a million ids). Dropping the stream cancels the requests in flight
    /// and starts no new ones.
    ///
    /// ```no_run
    /// # async fn f(client: s2_openapi::Client) {
    /// use futures_util::StreamExt;
    /// use s2_openapi::BulkOptions;
    ///
    /// let ids = futures_util::stream::iter(["a", "b", "a"].into_iter().enumerate()
    ///     .map(|(i, id)| (i, id.to_owned())));
    /// let mut outcomes = std::pin::pin!(client.revoke_many(ids, BulkOptions::default()));
    /// while let Some(o) = outcomes.next().await {
    ///     println!("#{} {}: {}", o.tag, o.id, o.outcome.kind());
    /// }
    /// # }
    /// ```
    pub fn revoke_many<T, S>(
        &self,
        ids: S,
        options: BulkOptions,
    ) -> impl Stream<Item = BulkOutcome<T>> + use<T, S>
    where
        S: Stream<Item = (T, String)>,
    {
        BulkRun::new(self.clone(), Box::pin(ids), options)
    }

    /// [`revoke_many`](Self::revoke_many) over plain ids, tagged with their
    /// position (0-based).
    pub fn revoke_all<I>(
        &self,
        ids: I,
        options: BulkOptions,
    ) -> impl Stream<Item = BulkOutcome<usize>> + use<I>
    where
        I: IntoIterator<Item = String>,
    {
        self.revoke_many(stream::iter(ids.into_iter().enumerate()), options)
    }
}

/// An id handed to a lane: its slot in the run, and the id.
type Job = (usize, AccessTokenId);

/// What a lane reports.
enum Report {
    /// The request for the id in this slot is over.
    Done(usize, Outcome),
    /// The lane has ended: normally once the run has no more input, or
    /// because its task was torn down (a runtime shutting down).
    LaneEnded(usize),
}

/// Where lanes leave their reports for the run, and how they wake it.
///
/// Waking the run's task costs a thread wake-up (a system call when it
/// sleeps on another thread, as under `block_on`), so lanes wake it for
/// every report only while it waits for something other than room to
/// hand out more ids (`eager`); otherwise once per `batch` reports, when the
/// lane runs out of work, and when it ends. The ids handed out ahead keep
/// the lanes busy meanwhile.
struct Mailbox {
    reports: Mutex<Vec<Report>>,
    waker: AtomicWaker,
    eager: AtomicBool,
}

impl Mailbox {
    fn new() -> Self {
        Self {
            reports: Mutex::new(Vec::new()),
            waker: AtomicWaker::new(),
            eager: AtomicBool::new(true),
        }
    }

    fn reports(&self) -> std::sync::MutexGuard<'_, Vec<Report>> {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leaves `report`; wakes the run if `urgent` or it is eager. Whether
    /// it woke it.
    fn post(&self, report: Report, urgent: bool) -> bool {
        self.reports().push(report);
        // After the push, so a run that has just found the box empty has
        // already said it is eager (see `BulkRun::poll_next`).
        let wake = urgent || self.eager.load(Ordering::SeqCst);
        if wake {
            self.waker.wake();
        }
        wake
    }
}

/// Sends the requests of the jobs in its queue, at most `limit` at a time,
/// and reports each outcome. The run hands out more jobs than that, so a
/// lane starts its next request as soon as one ends, without waiting for
/// the run's task to be scheduled.
///
/// `end` is made by the run and moved in, so that it reports even if the
/// lane's task is dropped before it first runs.
async fn lane(limit: usize, client: Client, mut end: LaneEnd, stop: CancellationToken) {
    let mailbox = Arc::clone(&end.mailbox);
    let taken = AtomicUsize::new(0);
    let (mut finished, mut since_wake) = (0, 0);
    let batch = (limit / 2).max(1);
    stream::poll_fn(|cx| end.jobs.poll_recv(cx))
        .map(|(slot, id)| {
            taken.fetch_add(1, Ordering::Relaxed);
            let (client, stop) = (&client, &stop);
            // A job is polled as soon as it is taken, so the stop is checked
            // when the request would start.
            async move {
                if stop.is_cancelled() {
                    return (slot, Outcome::NotAttempted);
                }
                // Boxed: the call's future is large (about 2.3 KB), and unboxed
                // it would be copied at each layer up to the lane's task.
                let outcome = match Box::pin(client.revoke_id(&id)).await {
                    Ok(revoked) => Outcome::Revoked(revoked),
                    Err(e) if e.code() == Some(&ErrorCode::AccessTokenNotFound) => {
                        Outcome::AlreadyGone(e)
                    }
                    Err(e) => Outcome::Failed(e),
                };
                (slot, outcome)
            }
        })
        .buffer_unordered(limit)
        .for_each(|(slot, outcome)| {
            finished += 1;
            since_wake += 1;
            let idle = finished == taken.load(Ordering::Relaxed);
            if mailbox.post(Report::Done(slot, outcome), idle || since_wake >= batch) {
                since_wake = 0;
            }
            std::future::ready(())
        })
        .await;
}

/// A lane's end of the run: its queue of ids not yet started, and where it
/// reports. However the lane ends (its input over, its task torn down
/// before or while running, unwinding), this is dropped and settles what
/// the lane still holds, so the run never waits for an outcome nobody will
/// send: ids still queued never went out and are reported not attempted;
/// then the lane's end, on which the run fails the ones it had started.
struct LaneEnd {
    lane: usize,
    jobs: mpsc::UnboundedReceiver<Job>,
    mailbox: Arc<Mailbox>,
}

impl Drop for LaneEnd {
    fn drop(&mut self) {
        self.jobs.close();
        while let Ok((slot, _)) = self.jobs.try_recv() {
            self.mailbox
                .post(Report::Done(slot, Outcome::NotAttempted), false);
        }
        self.mailbox.post(Report::LaneEnded(self.lane), true);
    }
}

/// An input id being revoked: its tag, the id as given, and its lane.
struct Pending<T> {
    tag: T,
    id: String,
    lane: usize,
}

/// The stream [`Client::revoke_many`] returns.
struct BulkRun<T, S> {
    /// Taken by the first poll, which starts the lanes.
    client: Option<Client>,
    lanes_asked: usize,
    /// `None` once the input has ended.
    input: Option<Pin<Box<S>>>,
    concurrency: usize,
    stop: CancellationToken,
    seen: SeenIds,
    /// One per lane while input may come; dropped when it ends, so the
    /// lanes end once their requests are over.
    senders: Vec<mpsc::UnboundedSender<Job>>,
    /// Ids handed to each lane and not yet settled.
    loads: Vec<usize>,
    /// Requests each lane may have in flight.
    limits: Vec<usize>,
    mailbox: Arc<Mailbox>,
    /// Reports taken from the mailbox, to handle in order.
    inbox: VecDeque<Report>,
    /// The lanes' tasks, aborted when the run is dropped: their requests in
    /// flight are cancelled with them.
    spawned: Vec<AbortOnDropHandle<()>>,
    /// Ids handed to lanes and not yet settled, by slot; `free` lists the
    /// empty slots.
    pending: Vec<Option<Pending<T>>>,
    free: Vec<usize>,
    /// Outcomes settled without a request, or for a lane that was torn
    /// down, waiting to be yielded.
    ready: VecDeque<BulkOutcome<T>>,
}

// Every field is `Unpin` (the input is boxed).
impl<T, S> Unpin for BulkRun<T, S> {}

impl<T, S> BulkRun<T, S>
where
    S: Stream<Item = (T, String)>,
{
    fn new(client: Client, input: Pin<Box<S>>, options: BulkOptions) -> Self {
        Self {
            client: Some(client),
            lanes_asked: options.lanes,
            input: Some(input),
            concurrency: options.concurrency.max(1),
            stop: options.stop,
            seen: SeenIds::new(),
            senders: Vec::new(),
            loads: Vec::new(),
            limits: Vec::new(),
            mailbox: Arc::new(Mailbox::new()),
            inbox: VecDeque::new(),
            spawned: Vec::new(),
            pending: Vec::new(),
            free: Vec::new(),
            ready: VecDeque::new(),
        }
    }

    /// Starts the lanes on the tokio runtime whose context this is; none
    /// outside a runtime (ids that need a request then fail, in `admit`).
    fn start(&mut self, client: Client) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let lanes = self
            .lanes_asked
            .clamp(1, self.concurrency.min(MAX_BULK_LANES));
        for (lane, client) in client.pools(lanes).into_iter().enumerate() {
            // The concurrency, shared out: at least 1 each.
            let limit = self.concurrency / lanes + usize::from(lane < self.concurrency % lanes);
            let (sender, jobs) = mpsc::unbounded_channel();
            let end = LaneEnd {
                lane,
                jobs,
                mailbox: Arc::clone(&self.mailbox),
            };
            let task = runtime.spawn(self::lane(limit, client, end, self.stop.clone()));
            self.spawned.push(AbortOnDropHandle::new(task));
            self.senders.push(sender);
            self.loads.push(0);
            self.limits.push(limit);
        }
    }

    /// Ids handed to lanes and not yet settled: the slots in use.
    fn handed_out(&self) -> usize {
        self.pending.len() - self.free.len()
    }

    /// Settles what needs no request, or hands the id to the least busy
    /// lane. `None` when it went to a lane.
    fn admit(&mut self, tag: T, id: String) -> Option<BulkOutcome<T>> {
        let outcome = if self.stop.is_cancelled() {
            Outcome::NotAttempted
        } else {
            match AccessTokenId::new(id.as_str()) {
                Err(invalid) => Outcome::Refused(invalid),
                Ok(_) if !self.seen.insert(&id) => Outcome::Duplicate,
                Ok(_) if self.senders.is_empty() => Outcome::Failed(Error::InvalidConfig(
                    "bulk revocation sends from tasks on a tokio runtime: poll the stream \
                     inside one"
                        .to_owned(),
                )),
                Ok(valid) => {
                    // Of the lanes still running, the one with the fewest ids
                    // per request it may run.
                    let lane = (0..self.senders.len())
                        .filter(|&l| !self.senders[l].is_closed())
                        .min_by_key(|&l| self.loads[l] * 1024 / self.limits[l]);
                    let Some(lane) = lane else {
                        // Every lane's task has ended (its runtime shut
                        // down): nothing can be sent.
                        return Some(BulkOutcome {
                            tag,
                            id,
                            outcome: Outcome::NotAttempted,
                        });
                    };
                    let slot = match self.free.pop() {
                        Some(slot) => slot,
                        None => {
                            self.pending.push(None);
                            self.pending.len() - 1
                        }
                    };
                    match self.senders[lane].send((slot, valid)) {
                        Ok(()) => {
                            self.pending[slot] = Some(Pending { tag, id, lane });
                            self.loads[lane] += 1;
                            return None;
                        }
                        // The lane is gone (its task was torn down): nothing
                        // was sent.
                        _ => {
                            self.free.push(slot);
                            Outcome::NotAttempted
                        }
                    }
                }
            }
        };
        Some(BulkOutcome { tag, id, outcome })
    }

    /// The outcome of the request in `slot`.
    fn finish(&mut self, slot: usize, outcome: Outcome) -> Option<BulkOutcome<T>> {
        let pending = self.pending.get_mut(slot)?.take()?;
        self.free.push(slot);
        self.loads[pending.lane] -= 1;
        Some(BulkOutcome {
            tag: pending.tag,
            id: pending.id,
            outcome,
        })
    }

    /// A lane ended: any request it still held has no outcome coming, and
    /// fails (it may or may not have been sent).
    fn lane_ended(&mut self, lane: usize) {
        if self.loads.get(lane).is_none_or(|&load| load == 0) {
            return;
        }
        let lost: Vec<usize> = (0..self.pending.len())
            .filter(|&slot| matches!(&self.pending[slot], Some(p) if p.lane == lane))
            .collect();
        for slot in lost {
            let error = Error::transport(
                "the task sending this request ended before it answered (the runtime shut down?); \
                 the request may or may not have been sent",
            );
            if let Some(outcome) = self.finish(slot, Outcome::Failed(error)) {
                self.ready.push_back(outcome);
            }
        }
    }
}

impl<T, S> Stream for BulkRun<T, S>
where
    S: Stream<Item = (T, String)>,
{
    type Item = BulkOutcome<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(client) = this.client.take() {
            this.start(client);
        }
        loop {
            if let Some(outcome) = this.ready.pop_front() {
                return Poll::Ready(Some(outcome));
            }
            if this.inbox.is_empty() {
                this.mailbox.waker.register(cx.waker());
                this.inbox.extend(this.mailbox.reports().drain(..));
            }
            match this.inbox.pop_front() {
                Some(Report::Done(slot, outcome)) => {
                    if let Some(outcome) = this.finish(slot, outcome) {
                        return Poll::Ready(Some(outcome));
                    }
                    continue;
                }
                Some(Report::LaneEnded(lane)) => {
                    this.lane_ended(lane);
                    continue;
                }
                None => {}
            }
            let room = this.handed_out() < QUEUED_PER_REQUEST.saturating_mul(this.concurrency);
            if room && let Some(input) = &mut this.input {
                match input.as_mut().poll_next(cx) {
                    Poll::Ready(Some((tag, id))) => match this.admit(tag, id) {
                        Some(outcome) => return Poll::Ready(Some(outcome)),
                        // Handed to a lane.
                        None => continue,
                    },
                    Poll::Ready(None) => {
                        this.input = None;
                        this.senders.clear();
                        continue;
                    }
                    Poll::Pending => {}
                }
            }
            if this.input.is_none() && this.handed_out() == 0 {
                return Poll::Ready(None);
            }
            // About to sleep: on every report unless only room is awaited.
            // Said before the box is looked at again, so a report left
            // after that look sees it (`Mailbox::post`).
            let only_room = !room && this.input.is_some();
            this.mailbox.eager.store(!only_room, Ordering::SeqCst);
            if !this.mailbox.reports().is_empty() {
                continue;
            }
            return Poll::Pending;
        }
    }
}

/// The ids a bulk run has already taken, as 128-bit keyed fingerprints
/// (two SipHash runs): a collision, which would skip a distinct id, is out
/// of reach for any realistic input.
///
/// The fingerprints are spread over [`SeenIds::SHARDS`] tables by their top
/// byte. One big table doubles in one step, holding the old and the new
/// table at once (about 50 MiB at a million ids); each shard grows on its
/// own, so growing costs at most 1/256 of the set in extra memory.
struct SeenIds {
    hasher: RandomState,
    /// Keyed by the fingerprint's low half: it is already a keyed hash, so
    /// it is not hashed again.
    shards: Vec<HashTable<u128>>,
}

impl SeenIds {
    const SHARDS: usize = 256;

    fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            shards: Vec::new(),
        }
    }

    /// Records `id`; false if it was already there.
    fn insert(&mut self, id: &str) -> bool {
        let a = self.hasher.hash_one(id);
        let b = self.hasher.hash_one((0x5332_u16, id));
        let fingerprint = (u128::from(a) << 64) | u128::from(b);
        if self.shards.is_empty() {
            // Allocated on first use: a run of refused ids costs nothing.
            self.shards = (0..Self::SHARDS).map(|_| HashTable::new()).collect();
        }
        let shard = usize::from((a >> 56) as u8);
        let low = |fp: &u128| *fp as u64;
        match self.shards[shard].entry(b, |fp| *fp == fingerprint, low) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(fingerprint);
                true
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::{BulkOptions, BulkRun, SeenIds};
    use futures_util::stream;
    use proptest::prelude::*;
    use tokio::sync::mpsc;

    /// A lane whose task has ended is never handed an id, however idle it
    /// looks; with none running, nothing is sent.
    #[test]
    fn ids_go_only_to_lanes_still_running() {
        let client = crate::Client::builder()
            .access_token("t")
            .endpoint("http://127.0.0.1:9")
            .build()
            .unwrap();
        let input = Box::pin(stream::empty::<(usize, String)>());
        let mut run = BulkRun::new(client, input, BulkOptions::default().with_concurrency(4));
        let (dead, dead_jobs) = mpsc::unbounded_channel();
        drop(dead_jobs);
        let (alive, mut alive_jobs) = mpsc::unbounded_channel();
        run.senders = vec![dead, alive];
        run.loads = vec![0, 3];
        run.limits = vec![2, 2];
        assert!(run.admit(0, "x".to_owned()).is_none());
        let (_, sent) = alive_jobs.try_recv().unwrap();
        assert_eq!(sent.as_str(), "x");
        assert_eq!(run.loads, [0, 4]);
        drop(alive_jobs);
        let outcome = run.admit(1, "y".to_owned()).unwrap();
        assert_eq!(outcome.outcome.kind(), "not_attempted");
        assert_eq!(run.handed_out(), 1);
    }

    proptest! {
        /// The set agrees with an exact set of the ids themselves.
        #[test]
        fn seen_ids_is_exact(ids in proptest::collection::vec("[a-c]{0,3}|\\PC{0,8}", 0..200)) {
            let mut seen = SeenIds::new();
            let mut exact = std::collections::HashSet::new();
            for id in &ids {
                prop_assert_eq!(seen.insert(id), exact.insert(id.clone()), "id {:?}", id);
            }
            prop_assert_eq!(seen.len(), exact.len());
        }
    }

    #[test]
    fn many_distinct_ids_are_all_new() {
        let mut seen = SeenIds::new();
        assert!((0..20_000).all(|i| seen.insert(&format!("id-{i}"))));
        assert!((0..20_000).all(|i| !seen.insert(&format!("id-{i}"))));
        assert_eq!(seen.len(), 20_000);
        assert!(seen.shards.iter().all(|s| !s.is_empty()));
    }
}
