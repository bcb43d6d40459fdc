//! The client: configuration applied to the generated progenitor client,
//! and the hand-written operations on top of it.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::StatusCode;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use crate::config::ClientBuilder;
use crate::error::{ApiError, Error, ErrorCode, UnexpectedResponse};
use crate::generated;
use crate::id::AccessTokenId;
use crate::retry::retry_after;

/// At most this much of an error response's body is read (the rest is left
/// unread and the connection dropped): enough for any `ErrorInfo`, bounded
/// whatever the server sends.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// At most this much of an unexpected body is kept in the error.
const EXCERPT_CHARS: usize = 512;

/// A client for S2.
///
/// Cheap to clone: clones share one connection pool. Build one with
/// [`Client::from_env`] or [`Client::builder`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    generated: generated::Client,
    base_url: Url,
    /// The configuration this client was built from: its retry policy and
    /// timeouts.
    config: ClientBuilder,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("retry", &self.inner.config.retry)
            .field("request_timeout", &self.inner.config.request_timeout)
            .field("operation_timeout", &self.inner.config.operation_timeout)
            .field("access_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The outcome of a successful revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revoked {
    /// The id that was revoked.
    pub id: AccessTokenId,
    /// The status of the last attempt: a success (204 today; older S2
    /// versions said 200), or 404 with
    /// [`Confirmation::GoneAfterUncertainAttempt`].
    pub status: StatusCode,
    /// How many attempts the call made.
    pub attempts: u32,
    /// How sure the client is that this call revoked the token.
    pub confirmation: Confirmation,
}

/// How a revocation was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Confirmation {
    /// S2 answered success.
    Revoked,
    /// An earlier attempt's outcome was unknown (it timed out, the
    /// connection broke, or S2 answered 408/500/504), and a retry found no
    /// such token (`access_token_not_found`): the token is gone, most
    /// likely revoked by that earlier attempt.
    GoneAfterUncertainAttempt,
}

