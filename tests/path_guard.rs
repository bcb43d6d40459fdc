//! For any id, the client either refuses it (and sends nothing) or sends
//! exactly one request to `/v1/access-tokens/<one segment>` whose segment
//! decodes back to the id. Checked on the wire by a recording server.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use proptest::prelude::*;
use s2_openapi::{Error, IdRejection};
use support::{Recorder, Reply, client};

/// Sends `id` and checks the guarantee; returns whether it was sent.
async fn check(server: &Recorder, client: &s2_openapi::Client, id: &str) -> Result<bool, String> {
    let before = server.count();
    let result = client.revoke_access_token(id).await;
    let seen = server.requests();
    let new = &seen[before..];
    match result {
        Err(Error::Invalid(s2_openapi::InvalidInput::Id(_))) => {
            if new.is_empty() {
                Ok(false)
            } else {
                Err(format!(
                    "{id:?} was refused but {} request(s) went out",
                    new.len()
                ))
            }
        }
        Ok(_) => {
            let [request] = new else {
                return Err(format!("{id:?}: {} requests went out", new.len()));
            };
            let segment = request
                .target
                .strip_prefix("/v1/access-tokens/")
                .ok_or_else(|| format!("{id:?} went to {}", request.target))?;
            if segment.contains('/') || segment.contains('?') || segment.contains('#') {
                return Err(format!("{id:?} went to {}", request.target));
            }
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            if decoded != id {
                return Err(format!(
                    "{id:?} was sent as {segment:?}, which decodes to {decoded:?}"
                ));
            }
            Ok(true)
        }
        Err(e) => Err(format!("{id:?}: unexpected error {e}")),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_guides_traversal_ids_are_refused_and_nothing_is_sent() {
    runtime().block_on(async {
        let server = Recorder::always(Reply::status(204)).await;
        let client = client(&server.endpoint);
        for id in [".", "..", "..\\admin", "..\\..\\x", "a\\b", "\\"] {
            let err = client.revoke_access_token(id).await.unwrap_err();
            let Error::Invalid(s2_openapi::InvalidInput::Id(invalid)) = &err else {
                panic!("{id:?}: {err:?}")
            };
            // The wrapper's own rules refuse them; a newer spec's type (a
            // `pattern`) may refuse them first. Either way, with a reason.
            assert!(
                matches!(
                    invalid.reason(),
                    IdRejection::DotSegment | IdRejection::NotOnePathSegment
                ) || matches!(invalid.reason(), IdRejection::Spec(m) if !m.is_empty()),
                "{id:?}: {err}"
            );
        }
        assert_eq!(server.count(), 0);
    });
}

#[test]
fn ids_with_reserved_characters_are_sent_as_one_segment() {
    runtime().block_on(async {
        let server = Recorder::always(Reply::status(204)).await;
        let client = client(&server.endpoint);
        for id in [
            "a/b", "a?b=c", "a#b", "100%", "%2e%2e", "a b", "é", "...", "a/../b", "./a", "a\t",
        ] {
            assert_eq!(check(&server, &client, id).await, Ok(true), "{id:?}");
        }
    });
}

fn tricky_id() -> impl Strategy<Value = String> {
    prop_oneof![
        // Short strings over the characters that matter to URL parsing.
        proptest::collection::vec(
            prop_oneof![
                Just('.'),
                Just('/'),
                Just('\\'),
                Just('%'),
                Just('?'),
                Just('#'),
                Just(' '),
                Just(';'),
                Just('\0'),
                Just('\t'),
                Just('é'),
                Just('a'),
                Just('2'),
                Just('e'),
                Just('\u{3002}'),
                Just('\u{ff0e}'),
            ],
            0..8,
        )
        .prop_map(|chars| chars.into_iter().collect()),
        // Any Unicode, around the length limits.
        any::<String>(),
        "\\PC{90,100}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_id_is_refused_or_sent_to_exactly_its_segment(ids in proptest::collection::vec(tricky_id(), 1..8)) {
        let rt = runtime();
        let outcome: Result<(), String> = rt.block_on(async {
            let server = Recorder::always(Reply::status(204)).await;
            let client = client(&server.endpoint);
            for id in &ids {
                check(&server, &client, id).await?;
            }
            Ok(())
        });
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}
