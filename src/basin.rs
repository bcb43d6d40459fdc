//! Basin-scoped operations: a cheap handle per basin over the client's own
//! connection pool.
//!
//! S2 routes stream and record operations by basin in one of two ways, as
//! its SDK does: in S2's cloud each basin has a host of its own (the spec's
//! per-basin server, `https://{basin}.b.s2.dev/v1`); a single cell such as
//! `s2-lite` serves every basin on the account endpoint and reads the basin
//! from the `s2-basin` header.

use std::fmt;

use futures_util::Stream;
use url::Url;

use crate::error::Error;
use crate::generated;
use crate::live::{LiveEvent, LiveRead};

/// The variable naming the basin in a per-basin endpoint template.
pub(crate) const BASIN_VARIABLE: &str = "{basin}";

/// How basins are reached from a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BasinRouting {
    /// One host per basin: the endpoint template with `{basin}` replaced.
    PerHost(String),
    /// One endpoint for every basin, with an `s2-basin` header: the basin
    /// endpoint given, else the account's.
    Header(Option<String>),
}

impl BasinRouting {
    /// The routing for a client: an explicit basin endpoint first (checked
    /// and normalized, `{basin}` kept); else, when the client talks to the
    /// spec's own server, the spec's per-basin server; else (a custom
    /// endpoint: `s2-lite`, one cell) the header on the account endpoint.
    pub(crate) fn choose(basin_endpoint: Option<String>, default_endpoint: bool) -> Self {
        match basin_endpoint {
            Some(template) if template.contains(BASIN_VARIABLE) => Self::PerHost(template),
            Some(endpoint) => Self::Header(Some(endpoint)),
            None => {
                let spec_server = crate::spec::OPERATIONS
                    .iter()
                    .find_map(|op| op.basin_server)
                    .filter(|server| default_endpoint && server.contains(BASIN_VARIABLE));
                spec_server.map_or(Self::Header(None), |server| Self::PerHost(server.into()))
            }
        }
    }
}

/// A basin's name, checked by S2's rules (crate `s2-common`): 8 to 48
/// bytes of lowercase letters, digits and hyphens, beginning and ending
/// with a letter or digit. A name that passes is a valid DNS label and
/// header value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BasinName(String);

/// Fewest bytes in a basin name.
pub const MIN_BASIN_NAME_BYTES: usize = 8;
/// Most bytes in a basin name.
pub const MAX_BASIN_NAME_BYTES: usize = 48;

impl BasinName {
    /// Checks `name` by S2's rules.
    ///
    /// # Errors
    /// [`InvalidInput::Argument`](crate::InvalidInput::Argument) saying which rule the name breaks.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        let refuse = |why: &str| Err(Error::argument(format!("basin name {name:?} {why}")));
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        if name.len() < MIN_BASIN_NAME_BYTES {
            return refuse("is shorter than 8 bytes");
        }
        if name.len() > MAX_BASIN_NAME_BYTES {
            return refuse("is longer than 48 bytes");
        }
        let bytes = name.as_bytes();
        if !bytes.first().is_some_and(|&c| alnum(c)) {
            return refuse("must begin with a lowercase letter or a digit");
        }
        if !bytes.last().is_some_and(|&c| alnum(c)) {
            return refuse("must end with a lowercase letter or a digit");
        }
        if !bytes.iter().all(|&c| alnum(c) || c == b'-') {
            return refuse("may hold only lowercase letters, digits and hyphens");
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BasinName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BasinName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A client scoped to one basin, for the spec's stream and record
/// operations: the same connection pool, token, timeouts, retries and
/// request layer as the [`Client`](crate::Client) it came from. Cheap to make (no
/// connection, no new pool) and to clone.
///
/// ```no_run
/// # fn f(client: &s2_openapi::Client) -> Result<(), s2_openapi::Error> {
/// let basin = client.basin("my-basin-1")?;
/// // The spec's stream and record operations, such as
/// // `basin.generated().list_streams().send().await?` with the whole API.
/// let generated: &s2_openapi::generated::Client = basin.generated();
/// # let _ = generated; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Basin {
    name: BasinName,
    generated: generated::Client,
    live: generated::live::Client,
}

impl Basin {
    /// The handle for `name`, from the account's generated client and how
    /// basins are reached.
    pub(crate) fn new(
        account: &generated::Client,
        routing: &BasinRouting,
        name: BasinName,
    ) -> Result<Self, Error> {
        let (base_url, header) = match routing {
            BasinRouting::PerHost(template) => {
                let url = template.replace(BASIN_VARIABLE, name.as_str());
                let url = Url::parse(&url).map_err(|e| {
                    Error::config(format!("basin endpoint {url:?} is not a URL: {e}"))
                })?;
                (url.as_str().trim_end_matches('/').to_owned(), None)
            }
            BasinRouting::Header(endpoint) => (
                endpoint.clone().unwrap_or_else(|| account.baseurl.clone()),
                Some(basin_header(name.as_str())?),
            ),
        };
        let layer = account.inner.for_basin(header);
        let generated =
            generated::Client::new_with_client(&base_url, account.client.clone(), layer);
        let live = crate::live::client(&generated);
        Ok(Self {
            name,
            generated,
            live,
        })
    }

