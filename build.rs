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

    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let spec = match std::env::var_os("S2_OPENAPI_SPEC") {
        Some(path) if !path.is_empty() => manifest_dir.join(path),
        _ => manifest_dir.join("openapi/s2.yaml"),
    };
    println!("cargo::rerun-if-changed={}", spec.display());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());

    let generated = match s2_openapi_codegen::generate(&spec) {
        Ok(generated) => generated,
        Err(e) => return fail(&e.to_string()),
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

fn generated_only() -> bool {
    std::env::var("S2_OPENAPI_GENERATED_ONLY").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Cargo's directives are lines: what the spec controls is put on one.
fn fail(message: &str) {
    println!("cargo::error={}", s2_openapi_codegen::one_line(message));
}
