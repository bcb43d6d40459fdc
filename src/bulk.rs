//! Revoking many tokens at once: bounded concurrency, one outcome per input
//! id as soon as its request ends, bounded memory, duplicates sent once.
//!
//! The input is mapped to one future per id, run by `buffer_unordered`:
//! an id that needs a request is sent by its future (dropped, and so
//! cancelled, with the run); the others settle at once, or, for a
//! duplicate, when its first occurrence does.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::stream::{self, Stream, StreamExt};
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::revoke::Revoked;
use crate::error::{Error, ErrorCode};
use crate::id::{AccessTokenId, InvalidId};
use crate::rate_limit::RunLimiter;

/// Default number of revocations in flight.
pub const DEFAULT_BULK_CONCURRENCY: usize = 16;

/// How a bulk revocation runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkOptions {
    /// Revocations in flight at most (at least 1). A duplicate whose first
    /// occurrence is still in flight waits for it in one of these places.
    pub concurrency: usize,
    /// Once cancelled, no new request starts; ids not yet started come out
    /// as [`Outcome::NotAttempted`] and requests in flight finish. With
    /// [`adapt_to_rate_limits`](Self::adapt_to_rate_limits) on, that
    /// includes ids waiting for the run's rate limiter, which are not sent,
    /// and requests in flight are not retried (a call whose retry was to
    /// come fails with its last error).
    pub stop: CancellationToken,
    /// When S2 answers 429 (`rate_limited`), slow the whole run down
    /// (default: on): every attempt of the run, retries included, waits
    /// out the `retry-after-ms` S2 asked for, and attempts start at a rate
    /// cut on each new 429 that grows back as requests succeed, as the AWS
    /// SDK's adaptive retry mode does. Off, each call retries on its own
    /// under the client's [`RetryPolicy`](crate::RetryPolicy) alone.
    pub adapt_to_rate_limits: bool,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_BULK_CONCURRENCY,
            stop: CancellationToken::new(),
            adapt_to_rate_limits: true,
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

    /// Sets [`adapt_to_rate_limits`](Self::adapt_to_rate_limits).
    #[must_use]
    pub fn with_adapt_to_rate_limits(mut self, adapt: bool) -> Self {
        self.adapt_to_rate_limits = adapt;
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
    /// The same id appeared earlier in the input: it is sent once, under its
    /// first occurrence, and this says what that one got. Reported once the
    /// first occurrence has its outcome.
    Duplicate(FirstOutcome),
    /// Not sent: the run was stopped first.
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
            Self::Duplicate(_) => "duplicate",
            Self::NotAttempted => "not_attempted",
        }
    }

    /// Whether the token is gone: revoked, already gone, or a duplicate
    /// whose first occurrence was one of those.
    pub fn is_ok(&self) -> bool {
        match self {
            Self::Revoked(_) | Self::AlreadyGone(_) => true,
            Self::Duplicate(first) => first.is_ok(),
            _ => false,
        }
    }
}

/// What the first occurrence of a repeated id got ([`Outcome::Duplicate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstOutcome {
    /// [`Outcome::Revoked`].
    Revoked,
    /// [`Outcome::AlreadyGone`].
    AlreadyGone,
    /// [`Outcome::Failed`].
    Failed,
    /// [`Outcome::NotAttempted`].
    NotAttempted,
}

impl FirstOutcome {
    /// The [`Outcome::kind`] of the first occurrence.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::AlreadyGone => "already_gone",
            Self::Failed => "failed",
            Self::NotAttempted => "not_attempted",
        }
    }

    /// Whether the token is gone (revoked or already gone).
    pub fn is_ok(self) -> bool {
        matches!(self, Self::Revoked | Self::AlreadyGone)
    }

    fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Revoked(_) => Self::Revoked,
            Outcome::AlreadyGone(_) => Self::AlreadyGone,
            Outcome::NotAttempted => Self::NotAttempted,
            // A first occurrence is never refused or a duplicate.
            _ => Self::Failed,
        }
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
    /// one [`BulkOutcome`] per input item as soon as it is settled (not in
    /// input order).
    ///
    /// The requests are sent by the stream itself, as it is polled (like
    /// any reqwest call, on the tokio runtime it is polled in; poll it on one
    /// runtime only). Polled outside any tokio runtime, the ids that
    /// need a request fail with [`InvalidInput::Config`](crate::InvalidInput::Config) and nothing is
    /// sent. Input is pulled only as fast as outcomes are taken, so memory
    /// stays bounded whatever the input size, apart from 20 to 40 bytes per
    /// distinct id to recognise duplicates (a 125-bit fingerprint and the
    /// first occurrence's outcome: about 35 MiB for a million ids).
    /// Dropping the stream cancels the requests in flight and starts no new
    /// ones.
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
        let client = if options.adapt_to_rate_limits {
            self.with_rate_limiter(Arc::new(RunLimiter::new(options.stop.clone())))
        } else {
            self.clone()
        };
        let run = Arc::new(Run {
            client,
            stop: options.stop,
            seen: Mutex::new(SeenIds::new()),
            settled: Notify::new(),
        });
        ids.map(move |(tag, id)| {
            let work = run.admit(&id);
            let run = Arc::clone(&run);
            async move {
                let outcome = run.finish(work).await;
                BulkOutcome { tag, id, outcome }
            }
        })
        .buffer_unordered(options.concurrency.max(1))
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

