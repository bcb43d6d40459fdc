//! The client: configuration applied to the generated progenitor client,
//! and the hand-written operations on top of it.

use std::fmt;
use std::sync::Arc;

use futures_util::Stream;
use reqwest::StatusCode;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use crate::basin::{Basin, BasinName, BasinRouting};
use crate::config::ClientBuilder;
use crate::error::{Error, ErrorCode};
use crate::generated;
use crate::id::AccessTokenId;
use crate::layer::{ERROR_BODY_LIMIT, RequestLayer, read_capped, reporting_client};
use crate::live::{LiveEvent, LiveRead};
use crate::rate_limit::RunLimiter;

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
    live: generated::live::Client,
    base_url: Url,
    basin_routing: BasinRouting,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("layer", &self.inner.generated.inner)
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
    /// versions said 200, with an empty body), or 404 with
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

    pub(crate) fn new(
        base_url: Url,
        http: reqwest::Client,
        layer: RequestLayer,
        basin_routing: BasinRouting,
    ) -> Self {
        let generated = generated::Client::new_with_client(base_url.as_str(), http, layer);
        let live = crate::live::client(&generated);
        Self {
            inner: Arc::new(Inner {
                generated,
                live,
                base_url,
                basin_routing,
            }),
        }
    }

    /// This client with every attempt of its calls gated by `limiter`
    /// (a bulk run's: [`RunLimiter`]).
    pub(crate) fn with_rate_limiter(&self, limiter: Arc<RunLimiter>) -> Self {
        let generated = &self.inner.generated;
        Self::new(
            self.inner.base_url.clone(),
            generated.client.clone(),
            generated.inner.with_rate_limiter(limiter),
            self.inner.basin_routing.clone(),
        )
    }

    /// The generated progenitor client, for every other operation of the
    /// spec. It shares this client's connection pool, bearer token,
    /// timeouts and redirect policy.
    pub fn generated(&self) -> &generated::Client {
        &self.inner.generated
    }

    /// A live read of an account-level operation: see [`Basin::live`] (S2's
    /// own live read is a basin's).
    pub fn live<'a, R: LiveRead<'a>>(
        &'a self,
        request: impl FnOnce(&'a generated::live::Client) -> R,
    ) -> impl Stream<Item = Result<LiveEvent<R::Data, R::Ping>, Error>> + Send + 'a {
        crate::live::events(&self.inner.live, request)
    }

    /// A handle for the basin `name`'s stream and record operations, over
    /// this client's connection pool ([`Basin`]).
    ///
    /// # Errors
    /// [`InvalidInput::Argument`](crate::InvalidInput::Argument) when S2 would refuse the name.
    pub fn basin(&self, name: impl Into<String>) -> Result<Basin, Error> {
        Basin::new(
            &self.inner.generated,
            &self.inner.basin_routing,
            BasinName::new(name)?,
        )
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
    /// [`InvalidInput::Id`](crate::InvalidInput::Id) before sending; [`Error::Api`] with S2's code
    /// (`access_token_not_found` for an unknown id, `permission_denied`,
    /// ...) for any error response carrying `ErrorInfo`, documented or
    /// not; the other variants for transport failures, timeouts and
    /// responses the spec does not describe.
    pub async fn revoke_access_token(&self, id: impl AsRef<str>) -> Result<Revoked, Error> {
        let id = AccessTokenId::parse(id.as_ref())?;
        self.revoke(id).await
    }

    /// [`revoke_access_token`](Self::revoke_access_token) for an id that
    /// was already validated.
    pub async fn revoke_id(&self, id: &AccessTokenId) -> Result<Revoked, Error> {
        self.revoke(id.clone()).await
    }

    /// [`revoke_id`](Self::revoke_id) taking the id, which goes into
    /// [`Revoked::id`] without a copy.
    pub(crate) async fn revoke(&self, id: AccessTokenId) -> Result<Revoked, Error> {
        let span = tracing::debug_span!("s2.revoke", id = %id);
        // With tracing off the span is disabled: nothing to time or wrap.
        if span.is_disabled() {
            return self.revoke_checked(id).await;
        }
        let started = Instant::now();
        let result = self.revoke_checked(id).instrument(span.clone()).await;
        match &result {
            Ok(revoked) => tracing::debug!(
                parent: &span,
                latency_ms = started.elapsed().as_millis() as u64,
                status = revoked.status.as_u16(),
                attempts = revoked.attempts,
                confirmation = ?revoked.confirmation,
                "revoked"
            ),
            Err(e) => tracing::debug!(
                parent: &span,
                latency_ms = started.elapsed().as_millis() as u64,
                error = e as &(dyn std::error::Error + 'static),
                "revoke failed"
            ),
        }
        result
    }

    /// The generated call, through the request layer, and the one rule of
    /// its own: `access_token_not_found` after an attempt whose outcome is
    /// unknown means that attempt most likely revoked the token.
    async fn revoke_checked(&self, id: AccessTokenId) -> Result<Revoked, Error> {
        // A client of its own for this call, whose layer reports what it
        // saw: the attempts, and whether an earlier one may have revoked.
        let (generated, report) = reporting_client(&self.inner.generated);
        // Boxed: the generated call's future is large.
        let result = Box::pin(
            generated
                .revoke_access_token()
                .id(id.as_generated().clone())
                .send(),
        )
        .await;
        let report = report.get();
        let revoked = |status, confirmation| Revoked {
            id,
            status,
            attempts: report.attempts,
            confirmation,
        };
        match result {
            Ok(response) => Ok(revoked(response.status(), Confirmation::Revoked)),
            // A success the spec does not list, with an empty body: older
            // S2 answered 200 so. One with a body (a web page at a wrong
            // endpoint) confirms nothing, and is the error `?` gives.
            Err(progenitor_client::Error::UnexpectedResponse(response))
                if response.status().is_success() =>
            {
                let status = response.status();
                match read_capped(response, ERROR_BODY_LIMIT).await {
                    // Empty frames (HTTP/2 may end a body with one) add no bytes.
                    Ok((_, body)) if body.is_empty() => Ok(revoked(status, Confirmation::Revoked)),
                    Ok((head, body)) => {
                        let response = http::Response::from_parts(head, reqwest::Body::from(body));
                        Err(Error::from(
                            progenitor_client::Error::<()>::UnexpectedResponse(response.into()),
                        ))
                    }
                    Err(e) => Err(Error::from_reqwest(e)),
                }
            }
            Err(e) => {
                // Boxed: only errors take this path, and inline it would make
                // every call's future larger.
                let error = Box::new(Error::from(e));
                if report.uncertain && error.code() == Some(&ErrorCode::AccessTokenNotFound) {
                    tracing::info!(
                        "token not found after an attempt with an unknown outcome: presumed revoked by it"
                    );
                    let status = error.status().unwrap_or(StatusCode::NOT_FOUND);
                    return Ok(revoked(status, Confirmation::GoneAfterUncertainAttempt));
                }
                Err(*error)
            }
        }
    }
}
