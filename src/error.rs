//! The crate's one error type, and S2's error codes.
//!
//! [`Error`]'s variants are the stages a caller acts on differently;
//! everything else is behind methods. [`ApiError::from_body`] is the one
//! place S2's `ErrorInfo` body is read, for the request layer's retry
//! decisions and for the error a caller gets alike.

use std::fmt;

use reqwest::StatusCode;

#[cfg(s2_openapi_revoke)]
use crate::id::InvalidId;
use crate::generated::types::ErrorInfo;

/// At most this much of a body is kept in an error's message.
const EXCERPT_CHARS: usize = 512;

/// Everything that can go wrong with a call, told apart by stage: refused
/// before sending ([`Invalid`](Error::Invalid), [`NotSent`](Error::NotSent)),
/// failed on the way
/// ([`Connect`](Error::Connect), [`Timeout`](Error::Timeout),
/// [`Transport`](Error::Transport)), or answered ([`Api`](Error::Api),
/// [`InvalidBody`](Error::InvalidBody)).
///
/// Every generated call's error converts into it (`?` works on any
/// operation), and the crate's own methods return the same `Error` for the
/// same failure. No variant carries the access token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused: the configuration, an id, or an argument
    /// breaks a rule. Nothing was sent.
    #[error(transparent)]
    Invalid(InvalidInput),
    /// The request layer did not send the request, for the reason given:
    /// the operation is served per basin and the handle has none, or a bulk
    /// run was stopped or the deadline passed while the request waited for
    /// its turn. Nothing was sent.
    #[error("request not sent: {0}")]
    NotSent(String),
    /// No connection could be made to the endpoint (refused, unreachable,
    /// TLS handshake failed, or not made within the connect timeout).
    /// Nothing was sent.
    #[error("cannot connect to S2")]
    Connect(#[source] TransportError),
    /// The request or its response did not complete in time, once a
    /// connection was made: the request may have reached S2.
    #[error("request to S2 timed out")]
    Timeout(#[source] TransportError),
    /// Another failure on the way (connection reset, HTTP protocol): the
    /// request may have reached S2.
    #[error("transport error talking to S2")]
    Transport(#[source] TransportError),
    /// An answer the spec does not list as a success: an error status, a
    /// redirect. Its status always; S2's code and message when the body is
    /// an `ErrorInfo`.
    #[error(transparent)]
    Api(ApiError),
    /// A success whose body does not match the spec's schema.
    #[error(transparent)]
    InvalidBody(InvalidBody),
    /// A live read stopped reconnecting: the client's retry policy allows
    /// no more reconnections without a new event. The last failure is the
    /// [`source`](std::error::Error::source).
    #[error(transparent)]
    GaveUp(GaveUp),
}

/// A live read that gave up: how many reconnections brought no new event,
/// over how long, and the last failure.
#[derive(Debug, thiserror::Error)]
#[error(
    "the live read gave up after {reconnections} reconnections with no new event for {:.1} s",
    .quiet_for.as_secs_f64()
)]
#[non_exhaustive]
pub struct GaveUp {
    /// Reconnections made since the last new event.
    pub reconnections: u32,
    /// How long the read went without a new event.
    pub quiet_for: std::time::Duration,
    /// The failure that ended the last connection.
    #[source]
    pub last: Box<Error>,
}

