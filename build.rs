//! Generates the client from the OpenAPI spec with progenitor, in every
//! build: `openapi/s2.yaml`, or the file `S2_OPENAPI_SPEC` names. The code
//! goes to `OUT_DIR`, and the build reruns when the spec changes, so
//! editing the YAML and rebuilding is all it takes to follow the spec.
//!
//! When the spec lacks what the hand-written wrapper needs (S2's
//! `ErrorInfo`), the build stops with one line saying what is missing,
//! unless `S2_OPENAPI_GENERATED_ONLY=1` asks for the generated bindings
//! alone. Without `revoke_access_token`, the wrapper builds without what
//! revokes access tokens, and a warning says so.

use std::path::PathBuf;

// What the spec controls goes on one line: cargo's directives are lines.
use s2_openapi_codegen::one_line;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=S2_OPENAPI_SPEC");
    println!("cargo::rerun-if-env-changed=S2_OPENAPI_GENERATED_ONLY");
    println!("cargo::rustc-check-cfg=cfg(s2_openapi_wrapper)");
    println!("cargo::rustc-check-cfg=cfg(s2_openapi_revoke)");
    println!("cargo::rustc-check-cfg=cfg(s2_operation, values(any()))");

    // An absolute S2_OPENAPI_SPEC is used as is; a relative one is taken
    // from this crate's root, which is only useful when working on the
    // crate itself: an application gives an absolute path, and is told so
    // when a relative one names no file.
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let (spec, spec_hint) = match std::env::var_os("S2_OPENAPI_SPEC") {
        Some(path) if !path.is_empty() => {
            let relative = PathBuf::from(&path).is_relative();
            let spec = manifest_dir.join(path);
            let lost = relative && !spec.exists();
            (spec, lost.then_some(RELATIVE_SPEC_HINT))
        }
        _ => (manifest_dir.join("openapi/s2.yaml"), None),
    };
    println!("cargo::rerun-if-changed={}", spec.display());
    let spec_name = one_line(&spec.display().to_string());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());

    let generated = match s2_openapi_codegen::generate(&spec) {
        Ok(generated) => generated,
        Err(e) => return fail(&one_line(&format!("{e}{}", spec_hint.unwrap_or_default()))),
    };
    let enabled = |feature: &str| {
        let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
        std::env::var_os(var).is_some()
    };
    if let Some(feature) = s2_openapi_codegen::missing_feature(&generated.needs, enabled) {
        return fail(&one_line(&format!(
            "the client generated from {spec_name} needs {feature}"
        )));
    }
    for (name, code) in generated.files() {
        if let Err(e) = std::fs::write(out_dir.join(name), code) {
            return fail(&one_line(&format!("cannot write {name} to OUT_DIR: {e}")));
        }
    }

    // Tell the compiler what the spec offers: `#[cfg(s2_operation =
    // "create_basin")]` lets code and tests follow the spec's operations.
    // Validation refuses other ids; filtered again here, as they go into
    // cargo's protocol.
    for id in &generated.operation_ids {
        if s2_openapi_codegen::validate::is_plain_name(id) {
            println!("cargo::rustc-cfg=s2_operation=\"{id}\"");
        }
    }
    match generated.wrapper_support {
        Ok(()) => {
            println!("cargo::rustc-cfg=s2_openapi_wrapper");
            // Revoking access tokens follows the spec too: without its
            // operation, the rest of the wrapper builds, and says so.
            match &generated.revoke_support {
                Ok(()) => println!("cargo::rustc-cfg=s2_openapi_revoke"),
                Err(missing) => println!(
                    "cargo::warning=no revoke methods, bulk revocation, s2-revoke or local server \
                     ({spec_name}: {})",
                    one_line(missing)
                ),
            }
        }
        Err(missing) if generated_only() => println!(
            "cargo::warning=building the generated bindings only ({spec_name}: {})",
            one_line(&missing)
        ),
        Err(missing) => fail(&format!(
            "{spec_name} cannot back the s2-openapi wrapper: {}. \
             Set S2_OPENAPI_GENERATED_ONLY=1 to build only the generated bindings.",
            one_line(&missing)
        )),
    }
}

/// Why a relative `S2_OPENAPI_SPEC` may not be found, and what to do.
const RELATIVE_SPEC_HINT: &str = " (a relative S2_OPENAPI_SPEC is taken from the s2-openapi \
    crate's own directory; from your project, give an absolute path, for example in \
    .cargo/config.toml: [env] S2_OPENAPI_SPEC = { value = \"openapi/s2.json\", relative = true })";

fn generated_only() -> bool {
    std::env::var("S2_OPENAPI_GENERATED_ONLY").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// One of cargo's directives: `message` must be on one line.
fn fail(message: &str) {
    println!("cargo::error={message}");
}
