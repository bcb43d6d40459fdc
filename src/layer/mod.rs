//! The request layer: what every generated call goes through, whatever the
//! operation, so that a regenerated client brings its new operations with the
//! same guarantees and no hand-written code per operation.
//!
//! progenitor hands each request it builds to [`ClientHooks::exec`], with the
//! spec's operation id. There, this layer:
//!
//! - refuses, in `pre`, a per-basin operation on the account's handle, an
//!   account operation on a basin's, and a URL that is not the operation's
//!   path template with one segment per argument;
//! - drops progenitor's `api-version` header (S2 defines none), adds the
//!   basin's `s2-basin` header for a [`Basin`](crate::Basin) handle, and gives
//!   operations that take S2's idempotency token (`s2-request-token`, read
//!   from the spec at build time) a fresh one when the caller set none: the
//!   same on every attempt, so a retried create is carried out once;
//! - sends `s2-format: base64` with every operation that declares it, whose
//!   record data the generator made [`RecordBytes`](crate::RecordBytes);
//! - compresses request bodies of 1 KiB or more when the client is set to
//!   ([`Compression`]), once per call, so retries resend the same bytes;
//! - makes up to [`RetryPolicy::max_attempts`] attempts within one overall
//!   deadline, each attempt's timeout cut to the time left, waiting a jittered
//!   backoff or the server's `retry-after-ms` / `Retry-After` between them;
//!   a request asking the server to wait (a long poll: the operation's
//!   `wait` query parameter, read from the spec) has that wait added to its
//!   attempt timeout and its deadline, as S2's SDK does;
//! - retries only what is safe by S2's rules (`retry::decision`);
//! - reads error bodies up to [`ERROR_BODY_LIMIT`] and hands progenitor a
//!   response holding just those bytes, which the crate's error reads;
//! - traces each call as an `s2.call` span named by the operation id, with
//!   an `s2.attempt` span per attempt. Headers are never traced, so neither
//!   is the token.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use crate::compression::Compression;
use crate::error::Failure;
use crate::generated;
use crate::rate_limit::RunLimiter;
use crate::retry::{Decision, RetryPolicy, decision};

mod error_body;
mod headers;
mod pacing;
mod report;
mod scope;

use error_body::{Failed, failed, read_whole};
// Both named at `crate::layer`, where the crate's other modules find them.
#[allow(unused_imports)]
pub(crate) use headers::{REQUEST_TOKEN, S2_BASIN};
pub use error_body::ERROR_BODY_LIMIT;
pub(crate) use error_body::read_capped;
use pacing::Pacing;
use report::{AttemptSpan, CallSpan};
use scope::Scope;
pub(crate) use report::{CallReport, ReportSlot};

/// Default timeout of one attempt, response body included (S2's SDK uses
/// the same).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default deadline of a whole call, retries and waits included: room for
/// three 5 s attempts and their backoff.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
/// An event stream's timeout: none in practice (a year).
const EVENT_STREAM_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The request layer every generated call goes through: retries, the
/// overall deadline (longer for a long poll), error-body capping, tracing,
/// idempotency tokens, the basin header and compressed request bodies
/// (see the [crate documentation](crate)).
///
/// [`ClientBuilder`](crate::ClientBuilder) builds it for each
/// [`Client`](crate::Client); it is the generated client's inner value. Build
/// one yourself only to give a hand-made [`generated::Client`] the same
/// guarantees ([`RequestLayer::default`] has the crate's defaults).
#[derive(Clone)]
pub struct RequestLayer {
    policy: Arc<Policy>,
    /// Whether the handle is a basin's, and the `s2-basin` header it sends
    /// when basins share the account endpoint.
    scope: Scope,
    /// When attempts may go: at once, or at their turn from a bulk run's
    /// rate limiter (set only on the run's own client).
    pacing: Pacing,
    /// Where a call made through this layer leaves its [`CallReport`] (set
    /// only on a copy made for one call, by [`RequestLayer::reporting`]).
    report: Option<ReportSlot>,
    /// Whether the answers are event streams (the live client's layer):
    /// sent with `Accept: text/event-stream`, with no per-attempt timeout
    /// on the body (the live read watches for silence instead).
    event_stream: bool,
    /// Whether every request carries a condition under which a repeat
    /// cannot take effect twice (a producer's appends with
    /// `match_seq_num`): retried like idempotent requests.
    conditional: bool,
    /// How request bodies are compressed (the `reqwest::Client` asks for
    /// and decompresses answers itself).
    compression: Compression,
}

