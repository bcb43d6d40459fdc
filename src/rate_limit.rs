//! The rate limiter a bulk run shares between its attempts, so that when S2
//! answers 429 the run as a whole slows down, not each request on its own.
//!
//! It is the AWS SDK's adaptive retry limiter (aws-smithy-runtime's
//! `ClientRateLimiter`): a token bucket, off until the first 429, whose fill
//! rate is cut on each 429 and grows back along a cubic curve; arithmetic on
//! the times it is given, with the caller doing the waiting. Four changes,
//! each needed for a run of thousands of ids at a concurrency of 64 to
//! finish near the rate S2 admits with few 429s:
//!
//! - At the first 429 the rate starts from what the run sent so far,
//!   averaged over at least a second, and doubles every [`SLOW_START`] until
//!   the next 429 (TCP's slow start). The SDK starts from its half-second
//!   meter, which reads zero in a run's first half second, and climbs from
//!   there for seconds. (Not from what S2 admitted: the first answer can be
//!   the 429, with nothing admitted yet.)
//! - Only a 429 to an attempt sent after the last cut cuts again. The SDK
//!   cuts on every 429, and the 64 answered at once at the first one would
//!   leave nothing of the rate.
//! - The curve is back at the rate cut from after [`RECOVERY`] whatever the
//!   rate (the SDK's takes seconds: 7 s at 500/s), and the bucket holds
//!   [`BURST`] of the rate rather than a second of it.
//! - S2's `retry-after-ms` pauses every attempt until it has passed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A cut keeps this share of the rate.
const BETA: f64 = 0.8;
/// Seconds the cubic curve takes to return to the rate cut from.
const RECOVERY: f64 = 0.5;
/// Seconds in which the rate doubles after the first 429.
const SLOW_START: f64 = 0.1;
/// Seconds of the rate the bucket holds: a timer firing a little late
/// sends what it owes, but no burst builds up.
const BURST: f64 = 0.01;
/// The first rate is the attempts so far over at least this many seconds.
const FIRST_ESTIMATE: f64 = 1.0;
/// Seconds over which the rate of answers is measured.
const WINDOW: f64 = 0.1;
/// Attempts per second, at least.
const MIN_RATE: f64 = 0.5;

/// See the module documentation. Times are seconds from any fixed instant.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    /// Set at the first 429: until then no lock is taken.
    enabled: AtomicBool,
    /// Attempts until then.
    sent: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Tokens per second, and those in the bucket as of `refilled`.
    rate: f64,
    tokens: f64,
    refilled: f64,
    /// No attempt before this (the server's `retry-after-ms`).
    paused_until: f64,
    /// The last cut: when, and the rate the curve starts from.
    cut_at: f64,
    base: f64,
    /// Doubling from `base` (until the first cut after the first 429),
    /// else the cubic curve back to `base`.
    slow_start: bool,
    /// Answers per second over the last window, and the current window's
    /// count.
    measured: f64,
    window_start: f64,
    window_count: u32,
}

