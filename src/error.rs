//! The crate's one error type, and S2's error codes.

use std::fmt;

use reqwest::StatusCode;

use crate::id::InvalidId;
use crate::layer::FailureKind;

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
    /// S2 answered a documented error whose body is not an `ErrorInfo`
    /// (an append's 412 `AppendConditionFailed`, a read's 416
    /// `TailResponse`); [`ErrorResponse::decode`] gives the typed body.
    #[error(transparent)]
    Response(ErrorResponse),
    /// A parameter was refused by the spec's own rules (the generated
    /// builder's check). Nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A response whose body does not match the spec's schema for its
    /// status.
    #[error(transparent)]
    InvalidBody(InvalidBody),
}

impl Error {
    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) => Some(e.status),
            Self::UnexpectedResponse(e) => Some(e.status),
            Self::Response(e) => Some(e.status),
            Self::InvalidBody(e) => e.status,
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
    /// failure is transient (see [`ApiError::is_retryable`] and
    /// [`is_retryable_status`]). Never 400, 401, 403, 404, 409 or 422 with
    /// a non-transient code. Revoking is idempotent, so retrying it is safe.
    pub fn is_retryable(&self) -> bool {
        FailureKind::of_error(self).is_some_and(|kind| kind.is_retryable())
    }

    /// Whether the call was refused before anything was sent.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Self::InvalidConfig(_) | Self::InvalidId(_) | Self::InvalidRequest(_)
        )
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
    /// [`Error::Timeout`] and [`Error::Transport`], S2's codes with possible
    /// side effects (see [`ApiError::has_no_side_effects`]), other answers
    /// with status 408, 500 or 504, and a success whose body did not match
    /// the spec. False when nothing was sent ([`Error::Connect`], refused
    /// input) and for every other answer. The request layer applies the
    /// same rule to each attempt.
    ///
    /// A retry that then finds the resource gone may be seeing this
    /// attempt's effect; after an error for which this is false it is not.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            Self::InvalidBody(_) => true,
            _ => FailureKind::of_error(self).is_some_and(|kind| kind.outcome_unknown()),
        }
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

/// Statuses that mean "try again" when the body carries no code this crate
/// knows: 408, 429, 500, 502, 503, 504 (S2's SDK's fallback).
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

    /// Whether the same call may succeed later, by S2's SDK's rule: a known
    /// code sent with its own status says (see [`ErrorCode::is_retryable`]);
    /// a known code with another status is not retryable; an unknown code
    /// falls back on the status ([`is_retryable_status`]).
    pub fn is_retryable(&self) -> bool {
        match self.code.status() {
            Some(status) => status == self.status && self.code.is_retryable(),
            None => is_retryable_status(self.status),
        }
    }

    /// Whether S2 guarantees the request had no effect: a known code that
    /// says so (see [`ErrorCode::has_no_side_effects`]), sent with its own
    /// status. `false` for unknown codes and mismatched statuses, as in S2's
    /// SDK.
    pub fn has_no_side_effects(&self) -> bool {
        self.code.status() == Some(self.status) && self.code.has_no_side_effects()
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

/// A documented error response whose body is not an `ErrorInfo`, kept as
/// JSON and decodable into the spec's type for it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("S2 answered {status}")]
pub struct ErrorResponse {
    status: StatusCode,
    body: serde_json::Value,
}

impl ErrorResponse {
    pub(crate) fn new(status: StatusCode, body: serde_json::Value) -> Self {
        Self { status, body }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body, as JSON.
    pub fn body(&self) -> &serde_json::Value {
        &self.body
    }

    /// The body as the spec's type, such as
    /// `types::AppendConditionFailed` or `types::TailResponse`.
    ///
    /// # Errors
    /// When the body is not a `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.body)
    }
}

/// A response whose body does not match the spec's schema for its status.
#[derive(Debug, thiserror::Error)]
#[error("S2's response{} does not match the spec: body {excerpt:?}",
    status.map(|s| format!(" ({s})")).unwrap_or_default())]
pub struct InvalidBody {
    status: Option<StatusCode>,
    excerpt: String,
    #[source]
    source: serde_json::Error,
}

impl InvalidBody {
    pub(crate) fn new(
        status: Option<StatusCode>,
        excerpt: String,
        source: serde_json::Error,
    ) -> Self {
        Self {
            status,
            excerpt,
            source,
        }
    }

