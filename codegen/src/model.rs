//! One model of the spec: what the emitters need to know of each operation
//! and of the spec, read once, so that no emitter walks the JSON again.
//!
//! [`read`] checks and rewrites the document in stages and reads each fact
//! at the stage where it holds:
//! - as written: its `info`, what the hand-written wrapper needs
//!   ([`crate::requirements`]), and each operation's event stream (lowering
//!   keeps one media type per response);
//! - lowered ([`crate::lower`]): the API surface ([`crate::surface`]) and
//!   each operation's facts, its declared error bodies among them (they
//!   become bytes next);
//! - as progenitor reads it, record data ([`crate::records`]) and error
//!   bodies as bytes: the named schemas' facts.
//!
//! Facts are in the spec's terms (operation ids, schema names). Which types
//! progenitor generated is known only after generation: the emitters take
//! it as a second input, [`TypeNames`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Number, Value};

use crate::doc::{HTTP_METHODS, is_json_media_type, pascal, resolve, schema_name};
use crate::error::CodegenError;
use crate::requirements::{check_revoke_requirements, check_wrapper_requirements};
use crate::surface::Surface;
use crate::{live, lower, records};

/// The header S2 reads as a request's idempotency token
/// (`s2-request-token`): a retried request carrying the same token is
/// carried out once.
pub const REQUEST_TOKEN_HEADER: &str = "s2-request-token";

/// The query parameter by which an operation asks the server to hold the
/// answer until something arrives, in seconds (S2's `read`: a long poll).
pub const WAIT_PARAMETER: &str = "wait";

/// The server variable naming the basin in S2's per-basin servers
/// (`https://{basin}.b.s2.dev/v1`).
const BASIN_VARIABLE: &str = "{basin}";

/// Facts about the spec that the wrapper needs at compile time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpecInfo {
    /// `info.title`.
    pub title: String,
    /// `info.version`; progenitor sends it as the `api-version` header.
    pub version: String,
    /// The first `servers[].url`, if any: the default endpoint.
    pub server_url: Option<String>,
}

/// What the generator knows of a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpecModel {
    /// What the spec says about itself.
    pub info: SpecInfo,
    /// `Ok` when the spec offers what the hand-written wrapper needs, else
    /// what is missing ([`check_wrapper_requirements`]).
    pub wrapper_support: Result<(), String>,
    /// `Ok` when the spec has the `revoke_access_token` the crate's revoking
    /// calls, else what is missing ([`check_revoke_requirements`]).
    pub revoke_support: Result<(), String>,
    /// One line per operation-level rewrite of the lowering and of record
    /// data.
    pub notes: Vec<String>,
    /// The API surface of the lowered spec, with the spec's own types.
    pub surface: Surface,
    /// Every operation with an id, in the document's order (by path, then
    /// method). One without an id is left out: progenitor refuses the spec.
    pub operations: Vec<Operation>,
    /// Every named schema, by name, as progenitor reads it.
    pub schemas: Vec<NamedSchema>,
}

/// One operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// `operationId`.
    pub id: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template, such as `/streams/{stream}`.
    pub path: String,
    /// The per-basin server URL template (containing `{basin}`) declared
    /// on the operation or else on its path, if any.
    pub basin_server: Option<String>,
    /// Whether the operation declares the `s2-request-token` header.
    pub takes_request_token: bool,
    /// Whether the operation declares the `s2-format` header: its record
    /// data are bytes, sent and read as base64 ([`crate::records`]).
    pub record_format: bool,
    /// The query parameter asking the server to wait, in seconds, before
    /// answering: a `query` parameter named `wait` with an integer schema.
    /// The request layer lengthens the request's timeouts by its value.
    pub wait_param: Option<String>,
    /// Its cursor shape, when it is a list of S2's kind.
    pub cursor_list: Option<CursorList>,
    /// Its event stream, when its success is one of S2's shape.
    pub live_read: Option<LiveRead>,
    /// The JSON body each error status (400 to 599) declares, by schema
    /// name, `ErrorInfo` included.
    pub declared_errors: Vec<DeclaredError>,
    /// What its builder gives when it succeeds, when that is one type:
    /// `None` when a success body is not named or the successes differ.
    pub output: Option<Output>,
}

/// A list page by page: query parameters `start_after` and `limit`; a
/// JSON success body, a named object schema with a required boolean
/// `has_more` and one required array of a named item schema; an item with
/// a required `name` (or else `id`), the cursor the next page starts after.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CursorList {
    /// The schema of its page (the success body).
    pub page: String,
    /// The page's array property.
    pub items: String,
    /// The schema of an item.
    pub item: String,
    /// The item's property that the next page starts after.
    pub cursor: String,
}

/// An event stream of S2's shape: a `oneOf` of objects, each with an
/// `event` name (a one-value enum or a `const`) and `data`, the one with a
/// required `id` carrying a named schema.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveRead {
    /// The name of the event that carries data and an id to resume after.
    pub data_event: String,
    /// The schema of that event's data.
    pub data: String,
    /// The schema of a `ping` event's data, when the spec declares one.
    pub ping: Option<String>,
}

