//! Lowering OpenAPI 3.1 to the OpenAPI 3.0 that progenitor (through
//! `openapiv3` 2.x and typify) understands.
//!
//! Each rule is a small, general rewrite of the JSON document, applied to
//! every schema wherever it appears (components, parameters, headers, request
//! and response bodies, and nested inside other schemas), or to every
//! operation. Rules never look at names of particular S2 types. The rules:
//!
//! | 3.1 input | 3.0 output |
//! |---|---|
//! | `openapi: 3.1.x` | `openapi: 3.0.3` |
//! | `type: [X, "null"]` | `type: X`, `nullable: true` (several non-null types become `anyOf`) |
//! | `oneOf`/`anyOf` with a `{type: "null"}` branch | the other branch + `nullable: true`; a lone `$ref` branch is wrapped as `allOf: [$ref]` |
//! | `prefixItems` (tuples) | `items` (the common item schema, or any value) with `minItems`/`maxItems` |
//! | boolean schemas (`items: false`, `true`) | removed, or `{}` / `{not: {}}` |
//! | `const: v` | `enum: [v]` |
//! | `examples: [...]` in a schema | `example` (the first) |
//! | numeric `exclusiveMinimum`/`exclusiveMaximum` | `minimum`/`maximum` + boolean flag |
//! | an `integer` with `minimum` >= 0 (`int64` or no format, `int32`, ...) | the unsigned format of its width (`uint64`, ...), so Rust gets `u64` |
//! | a `default` that does not match the schema's `type` | dropped |
//! | a response or request body given by `$ref` | a copy of what it names, so the rules below see it |
//! | a response or request body with several media types | the JSON one is kept |
//! | a `default` response beside listed successes | `4XX` and `5XX` (those not given), so its body is an error's, not one more success type |
//! | success responses that do not share one body type (e.g. 200 JSON and 204 empty) | every success response becomes raw bytes (`application/octet-stream`), so no success is misreported as an error |
//!
//! [`lower`] returns a note for each operation-level rewrite, so that the
//! generated code can say what was changed. [`error_bodies_as_bytes`] then
//! makes every error response raw bytes for progenitor (the crate reads
//! them), after the API surface has been taken from the spec's own types.

use serde_json::{Map, Value, json};

use crate::CodegenError;
use crate::doc::{HTTP_METHODS, resolve_ref};

/// Lowers `doc` in place and returns human-readable notes on the
/// operation-level changes made.
pub fn lower(doc: &mut Value) -> Result<Vec<String>, CodegenError> {
    lower_version(doc)?;
    for_each_schema(doc, &mut lower_schema);
    let mut notes = Vec::new();
    lower_operations(doc, &mut notes);
    Ok(notes)
}

/// Sets the document version to 3.0.3 when it is 3.1, and rejects anything
/// that is neither.
pub fn lower_version(doc: &mut Value) -> Result<(), CodegenError> {
    let version = doc.get("openapi").and_then(Value::as_str).ok_or_else(|| {
        CodegenError::Invalid("the document has no `openapi` version field".to_owned())
    })?;
    if version.starts_with("3.1") {
        doc["openapi"] = json!("3.0.3");
        Ok(())
    } else if version.starts_with("3.0") {
        Ok(())
    } else {
        Err(CodegenError::Unsupported(format!(
            "OpenAPI version {version} (only 3.0 and 3.1 are supported)"
        )))
    }
}

// ---------------------------------------------------------------------------
// Walking schemas

/// Calls `f` on every schema object in the document, parents before children.
/// Boolean schemas in child positions are first turned into objects (or
/// removed) so that `f` only sees objects.
pub fn for_each_schema(doc: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for schema in schemas.values_mut() {
            visit_schema(schema, f);
        }
    }
    for section in ["parameters", "headers"] {
        if let Some(items) = doc
            .pointer_mut(&format!("/components/{section}"))
            .and_then(Value::as_object_mut)
        {
            for item in items.values_mut() {
                visit_parameter_like(item, f);
            }
        }
    }
    for section in ["responses", "requestBodies"] {
        if let Some(items) = doc
            .pointer_mut(&format!("/components/{section}"))
            .and_then(Value::as_object_mut)
        {
            for item in items.values_mut() {
                visit_body_like(item, f);
            }
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for (key, value) in item.iter_mut() {
                if key == "parameters" {
                    visit_parameters(value, f);
                } else if HTTP_METHODS.contains(&key.as_str()) {
                    visit_operation(value, f);
                }
            }
        }
    }
}

