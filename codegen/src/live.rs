//! Live reads: the operations whose success is a stream of Server-Sent
//! Events (`text/event-stream`).
//!
//! progenitor makes one method per operation with one success type, so the
//! main client keeps such an operation's JSON form. Its event-stream form
//! becomes a second, small client (`generated::live`), generated from
//! [`spec`]: each such operation with only its event stream as success
//! (progenitor hands it over as bytes) and a `last-event-id` header to
//! resume after the last event received. Its schemas are the main
//! client's types (a replacement per type), so a live read yields the same
//! `types::ReadBatch` as a unary read.
//!
//! The events are S2's: each carries an `event` name and `data`; the
//! resumable one also an `id`. [`of`] reads, from the event-stream schema,
//! which event that is and the types of its data and of a `ping`'s.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::doc::{HTTP_METHODS, pascal, resolve, schema_name};

/// The media type of Server-Sent Events.
pub const EVENT_STREAM: &str = "text/event-stream";

/// The header that resumes an event stream after the event it names.
pub const LAST_EVENT_ID: &str = "last-event-id";

/// One operation whose success is an event stream of S2's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveOperation {
    /// `operationId`.
    pub id: String,
    /// The name of the event that carries data and an id to resume after.
    pub data_event: String,
    /// The schema of that event's data.
    pub data: String,
    /// The schema of a `ping` event's data, when the spec declares one.
    pub ping: Option<String>,
}

