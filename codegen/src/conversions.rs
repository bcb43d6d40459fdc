//! `TryFrom<&String>` for the spec's constrained strings, so that an
//! argument held in a `String` is passed as `&name`, as a `&str` is:
//! typify makes these types from `&str` and `String`, and a builder taking
//! `TryInto<T>` refuses `&String` otherwise.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

/// Whether typify makes `schema` a checked string: a string with a length
/// bound, a pattern or an enumeration.
fn is_checked_string(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("string")
        && ["minLength", "maxLength", "pattern", "enum"]
            .iter()
            .any(|key| schema.get(key).is_some())
}

/// The impls, for each named checked string whose type was generated.
pub fn from_string_refs(doc: &Value, types: &BTreeSet<String>) -> String {
    let mut code = String::new();
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    for (name, schema) in schemas.into_iter().flatten() {
        let Some(rust) = crate::doc::pascal(name).filter(|n| types.contains(n)) else {
            continue;
        };
        if is_checked_string(schema) {
            let _ = writeln!(
                code,
                "impl ::std::convert::TryFrom<&::std::string::String> for types::{rust} {{\n    \
                 type Error = <Self as ::std::convert::TryFrom<&'static str>>::Error;\n    \
                 fn try_from(value: &::std::string::String) -> ::std::result::Result<Self, Self::Error> {{\n        \
                 value.parse()\n    }}\n}}"
            );
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_checked_strings_get_the_conversion() {
        let doc = json!({"components": {"schemas": {
            "StreamNameStr": {"type": "string", "minLength": 1, "maxLength": 512},
            "Format": {"type": "string", "enum": ["raw", "base64"]},
            "Plain": {"type": "string"},
            "Count": {"type": "integer", "maximum": 3},
            "NotGenerated": {"type": "string", "pattern": "x"},
        }}});
        let types: BTreeSet<String> = ["StreamNameStr", "Format", "Plain", "Count"]
            .map(String::from)
            .into();
        let code = from_string_refs(&doc, &types);
        assert!(code.contains("for types::StreamNameStr"), "{code}");
        assert!(code.contains("for types::Format"), "{code}");
        for absent in ["Plain", "Count", "NotGenerated"] {
            assert!(!code.contains(absent), "{absent}: {code}");
        }
    }
}