/// An error body an operation declares.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeclaredError {
    /// The status, 400 to 599.
    pub status: u16,
    /// The named schema of its `application/json` body.
    pub schema: String,
}

/// What progenitor gives for an operation's success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// No body: `()`.
    Unit,
    /// A body that is not JSON: bytes.
    Bytes,
    /// A JSON body of a named schema: the Rust name progenitor gives it,
    /// if it generated that type ([`TypeNames::contains`]).
    Type(String),
}

/// A named schema (`components/schemas`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NamedSchema {
    /// Its name in the spec.
    pub name: String,
    /// What a value must be beyond its Rust type.
    pub rule: Rule,
    /// Whether typify makes it a checked string: a string with a length
    /// bound, a pattern or an enumeration.
    pub checked_string: bool,
    /// Whether it is a pair of record bytes (S2's `Header`, once
    /// [`crate::records`] made its strings bytes).
    pub record_pair: bool,
    /// The Rust primitive it is, when it is only an unsigned integer (such
    /// as S2's `u64`: `integer`, `minimum: 0`): the generator uses the
    /// primitive rather than a newtype around it (`seq_num: u64`, not
    /// `seq_num: U64`).
    pub unsigned: Option<&'static str>,
}

/// The constraints of a schema that a value of its Rust type can break,
/// as the spec writes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rule {
    /// A string's `minLength` and `maxLength`.
    pub length: (Option<u64>, Option<u64>),
    /// A string's `pattern`.
    pub pattern: Option<String>,
    /// A number's or integer's `minimum` and `maximum`.
    pub range: (Option<Number>, Option<Number>),
    /// The values of its `enum`.
    pub values: Option<Vec<Value>>,
}

/// The documents progenitor generates the two clients from, rewritten as
/// [`read`] says.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Documents {
    /// The main client's.
    pub client: Value,
    /// The live client's ([`crate::live::spec`]).
    pub live: Value,
}

/// The Rust names of the types progenitor generated: known after
/// generation, the second input of the emitters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeNames(BTreeSet<String>);

impl From<BTreeSet<String>> for TypeNames {
    fn from(names: BTreeSet<String>) -> Self {
        Self(names)
    }
}

impl TypeNames {
    /// Whether progenitor generated a type named `rust`.
    pub fn contains(&self, rust: &str) -> bool {
        self.0.contains(rust)
    }

    /// The Rust name of the named schema `schema`, when progenitor
    /// generated its type.
    pub fn of(&self, schema: &str) -> Option<String> {
        pascal(schema).filter(|name| self.contains(name))
    }

    /// Every name, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.0.iter()
    }
}

impl SpecModel {
    /// The operations sorted by id (those of one id in the document's
    /// order).
    pub fn by_id(&self) -> Vec<&Operation> {
        let mut operations: Vec<&Operation> = self.operations.iter().collect();
        operations.sort_by(|a, b| a.id.cmp(&b.id));
        operations
    }

    /// The named schemas that are only an unsigned integer, by Rust name,
    /// each with the primitive it stands for.
    pub fn unsigned_aliases(&self) -> Vec<(String, &'static str)> {
        self.schemas
            .iter()
            .filter_map(|s| Some((pascal(&s.name)?, s.unsigned?)))
            .collect()
    }
}

/// Validates `doc`, reads its model, and makes the documents progenitor
/// reads, in the stages the module doc says.
pub fn read(mut doc: Value) -> Result<(SpecModel, Documents), CodegenError> {
    crate::validate::validate(&doc)?;
    let wrapper_support = check_wrapper_requirements(&doc);
    let revoke_support = check_revoke_requirements(&doc);
    let info = spec_info(&doc)?;
    // Before lowering keeps one media type per response.
    let mut live_doc = live::spec(&doc);
    let mut live_reads = read_live_reads(&live_doc);
    lower::lower(&mut live_doc)?;
    records::as_bytes(&mut live_doc);
    lower::error_bodies_as_bytes(&mut live_doc);
    let mut notes = lower::lower(&mut doc)?;
    // Before record data and error bodies become bytes: the spec's own
    // types.
    let surface = Surface::of(&doc);
    let operations = read_operations(&doc, &mut live_reads);
    notes.extend(records::as_bytes(&mut doc));
    lower::error_bodies_as_bytes(&mut doc);
    let schemas = read_schemas(&doc);
    let model = SpecModel {
        info,
        wrapper_support,
        revoke_support,
        notes,
        surface,
        operations,
        schemas,
    };
    Ok((
        model,
        Documents {
            client: doc,
            live: live_doc,
        },
    ))
}

