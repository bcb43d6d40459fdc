//! A client-side rate limiter shared by the calls of one bulk run, so that
//! when S2 answers 429 the run as a whole slows down, as the AWS SDK's
//! adaptive retry mode does (aws-smithy-runtime's `ClientRateLimiter`).
//!
//! - Until the first 429 nothing is limited (an attempt costs two atomic
//!   operations).
//! - A 429 pauses every attempt of the run for the `retry-after-ms` the
//!   server asked, and cuts the rate to [`BETA`] times a reference: the rate
//!   in force (at the first 429, the rate the run was sending at), or, when
//!   lower, the rate S2 admitted attempts at over the last [`WINDOW`] (what
//!   it can take), though never below [`BETA`] times the rate in force.
//!   Only a 429 to an attempt that started after the last cut cuts again,
//!   so one burst of 429s to attempts already under way costs one cut.
//! - Attempts then start at most at that rate, evenly spaced (each waits its
//!   turn: a GCRA schedule with no burst; a cut voids the turns taken).
//! - Responses that are not 429 grow the rate back along a cubic curve
//!   (CUBIC, as the AWS SDK does, with the curve scaled to the rate before
//!   the cut): quickly at first, flat near that rate after [`RECOVERY`],
//!   then probing above it, at most to twice the rate the run actually sends.
//!
//! [`RateLimiter::acquire`] is called before every attempt and
//! [`RateLimiter::observe`] after it, retries included, by the request
//! layer of the client a bulk run makes its calls with
//! ([`Client::with_rate_limiter`](crate::Client::with_rate_limiter)).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A cut keeps this share of the rate.
const BETA: f64 = 0.8;

/// How long the rate takes to grow back to where it was cut from.
const RECOVERY: Duration = Duration::from_secs(1);

/// The rate never goes below this (attempts per second).
const MIN_RATE: f64 = 1.0;

/// Rates sent and admitted are measured over windows of this length.
const WINDOW: Duration = Duration::from_millis(100);

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Set at the first 429: until then attempts take no lock.
    engaged: AtomicBool,
    /// Attempts started until then, since `created`.
    early_sent: AtomicU32,
    created: Instant,
    state: Mutex<State>,
}

/// Handed out by [`RateLimiter::acquire`] and given back to
/// [`RateLimiter::observe`]: which cut the attempt started under.
#[derive(Clone, Copy, Debug)]
#[must_use]
pub(crate) struct Permit {
    cuts: u64,
}

#[derive(Debug)]
struct State {
    /// Attempts per second; `None` until the first 429.
    rate: Option<f64>,
    /// When the next attempt may start (the GCRA schedule).
    next: Instant,
    /// No attempt starts before this (the server's `retry-after-ms`).
    paused_until: Instant,
    /// Cuts so far.
    cuts: u64,
    /// The rate cut from, and when: the cubic curve's reference.
    cut_from: f64,
    cut_at: Instant,
    /// Attempts started, from the first 429 on.
    sent: Meter,
    /// Attempts answered with anything but 429.
    admitted: Meter,
}

/// Events per second, over windows of [`WINDOW`].
#[derive(Debug)]
struct Meter {
    start: Instant,
    count: u32,
    /// The rate over the last full window (`None` before one).
    last: Option<f64>,
}

impl Meter {
    fn new(now: Instant) -> Self {
        Self {
            start: now,
            count: 0,
            last: None,
        }
    }

    fn roll(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.start);
        if elapsed >= WINDOW {
            self.last = Some(f64::from(self.count) / elapsed.as_secs_f64());
            self.start = now;
            self.count = 0;
        }
    }

    fn add(&mut self, now: Instant) {
        self.roll(now);
        self.count += 1;
    }

    /// The rate lately: the last full window, or the current one (counted
    /// as a full window) when it shows more: events just sped up, or there
    /// has not been a full window yet.
    fn recent(&self, now: Instant) -> f64 {
        let elapsed = now.duration_since(self.start).max(WINDOW);
        let current = f64::from(self.count) / elapsed.as_secs_f64();
        self.last.unwrap_or(0.0).max(current)
    }
}

