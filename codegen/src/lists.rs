//! The operations with S2's cursor shape, and the Rust that makes each a
//! stream (`s2_openapi::CursorList`).
//!
//! The shape: query parameters `start_after` and `limit`; a JSON success
//! body, a named object schema with a required boolean `has_more` and one
//! required array of a named item schema; an item with a required `name`
//! (or else `id`), the cursor the next page starts after.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use crate::doc::{HTTP_METHODS, pascal, resolve, schema_name};

/// One operation with the cursor shape.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CursorOperation {
    /// `operationId`.
    pub id: String,
    /// The schema of its page (the success body).
    pub page: String,
    /// The page's array property.
    pub items: String,
    /// The schema of an item.
    pub item: String,
    /// The item's property that the next page starts after.
    pub cursor: String,
}

/// Every operation of `doc` with the cursor shape, sorted by id.
pub fn of(doc: &Value) -> Vec<CursorOperation> {
    let mut found = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for item in paths.values() {
        for method in HTTP_METHODS {
            if let Some(op) = item.get(method)
                && let Some(cursor_op) = cursor_operation(doc, item, op)
            {
                found.push(cursor_op);
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn cursor_operation(doc: &Value, item: &Value, op: &Value) -> Option<CursorOperation> {
    let id = op.get("operationId")?.as_str()?;
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
    Some(CursorOperation {
        id: id.to_owned(),
        page: page.to_owned(),
        items: items.clone(),
        item: item.to_owned(),
        cursor: cursor.to_owned(),
    })
}

/// The named schemas of `doc` whose type progenitor generated (`types`),
/// each with its Rust name.
pub(crate) fn generated_schemas<'a>(
    doc: &'a Value,
    types: &'a BTreeSet<String>,
) -> impl Iterator<Item = (String, &'a Value)> + 'a {
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    schemas.into_iter().flatten().filter_map(|(name, schema)| {
        let rust = pascal(name).filter(|n| types.contains(n))?;
        Some((rust, schema))
    })
}

/// A property name that is the same Rust field name: already snake_case,
/// and an identifier (not a keyword).
fn field(name: &str) -> Option<&str> {
    use heck::ToSnakeCase as _;
    (name == name.to_snake_case() && syn::parse_str::<syn::Ident>(name).is_ok()).then_some(name)
}

/// The `CursorList` impls for `operations`, for `include!` in the crate's
/// `list` module; `types` are the names of the generated types. An
/// operation whose Rust names cannot be derived with certainty is left out,
/// with a note.
pub fn render(operations: &[CursorOperation], types: &BTreeSet<String>) -> (String, Vec<String>) {
    let mut code = String::new();
    let mut notes = Vec::new();
    for op in operations {
        let names = (
            pascal(&op.id),
            pascal(&op.page).filter(|n| types.contains(n)),
            pascal(&op.item).filter(|n| types.contains(n)),
            field(&op.items),
            field(&op.cursor),
        );
        let (Some(builder), Some(page), Some(item), Some(items), Some(cursor)) = names else {
            notes.push(format!(
                "{}: a cursor list, left without a stream (its Rust names are not plain)",
                op.id
            ));
            continue;
        };
        let _ = write!(
            code,
            "/// `{id}`, page by page after each page's last `{cursor}`.\n\
             impl<'a> crate::list::CursorList<'a> for crate::generated::builder::{builder}<'a> {{\n\
             \x20   type Page = crate::generated::types::{page};\n\
             \x20   type Item = crate::generated::types::{item};\n\
             \x20   fn after(self, cursor: String) -> Self {{ self.start_after(cursor) }}\n\
             \x20   async fn fetch(self) -> Result<Self::Page, crate::error::Error> {{\n\
             \x20       Ok(self.send().await?.into_inner())\n\
             \x20   }}\n\
             \x20   fn items_of(page: &Self::Page) -> &[Self::Item] {{ &page.{items} }}\n\
             \x20   fn into_items(page: Self::Page) -> Vec<Self::Item> {{ page.{items} }}\n\
             \x20   fn has_more(page: &Self::Page) -> bool {{ page.has_more }}\n\
             \x20   fn cursor(item: &Self::Item) -> String {{ String::from(item.{cursor}.clone()) }}\n\
             }}\n",
            id = op.id,
        );
    }
    (code, notes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> Value {
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
    fn finds_the_cursor_shape() {
        let ops = of(&doc());
        assert_eq!(
            ops,
            [CursorOperation {
                id: "list_things".to_owned(),
                page: "ListThingsResponse".to_owned(),
                items: "things".to_owned(),
                item: "ThingInfo".to_owned(),
                // `name` is not required: the cursor is the id.
                cursor: "id".to_owned(),
            }]
        );
        let types = ["ListThingsResponse", "ThingInfo"]
            .map(str::to_owned)
            .into();
        let (code, notes) = render(&ops, &types);
        assert!(notes.is_empty(), "{notes:?}");
        assert!(
            code.contains("for crate::generated::builder::ListThings<'a>"),
            "{code}"
        );
        assert!(code.contains("&page.things"), "{code}");
        assert!(code.contains("item.id.clone()"), "{code}");
        // An unknown type name is a note, not a guess.
        let (code, notes) = render(&ops, &BTreeSet::new());
        assert!(code.is_empty() && notes.len() == 1, "{code} {notes:?}");
    }

    #[test]
    fn other_shapes_are_not_lists() {
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
            let mut doc = doc();
            change(&mut doc);
            assert!(of(&doc).is_empty(), "{why}");
        }
    }

    #[test]
    fn field_names_as_progenitor_makes_them() {
        assert_eq!(field("has_more"), Some("has_more"));
        for not_a_field in ["type", "as", "in", "async", "hasMore", "a-b"] {
            assert_eq!(field(not_a_field), None, "{not_a_field}");
        }
    }
}
