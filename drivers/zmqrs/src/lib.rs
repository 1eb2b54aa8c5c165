//! The zmq.rs driver (`spec/driver-protocol.md`): puts zmq.rs (the `zeromq` crate, on tokio)
//! under the harness's control over JSON lines on stdin/stdout.
//!
//! One task (the one [`run`] blocks on) owns every socket and reads stdin lines; SIGINT/SIGTERM
//! set a flag; `exit`, EOF or a signal close every socket and end the process with status 0.
//!
//! zmq.rs differs from libzmq in ways the driver has to bridge, and reports:
//! - `connect().await` returns only after TCP connect *and* the ZMTP handshake (retrying
//!   refused connections up to its 30 s connect timeout). The driver replies to `connect` at
//!   once with `"pending": true` and completes the connect in a background task; later ops on
//!   that socket wait for it within their own deadline (see [`CONNECT_WAIT`]). A connect that
//!   fails shows up as a `connect_failed` event.
//! - Socket options are fixed when the socket is built, so the driver builds it lazily, at the
//!   first op that needs it; `routing_id` and `connect_timeout` must come before that.
//! - There is no DONTWAIT: the driver polls the send future once and reports `would_block` if
//!   it is not complete. The future is not cancel-safe: a message reported `would_block` (or a
//!   blocking send reported `timeout`) may still be delivered.
//! - No PAIR/STREAM sockets, no HWM, LINGER, heartbeat or other options: all `unsupported`.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt;
use futures::channel::mpsc;
use tokio::io::AsyncBufReadExt;
use tokio::task::JoinHandle;
use zeromq::{
    DealerSocket, PubSocket, PullSocket, PushSocket, RepSocket, ReqSocket, RouterSocket, Socket,
    SocketEvent, SocketOptions, SocketRecv, SocketSend, SubSocket, XPubSocket, XSubSocket,
    ZmqError, ZmqMessage, ZmqResult,
};
use zmtp_driver_protocol::burst::check_burst_params;
use zmtp_driver_protocol::runner::{BurstRunner, DrainPolicy, SendOutcome};
use zmtp_driver_protocol::{
    BurstArgs, CloseArgs, DrainAccumulator, DrainArgs, EndpointArgs, EventRecord, EventsArgs,
    EventsReport, HelloInfo, OptionValue, Outcome, PROTOCOL_VERSION, Parsed, RecvArgs, Reply,
    Request, SendArgs, SetsockoptArgs, decode_parts, encode_parts, option_kind, parse_option_value,
};

/// How long an op without a deadline of its own (bind, connect, setsockopt, ...) waits for a
/// pending background connect on the same socket before it answers `error` `EAGAIN`.
pub const CONNECT_WAIT: Duration = Duration::from_millis(2000);
/// The idle tick: background connects and monitor channels are serviced this often.
const TICK: Duration = Duration::from_millis(20);
/// At most this many monitor events are kept per socket.
const MAX_EVENTS: usize = 10_000;
/// The zeromq crate version this driver was built against (from Cargo.lock, by build.rs).
const ZEROMQ_VERSION: &str = env!("ZMTP_ZEROMQ_VERSION");

const SOCKET_TYPES: &[&str] = &[
    "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
];
const OPTIONS: &[&str] = &["subscribe", "unsubscribe", "routing_id", "connect_timeout"];
const OPS: &[&str] = &[
    "hello",
    "socket",
    "setsockopt",
    "bind",
    "connect",
    "unbind",
    "send",
    "send_burst",
    "recv",
    "drain",
    "events",
    "close",
    "exit",
];

/// A built zmq.rs socket of any type.
enum Inner {
    Pub(PubSocket),
    Sub(SubSocket),
    Req(ReqSocket),
    Rep(RepSocket),
    Dealer(DealerSocket),
    Router(RouterSocket),
    Pull(PullSocket),
    Push(PushSocket),
    XPub(XPubSocket),
    XSub(XSubSocket),
}

macro_rules! each {
    ($inner:expr, $s:ident => $body:expr) => {
        match $inner {
            Inner::Pub($s) => $body,
            Inner::Sub($s) => $body,
            Inner::Req($s) => $body,
            Inner::Rep($s) => $body,
            Inner::Dealer($s) => $body,
            Inner::Router($s) => $body,
            Inner::Pull($s) => $body,
            Inner::Push($s) => $body,
            Inner::XPub($s) => $body,
            Inner::XSub($s) => $body,
        }
    };
}