impl RateLimiter {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether an attempt may be sent at `now`, taking its token; else how
    /// long to wait before asking again.
    pub(crate) fn acquire(&self, now: f64) -> Result<(), Duration> {
        if !self.enabled.load(Ordering::Acquire) {
            self.sent.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let mut state = self.lock();
        if now < state.paused_until {
            return Err(duration(state.paused_until - now));
        }
        state.refill(now);
        let wait = duration((1.0 - state.tokens) / state.rate);
        // A shortfall too small for a `Duration` would have the caller
        // wait for nothing, again and again.
        if wait.is_zero() {
            state.tokens = (state.tokens - 1.0).max(0.0);
            return Ok(());
        }
        Err(wait)
    }

    /// Learns from the answer, at `now`, to an attempt sent at `sent`:
    /// `throttled` for a 429, with the server's `retry-after` if any.
    pub(crate) fn update(
        &self,
        sent: f64,
        now: f64,
        throttled: bool,
        retry_after: Option<Duration>,
    ) {
        if !throttled && !self.enabled.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.lock();
        if let Some(wait) = retry_after.filter(|_| throttled) {
            state.paused_until = state.paused_until.max(now + wait.as_secs_f64());
        }
        // Stored under the lock: read under it, it cannot change.
        if !self.enabled.load(Ordering::Acquire) {
            let sent = self.sent.load(Ordering::Relaxed) as f64;
            let start = (sent / now.max(FIRST_ESTIMATE)).max(MIN_RATE);
            state.measured = start;
            state.window_start = now;
            state.refilled = now;
            state.cut_at = now;
            state.base = start;
            state.slow_start = true;
            state.set_rate(now, start);
            self.enabled.store(true, Ordering::Release);
            return;
        }
        state.measure(now);
        if !throttled {
            // Never far above what the run sends: a run sending less than
            // its rate would otherwise grow it without bound.
            let rate = state.curve(now).min(2.0 * state.measured);
            state.set_rate(now, rate);
        } else if sent > state.cut_at {
            let from = state.rate;
            state.cut_at = now;
            state.base = from;
            state.slow_start = false;
            state.set_rate(now, from * BETA);
        }
    }
}

impl State {
    fn capacity(&self) -> f64 {
        (self.rate * BURST).max(1.0)
    }

    fn refill(&mut self, now: f64) {
        let elapsed = (now - self.refilled).max(0.0);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity());
        self.refilled = self.refilled.max(now);
    }

    fn set_rate(&mut self, now: f64, rate: f64) {
        self.refill(now);
        self.rate = rate.max(MIN_RATE);
        self.tokens = self.tokens.min(self.capacity());
    }

    /// The rate the curve has reached at `now`.
    fn curve(&self, now: f64) -> f64 {
        let t = now - self.cut_at;
        if self.slow_start {
            self.base * (t / SLOW_START).exp2()
        } else {
            let scale = (1.0 - BETA) / RECOVERY.powi(3);
            self.base * (1.0 + scale * (t - RECOVERY).powi(3))
        }
    }

    fn measure(&mut self, now: f64) {
        self.window_count += 1;
        let elapsed = now - self.window_start;
        if elapsed >= WINDOW {
            self.measured = f64::from(self.window_count) / elapsed;
            self.window_start = now;
            self.window_count = 0;
        }
    }
}

/// `secs` (positive) as a `Duration`, saturating: a server's hint can be
/// anything.
fn duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
}

/// A bulk run's limiter with its stop token, as its requests' layer holds
/// them: the layer waits for the limiter, and a stop ends that wait.
#[derive(Debug)]
pub(crate) struct RunLimiter {
    pub(crate) limiter: RateLimiter,
    pub(crate) stop: CancellationToken,
    /// The limiter's times are seconds since this.
    epoch: Instant,
}

impl RunLimiter {
    /// A bulk revocation's limiter: only bulk runs make one.
    #[cfg_attr(not(s2_openapi_revoke), allow(dead_code))]
    pub(crate) fn new(stop: CancellationToken) -> Self {
        Self {
            limiter: RateLimiter::default(),
            stop,
            epoch: Instant::now(),
        }
    }

