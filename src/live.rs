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
//!   [`HEARTBEAT_TIMEOUT`] without a byte is a dropped connection, and so
//!   is a request without an answer within the client's operation timeout
//!   (at least that window): the request layer's attempts and its waits
//!   between them, `retry-after` included, fit in it;
//! - after a dropped connection, a body that breaks off, a retryable
//!   `error` event, or (once connected) a request failing transiently
//!   after the request layer's retries, the read is sent again with
//!   `Last-Event-ID` naming the last data event received (before any, the
//!   record before the tail a `ping` reported): S2 resumes after it and
//!   counts the records and bytes already delivered against the request's
//!   limits, so no record is lost or repeated. Reconnections are spaced and
//!   bounded by the client's [`RetryPolicy`], counted afresh after a data
//!   event or a connection that lasted a heartbeat window;
//! - an `error` event that is not retryable ends the stream with S2's
//!   typed error, as does a first request that fails; `[DONE]` ends it.
//!
//! Events are parsed by `eventsource-stream` (see `docs/design.md`).
//!
//! [`Basin::live`]: crate::Basin::live
//! [`Client::live`]: crate::Client::live

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{EventStreamError, Eventsource as _};
use futures_util::{Stream, StreamExt as _, stream};
use progenitor_client::{ByteStream, ResponseValue};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::error::{ApiError, Error, GaveUp, InvalidBody};
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
    fn connect(self) -> impl Future<Output = Result<ResponseValue<ByteStream>, Error>> + Send + 'a;
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
    /// Where the read has caught up with the stream: S2 sends heartbeats
    /// only while the reader is at the stream's tail (s2-lite,
    /// `backend/read.rs`), with that tail: the next sequence number and
    /// the last record's timestamp.
    #[cfg(s2_operation = "read")]
    pub fn caught_up_at(&self) -> Option<crate::generated::types::StreamPosition> {
        self.tail()
    }

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

/// The events of one connection.
type Events<'a> = std::pin::Pin<
    Box<
        dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<BodyError>>>
            + Send
            + 'a,
    >,
>;