impl Inner {
    fn build(kind: &str, opts: SocketOptions) -> Option<Self> {
        Some(match kind {
            "PUB" => Self::Pub(PubSocket::with_options(opts)),
            "SUB" => Self::Sub(SubSocket::with_options(opts)),
            "REQ" => Self::Req(ReqSocket::with_options(opts)),
            "REP" => Self::Rep(RepSocket::with_options(opts)),
            "DEALER" => Self::Dealer(DealerSocket::with_options(opts)),
            "ROUTER" => Self::Router(RouterSocket::with_options(opts)),
            "PULL" => Self::Pull(PullSocket::with_options(opts)),
            "PUSH" => Self::Push(PushSocket::with_options(opts)),
            "XPUB" => Self::XPub(XPubSocket::with_options(opts)),
            "XSUB" => Self::XSub(XSubSocket::with_options(opts)),
            _ => return None,
        })
    }

    fn monitor(&mut self) -> mpsc::Receiver<SocketEvent> {
        each!(self, s => s.monitor())
    }

    async fn bind(&mut self, ep: &str) -> ZmqResult<zeromq::Endpoint> {
        each!(self, s => s.bind(ep).await)
    }

    async fn connect(&mut self, ep: &str) -> ZmqResult<()> {
        each!(self, s => s.connect(ep).await)
    }

    async fn unbind(&mut self, ep: zeromq::Endpoint) -> ZmqResult<()> {
        each!(self, s => s.unbind(ep).await)
    }

    async fn close(self) -> Vec<ZmqError> {
        each!(self, s => s.close().await)
    }

    /// `None` if the socket type cannot send.
    fn send(
        &mut self,
        m: ZmqMessage,
    ) -> Option<std::pin::Pin<Box<dyn Future<Output = ZmqResult<()>> + Send + '_>>> {
        Some(match self {
            Self::Pub(s) => s.send(m),
            Self::Req(s) => s.send(m),
            Self::Rep(s) => s.send(m),
            Self::Dealer(s) => s.send(m),
            Self::Router(s) => s.send(m),
            Self::Push(s) => s.send(m),
            Self::XPub(s) => s.send(m),
            Self::XSub(s) => s.send(m),
            Self::Sub(_) | Self::Pull(_) => return None,
        })
    }

    /// `None` if the socket type cannot receive.
    fn recv(
        &mut self,
    ) -> Option<std::pin::Pin<Box<dyn Future<Output = ZmqResult<ZmqMessage>> + Send + '_>>> {
        Some(match self {
            Self::Sub(s) => s.recv(),
            Self::Req(s) => s.recv(),
            Self::Rep(s) => s.recv(),
            Self::Dealer(s) => s.recv(),
            Self::Router(s) => s.recv(),
            Self::Pull(s) => s.recv(),
            Self::XPub(s) => s.recv(),
            Self::XSub(s) => s.recv(),
            Self::Pub(_) | Self::Push(_) => return None,
        })
    }

    /// `None` if the socket type has no subscriptions.
    async fn subscribe(&mut self, subscribe: bool, topic: &str) -> Option<ZmqResult<()>> {
        Some(match (self, subscribe) {
            (Self::Sub(s), true) => s.subscribe(topic).await,
            (Self::Sub(s), false) => s.unsubscribe(topic).await,
            (Self::XSub(s), true) => s.subscribe(topic).await,
            (Self::XSub(s), false) => s.unsubscribe(topic).await,
            _ => return None,
        })
    }
}

/// The errno-style code for a zmq.rs error (zmq.rs has no errno; this is the closest name).
fn error_code(e: &ZmqError) -> String {
    match e {
        ZmqError::Endpoint(_) | ZmqError::PeerIdentity => "EINVAL".into(),
        ZmqError::Network(io) => match io.kind() {
            std::io::ErrorKind::AddrInUse => "EADDRINUSE".into(),
            std::io::ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL".into(),
            std::io::ErrorKind::ConnectionRefused => "ECONNREFUSED".into(),
            _ => "EIO".into(),
        },
        ZmqError::NoSuchBind(_) => "ENOENT".into(),
        ZmqError::Codec(_) => "EPROTO".into(),
        ZmqError::BufferFull(_) => "ENOBUFS".into(),
        ZmqError::ReturnToSender { reason, .. }
        | ZmqError::ReturnToSenderMultipart { reason, .. } => {
            if reason.contains("in progress") {
                "EFSM".into()
            } else if reason.contains("Not connected") {
                "ENOTCONN".into()
            } else if reason.contains("not found") || reason.contains("identity") {
                "EHOSTUNREACH".into()
            } else {
                "EZMQRS".into()
            }
        }
        ZmqError::NoMessage => "ENOMSG".into(),
        ZmqError::UnsupportedVersion(_) => "ENOCOMPATPROTO".into(),
        ZmqError::ConnectTimeout(_) => "ETIMEDOUT".into(),
        _ => "EZMQRS".into(),
    }
}

