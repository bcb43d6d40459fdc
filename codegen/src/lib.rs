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
pub mod operations;
pub mod requirements;
pub mod surface;
pub mod validate;

pub use error::CodegenError;
pub use generate::{Generated, SpecInfo, generate, generate_from_value};

/// A unified diff from the committed snapshot to the generated one, or
/// `None` when they match.
pub fn snapshot_diff(committed: &str, generated: &str) -> Option<String> {
    (committed != generated).then(|| {
        similar::TextDiff::from_lines(committed, generated)
            .unified_diff()
            .context_radius(2)
            .header(
                "openapi/api-surface.txt (committed)",
                "generated from openapi/s2.yaml",
            )
            .to_string()
    })
}