/// Where a live read is.
struct Session<'a, R> {
    request: R,
    policy: RetryPolicy,
    /// How long a request may go without an answer, the request layer's
    /// attempts and waits included: the call's deadline, and at least a
    /// heartbeat window.
    answer_within: Duration,
    /// The id to resume after: the last data event's, or, before any, the
    /// record before the tail a heartbeat reported.
    last_event_id: Option<String>,
    events: Option<Events<'a>>,
    /// Whether a connection was ever made: after one, a request that fails
    /// is reconnected like a dropped connection.
    connected: bool,
    connected_at: Instant,
    /// The waits left before giving up, since the read last made progress
    /// (`None`: the policy's, in full).
    backoffs: Option<Box<dyn Iterator<Item = Duration> + Send + 'a>>,
    /// Reconnections since the read last made progress, and when it did.
    reconnections: u32,
    progress_at: Instant,
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
    let session = Session {
        request: request(live),
        policy: live.inner.retry_policy().clone(),
        answer_within: live.inner.operation_timeout().max(HEARTBEAT_TIMEOUT),
        last_event_id: None,
        events: None,
        connected: false,
        connected_at: Instant::now(),
        backoffs: None,
        reconnections: 0,
        progress_at: Instant::now(),
    };
    stream::try_unfold(session, |mut session| async move {
        loop {
            match session.step().await {
                Step::Event(event) => return Ok(Some((event, session))),
                Step::Done => return Ok(None),
                Step::Fail(error) => return Err(error),
                Step::Reconnect(error) => {
                    session.events = None;
                    let policy = &session.policy;
                    let backoffs = session
                        .backoffs
                        .get_or_insert_with(|| Box::new(policy.backoffs()));
                    let Some(wait) = backoffs.next() else {
                        return Err(Error::GaveUp(GaveUp {
                            reconnections: session.reconnections,
                            quiet_for: session.progress_at.elapsed(),
                            last: Box::new(error),
                        }));
                    };
                    session.reconnections += 1;
                    tracing::debug!(error = %error, wait_ms = wait.as_millis() as u64,
                        "live read: reconnecting");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    })
}

impl<'a, R: LiveRead<'a>> Session<'a, R> {
    /// A new event, or a connection healthy for a heartbeat window: the
    /// count of reconnections starts again.
    fn made_progress(&mut self) {
        self.backoffs = None;
        self.reconnections = 0;
        self.progress_at = Instant::now();
    }

    /// The next event, connecting first when there is no connection.
    async fn step(&mut self) -> Step<LiveEvent<R::Data, R::Ping>> {
        let events = match &mut self.events {
            Some(events) => events,
            None => match self.connect().await {
                Ok(events) => self.events.insert(events),
                Err(step) => return step,
            },
        };
        loop {
            let event = match events.next().await {
                None => {
                    return Step::Reconnect(Error::contradiction(
                        "the event stream ended without `[DONE]`",
                    ));
                }
                Some(Err(EventStreamError::Transport(BodyError::Silent))) => {
                    return Step::Reconnect(Error::silent(HEARTBEAT_TIMEOUT));
                }
                Some(Err(EventStreamError::Transport(BodyError::Transport(e)))) => {
                    return Step::Reconnect(Error::from_reqwest(e));
                }
                Some(Err(EventStreamError::Transport(BodyError::Malformed(what)))) => {
                    return Step::Fail(Error::contradiction(&format!(
                        "the event stream is malformed: {what}"
                    )));
                }
                Some(Err(e)) => {
                    return Step::Fail(Error::contradiction(&format!(
                        "the event stream is malformed: {e}"
                    )));
                }
                Some(Ok(event)) => event,
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
                    // The parser keeps the last id seen; S2 gives every
                    // data event one.
                    if !event.id.is_empty() {
                        self.last_event_id = Some(event.id);
                    }
                    self.made_progress();
                    return Step::Event(LiveEvent::Data(data));
                }
                PING_EVENT => {
                    let Some(heartbeat) = heartbeat::<R::Ping>(&event.data) else {
                        // Still a sign of life: the watchdog saw its bytes.
                        tracing::debug!(data = %event.data, "live read: a heartbeat not as the spec says");
                        continue;
                    };
                    if self.last_event_id.is_none() {
                        self.last_event_id = resume_at_tail(&heartbeat);
                    }
                    // A connection that stayed up for a heartbeat window
                    // is healthy: its drop starts a new count.
                    if self.connected_at.elapsed() >= HEARTBEAT_TIMEOUT {
                        self.made_progress();
                    }
                    return Step::Event(LiveEvent::Ping(heartbeat));
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

    /// Sends the request (resuming after the last event received) and
    /// returns its events; or what to do instead.
    async fn connect(&mut self) -> Result<Events<'a>, Step<LiveEvent<R::Data, R::Ping>>> {
        let request = match &self.last_event_id {
            Some(id) => self.request.clone().resume_after(id.clone()),
            None => self.request.clone(),
        };
        let response = match tokio::time::timeout(self.answer_within, request.connect()).await {
            Ok(Ok(response)) => response,
            // The request layer has retried what it may; a live read that
            // was under way keeps trying while the failure is transient.
            Ok(Err(error)) if self.connected && error.is_retryable() => {
                return Err(Step::Reconnect(error));
            }
            Ok(Err(error)) => return Err(Step::Fail(error)),
            Err(_) => return Err(Step::Reconnect(Error::silent(self.answer_within))),
        };
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        if !content_type.starts_with("text/event-stream") {
            return Err(Step::Fail(Error::contradiction(
                &format!("a live read was answered with {content_type:?}, not an event stream"),
            )));
        }
        self.connected = true;
        self.connected_at = Instant::now();
        Ok(watched(response.into_inner()).eventsource().boxed())
    }
}

/// Why a connection's body stopped.
#[derive(Debug)]
enum BodyError {
    Transport(reqwest::Error),
    /// Nothing arrived for [`HEARTBEAT_TIMEOUT`].
    Silent,
    /// The bytes cannot be an event stream.
    Malformed(&'static str),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(e) => e.fmt(f),
            Self::Silent => f.write_str("no bytes for the heartbeat window"),
            Self::Malformed(what) => f.write_str(what),
        }
    }
}

/// UTF-8's byte order mark, which an event stream may begin with.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// `body`, each chunk within [`HEARTBEAT_TIMEOUT`] (silence counts in
/// bytes, so a large batch arriving slowly is not silence), as whole UTF-8
/// characters without a leading byte order mark. `eventsource-stream`
/// 0.2.3 gets no other input: given a byte that is not UTF-8 it waits for
/// the end of the body, keeping and rechecking everything after it, and it
/// strips a byte order mark by slicing a `str` at byte 1, which panics.
fn watched(body: ByteStream) -> impl Stream<Item = Result<Bytes, BodyError>> + Send {
    let state = Body {
        body,
        partial: Vec::new(),
        at_start: true,
        bom_skipped: false,
    };
    stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        loop {
            let chunk = match tokio::time::timeout(HEARTBEAT_TIMEOUT, state.body.next()).await {
                Err(_) => return Some((Err(BodyError::Silent), None)),
                Ok(Some(Err(e))) => return Some((Err(BodyError::Transport(e)), None)),
                Ok(Some(Ok(chunk))) => chunk,
                Ok(None) if state.partial.is_empty() => return None,
                Ok(None) => {
                    let error = BodyError::Malformed("it ends inside a UTF-8 character");
                    return Some((Err(error), None));
                }
            };
            match state.text(chunk) {
                Ok(text) if text.is_empty() => continue,
                Ok(text) => return Some((Ok(text), Some(state))),
                Err(e) => return Some((Err(e), None)),
            }
        }
    })
}

