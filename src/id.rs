//! Access token ids: the spec's rules, S2's own rules, and the guarantee
//! that an id travels as exactly one path segment.

use std::fmt;
use std::sync::LazyLock;

use url::Url;

use crate::generated::types::AccessTokenIdStr;

/// S2's limit on id length, in bytes (the spec's `maxLength` counts
/// characters, S2's server counts bytes).
pub const MAX_ID_BYTES: usize = 96;

/// An access token id that passed every check and can be revoked.
///
/// Build one with [`AccessTokenId::new`] or `parse()`. Ids with `/`, `?`,
/// `#`, `%`, spaces or non-ASCII characters are valid: they are
/// percent-encoded as one path segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessTokenId(AccessTokenIdStr);

impl AccessTokenId {
    /// Validates `id` against the spec (`AccessTokenIdStr`: 1 to 96
    /// characters), S2's rules (not `.` or `..`, no NUL byte, at most 96
    /// bytes) and the path guard (the generated client must send it as one
    /// path segment that decodes back to it).
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidId> {
        Self::parse(&id.into())
    }

    /// [`new`](Self::new) from a borrowed id: the generated type copies it
    /// anyway, so there is no need for an owned one first.
    pub(crate) fn parse(id: &str) -> Result<Self, InvalidId> {
        check(id)
            .map(Self)
            .map_err(|reason| InvalidId::new(id, reason))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id as the generated client's parameter type.
    pub fn as_generated(&self) -> &AccessTokenIdStr {
        &self.0
    }
}

impl From<AccessTokenId> for AccessTokenIdStr {
    fn from(id: AccessTokenId) -> Self {
        id.0
    }
}

impl AsRef<str> for AccessTokenId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for AccessTokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AccessTokenId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        Self::parse(s)
    }
}

impl TryFrom<String> for AccessTokenId {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::new(s)
    }
}

impl TryFrom<&str> for AccessTokenId {
    type Error = InvalidId;
    fn try_from(s: &str) -> Result<Self, InvalidId> {
        Self::parse(s)
    }
}

impl From<AccessTokenId> for String {
    fn from(id: AccessTokenId) -> String {
        id.0.into()
    }
}

/// Why an id was refused. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdRejection {
    /// The id is empty.
    Empty,
    /// The spec's `AccessTokenIdStr` refused it; the generated validator's
    /// reason is kept.
    Spec(String),
    /// Longer than S2's 96-byte limit (S2 counts bytes, not characters).
    TooManyBytes(usize),
    /// `.` or `..`, which URL resolution would turn into another path.
    DotSegment,
    /// Contains a NUL byte, which S2 refuses.
    Nul,
    /// The generated path encoder would not send it as one path segment
    /// (for example a `\`, which URL parsing treats as `/`).
    NotOnePathSegment,
}

impl fmt::Display for IdRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::Spec(reason) => write!(f, "the spec's AccessTokenIdStr says: {reason}"),
            Self::TooManyBytes(n) => write!(
                f,
                "it is {n} bytes long; S2 allows at most {MAX_ID_BYTES} bytes"
            ),
            Self::DotSegment => f.write_str("`.` and `..` would be resolved as relative paths"),
            Self::Nul => f.write_str("it contains a NUL byte"),
            Self::NotOnePathSegment => f.write_str(
                "the generated client would not send it as one URL path segment: progenitor's \
                 path encoder leaves `\\` (or another character) for URL parsing to read as \
                 a separator, so S2 would be asked about another id",
            ),
        }
    }
}

/// An id that was refused before anything was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid access token id {id}: {reason}")]
pub struct InvalidId {
    id: String,
    reason: IdRejection,
}

impl InvalidId {
    fn new(id: &str, reason: IdRejection) -> Self {
        Self {
            id: shown(id),
            reason,
        }
    }

    /// Why it was refused.
    pub fn reason(&self) -> &IdRejection {
        &self.reason
    }

