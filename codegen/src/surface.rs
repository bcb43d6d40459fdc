//! The API surface: a short, human-readable summary of what a spec
//! generates (operations with their parameters and response types, and
//! every schema with its fields and constraints), committed as
//! `openapi/api-surface.txt` so that a spec update shows up in review as a
//! readable diff, and compared across specs to report what changed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::doc::{HTTP_METHODS, resolve};

/// The surface of one (lowered) spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Surface {
    header: String,
    /// Operation id -> its block.
    pub operations: BTreeMap<String, String>,
    /// Schema name -> its block.
    pub types: BTreeMap<String, String>,
}

/// How a change affects users of the generated code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impact {
    /// New operation or type: nothing breaks.
    Addition,
    /// Something users may rely on was removed or changed.
    Breaking,
}

/// One change between two surfaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Whether it breaks users.
    pub impact: Impact,
    /// One line: what changed.
    pub summary: String,
}

impl Surface {
    /// Summarizes a lowered OpenAPI document.
    pub fn of(doc: &Value) -> Self {
        let text = |p: &str| {
            doc.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        let header = format!(
            "spec: {} {}\nserver: {}\n",
            text("/info/title"),
            text("/info/version"),
            text("/servers/0/url")
        );
        let mut operations = BTreeMap::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                for method in HTTP_METHODS {
                    let Some(op) = item.get(method) else { continue };
                    let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
                    let mut block = format!("operation {id}: {} {path}\n", method.to_uppercase());
                    let params = item
                        .get("parameters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .chain(
                            op.get("parameters")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten(),
                        );
                    for param in params {
                        let param = resolve(doc, param);
                        let _ = writeln!(
                            block,
                            "  param {} ({}{}): {}",
                            param.get("name").and_then(Value::as_str).unwrap_or("?"),
                            param.get("in").and_then(Value::as_str).unwrap_or("?"),
                            if param.get("required") == Some(&Value::Bool(true)) {
                                ", required"
                            } else {
                                ""
                            },
                            param
                                .get("schema")
                                .map_or_else(|| "?".to_owned(), schema_summary)
                        );
                    }
                    if let Some(body) = op.get("requestBody") {
                        let body = resolve(doc, body);
                        let required = if body.get("required") == Some(&Value::Bool(true)) {
                            " (required)"
                        } else {
                            ""
                        };
                        let _ = writeln!(block, "  body{required}: {}", content_summary(body));
                    }
                    // Group statuses with the same response type.
                    let mut by_type: BTreeMap<String, Vec<&str>> = BTreeMap::new();
                    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                        for (status, response) in responses {
                            by_type
                                .entry(content_summary(resolve(doc, response)))
                                .or_default()
                                .push(status);
                        }
                    }
                    let mut lines: Vec<String> = by_type
                        .into_iter()
                        .map(|(ty, statuses)| format!("  {}: {ty}", statuses.join(" ")))
                        .collect();
                    lines.sort();
                    for line in lines {
                        block.push_str(&line);
                        block.push('\n');
                    }
                    operations.insert(id.to_owned(), block);
                }
            }
        }
        let mut types = BTreeMap::new();
        if let Some(schemas) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, schema) in schemas {
                types.insert(name.clone(), type_block(name, schema));
            }
        }
        Self {
            header,
            operations,
            types,
        }
    }

    /// The text committed as `openapi/api-surface.txt`.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# API surface generated from the vendored spec by s2-openapi-codegen.\n\
             # Regenerate with `cargo run -p s2-openapi-codegen -- update <spec>`; \
             CI checks it with `-- check`.\n",
        );
        out.push_str(&self.header);
        for block in self.operations.values() {
            out.push('\n');
            out.push_str(block);
        }
        for block in self.types.values() {
            out.push('\n');
            out.push_str(block);
        }
        out
    }

    /// What changed from `old` to `self`, additions last.
    pub fn changes_since(&self, old: &Surface) -> Vec<Change> {
        let mut changes = Vec::new();
        diff_maps("operation", &old.operations, &self.operations, &mut changes);
        diff_maps("type", &old.types, &self.types, &mut changes);
        if old.header != self.header {
            changes.push(Change {
                impact: Impact::Breaking,
                summary: format!(
                    "spec header changed: {} -> {}",
                    old.header.replace('\n', "; "),
                    self.header.replace('\n', "; ")
                ),
            });
        }
        changes.sort_by_key(|c| (c.impact == Impact::Addition, c.summary.clone()));
        changes
    }
}

fn diff_maps(
    what: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    changes: &mut Vec<Change>,
) {
    for (name, block) in old {
        match new.get(name) {
            None => changes.push(Change {
                impact: Impact::Breaking,
                summary: format!("{what} {name} removed"),
            }),
            Some(new_block) if new_block != block => changes.push(Change {
                impact: Impact::Breaking,
                summary: format!("{what} {name} changed:\n{}", line_diff(block, new_block)),
            }),
            Some(_) => {}
        }
    }
    for name in new.keys().filter(|n| !old.contains_key(*n)) {
        changes.push(Change {
            impact: Impact::Addition,
            summary: format!("{what} {name} added"),
        });
    }
}

/// Lines removed (`-`) and added (`+`), indented, for a change summary.
fn line_diff(old: &str, new: &str) -> String {
    let mut out = String::new();
    for line in old.lines().filter(|l| !new.lines().any(|n| n == *l)) {
        let _ = writeln!(out, "    - {}", line.trim());
    }
    for line in new.lines().filter(|l| !old.lines().any(|o| o == *l)) {
        let _ = writeln!(out, "    + {}", line.trim());
    }
    out.trim_end().to_owned()
}

