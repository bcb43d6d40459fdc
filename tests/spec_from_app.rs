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
//! - built from an S2 spec without access-token operations, the wrapper
//!   is there all the same: an application creates a stream, appends and
//!   reads through the crate, against s2-lite.
//!
//! All build with this workspace's `Cargo.lock` and target directory, so
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
         publish = false\n\n[dependencies]\ns2-openapi = { path = \"../s2-openapi\", features = [\"full-spec\"] }\n\n[workspace]\n",
    )
    .unwrap();
    // Built once as it comes, whatever spec is vendored, so that the edit
    // below is a change.
    let first = "fn main() {\n    assert!(!s2_openapi::spec::OPERATIONS.is_empty());\n}\n";
    std::fs::write(app.join("src/main.rs"), first).unwrap();
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

/// S2's newest spec in `../shared/openapi/upstream` without its
/// access-token operations.
fn spec_without_access_tokens() -> PathBuf {
    let upstream = root().join("../shared/openapi/upstream");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&upstream)
        .unwrap_or_else(|e| panic!("{}: {e}", upstream.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    specs.sort();
    let newest = specs.last().expect("no spec in ../shared/openapi/upstream");
    let mut doc = s2_openapi_codegen::load::load(newest).unwrap();
    let paths = doc["paths"].as_object_mut().unwrap();
    paths.retain(|path, _| !path.starts_with("/access-tokens"));
    assert!(!paths.is_empty());
    let spec = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-access-tokens.json");
    std::fs::write(&spec, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    spec
}

/// An application of streams and records, as the README shows them.
const STREAMS_APP: &str = r#"use s2_openapi::{Client, ProducerConfig, types};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::args().nth(1).ok_or("usage: app <endpoint>")?;
    let client = Client::builder()
        .access_token("token")
        .endpoint(&endpoint)
        .build()?;
    let request = types::builder::CreateBasinRequest::default().basin("no-tokens");
    client.generated().create_basin().body(request).await?;
    let basin = client.basin("no-tokens")?;
    let request = types::builder::CreateStreamRequest::default().stream("notes");
    basin.generated().create_stream().body(request).await?;

    let producer = basin.producer("notes", ProducerConfig::new()).await?;
    let mut tickets = Vec::new();
    for note in ["first", "second", "third"] {
        tickets.push(producer.submit(types::AppendRecord::new(note)).await?);
    }
    producer.close().await?;
    for ticket in tickets {
        println!("appended at {}", ticket.await?.seq_num);
    }

    let batch = basin.generated().read().stream("notes").seq_num(0u64).await?;
    for record in batch.records {
        let body = record.body.unwrap_or_default();
        println!("read {} {}", record.seq_num, String::from_utf8_lossy(&body));
    }
    Ok(())
}
"#;

#[tokio::test]
#[ignore = "needs s2-lite (S2_LITE_BIN) and ../shared/openapi/upstream; run with --include-ignored"]
async fn without_access_token_operations_an_application_writes_and_reads_streams() {
    let spec = spec_without_access_tokens();
    let app = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("streams-app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            "[package]\nname = \"streams-app\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             publish = false\n\n[dependencies]\n\
             s2-openapi = {{ path = {:?}, features = [\"full-spec\"] }}\n\
             tokio = {{ version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }}\n\n\
             [workspace]\n",
            root()
        ),
    )
    .unwrap();
    std::fs::write(app.join("src/main.rs"), STREAMS_APP).unwrap();
    let build = build_app(&app, Some(spec.to_str().unwrap()));
    assert_built(&build);
    // One line says what is left out, and why.
    let stderr = String::from_utf8_lossy(&build.stderr);
    let said: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("no revoke methods"))
        .collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].contains("bulk revocation, s2-revoke or local server")
            && said[0].contains("no `DELETE /access-tokens/{id}` operation"),
        "{stderr}"
    );

    let s2 = support::s2_lite::S2Lite::start().await;
    let binary = Path::new(env!("CARGO_TARGET_TMPDIR")).join("apps/debug/streams-app");
    let run = Command::new(binary).arg(&s2.endpoint).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        stdout,
        "appended at 0\nappended at 1\nappended at 2\n\
         read 0 first\nread 1 second\nread 2 third\n"
    );
}