    /// `at` in the limiter's seconds.
    pub(crate) fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.epoch).as_secs_f64()
    }

    /// [`RateLimiter::update`] with the answer, now, to an attempt sent
    /// at `sent`.
    pub(crate) fn answered(&self, sent: Instant, throttled: bool, retry_after: Option<Duration>) {
        let now = self.secs(Instant::now());
        self.limiter
            .update(self.secs(sent), now, throttled, retry_after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RateLimiter {
        fn rate(&self) -> f64 {
            self.lock().rate
        }
    }

    /// Attempts granted when one is asked for every millisecond from
    /// `from` to `to`, no answer coming back meanwhile.
    fn granted(limiter: &RateLimiter, from: f64, to: f64) -> usize {
        let steps = ((to - from) * 1000.0).round() as usize;
        (0..steps)
            .filter(|i| limiter.acquire(from + *i as f64 / 1000.0).is_ok())
            .count()
    }

    /// `n` attempts, whether the limiter lets them go or not, spread evenly
    /// from `from` to `to`, each answered (not 429) at once.
    fn attempts(limiter: &RateLimiter, n: usize, from: f64, to: f64) {
        for i in 0..n {
            let at = from + (to - from) * i as f64 / n as f64;
            let _ = limiter.acquire(at);
            limiter.update(at, at, false, None);
        }
    }

    #[test]
    fn nothing_is_limited_before_a_429() {
        let limiter = RateLimiter::default();
        attempts(&limiter, 10_000, 0.0, 1.0);
        assert!((0..10_000).all(|_| limiter.acquire(1.0).is_ok()));
    }

    /// The first 429 starts the rate at what was sent so far, over at least
    /// a second; attempts are then spaced at that rate.
    #[test]
    fn the_first_429_starts_from_the_rate_sent() {
        let limiter = RateLimiter::default();
        attempts(&limiter, 600, 0.0, 2.0);
        limiter.update(2.0, 2.0, true, None);
        assert!((limiter.rate() - 300.0).abs() < 1.0, "{}", limiter.rate());
        let sent = granted(&limiter, 2.0, 3.0);
        assert!((295..=305).contains(&sent), "{sent}");

        // Early in a run: 30 attempts in 20 ms count as 30 in a second.
        let limiter = RateLimiter::default();
        attempts(&limiter, 30, 0.0, 0.02);
        limiter.update(0.02, 0.02, true, None);
        assert!((limiter.rate() - 30.0).abs() < 1.0, "{}", limiter.rate());

        // The first answer is the 429: the rate is what was sent, not
        // what was admitted (nothing yet).
        let limiter = RateLimiter::default();
        assert!((0..64).all(|_| limiter.acquire(0.0).is_ok()));
        limiter.update(0.0, 0.01, true, None);
        assert!((limiter.rate() - 64.0).abs() < 1.0, "{}", limiter.rate());
    }

    #[test]
    fn a_429_pauses_every_attempt_for_what_the_server_asked() {
        let limiter = RateLimiter::default();
        attempts(&limiter, 1000, 0.0, 1.0);
        limiter.update(1.0, 1.0, true, Some(Duration::from_millis(250)));
        let wait = limiter.acquire(1.0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(250));
        assert_eq!(granted(&limiter, 1.0, 1.249), 0);
        assert!(limiter.acquire(1.25).is_ok());
        // Whatever a server asks, nothing overflows.
        limiter.update(1.3, 1.3, true, Some(Duration::MAX));
        assert!(limiter.acquire(1.3).unwrap_err() > Duration::from_secs(1 << 40));
    }

    /// A 429 to an attempt sent after the last cut cuts the rate; one to
    /// an attempt sent before it (answered late) does not.
    #[test]
    fn only_news_cut_again() {
        let limiter = RateLimiter::default();
        attempts(&limiter, 1000, 0.0, 1.0);
        limiter.update(0.999, 1.0, true, None);
        let first = limiter.rate();
        limiter.update(0.999, 1.001, true, None);
        limiter.update(1.0, 1.002, true, None);
        assert_eq!(limiter.rate(), first);
        limiter.update(1.001, 1.003, true, None);
        assert!(
            (limiter.rate() - first * BETA).abs() < 1e-9,
            "{}",
            limiter.rate()
        );
    }

    /// Attempts granted to a sender asking every 0.1 ms from `from` to
    /// `to`, each answered (not 429) at once.
    fn send_at_full_rate(limiter: &RateLimiter, from: f64, to: f64) -> usize {
        let steps = ((to - from) * 10_000.0).round() as usize;
        let mut sent = 0;
        for i in 0..steps {
            let now = from + i as f64 / 10_000.0;
            while limiter.acquire(now).is_ok() {
                limiter.update(now, now, false, None);
                sent += 1;
            }
        }
        sent
    }

    /// After the first 429 the rate nearly doubles every `SLOW_START`
    /// while the run sends as fast as it may and nothing is answered 429:
    /// the curve doubles it, and it may reach twice the rate answered over
    /// the last window.
    #[test]
    fn the_rate_first_doubles() {
        let limiter = RateLimiter::default();
        attempts(&limiter, 100, 0.0, 1.0);
        limiter.update(1.0, 1.0, true, None);
        let mut before = limiter.rate();
        for period in 0..5 {
            let from = 1.0 + f64::from(period) * SLOW_START;
            send_at_full_rate(&limiter, from, from + SLOW_START);
            let growth = limiter.rate() / before;
            assert!(
                (1.4..=2.05).contains(&growth),
                "x{growth} in period {period}"
            );
            before = limiter.rate();
        }
    }

    /// After a later cut the rate climbs back along a cubic curve: most of
    /// the way within half of `RECOVERY`, to the rate cut from after it,
    /// and beyond it later.
    #[test]
    fn the_rate_recovers_along_a_cubic_curve() {
        let limiter = RateLimiter::default();
        attempts(&limiter, 1000, 0.0, 1.0);
        limiter.update(1.0, 1.0, true, None);
        attempts(&limiter, 1000, 1.0, 2.0);
        limiter.update(2.0, 2.0, true, None);
        let cut_from = limiter.rate() / BETA;
        let mut now = 2.0;
        let mut rate_after = |elapsed: f64| {
            attempts(&limiter, (cut_from * elapsed) as usize, now, now + elapsed);
            now += elapsed;
            limiter.update(now, now, false, None);
            limiter.rate() / cut_from
        };
        let half = rate_after(RECOVERY / 2.0);
        assert!((0.95..1.0).contains(&half), "{half}");
        let full = rate_after(RECOVERY / 2.0);
        assert!((0.999..=1.001).contains(&full), "{full}");
        let later = rate_after(RECOVERY);
        assert!(later > 1.15, "{later}");
    }

    /// The rate never grows past twice what the run is answered at.
    #[test]
    fn the_rate_does_not_outgrow_what_is_sent() {
        let limiter = RateLimiter::default();
        attempts(&limiter, 1000, 0.0, 1.0);
        limiter.update(1.0, 1.0, true, None);
        // Now a slow sender: 10 attempts a second for 5 s.
        attempts(&limiter, 50, 1.0, 6.0);
        assert!(limiter.rate() <= 2.0 * 10.5, "{}", limiter.rate());
    }

    /// The arithmetic against a model of the benchmark: 3,000 ids, 64 at a
    /// time, sent to a server that admits 500 a second (a token bucket
    /// holding 25) and answers 429 to the rest, which are sent again; a
    /// success is answered 1 ms after it is sent, a 429 in 0.5 ms (so the
    /// first answer is a 429). Asked every 0.1 ms, the limiter keeps the
    /// 429s under 5% of the attempts and the run within 1.15 times what the
    /// server's rate allows.
    #[test]
    fn a_modelled_run_stays_near_the_servers_rate() {
        let limiter = RateLimiter::default();
        let (rate, burst) = (500.0, 25.0);
        let (mut tokens, mut refilled) = (burst, 0.0);
        // (answer at, sent at, throttled).
        let mut in_flight: Vec<(f64, f64, bool)> = Vec::new();
        let (mut left, mut sent, mut throttled) = (3000_usize, 0_usize, 0_usize);
        let mut now = 0.0;
        while left > 0 {
            in_flight.retain(|&(at, from, was_throttled)| {
                if at > now {
                    return true;
                }
                limiter.update(from, at, was_throttled, None);
                left -= usize::from(!was_throttled);
                false
            });
            while in_flight.len() < 64.min(left) && limiter.acquire(now).is_ok() {
                tokens = (tokens + (now - refilled) * rate).min(burst);
                refilled = now;
                let is_throttled = tokens < 1.0;
                if is_throttled {
                    throttled += 1;
                } else {
                    tokens -= 1.0;
                }
                sent += 1;
                let latency = if is_throttled { 0.0005 } else { 0.001 };
                in_flight.push((now + latency, now, is_throttled));
            }
            now += 0.0001;
        }
        let share = throttled as f64 / sent as f64;
        let ratio = now / (3000.0 / rate);
        assert!(share <= 0.05, "{throttled} of {sent} answered 429");
        assert!(ratio <= 1.15, "{ratio} x n/R");
    }
}
