//! The crate's one error type, and S2's error codes.

use std::fmt;

use reqwest::StatusCode;

use crate::id::InvalidId;

/// Everything that can go wrong with a call, told apart by stage: refused
/// before sending ([`InvalidConfig`](Error::InvalidConfig),
/// [`InvalidId`](Error::InvalidId)), failed on the way
/// ([`Timeout`](Error::Timeout), [`Connect`](Error::Connect),
/// [`Transport`](Error::Transport)), or answered with an error
/// ([`Api`](Error::Api), [`UnexpectedResponse`](Error::UnexpectedResponse)).
///
/// No variant carries the access token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is invalid. Nothing was sent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The access token id was refused. Nothing was sent.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// S2 answered with an error status and an `ErrorInfo` body.
    #[error(transparent)]
    Api(ApiError),
    /// The request or its response did not complete in time, once a
    /// connection was made: the request may have reached S2.
    #[error("request to S2 timed out")]
    Timeout(#[source] TransportError),
    /// No connection could be made to the endpoint (refused, unreachable,
    /// TLS handshake failed, or not made within the connect timeout).
    /// Nothing was sent.
    #[error("cannot connect to S2")]
    Connect(#[source] TransportError),
    /// Another failure on the way (connection reset, HTTP protocol): the
    /// request may have reached S2.
    #[error("transport error talking to S2")]
    Transport(#[source] TransportError),
    /// A response the spec does not describe and that carries no
    /// `ErrorInfo`: a redirect, an HTML error page, a malformed body.
    #[error(transparent)]
    UnexpectedResponse(UnexpectedResponse),
}

impl Error {
    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) => Some(e.status),
            Self::UnexpectedResponse(e) => Some(e.status),
            _ => None,
        }
    }

    /// S2's error code, when the response carried one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api(e) => Some(&e.code),
            _ => None,
        }
    }

    /// Whether trying the same call again may succeed: timeouts, failed or
    /// broken connections, and responses whose code or status say the
    /// failure is transient (see [`ErrorCode::is_retryable`] and
    /// [`is_retryable_status`]). Never 400, 401, 403, 404, 409 or 422 with
    /// a non-transient code. Revoking is idempotent, so retrying it is safe.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Connect(_) | Self::Transport(_) => true,
            Self::Api(e) => match &e.code {
                ErrorCode::Unknown(_) => is_retryable_status(e.status),
                code => code.is_retryable(),
            },
            Self::UnexpectedResponse(e) => is_retryable_status(e.status),
            _ => false,
        }
    }

    /// Whether the call was refused before anything was sent.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidConfig(_) | Self::InvalidId(_))
    }

    /// Whether the call timed out: [`Error::Timeout`], or an
    /// [`Error::Connect`] because the connect timeout passed.
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Timeout(_) => true,
            Self::Connect(e) => e.reqwest().is_some_and(reqwest::Error::is_timeout),
            _ => false,
        }
    }

    /// Whether no connection could be made (nothing was sent).
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_))
    }

    /// Whether the failed request may nonetheless have been carried out:
    /// it may have reached S2 and no answer says it was not. True for
    /// [`Error::Timeout`], [`Error::Transport`] and the statuses S2 answers
    /// when it may have acted (408, 500, 504). False when nothing was sent
    /// ([`Error::Connect`], [`Error::InvalidId`], [`Error::InvalidConfig`])
    /// and for every other answer.
    ///
    /// A retry that then finds the resource gone may be seeing this
    /// attempt's effect; after an error for which this is false it is not.
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(self, Self::Timeout(_) | Self::Transport(_))
            || self
                .status()
                .is_some_and(|s| matches!(s.as_u16(), 408 | 500 | 504))
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        // Connect first: reqwest marks a connect timeout both `is_connect`
        // and `is_timeout`, and a request that never connected was never
        // sent.
        let connect = e.is_connect();
        let timeout = e.is_timeout();
        let transport = TransportError(Box::new(e));
        if connect {
            Self::Connect(transport)
        } else if timeout {
            Self::Timeout(transport)
        } else {
            Self::Transport(transport)
        }
    }

    pub(crate) fn transport(message: impl Into<String>) -> Self {
        Self::Transport(TransportError(message.into().into()))
    }

    pub(crate) fn deadline(timeout: std::time::Duration, attempts: u32) -> Self {
        Self::Timeout(TransportError(
            format!("the call's deadline of {timeout:?} passed during attempt {attempts}").into(),
        ))
    }
}

/// Statuses that mean "try again": 408, 429, 500, 502, 503, 504.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// A failure below HTTP (connection, TLS, protocol): the cause of
/// [`Error::Timeout`], [`Error::Connect`] and [`Error::Transport`].
///
/// It stands for its cause: its `Display` is the cause's own message (such
/// as reqwest's "error sending request for url (...)") and its
/// [`source`](std::error::Error::source) the cause's source, so walking the
/// chain prints each message once.
#[derive(Debug)]
pub struct TransportError(Box<dyn std::error::Error + Send + Sync>);

