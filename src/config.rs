//! Client configuration: endpoint, access token, timeouts, protocol.

use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::Error;
use crate::basin::{BASIN_VARIABLE, BasinRouting};
use crate::client::Client;
use crate::compression::Compression;
use crate::layer::{DEFAULT_OPERATION_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, RequestLayer};
use crate::retry::RetryPolicy;

/// Environment variable holding the access token.
pub const ENV_ACCESS_TOKEN: &str = "S2_ACCESS_TOKEN";
/// Environment variable holding the account endpoint, such as
/// `http://localhost:8080` or `aws.s2.dev` (as S2's own SDK reads it:
/// `[scheme://]host[:port]`, https when no scheme is given).
pub const ENV_ACCOUNT_ENDPOINT: &str = "S2_ACCOUNT_ENDPOINT";

/// Environment variable holding the basin endpoint
/// ([`ClientBuilder::basin_endpoint`]), as S2's own SDK reads it.
pub const ENV_BASIN_ENDPOINT: &str = "S2_BASIN_ENDPOINT";

/// Default connect timeout (S2's SDK uses the same).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Builds a [`Client`].
///
/// Each setting comes from, in order: the builder method, then (only with
/// [`ClientBuilder::from_env`]) the environment, then the default. The
/// default endpoint is the spec's server URL
/// ([`crate::spec::SPEC_SERVER_URL`]).
///
/// ```
/// # fn main() -> Result<(), s2_openapi::Error> {
/// let client = s2_openapi::Client::builder()
///     .access_token("my-token")
///     .endpoint("http://localhost:8080")
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "http://localhost:8080/v1");
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    access_token: Option<SecretString>,
    endpoint: Option<String>,
    connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    http2_prior_knowledge: bool,
    user_agent: Option<String>,
    pub(crate) operation_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    allow_insecure_http: bool,
    root_certificates: Vec<Vec<u8>>,
    basin_endpoint: Option<String>,
    compression: Compression,
}

