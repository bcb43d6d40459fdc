//! What the request layer needs to know about each operation, read from the
//! spec at build time so that a regenerated client brings its operations'
//! rules with it: the method (idempotent or not), whether the operation
//! takes S2's idempotency token, whether it carries record data, whether
//! it is served per basin, and which query parameter asks the server to
//! wait (a long poll).

use std::fmt::Write as _;

use serde_json::Value;

use crate::doc::{HTTP_METHODS, resolve};

/// The header S2 reads as a request's idempotency token
/// (`s2-request-token`): a retried request carrying the same token is
/// carried out once.
pub const REQUEST_TOKEN_HEADER: &str = "s2-request-token";

/// The query parameter by which an operation asks the server to hold the
/// answer until something arrives, in seconds (S2's `read`: a long poll).
pub const WAIT_PARAMETER: &str = "wait";

/// The server variable naming the basin in S2's per-basin servers
/// (`https://{basin}.b.s2.dev/v1`).
const BASIN_VARIABLE: &str = "{basin}";

/// One operation of the spec, as the request layer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationFacts {
    /// `operationId`.
    pub id: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template, such as `/streams/{stream}`.
    pub path: String,
    /// Whether the operation declares the `s2-request-token` header.
    pub takes_request_token: bool,
    /// Whether the operation declares the `s2-format` header: its record
    /// data are bytes, sent and read as base64 ([`crate::records`]).
    pub record_format: bool,
    /// The per-basin server URL template (containing `{basin}`) declared
    /// on the path or the operation, if any.
    pub basin_server: Option<String>,
    /// The query parameter asking the server to wait, in seconds, before
    /// answering: a `query` parameter named `wait` with an integer schema.
    /// The request layer lengthens the request's timeouts by its value.
    pub wait_param: Option<String>,
}

/// Whether `parameter` is the one an operation asks the server to wait
/// with: a `query` parameter named `wait` (S2's name for it), whose value
/// is seconds.
fn declares_wait(parameter: &Value) -> bool {
    parameter.get("in").and_then(Value::as_str) == Some("query")
        && parameter.get("name").and_then(Value::as_str) == Some(WAIT_PARAMETER)
}

/// Whether `schema` (or the schema it refers to) is an integer: a `wait`
/// of another type is not read as seconds.
fn is_integer(doc: &Value, schema: Option<&Value>) -> bool {
    match schema.map(|s| resolve(doc, s)).and_then(|s| s.get("type")) {
        Some(Value::String(t)) => t == "integer",
        // 3.1's `["integer", "null"]`, should it reach here unlowered.
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    }
}

/// The facts of every operation with an id, sorted by id.
pub fn of(doc: &Value) -> Vec<OperationFacts> {
    let mut operations = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return operations;
    };
    for (path, item) in paths {
        for method in HTTP_METHODS {
            let Some(op) = item.get(method) else { continue };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let parameters = [item, op]
                .into_iter()
                .filter_map(|v| v.get("parameters").and_then(Value::as_array))
                .flatten()
                .map(|p| resolve(doc, p));
            let mut takes_request_token = false;
            let mut record_format = false;
            let mut wait_param = None;
            for p in parameters {
                // An operation's own declaration overrides its path's.
                if declares_wait(p) {
                    wait_param =
                        is_integer(doc, p.get("schema")).then(|| WAIT_PARAMETER.to_owned());
                }
                takes_request_token |= p.get("in").and_then(Value::as_str) == Some("header")
                    && p.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(REQUEST_TOKEN_HEADER));
                record_format |= crate::records::is_format_header(p);
            }
            // The operation's own servers override its path's.
            let basin_server = [op, item]
                .into_iter()
                .find_map(|v| v.get("servers").and_then(Value::as_array))
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("url").and_then(Value::as_str))
                .find(|url| url.contains(BASIN_VARIABLE))
                .map(str::to_owned);
            operations.push(OperationFacts {
                id: id.to_owned(),
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                takes_request_token,
                record_format,
                basin_server,
                wait_param,
            });
        }
    }
    operations.sort_by(|a, b| a.id.cmp(&b.id));
    operations
}

