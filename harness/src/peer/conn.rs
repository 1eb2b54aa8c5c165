//! One raw-peer TCP connection: a reader task that records and interprets, and write methods
//! that do exactly what they are told.

use super::{Clock, Direction, GreetingMode, PeerSettings, Transcript};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use zmtp_codec::command::{Ping, PlainHello, PlainInitiate, PlainWelcome, Pong, Ready};
use zmtp_codec::session::{Event, InboundSession, Local, Role};
use zmtp_codec::{
    Command, Config, Greeting, Metadata, StreamError, Strictness, Subscription, SubscriptionAction,
    SubscriptionForm, Version,
};

/// Kept transcript octets per direction.
const TRANSCRIPT_LIMIT: u64 = 1 << 20;

/// How the raw peer closes its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CloseHow {
    /// Half-close with FIN; keep reading until the other side closes.
    Fin,
    /// Abort with RST (SO_LINGER 0).
    Rst,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseKind {
    /// The implementation closed it (FIN seen).
    Eof,
    /// The implementation reset it.
    Reset,
    /// A read error other than a reset.
    Error(String),
    /// The raw peer closed it.
    Local(CloseHow),
}

/// Something the implementation did, as seen by the raw peer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerEvent {
    /// Microseconds since the case started.
    pub t_us: u64,
    /// What.
    pub kind: PeerEventKind,
}

/// The kinds of [`PeerEvent`].
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum PeerEventKind {
    /// Its greeting.
    Greeting {
        /// Announced version.
        version: [u8; 2],
        /// Mechanism name, escaped.
        mechanism: String,
        /// as-server octet.
        as_server: u8,
        /// The 64 octets, hex.
        hex: String,
    },
    /// A handshake command other than the final one (HELLO, WELCOME, INITIATE).
    Handshake {
        /// Command name.
        name: String,
        /// The command body, hex.
        body: String,
    },
    /// The last command of its handshake (READY, or INITIATE from a PLAIN or CURVE client),
    /// with its properties as (name, value) text pairs where they travel in clear.
    Ready {
        /// Command name.
        name: String,
        /// Properties; values hex-escaped where not printable.
        properties: Vec<(String, String)>,
        /// The command body, hex.
        body: String,
    },
    /// It sent ERROR.
    Error {
        /// The reason, escaped.
        reason: String,
        /// The command body, hex.
        body: String,
    },
    /// A command after the handshake (subscriptions are reported as `Subscription`).
    Command {
        /// Command name.
        name: String,
        /// The command body, hex.
        body: String,
    },
    /// A subscription or cancellation, in either wire form.
    Subscription {
        /// Subscribe (true) or cancel.
        subscribe: bool,
        /// The topic, hex.
        topic: String,
        /// Which form carried it.
        form: String,
    },
    /// A complete message.
    Message {
        /// The frames.
        #[serde(serialize_with = "ser_parts")]
        parts: Vec<Bytes>,
    },
    /// It broke a rule of the protocol (the reader stops interpreting, keeps recording).
    Violation {
        /// Stream offset of the offending item.
        offset: u64,
        /// Error kind.
        kind: String,
        /// Requirement ID.
        requirement: String,
        /// Message.
        message: String,
    },
    /// The raw peer half-closed (FIN); the implementation may still send and close.
    Shutdown,
    /// The connection ended.
    Closed {
        /// How.
        how: CloseKind,
    },
}

fn ser_parts<S: serde::Serializer>(parts: &[Bytes], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(parts.len()))?;
    for p in parts {
        seq.serialize_element(&hex::encode(p))?;
    }
    seq.end()
}

/// Errors of raw-peer operations.
#[derive(Debug, Error)]
pub enum PeerError {
    /// A socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// A bounded wait ran out.
    #[error("timed out after {waited_ms} ms waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited_ms: u64,
    },
    /// The connection is closed.
    #[error("connection closed ({how:?}) while {what}")]
    Closed {
        /// How it closed.
        how: CloseKind,
        /// What was being done.
        what: String,
    },
    /// The implementation refused with ERROR.
    #[error("the implementation sent ERROR {reason:?} while {what}")]
    Refused {
        /// Its reason.
        reason: String,
        /// What was being done.
        what: String,
    },
    /// The implementation broke a protocol rule.
    #[error("protocol violation by the implementation: {0}")]
    Violation(String),
    /// As a PLAIN server the raw peer refused the implementation's credentials (and sent
    /// ERROR).
    #[error("the implementation's PLAIN credentials were refused (ERROR sent)")]
    CredentialsRejected,
    /// The raw peer was configured wrongly.
    #[error("bad raw-peer settings: {0}")]
    Settings(String),
}

/// Everything recorded on a connection. Predicates of [`PeerConn::wait_until`] read it.
#[derive(Debug)]
pub struct PeerSnapshot {
    /// Events in order.
    pub events: Vec<PeerEvent>,
    /// Octets in both directions.
    pub transcript: Transcript,
    /// When and how the connection ended.
    pub closed: Option<(u64, CloseKind)>,
    /// Whether the reader is reading.
    pub reading: bool,
    /// Octets of our greeting written so far.
    pub greeting_sent: usize,
    /// Whether the handshake (both READYs) is done from our side.
    pub handshake_done: bool,
    /// A background handshake (an auto-handshake listener's) is still running.
    pub handshake_pending: bool,
    /// The other side's greeting version, once known.
    pub peer_version: Option<Version>,
    /// How the stream was cut, when the implementation's side ended (FIN or RST) in the middle
    /// of a frame or of a multipart message.
    pub cut: Option<String>,
    /// Messages among `events`, counted as they arrive (waits read it on every wake-up).
    pub message_count: usize,
    /// Sequence numbers of the valid burst messages among `events`.
    pub burst_seqs: std::collections::HashSet<u64>,
    /// Count messages without keeping them (performance runs, [`PeerConn::set_count_only`]):
    /// no message event, no burst classification, only the counters below and
    /// `message_count`.
    pub count_only: bool,
    /// Octets of message frame bodies received (every message, counted in either mode).
    pub message_octets: u64,
    /// When the last message arrived (microseconds on the case clock), 0 before the first.
    pub last_message_us: u64,
    /// With `count_only`: a read that brings only messages wakes the waiters once
    /// `message_count` reaches this (0: every read wakes them).
    pub wake_at: u64,
}