/// The ways to build a [`Client`], here with the builder they start.
impl Client {
    /// A builder with defaults; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `S2_ACCESS_TOKEN` and (optionally)
    /// `S2_ACCOUNT_ENDPOINT`.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env().build()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            access_token: None,
            endpoint: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            http2_prior_knowledge: false,
            user_agent: None,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            retry: RetryPolicy::default(),
            allow_insecure_http: false,
            root_certificates: Vec::new(),
            basin_endpoint: None,
            compression: Compression::None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[redacted]"),
            )
            .field("endpoint", &self.endpoint)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("http2_prior_knowledge", &self.http2_prior_knowledge)
            .field("user_agent", &self.user_agent)
            .field("operation_timeout", &self.operation_timeout)
            .field("retry", &self.retry)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("root_certificates", &self.root_certificates.len())
            .field("basin_endpoint", &self.basin_endpoint)
            .field("compression", &self.compression)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder with the defaults and nothing read from the environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder pre-filled from `S2_ACCESS_TOKEN`, `S2_ACCOUNT_ENDPOINT`
    /// and `S2_BASIN_ENDPOINT` (each only if set and not empty). Later
    /// builder calls override them.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let mut builder = Self::new();
        builder.access_token = var(ENV_ACCESS_TOKEN).map(SecretString::from);
        builder.endpoint = var(ENV_ACCOUNT_ENDPOINT);
        builder.basin_endpoint = var(ENV_BASIN_ENDPOINT);
        builder
    }

    /// The bearer token. It is kept in a [`SecretString`], sent only in a
    /// header marked sensitive, and never printed.
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(SecretString::from(token.into()));
        self
    }

    /// The endpoint, in the forms S2's SDK accepts, `[scheme://]host[:port]`
    /// (`https` when no scheme is given, as in `aws.s2.dev` or
    /// `localhost:8080`), or a full `http` or `https` URL: with or without a
    /// trailing `/`, with or without the API's `/v1` path (it is added when
    /// missing). A path before `/v1` (a proxy prefix) is kept. Plain `http`
    /// is for loopback only unless [`allow_insecure_http`](Self::allow_insecure_http).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// How long to wait for a connection. Default 3 s. A connection not
    /// made in time is an [`Error::Connect`]: nothing was sent. Keep it
    /// below the [`request_timeout`](Self::request_timeout): an attempt
    /// whose request timeout passes first is an [`Error::Timeout`], which
    /// counts as one that may have reached S2.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt may take, reading the response included.
    /// Default 5 s. A timed-out attempt is retried.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The deadline of a whole call: every attempt and every wait between
    /// them. Default 20 s. No retry starts, and no server-requested wait
    /// is honoured, past it.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// When and how to retry; [`RetryPolicy::disabled`] turns retries off.
    /// Default: 3 attempts, full-jitter backoff from 100 ms to 1 s,
    /// `retry-after-ms` / `Retry-After` honoured.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Allows `http://` endpoints that are not loopback. Off by default:
    /// the bearer token would cross the network in clear text.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Where [`Client::basin`] handles send: a URL with `{basin}` in its
    /// host (`https://{basin}.b.s2.dev/v1`) for one host per basin, or
    /// without (`http://localhost:8080`) for one endpoint serving every
    /// basin, named in an `s2-basin` header. Read and checked as the
    /// account endpoint is (`[scheme://]host[:port]`, the API prefix added,
    /// clear text refused). Default: the spec's per-basin server when the
    /// endpoint is the spec's own, else the header on the account endpoint
    /// (as for `s2-lite`).
    pub fn basin_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.basin_endpoint = Some(endpoint.into());
        self
    }

    /// Trusts one more root certificate (PEM) for `https://`, for example
    /// the self-signed certificate of `s2-lite --tls-self`. The platform's
    /// roots stay trusted. An unparsable PEM fails [`build`](Self::build).
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Speak HTTP/2 from the first byte on `http://` (h2c), as S2's SDK and
    /// `s2-lite` do; on `https://` this forces HTTP/2 instead of letting
    /// ALPN choose. Default off: HTTP/1.1 on `http://`, ALPN on `https://`.
    pub fn http2_prior_knowledge(mut self, enabled: bool) -> Self {
        self.http2_prior_knowledge = enabled;
        self
    }

    /// Compress bodies: answers are asked for in this encoding and
    /// decompressed, request bodies of 1 KiB or more
    /// ([`COMPRESSION_THRESHOLD`](crate::COMPRESSION_THRESHOLD)) are sent
    /// compressed. Default [`Compression::None`], as in S2's SDK: fewer
    /// bytes on the wire cost CPU on both ends.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The `User-Agent` header. Default `s2-openapi/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Checks the configuration and builds the client. Never panics.
    pub fn build(self) -> Result<Client, Error> {
        let token = self.access_token.as_ref().ok_or_else(|| {
            Error::config(format!(
                "no access token: set {ENV_ACCESS_TOKEN} or call ClientBuilder::access_token"
            ))
        })?;
        if token.expose_secret().is_empty() {
            return Err(Error::config("the access token is empty"));
        }
        let endpoint = self
            .endpoint
            .as_deref()
            .or(crate::spec::SPEC_SERVER_URL)
            .ok_or_else(|| Error::config("no endpoint given and the spec names no server"))?;
        let base_url = base_url(endpoint).map_err(Error::config)?;
        self.check_clear_text(&base_url)?;
        let basin_endpoint = match &self.basin_endpoint {
            Some(endpoint) => Some(self.basin_endpoint_url(endpoint)?),
            None => None,
        };
        let http = self.http_client(token)?;
        let layer = RequestLayer::new(
            self.retry.clone(),
            self.request_timeout,
            self.operation_timeout,
        )
        .compressing(self.compression);
        let routing = BasinRouting::choose(basin_endpoint, self.endpoint.is_none());
        Ok(Client::new(base_url, http, layer, routing))
    }

    /// Refuses a plain `http://` URL that is not this machine, unless
    /// allowed: the token would cross the network in clear text.
    fn check_clear_text(&self, url: &Url) -> Result<(), Error> {
        if url.scheme() == "http" && !self.allow_insecure_http && !is_loopback(url) {
            return Err(Error::config(format!(
                "refusing to send the access token in clear text to {}; use https, \
                 or allow_insecure_http(true)",
                url.host_str().unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// The basin endpoint, checked and normalized as the account endpoint
    /// is (`[scheme://]host[:port]`, the API prefix, clear text refused),
    /// with its `{basin}` kept: a basin name stands in for it meanwhile.
    fn basin_endpoint_url(&self, endpoint: &str) -> Result<String, Error> {
        const STAND_IN: &str = "basin-name-stand-in";
        let url = base_url(&endpoint.replace(BASIN_VARIABLE, STAND_IN))
            .map_err(|why| Error::config(format!("basin {}", why.replace(STAND_IN, BASIN_VARIABLE))))?;
        self.check_clear_text(&url)?;
        Ok(url.as_str().replace(STAND_IN, BASIN_VARIABLE))
    }

    fn http_client(&self, token: &SecretString) -> Result<reqwest::Client, Error> {
        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).map_err(|_| {
                Error::config(
                    "the access token contains characters that are not allowed in an HTTP header",
                )
            })?;
        auth.set_sensitive(true);
        let headers = HeaderMap::from_iter([(AUTHORIZATION, auth)]);
        let user_agent = self
            .user_agent
            .clone()
            .unwrap_or_else(|| concat!("s2-openapi/", env!("CARGO_PKG_VERSION")).to_owned());
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(user_agent)
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            // The API never redirects; following one would re-send the
            // request, token included, somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            // Only the chosen encoding is asked for (none for `None`), and
            // decompressed. S2 never compresses event streams.
            .gzip(self.compression == Compression::Gzip)
            .zstd(self.compression == Compression::Zstd)
            .no_brotli()
            .no_deflate();
        if self.http2_prior_knowledge {
            builder = builder.http2_prior_knowledge();
        }
        let tls = crate::tls::client_config(&self.root_certificates, self.http2_prior_knowledge)?;
        builder = builder.tls_backend_preconfigured(tls);
        builder
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
    }
}

/// Whether the URL's host is this machine: `localhost`, 127.0.0.0/8, ::1.
/// An http(s) URL's domain is already lower case.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(host)) => host == "localhost" || host.ends_with(".localhost"),
        None => false,
    }
}

/// The API path prefix, from the spec's server URL (`/v1`).
fn api_prefix() -> String {
    crate::spec::SPEC_SERVER_URL
        .and_then(|url| Url::parse(url).ok())
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// Normalizes an endpoint to the base URL the generated client expects:
/// `scheme://authority[/prefix]/v1`, no trailing `/`.
///
/// Without `://` the endpoint is an authority, `host[:port]`, reached over
/// https: S2's SDK reads `S2_ACCOUNT_ENDPOINT` so (`AccountEndpoint` in
/// `s2-sdk`'s `types.rs`: `[scheme://]authority`).
pub(crate) fn base_url(endpoint: &str) -> Result<Url, String> {
    let trimmed = endpoint.trim();
    let url = if trimmed.contains("://") {
        Url::parse(trimmed)
    } else {
        let authority: http::uri::Authority = trimmed
            .parse()
            .map_err(|e| format!("endpoint {endpoint:?} is not a URL, nor a host[:port]: {e}"))?;
        Url::parse(&format!("https://{authority}"))
    };
    let mut url = url.map_err(|e| format!("endpoint {endpoint:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "endpoint {endpoint:?} must use http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("endpoint {endpoint:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the endpoint must not contain credentials; use the access token".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "endpoint {endpoint:?} must not have a query or fragment"
        ));
    }
    let mut path = url.path().trim_end_matches('/').to_owned();
    let prefix = api_prefix();
    if !path.ends_with(&prefix) {
        path.push_str(&prefix);
    }
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_basin_endpoint_is_checked_and_normalized_like_the_account_endpoint() {
        use progenitor_client::ClientInfo as _;
        let basin_base = |endpoint: &str| {
            let client = Client::builder()
                .access_token("t")
                .endpoint("http://localhost:8080")
                .basin_endpoint(endpoint)
                .build()?;
            let basin = client.basin("my-basin-1")?;
            Ok::<_, Error>(basin.generated().baseurl().to_owned())
        };
        for (given, base) in [
            ("{basin}.b.s2.dev", "https://my-basin-1.b.s2.dev/v1"),
            ("https://{basin}.b.s2.dev/v1", "https://my-basin-1.b.s2.dev/v1"),
            ("http://{basin}.localhost:9000/", "http://my-basin-1.localhost:9000/v1"),
            // One endpoint for every basin: that endpoint, not the account's.
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000/v1"),
        ] {
            assert_eq!(basin_base(given).unwrap(), base, "{given}");
        }
        for (given, why) in [
            ("http://{basin}.b.example", "clear text"),
            ("ftp://{basin}.b.example", "basin endpoint \"ftp://{basin}.b.example\""),
        ] {
            let err = basin_base(given).unwrap_err();
            assert!(err.to_string().contains(why), "{given}: {err}");
        }
    }

    #[test]
    fn endpoints_are_normalized_to_the_api_base() {
        for (given, base) in [
            ("http://localhost:8080", "http://localhost:8080/v1"),
            ("http://localhost:8080/", "http://localhost:8080/v1"),
            ("http://localhost:8080/v1", "http://localhost:8080/v1"),
            ("http://localhost:8080/v1/", "http://localhost:8080/v1"),
            ("https://aws.s2.dev/v1", "https://aws.s2.dev/v1"),
            ("https://proxy.test/s2", "https://proxy.test/s2/v1"),
            (" http://[::1]:9/ ", "http://[::1]:9/v1"),
            // S2's SDK forms: an authority alone is https.
            ("localhost:8080", "https://localhost:8080/v1"),
            ("aws.s2.dev", "https://aws.s2.dev/v1"),
            ("127.0.0.1:9", "https://127.0.0.1:9/v1"),
            ("[::1]:8443", "https://[::1]:8443/v1"),
        ] {
            assert_eq!(base_url(given).unwrap().as_str(), base, "{given}");
        }
    }

    #[test]
    fn bad_endpoints_are_refused_with_a_reason() {
        for (given, says) in [
            ("ftp://x", "must use http or https"),
            ("not a url", "is not a URL"),
            ("localhost:8080/v1", "is not a URL"),
            ("user@localhost", "credentials"),
            ("", "is not a URL"),
            ("http://user:pw@host", "credentials"),
            ("http://host/?a=b", "query"),
            ("http://host/#x", "fragment"),
        ] {
            let err = base_url(given).unwrap_err();
            assert!(err.contains(says), "{given}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
    }

    proptest::proptest! {
        /// `host[:port]` means the same as `https://host[:port]`.
        #[test]
        fn an_authority_alone_is_https(
            // A label starting `xn--` is punycode, and most such strings do
            // not decode: not a host at all (found as `a.xn--`).
            host in proptest::strategy::Strategy::prop_filter(
                "[a-z][a-z0-9-]{0,20}(\\.[a-z][a-z0-9-]{0,20}){0,3}",
                "not a punycode label",
                |h: &String| !h.split('.').any(|l| l.starts_with("xn--")),
            ),
            port in proptest::option::of(1u16..),
        ) {
            let authority = match port {
                Some(port) => format!("{host}:{port}"),
                None => host,
            };
            let bare = base_url(&authority);
            let full = base_url(&format!("https://{authority}"));
            proptest::prop_assert_eq!(&bare, &full);
            proptest::prop_assert!(bare.is_ok(), "{:?}", bare);
        }
    }

    #[test]
    fn missing_and_unusable_tokens_are_clear_errors() {
        for (builder, says) in [
            (
                ClientBuilder::new().endpoint("http://localhost"),
                "no access token",
            ),
            (ClientBuilder::new().access_token(""), "empty"),
            (
                ClientBuilder::new().access_token("se\ncret"),
                "not allowed in an HTTP header",
            ),
        ] {
            let err = builder.build().unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
            assert!(!err.contains("se\ncret"), "{err}");
        }
    }

    #[test]
    fn clear_text_http_is_only_for_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:1",
            "http://127.1.2.3",
            "http://[::1]:8080",
            "http://localhost",
            "http://s2.localhost",
            "http://S2.LocalHost",
        ] {
            ClientBuilder::new()
                .access_token("t")
                .endpoint(ok)
                .build()
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for refused in [
            "http://example.com",
            "http://10.0.0.1",
            "http://localhost.example.com",
        ] {
            let err = ClientBuilder::new()
                .access_token("t")
                .endpoint(refused)
                .build()
                .unwrap_err();
            assert!(err.to_string().contains("clear text"), "{refused}: {err}");
            ClientBuilder::new()
                .access_token("t")
                .endpoint(refused)
                .allow_insecure_http(true)
                .build()
                .unwrap();
        }
    }

    #[test]
    fn bad_root_certificates_fail_the_build() {
        let err = ClientBuilder::new()
            .access_token("t")
            .add_root_certificate_pem("not a certificate")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("root certificate"), "{err}");
    }

    #[test]
    fn the_default_endpoint_is_the_spec_server() {
        let client = ClientBuilder::new().access_token("t").build().unwrap();
        let expected = crate::spec::SPEC_SERVER_URL.unwrap().trim_end_matches('/');
        assert_eq!(client.base_url().as_str(), expected);
    }

    #[test]
    fn debug_redacts_the_token() {
        let builder = ClientBuilder::new().access_token("super-secret-token");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("super-secret-token"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
