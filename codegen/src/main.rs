//! `s2-openapi-codegen`: spec updates as a reviewed, boring operation.
//!
//! ```text
//! s2-openapi-codegen check           # the API-surface snapshot matches the vendored spec?
//! s2-openapi-codegen update <spec>   # validate, vendor, rewrite the snapshot, report changes
//! s2-openapi-codegen surface <spec>  # print a spec's API surface
//! s2-openapi-codegen supports-wrapper <spec>  # exit 0 if the wrapper builds from it
//! ```
//!
//! `check` and `update` work on the s2-openapi checkout that holds the
//! current directory (the nearest directory above it with
//! `openapi/s2.yaml`), or on the one `--root <dir>` names, so the binary
//! works installed as well as with `cargo run -p s2-openapi-codegen --`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use s2_openapi_codegen::surface::Impact;
use s2_openapi_codegen::{
    CodegenError, committed_files, generate, generate_from_value, load, stale_files,
};

const USAGE: &str = "usage: s2-openapi-codegen [--root <s2-openapi checkout>] \
     check | update <spec.yaml|json> | surface <spec.yaml|json> | supports-wrapper <spec.yaml|json>";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let root = match args.iter().position(|a| a == "--root") {
        Some(i) if i + 1 < args.len() => {
            let root = PathBuf::from(args.remove(i + 1));
            args.remove(i);
            Some(root)
        }
        Some(_) => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        None => None,
    };
    let root = || match &root {
        Some(root) => Ok(root.clone()),
        None => find_root(),
    };
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["check"] => root().and_then(|root| check(&root)),
        ["update", spec] => root().and_then(|root| update(&root, Path::new(spec))),
        ["surface", spec] => generate(Path::new(spec)).map(|g| {
            print!("{}", g.surface.render());
            ExitCode::SUCCESS
        }),
        // Exit 0 when the hand-written wrapper can be built from the spec.
        ["supports-wrapper", spec] => generate(Path::new(spec)).map(|g| match g.wrapper_support {
            Ok(()) => {
                println!("{spec}: the wrapper is supported");
                ExitCode::SUCCESS
            }
            Err(missing) => {
                println!("{spec}: the wrapper is not supported: {missing}");
                ExitCode::FAILURE
            }
        }),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    result.unwrap_or_else(|e| {
        let mut message = format!("error: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        eprintln!("{message}");
        ExitCode::FAILURE
    })
}

/// The spec text to vendor: `text` itself unless `spec` is JSON, which is
/// written as YAML; then also the document the JSON reads as, which the
/// YAML must read as too.
fn as_yaml(spec: &Path, text: String) -> Result<(String, Option<serde_json::Value>), CodegenError> {
    let is_json = spec
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if !is_json {
        return Ok((text, None));
    }
    let parse_error = |message: String| CodegenError::Parse {
        path: spec.to_owned(),
        message,
    };
    // Through YAML's own value, whose mappings keep the document's order.
    let document: serde_yaml_ng::Value =
        serde_json::from_str(&text).map_err(|e| parse_error(e.to_string()))?;
    let yaml = serde_yaml_ng::to_string(&document)
        .map_err(|e| parse_error(format!("cannot be written as YAML: {e}")))?;
    let json = load::parse(&text, true).map_err(parse_error)?;
    Ok((yaml, Some(json)))
}

fn vendored(root: &Path) -> PathBuf {
    root.join(VENDORED)
}

/// The vendored spec, by path from the checkout's root.
const VENDORED: &str = "openapi/s2.yaml";

/// The nearest directory at or above the current one that holds the
/// vendored spec.
fn find_root() -> Result<PathBuf, CodegenError> {
    let cwd = std::env::current_dir().map_err(|source| CodegenError::Read {
        path: PathBuf::from("."),
        source,
    })?;
    cwd.ancestors()
        .find(|dir| dir.join(VENDORED).is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            CodegenError::Invalid(format!(
                "no {VENDORED} in {} or above it: run this in an s2-openapi checkout, \
                 or give --root <dir>",
                cwd.display()
            ))
        })
}