impl PeerSnapshot {
    /// An empty record keeping at most `transcript_limit` octets per direction.
    pub fn new(transcript_limit: u64) -> Self {
        PeerSnapshot {
            events: Vec::new(),
            transcript: Transcript::new(transcript_limit),
            closed: None,
            reading: true,
            greeting_sent: 0,
            handshake_done: false,
            handshake_pending: false,
            peer_version: None,
            cut: None,
            message_count: 0,
            burst_seqs: Default::default(),
            count_only: false,
            message_octets: 0,
            last_message_us: 0,
            wake_at: 0,
        }
    }

    /// Appends an event (for records made by hand, e.g. in tests of the checks).
    pub fn push(&mut self, event: PeerEvent) {
        self.record(event);
    }

    /// Appends an event, keeping the running counts up to date.
    fn record(&mut self, event: PeerEvent) {
        if let PeerEventKind::Message { parts } = &event.kind {
            self.message_count += 1;
            self.message_octets += parts.iter().map(|p| p.len() as u64).sum::<u64>();
            self.last_message_us = event.t_us;
            if self.count_only {
                return;
            }
            if let zmtp_driver_protocol::burst::Classified::Burst { seq, .. } =
                zmtp_driver_protocol::burst::classify(parts)
            {
                self.burst_seqs.insert(seq);
            }
        }
        self.events.push(event);
    }

    /// The messages received, in order.
    pub fn messages(&self) -> impl Iterator<Item = &Vec<Bytes>> {
        self.events.iter().filter_map(|e| match &e.kind {
            PeerEventKind::Message { parts } => Some(parts),
            _ => None,
        })
    }

