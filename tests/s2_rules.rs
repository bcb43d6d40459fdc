//! The crate's copies of S2's rules, against S2's own: the name rules of
//! the crate `s2-common` (the version s2-sdk uses), whose `FromStr` is what
//! S2's server applies, and the error table of `s2-api`.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use s2_openapi::{AccessTokenId, BasinName, ErrorCode, IdRejection};

#[cfg(s2_operation = "append")]
mod support;

/// Ids around every rule: lengths across 96 bytes in one- and two-byte
/// characters, dot segments, NUL, separators URL parsing reinterprets, and
/// any text at all.
fn ids() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._~-]{0,100}",
        "[a-z./\\\\%?#\u{0}é -]{0,8}",
        "é{40,56}",
        "[a-z]{90,100}",
        Just(".".to_owned()),
        Just("..".to_owned()),
        any::<String>(),
    ]
}

/// Names around every rule: lengths across 8 and 48 bytes, hyphens and
/// other characters at either end, upper case, and any text at all.
fn basin_names() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{0,52}",
        "[a-zA-Z0-9_.é -]{6,10}",
        "-?[a-z0-9]{6,47}-?",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Every id S2 refuses is refused before anything is sent. An id S2
    /// accepts is refused only when the generated client cannot send it
    /// as one path segment (a `\`, which URL parsing reads as `/`), and
    /// the error says so.
    #[test]
    fn access_token_ids_are_refused_as_s2_refuses_them(id in ids()) {
        let s2 = id.parse::<s2_common::access::AccessTokenId>();
        match (AccessTokenId::new(id.clone()), s2) {
            (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) => prop_assert!(false, "{id:?} accepted; S2 refuses it: {e}"),
            (Err(e), Ok(_)) => prop_assert_eq!(e.reason(), &IdRejection::NotOnePathSegment, "{:?}", id),
        }
    }

    #[test]
    fn basin_names_are_refused_exactly_as_s2_refuses_them(name in basin_names()) {
        let s2 = name.parse::<s2_common::basin::BasinName>();
        prop_assert_eq!(
            BasinName::new(name.clone()).is_ok(),
            s2.is_ok(),
            "{:?}: ours {:?}, S2's {:?}",
            name,
            BasinName::new(name.clone()).err().map(|e| e.to_string()),
            s2.err().map(|e| e.to_string())
        );
    }
}

/// The limits the crate states are S2's.
#[test]
fn the_stated_limits_are_s2s() {
    use s2_common::caps;
    assert_eq!(s2_openapi::MAX_ID_BYTES, caps::MAX_ACCESS_TOKEN_ID_LEN);
    assert_eq!(s2_openapi::MIN_BASIN_NAME_BYTES, caps::MIN_BASIN_NAME_LEN);
    assert_eq!(s2_openapi::MAX_BASIN_NAME_BYTES, caps::MAX_BASIN_NAME_LEN);
    #[cfg(s2_operation = "append")]
    {
        assert_eq!(s2_openapi::MAX_BATCH_RECORDS, caps::RECORD_BATCH_MAX.count);
        assert_eq!(s2_openapi::MAX_BATCH_BYTES, caps::RECORD_BATCH_MAX.bytes);
    }
}

