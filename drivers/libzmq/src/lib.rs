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

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::Value;
use zmtp_driver_protocol::serve::{Stop, WaitStdin, serve_blocking};
use zmtp_driver_protocol::{
    Applied, Connected, Driver, EventLog, Fault, HelloInfo, OpResult, OptionKind, OptionValue,
    PROTOCOL_VERSION, Parts, Sent, ZAP_ENDPOINT, ZapArgs, ZapChange, ZapPolicy, ZapStats,
    option_kind, parse_option_value,
};

/// The idle poll bound in milliseconds.
const TICK_MS: i64 = 20;

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

/// The typed fault of a libzmq error: `error` with its errno name.
fn fault(e: zmq::Error) -> Fault {
    Fault::error(error_name(e), e.message())
}

/// `zmq_setsockopt` with a raw option number.
fn raw_setsockopt(sock: &mut zmq::Socket, opt: u32, value: &[u8]) -> OpResult<()> {
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
        Err(Fault::error(
            errno_name(raw),
            format!("zmq_setsockopt failed (errno {raw})"),
        ))
    }
}

/// `zmq_getsockopt` with a raw option number into a buffer of `cap` octets (libzmq wants
/// exactly the size of an int option, and room for up to 255 octets for a binary one).
fn raw_getsockopt(sock: &mut zmq::Socket, opt: u32, cap: usize) -> OpResult<Vec<u8>> {
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
        Err(Fault::error(
            errno_name(raw),
            format!("zmq_getsockopt failed (errno {raw})"),
        ))
    }
}

/// One socket the harness created, with its monitor (if libzmq started one) and its events.
struct Sock {
    sock: zmq::Socket,
    monitor: Option<zmq::Socket>,
    log: EventLog,
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

/// The libzmq driver: one context, the socket table, the ZAP handler.
struct Libzmq {
    /// `None` once [`Driver::shutdown`] terminated it.
    ctx: Option<zmq::Context>,
    sockets: BTreeMap<String, Sock>,
    zap: Option<Zap>,
    next_handle: u64,
    stop: Stop,
    started: Instant,
}

impl Libzmq {
    fn ctx(&self) -> OpResult<&zmq::Context> {
        self.ctx.as_ref().ok_or_else(|| fault(zmq::Error::ETERM))
    }

    fn sock(&self, handle: &str) -> OpResult<&Sock> {
        self.sockets
            .get(handle)
            .ok_or_else(|| Fault::no_socket(handle))
    }

    /// Waits up to `ms` for `events` on socket `handle` while every other socket (and the ZAP
    /// handler) is still serviced; stdin is not included. Returns false if the stop flag is set.
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
        !self.stop.is_set()
    }

    /// Polls every socket (no events: libzmq processes its commands), every monitor and the ZAP
    /// handler, and `stdin` if given, for up to one tick; true if stdin is readable.
    fn poll_all(&mut self, stdin: bool) -> bool {
        let mut items: Vec<zmq::PollItem> = Vec::new();
        if stdin {
            items.push(zmq::PollItem::from_fd(0, zmq::POLLIN));
        }
        items.extend(
            self.sockets
                .values()
                .map(|s| s.sock.as_poll_item(zmq::PollEvents::empty())),
        );
        items.extend(
            self.sockets
                .values()
                .filter_map(|s| s.monitor.as_ref())
                .map(|m| m.as_poll_item(zmq::POLLIN)),
        );
        items.extend(self.zap.as_ref().map(|z| z.sock.as_poll_item(zmq::POLLIN)));
        match zmq::poll(&mut items, TICK_MS) {
            Ok(_) if stdin => items[0]
                .get_revents()
                .intersects(zmq::POLLIN | zmq::POLLERR),
            _ => false,
        }
    }

    /// Answers pending ZAP requests, if a handler is installed.
    fn service_zap(&mut self) {
        if let Some(z) = &mut self.zap {
            z.service();
        }
    }

    /// Moves every pending monitor event into its socket's log.
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
                s.log.push(started, &name, value.into(), endpoint);
            }
        }
    }

    /// Sends through `send` (one whole message, or one frame with `flags`, always DONTWAIT),
    /// retrying on EAGAIN until `deadline` unless `dontwait`. A message accepted after an EAGAIN
    /// waited (DRV-71); for a multipart message only the first frame can be refused, since
    /// libzmq takes the rest of a message atomically.
    fn send_with(
        &mut self,
        handle: &str,
        dontwait: bool,
        deadline: Instant,
        send: impl Fn(&zmq::Socket) -> zmq::Result<()>,
    ) -> OpResult<Sent> {
        let mut accepted = Sent::Accepted;
        loop {
            match send(&self.sock(handle)?.sock) {
                Ok(()) => return Ok(accepted),
                Err(zmq::Error::EAGAIN) => {
                    accepted = Sent::AcceptedAfterWait;
                    let left = deadline.saturating_duration_since(Instant::now());
                    if dontwait
                        || left.is_zero()
                        || !self.wait_on(handle, zmq::POLLOUT, left.as_millis() as i64 + 1)
                    {
                        return Ok(Sent::NotAccepted);
                    }
                }
                Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(fault(e)),
            }
        }
    }
}

