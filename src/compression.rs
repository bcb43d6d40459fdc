//! Compression of request and response bodies ([`Compression`]).
//!
//! Answers are asked for, and decompressed, by reqwest (its `gzip` and
//! `zstd` features, only the chosen one on). Request bodies are compressed
//! here, by the request layer, once per call: a retry resends the same
//! compressed bytes.

use std::io::Write as _;

use reqwest::header::HeaderValue;

/// How bodies are compressed on the wire, as S2's SDK offers
/// ([`ClientBuilder::compression`](crate::ClientBuilder::compression)).
///
/// With `Gzip` or `Zstd`, answers are asked for in that encoding (S2
/// compresses those over 1 KiB, never event streams) and request bodies of
/// [`COMPRESSION_THRESHOLD`] bytes or more are sent compressed. Worth it
/// for large reads and appends on a slow or metered link; it costs CPU on
/// both ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// No compression (the default, as in S2's SDK): no `Accept-Encoding`
    /// is sent.
    #[default]
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Zstandard (RFC 8878).
    Zstd,
}

/// Request bodies this long or longer are compressed: 1 KiB, where S2
/// starts compressing its answers and its SDK its `s2s` frames (below it,
/// the codec's header eats most of the gain). S2's SDK compresses every
/// unary request body, whatever its size.
pub const COMPRESSION_THRESHOLD: usize = 1024;

impl Compression {
    /// `body` compressed, with its `Content-Encoding`; `None` when it is
    /// sent as it is: no compression, a body below the threshold, or an
    /// encoder that failed (compression only saves bytes, so the body goes
    /// uncompressed rather than the call failing).
    pub(crate) fn compress(self, body: &[u8]) -> Option<(Vec<u8>, HeaderValue)> {
        if body.len() < COMPRESSION_THRESHOLD {
            return None;
        }
        // The fastest levels, as S2's SDK uses: the point is fewer bytes
        // on the wire at little CPU.
        let compressed = match self {
            Self::None => return None,
            Self::Gzip => {
                let out = Vec::with_capacity(body.len() / 2);
                let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
                encoder.write_all(body).and_then(|()| encoder.finish())
            }
            Self::Zstd => zstd::bulk::compress(body, 1),
        };
        match compressed {
            Ok(compressed) => Some((compressed, self.content_encoding()?)),
            Err(e) => {
                tracing::debug!(error = %e, "request body sent uncompressed");
                None
            }
        }
    }

    /// The `Content-Encoding` (and `Accept-Encoding`) value naming it.
    fn content_encoding(self) -> Option<HeaderValue> {
        match self {
            Self::None => None,
            Self::Gzip => Some(HeaderValue::from_static("gzip")),
            Self::Zstd => Some(HeaderValue::from_static("zstd")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn bodies_from_the_threshold_on_are_compressed_and_decompress_back() {
        let body: Vec<u8> = br#"{"records":[{"body":"aGVsbG8="}]}"#
            .iter()
            .copied()
            .cycle()
            .take(COMPRESSION_THRESHOLD)
            .collect();
        let (gzipped, encoding) = Compression::Gzip.compress(&body).unwrap();
        assert_eq!(encoding, "gzip");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gzipped[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        assert!(gzipped.len() < body.len() / 4, "{}", gzipped.len());

        let (zstded, encoding) = Compression::Zstd.compress(&body).unwrap();
        assert_eq!(encoding, "zstd");
        assert_eq!(zstd::stream::decode_all(&zstded[..]).unwrap(), body);

        assert_eq!(Compression::None.compress(&body), None);
        let small = &body[..COMPRESSION_THRESHOLD - 1];
        assert_eq!(Compression::Gzip.compress(small), None);
        assert_eq!(Compression::Zstd.compress(small), None);
        assert_eq!(Compression::default(), Compression::None);
    }
}
