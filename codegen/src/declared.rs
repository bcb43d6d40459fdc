//! The error bodies the spec declares besides S2's `ErrorInfo` (an
//! append's `412 AppendConditionFailed`, a read's `416 TailResponse`), as
//! one enum, so that a caller matches a typed value instead of decoding
//! the body by hand. Generated from each operation's error responses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::doc::{HTTP_METHODS, pascal, resolve, schema_name};

/// S2's error body, which the crate's `ApiError` reads itself.
const ERROR_INFO: &str = "ErrorInfo";

/// Each error status (400 to 599) with the schemas declared for it, by
/// Rust type name, among the generated `types`.
pub fn of(doc: &Value, types: &BTreeSet<String>) -> BTreeMap<u16, BTreeSet<String>> {
    let mut declared: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for item in paths.into_iter().flat_map(|paths| paths.values()) {
        let Some(item) = item.as_object() else {
            continue;
        };
        let operations = item
            .iter()
            .filter(|(method, _)| HTTP_METHODS.contains(&method.as_str()));
        for (_, op) in operations {
            let responses = op.get("responses").and_then(Value::as_object);
            for (status, response) in responses.into_iter().flatten() {
                let Some(status) = status
                    .parse::<u16>()
                    .ok()
                    .filter(|s| (400..600).contains(s))
                else {
                    continue;
                };
                let response = resolve(doc, response);
                let schema = response.pointer("/content/application~1json/schema");
                let Some(name) = schema.and_then(schema_name).filter(|n| *n != ERROR_INFO) else {
                    continue;
                };
                if let Some(rust) = pascal(name).filter(|n| types.contains(n)) {
                    declared.entry(status).or_default().insert(rust);
                }
            }
        }
    }
    declared
}

/// The enum and its reader, for the `generated` module.
pub fn render(declared: &BTreeMap<u16, BTreeSet<String>>) -> String {
    let names: BTreeSet<&String> = declared.values().flatten().collect();
    let mut code = String::from(
        "/// An error body the spec declares for an error status, other than S2's\n\
         /// `ErrorInfo`: [`ApiError::declared`](crate::ApiError::declared) reads it.\n\
         #[derive(Clone, Debug, PartialEq)]\n\
         #[non_exhaustive]\n\
         pub enum DeclaredError {\n",
    );
    for name in &names {
        let _ = writeln!(code, "    /// `{name}`.\n    {name}(types::{name}),");
    }
    code.push_str(
        "}\n\nimpl DeclaredError {\n    \
         /// The body the spec declares for `status`, when `body` is one.\n    \
         #[allow(unused_variables)]\n    \
         pub(crate) fn read(status: u16, body: &::serde_json::Value) -> Option<Self> {\n        \
         match status {\n",
    );
    for (status, names) in declared {
        let _ = writeln!(code, "            {status} => None");
        for name in names {
            let _ = writeln!(
                code,
                "                .or_else(|| <types::{name} as ::serde::Deserialize>::deserialize(body).ok().map(Self::{name}))"
            );
        }
        code.push_str("            ,\n");
    }
    code.push_str("            _ => None,\n        }\n    }\n}\n");
    code
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn declared_error_bodies_by_status_without_error_info() {
        let doc = json!({
            "paths": {"/streams/{s}/records": {
                "post": {"responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/AppendAck"}}}},
                    "400": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorInfo"}}}},
                    "412": {"$ref": "#/components/responses/Condition"},
                }},
                "get": {"responses": {
                    "416": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/TailResponse"}}}},
                    "default": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Other"}}}},
                }},
            }},
            "components": {"responses": {"Condition": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/AppendConditionFailed"}}}}}},
        });
        let types: BTreeSet<String> = [
            "AppendAck",
            "ErrorInfo",
            "AppendConditionFailed",
            "TailResponse",
            "Other",
        ]
        .map(String::from)
        .into();
        let declared = of(&doc, &types);
        assert_eq!(
            declared,
            BTreeMap::from([
                (412, BTreeSet::from(["AppendConditionFailed".to_owned()])),
                (416, BTreeSet::from(["TailResponse".to_owned()])),
            ])
        );
        let code = render(&declared);
        assert!(
            code.contains("AppendConditionFailed(types::AppendConditionFailed)"),
            "{code}"
        );
        assert!(code.contains("412 => None"), "{code}");
        // Nothing declared: an enum with no variant, and a reader of none.
        let empty = render(&BTreeMap::new());
        assert!(empty.contains("pub enum DeclaredError {\n}"), "{empty}");
    }
}
