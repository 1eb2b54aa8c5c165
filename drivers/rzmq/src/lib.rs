//! The rzmq driver (`spec/driver-protocol.md`): puts rzmq (pure-Rust ZeroMQ on tokio) under the
//! harness's control over JSON lines on stdin/stdout.
//!
//! One task (the one [`run`] blocks on) owns the context and every socket and reads stdin lines;
//! SIGINT/SIGTERM set a flag; `exit`, EOF or a signal close every socket (honouring LINGER),
//! terminate the context and end the process with status 0.
//!
//! The rzmq-specific facts (socket types, option table, error codes, monitor events) live in
//! [`library`]; this file is the control loop. rzmq's API is libzmq-shaped (asynchronous connect,
//! options at any time, frame-at-a-time send with MORE), so the loop needs no bridging beyond
//! DONTWAIT: rzmq has none per call, and the driver polls the send future once.

mod library;

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use rzmq::socket::MonitorReceiver;
use rzmq::{Context, Msg, MsgFlags, Socket, SocketType, ZmqError};
use tokio::io::AsyncBufReadExt;
use zmtp_driver_protocol::burst::check_burst_params;
use zmtp_driver_protocol::runner::{BurstRunner, DrainPolicy, SendOutcome};
use zmtp_driver_protocol::{
    BurstArgs, CloseArgs, DrainAccumulator, DrainArgs, EndpointArgs, EventRecord, EventsArgs,
    EventsReport, GetsockoptArgs, HelloInfo, Outcome, PROTOCOL_VERSION, Parsed, RecvArgs, Reply,
    Request, SendArgs, SendPartArgs, SetsockoptArgs, decode_parts, encode_parts,
};

use library::{CALL_BOUND, OptionRefusal, RZMQ_VERSION};

/// The idle tick: monitor channels are drained this often.
const TICK: Duration = Duration::from_millis(20);
/// At most this many monitor events are kept per socket.
const MAX_EVENTS: usize = 10_000;

fn err_reply(id: Option<u64>, e: &ZmqError) -> Reply {
    Reply::error(id, library::error_code(e), e.to_string())
}

fn no_socket(id: Option<u64>, handle: &str) -> Reply {
    Reply::error(id, "ENOTSOCK", format!("no socket {handle:?}"))
}

fn with_id(mut r: Reply, id: Option<u64>) -> Reply {
    r.id = id;
    r
}

/// Runs a library call that should return at once, bounded by [`CALL_BOUND`].
async fn bounded<T>(fut: impl Future<Output = Result<T, ZmqError>>) -> Result<T, Reply> {
    match tokio::time::timeout(CALL_BOUND, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(err_reply(None, &e)),
        Err(_) => Err(Reply::error(
            None,
            "EAGAIN",
            format!("rzmq did not answer within {} ms", CALL_BOUND.as_millis()),
        )),
    }
}

