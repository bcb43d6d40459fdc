//! When an attempt may go beyond its retry policy's waits: at once, or, in
//! a bulk run, at its turn from the run's rate limiter, which learns from
//! every answer and whose stop ends the wait (rate_limit.rs).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use tokio::time::Instant;

use crate::rate_limit::RunLimiter;

/// How a layer's attempts are paced: the value the attempts are handed,
/// set only on a bulk run's own client (bulk revocation, built when the
/// spec has `revoke_access_token`).
#[derive(Clone, Debug)]
#[cfg_attr(not(s2_openapi_revoke), allow(dead_code))]
pub(super) enum Pacing {
    /// Each attempt goes when its retry wait is over.
    Free,
    /// Each attempt, retries included, waits for its turn from a bulk
    /// run's limiter.
    Run(Arc<RunLimiter>),
}

impl Pacing {
    /// Waits for a call's first attempt's turn, as for a place among the
    /// run's concurrent requests, up to `deadline` (read only when there is
    /// a turn to wait for).
    pub(super) async fn first_turn(
        &self,
        deadline: impl FnOnce() -> Instant,
    ) -> Result<(), NotSent> {
        match self {
            Self::Free => Ok(()),
            // Boxed: only a bulk run's requests wait, and inline the wait
            // would make every call's future larger.
            Self::Run(limiter) => Box::pin(permit_by(limiter, Duration::ZERO, deadline()))
                .await
                .map(drop),
        }
    }

    /// Tells the limiter how an attempt sent at `sent` was answered.
    pub(super) fn answered(&self, sent: Instant, throttled: bool, hint: Option<Duration>) {
        if let Self::Run(limiter) = self {
            limiter.answered(sent, throttled, hint);
        }
    }

    /// Waits `wait` (a retry's backoff), then for the retry's turn, and
    /// returns when the turn came: `None` when paced freely (the attempt
    /// starts when it is sent). The caller has checked that `wait` ends
    /// before `deadline`; only a turn, which may come later, is bounded by
    /// it here.
    pub(super) async fn retry_turn(
        &self,
        wait: Duration,
        deadline: Instant,
    ) -> Result<Option<Instant>, NotSent> {
        match self {
            // Boxed: only retries wait, and inline the timer would make
            // every call's future larger.
            Self::Free => {
                Box::pin(tokio::time::sleep(wait)).await;
                Ok(None)
            }
            Self::Run(limiter) => Box::pin(permit_by(limiter, wait, deadline))
                .await
                .map(Some),
        }
    }
}

/// Waits `after` (a retry's backoff), then for `limiter` to let an attempt
/// go, and returns when it did; ends first, with nothing to send, when the
/// run is stopped or `deadline` passes.
async fn permit_by(
    limiter: &RunLimiter,
    after: Duration,
    deadline: Instant,
) -> Result<Instant, NotSent> {
    if limiter.stop.is_cancelled() {
        return Err(NotSent::Stopped);
    }
    if after.is_zero() {
        let now = Instant::now();
        if limiter.limiter.acquire(limiter.secs(now)).is_ok() {
            return Ok(now);
        }
    }
    let turn = async {
        tokio::time::sleep(after).await;
        loop {
            let now = Instant::now();
            match limiter.limiter.acquire(limiter.secs(now)) {
                Ok(()) => return now,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    };
    // Boxed: only retries and a throttled run wait, and inline the timers
    // would make every call's future larger.
    let turn = Box::pin(tokio::time::timeout_at(deadline, turn));
    let stopped = std::pin::pin!(limiter.stop.cancelled());
    match futures_util::future::select(stopped, turn).await {
        Either::Left(((), _)) => Err(NotSent::Stopped),
        Either::Right((Ok(at), _)) if at < deadline => Ok(at),
        Either::Right(_) => Err(NotSent::DeadlinePassed),
    }
}

/// Why an attempt that waited for a bulk run's rate limiter was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum NotSent {
    /// The run was stopped ([`crate::BulkOptions::stop`]).
    #[error("the bulk run was stopped before the request was sent")]
    Stopped,
    /// Longer than the call's deadline passed waiting.
    #[error("the request waited longer than its deadline for the run's rate limiter")]
    DeadlinePassed,
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio_util::sync::CancellationToken;

    const SECOND: Duration = Duration::from_secs(1);

    fn run() -> (Pacing, CancellationToken) {
        let stop = CancellationToken::new();
        let limiter = Arc::new(RunLimiter::new(stop.clone()));
        (Pacing::Run(limiter), stop)
    }

    #[tokio::test(start_paused = true)]
    async fn a_free_call_waits_only_its_backoff() {
        let free = Pacing::Free;
        let no_deadline = || panic!("a free call has no turn to wait for");
        assert_eq!(free.first_turn(no_deadline).await, Ok(()));
        let started = Instant::now();
        // Past the deadline on purpose: the backoff is the caller's to
        // bound (`retry_wait` refuses one that ends past it), and a free
        // call has no turn that the deadline could cut short.
        let deadline = started + SECOND;
        assert_eq!(free.retry_turn(5 * SECOND, deadline).await, Ok(None));
        assert_eq!(started.elapsed(), 5 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_lets_an_attempt_go_at_its_turn_after_the_backoff() {
        let (run, _stop) = run();
        let started = Instant::now();
        assert_eq!(run.first_turn(|| started + SECOND).await, Ok(()));
        let turn = run.retry_turn(5 * SECOND, started + 60 * SECOND).await;
        assert_eq!(turn, Ok(Some(started + 5 * SECOND)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_sends_nothing_past_the_deadline() {
        let (run, _stop) = run();
        let started = Instant::now();
        let turn = run.retry_turn(3600 * SECOND, started + 60 * SECOND).await;
        assert_eq!(turn, Err(NotSent::DeadlinePassed));
        assert_eq!(started.elapsed(), 60 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stopped_run_sends_nothing_and_a_stop_ends_a_wait() {
        let (run, stop) = run();
        let started = Instant::now();
        let far = started + 7200 * SECOND;
        let stopping = async {
            tokio::time::sleep(SECOND).await;
            stop.cancel();
        };
        let (turn, ()) = tokio::join!(run.retry_turn(3600 * SECOND, far), stopping);
        assert_eq!(turn, Err(NotSent::Stopped));
        assert_eq!(started.elapsed(), SECOND);
        assert_eq!(run.first_turn(|| far).await, Err(NotSent::Stopped));
        assert_eq!(run.retry_turn(Duration::ZERO, far).await, Err(NotSent::Stopped));
    }
}
