//! The libzmq driver (`spec/driver-protocol.md`): puts libzmq, through the `zmq` crate, under
//! the harness's control over JSON lines on stdin/stdout.
//!
//! Shape, per the ZeroMQ application rules the harness expects of every driver:
//! - one [`zmq::Context`] for the process, every socket owned by the one thread that runs
//!   [`run`];
//! - while idle the thread sits in `zmq::poll` over stdin's fd, every socket (with no events,
//!   which still makes libzmq process the socket's pending commands, e.g. a bound SUB's
//!   subscriptions) and every monitor socket, with a 20 ms timeout: no busy loop;
//! - SIGINT/SIGTERM set a flag (signal-hook) that the loop checks; on the flag, on `exit` and on
//!   EOF of stdin every socket is closed honouring its LINGER, the context is terminated and the
//!   process exits with status 0;
//! - the `zap` op binds a REP socket at `inproc://zeromq.zap.01` in the same context; every poll
//!   (idle, and inside `send`/`recv`/`drain`/`events`) includes it and answers the ZAP requests
//!   libzmq's I/O thread sends while a PLAIN/CURVE handshake waits.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::c_void;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zmtp_driver_protocol::burst::check_burst_params;
use zmtp_driver_protocol::runner::{BurstRunner, DrainPolicy, SendOutcome};
use zmtp_driver_protocol::{
    BurstArgs, CloseArgs, DrainAccumulator, DrainArgs, EndpointArgs, EventRecord, EventsArgs,
    EventsReport, GetsockoptArgs, HelloInfo, OptionKind, OptionValue, PROTOCOL_VERSION, Parsed,
    RecvArgs, Reply, Request, SendArgs, SendPartArgs, SetsockoptArgs, ZAP_ENDPOINT, ZapArgs,
    ZapPolicy, ZapStats, decode_parts, encode_parts, option_kind, parse_option_value,
};

/// The idle poll bound in milliseconds.
const TICK_MS: i64 = 20;
/// At most this many monitor events are kept per socket; older ones are dropped and counted.
const MAX_EVENTS: usize = 10_000;

/// How a libzmq option is passed to `zmq_setsockopt`.
#[derive(Clone, Copy)]
enum Raw {
    I32,
    I64,
    Bytes,
    /// A CURVE key: set as given, read back as 32 octets (a 41-octet buffer would get Z85).
    Key,
}

/// Option name → (libzmq option number, C type).
const LIBZMQ_OPTIONS: &[(&str, u32, Raw)] = &[
    ("sndhwm", zmq_sys::ZMQ_SNDHWM, Raw::I32),
    ("rcvhwm", zmq_sys::ZMQ_RCVHWM, Raw::I32),
    ("linger", zmq_sys::ZMQ_LINGER, Raw::I32),
    ("subscribe", zmq_sys::ZMQ_SUBSCRIBE, Raw::Bytes),
    ("unsubscribe", zmq_sys::ZMQ_UNSUBSCRIBE, Raw::Bytes),
    ("routing_id", zmq_sys::ZMQ_ROUTING_ID, Raw::Bytes),
    ("immediate", zmq_sys::ZMQ_IMMEDIATE, Raw::I32),
    ("reconnect_ivl", zmq_sys::ZMQ_RECONNECT_IVL, Raw::I32),
    (
        "reconnect_ivl_max",
        zmq_sys::ZMQ_RECONNECT_IVL_MAX,
        Raw::I32,
    ),
    ("connect_timeout", zmq_sys::ZMQ_CONNECT_TIMEOUT, Raw::I32),
    ("heartbeat_ivl", zmq_sys::ZMQ_HEARTBEAT_IVL, Raw::I32),
    ("heartbeat_ttl", zmq_sys::ZMQ_HEARTBEAT_TTL, Raw::I32),
    (
        "heartbeat_timeout",
        zmq_sys::ZMQ_HEARTBEAT_TIMEOUT,
        Raw::I32,
    ),
    ("handshake_ivl", zmq_sys::ZMQ_HANDSHAKE_IVL, Raw::I32),
    ("maxmsgsize", zmq_sys::ZMQ_MAXMSGSIZE, Raw::I64),
    ("sndtimeo", zmq_sys::ZMQ_SNDTIMEO, Raw::I32),
    ("rcvtimeo", zmq_sys::ZMQ_RCVTIMEO, Raw::I32),
    ("sndbuf", zmq_sys::ZMQ_SNDBUF, Raw::I32),
    ("rcvbuf", zmq_sys::ZMQ_RCVBUF, Raw::I32),
    ("backlog", zmq_sys::ZMQ_BACKLOG, Raw::I32),
    ("req_relaxed", zmq_sys::ZMQ_REQ_RELAXED, Raw::I32),
    ("req_correlate", zmq_sys::ZMQ_REQ_CORRELATE, Raw::I32),
    ("router_mandatory", zmq_sys::ZMQ_ROUTER_MANDATORY, Raw::I32),
    ("router_handover", zmq_sys::ZMQ_ROUTER_HANDOVER, Raw::I32),
    ("xpub_nodrop", zmq_sys::ZMQ_XPUB_NODROP, Raw::I32),
    ("xpub_verbose", zmq_sys::ZMQ_XPUB_VERBOSE, Raw::I32),
    ("xpub_verboser", zmq_sys::ZMQ_XPUB_VERBOSER, Raw::I32),
    ("xpub_manual", zmq_sys::ZMQ_XPUB_MANUAL, Raw::I32),
    ("invert_matching", zmq_sys::ZMQ_INVERT_MATCHING, Raw::I32),
    ("probe_router", zmq_sys::ZMQ_PROBE_ROUTER, Raw::I32),
    ("conflate", zmq_sys::ZMQ_CONFLATE, Raw::I32),
    ("ipv6", zmq_sys::ZMQ_IPV6, Raw::I32),
    ("tcp_keepalive", zmq_sys::ZMQ_TCP_KEEPALIVE, Raw::I32),
    (
        "tcp_keepalive_idle",
        zmq_sys::ZMQ_TCP_KEEPALIVE_IDLE,
        Raw::I32,
    ),
    (
        "tcp_keepalive_cnt",
        zmq_sys::ZMQ_TCP_KEEPALIVE_CNT,
        Raw::I32,
    ),
    (
        "tcp_keepalive_intvl",
        zmq_sys::ZMQ_TCP_KEEPALIVE_INTVL,
        Raw::I32,
    ),
    ("plain_server", zmq_sys::ZMQ_PLAIN_SERVER, Raw::I32),
    ("plain_username", zmq_sys::ZMQ_PLAIN_USERNAME, Raw::Bytes),
    ("plain_password", zmq_sys::ZMQ_PLAIN_PASSWORD, Raw::Bytes),
    ("zap_domain", zmq_sys::ZMQ_ZAP_DOMAIN, Raw::Bytes),
    ("curve_server", zmq_sys::ZMQ_CURVE_SERVER, Raw::I32),
    ("curve_publickey", zmq_sys::ZMQ_CURVE_PUBLICKEY, Raw::Key),
    ("curve_secretkey", zmq_sys::ZMQ_CURVE_SECRETKEY, Raw::Key),
    ("curve_serverkey", zmq_sys::ZMQ_CURVE_SERVERKEY, Raw::Key),
];