    /// Subscriptions and cancellations received, in order: (subscribe?, topic octets).
    pub fn subscriptions(&self) -> Vec<(bool, Vec<u8>)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                PeerEventKind::Subscription {
                    subscribe, topic, ..
                } => Some((*subscribe, hex::decode(topic).unwrap_or_default())),
                _ => None,
            })
            .collect()
    }

    /// The first event matching `f`, with its time.
    pub fn first(&self, f: impl Fn(&PeerEventKind) -> bool) -> Option<&PeerEvent> {
        self.events.iter().find(|e| f(&e.kind))
    }

    /// The READY properties received, if the handshake got that far.
    pub fn ready_properties(&self) -> Option<&Vec<(String, String)>> {
        self.events.iter().find_map(|e| match &e.kind {
            PeerEventKind::Ready { properties, .. } => Some(properties),
            _ => None,
        })
    }

    /// Every command that arrived, in order, as (name, data after the name): handshake
    /// commands (READY, INITIATE ...), traffic commands, ERROR, and SUBSCRIBE/CANCEL commands
    /// with their topic.
    pub fn commands(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                PeerEventKind::Command { name, body }
                | PeerEventKind::Handshake { name, body }
                | PeerEventKind::Ready { name, body, .. } => {
                    let data = hex::decode(body).ok().map(|b| {
                        let skip = 1 + usize::from(b.first().copied().unwrap_or(0));
                        b.get(skip..).unwrap_or_default().to_vec()
                    });
                    Some((name.clone(), data))
                }
                PeerEventKind::Error { body, .. } => Some((
                    "ERROR".into(),
                    hex::decode(body)
                        .ok()
                        .map(|b| b.get(6..).unwrap_or_default().to_vec()),
                )),
                PeerEventKind::Subscription {
                    form,
                    subscribe,
                    topic,
                } if form == "command" => Some((
                    if *subscribe { "SUBSCRIBE" } else { "CANCEL" }.into(),
                    hex::decode(topic).ok(),
                )),
                _ => None,
            })
            .collect()
    }

    /// The protocol violation seen, if any.
    pub fn violation(&self) -> Option<&PeerEvent> {
        self.first(|k| matches!(k, PeerEventKind::Violation { .. }))
    }

    /// The ERROR received, if any.
    pub fn error_reason(&self) -> Option<&str> {
        self.events.iter().find_map(|e| match &e.kind {
            PeerEventKind::Error { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
    }
}

struct Shared {
    state: Mutex<PeerSnapshot>,
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, PeerSnapshot> {
        // A poisoned lock only means a reader panicked mid-update; the data is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, t_us: u64, kind: PeerEventKind) {
        let mut s = self.lock();
        if let PeerEventKind::Closed { how } = &kind {
            if s.closed.is_some() {
                return;
            }
            s.closed = Some((t_us, how.clone()));
        }
        s.record(PeerEvent { t_us, kind });
        drop(s);
        self.changed.notify_waiters();
    }
}

type Writer = Arc<tokio::sync::Mutex<Option<OwnedWriteHalf>>>;
/// A connection's reader task, shared with the other half of a recording proxy (which aborts
/// it to pass a reset on, [`reset_socket`]).
type ReaderSlot = Arc<Mutex<Option<JoinHandle<()>>>>;

/// One raw-peer connection. Dropping it aborts its reader and closes the socket.
pub struct PeerConn {
    name: String,
    shared: Arc<Shared>,
    writer: Writer,
    reader: ReaderSlot,
    settings: PeerSettings,
    listening: bool,
    clock: Clock,
    local_addr: Option<SocketAddr>,
    peer_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for PeerConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConn")
            .field("name", &self.name)
            .field("local_addr", &self.local_addr)
            .field("peer_addr", &self.peer_addr)
            .finish()
    }
}

impl Drop for PeerConn {
    fn drop(&mut self) {
        if let Some(h) = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take() {
            h.abort();
        }
    }
}

fn text_pair(name: &[u8], value: &[u8]) -> (String, String) {
    let value = if value.iter().all(|b| (0x20..0x7F).contains(b)) {
        String::from_utf8_lossy(value).into_owned()
    } else {
        format!("0x{}", hex::encode(value))
    };
    (zmtp_codec::text::escape(name), value)
}

impl PeerConn {
    /// Connects to `addr` within `timeout`, then starts reading.
    pub async fn connect(
        name: &str,
        addr: SocketAddr,
        settings: PeerSettings,
        clock: Clock,
        timeout: Duration,
    ) -> Result<Self, PeerError> {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .map_err(|source| PeerError::Io {
            context: "socket".into(),
            source,
        })?;
        if let Some(n) = settings.rcvbuf {
            let _ = socket.set_recv_buffer_size(n);
        }
        if let Some(n) = settings.sndbuf {
            let _ = socket.set_send_buffer_size(n);
        }
        let stream = tokio::time::timeout(timeout, socket.connect(addr))
            .await
            .map_err(|_| PeerError::Timeout {
                what: format!("TCP connect to {addr}"),
                waited_ms: timeout.as_millis() as u64,
            })?
            .map_err(|source| PeerError::Io {
                context: format!("connect to {addr}"),
                source,
            })?;
        Ok(Self::from_stream(name, stream, settings, clock, false))
    }

    /// Wraps an established stream (`listening`: we accepted it) and starts reading.
    pub fn from_stream(
        name: &str,
        stream: TcpStream,
        settings: PeerSettings,
        clock: Clock,
        listening: bool,
    ) -> Self {
        let (conn, read, ctx) = Self::unstarted(name, stream, settings, clock, listening);
        conn.start(read, ctx, None);
        conn
    }

    /// A recording proxy between two established streams: what arrives on one is written to
    /// the other, and each half records and interprets what its side sent (`client` is read
    /// as a server would, `server` as a client would). Neither half writes anything of its own.
    pub(crate) fn forwarding_pair(
        names: (&str, &str),
        streams: (TcpStream, TcpStream),
        settings: (PeerSettings, PeerSettings),
        clock: Clock,
        relays: Option<(RelayTx, RelayTx)>,
    ) -> (PeerConn, PeerConn) {
        let quiet = |s: PeerSettings| PeerSettings {
            auto_pong: false,
            send_ready: false,
            greeting: GreetingMode::Manual,
            ..s
        };
        let (a, a_read, a_ctx) =
            Self::unstarted(names.0, streams.0, quiet(settings.0), clock, true);
        let (b, b_read, b_ctx) =
            Self::unstarted(names.1, streams.1, quiet(settings.1), clock, false);
        match relays {
            // An impairing proxy: each half hands what it reads to its direction's forwarder.
            Some((to_b, to_a)) => {
                a.start_relayed(a_read, a_ctx, to_b);
                b.start_relayed(b_read, b_ctx, to_a);
            }
            None => {
                let to_b = (b.writer.clone(), b.shared.clone(), b.reader.clone());
                let to_a = (a.writer.clone(), a.shared.clone(), a.reader.clone());
                a.start(a_read, a_ctx, Some(to_b));
                b.start(b_read, b_ctx, Some(to_a));
            }
        }
        (a, b)
    }

    fn unstarted(
        name: &str,
        stream: TcpStream,
        settings: PeerSettings,
        clock: Clock,
        listening: bool,
    ) -> (Self, OwnedReadHalf, InboundSession) {
        let _ = stream.set_nodelay(true);
        let local_addr = stream.local_addr().ok();
        let peer_addr = stream.peer_addr().ok();
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared {
            state: Mutex::new(PeerSnapshot::new(TRANSCRIPT_LIMIT)),
            changed: Notify::new(),
        });
        let writer: Writer = Arc::new(tokio::sync::Mutex::new(Some(write)));
        let role = if settings.is_server(listening) {
            Role::Server
        } else {
            Role::Client
        };
        let mut config = Config::new(settings.profile());
        config.max_frame_size = Some(settings.max_frame_size);
        let session = InboundSession::new(Local {
            mechanism: settings.mechanism_field(),
            role,
            config,
        });
        let conn = PeerConn {
            name: name.to_string(),
            shared,
            writer,
            reader: ReaderSlot::default(),
            settings,
            listening,
            clock,
            local_addr,
            peer_addr,
        };
        (conn, read, session)
    }

    fn start(&self, read: OwnedReadHalf, session: InboundSession, forward: Option<Forward>) {
        self.start_with(read, session, forward, None);
    }

    fn start_relayed(&self, read: OwnedReadHalf, session: InboundSession, relay: RelayTx) {
        self.start_with(read, session, None, Some(relay));
    }

    fn start_with(
        &self,
        read: OwnedReadHalf,
        session: InboundSession,
        forward: Option<Forward>,
        relay: Option<RelayTx>,
    ) {
        let publisher = matches!(self.settings.socket_type.as_str(), "PUB" | "XPUB");
        let reader = tokio::spawn(read_loop(ReadCtx {
            shared: self.shared.clone(),
            read,
            session,
            clock: self.clock,
            writer: self.writer.clone(),
            auto_pong: self.settings.auto_pong,
            publisher,
            forward,
            relay,
        }));
        *self.reader.lock().unwrap_or_else(|p| p.into_inner()) = Some(reader);
    }

    /// The connection's name in the scenario.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Our address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The implementation's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// The settings in use.
    pub fn settings(&self) -> &PeerSettings {
        &self.settings
    }

    /// Runs `f` on the recorded state.
    pub fn with<R>(&self, f: impl FnOnce(&PeerSnapshot) -> R) -> R {
        f(&self.shared.lock())
    }

    /// Removes the received messages from the record and returns them, oldest first (the
    /// counters stay): a request-reply loop answers each message and keeps the record small.
    pub fn take_messages(&self) -> Vec<Vec<Bytes>> {
        let mut s = self.shared.lock();
        let (messages, rest): (Vec<PeerEvent>, Vec<PeerEvent>) = std::mem::take(&mut s.events)
            .into_iter()
            .partition(|e| matches!(e.kind, PeerEventKind::Message { .. }));
        s.events = rest;
        messages
            .into_iter()
            .filter_map(|e| match e.kind {
                PeerEventKind::Message { parts } => Some(parts),
                _ => None,
            })
            .collect()
    }

    /// Waits until `pred` holds on the recorded state, at most `timeout`.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&PeerSnapshot) -> bool,
    ) -> Result<(), PeerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if pred(&self.shared.lock()) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return if pred(&self.shared.lock()) {
                    Ok(())
                } else {
                    Err(PeerError::Timeout {
                        what: what.to_string(),
                        waited_ms: timeout.as_millis() as u64,
                    })
                };
            }
        }
    }

    /// Writes `bytes` within `timeout`, recording what was written.
    pub async fn write(&self, bytes: &[u8], timeout: Duration) -> Result<(), PeerError> {
        write_recorded(&self.writer, &self.shared, &self.clock, bytes, timeout).await
    }

    /// Writes as much of `bytes` as the implementation takes within `timeout`, recorded;
    /// returns how many octets were written (fewer when it stopped reading). The writer is
    /// let go at the bound, so a close is never held up longer than that.
    pub async fn write_partial(&self, bytes: &[u8], timeout: Duration) -> Result<usize, PeerError> {
        let deadline = Instant::now() + timeout;
        let Ok(mut guard) = tokio::time::timeout_at(deadline, self.writer.lock()).await else {
            return Ok(0);
        };
        let Some(w) = guard.as_mut() else {
            return Err(PeerError::Closed {
                how: CloseKind::Local(CloseHow::Rst),
                what: "writing".into(),
            });
        };
        let mut done = 0;
        while done < bytes.len() {
            let n = match tokio::time::timeout_at(deadline, w.write(&bytes[done..])).await {
                Err(_) => break,
                Ok(Err(source)) => {
                    return Err(PeerError::Io {
                        context: "write".into(),
                        source,
                    });
                }
                Ok(Ok(0)) => {
                    return Err(PeerError::Closed {
                        how: CloseKind::Eof,
                        what: "writing".into(),
                    });
                }
                Ok(Ok(n)) => n,
            };
            self.shared.lock().transcript.record(
                self.clock.now_us(),
                Direction::Out,
                &bytes[done..done + n],
            );
            done += n;
        }
        Ok(done)
    }

    /// Writes `bytes` in pieces of the given sizes (the last size repeats), one write each.
    pub async fn write_in_pieces(
        &self,
        bytes: &[u8],
        sizes: &[usize],
        timeout: Duration,
    ) -> Result<(), PeerError> {
        let deadline = Instant::now() + timeout;
        let mut rest = bytes;
        let mut i = 0;
        while !rest.is_empty() {
            let size = sizes.get(i).or(sizes.last()).copied().unwrap_or(1).max(1);
            let (head, tail) = rest.split_at(size.min(rest.len()));
            let left = deadline.saturating_duration_since(Instant::now());
            self.write(head, left).await?;
            // Give the kernel a chance to send the piece as its own segment.
            tokio::task::yield_now().await;
            rest = tail;
            i += 1;
        }
        Ok(())
    }

    /// Writes the first `upto` octets of `bytes`, then closes `how`.
    pub async fn write_then_close(
        &self,
        bytes: &[u8],
        upto: usize,
        how: CloseHow,
        timeout: Duration,
    ) -> Result<(), PeerError> {
        self.write(&bytes[..upto.min(bytes.len())], timeout).await?;
        self.close(how).await;
        Ok(())
    }

    /// Our greeting's 64 octets.
    pub fn greeting_bytes(&self) -> Result<[u8; 64], PeerError> {
        self.settings
            .greeting_bytes(self.listening)
            .map_err(PeerError::Settings)
    }

    /// Sends our greeting as the settings say (or as `mode`), the parts not sent yet.
    pub async fn send_greeting(
        &self,
        mode: GreetingMode,
        timeout: Duration,
    ) -> Result<(), PeerError> {
        let g = self.greeting_bytes()?;
        let sent = self.with(|s| s.greeting_sent);
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        match mode {
            GreetingMode::Manual => Ok(()),
            GreetingMode::Whole => self.write_greeting_part(&g, sent, 64, left()).await,
            GreetingMode::Bytewise => {
                for i in sent..64 {
                    self.write_greeting_part(&g, i, i + 1, left()).await?;
                    tokio::task::yield_now().await;
                }
                Ok(())
            }
            GreetingMode::Staged => {
                // Like libzmq: signature, then the major version once the peer's signature is
                // in, then the rest once its major version is in.
                self.write_greeting_part(&g, sent, 10, left()).await?;
                self.wait_until("the peer's 10-octet signature", left(), |s| {
                    s.transcript.received >= 10 || s.closed.is_some()
                })
                .await?;
                self.write_greeting_part(&g, 10, 11, left()).await?;
                self.wait_until("the peer's version octet", left(), |s| {
                    s.transcript.received >= 11 || s.closed.is_some()
                })
                .await?;
                self.write_greeting_part(&g, 11, 64, left()).await
            }
        }
    }

    /// Writes octets `from..to` of greeting `g` (skipping what was already sent).
    pub async fn write_greeting_part(
        &self,
        g: &[u8; 64],
        from: usize,
        to: usize,
        timeout: Duration,
    ) -> Result<(), PeerError> {
        let from = from.max(self.with(|s| s.greeting_sent));
        if from >= to {
            return Ok(());
        }
        self.write(&g[from..to.min(64)], timeout).await?;
        self.shared.lock().greeting_sent = to.min(64);
        Ok(())
    }

    fn check_alive(&self, what: &str) -> Result<(), PeerError> {
        self.with(|s| {
            if let Some(reason) = s.error_reason() {
                return Err(PeerError::Refused {
                    reason: reason.to_string(),
                    what: what.to_string(),
                });
            }
            if let Some(v) = s.violation() {
                return Err(PeerError::Violation(format!("{:?}", v.kind)));
            }
            if let Some((_, how)) = &s.closed {
                return Err(PeerError::Closed {
                    how: how.clone(),
                    what: what.to_string(),
                });
            }
            Ok(())
        })
    }

    /// Waits for a handshake event named `name`, failing early on close, ERROR or violation.
    async fn await_event(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&PeerEventKind) -> bool,
    ) -> Result<(), PeerError> {
        let r = self
            .wait_until(what, timeout, |s| {
                s.events.iter().any(|e| pred(&e.kind))
                    || s.closed.is_some()
                    || s.violation().is_some()
                    || s.error_reason().is_some()
            })
            .await;
        if self.with(|s| s.events.iter().any(|e| pred(&e.kind))) {
            return Ok(());
        }
        self.check_alive(what)?;
        r
    }

    /// Completes the greeting (per the settings' mode) and the mechanism handshake, within
    /// `timeout`. NULL: send READY, wait for the implementation's READY. PLAIN: play the
    /// client or the server side.
    pub async fn handshake(&self, timeout: Duration) -> Result<(), PeerError> {
        let r = self.handshake_inner(timeout).await;
        self.shared.lock().handshake_pending = false;
        self.shared.changed.notify_waiters();
        r
    }

    /// Marks a handshake about to run in the background; [`PeerConn::settle`] waits for it.
    pub fn mark_handshake_pending(&self) {
        self.shared.lock().handshake_pending = true;
    }

    /// Waits (at most `timeout`) until a background handshake has finished, so that what the
    /// caller writes next cannot overtake the handshake's own commands.
    pub async fn settle(&self, timeout: Duration) {
        let _ = self
            .wait_until("our own handshake", timeout, |s| !s.handshake_pending)
            .await;
    }

    async fn handshake_inner(&self, timeout: Duration) -> Result<(), PeerError> {
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let mode = match self.settings.greeting {
            GreetingMode::Manual => GreetingMode::Whole,
            m => m,
        };
        self.send_greeting(mode, left()).await?;
        let metadata = self
            .settings
            .metadata_bytes()
            .map_err(PeerError::Settings)?;
        let md = Metadata::load(&metadata, &Strictness::LENIENT)
            .map_err(|e| PeerError::Settings(e.to_string()))?;
        match self.settings.mechanism.as_str() {
            "PLAIN" => self.plain_handshake(md, left()).await?,
            _ => {
                if self.settings.send_ready {
                    let ready = Command::Ready(Ready { metadata: md }).to_vec();
                    self.write(&ready, left()).await?;
                }
                self.await_event("the implementation's READY", left(), |k| {
                    matches!(k, PeerEventKind::Ready { .. })
                })
                .await?;
            }
        }
        for topic in &self.settings.subscribe {
            self.send_subscription(true, topic.as_bytes(), None, left())
                .await?;
        }
        self.shared.lock().handshake_done = true;
        self.shared.changed.notify_waiters();
        Ok(())
    }

    async fn plain_handshake(&self, md: Metadata<'_>, timeout: Duration) -> Result<(), PeerError> {
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let creds = self.settings.plain.clone().unwrap_or_default();
        if self.settings.is_server(self.listening) {
            self.await_event(
                "PLAIN HELLO",
                left(),
                |k| matches!(k, PeerEventKind::Handshake { name, .. } if name == "HELLO"),
            )
            .await?;
            let hello = self.with(|s| {
                s.events.iter().find_map(|e| match &e.kind {
                    PeerEventKind::Handshake { name, body } if name == "HELLO" => {
                        hex::decode(body).ok()
                    }
                    _ => None,
                })
            });
            let accepted = hello.as_deref().and_then(|body| {
                match Command::load(body, zmtp_codec::MechanismKind::Plain, &Strictness::LENIENT) {
                    Ok(Command::PlainHello(h)) => Some(
                        h.username == creds.username.as_bytes()
                            && h.password == creds.password.as_bytes(),
                    ),
                    _ => None,
                }
            });
            if accepted != Some(true) {
                let error = Command::Error(zmtp_codec::command::ErrorCommand { reason: b"400" });
                self.write(&error.to_vec(), left()).await?;
                return Err(PeerError::CredentialsRejected);
            }
            let welcome = Command::PlainWelcome(PlainWelcome).to_vec();
            self.write(&welcome, left()).await?;
            self.await_event("PLAIN INITIATE", left(), |k| {
                matches!(k, PeerEventKind::Ready { .. })
            })
            .await?;
            let ready = Command::Ready(Ready { metadata: md }).to_vec();
            self.write(&ready, left()).await
        } else {
            self.await_event("the implementation's greeting", left(), |k| {
                matches!(k, PeerEventKind::Greeting { .. })
            })
            .await?;
            let hello = Command::PlainHello(PlainHello {
                username: creds.username.as_bytes(),
                password: creds.password.as_bytes(),
            })
            .to_vec();
            self.write(&hello, left()).await?;
            self.await_event(
                "PLAIN WELCOME",
                left(),
                |k| matches!(k, PeerEventKind::Handshake { name, .. } if name == "WELCOME"),
            )
            .await?;
            let initiate = Command::PlainInitiate(PlainInitiate { metadata: md }).to_vec();
            self.write(&initiate, left()).await?;
            self.await_event("PLAIN READY", left(), |k| {
                matches!(k, PeerEventKind::Ready { .. })
            })
            .await
        }
    }

    /// Sends one message (frames in one write).
    pub async fn send_message(
        &self,
        parts: &[Vec<u8>],
        timeout: Duration,
    ) -> Result<(), PeerError> {
        let mut wire = Vec::new();
        let last = parts.len().saturating_sub(1);
        for (i, p) in parts.iter().enumerate() {
            zmtp_codec::Frame::message(p, i < last).encode(&mut wire);
        }
        self.write(&wire, timeout).await
    }

    /// Sends a subscription (or cancellation) in `form`, or in the form the implementation's
    /// announced version calls for (SUBW-05).
    pub async fn send_subscription(
        &self,
        subscribe: bool,
        topic: &[u8],
        form: Option<SubscriptionForm>,
        timeout: Duration,
    ) -> Result<(), PeerError> {
        let action = if subscribe {
            SubscriptionAction::Subscribe
        } else {
            SubscriptionAction::Cancel
        };
        let form = form.unwrap_or_else(|| {
            let v = self.with(|s| s.peer_version).unwrap_or(Version::V3_1);
            // Our own version matters too: a 3.0 peer sends 3.0 messages.
            if v.has_subscription_commands() && self.settings.version().has_subscription_commands()
            {
                SubscriptionForm::Command
            } else {
                SubscriptionForm::Message
            }
        });
        let sub = Subscription {
            action,
            form,
            topic,
        };
        self.write(&sub.to_vec(), timeout).await
    }

    /// Sends a PING.
    pub async fn ping(&self, ttl: u16, context: &[u8], timeout: Duration) -> Result<(), PeerError> {
        self.write(&Command::Ping(Ping { ttl, context }).to_vec(), timeout)
            .await
    }

    /// Counts messages instead of keeping them (see [`PeerSnapshot::count_only`]): for
    /// performance runs, where keeping millions of messages would make the harness the
    /// bottleneck. The octet transcript stays bounded as always (its first MiB per direction).
    pub fn set_count_only(&self, on: bool) {
        self.shared.lock().count_only = on;
    }

    /// With count-only on: wake waiters on message reads only once `message_count` reaches
    /// `n` (0: on every read). A wait for that count then costs one wake-up, not one per read.
    pub fn set_wake_at(&self, n: u64) {
        self.shared.lock().wake_at = n;
    }

    /// The case clock this connection's timestamps count from.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Stops reading: the implementation's writes fill the TCP window.
    pub fn stop_reading(&self) {
        self.shared.lock().reading = false;
        self.shared.changed.notify_waiters();
    }

    /// Resumes reading.
    pub fn resume_reading(&self) {
        self.shared.lock().reading = true;
        self.shared.changed.notify_waiters();
    }

    /// Closes our side: FIN (keep reading until the other side closes) or RST.
    pub async fn close(&self, how: CloseHow) {
        // A writer stuck behind an implementation that stopped reading holds the lock for at
        // most its own bound; never wait longer than that here either.
        let Ok(mut w) = tokio::time::timeout(CLOSE_BOUND, self.writer.lock()).await else {
            let reader = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(h) = reader {
                h.abort();
            }
            self.shared.push(
                self.clock.now_us(),
                PeerEventKind::Closed {
                    how: CloseKind::Local(how),
                },
            );
            return;
        };
        match how {
            CloseHow::Fin => {
                if let Some(w) = w.as_mut() {
                    let _ = tokio::time::timeout(CLOSE_BOUND, w.shutdown()).await;
                }
            }
            CloseHow::Rst => reset_socket(&mut w, &self.reader).await,
        }
        drop(w);
        let kind = match how {
            // Still open for reading: the implementation's own close comes later.
            CloseHow::Fin => PeerEventKind::Shutdown,
            CloseHow::Rst => PeerEventKind::Closed {
                how: CloseKind::Local(how),
            },
        };
        self.shared.push(self.clock.now_us(), kind);
    }

    /// Whether the connection has ended (either side).
    pub fn is_closed(&self) -> bool {
        self.with(|s| s.closed.is_some())
    }
}