fn visit_operation(op: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if let Some(params) = op.get_mut("parameters") {
        visit_parameters(params, f);
    }
    if let Some(body) = op.get_mut("requestBody") {
        visit_body_like(body, f);
    }
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        for response in responses.values_mut() {
            visit_body_like(response, f);
        }
    }
}

fn visit_parameters(params: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if let Some(params) = params.as_array_mut() {
        for param in params {
            visit_parameter_like(param, f);
        }
    }
}

fn visit_parameter_like(item: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if let Some(schema) = item.get_mut("schema") {
        visit_schema(schema, f);
    }
    visit_content(item, f);
}

fn visit_body_like(item: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    visit_content(item, f);
    if let Some(headers) = item.get_mut("headers").and_then(Value::as_object_mut) {
        for header in headers.values_mut() {
            visit_parameter_like(header, f);
        }
    }
}

fn visit_content(item: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if let Some(content) = item.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            if let Some(schema) = media.get_mut("schema") {
                visit_schema(schema, f);
            }
        }
    }
}

fn visit_schema(schema: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if let Value::Bool(b) = schema {
        *schema = bool_schema(*b);
    }
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    f(map);
    for key in ["items", "additionalProperties", "not"] {
        match map.get_mut(key) {
            // `additionalProperties: bool` is valid 3.0 and means what it says.
            Some(Value::Bool(_)) if key == "additionalProperties" => {}
            Some(child) => visit_schema(child, f),
            None => {}
        }
    }
    for key in ["allOf", "oneOf", "anyOf", "prefixItems"] {
        if let Some(children) = map.get_mut(key).and_then(Value::as_array_mut) {
            for child in children {
                visit_schema(child, f);
            }
        }
    }
    if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
        for child in props.values_mut() {
            visit_schema(child, f);
        }
    }
}

/// JSON Schema's boolean schemas: `true` accepts anything, `false` nothing.
fn bool_schema(accept: bool) -> Value {
    if accept {
        json!({})
    } else {
        json!({"not": {}})
    }
}

// ---------------------------------------------------------------------------
// Schema rules

/// Applies every schema-level rule to one schema object.
pub fn lower_schema(schema: &mut Map<String, Value>) {
    lower_prefix_items(schema);
    lower_type_list(schema);
    lower_null_branches(schema, "oneOf");
    lower_null_branches(schema, "anyOf");
    lower_const(schema);
    lower_examples(schema);
    lower_exclusive_bound(schema, "exclusiveMinimum", "minimum");
    lower_exclusive_bound(schema, "exclusiveMaximum", "maximum");
    unsigned_when_non_negative(schema);
    drop_mismatched_default(schema);
}

/// An integer with `minimum` zero or more becomes the unsigned integer of
/// its width (`int64` -> `uint64`; no format counts as 64 bits), so that a
/// sequence number is a `u64` in Rust, as the schema means it.
pub fn unsigned_when_non_negative(schema: &mut Map<String, Value>) {
    if schema.get("type").and_then(Value::as_str) != Some("integer")
        || !schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|min| min >= 0.0)
    {
        return;
    }
    let unsigned = match schema.get("format").and_then(Value::as_str) {
        None | Some("int64") => "uint64",
        Some("int32" | "int") => "uint32",
        Some("int16") => "uint16",
        Some("int8") => "uint8",
        Some(_) => return,
    };
    schema.insert("format".to_owned(), json!(unsigned));
}

/// `type: [X, "null"]` becomes `type: X` plus `nullable: true`.
pub fn lower_type_list(schema: &mut Map<String, Value>) {
    let types: Vec<String> = match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(t)) if t == "null" => vec![t.clone()],
        _ => return,
    };
    let non_null: Vec<&String> = types.iter().filter(|t| *t != "null").collect();
    if non_null.len() != types.len() {
        schema.insert("nullable".to_owned(), json!(true));
    }
    match non_null.as_slice() {
        [] => {
            schema.remove("type");
            schema.insert("enum".to_owned(), json!([null]));
        }
        [only] => {
            schema.insert("type".to_owned(), json!(only));
        }
        several => {
            schema.remove("type");
            let branches: Vec<Value> = several.iter().map(|t| json!({"type": t})).collect();
            schema.insert("anyOf".to_owned(), Value::Array(branches));
        }
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.get("enum") == Some(&json!([null]))
}