#[derive(Debug)]
struct Policy {
    retry: RetryPolicy,
    request_timeout: Duration,
    operation_timeout: Duration,
}

impl fmt::Debug for RequestLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestLayer")
            .field("retry", &self.policy.retry)
            .field("request_timeout", &self.policy.request_timeout)
            .field("operation_timeout", &self.policy.operation_timeout)
            .field("scope", &self.scope)
            .field("compression", &self.compression)
            .finish()
    }
}

impl Default for RequestLayer {
    fn default() -> Self {
        Self::new(
            RetryPolicy::default(),
            DEFAULT_REQUEST_TIMEOUT,
            DEFAULT_OPERATION_TIMEOUT,
        )
    }
}

impl RequestLayer {
    /// A layer with this retry policy, per-attempt timeout (the one the
    /// `reqwest::Client` applies; only cut shorter, never made longer) and
    /// overall deadline.
    pub fn new(retry: RetryPolicy, request_timeout: Duration, operation_timeout: Duration) -> Self {
        Self {
            policy: Arc::new(Policy {
                retry,
                request_timeout,
                operation_timeout,
            }),
            scope: Scope::Account,
            pacing: Pacing::Free,
            report: None,
            event_stream: false,
            conditional: false,
            compression: Compression::None,
        }
    }

    /// The same layer, compressing request bodies with `compression`.
    pub(crate) fn compressing(self, compression: Compression) -> Self {
        Self {
            compression,
            ..self
        }
    }

    /// The same layer for the live client, whose answers are event streams.
    pub(crate) fn for_event_streams(&self) -> Self {
        Self {
            event_stream: true,
            ..self.clone()
        }
    }

    /// The same layer for requests that each carry a condition making a
    /// repeat fail instead of taking effect twice (an append's
    /// `match_seq_num`): an attempt that may have acted is retried, and the
    /// caller reads a failed condition after an uncertain attempt
    /// ([`CallReport::uncertain`]).
    #[cfg_attr(not(s2_operation = "append"), allow(dead_code))]
    pub(crate) fn for_conditional_requests(&self) -> Self {
        Self {
            conditional: true,
            ..self.clone()
        }
    }

    /// The same layer for a basin's handle, sending `s2-basin: <header>`
    /// on every request when there is one (basins on the account endpoint).
    pub(crate) fn for_basin(&self, header: Option<HeaderValue>) -> Self {
        Self {
            scope: Scope::Basin(header),
            ..self.clone()
        }
    }

    /// The same layer, every attempt gated by `limiter` (a bulk run's).
    pub(crate) fn with_rate_limiter(&self, limiter: Arc<RunLimiter>) -> Self {
        Self {
            pacing: Pacing::Run(limiter),
            ..self.clone()
        }
    }

    /// The same layer for one call, and the handle its [`CallReport`] is
    /// left in: what the layer learned that progenitor's result does not
    /// carry (the attempts made, whether an earlier one may have taken
    /// effect).
    fn reporting(&self) -> (Self, ReportSlot) {
        let report = ReportSlot::default();
        let layer = Self {
            report: Some(report.clone()),
            ..self.clone()
        };
        (layer, report)
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.policy.retry
    }

    /// The overall deadline of a call.
    pub fn operation_timeout(&self) -> Duration {
        self.policy.operation_timeout
    }

