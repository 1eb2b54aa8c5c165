//! The rzmq-specific half of the driver: socket types, the option table, error codes, monitor
//! events and the `hello` facts. The `Driver` implementation in `lib.rs` calls only what is here
//! and the [`rzmq::Socket`] methods; the request loop is the shared one of `zmtp-driver-protocol`.

use std::time::Duration;

use rzmq::socket::SocketEvent;
use rzmq::socket::options as opt;
use rzmq::{SocketType, ZmqError};
use zmtp_driver_protocol::{OptionValue, option_kind, parse_option_value};

/// The rzmq crate version this driver was built against (from Cargo.lock, by build.rs).
pub const RZMQ_VERSION: &str = env!("ZMTP_RZMQ_VERSION");

/// Socket types rzmq has (no PAIR, XPUB, XSUB, STREAM, RADIO, DISH).
pub const SOCKET_TYPES: &[&str] = &[
    "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH",
];

/// Protocol ops this driver does not implement: rzmq has no ZAP.
pub const MISSING_OPS: &[&str] = &["zap"];

/// The ops this driver implements: every protocol op but [`MISSING_OPS`].
pub fn ops() -> Vec<String> {
    zmtp_driver_protocol::OPS
        .iter()
        .filter(|op| !MISSING_OPS.contains(op))
        .map(|op| op.to_string())
        .collect()
}

/// Mechanisms rzmq runs with the features this driver enables (`plain`, `curve`).
pub const MECHANISMS: &[&str] = &["NULL", "PLAIN", "CURVE"];

/// The ZMTP revision rzmq's greeting announces (minor version 0).
pub const ZMTP: &[&str] = &["3.0"];

/// Limitations and divergences reported in `hello.notes` (DRV-26).
pub const NOTES: &[&str] = &[
    "DEALER and ROUTER run with rzmq's default AUTO_DELIMITER on: a DEALER prepends an empty delimiter frame to every message it sends and strips one leading empty frame from what it receives; a ROUTER inserts an empty frame after the routing id on send and strips it on receive from REQ/DEALER peers (the driver does not change library defaults, DRV-24)",
    "no PAIR, XPUB, XSUB or STREAM sockets in rzmq",
    "REQ sends single-frame requests only; send_part with more on REQ or REP is unsupported (rzmq clears MORE and sends the frame as a whole message)",
    "dontwait: rzmq has no per-call DONTWAIT; the driver polls the send future once and reports would_block if it is not complete (rzmq's own non-blocking mode is SNDTIMEO 0, which the driver does not set)",
    "no ZAP in rzmq: a PLAIN server accepts only the plain_username/plain_password set on it, a CURVE server every client that knows its key; zap and zap_domain are unsupported",
    "security options are kept per field, not in libzmq's order-sensitive way: plain_username after plain_server leaves the socket a PLAIN server (DRV-55 differs)",
    "connect_timeout, heartbeat_ttl, backlog, ipv6, conflate, probe_router, invert_matching, router_handover and the xpub_* options other than xpub_nodrop (on PUB) do not exist in rzmq",
    "events are rzmq monitor events (connected is the TCP connect; handshake_succeeded follows the handshake; connect_failed is rzmq's own)",
];

/// Why a multipart request (or a REQ/REP frame with MORE) is `unsupported`.
pub const REQ_SINGLE_FRAME: &str = "rzmq's REQ sends single-frame requests only (send_multipart is refused, send clears MORE), and its REP clears MORE on a frame-at-a-time send; nothing was sent";

/// The rzmq socket type for an upper-case name.
pub fn socket_type(name: &str) -> Option<SocketType> {
    Some(match name {
        "PUB" => SocketType::Pub,
        "SUB" => SocketType::Sub,
        "REQ" => SocketType::Req,
        "REP" => SocketType::Rep,
        "DEALER" => SocketType::Dealer,
        "ROUTER" => SocketType::Router,
        "PULL" => SocketType::Pull,
        "PUSH" => SocketType::Push,
        _ => return None,
    })
}

/// How a protocol option's value is encoded for rzmq.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// `i32`, native endian.
    I32,
    /// `i64`, native endian (MAXMSGSIZE).
    I64,
    /// `i32` 0 or 1.
    Bool,
    /// The octets as they are.
    Raw,
}