/// What one bulk run shares between its ids.
struct Run {
    /// The client, with the run's rate limiter in its request layer.
    client: Client,
    stop: CancellationToken,
    seen: Mutex<SeenIds>,
    /// Notified whenever a first occurrence settles.
    settled: Notify,
}

/// What an input id needs, decided when it is taken.
enum Work {
    /// Nothing more: its outcome.
    Done(Outcome),
    /// A duplicate of an id whose first occurrence is not yet settled.
    Duplicate(Key),
    /// A first occurrence, to be sent.
    First(Key, AccessTokenId),
}

impl Run {
    fn seen(&self) -> MutexGuard<'_, SeenIds> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn admit(&self, id: &str) -> Work {
        if self.stop.is_cancelled() {
            return Work::Done(Outcome::NotAttempted);
        }
        let id = match AccessTokenId::parse(id) {
            Ok(id) => id,
            Err(invalid) => return Work::Done(Outcome::Refused(invalid)),
        };
        match self.seen().insert(id.as_str()) {
            Ok(key) => Work::First(key, id),
            Err((_, Some(first))) => Work::Done(Outcome::Duplicate(first)),
            Err((key, None)) => Work::Duplicate(key),
        }
    }

    async fn finish(&self, work: Work) -> Outcome {
        match work {
            Work::Done(outcome) => outcome,
            Work::Duplicate(key) => Outcome::Duplicate(self.first_outcome(key).await),
            Work::First(key, id) => {
                let outcome = self.send(id).await;
                self.seen().settle(key, FirstOutcome::of(&outcome));
                self.settled.notify_waiters();
                outcome
            }
        }
    }

    /// The request for a first occurrence.
    async fn send(&self, id: AccessTokenId) -> Outcome {
        // Checked when the request would start.
        if self.stop.is_cancelled() {
            return Outcome::NotAttempted;
        }
        // reqwest needs a tokio runtime; outside one, say so instead of
        // panicking in it.
        if tokio::runtime::Handle::try_current().is_err() {
            return Outcome::Failed(Error::config(
                "bulk revocation sends its requests on a tokio runtime: poll the stream inside one",
            ));
        }
        match self.client.revoke(id).await {
            Ok(revoked) => Outcome::Revoked(revoked),
            Err(e) if e.code() == Some(&ErrorCode::AccessTokenNotFound) => Outcome::AlreadyGone(e),
            // The layer refused to send it: the run was stopped while the
            // request waited for the run's rate limiter.
            Err(Error::NotSent(_)) if self.stop.is_cancelled() => Outcome::NotAttempted,
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Waits until the first occurrence of `key` is settled.
    async fn first_outcome(&self, key: Key) -> FirstOutcome {
        loop {
            let mut notified = std::pin::pin!(self.settled.notified());
            // Registered before looking, so a settle in between wakes it.
            notified.as_mut().enable();
            if let Some(first) = self.seen().get(key) {
                return first;
            }
            notified.await;
        }
    }
}

/// An id's fingerprint in [`SeenIds`], without the outcome bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    high: u64,
    low: u64,
}

/// The ids a bulk run has already taken, as keyed fingerprints (two
/// SipHash runs, 125 bits kept): a collision, which would skip a distinct
/// id, is out of reach for any realistic input. The other 3 bits of each
/// entry hold the first occurrence's outcome once it is settled.
///
/// The fingerprints are spread over [`SeenIds::SHARDS`] tables by their top
/// byte. One big table doubles in one step, holding the old and the new
/// table at once (about 50 MiB at a million ids); each shard grows on its
/// own, so growing costs at most 1/256 of the set in extra memory.
struct SeenIds {
    hasher: RandomState,
    /// Entries `[high | outcome, low]`, keyed by `low`: it is already a
    /// keyed hash, so it is not hashed again.
    shards: Vec<HashTable<[u64; 2]>>,
}

