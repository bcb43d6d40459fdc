//! What the request layer needs to know about each operation, read from the
//! spec at build time so that a regenerated client brings its operations'
//! rules with it: the method (idempotent or not), whether the operation
//! takes S2's idempotency token, and whether it is served per basin.

use std::fmt::Write as _;

use serde_json::Value;

use crate::lower::HTTP_METHODS;
use crate::surface::resolve;

/// The header S2 reads as a request's idempotency token
/// (`s2-request-token`): a retried request carrying the same token is
/// carried out once.
pub const REQUEST_TOKEN_HEADER: &str = "s2-request-token";

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
    /// The per-basin server URL template (containing `{basin}`) declared
    /// on the path or the operation, if any.
    pub basin_server: Option<String>,
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
            let takes_request_token = parameters.into_iter().any(|p| {
                p.get("in").and_then(Value::as_str) == Some("header")
                    && p.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(REQUEST_TOKEN_HEADER))
            });
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
                basin_server,
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
         pub const OPERATIONS: &[Operation] = &[\n",
    );
    for op in operations {
        let _ = writeln!(
            code,
            "    Operation {{ id: {:?}, method: {:?}, path: {:?}, takes_request_token: {}, basin_server: {} }},",
            op.id,
            op.method,
            op.path,
            op.takes_request_token,
            match &op.basin_server {
                Some(url) => format!("Some({url:?})"),
                None => "None".to_owned(),
            }
        );
    }
    code.push_str("];\n");
    code
}

/// The error type progenitor decodes for one operation, and the statuses
/// whose bodies it decodes as that type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorBodies {
    /// `operationId`.
    pub operation: String,
    /// The type, as written in the generated code (`types :: ErrorInfo`).
    pub type_path: String,
    /// The documented error statuses with a body.
    pub statuses: Vec<u16>,
}

/// For each operation of the generated code whose error type is not `()`,
/// its error type (read from the generated `send` method, so it is the type
/// progenitor really decodes) and the spec's error statuses with a body.
pub fn error_bodies(doc: &Value, code: &syn::File) -> Vec<ErrorBodies> {
    use quote::ToTokens as _;
    let builders = code.items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref(),
        _ => None,
    });
    let mut found = Vec::new();
    for item in builders
        .map(|(_, items)| items.as_slice())
        .unwrap_or_default()
    {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        for item in &block.items {
            let syn::ImplItem::Fn(send) = item else {
                continue;
            };
            if send.sig.ident != "send" {
                continue;
            }
            let (Some(operation), Some(error)) = (
                operation_id(send.block.to_token_stream()),
                error_type(&send.sig.output),
            ) else {
                continue;
            };
            let statuses = error_statuses(doc, &operation);
            if !statuses.is_empty() {
                found.push(ErrorBodies {
                    operation,
                    type_path: error.to_token_stream().to_string(),
                    statuses,
                });
            }
        }
    }
    found.sort_by(|a, b| a.operation.cmp(&b.operation));
    found
}

/// The string in `operation_id: "..."` inside a generated method body.
fn operation_id(tokens: proc_macro2::TokenStream) -> Option<String> {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            proc_macro2::TokenTree::Group(group) => {
                if let Some(id) = operation_id(group.stream()) {
                    return Some(id);
                }
            }
            proc_macro2::TokenTree::Ident(ident) if ident == "operation_id" => {
                if matches!(tokens.next(), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':')
                    && let Some(proc_macro2::TokenTree::Literal(literal)) = tokens.next()
                    && let Ok(lit) = syn::parse_str::<syn::LitStr>(&literal.to_string())
                {
                    return Some(lit.value());
                }
            }
            _ => {}
        }
    }
    None
}

/// `E` in `-> Result<_, Error<E>>`, unless it is `()`.
fn error_type(output: &syn::ReturnType) -> Option<&syn::Type> {
    let syn::ReturnType::Type(_, result) = output else {
        return None;
    };
    let syn::GenericArgument::Type(error) = generic_args(result)?.iter().nth(1)? else {
        return None;
    };
    let syn::GenericArgument::Type(inner) = generic_args(error)?.first()? else {
        return None;
    };
    match inner {
        syn::Type::Tuple(unit) if unit.elems.is_empty() => None,
        ty => Some(ty),
    }
}

/// The `<...>` arguments of a path type's last segment.
fn generic_args(
    ty: &syn::Type,
) -> Option<&syn::punctuated::Punctuated<syn::GenericArgument, syn::Token![,]>> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    match &path.path.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(args) => Some(&args.args),
        _ => None,
    }
}

/// The operation's documented error statuses (4xx, 5xx) with a body.
fn error_statuses(doc: &Value, operation: &str) -> Vec<u16> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let op = paths.values().find_map(|item| {
        HTTP_METHODS.iter().find_map(|m| {
            item.get(*m)
                .filter(|op| op.get("operationId").and_then(Value::as_str) == Some(operation))
        })
    });
    let mut statuses: Vec<u16> = op
        .and_then(|op| op.get("responses"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, response)| {
            resolve(doc, response)
                .get("content")
                .and_then(Value::as_object)
                .is_some_and(|c| !c.is_empty())
        })
        .filter_map(|(status, _)| status.parse::<u16>().ok())
        .filter(|status| (400..600).contains(status))
        .collect();
    statuses.sort_unstable();
    statuses
}

/// A function telling whether an error body decodes as its operation's
/// error type, for `include!` beside [`render`]'s table: progenitor drops
/// the status of a documented error whose body fails to decode, so the
/// request layer checks first.
pub fn render_error_check(bodies: &[ErrorBodies]) -> String {
    let mut code = String::from(
        "/// Whether `body` decodes as the spec's error type of `operation` for\n\
         /// `status`; `None` when progenitor decodes no body for that status.\n\
         #[allow(dead_code)]\n\
         pub(crate) fn error_body_decodes(operation: &str, status: u16, body: &[u8]) -> Option<bool> {\n\
         \x20   match (operation, status) {\n",
    );
    for b in bodies {
        let statuses: Vec<String> = b.statuses.iter().map(u16::to_string).collect();
        let _ = writeln!(
            code,
            "        ({:?}, {}) => Some(serde_json::from_slice::<crate::generated::{}>(body).is_ok()),",
            b.operation,
            statuses.join(" | "),
            b.type_path
        );
    }
    code.push_str("        _ => None,\n    }\n}\n");
    code
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
    fn hostile_strings_stay_literals() {
        let ops = [OperationFacts {
            id: "x\"); panic!(\"\ncargo::warning=INJECTED".to_owned(),
            method: "GET".to_owned(),
            path: "/a\\b".to_owned(),
            takes_request_token: false,
            basin_server: Some("\"}".to_owned()),
        }];
        let code = render(&ops);
        let file: syn::File = syn::parse_str(&code).unwrap();
        assert_eq!(file.items.len(), 1, "{code}");
        assert_eq!(code.lines().count(), 4, "{code}");
    }
}
