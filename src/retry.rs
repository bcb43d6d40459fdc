//! When and how long to wait before trying a call again.
//!
//! The schedule is capped exponential backoff with *full jitter* (AWS's
//! standard retry mode): before retry `n` the client sleeps a uniformly
//! random time in `[0, min(max_backoff, min_backoff * 2^(n-1))]`. That is
//! one line of arithmetic, so it is written here rather than taken from a
//! backoff crate.
//!
//! A server's own hint wins over the schedule when it asks for longer:
//! S2's `retry-after-ms` header, else the standard `Retry-After` (seconds or
//! an HTTP date). No wait, hinted or not, may run past the call's deadline:
//! the client gives up with the last error instead.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::error::Failure;

/// How many attempts a call may make and how long to wait between them.
///
/// Defaults (S2's SDK uses the same): 3 attempts, backoff from 100 ms up to
/// 1 s, server hints honoured.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry.
    pub min_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
    /// Whether to wait as long as `retry-after-ms` / `Retry-After` ask.
    pub honor_retry_after: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            honor_retry_after: true,
        }
    }
}

impl RetryPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// One attempt, no retries.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the number of attempts (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the backoff range.
    #[must_use]
    pub fn with_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }

    /// Sets whether server hints are honoured.
    #[must_use]
    pub fn with_honor_retry_after(mut self, honor: bool) -> Self {
        self.honor_retry_after = honor;
        self
    }

    /// The jittered waits before each retry: `max_attempts - 1` of them.
    pub(crate) fn backoffs(&self) -> impl Iterator<Item = Duration> + use<> {
        let (min, max) = (self.min_backoff, self.max_backoff);
        (0..self.max_attempts.saturating_sub(1)).map(move |retry| {
            // 2^31 times any backoff is past every cap a caller sets.
            let ceiling = min.saturating_mul(1 << retry.min(31)).min(max);
            // Full jitter: uniformly random in `[0, ceiling]`.
            ceiling.mul_f64(fastrand::f64())
        })
    }

    /// The wait before the next attempt: the backoff, or the server's hint
    /// when it asks for longer and hints are honoured.
    pub(crate) fn wait(&self, backoff: Duration, hint: Option<Duration>) -> Duration {
        hint.filter(|_| self.honor_retry_after)
            .map_or(backoff, |hint| backoff.max(hint))
    }
}

/// The server's hint: `retry-after-ms` (S2) first, then `Retry-After`
/// (delay-seconds or HTTP-date). Malformed values are ignored.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_millis(ms));
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What to do after a failed attempt (while attempts and time are left).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Try again.
    Retry,
    /// The failure is not transient.
    Final,
    /// Transient, but the request is not idempotent and may have had an
    /// effect: a retry could do it twice.
    UnsafeToRetry,
}

