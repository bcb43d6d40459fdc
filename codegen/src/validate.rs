//! Consistency checks that progenitor would otherwise turn into panics or
//! confusing type errors.

use serde_json::Value;

use crate::CodegenError;
use crate::doc::{HTTP_METHODS, resolve_ref as resolve};

/// Checks that every local `$ref` points at a schema (not at nothing, and
/// not only at more `$ref`s leading back to itself), that every schema
/// `type` is a JSON Schema type, that every operation id is a plain name,
/// and that every path template variable has a matching path parameter.
pub fn validate(doc: &Value) -> Result<(), CodegenError> {
    check_nodes(doc, doc, &mut String::new())?;
    check_operation_ids(doc)?;
    check_path_parameters(doc)
}

/// The types JSON Schema defines (`null` only in OpenAPI 3.1).
const SCHEMA_TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// Keys whose values are data or not schemas, so a `type` in them is not a
/// schema type: examples, defaults, enumerations, and security schemes
/// (`type: http`).
fn holds_no_schema_types(key: &str) -> bool {
    matches!(
        key,
        "example" | "examples" | "default" | "enum" | "const" | "securitySchemes"
    ) || key.starts_with("x-")
}

fn check_nodes(doc: &Value, node: &Value, at: &mut String) -> Result<(), CodegenError> {
    let here = |at: &str| {
        if at.is_empty() {
            "/".to_owned()
        } else {
            at.to_owned()
        }
    };
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                check_ref(doc, reference, &here(at))?;
            }
            match map.get("type") {
                Some(Value::String(ty)) if !SCHEMA_TYPES.contains(&ty.as_str()) => {
                    return Err(unknown_type(ty, &here(at)));
                }
                Some(Value::Array(types)) => {
                    for ty in types {
                        if !ty.as_str().is_some_and(|ty| SCHEMA_TYPES.contains(&ty)) {
                            return Err(unknown_type(&ty.to_string(), &here(at)));
                        }
                    }
                }
                _ => {}
            }
            for (key, child) in map {
                if holds_no_schema_types(key) {
                    continue;
                }
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                check_nodes(doc, child, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                check_nodes(doc, child, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn unknown_type(ty: &str, at: &str) -> CodegenError {
    CodegenError::Invalid(format!(
        "`type: {ty}` at {at} is not a JSON Schema type (one of {})",
        SCHEMA_TYPES.join(", ")
    ))
}

/// Follows `reference` through targets that are themselves `$ref`s: it
/// must end at something that is not a reference.
fn check_ref(doc: &Value, reference: &str, at: &str) -> Result<(), CodegenError> {
    let mut chain = vec![reference];
    let mut next = reference;
    loop {
        let Some(target) = resolve(doc, next) else {
            return Err(CodegenError::Invalid(format!(
                "`$ref: {next}` at {at} points at nothing"
            )));
        };
        let Some(Value::String(reference)) = target.get("$ref") else {
            return Ok(());
        };
        if chain.contains(&reference.as_str()) {
            chain.push(reference);
            return Err(CodegenError::Invalid(format!(
                "`$ref` at {at} only refers to itself ({}): it never reaches a schema",
                chain.join(" -> ")
            )));
        }
        chain.push(reference);
        next = reference;
    }
}

/// Whether an operation id is a plain name: ASCII letters, digits, `_`,
/// `-` and `.`. Ids reach Rust code and cargo's build-script protocol
/// (`cfg(s2_operation = "...")`), where a quote or a line break would
/// carry something else.
pub fn is_plain_name(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn check_operation_ids(doc: &Value) -> Result<(), CodegenError> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Ok(());
    };
    for (path, item) in paths {
        for method in HTTP_METHODS {
            let Some(id) = item.get(method).and_then(|op| op.get("operationId")) else {
                continue;
            };
            if !id.as_str().is_some_and(is_plain_name) {
                return Err(CodegenError::Invalid(format!(
                    "{} {path:?}: operationId {id} is not a plain name \
                     (ASCII letters, digits, `_`, `-`, `.`)",
                    method.to_uppercase()
                )));
            }
        }
    }
    Ok(())
}

/// The names of `{...}` variables in a path template.
pub fn template_variables(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

fn check_path_parameters(doc: &Value) -> Result<(), CodegenError> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Err(CodegenError::Invalid(
            "the document has no `paths`".to_owned(),
        ));
    };
    for (path, item) in paths {
        let shared = path_params(doc, item.get("parameters"));
        for method in HTTP_METHODS {
            let Some(op) = item.get(method) else { continue };
            let mut names = shared.clone();
            names.extend(path_params(doc, op.get("parameters")));
            for var in template_variables(path) {
                if !names.iter().any(|n| n == var) {
                    return Err(CodegenError::Invalid(format!(
                        "{} {path}: path variable `{{{var}}}` has no matching `in: path` parameter",
                        method.to_uppercase()
                    )));
                }
            }
        }
    }
    Ok(())
}

fn path_params(doc: &Value, params: Option<&Value>) -> Vec<String> {
    params
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| match p.get("$ref").and_then(Value::as_str) {
            Some(r) => resolve(doc, r),
            None => Some(p),
        })
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dangling_ref_is_reported_with_its_location() {
        let doc = json!({"paths": {}, "components": {"schemas": {"A": {"$ref": "#/components/schemas/Missing"}}}});
        let err = validate(&doc).unwrap_err().to_string();
        assert!(err.contains("#/components/schemas/Missing"), "{err}");
        assert!(err.contains("/components/schemas/A"), "{err}");
    }

    #[test]
    fn refs_that_only_lead_back_to_themselves_are_reported() {
        let doc = json!({"paths": {}, "components": {"schemas": {
            "A": {"$ref": "#/components/schemas/A"},
        }}});
        let err = validate(&doc).unwrap_err().to_string();
        assert!(err.contains("at /components/schemas/A"), "{err}");
        assert!(err.contains("refers to itself"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let doc = json!({"paths": {}, "components": {"schemas": {
            "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"$ref": "#/components/schemas/C"},
            "C": {"description": "loops", "$ref": "#/components/schemas/B"},
        }}});
        let err = validate(&doc).unwrap_err().to_string();
        assert!(
            err.contains("at /components/schemas/A/properties/b"),
            "{err}"
        );
        // A schema that contains itself through a property is recursion,
        // not a loop of references.
        let doc = json!({"paths": {}, "components": {"schemas": {
            "Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}},
            "Alias": {"$ref": "#/components/schemas/Node"},
        }}});
        validate(&doc).unwrap();
    }

    #[test]
    fn misspelt_schema_types_are_reported_with_their_location() {
        let doc = json!({"paths": {}, "components": {"schemas": {
            "A": {"type": "object", "properties": {"name": {"type": "strin"}}},
        }}});
        let err = validate(&doc).unwrap_err().to_string();
        assert!(err.contains("`type: strin`"), "{err}");
        assert!(
            err.contains("at /components/schemas/A/properties/name"),
            "{err}"
        );
        let doc = json!({"paths": {}, "components": {"schemas": {
            "A": {"type": ["string", "nul"]},
        }}});
        let err = validate(&doc).unwrap_err().to_string();
        assert!(
            err.contains("\"nul\"") && err.contains("/components/schemas/A"),
            "{err}"
        );
        // `type` elsewhere is not a schema type: a property named `type`,
        // a security scheme, example data, extensions.
        let doc = json!({
            "paths": {},
            "components": {
                "schemas": {"A": {
                    "type": ["object", "null"],
                    "properties": {"type": {"type": "string", "example": {"type": "dog"}}},
                    "x-vendor": {"type": "whatever"},
                }},
                "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            }
        });
        validate(&doc).unwrap();
    }

    #[test]
    fn operation_ids_that_could_carry_anything_else_are_refused() {
        for hostile in [
            "x\ncargo::warning=INJECTED",
            "x\"",
            "a\\b",
            "x\rcargo::rustc-env=A=B",
            "",
            "space d",
        ] {
            let doc = json!({"paths": {"/a": {"get": {"operationId": hostile}}}});
            let err = validate(&doc).unwrap_err().to_string();
            assert!(err.contains("GET \"/a\": operationId"), "{err}");
            assert!(!err.contains('\n') && !err.contains('\r'), "{err}");
        }
        let doc = json!({"paths": {"/a": {"get": {"operationId": 7}}}});
        assert!(validate(&doc).is_err());
        for plain in ["revoke_access_token", "listBasins", "v1.get-thing"] {
            let doc = json!({"paths": {"/a": {"get": {"operationId": plain}}}});
            validate(&doc).unwrap();
        }
    }

    #[test]
    fn path_variable_without_parameter_is_reported() {
        let doc = json!({"paths": {"/a/{id}": {"get": {"operationId": "a", "parameters": [{"name": "other", "in": "path"}]}}}});
        let err = validate(&doc).unwrap_err().to_string();
        assert!(
            err.contains("GET /a/{id}") && err.contains("`{id}`"),
            "{err}"
        );
    }

    #[test]
    fn path_level_and_referenced_parameters_count() {
        let doc = json!({
            "paths": {"/a/{id}/{b}": {
                "parameters": [{"name": "id", "in": "path"}],
                "get": {"operationId": "a", "parameters": [{"$ref": "#/components/parameters/B"}]}
            }},
            "components": {"parameters": {"B": {"name": "b", "in": "path"}}}
        });
        validate(&doc).unwrap();
    }

    #[test]
    fn template_variables_are_found() {
        assert_eq!(template_variables("/a/{x}/b/{y}"), vec!["x", "y"]);
        assert!(template_variables("/a").is_empty());
    }
}
