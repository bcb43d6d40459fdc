//! The Rust that makes each live read of the model a stream
//! (`s2_openapi::LiveRead`), on the live client's builder
//! ([`crate::live`]).

use std::fmt::Write as _;

use crate::doc::pascal;
use crate::model::{SpecModel, TypeNames};

/// The `LiveRead` impls of the model's live reads, for `include!` in the
/// crate's `live` module. An operation whose Rust names cannot be derived
/// with certainty (a schema without a generated type among `types`) is
/// left out, with a note.
pub fn render(model: &SpecModel, types: &TypeNames) -> (String, Vec<String>) {
    let mut code = String::new();
    let mut notes = Vec::new();
    for op in model.by_id() {
        let Some(live) = &op.live_read else { continue };
        let builder = pascal(&op.id);
        let data = types.of(&live.data);
        let ping = match &live.ping {
            Some(ping) => types
                .of(ping)
                .map(|t| format!("crate::generated::types::{t}")),
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
            event = live.data_event,
        );
    }
    (code, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{model, operation};
    use crate::model::{LiveRead, Operation};

    fn read(id: &str, ping: Option<&str>) -> Operation {
        Operation {
            live_read: Some(LiveRead {
                data_event: "batch".to_owned(),
                data: "Batch".to_owned(),
                ping: ping.map(str::to_owned),
            }),
            ..operation(id)
        }
    }

    #[test]
    fn each_live_read_streams_its_data_event() {
        let model = model(vec![
            read("read", Some("Ping")),
            operation("append"),
            read("tail", None),
        ]);
        let types = ["Batch", "Ping"].map(str::to_owned);
        let (code, notes) = render(&model, &std::collections::BTreeSet::from(types).into());
        assert!(notes.is_empty(), "{notes:?}");
        assert!(code.contains("live::builder::Read<'a>"), "{code}");
        assert!(
            code.contains("type Ping = crate::generated::types::Ping;"),
            "{code}"
        );
        assert!(code.contains("type Ping = ::serde_json::Value;"), "{code}");
        assert!(
            code.contains("const DATA_EVENT: &'static str = \"batch\""),
            "{code}"
        );
        assert!(!code.contains("Append"), "{code}");
        syn::parse_file(&code).unwrap();
        // A type progenitor did not generate is a note, not a guess.
        let (code, notes) = render(&model, &TypeNames::default());
        assert!(code.is_empty() && notes.len() == 2, "{code} {notes:?}");
    }
}
