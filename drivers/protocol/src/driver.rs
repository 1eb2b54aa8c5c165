//! The [`Driver`] trait and its one [`dispatch`]: what a Rust driver implements, and the shared
//! request handling every Rust driver runs on.
//!
//! A Rust driver implements [`Driver`] with the library calls only: create a socket, set and get an
//! option, bind, connect, send one message, receive one message before a deadline, keep the monitor
//! events, close, and the idle turn that keeps the library serviced (DRV-21). Everything the
//! protocol defines apart from that lives here and in [`crate::serve`]: parsing a request line,
//! the socket-handle check, hex decoding and field checks, the `send_burst` runner and the `drain`
//! stop policy ([`crate::runner`]), the `events` wait, the mapping of typed outcomes to the
//! protocol's reply kinds (DRV-07), and the request loop with signal handling and shutdown.
//!
//! A library call answers with a typed [`Fault`] (never a ready-made reply or a string code): the
//! variant says which reply kind it becomes (`unsupported`, or `error` with an errno-style name).
//! `would_block` and `timeout` are not faults: a send that was not accepted is [`Sent::NotAccepted`]
//! and a receive that got nothing is `None`; [`dispatch`] turns them into `would_block` (with
//! `dontwait`) or `timeout`.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::burst::check_burst_params;
use crate::roundtrip::{
    EchoArgs, EchoReport, PingPongArgs, PingPongReport, RoundTripError, check_echo,
    check_ping_pong, ping_payload,
};
use crate::runner::{BurstRunner, DrainPolicy, SendOutcome};
use crate::{
    BurstArgs, DrainAccumulator, DrainArgs, EventRecord, EventsArgs, EventsReport, HelloInfo,
    Outcome, Parsed, Reply, Request, SendArgs, SendPartArgs, ZapArgs, ZapStats, decode_parts,
    encode_parts,
};

/// The frames of one message.
pub type Parts = Vec<Vec<u8>>;

/// The result of a library call: a value, or a [`Fault`] that becomes the reply.
pub type OpResult<T> = Result<T, Fault>;

/// Why an op was not carried out: each variant is one reply kind of DRV-07.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// `unsupported`: the library lacks the op, socket type, option or value; nothing changed
    /// (DRV-08).
    #[error("unsupported: {0}")]
    Unsupported(Cow<'static, str>),
    /// `error` with an errno-style `code` (DRV-09, the names of DRV-16) and the library's text.
    #[error("{code}: {message}")]
    Error {
        /// The errno-style name (`EFSM`, `EHOSTUNREACH`, `EINVAL`, ...).
        code: Cow<'static, str>,
        /// What the library (or the driver) said.
        message: String,
    },
}

impl Fault {
    /// `unsupported` with a message.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Unsupported(message.into())
    }

    /// `error` with an errno-style code and a message.
    pub fn error(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::Error {
            code: code.into(),
            message: message.into(),
        }
    }

    /// `error` `EINVAL`: a bad request field or a value the library rejects (DRV-11).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::error("EINVAL", message)
    }

    /// `error` `ENOTSOCK`: an unknown socket handle (DRV-09).
    pub fn no_socket(handle: &str) -> Self {
        Self::error("ENOTSOCK", format!("no socket {handle:?}"))
    }

    /// `error` `EDRIVER`: a fault inside the driver itself.
    pub fn driver(message: impl Into<String>) -> Self {
        Self::error("EDRIVER", message)
    }

    /// The errno-style code of an `error` fault.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Error { code, .. } => Some(code),
            Self::Unsupported(_) => None,
        }
    }

    /// The message of either kind.
    pub fn message(&self) -> &str {
        match self {
            Self::Error { message, .. } => message,
            Self::Unsupported(m) => m,
        }
    }

    /// The reply to request `id`.
    pub fn reply(&self, id: Option<u64>) -> Reply {
        match self {
            Self::Unsupported(m) => Reply::unsupported(id, m.as_ref()),
            Self::Error { code, message } => Reply::error(id, code, message.as_str()),
        }
    }
}

/// What happened to one message handed to the library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The library took it at the first attempt.
    Accepted,
    /// The library took it, but not at once: the first attempt would have blocked (EAGAIN, a
    /// send future not ready when first polled, a pending connect), so the driver waited
    /// (DRV-71). Only a driver with [`Driver::COUNTS_WAITS`] tells the two apart.
    AcceptedAfterWait,
    /// It did not: would block (with `dontwait`), the deadline passed, or a signal came.
    NotAccepted,
}

/// How `connect` finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connected {
    /// The library took the endpoint (it connects in the background, as libzmq does).
    Started,
    /// The driver finishes the connect in the background (`"pending": true`, DRV-36).
    Pending,
}