/// Whether this libzmq has CURVE (the `zmq` crate's bundled build has no libsodium).
fn has_curve() -> bool {
    zmq::has("curve").unwrap_or(false)
}

/// The option's libzmq number and C type, if this build supports it (the `curve_*` options
/// only where libzmq was built with CURVE).
fn libzmq_option(name: &str) -> Option<(u32, Raw)> {
    LIBZMQ_OPTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .filter(|(n, _, _)| !n.starts_with("curve_") || has_curve())
        .map(|(_, num, raw)| (*num, *raw))
}

const SOCKET_TYPES: &[(&str, zmq::SocketType)] = &[
    ("PAIR", zmq::PAIR),
    ("PUB", zmq::PUB),
    ("SUB", zmq::SUB),
    ("REQ", zmq::REQ),
    ("REP", zmq::REP),
    ("DEALER", zmq::DEALER),
    ("ROUTER", zmq::ROUTER),
    ("PULL", zmq::PULL),
    ("PUSH", zmq::PUSH),
    ("XPUB", zmq::XPUB),
    ("XSUB", zmq::XSUB),
    ("STREAM", zmq::STREAM),
];

const EVENT_NAMES: &[(u16, &str)] = &[
    (zmq_sys::ZMQ_EVENT_CONNECTED as u16, "connected"),
    (zmq_sys::ZMQ_EVENT_CONNECT_DELAYED as u16, "connect_delayed"),
    (zmq_sys::ZMQ_EVENT_CONNECT_RETRIED as u16, "connect_retried"),
    (zmq_sys::ZMQ_EVENT_LISTENING as u16, "listening"),
    (zmq_sys::ZMQ_EVENT_BIND_FAILED as u16, "bind_failed"),
    (zmq_sys::ZMQ_EVENT_ACCEPTED as u16, "accepted"),
    (zmq_sys::ZMQ_EVENT_ACCEPT_FAILED as u16, "accept_failed"),
    (zmq_sys::ZMQ_EVENT_CLOSED as u16, "closed"),
    (zmq_sys::ZMQ_EVENT_CLOSE_FAILED as u16, "close_failed"),
    (zmq_sys::ZMQ_EVENT_DISCONNECTED as u16, "disconnected"),
    (zmq_sys::ZMQ_EVENT_MONITOR_STOPPED as u16, "monitor_stopped"),
    (
        zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL as u16,
        "handshake_failed_no_detail",
    ),
    (
        zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED as u16,
        "handshake_succeeded",
    ),
    (
        zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL as u16,
        "handshake_failed_protocol",
    ),
    (
        zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH as u16,
        "handshake_failed_auth",
    ),
];