impl Error {
    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) => Some(e.status),
            Self::InvalidBody(e) => e.status,
            Self::GaveUp(e) => e.last.status(),
            _ => None,
        }
    }

    /// S2's error code, when the response carried one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api(e) => e.code.as_ref(),
            Self::GaveUp(e) => e.last.code(),
            _ => None,
        }
    }

    /// Whether trying the same call again may succeed: timeouts, failed or
    /// broken connections, and answers whose code or status say the failure
    /// is transient (see [`ApiError::is_retryable`]). Never refused input,
    /// nor 400, 401, 403, 404, 409 or 422 with a code that is not transient.
    pub fn is_retryable(&self) -> bool {
        self.failure().is_some_and(Failure::is_retryable)
    }

    /// Whether the call was refused before anything was sent.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::Invalid(_))
    }

    /// Whether the call timed out: [`Error::Timeout`], or an
    /// [`Error::Connect`] because the connect timeout passed.
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Timeout(_) => true,
            Self::Connect(e) => e.is_timeout(),
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
    /// side effects (see [`ApiError::has_no_side_effects`]), answers without
    /// a code with status 408, 500 or 504, and a success whose body did not
    /// match the spec. False when nothing was sent. The request layer
    /// applies the same rule to each attempt.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            Self::InvalidBody(_) => true,
            Self::GaveUp(e) => e.last.may_have_taken_effect(),
            _ => self.failure().is_some_and(Failure::may_have_taken_effect),
        }
    }

    /// What the error says about trying again; `None` when nothing was
    /// attempted or the answer was a success.
    pub(crate) fn failure(&self) -> Option<Failure<'_>> {
        match self {
            Self::Connect(_) => Some(Failure::Transport(TransportKind::Connect)),
            Self::Timeout(_) => Some(Failure::Transport(TransportKind::Timeout)),
            Self::Transport(_) => Some(Failure::Transport(TransportKind::Broken)),
            Self::Api(e) => Some(Failure::Answer(e)),
            Self::GaveUp(e) => e.last.failure(),
            Self::Invalid(_) | Self::NotSent(_) | Self::InvalidBody(_) => None,
        }
    }

    /// A failure below HTTP, by its stage.
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        let kind = TransportKind::of(&e);
        let transport = TransportError(Box::new(e));
        match kind {
            TransportKind::Connect => Self::Connect(transport),
            TransportKind::Timeout => Self::Timeout(transport),
            TransportKind::Broken => Self::Transport(transport),
        }
    }

    /// A live read that heard nothing (no event, no heartbeat) for
    /// `window`: a timeout, once connected.
    pub(crate) fn silent(window: std::time::Duration) -> Self {
        let why = format!("no event or heartbeat for {} s", window.as_secs());
        Self::Timeout(TransportError(Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            why,
        ))))
    }

    /// A configuration that cannot work.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Invalid(InvalidInput::Config(message.into()))
    }

    /// An argument that breaks a rule of S2's or of the spec's.
    pub(crate) fn argument(message: impl Into<String>) -> Self {
        Self::Invalid(InvalidInput::Argument(message.into()))
    }

    /// A body that decodes but contradicts itself
    /// ([`InvalidBody::contradiction`]).
    pub(crate) fn contradiction(what: &str) -> Self {
        Self::InvalidBody(InvalidBody::contradiction(what))
    }
}

#[cfg(s2_openapi_revoke)]
impl From<InvalidId> for Error {
    fn from(e: InvalidId) -> Self {
        Self::Invalid(InvalidInput::Id(e))
    }
}

/// Input refused before anything was sent, and which rule it broke.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// The client configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An access token id S2 would refuse, or that cannot be sent safely.
    #[cfg(s2_openapi_revoke)]
    #[error(transparent)]
    Id(InvalidId),
    /// A parameter breaks S2's rules or the spec's (the generated
    /// builder's check).
    #[error("invalid argument: {0}")]
    Argument(String),
}

/// Statuses that mean "try again" when the body carries no code this crate
/// knows: 408, 429, 500, 502, 503, 504 (S2's SDK's fallback).
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// How an attempt failed below HTTP, decided once from reqwest's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransportKind {
    /// No connection was made: nothing was sent.
    Connect,
    /// Timed out after the request may have left.
    Timeout,
    /// The connection broke after the request may have left.
    Broken,
}

impl TransportKind {
    /// reqwest marks a connect timeout both `is_connect` and `is_timeout`:
    /// it never connected, so nothing was sent.
    pub(crate) fn of(e: &reqwest::Error) -> Self {
        if e.is_connect() {
            Self::Connect
        } else if e.is_timeout() {
            Self::Timeout
        } else {
            Self::Broken
        }
    }
}

/// A failed attempt or call, as far as trying again is concerned.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Failure<'a> {
    /// Below HTTP.
    Transport(TransportKind),
    /// Answered with an error.
    Answer(&'a ApiError),
}