/// How `setsockopt` applied a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Set now.
    Now,
    /// Queued until a pending connect finishes (`"deferred": true`).
    Deferred,
}

/// What the `zap` op did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZapChange {
    /// Whether a handler was installed before.
    pub replaced: bool,
    /// What the replaced or removed handler answered.
    pub stats: ZapStats,
}

/// The bounded buffer of monitor events of one socket (at most [`EventLog::MAX`]; older ones are
/// dropped and counted).
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    events: VecDeque<EventRecord>,
    dropped: u64,
}

impl EventLog {
    /// At most this many events are kept per socket.
    pub const MAX: usize = 10_000;

    /// Appends one event seen now; `started` is when the driver started (`at_us`).
    pub fn push(&mut self, started: Instant, event: &str, value: i64, endpoint: String) {
        if self.events.len() >= Self::MAX {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(EventRecord {
            event: event.into(),
            value,
            endpoint,
            at_us: started.elapsed().as_micros() as u64,
        });
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Hands out every event and the dropped count, and forgets them.
    pub fn take(&mut self) -> EventsReport {
        EventsReport {
            events: self.events.drain(..).collect(),
            dropped: std::mem::take(&mut self.dropped),
        }
    }
}

/// The library-specific part of a Rust driver. [`dispatch`] calls these for the protocol's ops;
/// every socket op gets a handle [`Driver::has_socket`] has already confirmed.
///
/// The methods are `async` so that a driver on an async library (zmq.rs, rzmq on tokio) can
/// await; a driver on a blocking library (libzmq) writes them without `.await` and is run by
/// [`crate::serve::serve_blocking`]. A driver is used from one thread or task (DRV-20), so the
/// futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Driver {
    /// The name in log lines on stderr (`"libzmq driver"`).
    const NAME: &'static str;

    /// Whether [`Driver::send`] answers [`Sent::AcceptedAfterWait`] for a message whose first
    /// attempt would have blocked, and a blocking send that was not accepted only after such a
    /// refusal: then `send_burst` reports `waited` (DRV-71). Leave it `false` where the library
    /// cannot tell; the reply then has no `waited` and the harness falls back on send times.
    const COUNTS_WAITS: bool = false;

    /// The `hello` reply fields (DRV-31).
    fn hello(&self) -> HelloInfo;

    /// Why this library lacks `op`, for the optional ops it does not implement (DRV-14): every
    /// request of that op answers `unsupported` with this message, before any other check.
    fn lacks(&self, op: &str) -> Option<&'static str> {
        let _ = op;
        None
    }

    /// Whether `handle` names an open socket.
    fn has_socket(&self, handle: &str) -> bool;

    /// `socket`: creates a socket of the upper-case type and returns its new handle.
    async fn socket(&mut self, socket_type: &str) -> OpResult<String>;

    /// `setsockopt` (section 5 of the spec: the option's kind decides how `value` reads).
    async fn setsockopt(&mut self, socket: &str, option: &str, value: &Value) -> OpResult<Applied>;

    /// `getsockopt`: the value as the protocol writes it (int, bool or hex string).
    async fn getsockopt(&mut self, socket: &str, option: &str) -> OpResult<Value> {
        let _ = (socket, option);
        Err(Fault::unsupported("getsockopt is not implemented"))
    }

    /// `bind`: returns the endpoint actually bound (a wildcard port resolved).
    async fn bind(&mut self, socket: &str, endpoint: &str) -> OpResult<String>;

    /// `connect`: must return at once (DRV-36).
    async fn connect(&mut self, socket: &str, endpoint: &str) -> OpResult<Connected>;

    /// `disconnect`.
    async fn disconnect(&mut self, socket: &str, endpoint: &str) -> OpResult<()> {
        let _ = (socket, endpoint);
        Err(Fault::unsupported("disconnect is not implemented"))
    }

    /// `unbind`.
    async fn unbind(&mut self, socket: &str, endpoint: &str) -> OpResult<()>;

    /// Hands one whole message (at least one frame) to the library: at once with `dontwait`,
    /// else waiting until `deadline` or a signal. Used by `send` and by every message of
    /// `send_burst`.
    async fn send(
        &mut self,
        socket: &str,
        parts: Parts,
        dontwait: bool,
        deadline: Instant,
    ) -> OpResult<Sent>;

    /// `send_part`: one frame, with MORE when `more` (DRV-64).
    async fn send_part(
        &mut self,
        socket: &str,
        part: Vec<u8>,
        more: bool,
        dontwait: bool,
        deadline: Instant,
    ) -> OpResult<Sent> {
        let _ = (socket, part, more, dontwait, deadline);
        Err(Fault::unsupported("send_part is not implemented"))
    }

