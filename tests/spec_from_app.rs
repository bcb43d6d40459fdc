//! The client follows the spec it is built from, with no step but a build:
//!
//! - an application sets `S2_OPENAPI_SPEC` in its own `.cargo/config.toml`
//!   with `relative = true`, as the README says (the fixture
//!   `tests/fixtures/spec-from-app` compiles only when the client was
//!   generated from its spec); a relative path set plainly is taken from
//!   this crate's directory, and the build says so;
//! - operations added to a copy of this crate's vendored YAML are callable
//!   after a plain `cargo build` of an application using the copy, with
//!   what the crate derives from their shapes: a list as a stream, a live
//!   read, record data as bytes.
//!
//! Both build with this workspace's `Cargo.lock` and target directory, so
//! they compile little beyond this crate after the first.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo build` of the application in `dir`, with `S2_OPENAPI_SPEC` as
/// given (`None`: unset, so the application's own config decides).
fn build_app(dir: &Path, spec_from_env: Option<&str>) -> Output {
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("apps");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--offline", "--message-format", "short"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("S2_OPENAPI_GENERATED_ONLY")
        .env_remove("RUSTFLAGS");
    match spec_from_env {
        Some(spec) => cargo.env("S2_OPENAPI_SPEC", spec),
        None => cargo.env_remove("S2_OPENAPI_SPEC"),
    };
    cargo.output().unwrap()
}

fn assert_built(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn an_application_sets_its_spec_from_its_cargo_config() {
    let fixture = root().join("tests/fixtures/spec-from-app");
    // Set plainly (the environment wins over .cargo/config.toml), a
    // relative path names no file in this crate's directory.
    let relative = build_app(&fixture, Some("spec/s2.yaml"));
    let stderr = String::from_utf8_lossy(&relative.stderr);
    assert!(!relative.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "a relative S2_OPENAPI_SPEC is taken from the s2-openapi crate's own directory"
        ),
        "{stderr}"
    );

    // From the fixture's .cargo/config.toml, made absolute by cargo.
    assert_built(&build_app(&fixture, None));
}

/// What a package of this crate holds that a build reads.
const CRATE_FILES: &[&str] = &[
    "Cargo.toml",
    "build.rs",
    "README.md",
    "src",
    "openapi",
    "codegen/Cargo.toml",
    "codegen/src",
    "tests",
    "benches",
    "examples",
];

#[test]
fn an_operation_added_to_the_vendored_yaml_is_callable_after_a_build() {
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("edited-crate");
    let _ = std::fs::remove_dir_all(&work);
    let copy = work.join("s2-openapi");
    for file in CRATE_FILES {
        copy_all(&root().join(file), &copy.join(file));
    }
    let app = work.join("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        "[package]\nname = \"edited-spec-app\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\ns2-openapi = { path = \"../s2-openapi\" }\n\n[workspace]\n",
    )
    .unwrap();
    let call = |operation: &str| {
        format!(
            "fn main() {{\n    let client = s2_openapi::generated::Client::new_with_client(\n        \
             \"http://127.0.0.1:9\", Default::default(), Default::default());\n    \
             let _request = client.{operation}();\n}}\n"
        )
    };

    // Built once as it comes, so that the edit below is a change.
    std::fs::write(app.join("src/main.rs"), call("revoke_access_token")).unwrap();
    assert_built(&build_app(&app, None));

    // New operations in the vendored YAML, and nothing else: a plain one,
    // a list with S2's cursor shape, and one carrying records, with a JSON
    // and an event-stream answer.
    let spec = copy.join("openapi/s2.yaml");
    let yaml = std::fs::read_to_string(&spec).unwrap();
    let added = yaml
        .replacen("paths:\n", &format!("paths:\n{NEW_PATHS}"), 1)
        .replacen("  schemas:\n", &format!("  schemas:\n{NEW_SCHEMAS}"), 1);
    assert_eq!(
        added.len(),
        yaml.len() + NEW_PATHS.len() + NEW_SCHEMAS.len(),
        "no `paths:` or `  schemas:` line in the vendored spec"
    );
    support::write_dated_ahead(&spec, added);
    std::fs::write(app.join("src/main.rs"), NEW_CALLS).unwrap();
    assert_built(&build_app(&app, None));
}

/// Operations of each shape the crate derives behaviour from.
const NEW_PATHS: &str = r#"  /access-tokens/{id}/probe:
    get:
      operationId: probe_access_token
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {'204': {description: ''}}
  /things:
    get:
      operationId: list_things
      parameters:
      - {name: start_after, in: query, schema: {type: string}}
      - {name: limit, in: query, schema: {type: integer, minimum: 0}}
      responses:
        '200': {description: '', content: {application/json: {schema: {$ref: '#/components/schemas/ListThingsResponse'}}}}
  /things/records:
    get:
      operationId: follow_things
      parameters: [{name: s2-format, in: header, schema: {type: string}}]
      responses:
        '200':
          description: ''
          content:
            application/json: {schema: {$ref: '#/components/schemas/ThingBatch'}}
            text/event-stream: {schema: {$ref: '#/components/schemas/ThingEvent'}}
    post:
      operationId: add_things
      parameters: [{name: s2-format, in: header, schema: {type: string}}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/ThingBatch'}}}}
      responses: {'204': {description: ''}}
"#;

const NEW_SCHEMAS: &str = r#"    Thing:
      type: object
      required: [name]
      properties: {name: {type: string}, body: {type: string}, headers: {type: array, items: {$ref: '#/components/schemas/Tag'}}}
    Tag:
      type: array
      items: {type: string}
      minItems: 2
      maxItems: 2
    ListThingsResponse:
      type: object
      required: [things, has_more]
      properties: {has_more: {type: boolean}, things: {type: array, items: {$ref: '#/components/schemas/Thing'}}}
    ThingBatch:
      type: object
      required: [things]
      properties: {things: {type: array, items: {$ref: '#/components/schemas/Thing'}}}
    ThingEvent:
      oneOf:
      - type: object
        required: [event, data, id]
        properties: {event: {type: string, enum: [things]}, data: {$ref: '#/components/schemas/ThingBatch'}, id: {type: string}}
      - type: object
        required: [event, data]
        properties: {event: {type: string, enum: [ping]}, data: {type: object}}
"#;

/// What the application writes for them: the plain call, the list as a
/// stream, the live read, and record data as bytes (a name-value pair from
/// a tuple).
const NEW_CALLS: &str = r#"use s2_openapi::CursorList as _;

fn main() {
    let client = s2_openapi::Client::builder()
        .access_token("token")
        .endpoint("http://127.0.0.1:9")
        .build()
        .unwrap();
    let _request = client.generated().probe_access_token();
    let _items = client.generated().list_things().limit(10u64).items();
    let _pages = client.generated().list_things().pages();
    let _live = client.live(|live| live.follow_things());
    let thing = s2_openapi::types::Thing {
        name: "binary".to_owned(),
        body: Some(s2_openapi::RecordBytes::from(&b"\xff\x00"[..])),
        headers: vec![("name", &b"\xff"[..]).into()],
    };
    let _request = client
        .generated()
        .add_things()
        .body(s2_openapi::types::ThingBatch { things: vec![thing] });
}
"#;

fn copy_all(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_all(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}
