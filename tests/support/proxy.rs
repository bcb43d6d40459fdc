//! A loopback TCP proxy that breaks the connections it carries, as a
//! network does: each connection is cut after it has carried a number of
//! bytes towards the client or towards the server, and one connection can
//! go silent instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
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

pub struct Proxy {
    pub endpoint: String,
    connections: Arc<AtomicUsize>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`host:port`).
    pub async fn start(upstream: String, breaks: Breaks) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let index = count.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        carry(client, server, index, breaks).await;
                    }
                });
            }
        });
        Self {
            endpoint,
            connections,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn carry(client: TcpStream, server: TcpStream, index: usize, breaks: Breaks) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let whole = index >= breaks.until;
    let request_budget = if whole {
        usize::MAX
    } else {
        breaks.cut_requests_after
    };
    let (cut_tx, cut_rx) = tokio::sync::oneshot::channel::<()>();
    let upstream = tokio::spawn(async move {
        let mut carried = 0;
        let mut buf = vec![0; 16 * 1024];
        while carried < request_budget {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(request_budget - carried),
            };
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
            carried += n;
        }
        // Cut short: the whole connection goes.
        if carried >= request_budget {
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
            read = server_read.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(budget - carried),
            },
            Ok(()) = &mut cut_rx => break,
        };
        if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
        carried += n;
    }
    if let Some(wait) = silence {
        tokio::time::sleep(wait).await;
    }
    upstream.abort();
}