/// The errno-style name of a `zmq::Error` (its `Debug` form is the message, not the name).
fn error_name(e: zmq::Error) -> &'static str {
    use zmq::Error::*;
    match e {
        EACCES => "EACCES",
        EADDRINUSE => "EADDRINUSE",
        EAGAIN => "EAGAIN",
        EBUSY => "EBUSY",
        ECONNREFUSED => "ECONNREFUSED",
        EFAULT => "EFAULT",
        EINTR => "EINTR",
        EHOSTUNREACH => "EHOSTUNREACH",
        EINPROGRESS => "EINPROGRESS",
        EINVAL => "EINVAL",
        EMFILE => "EMFILE",
        EMSGSIZE => "EMSGSIZE",
        ENAMETOOLONG => "ENAMETOOLONG",
        ENODEV => "ENODEV",
        ENOENT => "ENOENT",
        ENOMEM => "ENOMEM",
        ENOTCONN => "ENOTCONN",
        ENOTSOCK => "ENOTSOCK",
        EPROTO => "EPROTO",
        EPROTONOSUPPORT => "EPROTONOSUPPORT",
        ENOTSUP => "ENOTSUP",
        ENOBUFS => "ENOBUFS",
        ENETDOWN => "ENETDOWN",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        EFSM => "EFSM",
        ENOCOMPATPROTO => "ENOCOMPATPROTO",
        ETERM => "ETERM",
        EMTHREAD => "EMTHREAD",
    }
}

/// The errno-style name of a raw error number from `zmq_errno()`.
fn errno_name(raw: i32) -> String {
    use zmq::Error::*;
    const KNOWN: &[zmq::Error] = &[
        EACCES,
        EADDRINUSE,
        EAGAIN,
        EBUSY,
        ECONNREFUSED,
        EFAULT,
        EINTR,
        EHOSTUNREACH,
        EINPROGRESS,
        EINVAL,
        EMFILE,
        EMSGSIZE,
        ENAMETOOLONG,
        ENODEV,
        ENOENT,
        ENOMEM,
        ENOTCONN,
        ENOTSOCK,
        EPROTO,
        EPROTONOSUPPORT,
        ENOTSUP,
        ENOBUFS,
        ENETDOWN,
        EADDRNOTAVAIL,
        EFSM,
        ENOCOMPATPROTO,
        ETERM,
        EMTHREAD,
    ];
    KNOWN
        .iter()
        .find(|e| e.to_raw() == raw)
        .map(|e| error_name(*e).to_string())
        .unwrap_or_else(|| format!("E{raw}"))
}

fn err_reply(id: Option<u64>, e: zmq::Error) -> Reply {
    Reply::error(id, error_name(e), e.message())
}

/// `zmq_setsockopt` with a raw option number.
fn raw_setsockopt(sock: &mut zmq::Socket, opt: u32, value: &[u8]) -> Result<(), (String, String)> {
    // SAFETY: `sock.as_mut_ptr()` is a live libzmq socket owned by this thread, and
    // `value` is valid for `value.len()` octets for the duration of the call.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            sock.as_mut_ptr(),
            opt as i32,
            value.as_ptr().cast::<c_void>(),
            value.len(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        // SAFETY: plain FFI call without arguments.
        let raw = unsafe { zmq_sys::zmq_errno() };
        Err((
            errno_name(raw),
            format!("zmq_setsockopt failed (errno {raw})"),
        ))
    }
}

/// `zmq_getsockopt` with a raw option number into a buffer of `cap` octets (libzmq wants
/// exactly the size of an int option, and room for up to 255 octets for a binary one).
fn raw_getsockopt(
    sock: &mut zmq::Socket,
    opt: u32,
    cap: usize,
) -> Result<Vec<u8>, (String, String)> {
    let mut buf = vec![0u8; cap];
    let mut len = buf.len();
    // SAFETY: `buf` is valid for `len` writable octets and `len` is a valid pointer.
    let rc = unsafe {
        zmq_sys::zmq_getsockopt(
            sock.as_mut_ptr(),
            opt as i32,
            buf.as_mut_ptr().cast::<c_void>(),
            &mut len,
        )
    };
    if rc == 0 {
        buf.truncate(len);
        Ok(buf)
    } else {
        // SAFETY: plain FFI call without arguments.
        let raw = unsafe { zmq_sys::zmq_errno() };
        Err((
            errno_name(raw),
            format!("zmq_getsockopt failed (errno {raw})"),
        ))
    }
}

struct Sock {
    sock: zmq::Socket,
    monitor: Option<zmq::Socket>,
    events: VecDeque<EventRecord>,
    dropped: u64,
}

