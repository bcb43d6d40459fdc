//! The vendored spec, and code generation from every upstream S2 spec.
//!
//! The tests that need `../shared` beside the repository are ignored by
//! default, so `cargo test` reports them as not run, with the reason;
//! `cargo test -- --include-ignored` (as `.ci/run` does) runs them, and then
//! a missing `../shared` is a failure.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/openapi`; a test that asked for it fails without it.
fn shared() -> PathBuf {
    let shared = root().join("../shared/openapi");
    assert!(shared.is_dir(), "{} is absent", shared.display());
    shared
}

#[test]
#[ignore = "needs ../shared/openapi beside the repository; run with --include-ignored"]
fn vendored_spec_is_byte_identical_to_shared() {
    let shared = shared();
    let ours = std::fs::read(root().join("openapi/s2.yaml")).unwrap();
    let theirs = std::fs::read(shared.join("s2.yaml")).unwrap();
    assert!(
        ours == theirs,
        "openapi/s2.yaml differs from ../shared/openapi/s2.yaml"
    );
}

/// The API-surface snapshot, which reviewers read instead of generated
/// code, is exactly what the generator makes of the vendored spec.
#[test]
fn the_api_surface_snapshot_matches_the_vendored_spec() {
    let generated = s2_openapi_codegen::generate(&root().join("openapi/s2.yaml")).unwrap();
    let diffs = s2_openapi_codegen::stale_files(&root(), &generated);
    assert!(
        diffs.is_empty(),
        "stale; run `cargo run -p s2-openapi-codegen -- update openapi/s2.yaml` and review:\n{}",
        diffs.join("\n")
    );
}

/// `cargo check --lib` of this crate built from `spec`, in its own target
/// directory so it neither waits for nor disturbs the outer build.
fn check_with_spec(spec: &Path, generated_only: bool) -> (bool, String) {
    cargo_check(spec, generated_only, "--quiet")
}

fn cargo_check(spec: &Path, generated_only: bool, verbosity: &str) -> (bool, String) {
    cargo_check_with(spec, generated_only, verbosity, "full-spec")
}

