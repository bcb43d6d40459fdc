//! The client: configuration applied to the generated progenitor client,
//! the handle every operation of the spec is called through.

use std::fmt;
use std::sync::Arc;

use futures_util::Stream;
use url::Url;

use crate::basin::{Basin, BasinName, BasinRouting};
use crate::error::Error;
use crate::generated;
use crate::layer::RequestLayer;
use crate::live::{LiveEvent, LiveRead};
#[cfg(s2_openapi_revoke)]
use crate::rate_limit::RunLimiter;

/// A client for S2.
///
/// Cheap to clone: clones share one connection pool. Build one with
/// [`Client::from_env`] or [`Client::builder`] (in `config.rs`, with the
/// builder).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    generated: generated::Client,
    live: generated::live::Client,
    base_url: Url,
    basin_routing: BasinRouting,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("layer", &self.inner.generated.inner)
            .field("access_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(
        base_url: Url,
        http: reqwest::Client,
        layer: RequestLayer,
        basin_routing: BasinRouting,
    ) -> Self {
        let generated = generated::Client::new_with_client(base_url.as_str(), http, layer);
        let live = crate::live::client(&generated);
        Self {
            inner: Arc::new(Inner {
                generated,
                live,
                base_url,
                basin_routing,
            }),
        }
    }

    /// This client with every attempt of its calls gated by `limiter`
    /// (a bulk run's: [`RunLimiter`]).
    #[cfg(s2_openapi_revoke)]
    pub(crate) fn with_rate_limiter(&self, limiter: Arc<RunLimiter>) -> Self {
        let generated = &self.inner.generated;
        Self::new(
            self.inner.base_url.clone(),
            generated.client.clone(),
            generated.inner.with_rate_limiter(limiter),
            self.inner.basin_routing.clone(),
        )
    }

    /// The generated progenitor client, for every other operation of the
    /// spec. It shares this client's connection pool, bearer token,
    /// timeouts and redirect policy.
    pub fn generated(&self) -> &generated::Client {
        &self.inner.generated
    }

    /// A live read of an account-level operation: see [`Basin::live`] (S2's
    /// own live read is a basin's).
    pub fn live<'a, R: LiveRead<'a>>(
        &'a self,
        request: impl FnOnce(&'a generated::live::Client) -> R,
    ) -> impl Stream<Item = Result<LiveEvent<R::Data, R::Ping>, Error>> + Send + 'a {
        crate::live::events(&self.inner.live, request)
    }

    /// A handle for the basin `name`'s stream and record operations, over
    /// this client's connection pool ([`Basin`]).
    ///
    /// # Errors
    /// [`InvalidInput::Argument`](crate::InvalidInput::Argument) when S2 would refuse the name.
    pub fn basin(&self, name: impl Into<String>) -> Result<Basin, Error> {
        Basin::new(
            &self.inner.generated,
            &self.inner.basin_routing,
            BasinName::new(name)?,
        )
    }

    /// The API base URL requests go to, such as `https://aws.s2.dev/v1`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }
}
