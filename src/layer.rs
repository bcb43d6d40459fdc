//! The request layer: what every generated call goes through, whatever the
//! operation, so that a regenerated client brings its new operations with the
//! same guarantees and no hand-written code per operation.
//!
//! progenitor hands each request it builds to [`ClientHooks::exec`], with the
//! spec's operation id. There, this layer:
//!
//! - drops progenitor's `api-version` header (S2 defines none), adds the
//!   basin's `s2-basin` header for a [`Basin`](crate::Basin) handle, and gives
//!   operations that take S2's idempotency token (`s2-request-token`, read
//!   from the spec at build time) a fresh one when the caller set none: the
//!   same on every attempt, so a retried create is carried out once;
//! - makes up to [`RetryPolicy::max_attempts`] attempts within one overall
//!   deadline, each attempt's timeout cut to the time left, waiting a jittered
//!   backoff or the server's `retry-after-ms` / `Retry-After` between them;
//! - retries only what is safe by S2's rules ([`retry_decision`]);
//! - reads error bodies up to [`ERROR_BODY_LIMIT`] and hands progenitor a
//!   response holding just those bytes;
//! - traces each call as an `s2.call` span named by the operation id, with
//!   an `s2.attempt` span per attempt. Headers are never traced, so neither
//!   is the token.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::Either;
use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{DEFAULT_OPERATION_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
use crate::error::{ApiError, Error, is_retryable_status};
use crate::generated;
use crate::rate_limit::RunLimiter;
use crate::retry::{RetryPolicy, retry_after};

/// At most this much of an error response's body is read (the rest is left
/// unread and the connection dropped): enough for any `ErrorInfo`, bounded
/// whatever the server sends.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// progenitor's header, set to the spec's `info.version`. S2 defines no
/// such header and ignores it, so requests go without it.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// S2's idempotency token header.
pub(crate) const REQUEST_TOKEN: HeaderName = HeaderName::from_static("s2-request-token");

/// The header naming the basin when basins share the account endpoint
/// (s2-lite, a single cell).
pub(crate) const S2_BASIN: HeaderName = HeaderName::from_static("s2-basin");

/// The request layer every generated call goes through: retries, the
/// overall deadline, error-body capping, tracing, idempotency tokens and
/// the basin header (see the [crate documentation](crate)).
///
/// [`ClientBuilder`](crate::ClientBuilder) builds it for each
/// [`Client`](crate::Client); it is the generated client's inner value. Build
/// one yourself only to give a hand-made [`generated::Client`] the same
/// guarantees ([`RequestLayer::default`] has the crate's defaults).
#[derive(Clone)]
pub struct RequestLayer {
    policy: Arc<Policy>,
    basin: Option<HeaderValue>,
    /// A bulk run's rate limiter and stop token, which gate every attempt
    /// (set only on the run's own client).
    limiter: Option<Arc<RunLimiter>>,
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
            .field("basin", &self.basin)
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
            basin: None,
            limiter: None,
        }
    }

    /// The same layer, sending `s2-basin: <basin>` on every request.
    pub(crate) fn with_basin_header(&self, basin: Option<HeaderValue>) -> Self {
        Self {
            basin,
            ..self.clone()
        }
    }

    /// The same layer, every attempt gated by `limiter` (a bulk run's).
    pub(crate) fn with_rate_limiter(&self, limiter: Arc<RunLimiter>) -> Self {
        Self {
            limiter: Some(limiter),
            ..self.clone()
        }
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
        let headers = request.headers_mut();
        headers.remove(&API_VERSION);
        if let Some(basin) = &self.basin {
            headers.entry(S2_BASIN).or_insert_with(|| basin.clone());
        }
        let takes_token =
            crate::spec::operation(operation).is_some_and(|op| op.takes_request_token);
        if takes_token && !headers.contains_key(&REQUEST_TOKEN) {
            headers.insert(REQUEST_TOKEN, fresh_request_token());
        }
        let idempotent = is_idempotent(request.method()) || takes_token;
        let span = tracing::debug_span!(
            "s2.call",
            operation,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        // With tracing off the span is disabled and wraps nothing: the
        // `Instrumented` layer would still cost every call. (The attempts'
        // future is made in each branch: moved out of a local it would be
        // copied once more, and it is large.)
        let (result, report) = if span.is_disabled() {
            self.attempts(http, request, operation, idempotent, &span)
                .await
        } else {
            self.attempts(http, request, operation, idempotent, &span)
                .instrument(span.clone())
                .await
        };
        span.record("attempts", report.attempts);
        if let Some(status) = report.status {
            span.record("status", status.as_u16());
        }
        let _ = CALL.try_with(|call| call.set(report));
        result
    }

    async fn attempts(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        operation: &str,
        idempotent: bool,
        call_span: &tracing::Span,
    ) -> (reqwest::Result<reqwest::Response>, CallReport) {
        let policy = &*self.policy;
        let started = Instant::now();
        let deadline = started + policy.operation_timeout;
        let mut backoffs = policy.retry.backoffs();
        let mut report = CallReport::default();
        // A bulk run's rate limiter gates every attempt, retries included,
        // and learns from each (rate_limit.rs). An attempt still waiting for
        // it when the run is stopped or the deadline passes is not sent.
        let limiter = self.limiter.as_deref();
        let mut granted = None;
        if let Some(limiter) = limiter {
            match permit_by(limiter, Duration::ZERO, deadline).await {
                Ok(at) => granted = Some(at),
                Err(not_sent) => {
                    tracing::debug!(reason = %not_sent, "not sending");
                    // The attempt that waited, for the deadline's message.
                    report.attempts = 1;
                    if not_sent == NotSent::DeadlinePassed {
                        report.deadline_passed = Some(policy.operation_timeout);
                    }
                    return (Err(not_sent.into_reqwest().await), report);
                }
            }
        }
        loop {
            report.attempts += 1;
            // The call's start is the first attempt's (one clock read),
            // unless it waited for the limiter.
            let attempt_started = match granted.take() {
                Some(at) => at,
                None if report.attempts == 1 => started,
                None => Instant::now(),
            };
            // A copy for the next attempt, unless none may follow (a
            // streaming body cannot be copied: it gets one attempt). The
            // backoffs are drawn only for retries.
            let next = if report.attempts < policy.retry.max_attempts {
                request.try_clone()
            } else {
                None
            };
            let left = deadline.saturating_duration_since(attempt_started);
            if left < policy.request_timeout {
                *request.timeout_mut() = Some(left);
            }
            let span = tracing::debug_span!(
                "s2.attempt",
                attempt = report.attempts,
                status = tracing::field::Empty,
                code = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let once = attempt(http, request, operation);
            let outcome = if span.is_disabled() {
                once.await
            } else {
                let outcome = once.instrument(span.clone()).await;
                span.record("latency_ms", attempt_started.elapsed().as_millis() as u64);
                outcome
            };
            let failure = match outcome {
                Ok(Attempt::Success(response)) => {
                    if let Some(limiter) = limiter {
                        limiter.answered(attempt_started, false, None);
                    }
                    report.status = Some(response.status());
                    span.record("status", response.status().as_u16());
                    return (Ok(response), report);
                }
                Ok(Attempt::Failed(failure)) => failure,
                Err(e) => {
                    let kind = FailureKind::of_transport(&e);
                    Failure {
                        kind,
                        retry_after: None,
                        result: Err(e),
                    }
                }
            };
            if let Some(limiter) = limiter {
                let throttled = failure.kind.status() == Some(StatusCode::TOO_MANY_REQUESTS);
                limiter.answered(attempt_started, throttled, failure.retry_after);
            }
            if let Some(status) = failure.kind.status() {
                report.status = Some(status);
                span.record("status", status.as_u16());
            }
            if let FailureKind::Api(e) = &failure.kind {
                span.record("code", e.code().as_str());
            }
            if failure.kind == FailureKind::Timeout && Instant::now() >= deadline {
                report.deadline_passed = Some(policy.operation_timeout);
            }
            let wait = match report.deadline_passed {
                Some(_) => Err("the call's deadline passed"),
                None => self.retry_wait(&failure, idempotent, backoffs.next(), deadline),
            };
            let (Ok(wait), Some(next)) = (wait, next) else {
                let reason = wait
                    .err()
                    .unwrap_or("the request body cannot be sent again");
                tracing::debug!(parent: &span, reason, "not retrying");
                if let FailureKind::Api(e) = &failure.kind {
                    call_span.record("code", e.code().as_str());
                }
                return (failure.result, report);
            };
            report.uncertain |= failure.kind.outcome_unknown();
            tracing::debug!(parent: &span, wait_ms = wait.as_millis() as u64, "retrying");
            match limiter {
                // Boxed: only retries wait, and inline the timer would make
                // every call's future larger.
                None => Box::pin(tokio::time::sleep(wait)).await,
                Some(limiter) => match permit_by(limiter, wait, deadline).await {
                    Ok(at) => granted = Some(at),
                    Err(not_sent) => {
                        tracing::debug!(parent: &span, reason = %not_sent, "not retrying");
                        if not_sent == NotSent::DeadlinePassed {
                            report.deadline_passed = Some(policy.operation_timeout);
                        }
                        return (failure.result, report);
                    }
                },
            }
            request = next;
        }
    }
}

impl RequestLayer {
    /// How long to wait before retrying `failure`, or why not to retry.
    fn retry_wait(
        &self,
        failure: &Failure,
        idempotent: bool,
        backoff: Option<Duration>,
        deadline: Instant,
    ) -> Result<Duration, &'static str> {
        match retry_decision(&failure.kind, idempotent) {
            Decision::Final => return Err("the failure is not transient"),
            Decision::UnsafeToRetry => {
                return Err("the request is not idempotent and may have had an effect");
            }
            Decision::Retry => {}
        }
        let backoff = backoff.ok_or("no attempts left")?;
        let wait = self.policy.retry.wait(backoff, failure.retry_after);
        if Instant::now() + wait >= deadline {
            return Err("the wait would pass the deadline");
        }
        Ok(wait)
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

/// An attempt that waited for a bulk run's rate limiter and was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotSent {
    /// The run was stopped ([`crate::BulkOptions::stop`]).
    #[error("the bulk run was stopped before the request was sent")]
    Stopped,
    /// The call's deadline passed.
    #[error("the call's deadline passed before the request was sent")]
    DeadlinePassed,
}

impl NotSent {
    /// As the error `exec` returns, reqwest's (which has no constructor):
    /// reading a body that fails with this, as a timeout for the deadline
    /// (which the crate's error then reports as the deadline passing).
    async fn into_reqwest(self) -> reqwest::Error {
        let error: Box<dyn std::error::Error + Send + Sync> = match self {
            Self::Stopped => Box::new(self),
            Self::DeadlinePassed => {
                Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, self))
            }
        };
        let body = futures_util::stream::once(std::future::ready(Err::<Vec<u8>, _>(error)));
        let response = http::Response::new(reqwest::Body::wrap_stream(body));
        match reqwest::Response::from(response).bytes().await {
            Err(e) => e,
            Ok(_) => unreachable!("a body whose only chunk is an error was read"),
        }
    }
}