/// Protocol option name → rzmq option id and encoding. Only options rzmq has with libzmq's
/// meaning are listed; every other name is `unsupported`.
const OPTION_MAP: &[(&str, i32, Encoding)] = &[
    ("sndhwm", opt::SNDHWM, Encoding::I32),
    ("rcvhwm", opt::RCVHWM, Encoding::I32),
    ("linger", opt::LINGER, Encoding::I32),
    ("subscribe", opt::SUBSCRIBE, Encoding::Raw),
    ("unsubscribe", opt::UNSUBSCRIBE, Encoding::Raw),
    ("routing_id", opt::ROUTING_ID, Encoding::Raw),
    ("immediate", opt::IMMEDIATE, Encoding::Bool),
    ("reconnect_ivl", opt::RECONNECT_IVL, Encoding::I32),
    ("reconnect_ivl_max", opt::RECONNECT_IVL_MAX, Encoding::I32),
    ("heartbeat_ivl", opt::HEARTBEAT_IVL, Encoding::I32),
    ("heartbeat_timeout", opt::HEARTBEAT_TIMEOUT, Encoding::I32),
    ("handshake_ivl", opt::HANDSHAKE_IVL, Encoding::I32),
    ("maxmsgsize", opt::MAXMSGSIZE, Encoding::I64),
    ("sndtimeo", opt::SNDTIMEO, Encoding::I32),
    ("rcvtimeo", opt::RCVTIMEO, Encoding::I32),
    ("sndbuf", opt::SNDBUF, Encoding::I32),
    ("rcvbuf", opt::RCVBUF, Encoding::I32),
    ("req_relaxed", opt::REQ_RELAXED, Encoding::Bool),
    ("req_correlate", opt::REQ_CORRELATE, Encoding::Bool),
    ("router_mandatory", opt::ROUTER_MANDATORY, Encoding::Bool),
    ("xpub_nodrop", opt::XPUB_NODROP, Encoding::Bool),
    ("tcp_keepalive", opt::TCP_KEEPALIVE, Encoding::I32),
    ("tcp_keepalive_idle", opt::TCP_KEEPALIVE_IDLE, Encoding::I32),
    ("tcp_keepalive_cnt", opt::TCP_KEEPALIVE_CNT, Encoding::I32),
    (
        "tcp_keepalive_intvl",
        opt::TCP_KEEPALIVE_INTVL,
        Encoding::I32,
    ),
    ("plain_server", opt::PLAIN_SERVER, Encoding::Bool),
    ("plain_username", opt::PLAIN_USERNAME, Encoding::Raw),
    ("plain_password", opt::PLAIN_PASSWORD, Encoding::Raw),
    ("curve_server", opt::CURVE_SERVER, Encoding::Bool),
    ("curve_publickey", opt::CURVE_PUBLIC_KEY, Encoding::Raw),
    ("curve_secretkey", opt::CURVE_SECRET_KEY, Encoding::Raw),
    ("curve_serverkey", opt::CURVE_SERVER_KEY, Encoding::Raw),
];

/// Option names `setsockopt` accepts, for `hello`.
pub fn option_names() -> Vec<String> {
    OPTION_MAP.iter().map(|(n, _, _)| n.to_string()).collect()
}

/// Why an option request cannot go to the library.
pub enum OptionRefusal {
    /// rzmq has no such option: answer `unsupported`.
    Unsupported(String),
    /// The JSON value does not fit the option's kind: answer `error` `EINVAL`.
    BadValue(String),
}

/// The rzmq option id and encoded value for a `setsockopt` request.
pub fn encode_option(
    name: &str,
    value: &serde_json::Value,
) -> Result<(i32, Vec<u8>), OptionRefusal> {
    let (Some(kind), Some((_, id, enc))) = (
        option_kind(name),
        OPTION_MAP.iter().find(|(n, _, _)| *n == name),
    ) else {
        return Err(OptionRefusal::Unsupported(format!(
            "rzmq has no option {name:?}"
        )));
    };
    let v = parse_option_value(kind, value)
        .map_err(|e| OptionRefusal::BadValue(format!("{name}: {e}")))?;
    let bytes = match (enc, v) {
        (Encoding::I32, OptionValue::Int(i)) => i32::try_from(i)
            .map_err(|_| OptionRefusal::BadValue(format!("{name}: {i} does not fit an int")))?
            .to_ne_bytes()
            .to_vec(),
        (Encoding::I64, OptionValue::Int(i)) => i.to_ne_bytes().to_vec(),
        (Encoding::Bool, OptionValue::Bool(b)) => i32::from(b).to_ne_bytes().to_vec(),
        (Encoding::Raw, OptionValue::Bytes(b)) => b,
        _ => {
            return Err(OptionRefusal::BadValue(format!(
                "{name}: value kind does not fit the option"
            )));
        }
    };
    Ok((*id, bytes))
}

/// The rzmq option id for a `getsockopt` request, or `None` if rzmq has no such option.
pub fn option_id(name: &str) -> Option<i32> {
    OPTION_MAP
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, id, _)| *id)
}

/// Decodes what rzmq's `get_option` returned into the form `setsockopt` takes.
pub fn decode_option(name: &str, raw: &[u8]) -> Option<serde_json::Value> {
    let (_, _, enc) = OPTION_MAP.iter().find(|(n, _, _)| *n == name)?;
    Some(match enc {
        Encoding::I32 => serde_json::Value::from(i32::from_ne_bytes(raw.try_into().ok()?)),
        Encoding::I64 => serde_json::Value::from(i64::from_ne_bytes(raw.try_into().ok()?)),
        Encoding::Bool => serde_json::Value::from(i32::from_ne_bytes(raw.try_into().ok()?) != 0),
        Encoding::Raw => serde_json::Value::from(hex::encode(raw)),
    })
}

