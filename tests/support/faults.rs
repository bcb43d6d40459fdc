//! A raw TCP server scripted per request, for faults an HTTP server
//! library will not produce: resets, hangs, bodies cut short or trickled.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use s2_openapi::{Client, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The attempt timeout of [`client`]: short, so hangs end quickly.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);

/// A client for fault tests: 3 attempts, backoff 1 to 5 ms, a 300 ms
/// attempt timeout, a 10 s deadline.
pub fn client(endpoint: &str) -> Client {
    Client::builder()
        .access_token(super::TOKEN)
        .endpoint(endpoint)
        .request_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::new().with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status, headers and body, then close.
    Reply(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Close with a TCP reset right after reading the request.
    Reset,
    /// Send the head and part of the body of an error, then close. (A
    /// reset here could overtake the head unless the server waited for the
    /// client to read it, which it cannot see.)
    CloseMidBody,
    /// Send the head of a `200` and part of its JSON body, then close.
    CutSuccess,
    /// Keep the connection open and never answer.
    Hang,
    /// Send the head of an error, then the body one byte every 200 ms.
    SlowBody,
    /// Send the head of a 500 announcing a body of 1 GB, 256 KiB of it,
    /// and never the rest.
    Endless,
}

pub fn reply(status: u16) -> Fault {
    Fault::Reply(status, Vec::new(), Vec::new())
}

pub fn error_info(status: u16, code: &str) -> Fault {
    let body = serde_json::json!({"code": code, "message": "scripted"}).to_string();
    Fault::Reply(
        status,
        vec![("content-type", "application/json".into())],
        body.into_bytes(),
    )
}

pub fn with_header(fault: Fault, name: &'static str, value: impl Into<String>) -> Fault {
    match fault {
        Fault::Reply(status, mut headers, body) => {
            headers.push((name, value.into()));
            Fault::Reply(status, headers, body)
        }
        other => other,
    }
}

pub struct FaultServer {
    pub endpoint: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl FaultServer {
    /// Request `i` gets `script[i]`, or the last entry once the script runs out.
    pub async fn start(script: Vec<Fault>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let Some(head) = read_head(&mut socket).await else {
                    continue;
                };
                let i = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(head);
                    seen.len() - 1
                };
                let fault = script[i.min(script.len() - 1)].clone();
                if let Some(socket) = act(socket, fault).await {
                    held.push(socket);
                }
            }
        });
        Self { endpoint, heads }
    }

    /// Requests received so far.
    pub fn attempts(&self) -> usize {
        self.heads.lock().unwrap().len()
    }

    /// The path (with its query) of each request received.
    pub fn paths(&self) -> Vec<String> {
        let heads = self.heads.lock().unwrap();
        let path = |head: &String| head.split(' ').nth(1).unwrap_or_default().to_owned();
        heads.iter().map(path).collect()
    }

    /// The value of header `name` (lower case) in each request received.
    pub fn header_values(&self, name: &str) -> Vec<Option<String>> {
        self.heads
            .lock()
            .unwrap()
            .iter()
            .map(|head| {
                head.lines().find_map(|line| {
                    let (n, v) = line.split_once(':')?;
                    n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
            })
            .collect()
    }
}

/// Reads one request: its head, returned, and its body (by
/// `content-length`), read and dropped so that closing the socket is not a
/// reset.
pub async fn read_head(socket: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = data.len() - end;
    while body < length {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body += n,
        }
    }
    Some(head)
}

fn head(status: u16, headers: &[(&str, String)], content_length: usize) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status} Scripted\r\ncontent-length: {content_length}\r\nconnection: close\r\n"
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

fn reset(socket: TcpStream) {
    let _ = socket.set_zero_linger();
    drop(socket);
}

/// Carries out `fault`; returns the socket when it must stay open.
async fn act(mut socket: TcpStream, fault: Fault) -> Option<TcpStream> {
    match fault {
        Fault::Reply(status, headers, body) => {
            let _ = socket.write_all(&head(status, &headers, body.len())).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
            None
        }
        Fault::Reset => {
            reset(socket);
            None
        }
        Fault::CloseMidBody => {
            let _ = socket.write_all(&head(503, &[], 1000)).await;
            let _ = socket.write_all(b"{\"code\": \"unav").await;
            let _ = socket.shutdown().await;
            None
        }
        Fault::CutSuccess => {
            let json = [("content-type", "application/json".to_owned())];
            let _ = socket.write_all(&head(200, &json, 1000)).await;
            let _ = socket.write_all(b"{\"basins\": [").await;
            let _ = socket.shutdown().await;
            None
        }
        Fault::Hang => Some(socket),
        Fault::Endless => {
            let _ = socket.write_all(&head(500, &[], 1 << 30)).await;
            let _ = socket.write_all(&[b'x'; 256 * 1024]).await;
            Some(socket)
        }
        Fault::SlowBody => {
            tokio::spawn(async move {
                let _ = socket.write_all(&head(503, &[], 100)).await;
                for _ in 0..100 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if socket.write_all(b"x").await.is_err() {
                        return;
                    }
                }
            });
            None
        }
    }
}