    /// The basin's name.
    pub fn name(&self) -> &BasinName {
        &self.name
    }

    /// The generated client for this basin: every operation of the spec,
    /// through the request layer.
    pub fn generated(&self) -> &generated::Client {
        &self.generated
    }

    /// A live read on this basin: the operation and parameters `request`
    /// picks from the live client (the spec's event-stream operations), as
    /// a stream of events that resumes after dropped connections, silence
    /// and transient errors without losing or repeating a record (see
    /// [`LiveRead`]).
    ///
    /// ```no_run
    /// # #[cfg(s2_operation = "read")]
    /// # async fn f(basin: &s2_openapi::Basin) -> Result<(), s2_openapi::Error> {
    /// use futures_util::TryStreamExt as _;
    /// use s2_openapi::LiveEvent;
    ///
    /// let mut events = std::pin::pin!(basin.live(|live| live.read().stream("orders").seq_num(0u64)));
    /// while let Some(event) = events.try_next().await? {
    ///     if let LiveEvent::Data(batch) = event {
    ///         for record in batch.records {
    ///             println!("{}: {:?}", record.seq_num, record.body);
    ///         }
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn live<'a, R: LiveRead<'a>>(
        &'a self,
        request: impl FnOnce(&'a generated::live::Client) -> R,
    ) -> impl Stream<Item = Result<LiveEvent<R::Data, R::Ping>, Error>> + Send + 'a {
        crate::live::events(&self.live, request)
    }

    /// A [`Producer`](crate::Producer) appending to `stream`: records
    /// submitted one at a time, appended in order in batches, each
    /// acknowledged with its sequence number; exactly once when the
    /// configuration gives the stream's position
    /// ([`ProducerConfig::match_tail`](crate::ProducerConfig::match_tail)).
    ///
    /// # Errors
    /// A stream name or configuration the rules refuse, or the failure to
    /// read the stream's tail when the configuration asks for it.
    #[cfg(s2_operation = "append")]
    pub async fn producer(
        &self,
        stream: &str,
        config: crate::ProducerConfig,
    ) -> Result<crate::Producer, Error> {
        crate::producer::Producer::start(&self.generated, stream, config).await
    }
}

/// The `s2-basin` header naming `basin`.
fn basin_header(basin: &str) -> Result<reqwest::header::HeaderValue, Error> {
    reqwest::header::HeaderValue::try_from(basin)
        .map_err(|_| Error::config(format!("basin name {basin:?} is not a valid header value")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s2_basin_name_rules() {
        for ok in ["my-basin", "abcdefgh", "a1234567", &"a".repeat(48)] {
            assert!(BasinName::new(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("short", "shorter"),
            (&"a".repeat(49), "longer"),
            ("-abcdefgh", "begin"),
            ("abcdefgh-", "end"),
            ("abcd_efgh", "only"),
            ("Abcdefgh", "begin"),
            ("abcdéfgh", "only"),
        ] {
            let e = BasinName::new(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn routing_follows_the_endpoint() {
        let given = |endpoint: &str| Some(endpoint.to_owned());
        assert_eq!(
            BasinRouting::choose(given("https://{basin}.b.example/v1"), false),
            BasinRouting::PerHost("https://{basin}.b.example/v1".to_owned())
        );
        assert_eq!(
            BasinRouting::choose(given("http://localhost:8080/v1"), true),
            BasinRouting::Header(given("http://localhost:8080/v1"))
        );
        assert_eq!(BasinRouting::choose(None, false), BasinRouting::Header(None));
    }
}