/// S2's rule: idempotent requests (GET, HEAD, PUT, DELETE, or any request
/// carrying an idempotency token) retry every transient failure; others
/// (POST, PATCH without a token) only when nothing can have happened.
pub(crate) fn decision(failure: Failure<'_>, idempotent: bool) -> Decision {
    if !failure.is_retryable() {
        Decision::Final
    } else if idempotent || failure.had_no_effect() {
        Decision::Retry
    } else {
        Decision::UnsafeToRetry
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::error::{ApiError, TransportKind};

    /// An answer with S2's code, or a bare status (an HTML page).
    fn answer(status: u16, code: Option<&str>) -> ApiError {
        let status = StatusCode::from_u16(status).unwrap();
        match code {
            Some(code) => ApiError::new(status, code, ""),
            None => ApiError::from_body(status, None, b"<html>"),
        }
    }

    fn decide(failure: Result<TransportKind, &ApiError>, idempotent: bool) -> Decision {
        let failure = match failure {
            Ok(kind) => Failure::Transport(kind),
            Err(answer) => Failure::Answer(answer),
        };
        decision(failure, idempotent)
    }

    #[test]
    fn idempotent_requests_retry_every_transient_failure() {
        for kind in [
            TransportKind::Connect,
            TransportKind::Timeout,
            TransportKind::Broken,
        ] {
            assert_eq!(decide(Ok(kind), true), Decision::Retry, "{kind:?}");
        }
        for (status, code) in [
            (500, Some("other")),
            (503, None),
            (429, Some("rate_limited")),
            (408, Some("request_timeout")),
        ] {
            let e = answer(status, code);
            assert_eq!(decide(Err(&e), true), Decision::Retry, "{e}");
        }
        for (status, code) in [
            (404, Some("access_token_not_found")),
            (400, None),
            (412, None),
            (499, Some("client_hangup")),
        ] {
            let e = answer(status, code);
            assert_eq!(decide(Err(&e), true), Decision::Final, "{e}");
        }
    }

    #[test]
    fn other_requests_retry_only_when_nothing_happened() {
        assert_eq!(decide(Ok(TransportKind::Connect), false), Decision::Retry);
        for (status, code) in [
            (429, "rate_limited"),
            (503, "server_draining"),
            (502, "hot_server"),
            (409, "transaction_conflict"),
        ] {
            let e = answer(status, Some(code));
            assert_eq!(decide(Err(&e), false), Decision::Retry, "{e}");
        }
        for kind in [TransportKind::Timeout, TransportKind::Broken] {
            assert_eq!(decide(Ok(kind), false), Decision::UnsafeToRetry, "{kind:?}");
        }
        for (status, code) in [
            (500, Some("other")),
            (503, Some("unavailable")),
            (503, None),
            (429, None),
            (429, Some("brand_new_code")),
        ] {
            let e = answer(status, code);
            assert_eq!(decide(Err(&e), false), Decision::UnsafeToRetry, "{e}");
        }
    }

    #[test]
    fn unknown_codes_fall_back_on_the_status() {
        assert!(Failure::Answer(&answer(503, Some("brand_new_code"))).is_retryable());
        assert!(!Failure::Answer(&answer(400, Some("brand_new_code"))).is_retryable());
        assert!(Failure::Answer(&answer(500, Some("brand_new_code"))).may_have_taken_effect());
        assert!(!Failure::Answer(&answer(502, None)).may_have_taken_effect());
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        let ms = Duration::from_millis;
        type Headers<'a> = &'a [(&'static str, &'a str)];
        let cases: &[(Headers<'_>, Option<Duration>)] = &[
            (&[("retry-after-ms", "250")], Some(ms(250))),
            (&[("retry-after", "3")], Some(ms(3000))),
            // S2's header wins over the standard one.
            (
                &[("retry-after-ms", "10"), ("retry-after", "3")],
                Some(ms(10)),
            ),
            (&[("retry-after", &later)], Some(ms(7000))),
            (&[("retry-after", &past)], Some(Duration::ZERO)),
            (&[("retry-after", "soon")], None),
            (&[("retry-after", "-1")], None),
            (&[("retry-after", "1.5")], None),
            (&[("retry-after", "")], None),
            (
                &[("retry-after-ms", "x"), ("retry-after", "2")],
                Some(ms(2000)),
            ),
            (&[], None),
        ];
        for (pairs, expected) in cases {
            let mut headers = HeaderMap::new();
            for (name, value) in *pairs {
                headers.insert(*name, HeaderValue::from_str(value).unwrap());
            }
            assert_eq!(retry_after(&headers, now), *expected, "{pairs:?}");
        }
    }

    #[test]
    fn backoffs_are_fully_jittered_under_a_capped_exponential_ceiling() {
        let policy = RetryPolicy::new()
            .with_max_attempts(6)
            .with_backoff(Duration::from_millis(100), Duration::from_millis(400));
        let ceilings = [100, 200, 400, 400, 400].map(Duration::from_millis);
        let mut below_half = 0;
        for _ in 0..200 {
            let waits: Vec<Duration> = policy.backoffs().collect();
            assert_eq!(waits.len(), 5);
            for (wait, ceiling) in waits.iter().zip(ceilings) {
                assert!(*wait <= ceiling, "{wait:?} > {ceiling:?}");
                if *wait < ceiling / 2 {
                    below_half += 1;
                }
            }
        }
        // Full jitter: about half of all waits fall below half their ceiling.
        assert!((300..=700).contains(&below_half), "{below_half} of 1000");
    }

    #[test]
    fn disabled_and_hints() {
        assert_eq!(RetryPolicy::disabled().backoffs().count(), 0);
        assert_eq!(RetryPolicy::new().with_max_attempts(0).max_attempts, 1);
        let p = RetryPolicy::new();
        let ms = Duration::from_millis;
        assert_eq!(p.wait(ms(50), Some(ms(900))), ms(900));
        assert_eq!(p.wait(ms(50), Some(ms(10))), ms(50));
        assert_eq!(
            p.clone()
                .with_honor_retry_after(false)
                .wait(ms(50), Some(ms(900))),
            ms(50)
        );
    }
}
