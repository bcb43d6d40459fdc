//! The crate's own S2-compatible server, driven by the client over loopback.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use s2_openapi::local_server::LocalServer;
use s2_openapi::{Client, Error, ErrorCode};

const TOKEN: &str = "local-test-token";

async fn server(ids: &[&str]) -> LocalServer {
    LocalServer::builder()
        .access_token(TOKEN)
        .issue_all(ids.iter().copied())
        .start()
        .await
        .unwrap()
}

fn client(server: &LocalServer, http2: bool) -> Client {
    Client::builder()
        .access_token(TOKEN)
        .endpoint(server.endpoint())
        .http2_prior_knowledge(http2)
        .build()
        .unwrap()
}

#[tokio::test]
async fn revoke_removes_the_id_once_over_http1_and_http2() {
    for http2 in [false, true] {
        let server = server(&["a", "b"]).await;
        let client = client(&server, http2);
        let revoked = client.revoke_access_token("a").await.unwrap();
        assert_eq!(revoked.status.as_u16(), 204);
        assert_eq!(revoked.id.as_str(), "a");
        assert_eq!(server.issued(), vec!["b".to_owned()]);
        let err = client.revoke_access_token("a").await.unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::AccessTokenNotFound), "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
        assert!(!err.is_retryable());
        server.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn ids_with_reserved_characters_round_trip_through_the_server() {
    let ids = ["a/b", "a?b=c", "a#b", "100%", "%2e%2e", "a b", "é", "..."];
    let server = server(&ids).await;
    let client = client(&server, false);
    for id in ids {
        client
            .revoke_access_token(id)
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
    }
    assert!(server.issued().is_empty(), "{:?}", server.issued());
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_permission_denied() {
    let server = server(&["a"]).await;
    let client = Client::builder()
        .access_token("wrong")
        .endpoint(server.endpoint())
        .build()
        .unwrap();
    let err = client.revoke_access_token("a").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::PermissionDenied), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert!(server.is_issued("a"));

    // The raw generated client sends no Authorization at all.
    let raw = s2_openapi::generated::Client::new(
        &format!("{}/v1", server.endpoint()),
        s2_openapi::RequestLayer::default(),
    );
    let err = raw.revoke_access_token().id("a").send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert!(server.is_issued("a"));
}

#[tokio::test]
async fn the_server_enforces_s2s_byte_limit_that_the_spec_does_not() {
    let server = server(&[]).await;
    // 60 characters, 120 bytes: the spec's type accepts it, so the raw
    // generated client sends it, and the server answers like S2: 400 bad_path.
    let id = "é".repeat(60);
    let client = client(&server, false);
    let raw = client.generated();
    match raw.revoke_access_token().id(id.as_str()).send().await {
        Err(e) => match Error::from(e) {
            Error::Api(e) => {
                assert_eq!(e.status().as_u16(), 400);
                assert_eq!(e.code().map(|c| c.as_str()), Some("bad_path"));
                assert!(e.message().contains("96 bytes"), "{}", e.message());
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(server.request_count(), 1);
    // The wrapper refuses it before sending.
    let err = client.revoke_access_token(&id).await.unwrap_err();
    assert!(
        matches!(err, Error::Invalid(s2_openapi::InvalidInput::Id(_))),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn unknown_routes_answer_error_info() {
    let server = server(&[]).await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{}/v1/nothing", server.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "bad_path");
}

#[tokio::test]
async fn tokens_issued_later_can_be_revoked_and_debug_hides_the_token() {
    let server = LocalServer::builder().start().await.unwrap();
    server.issue("late");
    let shown = format!("{server:?}");
    use secrecy::ExposeSecret;
    assert!(
        !shown.contains(server.access_token().expose_secret()),
        "{shown}"
    );
    let client = Client::builder()
        .access_token(server.access_token().expose_secret())
        .endpoint(server.endpoint())
        .build()
        .unwrap();
    client.revoke_access_token("late").await.unwrap();
    assert!(!server.is_issued("late"));
}