/// A connection's body as [`watched`] reads it.
struct Body {
    body: ByteStream,
    /// The start of a character that the next chunk completes.
    partial: Vec<u8>,
    /// Nothing but a byte order mark has been passed on yet.
    at_start: bool,
    bom_skipped: bool,
}

impl Body {
    /// The whole characters that `chunk` completes; the bytes of a
    /// character it only begins are kept for the next.
    fn text(&mut self, chunk: Bytes) -> Result<Bytes, BodyError> {
        let mut bytes = match self.partial.is_empty() {
            true => chunk,
            false => {
                let mut joined = std::mem::take(&mut self.partial);
                joined.extend_from_slice(&chunk);
                Bytes::from(joined)
            }
        };
        let whole = match std::str::from_utf8(&bytes) {
            Ok(text) => text.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => return Err(BodyError::Malformed("it is not UTF-8")),
        };
        self.partial = bytes.split_off(whole).to_vec();
        match self.at_start {
            true => self.without_bom(bytes),
            false => Ok(bytes),
        }
    }

    /// Whole characters at the start of the body, without the one byte
    /// order mark it may begin with.
    fn without_bom(&mut self, mut text: Bytes) -> Result<Bytes, BodyError> {
        if text.starts_with(BOM) && !self.bom_skipped {
            self.bom_skipped = true;
            text = text.slice(BOM.len()..);
        }
        if text.starts_with(BOM) {
            return Err(BodyError::Malformed("it begins with two byte order marks"));
        }
        self.at_start = text.is_empty();
        Ok(text)
    }
}

/// A heartbeat's data, as the spec's type and as sent; `None` when it is
/// not the spec's type.
fn heartbeat<P: DeserializeOwned>(data: &str) -> Option<Heartbeat<P>> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    let parsed = P::deserialize(&value).ok()?;
    let serde_json::Value::Object(fields) = value else {
        return None;
    };
    Some(Heartbeat {
        data: parsed,
        fields,
    })
}

/// Before any data event, where to resume so that records appended while
/// disconnected are not skipped: after the record before the tail the
/// heartbeat reports (S2's event id: `seq_num,count,bytes`, with nothing
/// delivered yet). `None` while the stream is empty.
fn resume_at_tail<P>(heartbeat: &Heartbeat<P>) -> Option<String> {
    let next = heartbeat.fields.get("tail")?.get("seq_num")?.as_u64()?;
    Some(format!("{},0,0", next.checked_sub(1)?))
}

