//! S2's record data as bytes.
//!
//! An operation that declares S2's `s2-format` header carries records whose
//! header names, header values and bodies are, in JSON, text (`raw`, the
//! default) or base64, as that header says. Left as progenitor makes them
//! they are `String`s, and a base64 string sent without the header is stored
//! as that text, silently. So, for every such operation:
//! - the record data of the schemas its bodies reach (properties `body`, and
//!   the name and value of each of `headers`) become one named schema,
//!   [`BYTES_SCHEMA`], which the generator maps to the crate's
//!   `RecordBytes`: bytes in Rust, base64 in JSON;
//! - the `s2-format` parameter leaves the generated builder, and the request
//!   layer sends `s2-format: base64` on every request of the operation
//!   (`Operation::record_format`), so header and encoding cannot disagree.

use std::collections::{BTreeSet, VecDeque};

use serde_json::{Value, json};

use crate::doc::{HTTP_METHODS, SCHEMA_PREFIX, resolve, schema_name};

/// The header naming the JSON encoding of record data.
pub const FORMAT_HEADER: &str = "s2-format";

/// The schema that record data becomes.
pub const BYTES_SCHEMA: &str = "S2RecordBytes";

/// The Rust type generated for [`BYTES_SCHEMA`].
pub const BYTES_TYPE: &str = "crate::RecordBytes";

/// Whether `parameter` (resolved) is the `s2-format` header.
pub fn is_format_header(parameter: &Value) -> bool {
    parameter.get("in").and_then(Value::as_str) == Some("header")
        && parameter
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(FORMAT_HEADER))
}

/// Rewrites the operations that declare `s2-format` as the module says, and
/// returns one note per operation rewritten.
pub fn as_bytes(doc: &mut Value) -> Vec<String> {
    let mut notes = Vec::new();
    let mut roots = BTreeSet::new();
    let snapshot = doc.clone();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            // Declared on the path, the header is every operation's there.
            let on_path = without_format(item.get_mut("parameters"), &snapshot);
            for (method, op) in item.iter_mut() {
                if !HTTP_METHODS.contains(&method.as_str()) {
                    continue;
                }
                if !without_format(op.get_mut("parameters"), &snapshot) && !on_path {
                    continue;
                }
                let name = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
                notes.push(format!(
                    "{name}: record data as bytes; `{FORMAT_HEADER}: base64` is sent by the request layer"
                ));
                let bodies = op
                    .get("requestBody")
                    .into_iter()
                    .chain(
                        op.get("responses")
                            .and_then(Value::as_object)
                            .into_iter()
                            .flat_map(|r| r.values()),
                    )
                    .filter_map(|b| b.get("content"));
                for content in bodies {
                    collect_refs(content, &mut roots);
                }
            }
        }
    }
    if notes.is_empty() {
        return notes;
    }
    for name in reachable(doc, roots) {
        let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) else {
            continue;
        };
        let mut headers = Vec::new();
        retype_record_data(schema, &mut headers);
        for header in headers {
            if let Some(header) = doc.pointer_mut(&format!("/components/schemas/{header}")) {
                retype_name_value(header);
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(
            BYTES_SCHEMA.to_owned(),
            json!({
                "type": "string",
                "format": "byte",
                "description": "Record data: a header name or value, or a body. Bytes; base64 in JSON."
            }),
        );
    }
    notes
}

/// Removes the `s2-format` header from `parameters`, and says whether it
/// was there.
fn without_format(parameters: Option<&mut Value>, doc: &Value) -> bool {
    let Some(parameters) = parameters.and_then(Value::as_array_mut) else {
        return false;
    };
    let before = parameters.len();
    parameters.retain(|p| !is_format_header(resolve(doc, p)));
    parameters.len() != before
}

/// Every component schema named by a `$ref` within `value`.
fn collect_refs(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = schema_name(value) {
                into.insert(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// `roots` and every component schema they reach.
fn reachable(doc: &Value, roots: BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = roots.into_iter().collect();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = doc.pointer(&format!("/components/schemas/{name}")) {
            let mut found = BTreeSet::new();
            collect_refs(schema, &mut found);
            queue.extend(found.into_iter().filter(|n| !seen.contains(n)));
        }
    }
    seen
}

/// In `schema` and the objects nested in it: a string property `body`
/// becomes record bytes, and so do the two strings of each item of an
/// array property `headers` (inline here; a named item schema is pushed to
/// `named_headers` for the caller).
fn retype_record_data(schema: &mut Value, named_headers: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(properties) = map.get_mut("properties").and_then(Value::as_object_mut) {
                if let Some(body) = properties.get_mut("body")
                    && body.get("type").and_then(Value::as_str) == Some("string")
                {
                    *body = bytes_ref();
                }
                if let Some(items) = properties
                    .get_mut("headers")
                    .and_then(|h| h.get_mut("items"))
                {
                    match schema_name(items) {
                        Some(name) => named_headers.push(name.to_owned()),
                        None => retype_name_value(items),
                    }
                }
            }
            map.values_mut()
                .for_each(|v| retype_record_data(v, named_headers));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| retype_record_data(v, named_headers)),
        _ => {}
    }
}