impl Sock {
    /// Closes the socket. The monitor is stopped first: libzmq sends monitor events with a
    /// blocking send, so a monitor whose reading end is gone would wedge libzmq's threads.
    fn close(mut self) {
        if self.monitor.is_some() {
            // SAFETY: a live socket; a null endpoint with no events stops its monitor.
            unsafe {
                zmq_sys::zmq_socket_monitor(self.sock.as_mut_ptr(), std::ptr::null(), 0);
            }
        }
        drop(self.sock);
        drop(self.monitor);
    }
}

/// The ZAP handler installed by the `zap` op: a REP socket at [`ZAP_ENDPOINT`].
struct Zap {
    sock: zmq::Socket,
    policy: ZapPolicy,
    stats: ZapStats,
}

impl Zap {
    /// Answers every ZAP request already queued (libzmq's handshake waits for the reply).
    fn service(&mut self) {
        while let Ok(req) = self.sock.recv_multipart(zmq::DONTWAIT) {
            let (reply, log) = self.policy.answer(&req, &mut self.stats);
            eprintln!("libzmq driver: {log}");
            if let Err(e) = self.sock.send_multipart(reply, zmq::DONTWAIT) {
                eprintln!("libzmq driver: ZAP reply not sent: {e}");
            }
        }
    }
}

struct Driver {
    ctx: zmq::Context,
    sockets: BTreeMap<String, Sock>,
    zap: Option<Zap>,
    next_handle: u64,
    stop: Arc<AtomicBool>,
    started: Instant,
}

/// What the main loop does after a request.
enum Flow {
    Continue,
    Exit,
}

impl Driver {
    fn hello(&self, id: Option<u64>) -> Reply {
        let (a, b, c) = zmq::version();
        let info = HelloInfo {
            implementation: "libzmq".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            library: "libzmq".into(),
            library_version: format!("{a}.{b}.{c}"),
            binding: "rust zmq crate".into(),
            binding_version: "0.10".into(),
            protocol_version: PROTOCOL_VERSION,
            socket_types: SOCKET_TYPES.iter().map(|(n, _)| n.to_string()).collect(),
            options: LIBZMQ_OPTIONS
                .iter()
                .filter(|(n, _, _)| libzmq_option(n).is_some())
                .map(|(n, _, _)| n.to_string())
                .collect(),
            mechanisms: ["NULL", "PLAIN"]
                .into_iter()
                .chain(has_curve().then_some("CURVE"))
                .map(String::from)
                .collect(),
            zmtp: vec!["3.0".into(), "3.1".into()],
            ops: zmtp_driver_protocol::OPS.iter().map(|s| s.to_string()).collect(),
            notes: vec![
                "options are passed to zmq_setsockopt unchanged; the driver changes no library default"
                    .into(),
                "sndtimeo/rcvtimeo are set on the socket, but the driver's send/recv use the request's timeout_ms"
                    .into(),
                "security options apply in the order set: plain_username/plain_password make a socket a PLAIN client even after plain_server, curve_serverkey a CURVE client even after curve_server"
                    .into(),
                "a PLAIN server authenticates only through ZAP: without a zap handler (op zap) it refuses every client; a CURVE server without one accepts every client key"
                    .into(),
            ]
            .into_iter()
            .chain((!has_curve()).then(|| {
                "no CURVE: this libzmq was built without libsodium; curve_* options are unsupported"
                    .into()
            }))
            .collect(),
        };
        Reply::ok(id).with_all(&info)
    }

    fn socket(&mut self, id: Option<u64>, ty: &str) -> Reply {
        let Some((_, kind)) = SOCKET_TYPES.iter().find(|(n, _)| *n == ty) else {
            return Reply::unsupported(id, format!("socket type {ty:?} is not supported"));
        };
        let sock = match self.ctx.socket(*kind) {
            Ok(s) => s,
            Err(e) => return err_reply(id, e),
        };
        self.next_handle += 1;
        let handle = format!("s{}", self.next_handle);
        // One monitor per socket, started now so no event is missed; drained every loop turn.
        let mon_ep = format!("inproc://zmtp-driver-monitor-{handle}");
        let monitor = match sock.monitor(&mon_ep, zmq_sys::ZMQ_EVENT_ALL as i32) {
            Ok(()) => self.ctx.socket(zmq::PAIR).ok().and_then(|m| {
                let _ = m.set_linger(0);
                m.connect(&mon_ep).ok().map(|()| m)
            }),
            Err(e) => {
                eprintln!("libzmq driver: monitor for {handle} failed: {e}");
                None
            }
        };
        self.sockets.insert(
            handle.clone(),
            Sock {
                sock,
                monitor,
                events: VecDeque::new(),
                dropped: 0,
            },
        );
        Reply::ok(id).with("socket", handle)
    }