/// `oneOf`/`anyOf` with a null branch becomes the remaining branch plus
/// `nullable: true`. A lone `$ref` is wrapped in `allOf` because 3.0 ignores
/// siblings of `$ref`.
pub fn lower_null_branches(schema: &mut Map<String, Value>, key: &str) {
    let Some(Value::Array(branches)) = schema.get(key) else {
        return;
    };
    if !branches.iter().any(is_null_schema) {
        return;
    }
    let rest: Vec<Value> = branches
        .iter()
        .filter(|b| !is_null_schema(b))
        .cloned()
        .collect();
    schema.remove(key);
    schema.insert("nullable".to_owned(), json!(true));
    match <[Value; 1]>::try_from(rest) {
        Ok([only]) => match only {
            Value::Object(branch) if branch.contains_key("$ref") => {
                let reference = json!({"$ref": branch["$ref"]});
                schema.insert("allOf".to_owned(), json!([reference]));
                for (k, v) in branch {
                    if k != "$ref" {
                        schema.entry(k).or_insert(v);
                    }
                }
            }
            Value::Object(branch) => {
                for (k, v) in branch {
                    schema.entry(k).or_insert(v);
                }
            }
            _ => {}
        },
        Err(rest) if rest.is_empty() => {
            schema.insert("enum".to_owned(), json!([null]));
        }
        Err(rest) => {
            schema.insert(key.to_owned(), Value::Array(rest));
        }
    }
}

/// Tuples (`prefixItems`) become arrays of the common item schema (or of any
/// value when the positions differ), with the length bounds they imply.
pub fn lower_prefix_items(schema: &mut Map<String, Value>) {
    let Some(Value::Array(prefix)) = schema.remove("prefixItems") else {
        return;
    };
    let len = prefix.len();
    let closed = matches!(schema.get("items"), Some(Value::Bool(false)));
    let additional = match schema.remove("items") {
        None | Some(Value::Bool(_)) => None,
        Some(items) => Some(items),
    };
    let first = prefix.first().cloned().unwrap_or_else(|| json!({}));
    let uniform =
        prefix.iter().all(|p| *p == first) && additional.as_ref().is_none_or(|a| *a == first);
    let items = if uniform { first } else { json!({}) };
    schema.insert("items".to_owned(), items);
    schema.entry("minItems").or_insert(json!(len));
    if closed {
        schema.entry("maxItems").or_insert(json!(len));
    }
}

/// `const: v` becomes `enum: [v]`.
pub fn lower_const(schema: &mut Map<String, Value>) {
    if let Some(value) = schema.remove("const") {
        schema.insert("enum".to_owned(), json!([value]));
    }
}

/// A schema's `examples` array becomes a single `example`.
pub fn lower_examples(schema: &mut Map<String, Value>) {
    if !matches!(schema.get("examples"), Some(Value::Array(_))) {
        return;
    }
    if let Some(Value::Array(examples)) = schema.remove("examples")
        && let Some(first) = examples.into_iter().next()
    {
        schema.entry("example").or_insert(first);
    }
}

/// A numeric `exclusiveMinimum: n` becomes `minimum: n` with
/// `exclusiveMinimum: true` (likewise for the maximum). 3.1 lets both
/// bounds stand together; the stricter one is kept.
pub fn lower_exclusive_bound(schema: &mut Map<String, Value>, exclusive: &str, inclusive: &str) {
    let Some(Value::Number(bound)) = schema.get(exclusive).cloned() else {
        return;
    };
    let stricter_inclusive = schema
        .get(inclusive)
        .and_then(Value::as_f64)
        .zip(bound.as_f64())
        .is_some_and(|(kept, exclusive_bound)| match inclusive {
            "minimum" => kept > exclusive_bound,
            _ => kept < exclusive_bound,
        });
    if stricter_inclusive {
        schema.remove(exclusive);
    } else {
        schema.insert(inclusive.to_owned(), Value::Number(bound));
        schema.insert(exclusive.to_owned(), json!(true));
    }
}

