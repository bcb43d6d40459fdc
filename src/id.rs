//! Access token ids: the spec's rules, S2's own rules, and the guarantee
//! that an id travels as exactly one path segment.

use std::fmt;

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
        let id = id.into();
        check(&id)
            .map(Self)
            .map_err(|reason| InvalidId::new(&id, reason))
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
        Self::new(s)
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
        Self::new(s)
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
            Self::TooManyBytes(n) => {
                write!(
                    f,
                    "it is {n} bytes long; S2 allows at most {MAX_ID_BYTES} bytes"
                )
            }
            Self::DotSegment => f.write_str("`.` and `..` would be resolved as relative paths"),
            Self::Nul => f.write_str("it contains a NUL byte"),
            Self::NotOnePathSegment => f.write_str(
                "it cannot be sent as a single URL path segment (it contains `\\` or another \
                 character the generated encoder leaves for URL parsing to reinterpret)",
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
    pub(crate) fn for_id(id: &str, reason: IdRejection) -> Self {
        Self::new(id, reason)
    }

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
    // The path guard against a fixed base; `Client` repeats it against its
    // real endpoint.
    static BASE: std::sync::LazyLock<Option<Url>> =
        std::sync::LazyLock::new(|| Url::parse("http://localhost/v1").ok());
    let base = BASE.as_ref().ok_or(IdRejection::NotOnePathSegment)?;
    revoke_url(base, id)?;
    Ok(generated)
}

/// The URL the generated client will request for `id`, built exactly as the
/// generated code builds it, and checked to be `<base>/access-tokens/<seg>`
/// with `seg` decoding back to `id`. This is the guard against the
/// generated encoder's path traversal (it leaves `.` and `\` alone).
pub(crate) fn revoke_url(base: &Url, id: &str) -> Result<Url, IdRejection> {
    let base_str = base.as_str().trim_end_matches('/');
    let raw = format!(
        "{base_str}/access-tokens/{}",
        progenitor_client::encode_path(id)
    );
    let url = Url::parse(&raw).map_err(|_| IdRejection::NotOnePathSegment)?;
    let expected_prefix: Vec<&str> = base
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .chain(["access-tokens"])
        .collect();
    let segments: Vec<&str> = url.path_segments().into_iter().flatten().collect();
    let one_segment = segments.len() == expected_prefix.len() + 1
        && segments[..expected_prefix.len()] == expected_prefix[..]
        && url.query().is_none()
        && url.fragment().is_none()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
        && segments.last().is_some_and(|last| {
            percent_encoding::percent_decode_str(last)
                .decode_utf8()
                .ok()
                .as_deref()
                == Some(id)
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
    fn each_rule_names_its_reason() {
        assert_eq!(reason(""), IdRejection::Empty);
        assert!(matches!(reason(&"x".repeat(97)), IdRejection::Spec(r) if r.contains("96")));
        // 60 characters, 120 bytes: the spec allows it, S2 does not.
        assert_eq!(reason(&"é".repeat(60)), IdRejection::TooManyBytes(120));
        assert_eq!(reason("."), IdRejection::DotSegment);
        assert_eq!(reason(".."), IdRejection::DotSegment);
        assert_eq!(reason("a\0b"), IdRejection::Nul);
        for id in ["..\\admin", "a\\b", "\\", "..\\..\\x"] {
            assert_eq!(reason(id), IdRejection::NotOnePathSegment, "{id:?}");
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
        let base = Url::parse("https://proxy.test:8443/s2/v1").unwrap();
        let url = revoke_url(&base, "a/b c").unwrap();
        assert_eq!(
            url.as_str(),
            "https://proxy.test:8443/s2/v1/access-tokens/a%2Fb%20c"
        );
    }
}
