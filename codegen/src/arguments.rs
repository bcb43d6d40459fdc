//! The rules of the spec's constrained types, so that an argument the
//! generated builder refuses is reported with the rule it broke (progenitor
//! says only "conversion to `StreamNameStr` for stream failed").

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::{Rule, SpecModel, TypeNames};

/// Each named schema with a rule a value can break, by the Rust name of its
/// type (among the generated `types`), with the rule in words; sorted by
/// name.
pub fn rules(model: &SpecModel, types: &TypeNames) -> Vec<(String, String)> {
    let mut rules: Vec<(String, String)> = model
        .schemas
        .iter()
        .filter_map(|schema| Some((types.of(&schema.name)?, words(&schema.rule)?)))
        .collect();
    rules.sort();
    rules.dedup_by(|a, b| a.0 == b.0);
    rules
}

/// `rule` in words; `None` when it asks nothing.
fn words(rule: &Rule) -> Option<String> {
    let mut parts = Vec::new();
    match rule.length {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max} characters")),
        (Some(min), None) if min > 0 => parts.push(format!("at least {min} characters")),
        (_, Some(max)) => parts.push(format!("at most {max} characters")),
        _ => {}
    }
    if let Some(pattern) = &rule.pattern {
        parts.push(format!("matching `{pattern}`"));
    }
    // Shown as the spec writes them: any JSON number, beyond `i64` too.
    let positive = |v: &serde_json::Number| v.as_f64().is_some_and(|v| v > 0.0);
    match &rule.range {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max}")),
        (Some(min), None) if positive(min) => parts.push(format!("at least {min}")),
        (_, Some(max)) => parts.push(format!("at most {max}")),
        _ => {}
    }
    if let Some(values) = &rule.values {
        let values: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::String(v) => format!("`{v}`"),
                other => format!("`{other}`"),
            })
            .collect();
        parts.push(format!("one of {}", values.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The rules as a sorted Rust table, for the crate's `spec` module. Every
/// string is an escaped literal.
pub fn render(rules: &[(String, String)]) -> String {
    let mut code = String::from(
        "/// The rule of each constrained type of the spec, by type name, sorted.\n\
         pub const ARGUMENT_RULES: &[(&str, &str)] = &[\n",
    );
    for (name, rule) in rules {
        let _ = writeln!(code, "    ({name:?}, {rule:?}),");
    }
    code.push_str("];\n");
    code
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::model::tests::{model, schemas_of};

    #[test]
    fn rules_in_words() {
        let doc = json!({"components": {"schemas": {
            "StreamNameStr": {"type": "string", "minLength": 1, "maxLength": 512},
            "FencingToken": {"type": "string", "maxLength": 36},
            "Format": {"type": "string", "enum": ["raw", "base64"]},
            "Code": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2},
            "u64": {"type": "integer", "minimum": 0},
            "Big": {"type": "integer", "minimum": 1, "maximum": 18446744073709551615u64},
            "Ratio": {"type": "number", "minimum": 0.5},
            "Level": {"type": "integer", "enum": [1, 2, 3]},
            "Plain": {"type": "string"},
            "NotGenerated": {"type": "string", "maxLength": 1}
        }}});
        let mut model = model(Vec::new());
        model.schemas = schemas_of(&doc);
        let types: TypeNames = BTreeSet::from(
            [
                "StreamNameStr",
                "FencingToken",
                "Format",
                "Code",
                "U64",
                "Plain",
                "Big",
                "Ratio",
                "Level",
            ]
            .map(str::to_owned),
        )
        .into();
        let rules = rules(&model, &types);
        let rules: Vec<(&str, &str)> = rules
            .iter()
            .map(|(n, r)| (n.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            rules,
            [
                ("Big", "1 to 18446744073709551615"),
                ("Code", "at least 2 characters, matching `^[a-z]+$`"),
                ("FencingToken", "at most 36 characters"),
                ("Format", "one of `raw`, `base64`"),
                ("Level", "one of `1`, `2`, `3`"),
                ("Ratio", "at least 0.5"),
                ("StreamNameStr", "1 to 512 characters"),
            ]
        );
        let code = render(&[("A\"".to_owned(), "b\n\"".to_owned())]);
        syn::parse_file(&code).unwrap();
    }
}