/// Rust items describing `operations`, for `include!` in the crate's
/// `spec` module: a sorted table and a lookup by id. Every string is
/// written as an escaped Rust literal, so a hostile spec cannot inject code.
pub fn render(operations: &[OperationFacts]) -> String {
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
    use serde_json::json;

    use super::*;

    #[test]
    fn facts_come_from_the_spec() {
        let doc = json!({
            "components": {"parameters": {"token": {
                "name": "S2-Request-Token", "in": "header", "schema": {"type": "string"}
            }}},
            "paths": {
                "/streams": {
                    "servers": [{"url": "https://{basin}.b.example/v1"}],
                    "post": {"operationId": "create_stream",
                             "parameters": [{"$ref": "#/components/parameters/token"}]},
                    "get": {"operationId": "list_streams"}
                },
                "/basins": {
                    "post": {"operationId": "create_basin", "parameters": [
                        {"name": "s2-request-token", "in": "query", "schema": {"type": "string"}}
                    ]},
                    "put": {}
                }
            }
        });
        let ops = of(&doc);
        let ids: Vec<&str> = ops.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["create_basin", "create_stream", "list_streams"]);
        // A query parameter of the same name is not the header.
        assert!(!ops[0].takes_request_token);
        assert_eq!(ops[0].basin_server, None);
        assert!(ops[1].takes_request_token);
        assert_eq!(ops[1].method, "POST");
        assert_eq!(
            ops[1].basin_server.as_deref(),
            Some("https://{basin}.b.example/v1")
        );
        assert!(!ops[2].takes_request_token);
    }

    #[test]
    fn the_wait_parameter_is_an_integer_named_wait_in_the_query() {
        let doc = json!({
            "components": {
                "schemas": {"u32": {"type": "integer", "format": "int32", "minimum": 0}},
                "parameters": {"wait": {"name": "wait", "in": "query",
                                        "schema": {"$ref": "#/components/schemas/u32"}}}
            },
            "paths": {
                "/records": {
                    "get": {"operationId": "read", "parameters": [
                        {"name": "seq_num", "in": "query", "schema": {"type": "integer"}},
                        {"name": "wait", "in": "query",
                         "schema": {"type": "integer", "format": "int32", "minimum": 0}}
                    ]},
                    "post": {"operationId": "by_ref",
                             "parameters": [{"$ref": "#/components/parameters/wait"}]}
                },
                "/other": {
                    "parameters": [{"name": "wait", "in": "query", "schema": {"type": ["integer", "null"]}}],
                    "get": {"operationId": "on_path"},
                    "delete": {"operationId": "overridden_as_text", "parameters": [
                        {"name": "wait", "in": "query", "schema": {"type": "string"}}
                    ]}
                },
                "/plain": {
                    "get": {"operationId": "as_header", "parameters": [
                        {"name": "wait", "in": "header", "schema": {"type": "integer"}}
                    ]},
                    "put": {"operationId": "other_name", "parameters": [
                        {"name": "Wait", "in": "query", "schema": {"type": "integer"}},
                        {"name": "timeout", "in": "query", "schema": {"type": "integer"}}
                    ]}
                }
            }
        });
        let waits: Vec<(String, Option<String>)> = of(&doc)
            .into_iter()
            .map(|op| (op.id, op.wait_param))
            .collect();
        let wait = Some("wait".to_owned());
        assert_eq!(
            waits,
            [
                ("as_header".to_owned(), None),
                ("by_ref".to_owned(), wait.clone()),
                ("on_path".to_owned(), wait.clone()),
                ("other_name".to_owned(), None),
                ("overridden_as_text".to_owned(), None),
                ("read".to_owned(), wait),
            ]
        );
    }

    #[test]
    fn hostile_strings_stay_literals() {
        let ops = [OperationFacts {
            id: "x\"); panic!(\"\ncargo::warning=INJECTED".to_owned(),
            method: "GET".to_owned(),
            path: "/a\\b".to_owned(),
            takes_request_token: false,
            record_format: false,
            basin_server: Some("\"}".to_owned()),
            wait_param: Some("\")] }; x".to_owned()),
        }];
        let code = render(&ops);
        let file: syn::File = syn::parse_str(&code).unwrap();
        assert_eq!(file.items.len(), 1, "{code}");
        assert_eq!(code.lines().count(), 4, "{code}");
    }
}
