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