#[cfg(s2_operation = "append")]
proptest::proptest! {
    /// A record's metered size is S2's, whatever its headers and body.
    #[test]
    fn a_records_metered_size_is_s2s(
        headers in proptest::collection::vec(
            (proptest::collection::vec(proptest::num::u8::ANY, 0..40),
             proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
            0..6,
        ),
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
    ) {
        use s2_common::record::{Header, MeteredSize as _, Record};

        let mut ours = s2_openapi::types::AppendRecord::new(body.clone());
        let mut theirs = Vec::new();
        for (name, value) in headers {
            ours = ours.with_header(name.clone(), value.clone());
            theirs.push(Header { name: name.into(), value: value.into() });
        }
        // S2 refuses an empty header name outside a command record, and
        // such a record does not meter: skip those.
        if let Ok(record) = Record::try_from_parts(theirs, body.into()) {
            proptest::prop_assert_eq!(ours.metered_size(), record.metered_size());
        }
    }
}

/// The crate's table of S2's error codes (status, retryable, side
/// effects) is `s2-api`'s, code for code.
#[test]
fn the_error_table_is_s2s() {
    let s2 = s2_api_codes();
    assert!(!s2.is_empty(), "no codes enumerated from s2-api");
    for &theirs in &s2 {
        let wire: &'static str = theirs.into();
        let ours = ErrorCode::from(wire);
        assert!(
            !matches!(ours, ErrorCode::Unknown(_)),
            "s2-api's `{wire}` is unknown to the crate"
        );
        assert_eq!(ours.as_str(), wire);
        assert_eq!(
            ours.status().map(|s| s.as_u16()),
            Some(theirs.status().as_u16()),
            "status of `{wire}`"
        );
        assert_eq!(
            ours.is_retryable(),
            theirs.is_retryable(),
            "retryability of `{wire}`"
        );
        assert_eq!(
            ours.has_no_side_effects(),
            theirs.has_no_side_effects(),
            "side effects of `{wire}`"
        );
    }
    for ours in ErrorCode::KNOWN {
        assert!(
            ours.as_str()
                .parse::<s2_api::v1::error::ErrorCode>()
                .is_ok(),
            "the crate knows `{ours}`, s2-api does not"
        );
    }
    assert_eq!(ErrorCode::KNOWN.len(), s2.len());
}

/// Every code of S2's own table (`s2_api::v1::error::ErrorCode`),
/// enumerated from s2-api itself rather than from a list kept by hand.
///
/// s2-api's enum is `#[non_exhaustive]`, so a `match` on it outside its
/// crate needs a wildcard arm and would not fail to compile when S2 adds
/// a code; it derives no iterator (strum's `EnumIter`) and has no list
/// of its variants. Its derived serde `Deserialize` does hold that list:
/// it hands every variant's name to `Deserializer::deserialize_enum`. A
/// deserializer that only records those names therefore sees each code
/// S2 adds, and each name then deserializes to its variant.
fn s2_api_codes() -> Vec<s2_api::v1::error::ErrorCode> {
    use serde::Deserialize;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::{Error as _, Visitor};
    use std::cell::Cell;

    struct VariantNames<'a>(&'a Cell<&'static [&'static str]>);

    impl<'de> serde::Deserializer<'de> for VariantNames<'_> {
        type Error = DeError;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, DeError> {
            Err(DeError::custom("not an enum"))
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, DeError> {
            self.0.set(variants);
            Err(DeError::custom("variant names recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct identifier ignored_any
        }
    }

    let names = Cell::new(&[][..]);
    // The error is the point: the names were recorded on the way.
    let _ = s2_api::v1::error::ErrorCode::deserialize(VariantNames(&names));
    names
        .get()
        .iter()
        .map(|&name| {
            s2_api::v1::error::ErrorCode::deserialize(StrDeserializer::<DeError>::new(name))
                .unwrap_or_else(|e| panic!("s2-api's variant {name}: {e}"))
        })
        .collect()
}

/// Command records are S2's: the same header and body as `s2-common`
/// makes them, and the same metered size.
#[cfg(s2_operation = "append")]
#[test]
fn command_records_are_s2s() {
    use s2_common::record::{CommandRecord, MeteredSize as _, Record};

    let token: s2_common::record::FencingToken = "writer-1".parse().unwrap();
    let cases = [
        (
            s2_openapi::types::AppendRecord::fence("writer-1"),
            Record::Command(CommandRecord::Fence(token)),
        ),
        (
            s2_openapi::types::AppendRecord::trim(0x0102_0304_0506_0708),
            Record::Command(CommandRecord::Trim(0x0102_0304_0506_0708)),
        ),
    ];
    for (ours, theirs) in cases {
        assert_eq!(ours.metered_size(), theirs.metered_size());
        let (headers, body) = theirs.into_parts();
        assert_eq!(ours.body.as_deref(), Some(&body[..]));
        assert_eq!(ours.headers.len(), headers.len());
        for (ours, theirs) in ours.headers.iter().zip(&headers) {
            assert_eq!(ours.name().as_bytes(), &theirs.name[..]);
            assert_eq!(ours.value().as_bytes(), &theirs.value[..]);
        }
    }
}

/// S2's failed append conditions, as `s2-api` writes them, answered by a
/// loopback server: read in words and typed.
#[cfg(s2_operation = "append")]
#[tokio::test]
async fn failed_conditions_are_read_as_s2_writes_them() {
    use s2_api::v1::stream::AppendConditionFailed;
    use s2_openapi::generated::DeclaredError;
    use s2_openapi::types;
    use support::faults::{Fault, FaultServer, client};

    let token: s2_common::record::FencingToken = "writer-1".parse().unwrap();
    let cases = [
        (AppendConditionFailed::SeqNumMismatch(42), "number 42"),
        (
            AppendConditionFailed::FencingTokenMismatch(token),
            "\"writer-1\"",
        ),
    ];
    for (theirs, words) in cases {
        let body = serde_json::to_vec(&theirs).unwrap();
        let json = vec![("content-type", "application/json".to_owned())];
        let server = FaultServer::start(vec![Fault::Reply(412, json, body)]).await;
        let basin = client(&server.endpoint).basin("my-basin-1").unwrap();
        let input = types::builder::AppendInput::default()
            .records(vec![types::AppendRecord::new("a")])
            .match_seq_num(0u64);
        let error = basin
            .generated()
            .append()
            .stream("s")
            .body(input)
            .await
            .unwrap_err();
        assert!(error.to_string().contains(words), "{error}");
        let s2_openapi::Error::Api(answer) = &error else {
            panic!("{error:?}");
        };
        match (answer.declared().unwrap(), theirs) {
            (
                DeclaredError::AppendConditionFailed(types::AppendConditionFailed::SeqNumMismatch(
                    ours,
                )),
                AppendConditionFailed::SeqNumMismatch(theirs),
            ) => assert_eq!(ours, theirs),
            (
                DeclaredError::AppendConditionFailed(
                    types::AppendConditionFailed::FencingTokenMismatch(ours),
                ),
                AppendConditionFailed::FencingTokenMismatch(theirs),
            ) => assert_eq!(ours.as_str(), theirs.as_ref()),
            (ours, theirs) => panic!("{ours:?} for {theirs:?}"),
        }
    }
}
