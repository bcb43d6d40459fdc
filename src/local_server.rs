//! An in-process S2-compatible server for tests, demos and offline work.
//!
//! It implements the vendored spec's operation with S2's semantics: a set of
//! issued token ids, a bearer check, S2's id rules (including the 96-byte
//! limit S2's server enforces) and S2's error bodies. It listens on
//! `127.0.0.1` on a free port and speaks HTTP/1.1 and HTTP/2 (h2c, prior
//! knowledge) on the same port.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use s2_openapi::local_server::LocalServer;
//!
//! let server = LocalServer::builder()
//!     .access_token("test-token")
//!     .issue("token-1")
//!     .start()
//!     .await?;
//! let client = s2_openapi::Client::builder()
//!     .access_token("test-token")
//!     .endpoint(server.endpoint())
//!     .build()?;
//! client.revoke_access_token("token-1").await?;
//! assert!(!server.is_issued("token-1"));
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::id::{IdRejection, s2_rules};

/// Configures a [`LocalServer`].
#[must_use]
#[derive(Default)]
pub struct LocalServerBuilder {
    access_token: Option<SecretString>,
    issued: BTreeSet<String>,
}

impl fmt::Debug for LocalServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServerBuilder")
            .field("access_token", &"[redacted]")
            .field("issued", &self.issued)
            .finish()
    }
}

impl LocalServerBuilder {
    /// The one bearer token the server accepts. Default: a random one,
    /// readable with [`LocalServer::access_token`].
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(SecretString::from(token.into()));
        self
    }

    /// Issues an access token id, so that revoking it succeeds once.
    pub fn issue(mut self, id: impl Into<String>) -> Self {
        self.issued.insert(id.into());
        self
    }

    /// Issues several ids.
    pub fn issue_all<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.issued.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Binds `127.0.0.1:0` and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<LocalServer> {
        let access_token = self.access_token.unwrap_or_else(random_token);
        let state = Arc::new(State {
            access_token,
            issued: Mutex::new(self.issued),
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/v1/access-tokens/{id}", delete(revoke))
            .fallback(no_route)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = signal.await;
                })
                .await
        });
        Ok(LocalServer {
            endpoint: format!("http://{addr}"),
            state,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

/// A running local server; it stops when dropped or on
/// [`shutdown`](LocalServer::shutdown).
pub struct LocalServer {
    endpoint: String,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("endpoint", &self.endpoint)
            .field("access_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl LocalServer {
    /// A builder with no ids issued and a random access token.
    pub fn builder() -> LocalServerBuilder {
        LocalServerBuilder::default()
    }

    /// The endpoint to give the client, such as `http://127.0.0.1:41234`
    /// (the form of `S2_ACCOUNT_ENDPOINT`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The bearer token the server accepts.
    pub fn access_token(&self) -> &SecretString {
        &self.state.access_token
    }

    /// Issues one more id.
    pub fn issue(&self, id: impl Into<String>) {
        self.state.issued().insert(id.into());
    }

    /// Whether `id` is issued and not revoked.
    pub fn is_issued(&self, id: &str) -> bool {
        self.state.issued().contains(id)
    }

    /// The ids issued and not revoked, sorted.
    pub fn issued(&self) -> Vec<String> {
        self.state.issued().iter().cloned().collect()
    }

    /// How many requests the server has answered.
    pub fn request_count(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Stops accepting connections, lets requests in flight finish, and
    /// waits for the server to stop.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

struct State {
    access_token: SecretString,
    issued: Mutex<BTreeSet<String>>,
    requests: AtomicU64,
}

impl State {
    fn issued(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // A panic while holding the lock cannot leave the set inconsistent.
        self.issued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|token| token == self.access_token.expose_secret())
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({"code": code, "message": message.into()});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn revoke(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    if !state.authorized(&headers) {
        return error(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "missing or invalid bearer token",
        );
    }
    let raw = uri.path().rsplit('/').next().unwrap_or_default();
    let Ok(id) = percent_encoding::percent_decode_str(raw).decode_utf8() else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_path",
            "access token id is not valid UTF-8",
        );
    };
    if let Err(reason) = s2_rules(&id) {
        let message = match reason {
            IdRejection::TooManyBytes(_) => "access token id must not exceed 96 bytes".to_owned(),
            other => format!("invalid access token id: {other}"),
        };
        return error(StatusCode::BAD_REQUEST, "bad_path", message);
    }
    if state.issued().remove(id.as_ref()) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(
            StatusCode::NOT_FOUND,
            "access_token_not_found",
            format!("access token {id:?} not found"),
        )
    }
}

async fn no_route(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    uri: Uri,
) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    error(
        StatusCode::NOT_FOUND,
        "bad_path",
        format!("no route for {}", uri.path()),
    )
}

/// 128 random bits, hex: std's per-process random hasher keys are enough
/// for a token that only guards a loopback test server.
fn random_token() -> SecretString {
    let half = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    SecretString::from(format!("local-{:016x}{:016x}", half(), half()))
}
