//! Each operation's builder, awaited, gives the crate's `Error`.
//!
//! progenitor's `send()` returns its own error type, so `?` into
//! `anyhow::Error` or `Box<dyn Error>` keeps progenitor's error. For every
//! operation whose success type can be named, the generator implements
//! `IntoFuture` for its builder: `client.generated().list_basins().await?`
//! gives the success value itself and the crate's `Error`; and `response()`
//! gives the whole response (status and headers too, such as whether an
//! ensure created) with the crate's `Error`.

use std::fmt::Write as _;

use crate::doc::pascal;
use crate::model::{Operation, Output, SpecModel, TypeNames};

/// The Rust type of `op`'s success, when it is named among the generated
/// `types`.
fn output(op: &Operation, types: &TypeNames) -> Option<String> {
    match op.output.as_ref()? {
        Output::Unit => Some("()".to_owned()),
        Output::Bytes => Some("progenitor_client::ByteStream".to_owned()),
        Output::Type(name) => types
            .contains(name)
            .then(|| format!("crate::generated::types::{name}")),
    }
}

/// The `IntoFuture` impls, for `include!` in the crate, of the operations
/// whose success type is named among the generated `types`, and a note for
/// each left out.
pub fn render(model: &SpecModel, types: &TypeNames) -> (String, Vec<String>) {
    let notes = model
        .operations
        .iter()
        .filter(|op| output(op, types).is_none())
        .map(|op| {
            format!(
                "{}: its success type is not named in the spec, so awaiting its builder \
                 is left out (`send()` works)",
                op.id
            )
        })
        .collect();
    let mut code = String::new();
    for op in model.by_id() {
        let (Some(builder), Some(output)) = (pascal(&op.id), output(op, types)) else {
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
            id = op.id,
        );
    }
    (code, notes)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::tests::{model, operation};

    fn with(id: &str, output: Option<Output>) -> Operation {
        Operation {
            output,
            ..operation(id)
        }
    }

    #[test]
    fn a_builder_awaits_to_its_named_success_type() {
        let model = model(vec![
            with("put_thing", None),
            with("get_thing", Some(Output::Type("Thing".to_owned()))),
            with("raw_thing", Some(Output::Bytes)),
            with("delete_thing", Some(Output::Unit)),
            with("get_other", Some(Output::Type("Other".to_owned()))),
        ]);
        let types: TypeNames = BTreeSet::from(["Thing".to_owned()]).into();
        let (code, notes) = render(&model, &types);
        let impls: Vec<&str> = code
            .lines()
            .filter_map(|l| l.strip_prefix("    type Output = Result<"))
            .collect();
        assert_eq!(
            impls,
            [
                "(), crate::error::Error>;",
                "crate::generated::types::Thing, crate::error::Error>;",
                "progenitor_client::ByteStream, crate::error::Error>;",
            ],
            "{code}"
        );
        assert!(
            code.contains("for crate::generated::builder::GetThing<'a>"),
            "{code}"
        );
        // Notes in the document's order: no success type, or one not
        // generated.
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("put_thing:"), "{notes:?}");
        assert!(notes[1].starts_with("get_other:"), "{notes:?}");
        syn::parse_file(&code).unwrap();
    }
}