fn spec_info(doc: &Value) -> Result<SpecInfo, CodegenError> {
    let field = |name: &str| {
        doc.pointer(&format!("/info/{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| CodegenError::Invalid(format!("the document has no `info.{name}`")))
    };
    Ok(SpecInfo {
        title: field("title")?,
        version: field("version")?,
        server_url: doc
            .pointer("/servers/0/url")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

// ---------------------------------------------------------------------------
// Operations

/// Live reads by path and method.
type LiveReads = BTreeMap<(String, &'static str), LiveRead>;

/// The facts of every operation of the lowered `doc` with an id; its live
/// read is taken from `live_reads`.
fn read_operations(doc: &Value, live_reads: &mut LiveReads) -> Vec<Operation> {
    let mut operations = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return operations;
    };
    for (path, item) in paths {
        for method in HTTP_METHODS {
            let Some(op) = item.get(method) else { continue };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let parameters = [item, op]
                .into_iter()
                .filter_map(|v| v.get("parameters").and_then(Value::as_array))
                .flatten()
                .map(|p| resolve(doc, p));
            let mut takes_request_token = false;
            let mut record_format = false;
            let mut wait_param = None;
            for p in parameters {
                // An operation's own declaration overrides its path's.
                if declares_wait(p) {
                    wait_param =
                        is_integer(doc, p.get("schema")).then(|| WAIT_PARAMETER.to_owned());
                }
                takes_request_token |= p.get("in").and_then(Value::as_str) == Some("header")
                    && p.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(REQUEST_TOKEN_HEADER));
                record_format |= records::is_format_header(p);
            }
            // The operation's own servers override its path's.
            let basin_server = [op, item]
                .into_iter()
                .find_map(|v| v.get("servers").and_then(Value::as_array))
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("url").and_then(Value::as_str))
                .find(|url| url.contains(BASIN_VARIABLE))
                .map(str::to_owned);
            operations.push(Operation {
                id: id.to_owned(),
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                basin_server,
                takes_request_token,
                record_format,
                wait_param,
                cursor_list: cursor_list(doc, item, op),
                live_read: live_reads.remove(&(path.clone(), method)),
                declared_errors: declared_errors(doc, op),
                output: output(doc, op),
            });
        }
    }
    operations
}

/// Whether `parameter` is the one an operation asks the server to wait
/// with: a `query` parameter named `wait` (S2's name for it), whose value
/// is seconds.
fn declares_wait(parameter: &Value) -> bool {
    parameter.get("in").and_then(Value::as_str) == Some("query")
        && parameter.get("name").and_then(Value::as_str) == Some(WAIT_PARAMETER)
}

/// Whether `schema` (or the schema it refers to) is an integer: a `wait`
/// of another type is not read as seconds.
fn is_integer(doc: &Value, schema: Option<&Value>) -> bool {
    match schema.map(|s| resolve(doc, s)).and_then(|s| s.get("type")) {
        Some(Value::String(t)) => t == "integer",
        // 3.1's `["integer", "null"]`, should it reach here unlowered.
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    }
}

/// `op`'s cursor shape ([`CursorList`]), if it has it.
fn cursor_list(doc: &Value, item: &Value, op: &Value) -> Option<CursorList> {
    let query: BTreeSet<&str> = [item, op]
        .into_iter()
        .filter_map(|v| v.get("parameters").and_then(Value::as_array))
        .flatten()
        .map(|p| resolve(doc, p))
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    if !query.contains("start_after") || !query.contains("limit") {
        return None;
    }
    let page = op
        .get("responses")?
        .as_object()?
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .find_map(|(_, response)| {
            schema_name(resolve(doc, response).pointer("/content/application~1json/schema")?)
        })?;
    let page_schema = doc.pointer(&format!("/components/schemas/{page}"))?;
    let required = |schema: &Value, name: &str| {
        schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n.as_str() == Some(name)))
    };
    let properties = page_schema.get("properties")?.as_object()?;
    let has_more = properties.get("has_more")?;
    if has_more.get("type").and_then(Value::as_str) != Some("boolean")
        || !required(page_schema, "has_more")
    {
        return None;
    }
    let mut arrays = properties
        .iter()
        .filter(|(_, p)| p.get("type").and_then(Value::as_str) == Some("array"));
    let (items, array) = arrays.next()?;
    if arrays.next().is_some() || !required(page_schema, items) {
        return None;
    }
    let item = schema_name(array.get("items")?)?;
    let item_schema = doc.pointer(&format!("/components/schemas/{item}"))?;
    let cursor = ["name", "id"].into_iter().find(|c| {
        item_schema.pointer(&format!("/properties/{c}")).is_some() && required(item_schema, c)
    })?;
    Some(CursorList {
        page: page.to_owned(),
        items: items.clone(),
        item: item.to_owned(),
        cursor: cursor.to_owned(),
    })
}

/// The operations of `live` (the document [`live::spec`] makes, before
/// lowering) whose events have S2's shape, by path and method.
fn read_live_reads(live: &Value) -> LiveReads {
    let mut found = LiveReads::new();
    let Some(paths) = live.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        for method in HTTP_METHODS {
            let Some(op) = item.get(method) else { continue };
            let schema = op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|r| r.values())
                .find_map(|r| live::event_stream(r)?.get("schema"))
                .map(|s| resolve(live, s));
            if let Some(live_read) = schema.and_then(events) {
                found.insert((path.clone(), method), live_read);
            }
        }
    }
    found
}