/// The errno-style code for an rzmq error (rzmq has no errno; this is the closest name).
pub fn error_code(e: &ZmqError) -> &'static str {
    use std::io::ErrorKind as K;
    match e {
        ZmqError::IoError { kind, .. } => match kind {
            K::AddrInUse => "EADDRINUSE",
            K::AddrNotAvailable => "EADDRNOTAVAIL",
            K::ConnectionRefused => "ECONNREFUSED",
            K::ConnectionReset => "ECONNRESET",
            K::PermissionDenied => "EACCES",
            K::NotFound => "ENOENT",
            K::InvalidInput => "EINVAL",
            K::TimedOut | K::WouldBlock => "EAGAIN",
            _ => "EIO",
        },
        // rzmq reports an unbind/disconnect of an endpoint it does not have this way;
        // libzmq's name for that is ENOENT (spec/driver-protocol.md, DRV-16).
        ZmqError::InvalidArgument(m) if m.contains("not found") => "ENOENT",
        ZmqError::InvalidArgument(_)
        | ZmqError::InvalidEndpoint(_)
        | ZmqError::EndpointResolutionFailed(_)
        | ZmqError::DnsResolutionFailed(_)
        | ZmqError::InvalidOption(_)
        | ZmqError::InvalidOptionValue(_)
        | ZmqError::UnsupportedOption(_)
        | ZmqError::InvalidMessage(_)
        | ZmqError::InvalidCurveKey => "EINVAL",
        ZmqError::Timeout | ZmqError::ResourceLimitReached => "EAGAIN",
        ZmqError::AddrInUse(_) => "EADDRINUSE",
        ZmqError::AddrNotAvailable(_) => "EADDRNOTAVAIL",
        ZmqError::ConnectionRefused(_) => "ECONNREFUSED",
        ZmqError::HostUnreachable(_) => "EHOSTUNREACH",
        ZmqError::NetworkUnreachable(_) => "ENETUNREACH",
        ZmqError::ConnectionClosed => "ENOTCONN",
        ZmqError::PermissionDenied(_) => "EACCES",
        ZmqError::InvalidSocketType(_) | ZmqError::UnsupportedFeature(_) => "ENOTSUP",
        ZmqError::InvalidState(_) => "EFSM",
        ZmqError::ProtocolViolation(_) => "EPROTO",
        ZmqError::SecurityError(_)
        | ZmqError::AuthenticationFailure(_)
        | ZmqError::EncryptionError(_) => "EACCES",
        ZmqError::UnsupportedTransport(_) => "EPROTONOSUPPORT",
        _ => "ERZMQ",
    }
}

/// A monitor event as the protocol names it: `(event, value, endpoint)`, or `None` for an
/// event libzmq has no name for (rzmq's congestion events).
pub fn event(ev: SocketEvent) -> Option<(&'static str, i64, String)> {
    Some(match ev {
        SocketEvent::Listening { endpoint } => ("listening", 0, endpoint),
        SocketEvent::BindFailed { endpoint, .. } => ("bind_failed", 0, endpoint),
        SocketEvent::Accepted { endpoint, .. } => ("accepted", 0, endpoint),
        SocketEvent::AcceptFailed { endpoint, .. } => ("accept_failed", 0, endpoint),
        SocketEvent::Connected { endpoint, .. } => ("connected", 0, endpoint),
        SocketEvent::ConnectDelayed { endpoint, .. } => ("connect_delayed", 0, endpoint),
        SocketEvent::ConnectRetried { endpoint, interval } => (
            "connect_retried",
            i64::try_from(interval.as_millis()).unwrap_or(i64::MAX),
            endpoint,
        ),
        SocketEvent::ConnectFailed { endpoint, .. } => ("connect_failed", 0, endpoint),
        SocketEvent::Closed { endpoint } => ("closed", 0, endpoint),
        SocketEvent::Disconnected { endpoint } => ("disconnected", 0, endpoint),
        SocketEvent::HandshakeFailed {
            endpoint,
            error_msg,
        } => {
            let m = error_msg.to_ascii_lowercase();
            let auth = ["auth", "credential", "denied", "invalid key", "reject"]
                .iter()
                .any(|w| m.contains(w));
            (
                if auth {
                    "handshake_failed_auth"
                } else {
                    "handshake_failed_protocol"
                },
                0,
                endpoint,
            )
        }
        SocketEvent::HandshakeSucceeded { endpoint } => ("handshake_succeeded", 0, endpoint),
        _ => return None,
    })
}

/// Rewrites the libzmq wildcard port `:*` as `:0`, the spelling rzmq binds.
pub fn bind_endpoint(ep: &str) -> String {
    match ep.strip_suffix(":*") {
        Some(head) => format!("{head}:0"),
        None => ep.to_string(),
    }
}

/// How long a library call that should return at once (bind, connect, setsockopt, close) may
/// take before the driver answers `EAGAIN` instead of blocking its loop.
pub const CALL_BOUND: Duration = Duration::from_secs(3);