impl Client {
    /// A builder with defaults; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `S2_ACCESS_TOKEN` and (optionally)
    /// `S2_ACCOUNT_ENDPOINT`.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env().build()
    }

    pub(crate) fn new(base_url: Url, http: reqwest::Client, config: ClientBuilder) -> Self {
        let generated = generated::Client::new_with_client(base_url.as_str(), http);
        Self {
            inner: Arc::new(Inner {
                generated,
                base_url,
                config,
            }),
        }
    }

    /// The generated progenitor client, for every other operation of the
    /// spec. It shares this client's connection pool, bearer token,
    /// timeouts and redirect policy.
    pub fn generated(&self) -> &generated::Client {
        &self.inner.generated
    }

    /// The API base URL requests go to, such as `https://aws.s2.dev/v1`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// Revokes the access token with id `id`.
    ///
    /// The id is checked first ([`AccessTokenId::new`]); a refused id sends
    /// nothing. Failures that may be transient are retried under the
    /// client's [`RetryPolicy`](crate::RetryPolicy), within its overall deadline (revoking is
    /// idempotent, so a retry is safe). S2 documents that a revocation can
    /// take up to 10 minutes to take effect everywhere.
    ///
    /// Dropping the returned future cancels the call: no attempt or retry
    /// goes on in the background.
    ///
    /// # Errors
    /// [`Error::InvalidId`] before sending; [`Error::Api`] with S2's code
    /// (`access_token_not_found` for an unknown id, `permission_denied`,
    /// ...) for any error response carrying `ErrorInfo`, documented or
    /// not; the other variants for transport failures, timeouts and
    /// responses the spec does not describe.
    pub async fn revoke_access_token(&self, id: impl AsRef<str>) -> Result<Revoked, Error> {
        let id = AccessTokenId::new(id.as_ref())?;
        self.revoke_id(&id).await
    }

    /// [`revoke_access_token`](Self::revoke_access_token) for an id that
    /// was already validated.
    pub async fn revoke_id(&self, id: &AccessTokenId) -> Result<Revoked, Error> {
        let span = tracing::debug_span!(
            "s2.call",
            operation = "revoke_access_token",
            id = %id,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        let started = Instant::now();
        let call = self.revoke_checked(id, started);
        // With tracing off the span is disabled and wraps nothing: the
        // `Instrumented` layer would still cost every call.
        let result = if span.is_disabled() {
            call.await
        } else {
            call.instrument(span.clone()).await
        };
        match &result {
            Ok(revoked) => {
                span.record("status", revoked.status.as_u16());
                span.record("attempts", revoked.attempts);
                tracing::debug!(
                    parent: &span,
                    latency_ms = started.elapsed().as_millis() as u64,
                    confirmation = ?revoked.confirmation,
                    "revoked"
                );
            }
            Err(e) => {
                if let Some(status) = e.status() {
                    span.record("status", status.as_u16());
                }
                if let Some(code) = e.code() {
                    span.record("code", code.as_str());
                }
                tracing::debug!(
                    parent: &span,
                    latency_ms = started.elapsed().as_millis() as u64,
                    error = %e,
                    "revoke failed"
                );
            }
        }
        result
    }

    /// The retry loop, within the call's deadline.
    ///
    /// The deadline needs no timer of its own: each attempt's timeout (the
    /// one reqwest already runs) is cut to the time left, and no wait
    /// between attempts may run past it.
    async fn revoke_checked(&self, id: &AccessTokenId, started: Instant) -> Result<Revoked, Error> {
        let config = &self.inner.config;
        let policy = &config.retry;
        let deadline = started + config.operation_timeout;
        let mut backoffs = policy.backoffs();
        let mut uncertain = false;
        let mut attempt = 0u32;
        let limiter = crate::rate_limit::current();
        loop {
            attempt += 1;
            let span = tracing::debug_span!(
                "s2.attempt",
                attempt,
                status = tracing::field::Empty,
                code = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            // A bulk run's rate limiter gates every attempt (rate_limit.rs).
            let permit = match &limiter {
                Some(limiter) => match tokio::time::timeout_at(deadline, limiter.acquire()).await {
                    Ok(permit) => Some(permit),
                    Err(_) => return Err(Error::deadline(config.operation_timeout, attempt)),
                },
                None => None,
            };
            // The call's start is the first attempt's.
            let attempt_started = if attempt == 1 && permit.is_none() {
                started
            } else {
                Instant::now()
            };
            let left = deadline.saturating_duration_since(attempt_started);
            let cut = (left < config.request_timeout).then_some(left);
            let once = self.revoke_once(id, cut);
            let (result, meta) = if span.is_disabled() {
                once.await
            } else {
                once.instrument(span.clone()).await
            };
            if !span.is_disabled() {
                let latency = attempt_started.elapsed();
                span.record("latency_ms", latency.as_millis() as u64);
            }
            if let Some(status) = meta.status {
                span.record("status", status.as_u16());
            }
            if let (Some(limiter), Some(permit)) = (&limiter, permit) {
                let throttled = meta.status == Some(StatusCode::TOO_MANY_REQUESTS);
                limiter.observe(permit, throttled, meta.retry_after);
            }
            let error = match result {
                Ok(status) => {
                    return Ok(Revoked {
                        id: id.clone(),
                        status,
                        attempts: attempt,
                        confirmation: Confirmation::Revoked,
                    });
                }
                Err(error) if error.is_timeout() && Instant::now() >= deadline => {
                    return Err(Error::deadline(config.operation_timeout, attempt));
                }
                Err(error) => error,
            };
            if let Some(code) = error.code() {
                span.record("code", code.as_str());
            }
            if uncertain && error.code() == Some(&ErrorCode::AccessTokenNotFound) {
                tracing::info!(
                    parent: &span,
                    "token not found after an attempt with an unknown outcome: presumed revoked by it"
                );
                return Ok(Revoked {
                    id: id.clone(),
                    status: error.status().unwrap_or(StatusCode::NOT_FOUND),
                    attempts: attempt,
                    confirmation: Confirmation::GoneAfterUncertainAttempt,
                });
            }
            uncertain |= outcome_unknown(&error);
            if !error.is_retryable() {
                return Err(error);
            }
            let Some(backoff) = backoffs.next() else {
                return Err(error);
            };
            let wait = policy.wait(backoff, meta.retry_after);
            if Instant::now() + wait >= deadline {
                tracing::debug!(parent: &span, wait_ms = wait.as_millis() as u64, error = %error,
                    "not retrying: the wait would pass the deadline");
                return Err(error);
            }
            tracing::debug!(parent: &span, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
            // Boxed: only retries wait, and inline the timer would make every
            // call's future larger.
            Box::pin(tokio::time::sleep(wait)).await;
        }
    }

    /// One attempt: the generated call, with what the `exec` hook saw.
    /// `timeout` replaces the client's per-attempt timeout when set.
    async fn revoke_once(
        &self,
        id: &AccessTokenId,
        timeout: Option<Duration>,
    ) -> (Result<StatusCode, Error>, AttemptMeta) {
        let slot = AttemptMeta {
            timeout,
            ..AttemptMeta::default()
        };
        // The generated call is built inside the scope, so its large future
        // (about 1.7 KB) lives in one place and is not moved.
        let (result, meta) = ATTEMPT
            .scope(Cell::new(slot), async {
                let result = self
                    .inner
                    .generated
                    .revoke_access_token()
                    .id(id.as_generated().clone())
                    .send()
                    .await;
                (result, ATTEMPT.with(Cell::get))
            })
            .await;
        let result = match result {
            Ok(response) => Ok(response.status()),
            // A success the spec does not list (older S2 answered 200).
            Err(progenitor_client::Error::UnexpectedResponse(response))
                if response.status().is_success() =>
            {
                Ok(response.status())
            }
            // Boxed: only errors take this path, and inline it would make
            // every call's future larger.
            Err(e) => Err(Box::pin(map_error(e, meta.status)).await),
        };
        (result, meta)
    }
}

/// Whether a failed attempt may nonetheless have been carried out.
fn outcome_unknown(error: &Error) -> bool {
    matches!(error, Error::Timeout(_) | Error::Transport(_))
        || error
            .status()
            .is_some_and(|s| matches!(s.as_u16(), 408 | 500 | 504))
}

/// What the wrapper asks of one attempt, and what the `exec` hook records
/// of its response.
#[derive(Clone, Copy, Debug, Default)]
struct AttemptMeta {
    /// The attempt's timeout, when the call's deadline leaves less than the
    /// client's.
    timeout: Option<Duration>,
    status: Option<StatusCode>,
    retry_after: Option<Duration>,
}

tokio::task_local! {
    /// What the current attempt's response said before progenitor decoded
    /// it: progenitor drops the status and headers when a body fails to
    /// decode.
    static ATTEMPT: Cell<AttemptMeta>;
}

/// The header progenitor adds to every request, set to the spec's
/// `info.version`. S2 defines no such header and ignores it, so the hooks
/// drop it: requests carry what S2's API defines, and each request is
/// cheaper to send and to parse.
const API_VERSION: reqwest::header::HeaderName =
    reqwest::header::HeaderName::from_static("api-version");

/// Hooks on every generated call (the wrapper's and the ones made through
/// [`Client::generated`]): progenitor's `api-version` header is dropped, the
/// wrapper's per-attempt timeout applied, error bodies read with a cap, and
/// the status and retry hints recorded for the wrapper.
impl ClientHooks<()> for generated::Client {
    async fn exec(
        &self,
        mut request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        request.headers_mut().remove(&API_VERSION);
        let asked = ATTEMPT.try_with(Cell::get).unwrap_or_default();
        if asked.timeout.is_some() {
            *request.timeout_mut() = asked.timeout;
        }
        let response = self.client.execute(request).await?;
        let status = response.status();
        // Retry hints matter only on errors: a success skips the parse.
        let retry_after = if status.is_success() {
            None
        } else {
            retry_after(response.headers(), SystemTime::now())
        };
        let _ = ATTEMPT.try_with(|m| {
            m.set(AttemptMeta {
                status: Some(status),
                retry_after,
                ..asked
            })
        });
        if status.is_success() {
            Ok(response)
        } else {
            // Boxed for the same reason as `map_error`: errors only.
            Box::pin(cap_body(response, ERROR_BODY_LIMIT)).await
        }
    }
}

/// Reads at most `limit` bytes of the body and returns a response holding
/// just those. A body that fails to arrive is the attempt's error.
async fn cap_body(
    mut response: reqwest::Response,
    limit: usize,
) -> reqwest::Result<reqwest::Response> {
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
    let mut capped = http::Response::new(body);
    *capped.status_mut() = response.status();
    *capped.version_mut() = response.version();
    *capped.headers_mut() = std::mem::take(response.headers_mut());
    capped.headers_mut().remove(reqwest::header::CONTENT_LENGTH);
    Ok(reqwest::Response::from(capped))
}

impl Error {
    /// Maps an error of any generated operation whose errors are
    /// `ErrorInfo` (most of S2's) to this crate's error, exactly as
    /// [`Client::revoke_access_token`] does: `ErrorInfo` bodies on any
    /// status become [`Error::Api`], others [`Error::UnexpectedResponse`]
    /// with the status kept.
    ///
    /// ```no_run
    /// # async fn f(client: &s2_openapi::Client) -> Result<(), s2_openapi::Error> {
    /// // Any operation of the spec, through the generated client:
    /// match client.generated().revoke_access_token().id("some-id").send().await {
    ///     Ok(_) => {}
    ///     Err(e) => return Err(s2_openapi::Error::from_generated(e).await),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn from_generated(
        error: progenitor_client::Error<generated::types::ErrorInfo>,
    ) -> Self {
        // Outside the wrapper's calls no attempt status was recorded; an
        // `ErrorResponse` carries its own.
        map_error(error, None).await
    }
}

/// Maps the generated client's error to the crate's. `status` is the one the
/// `exec` hook recorded, needed only when progenitor dropped it (a body
/// that failed to decode).
async fn map_error(
    e: progenitor_client::Error<generated::types::ErrorInfo>,
    status: Option<StatusCode>,
) -> Error {
    use progenitor_client::Error as G;
    match e {
        G::ErrorResponse(response) => {
            let status = response.status();
            let info = response.into_inner();
            Error::Api(ApiError::new(status, &info.code, info.message))
        }
        G::UnexpectedResponse(response) => from_unexpected(response).await,
        G::InvalidResponsePayload(body, _) => {
            let status = status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            from_body(status, None, &body)
        }
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
            Error::from_reqwest(e)
        }
        // The id was validated before the call, so the builder cannot refuse
        // it; should it ever, nothing was sent.
        G::InvalidRequest(message) => Error::InvalidConfig(message),
        G::Custom(message) => Error::transport(message),
    }
}

/// An undocumented status: `ErrorInfo` if the body is one (S2 answers 404,
/// 409, 429, 5xx with it), otherwise an unexpected response with an
/// excerpt of the body.
async fn from_unexpected(mut response: reqwest::Response) -> Error {
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
    // The `exec` hook already capped the body.
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(
            &chunk[..chunk.len().min(ERROR_BODY_LIMIT.saturating_sub(body.len()))],
        );
    }
    from_body(status, location, &body)
}

fn from_body(status: StatusCode, location: Option<String>, body: &[u8]) -> Error {
    if let Ok(info) = serde_json::from_slice::<generated::types::ErrorInfo>(body) {
        return Error::Api(ApiError::new(status, &info.code, info.message));
    }
    let excerpt = String::from_utf8_lossy(body)
        .chars()
        .take(EXCERPT_CHARS)
        .collect();
    Error::UnexpectedResponse(UnexpectedResponse::new(status, location, excerpt))
}
