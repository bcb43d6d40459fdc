//! Reading a spec file into a JSON value, whatever its syntax.

use std::path::Path;

use serde_json::{Map, Value};

use crate::CodegenError;

/// Reads an OpenAPI document from a `.json`, `.yaml` or `.yml` file.
///
/// Files ending in `.json` are parsed as JSON; anything else as YAML (a
/// superset of JSON). YAML mapping keys that are not strings (an unquoted
/// response code such as `204:`) become strings, as OpenAPI intends.
pub fn load(path: &Path) -> Result<Value, CodegenError> {
    let text = std::fs::read_to_string(path).map_err(|source| CodegenError::Read {
        path: path.to_owned(),
        source,
    })?;
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    parse(&text, is_json).map_err(|message| CodegenError::Parse {
        path: path.to_owned(),
        message,
    })
}

/// Parses spec text as JSON or YAML.
pub fn parse(text: &str, is_json: bool) -> Result<Value, String> {
    let value = if is_json {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        yaml_to_json(yaml)?
    };
    if !value.is_object() {
        return Err("the document is not a mapping".to_owned());
    }
    Ok(value)
}

fn yaml_to_json(yaml: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                map.insert(key, yaml_to_json(value)?);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_numeric_keys_become_strings() {
        let v = parse("responses:\n  204:\n    description: ok\n", false).unwrap();
        assert_eq!(v["responses"]["204"]["description"], "ok");
    }

    #[test]
    fn json_and_yaml_agree() {
        let json = parse(r#"{"a": [1, "x", null, true]}"#, true).unwrap();
        let yaml = parse("a: [1, x, null, true]\n", false).unwrap();
        assert_eq!(json, yaml);
    }

    #[test]
    fn non_mapping_documents_are_rejected() {
        assert!(parse("- 1\n- 2\n", false).is_err());
        assert!(parse("{not json", true).is_err());
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load(Path::new("/nonexistent/spec.yaml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/spec.yaml"), "{err}");
    }
}
