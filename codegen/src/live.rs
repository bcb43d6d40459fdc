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
//! resumable one also an `id`. The model reads which event that is from
//! the event-stream schema (its `LiveRead`), and the `live_reads` module
//! makes each such operation a `LiveRead` of the crate.

use serde_json::{Map, Value, json};

use crate::doc::{HTTP_METHODS, resolve};

/// The media type of Server-Sent Events.
pub const EVENT_STREAM: &str = "text/event-stream";

/// The header that resumes an event stream after the event it names.
pub const LAST_EVENT_ID: &str = "last-event-id";

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
pub fn event_stream(response: &Value) -> Option<&Value> {
    response.get("content")?.get(EVENT_STREAM)
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
}