fn cargo_check_with(
    spec: &Path,
    generated_only: bool,
    verbosity: &str,
    features: &str,
) -> (bool, String) {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("upstream-specs");
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(root())
        .args(["check", "--lib", "--offline", verbosity, "-p", "s2-openapi"])
        .args(["--features", features])
        .env("CARGO_TARGET_DIR", &target)
        .env("S2_OPENAPI_SPEC", spec)
        .env_remove("S2_OPENAPI_GENERATED_ONLY")
        .env_remove("RUSTFLAGS");
    if generated_only {
        command.env("S2_OPENAPI_GENERATED_ONLY", "1");
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn supports_wrapper(spec: &Path) -> Result<(), String> {
    let doc = s2_openapi_codegen::load::load(spec).map_err(|e| e.to_string())?;
    s2_openapi_codegen::requirements::check_wrapper_requirements(&doc)
}

#[test]
#[ignore = "needs ../shared/openapi beside the repository; run with --include-ignored"]
fn every_upstream_spec_generates_and_compiles() {
    let shared = shared();
    let mut specs: Vec<PathBuf> = std::fs::read_dir(shared.join("upstream"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "yaml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 4, "{specs:?}");
    let mut with_wrapper = 0;
    for spec in &specs {
        let name = spec.file_name().unwrap().to_string_lossy();
        match supports_wrapper(spec) {
            Ok(()) => {
                with_wrapper += 1;
                let (ok, stderr) = check_with_spec(spec, false);
                assert!(
                    ok,
                    "{name}: the crate (wrapper included) does not compile:\n{stderr}"
                );
                eprintln!("{name}: generated client and wrapper compile");
            }
            Err(missing) => {
                // The build stops with one clear line...
                let (ok, stderr) = check_with_spec(spec, false);
                assert!(!ok, "{name} lacks {missing} but built");
                assert!(
                    stderr.contains("cannot back the s2-openapi wrapper"),
                    "{name}:\n{stderr}"
                );
                assert!(stderr.contains(&missing), "{name}:\n{stderr}");
                assert!(
                    !stderr.contains("error[E"),
                    "{name}: type errors instead of one message:\n{stderr}"
                );
                // ...and the generated bindings alone still compile.
                let (ok, stderr) = check_with_spec(spec, true);
                assert!(ok, "{name}: the generated code does not compile:\n{stderr}");
                eprintln!("{name}: generated client compiles; wrapper refused: {missing}");
            }
        }
    }
    assert!(with_wrapper >= 1, "no upstream spec supports the wrapper");

    // The newest spec's types use `date-time` and `pattern`: without the
    // feature that brings chrono and regress, the build says so in one
    // line instead of failing to resolve them.
    let newest = specs.last().unwrap();
    let (ok, stderr) = cargo_check_with(newest, false, "--quiet", "");
    assert!(!ok, "{} built without full-spec", newest.display());
    assert!(
        stderr.contains("needs s2-openapi's `full-spec` feature (chrono and regress"),
        "{stderr}"
    );
    assert!(!stderr.contains("error[E"), "{stderr}");

    // The build script reruns when the spec changes, and not otherwise.
    // (Here rather than in a test of its own: it shares the target dir.)
    let copy = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rerun-spec.yaml");
    std::fs::copy(root().join("openapi/s2.yaml"), &copy).unwrap();
    let (ok, stderr) = cargo_check(&copy, false, "-v");
    assert!(ok, "{stderr}");
    let (ok, stderr) = cargo_check(&copy, false, "-v");
    assert!(
        ok && stderr.contains("Fresh s2-openapi"),
        "rebuilt with nothing changed:\n{stderr}"
    );
    let mut text = std::fs::read_to_string(&copy).unwrap();
    text.push_str("\n# changed\n");
    support::write_dated_ahead(&copy, text);
    let (ok, stderr) = cargo_check(&copy, false, "-v");
    assert!(
        ok && stderr.contains("Dirty s2-openapi"),
        "not rebuilt after the spec changed:\n{stderr}"
    );
    assert!(
        stderr.contains("build-script-build"),
        "build script did not rerun:\n{stderr}"
    );

    // What a hostile spec controls reaches cargo's build-script protocol
    // as one escaped line: no directive of its own. (Here too: it shares
    // the target dir.)
    let injected = [
        edited_spec("build-newline-id", |doc| {
            doc["paths"]["/access-tokens/{id}"]["delete"]["operationId"] =
                "x\ncargo::warning=INJECTED".into();
        }),
        edited_spec("build-newline-type", |doc| {
            doc["components"]["schemas"]["ErrorInfo"]["type"] =
                "object\ncargo::warning=INJECTED".into();
        }),
    ];
    for spec in &injected {
        let (ok, stderr) = cargo_check(spec, false, "--quiet");
        assert!(!ok, "{} built", spec.display());
        assert!(
            stderr.contains("invalid OpenAPI spec")
                && stderr.contains("\\ncargo::warning=INJECTED"),
            "{stderr}"
        );
        assert!(
            !stderr.lines().any(|l| l.trim_end().ends_with(": INJECTED")),
            "a spec's text became a cargo directive:\n{stderr}"
        );
    }
}

/// The vendored spec with `edit` applied, written where the generator
/// reads specs from (a file, as `S2_OPENAPI_SPEC` names one).
fn edited_spec(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut doc = s2_openapi_codegen::load::load(&root().join("openapi/s2.yaml")).unwrap();
    edit(&mut doc);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
    path
}

/// What the build script would print for a spec the generator refuses:
/// one line, naming `says`.
fn refused_with_one_line(spec: &Path, says: &str) {
    let err = match s2_openapi_codegen::generate(spec) {
        Ok(_) => panic!("{} was accepted", spec.display()),
        Err(err) => err,
    };
    assert!(
        matches!(err, s2_openapi_codegen::CodegenError::Invalid(_)),
        "{err}"
    );
    let line = s2_openapi_codegen::one_line(&err.to_string());
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(!line.contains("panicked"), "{line}");
    assert!(line.contains(says), "{line}");
}

#[test]
fn hostile_operation_ids_are_refused_before_reaching_cargo() {
    for (name, id) in [
        ("newline-id", "x\ncargo::warning=INJECTED"),
        ("quote-id", "revoke\"access"),
        ("env-id", "x\rcargo::rustc-env=S2=1"),
    ] {
        let spec = edited_spec(name, |doc| {
            doc["paths"]["/access-tokens/{id}"]["delete"]["operationId"] = id.into();
        });
        refused_with_one_line(&spec, "DELETE \"/access-tokens/{id}\": operationId");
    }
}

#[test]
fn a_misspelt_type_and_a_ref_to_itself_are_refused_where_they_are() {
    let spec = edited_spec("misspelt-type", |doc| {
        doc["components"]["schemas"]["AccessTokenIdStr"]["type"] = "strin".into();
    });
    refused_with_one_line(
        &spec,
        "`type: strin` at /components/schemas/AccessTokenIdStr",
    );
    let spec = edited_spec("self-ref", |doc| {
        doc["components"]["schemas"]["ErrorInfo"] =
            serde_json::json!({"$ref": "#/components/schemas/ErrorInfo"});
    });
    refused_with_one_line(
        &spec,
        "at /components/schemas/ErrorInfo only refers to itself",
    );
}
