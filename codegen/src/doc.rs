//! Reading an OpenAPI document as JSON: the few helpers every other module
//! shares. It uses nothing else of the crate, so every module may use it.

use serde_json::Value;

/// The operation keys of a path item.
pub const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Where a `$ref` to a component schema points.
pub const SCHEMA_PREFIX: &str = "#/components/schemas/";

/// What a local reference (`#/a/b`) points at; other references are not
/// supported.
pub fn resolve_ref<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// `value`, or what its `$ref` points to.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve_ref(doc, r).unwrap_or(value),
        None => value,
    }
}

/// The name of the component schema `schema` refers to, when it is a
/// `$ref` to one.
pub fn schema_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix(SCHEMA_PREFIX)
}

/// progenitor's and typify's Rust name for an operation id or a schema
/// name (both apply heck's PascalCase), for a name of ASCII letters,
/// digits and underscores that begins with a letter; `None` for any other,
/// which is left out rather than guessed.
pub fn pascal(name: &str) -> Option<String> {
    use heck::ToPascalCase as _;
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then(|| name.to_pascal_case())
}

/// Whether a media type is JSON: `application/json` or a `+json` type,
/// parameters aside.
pub fn is_json_media_type(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rust_names_as_progenitor_makes_them() {
        assert_eq!(pascal("list_streams").as_deref(), Some("ListStreams"));
        assert_eq!(pascal("listHTTP").as_deref(), Some("ListHttp"));
        assert_eq!(
            pascal("ListStreamsResponse").as_deref(),
            Some("ListStreamsResponse")
        );
        assert_eq!(pascal("u64").as_deref(), Some("U64"));
        assert_eq!(pascal("list-streams"), None);
        assert_eq!(pascal("9lives"), None);
    }

    #[test]
    fn references_resolve_locally() {
        let doc = json!({"components": {"schemas": {"A": {"type": "string"}}}});
        let a = json!({"$ref": "#/components/schemas/A"});
        assert_eq!(resolve(&doc, &a), &json!({"type": "string"}));
        assert_eq!(schema_name(&a), Some("A"));
        // What names nothing, or lies elsewhere, is left as it is.
        let elsewhere = json!({"$ref": "other.yaml#/A"});
        assert_eq!(resolve(&doc, &elsewhere), &elsewhere);
        assert_eq!(resolve_ref(&doc, "#/components/schemas/B"), None);
        assert_eq!(
            schema_name(&json!({"$ref": "#/components/responses/A"})),
            None
        );
    }

    #[test]
    fn json_media_types() {
        for json in [
            "application/json",
            "application/problem+json",
            "application/json; charset=utf-8",
        ] {
            assert!(is_json_media_type(json), "{json}");
        }
        for other in [
            "text/event-stream",
            "application/octet-stream",
            "application/jsonl",
        ] {
            assert!(!is_json_media_type(other), "{other}");
        }
    }
}