/// The events of an event-stream schema, when they have S2's shape.
fn events(schema: &Value) -> Option<LiveRead> {
    let variants = schema.get("oneOf")?.as_array()?;
    let mut data_event = None;
    let mut ping = None;
    for variant in variants {
        // The event's name: a one-value enum, or (OpenAPI 3.1) a `const`.
        let Some(name) = variant
            .pointer("/properties/event/enum/0")
            .or_else(|| variant.pointer("/properties/event/const"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let data = variant.pointer("/properties/data").and_then(schema_name);
        let resumable = variant
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n.as_str() == Some("id")));
        if resumable {
            data_event = Some((name.to_owned(), data?.to_owned()));
        } else if name == "ping" {
            ping = data.map(str::to_owned);
        }
    }
    let (data_event, data) = data_event?;
    Some(LiveRead {
        data_event,
        data,
        ping,
    })
}

/// The named JSON body of each error status of `op`.
fn declared_errors(doc: &Value, op: &Value) -> Vec<DeclaredError> {
    let responses = op.get("responses").and_then(Value::as_object);
    let mut declared = Vec::new();
    for (status, response) in responses.into_iter().flatten() {
        let Some(status) = status
            .parse::<u16>()
            .ok()
            .filter(|s| (400..600).contains(s))
        else {
            continue;
        };
        let schema = resolve(doc, response).pointer("/content/application~1json/schema");
        if let Some(name) = schema.and_then(schema_name) {
            declared.push(DeclaredError {
                status,
                schema: name.to_owned(),
            });
        }
    }
    declared
}

/// What progenitor gives for `op`'s success: `()` without a body, bytes
/// for a body that is not JSON, the named type of a JSON body; `None` when
/// a JSON body's schema is not named, or the successes differ.
fn output(doc: &Value, op: &Value) -> Option<Output> {
    let mut outputs = op
        .get("responses")?
        .as_object()?
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .map(|(_, response)| {
            let content = resolve(doc, response)
                .get("content")
                .and_then(Value::as_object);
            match content.and_then(|c| c.iter().next()) {
                None => Some(Output::Unit),
                Some((media, body)) if is_json_media_type(media) => {
                    let name = schema_name(body.get("schema")?)?;
                    Some(Output::Type(pascal(name)?))
                }
                Some(_) => Some(Output::Bytes),
            }
        });
    let first = outputs.next()??;
    // One type for every success, or progenitor's own union: left out.
    outputs.all(|o| o.as_ref() == Some(&first)).then_some(first)
}

// ---------------------------------------------------------------------------
// Named schemas

/// The facts of every named schema of `doc`, by name.
fn read_schemas(doc: &Value) -> Vec<NamedSchema> {
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    schemas
        .into_iter()
        .flatten()
        .map(|(name, schema)| NamedSchema {
            name: name.clone(),
            rule: rule(schema),
            checked_string: is_checked_string(schema),
            record_pair: records::is_record_pair(schema),
            unsigned: unsigned(schema),
        })
        .collect()
}

/// What `schema` asks of a value that its Rust type does not ensure.
fn rule(schema: &Value) -> Rule {
    let number = |key: &str| schema.get(key).and_then(Value::as_u64);
    let bound = |key: &str| match schema.get(key) {
        Some(Value::Number(n)) => Some(n.clone()),
        _ => None,
    };
    let mut rule = Rule::default();
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => {
            rule.length = (number("minLength"), number("maxLength"));
            rule.pattern = schema
                .get("pattern")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        Some("integer" | "number") => rule.range = (bound("minimum"), bound("maximum")),
        _ => {}
    }
    rule.values = schema.get("enum").and_then(Value::as_array).cloned();
    rule
}

/// Whether typify makes `schema` a checked string: a string with a length
/// bound, a pattern or an enumeration.
fn is_checked_string(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("string")
        && ["minLength", "maxLength", "pattern", "enum"]
            .iter()
            .any(|key| schema.get(key).is_some())
}

