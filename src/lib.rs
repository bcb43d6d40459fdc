#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The progenitor-generated client and types, exactly as generated from the
/// spec. [`Client::generated`] returns a configured instance.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    unused_imports,
    unreachable_pub,
    rustdoc::all
)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));

    /// The live client: the spec's operations whose answer is a stream of
    /// Server-Sent Events, as generated for
    /// [`Basin::live`](crate::Basin::live). Its types are the main
    /// client's.
    pub mod live {
        include!(concat!(env!("OUT_DIR"), "/live_client.rs"));
    }
}

/// Facts about the spec this crate was generated from, read from it at
/// build time.
pub mod spec {
    include!(concat!(env!("OUT_DIR"), "/spec_info.rs"));

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
}

/// The generated client's inner value. Without the wrapper (a spec built
/// with `S2_OPENAPI_GENERATED_ONLY`), generated calls go out as progenitor
/// sends them.
#[cfg(not(s2_openapi_wrapper))]
#[derive(Clone, Debug, Default)]
pub struct RequestLayer;

/// progenitor's own hooks: requests go out as it builds them.
#[cfg(not(s2_openapi_wrapper))]
impl progenitor_client::ClientHooks<RequestLayer> for generated::Client {}
#[cfg(not(s2_openapi_wrapper))]
impl progenitor_client::ClientHooks<RequestLayer> for generated::live::Client {}

pub use generated::types;
pub use records::RecordBytes;

mod records;

/// Marks each item as part of the hand-written wrapper, left out of a
/// generated-only build (`S2_OPENAPI_GENERATED_ONLY`, for a spec that
/// cannot back the wrapper).
macro_rules! wrapper {
    ($($item:item)*) => { $(#[cfg(s2_openapi_wrapper)] $item)* };
}

wrapper! {
    /// Stops a bulk revocation early ([`BulkOptions::stop`]).
    pub use tokio_util::sync::CancellationToken;

    mod basin;
    mod bulk;
    mod client;
    mod compression;
    mod config;
    mod error;
    mod from_generated;
    mod id;
    mod layer;
    mod list;
    mod live;
    #[cfg(s2_operation = "append")]
    mod producer;
    #[cfg(feature = "local-server")]
    #[cfg_attr(docsrs, doc(cfg(feature = "local-server")))]
    pub mod local_server;
    mod rate_limit;
    mod retry;
    mod tls;

    pub use basin::{Basin, BasinName, MAX_BASIN_NAME_BYTES, MIN_BASIN_NAME_BYTES};
    pub use bulk::{BulkOptions, BulkOutcome, DEFAULT_BULK_CONCURRENCY, FirstOutcome, Outcome};
    pub use client::{Client, Confirmation, Revoked};
    pub use compression::{COMPRESSION_THRESHOLD, Compression};
    pub use config::{
        ClientBuilder, DEFAULT_CONNECT_TIMEOUT, ENV_ACCESS_TOKEN, ENV_ACCOUNT_ENDPOINT,
        ENV_BASIN_ENDPOINT,
    };
    pub use error::{
        ApiError, Error, ErrorCode, GaveUp, InvalidBody, InvalidInput, TransportError, UnknownCode,
        is_retryable_status,
    };
    pub use id::{AccessTokenId, IdRejection, InvalidId, MAX_ID_BYTES};
    pub use layer::{
        DEFAULT_OPERATION_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, ERROR_BODY_LIMIT, RequestLayer,
    };
    pub use list::CursorList;
    #[cfg(s2_operation = "append")]
    pub use producer::{
        BatchAck, MAX_BATCH_BYTES, MAX_BATCH_RECORDS, NotSent, Producer, ProducerConfig,
        ProducerError, RecordAck, Ticket,
    };
    pub use live::{HEARTBEAT_TIMEOUT, Heartbeat, LiveEvent, LiveRead};
    pub use retry::RetryPolicy;
}