fn content_summary(item: &Value) -> String {
    match item.get("content").and_then(Value::as_object) {
        Some(content) if !content.is_empty() => content
            .iter()
            .map(|(media, m)| {
                let schema = m
                    .get("schema")
                    .map_or_else(|| "?".to_owned(), schema_summary);
                format!("{schema} ({media})")
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => "no body".to_owned(),
    }
}

fn type_block(name: &str, schema: &Value) -> String {
    let mut block = format!("type {name} = {}\n", schema_summary_top(schema));
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let required = required_fields(schema);
        for (field, field_schema) in props {
            let _ = writeln!(
                block,
                "  {field}{}: {}",
                if required.contains(&field.as_str()) {
                    ""
                } else {
                    "?"
                },
                schema_summary(field_schema)
            );
        }
    }
    block
}

/// The names an object schema requires.
fn required_fields(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The top line of a type: objects list their fields below.
fn schema_summary_top(schema: &Value) -> String {
    if schema.get("properties").is_some() {
        let mut s = "object".to_owned();
        if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            s.push_str(&format!(" + {{string: {}}}", schema_summary(extra)));
        }
        if schema.get("nullable") == Some(&Value::Bool(true)) {
            s.push_str(" | null");
        }
        s
    } else {
        schema_summary(schema)
    }
}

/// A one-line summary of a schema: names for references, constraints in
/// parentheses.
pub fn schema_summary(schema: &Value) -> String {
    let mut s = if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        r.rsplit('/').next().unwrap_or(r).to_owned()
    } else if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(" | ")
    } else if let Some(branches) = ["allOf", "oneOf", "anyOf"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_array).map(|b| (*k, b)))
    {
        let sep = if branches.0 == "allOf" { " & " } else { " | " };
        branches
            .1
            .iter()
            .map(schema_summary)
            .collect::<Vec<_>>()
            .join(sep)
    } else {
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => format!(
                "[{}]",
                schema
                    .get("items")
                    .map_or_else(|| "any".to_owned(), schema_summary)
            ),
            Some("object") if schema.get("properties").is_some() => {
                let props = schema.get("properties").and_then(Value::as_object);
                let required = required_fields(schema);
                let fields: Vec<String> = props
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        let optional = if required.contains(&k.as_str()) {
                            ""
                        } else {
                            "?"
                        };
                        format!("{k}{optional}: {}", schema_summary(v))
                    })
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
            Some("object") => match schema.get("additionalProperties") {
                Some(extra) if extra.is_object() => {
                    format!("{{string: {}}}", schema_summary(extra))
                }
                _ => "object".to_owned(),
            },
            Some(ty) => ty.to_owned(),
            None => "any".to_owned(),
        }
    };
    let constraints: Vec<String> = [
        "format",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "exclusiveMinimum",
        "maximum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "default",
    ]
    .iter()
    .filter_map(|k| schema.get(*k).map(|v| format!("{k} {v}")))
    .collect();
    if !constraints.is_empty() {
        s.push_str(&format!(" ({})", constraints.join(", ")));
    }
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        s.push_str(" | null");
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(max: u64, extra_op: bool) -> Value {
        let mut d = json!({
            "openapi": "3.0.3",
            "info": {"title": "T", "version": "1"},
            "servers": [{"url": "https://x/v1"}],
            "paths": {"/a/{id}": {"delete": {
                "operationId": "revoke",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/Id"}}],
                "responses": {
                    "204": {"description": ""},
                    "400": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Err"}}}},
                    "403": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Err"}}}}
                }
            }}},
            "components": {"schemas": {
                "Id": {"type": "string", "minLength": 1, "maxLength": max},
                "Err": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}, "message": {"type": "string", "nullable": true}}}
            }}
        });
        if extra_op {
            d["paths"]["/b"] = json!({"get": {"operationId": "list_b", "responses": {"200": {"description": ""}}}});
        }
        d
    }

    #[test]
    fn renders_operations_and_types_readably() {
        let text = Surface::of(&doc(96, false)).render();
        for line in [
            "operation revoke: DELETE /a/{id}",
            "  param id (path, required): Id",
            "  204: no body",
            "  400 403: Err (application/json)",
            "type Id = string (minLength 1, maxLength 96)",
            "type Err = object",
            "  code: string",
            "  message?: string | null",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn what_users_rely_on_is_shown() {
        // Each is a change a user of the generated code can break on.
        let mut d = doc(96, false);
        d["paths"]["/a/{id}"]["delete"]["requestBody"] = json!({"required": true, "content":
            {"application/json": {"schema": {"type": "object", "required": ["x"],
                "properties": {"x": {"type": "string"}, "y": {"type": "string"}}}}}});
        d["components"]["schemas"]["Count"] =
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "multipleOf": 2});
        let text = Surface::of(&d).render();
        for line in [
            "  body (required): {x: string, y?: string} (application/json)",
            "type Count = integer (minimum 0, exclusiveMinimum true, multipleOf 2)",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn changes_are_classified() {
        let old = Surface::of(&doc(96, false));
        assert!(old.changes_since(&old).is_empty());
        let new = Surface::of(&doc(64, true));
        let changes = new.changes_since(&old);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].impact, Impact::Breaking);
        assert!(
            changes[0].summary.starts_with("type Id changed"),
            "{}",
            changes[0].summary
        );
        assert!(
            changes[0]
                .summary
                .contains("- type Id = string (minLength 1, maxLength 96)")
        );
        assert!(
            changes[0]
                .summary
                .contains("+ type Id = string (minLength 1, maxLength 64)")
        );
        assert_eq!(
            changes[1],
            Change {
                impact: Impact::Addition,
                summary: "operation list_b added".into()
            }
        );
        let removed = old.changes_since(&new);
        assert!(
            removed
                .iter()
                .any(|c| c.impact == Impact::Breaking && c.summary == "operation list_b removed")
        );
    }
}
