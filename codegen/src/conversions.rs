//! Conversions for generated types that typify does not make:
//! - `TryFrom<&String>` for the spec's constrained strings, so that an
//!   argument held in a `String` is passed as `&name`, as a `&str` is:
//!   typify makes these types from `&str` and `String`, and a builder
//!   taking `TryInto<T>` refuses `&String` otherwise;
//! - `From<(name, value)>` for a pair of record bytes (S2's `Header`), so
//!   that a header is written `("content-type", "text/plain").into()`
//!   rather than as the two-element array typify makes it, and `name()`
//!   and `value()` to read it.

use std::fmt::Write as _;

use crate::model::{SpecModel, TypeNames};
use crate::records::BYTES_TYPE;

/// The `TryFrom<&String>` impls, for each checked string of the model
/// whose type was generated (among `types`), for the `generated` module.
pub fn from_string_refs(model: &SpecModel, types: &TypeNames) -> String {
    let mut code = String::new();
    for schema in model.schemas.iter().filter(|s| s.checked_string) {
        let Some(rust) = types.of(&schema.name) else {
            continue;
        };
        let _ = writeln!(
            code,
            "impl ::std::convert::TryFrom<&::std::string::String> for types::{rust} {{\n    \
             type Error = <Self as ::std::convert::TryFrom<&'static str>>::Error;\n    \
             fn try_from(value: &::std::string::String) -> ::std::result::Result<Self, Self::Error> {{\n        \
             value.parse()\n    }}\n}}"
        );
    }
    code
}

/// `From<(name, value)>`, `name()` and `value()` for each pair of record
/// bytes of the model whose type was generated (among `types`), for the
/// crate's `records.rs`.
pub fn pair_impls(model: &SpecModel, types: &TypeNames) -> String {
    let mut code = String::new();
    for schema in model.schemas.iter().filter(|s| s.record_pair) {
        let Some(rust) = types.of(&schema.name) else {
            continue;
        };
        let _ = writeln!(
            code,
            "impl<N: Into<{BYTES_TYPE}>, V: Into<{BYTES_TYPE}>> From<(N, V)> \
             for crate::generated::types::{rust} {{\n    \
             fn from((name, value): (N, V)) -> Self {{\n        \
             Self::from([name.into(), value.into()])\n    }}\n}}\n\
             impl crate::generated::types::{rust} {{\n    \
             /// The header's name.\n    \
             pub fn name(&self) -> &{BYTES_TYPE} {{\n        &self.0[0]\n    }}\n\n    \
             /// The header's value.\n    \
             pub fn value(&self) -> &{BYTES_TYPE} {{\n        &self.0[1]\n    }}\n}}"
        );
    }
    code
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::model::tests::{model, schemas_of};

    #[test]
    fn only_checked_strings_get_the_conversion() {
        let doc = json!({"components": {"schemas": {
            "StreamNameStr": {"type": "string", "minLength": 1, "maxLength": 512},
            "Format": {"type": "string", "enum": ["raw", "base64"]},
            "Plain": {"type": "string"},
            "Count": {"type": "integer", "maximum": 3},
            "NotGenerated": {"type": "string", "pattern": "x"},
        }}});
        let mut model = model(Vec::new());
        model.schemas = schemas_of(&doc);
        let types: TypeNames =
            BTreeSet::from(["StreamNameStr", "Format", "Plain", "Count"].map(String::from)).into();
        let code = from_string_refs(&model, &types);
        assert!(code.contains("for types::StreamNameStr"), "{code}");
        assert!(code.contains("for types::Format"), "{code}");
        for absent in ["Plain", "Count", "NotGenerated"] {
            assert!(!code.contains(absent), "{absent}: {code}");
        }
    }

    #[test]
    fn a_pair_of_record_bytes_converts_from_a_tuple() {
        let bytes = json!({"$ref": "#/components/schemas/S2RecordBytes"});
        let doc = json!({"components": {"schemas": {
            "Header": {"type": "array", "items": bytes, "minItems": 2, "maxItems": 2},
            "Strings": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
            "Three": {"type": "array", "items": bytes, "minItems": 3, "maxItems": 3},
        }}});
        let mut model = model(Vec::new());
        model.schemas = schemas_of(&doc);
        let types: TypeNames =
            BTreeSet::from(["Header", "Strings", "Three"].map(String::from)).into();
        let code = pair_impls(&model, &types);
        let file = syn::parse_file(&code).unwrap();
        assert_eq!(file.items.len(), 2, "{code}");
        assert!(
            code.contains("From<(N, V)> for crate::generated::types::Header"),
            "{code}"
        );
        assert!(code.contains("pub fn name(&self)"), "{code}");
        assert!(code.contains("pub fn value(&self)"), "{code}");
        // Not generated: no impl for a type progenitor did not make.
        assert_eq!(pair_impls(&model, &TypeNames::default()), "");
    }
}
