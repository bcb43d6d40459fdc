//! Facts about the spec this crate was generated from, read from it at
//! build time: what the request layer needs to apply S2's rules to each
//! operation.

pub use crate::generated::facts::{
    ARGUMENT_RULES, OPERATIONS, SPEC_SERVER_URL, SPEC_TITLE, SPEC_VERSION,
};

/// One operation of the spec, with what the request layer reads to
/// apply S2's rules to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// `operationId`, as progenitor names the operation's method.
    pub id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, such as `/streams/{stream}`.
    pub path: &'static str,
    /// Whether the operation declares S2's idempotency token header,
    /// `s2-request-token`.
    pub takes_request_token: bool,
    /// Whether the operation declares `s2-format`: its record data are
    /// [`RecordBytes`](crate::RecordBytes), sent and read as base64.
    pub record_format: bool,
    /// The per-basin server the spec declares for it, such as
    /// `https://{basin}.b.s2.dev/v1`: a basin-scoped operation.
    pub basin_server: Option<&'static str>,
    /// The query parameter by which the operation asks the server to
    /// hold its answer up to that many seconds (`read`'s `wait`, a long
    /// poll): a `query` parameter named `wait` with an integer schema.
    /// The request layer adds its value to the request's timeouts.
    pub wait_param: Option<&'static str>,
}

/// The rule of the spec's constrained type with this Rust name, in
/// words, such as `1 to 512 characters`.
pub fn argument_rule(type_name: &str) -> Option<&'static str> {
    ARGUMENT_RULES
        .binary_search_by(|(name, _)| (*name).cmp(type_name))
        .ok()
        .and_then(|i| ARGUMENT_RULES.get(i))
        .map(|(_, rule)| *rule)
}

/// The operation with this id.
pub fn operation(id: &str) -> Option<&'static Operation> {
    OPERATIONS
        .binary_search_by(|op| op.id.cmp(id))
        .ok()
        .and_then(|i| OPERATIONS.get(i))
}