/// The bits of an entry's `high` word that hold its outcome.
const OUTCOME_BITS: u64 = 0b111;

impl SeenIds {
    const SHARDS: usize = 256;

    fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            shards: Vec::new(),
        }
    }

    fn key(&self, id: &str) -> Key {
        Key {
            high: self.hasher.hash_one(id) & !OUTCOME_BITS,
            low: self.hasher.hash_one((0x5332_u16, id)),
        }
    }

    fn entry(&mut self, key: Key) -> Entry<'_, [u64; 2]> {
        if self.shards.is_empty() {
            // Allocated on first use: a run of refused ids costs nothing.
            self.shards = (0..Self::SHARDS).map(|_| HashTable::new()).collect();
        }
        let shard = usize::from((key.high >> 56) as u8);
        self.shards[shard].entry(
            key.low,
            |e| e[1] == key.low && e[0] & !OUTCOME_BITS == key.high,
            |e| e[1],
        )
    }

    /// Records `id` as a first occurrence not yet settled; if it was
    /// already there, its key and its first occurrence's outcome if settled.
    fn insert(&mut self, id: &str) -> Result<Key, (Key, Option<FirstOutcome>)> {
        let key = self.key(id);
        match self.entry(key) {
            Entry::Occupied(e) => Err((key, decode(e.get()[0]))),
            Entry::Vacant(e) => {
                e.insert([key.high, key.low]);
                Ok(key)
            }
        }
    }

    /// The outcome of `key`'s first occurrence, once settled.
    fn get(&mut self, key: Key) -> Option<FirstOutcome> {
        match self.entry(key) {
            Entry::Occupied(e) => decode(e.get()[0]),
            Entry::Vacant(_) => None,
        }
    }

    fn settle(&mut self, key: Key, first: FirstOutcome) {
        if let Entry::Occupied(mut e) = self.entry(key) {
            e.get_mut()[0] = key.high | encode(first);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }
}

fn encode(first: FirstOutcome) -> u64 {
    match first {
        FirstOutcome::Revoked => 1,
        FirstOutcome::AlreadyGone => 2,
        FirstOutcome::Failed => 3,
        FirstOutcome::NotAttempted => 4,
    }
}

fn decode(high: u64) -> Option<FirstOutcome> {
    match high & OUTCOME_BITS {
        1 => Some(FirstOutcome::Revoked),
        2 => Some(FirstOutcome::AlreadyGone),
        3 => Some(FirstOutcome::Failed),
        4 => Some(FirstOutcome::NotAttempted),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{FirstOutcome, SeenIds};
    use proptest::prelude::*;

    proptest! {
        /// The set agrees with an exact set of the ids themselves, and
        /// keeps each first occurrence's outcome.
        #[test]
        fn seen_ids_is_exact(ids in proptest::collection::vec("[a-c]{0,3}|\\PC{0,8}", 0..200)) {
            let mut seen = SeenIds::new();
            let mut exact = std::collections::HashMap::new();
            let outcomes = [FirstOutcome::Revoked, FirstOutcome::AlreadyGone,
                FirstOutcome::Failed, FirstOutcome::NotAttempted];
            for (i, id) in ids.iter().enumerate() {
                match (seen.insert(id), exact.get(id)) {
                    (Ok(key), None) => {
                        let first = outcomes[i % 4];
                        prop_assert_eq!(seen.get(key), None);
                        seen.settle(key, first);
                        exact.insert(id.clone(), first);
                    }
                    (Err((_, got)), Some(first)) => prop_assert_eq!(got, Some(*first)),
                    (got, want) => prop_assert!(false, "{:?}: {:?} vs {:?}", id, got, want),
                }
            }
            prop_assert_eq!(seen.len(), exact.len());
        }
    }

    #[test]
    fn many_distinct_ids_are_all_new() {
        let mut seen = SeenIds::new();
        assert!((0..20_000).all(|i| seen.insert(&format!("id-{i}")).is_ok()));
        assert!((0..20_000).all(|i| seen.insert(&format!("id-{i}")).is_err()));
        assert_eq!(seen.len(), 20_000);
        assert!(seen.shards.iter().all(|s| !s.is_empty()));
    }
}