    /// Checks a `send_burst` before it starts: `frames` frames per message (prefix included).
    fn check_burst(&self, socket: &str, frames: u64) -> OpResult<()> {
        let _ = (socket, frames);
        Ok(())
    }

    /// Runs after a `dontwait` message of a burst was not accepted and the burst goes on: an async
    /// driver yields here so the library's tasks make progress.
    async fn backoff(&mut self) {}

    /// Receives one message before `deadline`: `None` when the deadline passes or a signal comes.
    async fn recv(&mut self, socket: &str, deadline: Instant) -> OpResult<Option<Parts>>;

    /// The socket's monitor events, after a [`Driver::service`] turn; `unsupported` where the
    /// socket has no monitor.
    fn events(&mut self, socket: &str) -> OpResult<&mut EventLog>;

    /// Waits for at most one idle tick, but not past `until`, keeping every socket serviced.
    async fn pause(&mut self, until: Instant);

    /// `close`, after setting LINGER to `linger_ms` if given (DRV-39).
    async fn close(&mut self, socket: &str, linger_ms: Option<i64>) -> OpResult<()>;

    /// `zap`: installs, replaces or removes the ZAP handler (DRV-48).
    async fn zap(&mut self, args: &ZapArgs) -> OpResult<ZapChange> {
        let _ = args;
        Err(Fault::unsupported("zap is not implemented"))
    }

    /// One idle turn's work without waiting: reads monitors, answers ZAP requests, finishes
    /// background work (DRV-21).
    async fn service(&mut self);

    /// Closes every socket (each honouring its LINGER) and terminates the context (DRV-22/23).
    async fn shutdown(&mut self);
}

/// What the request loop does after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next request.
    Continue,
    /// The request was `exit`: shut down.
    Exit,
}

/// Handles one request line: parses it, runs the op on `d`, and returns the reply. `stopped`
/// says whether a signal asked the driver to stop (checked between the messages of `send_burst`
/// and `drain`, and by `events`).
pub async fn dispatch<D: Driver>(
    d: &mut D,
    line: &str,
    stopped: &dyn Fn() -> bool,
) -> (Reply, Flow) {
    let parsed = crate::parse_request(line);
    if let Some(r) = parsed.reject() {
        return (r, Flow::Continue);
    }
    let Parsed::Request { id, request } = parsed else {
        return (
            Fault::driver("unreachable parse state").reply(None),
            Flow::Continue,
        );
    };
    if let Some(why) = d.lacks(request.op()) {
        return (Reply::unsupported(id, why), Flow::Continue);
    }
    if matches!(request, Request::Exit) {
        return (Reply::ok(id), Flow::Exit);
    }
    let reply = match run(d, &request, stopped).await {
        Ok(done) => done.reply(id),
        Err(f) => f.reply(id),
    };
    (reply, Flow::Continue)
}

/// The outcome of an op that did not fail: its reply kind and fields.
struct Done(Reply);

impl Done {
    fn ok() -> Self {
        Self(Reply::ok(None))
    }

    fn of(outcome: Outcome) -> Self {
        Self(Reply::new(None, outcome))
    }

    fn with(self, key: &str, value: impl Into<Value>) -> Self {
        Self(self.0.with(key, value))
    }

    fn reply(mut self, id: Option<u64>) -> Reply {
        self.0.id = id;
        self.0
    }
}

/// The socket a request names, if it names one.
fn socket_of(request: &Request) -> Option<&str> {
    Some(match request {
        Request::Setsockopt(a) => &a.socket,
        Request::Getsockopt(a) => &a.socket,
        Request::Bind(a) | Request::Connect(a) | Request::Disconnect(a) | Request::Unbind(a) => {
            &a.socket
        }
        Request::Send(a) => &a.socket,
        Request::SendPart(a) => &a.socket,
        Request::SendBurst(a) => &a.socket,
        Request::Recv(a) => &a.socket,
        Request::Drain(a) => &a.socket,
        Request::Events(a) => &a.socket,
        Request::Close(a) => &a.socket,
        Request::Echo(a) => &a.socket,
        Request::PingPong(a) => &a.socket,
        Request::Hello | Request::Socket(_) | Request::Exit | Request::Zap(_) => return None,
    })
}