/// Resolves once a signal asked the driver to stop.
async fn signalled(mut rx: tokio::sync::watch::Receiver<bool>) {
    // An error means the sender is gone: no signal can come any more.
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One socket the harness created.
struct Slot {
    kind: SocketType,
    sock: Socket,
    monitor: Option<MonitorReceiver>,
    events: VecDeque<EventRecord>,
    dropped: u64,
}

impl Slot {
    fn push_event(&mut self, started: Instant, event: &str, value: i64, endpoint: String) {
        if self.events.len() >= MAX_EVENTS {
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

    /// Moves every event the library has queued into the slot's buffer.
    fn service_monitor(&mut self, started: Instant) {
        let mut got = Vec::new();
        if let Some(m) = &self.monitor {
            while let Ok(ev) = m.try_recv() {
                got.push(ev);
            }
        }
        for ev in got {
            if let Some((name, value, ep)) = library::event(ev) {
                self.push_event(started, name, value, ep);
            }
        }
    }
}

struct Driver {
    ctx: Context,
    slots: BTreeMap<String, Slot>,
    next_handle: u64,
    stop: Arc<AtomicBool>,
    /// Turns true on SIGINT/SIGTERM: a pending send or receive stops waiting (LINGER-07).
    stop_rx: tokio::sync::watch::Receiver<bool>,
    started: Instant,
}

impl Driver {
    fn sock(&self, handle: &str) -> Result<Socket, Reply> {
        self.slots
            .get(handle)
            .map(|s| s.sock.clone())
            .ok_or_else(|| no_socket(None, handle))
    }

    fn hello(&self, id: Option<u64>) -> Reply {
        let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        let info = HelloInfo {
            implementation: "rzmq".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            library: "rzmq".into(),
            library_version: RZMQ_VERSION.into(),
            binding: String::new(),
            binding_version: String::new(),
            protocol_version: PROTOCOL_VERSION,
            socket_types: strs(library::SOCKET_TYPES),
            options: library::option_names(),
            mechanisms: strs(library::MECHANISMS),
            zmtp: strs(library::ZMTP),
            ops: library::ops(),
            notes: strs(library::NOTES),
        };
        Reply::ok(id).with_all(&info)
    }

    async fn socket(&mut self, id: Option<u64>, ty: &str) -> Reply {
        let Some(kind) = library::socket_type(ty) else {
            return Reply::unsupported(id, format!("rzmq has no {ty:?} socket"));
        };
        let sock = match self.ctx.socket(kind) {
            Ok(s) => s,
            Err(e) => return err_reply(id, &e),
        };
        // The monitor must exist before the first connect; it starts with the socket (DRV-45).
        let monitor = match bounded(sock.monitor(MAX_EVENTS)).await {
            Ok(m) => Some(m),
            Err(r) => {
                eprintln!(
                    "rzmq driver: no monitor for a {ty} socket: {}",
                    r.message().unwrap_or_default()
                );
                None
            }
        };
        self.next_handle += 1;
        let handle = format!("s{}", self.next_handle);
        self.slots.insert(
            handle.clone(),
            Slot {
                kind,
                sock,
                monitor,
                events: VecDeque::new(),
                dropped: 0,
            },
        );
        Reply::ok(id).with("socket", handle)
    }

    async fn setsockopt(&mut self, id: Option<u64>, a: &SetsockoptArgs) -> Reply {
        let sock = match self.sock(&a.socket) {
            Ok(s) => s,
            Err(r) => return with_id(r, id),
        };
        let (opt, value) = match library::encode_option(&a.option, &a.value) {
            Ok(v) => v,
            Err(OptionRefusal::Unsupported(m)) => return Reply::unsupported(id, m),
            Err(OptionRefusal::BadValue(m)) => return Reply::error(id, "EINVAL", m),
        };
        match bounded(sock.set_option_raw(opt, &value)).await {
            Ok(()) => Reply::ok(id),
            Err(r) => with_id(r, id),
        }
    }

    async fn getsockopt(&mut self, id: Option<u64>, a: &GetsockoptArgs) -> Reply {
        let sock = match self.sock(&a.socket) {
            Ok(s) => s,
            Err(r) => return with_id(r, id),
        };
        let Some(opt) = library::option_id(&a.option) else {
            return Reply::unsupported(id, format!("rzmq has no option {:?}", a.option));
        };
        match bounded(sock.get_option(opt)).await {
            Ok(raw) => match library::decode_option(&a.option, &raw) {
                Some(v) => Reply::ok(id).with("value", v),
                None => Reply::error(
                    id,
                    "EDRIVER",
                    format!("cannot decode {} octets for {}", raw.len(), a.option),
                ),
            },
            Err(r) => with_id(r, id),
        }
    }

    async fn bind(&mut self, id: Option<u64>, a: &EndpointArgs) -> Reply {
        let sock = match self.sock(&a.socket) {
            Ok(s) => s,
            Err(r) => return with_id(r, id),
        };
        let ep = library::bind_endpoint(&a.endpoint);
        if let Err(r) = bounded(sock.bind(&ep)).await {
            return with_id(r, id);
        }
        match bounded(sock.get_option(rzmq::socket::options::LAST_ENDPOINT)).await {
            Ok(raw) => Reply::ok(id).with("endpoint", String::from_utf8_lossy(&raw).into_owned()),
            Err(r) => with_id(r, id),
        }
    }

    async fn endpoint_op(&mut self, id: Option<u64>, a: &EndpointArgs, op: &str) -> Reply {
        let sock = match self.sock(&a.socket) {
            Ok(s) => s,
            Err(r) => return with_id(r, id),
        };
        let r = match op {
            "connect" => bounded(sock.connect(&a.endpoint)).await,
            "disconnect" => bounded(sock.disconnect(&a.endpoint)).await,
            _ => bounded(sock.unbind(&a.endpoint)).await,
        };
        match r {
            Ok(()) => Reply::ok(id),
            Err(r) => with_id(r, id),
        }
    }

    /// Sends one message: `Ok(true)` accepted, `Ok(false)` would block / timed out / stopped.
    async fn send_parts(
        &mut self,
        handle: &str,
        parts: Vec<Vec<u8>>,
        dontwait: bool,
        deadline: Instant,
    ) -> Result<bool, Reply> {
        let Some(slot) = self.slots.get(handle) else {
            return Err(no_socket(None, handle));
        };
        let sock = slot.sock.clone();
        let n = parts.len();
        if slot.kind == SocketType::Req && n > 1 {
            return Err(Reply::unsupported(None, library::REQ_SINGLE_FRAME));
        }
        let mut msgs: Vec<Msg> = parts.into_iter().map(Msg::from_vec).collect();
        for (i, m) in msgs.iter_mut().enumerate() {
            if i + 1 < n {
                m.set_flags(MsgFlags::MORE);
            }
        }
        let fut = async move {
            if n == 1 {
                sock.send(msgs.pop().unwrap_or_default()).await
            } else {
                sock.send_multipart(msgs).await
            }
        };
        let r = if dontwait {
            fut.now_or_never()
        } else {
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::select! {
                r = tokio::time::timeout(left, fut) => r.ok(),
                _ = signalled(self.stop_rx.clone()) => None,
            }
        };
        match r {
            None | Some(Err(ZmqError::ResourceLimitReached | ZmqError::Timeout)) => Ok(false),
            Some(Ok(())) => Ok(true),
            Some(Err(e)) => Err(err_reply(None, &e)),
        }
    }

    async fn send(&mut self, id: Option<u64>, a: &SendArgs) -> Reply {
        let parts = match decode_parts(&a.parts_hex) {
            Ok(p) if !p.is_empty() => p,
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
            Err(r) => with_id(r, id),
        }
    }

    async fn send_part(&mut self, id: Option<u64>, a: &SendPartArgs) -> Reply {
        let Some(slot) = self.slots.get(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        if a.more && matches!(slot.kind, SocketType::Req | SocketType::Rep) {
            // rzmq's REQ and REP clear MORE and send the frame as a whole message.
            return Reply::unsupported(id, library::REQ_SINGLE_FRAME);
        }
        let sock = slot.sock.clone();
        let part = match hex::decode(&a.part_hex) {
            Ok(p) => p,
            Err(e) => return Reply::error(id, "EINVAL", format!("part_hex: {e}")),
        };
        let mut msg = Msg::from_vec(part);
        if a.more {
            msg.set_flags(MsgFlags::MORE);
        }
        let fut = sock.send(msg);
        let r = if a.dontwait {
            fut.now_or_never()
        } else {
            tokio::select! {
                r = tokio::time::timeout(Duration::from_millis(a.timeout_ms), fut) => r.ok(),
                _ = signalled(self.stop_rx.clone()) => None,
            }
        };
        match r {
            Some(Ok(())) => Reply::ok(id),
            None | Some(Err(ZmqError::ResourceLimitReached | ZmqError::Timeout)) => Reply::new(
                id,
                if a.dontwait {
                    Outcome::WouldBlock
                } else {
                    Outcome::Timeout
                },
            ),
            Some(Err(e)) => err_reply(id, &e),
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
        let prefix = match decode_parts(&a.prefix_hex) {
            Ok(p) => p,
            Err(e) => return Reply::error(id, "EINVAL", e),
        };
        if let Err(e) = check_burst_params(&topic, a.size, a.parts) {
            return Reply::error(id, "EINVAL", e.to_string());
        }
        let is_req = self.slots.get(&a.socket).map(|s| s.kind) == Some(SocketType::Req);
        if is_req && prefix.len() as u64 + a.parts > 1 {
            return Reply::unsupported(id, library::REQ_SINGLE_FRAME);
        }
        let mut run = BurstRunner::new(a, &topic, Instant::now());
        while let Some((seq, frames)) = run.next(self.stop.load(Ordering::SeqCst)) {
            let mut parts = prefix.clone();
            parts.extend(frames);
            let t0 = Instant::now();
            let outcome = match self
                .send_parts(&a.socket, parts, a.dontwait, run.deadline())
                .await
            {
                Ok(true) => SendOutcome::Accepted,
                Ok(false) => SendOutcome::NotAccepted,
                Err(r) => SendOutcome::Failed {
                    code: r.code().unwrap_or("ERZMQ").into(),
                    message: r.message().unwrap_or_default().into(),
                },
            };
            let would_block = a.dontwait && outcome == SendOutcome::NotAccepted;
            run.record(seq, outcome, t0.elapsed(), self.stop.load(Ordering::SeqCst));
            if would_block && run.stopped().is_none() {
                // Let rzmq's actors make progress before the next try.
                tokio::task::yield_now().await;
            }
        }
        Reply::ok(id).with_all(&run.finish())
    }

    /// Receives one message before `deadline`: `Ok(None)` on timeout or signal.
    async fn recv_parts(
        &mut self,
        handle: &str,
        deadline: Instant,
    ) -> Result<Option<Vec<Msg>>, Reply> {
        let sock = self.sock(handle)?;
        let left = deadline.saturating_duration_since(Instant::now());
        let r = tokio::select! {
            r = tokio::time::timeout(left, sock.recv_multipart()) => r,
            _ = signalled(self.stop_rx.clone()) => return Ok(None),
        };
        match r {
            Err(_) | Ok(Err(ZmqError::Timeout)) => Ok(None),
            Ok(Ok(m)) => Ok(Some(m)),
            Ok(Err(e)) => Err(err_reply(None, &e)),
        }
    }

    async fn recv(&mut self, id: Option<u64>, a: &RecvArgs) -> Reply {
        let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
        match self.recv_parts(&a.socket, deadline).await {
            Ok(Some(parts)) => {
                let frames: Vec<&[u8]> = parts.iter().map(|m| m.data().unwrap_or(&[])).collect();
                Reply::ok(id).with("parts_hex", encode_parts(&frames))
            }
            Ok(None) => Reply::new(id, Outcome::Timeout),
            Err(r) => with_id(r, id),
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
                    let frames: Vec<&[u8]> =
                        parts.iter().map(|m| m.data().unwrap_or(&[])).collect();
                    acc.push(&frames);
                    policy.received(Instant::now());
                }
                Ok(None) => {}
                Err(r) => return with_id(r, id),
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
        let started = self.started;
        loop {
            let Some(slot) = self.slots.get_mut(&a.socket) else {
                return no_socket(id, &a.socket);
            };
            if slot.monitor.is_none() {
                return Reply::unsupported(id, "rzmq refused a monitor for this socket");
            }
            slot.service_monitor(started);
            let stop = self.stop.load(Ordering::SeqCst);
            if !slot.events.is_empty() || Instant::now() >= deadline || stop {
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
        let Some(slot) = self.slots.get(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        let sock = slot.sock.clone();
        if let Some(ms) = a.linger_ms {
            let Ok(ms) = i32::try_from(ms) else {
                return Reply::error(id, "EINVAL", format!("linger_ms {ms} does not fit an int"));
            };
            if let Err(r) = bounded(sock.set_option(rzmq::socket::options::LINGER, ms)).await {
                return with_id(r, id);
            }
        }
        self.slots.remove(&a.socket);
        let t0 = Instant::now();
        if let Err(r) = bounded(sock.close()).await {
            eprintln!(
                "rzmq driver: close {}: {}",
                a.socket,
                r.message().unwrap_or_default()
            );
        }
        Reply::ok(id).with("elapsed_ms", t0.elapsed().as_millis() as u64)
    }

    /// Reads every monitor channel.
    fn service(&mut self) {
        let started = self.started;
        for slot in self.slots.values_mut() {
            slot.service_monitor(started);
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
            Request::Socket(a) => self.socket(id, &a.socket_type).await,
            Request::Setsockopt(a) => self.setsockopt(id, a).await,
            Request::Getsockopt(a) => self.getsockopt(id, a).await,
            Request::Bind(a) => self.bind(id, a).await,
            Request::Connect(a) => self.endpoint_op(id, a, "connect").await,
            Request::Disconnect(a) => self.endpoint_op(id, a, "disconnect").await,
            Request::Unbind(a) => self.endpoint_op(id, a, "unbind").await,
            Request::Send(a) => self.send(id, a).await,
            Request::SendPart(a) => self.send_part(id, a).await,
            Request::SendBurst(a) => self.send_burst(id, a).await,
            Request::Recv(a) => self.recv(id, a).await,
            Request::Drain(a) => self.drain(id, a).await,
            Request::Events(a) => self.events(id, a).await,
            Request::Close(a) => self.close(id, a).await,
            Request::Exit => return (Reply::ok(id), true),
            Request::Zap(_) => Reply::unsupported(
                id,
                "rzmq has no ZAP: a PLAIN server checks its own plain_username/plain_password, a CURVE server accepts every client that knows its key",
            ),
        };
        (reply, false)
    }

    /// Closes every socket (each honours its LINGER) and terminates the context.
    async fn shutdown(&mut self) {
        let t0 = Instant::now();
        for (h, slot) in std::mem::take(&mut self.slots) {
            if let Err(r) = bounded(slot.sock.close()).await {
                eprintln!(
                    "rzmq driver: close {h}: {}",
                    r.message().unwrap_or_default()
                );
            }
        }
        if let Err(e) = self.ctx.term().await {
            eprintln!("rzmq driver: context term: {e}");
        }
        eprintln!(
            "rzmq driver: sockets closed and context terminated in {} ms",
            t0.elapsed().as_millis()
        );
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
            Err(e) => eprintln!("rzmq driver: cannot install signal handlers: {e}"),
        }
    }
    let ctx = match Context::new() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rzmq driver: cannot create a context: {e}");
            return ExitCode::from(1);
        }
    };
    let mut d = Driver {
        ctx,
        slots: BTreeMap::new(),
        next_handle: 0,
        stop: Arc::clone(&stop),
        stop_rx,
        started: Instant::now(),
    };
    eprintln!(
        "rzmq driver: rzmq {RZMQ_VERSION}, pid {}",
        std::process::id()
    );
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status = ExitCode::SUCCESS;
    loop {
        if stop.load(Ordering::SeqCst) {
            eprintln!("rzmq driver: signal received, shutting down");
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
                        eprintln!("rzmq driver: stdout failed: {e}");
                        status = ExitCode::from(1);
                        break;
                    }
                    if exit {
                        break;
                    }
                }
                Ok(None) => {
                    eprintln!("rzmq driver: EOF on stdin, shutting down");
                    break;
                }
                Err(e) => {
                    eprintln!("rzmq driver: stdin failed: {e}");
                    status = ExitCode::from(1);
                    break;
                }
            },
            _ = tick.tick() => d.service(),
        }
    }
    d.shutdown().await;
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
            eprintln!("rzmq driver: cannot start tokio: {e}");
            return ExitCode::from(1);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let status = rt.block_on(main_loop(stop));
    // The stdin reader sits in a blocking read; do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(200));
    status
}
