//! Revoking an access token: the spec's `revoke_access_token`, with the
//! id checked before sending and an uncertain attempt's outcome resolved.
//! Built when the spec has that operation.

use reqwest::StatusCode;
use tokio::time::Instant;
use tracing::Instrument;

use crate::client::Client;
use crate::error::{Error, ErrorCode};
use crate::id::AccessTokenId;
use crate::layer::{ERROR_BODY_LIMIT, read_capped, reporting_client};

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
        let (generated, report) = reporting_client(self.generated());
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