/// Every generated call goes through the request layer.
impl ClientHooks<RequestLayer> for generated::Client {
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

/// What one attempt came to, when a response arrived.
enum Attempt {
    Success(reqwest::Response),
    Failed(Failure),
}

/// A failed attempt: what it tells about retrying, and what the caller
/// gets should it be the last.
struct Failure {
    kind: FailureKind,
    retry_after: Option<Duration>,
    result: reqwest::Result<reqwest::Response>,
}

/// One attempt. An error response comes back with its body read (capped)
/// and S2's code parsed from it.
async fn attempt(
    http: &reqwest::Client,
    request: reqwest::Request,
    operation: &str,
) -> reqwest::Result<Attempt> {
    let response = http.execute(request).await?;
    let status = response.status();
    if status.is_success() {
        return Ok(Attempt::Success(response));
    }
    // Boxed: only errors take this path, and inline it would make every
    // call's future larger.
    Box::pin(failed(response, operation)).await
}

async fn failed(response: reqwest::Response, operation: &str) -> reqwest::Result<Attempt> {
    let status = response.status();
    let retry_after = retry_after(response.headers(), SystemTime::now());
    let (parts, body) = match read_capped(response, ERROR_BODY_LIMIT).await {
        Ok(read) => read,
        // The body broke off: the attempt failed in transport.
        Err(e) => {
            return Ok(Attempt::Failed(Failure {
                kind: FailureKind::of_transport(&e),
                retry_after,
                result: Err(e),
            }));
        }
    };
    let kind = FailureKind::of_response(status, &body);
    let response = if crate::spec::error_body_decodes(operation, status.as_u16(), &body)
        == Some(false)
    {
        // progenitor would decode this body as the spec's type, fail, and
        // drop the status: reading the body fails instead, with the status
        // and the body as the error's source.
        let undecodable = UndecodableBody { status, body };
        let stream = futures_util::stream::once(std::future::ready(Err::<Vec<u8>, _>(undecodable)));
        http::Response::from_parts(parts, reqwest::Body::wrap_stream(stream))
    } else {
        http::Response::from_parts(parts, reqwest::Body::from(body))
    };
    Ok(Attempt::Failed(Failure {
        kind,
        retry_after,
        result: Ok(reqwest::Response::from(response)),
    }))
}

/// A documented error status whose body is not the spec's type for it,
/// carried to the crate's error conversion inside the body-read error
/// progenitor reports (`ResponseBodyError`).
#[derive(Debug, thiserror::Error)]
#[error("S2 answered {status} with a body that is not the spec's error type for it")]
pub(crate) struct UndecodableBody {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

/// Reads at most `limit` bytes of the body (the rest is left unread) and
/// returns them with the response's head, its `content-length` dropped. A
/// body that fails to arrive is the attempt's error.
async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> reqwest::Result<(http::response::Parts, Vec<u8>)> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await? {
            Some(chunk) => {
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = response.status();
    parts.version = response.version();
    parts.headers = std::mem::take(response.headers_mut());
    parts.headers.remove(reqwest::header::CONTENT_LENGTH);
    Ok((parts, body))
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// No connection was made (refused, unreachable, connect timeout):
    /// nothing was sent.
    NotConnected,
    /// The attempt timed out after the request may have left.
    Timeout,
    /// The connection broke (reset, protocol error, a body cut short)
    /// after the request may have left.
    Broken,
    /// S2 answered an error with its code.
    Api(ApiError),
    /// An error status without S2's code (a proxy's page, an empty body).
    Status(StatusCode),
}

impl FailureKind {
    /// reqwest marks a connect timeout both `is_connect` and `is_timeout`:
    /// it never connected, so nothing was sent.
    pub(crate) fn of_transport(e: &reqwest::Error) -> Self {
        if e.is_connect() {
            Self::NotConnected
        } else if e.is_timeout() {
            Self::Timeout
        } else {
            Self::Broken
        }
    }

    /// What a call's error says of its last attempt; `None` for a call
    /// refused before sending, or a response whose body did not match.
    pub(crate) fn of_error(error: &Error) -> Option<Self> {
        match error {
            Error::Connect(_) => Some(Self::NotConnected),
            Error::Timeout(_) => Some(Self::Timeout),
            Error::Transport(_) => Some(Self::Broken),
            Error::Api(e) => Some(Self::Api(e.clone())),
            Error::UnexpectedResponse(_) | Error::Response(_) => error.status().map(Self::Status),
            _ => None,
        }
    }

    /// An error response: S2's, when its body is an `ErrorInfo`.
    fn of_response(status: StatusCode, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Info<'a> {
            #[serde(borrow)]
            code: std::borrow::Cow<'a, str>,
            #[serde(default)]
            message: String,
        }
        match serde_json::from_slice::<Info<'_>>(body) {
            Ok(info) => Self::Api(ApiError::new(status, &info.code, info.message)),
            Err(_) => Self::Status(status),
        }
    }

    fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) => Some(e.status()),
            Self::Status(status) => Some(*status),
            _ => None,
        }
    }

    /// Whether the failure is transient: the same request may succeed later.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Self::NotConnected | Self::Timeout | Self::Broken => true,
            Self::Api(e) => e.is_retryable(),
            Self::Status(status) => is_retryable_status(*status),
        }
    }

    /// Whether S2 guarantees the attempt had no effect: no connection was
    /// made, or S2's code says so. A bare status gives no such guarantee.
    fn had_no_effect(&self) -> bool {
        match self {
            Self::NotConnected => true,
            Self::Api(e) => e.has_no_side_effects(),
            _ => false,
        }
    }

    /// Whether the attempt may nonetheless have been carried out: it timed
    /// out or broke after sending, or S2 answered a code with possible side
    /// effects (a bare status: 408, 500 or 504).
    pub(crate) fn outcome_unknown(&self) -> bool {
        match self {
            Self::NotConnected => false,
            Self::Timeout | Self::Broken => true,
            Self::Api(e) => !e.has_no_side_effects(),
            Self::Status(status) => matches!(status.as_u16(), 408 | 500 | 504),
        }
    }
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
pub(crate) fn retry_decision(kind: &FailureKind, idempotent: bool) -> Decision {
    if !kind.is_retryable() {
        Decision::Final
    } else if idempotent || kind.had_no_effect() {
        Decision::Retry
    } else {
        Decision::UnsafeToRetry
    }
}