    /// The id, quoted and escaped, and shortened when long.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Quotes and escapes an id for messages, keeping at most 100 characters.
fn shown(id: &str) -> String {
    const KEEP: usize = 100;
    let mut out: String = format!("{:?}", id.chars().take(KEEP).collect::<String>());
    if id.chars().count() > KEEP {
        out.push('…');
    }
    out
}

/// S2's own id rules (crate `s2-common`), shared by the client and the local
/// server.
pub(crate) fn s2_rules(id: &str) -> Result<(), IdRejection> {
    if id.is_empty() {
        return Err(IdRejection::Empty);
    }
    if id.len() > MAX_ID_BYTES {
        return Err(IdRejection::TooManyBytes(id.len()));
    }
    if id == "." || id == ".." {
        return Err(IdRejection::DotSegment);
    }
    if id.contains('\0') {
        return Err(IdRejection::Nul);
    }
    Ok(())
}

fn check(id: &str) -> Result<AccessTokenIdStr, IdRejection> {
    if id.is_empty() {
        return Err(IdRejection::Empty);
    }
    let generated = AccessTokenIdStr::try_from(id).map_err(|e| IdRejection::Spec(e.to_string()))?;
    s2_rules(id)?;
    // Letters, digits, `-`, `.`, `_`, `~` are left alone by the encoder and
    // by URL parsing, and make a dot segment only as `.` or `..`, which
    // `s2_rules` refused: such an id (most are) is one segment as it is.
    if id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return Ok(generated);
    }
    static GUARD_BASE: LazyLock<Option<Url>> =
        LazyLock::new(|| Url::parse("http://localhost/v1/").ok());
    let base = GUARD_BASE.as_ref().ok_or(IdRejection::NotOnePathSegment)?;
    revoke_url(base, id)?;
    Ok(generated)
}

