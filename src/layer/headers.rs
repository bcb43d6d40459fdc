//! What a call's request carries, set once before its first attempt so
//! that every attempt sends the same: progenitor's `api-version` dropped,
//! the basin's `s2-basin`, S2's idempotency token, `s2-format` for record
//! data, secrets marked sensitive, a JSON `null` body sent as none, and the
//! body compressed.

use reqwest::header::{CONTENT_ENCODING, HeaderMap, HeaderName, HeaderValue};

use crate::compression::Compression;
use crate::spec::Operation;

/// progenitor's header, set to the spec's `info.version`. S2 defines no
/// such header and ignores it, so requests go without it.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// S2's idempotency token header.
const REQUEST_TOKEN: HeaderName = HeaderName::from_static("s2-request-token");

/// The header naming the JSON encoding of record data, and the encoding of
/// [`RecordBytes`](crate::RecordBytes).
const S2_FORMAT: HeaderName = HeaderName::from_static("s2-format");
const BASE64: HeaderValue = HeaderValue::from_static("base64");

/// S2's header carrying a stream's encryption key: a secret, as the
/// token is.
const ENCRYPTION_KEY: HeaderName = HeaderName::from_static("s2-encryption-key");

/// The header naming the basin when basins share the account endpoint
/// (s2-lite, a single cell).
pub(super) const S2_BASIN: HeaderName = HeaderName::from_static("s2-basin");

/// Sets what `request` carries on every attempt: `operation` is the spec's
/// facts about it (none for an operation the spec lacks), `basin` the
/// `s2-basin` header of the handle sending it, if any. A header the caller
/// set is kept: the basin's, and the token, so a caller's own token is the
/// one retried.
pub(super) fn prepare(
    request: &mut reqwest::Request,
    operation: Option<&Operation>,
    basin: Option<&HeaderValue>,
    compression: Compression,
) {
    drop_null_body(request);
    let headers = request.headers_mut();
    headers.remove(&API_VERSION);
    mark_secrets(headers);
    if let Some(basin) = basin {
        headers.entry(S2_BASIN).or_insert_with(|| basin.clone());
    }
    if operation.is_some_and(|op| op.record_format) {
        headers.insert(S2_FORMAT, BASE64);
    }
    let takes_token = operation.is_some_and(|op| op.takes_request_token);
    if takes_token && !headers.contains_key(&REQUEST_TOKEN) {
        headers.insert(REQUEST_TOKEN, fresh_request_token());
    }
    if compression != Compression::None {
        compress_body(request, compression);
    }
}

/// Replaces a body of bytes with its compressed form and says so in
/// `Content-Encoding`, when it is long enough and not already encoded.
/// Once per call, so retries resend the same bytes.
fn compress_body(request: &mut reqwest::Request, compression: Compression) {
    if request.headers().contains_key(CONTENT_ENCODING) {
        return;
    }
    let Some(body) = request.body().and_then(reqwest::Body::as_bytes) else {
        return;
    };
    let Some((compressed, encoding)) = compression.compress(body) else {
        return;
    };
    let headers = request.headers_mut();
    headers.insert(CONTENT_ENCODING, encoding);
    // Set again from the new body when it is sent.
    headers.remove(reqwest::header::CONTENT_LENGTH);
    *request.body_mut() = Some(compressed.into());
}

/// Sends a JSON `null` body (an optional body left unset, such as an
/// ensure's configuration) as no body: S2 reads an absent body as none and
/// refuses `null` (`bad_json`; s2-api's `JsonOpt`).
fn drop_null_body(request: &mut reqwest::Request) {
    if request.body().and_then(reqwest::Body::as_bytes) == Some(b"null") {
        *request.body_mut() = None;
        request.headers_mut().remove(reqwest::header::CONTENT_TYPE);
        request.headers_mut().remove(reqwest::header::CONTENT_LENGTH);
    }
}

/// Marks S2's secret headers besides the token (a default header, marked
/// when the client is built) sensitive: kept out of `Debug` and of HTTP/2
/// header compression tables.
fn mark_secrets(headers: &mut HeaderMap) {
    if let Some(key) = headers.get_mut(ENCRYPTION_KEY) {
        key.set_sensitive(true);
    }
}

