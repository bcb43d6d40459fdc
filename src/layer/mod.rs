//! The request layer: what every generated call goes through, whatever the
//! operation, so that a regenerated client brings its new operations with the
//! same guarantees and no hand-written code per operation.
//!
//! progenitor hands each request it builds to [`ClientHooks::pre`] and then
//! [`ClientHooks::exec`], with the spec's operation id. [`RequestLayer`]
//! composes the parts, each one concern with its own tests:
//!
//! - `scope`: which handle may send an operation. `pre` refuses a per-basin
//!   operation on the account's handle, an account operation on a basin's,
//!   and a URL that is not the operation's path template with one segment
//!   per argument;
//! - `headers`: what every attempt carries. progenitor's `api-version` is
//!   dropped (S2 defines none), a [`Basin`](crate::Basin) handle's
//!   `s2-basin` added, operations that take S2's idempotency token
//!   (`s2-request-token`, read from the spec at build time) get a fresh one
//!   when the caller set none (the same on every attempt, so a retried
//!   create is carried out once), operations that declare `s2-format` send
//!   `base64` (their record data the generator made
//!   [`RecordBytes`](crate::RecordBytes)), and bodies of 1 KiB or more are
//!   compressed when the client is set to ([`Compression`]), once per call;
//! - `attempts`: up to [`RetryPolicy::max_attempts`] attempts within one
//!   overall deadline, each attempt's timeout cut to the time left, waiting
//!   a jittered backoff or the server's `retry-after-ms` / `Retry-After`
//!   between them, retrying only what is safe by S2's rules
//!   (`retry::decision`); a long poll (the operation's `wait` query
//!   parameter, read from the spec) has that wait added to its attempt
//!   timeout and its deadline, as S2's SDK does;
//! - `pacing`: a bulk run's rate limiter, which gives every attempt its
//!   turn and whose stop ends the wait;
//! - `error_body`: error bodies read up to [`ERROR_BODY_LIMIT`], progenitor
//!   handed a response holding just those bytes, which the crate's error
//!   reads;
//! - `report`: each call traced as an `s2.call` span named by the
//!   operation id, with an `s2.attempt` span per attempt (headers are never
//!   traced, so neither is the token), and what the crate's own methods
//!   read of a call beyond progenitor's result.
//!
//! What a handle's answers are (event streams for the live client) and how
//! its attempts are paced are values the layer holds and hands the parts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::HeaderValue;
use tokio::time::Instant;
use tracing::Instrument;

use crate::compression::Compression;
use crate::generated;
#[cfg(s2_openapi_revoke)]
use crate::rate_limit::RunLimiter;
use crate::retry::RetryPolicy;

mod attempts;
mod error_body;
mod headers;
mod pacing;
mod report;
mod scope;

pub use attempts::{DEFAULT_OPERATION_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
pub use error_body::ERROR_BODY_LIMIT;
#[cfg(s2_openapi_revoke)]
pub(crate) use error_body::read_capped;
pub(crate) use report::ReportSlot;

use attempts::{Answers, Attempts, Policy, deadline_after};
use pacing::Pacing;
use report::CallSpan;
use scope::Scope;

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
    /// Where a call made through this layer leaves its report (set only on
    /// a copy made for one call, by [`RequestLayer::reporting`]).
    report: Option<ReportSlot>,
    /// What the answers are: bodies read whole, or event streams (the live
    /// client's layer).
    answers: Answers,
    /// Whether every request carries a condition under which a repeat
    /// cannot take effect twice (a producer's appends with
    /// `match_seq_num`): retried like idempotent requests.
    conditional: bool,
    /// How request bodies are compressed (the `reqwest::Client` asks for
    /// and decompresses answers itself).
    compression: Compression,
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
    /// `reqwest::Client` applies; cut to the time left before the deadline,
    /// and lengthened only by a long poll's wait) and overall deadline.
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
            answers: Answers::Whole,
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
            answers: Answers::EventStream,
            ..self.clone()
        }
    }

    /// The same layer for requests that each carry a condition making a
    /// repeat fail instead of taking effect twice (an append's
    /// `match_seq_num`): an attempt that may have acted is retried, and the
    /// caller reads a failed condition after an uncertain attempt
    /// ([`CallReport::uncertain`](report::CallReport::uncertain)).
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
    #[cfg(s2_openapi_revoke)]
    pub(crate) fn with_rate_limiter(&self, limiter: Arc<RunLimiter>) -> Self {
        Self {
            pacing: Pacing::Run(limiter),
            ..self.clone()
        }
    }

    /// The same layer for one call, and the handle its
    /// [`CallReport`](report::CallReport) is left in: what the layer learned
    /// that progenitor's result does not carry (the attempts made, whether
    /// an earlier one may have taken effect).
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
        self.answers.ask(&mut request);
        let attempts = Attempts::plan(
            &self.policy,
            self.answers,
            &self.pacing,
            &request,
            facts,
            self.conditional,
        );
        let span = CallSpan::new(operation);
        // With tracing off the span is disabled and wraps nothing: the
        // `Instrumented` layer would still cost every call. (The attempts'
        // future is made in each branch: moved out of a local it would be
        // copied once more, and it is large.)
        let (result, report) = if span.span().is_disabled() {
            attempts.run(http, request, &span).await
        } else {
            attempts
                .run(http, request, &span)
                .instrument(span.span().clone())
                .await
        };
        span.finish(&report);
        if let Some(slot) = &self.report {
            slot.put(report);
        }
        result
    }

    /// Why `request` must not be sent, if it must not: the handle may not
    /// send it (`scope`), or a bulk run was stopped, or passed its
    /// deadline, while the request waited for its turn. A bulk run's first
    /// attempt waits here for its turn, as for a place among the run's
    /// concurrent requests: the call's deadline starts when it is sent.
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