/// The document of the live client: `doc`'s event-stream operations, each
/// as described in the module doc, with all of `doc`'s components.
pub fn spec(doc: &Value) -> Value {
    let mut paths = Map::new();
    if let Some(doc_paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in doc_paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            let mut live_item: Map<String, Value> = item
                .iter()
                .filter(|(key, _)| !HTTP_METHODS.contains(&key.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for method in HTTP_METHODS {
                if let Some(op) = item.get(method).and_then(|op| live_operation(doc, op)) {
                    live_item.insert(method.to_owned(), op);
                }
            }
            if live_item.keys().any(|k| HTTP_METHODS.contains(&k.as_str())) {
                paths.insert(path.clone(), Value::Object(live_item));
            }
        }
    }
    json!({
        "openapi": doc.get("openapi").cloned().unwrap_or(Value::Null),
        "info": doc.get("info").cloned().unwrap_or(Value::Null),
        "paths": paths,
        "components": doc.get("components").cloned().unwrap_or_else(|| json!({})),
    })
}

/// `op` with only its event stream as success and `last-event-id` added,
/// when it has an event stream.
fn live_operation(doc: &Value, op: &Value) -> Option<Value> {
    let responses = op.get("responses")?.as_object()?;
    let (status, stream) = responses.iter().find_map(|(status, response)| {
        let media = event_stream(resolve(doc, response))?;
        status
            .starts_with('2')
            .then(|| (status.clone(), media.clone()))
    })?;
    let mut op = op.clone();
    let mut live_responses: Map<String, Value> = responses
        .iter()
        .filter(|(s, _)| !s.starts_with('2'))
        .map(|(s, r)| (s.clone(), r.clone()))
        .collect();
    live_responses.insert(
        status,
        json!({"description": "Server-Sent Events", "content": {EVENT_STREAM: stream}}),
    );
    op["responses"] = Value::Object(live_responses);
    let last_event_id = json!({
        "name": LAST_EVENT_ID,
        "in": "header",
        "required": false,
        "description": "Resumes the stream after this event.",
        "schema": {"type": "string"}
    });
    match op.get_mut("parameters").and_then(Value::as_array_mut) {
        Some(parameters) => parameters.push(last_event_id),
        None => op["parameters"] = json!([last_event_id]),
    }
    Some(op)
}

/// The event stream a response offers, if any.
fn event_stream(response: &Value) -> Option<&Value> {
    response.get("content")?.get(EVENT_STREAM)
}

/// The operations of `live` (the document [`spec`] makes) whose events
/// have S2's shape: a `oneOf` of objects, each with an `event` name (a
/// one-value enum or a `const`) and `data`, the one with a required `id`
/// carrying a named schema.
pub fn of(live: &Value) -> Vec<LiveOperation> {
    let mut found = Vec::new();
    let Some(paths) = live.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for item in paths.values() {
        for method in HTTP_METHODS {
            let Some(op) = item.get(method) else { continue };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let schema = op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|r| r.values())
                .find_map(|r| event_stream(r)?.get("schema"))
                .map(|s| resolve(live, s));
            if let Some(live_op) = schema.and_then(|s| events(id, s)) {
                found.push(live_op);
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn events(id: &str, schema: &Value) -> Option<LiveOperation> {
    let variants = schema.get("oneOf")?.as_array()?;
    let mut data_event = None;
    let mut ping = None;
    for variant in variants {
        // The event's name: a one-value enum, or (OpenAPI 3.1) a `const`.
        let Some(name) = variant
            .pointer("/properties/event/enum/0")
            .or_else(|| variant.pointer("/properties/event/const"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let data = variant.pointer("/properties/data").and_then(schema_name);
        let resumable = variant
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n.as_str() == Some("id")));
        if resumable {
            data_event = Some((name.to_owned(), data?.to_owned()));
        } else if name == "ping" {
            ping = data.map(str::to_owned);
        }
    }
    let (data_event, data) = data_event?;
    Some(LiveOperation {
        id: id.to_owned(),
        data_event,
        data,
        ping,
    })
}

/// The `LiveRead` impls for `operations`, for `include!` in the crate's
/// `live` module; `type_name` gives the main client's Rust name of a
/// schema, `None` when it has none (the operation is then left out, with a
/// note).
pub fn render(
    operations: &[LiveOperation],
    type_name: impl Fn(&str) -> Option<String>,
) -> (String, Vec<String>) {
    let mut code = String::new();
    let mut notes = Vec::new();
    for op in operations {
        let builder = pascal(&op.id);
        let data = type_name(&op.data);
        let ping = match &op.ping {
            Some(ping) => type_name(ping).map(|t| format!("crate::generated::types::{t}")),
            None => Some("::serde_json::Value".to_owned()),
        };
        let (Some(builder), Some(data), Some(ping)) = (builder, data, ping) else {
            notes.push(format!(
                "{}: a live read, left without its stream (its Rust names are not plain)",
                op.id
            ));
            continue;
        };
        let _ = write!(
            code,
            "/// `{id}` as Server-Sent Events: `{event}` events, resumed after the last.\n\
             impl<'a> crate::live::LiveRead<'a> for crate::generated::live::builder::{builder}<'a> {{\n\
             \x20   type Data = crate::generated::types::{data};\n\
             \x20   type Ping = {ping};\n\
             \x20   const DATA_EVENT: &'static str = {event:?};\n\
             \x20   fn resume_after(self, last_event_id: String) -> Self {{ self.last_event_id(last_event_id) }}\n\
             \x20   async fn connect(self) -> Result<progenitor_client::ResponseValue<progenitor_client::ByteStream>, crate::error::Error> {{\n\
             \x20       Ok(self.send().await?)\n\
             \x20   }}\n\
             }}\n",
            id = op.id,
            event = op.data_event,
        );
    }
    (code, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "T", "version": "1"},
            "components": {"schemas": {
                "Batch": {"type": "object"},
                "Ping": {"type": "object"},
                "Event": {"oneOf": [
                    {"type": "object", "required": ["event", "data", "id"], "properties": {
                        "event": {"type": "string", "enum": ["batch"]},
                        "data": {"$ref": "#/components/schemas/Batch"},
                        "id": {"type": "string"}
                    }},
                    {"type": "object", "required": ["event", "data"], "properties": {
                        "event": {"type": "string", "enum": ["error"]}, "data": {"type": "string"}
                    }},
                    {"type": "object", "required": ["event", "data"], "properties": {
                        "event": {"type": "string", "enum": ["ping"]},
                        "data": {"$ref": "#/components/schemas/Ping"}
                    }}
                ]}
            }},
            "paths": {
                "/records": {
                    "parameters": [{"name": "s", "in": "query", "schema": {"type": "string"}}],
                    "get": {
                        "operationId": "read",
                        "responses": {
                            "200": {"description": "", "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Batch"}},
                                "text/event-stream": {"schema": {"$ref": "#/components/schemas/Event"}}
                            }},
                            "404": {"description": ""}
                        }
                    },
                    "post": {"operationId": "append", "responses": {"200": {"description": ""}}}
                }
            }
        })
    }

    #[test]
    fn the_live_spec_holds_the_event_streams_only() {
        let live = spec(&doc());
        let item = &live["paths"]["/records"];
        assert!(item.get("post").is_none(), "{item}");
        assert_eq!(item["parameters"][0]["name"], "s");
        let get = &item["get"];
        let media: Vec<&String> = get["responses"]["200"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(media, [EVENT_STREAM]);
        assert!(get["responses"].get("404").is_some());
        assert_eq!(get["parameters"][0]["name"], LAST_EVENT_ID);
        assert_eq!(live["components"], doc()["components"]);
    }

    #[test]
    fn events_of_s2s_shape() {
        let ops = of(&spec(&doc()));
        assert_eq!(
            ops,
            [LiveOperation {
                id: "read".to_owned(),
                data_event: "batch".to_owned(),
                data: "Batch".to_owned(),
                ping: Some("Ping".to_owned()),
            }]
        );
        let (code, notes) = render(&ops, |s| Some(s.to_owned()));
        assert!(notes.is_empty());
        assert!(code.contains("live::builder::Read<'a>"), "{code}");
        assert!(
            code.contains("const DATA_EVENT: &'static str = \"batch\""),
            "{code}"
        );
        let (code, notes) = render(&ops, |_| None);
        assert!(code.is_empty() && notes.len() == 1);
        // No event with an id: nothing to resume after, no live read.
        let mut doc = doc();
        doc["components"]["schemas"]["Event"]["oneOf"][0]["required"] = json!(["event"]);
        assert!(of(&spec(&doc)).is_empty());
    }
}