impl Failure<'_> {
    /// Whether the same request may succeed later.
    pub(crate) fn is_retryable(self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Answer(e) => e.is_retryable(),
        }
    }

    /// Whether S2 guarantees nothing happened: no connection was made, or
    /// S2's code says so. A bare status gives no such guarantee.
    pub(crate) fn had_no_effect(self) -> bool {
        match self {
            Self::Transport(kind) => kind == TransportKind::Connect,
            Self::Answer(e) => e.has_no_side_effects(),
        }
    }

    /// Whether the request may nonetheless have been carried out: it timed
    /// out or broke after sending, or the answer says it may have (a code
    /// with side effects, or a bare 408, 500 or 504).
    pub(crate) fn may_have_taken_effect(self) -> bool {
        match self {
            Self::Transport(kind) => kind != TransportKind::Connect,
            Self::Answer(e) => match e.code {
                Some(_) => !e.has_no_side_effects(),
                None => matches!(e.status.as_u16(), 408 | 500 | 504),
            },
        }
    }
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
    fn is_timeout(&self) -> bool {
        self.0
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
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

/// An answer the spec does not list as a success: its status always, S2's
/// code and message when the body is an `ErrorInfo`, else the body (as
/// JSON when it is JSON, such as an append's `AppendConditionFailed`).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    code: Option<ErrorCode>,
    message: String,
    body: Option<serde_json::Value>,
    location: Option<String>,
}

impl ApiError {
    /// Reads an answer's body: the spec's [`ErrorInfo`] (`{"code",
    /// "message"}`) when it is one, else JSON, else text. The one place
    /// `ErrorInfo` is read.
    pub(crate) fn from_body(status: StatusCode, location: Option<String>, body: &[u8]) -> Self {
        let (code, message, json) = if let Ok(info) = serde_json::from_slice::<ErrorInfo>(body) {
            (Some(ErrorCode::from(&*info.code)), info.message, None)
        } else if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
            let message = condition_in_words(status, &json)
                .unwrap_or_else(|| excerpt(json.to_string().as_bytes()));
            (None, message, Some(json))
        } else {
            (None, excerpt(body), None)
        };
        Self {
            status,
            code,
            message,
            body: json,
            location,
        }
    }

    /// [`ApiError::from_body`] for an answer with these headers (its
    /// `Location`, for a redirect).
    pub(crate) fn from_response(
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Self {
        let location = headers
            .get(reqwest::header::LOCATION)
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
        Self::from_body(status, location, body)
    }

    /// A live read's `error` event: S2's `ErrorInfo` as the event's data.
    /// An event has no status of its own (the stream's was 200 OK): it
    /// gets the one S2 pairs with its code, so that what the error says
    /// about retrying is S2's; 200 OK for a code this crate does not know.
    pub(crate) fn from_event(data: &[u8]) -> Self {
        let mut error = Self::from_body(StatusCode::OK, None, data);
        if let Some(status) = error.code.as_ref().and_then(ErrorCode::status) {
            error.status = status;
        }
        error
    }

    #[cfg(test)]
    pub(crate) fn new(status: StatusCode, code: &str, message: &str) -> Self {
        let body = serde_json::json!({"code": code, "message": message}).to_string();
        Self::from_body(status, None, body.as_bytes())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// S2's error code, when the body was an `ErrorInfo`.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code.as_ref()
    }

    /// S2's message; for a body that is not an `ErrorInfo`, its start
    /// (lossily decoded as UTF-8).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The body, when it is JSON but not an `ErrorInfo` (an append's 412
    /// `AppendConditionFailed`, a read's 416 `TailResponse`).
    pub fn body(&self) -> Option<&serde_json::Value> {
        self.body.as_ref()
    }

    /// The error body the spec declares for this status, typed: an
    /// append's failed condition (`412`), a read's tail past the end
    /// (`416`). `None` for S2's `ErrorInfo` and undeclared bodies.
    pub fn declared(&self) -> Option<crate::generated::DeclaredError> {
        crate::generated::DeclaredError::read(self.status.as_u16(), self.body.as_ref()?)
    }

    /// The body as the spec's type for it, such as
    /// `types::AppendConditionFailed`.
    ///
    /// # Errors
    /// When the body is not JSON or not a `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.body {
            Some(body) => T::deserialize(body),
            None => Err(serde::de::Error::custom("the body is not JSON")),
        }
    }

    /// The `Location` header of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// Whether the same call may succeed later, by S2's SDK's rule: a known
    /// code sent with its own status says (see [`ErrorCode::is_retryable`]);
    /// a known code with another status is not retryable; an unknown code,
    /// or none, falls back on the status ([`is_retryable_status`]).
    pub fn is_retryable(&self) -> bool {
        match self.code.as_ref().map(|code| (code, code.status())) {
            Some((code, Some(status))) => status == self.status && code.is_retryable(),
            _ => is_retryable_status(self.status),
        }
    }

    /// Whether S2 guarantees the request had no effect: a known code that
    /// says so (see [`ErrorCode::has_no_side_effects`]), sent with its own
    /// status. `false` for unknown codes, mismatched statuses and answers
    /// without a code, as in S2's SDK.
    pub fn has_no_side_effects(&self) -> bool {
        self.code
            .as_ref()
            .is_some_and(|code| code.status() == Some(self.status) && code.has_no_side_effects())
    }
}

