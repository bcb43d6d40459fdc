//! What a call tells beyond progenitor's result: its trace (an `s2.call`
//! span named by the operation id, an `s2.attempt` span per attempt, an
//! event for each decision to retry or not) and the [`CallReport`] left in
//! a [`ReportSlot`] for the crate's own methods that read it. Headers are
//! never traced, so neither is the token.

use std::fmt::Display;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::time::Instant;
use tracing::Span;
use tracing::field::Empty;

/// The target of the layer's spans and events, whichever part makes them:
/// what subscribers filter and print (`s2_openapi::layer`).
const TARGET: &str = "s2_openapi::layer";

/// What the layer saw of one call beyond progenitor's result, for the
/// crate's own methods that report it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallReport {
    /// Attempts made.
    pub(crate) attempts: u32,
    /// The last response's status.
    pub(crate) status: Option<StatusCode>,
    /// Whether an attempt before the last may have been carried out.
    pub(crate) uncertain: bool,
}

/// Where a call leaves its [`CallReport`]: the layer copy made for the call
/// holds one clone, the caller the other.
#[derive(Clone, Default)]
pub(crate) struct ReportSlot(Arc<Mutex<CallReport>>);

impl ReportSlot {
    /// The report of the call made, once it has ended.
    pub(crate) fn get(&self) -> CallReport {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leaves the call's report.
    pub(super) fn put(&self, report: CallReport) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = report;
    }
}

/// A call's span, `s2.call`: the operation, and at its close the attempts
/// made, the last status and the code that ended it.
pub(super) struct CallSpan(Span);

impl CallSpan {
    pub(super) fn new(operation: &'static str) -> Self {
        Self(tracing::debug_span!(
            target: TARGET,
            "s2.call",
            operation,
            attempts = Empty,
            status = Empty,
            code = Empty,
        ))
    }

    /// The span, to run the call in. With tracing off it is disabled, and
    /// the call had better not be wrapped in it at all.
    pub(super) fn span(&self) -> &Span {
        &self.0
    }

    /// The code of the attempt that ended the call (not of one retried).
    pub(super) fn code(&self, code: &str) {
        if !self.0.is_disabled() {
            self.0.record("code", code);
        }
    }

    /// The call's outcome.
    pub(super) fn finish(&self, report: &CallReport) {
        // A disabled span still looks each field up by name: skip it.
        if !self.0.is_disabled() {
            self.0.record("attempts", report.attempts);
            if let Some(status) = report.status {
                self.0.record("status", status.as_u16());
            }
        }
    }
}

/// An attempt's span, `s2.attempt`: its number, and what it came to.
pub(super) struct AttemptSpan(Span);

impl AttemptSpan {
    /// The span of attempt `attempt` (from 1), inside the current span.
    pub(super) fn new(attempt: u32) -> Self {
        Self(tracing::debug_span!(
            target: TARGET,
            "s2.attempt",
            attempt,
            status = Empty,
            code = Empty,
            latency_ms = Empty,
        ))
    }

    /// The span, to run the attempt in (see [`CallSpan::span`]).
    pub(super) fn span(&self) -> &Span {
        &self.0
    }

    /// How long the attempt took, from `started`.
    pub(super) fn latency(&self, started: Instant) {
        if !self.0.is_disabled() {
            let millis = started.elapsed().as_millis() as u64;
            self.0.record("latency_ms", millis);
        }
    }

    /// The attempt's answer: its status, and S2's code if it had one.
    pub(super) fn answered(&self, status: Option<StatusCode>, code: Option<&str>) {
        if self.0.is_disabled() {
            return;
        }
        if let Some(status) = status {
            self.0.record("status", status.as_u16());
        }
        if let Some(code) = code {
            self.0.record("code", code);
        }
    }

    /// The call goes on after `wait`.
    pub(super) fn retrying(&self, wait: Duration) {
        let wait_ms = wait.as_millis() as u64;
        tracing::debug!(target: TARGET, parent: &self.0, wait_ms, "retrying");
    }

    /// The call ends with this attempt, for `reason`.
    pub(super) fn not_retrying(&self, reason: &'static str) {
        tracing::debug!(target: TARGET, parent: &self.0, reason, "not retrying");
    }

    /// The call ends with this attempt: the next could not be sent, for
    /// `reason`.
    pub(super) fn not_sent(&self, reason: &dyn Display) {
        tracing::debug!(target: TARGET, parent: &self.0, reason = %reason, "not retrying");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tracing_subscriber::fmt::format::FmtSpan;

    /// A log writer into memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// What `f` traces, every span's close included.
    fn traced(f: impl FnOnce()) -> String {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(captured.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // Other tests of this binary run without a subscriber: the
            // spans' cached interest is made to count this one.
            tracing::callsite::rebuild_interest_cache();
            f();
        });
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    /// Every line names the layer as its target (`s2_openapi::layer`),
    /// whichever part of it made the span or event.
    #[test]
    fn a_call_and_its_attempts_are_traced_with_their_outcome() {
        let log = traced(|| {
            let call = CallSpan::new("revoke_access_token");
            let _in_call = call.span().enter();
            let first = AttemptSpan::new(1);
            first.answered(Some(StatusCode::SERVICE_UNAVAILABLE), Some("unavailable"));
            first.latency(Instant::now());
            first.retrying(Duration::from_millis(7));
            drop(first);
            let second = AttemptSpan::new(2);
            second.answered(Some(StatusCode::NOT_FOUND), Some("not_found"));
            second.not_retrying("the failure is not transient");
            second.not_sent(&"the run was stopped");
            drop(second);
            call.code("not_found");
            call.finish(&CallReport {
                attempts: 2,
                status: Some(StatusCode::NOT_FOUND),
                uncertain: false,
            });
        });
        for needle in [
            "s2.call{operation=\"revoke_access_token\"}:s2.attempt{attempt=1 status=503 \
             code=\"unavailable\" latency_ms=",
            "}: s2_openapi::layer: retrying wait_ms=7",
            "s2_openapi::layer: not retrying reason=\"the failure is not transient\"",
            "s2_openapi::layer: not retrying reason=the run was stopped",
            // The code that ended the call, recorded before its outcome.
            "s2.call{operation=\"revoke_access_token\" code=\"not_found\" attempts=2 \
             status=404}: s2_openapi::layer: close",
        ] {
            assert!(log.contains(needle), "{needle} missing from:\n{log}");
        }
    }

    #[test]
    fn a_slot_holds_the_report_left_in_any_of_its_copies() {
        let slot = ReportSlot::default();
        assert_eq!(slot.get().attempts, 0);
        slot.clone().put(CallReport {
            attempts: 3,
            status: Some(StatusCode::OK),
            uncertain: true,
        });
        let report = slot.get();
        assert_eq!((report.attempts, report.status), (3, Some(StatusCode::OK)));
        assert!(report.uncertain);
    }
}