    /// One call: its attempts, within its deadline.
    async fn call(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        operation: &'static str,
    ) -> reqwest::Result<reqwest::Response> {
        let facts = crate::spec::operation(operation);
        let basin = self.scope.basin_header();
        headers::prepare(&mut request, facts, basin, self.compression);
        if self.event_stream {
            request
                .headers_mut()
                .insert(reqwest::header::ACCEPT, EVENT_STREAM);
            // Overrides the client's per-request timeout, which would cut
            // the stream; silence is watched for by the live read.
            *request.timeout_mut() = Some(EVENT_STREAM_TIMEOUT);
        }
        let takes_token = facts.is_some_and(|op| op.takes_request_token);
        // A long poll is answered up to `wait` late by design: an attempt
        // and the call get that much longer. (A live read's `wait` bounds
        // the gaps between records, not the answer: its requests have no
        // attempt timeout and keep their deadline.)
        let wait = match facts.and_then(|op| op.wait_param) {
            Some(name) if !self.event_stream => requested_wait(request.url(), name),
            _ => Duration::ZERO,
        };
        let idempotent = is_idempotent(request.method()) || takes_token || self.conditional;
        let span = CallSpan::new(operation);
        // With tracing off the span is disabled and wraps nothing: the
        // `Instrumented` layer would still cost every call. (The attempts'
        // future is made in each branch: moved out of a local it would be
        // copied once more, and it is large.)
        let (result, report) = if span.span().is_disabled() {
            self.attempts(http, request, idempotent, wait, &span).await
        } else {
            self.attempts(http, request, idempotent, wait, &span)
                .instrument(span.span().clone())
                .await
        };
        span.finish(&report);
        if let Some(slot) = &self.report {
            slot.put(report);
        }
        result
    }

    async fn attempts(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        idempotent: bool,
        wait: Duration,
        call_span: &CallSpan,
    ) -> (reqwest::Result<reqwest::Response>, CallReport) {
        let policy = &*self.policy;
        let request_timeout = policy.request_timeout.saturating_add(wait);
        // A bulk run's first attempt has had its turn from the run's rate
        // limiter (in `pre`); later ones wait for theirs below.
        let started = Instant::now();
        let mut granted_at = None;
        let deadline = deadline_after(started, policy.operation_timeout.saturating_add(wait));
        let mut backoffs = policy.retry.backoffs();
        let mut report = CallReport::default();
        // A bulk run's limiter gates every attempt, retries included, and
        // learns from each (rate_limit.rs).
        let pacing = &self.pacing;
        loop {
            report.attempts += 1;
            // The call's start is the first attempt's (one clock read),
            // unless it waited for the limiter.
            let attempt_started = match granted_at.take() {
                Some(at) => at,
                None if report.attempts == 1 => started,
                None => Instant::now(),
            };
            // A copy for the next attempt, unless none may follow (a
            // streaming body cannot be copied: it gets one attempt).
            let next = if report.attempts < policy.retry.max_attempts {
                retry_copy(&request)
            } else {
                None
            };
            let left = deadline.saturating_duration_since(attempt_started);
            if !self.event_stream && (left < request_timeout || !wait.is_zero()) {
                // Cut to the time left, or lengthened past the client's
                // own timeout by a long poll's wait.
                *request.timeout_mut() = Some(left.min(request_timeout));
            }
            let span = AttemptSpan::new(report.attempts);
            let once = attempt(http, request, self.event_stream);
            let outcome = if span.span().is_disabled() {
                once.await
            } else {
                let outcome = once.instrument(span.span().clone()).await;
                span.latency(attempt_started);
                outcome
            };
            let failed = match outcome {
                Attempt::Success(response) => {
                    pacing.answered(attempt_started, false, None);
                    report.status = Some(response.status());
                    span.answered(report.status, None);
                    return (Ok(response), report);
                }
                Attempt::Failed(failed) => failed,
            };
            let failure = failed.failure();
            let throttled = failed.status() == Some(StatusCode::TOO_MANY_REQUESTS);
            // A hint longer than a call may last would stall the whole run
            // for it: no call waits past its own deadline.
            let hint = failed.retry_after.map(|h| h.min(policy.operation_timeout));
            pacing.answered(attempt_started, throttled, hint);
            if let Some(status) = failed.status() {
                report.status = Some(status);
            }
            span.answered(failed.status(), failed.code());
            let wait = self.retry_wait(
                failure,
                idempotent,
                backoffs.next(),
                failed.retry_after,
                deadline,
            );
            let (Ok(wait), Some(next)) = (wait, next) else {
                let reason = wait
                    .err()
                    .unwrap_or("the request body cannot be sent again");
                span.not_retrying(reason);
                if let Some(code) = failed.code() {
                    call_span.code(code);
                }
                return (failed.result, report);
            };
            report.uncertain |= failure.may_have_taken_effect();
            span.retrying(wait);
            match pacing.retry_turn(wait, deadline).await {
                Ok(at) => granted_at = at,
                Err(not_sent) => {
                    span.not_sent(&not_sent);
                    return (failed.result, report);
                }
            }
            request = next;
        }
    }

