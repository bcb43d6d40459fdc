//! Errors of any generated call as the crate's [`Error`], so that `?` works
//! on every operation of the spec, with the HTTP status, S2's code and
//! message, whatever the operation's error type.
//!
//! The conversion is synchronous although progenitor may hand over a
//! response whose body is still unread: the request layer has already read
//! every error body into memory (capped), so reading it again completes at
//! once.

use futures_util::FutureExt;
use progenitor_client::Error as Generated;
use reqwest::StatusCode;

use crate::error::{ApiError, Error, ErrorResponse, InvalidBody, UnexpectedResponse};
use crate::layer::{CallReport, ERROR_BODY_LIMIT, UndecodableBody};

/// At most this much of an unexpected body is kept in the error.
const EXCERPT_CHARS: usize = 512;

/// Any generated call's error: `client.generated().list_basins().send().await?`.
///
/// A documented error body that is an `ErrorInfo` becomes [`Error::Api`];
/// another documented body (an append's `AppendConditionFailed`)
/// [`Error::Response`], its typed body kept; an undocumented status
/// [`Error::Api`] when its body is an `ErrorInfo` (S2 answers 404, 409,
/// 429, 5xx with one), else [`Error::UnexpectedResponse`] with an excerpt.
impl<E: serde::Serialize> From<Generated<E>> for Error {
    fn from(error: Generated<E>) -> Self {
        convert(error, None)
    }
}

/// The conversion, with what the request layer saw of the call when the
/// caller asked for it: the status progenitor drops when a body fails to
/// decode, and whether the deadline ended the call.
pub(crate) fn convert<E: serde::Serialize>(
    error: Generated<E>,
    report: Option<&CallReport>,
) -> Error {
    match error {
        Generated::ErrorResponse(response) => {
            let status = response.status();
            match serde_json::to_value(response.into_inner()) {
                Ok(body) => from_json(status, body),
                Err(e) => Error::InvalidBody(InvalidBody::new(Some(status), String::new(), e)),
            }
        }
        Generated::UnexpectedResponse(response) => from_unexpected(response),
        Generated::InvalidResponsePayload(body, e) => match report.and_then(|r| r.status) {
            // A documented error status with a body not of the spec's type.
            Some(status) if !status.is_success() => from_body(status, None, &body),
            status => Error::InvalidBody(InvalidBody::new(status, excerpt(&body), e)),
        },
        Generated::CommunicationError(e)
        | Generated::ResponseBodyError(e)
        | Generated::InvalidUpgrade(e) => match report {
            _ if let Some(undecodable) = undecodable(&e) => {
                from_body(undecodable.status, None, &undecodable.body)
            }
            Some(CallReport {
                deadline_passed: Some(deadline),
                attempts,
                ..
            }) if e.is_timeout() => Error::deadline(*deadline, *attempts),
            _ => Error::from_reqwest(e),
        },
        Generated::InvalidRequest(message) => Error::InvalidRequest(message),
        Generated::Custom(message) => Error::transport(message),
    }
}

/// The layer's note that a documented error body did not decode, if
/// that is what `e` is.
fn undecodable(e: &reqwest::Error) -> Option<&UndecodableBody> {
    let mut source = std::error::Error::source(e);
    while let Some(e) = source {
        if let Some(undecodable) = e.downcast_ref::<UndecodableBody>() {
            return Some(undecodable);
        }
        source = e.source();
    }
    None
}

/// A JSON error body: S2's `ErrorInfo` when it has one's shape.
fn from_json(status: StatusCode, body: serde_json::Value) -> Error {
    let field = |name| body.get(name).and_then(serde_json::Value::as_str);
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => Error::Api(ApiError::new(status, code, message.to_owned())),
        _ => Error::Response(ErrorResponse::new(status, body)),
    }
}

/// A status the spec does not list for the operation.
fn from_unexpected(response: reqwest::Response) -> Error {
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
    // The request layer read error bodies already: this completes at once.
    // A body still on the wire (a success status the spec does not list)
    // is left unread.
    let body = response
        .bytes()
        .now_or_never()
        .and_then(Result::ok)
        .unwrap_or_default();
    from_body(status, location, &body[..body.len().min(ERROR_BODY_LIMIT)])
}

/// An error body: `ErrorInfo` if it is one, else an excerpt.
fn from_body(status: StatusCode, location: Option<String>, body: &[u8]) -> Error {
    if let Ok(info) = serde_json::from_slice::<crate::generated::types::ErrorInfo>(body) {
        return Error::Api(ApiError::new(status, &info.code, info.message));
    }
    Error::UnexpectedResponse(UnexpectedResponse::new(status, location, excerpt(body)))
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(EXCERPT_CHARS)
        .collect()
}
