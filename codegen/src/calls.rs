//! Each operation's builder, awaited, gives the crate's `Error`.
//!
//! progenitor's `send()` returns its own error type, so `?` into
//! `anyhow::Error` or `Box<dyn Error>` keeps progenitor's error. For every
//! operation whose success type can be named, the generator implements
//! `IntoFuture` for its builder: `client.generated().list_basins().await?`
//! gives the success value itself and the crate's `Error`; and `response()`
//! gives the whole response (status and headers too, such as whether an
//! ensure created) with the crate's `Error`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use crate::doc::{HTTP_METHODS, is_json_media_type, pascal, resolve, schema_name};

/// One operation and the Rust type of its success.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call {
    /// `operationId`.
    pub id: String,
    /// The success value's Rust type, such as
    /// `crate::generated::types::BasinInfo` or `()`.
    pub output: String,
}

/// The operations of `doc` (as progenitor reads it) whose success type is
/// named from the spec, and a note for each left out; `types` are the
/// generated types' names.
pub fn of(doc: &Value, types: &BTreeSet<String>) -> (Vec<Call>, Vec<String>) {
    let mut calls = Vec::new();
    let mut notes = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return (calls, notes);
    };
    for item in paths.values() {
        for method in HTTP_METHODS {
            let Some(op) = item.get(method) else { continue };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            match output(doc, op, types) {
                Some(output) => calls.push(Call {
                    id: id.to_owned(),
                    output,
                }),
                None => notes.push(format!(
                    "{id}: its success type is not named in the spec, so awaiting its builder \
                     is left out (`send()` works)"
                )),
            }
        }
    }
    calls.sort_by(|a, b| a.id.cmp(&b.id));
    (calls, notes)
}

/// The Rust type progenitor gives `op`'s success: `()` without a body,
/// bytes for a body that is not JSON, the named type of a JSON body.
fn output(doc: &Value, op: &Value, types: &BTreeSet<String>) -> Option<String> {
    let successes: Vec<&Value> = op
        .get("responses")?
        .as_object()?
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .map(|(_, response)| resolve(doc, response))
        .collect();
    let mut outputs = successes.iter().map(|response| {
        let content = response.get("content").and_then(Value::as_object);
        match content.and_then(|c| c.iter().next()) {
            None => Some("()".to_owned()),
            Some((media, body)) if is_json_media_type(media) => {
                let name = schema_name(body.get("schema")?)?;
                let name = pascal(name).filter(|n| types.contains(n))?;
                Some(format!("crate::generated::types::{name}"))
            }
            Some(_) => Some("progenitor_client::ByteStream".to_owned()),
        }
    });
    let first = outputs.next()??;
    // One type for every success, or progenitor's own union: left out.
    outputs.all(|o| o.as_ref() == Some(&first)).then_some(first)
}

/// The `IntoFuture` impls, for `include!` in the crate.
pub fn render(calls: &[Call]) -> String {
    let mut code = String::new();
    for call in calls {
        let Some(builder) = pascal(&call.id) else {
            continue;
        };
        let _ = write!(
            code,
            "/// `{id}`, awaited: its success value, or the crate's [`Error`](crate::Error).\n\
             impl<'a> ::std::future::IntoFuture for crate::generated::builder::{builder}<'a> {{\n\
             \x20   type Output = Result<{output}, crate::error::Error>;\n\
             \x20   type IntoFuture = ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Self::Output> + Send + 'a>>;\n\
             \x20   fn into_future(self) -> Self::IntoFuture {{\n\
             \x20       Box::pin(async move {{\n\
             \x20           self.send()\n\
             \x20               .await\n\
             \x20               .map(progenitor_client::ResponseValue::into_inner)\n\
             \x20               .map_err(crate::error::Error::from)\n\
             \x20       }})\n\
             \x20   }}\n\
             }}\n\
             impl<'a> crate::generated::builder::{builder}<'a> {{\n\
             \x20   /// Sends `{id}`: the response (its status, headers and value), or the\n\
             \x20   /// crate's [`Error`](crate::Error), as awaiting the builder gives it.\n\
             \x20   pub async fn response(self) -> Result<progenitor_client::ResponseValue<{output}>, crate::error::Error> {{\n\
             \x20       self.send().await.map_err(crate::error::Error::from)\n\
             \x20   }}\n\
             }}\n",
            id = call.id,
            output = call.output,
        );
    }
    code
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn success_types_come_from_the_spec() {
        let doc = json!({
            "components": {"schemas": {"Thing": {"type": "object"}}},
            "paths": {"/t": {
                "get": {"operationId": "get_thing", "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"content": {"application/octet-stream": {}}}
                }},
                "delete": {"operationId": "delete_thing", "responses": {"204": {"description": ""}}},
                "put": {"operationId": "put_thing", "responses": {
                    "200": {"content": {"application/json": {"schema": {"type": "object"}}}}
                }},
                "post": {"operationId": "raw_thing", "responses": {
                    "200": {"content": {"text/plain": {}}}
                }}
            }}
        });
        let types = ["Thing".to_owned()].into();
        let (calls, notes) = of(&doc, &types);
        let outputs: Vec<(&str, &str)> = calls
            .iter()
            .map(|c| (c.id.as_str(), c.output.as_str()))
            .collect();
        assert_eq!(
            outputs,
            [
                ("delete_thing", "()"),
                ("get_thing", "crate::generated::types::Thing"),
                ("raw_thing", "progenitor_client::ByteStream"),
            ]
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("put_thing"), "{notes:?}");
        let code = render(&calls);
        assert!(
            code.contains("for crate::generated::builder::GetThing<'a>"),
            "{code}"
        );
        syn::parse_file(&code).unwrap();
    }
}