    /// How long to wait before retrying, or why not to retry.
    fn retry_wait(
        &self,
        failure: Failure<'_>,
        idempotent: bool,
        backoff: Option<Duration>,
        hint: Option<Duration>,
        deadline: Instant,
    ) -> Result<Duration, &'static str> {
        match decision(failure, idempotent) {
            Decision::Final => return Err("the failure is not transient"),
            Decision::UnsafeToRetry => {
                return Err("the request is not idempotent and may have had an effect");
            }
            Decision::Retry => {}
        }
        let backoff = backoff.ok_or("no attempts left")?;
        let wait = self.policy.retry.wait(backoff, hint);
        if Instant::now().checked_add(wait).is_none_or(|at| at >= deadline) {
            return Err("the wait would pass the deadline");
        }
        Ok(wait)
    }
}

/// How long `url` asks the server to wait: its query parameter `name`, in
/// seconds. Absent or not a number (the server will refuse it), nothing.
fn requested_wait(url: &url::Url, name: &str) -> Duration {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .and_then(|(_, value)| value.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs)
}

/// `timeout` after `start`, or a century after it when the sum is past what
/// an `Instant` holds (a `Duration::MAX` "no deadline").
fn deadline_after(start: Instant, timeout: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    (start.checked_add(timeout))
        .or_else(|| start.checked_add(CENTURY))
        .unwrap_or(start)
}

impl RequestLayer {
    /// Why `request` must not be sent, if it must not: an operation the
    /// spec serves per basin, on a handle without one (sent from the
    /// account's handle it would reach no basin: `bad_header` on a shared
    /// endpoint, the account host otherwise), or an account operation on a
    /// basin's handle; or a bulk run stopped, or
    /// past its deadline, while the request waited for its turn. A bulk
    /// run's first attempt waits here for its turn, as for a place among
    /// the run's concurrent requests: the call's deadline starts when it
    /// is sent.
    async fn refusal(
        &self,
        request: &reqwest::Request,
        operation: &str,
        base_url: &str,
    ) -> Option<String> {
        let facts = crate::spec::operation(operation);
        if let Some(refused) = facts.and_then(|op| self.scope.refusal(request, op, base_url)) {
            return Some(refused);
        }
        let timeout = self.policy.operation_timeout;
        let turn = self.pacing.first_turn(|| deadline_after(Instant::now(), timeout));
        if let Err(not_sent) = turn.await {
            return Some(not_sent.to_string());
        }
        None
    }
}

/// Every generated call goes through the request layer: the main client's
/// and the live client's, with the same rules.
macro_rules! hooks {
    ($client:ty) => {
        impl ClientHooks<RequestLayer> for $client {
            /// Refuses what must not be sent: a per-basin operation on the
            /// account's handle, or a stopped or overdue bulk run's request.
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                let refusal = self.inner.refusal(request, info.operation_id, &self.baseurl);
                match refusal.await {
                    Some(why) => Err(progenitor_client::Error::Custom(why)),
                    None => Ok(()),
                }
            }

            async fn exec(
                &self,
                request: reqwest::Request,
                info: &OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                self.inner
                    .call(&self.client, request, info.operation_id)
                    .await
            }
        }
    };
}

hooks!(generated::Client);
hooks!(generated::live::Client);

/// What one attempt came to.
enum Attempt {
    Success(reqwest::Response),
    Failed(Failed),
}

