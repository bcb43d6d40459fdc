//! The client: configuration applied to the generated progenitor client,
//! and the hand-written operations on top of it.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::StatusCode;
use tracing::Instrument;
use url::Url;

use crate::config::ClientBuilder;
use crate::error::{ApiError, Error, UnexpectedResponse};
use crate::generated;
use crate::id::{AccessTokenId, InvalidId, revoke_url};

/// At most this much of an unexpected body is read and kept.
const EXCERPT_BYTES: usize = 4096;

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
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
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
    /// The success status S2 answered (204 today; older S2 versions said
    /// 200).
    pub status: StatusCode,
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

    pub(crate) fn new(base_url: Url, http: reqwest::Client) -> Self {
        let generated = generated::Client::new_with_client(base_url.as_str(), http);
        Self {
            inner: Arc::new(Inner {
                generated,
                base_url,
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
    /// nothing. S2 documents that a revocation can take up to 10 minutes to
    /// take effect everywhere.
    ///
    /// # Errors
    /// [`Error::InvalidId`] before sending; [`Error::Api`] with S2's code
    /// (`access_token_not_found` for an unknown id, `permission_denied`,
    /// ...) for any error response carrying `ErrorInfo`, documented or
    /// not; the other variants for transport failures and responses the
    /// spec does not describe.
    pub async fn revoke_access_token(&self, id: impl AsRef<str>) -> Result<Revoked, Error> {
        let id = AccessTokenId::new(id.as_ref())?;
        let span = tracing::debug_span!(
            "s2.revoke_access_token",
            id = %id,
            status = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        async {
            let result = self.revoke_checked(&id).await;
            let span = tracing::Span::current();
            match &result {
                Ok(revoked) => {
                    span.record("status", revoked.status.as_u16());
                }
                Err(e) => {
                    if let Some(status) = e.status() {
                        span.record("status", status.as_u16());
                    }
                    if let Some(code) = e.code() {
                        span.record("code", code.as_str());
                    }
                    tracing::debug!(error = %e, "revoke failed");
                }
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn revoke_checked(&self, id: &AccessTokenId) -> Result<Revoked, Error> {
        // The path guard, against the real endpoint this time.
        revoke_url(&self.inner.base_url, id.as_str())
            .map_err(|reason| Error::InvalidId(InvalidId::for_id(id.as_str(), reason)))?;
        let call = self
            .inner
            .generated
            .revoke_access_token()
            .id(id.as_generated().clone())
            .send();
        let (result, status) = LAST_STATUS
            .scope(Cell::new(None), async {
                let result = call.await;
                (result, LAST_STATUS.with(Cell::get))
            })
            .await;
        match result {
            Ok(response) => Ok(Revoked {
                id: id.clone(),
                status: response.status(),
            }),
            Err(progenitor_client::Error::UnexpectedResponse(response))
                if response.status().is_success() =>
            {
                // A success the spec does not list (older S2 answered 200).
                Ok(Revoked {
                    id: id.clone(),
                    status: response.status(),
                })
            }
            Err(e) => Err(map_error(e, status).await),
        }
    }
}

tokio::task_local! {
    /// The status of the response to the current call, captured by the
    /// `post` hook: progenitor drops it when a body fails to decode.
    static LAST_STATUS: Cell<Option<StatusCode>>;
}

impl ClientHooks<()> for generated::Client {
    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Ok(response) = result {
            let _ = LAST_STATUS.try_with(|s| s.set(Some(response.status())));
        }
        Ok(())
    }
}

/// Maps the generated client's error to the crate's.
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
        G::InvalidRequest(message) | G::Custom(message) => Error::transport(message),
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
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = EXCERPT_BYTES.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= EXCERPT_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            // The status is what matters; a body cut short is still kept.
            Err(_) => break,
        }
    }
    from_body(status, location, &body)
}

fn from_body(status: StatusCode, location: Option<String>, body: &[u8]) -> Error {
    if let Ok(info) = serde_json::from_slice::<generated::types::ErrorInfo>(body) {
        return Error::Api(ApiError::new(status, &info.code, info.message));
    }
    let excerpt = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)])
        .chars()
        .take(512)
        .collect();
    Error::UnexpectedResponse(UnexpectedResponse::new(status, location, excerpt))
}
