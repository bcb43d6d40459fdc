//! The rustls configuration handed to reqwest: the crypto provider chosen by
//! the crate's features, and the platform's roots plus the extra ones given.
//!
//! reqwest is built with `rustls-no-provider`, so it compiles neither ring
//! nor aws-lc-rs itself; the client passes it a finished
//! [`rustls::ClientConfig`] instead. Trust is what reqwest's own `rustls`
//! feature gives: `rustls-platform-verifier` (the platform's trusted roots),
//! with the roots added by
//! [`ClientBuilder::add_root_certificate_pem`](crate::ClientBuilder::add_root_certificate_pem)
//! trusted as well.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::Error;

/// The crypto provider: aws-lc-rs with `rustls-aws-lc-rs` (also when
/// `rustls-ring` is on too: with ring the default, turning aws-lc-rs on
/// without `default-features = false` is how both end up enabled, and it
/// is the one asked for).
#[cfg(feature = "rustls-aws-lc-rs")]
fn provider() -> Result<Arc<CryptoProvider>, Error> {
    Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// The crypto provider: ring with `rustls-ring` alone. rustls 0.23.48
/// deprecates ring's provider because ring has no post-quantum key
/// exchange; it is still the lighter build, which is what the feature
/// offers. `rustls-aws-lc-rs` brings X25519MLKEM768.
#[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc-rs")))]
#[allow(deprecated)]
fn provider() -> Result<Arc<CryptoProvider>, Error> {
    Ok(Arc::new(rustls::crypto::ring::default_provider()))
}

/// The crypto provider with neither feature: the process-wide default the
/// application installed.
#[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")))]
fn provider() -> Result<Arc<CryptoProvider>, Error> {
    CryptoProvider::get_default().cloned().ok_or_else(|| {
        Error::config(
            "no rustls crypto provider: enable the feature rustls-ring or rustls-aws-lc-rs, \
             or install a process-wide one with rustls::crypto::CryptoProvider::install_default",
        )
    })
}

/// Parses PEM bundles of root certificates; each must hold at least one.
fn root_certificates(pems: &[Vec<u8>]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut roots = Vec::new();
    for pem in pems {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::config(format!("cannot read a root certificate: {e}")))?;
        if certificates.is_empty() {
            return Err(Error::config("no root certificate found in the PEM given"));
        }
        roots.extend(certificates);
    }
    Ok(roots)
}

/// The TLS configuration for reqwest's `tls_backend_preconfigured`: TLS 1.2
/// and 1.3, the platform verifier with `extra_roots`, and ALPN offering
/// HTTP/2 then HTTP/1.1 (HTTP/2 only with prior knowledge), as reqwest
/// would set it.
pub(crate) fn client_config(
    extra_roots: &[Vec<u8>],
    http2_only: bool,
) -> Result<rustls::ClientConfig, Error> {
    let roots = root_certificates(extra_roots)?;
    let provider = provider()?;
    let tls_error = |e: rustls::Error| Error::config(format!("cannot set up TLS: {e}"));
    let verifier = if roots.is_empty() {
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(tls_error)?
    } else {
        #[cfg(any(all(unix, not(target_os = "android")), target_os = "windows"))]
        {
            rustls_platform_verifier::Verifier::new_with_extra_roots(roots, Arc::clone(&provider))
                .map_err(tls_error)?
        }
        #[cfg(not(any(all(unix, not(target_os = "android")), target_os = "windows")))]
        return Err(Error::config(
            "extra root certificates are not supported on this platform",
        ));
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    if !http2_only {
        config.alpn_protocols.push(b"http/1.1".to_vec());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which provider the features picked, told apart by a key exchange
    /// group only aws-lc-rs offers by default (hybrid post-quantum).
    #[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
    #[test]
    fn the_features_pick_the_provider() {
        let has_mlkem = provider()
            .unwrap()
            .kx_groups
            .iter()
            .any(|group| format!("{:?}", group.name()).contains("MLKEM"));
        assert_eq!(has_mlkem, cfg!(feature = "rustls-aws-lc-rs"));
    }

    #[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
    #[test]
    fn alpn_offers_http2_then_http1_unless_http2_only() {
        let config = client_config(&[], false).unwrap();
        assert_eq!(config.alpn_protocols, [&b"h2"[..], b"http/1.1"]);
        let config = client_config(&[], true).unwrap();
        assert_eq!(config.alpn_protocols, [&b"h2"[..]]);
    }

    /// With neither feature and no process-wide provider, building a
    /// client is a configuration error, not reqwest's panic.
    #[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")))]
    #[test]
    fn without_a_provider_the_build_says_what_to_do() {
        let err = crate::Client::builder()
            .access_token("t")
            .endpoint("http://127.0.0.1:1")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("rustls-ring"), "{err}");
    }

    #[test]
    fn a_pem_without_certificates_is_refused() {
        let err = root_certificates(&[b"not a certificate".to_vec()]).unwrap_err();
        assert!(err.to_string().contains("no root certificate"), "{err}");
    }
}