    /// The HTTP status, when it is known: progenitor does not keep it for
    /// success bodies that fail to decode.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The start of the body, lossily decoded as UTF-8.
    pub fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $retry:literal, $no_side_effects:literal,
        $doc:literal;)*) => {
        /// S2's error codes (`ErrorInfo.code`), each with the status S2 pairs
        /// it with, whether it is transient and whether it guarantees the
        /// request had no effect: S2's own table (crate `s2-api`,
        /// `v1::error::ErrorCode`), checked against it by a test. Codes this
        /// crate does not know yet are kept as [`ErrorCode::Unknown`].
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = $doc]
                #[doc = concat!("\n\n`", $code, "`, HTTP ", $status, "; retryable: ", $retry,
                    "; no side effects: ", $no_side_effects, ".")]
                $variant,
            )*
            /// A code this version of the crate does not know.
            Unknown(UnknownCode),
        }

        impl ErrorCode {
            /// Every code this crate knows, in table order.
            #[cfg(test)]
            const KNOWN: &[ErrorCode] = &[$(Self::$variant,)*];

            /// The code as S2 spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Unknown(code) => &code.0,
                }
            }

            /// The HTTP status S2 sends this code with; `None` for unknown
            /// codes.
            pub fn status(&self) -> Option<StatusCode> {
                let status: u16 = match self {
                    $(Self::$variant => $status,)*
                    Self::Unknown(_) => return None,
                };
                StatusCode::from_u16(status).ok()
            }

            /// Whether S2 means the failure as transient, so the same call
            /// may succeed later (whether it is *safe* to repeat is
            /// [`has_no_side_effects`](Self::has_no_side_effects) for a
            /// request that is not idempotent). Unknown codes are not
            /// retryable by code; [`Error::is_retryable`] then looks at the
            /// status.
            pub fn is_retryable(&self) -> bool {
                match self {
                    $(Self::$variant => $retry,)*
                    Self::Unknown(_) => false,
                }
            }

            /// Whether S2 guarantees the request had no effect, so even a
            /// request that is not idempotent (an append without a request
            /// token) can be sent again without being applied twice.
            /// `false` for unknown codes: nothing is guaranteed.
            pub fn has_no_side_effects(&self) -> bool {
                match self {
                    $(Self::$variant => $no_side_effects,)*
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
    // variant = "code", status, retryable, no side effects, "doc";
    BadFrame = "bad_frame", 400, false, true, "A malformed frame.";
    BadHeader = "bad_header", 400, false, true, "A malformed header.";
    BadJson = "bad_json", 400, false, true, "A malformed JSON body.";
    BadPath = "bad_path", 400, false, true, "A malformed path (for example an id S2 refuses).";
    BadProto = "bad_proto", 400, false, true, "A malformed protobuf body.";
    BadQuery = "bad_query", 400, false, true, "A malformed query string.";
    DecryptionFailed = "decryption_failed", 400, false, true, "Records could not be decrypted with the key given.";
    Authn = "authn", 401, false, true, "The request could not be authenticated.";
    PermissionDenied = "permission_denied", 403, false, true, "The token may not do this.";
    QuotaExhausted = "quota_exhausted", 403, false, true, "An account quota is used up.";
    AccessTokenNotFound = "access_token_not_found", 404, false, true, "No access token with this id.";
    BasinNotFound = "basin_not_found", 404, false, true, "No such basin.";
    StreamNotFound = "stream_not_found", 404, false, true, "No such stream.";
    RequestTimeout = "request_timeout", 408, true, false, "S2 timed out handling the request.";
    ResourceAlreadyExists = "resource_already_exists", 409, false, true, "The resource exists already.";
    BasinDeletionPending = "basin_deletion_pending", 409, false, true, "The basin is being deleted.";
    StreamDeletionPending = "stream_deletion_pending", 409, false, true, "The stream is being deleted.";
    TransactionConflict = "transaction_conflict", 409, true, true, "A concurrent change conflicted.";
    Invalid = "invalid", 422, false, true, "A well-formed but invalid request.";
    RateLimited = "rate_limited", 429, true, true, "Too many requests.";
    ClientHangup = "client_hangup", 499, false, false, "S2 saw the client go away.";
    Other = "other", 500, true, false, "An internal error.";
    Storage = "storage", 500, true, false, "A storage error.";
    NotImplemented = "not_implemented", 501, false, true, "Not implemented by this server.";
    HotServer = "hot_server", 502, true, true, "The server is overloaded.";
    ServerDraining = "server_draining", 503, true, true, "The server is shutting down.";
    Unavailable = "unavailable", 503, true, false, "The service is unavailable.";
    UpstreamTimeout = "upstream_timeout", 504, true, false, "A service S2 depends on timed out.";
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
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::from(code.as_str()), code);
            assert!(code.status().is_some(), "{code}");
        }
        // The 408 code is `request_timeout`; a bare `timeout` is unknown.
        assert_eq!(
            ErrorCode::from("request_timeout"),
            ErrorCode::RequestTimeout
        );
        assert!(matches!(ErrorCode::from("timeout"), ErrorCode::Unknown(_)));
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
        // S2's table, not the status: 408 `request_timeout` and 409
        // `transaction_conflict` are transient, 499 `client_hangup` is not.
        assert!(api(408, "request_timeout").is_retryable());
        assert!(api(409, "transaction_conflict").is_retryable());
        assert!(!api(499, "client_hangup").is_retryable());
        // A known code with a status it does not go with fails closed, as
        // in S2's SDK.
        assert!(!api(500, "rate_limited").is_retryable());
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
    fn no_side_effects_needs_a_known_code_with_its_status() {
        let api = |status: u16, code: &str| {
            ApiError::new(StatusCode::from_u16(status).unwrap(), code, String::new())
        };
        assert!(api(429, "rate_limited").has_no_side_effects());
        assert!(api(503, "server_draining").has_no_side_effects());
        assert!(!api(503, "unavailable").has_no_side_effects());
        assert!(!api(500, "other").has_no_side_effects());
        assert!(!api(408, "request_timeout").has_no_side_effects());
        assert!(!api(429, "new_code").has_no_side_effects());
        assert!(!ErrorCode::from("new_code").has_no_side_effects());
        assert!(!api(503, "rate_limited").has_no_side_effects());
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

    #[test]
    fn the_table_is_s2s() {
        let s2 = s2_api_codes();
        assert!(!s2.is_empty(), "no codes enumerated from s2-api");
        for &theirs in &s2 {
            let wire: &'static str = theirs.into();
            let ours = ErrorCode::from(wire);
            assert!(
                !matches!(ours, ErrorCode::Unknown(_)),
                "s2-api's `{wire}` is unknown to the crate"
            );
            assert_eq!(ours.as_str(), wire);
            assert_eq!(
                ours.status().map(|s| s.as_u16()),
                Some(theirs.status().as_u16()),
                "status of `{wire}`"
            );
            assert_eq!(
                ours.is_retryable(),
                theirs.is_retryable(),
                "retryability of `{wire}`"
            );
            assert_eq!(
                ours.has_no_side_effects(),
                theirs.has_no_side_effects(),
                "side effects of `{wire}`"
            );
        }
        for ours in ErrorCode::KNOWN {
            assert!(
                ours.as_str()
                    .parse::<s2_api::v1::error::ErrorCode>()
                    .is_ok(),
                "the crate knows `{ours}`, s2-api does not"
            );
        }
        assert_eq!(ErrorCode::KNOWN.len(), s2.len());
    }

    /// Every code of S2's own table (`s2_api::v1::error::ErrorCode`),
    /// enumerated from s2-api itself rather than from a list kept by hand.
    ///
    /// s2-api's enum is `#[non_exhaustive]`, so a `match` on it outside its
    /// crate needs a wildcard arm and would not fail to compile when S2 adds
    /// a code; it derives no iterator (strum's `EnumIter`) and has no list
    /// of its variants. Its derived serde `Deserialize` does hold that list:
    /// it hands every variant's name to `Deserializer::deserialize_enum`. A
    /// deserializer that only records those names therefore sees each code
    /// S2 adds, and each name then deserializes to its variant.
    fn s2_api_codes() -> Vec<s2_api::v1::error::ErrorCode> {
        use serde::Deserialize;
        use serde::de::value::{Error as DeError, StrDeserializer};
        use serde::de::{Error as _, Visitor};
        use std::cell::Cell;

        struct VariantNames<'a>(&'a Cell<&'static [&'static str]>);

        impl<'de> serde::Deserializer<'de> for VariantNames<'_> {
            type Error = DeError;

            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, DeError> {
                Err(DeError::custom("not an enum"))
            }

            fn deserialize_enum<V: Visitor<'de>>(
                self,
                _name: &'static str,
                variants: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, DeError> {
                self.0.set(variants);
                Err(DeError::custom("variant names recorded"))
            }

            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
                bytes byte_buf option unit unit_struct newtype_struct seq tuple
                tuple_struct map struct identifier ignored_any
            }
        }

        let names = Cell::new(&[][..]);
        // The error is the point: the names were recorded on the way.
        let _ = s2_api::v1::error::ErrorCode::deserialize(VariantNames(&names));
        names
            .get()
            .iter()
            .map(|&name| {
                s2_api::v1::error::ErrorCode::deserialize(StrDeserializer::<DeError>::new(name))
                    .unwrap_or_else(|e| panic!("s2-api's variant {name}: {e}"))
            })
            .collect()
    }
}