/// Drops a `default` whose JSON type contradicts the schema's `type`
/// (typify refuses such schemas).
pub fn drop_mismatched_default(schema: &mut Map<String, Value>) {
    let (Some(default), Some(ty)) = (
        schema.get("default"),
        schema.get("type").and_then(Value::as_str),
    ) else {
        return;
    };
    let nullable = schema.get("nullable") == Some(&json!(true));
    let fits = match default {
        Value::Null => nullable,
        Value::Bool(_) => ty == "boolean",
        Value::Number(n) => ty == "number" || (ty == "integer" && (n.is_i64() || n.is_u64())),
        Value::String(_) => ty == "string",
        Value::Array(_) => ty == "array",
        Value::Object(_) => ty == "object",
    };
    if !fits {
        schema.remove("default");
    }
}

// ---------------------------------------------------------------------------
// Operation rules

fn lower_operations(doc: &mut Value, notes: &mut Vec<String>) {
    let whole = doc.clone();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if !HTTP_METHODS.contains(&method.as_str()) {
                    continue;
                }
                let Some(op) = op.as_object_mut() else {
                    continue;
                };
                let name = op.get("operationId").and_then(Value::as_str).map_or_else(
                    || format!("{} {path}", method.to_uppercase()),
                    str::to_owned,
                );
                if let Some(body) = op.get_mut("requestBody") {
                    inline_reference(body, &whole);
                    keep_one_media_type(body, &format!("{name} request body"), notes);
                }
                if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                    for (status, response) in responses.iter_mut() {
                        inline_reference(response, &whole);
                        keep_one_media_type(response, &format!("{name} response {status}"), notes);
                    }
                    default_as_errors(responses, &name, notes);
                    unify_success_bodies(responses, &name, notes);
                }
            }
        }
    }
}

/// A response or request body given as a `$ref` (to
/// `components/responses`, say) becomes a copy of what it names, so that
/// the rules on bodies see its content. A reference that names nothing,
/// or only further references past a few, is left for validation to
/// report.
pub fn inline_reference(value: &mut Value, doc: &Value) {
    for _ in 0..8 {
        let Some(target) = value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| resolve_ref(doc, r))
        else {
            return;
        };
        *value = target.clone();
    }
}

/// Keeps one media type per body: the first JSON one, else the first.
pub fn keep_one_media_type(body: &mut Value, what: &str, notes: &mut Vec<String>) {
    let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) else {
        return;
    };
    if content.len() <= 1 {
        return;
    }
    let keep = content
        .keys()
        .find(|k| crate::doc::is_json_media_type(k))
        .or_else(|| content.keys().next())
        .cloned();
    if let Some(keep) = keep {
        let dropped: Vec<String> = content.keys().filter(|k| **k != keep).cloned().collect();
        content.retain(|k, _| *k == keep);
        notes.push(format!(
            "{what}: kept {keep}, dropped {}",
            dropped.join(", ")
        ));
    }
}

fn status_class(status: &str) -> Option<u8> {
    status.as_bytes().first().and_then(|b| b.checked_sub(b'0'))
}

fn body_schema(response: &Value) -> Option<&Value> {
    let content = response.get("content")?.as_object()?;
    let (_, media) = content.iter().next()?;
    Some(media.get("schema").unwrap_or(&Value::Null))
}

/// Beside listed successes, a `default` response describes the errors:
/// it becomes `4XX` and `5XX` (where the spec has not given those), so
/// that progenitor does not count its body as one more success type. An
/// answer with a status nothing lists is then unexpected, as without a
/// `default`.
pub fn default_as_errors(responses: &mut Map<String, Value>, op: &str, notes: &mut Vec<String>) {
    if !responses.keys().any(|s| status_class(s) == Some(2)) {
        return;
    }
    let Some(default) = responses.remove("default") else {
        return;
    };
    for range in ["4XX", "5XX"] {
        let given = responses.keys().any(|s| s.eq_ignore_ascii_case(range));
        if !given {
            responses.insert(range.to_owned(), default.clone());
        }
    }
    notes.push(format!(
        "{op}: the `default` response is read as the 4XX and 5XX errors"
    ));
}

/// Success responses that do not share one body type all become raw bytes.
pub fn unify_success_bodies(responses: &mut Map<String, Value>, op: &str, notes: &mut Vec<String>) {
    let successes: Vec<String> = responses
        .keys()
        .filter(|s| status_class(s) == Some(2))
        .cloned()
        .collect();
    let mut kinds: Vec<Option<&Value>> = successes
        .iter()
        .map(|s| body_schema(&responses[s]))
        .collect();
    kinds.dedup();
    if kinds.len() <= 1 {
        return;
    }
    for status in &successes {
        if let Some(response) = responses.get_mut(status).and_then(Value::as_object_mut) {
            response.insert(
                "content".to_owned(),
                json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}),
            );
        }
    }
    notes.push(format!(
        "{op}: success responses {} differ in body type; all are returned as raw bytes",
        successes.join(", ")
    ));
}

