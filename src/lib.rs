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
}

/// Facts about the spec this crate was generated from.
pub mod spec {
    include!(concat!(env!("OUT_DIR"), "/spec_info.rs"));
}

pub use generated::types;
/// Stops a bulk revocation early ([`BulkOptions::stop`]).
#[cfg(s2_openapi_wrapper)]
pub use tokio_util::sync::CancellationToken;

#[cfg(s2_openapi_wrapper)]
mod bulk;
#[cfg(s2_openapi_wrapper)]
mod client;
#[cfg(s2_openapi_wrapper)]
mod config;
#[cfg(s2_openapi_wrapper)]
mod error;
#[cfg(s2_openapi_wrapper)]
mod id;
#[cfg(all(s2_openapi_wrapper, feature = "local-server"))]
#[cfg_attr(docsrs, doc(cfg(feature = "local-server")))]
pub mod local_server;
#[cfg(s2_openapi_wrapper)]
mod retry;
#[cfg(s2_openapi_wrapper)]
mod tls;

#[cfg(s2_openapi_wrapper)]
pub use bulk::{BulkOptions, BulkOutcome, DEFAULT_BULK_CONCURRENCY, MAX_BULK_LANES, Outcome};
#[cfg(s2_openapi_wrapper)]
pub use client::{Client, Confirmation, ERROR_BODY_LIMIT, Revoked};
#[cfg(s2_openapi_wrapper)]
pub use config::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_OPERATION_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
    ENV_ACCESS_TOKEN, ENV_ACCOUNT_ENDPOINT,
};
#[cfg(s2_openapi_wrapper)]
pub use error::{
    ApiError, Error, ErrorCode, TransportError, UnexpectedResponse, UnknownCode,
    is_retryable_status,
};
#[cfg(s2_openapi_wrapper)]
pub use id::{AccessTokenId, IdRejection, InvalidId, MAX_ID_BYTES};
#[cfg(s2_openapi_wrapper)]
pub use retry::RetryPolicy;