fn err_reply(id: Option<u64>, e: &ZmqError) -> Reply {
    Reply::error(id, &error_code(e), e.to_string())
}

fn no_socket(id: Option<u64>, handle: &str) -> Reply {
    Reply::error(id, "ENOTSOCK", format!("no socket {handle:?}"))
}

enum State {
    /// Not built yet: options may still be set.
    Unbuilt,
    Ready(Inner),
    Connecting {
        endpoint: String,
        task: JoinHandle<(Inner, ZmqResult<()>)>,
    },
    /// The background connect task died; the socket is gone.
    Lost,
}

struct Slot {
    kind: String,
    state: State,
    peer_id: Option<Vec<u8>>,
    connect_timeout: Option<Option<Duration>>,
    monitor: Option<mpsc::Receiver<SocketEvent>>,
    events: VecDeque<EventRecord>,
    dropped: u64,
    pending_subs: Vec<(bool, String)>,
}

/// Why a socket is not ready for an op.
enum NotReady {
    StillConnecting(String),
    Failed(Reply),
}

struct Driver {
    slots: BTreeMap<String, Slot>,
    next_handle: u64,
    stop: Arc<AtomicBool>,
    /// Turns true on SIGINT/SIGTERM: a pending send or receive stops waiting (LINGER-07).
    stop_rx: tokio::sync::watch::Receiver<bool>,
    started: Instant,
}

