//! A connect timeout is a connect error: nothing was sent, so a retry that
//! then finds no such token must not be reported as a revocation.
//!
//! Its own test binary: it installs a global tracing subscriber (to learn,
//! as an event, when the client starts retrying), which a scoped one in a
//! binary running other tests in parallel cannot do reliably (interest in a
//! callsite another thread registers first may be cached without it).

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_os = "linux")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use s2_openapi::{Client, Error, ErrorCode, RetryPolicy};
use support::{Recorder, Reply};
use tracing_subscriber::layer::SubscriberExt;

/// A loopback listener whose accept queue is full, and the connections
/// that fill it: Linux drops further SYNs, so a connect hangs until the
/// client's connect timeout, as with an unreachable host.
fn full_listener() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap().into_std().unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    // Fill until a connect times out: then the queue is full.
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(filler) => fillers.push(filler),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break,
            Err(e) => panic!("filling the accept queue: {e}"),
        }
        assert!(fillers.len() < 16, "the accept queue never filled");
    }
    (listener, fillers)
}

/// A tracing layer that hands each event's message to a function.
struct OnEvent<F>(F);

impl<S: tracing::Subscriber, F: Fn(&str) + Send + Sync + 'static> tracing_subscriber::Layer<S>
    for OnEvent<F>
{
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        (self.0)(&message.0);
    }
}

#[tokio::test]
async fn a_connect_timeout_sent_nothing_so_a_later_not_found_is_a_failure() {
    let (listener, fillers) = full_listener();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let client = |retry: RetryPolicy| {
        Client::builder()
            .access_token(support::TOKEN)
            .endpoint(&endpoint)
            .connect_timeout(Duration::from_millis(100))
            .request_timeout(Duration::from_secs(5))
            .retry_policy(retry)
            .build()
            .unwrap()
    };

    // Alone: a connect error that timed out, and nothing was sent.
    let err = client(RetryPolicy::disabled())
        .revoke_access_token("tok-1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    assert!(err.is_timeout() && err.is_retryable(), "{err:?}");
    assert!(!err.may_have_taken_effect(), "{err:?}");

    // Retried: once the first attempt has failed (the client says it is
    // retrying), the queue is emptied and a server answers 404 there.
    let server: Arc<Mutex<Option<Recorder>>> = Arc::default();
    let serving = Arc::clone(&server);
    let listener = Mutex::new(Some((listener, fillers.len())));
    let layer = OnEvent(move |message: &str| {
        if message != "retrying" {
            return;
        }
        let Some((listener, fillers)) = listener.lock().unwrap().take() else {
            return;
        };
        for _ in 0..fillers {
            listener.accept().unwrap();
        }
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let recorder = Recorder::serve(listener, |_| {
            Reply::error_info(404, "access_token_not_found", "no such token")
        });
        *serving.lock().unwrap() = Some(recorder);
    });
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();
    let result =
        client(RetryPolicy::new().with_backoff(Duration::from_millis(1), Duration::from_millis(5)))
            .revoke_access_token("tok-1")
            .await;
    drop(fillers);
    let err = result.expect_err("a 404 after an attempt that sent nothing is not a revocation");
    assert_eq!(err.code(), Some(&ErrorCode::AccessTokenNotFound), "{err:?}");
    let server = server.lock().unwrap().take().expect("the client retried");
    assert_eq!(server.count(), 1);
}