/// An append's failed condition (S2's `AppendConditionFailed`, answered
/// with `412`), in words: which condition, and what the stream holds.
fn condition_in_words(status: StatusCode, json: &serde_json::Value) -> Option<String> {
    if status != StatusCode::PRECONDITION_FAILED {
        return None;
    }
    if let Some(tail) = json.get("seq_num_mismatch").and_then(serde_json::Value::as_u64) {
        return Some(format!(
            "the append's match_seq_num did not match the stream's tail: the next record \
             would be number {tail}"
        ));
    }
    let token = json.get("fencing_token_mismatch")?.as_str()?;
    Some(format!(
        "the append's fencing token did not match the stream's, {}",
        excerpt(format!("{token:?}").as_bytes())
    ))
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "S2 answered {} {code}", self.status.as_u16())?,
            None => write!(f, "S2 answered {}", self.status)?,
        }
        if let Some(location) = &self.location {
            write!(f, " to {location:?}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A success whose body does not match the spec's schema for it.
#[derive(Debug, thiserror::Error)]
#[error("S2's response{} does not match the spec{}",
    status.map(|s| format!(" ({s})")).unwrap_or_default(),
    excerpt.as_ref().map(|e| format!(": body {e:?}")).unwrap_or_default())]
pub struct InvalidBody {
    status: Option<StatusCode>,
    /// `None` when what is wrong is not one body's content.
    excerpt: Option<String>,
    #[source]
    source: serde_json::Error,
}

impl InvalidBody {
    pub(crate) fn new(body: &[u8], source: serde_json::Error) -> Self {
        Self {
            status: None,
            excerpt: Some(excerpt(body)),
            source,
        }
    }

    /// Responses that decode but contradict themselves or each other, such
    /// as a list page that promises more items and holds none, or a live
    /// read that ends without `[DONE]`: `what` is the cause.
    pub(crate) fn contradiction(what: &str) -> Self {
        Self {
            status: None,
            excerpt: None,
            source: <serde_json::Error as serde::de::Error>::custom(what),
        }
    }

    /// The HTTP status, when it is known: progenitor does not keep it for
    /// success bodies that fail to decode.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The start of the body, lossily decoded as UTF-8; empty when what is
    /// wrong is not one body's content (then [`source`] says what it is).
    ///
    /// [`source`]: std::error::Error::source
    pub fn excerpt(&self) -> &str {
        self.excerpt.as_deref().unwrap_or_default()
    }
}

