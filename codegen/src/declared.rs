//! The error bodies the spec declares besides S2's `ErrorInfo` (an
//! append's `412 AppendConditionFailed`, a read's `416 TailResponse`), as
//! one enum, so that a caller matches a typed value instead of decoding
//! the body by hand. Generated from each operation's error responses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::model::{SpecModel, TypeNames};

/// S2's error body, which the crate's `ApiError` reads itself.
const ERROR_INFO: &str = "ErrorInfo";

/// Each error status with the bodies declared for it but `ErrorInfo`, by
/// Rust type name, among the generated `types`.
pub fn of(model: &SpecModel, types: &TypeNames) -> BTreeMap<u16, BTreeSet<String>> {
    let mut declared: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    let bodies = model.operations.iter().flat_map(|op| &op.declared_errors);
    for body in bodies.filter(|body| body.schema != ERROR_INFO) {
        if let Some(rust) = types.of(&body.schema) {
            declared.entry(body.status).or_default().insert(rust);
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
    use super::*;
    use crate::model::tests::{model, operation};
    use crate::model::{DeclaredError, Operation};

    fn declaring(id: &str, bodies: &[(u16, &str)]) -> Operation {
        Operation {
            declared_errors: bodies
                .iter()
                .map(|&(status, schema)| DeclaredError {
                    status,
                    schema: schema.to_owned(),
                })
                .collect(),
            ..operation(id)
        }
    }

    #[test]
    fn declared_error_bodies_by_status_without_error_info() {
        let model = model(vec![
            declaring(
                "append",
                &[(400, "ErrorInfo"), (412, "AppendConditionFailed")],
            ),
            declaring("read", &[(416, "TailResponse"), (404, "NotGenerated")]),
            declaring("check_tail", &[(416, "TailResponse")]),
        ]);
        let types: TypeNames = BTreeSet::from(
            ["ErrorInfo", "AppendConditionFailed", "TailResponse"].map(String::from),
        )
        .into();
        let declared = of(&model, &types);
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
