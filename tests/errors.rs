//! Every documented and undocumented answer maps to the right typed error.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use s2_openapi::{Error, ErrorCode};
use support::{Recorder, Reply, client};

async fn revoke_against(reply: Reply) -> (Result<s2_openapi::Revoked, Error>, Recorder) {
    let server = Recorder::always(reply).await;
    let result = client(&server.endpoint).revoke_access_token("tok-1").await;
    (result, server)
}

fn api(result: Result<s2_openapi::Revoked, Error>) -> s2_openapi::ApiError {
    match result {
        Err(Error::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn documented_statuses_map_to_api_errors() {
    for (status, code, expected, retryable) in [
        (400, "bad_path", ErrorCode::BadPath, false),
        (403, "permission_denied", ErrorCode::PermissionDenied, false),
        (408, "request_timeout", ErrorCode::RequestTimeout, true),
    ] {
        let (result, server) = revoke_against(Reply::error_info(status, code, "because")).await;
        let err = result.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(err.code(), Some(&expected));
        assert_eq!(err.is_retryable(), retryable, "{status}");
        let e = api(Err(err));
        assert_eq!(e.message(), "because");
        assert_eq!(server.count(), 1);
    }
}

#[tokio::test]
async fn undocumented_statuses_with_error_info_map_to_api_errors() {
    for (status, code, expected, retryable) in [
        (
            404,
            "access_token_not_found",
            ErrorCode::AccessTokenNotFound,
            false,
        ),
        (
            409,
            "resource_already_exists",
            ErrorCode::ResourceAlreadyExists,
            false,
        ),
        (422, "invalid", ErrorCode::Invalid, false),
        (429, "rate_limited", ErrorCode::RateLimited, true),
        (401, "authn", ErrorCode::Authn, false),
        (
            409,
            "transaction_conflict",
            ErrorCode::TransactionConflict,
            true,
        ),
        (499, "client_hangup", ErrorCode::ClientHangup, false),
        (500, "storage", ErrorCode::Storage, true),
        (501, "not_implemented", ErrorCode::NotImplemented, false),
        (502, "hot_server", ErrorCode::HotServer, true),
        (503, "unavailable", ErrorCode::Unavailable, true),
        (503, "server_draining", ErrorCode::ServerDraining, true),
        (504, "upstream_timeout", ErrorCode::UpstreamTimeout, true),
    ] {
        let (result, _server) = revoke_against(Reply::error_info(status, code, "m")).await;
        let err = result.unwrap_err();
        assert_eq!(err.is_retryable(), retryable, "{status} {code}");
        let e = api(Err(err));
        assert_eq!(e.status().as_u16(), status);
        assert_eq!(e.code(), Some(&expected));
    }
}

#[tokio::test]
async fn unknown_codes_are_kept() {
    let (result, _server) = revoke_against(Reply::error_info(418, "brand_new_code", "m")).await;
    let e = api(result);
    assert!(matches!(e.code(), Some(ErrorCode::Unknown(c)) if c.as_str() == "brand_new_code"));
    assert_eq!(e.code().unwrap().as_str(), "brand_new_code");
}

#[tokio::test]
async fn non_json_error_bodies_keep_the_status() {
    // Undocumented status, HTML body.
    let html = "<html><body>Bad Gateway</body></html>";
    let (result, _server) = revoke_against(
        Reply::status(502)
            .header("content-type", "text/html")
            .body(html),
    )
    .await;
    match result {
        Err(Error::Api(e)) => {
            assert_eq!(e.status().as_u16(), 502);
            assert_eq!(e.message(), html);
        }
        other => panic!("{other:?}"),
    }
    // Documented status (400), body that is not an ErrorInfo: progenitor
    // drops the status, the wrapper keeps it.
    for body in ["", "not json", r#"{"code": 5}"#, "[1,2]"] {
        let (result, _server) = revoke_against(Reply::json(400, body)).await;
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Api(_)), "{body}: {err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{body}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn huge_bodies_give_a_bounded_excerpt() {
    let body = "x".repeat(10 * 1024 * 1024);
    let (result, _server) = revoke_against(Reply::status(500).body(body)).await;
    match result {
        Err(Error::Api(e)) => {
            assert_eq!(e.status().as_u16(), 500);
            assert!(e.message().len() <= 512, "{}", e.message().len());
            assert!(e.to_string().len() < 700);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = Recorder::always(Reply::status(204)).await;
    let target = format!("{}/v1/access-tokens/tok-1", elsewhere.endpoint);
    let (result, server) =
        revoke_against(Reply::status(302).header("location", target.clone())).await;
    match result {
        Err(Error::Api(e)) => {
            assert_eq!(e.status().as_u16(), 302);
            assert_eq!(e.location(), Some(target.as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count(), 1);
    assert_eq!(
        elsewhere.count(),
        0,
        "the DELETE was re-sent to the redirect target"
    );
}

#[tokio::test]
async fn success_statuses() {
    let (result, _server) = revoke_against(Reply::status(204)).await;
    assert_eq!(result.unwrap().status.as_u16(), 204);
    // Older S2 answered 200 with nothing in the body: still a revocation.
    let (result, _server) = revoke_against(Reply::status(200)).await;
    assert_eq!(result.unwrap().status.as_u16(), 200);
}

#[tokio::test]
async fn an_empty_200_is_a_revocation_however_its_end_is_framed() {
    // Streamed, the body ends apart from the head: over HTTP/2 in an
    // empty DATA frame.
    let server =
        Recorder::always(Reply::status(200).in_parts(vec![(Duration::ZERO, Vec::new())])).await;
    for http2 in [false, true] {
        let client = s2_openapi::Client::builder()
            .access_token(support::TOKEN)
            .endpoint(&server.endpoint)
            .http2_prior_knowledge(http2)
            .build()
            .unwrap();
        let revoked = client.revoke_access_token("tok-1").await;
        assert_eq!(revoked.unwrap().status.as_u16(), 200, "HTTP/2: {http2}");
    }
}

#[tokio::test]
async fn an_unlisted_success_with_a_body_confirms_nothing() {
    // A web page at a wrong endpoint answers with a success no S2 spec
    // lists for revoke (older ones list 200, newer ones 204): nothing was
    // revoked.
    let page = Reply::status(202)
        .header("content-type", "text/html")
        .body("<html>sign in</html>");
    let (result, server) = revoke_against(page).await;
    let err = api(result);
    assert_eq!(err.status().as_u16(), 202);
    assert_eq!(err.code(), None);
    assert!(err.to_string().contains("<html>sign in</html>"), "{err}");
    // Not retried: the answer is not one S2 gives.
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let err = client(&support::closed_endpoint())
        .revoke_access_token("tok-1")
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.status().is_none());
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let endpoint = support::silent_endpoint();
    let client = s2_openapi::Client::builder()
        .access_token(support::TOKEN)
        .endpoint(&endpoint)
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.revoke_access_token("tok-1").await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn requests_carry_what_s2_defines_and_no_more() {
    let (result, server) = revoke_against(Reply::status(204)).await;
    result.unwrap();
    let [request] = server.requests().try_into().unwrap();
    assert_eq!(request.method, "DELETE");
    assert_eq!(request.target, "/v1/access-tokens/tok-1");
    assert_eq!(
        request.headers["authorization"],
        format!("Bearer {}", support::TOKEN)
    );
    assert_eq!(
        request.headers["user-agent"],
        concat!("s2-openapi/", env!("CARGO_PKG_VERSION"))
    );
    // progenitor adds `api-version`; S2 defines no such header.
    assert!(!request.headers.contains_key("api-version"));
    // Nothing else goes out but what the transport itself adds.
    let mut names: Vec<&str> = request.headers.keys().map(|n| n.as_str()).collect();
    names.sort_unstable();
    // `accept` is reqwest's `*/*`: progenitor asks for JSON only for a
    // JSON success body, and a revoke has none.
    assert_eq!(request.headers["accept"], "*/*");
    assert_eq!(names, ["accept", "authorization", "host", "user-agent"]);
    // The token travels in the Authorization header and nowhere else.
    for (name, value) in &request.headers {
        if name != "authorization" {
            assert!(
                !value.to_str().unwrap_or("").contains(support::TOKEN),
                "{name}"
            );
        }
    }
}

/// A generated call's builder, awaited, gives its success value or the
/// crate's `Error`, which `?` carries into `Box<dyn Error>` as itself: no
/// `map_err` on each call, and no progenitor error (whose message lists
/// the response's headers) in its place.
#[tokio::test]
async fn an_awaited_generated_call_gives_the_crates_error_through_question_mark() {
    async fn revoke(
        client: &s2_openapi::Client,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        client.generated().revoke_access_token().id("tok-1").await?;
        Ok(())
    }

    let server = Recorder::always(
        Reply::error_info(403, "permission_denied", "no").header("x-secret-ish", "header"),
    )
    .await;
    let err = revoke(&client(&server.endpoint)).await.unwrap_err();
    let message = err.to_string();
    let err = err.downcast::<Error>().expect("the crate's Error");
    assert_eq!(err.code(), Some(&ErrorCode::PermissionDenied));
    assert_eq!(message, "S2 answered 403 permission_denied: no");
    assert!(!message.contains("x-secret-ish"), "{message}");
}

/// An argument the generated builder refuses is reported with the rule it
/// broke, read from the spec, and nothing is sent.
#[tokio::test]
async fn a_refused_argument_names_the_rule_it_broke() {
    let server = Recorder::always(Reply::status(204)).await;
    let err = client(&server.endpoint)
        .generated()
        .revoke_access_token()
        .id("x".repeat(200))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("`AccessTokenIdStr` for id failed: a `AccessTokenIdStr` is"),
        "{message}"
    );
    assert!(message.contains("characters"), "{message}");
    assert_eq!(server.count(), 0);
}
