//! Code generation for `s2-openapi`.
//!
//! The pipeline is: [`load`] a spec (YAML or JSON), [`validate`] that it is
//! internally consistent, [`lower`] OpenAPI 3.1 constructs to the 3.0 that
//! progenitor reads, then generate and format Rust code with progenitor.
//! `build.rs` calls [`generate()`]; every step is usable on its own for tests
//! and tooling.

#![deny(missing_docs)]

pub mod error;
pub mod generate;
pub mod load;
pub mod lower;
pub mod requirements;
pub mod validate;

pub use error::CodegenError;
pub use generate::{Generated, SpecInfo, generate, generate_from_value};
