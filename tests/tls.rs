//! HTTPS: a self-signed server is refused unless its certificate is added
//! as a root, and the token never goes to an untrusted server.

// Test helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use s2_openapi::{Client, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// A server configuration for the certificate, on aws-lc-rs whatever
/// provider the client under test uses (both may be compiled in, so the
/// process-wide default cannot be guessed).
fn server_config(certified: &rcgen::CertifiedKey<rcgen::KeyPair>) -> rustls::ServerConfig {
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap()
}

/// A TLS server for `localhost` with a fresh self-signed certificate that
/// answers 204 to every request it fully receives. Returns its port, the
/// certificate (PEM) and a count of requests received.
async fn self_signed_server() -> (u16, String, Arc<AtomicUsize>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let config = server_config(&certified);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = tls
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, cert_pem, received)
}

#[tokio::test]
async fn self_signed_certificates_need_an_explicit_root() {
    let (port, pem, received) = self_signed_server().await;
    let endpoint = format!("https://localhost:{port}");

    let untrusting = Client::builder()
        .access_token("tls-token")
        .endpoint(&endpoint)
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = untrusting.revoke_access_token("tok-1").await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(
        received.load(Ordering::SeqCst),
        0,
        "a request reached an untrusted server"
    );

    let trusting = Client::builder()
        .access_token("tls-token")
        .endpoint(&endpoint)
        .add_root_certificate_pem(pem)
        .build()
        .unwrap();
    let revoked = trusting.revoke_access_token("tok-1").await.unwrap();
    assert_eq!(revoked.status.as_u16(), 204);
    assert_eq!(received.load(Ordering::SeqCst), 1);
}

/// Over HTTPS the client offers HTTP/2 by ALPN: the server (which prefers
/// it) negotiates `h2`.
#[tokio::test]
async fn https_offers_http2_by_alpn() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let mut config = server_config(&certified);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (negotiated_tx, negotiated_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(socket).await.unwrap();
        let _ = negotiated_tx.send(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec));
        // Dropping the connection ends the client's call with an error.
    });

    let client = Client::builder()
        .access_token("tls-token")
        .endpoint(format!("https://localhost:{port}"))
        .add_root_certificate_pem(certified.cert.pem())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let _ = client.revoke_access_token("tok-1").await;
    assert_eq!(negotiated_rx.await.unwrap().as_deref(), Some(&b"h2"[..]));
}