/// The primitive of a schema that is only an unsigned integer: `integer`
/// of an unsigned format, a `minimum` of zero if any, and nothing else
/// but words.
fn unsigned(schema: &Value) -> Option<&'static str> {
    const PLAIN: [&str; 5] = ["type", "format", "minimum", "description", "title"];
    let schema = schema.as_object()?;
    if schema.get("type").and_then(Value::as_str) != Some("integer")
        || !schema.keys().all(|k| PLAIN.contains(&k.as_str()))
        || schema.get("minimum").and_then(Value::as_f64).unwrap_or(0.0) != 0.0
    {
        return None;
    }
    match schema.get("format").and_then(Value::as_str)? {
        "uint64" => Some("u64"),
        "uint32" => Some("u32"),
        "uint16" => Some("u16"),
        "uint8" => Some("u8"),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    /// An operation with an id and no other facts, for the emitters' tests.
    pub(crate) fn operation(id: &str) -> Operation {
        Operation {
            id: id.to_owned(),
            method: "GET".to_owned(),
            path: format!("/{id}"),
            basin_server: None,
            takes_request_token: false,
            record_format: false,
            wait_param: None,
            cursor_list: None,
            live_read: None,
            declared_errors: Vec::new(),
            output: None,
        }
    }

    /// A model of `operations` and no schemas, for the emitters' tests.
    pub(crate) fn model(operations: Vec<Operation>) -> SpecModel {
        SpecModel {
            info: SpecInfo {
                title: "T".to_owned(),
                version: "1".to_owned(),
                server_url: None,
            },
            wrapper_support: Ok(()),
            revoke_support: Ok(()),
            notes: Vec::new(),
            surface: Surface::default(),
            operations,
            schemas: Vec::new(),
        }
    }

    /// The named schemas' facts of `doc` as it is.
    pub(crate) fn schemas_of(doc: &Value) -> Vec<NamedSchema> {
        read_schemas(doc)
    }

    /// The operations' facts of `doc` as it is, without live reads.
    fn operations_of(doc: &Value) -> Vec<Operation> {
        read_operations(doc, &mut LiveReads::new())
    }

    fn find<'a>(model: &'a SpecModel, id: &str) -> &'a Operation {
        let found = model.operations.iter().find(|op| op.id == id);
        found.unwrap_or_else(|| panic!("no {id} in {:?}", model.operations))
    }

    /// A spec with one operation of each shape.
    fn spec() -> Value {
        let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
        let body = |name: &str| json!({"description": "", "content": {"application/json": {"schema": schema(name)}}});
        json!({
            "openapi": "3.1.0",
            "info": {"title": "S2", "version": "1.2.3"},
            "servers": [{"url": "https://a.example/v1"}],
            "paths": {
                "/streams": {
                    "servers": [{"url": "https://{basin}.b.example/v1"}],
                    "get": {
                        "operationId": "list_streams",
                        "parameters": [
                            {"name": "start_after", "in": "query", "schema": {"type": "string"}},
                            {"name": "limit", "in": "query", "schema": {"type": "integer"}}
                        ],
                        "responses": {"200": body("ListStreamsResponse")}
                    },
                    "post": {
                        "operationId": "create_stream",
                        "parameters": [{"$ref": "#/components/parameters/token"}],
                        "responses": {"201": body("StreamInfo"), "204": {"description": ""}}
                    }
                },
                "/streams/{stream}/records": {
                    "parameters": [
                        {"name": "stream", "in": "path", "required": true, "schema": {"type": "string"}},
                        {"name": "s2-format", "in": "header", "schema": {"type": "string"}}
                    ],
                    "get": {
                        "operationId": "read",
                        "parameters": [{"name": "wait", "in": "query", "schema": schema("u32")}],
                        "responses": {
                            "200": {"description": "", "content": {
                                "application/json": {"schema": schema("ReadBatch")},
                                "text/event-stream": {"schema": schema("ReadEvent")}
                            }},
                            "400": body("ErrorInfo"),
                            "416": body("TailResponse"),
                            "4XX": body("Other")
                        }
                    },
                    "post": {
                        "operationId": "append",
                        "requestBody": {"content": {"application/json": {"schema": schema("AppendInput")}}},
                        "responses": {"200": {"description": ""}, "412": body("AppendConditionFailed")}
                    }
                }
            },
            "components": {
                "parameters": {"token": {"name": "s2-request-token", "in": "header", "schema": {"type": "string"}}},
                "schemas": {
                    "u32": {"type": "integer", "format": "int32", "minimum": 0},
                    "StreamName": {"type": "string", "minLength": 1, "maxLength": 512},
                    "StreamInfo": {"type": "object", "required": ["name"], "properties": {"name": schema("StreamName")}},
                    "ListStreamsResponse": {"type": "object", "required": ["streams", "has_more"], "properties": {
                        "streams": {"type": "array", "items": schema("StreamInfo")},
                        "has_more": {"type": "boolean"}
                    }},
                    "Header": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}], "items": false},
                    "Record": {"type": "object", "properties": {
                        "headers": {"type": "array", "items": schema("Header")},
                        "body": {"type": "string"}
                    }},
                    "AppendInput": {"type": "object", "properties": {"records": {"type": "array", "items": schema("Record")}}},
                    "ReadBatch": {"type": "object", "properties": {"records": {"type": "array", "items": schema("Record")}}},
                    "ReadEvent": {"oneOf": [
                        {"type": "object", "required": ["event", "data", "id"], "properties": {
                            "event": {"const": "batch"}, "data": schema("ReadBatch"), "id": {"type": "string"}
                        }},
                        {"type": "object", "required": ["event", "data"], "properties": {
                            "event": {"const": "ping"}, "data": schema("PingEventData")
                        }}
                    ]},
                    "PingEventData": {"type": "object"},
                    "TailResponse": {"type": "object"},
                    "AppendConditionFailed": {"type": "object"},
                    "Other": {"type": "object"},
                    "ErrorInfo": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}
                    }}
                }
            }
        })
    }

    #[test]
    fn one_read_gives_every_fact_at_its_stage() {
        let (model, documents) = read(spec()).unwrap();
        assert_eq!(model.info.version, "1.2.3");
        assert_eq!(
            model.info.server_url.as_deref(),
            Some("https://a.example/v1")
        );
        assert_eq!(model.wrapper_support, Ok(()));
        assert!(model.revoke_support.is_err());
        // In the document's order: by path, then method.
        let ids: Vec<&str> = model.operations.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["list_streams", "create_stream", "read", "append"]);
        let by_id: Vec<&str> = model.by_id().iter().map(|o| o.id.as_str()).collect();
        assert_eq!(by_id, ["append", "create_stream", "list_streams", "read"]);
        assert_eq!(
            model.surface.operations.keys().collect::<Vec<_>>(),
            ["append", "create_stream", "list_streams", "read"]
        );

        let list = find(&model, "list_streams");
        assert_eq!(
            list.cursor_list,
            Some(CursorList {
                page: "ListStreamsResponse".to_owned(),
                items: "streams".to_owned(),
                item: "StreamInfo".to_owned(),
                cursor: "name".to_owned(),
            })
        );
        assert_eq!(
            list.basin_server.as_deref(),
            Some("https://{basin}.b.example/v1")
        );
        assert_eq!(
            list.output,
            Some(Output::Type("ListStreamsResponse".to_owned()))
        );
        assert!(!list.takes_request_token && !list.record_format);

        let create = find(&model, "create_stream");
        assert_eq!(
            (create.method.as_str(), create.path.as_str()),
            ("POST", "/streams")
        );
        assert!(create.takes_request_token);
        // 201 with a body and 204 without: lowered to bytes.
        assert_eq!(create.output, Some(Output::Bytes));
        assert_eq!(create.cursor_list, None);

        let read_op = find(&model, "read");
        assert!(read_op.record_format);
        assert_eq!(read_op.wait_param.as_deref(), Some("wait"));
        assert_eq!(read_op.basin_server, None);
        // Read before lowering keeps only the JSON success.
        assert_eq!(
            read_op.live_read,
            Some(LiveRead {
                data_event: "batch".to_owned(),
                data: "ReadBatch".to_owned(),
                ping: Some("PingEventData".to_owned()),
            })
        );
        assert_eq!(read_op.output, Some(Output::Type("ReadBatch".to_owned())));
        // Read before the error bodies become bytes; `4XX` is no status.
        let declared: Vec<(u16, &str)> = read_op
            .declared_errors
            .iter()
            .map(|d| (d.status, d.schema.as_str()))
            .collect();
        assert_eq!(declared, [(400, "ErrorInfo"), (416, "TailResponse")]);

        let append = find(&model, "append");
        assert!(append.record_format && !append.takes_request_token);
        assert_eq!(append.output, Some(Output::Unit));
        assert_eq!(append.live_read, None);
        assert_eq!(append.declared_errors.len(), 1);

        // Named schemas as progenitor reads them: record data as bytes.
        let schema = |name: &str| {
            let found = model.schemas.iter().find(|s| s.name == name);
            found.unwrap_or_else(|| panic!("no schema {name}"))
        };
        assert!(schema("Header").record_pair);
        assert!(!schema("Record").record_pair);
        assert!(
            model
                .schemas
                .iter()
                .any(|s| s.name == records::BYTES_SCHEMA)
        );
        assert_eq!(schema("u32").unsigned, Some("u32"));
        assert_eq!(model.unsigned_aliases(), [("U32".to_owned(), "u32")]);
        assert!(schema("StreamName").checked_string);
        assert_eq!(schema("StreamName").rule.length, (Some(1), Some(512)));
        assert!(!schema("StreamInfo").checked_string);
        assert_eq!(schema("StreamInfo").rule, Rule::default());
        // Notes of the lowering and of record data, in that order.
        assert_eq!(model.notes.len(), 4, "{:?}", model.notes);
        assert!(model.notes[0].starts_with("create_stream: success responses"));
        assert!(model.notes[3].starts_with("append: record data as bytes"));

        // The documents progenitor reads: errors as bytes, no `s2-format`,
        // and the live one with the event stream alone.
        let bytes =
            json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}});
        let client_read = &documents.client["paths"]["/streams/{stream}/records"]["get"];
        assert_eq!(client_read["responses"]["416"]["content"], bytes);
        assert_eq!(
            documents.client["paths"]["/streams/{stream}/records"]["parameters"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        let live_paths = documents.live["paths"].as_object().unwrap();
        assert_eq!(
            live_paths.keys().collect::<Vec<_>>(),
            ["/streams/{stream}/records"]
        );
        let live_read = &documents.live["paths"]["/streams/{stream}/records"]["get"];
        assert!(live_read["responses"]["200"]["content"][live::EVENT_STREAM].is_object());
        assert_eq!(live_read["responses"]["416"]["content"], bytes);
    }

    #[test]
    fn a_spec_that_cannot_be_read_says_why() {
        let mut doc = spec();
        doc["info"].as_object_mut().unwrap().remove("version");
        let err = read(doc).unwrap_err().to_string();
        assert!(err.contains("`info.version`"), "{err}");
        let mut doc = spec();
        doc["openapi"] = json!("2.0");
        let err = read(doc).unwrap_err().to_string();
        assert!(err.contains("OpenAPI version 2.0"), "{err}");
        let mut doc = spec();
        doc["components"]["schemas"]["Record"]["properties"]["body"] =
            json!({"$ref": "#/components/schemas/Nowhere"});
        let err = read(doc).unwrap_err().to_string();
        assert!(err.contains("points at nothing"), "{err}");
    }

    #[test]
    fn request_tokens_and_basin_servers() {
        let doc = json!({
            "components": {"parameters": {"token": {
                "name": "S2-Request-Token", "in": "header", "schema": {"type": "string"}
            }}},
            "paths": {
                "/streams": {
                    "servers": [{"url": "https://{basin}.b.example/v1"}],
                    "post": {"operationId": "create_stream",
                             "parameters": [{"$ref": "#/components/parameters/token"}]},
                    "get": {"operationId": "list_streams",
                            "servers": [{"url": "https://a.example/v1"}]}
                },
                "/basins": {
                    "post": {"operationId": "create_basin", "parameters": [
                        {"name": "s2-request-token", "in": "query", "schema": {"type": "string"}}
                    ]},
                    "put": {}
                }
            }
        });
        let ops = operations_of(&doc);
        let facts: Vec<(&str, bool, Option<&str>)> = ops
            .iter()
            .map(|o| {
                (
                    o.id.as_str(),
                    o.takes_request_token,
                    o.basin_server.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            facts,
            [
                // A query parameter of the same name is not the header.
                ("create_basin", false, None),
                // The operation's own servers override its path's.
                ("list_streams", false, None),
                ("create_stream", true, Some("https://{basin}.b.example/v1")),
            ]
        );
    }

    #[test]
    fn the_wait_parameter_is_an_integer_named_wait_in_the_query() {
        let doc = json!({
            "components": {
                "schemas": {"u32": {"type": "integer", "format": "int32", "minimum": 0}},
                "parameters": {"wait": {"name": "wait", "in": "query",
                                        "schema": {"$ref": "#/components/schemas/u32"}}}
            },
            "paths": {
                "/records": {
                    "get": {"operationId": "read", "parameters": [
                        {"name": "seq_num", "in": "query", "schema": {"type": "integer"}},
                        {"name": "wait", "in": "query",
                         "schema": {"type": "integer", "format": "int32", "minimum": 0}}
                    ]},
                    "post": {"operationId": "by_ref",
                             "parameters": [{"$ref": "#/components/parameters/wait"}]}
                },
                "/other": {
                    "parameters": [{"name": "wait", "in": "query", "schema": {"type": ["integer", "null"]}}],
                    "get": {"operationId": "on_path"},
                    "delete": {"operationId": "overridden_as_text", "parameters": [
                        {"name": "wait", "in": "query", "schema": {"type": "string"}}
                    ]}
                },
                "/plain": {
                    "get": {"operationId": "as_header", "parameters": [
                        {"name": "wait", "in": "header", "schema": {"type": "integer"}}
                    ]},
                    "put": {"operationId": "other_name", "parameters": [
                        {"name": "Wait", "in": "query", "schema": {"type": "integer"}},
                        {"name": "timeout", "in": "query", "schema": {"type": "integer"}}
                    ]}
                }
            }
        });
        let mut waits: Vec<(String, Option<String>)> = operations_of(&doc)
            .into_iter()
            .map(|op| (op.id, op.wait_param))
            .collect();
        waits.sort();
        let wait = Some("wait".to_owned());
        assert_eq!(
            waits,
            [
                ("as_header".to_owned(), None),
                ("by_ref".to_owned(), wait.clone()),
                ("on_path".to_owned(), wait.clone()),
                ("other_name".to_owned(), None),
                ("overridden_as_text".to_owned(), None),
                ("read".to_owned(), wait),
            ]
        );
    }

    fn list_doc() -> Value {
        json!({
            "components": {
                "parameters": {"after": {"name": "start_after", "in": "query", "schema": {"type": "string"}}},
                "schemas": {
                    "ListThingsResponse": {"type": "object", "required": ["things", "has_more"], "properties": {
                        "has_more": {"type": "boolean"},
                        "things": {"type": "array", "items": {"$ref": "#/components/schemas/ThingInfo"}}
                    }},
                    "ThingInfo": {"type": "object", "required": ["id"], "properties": {
                        "id": {"type": "string"}, "name": {"type": "string"}
                    }}
                }
            },
            "paths": {"/things": {"get": {
                "operationId": "list_things",
                "parameters": [
                    {"$ref": "#/components/parameters/after"},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ListThingsResponse"}
                }}}}
            }}}
        })
    }

    #[test]
    fn the_cursor_shape_and_others() {
        let ops = operations_of(&list_doc());
        assert_eq!(
            ops[0].cursor_list,
            Some(CursorList {
                page: "ListThingsResponse".to_owned(),
                items: "things".to_owned(),
                item: "ThingInfo".to_owned(),
                // `name` is not required: the cursor is the id.
                cursor: "id".to_owned(),
            })
        );
        type Change = fn(&mut Value);
        let cases: [(&str, Change); 4] = [
            ("no limit", |d| {
                d["paths"]["/things"]["get"]["parameters"][1]["name"] = json!("max");
            }),
            ("has_more is not a boolean", |d| {
                d["components"]["schemas"]["ListThingsResponse"]["properties"]["has_more"]["type"] =
                    json!("string");
            }),
            ("two arrays", |d| {
                d["components"]["schemas"]["ListThingsResponse"]["properties"]["more"] =
                    json!({"type": "array"});
            }),
            ("no required cursor", |d| {
                d["components"]["schemas"]["ThingInfo"]["required"] = json!([]);
            }),
        ];
        for (why, change) in cases {
            let mut doc = list_doc();
            change(&mut doc);
            assert_eq!(operations_of(&doc)[0].cursor_list, None, "{why}");
        }
    }

    #[test]
    fn events_of_s2s_shape() {
        let event = json!({"oneOf": [
            {"type": "object", "required": ["event", "data", "id"], "properties": {
                "event": {"type": "string", "enum": ["batch"]},
                "data": {"$ref": "#/components/schemas/Batch"},
                "id": {"type": "string"}
            }},
            {"type": "object", "required": ["event", "data"], "properties": {
                "event": {"type": "string", "enum": ["error"]}, "data": {"type": "string"}
            }},
            {"type": "object", "required": ["event", "data"], "properties": {
                "event": {"type": "string", "enum": ["ping"]},
                "data": {"$ref": "#/components/schemas/Ping"}
            }}
        ]});
        assert_eq!(
            events(&event),
            Some(LiveRead {
                data_event: "batch".to_owned(),
                data: "Batch".to_owned(),
                ping: Some("Ping".to_owned()),
            })
        );
        // No ping: none.
        let mut no_ping = event.clone();
        no_ping["oneOf"].as_array_mut().unwrap().pop();
        assert_eq!(events(&no_ping).and_then(|e| e.ping), None);
        // No event with an id: nothing to resume after, no live read.
        let mut no_id = event.clone();
        no_id["oneOf"][0]["required"] = json!(["event"]);
        assert_eq!(events(&no_id), None);
        // Its data not a named schema: no type to read it as.
        let mut unnamed = event;
        unnamed["oneOf"][0]["properties"]["data"] = json!({"type": "object"});
        assert_eq!(events(&unnamed), None);
    }

    #[test]
    fn success_outputs() {
        let doc = json!({
            "components": {"schemas": {"Thing": {"type": "object"}}},
            "paths": {"/t": {
                "get": {"operationId": "get_thing", "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"content": {"application/octet-stream": {}}}
                }},
                "delete": {"operationId": "delete_thing", "responses": {"204": {"description": ""}}},
                "put": {"operationId": "put_thing", "responses": {
                    "200": {"content": {"application/json": {"schema": {"type": "object"}}}}
                }},
                "post": {"operationId": "raw_thing", "responses": {
                    "200": {"content": {"text/plain": {}}}
                }},
                "patch": {"operationId": "mixed_thing", "responses": {
                    "200": {"content": {"text/plain": {}}},
                    "204": {"description": ""}
                }},
                "head": {"operationId": "no_success", "responses": {"404": {"description": ""}}}
            }}
        });
        let mut outputs: Vec<(String, Option<Output>)> = operations_of(&doc)
            .into_iter()
            .map(|op| (op.id, op.output))
            .collect();
        outputs.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            outputs,
            [
                ("delete_thing".to_owned(), Some(Output::Unit)),
                (
                    "get_thing".to_owned(),
                    Some(Output::Type("Thing".to_owned()))
                ),
                ("mixed_thing".to_owned(), None),
                ("no_success".to_owned(), None),
                ("put_thing".to_owned(), None),
                ("raw_thing".to_owned(), Some(Output::Bytes)),
            ]
        );
    }

    #[test]
    fn unsigned_aliases_are_the_plain_ones() {
        let doc = json!({"components": {"schemas": {
            "u64": {"type": "integer", "format": "uint64", "minimum": 0},
            "u32": {"type": "integer", "format": "uint32", "description": "d"},
            "Bounded": {"type": "integer", "format": "uint64", "maximum": 9},
            "Signed": {"type": "integer", "format": "int64"},
            "Text": {"type": "string"}
        }}});
        let mut spec = model(Vec::new());
        spec.schemas = schemas_of(&doc);
        let mut aliases = spec.unsigned_aliases();
        aliases.sort();
        assert_eq!(
            aliases,
            [("U32".to_owned(), "u32"), ("U64".to_owned(), "u64")]
        );
    }
}
