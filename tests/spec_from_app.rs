//! `S2_OPENAPI_SPEC` from an application that depends on the crate with
//! its `codegen` feature: the fixture `tests/fixtures/spec-from-app` sets
//! it in its own `.cargo/config.toml` with `relative = true`, as the README
//! says, and compiles only when the client was generated from its spec. A
//! relative path set plainly is taken from this crate's directory, and the
//! build says so; without the feature, the build says that it needs it.
//!
//! The fixture builds with this workspace's `Cargo.lock` and target
//! directory, so it compiles little beyond this crate.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn check_fixture(spec_from_env: Option<&str>, codegen: bool) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = root.join("tests/fixtures/spec-from-app");
    std::fs::copy(root.join("Cargo.lock"), fixture.join("Cargo.lock")).unwrap();
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["check", "--offline", "--message-format", "short"])
        .current_dir(&fixture)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("S2_OPENAPI_GENERATED_ONLY");
    if !codegen {
        cargo.arg("--no-default-features");
    }
    match spec_from_env {
        Some(spec) => cargo.env("S2_OPENAPI_SPEC", spec),
        None => cargo.env_remove("S2_OPENAPI_SPEC"),
    };
    cargo.output().unwrap()
}

#[test]
fn an_application_sets_its_spec_from_its_cargo_config() {
    // Set plainly (the environment wins over .cargo/config.toml), a
    // relative path names no file in this crate's directory.
    let relative = check_fixture(Some("spec/s2.yaml"), true);
    let stderr = String::from_utf8_lossy(&relative.stderr);
    assert!(!relative.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "a relative S2_OPENAPI_SPEC is taken from the s2-openapi crate's own directory"
        ),
        "{stderr}"
    );

    // From the fixture's .cargo/config.toml, made absolute by cargo.
    let configured = check_fixture(None, true);
    assert!(
        configured.status.success(),
        "{}",
        String::from_utf8_lossy(&configured.stderr)
    );
}

#[test]
fn another_spec_without_the_codegen_feature_is_refused_by_name() {
    let refused = check_fixture(None, false);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "S2_OPENAPI_SPEC is set, but s2-openapi is built without its `codegen` feature"
        ),
        "{stderr}"
    );
}
