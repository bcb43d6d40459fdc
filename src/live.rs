//! Live reads: an operation whose answer is a stream of Server-Sent Events,
//! as a [`Stream`] that resumes.
//!
//! The generator makes each such operation of the spec a method of the
//! live client (`generated::live`, reached with [`Basin::live`] or
//! [`Client::live`]) and implements [`LiveRead`] for its builder. The
//! request layer sends it with `Accept: text/event-stream` and no
//! per-attempt timeout (a live read lasts as long as it lasts); here:
//!
//! - a heartbeat watchdog: S2 sends a `ping` every 5 to 15 s, so
//!   [`HEARTBEAT_TIMEOUT`] without any event (or without an answer to the
//!   request) is a dropped connection;
//! - after a dropped connection, a body that breaks off, or a retryable
//!   `error` event, the read is sent again with `Last-Event-ID` naming the
//!   last data event received: S2 resumes after it and counts the records
//!   and bytes already delivered against the request's limits, so no
//!   record is lost or repeated. Reconnections without a new event between
//!   them are bounded and spaced by the client's [`RetryPolicy`]; each
//!   request's own failures are retried by the request layer;
//! - an `error` event that is not retryable ends the stream with S2's
//!   typed error; `[DONE]` ends it.
//!
//! Events are parsed by `eventsource-stream` (see `docs/design.md`).
//!
//! [`Basin::live`]: crate::Basin::live
//! [`Client::live`]: crate::Client::live

use std::future::Future;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource as _};
use futures_util::{Stream, StreamExt as _, stream};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Error, InvalidBody};
use crate::retry::RetryPolicy;

/// How long a live read waits for an event (a `ping` at least) before it
/// takes the connection for dropped and reconnects: S2 sends one every 5
/// to 15 s.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(20);

/// The name of S2's heartbeat event.
const PING_EVENT: &str = "ping";
/// The name of S2's error event (the stream ends after it).
const ERROR_EVENT: &str = "error";
/// The data of the event that ends a stream.
const DONE: &str = "[DONE]";

/// An operation whose answer is a stream of S2's Server-Sent Events: the
/// builder of a live client's call, with its parameters set. Implemented
/// by the generator; used through [`Basin::live`](crate::Basin::live).
pub trait LiveRead<'a>: Clone + Send + 'a {
    /// The data of the event that carries records.
    type Data: DeserializeOwned + Send + 'a;
    /// The data of a heartbeat.
    type Ping: DeserializeOwned + Send + 'a;
    /// The name of the event that carries records (and an id to resume
    /// after).
    #[doc(hidden)]
    const DATA_EVENT: &'static str;
    /// The same request, resuming after the event with this id.
    #[doc(hidden)]
    fn resume_after(self, last_event_id: String) -> Self;
    /// Sends the request; the answer's body is the event stream.
    #[doc(hidden)]
    fn connect(
        self,
    ) -> impl Future<Output = Result<progenitor_client::ByteStream, Error>> + Send + 'a;
}

/// One event of a live read.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LiveEvent<D, P> {
    /// Data: for a read, a `types::ReadBatch` of records.
    Data(D),
    /// A heartbeat.
    Ping(Heartbeat<P>),
}

/// A heartbeat: the spec's data for it, and every field the server sent,
/// for what a newer server sends before the spec declares it (S2's
/// servers send the stream's `tail`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Heartbeat<P> {
    /// The data, as the spec declares it.
    pub data: P,
    /// Every field of the data, as sent.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl<P> Heartbeat<P> {
    /// The stream's tail when the server sent it, as the type given (for
    /// S2, `types::StreamPosition`: the next sequence number and the last
    /// record's timestamp).
    pub fn tail<T: DeserializeOwned>(&self) -> Option<T> {
        self.fields
            .get("tail")
            .and_then(|tail| T::deserialize(tail).ok())
    }
}

impl<D, P> LiveEvent<D, P> {
    /// The data, when the event carries some.
    pub fn into_data(self) -> Option<D> {
        match self {
            Self::Data(data) => Some(data),
            Self::Ping(_) => None,
        }
    }
}

type Events<'a> = std::pin::Pin<
    Box<
        dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<reqwest::Error>>>
            + Send
            + 'a,
    >,
>;

/// Where a live read is.
struct Session<'a, R> {
    request: R,
    policy: RetryPolicy,
    /// The id of the last data event received.
    last_event_id: Option<String>,
    events: Option<Events<'a>>,
    /// Reconnections since the last event.
    reconnects: u32,
    backoffs: Box<dyn Iterator<Item = Duration> + Send + 'a>,
}

/// What one step of a session came to.
enum Step<E> {
    Event(E),
    Done,
    /// The connection is gone (dropped, silent, cut, or ended by a
    /// retryable error); `Error` is what ends the read if no more
    /// reconnections are allowed.
    Reconnect(Error),
    /// The read ends with this error.
    Fail(Error),
}

