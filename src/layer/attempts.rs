//! A call's attempts: up to [`RetryPolicy::max_attempts`] within one
//! overall deadline, each attempt's timeout cut to the time left, waiting a
//! jittered backoff or the server's hint between them, and retrying only
//! what is safe by S2's rules (`retry::decision`). A long poll (the
//! operation's `wait` query parameter, read from the spec) has its wait
//! added to the attempt timeout and the deadline, as S2's SDK does. What an
//! answer is ([`Answers`]) and how attempts are paced ([`Pacing`]) are
//! values the attempts are handed.

use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use super::error_body::{Failed, failed, read_whole};
use super::pacing::Pacing;
use super::report::{AttemptSpan, CallReport, CallSpan};
use crate::error::Failure;
use crate::retry::{Decision, RetryPolicy, decision};
use crate::spec::Operation;

/// Default timeout of one attempt, response body included (S2's SDK uses
/// the same).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default deadline of a whole call, retries and waits included: room for
/// three 5 s attempts and their backoff.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
/// An event stream's timeout: none in practice (a year).
const EVENT_STREAM_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// What bounds every call of a layer.
#[derive(Debug)]
pub(super) struct Policy {
    pub(super) retry: RetryPolicy,
    /// One attempt's timeout (the one the `reqwest::Client` applies; only
    /// cut shorter, or lengthened by a long poll's wait).
    pub(super) request_timeout: Duration,
    /// A whole call's deadline.
    pub(super) operation_timeout: Duration,
}

/// What a layer's answers are: the value the attempts are handed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answers {
    /// Bodies read whole within the attempt, so that one cut short is the
    /// attempt's failure, retried by the same rules.
    Whole,
    /// Event streams (the live client's): asked for with
    /// `Accept: text/event-stream`, handed on unread, with no per-attempt
    /// timeout (the live read watches for silence instead).
    EventStream,
}

/// The timeout an attempt sets on its request, when it is not the
/// client's own: an answer read whole gets the time `left` before the
/// deadline when that is shorter, or `request_timeout` (already lengthened
/// by a long poll's `wait`) when a wait asks for longer than the client's;
/// an event stream keeps the one it asked for (it is never cut: the live
/// read watches for silence instead).
fn attempt_timeout(
    answers: Answers,
    left: Duration,
    request_timeout: Duration,
    wait: Duration,
) -> Option<Duration> {
    (answers == Answers::Whole && (left < request_timeout || !wait.is_zero()))
        .then(|| left.min(request_timeout))
}

impl Answers {
    /// Asks for this kind of answer.
    pub(super) fn ask(self, request: &mut reqwest::Request) {
        if self == Self::EventStream {
            let accept = reqwest::header::ACCEPT;
            request.headers_mut().insert(accept, EVENT_STREAM);
            // Overrides the client's per-request timeout, which would cut
            // the stream; silence is watched for by the live read.
            *request.timeout_mut() = Some(EVENT_STREAM_TIMEOUT);
        }
    }
}

/// A call's attempts, planned before the first.
pub(super) struct Attempts<'a> {
    policy: &'a Policy,
    answers: Answers,
    pacing: &'a Pacing,
    /// Whether an attempt that may have acted may be repeated.
    idempotent: bool,
    /// How long the server is asked to hold its answer (a long poll).
    wait: Duration,
}

impl<'a> Attempts<'a> {
    /// The attempts of `request`, an `operation` (the spec's facts about
    /// it, if any) whose answers are `answers`, paced by `pacing`.
    /// `conditional` when the request carries a condition under which a
    /// repeat cannot take effect twice (a producer's `match_seq_num`): it
    /// is retried as an idempotent request is.
    pub(super) fn plan(
        policy: &'a Policy,
        answers: Answers,
        pacing: &'a Pacing,
        request: &reqwest::Request,
        operation: Option<&Operation>,
        conditional: bool,
    ) -> Self {
        // A long poll is answered up to `wait` late by design: an attempt
        // and the call get that much longer. (A live read's `wait` bounds
        // the gaps between records, not the answer: its requests have no
        // attempt timeout and keep their deadline.)
        let wait = match operation.and_then(|op| op.wait_param) {
            Some(name) if answers == Answers::Whole => requested_wait(request.url(), name),
            _ => Duration::ZERO,
        };
        let takes_token = operation.is_some_and(|op| op.takes_request_token);
        let idempotent = is_idempotent(request.method()) || takes_token || conditional;
        Self {
            policy,
            answers,
            pacing,
            idempotent,
            wait,
        }
    }