/// GET, HEAD, PUT, DELETE, OPTIONS and TRACE (RFC 9110, 9.2.2).
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// A random idempotency token: 32 hex digits (128 bits), as S2's SDK sends
/// (a UUID's simple form), within the spec's 36-character limit.
fn fresh_request_token() -> HeaderValue {
    let token = format!("{:032x}", fastrand::u128(..));
    // Hex digits are always a valid header value.
    HeaderValue::from_str(&token).unwrap_or(HeaderValue::from_static("0"))
}

/// What the layer saw of a call, for the crate's own methods that need
/// more than progenitor keeps ([`reported`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallReport {
    /// Attempts made.
    pub(crate) attempts: u32,
    /// The last response's status.
    pub(crate) status: Option<StatusCode>,
    /// Whether an attempt before the last may have been carried out.
    pub(crate) uncertain: bool,
    /// The overall deadline, when the last attempt ran into it.
    pub(crate) deadline_passed: Option<Duration>,
}

tokio::task_local! {
    static CALL: Cell<CallReport>;
}

/// Runs `call` (a generated call) and returns what the layer saw of it.
pub(crate) async fn reported<F: Future>(call: F) -> (F::Output, CallReport) {
    CALL.scope(Cell::new(CallReport::default()), async {
        let output = call.await;
        (output, CALL.with(Cell::get))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u16, s2: Option<&str>) -> FailureKind {
        let status = StatusCode::from_u16(code).unwrap();
        match s2 {
            Some(s2) => FailureKind::Api(ApiError::new(status, s2, String::new())),
            None => FailureKind::Status(status),
        }
    }

    #[test]
    fn idempotent_requests_retry_every_transient_failure() {
        for kind in [
            FailureKind::NotConnected,
            FailureKind::Timeout,
            FailureKind::Broken,
            answer(500, Some("other")),
            answer(503, None),
            answer(429, Some("rate_limited")),
            answer(408, Some("request_timeout")),
        ] {
            assert_eq!(retry_decision(&kind, true), Decision::Retry, "{kind:?}");
        }
        for kind in [
            answer(404, Some("access_token_not_found")),
            answer(400, None),
            answer(412, None),
            answer(499, Some("client_hangup")),
        ] {
            assert_eq!(retry_decision(&kind, true), Decision::Final, "{kind:?}");
        }
    }

    #[test]
    fn other_requests_retry_only_when_nothing_happened() {
        for kind in [
            FailureKind::NotConnected,
            answer(429, Some("rate_limited")),
            answer(503, Some("server_draining")),
            answer(502, Some("hot_server")),
            answer(409, Some("transaction_conflict")),
        ] {
            assert_eq!(retry_decision(&kind, false), Decision::Retry, "{kind:?}");
        }
        for kind in [
            FailureKind::Timeout,
            FailureKind::Broken,
            answer(500, Some("other")),
            answer(503, Some("unavailable")),
            answer(503, None),
            answer(429, None),
            answer(429, Some("brand_new_code")),
        ] {
            assert_eq!(
                retry_decision(&kind, false),
                Decision::UnsafeToRetry,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn unknown_codes_fall_back_on_the_status() {
        assert!(answer(503, Some("brand_new_code")).is_retryable());
        assert!(!answer(400, Some("brand_new_code")).is_retryable());
        assert!(answer(500, Some("brand_new_code")).outcome_unknown());
        assert!(!answer(502, None).outcome_unknown());
    }

    #[test]
    fn request_tokens_are_fresh_and_fit_the_spec() {
        let a = fresh_request_token();
        let b = fresh_request_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.to_str().unwrap().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn s2_answers_are_read_from_error_info_bodies() {
        let status = StatusCode::TOO_MANY_REQUESTS;
        assert_eq!(
            FailureKind::of_response(status, br#"{"code":"rate_limited","message":"slow"}"#),
            FailureKind::Api(ApiError::new(status, "rate_limited", "slow".to_owned()))
        );
        assert_eq!(
            FailureKind::of_response(status, b"<html>"),
            FailureKind::Status(status)
        );
        assert_eq!(
            FailureKind::of_response(status, br#"{"message":"no code"}"#),
            FailureKind::Status(status)
        );
    }
}
