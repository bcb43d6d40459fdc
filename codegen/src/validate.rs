//! Consistency checks that progenitor would otherwise turn into panics or
//! confusing type errors.

use serde_json::Value;

use crate::CodegenError;
use crate::lower::HTTP_METHODS;

/// Checks that every local `$ref` points at something and that every path
/// template variable has a matching path parameter.
pub fn validate(doc: &Value) -> Result<(), CodegenError> {
    check_refs(doc, doc, &mut String::new())?;
    check_path_parameters(doc)
}

fn check_refs(doc: &Value, node: &Value, at: &mut String) -> Result<(), CodegenError> {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref")
                && resolve(doc, reference).is_none()
            {
                let at = if at.is_empty() { "/" } else { at.as_str() };
                return Err(CodegenError::Invalid(format!(
                    "`$ref: {reference}` at {at} points at nothing"
                )));
            }
            for (key, child) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                check_refs(doc, child, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                check_refs(doc, child, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Resolves a local reference (`#/a/b`); other references are not supported.
pub fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
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