/// One attempt. A success comes back with its body read, unless it is an
/// event stream (`streaming`): a body cut short is the attempt's failure,
/// retried by the same rules, not a failure after the layer is done. An
/// error response comes back with its body read (capped) and S2's answer
/// read from it.
async fn attempt(http: &reqwest::Client, request: reqwest::Request, streaming: bool) -> Attempt {
    match http.execute(request).await {
        Ok(response) if response.status().is_success() && streaming => Attempt::Success(response),
        Ok(response) if response.status().is_success() => match read_whole(response).await {
            Ok(response) => Attempt::Success(response),
            Err(e) => Attempt::Failed(Failed::below_http(e, None)),
        },
        // Boxed: only errors take this path, and inline it would make every
        // call's future larger.
        Ok(response) => Attempt::Failed(Box::pin(failed(response)).await),
        Err(e) => Attempt::Failed(Failed::below_http(e, None)),
    }
}

/// A copy of `request` for a retry; `None` for a streaming body, which
/// cannot be sent again. A request without a body is copied field by field:
/// reqwest's `try_clone` also builds and drops an empty timeout entry, which
/// costs more than the rest of a body-less copy. The fields are all a
/// request built by reqwest's builder has (its only extension is the
/// timeout), which a test checks against `try_clone`.
fn retry_copy(request: &reqwest::Request) -> Option<reqwest::Request> {
    if request.body().is_some() {
        return request.try_clone();
    }
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    if let Some(&timeout) = request.timeout() {
        *copy.timeout_mut() = Some(timeout);
    }
    Some(copy)
}

/// GET, HEAD, PUT, DELETE, OPTIONS and TRACE (RFC 9110, 9.2.2).
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// A copy of `client` for one call (same pool, base URL and layer), and
/// the slot where that call leaves its [`CallReport`]: for the crate's
/// own methods that read what progenitor's result does not carry.
pub(crate) fn reporting_client(client: &generated::Client) -> (generated::Client, ReportSlot) {
    let (layer, report) = client.inner.reporting();
    let client = generated::Client::new_with_client(&client.baseurl, client.client.clone(), layer);
    (client, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything of a request, extensions counted, as `http` shows it.
    fn parts(request: reqwest::Request) -> (String, usize, Option<Duration>) {
        let timeout = request.timeout().copied();
        let request = http::Request::try_from(request).unwrap();
        let shown = format!(
            "{} {} {:?} {:?}",
            request.method(),
            request.uri(),
            request.version(),
            request.headers()
        );
        (shown, request.extensions().len(), timeout)
    }

    #[test]
    fn a_retry_copy_is_what_reqwest_would_copy() {
        let http = reqwest::Client::new();
        let requests = [
            http.delete("http://127.0.0.1:1/v1/access-tokens/a%2Fb")
                .header("s2-basin", "b")
                .bearer_auth("secret"),
            http.get("http://[::1]:1/v1/streams?limit=2")
                .version(reqwest::Version::HTTP_2)
                .timeout(Duration::from_millis(1500)),
        ];
        for request in requests {
            let request = request.build().unwrap();
            let copy = retry_copy(&request).unwrap();
            let cloned = request.try_clone().unwrap();
            assert_eq!(parts(copy), parts(cloned));
        }
        let body = http.post("http://127.0.0.1:1/v1/basins").body("{}");
        let request = body.build().unwrap();
        let copy = retry_copy(&request).unwrap();
        assert_eq!(copy.body().and_then(|b| b.as_bytes()), Some(&b"{}"[..]));
    }

    #[test]
    fn the_wait_is_read_from_the_query_in_seconds() {
        let wait = |url: &str| requested_wait(&url::Url::parse(url).unwrap(), "wait");
        assert_eq!(wait("http://h/v1/streams/s/records?seq_num=0&wait=12"), Duration::from_secs(12));
        assert_eq!(wait("http://h/v1/streams/s/records?wait=0"), Duration::ZERO);
        assert_eq!(wait("http://h/v1/streams/s/records?seq_num=3"), Duration::ZERO);
        assert_eq!(wait("http://h/v1/streams/s/records?wait=x&await=9"), Duration::ZERO);
        assert_eq!(wait("http://h/v1/streams/s/records"), Duration::ZERO);
        // Out of any range S2 allows, and still no overflow.
        let huge = wait("http://h/r?wait=18446744073709551615");
        assert_eq!(huge, Duration::from_secs(u64::MAX));
        assert_eq!(Duration::from_secs(5).saturating_add(huge), Duration::MAX);
    }
}
