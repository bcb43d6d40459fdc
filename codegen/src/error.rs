//! The one error type of the code generator.

use std::path::PathBuf;

/// Why a spec could not be turned into Rust code.
///
/// Every variant renders as one line that names the spec and the problem, so
/// that a failing `build.rs` says what is wrong instead of panicking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodegenError {
    /// The spec file could not be read.
    #[error("cannot read the OpenAPI spec {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written (by `update`).
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The spec is not well-formed YAML or JSON.
    #[error("cannot parse the OpenAPI spec {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The spec parses but is not a valid OpenAPI document.
    #[error("invalid OpenAPI spec: {0}")]
    Invalid(String),
    /// The spec uses a construct the lowering cannot express in OpenAPI 3.0.
    #[error("unsupported OpenAPI construct: {0}")]
    Unsupported(String),
    /// progenitor rejected the (lowered) spec.
    #[error("progenitor cannot generate a client for this spec: {0}")]
    Generator(String),
}