/// The longest [`PeerConn::close`] waits for a writer in progress to let go.
const CLOSE_BOUND: Duration = Duration::from_secs(10);

/// Closes a connection with an RST alone: SO_LINGER 0, its reader task aborted (bounded
/// wait) so the read half is gone, then the write half forgotten, so the socket closes with
/// both halves gone. `forget`, not a drop: dropping a tokio write half shuts it down first,
/// so a FIN went out before the RST and the other side read end of file, not a reset.
async fn reset_socket(w: &mut Option<OwnedWriteHalf>, reader: &ReaderSlot) {
    if let Some(w) = w.as_ref() {
        let _ = w.as_ref().set_zero_linger();
    }
    let reader = reader.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(h) = reader {
        h.abort();
        let _ = tokio::time::timeout(CLOSE_BOUND, h).await;
    }
    if let Some(w) = w.take() {
        w.forget();
    }
}

async fn write_recorded(
    writer: &Writer,
    shared: &Shared,
    clock: &Clock,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(), PeerError> {
    let deadline = Instant::now() + timeout;
    let mut guard = tokio::time::timeout_at(deadline, writer.lock())
        .await
        .map_err(|_| PeerError::Timeout {
            what: "the connection's writer".into(),
            waited_ms: timeout.as_millis() as u64,
        })?;
    let Some(w) = guard.as_mut() else {
        return Err(PeerError::Closed {
            how: CloseKind::Local(CloseHow::Rst),
            what: "writing".into(),
        });
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = match tokio::time::timeout_at(deadline, w.write(rest)).await {
            Err(_) => {
                return Err(PeerError::Timeout {
                    what: format!(
                        "the implementation to take {} more octet(s) (it is not reading)",
                        rest.len()
                    ),
                    waited_ms: timeout.as_millis() as u64,
                });
            }
            Ok(Err(source)) => {
                return Err(PeerError::Io {
                    context: "write".into(),
                    source,
                });
            }
            Ok(Ok(0)) => {
                return Err(PeerError::Closed {
                    how: CloseKind::Eof,
                    what: "writing".into(),
                });
            }
            Ok(Ok(n)) => n,
        };
        shared
            .lock()
            .transcript
            .record(clock.now_us(), Direction::Out, &rest[..n]);
        rest = &rest[n..];
    }
    Ok(())
}

/// Where a proxy half passes on what it reads: the other half's writer, record and reader
/// (aborted to pass a reset on as a reset).
type Forward = (Writer, Arc<Shared>, ReaderSlot);

struct ReadCtx {
    shared: Arc<Shared>,
    read: OwnedReadHalf,
    session: InboundSession,
    clock: Clock,
    writer: Writer,
    auto_pong: bool,
    publisher: bool,
    forward: Option<Forward>,
    /// An impairing proxy's half: what is read (and the close) goes to the forwarder.
    relay: Option<RelayTx>,
}

/// Where an impairing proxy's half hands what it reads.
pub(crate) type RelayTx = tokio::sync::mpsc::Sender<super::impair::Relayed>;

async fn read_loop(mut ctx: ReadCtx) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut interpreting = true;
    loop {
        // Paused: wait to be told to read again (the common case, reading, costs one lock).
        while !ctx.shared.lock().reading {
            let notified = ctx.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ctx.shared.lock().reading {
                break;
            }
            notified.await;
        }
        let n = match ctx.read.read(&mut buf).await {
            Ok(0) => {
                note_cut(&ctx, interpreting);
                ctx.shared.push(
                    ctx.clock.now_us(),
                    PeerEventKind::Closed {
                        how: CloseKind::Eof,
                    },
                );
                if let Some((w, _, _)) = &ctx.forward
                    && let Some(w) = w.lock().await.as_mut()
                {
                    let _ = w.shutdown().await;
                }
                if let Some(tx) = &ctx.relay {
                    let at_us = ctx.clock.now_us();
                    let _ = tx
                        .send(super::impair::Relayed::Closed {
                            at_us,
                            reset: false,
                        })
                        .await;
                }
                return;
            }
            Ok(n) => n,
            Err(e) => {
                let how = if e.kind() == std::io::ErrorKind::ConnectionReset {
                    CloseKind::Reset
                } else {
                    CloseKind::Error(e.to_string())
                };
                note_cut(&ctx, interpreting);
                ctx.shared
                    .push(ctx.clock.now_us(), PeerEventKind::Closed { how });
                if let Some((w, other, other_reader)) = &ctx.forward {
                    // Passed on as a reset alone: the other side must not read end of file
                    // first. Bounded like a close: a writer in progress holds the lock for at
                    // most its own bound.
                    if let Ok(mut w) = tokio::time::timeout(CLOSE_BOUND, w.lock()).await {
                        reset_socket(&mut w, other_reader).await;
                    }
                    other.push(
                        ctx.clock.now_us(),
                        PeerEventKind::Closed {
                            how: CloseKind::Local(CloseHow::Rst),
                        },
                    );
                }
                if let Some(tx) = &ctx.relay {
                    let at_us = ctx.clock.now_us();
                    let _ = tx
                        .send(super::impair::Relayed::Closed { at_us, reset: true })
                        .await;
                }
                return;
            }
        };
        let t = ctx.clock.now_us();
        let chunk = &buf[..n];
        if let Some((w, other, _)) = &ctx.forward {
            // A proxy passes everything on at once, before interpreting it.
            let _ = write_recorded(w, other, &ctx.clock, chunk, Duration::from_secs(10)).await;
        }
        if let Some(tx) = &ctx.relay {
            // Blocks while the forwarder is behind: the sender's window fills, as it would
            // behind a slow link. A forwarder gone (the connection was cut) takes nothing.
            let _ = tx
                .send(super::impair::Relayed::Data {
                    at_us: t,
                    bytes: chunk.to_vec(),
                })
                .await;
        }
        // The chunk's bytes and the events decoded from them become visible together, so
        // a wait satisfied by the bytes never sees the events missing.
        let mut events = Vec::new();
        if interpreting {
            ctx.session.feed(chunk);
            loop {
                match ctx.session.poll() {
                    Ok(None) => break,
                    Ok(Some(event)) => {
                        if matches!(event, Event::Command(_) | Event::Error(_))
                            && ctx.session.in_message()
                        {
                            // Reported, but the stream stays readable: the command is whole.
                            events.push(PeerEventKind::Violation {
                                offset: ctx.session.offset(),
                                kind: "command-inside-message".into(),
                                requirement: "FRAME-15".into(),
                                message: "[FRAME-15] a command arrived between two frames of \
                                          one message"
                                    .into(),
                            });
                        }
                        if let Some(pong) = interpret(&ctx, event, &mut events)
                            && ctx.auto_pong
                        {
                            let w = ctx.writer.clone();
                            let shared = ctx.shared.clone();
                            let clock = ctx.clock;
                            // Answer without blocking the reader behind a slow writer.
                            tokio::spawn(async move {
                                let _ = write_recorded(
                                    &w,
                                    &shared,
                                    &clock,
                                    &pong,
                                    Duration::from_secs(5),
                                )
                                .await;
                            });
                        }
                    }
                    Err(StreamError { offset, error }) => {
                        interpreting = false;
                        events.push(PeerEventKind::Violation {
                            offset,
                            kind: error.kind().to_string(),
                            requirement: error.requirement().to_string(),
                            message: error.to_string(),
                        });
                        break;
                    }
                }
            }
        }
        let wake = {
            let mut s = ctx.shared.lock();
            s.transcript.record(t, Direction::In, chunk);
            // A counting connection wakes its waiters only for what they wait for: an event
            // other than a message, or the message count they asked for (`wake_at`).
            let mut wake = !s.count_only;
            for kind in events {
                wake |= !matches!(kind, PeerEventKind::Message { .. });
                s.record(PeerEvent { t_us: t, kind });
            }
            wake || s.message_count as u64 >= s.wake_at
        };
        if wake {
            ctx.shared.changed.notify_waiters();
        }
    }
}

