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

/// What s2-openapi commits of its vendored spec, by path from its root:
/// the API-surface snapshot that makes spec changes reviewable, and the
/// generated code that a build without the `codegen` feature includes.
pub fn committed_files(generated: &Generated) -> Vec<(String, String)> {
    let mut files = vec![(
        "openapi/api-surface.txt".to_owned(),
        generated.surface.render(),
    )];
    files.extend(
        generated
            .files()
            .into_iter()
            .map(|(name, code)| (format!("src/generated/{name}"), code)),
    );
    files
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
