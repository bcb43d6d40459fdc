//! A loopback TCP proxy that breaks the connections it carries, as a
//! network does: each connection is cut after it has carried a number of
//! bytes towards the client or towards the server, and one connection can
//! go silent instead. It counts what it carries: bytes each way, and
//! HTTP/1.1 requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to its connections.
#[derive(Clone, Copy, Debug)]
pub struct Breaks {
    /// Each connection is cut after this many bytes towards the client.
    pub cut_after: usize,
    /// Each connection is cut after this many bytes towards the server
    /// (`usize::MAX`: never), in the middle of a request.
    pub cut_requests_after: usize,
    /// Connections from this index on are carried whole, so that a run
    /// ends.
    pub until: usize,
    /// The connection with this index (0-based) goes silent, after half
    /// its bytes, for this long, then is cut.
    pub silent: Option<(usize, Duration)>,
}

impl Breaks {
    /// Carries everything, breaks nothing: a counting proxy.
    pub const NONE: Self = Self {
        cut_after: usize::MAX,
        cut_requests_after: usize::MAX,
        until: usize::MAX,
        silent: None,
    };
}

/// What the proxy has carried, over all its connections.
#[derive(Debug, Default)]
struct Counts {
    connections: AtomicUsize,
    to_client: AtomicUsize,
    to_server: AtomicUsize,
    requests: AtomicUsize,
}

pub struct Proxy {
    pub endpoint: String,
    counts: Arc<Counts>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`host:port`).
    pub async fn start(upstream: String, breaks: Breaks) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Counts::default());
        let shared = Arc::clone(&counts);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let index = shared.connections.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                let counts = Arc::clone(&shared);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        carry(client, server, index, breaks, counts).await;
                    }
                });
            }
        });
        Self { endpoint, counts }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.counts.connections.load(Ordering::SeqCst)
    }

    /// Bytes carried from the server to the client so far.
    pub fn bytes_to_client(&self) -> usize {
        self.counts.to_client.load(Ordering::SeqCst)
    }

    /// Bytes carried from the client to the server so far.
    pub fn bytes_to_server(&self) -> usize {
        self.counts.to_server.load(Ordering::SeqCst)
    }

    /// HTTP/1.1 requests sent through so far: request lines seen from the
    /// client (`... HTTP/1.1\r\n`). Only for requests whose bodies cannot
    /// hold those bytes, and not for h2c.
    pub fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::SeqCst)
    }
}

async fn carry(
    client: TcpStream,
    server: TcpStream,
    index: usize,
    breaks: Breaks,
    counts: Arc<Counts>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let whole = index >= breaks.until;
    let request_budget = if whole {
        usize::MAX
    } else {
        breaks.cut_requests_after
    };
    let (cut_tx, cut_rx) = tokio::sync::oneshot::channel::<()>();
    let up = Arc::clone(&counts);
    let upstream = tokio::spawn(async move {
        let to_server = &up.to_server;
        let requests = Some(&up.requests);
        let cut = copy_counting(
            &mut client_read,
            &mut server_write,
            request_budget,
            to_server,
            requests,
        );
        // Cut short: the whole connection goes, the answer too. Told
        // before the server sees the request end (`server_write` drops
        // after), so no answer to the cut request reaches the client.
        if cut.await {
            let _ = cut_tx.send(());
        }
    });
    let (budget, silence) = match breaks.silent {
        _ if whole => (usize::MAX, None),
        Some((silent, wait)) if silent == index => (breaks.cut_after / 2, Some(wait)),
        _ => (breaks.cut_after, None),
    };
    let mut carried = 0;
    let mut buf = vec![0; 16 * 1024];
    let mut cut_rx = std::pin::pin!(cut_rx);
    while carried < budget {
        let n = tokio::select! {
            biased;
            Ok(()) = &mut cut_rx => break,
            read = server_read.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(budget - carried),
            },
        };
        if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
        counts.to_client.fetch_add(n, Ordering::SeqCst);
        carried += n;
    }
    if let Some(wait) = silence {
        tokio::time::sleep(wait).await;
    }
    upstream.abort();
}

/// Copies `from` to `to` until either ends or `budget` bytes are carried
/// (then it returns true: cut short), adding each byte carried to `bytes`
/// and each HTTP/1.1 request line to `requests`.
async fn copy_counting(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    budget: usize,
    bytes: &AtomicUsize,
    requests: Option<&AtomicUsize>,
) -> bool {
    const REQUEST_LINE_END: &[u8] = b" HTTP/1.1\r\n";
    let mut buf = vec![0; 16 * 1024];
    // The end of the previous read, so a request line split across reads
    // is counted once.
    let mut seen: Vec<u8> = Vec::new();
    let mut carried = 0;
    loop {
        if carried >= budget {
            return true;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n.min(budget - carried),
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return false;
        }
        carried += n;
        bytes.fetch_add(n, Ordering::SeqCst);
        if let Some(requests) = requests {
            seen.extend_from_slice(&buf[..n]);
            let found = seen
                .windows(REQUEST_LINE_END.len())
                .filter(|w| *w == REQUEST_LINE_END)
                .count();
            requests.fetch_add(found, Ordering::SeqCst);
            let keep = REQUEST_LINE_END.len() - 1;
            let cut = seen.len().saturating_sub(keep);
            seen.drain(..cut);
        }
    }
}
