//! Chooses the generated code the crate compiles.
//!
//! By default that is `src/generated/`, generated from `openapi/s2.yaml` by
//! `s2-openapi-codegen` and committed (a test keeps it exactly what the
//! generator makes of the spec), so an application's build compiles neither
//! progenitor nor the spec. With the `codegen` feature, the spec is
//! `openapi/s2.yaml` or the file named by `S2_OPENAPI_SPEC`, and it is
//! generated into `OUT_DIR` here.
//!
//! When the spec lacks what the hand-written wrapper needs, the build stops
//! with one line saying what is missing, unless `S2_OPENAPI_GENERATED_ONLY=1`
//! asks for the generated bindings alone.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=S2_OPENAPI_SPEC");
    println!("cargo::rerun-if-env-changed=S2_OPENAPI_GENERATED_ONLY");
    println!("cargo::rustc-check-cfg=cfg(s2_openapi_wrapper)");
    println!("cargo::rustc-check-cfg=cfg(s2_operation, values(any()))");
    #[cfg(feature = "codegen")]
    codegen::main();
    #[cfg(not(feature = "codegen"))]
    committed::main();
}

/// The code generated from the vendored spec, as committed.
#[cfg(not(feature = "codegen"))]
mod committed {
    include!("src/generated/build_info.rs");

    pub fn main() {
        println!("cargo::rerun-if-changed=src/generated");
        if std::env::var_os("S2_OPENAPI_SPEC").is_some_and(|spec| !spec.is_empty()) {
            return super::fail(
                "S2_OPENAPI_SPEC is set, but s2-openapi is built without its `codegen` \
                 feature, which builds the client from another spec: enable it, for example \
                 s2-openapi = { version = \"...\", features = [\"codegen\"] }",
            );
        }
        // The generator wrote what is missing on one line.
        super::configure(
            OPERATION_IDS.iter().copied(),
            WRAPPER_UNSUPPORTED.map_or(Ok(()), |missing| Err(missing.to_owned())),
            "openapi/s2.yaml",
        );
    }
}

/// The client generated here from the vendored spec or `S2_OPENAPI_SPEC`.
#[cfg(feature = "codegen")]
mod codegen {
    use std::path::PathBuf;

    // What the spec controls goes on one line: cargo's directives are lines.
    use s2_openapi_codegen::one_line;

    pub fn main() {
        // An absolute S2_OPENAPI_SPEC is used as is; a relative one is taken
        // from this crate's root, which is only useful when working on the
        // crate itself: an application gives an absolute path, and is told
        // so when a relative one names no file.
        let manifest_dir =
            PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
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
            Err(e) => {
                return super::fail(&one_line(&format!("{e}{}", spec_hint.unwrap_or_default())));
            }
        };
        for (name, code) in generated.files() {
            if let Err(e) = std::fs::write(out_dir.join(name), code) {
                return super::fail(&one_line(&format!("cannot write {name} to OUT_DIR: {e}")));
            }
        }
        // Validation refuses other ids; filtered again here, as they go into
        // cargo's protocol.
        let plain = s2_openapi_codegen::validate::is_plain_name;
        super::configure(
            generated
                .operation_ids
                .iter()
                .map(String::as_str)
                .filter(|id| plain(id)),
            generated
                .wrapper_support
                .map_err(|missing| one_line(&missing)),
            &one_line(&spec.display().to_string()),
        );
    }

    /// Why a relative `S2_OPENAPI_SPEC` may not be found, and what to do.
    const RELATIVE_SPEC_HINT: &str = " (a relative S2_OPENAPI_SPEC is taken from the s2-openapi \
        crate's own directory; from your project, give an absolute path, for example in \
        .cargo/config.toml: [env] S2_OPENAPI_SPEC = { value = \"openapi/s2.json\", relative = true })";
}

/// Tells the compiler what the spec offers: `#[cfg(s2_operation =
/// "create_basin")]` lets code and tests follow the spec's operations, and
/// `s2_openapi_wrapper` builds the hand-written wrapper. What is missing
/// and `spec` are each on one line.
fn configure<'a>(
    operation_ids: impl Iterator<Item = &'a str>,
    wrapper_support: Result<(), String>,
    spec: &str,
) {
    for id in operation_ids {
        println!("cargo::rustc-cfg=s2_operation=\"{id}\"");
    }
    match wrapper_support {
        Ok(()) => println!("cargo::rustc-cfg=s2_openapi_wrapper"),
        Err(missing) if generated_only() => {
            println!("cargo::warning=building the generated bindings only ({spec}: {missing})")
        }
        Err(missing) => fail(&format!(
            "{spec} cannot back the s2-openapi wrapper: {missing}. \
             Set S2_OPENAPI_GENERATED_ONLY=1 to build only the generated bindings."
        )),
    }
}

fn generated_only() -> bool {
    std::env::var("S2_OPENAPI_GENERATED_ONLY").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// One of cargo's directives: `message` must be on one line.
fn fail(message: &str) {
    println!("cargo::error={message}");
}