/// A random idempotency token: 32 hex digits (128 bits), as S2's SDK sends
/// (a UUID's simple form), within the spec's 36-character limit.
fn fresh_request_token() -> HeaderValue {
    let token = format!("{:032x}", fastrand::u128(..));
    // Hex digits are always a valid header value.
    HeaderValue::from_str(&token).unwrap_or(HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:1/v1/streams/s/records";

    /// An operation of the spec, as the build reads it.
    fn operation(takes_request_token: bool, record_format: bool) -> Operation {
        Operation {
            id: "append",
            method: "POST",
            path: "/streams/{stream}/records",
            takes_request_token,
            record_format,
            basin_server: None,
            wait_param: None,
        }
    }

    #[test]
    fn a_request_carries_the_basin_the_token_and_the_format_its_operation_takes() {
        let http = reqwest::Client::new();
        let mut request = http
            .post(URL)
            .header("api-version", "0.1.0")
            .body("{}")
            .build()
            .unwrap();
        let basin = HeaderValue::from_static("my-basin");
        let both = operation(true, true);
        prepare(&mut request, Some(&both), Some(&basin), Compression::None);
        let headers = request.headers();
        assert!(!headers.contains_key("api-version"));
        assert_eq!(headers["s2-basin"], "my-basin");
        assert_eq!(headers["s2-format"], "base64");
        assert_eq!(headers["s2-request-token"].len(), 32);

        // What the caller set is kept; what the operation does not take is
        // not added.
        let mut request = http
            .post(URL)
            .header("s2-basin", "other")
            .header("s2-request-token", "mine")
            .build()
            .unwrap();
        prepare(&mut request, Some(&both), Some(&basin), Compression::None);
        assert_eq!(request.headers()["s2-basin"], "other");
        assert_eq!(request.headers()["s2-request-token"], "mine");
        for facts in [Some(operation(false, false)), None] {
            let mut request = http.post(URL).build().unwrap();
            prepare(&mut request, facts.as_ref(), None, Compression::None);
            let headers = request.headers();
            for name in ["s2-basin", "s2-format", "s2-request-token"] {
                assert!(!headers.contains_key(name), "{name}");
            }
        }
    }

    #[test]
    fn a_long_body_is_compressed_once_and_an_encoded_one_is_left() {
        let http = reqwest::Client::new();
        let long = vec![b'a'; 4096];
        let mut request = http.post(URL).body(long.clone()).build().unwrap();
        prepare(&mut request, None, None, Compression::Zstd);
        assert_eq!(request.headers()[CONTENT_ENCODING], "zstd");
        let sent = request.body().and_then(reqwest::Body::as_bytes).unwrap();
        assert_eq!(zstd::stream::decode_all(sent).unwrap(), long);

        let mut encoded = http
            .post(URL)
            .header(CONTENT_ENCODING, "gzip")
            .body(long.clone())
            .build()
            .unwrap();
        prepare(&mut encoded, None, None, Compression::Zstd);
        assert_eq!(encoded.headers()[CONTENT_ENCODING], "gzip");
        let sent = encoded.body().and_then(reqwest::Body::as_bytes);
        assert_eq!(sent, Some(&long[..]));

        let mut short = http.post(URL).body("{}").build().unwrap();
        prepare(&mut short, None, None, Compression::Gzip);
        assert!(!short.headers().contains_key(CONTENT_ENCODING));
    }

    #[test]
    fn a_null_body_is_sent_as_none() {
        let http = reqwest::Client::new();
        let url = "http://127.0.0.1:1/v1/basins/b";
        let mut null = http.put(url).json(&serde_json::Value::Null).build().unwrap();
        drop_null_body(&mut null);
        assert!(null.body().is_none());
        assert!(!null.headers().contains_key(reqwest::header::CONTENT_TYPE));
        let mut empty = http.put(url).json(&serde_json::json!({})).build().unwrap();
        drop_null_body(&mut empty);
        assert_eq!(empty.body().and_then(reqwest::Body::as_bytes), Some(&b"{}"[..]));
        assert!(empty.headers().contains_key(reqwest::header::CONTENT_TYPE));
    }

    #[test]
    fn an_encryption_key_is_a_secret() {
        let mut headers = HeaderMap::new();
        headers.insert("s2-encryption-key", HeaderValue::from_static("c2VjcmV0"));
        headers.insert("s2-basin", HeaderValue::from_static("my-basin"));
        mark_secrets(&mut headers);
        assert!(headers["s2-encryption-key"].is_sensitive());
        assert!(!headers["s2-basin"].is_sensitive());
        assert!(!format!("{headers:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn request_tokens_are_fresh_and_fit_the_spec() {
        let a = fresh_request_token();
        let b = fresh_request_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.to_str().unwrap().bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