fn decode<T: DeserializeOwned>(data: &str) -> Result<T, Error> {
    serde_json::from_str(data).map_err(|e| Error::InvalidBody(InvalidBody::new(data.as_bytes(), e)))
}


#[cfg(test)]
mod tests {
    use s2_api::v1::stream::{StreamPosition, sse};

    use super::*;

    /// What [`watched`] passes on of a body arriving in `chunks`: the text,
    /// or the error it ends with.
    async fn watch(chunks: &[&[u8]]) -> Result<String, String> {
        let chunks: Vec<reqwest::Result<Bytes>> = chunks
            .iter()
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect();
        let body = ByteStream::new(Box::pin(stream::iter(chunks)));
        let mut text = Vec::new();
        let mut parts = std::pin::pin!(watched(body));
        while let Some(part) = parts.next().await {
            let part = part.map_err(|e| e.to_string())?;
            // Every part is whole characters.
            text.push(String::from_utf8(part.to_vec()).map_err(|e| e.to_string())?);
        }
        Ok(text.concat())
    }

    #[tokio::test]
    async fn a_body_reaches_the_parser_as_whole_characters_without_one_bom() {
        let bom = "\u{feff}".as_bytes();
        let event = "data: é€😀\n\n".as_bytes();
        let expected = Ok("data: é€😀\n\n".to_owned());
        // Split at every byte, with and without a byte order mark first.
        for start in [&b""[..], bom] {
            let body = [start, event].concat();
            for at in 0..=body.len() {
                let (a, b) = body.split_at(at);
                assert_eq!(watch(&[a, b]).await, expected, "split at {at}");
            }
            let bytes: Vec<&[u8]> = body.chunks(1).collect();
            assert_eq!(watch(&bytes).await, expected);
        }
        // A byte order mark later on is text.
        assert_eq!(
            watch(&[b"data: a", bom, b"\n"]).await,
            Ok("data: a\u{feff}\n".to_owned())
        );
    }

    #[tokio::test]
    async fn bytes_that_cannot_be_an_event_stream_end_it() {
        let two_boms = "\u{feff}\u{feff}data: x\n\n".as_bytes();
        let not_utf8 = Err("it is not UTF-8".to_owned());
        let cut = Err("it ends inside a UTF-8 character".to_owned());
        let two = Err("it begins with two byte order marks".to_owned());
        for at in 0..=two_boms.len() {
            let (a, b) = two_boms.split_at(at);
            assert_eq!(watch(&[a, b]).await, two, "split at {at}");
        }
        assert_eq!(watch(&[b"data: a\n\n", b"\xff", b"data: b\n\n"]).await, not_utf8);
        assert_eq!(watch(&[b"data: \xe2\x82"]).await, cut);
    }

    /// The event names, the end marker and the event id this module reads
    /// and writes are S2's own (crate `s2-api`, which s2-lite serves them
    /// from).
    #[test]
    fn the_protocol_is_s2s() {
        assert_eq!(PING_EVENT, sse::Ping::Ping.as_ref());
        assert_eq!(ERROR_EVENT, sse::Error::Error.as_ref());
        assert_eq!(DONE, sse::DoneEventData.as_ref());

        // A heartbeat as S2 writes it: resuming after the record before
        // its tail, with nothing delivered yet, is an id S2 reads.
        let ping = |seq_num| {
            let data = sse::PingEventData {
                timestamp: 1,
                tail: StreamPosition {
                    seq_num,
                    timestamp: 2,
                },
            };
            heartbeat::<serde_json::Value>(&serde_json::to_string(&data).unwrap()).unwrap()
        };
        let id: sse::LastEventId = resume_at_tail(&ping(5)).unwrap().parse().unwrap();
        assert_eq!((id.seq_num, id.count, id.bytes), (4, 0, 0));
        // An empty stream has no record to resume after.
        assert_eq!(resume_at_tail(&ping(0)), None);
    }
}
