//! What the request layer needs to know about each operation, read from the
//! spec at build time so that a regenerated client brings its operations'
//! rules with it: the method (idempotent or not), whether the operation
//! takes S2's idempotency token, whether it carries record data, whether
//! it is served per basin, and which query parameter asks the server to
//! wait (a long poll). The facts are the model's
//! ([`crate::model::Operation`]); this module writes them as Rust.

use std::fmt::Write as _;

use crate::model::Operation;

/// Rust items describing `operations`, for `include!` in the crate's
/// `spec` module: a sorted table and a lookup by id. Every string is
/// written as an escaped Rust literal, so a hostile spec cannot inject code.
pub fn render(operations: &[Operation]) -> String {
    let mut code = String::from(
        "/// What the request layer knows of each operation of the spec, sorted by id.\n\
         pub const OPERATIONS: &[crate::spec::Operation] = &[\n",
    );
    for op in operations {
        let _ = writeln!(
            code,
            "    crate::spec::Operation {{ id: {:?}, method: {:?}, path: {:?}, takes_request_token: {}, record_format: {}, basin_server: {}, wait_param: {} }},",
            op.id,
            op.method,
            op.path,
            op.takes_request_token,
            op.record_format,
            option_literal(op.basin_server.as_deref()),
            option_literal(op.wait_param.as_deref()),
        );
    }
    code.push_str("];\n");
    code
}

/// `Some("...")` or `None`, the string an escaped Rust literal.
fn option_literal(value: Option<&str>) -> String {
    match value {
        Some(value) => format!("Some({value:?})"),
        None => "None".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::operation;

    #[test]
    fn each_operation_is_a_row() {
        let ops = [
            Operation {
                method: "POST".to_owned(),
                path: "/streams".to_owned(),
                takes_request_token: true,
                basin_server: Some("https://{basin}.b.example/v1".to_owned()),
                ..operation("create_stream")
            },
            Operation {
                record_format: true,
                wait_param: Some("wait".to_owned()),
                ..operation("read")
            },
        ];
        let code = render(&ops);
        assert!(
            code.contains(
                "crate::spec::Operation { id: \"create_stream\", method: \"POST\", \
                 path: \"/streams\", takes_request_token: true, record_format: false, \
                 basin_server: Some(\"https://{basin}.b.example/v1\"), wait_param: None },"
            ),
            "{code}"
        );
        assert!(
            code.contains("record_format: true, basin_server: None, wait_param: Some(\"wait\") },"),
            "{code}"
        );
        syn::parse_file(&code).unwrap();
    }

    #[test]
    fn hostile_strings_stay_literals() {
        let ops = [Operation {
            method: "GET".to_owned(),
            path: "/a\\b".to_owned(),
            basin_server: Some("\"}".to_owned()),
            wait_param: Some("\")] }; x".to_owned()),
            ..operation("x\"); panic!(\"\ncargo::warning=INJECTED")
        }];
        let code = render(&ops);
        let file: syn::File = syn::parse_str(&code).unwrap();
        assert_eq!(file.items.len(), 1, "{code}");
        assert_eq!(code.lines().count(), 4, "{code}");
    }
}