/// A copy of `client` for one call (same pool, base URL and layer), and
/// the slot where that call leaves its [`CallReport`](report::CallReport):
/// for the crate's own methods that read what progenitor's result does not
/// carry.
pub(crate) fn reporting_client(client: &generated::Client) -> (generated::Client, ReportSlot) {
    let (layer, report) = client.inner.reporting();
    let client = generated::Client::new_with_client(&client.baseurl, client.client.clone(), layer);
    (client, report)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// What a scripted server was sent: each request's headers and body.
    type Heard = Arc<Mutex<Vec<(http::HeaderMap, bytes::Bytes)>>>;

    /// A server answering its requests with `statuses` in turn (the last
    /// one again after), and what each request it was sent held.
    async fn serve(statuses: &'static [u16]) -> (String, Heard) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/things/x", listener.local_addr().unwrap());
        let seen = Heard::default();
        let heard = Arc::clone(&seen);
        let app = axum::Router::new().fallback(move |headers: http::HeaderMap, body: bytes::Bytes| {
            let mut heard = heard.lock().unwrap();
            heard.push((headers, body));
            let status = statuses[(heard.len() - 1).min(statuses.len() - 1)];
            async move { http::StatusCode::from_u16(status).unwrap() }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    #[tokio::test]
    async fn a_call_goes_through_every_part_and_leaves_its_report() {
        let (url, seen) = serve(&[503, 204]).await;
        let retry = RetryPolicy::new().with_backoff(Duration::from_millis(1), Duration::from_millis(2));
        let layer = RequestLayer::new(retry, Duration::from_secs(5), Duration::from_secs(20))
            .compressing(Compression::Gzip)
            .for_basin(Some(HeaderValue::from_static("my-basin")));
        let (layer, slot) = layer.reporting();
        let http = reqwest::Client::new();
        let request = http
            .put(&url)
            .header("api-version", "0.1.0")
            .body(vec![b'a'; 2048])
            .build()
            .unwrap();
        let response = layer.call(&http, request, "not_in_the_spec").await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
        let report = slot.get();
        assert_eq!((report.attempts, report.status), (2, Some(response.status())));
        // A PUT answered 503 cannot have acted: nothing uncertain.
        assert!(!report.uncertain);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        for (headers, _) in seen.iter() {
            assert_eq!(headers["s2-basin"], "my-basin");
            assert_eq!(headers["content-encoding"], "gzip");
            assert!(!headers.contains_key("api-version"));
            assert_eq!(headers["accept"], "*/*");
        }
        // Compressed once: the retry sends the same bytes.
        assert!(seen[0].1.len() < 2048);
        assert_eq!(seen[0].1, seen[1].1);
    }

    #[tokio::test]
    async fn an_event_stream_is_asked_for_and_handed_on_unread() {
        // One event, then the stream stays open: a layer that read the
        // body before handing it on would never return.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/things/x", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(|headers: http::HeaderMap| async move {
            let event = bytes::Bytes::from_static(b"data: x\n\n");
            let body = futures_util::StreamExt::chain(
                futures_util::stream::once(async move { Ok::<_, std::io::Error>(event) }),
                futures_util::stream::pending(),
            );
            let accept = headers.get("accept").cloned();
            let mut response = axum::response::Response::new(axum::body::Body::from_stream(body));
            if let Some(accept) = accept {
                response.headers_mut().insert("x-accept", accept);
            }
            response
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let layer = RequestLayer::default().for_event_streams();
        let http = reqwest::Client::new();
        let request = http.get(&url).build().unwrap();
        let call = layer.call(&http, request, "not_in_the_spec");
        let mut response = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("the layer waited for the end of an event stream")
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert_eq!(response.headers()["x-accept"], "text/event-stream");
        let first = response.chunk().await.unwrap().unwrap();
        assert_eq!(&first[..], b"data: x\n\n");
    }

    #[test]
    fn a_layer_shows_its_policy_and_scope() {
        let layer = RequestLayer::default().for_basin(Some(HeaderValue::from_static("b")));
        let shown = format!("{layer:?}");
        for part in ["retry", "request_timeout: 5s", "operation_timeout: 20s", "Basin(Some(\"b\"))"] {
            assert!(shown.contains(part), "{part} not in {shown}");
        }
    }
}
