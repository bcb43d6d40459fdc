//! Record data as bytes.
//!
//! The generator types every header name, header value and body of S2's
//! records as [`RecordBytes`], and the request layer sends `s2-format:
//! base64` with every operation that carries them: what goes in comes back
//! byte for byte, binary or not, and the encoding and the header that
//! declares it cannot disagree.

use std::fmt;
use std::ops::Deref;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

/// A header name, a header value or a body of an S2 record: bytes, which
/// travel as base64 in JSON. Cheap to clone (a [`Bytes`]).
///
/// ```
/// use s2_openapi::RecordBytes;
///
/// let body = RecordBytes::from(&b"\xff\x00 not UTF-8"[..]);
/// assert_eq!(&body[..2], b"\xff\x00");
/// let text = RecordBytes::from("text is bytes too");
/// assert_eq!(text.to_str(), Some("text is bytes too"));
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordBytes(Bytes);

impl RecordBytes {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The bytes as text, when they are UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl Deref for RecordBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for RecordBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Bytes> for RecordBytes {
    fn from(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

impl From<Vec<u8>> for RecordBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }
}

impl From<&[u8]> for RecordBytes {
    fn from(bytes: &[u8]) -> Self {
        Self(Bytes::copy_from_slice(bytes))
    }
}

impl<const N: usize> From<&[u8; N]> for RecordBytes {
    fn from(bytes: &[u8; N]) -> Self {
        Self(Bytes::copy_from_slice(bytes))
    }
}

impl From<String> for RecordBytes {
    fn from(text: String) -> Self {
        Self(text.into())
    }
}

impl From<&str> for RecordBytes {
    fn from(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<RecordBytes> for Bytes {
    fn from(bytes: RecordBytes) -> Self {
        bytes.0
    }
}

impl From<RecordBytes> for Vec<u8> {
    fn from(bytes: RecordBytes) -> Self {
        bytes.0.into()
    }
}

impl PartialEq<[u8]> for RecordBytes {
    fn eq(&self, other: &[u8]) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&[u8]> for RecordBytes {
    fn eq(&self, other: &&[u8]) -> bool {
        *self.0 == **other
    }
}

/// As a byte string: `b"a\xff"`.
impl fmt::Debug for RecordBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl serde::Serialize for RecordBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&base64::display::Base64Display::new(&self.0, &STANDARD))
    }
}

impl<'de> serde::Deserialize<'de> for RecordBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Base64;
        impl serde::de::Visitor<'_> for Base64 {
            type Value = RecordBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("record data in base64")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RecordBytes, E> {
                STANDARD
                    .decode(text)
                    .map(RecordBytes::from)
                    .map_err(|e| E::custom(format_args!("record data is not base64: {e}")))
            }
        }
        deserializer.deserialize_str(Base64)
    }
}

impl schemars::JsonSchema for RecordBytes {
    fn schema_name() -> String {
        "RecordBytes".to_owned()
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            format: Some("byte".to_owned()),
            ..Default::default()
        }
        .into()
    }
}

/// S2's records as the spec's `append` takes them.
#[cfg(s2_operation = "append")]
impl crate::generated::types::AppendRecord {
    /// A record with this body, no headers, and the time of its append as
    /// its timestamp.
    ///
    /// ```
    /// # #[cfg(s2_operation = "append")] {
    /// use s2_openapi::types::AppendRecord;
    ///
    /// let record = AppendRecord::new("lorem").with_header("content-type", "text/plain");
    /// assert_eq!(record.metered_size(), 8 + 2 + 12 + 10 + 5);
    /// # }
    /// ```
    pub fn new(body: impl Into<RecordBytes>) -> Self {
        Self {
            body: Some(body.into()),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// The record with one more header.
    pub fn with_header(
        mut self,
        name: impl Into<RecordBytes>,
        value: impl Into<RecordBytes>,
    ) -> Self {
        self.headers.push((name, value).into());
        self
    }

    /// The record with its own timestamp (milliseconds), which S2 keeps or
    /// adjusts as the stream's configuration says.
    pub fn with_timestamp(self, timestamp: u64) -> Self {
        Self {
            timestamp: Some(timestamp),
            ..self
        }
    }

    /// S2's command record that sets the stream's fencing token: one
    /// header with an empty name and the value `fence`, the token as the
    /// body (`s2-common`, `record/command.rs`). Appends that carry another
    /// token then fail.
    pub fn fence(token: impl Into<RecordBytes>) -> Self {
        Self::new(token).with_header("", "fence")
    }

    /// S2's command record that trims the stream: the records before
    /// `seq_num` are deleted eventually. The body is the sequence number's
    /// 8 bytes, big-endian.
    pub fn trim(seq_num: u64) -> Self {
        Self::new(&seq_num.to_be_bytes()).with_header("", "trim")
    }

    /// The size S2's limits and metering count: 8 bytes, plus 2 and the
    /// name's and value's bytes per header, plus the body's bytes
    /// (`s2-common`, `record/envelope.rs`). An append takes at most
    /// [`MAX_BATCH_BYTES`](crate::MAX_BATCH_BYTES) of them.
    pub fn metered_size(&self) -> usize {
        let headers: usize = (self.headers.iter())
            .map(|header| 2 + header.0.iter().map(|part| part.len()).sum::<usize>())
            .sum();
        8 + headers + self.body.as_ref().map_or(0, |body| body.len())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_bytes_round_trip_through_json(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let data = RecordBytes::from(bytes.clone());
            let json = serde_json::to_string(&data).unwrap();
            let back: RecordBytes = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.as_bytes(), &bytes[..]);
        }

        #[test]
        fn json_text_that_is_not_base64_is_refused_not_passed_through(text in "[^A-Za-z0-9+/=]{1,16}") {
            let json = serde_json::to_string(&text).unwrap();
            let err = serde_json::from_str::<RecordBytes>(&json).unwrap_err();
            prop_assert!(err.to_string().contains("not base64"), "{}", err);
        }
    }

    #[test]
    fn wire_form_is_standard_base64() {
        let json = serde_json::to_string(&RecordBytes::from(&[0xff, 0x00][..])).unwrap();
        assert_eq!(json, r#""/wA=""#);
        assert_eq!(format!("{:?}", RecordBytes::from("a\u{0}")), r#"b"a\0""#);
    }
}