/// A name-value pair (an array of exactly two strings) becomes a pair of
/// record bytes; anything else is left alone.
fn retype_name_value(pair: &mut Value) {
    let items = pair_items(pair);
    if items.and_then(|i| i.get("type")).and_then(Value::as_str) == Some("string") {
        pair["items"] = bytes_ref();
    }
}

/// The item schema of `schema` when it is an array of exactly two items.
fn pair_items(schema: &Value) -> Option<&Value> {
    let is_pair = schema.get("type").and_then(Value::as_str) == Some("array")
        && schema.get("minItems").and_then(Value::as_u64) == Some(2)
        && schema.get("maxItems").and_then(Value::as_u64) == Some(2);
    schema.get("items").filter(|_| is_pair)
}

/// Whether `schema` is a pair of record bytes, as [`as_bytes`] makes a
/// name-value pair (S2's `Header`).
pub fn is_record_pair(schema: &Value) -> bool {
    pair_items(schema) == Some(&bytes_ref())
}

fn bytes_ref() -> Value {
    json!({ "$ref": format!("{SCHEMA_PREFIX}{BYTES_SCHEMA}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "components": {
                "parameters": {"format": {"name": "S2-Format", "in": "header", "schema": {"type": "string"}}},
                "schemas": {
                    "Header": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
                    "Input": {"type": "object", "properties": {
                        "records": {"type": "array", "items": {"$ref": "#/components/schemas/Rec"}}
                    }},
                    "Rec": {"type": "object", "properties": {
                        "body": {"type": "string"},
                        "headers": {"type": "array", "items": {"$ref": "#/components/schemas/Header"}},
                        "seq": {"type": "integer"}
                    }},
                    "Other": {"type": "object", "properties": {"body": {"type": "string"}}}
                }
            },
            "paths": {
                "/records": {
                    "post": {
                        "operationId": "append",
                        "parameters": [{"$ref": "#/components/parameters/format"}, {"name": "x", "in": "query"}],
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Input"}}}},
                        "responses": {"200": {"description": ""}}
                    }
                },
                "/other": {"post": {
                    "operationId": "other",
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Other"}}}}
                }}
            }
        })
    }

    #[test]
    fn record_data_of_format_operations_becomes_bytes() {
        let mut doc = doc();
        let notes = as_bytes(&mut doc);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("append:"), "{notes:?}");
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["Rec"]["properties"]["body"], bytes_ref());
        assert_eq!(schemas["Header"]["items"], bytes_ref());
        assert_eq!(schemas["Rec"]["properties"]["seq"]["type"], "integer");
        assert_eq!(schemas[BYTES_SCHEMA]["format"], "byte");
        // An operation without the header keeps its strings.
        assert_eq!(schemas["Other"]["properties"]["body"]["type"], "string");
        // The header left the operation; its other parameters stayed.
        let parameters = doc["paths"]["/records"]["post"]["parameters"]
            .as_array()
            .unwrap();
        assert_eq!(parameters.len(), 1);
        assert_eq!(parameters[0]["name"], "x");
    }

    #[test]
    fn the_header_pair_becomes_a_pair_of_record_bytes() {
        let mut lowered = doc();
        assert!(!is_record_pair(&lowered["components"]["schemas"]["Header"]));
        as_bytes(&mut lowered);
        let schemas = &lowered["components"]["schemas"];
        assert!(is_record_pair(&schemas["Header"]));
        for other in ["Rec", "Other", "Input", BYTES_SCHEMA] {
            assert!(!is_record_pair(&schemas[other]), "{other}");
        }
    }

    #[test]
    fn a_spec_without_the_header_is_untouched() {
        let mut doc = doc();
        doc["paths"]["/records"]["post"]["parameters"] = json!([]);
        let before = doc.clone();
        assert!(as_bytes(&mut doc).is_empty());
        assert_eq!(doc, before);
    }

    #[test]
    fn a_header_declared_on_the_path_counts_for_its_operations() {
        let mut doc = doc();
        let op = &mut doc["paths"]["/records"];
        op["parameters"] = op["post"]["parameters"].take();
        let notes = as_bytes(&mut doc);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(
            doc["components"]["schemas"]["Rec"]["properties"]["body"],
            bytes_ref()
        );
        let parameters = doc["paths"]["/records"]["parameters"].as_array().unwrap();
        assert_eq!(parameters.len(), 1);
        assert_eq!(parameters[0]["name"], "x");
    }
}
