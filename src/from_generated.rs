//! Errors of any generated call as the crate's [`Error`], so that `?` works
//! on every operation of the spec and gives what the crate's own methods
//! give for the same failure; and each operation's builder awaited
//! directly (`client.generated().list_basins().await?`) gives its success
//! value and that `Error`, which `?` carries into `anyhow::Error` or
//! `Box<dyn Error>` as itself.
//!
//! The generator hands progenitor every error response as raw bytes
//! (`ByteStream`), so each arrives with its status and headers whatever
//! its body. The conversion is synchronous although a `ByteStream` is a
//! stream: the request layer has already read every error body into
//! memory (capped), so it yields at once; a stream still on the wire (a
//! client without the layer) gives an empty body, never a wait.

use futures_util::{FutureExt as _, StreamExt as _};
use progenitor_client::{ByteStream, Error as Generated, ResponseValue};

use crate::error::{ApiError, Error, InvalidBody};

/// Any generated call's error: `client.generated().list_basins().send().await?`.
///
/// An error status becomes [`Error::Api`] (S2's code and message when its
/// body is an `ErrorInfo`), a success body that does not match the spec
/// [`Error::InvalidBody`], a parameter the generated builder refused
/// [`Error::Invalid`], a request the layer refused to send
/// [`Error::NotSent`], and a failure below HTTP [`Error::Connect`],
/// [`Error::Timeout`] or [`Error::Transport`].
impl<E: sealed::ErrorBody> From<Generated<E>> for Error {
    fn from(error: Generated<E>) -> Self {
        match error {
            Generated::ErrorResponse(response) => {
                let (status, headers) = (response.status(), response.headers().clone());
                let body = E::into_bytes(response);
                Error::Api(ApiError::from_response(status, &headers, &body))
            }
            Generated::UnexpectedResponse(response) => {
                let (status, headers) = (response.status(), response.headers().clone());
                let body = response
                    .bytes()
                    .now_or_never()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                Error::Api(ApiError::from_response(status, &headers, &body))
            }
            Generated::InvalidResponsePayload(body, e) => {
                Error::InvalidBody(InvalidBody::new(&body, e))
            }
            Generated::CommunicationError(e)
            | Generated::ResponseBodyError(e)
            | Generated::InvalidUpgrade(e) => Error::from_reqwest(e),
            Generated::InvalidRequest(message) => Error::argument(with_rule(message)),
            // Only the request layer's `pre` hook makes these: it refused
            // to send.
            Generated::Custom(message) => Error::NotSent(message),
        }
    }
}

/// progenitor's message for an argument its builder refused, with the
/// rule the argument broke: progenitor names the type (``conversion to
/// `StreamNameStr` for stream failed``) and drops the rule.
fn with_rule(message: String) -> String {
    let rule = message
        .split('`')
        .nth(1)
        .and_then(|name| crate::spec::argument_rule(name).map(|rule| (name, rule)));
    match rule {
        Some((name, rule)) => format!("{message}: a `{name}` is {rule}"),
        None => message,
    }
}

mod sealed {
    use super::*;

    /// The error body types generated operations have: bytes, or none (an
    /// operation that documents no error response).
    pub trait ErrorBody: Sized {
        /// The body, as far as it is already in memory.
        fn into_bytes(response: ResponseValue<Self>) -> Vec<u8>;
    }

    impl ErrorBody for ByteStream {
        fn into_bytes(response: ResponseValue<Self>) -> Vec<u8> {
            let mut stream = response.into_inner().into_inner();
            let mut body = Vec::new();
            while let Some(Some(Ok(chunk))) = stream.next().now_or_never() {
                body.extend_from_slice(&chunk);
            }
            body
        }
    }

    impl ErrorBody for () {
        fn into_bytes(_: ResponseValue<Self>) -> Vec<u8> {
            Vec::new()
        }
    }
}