/// Resolves once a signal asked the driver to stop.
async fn signalled(mut rx: tokio::sync::watch::Receiver<bool>) {
    // An error means the sender is gone: no signal can come any more.
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn push_event(slot: &mut Slot, started: Instant, event: &str, endpoint: String, value: i64) {
    if slot.events.len() >= MAX_EVENTS {
        slot.events.pop_front();
        slot.dropped += 1;
    }
    slot.events.push_back(EventRecord {
        event: event.into(),
        value,
        endpoint,
        at_us: started.elapsed().as_micros() as u64,
    });
}

fn service_monitor(slot: &mut Slot, started: Instant) {
    let mut got = Vec::new();
    if let Some(m) = &mut slot.monitor {
        while let Ok(ev) = m.try_recv() {
            got.push(ev);
        }
    }
    for ev in got {
        let (name, ep) = match ev {
            SocketEvent::Connected(ep, _) => ("connected", ep.to_string()),
            SocketEvent::ConnectDelayed => ("connect_delayed", String::new()),
            SocketEvent::ConnectRetried => ("connect_retried", String::new()),
            SocketEvent::Listening(ep) => ("listening", ep.to_string()),
            SocketEvent::Accepted(ep, _) => ("accepted", ep.to_string()),
            SocketEvent::AcceptFailed(e) => ("accept_failed", e.to_string()),
            SocketEvent::Closed => ("closed", String::new()),
            SocketEvent::CloseFailed => ("close_failed", String::new()),
            SocketEvent::Disconnected(_) => ("disconnected", String::new()),
        };
        push_event(slot, started, name, ep, 0);
    }
}

impl Driver {
    fn hello(&self, id: Option<u64>) -> Reply {
        let info = HelloInfo {
            implementation: "zmqrs".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            library: "zmq.rs".into(),
            library_version: ZEROMQ_VERSION.into(),
            binding: String::new(),
            binding_version: String::new(),
            protocol_version: PROTOCOL_VERSION,
            socket_types: SOCKET_TYPES.iter().map(|s| s.to_string()).collect(),
            options: OPTIONS.iter().map(|s| s.to_string()).collect(),
            mechanisms: vec!["NULL".into()],
            zmtp: vec!["3.0".into()],
            ops: OPS.iter().map(|s| s.to_string()).collect(),
            notes: vec![
                "connect replies at once with pending=true; zmq.rs completes TCP connect and handshake in a background task, and later ops on the socket wait for it within their deadline".into(),
                "no DONTWAIT in zmq.rs: the send future is polled once and would_block reported if it is not complete".into(),
                "a send answered would_block or timeout may still be delivered: zmq.rs's send future is not cancel-safe (the message can already sit in the peer's write buffer when the driver drops the future)".into(),
                "no HWM: a PUB with a slow subscriber buffers without bound instead of dropping".into(),
                "a send with no connected peer fails at once (error ENOTCONN) instead of blocking or queueing".into(),
                "options are fixed at socket construction: routing_id and connect_timeout must be set before the first bind/connect/send/recv".into(),
                "subscriptions must be UTF-8 (the zmq.rs API takes &str)".into(),
                "no HWM, LINGER, heartbeat, reconnect or security options; no disconnect, no getsockopt".into(),
                "events are zmq.rs monitor events; connected/accepted come after the handshake; connect_failed is synthesised by the driver".into(),
            ],
        };
        Reply::ok(id).with_all(&info)
    }

    fn socket(&mut self, id: Option<u64>, ty: &str) -> Reply {
        if !SOCKET_TYPES.contains(&ty) {
            return Reply::unsupported(id, format!("zmq.rs has no {ty:?} socket"));
        }
        self.next_handle += 1;
        let handle = format!("s{}", self.next_handle);
        self.slots.insert(
            handle.clone(),
            Slot {
                kind: ty.into(),
                state: State::Unbuilt,
                peer_id: None,
                connect_timeout: None,
                monitor: None,
                events: VecDeque::new(),
                dropped: 0,
                pending_subs: Vec::new(),
            },
        );
        Reply::ok(id).with("socket", handle)
    }

    /// Builds the socket if needed and finishes a pending connect, waiting at most `wait`.
    async fn ready(&mut self, handle: &str, wait: Duration) -> Result<&mut Inner, NotReady> {
        let started = self.started;
        let stop_rx = self.stop_rx.clone();
        let Some(slot) = self.slots.get_mut(handle) else {
            return Err(NotReady::Failed(no_socket(None, handle)));
        };
        if let State::Unbuilt = slot.state {
            let mut opts = SocketOptions::default();
            if let Some(p) = &slot.peer_id {
                match zeromq::util::PeerIdentity::try_from(Bytes::from(p.clone())) {
                    Ok(pid) => {
                        opts.peer_identity(pid);
                    }
                    Err(e) => return Err(NotReady::Failed(err_reply(None, &e))),
                }
            }
            match slot.connect_timeout {
                Some(Some(d)) => {
                    opts.connect_timeout(d);
                }
                Some(None) => {
                    opts.no_connect_timeout();
                }
                None => {}
            }
            let Some(mut inner) = Inner::build(&slot.kind, opts) else {
                return Err(NotReady::Failed(Reply::unsupported(None, "socket type")));
            };
            slot.monitor = Some(inner.monitor());
            slot.state = State::Ready(inner);
        }
        if let State::Connecting { task, .. } = &mut slot.state {
            if !task.is_finished() && wait.is_zero() {
                let State::Connecting { endpoint, .. } = &slot.state else {
                    unreachable!()
                };
                return Err(NotReady::StillConnecting(endpoint.clone()));
            }
            let joined = tokio::select! {
                r = tokio::time::timeout(wait, task) => r.ok(),
                _ = signalled(stop_rx) => None,
            };
            match joined {
                None => {
                    let State::Connecting { endpoint, .. } = &slot.state else {
                        unreachable!()
                    };
                    return Err(NotReady::StillConnecting(endpoint.clone()));
                }
                Some(joined) => {
                    let State::Connecting { endpoint, .. } =
                        std::mem::replace(&mut slot.state, State::Lost)
                    else {
                        unreachable!()
                    };
                    match joined {
                        Ok((mut inner, result)) => {
                            if let Err(e) = result {
                                eprintln!("zmq.rs driver: connect {handle} to {endpoint}: {e}");
                                push_event(slot, started, "connect_failed", endpoint, 0);
                            }
                            for (sub, topic) in std::mem::take(&mut slot.pending_subs) {
                                if let Some(Err(e)) = inner.subscribe(sub, &topic).await {
                                    eprintln!("zmq.rs driver: deferred subscribe on {handle}: {e}");
                                }
                            }
                            slot.state = State::Ready(inner);
                        }
                        Err(e) => {
                            eprintln!("zmq.rs driver: connect task of {handle} died: {e}");
                        }
                    }
                }
            }
        }
        match &mut slot.state {
            State::Ready(inner) => Ok(inner),
            State::Lost => Err(NotReady::Failed(Reply::error(
                None,
                "EDRIVER",
                "the socket was lost when its background connect task died",
            ))),
            _ => Err(NotReady::Failed(Reply::error(None, "EDRIVER", "bad state"))),
        }
    }

    fn not_ready(id: Option<u64>, n: NotReady) -> Reply {
        match n {
            NotReady::StillConnecting(ep) => Reply::error(
                id,
                "EAGAIN",
                format!("the background connect to {ep} is still in progress"),
            ),
            NotReady::Failed(mut r) => {
                r.id = id;
                r
            }
        }
    }

    async fn setsockopt(&mut self, id: Option<u64>, a: &SetsockoptArgs) -> Reply {
        let Some(slot) = self.slots.get_mut(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        let Some(kind) = option_kind(&a.option).filter(|_| OPTIONS.contains(&a.option.as_str()))
        else {
            return Reply::unsupported(id, format!("zmq.rs has no option {:?}", a.option));
        };
        let value = match parse_option_value(kind, &a.value) {
            Ok(v) => v,
            Err(e) => return Reply::error(id, "EINVAL", format!("{}: {e}", a.option)),
        };
        let built = !matches!(slot.state, State::Unbuilt);
        match (a.option.as_str(), value) {
            ("routing_id" | "connect_timeout", _) if built => Reply::unsupported(
                id,
                format!(
                    "zmq.rs fixes {} when the socket is built; set it before the first bind/connect/send/recv",
                    a.option
                ),
            ),
            ("routing_id", OptionValue::Bytes(b)) => {
                slot.peer_id = Some(b);
                Reply::ok(id)
            }
            ("connect_timeout", OptionValue::Int(ms)) => {
                slot.connect_timeout = Some(if ms <= 0 {
                    None
                } else {
                    Some(Duration::from_millis(ms as u64))
                });
                Reply::ok(id)
            }
            (opt @ ("subscribe" | "unsubscribe"), OptionValue::Bytes(b)) => {
                let sub = opt == "subscribe";
                if slot.kind != "SUB" && slot.kind != "XSUB" {
                    return Reply::error(id, "EINVAL", format!("{opt} on a {} socket", slot.kind));
                }
                let Ok(topic) = String::from_utf8(b) else {
                    return Reply::unsupported(id, "zmq.rs subscriptions must be UTF-8");
                };
                if let State::Connecting { .. } = slot.state {
                    slot.pending_subs.push((sub, topic));
                    return Reply::ok(id).with("deferred", true);
                }
                let inner = match self.ready(&a.socket, Duration::ZERO).await {
                    Ok(i) => i,
                    Err(n) => return Self::not_ready(id, n),
                };
                match inner.subscribe(sub, &topic).await {
                    Some(Ok(())) => Reply::ok(id),
                    Some(Err(e)) => err_reply(id, &e),
                    None => Reply::error(id, "EINVAL", "not a subscriber"),
                }
            }
            _ => Reply::error(id, "EINVAL", "value kind does not fit the option"),
        }
    }

    async fn bind(&mut self, id: Option<u64>, a: &EndpointArgs) -> Reply {
        // zmq.rs spells the wildcard port 0; libzmq also accepts "*".
        let ep = match a.endpoint.strip_suffix(":*") {
            Some(head) => format!("{head}:0"),
            None => a.endpoint.clone(),
        };
        let inner = match self.ready(&a.socket, CONNECT_WAIT).await {
            Ok(i) => i,
            Err(n) => return Self::not_ready(id, n),
        };
        match inner.bind(&ep).await {
            Ok(real) => Reply::ok(id).with("endpoint", real.to_string()),
            Err(e) => err_reply(id, &e),
        }
    }

    async fn connect(&mut self, id: Option<u64>, a: &EndpointArgs) -> Reply {
        if let Err(n) = self.ready(&a.socket, CONNECT_WAIT).await {
            return Self::not_ready(id, n);
        }
        let Some(slot) = self.slots.get_mut(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        let State::Ready(mut inner) = std::mem::replace(&mut slot.state, State::Lost) else {
            return Reply::error(id, "EDRIVER", "socket not ready");
        };
        let ep = a.endpoint.clone();
        // Fail fast on a malformed endpoint, as libzmq's connect does.
        if let Err(e) = zeromq::TryIntoEndpoint::try_into(ep.as_str()) {
            slot.state = State::Ready(inner);
            return err_reply(id, &ZmqError::Endpoint(e));
        }
        let task = tokio::spawn(async move {
            let r = inner.connect(&ep).await;
            (inner, r)
        });
        slot.state = State::Connecting {
            endpoint: a.endpoint.clone(),
            task,
        };
        Reply::ok(id).with("pending", true)
    }

    async fn unbind(&mut self, id: Option<u64>, a: &EndpointArgs) -> Reply {
        let ep = match zeromq::TryIntoEndpoint::try_into(a.endpoint.as_str()) {
            Ok(ep) => ep,
            Err(e) => return err_reply(id, &ZmqError::Endpoint(e)),
        };
        let inner = match self.ready(&a.socket, CONNECT_WAIT).await {
            Ok(i) => i,
            Err(n) => return Self::not_ready(id, n),
        };
        match inner.unbind(ep).await {
            Ok(()) => Reply::ok(id),
            Err(e) => err_reply(id, &e),
        }
    }

    /// Sends one message: `Ok(true)` accepted, `Ok(false)` would block / timed out.
    async fn send_parts(
        &mut self,
        handle: &str,
        parts: Vec<Bytes>,
        dontwait: bool,
        deadline: Instant,
    ) -> Result<bool, Reply> {
        let left = deadline.saturating_duration_since(Instant::now());
        let stop = signalled(self.stop_rx.clone());
        let inner = match self
            .ready(handle, if dontwait { Duration::ZERO } else { left })
            .await
        {
            Ok(i) => i,
            Err(NotReady::StillConnecting(_)) => return Ok(false),
            Err(NotReady::Failed(r)) => return Err(r),
        };
        let msg =
            ZmqMessage::try_from(parts).map_err(|e| Reply::error(None, "EINVAL", e.to_string()))?;
        let Some(fut) = inner.send(msg) else {
            return Err(Reply::error(
                None,
                "ENOTSUP",
                "this socket type cannot send",
            ));
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let r = if dontwait {
            fut.now_or_never()
        } else {
            tokio::select! {
                r = tokio::time::timeout(left, fut) => r.ok(),
                _ = stop => None,
            }
        };
        match r {
            None => Ok(false),
            Some(Ok(())) => Ok(true),
            Some(Err(e)) => Err(err_reply(None, &e)),
        }
    }

    async fn send(&mut self, id: Option<u64>, a: &SendArgs) -> Reply {
        if !self.slots.contains_key(&a.socket) {
            return no_socket(id, &a.socket);
        }
        let parts = match decode_parts(&a.parts_hex) {
            Ok(p) if !p.is_empty() => p.into_iter().map(Bytes::from).collect(),
            Ok(_) => return Reply::error(id, "EINVAL", "parts_hex must not be empty"),
            Err(e) => return Reply::error(id, "EINVAL", e),
        };
        let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
        match self
            .send_parts(&a.socket, parts, a.dontwait, deadline)
            .await
        {
            Ok(true) => Reply::ok(id),
            Ok(false) if a.dontwait => Reply::new(id, Outcome::WouldBlock),
            Ok(false) => Reply::new(id, Outcome::Timeout),
            Err(mut r) => {
                r.id = id;
                r
            }
        }
    }

    async fn send_burst(&mut self, id: Option<u64>, a: &BurstArgs) -> Reply {
        if !self.slots.contains_key(&a.socket) {
            return no_socket(id, &a.socket);
        }
        let topic = match hex::decode(&a.topic_hex) {
            Ok(t) => t,
            Err(e) => return Reply::error(id, "EINVAL", format!("topic_hex: {e}")),
        };
        let prefix: Vec<Bytes> = match decode_parts(&a.prefix_hex) {
            Ok(p) => p.into_iter().map(Bytes::from).collect(),
            Err(e) => return Reply::error(id, "EINVAL", e),
        };
        if let Err(e) = check_burst_params(&topic, a.size, a.parts) {
            return Reply::error(id, "EINVAL", e.to_string());
        }
        let mut run = BurstRunner::new(a, &topic, Instant::now());
        while let Some((seq, frames)) = run.next(self.stop.load(Ordering::SeqCst)) {
            let mut parts = prefix.clone();
            parts.extend(frames.into_iter().map(Bytes::from));
            let t0 = Instant::now();
            let outcome = match self
                .send_parts(&a.socket, parts, a.dontwait, run.deadline())
                .await
            {
                Ok(true) => SendOutcome::Accepted,
                Ok(false) => SendOutcome::NotAccepted,
                Err(r) => SendOutcome::Failed {
                    code: r.code().unwrap_or("EZMQRS").into(),
                    message: r.message().unwrap_or_default().into(),
                },
            };
            let would_block = a.dontwait && outcome == SendOutcome::NotAccepted;
            run.record(seq, outcome, t0.elapsed(), self.stop.load(Ordering::SeqCst));
            if would_block && run.stopped().is_none() {
                // Let zmq.rs's writer tasks make progress before the next try.
                tokio::task::yield_now().await;
            }
        }
        Reply::ok(id).with_all(&run.finish())
    }

    /// Receives one message before `deadline`: `Ok(None)` on timeout.
    async fn recv_parts(
        &mut self,
        handle: &str,
        deadline: Instant,
    ) -> Result<Option<Vec<Bytes>>, Reply> {
        let left = deadline.saturating_duration_since(Instant::now());
        let stop = signalled(self.stop_rx.clone());
        let inner = match self.ready(handle, left).await {
            Ok(i) => i,
            Err(NotReady::StillConnecting(_)) => return Ok(None),
            Err(NotReady::Failed(r)) => return Err(r),
        };
        let Some(fut) = inner.recv() else {
            return Err(Reply::error(
                None,
                "ENOTSUP",
                "this socket type cannot receive",
            ));
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let r = tokio::select! {
            r = tokio::time::timeout(left, fut) => r,
            _ = stop => return Ok(None),
        };
        match r {
            Err(_) => Ok(None),
            Ok(Ok(m)) => Ok(Some(m.into_vec())),
            Ok(Err(e)) => Err(err_reply(None, &e)),
        }
    }

    async fn recv(&mut self, id: Option<u64>, a: &RecvArgs) -> Reply {
        if !self.slots.contains_key(&a.socket) {
            return no_socket(id, &a.socket);
        }
        let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
        match self.recv_parts(&a.socket, deadline).await {
            Ok(Some(parts)) => Reply::ok(id).with("parts_hex", encode_parts(&parts)),
            Ok(None) => Reply::new(id, Outcome::Timeout),
            Err(mut r) => {
                r.id = id;
                r
            }
        }
    }

    async fn drain(&mut self, id: Option<u64>, a: &DrainArgs) -> Reply {
        if !self.slots.contains_key(&a.socket) {
            return no_socket(id, &a.socket);
        }
        let start = Instant::now();
        let mut policy = DrainPolicy::new(a, start);
        let mut acc = DrainAccumulator::new(a.strip_prefix as usize, a.other_limit as usize);
        let stopped = loop {
            let interrupted = self.stop.load(Ordering::SeqCst);
            let until = match policy.next(acc.messages(), interrupted, Instant::now()) {
                Ok(until) => until,
                Err(stop) => break stop.as_str(),
            };
            match self.recv_parts(&a.socket, until).await {
                Ok(Some(parts)) => {
                    acc.push(&parts);
                    policy.received(Instant::now());
                }
                Ok(None) => {}
                Err(mut r) => {
                    r.id = id;
                    return r;
                }
            }
        };
        let report = acc.finish(stopped, start.elapsed().as_micros() as u64);
        let outcome = if report.messages == 0 {
            Outcome::Timeout
        } else {
            Outcome::Ok
        };
        Reply::new(id, outcome).with_all(&report)
    }

    async fn events(&mut self, id: Option<u64>, a: &EventsArgs) -> Reply {
        let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
        loop {
            self.service().await;
            let started = self.started;
            let Some(slot) = self.slots.get_mut(&a.socket) else {
                return no_socket(id, &a.socket);
            };
            service_monitor(slot, started);
            if !slot.events.is_empty() || Instant::now() >= deadline {
                let report = EventsReport {
                    events: slot.events.drain(..).collect(),
                    dropped: std::mem::take(&mut slot.dropped),
                };
                let outcome = if report.events.is_empty() {
                    Outcome::Timeout
                } else {
                    Outcome::Ok
                };
                return Reply::new(id, outcome).with_all(&report);
            }
            tokio::time::sleep(TICK.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }

    async fn close(&mut self, id: Option<u64>, a: &CloseArgs) -> Reply {
        if a.linger_ms.is_some() {
            return Reply::unsupported(
                id,
                "zmq.rs has no LINGER; close without linger_ms (nothing was closed)",
            );
        }
        let Some(slot) = self.slots.remove(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        let t0 = Instant::now();
        close_slot(slot).await;
        Reply::ok(id).with("elapsed_ms", t0.elapsed().as_millis() as u64)
    }

    /// Finishes background connects that are done and reads every monitor channel.
    async fn service(&mut self) {
        let done: Vec<String> = self
            .slots
            .iter()
            .filter(
                |(_, s)| matches!(&s.state, State::Connecting { task, .. } if task.is_finished()),
            )
            .map(|(h, _)| h.clone())
            .collect();
        for h in done {
            let _ = self.ready(&h, Duration::ZERO).await;
        }
        let started = self.started;
        for slot in self.slots.values_mut() {
            service_monitor(slot, started);
        }
    }

    /// Handles one request line; the bool says whether to exit afterwards.
    async fn handle(&mut self, line: &str) -> (Reply, bool) {
        let parsed = zmtp_driver_protocol::parse_request(line);
        if let Some(r) = parsed.reject() {
            return (r, false);
        }
        let Parsed::Request { id, request } = parsed else {
            return (Reply::error(None, "EDRIVER", "unreachable"), false);
        };
        let reply = match &request {
            Request::Hello => self.hello(id),
            Request::Socket(a) => self.socket(id, &a.socket_type),
            Request::Setsockopt(a) => self.setsockopt(id, a).await,
            Request::Getsockopt(_) => Reply::unsupported(id, "zmq.rs has no option getters"),
            Request::Bind(a) => self.bind(id, a).await,
            Request::Connect(a) => self.connect(id, a).await,
            Request::Disconnect(_) => Reply::unsupported(id, "zmq.rs has no disconnect"),
            Request::Unbind(a) => self.unbind(id, a).await,
            Request::Send(a) => self.send(id, a).await,
            Request::SendPart(_) => Reply::unsupported(
                id,
                "zmq.rs sends whole messages only (ZmqMessage); it has no frame-at-a-time send",
            ),
            Request::SendBurst(a) => self.send_burst(id, a).await,
            Request::Recv(a) => self.recv(id, a).await,
            Request::Drain(a) => self.drain(id, a).await,
            Request::Events(a) => self.events(id, a).await,
            Request::Close(a) => self.close(id, a).await,
            Request::Exit => return (Reply::ok(id), true),
            Request::Zap(_) => Reply::unsupported(
                id,
                "zmq.rs has no ZAP: it implements neither PLAIN nor CURVE",
            ),
        };
        (reply, false)
    }
}

/// Closes one socket: a pending connect is aborted (dropping the socket); a ready one is
/// closed with zmq.rs's `close()` (which unbinds), bounded to 2 s.
async fn close_slot(slot: Slot) {
    match slot.state {
        State::Ready(inner) => {
            if let Ok(errs) = tokio::time::timeout(Duration::from_secs(2), inner.close()).await {
                for e in errs {
                    eprintln!("zmq.rs driver: close: {e}");
                }
            }
        }
        State::Connecting { task, .. } => task.abort(),
        State::Unbuilt | State::Lost => {}
    }
}

fn write_reply(reply: &Reply) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut line = reply.to_line();
    line.push('\n');
    out.write_all(line.as_bytes())?;
    out.flush()
}

async fn main_loop(stop: Arc<AtomicBool>) -> ExitCode {
    let notify = Arc::new(tokio::sync::Notify::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    {
        let stop = Arc::clone(&stop);
        let notify = Arc::clone(&notify);
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::spawn(async move {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                    stop.store(true, Ordering::SeqCst);
                    notify.notify_one();
                    let _ = stop_tx.send(true);
                });
            }
            Err(e) => eprintln!("zmq.rs driver: cannot install signal handlers: {e}"),
        }
    }
    let mut d = Driver {
        slots: BTreeMap::new(),
        next_handle: 0,
        stop: Arc::clone(&stop),
        stop_rx,
        started: Instant::now(),
    };
    eprintln!(
        "zmq.rs driver: zeromq {ZEROMQ_VERSION}, pid {}",
        std::process::id()
    );
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status = ExitCode::SUCCESS;
    loop {
        if stop.load(Ordering::SeqCst) {
            eprintln!("zmq.rs driver: signal received, shutting down");
            break;
        }
        tokio::select! {
            _ = notify.notified() => {}
            line = lines.next_line() => match line {
                Ok(Some(l)) => {
                    let l = l.trim();
                    if l.is_empty() {
                        continue;
                    }
                    let (reply, exit) = d.handle(l).await;
                    if let Err(e) = write_reply(&reply) {
                        eprintln!("zmq.rs driver: stdout failed: {e}");
                        status = ExitCode::from(1);
                        break;
                    }
                    if exit {
                        break;
                    }
                }
                Ok(None) => {
                    eprintln!("zmq.rs driver: EOF on stdin, shutting down");
                    break;
                }
                Err(e) => {
                    eprintln!("zmq.rs driver: stdin failed: {e}");
                    status = ExitCode::from(1);
                    break;
                }
            },
            _ = tick.tick() => d.service().await,
        }
    }
    let t0 = Instant::now();
    for (_, slot) in std::mem::take(&mut d.slots) {
        close_slot(slot).await;
    }
    eprintln!(
        "zmq.rs driver: sockets closed in {} ms",
        t0.elapsed().as_millis()
    );
    status
}

/// Runs the driver on this process's stdin/stdout until `exit`, EOF or SIGINT/SIGTERM.
pub fn run() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zmq.rs driver: cannot start tokio: {e}");
            return ExitCode::from(1);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let status = rt.block_on(main_loop(stop));
    // The stdin reader sits in a blocking read; do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(200));
    status
}
