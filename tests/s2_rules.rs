//! The crate's copies of S2's name rules, against S2's own: the crate
//! `s2-common` (the version s2-sdk uses), whose `FromStr` is what S2's
//! server applies.

use proptest::prelude::*;
use s2_openapi::{AccessTokenId, BasinName, IdRejection};

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
}