/// Runs one op.
async fn run<D: Driver>(
    d: &mut D,
    request: &Request,
    stopped: &dyn Fn() -> bool,
) -> OpResult<Done> {
    if let Some(s) = socket_of(request).filter(|s| !d.has_socket(s)) {
        return Err(Fault::no_socket(s));
    }
    Ok(match request {
        Request::Hello => Done(Reply::ok(None).with_all(&d.hello())),
        Request::Socket(a) => Done::ok().with("socket", d.socket(&a.socket_type).await?),
        Request::Setsockopt(a) => match d.setsockopt(&a.socket, &a.option, &a.value).await? {
            Applied::Now => Done::ok(),
            Applied::Deferred => Done::ok().with("deferred", true),
        },
        Request::Getsockopt(a) => {
            Done::ok().with("value", d.getsockopt(&a.socket, &a.option).await?)
        }
        Request::Bind(a) => Done::ok().with("endpoint", d.bind(&a.socket, &a.endpoint).await?),
        Request::Connect(a) => match d.connect(&a.socket, &a.endpoint).await? {
            Connected::Started => Done::ok(),
            Connected::Pending => Done::ok().with("pending", true),
        },
        Request::Disconnect(a) => {
            d.disconnect(&a.socket, &a.endpoint).await?;
            Done::ok()
        }
        Request::Unbind(a) => {
            d.unbind(&a.socket, &a.endpoint).await?;
            Done::ok()
        }
        Request::Send(a) => send(d, a).await?,
        Request::SendPart(a) => send_part(d, a).await?,
        Request::SendBurst(a) => send_burst(d, a, stopped).await?,
        Request::Recv(a) => {
            let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
            match d.recv(&a.socket, deadline).await? {
                Some(parts) => Done::ok().with("parts_hex", encode_parts(&parts)),
                None => Done::of(Outcome::Timeout),
            }
        }
        Request::Drain(a) => drain(d, a, stopped).await?,
        Request::Events(a) => events(d, a, stopped).await?,
        Request::Close(a) => {
            let t0 = Instant::now();
            d.close(&a.socket, a.linger_ms).await?;
            Done::ok().with("elapsed_ms", t0.elapsed().as_millis() as u64)
        }
        Request::Zap(a) => {
            let change = d.zap(a).await?;
            Done(
                Reply::ok(None)
                    .with("replaced", change.replaced)
                    .with_all(&change.stats),
            )
        }
        Request::Echo(a) => echo(d, a, stopped).await?,
        Request::PingPong(a) => ping_pong(d, a, stopped).await?,
        Request::Exit => Done::ok(),
    })
}

/// `would_block` with `dontwait`, else `timeout`, for a message the library did not take.
fn not_accepted(dontwait: bool) -> Done {
    Done::of(if dontwait {
        Outcome::WouldBlock
    } else {
        Outcome::Timeout
    })
}

/// `send`: one whole message.
async fn send<D: Driver>(d: &mut D, a: &SendArgs) -> OpResult<Done> {
    let parts = match decode_parts(&a.parts_hex) {
        Ok(p) if !p.is_empty() => p,
        Ok(_) => return Err(Fault::invalid("parts_hex must not be empty")),
        Err(e) => return Err(Fault::invalid(e)),
    };
    let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
    Ok(
        match d.send(&a.socket, parts, a.dontwait, deadline).await? {
            Sent::Accepted | Sent::AcceptedAfterWait => Done::ok(),
            Sent::NotAccepted => not_accepted(a.dontwait),
        },
    )
}

/// `send_part`: one frame.
async fn send_part<D: Driver>(d: &mut D, a: &SendPartArgs) -> OpResult<Done> {
    let part = hex::decode(&a.part_hex).map_err(|e| Fault::invalid(format!("part_hex: {e}")))?;
    let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
    Ok(
        match d
            .send_part(&a.socket, part, a.more, a.dontwait, deadline)
            .await?
        {
            Sent::Accepted | Sent::AcceptedAfterWait => Done::ok(),
            Sent::NotAccepted => not_accepted(a.dontwait),
        },
    )
}