    fn setsockopt(&mut self, id: Option<u64>, a: &SetsockoptArgs) -> Reply {
        let Some(s) = self.sockets.get_mut(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        let (Some(kind), Some((num, raw))) = (option_kind(&a.option), libzmq_option(&a.option))
        else {
            return Reply::unsupported(id, format!("option {:?} is not supported", a.option));
        };
        let value = match parse_option_value(kind, &a.value) {
            Ok(v) => v,
            Err(e) => return Reply::error(id, "EINVAL", format!("{}: {e}", a.option)),
        };
        let bytes = match (raw, &value) {
            (Raw::I32, OptionValue::Int(i)) => match i32::try_from(*i) {
                Ok(i) => i.to_ne_bytes().to_vec(),
                Err(_) => return Reply::error(id, "EINVAL", format!("{i} does not fit an int")),
            },
            (Raw::I32, OptionValue::Bool(b)) => i32::from(*b).to_ne_bytes().to_vec(),
            (Raw::I64, OptionValue::Int(i)) => i.to_ne_bytes().to_vec(),
            (Raw::Bytes | Raw::Key, OptionValue::Bytes(b)) => b.clone(),
            _ => return Reply::error(id, "EINVAL", "value kind does not fit the option"),
        };
        match raw_setsockopt(&mut s.sock, num, &bytes) {
            Ok(()) => Reply::ok(id),
            Err((code, msg)) => Reply::error(id, &code, msg),
        }
    }

    fn getsockopt(&mut self, id: Option<u64>, a: &GetsockoptArgs) -> Reply {
        let Some(s) = self.sockets.get_mut(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        let (Some(kind), Some((num, raw))) = (option_kind(&a.option), libzmq_option(&a.option))
        else {
            return Reply::unsupported(id, format!("option {:?} is not supported", a.option));
        };
        let cap = match raw {
            Raw::I32 => 4,
            Raw::I64 => 8,
            Raw::Bytes => 256,
            Raw::Key => 32,
        };
        let bytes = match raw_getsockopt(&mut s.sock, num, cap) {
            Ok(b) => b,
            Err((code, msg)) => return Reply::error(id, &code, msg),
        };
        let v = match (raw, kind) {
            (Raw::Bytes | Raw::Key, _) => OptionValue::Bytes(bytes),
            (Raw::I64, _) if bytes.len() == 8 => {
                let mut a8 = [0u8; 8];
                a8.copy_from_slice(&bytes);
                OptionValue::Int(i64::from_ne_bytes(a8))
            }
            (Raw::I32, k) if bytes.len() == 4 => {
                let i = i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                if k == OptionKind::Bool {
                    OptionValue::Bool(i != 0)
                } else {
                    OptionValue::Int(i.into())
                }
            }
            _ => return Reply::error(id, "EINVAL", "unexpected option length"),
        };
        Reply::ok(id).with("value", v.to_json())
    }

    fn endpoint_op(&mut self, id: Option<u64>, op: &str, a: &EndpointArgs) -> Reply {
        let Some(s) = self.sockets.get(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        let r = match op {
            "bind" => s.sock.bind(&a.endpoint),
            "connect" => s.sock.connect(&a.endpoint),
            "disconnect" => s.sock.disconnect(&a.endpoint),
            _ => s.sock.unbind(&a.endpoint),
        };
        match r {
            Err(e) => err_reply(id, e),
            Ok(()) if op == "bind" => match s.sock.get_last_endpoint() {
                Ok(Ok(ep)) => Reply::ok(id).with("endpoint", ep),
                _ => Reply::ok(id).with("endpoint", a.endpoint.clone()),
            },
            Ok(()) => Reply::ok(id),
        }
    }

    /// Polls stdin is not included here: waits up to `ms` for `events` on socket `handle` while
    /// every other socket is still serviced. Returns false if the stop flag is set.
    fn wait_on(&mut self, handle: &str, events: zmq::PollEvents, ms: i64) -> bool {
        self.service_monitors();
        let mut items: Vec<zmq::PollItem> = self
            .sockets
            .iter()
            .map(|(h, s)| {
                s.sock.as_poll_item(if h == handle {
                    events
                } else {
                    zmq::PollEvents::empty()
                })
            })
            .chain(self.zap.as_ref().map(|z| z.sock.as_poll_item(zmq::POLLIN)))
            .collect();
        let _ = zmq::poll(&mut items, ms.clamp(0, TICK_MS));
        drop(items);
        self.service_zap();
        !self.stop.load(Ordering::SeqCst)
    }

    /// Answers pending ZAP requests, if a handler is installed.
    fn service_zap(&mut self) {
        if let Some(z) = &mut self.zap {
            z.service();
        }
    }

    /// `zap`: installs, replaces or removes the ZAP handler (DRV-48). The reply counts what the
    /// handler it replaces or removes answered.
    fn zap(&mut self, id: Option<u64>, a: &ZapArgs) -> Reply {
        self.service_zap();
        if a.remove {
            let old = self.zap.take();
            let stats = old.as_ref().map(|z| z.stats).unwrap_or_default();
            return Reply::ok(id)
                .with("replaced", old.is_some())
                .with_all(&stats);
        }
        let policy = match a.policy() {
            Ok(p) => p,
            Err(e) => return Reply::error(id, "EINVAL", e),
        };
        if let Some(z) = &mut self.zap {
            let stats = std::mem::take(&mut z.stats);
            z.policy = policy;
            return Reply::ok(id).with("replaced", true).with_all(&stats);
        }
        let sock = match self.ctx.socket(zmq::REP) {
            Ok(s) => s,
            Err(e) => return err_reply(id, e),
        };
        // A driver-internal helper: it must not hold up the context's termination.
        let _ = sock.set_linger(0);
        if let Err(e) = sock.bind(ZAP_ENDPOINT) {
            return err_reply(id, e);
        }
        self.zap = Some(Zap {
            sock,
            policy,
            stats: ZapStats::default(),
        });
        Reply::ok(id)
            .with("replaced", false)
            .with_all(&ZapStats::default())
    }

    /// Sends one message; `Ok(true)` accepted, `Ok(false)` would block / timed out.
    fn send_parts(
        &mut self,
        handle: &str,
        parts: &[Vec<u8>],
        dontwait: bool,
        deadline: Instant,
    ) -> Result<bool, zmq::Error> {
        loop {
            let Some(s) = self.sockets.get(handle) else {
                return Err(zmq::Error::ENOTSOCK);
            };
            match s.sock.send_multipart(parts.iter(), zmq::DONTWAIT) {
                Ok(()) => return Ok(true),
                Err(zmq::Error::EAGAIN) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if dontwait || left.is_zero() {
                        return Ok(false);
                    }
                    if !self.wait_on(handle, zmq::POLLOUT, left.as_millis() as i64 + 1) {
                        return Ok(false);
                    }
                }
                Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn send(&mut self, id: Option<u64>, a: &SendArgs) -> Reply {
        if !self.sockets.contains_key(&a.socket) {
            return no_socket(id, &a.socket);
        }
        let parts = match decode_parts(&a.parts_hex) {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => return Reply::error(id, "EINVAL", "parts_hex must not be empty"),
            Err(e) => return Reply::error(id, "EINVAL", e),
        };
        let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
        match self.send_parts(&a.socket, &parts, a.dontwait, deadline) {
            Ok(true) => Reply::ok(id),
            Ok(false) if a.dontwait => Reply::new(id, zmtp_driver_protocol::Outcome::WouldBlock),
            Ok(false) => Reply::new(id, zmtp_driver_protocol::Outcome::Timeout),
            Err(e) => err_reply(id, e),
        }
    }

    /// One frame through `zmq_send`, with SNDMORE when more frames follow (DRV-64).
    fn send_part(&mut self, id: Option<u64>, a: &SendPartArgs) -> Reply {
        let part = match hex::decode(&a.part_hex) {
            Ok(p) => p,
            Err(e) => return Reply::error(id, "EINVAL", format!("part_hex: {e}")),
        };
        let flags = zmq::DONTWAIT | if a.more { zmq::SNDMORE } else { 0 };
        let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
        loop {
            let Some(s) = self.sockets.get(&a.socket) else {
                return no_socket(id, &a.socket);
            };
            match s.sock.send(&part[..], flags) {
                Ok(()) => return Reply::ok(id),
                Err(zmq::Error::EAGAIN) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if a.dontwait {
                        return Reply::new(id, zmtp_driver_protocol::Outcome::WouldBlock);
                    }
                    if left.is_zero()
                        || !self.wait_on(&a.socket, zmq::POLLOUT, left.as_millis() as i64 + 1)
                    {
                        return Reply::new(id, zmtp_driver_protocol::Outcome::Timeout);
                    }
                }
                Err(zmq::Error::EINTR) => {}
                Err(e) => return err_reply(id, e),
            }
        }
    }

    fn send_burst(&mut self, id: Option<u64>, a: &BurstArgs) -> Reply {
        if !self.sockets.contains_key(&a.socket) {
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
        let mut run = BurstRunner::new(a, &topic, Instant::now());
        while let Some((seq, frames)) = run.next(self.stop.load(Ordering::SeqCst)) {
            let mut parts = prefix.clone();
            parts.extend(frames);
            let t0 = Instant::now();
            let outcome = match self.send_parts(&a.socket, &parts, a.dontwait, run.deadline()) {
                Ok(true) => SendOutcome::Accepted,
                Ok(false) => SendOutcome::NotAccepted,
                Err(e) => SendOutcome::Failed {
                    code: error_name(e).into(),
                    message: e.message().into(),
                },
            };
            run.record(seq, outcome, t0.elapsed(), self.stop.load(Ordering::SeqCst));
        }
        Reply::ok(id).with_all(&run.finish())
    }

    /// Receives one message, waiting until `deadline`. `Ok(None)` on timeout.
    fn recv_parts(
        &mut self,
        handle: &str,
        deadline: Instant,
    ) -> Result<Option<Vec<Vec<u8>>>, zmq::Error> {
        loop {
            let Some(s) = self.sockets.get(handle) else {
                return Err(zmq::Error::ENOTSOCK);
            };
            match s.sock.recv_multipart(zmq::DONTWAIT) {
                Ok(parts) => return Ok(Some(parts)),
                Err(zmq::Error::EAGAIN) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    if !self.wait_on(handle, zmq::POLLIN, left.as_millis() as i64 + 1) {
                        return Ok(None);
                    }
                }
                Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn recv(&mut self, id: Option<u64>, a: &RecvArgs) -> Reply {
        if !self.sockets.contains_key(&a.socket) {
            return no_socket(id, &a.socket);
        }
        let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
        match self.recv_parts(&a.socket, deadline) {
            Ok(Some(parts)) => Reply::ok(id).with("parts_hex", encode_parts(&parts)),
            Ok(None) => Reply::new(id, zmtp_driver_protocol::Outcome::Timeout),
            Err(e) => err_reply(id, e),
        }
    }

    fn drain(&mut self, id: Option<u64>, a: &DrainArgs) -> Reply {
        if !self.sockets.contains_key(&a.socket) {
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
            match self.recv_parts(&a.socket, until) {
                Ok(Some(parts)) => {
                    acc.push(&parts);
                    policy.received(Instant::now());
                }
                Ok(None) => {}
                Err(e) => return err_reply(id, e),
            }
        };
        let report = acc.finish(stopped, start.elapsed().as_micros() as u64);
        let outcome = if report.messages == 0 {
            zmtp_driver_protocol::Outcome::Timeout
        } else {
            zmtp_driver_protocol::Outcome::Ok
        };
        Reply::new(id, outcome).with_all(&report)
    }

    /// Moves every pending monitor event into its socket's buffer.
    fn service_monitors(&mut self) {
        let started = self.started;
        for s in self.sockets.values_mut() {
            let Some(m) = &s.monitor else { continue };
            while let Ok(parts) = m.recv_multipart(zmq::DONTWAIT) {
                let Some(head) = parts.first().filter(|h| h.len() >= 6) else {
                    continue;
                };
                let ev = u16::from_ne_bytes([head[0], head[1]]);
                let value = i32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
                let name = EVENT_NAMES
                    .iter()
                    .find(|(n, _)| *n == ev)
                    .map(|(_, s)| s.to_string())
                    .unwrap_or_else(|| format!("event_{ev}"));
                let endpoint = parts
                    .get(1)
                    .map(|e| String::from_utf8_lossy(e).into_owned())
                    .unwrap_or_default();
                if s.events.len() >= MAX_EVENTS {
                    s.events.pop_front();
                    s.dropped += 1;
                }
                s.events.push_back(EventRecord {
                    event: name,
                    value: value.into(),
                    endpoint,
                    at_us: started.elapsed().as_micros() as u64,
                });
            }
        }
    }

    fn events(&mut self, id: Option<u64>, a: &EventsArgs) -> Reply {
        let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
        loop {
            self.service_monitors();
            let Some(s) = self.sockets.get_mut(&a.socket) else {
                return no_socket(id, &a.socket);
            };
            if s.monitor.is_none() {
                return Reply::unsupported(id, "the monitor could not be started for this socket");
            }
            if !s.events.is_empty() || Instant::now() >= deadline {
                let report = EventsReport {
                    events: s.events.drain(..).collect(),
                    dropped: std::mem::take(&mut s.dropped),
                };
                let outcome = if report.events.is_empty() {
                    zmtp_driver_protocol::Outcome::Timeout
                } else {
                    zmtp_driver_protocol::Outcome::Ok
                };
                return Reply::new(id, outcome).with_all(&report);
            }
            let mut items: Vec<zmq::PollItem> = self
                .sockets
                .values()
                .map(|s| s.sock.as_poll_item(zmq::PollEvents::empty()))
                .chain(
                    self.sockets
                        .values()
                        .filter_map(|s| s.monitor.as_ref())
                        .map(|m| m.as_poll_item(zmq::POLLIN)),
                )
                .chain(self.zap.as_ref().map(|z| z.sock.as_poll_item(zmq::POLLIN)))
                .collect();
            let _ = zmq::poll(&mut items, TICK_MS);
            drop(items);
            self.service_zap();
            if self.stop.load(Ordering::SeqCst) {
                return Reply::new(id, zmtp_driver_protocol::Outcome::Timeout);
            }
        }
    }

    fn close(&mut self, id: Option<u64>, a: &CloseArgs) -> Reply {
        let Some(s) = self.sockets.get(&a.socket) else {
            return no_socket(id, &a.socket);
        };
        if let Some(l) = a.linger_ms {
            let Ok(l) = i32::try_from(l) else {
                return Reply::error(id, "EINVAL", "linger_ms does not fit an int");
            };
            if let Err(e) = s.sock.set_linger(l) {
                return err_reply(id, e);
            }
        }
        let t0 = Instant::now();
        if let Some(s) = self.sockets.remove(&a.socket) {
            s.close();
        }
        Reply::ok(id).with("elapsed_ms", t0.elapsed().as_millis() as u64)
    }

    fn handle(&mut self, line: &str) -> (Reply, Flow) {
        let parsed = zmtp_driver_protocol::parse_request(line);
        if let Some(r) = parsed.reject() {
            return (r, Flow::Continue);
        }
        let Parsed::Request { id, request } = parsed else {
            return (
                Reply::error(None, "EDRIVER", "unreachable parse state"),
                Flow::Continue,
            );
        };
        let reply = match &request {
            Request::Hello => self.hello(id),
            Request::Socket(a) => self.socket(id, &a.socket_type),
            Request::Setsockopt(a) => self.setsockopt(id, a),
            Request::Getsockopt(a) => self.getsockopt(id, a),
            Request::Bind(a) => self.endpoint_op(id, "bind", a),
            Request::Connect(a) => self.endpoint_op(id, "connect", a),
            Request::Disconnect(a) => self.endpoint_op(id, "disconnect", a),
            Request::Unbind(a) => self.endpoint_op(id, "unbind", a),
            Request::Send(a) => self.send(id, a),
            Request::SendPart(a) => self.send_part(id, a),
            Request::SendBurst(a) => self.send_burst(id, a),
            Request::Recv(a) => self.recv(id, a),
            Request::Drain(a) => self.drain(id, a),
            Request::Events(a) => self.events(id, a),
            Request::Close(a) => self.close(id, a),
            Request::Exit => return (Reply::ok(id), Flow::Exit),
            Request::Zap(a) => self.zap(id, a),
        };
        (reply, Flow::Continue)
    }
}

fn no_socket(id: Option<u64>, handle: &str) -> Reply {
    Reply::error(id, "ENOTSOCK", format!("no socket {handle:?}"))
}

fn write_reply(out: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    let mut line = reply.to_line();
    line.push('\n');
    out.write_all(line.as_bytes())?;
    out.flush()
}

/// Runs the driver on this process's stdin/stdout until `exit`, EOF or SIGINT/SIGTERM.
/// Returns exit status 0 after an orderly shutdown, 1 if stdout or stdin failed.
pub fn run() -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            eprintln!("libzmq driver: cannot register signal {sig}: {e}");
        }
    }
    let mut d = Driver {
        ctx: zmq::Context::new(),
        sockets: BTreeMap::new(),
        zap: None,
        next_handle: 0,
        stop: Arc::clone(&stop),
        started: Instant::now(),
    };
    let (a, b, c) = zmq::version();
    eprintln!(
        "libzmq driver: libzmq {a}.{b}.{c}, pid {}",
        std::process::id()
    );
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    let mut inbuf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut status = ExitCode::SUCCESS;
    'outer: loop {
        // Handle every complete line already buffered.
        while let Some(nl) = inbuf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = inbuf.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let (reply, flow) = d.handle(text);
            if let Err(e) = write_reply(&mut stdout, &reply) {
                eprintln!("libzmq driver: stdout failed: {e}");
                status = ExitCode::from(1);
                break 'outer;
            }
            if matches!(flow, Flow::Exit) {
                break 'outer;
            }
        }
        if stop.load(Ordering::SeqCst) {
            eprintln!("libzmq driver: signal received, shutting down");
            break;
        }
        d.service_monitors();
        d.service_zap();
        let readable = {
            let mut items: Vec<zmq::PollItem> = vec![zmq::PollItem::from_fd(0, zmq::POLLIN)];
            items.extend(
                d.sockets
                    .values()
                    .map(|s| s.sock.as_poll_item(zmq::PollEvents::empty())),
            );
            items.extend(
                d.sockets
                    .values()
                    .filter_map(|s| s.monitor.as_ref())
                    .map(|m| m.as_poll_item(zmq::POLLIN)),
            );
            items.extend(d.zap.as_ref().map(|z| z.sock.as_poll_item(zmq::POLLIN)));
            match zmq::poll(&mut items, TICK_MS) {
                Ok(_) => items[0]
                    .get_revents()
                    .intersects(zmq::POLLIN | zmq::POLLERR),
                Err(_) => false,
            }
        };
        if readable {
            // `chunk` is larger than stdin's internal buffer, so this is one read(2) on fd 0.
            match stdin.lock().read(&mut chunk) {
                Ok(0) => {
                    eprintln!("libzmq driver: EOF on stdin, shutting down");
                    break;
                }
                Ok(n) => inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    eprintln!("libzmq driver: stdin failed: {e}");
                    status = ExitCode::from(1);
                    break;
                }
            }
        }
    }
    // Orderly shutdown: close every socket (libzmq honours each one's LINGER during the
    // context termination), then terminate the context.
    let t0 = Instant::now();
    let sockets = std::mem::take(&mut d.sockets);
    for (_, s) in sockets {
        s.close();
    }
    drop(d.zap.take());
    // Dropping the last context handle runs zmq_ctx_term (retried on EINTR by the zmq crate).
    drop(d);
    eprintln!(
        "libzmq driver: context terminated in {} ms",
        t0.elapsed().as_millis()
    );
    status
}