impl Driver for Libzmq {
    const NAME: &'static str = "libzmq driver";
    const COUNTS_WAITS: bool = true;

    fn hello(&self) -> HelloInfo {
        let (a, b, c) = zmq::version();
        HelloInfo {
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
        }
    }

    fn has_socket(&self, handle: &str) -> bool {
        self.sockets.contains_key(handle)
    }

    async fn socket(&mut self, ty: &str) -> OpResult<String> {
        let Some((_, kind)) = SOCKET_TYPES.iter().find(|(n, _)| *n == ty) else {
            return Err(Fault::unsupported(format!(
                "socket type {ty:?} is not supported"
            )));
        };
        let sock = self.ctx()?.socket(*kind).map_err(fault)?;
        self.next_handle += 1;
        let handle = format!("s{}", self.next_handle);
        // One monitor per socket, started now so no event is missed; drained every loop turn.
        let mon_ep = format!("inproc://zmtp-driver-monitor-{handle}");
        let monitor = match sock.monitor(&mon_ep, zmq_sys::ZMQ_EVENT_ALL as i32) {
            Ok(()) => self.ctx()?.socket(zmq::PAIR).ok().and_then(|m| {
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
                log: EventLog::default(),
            },
        );
        Ok(handle)
    }

    async fn setsockopt(&mut self, socket: &str, option: &str, value: &Value) -> OpResult<Applied> {
        let (Some(kind), Some((num, raw))) = (option_kind(option), libzmq_option(option)) else {
            return Err(Fault::unsupported(format!(
                "option {option:?} is not supported"
            )));
        };
        let value = parse_option_value(kind, value)
            .map_err(|e| Fault::invalid(format!("{option}: {e}")))?;
        let bytes = match (raw, &value) {
            (Raw::I32, OptionValue::Int(i)) => match i32::try_from(*i) {
                Ok(i) => i.to_ne_bytes().to_vec(),
                Err(_) => return Err(Fault::invalid(format!("{i} does not fit an int"))),
            },
            (Raw::I32, OptionValue::Bool(b)) => i32::from(*b).to_ne_bytes().to_vec(),
            (Raw::I64, OptionValue::Int(i)) => i.to_ne_bytes().to_vec(),
            (Raw::Bytes | Raw::Key, OptionValue::Bytes(b)) => b.clone(),
            _ => return Err(Fault::invalid("value kind does not fit the option")),
        };
        let s = self
            .sockets
            .get_mut(socket)
            .ok_or_else(|| Fault::no_socket(socket))?;
        raw_setsockopt(&mut s.sock, num, &bytes)?;
        Ok(Applied::Now)
    }

    async fn getsockopt(&mut self, socket: &str, option: &str) -> OpResult<Value> {
        let (Some(kind), Some((num, raw))) = (option_kind(option), libzmq_option(option)) else {
            return Err(Fault::unsupported(format!(
                "option {option:?} is not supported"
            )));
        };
        let cap = match raw {
            Raw::I32 => 4,
            Raw::I64 => 8,
            Raw::Bytes => 256,
            Raw::Key => 32,
        };
        let s = self
            .sockets
            .get_mut(socket)
            .ok_or_else(|| Fault::no_socket(socket))?;
        let bytes = raw_getsockopt(&mut s.sock, num, cap)?;
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
            _ => return Err(Fault::invalid("unexpected option length")),
        };
        Ok(v.to_json())
    }

    async fn bind(&mut self, socket: &str, endpoint: &str) -> OpResult<String> {
        let s = &self.sock(socket)?.sock;
        s.bind(endpoint).map_err(fault)?;
        Ok(match s.get_last_endpoint() {
            Ok(Ok(ep)) => ep,
            _ => endpoint.to_owned(),
        })
    }

    async fn connect(&mut self, socket: &str, endpoint: &str) -> OpResult<Connected> {
        self.sock(socket)?.sock.connect(endpoint).map_err(fault)?;
        Ok(Connected::Started)
    }

    async fn disconnect(&mut self, socket: &str, endpoint: &str) -> OpResult<()> {
        self.sock(socket)?.sock.disconnect(endpoint).map_err(fault)
    }

    async fn unbind(&mut self, socket: &str, endpoint: &str) -> OpResult<()> {
        self.sock(socket)?.sock.unbind(endpoint).map_err(fault)
    }