    /// Makes the attempts, and reports them.
    pub(super) async fn run(
        self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        call_span: &CallSpan,
    ) -> (reqwest::Result<reqwest::Response>, CallReport) {
        let Self {
            policy,
            answers,
            pacing,
            wait,
            ..
        } = self;
        let request_timeout = policy.request_timeout.saturating_add(wait);
        // A bulk run's first attempt has had its turn from the run's rate
        // limiter (in `pre`); later ones wait for theirs below, and the
        // limiter learns from each (rate_limit.rs).
        let started = Instant::now();
        let mut granted_at = None;
        let deadline = deadline_after(started, policy.operation_timeout.saturating_add(wait));
        let mut backoffs = policy.retry.backoffs();
        let mut report = CallReport::default();
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
            if let Some(timeout) = attempt_timeout(answers, left, request_timeout, wait) {
                *request.timeout_mut() = Some(timeout);
            }
            let span = AttemptSpan::new(report.attempts);
            let once = attempt(http, request, answers);
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
            let retry_wait = self.retry_wait(failure, backoffs.next(), failed.retry_after, deadline);
            let (Ok(retry_wait), Some(next)) = (retry_wait, next) else {
                let reason = retry_wait
                    .err()
                    .unwrap_or("the request body cannot be sent again");
                span.not_retrying(reason);
                if let Some(code) = failed.code() {
                    call_span.code(code);
                }
                return (failed.result, report);
            };
            report.uncertain |= failure.may_have_taken_effect();
            span.retrying(retry_wait);
            match pacing.retry_turn(retry_wait, deadline).await {
                Ok(at) => granted_at = at,
                Err(not_sent) => {
                    span.not_sent(&not_sent);
                    return (failed.result, report);
                }
            }
            request = next;
        }
    }

    /// How long to wait before retrying after `failure`, or why not to
    /// retry.
    fn retry_wait(
        &self,
        failure: Failure<'_>,
        backoff: Option<Duration>,
        hint: Option<Duration>,
        deadline: Instant,
    ) -> Result<Duration, &'static str> {
        match decision(failure, self.idempotent) {
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

/// What one attempt came to.
enum Attempt {
    Success(reqwest::Response),
    Failed(Failed),
}

/// One attempt. A success comes back with its body read, unless it is an
/// event stream: a body cut short is the attempt's failure, retried by the
/// same rules, not a failure after the layer is done. An error response
/// comes back with its body read (capped) and S2's answer read from it.
async fn attempt(http: &reqwest::Client, request: reqwest::Request, answers: Answers) -> Attempt {
    match http.execute(request).await {
        Ok(response) if response.status().is_success() && answers == Answers::EventStream => {
            Attempt::Success(response)
        }
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
pub(super) fn deadline_after(start: Instant, timeout: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    (start.checked_add(timeout))
        .or_else(|| start.checked_add(CENTURY))
        .unwrap_or(start)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    /// An operation of the spec: `read`, a long poll, when `wait_param`.
    fn operation(takes_request_token: bool, wait_param: Option<&'static str>) -> Operation {
        Operation {
            id: "read",
            method: "GET",
            path: "/streams/{stream}/records",
            takes_request_token,
            record_format: false,
            basin_server: None,
            wait_param,
        }
    }

    fn policy(max_attempts: u32) -> Policy {
        Policy {
            retry: RetryPolicy::new()
                .with_max_attempts(max_attempts)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
            request_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(20),
        }
    }

    /// A server answering its `n`th request with `statuses[n]` (the last
    /// one again after), and the count of requests it was sent.
    async fn serve(statuses: &'static [u16]) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/streams/s/records", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        let app = axum::Router::new().fallback(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let status = statuses[n.min(statuses.len() - 1)];
            async move { StatusCode::from_u16(status).unwrap() }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, count)
    }

    /// Runs one call of `request`, planned for `operation` and
    /// `conditional`, and returns its status, report and requests sent.
    async fn call(
        statuses: &'static [u16],
        method: Method,
        operation: Option<&Operation>,
        conditional: bool,
    ) -> (StatusCode, CallReport, usize) {
        let (url, sent) = serve(statuses).await;
        let http = reqwest::Client::new();
        let request = http.request(method, url).build().unwrap();
        let policy = policy(3);
        let pacing = Pacing::Free;
        let planned = Attempts::plan(
            &policy,
            Answers::Whole,
            &pacing,
            &request,
            operation,
            conditional,
        );
        let span = CallSpan::new("read");
        let (result, report) = planned.run(&http, request, &span).await;
        (result.unwrap().status(), report, sent.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_when_a_repeat_is_safe() {
        let (status, report, sent) = call(&[503, 204], Method::GET, None, false).await;
        assert_eq!((status.as_u16(), report.attempts, sent), (204, 2, 2));
        assert!(!report.uncertain);
        // A 500 may have acted: the POST goes once, unless it carries a
        // token or a condition, and then it is uncertain.
        let (status, report, sent) = call(&[500, 204], Method::POST, None, false).await;
        assert_eq!((status.as_u16(), report.attempts, sent), (500, 1, 1));
        let token = operation(true, None);
        let (status, report, _) = call(&[500, 204], Method::POST, Some(&token), false).await;
        assert_eq!((status.as_u16(), report.attempts), (204, 2));
        assert!(report.uncertain);
        let (status, report, _) = call(&[500, 204], Method::POST, None, true).await;
        assert_eq!((status.as_u16(), report.attempts), (204, 2));
        assert!(report.uncertain);
    }

    #[tokio::test]
    async fn a_final_failure_or_the_last_attempt_ends_the_call() {
        let (status, report, sent) = call(&[404, 204], Method::GET, None, false).await;
        assert_eq!((status.as_u16(), report.attempts, sent), (404, 1, 1));
        let (status, report, sent) = call(&[503], Method::GET, None, false).await;
        assert_eq!((status.as_u16(), report.attempts, sent), (503, 3, 3));
        assert_eq!(report.status, Some(StatusCode::SERVICE_UNAVAILABLE));
    }

    #[test]
    fn a_long_poll_waits_longer_and_an_event_stream_has_no_timeout() {
        let http = reqwest::Client::new();
        let url = "http://h/v1/streams/s/records?seq_num=0&wait=12";
        let request = http.get(url).build().unwrap();
        let (policy, pacing) = (policy(3), Pacing::Free);
        let read = operation(false, Some("wait"));
        let plan = |answers| Attempts::plan(&policy, answers, &pacing, &request, Some(&read), false);
        assert_eq!(plan(Answers::Whole).wait, Duration::from_secs(12));
        assert_eq!(plan(Answers::EventStream).wait, Duration::ZERO);
        let no_param = operation(false, None);
        let planned = Attempts::plan(&policy, Answers::Whole, &pacing, &request, Some(&no_param), false);
        assert_eq!(planned.wait, Duration::ZERO);

        let mut streamed = http.get(url).timeout(Duration::from_secs(5)).build().unwrap();
        Answers::EventStream.ask(&mut streamed);
        assert_eq!(streamed.headers()["accept"], "text/event-stream");
        assert_eq!(streamed.timeout(), Some(&EVENT_STREAM_TIMEOUT));
        let mut whole = http.get(url).timeout(Duration::from_secs(5)).build().unwrap();
        Answers::Whole.ask(&mut whole);
        assert!(!whole.headers().contains_key("accept"));
        assert_eq!(whole.timeout(), Some(&Duration::from_secs(5)));
    }

    #[test]
    fn a_repeat_is_safe_by_method_token_or_condition() {
        let http = reqwest::Client::new();
        let (policy, pacing) = (policy(3), Pacing::Free);
        let idempotent = |method: Method, op: Option<&Operation>, conditional: bool| {
            let request = http.request(method, "http://h/v1/basins").build().unwrap();
            Attempts::plan(&policy, Answers::Whole, &pacing, &request, op, conditional).idempotent
        };
        for method in [Method::GET, Method::PUT, Method::DELETE, Method::HEAD] {
            assert!(idempotent(method, None, false));
        }
        assert!(!idempotent(Method::POST, None, false));
        assert!(!idempotent(Method::PATCH, Some(&operation(false, None)), false));
        assert!(idempotent(Method::POST, Some(&operation(true, None)), false));
        assert!(idempotent(Method::POST, None, true));
    }

    #[test]
    fn a_retry_waits_within_the_deadline_only_when_it_is_safe() {
        let http = reqwest::Client::new();
        let request = http.post("http://h/v1/basins").build().unwrap();
        let (policy, pacing) = (policy(3), Pacing::Free);
        let post = Attempts::plan(&policy, Answers::Whole, &pacing, &request, None, false);
        let far = Instant::now() + Duration::from_secs(60);
        let ms = Duration::from_millis;
        let connect = Failure::Transport(crate::error::TransportKind::Connect);
        let broken = Failure::Transport(crate::error::TransportKind::Broken);
        // Nothing was sent: safe whatever the request.
        assert_eq!(post.retry_wait(connect, Some(ms(3)), None, far), Ok(ms(3)));
        assert_eq!(post.retry_wait(connect, Some(ms(3)), Some(ms(9)), far), Ok(ms(9)));
        let unsafe_ = post.retry_wait(broken, Some(ms(3)), None, far);
        assert_eq!(unsafe_, Err("the request is not idempotent and may have had an effect"));
        assert_eq!(post.retry_wait(connect, None, None, far), Err("no attempts left"));
        let near = Instant::now() + ms(5);
        let past = post.retry_wait(connect, Some(ms(3)), Some(ms(60_000)), near);
        assert_eq!(past, Err("the wait would pass the deadline"));
        let not_found = crate::error::ApiError::new(StatusCode::NOT_FOUND, "", "");
        let final_ = post.retry_wait(Failure::Answer(&not_found), Some(ms(3)), None, far);
        assert_eq!(final_, Err("the failure is not transient"));
    }

    #[test]
    fn no_deadline_is_a_century_away() {
        let now = Instant::now();
        let century = Duration::from_secs(100 * 365 * 24 * 60 * 60);
        assert_eq!(deadline_after(now, Duration::from_secs(20)), now + Duration::from_secs(20));
        assert_eq!(deadline_after(now, Duration::MAX), now + century);
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

    /// The four cases of an attempt's own timeout.
    #[test]
    fn an_attempt_is_cut_to_the_deadline_and_lengthened_only_by_a_wait() {
        let (client, wait) = (Duration::from_secs(5), Duration::from_secs(12));
        let whole = |left, timeout, wait| attempt_timeout(Answers::Whole, left, timeout, wait);
        // Time enough and no wait: the client's own timeout applies.
        assert_eq!(whole(Duration::from_secs(20), client, Duration::ZERO), None);
        // Near the deadline: cut to the time left.
        let left = Duration::from_secs(2);
        assert_eq!(whole(left, client, Duration::ZERO), Some(left));
        // A long poll: the client's timeout plus the wait, within the
        // deadline (itself lengthened by the wait).
        let lengthened = client + wait;
        assert_eq!(
            whole(Duration::from_secs(32), lengthened, wait),
            Some(lengthened)
        );
        assert_eq!(whole(left, lengthened, wait), Some(left));
        // An event stream is never cut, even near the deadline.
        for (left, wait) in [(left, Duration::ZERO), (left, wait)] {
            assert_eq!(attempt_timeout(Answers::EventStream, left, client, wait), None);
        }
    }
}