/// `send_burst`: the [`BurstRunner`] over [`Driver::send`] (section 6 of the spec).
async fn send_burst<D: Driver>(
    d: &mut D,
    a: &BurstArgs,
    stopped: &dyn Fn() -> bool,
) -> OpResult<Done> {
    let topic = hex::decode(&a.topic_hex).map_err(|e| Fault::invalid(format!("topic_hex: {e}")))?;
    let prefix = decode_parts(&a.prefix_hex).map_err(Fault::invalid)?;
    check_burst_params(&topic, a.size, a.parts).map_err(|e| Fault::invalid(e.to_string()))?;
    d.check_burst(&a.socket, prefix.len() as u64 + a.parts)?;
    let mut run = BurstRunner::new(a, &topic, Instant::now());
    if D::COUNTS_WAITS {
        run = run.counting_waits();
    }
    while let Some((seq, frames)) = run.next(stopped()) {
        let mut parts = prefix.clone();
        parts.extend(frames);
        let t0 = Instant::now();
        let outcome = match d.send(&a.socket, parts, a.dontwait, run.deadline()).await {
            Ok(Sent::Accepted) => SendOutcome::Accepted,
            Ok(Sent::AcceptedAfterWait) => SendOutcome::AcceptedAfterWait,
            Ok(Sent::NotAccepted) => SendOutcome::NotAccepted,
            Err(f) => SendOutcome::Failed {
                code: f.code().unwrap_or("ENOTSUP").into(),
                message: f.message().into(),
            },
        };
        let would_block = a.dontwait && outcome == SendOutcome::NotAccepted;
        run.record(seq, outcome, t0.elapsed(), stopped());
        if would_block && run.stopped().is_none() {
            d.backoff().await;
        }
    }
    Ok(Done(Reply::ok(None).with_all(&run.finish())))
}

/// `drain`: [`Driver::recv`] under the [`DrainPolicy`] into a [`DrainAccumulator`].
async fn drain<D: Driver>(d: &mut D, a: &DrainArgs, stopped: &dyn Fn() -> bool) -> OpResult<Done> {
    let start = Instant::now();
    let mut policy = DrainPolicy::new(a, start);
    let mut acc = DrainAccumulator::new(a.strip_prefix as usize, a.other_limit as usize);
    let stop = loop {
        let until = match policy.next(acc.messages(), stopped(), Instant::now()) {
            Ok(until) => until,
            Err(stop) => break stop.as_str(),
        };
        if let Some(parts) = d.recv(&a.socket, until).await? {
            acc.push(&parts);
            policy.received(Instant::now());
        }
    };
    let report = acc.finish(stop, start.elapsed().as_micros() as u64);
    let outcome = if report.messages == 0 {
        Outcome::Timeout
    } else {
        Outcome::Ok
    };
    Ok(Done(Reply::new(None, outcome).with_all(&report)))
}

/// Why a round-trip loop stopped without finishing: a signal, or else the deadline.
fn cut_short(stopped: &dyn Fn() -> bool) -> &'static str {
    if stopped() { "interrupted" } else { "timeout" }
}

/// The reply of a round-trip op: `ok` once something was done, `error` when a library error
/// stopped it before that, else `timeout` (DRV-69, DRV-70).
fn round_trip_done<T: serde::Serialize>(
    done: u64,
    first_error: &Option<RoundTripError>,
    report: &T,
) -> Done {
    match (done, first_error) {
        (0, Some(e)) => Done(Reply::error(None, &e.code, e.message.as_str())),
        (0, None) => Done(Reply::new(None, Outcome::Timeout).with_all(report)),
        _ => Done(Reply::ok(None).with_all(report)),
    }
}

/// A fault as the `first_error` of a round-trip op.
fn round_trip_error(f: Fault) -> RoundTripError {
    RoundTripError {
        code: f.code().unwrap_or("ENOTSUP").into(),
        message: f.message().into(),
    }
}

/// `echo`: receives a message and sends it back unchanged, `count` times (DRV-69).
async fn echo<D: Driver>(d: &mut D, a: &EchoArgs, stopped: &dyn Fn() -> bool) -> OpResult<Done> {
    check_echo(a).map_err(Fault::invalid)?;
    let start = Instant::now();
    let deadline = start + Duration::from_millis(a.timeout_ms);
    let mut report = EchoReport::default();
    let stop = loop {
        if report.served == a.count {
            break "complete";
        }
        if stopped() || Instant::now() >= deadline {
            break cut_short(stopped);
        }
        let parts = match d.recv(&a.socket, deadline).await {
            Ok(Some(parts)) => parts,
            Ok(None) => continue,
            Err(f) => {
                report.first_error = Some(round_trip_error(f));
                break "error";
            }
        };
        match d.send(&a.socket, parts, false, deadline).await {
            Ok(Sent::Accepted | Sent::AcceptedAfterWait) => report.served += 1,
            Ok(Sent::NotAccepted) => break cut_short(stopped),
            Err(f) => {
                report.first_error = Some(round_trip_error(f));
                break "error";
            }
        }
    };
    report.stopped = stop.into();
    report.elapsed_us = start.elapsed().as_micros() as u64;
    Ok(round_trip_done(report.served, &report.first_error, &report))
}

