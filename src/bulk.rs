//! Revoking many tokens at once: bounded concurrency, one outcome per input
//! id as results arrive, bounded memory, duplicates revoked once.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use futures_util::stream::{self, Stream, StreamExt};
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, Revoked};
use crate::error::{Error, ErrorCode};
use crate::id::{AccessTokenId, InvalidId};

/// Default number of revocations in flight.
pub const DEFAULT_BULK_CONCURRENCY: usize = 16;

/// How a bulk revocation runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BulkOptions {
    /// Revocations in flight at most (at least 1).
    pub concurrency: usize,
    /// Once cancelled, no new request starts; ids not yet started come out
    /// as [`Outcome::NotAttempted`] and requests in flight finish.
    pub stop: CancellationToken,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_BULK_CONCURRENCY,
            stop: CancellationToken::new(),
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
}

/// What happened to one input id.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Revoked by this run (see [`Revoked::confirmation`]).
    Revoked(Revoked),
    /// S2 had no such token (`access_token_not_found` on the first
    /// attempt): it cannot be used, but this run did not revoke it.
    AlreadyGone(Error),
    /// Refused before sending; nothing went out.
    Refused(InvalidId),
    /// The revocation failed.
    Failed(Error),
    /// The same id appeared earlier in the input; it was revoked (or tried)
    /// once, under its first occurrence.
    Duplicate,
    /// The run was stopped before this id was sent.
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

    /// Whether the token is unusable as far as this run knows: revoked,
    /// already gone, or a duplicate of an earlier occurrence.
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
    /// Input is pulled only as fast as requests complete, so memory stays
    /// bounded whatever the input size, apart from 20 to 40 bytes per
    /// distinct id to recognise duplicates (a 128-bit fingerprint in a hash
    /// table: about 35 MiB for a million ids). Dropping the stream
    /// cancels the requests in flight and starts no new ones.
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
        let client = self.clone();
        let mut seen = SeenIds::new();
        let stop = options.stop;
        ids.map(move |(tag, id)| {
            let client = client.clone();
            let step = if stop.is_cancelled() {
                Step::Done(Outcome::NotAttempted)
            } else {
                match AccessTokenId::new(id.as_str()) {
                    Err(invalid) => Step::Done(Outcome::Refused(invalid)),
                    Ok(valid) => {
                        if seen.insert(&id) {
                            Step::Send(valid)
                        } else {
                            Step::Done(Outcome::Duplicate)
                        }
                    }
                }
            };
            // `buffer_unordered` pulls an id only when a slot is free and polls
            // its future at once, so the check above is made when the request
            // would start.
            async move {
                let outcome = match step {
                    Step::Done(outcome) => outcome,
                    // Boxed: the call's future is large (about 2.3 KB), and unboxed
                    // it would be copied at each layer between this closure
                    // and the task that `buffer_unordered` allocates for it.
                    Step::Send(valid) => match Box::pin(client.revoke_id(&valid)).await {
                        Ok(revoked) => Outcome::Revoked(revoked),
                        Err(e) if e.code() == Some(&ErrorCode::AccessTokenNotFound) => {
                            Outcome::AlreadyGone(e)
                        }
                        Err(e) => Outcome::Failed(e),
                    },
                };
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

enum Step {
    Done(Outcome),
    Send(AccessTokenId),
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
    use super::SeenIds;
    use proptest::prelude::*;

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