impl RateLimiter {
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        Self {
            engaged: AtomicBool::new(false),
            early_sent: AtomicU32::new(0),
            created: now,
            state: Mutex::new(State {
                rate: None,
                next: now,
                paused_until: now,
                cuts: 0,
                cut_from: 0.0,
                cut_at: now,
                sent: Meter::new(now),
                admitted: Meter::new(now),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A permit at once while nothing is limited (before the first 429);
    /// `None` once attempts may have to wait ([`acquire`](Self::acquire)).
    pub(crate) fn try_acquire(&self) -> Option<Permit> {
        if self.engaged.load(Ordering::Acquire) {
            return None;
        }
        self.early_sent.fetch_add(1, Ordering::Relaxed);
        Some(Permit { cuts: 0 })
    }

    /// Waits until an attempt may start: after any pause, and its turn at
    /// the current rate.
    pub(crate) async fn acquire(&self) -> Permit {
        if let Some(permit) = self.try_acquire() {
            return permit;
        }
        loop {
            let (start, cuts) = {
                let mut state = self.lock();
                let now = Instant::now();
                let start = state.paused_until.max(now);
                let start = match state.rate {
                    None => start,
                    Some(rate) => {
                        let start = start.max(state.next);
                        state.next = start + Duration::from_secs_f64(1.0 / rate);
                        start
                    }
                };
                if start <= now {
                    state.sent.add(now);
                    return Permit { cuts: state.cuts };
                }
                (start, state.cuts)
            };
            tokio::time::sleep_until(start).await;
            let mut state = self.lock();
            let now = Instant::now();
            // The turn holds unless a cut (new turns at the new rate) or a
            // pause came meanwhile.
            if state.cuts == cuts && now >= state.paused_until {
                state.sent.add(now);
                return Permit { cuts };
            }
        }
    }

    /// Learns from an attempt's response: `throttled` for a 429, with the
    /// wait the server asked for.
    pub(crate) fn observe(&self, permit: Permit, throttled: bool, retry_after: Option<Duration>) {
        if !throttled && !self.engaged.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.lock();
        let now = Instant::now();
        if throttled {
            if let Some(wait) = retry_after {
                state.paused_until = state.paused_until.max(now + wait);
            }
            if permit.cuts == state.cuts {
                let current = match state.rate {
                    Some(rate) => rate,
                    None => {
                        // The first 429: the rate sent so far. Better too
                        // high (a few more cuts) than too low (a slow climb).
                        let elapsed = now.duration_since(self.created).max(WINDOW / 2);
                        let sent = self.early_sent.load(Ordering::Relaxed);
                        state.sent = Meter::new(now);
                        state.admitted = Meter::new(now);
                        (f64::from(sent) / elapsed.as_secs_f64()).max(MIN_RATE)
                    }
                };
                state.admitted.roll(now);
                let from = match state.admitted.last {
                    Some(admitted) => current.min(admitted.max(current * BETA)),
                    None => current,
                };
                state.cut_from = from;
                state.cut_at = now;
                state.cuts += 1;
                state.rate = Some((from * BETA).max(MIN_RATE));
                // Turns are taken again at the new rate, after the pause:
                // those taken at the old rate would keep it going.
                state.next = state.paused_until.max(now);
                self.engaged.store(true, Ordering::Release);
            }
        } else {
            state.admitted.add(now);
            if state.rate.is_some() {
                let since = now.duration_since(state.cut_at).as_secs_f64();
                let curve = cubic(state.cut_from, since);
                // Never far above what the run really sends (once measured).
                let cap = match state.sent.last {
                    Some(_) => 2.0 * state.sent.recent(now),
                    None => f64::INFINITY,
                };
                state.rate = Some(curve.min(cap).max(MIN_RATE));
            }
        }
    }

    /// The current rate (`None`: unlimited), for tests.
    #[cfg(test)]
    fn rate(&self) -> Option<f64> {
        self.lock().rate
    }
}

/// CUBIC's window curve, scaled to `cut_from`: `BETA * cut_from` right
/// after the cut, flat at `cut_from` after [`RECOVERY`], then growing again.
fn cubic(cut_from: f64, since_cut: f64) -> f64 {
    let k = RECOVERY.as_secs_f64();
    let c = (1.0 - BETA) / (k * k * k);
    cut_from * (1.0 + c * (since_cut - k).powi(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// `n` attempts back to back, each acquired then answered `throttled`;
    /// the time they took.
    async fn run(limiter: &RateLimiter, n: usize, throttled: bool) -> Duration {
        let started = Instant::now();
        for _ in 0..n {
            let permit = limiter.acquire().await;
            limiter.observe(permit, throttled, None);
        }
        started.elapsed()
    }

    /// `n` answered attempts, one a millisecond.
    async fn send_one_per_ms(limiter: &RateLimiter, n: usize) {
        for _ in 0..n {
            let permit = limiter.acquire().await;
            limiter.observe(permit, false, None);
            tokio::time::advance(MS).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_limited_before_a_429() {
        let limiter = RateLimiter::new();
        assert_eq!(run(&limiter, 1000, false).await, Duration::ZERO);
        assert_eq!(limiter.rate(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_attempt_for_what_the_server_asked() {
        let limiter = RateLimiter::new();
        let permit = limiter.acquire().await;
        let other = limiter.acquire().await;
        limiter.observe(permit, true, Some(250 * MS));
        let started = Instant::now();
        let _ = limiter.acquire().await;
        assert!(started.elapsed() >= 250 * MS, "{:?}", started.elapsed());
        // Another 429 to an attempt already under way pauses again, but
        // does not cut again.
        let rate = limiter.rate();
        limiter.observe(other, true, Some(500 * MS));
        assert_eq!(limiter.rate(), rate);
        let started = Instant::now();
        let _ = limiter.acquire().await;
        assert!(started.elapsed() >= 490 * MS, "{:?}", started.elapsed());
    }

    /// The first cut is from the rate the run was sending at; attempts are
    /// then spaced at the cut rate.
    #[tokio::test(start_paused = true)]
    async fn the_first_429_cuts_from_the_rate_sent() {
        let limiter = RateLimiter::new();
        // 1,000 attempts per second for a while.
        send_one_per_ms(&limiter, 500).await;
        let permit = limiter.acquire().await;
        limiter.observe(permit, true, None);
        let rate = limiter.rate().unwrap();
        assert!((780.0..=820.0).contains(&rate), "{rate}");
        // 100 attempts at 800/s take 99 intervals of 1.25 ms.
        let took = run(&limiter, 100, false).await;
        assert!(
            (Duration::from_millis(110)..=Duration::from_millis(124)).contains(&took),
            "{took:?}"
        );
    }

    /// A cut goes below the rate in force when S2 admitted less than that
    /// over the last window: to [`BETA`] times what it admitted.
    #[tokio::test(start_paused = true)]
    async fn a_cut_goes_to_what_was_admitted() {
        let limiter = RateLimiter::new();
        send_one_per_ms(&limiter, 300).await;
        let permit = limiter.acquire().await;
        limiter.observe(permit, true, None);
        // At the limiter's pace for 300 ms, one attempt in ten unanswered
        // (not admitted, and not counted as news either).
        let until = Instant::now() + Duration::from_millis(300);
        let mut i = 0;
        while Instant::now() < until {
            let permit = limiter.acquire().await;
            i += 1;
            if i % 10 != 0 {
                limiter.observe(permit, false, None);
            }
        }
        let before = limiter.rate().unwrap();
        let permit = limiter.acquire().await;
        limiter.observe(permit, true, None);
        let ratio = limiter.rate().unwrap() / before;
        assert!((0.68..=0.76).contains(&ratio), "{ratio}");
    }

    /// Each 429 to an attempt that started after the last cut cuts again;
    /// 429s to attempts that started before it do not.
    #[tokio::test(start_paused = true)]
    async fn only_news_cut_again() {
        let limiter = RateLimiter::new();
        tokio::time::advance(Duration::from_secs(1)).await;
        let early: Vec<Permit> =
            futures_util::future::join_all((0..10).map(|_| limiter.acquire())).await;
        limiter.observe(early[0], true, None);
        let first = limiter.rate().unwrap();
        for permit in &early[1..] {
            limiter.observe(*permit, true, None);
        }
        assert_eq!(limiter.rate(), Some(first));
        let permit = limiter.acquire().await;
        limiter.observe(permit, true, None);
        let second = limiter.rate().unwrap();
        // (Cut to less when nothing was admitted lately.)
        assert!(second <= first * BETA + 1e-6, "{first} then {second}");
    }

    /// After a cut the rate climbs back as attempts succeed: most of the way
    /// within half of the recovery time, to the rate cut from after it, and
    /// beyond it later (probing for more).
    #[tokio::test(start_paused = true)]
    async fn the_rate_recovers_along_a_cubic_curve() {
        let limiter = RateLimiter::new();
        // 1,000 attempts per second, then a 429.
        send_one_per_ms(&limiter, 200).await;
        let permit = limiter.acquire().await;
        limiter.observe(permit, true, None);
        let cut_from = limiter.rate().unwrap() / BETA;
        let rate_after = |elapsed: Duration| {
            let limiter = &limiter;
            async move {
                let until = Instant::now() + elapsed;
                while Instant::now() < until {
                    let permit = limiter.acquire().await;
                    limiter.observe(permit, false, None);
                }
                limiter.rate().unwrap() / cut_from
            }
        };
        let half = rate_after(RECOVERY / 2).await;
        assert!((0.95..1.0).contains(&half), "{half}");
        let full = rate_after(RECOVERY / 2).await;
        assert!((0.999..=1.001).contains(&full), "{full}");
        let later = rate_after(RECOVERY).await;
        assert!(later > 1.15, "{later}");
    }

    /// The rate never grows past twice what the run really sends.
    #[tokio::test(start_paused = true)]
    async fn the_rate_does_not_outgrow_what_is_sent() {
        let limiter = RateLimiter::new();
        send_one_per_ms(&limiter, 200).await;
        let permit = limiter.acquire().await;
        limiter.observe(permit, true, None);
        // Now a slow sender: 10 attempts per second for 5 s.
        for _ in 0..50 {
            tokio::time::advance(Duration::from_millis(100)).await;
            let permit = limiter.acquire().await;
            limiter.observe(permit, false, None);
        }
        let rate = limiter.rate().unwrap();
        assert!(rate <= 2.0 * 10.5, "{rate}");
    }
}