/// One timed round trip of `ping_pong`: the reply's frames, or why there is none.
enum Trip {
    Reply(Parts),
    Stopped(&'static str),
}

/// Sends `message` and receives the reply before `deadline`.
async fn trip<D: Driver>(
    d: &mut D,
    socket: &str,
    message: Parts,
    deadline: Instant,
    stopped: &dyn Fn() -> bool,
) -> Result<Trip, Fault> {
    if d.send(socket, message, false, deadline).await? == Sent::NotAccepted {
        return Ok(Trip::Stopped(cut_short(stopped)));
    }
    Ok(match d.recv(socket, deadline).await? {
        Some(parts) => Trip::Reply(parts),
        None => Trip::Stopped(cut_short(stopped)),
    })
}

/// `ping_pong`: `count` round trips, each timed inside the driver (DRV-70).
async fn ping_pong<D: Driver>(
    d: &mut D,
    a: &PingPongArgs,
    stopped: &dyn Fn() -> bool,
) -> OpResult<Done> {
    check_ping_pong(a).map_err(Fault::invalid)?;
    let start = Instant::now();
    let deadline = start + Duration::from_millis(a.timeout_ms);
    let mut report = PingPongReport {
        rtt_ns: Vec::with_capacity(a.count as usize),
        ..PingPongReport::default()
    };
    let mut stop = "complete";
    for i in 0..a.count {
        if stopped() || Instant::now() >= deadline {
            stop = cut_short(stopped);
            break;
        }
        let payload = ping_payload(i, a.size as usize);
        let message = vec![payload.clone()];
        let t0 = Instant::now();
        match trip(d, &a.socket, message, deadline, stopped).await {
            Ok(Trip::Reply(parts)) => {
                report.rtt_ns.push(t0.elapsed().as_nanos() as u64);
                report.round_trips += 1;
                if parts.len() != 1 || parts[0] != payload {
                    report.mismatched += 1;
                }
            }
            Ok(Trip::Stopped(why)) => {
                stop = why;
                break;
            }
            Err(f) => {
                report.first_error = Some(round_trip_error(f));
                stop = "error";
                break;
            }
        }
    }
    report.stopped = stop.into();
    report.elapsed_us = start.elapsed().as_micros() as u64;
    Ok(round_trip_done(
        report.round_trips,
        &report.first_error,
        &report,
    ))
}

/// `events`: waits until the socket has an event, the deadline passes or a signal comes.
async fn events<D: Driver>(
    d: &mut D,
    a: &EventsArgs,
    stopped: &dyn Fn() -> bool,
) -> OpResult<Done> {
    let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
    loop {
        d.service().await;
        let log = d.events(&a.socket)?;
        if !log.is_empty() || Instant::now() >= deadline || stopped() {
            let report = log.take();
            let outcome = if report.events.is_empty() {
                Outcome::Timeout
            } else {
                Outcome::Ok
            };
            return Ok(Done(Reply::new(None, outcome).with_all(&report)));
        }
        d.pause(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, VecDeque};

    use super::*;
    use crate::serve::block_on;

    /// A stand-in library: sockets are queues; a PUSH takes up to `room` messages.
    #[derive(Default)]
    struct Fake {
        sockets: BTreeMap<String, (VecDeque<Parts>, EventLog)>,
        room: usize,
    }

    impl Driver for Fake {
        const NAME: &'static str = "fake driver";

        fn hello(&self) -> HelloInfo {
            HelloInfo {
                implementation: "fake".into(),
                ..HelloInfo::default()
            }
        }

        fn lacks(&self, op: &str) -> Option<&'static str> {
            (op == "zap").then_some("fake has no ZAP")
        }

        fn has_socket(&self, handle: &str) -> bool {
            self.sockets.contains_key(handle)
        }

        async fn socket(&mut self, ty: &str) -> OpResult<String> {
            if ty == "STREAM" {
                return Err(Fault::unsupported("no STREAM"));
            }
            let h = format!("s{}", self.sockets.len() + 1);
            self.sockets.insert(h.clone(), Default::default());
            Ok(h)
        }

        async fn setsockopt(&mut self, _: &str, option: &str, _: &Value) -> OpResult<Applied> {
            match option {
                "subscribe" => Ok(Applied::Deferred),
                "linger" => Ok(Applied::Now),
                _ => Err(Fault::unsupported(format!("no option {option}"))),
            }
        }

        async fn bind(&mut self, _: &str, endpoint: &str) -> OpResult<String> {
            Ok(endpoint.replace(":*", ":5555"))
        }

        async fn connect(&mut self, _: &str, _: &str) -> OpResult<Connected> {
            Ok(Connected::Pending)
        }

        async fn unbind(&mut self, _: &str, _: &str) -> OpResult<()> {
            Err(Fault::error("ENOENT", "not bound"))
        }

        async fn send(&mut self, s: &str, parts: Parts, _: bool, _: Instant) -> OpResult<Sent> {
            let room = self.room;
            let (q, _) = self.sockets.get_mut(s).ok_or_else(|| Fault::no_socket(s))?;
            if q.len() >= room {
                return Ok(Sent::NotAccepted);
            }
            q.push_back(parts);
            Ok(Sent::Accepted)
        }

        async fn recv(&mut self, s: &str, _: Instant) -> OpResult<Option<Parts>> {
            Ok(self.sockets.get_mut(s).and_then(|(q, _)| q.pop_front()))
        }

        fn events(&mut self, s: &str) -> OpResult<&mut EventLog> {
            Ok(&mut self
                .sockets
                .get_mut(s)
                .ok_or_else(|| Fault::no_socket(s))?
                .1)
        }

        async fn pause(&mut self, _: Instant) {}

        async fn close(&mut self, s: &str, _: Option<i64>) -> OpResult<()> {
            self.sockets.remove(s);
            Ok(())
        }

        async fn service(&mut self) {}

        async fn shutdown(&mut self) {}
    }

    /// Sends `line` to `d`; the reply as JSON.
    fn ask(d: &mut Fake, line: &str) -> serde_json::Value {
        let (reply, _) = block_on(dispatch(d, line, &|| false));
        serde_json::from_str(&reply.to_line()).unwrap()
    }

    fn fake(room: usize) -> Fake {
        let mut d = Fake {
            room,
            ..Fake::default()
        };
        assert_eq!(
            ask(&mut d, r#"{"id":1,"op":"socket","type":"PUSH"}"#)["socket"],
            "s1"
        );
        d
    }

    #[test]
    fn faults_become_their_reply_kinds() {
        let mut d = fake(1);
        let r = ask(&mut d, r#"{"id":2,"op":"socket","type":"STREAM"}"#);
        assert_eq!(
            (r["result"].as_str(), r["message"].as_str()),
            (Some("unsupported"), Some("no STREAM"))
        );
        let r = ask(
            &mut d,
            r#"{"id":3,"op":"unbind","socket":"s1","endpoint":"tcp://x:1"}"#,
        );
        assert_eq!(
            (r["result"].as_str(), r["code"].as_str()),
            (Some("error"), Some("ENOENT"))
        );
        assert_eq!(r["id"], 3);
    }

    #[test]
    fn an_unknown_handle_is_enotsock_and_a_lacking_op_unsupported_first() {
        let mut d = fake(1);
        let r = ask(&mut d, r#"{"id":2,"op":"recv","socket":"s9"}"#);
        assert_eq!(
            (r["result"].as_str(), r["code"].as_str()),
            (Some("error"), Some("ENOTSOCK"))
        );
        let r = ask(&mut d, r#"{"id":3,"op":"zap","null":true}"#);
        assert_eq!(
            (r["result"].as_str(), r["message"].as_str()),
            (Some("unsupported"), Some("fake has no ZAP"))
        );
        // An optional op the driver does not override is unsupported too.
        let r = ask(
            &mut d,
            r#"{"id":4,"op":"getsockopt","socket":"s1","option":"linger"}"#,
        );
        assert_eq!(r["result"], "unsupported");
    }

    #[test]
    fn not_accepted_is_would_block_with_dontwait_else_timeout() {
        let mut d = fake(1);
        let ok = ask(
            &mut d,
            r#"{"id":2,"op":"send","socket":"s1","parts_hex":["61"]}"#,
        );
        assert_eq!(ok["result"], "ok");
        let r = ask(
            &mut d,
            r#"{"id":3,"op":"send","socket":"s1","parts_hex":["62"],"dontwait":true}"#,
        );
        assert_eq!(r["result"], "would_block");
        let r = ask(
            &mut d,
            r#"{"id":4,"op":"send","socket":"s1","parts_hex":["63"]}"#,
        );
        assert_eq!(r["result"], "timeout");
        let r = ask(
            &mut d,
            r#"{"id":5,"op":"send","socket":"s1","parts_hex":[]}"#,
        );
        assert_eq!(r["code"], "EINVAL");
    }

    #[test]
    fn recv_and_its_timeout() {
        let mut d = fake(4);
        ask(
            &mut d,
            r#"{"id":2,"op":"send","socket":"s1","parts_hex":["6869","00"]}"#,
        );
        let r = ask(&mut d, r#"{"id":3,"op":"recv","socket":"s1"}"#);
        assert_eq!(r["parts_hex"], serde_json::json!(["6869", "00"]));
        let r = ask(
            &mut d,
            r#"{"id":4,"op":"recv","socket":"s1","timeout_ms":0}"#,
        );
        assert_eq!(r["result"], "timeout");
    }

    #[test]
    fn burst_then_drain() {
        let mut d = fake(5);
        let r = ask(
            &mut d,
            r#"{"id":2,"op":"send_burst","socket":"s1","count":8,"dontwait":true,"stop_on_would_block":false}"#,
        );
        assert_eq!(
            (r["accepted"].as_u64(), r["would_block"].as_u64()),
            (Some(5), Some(3))
        );
        // The fake driver does not count waits (COUNTS_WAITS false): no `waited` (DRV-71).
        assert_eq!(r.get("waited"), None);
        let r = ask(
            &mut d,
            r#"{"id":3,"op":"drain","socket":"s1","max_messages":5}"#,
        );
        assert_eq!(
            (r["result"].as_str(), r["messages"].as_u64()),
            (Some("ok"), Some(5))
        );
        let r = ask(
            &mut d,
            r#"{"id":4,"op":"send_burst","socket":"s1","count":1,"topic_hex":"zz"}"#,
        );
        assert_eq!(r["code"], "EINVAL");
    }

    #[test]
    fn fields_of_connect_setsockopt_events_close_and_exit() {
        let mut d = fake(1);
        let r = ask(
            &mut d,
            r#"{"id":2,"op":"connect","socket":"s1","endpoint":"tcp://127.0.0.1:1"}"#,
        );
        assert_eq!(r["pending"], true);
        let r = ask(
            &mut d,
            r#"{"id":3,"op":"setsockopt","socket":"s1","option":"subscribe","value":""}"#,
        );
        assert_eq!(r["deferred"], true);
        let r = ask(
            &mut d,
            r#"{"id":4,"op":"bind","socket":"s1","endpoint":"tcp://127.0.0.1:*"}"#,
        );
        assert_eq!(r["endpoint"], "tcp://127.0.0.1:5555");
        let started = Instant::now();
        d.events("s1")
            .unwrap()
            .push(started, "accepted", 7, "tcp://x".into());
        let r = ask(&mut d, r#"{"id":5,"op":"events","socket":"s1"}"#);
        assert_eq!(
            (r["result"].as_str(), r["events"][0]["event"].as_str()),
            (Some("ok"), Some("accepted"))
        );
        let r = ask(&mut d, r#"{"id":6,"op":"events","socket":"s1"}"#);
        assert_eq!(r["result"], "timeout");
        let r = ask(&mut d, r#"{"id":7,"op":"close","socket":"s1"}"#);
        assert!(r["elapsed_ms"].is_u64());
        let (reply, flow) = block_on(dispatch(&mut d, r#"{"id":8,"op":"exit"}"#, &|| false));
        assert_eq!((reply.result, flow), (Outcome::Ok, Flow::Exit));
    }

    #[test]
    fn ping_pong_times_each_round_trip_and_echo_stops_on_its_deadline() {
        // The fake's socket is a queue: what a ping sends comes back as its reply.
        let mut d = fake(4);
        let r = ask(
            &mut d,
            r#"{"id":2,"op":"ping_pong","socket":"s1","count":3,"size":2}"#,
        );
        assert_eq!(
            (
                r["result"].as_str(),
                r["round_trips"].as_u64(),
                r["rtt_ns"].as_array().map(Vec::len),
                r["mismatched"].as_u64(),
                r["stopped"].as_str()
            ),
            (Some("ok"), Some(3), Some(3), Some(0), Some("complete"))
        );
        let r = ask(
            &mut d,
            r#"{"id":3,"op":"ping_pong","socket":"s1","count":0}"#,
        );
        assert_eq!(r["code"], "EINVAL");
        let r = ask(
            &mut d,
            r#"{"id":4,"op":"echo","socket":"s1","count":2,"timeout_ms":20}"#,
        );
        assert_eq!(
            (
                r["result"].as_str(),
                r["served"].as_u64(),
                r["stopped"].as_str()
            ),
            (Some("timeout"), Some(0), Some("timeout"))
        );
        let r = ask(&mut d, r#"{"id":5,"op":"echo","socket":"s9","count":1}"#);
        assert_eq!(r["code"], "ENOTSOCK");
    }

    #[test]
    fn the_event_log_is_bounded() {
        let mut log = EventLog::default();
        let t = Instant::now();
        for i in 0..EventLog::MAX + 3 {
            log.push(t, "connected", i as i64, String::new());
        }
        let r = log.take();
        assert_eq!(
            (r.events.len(), r.dropped, r.events[0].value),
            (EventLog::MAX, 3, 3)
        );
        assert!(log.is_empty());
    }
}