/// The live client over `generated`'s connection pool, token and request
/// layer.
pub(crate) fn client(generated: &crate::generated::Client) -> crate::generated::live::Client {
    crate::generated::live::Client::new_with_client(
        &generated.baseurl,
        generated.client.clone(),
        generated.inner.for_event_streams(),
    )
}

/// The live read that `request` makes of `live`, resumed after failures
/// as the module says, reconnecting under the client's retry policy.
pub(crate) fn events<'a, R: LiveRead<'a>>(
    live: &'a crate::generated::live::Client,
    request: impl FnOnce(&'a crate::generated::live::Client) -> R,
) -> impl Stream<Item = Result<LiveEvent<R::Data, R::Ping>, Error>> + Send + 'a {
    let policy = live.inner.retry_policy().clone();
    let request = request(live);
    let backoffs = Box::new(policy.backoffs());
    let session = Session {
        request,
        policy,
        last_event_id: None,
        events: None,
        reconnects: 0,
        backoffs,
    };
    stream::try_unfold(session, |mut session| async move {
        loop {
            match session.step().await {
                Step::Event(event) => {
                    session.reconnects = 0;
                    session.backoffs = Box::new(session.policy.backoffs());
                    return Ok(Some((event, session)));
                }
                Step::Done => return Ok(None),
                Step::Fail(error) => return Err(error),
                Step::Reconnect(error) => {
                    session.events = None;
                    session.reconnects += 1;
                    let backoff = session.backoffs.next();
                    match backoff {
                        Some(wait) if session.reconnects < session.policy.max_attempts => {
                            tracing::debug!(error = %error, wait_ms = wait.as_millis() as u64,
                                "live read: reconnecting");
                            tokio::time::sleep(session.policy.wait(wait, None)).await;
                        }
                        _ => return Err(error),
                    }
                }
            }
        }
    })
}

impl<'a, R: LiveRead<'a>> Session<'a, R> {
    /// The next event, connecting first when there is no connection.
    async fn step(&mut self) -> Step<LiveEvent<R::Data, R::Ping>> {
        let events = match &mut self.events {
            Some(events) => events,
            None => {
                let request = match &self.last_event_id {
                    Some(id) => self.request.clone().resume_after(id.clone()),
                    None => self.request.clone(),
                };
                match tokio::time::timeout(HEARTBEAT_TIMEOUT, request.connect()).await {
                    Ok(Ok(body)) => self.events.insert(body.into_inner().eventsource().boxed()),
                    // The request layer has retried what may be retried.
                    Ok(Err(error)) => return Step::Fail(error),
                    Err(_) => return Step::Reconnect(Error::silent(HEARTBEAT_TIMEOUT)),
                }
            }
        };
        loop {
            let event = match tokio::time::timeout(HEARTBEAT_TIMEOUT, events.next()).await {
                Err(_) => return Step::Reconnect(Error::silent(HEARTBEAT_TIMEOUT)),
                Ok(None) => {
                    return Step::Reconnect(Error::InvalidBody(InvalidBody::contradiction(
                        "the event stream ended without `[DONE]`",
                    )));
                }
                Ok(Some(Err(EventStreamError::Transport(e)))) => {
                    return Step::Reconnect(Error::from_reqwest(e));
                }
                Ok(Some(Err(e))) => {
                    return Step::Fail(Error::InvalidBody(InvalidBody::contradiction(&format!(
                        "the event stream is malformed: {e}"
                    ))));
                }
                Ok(Some(Ok(event))) => event,
            };
            if event.data == DONE {
                return Step::Done;
            }
            match event.event.as_str() {
                name if name == R::DATA_EVENT => {
                    let data = match decode(&event.data) {
                        Ok(data) => data,
                        Err(e) => return Step::Fail(e),
                    };
                    if !event.id.is_empty() {
                        self.last_event_id = Some(event.id);
                    }
                    return Step::Event(LiveEvent::Data(data));
                }
                PING_EVENT => {
                    let heartbeat = decode(&event.data).and_then(
                        |fields: serde_json::Map<String, serde_json::Value>| {
                            let data = serde_json::from_value::<R::Ping>(
                                serde_json::Value::Object(fields.clone()),
                            )
                            .map_err(|e| invalid(&event.data, e))?;
                            Ok(Heartbeat { data, fields })
                        },
                    );
                    return match heartbeat {
                        Ok(heartbeat) => Step::Event(LiveEvent::Ping(heartbeat)),
                        Err(e) => Step::Fail(e),
                    };
                }
                ERROR_EVENT => {
                    let error = Error::Api(ApiError::from_event(event.data.as_bytes()));
                    return if error.is_retryable() {
                        Step::Reconnect(error)
                    } else {
                        Step::Fail(error)
                    };
                }
                // An event this client does not know: a newer server's.
                _ => {}
            }
        }
    }
}

fn decode<T: DeserializeOwned>(data: &str) -> Result<T, Error> {
    serde_json::from_str(data).map_err(|e| invalid(data, e))
}

fn invalid(data: &str, e: serde_json::Error) -> Error {
    Error::InvalidBody(InvalidBody::new(data.as_bytes(), e))
}

include!(concat!(env!("OUT_DIR"), "/live_reads.rs"));
