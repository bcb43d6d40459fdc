//! The Rust that makes each cursor list of the model
//! ([`crate::model::CursorList`]) a stream (`s2_openapi::CursorList`).

use std::fmt::Write as _;

use crate::doc::pascal;
use crate::model::{SpecModel, TypeNames};

/// A property name that is the same Rust field name: already snake_case,
/// and an identifier (not a keyword).
fn field(name: &str) -> Option<&str> {
    use heck::ToSnakeCase as _;
    (name == name.to_snake_case() && syn::parse_str::<syn::Ident>(name).is_ok()).then_some(name)
}

/// The `CursorList` impls of the model's cursor lists, for `include!` in
/// the crate's `list` module. An operation whose Rust names cannot be
/// derived with certainty (a schema without a generated type among
/// `types`, a property that is not a field name) is left out, with a note.
pub fn render(model: &SpecModel, types: &TypeNames) -> (String, Vec<String>) {
    let mut code = String::new();
    let mut notes = Vec::new();
    for op in model.by_id() {
        let Some(list) = &op.cursor_list else {
            continue;
        };
        let names = (
            pascal(&op.id),
            types.of(&list.page),
            types.of(&list.item),
            field(&list.items),
            field(&list.cursor),
        );
        let (Some(builder), Some(page), Some(item), Some(items), Some(cursor)) = names else {
            notes.push(format!(
                "{}: a cursor list, left without a stream (its Rust names are not plain)",
                op.id
            ));
            continue;
        };
        let _ = write!(
            code,
            "/// `{id}`, page by page after each page's last `{cursor}`.\n\
             impl<'a> crate::list::CursorList<'a> for crate::generated::builder::{builder}<'a> {{\n\
             \x20   type Page = crate::generated::types::{page};\n\
             \x20   type Item = crate::generated::types::{item};\n\
             \x20   fn after(self, cursor: String) -> Self {{ self.start_after(cursor) }}\n\
             \x20   async fn fetch(self) -> Result<Self::Page, crate::error::Error> {{\n\
             \x20       Ok(self.send().await?.into_inner())\n\
             \x20   }}\n\
             \x20   fn items_of(page: &Self::Page) -> &[Self::Item] {{ &page.{items} }}\n\
             \x20   fn into_items(page: Self::Page) -> Vec<Self::Item> {{ page.{items} }}\n\
             \x20   fn has_more(page: &Self::Page) -> bool {{ page.has_more }}\n\
             \x20   fn cursor(item: &Self::Item) -> String {{ String::from(item.{cursor}.clone()) }}\n\
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
    use crate::model::{CursorList, Operation};

    fn list(id: &str, items: &str) -> Operation {
        Operation {
            cursor_list: Some(CursorList {
                page: "ListThingsResponse".to_owned(),
                items: items.to_owned(),
                item: "ThingInfo".to_owned(),
                cursor: "id".to_owned(),
            }),
            ..operation(id)
        }
    }

    #[test]
    fn each_cursor_list_streams_its_items() {
        let model = model(vec![list("list_things", "things"), operation("get_thing")]);
        let types: TypeNames =
            BTreeSet::from(["ListThingsResponse", "ThingInfo"].map(str::to_owned)).into();
        let (code, notes) = render(&model, &types);
        assert!(notes.is_empty(), "{notes:?}");
        assert!(
            code.contains("for crate::generated::builder::ListThings<'a>"),
            "{code}"
        );
        assert!(code.contains("&page.things"), "{code}");
        assert!(code.contains("item.id.clone()"), "{code}");
        assert!(!code.contains("GetThing"), "{code}");
        syn::parse_file(&code).unwrap();
        // An unknown type name is a note, not a guess; so is an array
        // property that is no Rust field name.
        let (code, notes) = render(&model, &TypeNames::default());
        assert!(code.is_empty() && notes.len() == 1, "{code} {notes:?}");
        let model = crate::model::tests::model(vec![list("list_things", "type")]);
        let (code, notes) = render(&model, &types);
        assert!(code.is_empty() && notes.len() == 1, "{code} {notes:?}");
    }

    #[test]
    fn field_names_as_progenitor_makes_them() {
        assert_eq!(field("has_more"), Some("has_more"));
        for not_a_field in ["type", "as", "in", "async", "hasMore", "a-b"] {
            assert_eq!(field(not_a_field), None, "{not_a_field}");
        }
    }
}