fn is_error_status(status: &str) -> bool {
    matches!(status_class(status), Some(4 | 5))
}

/// Every error response's body becomes raw bytes
/// (`application/octet-stream`), whatever the spec says of it, so that
/// progenitor hands over each error with its status, headers and body
/// whatever the body turns out to be (it drops the status of a typed body
/// that fails to decode). The crate reads S2's `ErrorInfo` from those
/// bytes itself. Applied after the API surface is taken, which keeps the
/// spec's error types.
pub fn error_bodies_as_bytes(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| {
            item.iter_mut()
                .filter(|(method, _)| HTTP_METHODS.contains(&method.as_str()))
                .map(|(_, op)| op)
        });
    for op in operations {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        for (_, response) in responses.iter_mut().filter(|(s, _)| is_error_status(s)) {
            if let Some(response) = response.as_object_mut() {
                // A `$ref`'d response is replaced by an inline one.
                response.remove("$ref");
                response.entry("description").or_insert_with(|| json!(""));
                response.insert(
                    "content".to_owned(),
                    json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn lowered(v: Value) -> Value {
        let mut s = schema(v);
        lower_schema(&mut s);
        Value::Object(s)
    }

    #[test]
    fn version_31_becomes_303_and_others_are_refused() {
        let mut doc = json!({"openapi": "3.1.0"});
        lower_version(&mut doc).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        let mut doc = json!({"openapi": "3.0.1"});
        lower_version(&mut doc).unwrap();
        assert_eq!(doc["openapi"], "3.0.1");
        assert!(lower_version(&mut json!({"openapi": "2.0"})).is_err());
        assert!(lower_version(&mut json!({"swagger": "2.0"})).is_err());
    }

    #[test]
    fn nullable_type_lists() {
        assert_eq!(
            lowered(json!({"type": ["string", "null"]})),
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            lowered(json!({"type": ["integer"]})),
            json!({"type": "integer"})
        );
        assert_eq!(
            lowered(json!({"type": ["string", "integer"]})),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
        );
        assert_eq!(
            lowered(json!({"type": "null"})),
            json!({"nullable": true, "enum": [null]})
        );
    }

    #[test]
    fn null_branch_of_a_ref_becomes_nullable_all_of() {
        assert_eq!(
            lowered(json!({
                "description": "d",
                "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/X", "description": "inner"}]
            })),
            json!({"description": "d", "nullable": true, "allOf": [{"$ref": "#/components/schemas/X"}]})
        );
    }

    #[test]
    fn null_branch_of_an_inline_schema_is_merged() {
        assert_eq!(
            lowered(json!({"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]})),
            json!({"nullable": true, "type": "integer", "minimum": 0, "format": "uint64"})
        );
    }

    #[test]
    fn null_branch_among_several_keeps_the_rest() {
        assert_eq!(
            lowered(json!({"oneOf": [{"type": "null"}, {"type": "string"}, {"type": "integer"}]})),
            json!({"nullable": true, "oneOf": [{"type": "string"}, {"type": "integer"}]})
        );
    }

    #[test]
    fn unions_without_null_are_left_alone() {
        let s = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(lowered(s.clone()), s);
    }

    #[test]
    fn uniform_closed_tuple_becomes_bounded_array() {
        assert_eq!(
            lowered(
                json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}], "items": false})
            ),
            json!({"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2})
        );
    }

    #[test]
    fn mixed_tuple_becomes_array_of_any() {
        assert_eq!(
            lowered(
                json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]})
            ),
            json!({"type": "array", "items": {}, "minItems": 2})
        );
    }

    #[test]
    fn const_examples_and_exclusive_bounds() {
        assert_eq!(lowered(json!({"const": "x"})), json!({"enum": ["x"]}));
        assert_eq!(
            lowered(json!({"type": "string", "examples": ["a", "b"]})),
            json!({"type": "string", "example": "a"})
        );
        assert_eq!(
            lowered(json!({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10})),
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true, "format": "uint64"})
        );
        // 3.0 style booleans are untouched.
        let s = json!({"type": "integer", "minimum": -1, "exclusiveMinimum": true});
        assert_eq!(lowered(s.clone()), s);
        // Both kinds of bound: the stricter stands, whichever it is.
        let both = |min, max| {
            lowered(
                json!({"type": "number", "minimum": min, "exclusiveMinimum": 0,
                "maximum": max, "exclusiveMaximum": 10}),
            )
        };
        assert_eq!(
            both(5, 7),
            json!({"type": "number", "minimum": 5, "maximum": 7})
        );
        assert_eq!(
            both(-5, 70),
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true})
        );
        assert_eq!(
            both(0, 10),
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true})
        );
    }

    #[test]
    fn mismatched_defaults_are_dropped_and_matching_ones_kept() {
        assert_eq!(
            lowered(json!({"type": "array", "items": {"type": "string"}, "default": "[]"})),
            json!({"type": "array", "items": {"type": "string"}})
        );
        for ok in [
            json!({"type": "array", "default": []}),
            json!({"type": "string", "default": "x"}),
            json!({"type": "integer", "default": 3}),
            json!({"type": "number", "default": 1.5}),
            json!({"type": "boolean", "default": false}),
            json!({"type": "string", "nullable": true, "default": null}),
        ] {
            assert_eq!(lowered(ok.clone()), ok);
        }
        assert_eq!(
            lowered(json!({"type": "integer", "default": 1.5})),
            json!({"type": "integer"})
        );
    }

    #[test]
    fn walker_reaches_nested_schemas_and_replaces_boolean_schemas() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "paths": {"/a/{id}": {
                "parameters": [{"name": "id", "in": "path", "schema": {"type": ["string", "null"]}}],
                "get": {"operationId": "a", "responses": {"200": {"description": "", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "x": {"type": "array", "items": {"const": 1}},
                        "y": true,
                        "z": false
                    }, "additionalProperties": false}}
                }}}}
            }},
            "components": {"schemas": {"S": {"allOf": [{"type": ["integer", "null"]}]}}}
        });
        lower(&mut doc).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(
            doc["paths"]["/a/{id}"]["parameters"][0]["schema"],
            json!({"type": "string", "nullable": true})
        );
        let props = &doc["paths"]["/a/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert_eq!(props["properties"]["x"]["items"], json!({"enum": [1]}));
        assert_eq!(props["properties"]["y"], json!({}));
        assert_eq!(props["properties"]["z"], json!({"not": {}}));
        assert_eq!(props["additionalProperties"], json!(false));
        assert_eq!(
            doc["components"]["schemas"]["S"]["allOf"][0],
            json!({"type": "integer", "nullable": true})
        );
    }

    fn op_doc(responses: Value) -> Value {
        json!({"openapi": "3.1.0", "paths": {"/x": {"get": {"operationId": "read_things", "responses": responses}}}})
    }

    #[test]
    fn several_media_types_keep_the_json_one() {
        let mut doc = op_doc(json!({"200": {"description": "", "content": {
            "text/event-stream": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "integer"}}
        }}}));
        let notes = lower(&mut doc).unwrap();
        let content = &doc["paths"]["/x"]["get"]["responses"]["200"]["content"];
        assert_eq!(
            content,
            &json!({"application/json": {"schema": {"type": "integer"}}})
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("dropped text/event-stream"), "{notes:?}");
    }

    #[test]
    fn non_negative_integers_become_unsigned() {
        let lowered = |schema: Value| {
            let Value::Object(mut schema) = schema else {
                unreachable!()
            };
            lower_schema(&mut schema);
            schema.get("format").cloned()
        };
        let cases = [
            (
                json!({"type": "integer", "format": "int64", "minimum": 0}),
                Some("uint64"),
            ),
            (json!({"type": "integer", "minimum": 1}), Some("uint64")),
            (
                json!({"type": "integer", "format": "int32", "minimum": 0}),
                Some("uint32"),
            ),
            (
                json!({"type": "integer", "format": "int16", "exclusiveMinimum": 0}),
                Some("uint16"),
            ),
            (
                json!({"type": "integer", "format": "int64", "minimum": -1}),
                Some("int64"),
            ),
            (json!({"type": "integer", "format": "int64"}), Some("int64")),
            (
                json!({"type": "integer", "format": "uint8", "minimum": 0}),
                Some("uint8"),
            ),
            (json!({"type": "number", "minimum": 0}), None),
        ];
        for (schema, format) in cases {
            assert_eq!(
                lowered(schema.clone()),
                format.map(|f| json!(f)),
                "{schema}"
            );
        }
    }

    #[test]
    fn every_error_body_becomes_bytes() {
        let info = json!({"$ref": "#/components/schemas/ErrorInfo"});
        let tail = json!({"$ref": "#/components/schemas/Tail"});
        let ok = json!({"description": "", "content": {"application/json": {"schema": info}}});
        let mut doc = op_doc(json!({
            "200": ok,
            "400": {"description": "", "content": {"application/json": {"schema": info}}},
            "416": {"description": "", "content": {"application/json": {"schema": tail}}},
            "404": {"description": ""},
            "5XX": {"$ref": "#/components/responses/Oops"}
        }));
        error_bodies_as_bytes(&mut doc);
        let responses = &doc["paths"]["/x"]["get"]["responses"];
        let bytes =
            json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}});
        for status in ["400", "416", "404", "5XX"] {
            assert_eq!(responses[status]["content"], bytes, "{status}");
            assert!(responses[status].get("$ref").is_none(), "{status}");
        }
        assert_eq!(responses["200"], ok);
    }

    #[test]
    fn mixed_success_bodies_become_raw_bytes() {
        let mut doc = op_doc(json!({
            "200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}},
            "201": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}},
            "204": {"description": ""}
        }));
        let notes = lower(&mut doc).unwrap();
        for status in ["200", "201", "204"] {
            assert_eq!(
                doc["paths"]["/x"]["get"]["responses"][status]["content"],
                json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}})
            );
        }
        assert_eq!(notes.len(), 1, "{notes:?}");
        // One shared body type across successes is left alone.
        let same = json!({
            "200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}},
            "201": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}
        });
        let mut doc = op_doc(same.clone());
        assert!(lower(&mut doc).unwrap().is_empty());
        assert_eq!(doc["paths"]["/x"]["get"]["responses"], same);
    }

    #[test]
    fn a_default_beside_successes_describes_the_errors() {
        let info = json!({"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorInfo"}}}});
        let ok = json!({"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}});
        let given_5xx = json!({"description": "server"});
        let mut doc = op_doc(json!({"200": ok, "default": info, "5XX": given_5xx}));
        let notes = lower(&mut doc).unwrap();
        let responses = &doc["paths"]["/x"]["get"]["responses"];
        assert_eq!(
            responses,
            &json!({"200": ok, "4XX": info, "5XX": given_5xx}),
            "{notes:?}"
        );
        assert_eq!(notes.len(), 1);
        // Alone, `default` is every answer, successes included: kept.
        let alone = json!({"default": ok});
        let mut doc = op_doc(alone.clone());
        assert!(lower(&mut doc).unwrap().is_empty());
        assert_eq!(doc["paths"]["/x"]["get"]["responses"], alone);
    }

    #[test]
    fn bodies_given_by_reference_get_the_same_rules() {
        // A `$ref`'d JSON success beside an empty 204, and a `$ref`'d
        // request body with two media types, as if written inline.
        let mut doc = op_doc(json!({
            "200": {"$ref": "#/components/responses/Things"},
            "204": {"description": ""}
        }));
        doc["paths"]["/x"]["get"]["requestBody"] =
            json!({"$ref": "#/components/requestBodies/New"});
        doc["components"] = json!({
            "responses": {"Things": {"$ref": "#/components/responses/Listed"},
                "Listed": {"description": "", "content": {"application/json": {"schema": {"type": "integer"}}}}},
            "requestBodies": {"New": {"content": {
                "application/x-protobuf": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "integer"}}
            }}}
        });
        let notes = lower(&mut doc).unwrap();
        let op = &doc["paths"]["/x"]["get"];
        assert_eq!(
            op["responses"]["200"]["content"],
            json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}})
        );
        assert_eq!(
            op["requestBody"]["content"],
            json!({"application/json": {"schema": {"type": "integer"}}})
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        // A reference that names nothing is left for validation.
        let mut doc = op_doc(json!({"200": {"$ref": "#/components/responses/Nowhere"}}));
        lower(&mut doc).unwrap();
        assert_eq!(
            doc["paths"]["/x"]["get"]["responses"]["200"],
            json!({"$ref": "#/components/responses/Nowhere"})
        );
    }
}
