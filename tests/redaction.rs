//! The access token never shows in Debug, Display, errors or logs.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s2_openapi::{Client, Error};
use support::{Recorder, Reply, TOKEN};

#[tokio::test]
async fn no_debug_or_display_shows_the_token() {
    let builder = Client::builder()
        .access_token(TOKEN)
        .endpoint("http://127.0.0.1:9");
    let client = builder.clone().build().unwrap();
    let mut shown = vec![
        format!("{builder:?}"),
        format!("{client:?}"),
        format!("{:?}", client.generated()),
    ];
    // Errors of every kind the crate produces.
    let api = Recorder::always(Reply::error_info(403, "permission_denied", "no")).await;
    let html = Recorder::always(Reply::status(500).body("<p>oops</p>")).await;
    let errors: Vec<Error> = vec![
        Client::builder()
            .access_token(format!("{TOKEN}\n"))
            .build()
            .unwrap_err(),
        client.revoke_access_token("..").await.unwrap_err(),
        client.revoke_access_token("x").await.unwrap_err(), // connection refused
        support::client(&api.endpoint)
            .revoke_access_token("x")
            .await
            .unwrap_err(),
        support::client(&html.endpoint)
            .revoke_access_token("x")
            .await
            .unwrap_err(),
    ];
    assert!(matches!(
        errors[0],
        Error::Invalid(s2_openapi::InvalidInput::Config(_))
    ));
    assert!(matches!(
        errors[1],
        Error::Invalid(s2_openapi::InvalidInput::Id(_))
    ));
    assert!(matches!(errors[2], Error::Connect(_)));
    assert!(matches!(errors[3], Error::Api(_)));
    assert!(matches!(errors[4], Error::Api(_)));
    for e in &errors {
        shown.push(format!("{e:?}"));
        // Display of the error and its whole source chain.
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            shown.push(s.to_string());
            source = s.source();
        }
    }
    assert!(shown.len() >= 13, "{shown:?}");
    for s in &shown {
        assert!(!s.contains(TOKEN), "token leaked in: {s}");
    }
}