/// Records whether the stream ended in the middle of a frame or of a multipart message.
fn note_cut(ctx: &ReadCtx, interpreting: bool) {
    if !interpreting {
        return;
    }
    let pending = ctx.session.pending().len();
    let cut = if pending > 0 {
        Some(format!(
            "{pending} octet(s) of an unfinished {} at offset {}",
            if ctx.session.phase() == zmtp_codec::session::Phase::Greeting {
                "greeting"
            } else {
                "frame"
            },
            ctx.session.offset()
        ))
    } else if ctx.session.in_message() {
        Some(format!(
            "inside a multipart message (its last frame had MORE set), at offset {}",
            ctx.session.offset()
        ))
    } else {
        None
    };
    if cut.is_some() {
        ctx.shared.lock().cut = cut;
    }
}

/// Appends what one session event means to `out`; returns a PONG to send if it was a PING.
fn interpret(ctx: &ReadCtx, event: Event, out: &mut Vec<PeerEventKind>) -> Option<Vec<u8>> {
    let strictness = Strictness::LENIENT;
    let kind = match event {
        Event::Greeting(raw) => {
            let g = Greeting::load_exact(&raw[..], &strictness).ok()?;
            ctx.shared.lock().peer_version = Some(g.version);
            PeerEventKind::Greeting {
                version: [g.version.major, g.version.minor],
                mechanism: zmtp_codec::text::escape(g.mechanism.name()),
                as_server: g.as_server,
                hex: hex::encode(&raw[..]),
            }
        }
        Event::Handshake(c) => PeerEventKind::Handshake {
            name: zmtp_codec::text::escape(c.name()),
            body: hex::encode(&c.body),
        },
        Event::Ready(c) => {
            let properties = match c.command() {
                Ok(Command::Ready(r)) => r
                    .metadata
                    .iter()
                    .map(|p| text_pair(p.name, p.value))
                    .collect(),
                Ok(Command::PlainInitiate(i)) => i
                    .metadata
                    .iter()
                    .map(|p| text_pair(p.name, p.value))
                    .collect(),
                _ => Vec::new(),
            };
            PeerEventKind::Ready {
                name: zmtp_codec::text::escape(c.name()),
                properties,
                body: hex::encode(&c.body),
            }
        }
        Event::Error(c) => {
            let reason = match c.command() {
                Ok(Command::Error(e)) => zmtp_codec::text::escape(e.reason),
                _ => String::new(),
            };
            PeerEventKind::Error {
                reason,
                body: hex::encode(&c.body),
            }
        }
        Event::Command(c) => match c.command() {
            Ok(Command::Ping(p)) => {
                let pong = Command::Pong(Pong {
                    context: p.pong().context,
                })
                .to_vec();
                out.push(PeerEventKind::Command {
                    name: "PING".into(),
                    body: hex::encode(&c.body),
                });
                return Some(pong);
            }
            Ok(Command::Subscribe(s)) => PeerEventKind::Subscription {
                subscribe: true,
                topic: hex::encode(s.topic),
                form: "command".into(),
            },
            Ok(Command::Cancel(s)) => PeerEventKind::Subscription {
                subscribe: false,
                topic: hex::encode(s.topic),
                form: "command".into(),
            },
            _ => PeerEventKind::Command {
                name: zmtp_codec::text::escape(c.name()),
                body: hex::encode(&c.body),
            },
        },
        Event::Message(parts) => {
            if ctx.publisher
                && parts.len() == 1
                && let Some((&first, topic)) = parts.first().and_then(|p| p.split_first())
                && first <= 1
            {
                out.push(PeerEventKind::Subscription {
                    subscribe: first == 1,
                    topic: hex::encode(topic),
                    form: "message".into(),
                });
                return None;
            }
            PeerEventKind::Message { parts }
        }
    };
    out.push(kind);
    None
}