/// The path guard: the URL the generated client will request for `id`,
/// checked to be `<base>/access-tokens/<segment>` with `segment` decoding
/// back to `id`. The generated code requests
/// `format!("{base}/access-tokens/{}", encode_path(id))`, and its encoder
/// leaves `.` and `\` alone, which URL parsing reinterprets (`..` climbs a
/// segment, `\` splits one under http and https).
///
/// Only the part after the base depends on the id, and URL parsing treats
/// that part alike under every http(s) base (a property test holds this
/// against the generated code's own URL for several endpoints). So the
/// verdict is taken once per id, in [`AccessTokenId::new`], against a fixed
/// base, and the id part is parsed relative to the base, without parsing
/// the host again: a full parse costs three times as much.
///
/// `dir` is the base with a trailing `/` (`http://localhost/v1/`), so that
/// the relative reference lands under it rather than beside it.
pub(crate) fn revoke_url(dir: &Url, id: &str) -> Result<Url, IdRejection> {
    let relative = format!("access-tokens/{}", progenitor_client::encode_path(id));
    let url = dir
        .join(&relative)
        .map_err(|_| IdRejection::NotOnePathSegment)?;
    let one_segment = url.query().is_none()
        && url.fragment().is_none()
        && url
            .path()
            .strip_prefix(dir.path())
            .and_then(|rest| rest.strip_prefix("access-tokens/"))
            .is_some_and(|segment| {
                !segment.contains('/')
                    && percent_encoding::percent_decode_str(segment)
                        .decode_utf8()
                        .is_ok_and(|decoded| decoded == id)
            });
    if one_segment {
        Ok(url)
    } else if id == "." || id == ".." {
        Err(IdRejection::DotSegment)
    } else {
        Err(IdRejection::NotOnePathSegment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(id: &str) -> IdRejection {
        AccessTokenId::new(id).unwrap_err().reason().clone()
    }

    #[test]
    fn ordinary_and_unusual_ids_are_accepted() {
        for id in [
            "abc", "a/b", "a?b", "a#b", "100%", "a b", "é", "a.b", "...", ".a", "%2e%2e", "a;b",
            "~",
        ] {
            AccessTokenId::new(id).unwrap_or_else(|e| panic!("{id:?}: {e}"));
        }
        AccessTokenId::new("x".repeat(96)).unwrap();
    }

    #[test]
    fn s2_rules_and_the_path_guard_name_their_reason() {
        for (id, reason) in [
            ("", IdRejection::Empty),
            // 60 characters, 120 bytes: the spec allows it, S2 does not.
            (&"é".repeat(60), IdRejection::TooManyBytes(120)),
            (".", IdRejection::DotSegment),
            ("..", IdRejection::DotSegment),
            ("a\0b", IdRejection::Nul),
        ] {
            assert_eq!(s2_rules(id), Err(reason), "{id:?}");
        }
        s2_rules(&"é".repeat(48)).unwrap();
        let base = Url::parse("http://localhost/v1/").unwrap();
        for id in ["..\\admin", "a\\b", "\\", "..\\..\\x"] {
            assert_eq!(
                revoke_url(&base, id),
                Err(IdRejection::NotOnePathSegment),
                "{id:?}"
            );
        }
    }

    /// Through [`AccessTokenId::new`], which checks the spec's type first:
    /// a newer spec (a `pattern`, another `maxLength`) may refuse an id
    /// before S2's rules do. Whichever refuses it, it is refused and says
    /// why.
    #[test]
    fn refused_ids_are_refused_with_a_reason_whichever_rule_comes_first() {
        type Expected = fn(&IdRejection) -> bool;
        let cases: [(&str, Expected); 9] = [
            ("", |r| *r == IdRejection::Empty),
            (&"x".repeat(97), |r| {
                matches!(r, IdRejection::TooManyBytes(97))
                    || matches!(r, IdRejection::Spec(m) if m.contains("96"))
            }),
            (&"é".repeat(60), |r| *r == IdRejection::TooManyBytes(120)),
            (".", |r| *r == IdRejection::DotSegment),
            ("..", |r| *r == IdRejection::DotSegment),
            ("a\0b", |r| *r == IdRejection::Nul),
            ("..\\admin", |r| *r == IdRejection::NotOnePathSegment),
            ("a\\b", |r| *r == IdRejection::NotOnePathSegment),
            ("\\", |r| *r == IdRejection::NotOnePathSegment),
        ];
        for (id, expected) in cases {
            let reason = reason(id);
            assert!(
                expected(&reason) || matches!(&reason, IdRejection::Spec(m) if !m.is_empty()),
                "{id:?}: {reason:?}"
            );
            assert!(!reason.to_string().is_empty());
        }
    }

    #[test]
    fn messages_are_one_line_and_bounded() {
        let err = AccessTokenId::new(format!("{}\n", "x".repeat(500))).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.len() < 400, "{msg}");
        assert!(msg.starts_with("invalid access token id \"xxx"), "{msg}");
    }

    #[test]
    fn revoke_url_keeps_the_base_path() {
        let base = Url::parse("https://proxy.test:8443/s2/v1/").unwrap();
        let url = revoke_url(&base, "a/b c").unwrap();
        assert_eq!(
            url.as_str(),
            "https://proxy.test:8443/s2/v1/access-tokens/a%2Fb%20c"
        );
    }

    /// The URL the generated code builds for `id` under `base`.
    fn generated_url(base: &str, id: &str) -> Option<Url> {
        Url::parse(&format!(
            "{base}/access-tokens/{}",
            progenitor_client::encode_path(id)
        ))
        .ok()
    }

    const BASES: [&str; 5] = [
        "http://localhost/v1",
        "https://aws.s2.dev/v1",
        "http://127.0.0.1:8080/v1",
        "http://[::1]:9000/s2/v1",
        "https://proxy.test:8443/a/b%20c/v1",
    ];

    proptest::proptest! {
        /// The fast path takes only ids the full guard accepts.
        #[test]
        fn plain_ids_pass_the_full_guard(id in "[A-Za-z0-9._~-]{1,96}") {
            let base = Url::parse("http://localhost/v1/").unwrap();
            let full = revoke_url(&base, &id);
            let plain = AccessTokenId::new(id.as_str());
            proptest::prop_assert_eq!(full.is_ok(), plain.is_ok(), "{:?}", id);
        }

        /// The guard's verdict does not depend on the endpoint, and the URL
        /// it checks is the one the generated code requests.
        #[test]
        fn verdict_is_the_same_under_every_base(
            id in "[./\\\\%?#a-c\\t\\n ]{1,6}|\\PC{1,12}"
        ) {
            let fixed = revoke_url(&Url::parse("http://localhost/v1/").unwrap(), &id).is_ok();
            for base in BASES {
                let guarded = revoke_url(&Url::parse(&format!("{base}/")).unwrap(), &id);
                proptest::prop_assert_eq!(guarded.is_ok(), fixed, "{:?} under {}", id, base);
                if let Ok(url) = guarded {
                    proptest::prop_assert_eq!(Some(url), generated_url(base, &id));
                }
            }
        }
    }
}