impl TransportError {
    fn reqwest(&self) -> Option<&reqwest::Error> {
        self.0.downcast_ref()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// An error answered by S2: an HTTP status with an `ErrorInfo` body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("S2 answered {status_code} {code}: {message}", status_code = status.as_u16())]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: String) -> Self {
        Self {
            status,
            code: ErrorCode::from(code),
            message,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// S2's error code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// S2's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A response the spec does not describe and that has no `ErrorInfo` body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unexpected response from S2: {}{}, body: {excerpt:?}",
    status,
    location.as_deref().map(|l| format!(" to {l:?}")).unwrap_or_default())]
pub struct UnexpectedResponse {
    status: StatusCode,
    location: Option<String>,
    excerpt: String,
}

impl UnexpectedResponse {
    pub(crate) fn new(status: StatusCode, location: Option<String>, excerpt: String) -> Self {
        Self {
            status,
            location,
            excerpt,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `Location` header of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The start of the body, lossily decoded as UTF-8.
    pub fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $retry:literal, $doc:literal;)*) => {
        /// S2's error codes (`ErrorInfo.code`), with the status S2 pairs
        /// them with. Codes this crate does not know yet are kept as
        /// [`ErrorCode::Unknown`].
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(#[doc = $doc] #[doc = concat!("\n\n`", $code, "`, HTTP ", $status, ".")] $variant,)*
            /// A code this version of the crate does not know.
            Unknown(UnknownCode),
        }

        impl ErrorCode {
            /// The code as S2 spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Unknown(code) => &code.0,
                }
            }

            /// Whether S2 means the failure as transient, so the same
            /// idempotent call may succeed later. Unknown codes are not
            /// retryable by code; [`Error::is_retryable`] then looks at the
            /// status.
            pub fn is_retryable(&self) -> bool {
                match self {
                    $(Self::$variant => $retry,)*
                    Self::Unknown(_) => false,
                }
            }
        }

        impl From<&str> for ErrorCode {
            fn from(code: &str) -> Self {
                match code {
                    $($code => Self::$variant,)*
                    other => Self::Unknown(UnknownCode(other.to_owned())),
                }
            }
        }
    };
}

error_codes! {
    BadFrame = "bad_frame", 400, false, "A malformed frame.";
    BadHeader = "bad_header", 400, false, "A malformed header.";
    BadJson = "bad_json", 400, false, "A malformed JSON body.";
    BadPath = "bad_path", 400, false, "A malformed path (for example an id S2 refuses).";
    BadProto = "bad_proto", 400, false, "A malformed protobuf body.";
    BadQuery = "bad_query", 400, false, "A malformed query string.";
    Invalid = "invalid", 422, false, "A well-formed but invalid request.";
    AccessTokenNotFound = "access_token_not_found", 404, false, "No access token with this id.";
    BasinNotFound = "basin_not_found", 404, false, "No such basin.";
    StreamNotFound = "stream_not_found", 404, false, "No such stream.";
    ResourceAlreadyExists = "resource_already_exists", 409, false, "The resource exists already.";
    BasinDeletionPending = "basin_deletion_pending", 409, false, "The basin is being deleted.";
    StreamDeletionPending = "stream_deletion_pending", 409, false, "The stream is being deleted.";
    TransactionConflict = "transaction_conflict", 409, false, "A concurrent change conflicted.";
    PermissionDenied = "permission_denied", 403, false, "The token may not do this.";
    QuotaExhausted = "quota_exhausted", 403, false, "An account quota is used up.";
    RateLimited = "rate_limited", 429, true, "Too many requests.";
    Timeout = "timeout", 408, true, "S2 timed out handling the request.";
    ClientHangup = "client_hangup", 499, true, "S2 saw the client go away.";
    Other = "other", 500, true, "An internal error.";
    Storage = "storage", 500, true, "A storage error.";
    NotImplemented = "not_implemented", 501, false, "Not implemented by this server.";
    HotServer = "hot_server", 502, true, "The server is overloaded.";
    Unavailable = "unavailable", 503, true, "The service is unavailable.";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error code unknown to this version of the crate, kept as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownCode(String);

impl UnknownCode {
    /// The code as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for code in [
            "access_token_not_found",
            "rate_limited",
            "bad_path",
            "unavailable",
        ] {
            assert_eq!(ErrorCode::from(code).as_str(), code);
            assert!(!matches!(ErrorCode::from(code), ErrorCode::Unknown(_)));
        }
        let unknown = ErrorCode::from("brand_new_code");
        assert!(matches!(&unknown, ErrorCode::Unknown(c) if c.as_str() == "brand_new_code"));
        assert_eq!(unknown.to_string(), "brand_new_code");
    }

    #[test]
    fn retryability_follows_code_then_status() {
        let api = |status: u16, code: &str| {
            Error::Api(ApiError::new(
                StatusCode::from_u16(status).unwrap(),
                code,
                String::new(),
            ))
        };
        assert!(api(429, "rate_limited").is_retryable());
        assert!(api(503, "unavailable").is_retryable());
        assert!(!api(404, "access_token_not_found").is_retryable());
        assert!(!api(400, "bad_path").is_retryable());
        assert!(api(503, "new_code").is_retryable());
        assert!(!api(400, "new_code").is_retryable());
        let unexpected = |status: u16| {
            Error::UnexpectedResponse(UnexpectedResponse::new(
                StatusCode::from_u16(status).unwrap(),
                None,
                String::new(),
            ))
        };
        assert!(unexpected(502).is_retryable());
        assert!(!unexpected(302).is_retryable());
        assert!(!Error::InvalidConfig("x".into()).is_retryable());
    }

    #[test]
    fn display_is_one_helpful_line() {
        let e = Error::Api(ApiError::new(
            StatusCode::NOT_FOUND,
            "access_token_not_found",
            "no such token".into(),
        ));
        assert_eq!(
            e.to_string(),
            "S2 answered 404 access_token_not_found: no such token"
        );
        let e = Error::UnexpectedResponse(UnexpectedResponse::new(
            StatusCode::FOUND,
            Some("http://elsewhere/".into()),
            String::new(),
        ));
        assert_eq!(
            e.to_string(),
            "unexpected response from S2: 302 Found to \"http://elsewhere/\", body: \"\""
        );
    }
}
