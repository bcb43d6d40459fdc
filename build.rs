//! Generates the S2 client from the OpenAPI spec into `OUT_DIR`.
//!
//! The spec is `openapi/s2.yaml`, or the file named by `S2_OPENAPI_SPEC`.
//! When the spec lacks what the hand-written wrapper needs, the build stops
//! with one line saying what is missing, unless `S2_OPENAPI_GENERATED_ONLY=1`
//! asks for the generated bindings alone.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=S2_OPENAPI_SPEC");
    println!("cargo::rerun-if-env-changed=S2_OPENAPI_GENERATED_ONLY");
    println!("cargo::rustc-check-cfg=cfg(s2_openapi_wrapper)");
    println!("cargo::rustc-check-cfg=cfg(s2_operation, values(any()))");

    // An absolute S2_OPENAPI_SPEC is used as is; a relative one is taken
    // from this crate's root, which is only useful when working on the crate
    // itself: an application gives an absolute path, and is told so when a
    // relative one names no file.
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
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());

    let generated = match s2_openapi_codegen::generate(&spec) {
        Ok(generated) => generated,
        Err(e) => return fail(&format!("{e}{}", spec_hint.unwrap_or_default())),
    };
    let writes = [
        ("generated.rs", generated.client_code.as_str()),
        ("spec_info.rs", &generated.spec_info_code()),
    ];
    for (name, code) in writes {
        if let Err(e) = std::fs::write(out_dir.join(name), code) {
            return fail(&format!("cannot write {name} to OUT_DIR: {e}"));
        }
    }
    // `#[cfg(s2_operation = "create_basin")]` lets code and tests follow
    // what the spec offers.
    // Validation refuses other ids; filtered again here, as this line is
    // cargo's protocol.
    let plain = s2_openapi_codegen::validate::is_plain_name;
    for id in generated.operation_ids.iter().filter(|id| plain(id)) {
        println!("cargo::rustc-cfg=s2_operation=\"{id}\"");
    }
    match generated.wrapper_support {
        Ok(()) => println!("cargo::rustc-cfg=s2_openapi_wrapper"),
        Err(missing) if generated_only() => println!(
            "cargo::warning={}",
            s2_openapi_codegen::one_line(&format!(
                "building the generated bindings only ({}: {missing})",
                spec.display()
            ))
        ),
        Err(missing) => fail(&format!(
            "{} cannot back the s2-openapi wrapper: {missing}. \
             Set S2_OPENAPI_GENERATED_ONLY=1 to build only the generated bindings.",
            spec.display()
        )),
    }
}

/// Why a relative `S2_OPENAPI_SPEC` may not be found, and what to do.
const RELATIVE_SPEC_HINT: &str = " (a relative S2_OPENAPI_SPEC is taken from the s2-openapi crate's \
    own directory; from your project, give an absolute path, for example in .cargo/config.toml: \
    [env] S2_OPENAPI_SPEC = { value = \"openapi/s2.json\", relative = true })";

fn generated_only() -> bool {
    std::env::var("S2_OPENAPI_GENERATED_ONLY").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Cargo's directives are lines: what the spec controls is put on one.
fn fail(message: &str) {
    println!("cargo::error={}", s2_openapi_codegen::one_line(message));
}
