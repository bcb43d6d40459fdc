//! A scripted HTTP server on loopback that records every request exactly as
//! it arrived and answers what the test says. HTTP/1.1 and h2c.

#![allow(dead_code)]

pub mod faults;
pub mod proxy;
pub mod s2_lite;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use futures_util::StreamExt as _;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    /// The request target as sent: path and query, still percent-encoded.
    pub target: String,
    pub headers: HeaderMap,
    /// The client's end of the connection it came on.
    pub peer: SocketAddr,
    /// The body, as it arrived (still encoded, if it was).
    pub body: Vec<u8>,
}

/// What to answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// How long to wait before answering.
    pub delay: std::time::Duration,
    /// When not empty, the body instead: sent in parts, each after its
    /// wait.
    pub parts: Vec<(std::time::Duration, Vec<u8>)>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: std::time::Duration::ZERO,
            parts: Vec::new(),
        }
    }

    /// A stream of Server-Sent Events: `events` (each ends with a blank
    /// line), all at once.
    pub fn events(events: &[String]) -> Self {
        Self::status(200)
            .header("content-type", "text/event-stream")
            .body(events.concat())
    }

    /// The body sent in `parts`, each after its wait.
    pub fn in_parts(mut self, parts: Vec<(std::time::Duration, Vec<u8>)>) -> Self {
        self.parts = parts;
        self
    }

    pub fn after(mut self, delay: std::time::Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn json(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("content-type", "application/json")
            .body(body)
    }

    pub fn error_info(status: u16, code: &str, message: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({"code": code, "message": message}).to_string(),
        )
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

type Script = dyn Fn(&Recorded) -> Reply + Send + Sync;
type Shared = (Arc<Mutex<Vec<Recorded>>>, Arc<Script>);

pub struct Recorder {
    pub endpoint: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Recorder {
    /// Starts a server answering every request with `script`.
    pub async fn start(script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, script)
    }

    /// Starts a server answering its requests in turn: the first (0) with
    /// `script(0)`, the next with `script(1)`, and so on.
    pub async fn in_turn(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let next = move || calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self::start(move |_| script(next())).await
    }

    /// Starts a server on `listener` answering every request with `script`.
    pub fn serve(
        listener: tokio::net::TcpListener,
        script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let state = (Arc::clone(&requests), script);
        let app = Router::new().fallback(handle).with_state(state);
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            endpoint: format!("http://{addr}"),
            requests,
            _shutdown: tx,
        }
    }

    /// Always answers `reply`.
    pub async fn always(reply: Reply) -> Self {
        Self::start(move |_| reply.clone()).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The value of header `name` in each request, in order (as
    /// [`faults::FaultServer::header_values`]).
    pub fn header_values(&self, name: &str) -> Vec<Option<String>> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned()))
            .collect()
    }
}

async fn handle(
    axum::extract::State((requests, script)): axum::extract::State<Shared>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let recorded = Recorded {
        method,
        target: uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        headers,
        peer,
        body: body.to_vec(),
    };
    let reply = script(&recorded);
    requests.lock().unwrap().push(recorded);
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    if reply.parts.is_empty() {
        return response.body(Body::from(reply.body)).unwrap();
    }
    let parts = futures_util::stream::iter(reply.parts).then(|(wait, part)| async move {
        tokio::time::sleep(wait).await;
        Ok::<_, std::convert::Infallible>(part)
    });
    response.body(Body::from_stream(parts)).unwrap()
}

pub const TOKEN: &str = "test-token-7f3a9c";

/// A client with retries off: one request per call, for mapping tests.
pub fn client(endpoint: &str) -> s2_openapi::Client {
    s2_openapi::Client::builder()
        .access_token(TOKEN)
        .endpoint(endpoint)
        .retry_policy(s2_openapi::RetryPolicy::disabled())
        .build()
        .unwrap()
}

/// A free loopback port: bound, then released, so that nothing listens on
/// it and connecting is refused.
pub fn free_port() -> u16 {
    // Never the same port twice in one process: tests that start a server
    // on it run in parallel, and the OS may hand a released port out again
    // before the first server has bound it.
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// An endpoint whose connections are refused: nothing is ever sent.
pub fn closed_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// An endpoint on loopback that takes connections and never answers: every
/// request sent there stays in flight until the client gives up.
pub fn silent_endpoint() -> String {
    silent_server().0
}

/// [`silent_endpoint`], telling of each connection as it takes it.
pub fn silent_server() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (taken, notify) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming().flatten() {
            held.push(socket);
            let _ = taken.send(());
        }
    });
    (endpoint, notify)
}

/// The messages of `error` and of each of its sources, in order.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect()
}

/// Writes `contents` to `path` dated ahead, so that cargo, which compares
/// modification times, sees a change without waiting out the file
/// system's timestamp granularity.
pub fn write_dated_ahead(path: &std::path::Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(10))
        .unwrap();
}

/// Runs `test` on a new current-thread runtime with every `tracing` event and
/// span close, down to TRACE, captured; returns the log.
pub fn traced<F: std::future::Future<Output = ()>>(test: impl FnOnce() -> F) -> String {
    use tracing_subscriber::fmt::format::FmtSpan;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(test());
    });
    String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
}

/// A log writer into memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A server that admits `rate` requests per second (a token bucket holding
/// at most `burst` tokens, full at the start): 204 to those, and 429
/// `rate_limited` with `retry-after-ms` (the time until the bucket holds a
/// token again) to the others, as S2 does above its rate limits. Also the
/// count of 429s it answered.
pub async fn rate_limited(
    rate: f64,
    burst: f64,
) -> (Recorder, Arc<std::sync::atomic::AtomicUsize>) {
    let throttled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&throttled);
    let bucket = Mutex::new((burst, std::time::Instant::now()));
    let server = Recorder::start(move |_| {
        let mut bucket = bucket.lock().unwrap();
        let now = std::time::Instant::now();
        let tokens = (bucket.0 + now.duration_since(bucket.1).as_secs_f64() * rate).min(burst);
        *bucket = (tokens, now);
        if tokens >= 1.0 {
            bucket.0 -= 1.0;
            return Reply::status(204);
        }
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let wait_ms = ((1.0 - tokens) / rate * 1000.0).ceil();
        Reply::error_info(429, "rate_limited", "slow down")
            .header("retry-after-ms", format!("{wait_ms}"))
    })
    .await;
    (server, throttled)
}
