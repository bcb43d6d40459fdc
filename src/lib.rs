#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The progenitor-generated client and types, exactly as generated from the
/// spec, and everything else `build.rs` generates from it.
/// [`Client::generated`] returns a configured instance.
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
pub mod generated;
pub mod spec;

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
    mod basin;
    mod client;
    mod compression;
    mod config;
    mod error;
    mod from_generated;
    mod layer;
    mod list;
    mod live;
    #[cfg(s2_operation = "append")]
    mod producer;
    mod rate_limit;
    mod retry;
    mod tls;

    pub use basin::{Basin, BasinName, MAX_BASIN_NAME_BYTES, MIN_BASIN_NAME_BYTES};
    pub use client::Client;
    pub use compression::{COMPRESSION_THRESHOLD, Compression};
    pub use config::{
        ClientBuilder, DEFAULT_CONNECT_TIMEOUT, ENV_ACCESS_TOKEN, ENV_ACCOUNT_ENDPOINT,
        ENV_BASIN_ENDPOINT,
    };
    pub use error::{
        ApiError, Error, ErrorCode, GaveUp, InvalidBody, InvalidInput, TransportError, UnknownCode,
        is_retryable_status,
    };
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

/// Marks each item as needing the spec's `revoke_access_token`: revoking
/// access tokens one at a time or in bulk, `s2-revoke` and the local
/// server, left out of a build from a spec without it.
macro_rules! revoke {
    ($($item:item)*) => { $(#[cfg(s2_openapi_revoke)] $item)* };
}

revoke! {
    /// Stops a bulk revocation early ([`BulkOptions::stop`]).
    pub use tokio_util::sync::CancellationToken;

    mod bulk;
    mod id;
    #[cfg(feature = "local-server")]
    #[cfg_attr(docsrs, doc(cfg(feature = "local-server")))]
    pub mod local_server;
    mod revoke;

    pub use bulk::{BulkOptions, BulkOutcome, DEFAULT_BULK_CONCURRENCY, FirstOutcome, Outcome};
    pub use id::{AccessTokenId, IdRejection, InvalidId, MAX_ID_BYTES};
    pub use revoke::{Confirmation, Revoked};
}
