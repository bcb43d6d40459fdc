//! The binary as an installed tool: it finds the s2-openapi checkout from
//! the working directory or `--root`, not from where it was compiled.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn codegen(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_s2-openapi-codegen"))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn checkout() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn check_finds_the_checkout_above_the_working_directory() {
    let out = codegen(&checkout().join("src"), &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("matches openapi/s2.yaml"), "{stdout}");
}

#[test]
fn outside_a_checkout_it_says_so_and_root_names_one() {
    let elsewhere = std::env::temp_dir();
    let out = codegen(&elsewhere, &["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("no openapi/s2.yaml in"), "{stderr}");
    assert!(stderr.contains("--root"), "{stderr}");

    let root = checkout().to_str().unwrap();
    let out = codegen(&elsewhere, &["--root", root, "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A checkout of its own under the temp dir, whose vendored spec is
/// `vendored`.
fn scratch_root(name: &str, vendored: &str) -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("codegen-{name}-{}", std::process::id()));
    std::fs::create_dir_all(root.join("openapi")).unwrap();
    std::fs::write(root.join("openapi/s2.yaml"), vendored).unwrap();
    root
}

#[test]
fn update_says_when_it_has_nothing_to_compare_with() {
    let root = scratch_root("no-old", "openapi: [this is not a spec");
    let spec = checkout().join("openapi/s2.yaml");
    let out = codegen(&root, &["update", spec.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("WARNING: the previous openapi/s2.yaml did not generate"),
        "{stdout}"
    );
    assert!(!stdout.contains("no API changes"), "{stdout}");
    let vendored = std::fs::read(root.join("openapi/s2.yaml")).unwrap();
    assert_eq!(vendored, std::fs::read(&spec).unwrap());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn update_vendors_a_json_spec_as_yaml_that_reads_as_the_same_document() {
    let root = scratch_root("json", "openapi: 3.0.3\n");
    // Keys out of the usual order, a status code as a key, and a string
    // that YAML would otherwise read as a number.
    let json = r#"{"paths": {"/t": {"get": {"operationId": "get_t",
        "responses": {"204": {"description": "1.0"}}}}},
        "openapi": "3.0.3", "info": {"title": "b", "version": "1"}}"#;
    let spec = root.join("new.json");
    std::fs::write(&spec, json).unwrap();
    let out = codegen(&root, &["update", spec.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vendored = std::fs::read_to_string(root.join("openapi/s2.yaml")).unwrap();
    assert!(vendored.starts_with("paths:\n"), "{vendored}");
    assert_eq!(
        s2_openapi_codegen::load::parse(&vendored, false).unwrap(),
        s2_openapi_codegen::load::parse(json, true).unwrap(),
        "{vendored}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn update_refuses_a_json_spec_with_a_key_given_twice() {
    let before = "openapi: 3.0.3\n";
    let root = scratch_root("json-twice", before);
    // Valid JSON (the last `title` wins), but not one document: YAML, as
    // the build reads the vendored spec, refuses it.
    let spec = root.join("new.json");
    std::fs::write(
        &spec,
        r#"{"openapi": "3.0.3", "info": {"title": "a", "title": "b", "version": "1"}, "paths": {}}"#,
    )
    .unwrap();
    let out = codegen(&root, &["update", spec.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("duplicate entry with key \"title\""),
        "{stderr}"
    );
    // Nothing was written.
    let vendored = std::fs::read_to_string(root.join("openapi/s2.yaml")).unwrap();
    assert_eq!(vendored, before);
    std::fs::remove_dir_all(&root).unwrap();
}
