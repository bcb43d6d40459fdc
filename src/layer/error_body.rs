//! Reading an answer's body: an error's up to [`ERROR_BODY_LIMIT`], with
//! S2's answer read from it, so a failed attempt costs bounded memory
//! whatever the server sends; a success's whole, so a body cut short is
//! the attempt's failure. Either way progenitor gets a response holding
//! just the bytes read.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;

use crate::error::{ApiError, Failure, TransportKind};
use crate::retry::retry_after;

/// At most this much of an error response's body is read (the rest is left
/// unread and the connection dropped): enough for any `ErrorInfo`, bounded
/// whatever the server sends.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A failed attempt: what it tells about retrying, and what the caller
/// gets should it be the last.
pub(super) struct Failed {
    how: How,
    /// The server's hint of when to try again.
    pub(super) retry_after: Option<Duration>,
    /// What the caller gets should this attempt be the last.
    pub(super) result: reqwest::Result<reqwest::Response>,
}

/// How an attempt failed: answered with an error, or below HTTP.
enum How {
    /// The answer, read from its body.
    Answer(ApiError),
    Transport(TransportKind),
}

impl Failed {
    /// An attempt that failed below HTTP, or whose body broke off.
    pub(super) fn below_http(e: reqwest::Error, retry_after: Option<Duration>) -> Self {
        Self {
            how: How::Transport(TransportKind::of(&e)),
            retry_after,
            result: Err(e),
        }
    }

    /// The failure, as far as trying again is concerned.
    pub(super) fn failure(&self) -> Failure<'_> {
        match &self.how {
            How::Answer(answer) => Failure::Answer(answer),
            How::Transport(kind) => Failure::Transport(*kind),
        }
    }

    fn answer(&self) -> Option<&ApiError> {
        match &self.how {
            How::Answer(answer) => Some(answer),
            How::Transport(_) => None,
        }
    }

    /// The answer's status, if there was an answer.
    pub(super) fn status(&self) -> Option<StatusCode> {
        self.answer().map(ApiError::status)
    }

    /// S2's error code, if the answer had one.
    pub(super) fn code(&self) -> Option<&str> {
        self.answer()?.code().map(|code| code.as_str())
    }
}

/// An error response, its body read (capped) and S2's answer read from it.
pub(super) async fn failed(response: reqwest::Response) -> Failed {
    let status = response.status();
    let retry_after = retry_after(response.headers(), SystemTime::now());
    match read_capped(response, ERROR_BODY_LIMIT).await {
        Ok((parts, body)) => Failed {
            how: How::Answer(ApiError::from_response(status, &parts.headers, &body)),
            retry_after,
            result: Ok(reqwest::Response::from(http::Response::from_parts(
                parts,
                reqwest::Body::from(body),
            ))),
        },
        // The body broke off: the attempt failed in transport.
        Err(e) => Failed::below_http(e, retry_after),
    }
}

/// The response with its whole body read into memory.
pub(super) async fn read_whole(
    mut response: reqwest::Response,
) -> reqwest::Result<reqwest::Response> {
    let parts = take_head(&mut response);
    let body = response.bytes().await?;
    let whole = http::Response::from_parts(parts, reqwest::Body::from(body));
    Ok(reqwest::Response::from(whole))
}

/// Reads at most `limit` bytes of the body (the rest is left unread) and
/// returns them with the response's head, its `content-length` dropped. A
/// body that fails to arrive is the attempt's error.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> reqwest::Result<(http::response::Parts, Vec<u8>)> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await? {
            Some(chunk) => {
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    let mut parts = take_head(&mut response);
    parts.headers.remove(reqwest::header::CONTENT_LENGTH);
    Ok((parts, body))
}

/// The response's head (status, version, headers), its headers taken.
fn take_head(response: &mut reqwest::Response) -> http::response::Parts {
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = response.status();
    parts.version = response.version();
    parts.headers = std::mem::take(response.headers_mut());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response with this status, headers and body, the body in `chunks`.
    fn response(status: u16, headers: &[(&str, &str)], chunks: &[&[u8]]) -> reqwest::Response {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            chunks.iter().map(|c| Ok(c.to_vec())).collect();
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        let mut response = http::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        reqwest::Response::from(response.body(body).unwrap())
    }

    /// A body whose second chunk breaks off.
    fn broken(status: u16) -> reqwest::Response {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
            Ok(b"{\"code\":".to_vec()),
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ];
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        let response = http::Response::builder().status(status).body(body);
        reqwest::Response::from(response.unwrap())
    }

    #[tokio::test]
    async fn an_error_body_is_read_up_to_the_limit_across_chunks() {
        let headers = [("content-length", "11"), ("x-kept", "1")];
        let long = response(500, &headers, &[b"hel", b"lo w", b"orld"]);
        let (parts, body) = read_capped(long, 5).await.unwrap();
        assert_eq!(body, b"hello");
        assert_eq!(parts.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!parts.headers.contains_key("content-length"));
        assert_eq!(parts.headers["x-kept"], "1");
        let short = response(500, &[], &[b"hi"]);
        assert_eq!(read_capped(short, 5).await.unwrap().1, b"hi");
        assert!(read_capped(broken(500), 64).await.is_err());
    }

    #[tokio::test]
    async fn a_whole_body_keeps_its_head() {
        let ok = response(200, &[("content-type", "application/json")], &[b"{", b"}"]);
        let whole = read_whole(ok).await.unwrap();
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()["content-type"], "application/json");
        assert_eq!(whole.bytes().await.unwrap(), &b"{}"[..]);
        assert!(read_whole(broken(200)).await.is_err());
    }

    #[tokio::test]
    async fn a_failed_answer_is_read_into_s2s_error_and_kept_for_the_caller() {
        let body: &[u8] = br#"{"code":"unavailable","message":"busy"}"#;
        let answer = response(503, &[("retry-after-ms", "250")], &[body]);
        let failed = failed(answer).await;
        assert_eq!(failed.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(failed.code(), Some("unavailable"));
        assert_eq!(failed.retry_after, Some(Duration::from_millis(250)));
        assert!(matches!(failed.failure(), Failure::Answer(_)));
        // The caller reads the same bytes.
        let kept = failed.result.unwrap();
        assert_eq!(kept.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(kept.bytes().await.unwrap(), body);
    }

    #[tokio::test]
    async fn an_error_body_that_breaks_off_is_a_transport_failure() {
        let failed = failed(broken(503)).await;
        assert_eq!(failed.status(), None);
        assert_eq!(failed.code(), None);
        assert!(matches!(failed.failure(), Failure::Transport(_)));
        assert!(failed.result.is_err());
    }
}