    async fn send(
        &mut self,
        socket: &str,
        parts: Parts,
        dontwait: bool,
        deadline: Instant,
    ) -> OpResult<Sent> {
        self.send_with(socket, dontwait, deadline, |s| {
            s.send_multipart(parts.iter(), zmq::DONTWAIT)
        })
    }

    /// One frame through `zmq_send`, with SNDMORE when more frames follow (DRV-64).
    async fn send_part(
        &mut self,
        socket: &str,
        part: Vec<u8>,
        more: bool,
        dontwait: bool,
        deadline: Instant,
    ) -> OpResult<Sent> {
        let flags = zmq::DONTWAIT | if more { zmq::SNDMORE } else { 0 };
        self.send_with(socket, dontwait, deadline, |s| s.send(&part[..], flags))
    }

    async fn recv(&mut self, socket: &str, deadline: Instant) -> OpResult<Option<Parts>> {
        loop {
            match self.sock(socket)?.sock.recv_multipart(zmq::DONTWAIT) {
                Ok(parts) => return Ok(Some(parts)),
                Err(zmq::Error::EAGAIN) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero()
                        || !self.wait_on(socket, zmq::POLLIN, left.as_millis() as i64 + 1)
                    {
                        return Ok(None);
                    }
                }
                Err(zmq::Error::EINTR) => {}
                Err(e) => return Err(fault(e)),
            }
        }
    }

    fn events(&mut self, socket: &str) -> OpResult<&mut EventLog> {
        let s = self
            .sockets
            .get_mut(socket)
            .ok_or_else(|| Fault::no_socket(socket))?;
        if s.monitor.is_none() {
            return Err(Fault::unsupported(
                "the monitor could not be started for this socket",
            ));
        }
        Ok(&mut s.log)
    }

    async fn pause(&mut self, _until: Instant) {
        self.poll_all(false);
        self.service_zap();
    }

    async fn close(&mut self, socket: &str, linger_ms: Option<i64>) -> OpResult<()> {
        if let Some(l) = linger_ms {
            let l =
                i32::try_from(l).map_err(|_| Fault::invalid("linger_ms does not fit an int"))?;
            self.sock(socket)?.sock.set_linger(l).map_err(fault)?;
        }
        if let Some(s) = self.sockets.remove(socket) {
            s.close();
        }
        Ok(())
    }

    /// Installs, replaces or removes the ZAP handler (DRV-48). The reply counts what the
    /// handler it replaces or removes answered.
    async fn zap(&mut self, a: &ZapArgs) -> OpResult<ZapChange> {
        self.service_zap();
        if a.remove {
            let old = self.zap.take();
            return Ok(ZapChange {
                replaced: old.is_some(),
                stats: old.map(|z| z.stats).unwrap_or_default(),
            });
        }
        let policy = a.policy().map_err(Fault::invalid)?;
        if let Some(z) = &mut self.zap {
            z.policy = policy;
            return Ok(ZapChange {
                replaced: true,
                stats: std::mem::take(&mut z.stats),
            });
        }
        let sock = self.ctx()?.socket(zmq::REP).map_err(fault)?;
        // A driver-internal helper: it must not hold up the context's termination.
        let _ = sock.set_linger(0);
        sock.bind(ZAP_ENDPOINT).map_err(fault)?;
        self.zap = Some(Zap {
            sock,
            policy,
            stats: ZapStats::default(),
        });
        Ok(ZapChange::default())
    }

    async fn service(&mut self) {
        self.service_monitors();
        self.service_zap();
    }

    /// Closes every socket (libzmq honours each one's LINGER during the context termination),
    /// then terminates the context.
    async fn shutdown(&mut self) {
        let t0 = Instant::now();
        for (_, s) in std::mem::take(&mut self.sockets) {
            s.close();
        }
        drop(self.zap.take());
        // Dropping the last context handle runs zmq_ctx_term (retried on EINTR by the zmq crate).
        drop(self.ctx.take());
        eprintln!(
            "libzmq driver: context terminated in {} ms",
            t0.elapsed().as_millis()
        );
    }
}

impl WaitStdin for Libzmq {
    fn wait_stdin(&mut self, _tick: Duration) -> bool {
        self.poll_all(true)
    }
}

/// Runs the driver on this process's stdin/stdout until `exit`, EOF or SIGINT/SIGTERM.
/// Returns exit status 0 after an orderly shutdown, 1 if stdout or stdin failed.
pub fn run() -> ExitCode {
    serve_blocking(|stop| {
        let (a, b, c) = zmq::version();
        eprintln!(
            "libzmq driver: libzmq {a}.{b}.{c}, pid {}",
            std::process::id()
        );
        Ok(Libzmq {
            ctx: Some(zmq::Context::new()),
            sockets: BTreeMap::new(),
            zap: None,
            next_handle: 0,
            stop,
            started: Instant::now(),
        })
    })
}