/// The start of a body, lossily decoded as UTF-8.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(EXCERPT_CHARS)
        .collect()
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
            /// Every code this version of the crate knows, in table order.
            pub const KNOWN: &[ErrorCode] = &[$(Self::$variant,)*];

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
    fn an_invalid_body_shows_the_body_or_says_nothing_of_one() {
        use std::error::Error as _;
        let cause = <serde_json::Error as serde::de::Error>::custom("expected a page");
        let body = InvalidBody::new(b"<html>", cause);
        assert_eq!(
            body.to_string(),
            "S2's response does not match the spec: body \"<html>\""
        );
        // A contradiction is not in one body: no empty excerpt posing as
        // the body, and the cause comes through `source` only.
        let contradiction = InvalidBody::contradiction("two pages ended at the same item");
        assert_eq!(
            contradiction.to_string(),
            "S2's response does not match the spec"
        );
        assert_eq!(contradiction.excerpt(), "");
        let source = contradiction.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("two pages ended at the same item"));
    }

    /// An answer with S2's code and an empty message.
    fn answer(status: u16, code: &str) -> ApiError {
        ApiError::new(StatusCode::from_u16(status).unwrap(), code, "")
    }

    #[test]
    fn retryability_follows_code_then_status() {
        let api = |status, code| Error::Api(answer(status, code));
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
            Error::Api(ApiError::from_body(
                StatusCode::from_u16(status).unwrap(),
                None,
                b"<html>",
            ))
        };
        assert!(unexpected(502).is_retryable());
        assert!(!unexpected(302).is_retryable());
        assert!(unexpected(500).may_have_taken_effect());
        assert!(!unexpected(502).may_have_taken_effect());
        assert!(!Error::config("x").is_retryable());
    }

    #[test]
    fn no_side_effects_needs_a_known_code_with_its_status() {
        assert!(answer(429, "rate_limited").has_no_side_effects());
        assert!(answer(503, "server_draining").has_no_side_effects());
        assert!(!answer(503, "unavailable").has_no_side_effects());
        assert!(!answer(500, "other").has_no_side_effects());
        assert!(!answer(408, "request_timeout").has_no_side_effects());
        assert!(!answer(429, "new_code").has_no_side_effects());
        assert!(!ErrorCode::from("new_code").has_no_side_effects());
        assert!(!answer(503, "rate_limited").has_no_side_effects());
    }

    #[test]
    fn display_is_one_helpful_line() {
        for (e, shown) in [
            (
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "access_token_not_found",
                    "no such token",
                ),
                "S2 answered 404 access_token_not_found: no such token",
            ),
            (
                ApiError::from_body(StatusCode::FOUND, Some("http://elsewhere/".into()), b""),
                "S2 answered 302 Found to \"http://elsewhere/\"",
            ),
            (
                ApiError::from_body(
                    StatusCode::PRECONDITION_FAILED,
                    None,
                    br#"{"seq_num_mismatch":5}"#,
                ),
                "S2 answered 412 Precondition Failed: the append's match_seq_num did not match \
                 the stream's tail: the next record would be number 5",
            ),
            (
                ApiError::from_body(
                    StatusCode::PRECONDITION_FAILED,
                    None,
                    br#"{"fencing_token_mismatch":"w-1"}"#,
                ),
                "S2 answered 412 Precondition Failed: the append's fencing token did not match \
                 the stream's, \"w-1\"",
            ),
            (
                ApiError::from_body(StatusCode::PRECONDITION_FAILED, None, br#"{"new":1}"#),
                r#"S2 answered 412 Precondition Failed: {"new":1}"#,
            ),
        ] {
            let status = e.status();
            let e = Error::Api(e);
            assert_eq!(e.to_string(), shown);
            assert_eq!(e.status(), Some(status));
        }
    }

    #[test]
    fn error_info_bodies_are_read_once_into_code_and_message() {
        let status = StatusCode::TOO_MANY_REQUESTS;
        let e = ApiError::from_body(status, None, br#"{"code":"rate_limited","message":"slow"}"#);
        assert_eq!(e.code(), Some(&ErrorCode::RateLimited));
        assert_eq!(e.message(), "slow");
        assert_eq!(e.body(), None);
        let e = ApiError::from_body(status, None, br#"{"message":"no code"}"#);
        assert_eq!(e.code(), None);
        assert_eq!(e.body().unwrap()["message"], "no code");
        let e = ApiError::from_body(status, None, b"<html>");
        assert_eq!((e.code(), e.message()), (None, "<html>"));
        assert_eq!(e.status(), status);
        // Read with the spec's `ErrorInfo`, whose `message` is required (S2
        // always sends one: `s2-api`'s `ErrorInfo.message` is a `String`).
        // A body without it is not S2's error: its code is not taken, and
        // the status alone decides what may be retried.
        let e = ApiError::from_body(status, None, br#"{"code":"rate_limited"}"#);
        assert_eq!(e.code(), None);
        assert_eq!(e.body().unwrap()["code"], "rate_limited");
    }
}