fn check(root: &Path) -> Result<ExitCode, CodegenError> {
    let diffs = stale_files(root, &generate(&vendored(root))?);
    if diffs.is_empty() {
        println!("openapi/api-surface.txt matches openapi/s2.yaml");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "openapi/api-surface.txt does not match what openapi/s2.yaml generates \
         (run `cargo run -p s2-openapi-codegen -- update openapi/s2.yaml` and review):"
    );
    for diff in diffs {
        eprintln!("{diff}");
    }
    Ok(ExitCode::FAILURE)
}

fn update(root: &Path, spec: &Path) -> Result<ExitCode, CodegenError> {
    // Everything is checked before anything is written, and the new spec
    // as the build will read it: the YAML that becomes `openapi/s2.yaml`
    // (a YAML spec's own bytes; a JSON one converted, keys in their order),
    // read as YAML (which refuses, say, a key given twice that JSON lets
    // pass).
    let text = std::fs::read_to_string(spec).map_err(|source| CodegenError::Read {
        path: spec.to_owned(),
        source,
    })?;
    let (text, as_json) = as_yaml(spec, text)?;
    let as_vendored = load::parse(&text, false).map_err(|message| CodegenError::Parse {
        path: spec.to_owned(),
        message: format!("read as {VENDORED} will be: {message}"),
    })?;
    if as_json.is_some_and(|json| json != as_vendored) {
        return Err(CodegenError::Parse {
            path: spec.to_owned(),
            message: "its YAML form does not read back as the same document".to_owned(),
        });
    }
    let new = generate_from_value(as_vendored)?;
    let old = generate(&vendored(root));
    let bytes = text.into_bytes();
    let write = |path: PathBuf, data: &[u8]| {
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, data))
            .map_err(|source| CodegenError::Write { path, source })
    };
    write(vendored(root), &bytes)?;
    for (path, content) in committed_files(&new) {
        write(root.join(path), content.as_bytes())?;
    }
    println!(
        "vendored {} as openapi/s2.yaml and rewrote openapi/api-surface.txt",
        spec.display()
    );

    let changes = match &old {
        Ok(old) => new.surface.changes_since(&old.surface),
        Err(e) => {
            println!(
                "WARNING: the previous {VENDORED} did not generate ({e}), so there is no list \
                 of changes: review the diff of openapi/api-surface.txt"
            );
            Vec::new()
        }
    };
    let breaking = changes
        .iter()
        .filter(|c| c.impact == Impact::Breaking)
        .count();
    if changes.is_empty() && old.is_ok() {
        println!("no API changes");
    }
    for change in &changes {
        let tag = match change.impact {
            Impact::Breaking => "BREAKING",
            Impact::Addition => "added   ",
        };
        println!("{tag} {}", change.summary.replacen(" added", "", 1));
    }
    println!(
        "{} change(s), {breaking} breaking; lowering notes: {}",
        changes.len(),
        new.notes.len()
    );
    if let Some(feature) = s2_openapi_codegen::missing_feature(&new.needs, |_| false) {
        println!("note: the generated types of this spec need {feature}");
    }
    if let (Ok(()), Err(missing)) = (&new.wrapper_support, &new.revoke_support) {
        println!(
            "note: no revoking access tokens ({missing}): the revoke methods, bulk revocation, \
             s2-revoke and the local server are left out of the build"
        );
    }
    match &new.wrapper_support {
        Ok(()) => println!(
            "the hand-written wrapper is supported; now run `cargo build` and `cargo test`"
        ),
        Err(missing) => println!(
            "WARNING: the wrapper cannot be built from this spec: {missing}. \
             Building s2-openapi will fail until it is restored (or set S2_OPENAPI_GENERATED_ONLY=1)."
        ),
    }
    Ok(ExitCode::SUCCESS)
}
