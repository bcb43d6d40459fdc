//! Code generation for `s2-openapi`.
//!
//! The pipeline is: [`load`] a spec (YAML or JSON), then read its
//! [`model`]: [`validate`] that it is internally consistent, [`lower`]
//! OpenAPI 3.1 constructs to the 3.0 that progenitor reads, and take each
//! fact of the spec and its operations at the stage where it holds. Then
//! generate and format Rust code with progenitor, and the emitters
//! ([`operations`], [`lists`], [`live_reads`], [`calls`], [`arguments`],
//! [`declared`], [`conversions`]) render the model with the names of the
//! types progenitor made. `build.rs` calls [`generate()`]; every step is
//! usable on its own for tests and tooling.
//!
//! The modules in layers, each using only those below it: [`doc`] (JSON
//! helpers) and [`error`]; the document's checks and rewrites ([`validate`],
//! [`lower`], [`records`], [`live`]) and readings ([`surface`],
//! [`requirements`]); the [`model`]; the emitters; [`mod@generate`].

#![deny(missing_docs)]

pub mod arguments;
pub mod calls;
pub mod conversions;
pub mod declared;
pub mod doc;
pub mod error;
pub mod generate;
pub mod lists;
pub mod live;
pub mod live_reads;
pub mod load;
pub mod lower;
pub mod model;
pub mod operations;
pub mod records;
pub mod requirements;
pub mod surface;
pub mod validate;

pub use error::CodegenError;
pub use generate::{Generated, Needs, SpecInfo, generate, generate_from_value};

/// `message` on one line, for cargo's build-script protocol: each control
/// character (a line break would start a directive of its own, such as
/// `cargo::warning=` or `cargo::rustc-env=`) is written as its Rust escape.
pub fn one_line(message: &str) -> String {
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The crate feature of s2-openapi that the generated code needs and the
/// build lacks, said as the build should say it; `None` when nothing is
/// missing. `enabled` tells whether a feature of s2-openapi is on.
pub fn missing_feature(needs: &Needs, enabled: impl Fn(&str) -> bool) -> Option<String> {
    if needs.uuid {
        return Some(
            "the `uuid` crate (for `format: uuid`), which s2-openapi does not depend on".to_owned(),
        );
    }
    let why = match (needs.chrono, needs.regress) {
        (true, true) => "`format: date-time` and `pattern`",
        (true, false) => "`format: date-time`",
        (false, true) => "`pattern`",
        (false, false) => return None,
    };
    (!enabled(FULL_SPEC_FEATURE)).then(|| {
        format!(
            "s2-openapi's `{FULL_SPEC_FEATURE}` feature (chrono and regress, for {why}): \
             s2-openapi = {{ version = \"...\", features = [\"{FULL_SPEC_FEATURE}\"] }}"
        )
    })
}

/// The feature of s2-openapi that brings the crates newer specs' types use.
pub const FULL_SPEC_FEATURE: &str = "full-spec";

/// What s2-openapi commits beside its vendored spec, by path from its
/// root: the API-surface snapshot that makes spec changes reviewable. The
/// generated code itself is made by `build.rs` in every build and never
/// committed.
pub fn committed_files(generated: &Generated) -> Vec<(String, String)> {
    vec![(
        "openapi/api-surface.txt".to_owned(),
        generated.surface.render(),
    )]
}

/// A unified diff for each committed file under `root` that differs from
/// what `generated` makes of it (an absent file differs): empty when all
/// are up to date.
pub fn stale_files(root: &std::path::Path, generated: &Generated) -> Vec<String> {
    committed_files(generated)
        .into_iter()
        .filter_map(|(path, fresh)| {
            let committed = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
            (committed != fresh).then(|| {
                similar::TextDiff::from_lines(&committed, &fresh)
                    .unified_diff()
                    .context_radius(2)
                    .header(&format!("{path} (committed)"), "generated")
                    .to_string()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_leaves_no_line_break() {
        let line = one_line("bad `type: x\ncargo::warning=INJECTED` at /a\r\u{2028}\u{85}");
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(!line.contains(['\n', '\r', '\u{85}']), "{line}");
        assert!(line.contains("x\\ncargo::warning=INJECTED"), "{line}");
        assert_eq!(one_line("plain: ok é"), "plain: ok é");
    }
}
