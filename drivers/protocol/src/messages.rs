//! Requests, replies and their typed payloads (`spec/driver-protocol.md`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The driver protocol version this crate implements (`hello.protocol_version`).
pub const PROTOCOL_VERSION: u32 = 1;

/// Every op of protocol version 1, in the order of the spec.
pub const OPS: &[&str] = &[
    "hello",
    "socket",
    "setsockopt",
    "getsockopt",
    "bind",
    "connect",
    "disconnect",
    "unbind",
    "send",
    "send_part",
    "send_burst",
    "recv",
    "drain",
    "events",
    "close",
    "exit",
    "zap",
    "echo",
    "ping_pong",
];

/// Socket type names, upper case, as used by `socket` and `hello.socket_types`.
pub const SOCKET_TYPES: &[&str] = &[
    "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
];

/// The `result` of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The op was carried out.
    Ok,
    /// A `send` with `dontwait` could not be queued (the library said EAGAIN).
    WouldBlock,
    /// A deadline passed with nothing to report (`recv`, `drain`, `events`, blocking `send`).
    Timeout,
    /// The op, socket type, option or value is not supported; nothing was changed.
    Unsupported,
    /// The library (or the driver) reported an error; see `code` and `message`.
    Error,
}

impl Outcome {
    /// The wire name (`ok`, `would_block`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::WouldBlock => "would_block",
            Self::Timeout => "timeout",
            Self::Unsupported => "unsupported",
            Self::Error => "error",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reply line: `{"id": 7, "result": "ok", ...fields}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The request's id, or `null` if the request line could not be parsed far enough.
    pub id: Option<u64>,
    /// What happened.
    pub result: Outcome,
    /// Op-specific fields (`code` and `message` for `error`, `message` for `unsupported`).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Reply {
    /// A reply with the given outcome and no fields.
    pub fn new(id: Option<u64>, result: Outcome) -> Self {
        Self {
            id,
            result,
            fields: Map::new(),
        }
    }

    /// An `ok` reply.
    pub fn ok(id: Option<u64>) -> Self {
        Self::new(id, Outcome::Ok)
    }

    /// An `unsupported` reply with a message.
    pub fn unsupported(id: Option<u64>, message: impl Into<String>) -> Self {
        Self::new(id, Outcome::Unsupported).with("message", message.into())
    }

    /// An `error` reply with an errno-style `code` and a message.
    pub fn error(id: Option<u64>, code: &str, message: impl Into<String>) -> Self {
        Self::new(id, Outcome::Error)
            .with("code", code)
            .with("message", message.into())
    }

    /// Adds a field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Adds every field of a serialisable struct (which must serialise to a JSON object).
    pub fn with_all<T: Serialize>(mut self, payload: &T) -> Self {
        if let Ok(Value::Object(m)) = serde_json::to_value(payload) {
            self.fields.extend(m);
        }
        self
    }

    /// The `code` of an `error` reply.
    pub fn code(&self) -> Option<&str> {
        self.fields.get("code").and_then(Value::as_str)
    }

    /// The `message` of an `error` or `unsupported` reply.
    pub fn message(&self) -> Option<&str> {
        self.fields.get("message").and_then(Value::as_str)
    }

    /// A string field.
    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// Deserialises the fields into a typed payload.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Object(self.fields.clone()))
    }

    /// `parts_hex` of a `recv` reply, decoded.
    pub fn parts(&self) -> Option<Vec<Vec<u8>>> {
        self.fields
            .get("parts_hex")?
            .as_array()?
            .iter()
            .map(|p| hex::decode(p.as_str()?).ok())
            .collect()
    }

    /// The reply as one JSON line (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                "{{\"id\":null,\"result\":\"error\",\"code\":\"EDRIVER\",\"message\":\"cannot serialise reply: {e}\"}}"
            )
        })
    }
}

/// `socket` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketArgs {
    /// Socket type name, upper case.
    #[serde(rename = "type")]
    pub socket_type: String,
}

/// `setsockopt` request fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetsockoptArgs {
    /// Socket handle.
    pub socket: String,
    /// Option name (see [`crate::options::OPTIONS`]).
    pub option: String,
    /// Integer, boolean or hex string, per the option's kind.
    pub value: Value,
}

/// `getsockopt` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetsockoptArgs {
    /// Socket handle.
    pub socket: String,
    /// Option name.
    pub option: String,
}

/// `bind`, `connect`, `disconnect` and `unbind` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointArgs {
    /// Socket handle.
    pub socket: String,
    /// Endpoint, e.g. `tcp://127.0.0.1:0`.
    pub endpoint: String,
}

fn default_send_timeout() -> u64 {
    1000
}

/// `send` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendArgs {
    /// Socket handle.
    pub socket: String,
    /// The message's frames, hex; at least one.
    pub parts_hex: Vec<String>,
    /// Fail with `would_block` instead of waiting.
    #[serde(default)]
    pub dontwait: bool,
    /// Without `dontwait`: how long to wait for the message to be accepted.
    #[serde(default = "default_send_timeout")]
    pub timeout_ms: u64,
}

/// `send_part`: one frame of a message, through the library's own frame-at-a-time API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendPartArgs {
    /// Socket handle.
    pub socket: String,
    /// The frame, hex.
    pub part_hex: String,
    /// More frames of this message follow (the library's SNDMORE).
    #[serde(default)]
    pub more: bool,
    /// Fail with `would_block` instead of waiting.
    #[serde(default)]
    pub dontwait: bool,
    /// Without `dontwait`: how long to wait for the frame to be accepted.
    #[serde(default = "default_send_timeout")]
    pub timeout_ms: u64,
}

fn default_one() -> u64 {
    1
}
fn default_true() -> bool {
    true
}
fn default_burst_timeout() -> u64 {
    10_000
}

/// `send_burst` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurstArgs {
    /// Socket handle.
    pub socket: String,
    /// Number of messages.
    pub count: u64,
    /// Sequence number of the first message.
    #[serde(default)]
    pub first_seq: u64,
    /// Topic in front of frame 0's header, hex.
    #[serde(default)]
    pub topic_hex: String,
    /// Target frame size in octets (frames are never shorter than topic plus header).
    #[serde(default)]
    pub size: u64,
    /// Frames per message (1..=1024).
    #[serde(default = "default_one")]
    pub parts: u64,
    /// Frames sent in front of every burst message (e.g. a routing id), hex.
    #[serde(default)]
    pub prefix_hex: Vec<String>,
    /// Send each message with DONTWAIT.
    #[serde(default)]
    pub dontwait: bool,
    /// With `dontwait`: stop at the first would-block instead of skipping that message.
    #[serde(default = "default_true")]
    pub stop_on_would_block: bool,
    /// Deadline for the whole burst, from its start.
    #[serde(default = "default_burst_timeout")]
    pub timeout_ms: u64,
}

/// The reply fields of `send_burst`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurstReport {
    /// Messages the library accepted.
    pub accepted: u64,
    /// Messages refused with would-block (EAGAIN).
    pub would_block: u64,
    /// Messages refused with another error (the burst stops at the first).
    pub errors: u64,
    /// The first error, if any.
    pub first_error: Option<BurstError>,
    /// Sequence number of the first message refused with would-block.
    pub first_would_block_seq: Option<u64>,
    /// Sequence number of the last accepted message.
    pub last_accepted_seq: Option<u64>,
    /// Why the burst ended: `complete`, `would_block`, `timeout`, `error` or `interrupted`.
    pub stopped: String,
    /// Microseconds from the start of the burst to its end.
    pub elapsed_us: u64,
    /// The longest time one message took to be accepted or refused, microseconds.
    pub max_send_us: u64,
    /// Messages the library could not accept at once, so the driver waited for them (DRV-71):
    /// `None` from a driver that cannot tell (the field is optional in the protocol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited: Option<u64>,
}

/// The first error of a burst.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurstError {
    /// Sequence number of the refused message.
    pub seq: u64,
    /// Errno-style code.
    pub code: String,
    /// Message.
    pub message: String,
}

fn default_recv_timeout() -> u64 {
    1000
}

/// `recv` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecvArgs {
    /// Socket handle.
    pub socket: String,
    /// How long to wait for a message (0: only what is already there).
    #[serde(default = "default_recv_timeout")]
    pub timeout_ms: u64,
}

fn default_max_messages() -> u64 {
    u64::MAX
}
fn default_quiet() -> u64 {
    200
}
fn default_drain_timeout() -> u64 {
    5000
}
fn default_other_limit() -> u64 {
    crate::drain::DEFAULT_OTHER_LIMIT as u64
}

/// `drain` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainArgs {
    /// Socket handle.
    pub socket: String,
    /// Stop after this many messages.
    #[serde(default = "default_max_messages")]
    pub max_messages: u64,
    /// Stop after this long with no message (counted from the last message, or the start).
    #[serde(default = "default_quiet")]
    pub quiet_ms: u64,
    /// Stop at this deadline, counted from the start.
    #[serde(default = "default_drain_timeout")]
    pub timeout_ms: u64,
    /// Frames to strip off the front of each message before classifying it.
    #[serde(default)]
    pub strip_prefix: u64,
    /// How many non-burst messages to return in full.
    #[serde(default = "default_other_limit")]
    pub other_limit: u64,
}

/// `close` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseArgs {
    /// Socket handle.
    pub socket: String,
    /// Set LINGER to this (ms, -1 infinite) just before closing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linger_ms: Option<i64>,
}

/// `events` request fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsArgs {
    /// Socket handle.
    pub socket: String,
    /// How long to wait for at least one event.
    #[serde(default)]
    pub timeout_ms: u64,
}

/// One monitor event in an `events` reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Event name, lower case (`connected`, `accepted`, `disconnected`, ...).
    pub event: String,
    /// The event's value (an fd, errno or interval), where the library gives one.
    #[serde(default)]
    pub value: i64,
    /// The endpoint the event is about.
    #[serde(default)]
    pub endpoint: String,
    /// Microseconds since the driver started, when the driver saw the event.
    #[serde(default)]
    pub at_us: u64,
}

/// The reply fields of `events`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsReport {
    /// Events in the order the library reported them; the driver forgets them once returned.
    pub events: Vec<EventRecord>,
    /// Events lost because the driver's buffer was full.
    #[serde(default)]
    pub dropped: u64,
}

/// The reply fields of `hello`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloInfo {
    /// Short stable name of the implementation under test as shown in reports.
    pub implementation: String,
    /// The driver's own version.
    pub version: String,
    /// The ZMTP engine on the wire (`libzmq`, `zmq.rs`, ...).
    pub library: String,
    /// Its version.
    pub library_version: String,
    /// The language binding between driver and engine, if any.
    #[serde(default)]
    pub binding: String,
    /// The binding's version.
    #[serde(default)]
    pub binding_version: String,
    /// The driver protocol version (1).
    pub protocol_version: u32,
    /// Socket types `socket` accepts.
    pub socket_types: Vec<String>,
    /// Option names `setsockopt` accepts.
    pub options: Vec<String>,
    /// Security mechanisms.
    pub mechanisms: Vec<String>,
    /// ZMTP revisions the engine speaks (`"3.0"`, `"3.1"`).
    pub zmtp: Vec<String>,
    /// Ops the driver implements (others answer `unsupported`).
    pub ops: Vec<String>,
    /// Free-form notes on divergences and limitations.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Capabilities.
    Hello,
    /// Create a socket.
    Socket(SocketArgs),
    /// Set an option.
    Setsockopt(SetsockoptArgs),
    /// Read an option.
    Getsockopt(GetsockoptArgs),
    /// Bind.
    Bind(EndpointArgs),
    /// Connect.
    Connect(EndpointArgs),
    /// Disconnect.
    Disconnect(EndpointArgs),
    /// Unbind.
    Unbind(EndpointArgs),
    /// Send one message.
    Send(SendArgs),
    /// Send one frame of a message.
    SendPart(SendPartArgs),
    /// Send a burst of sequence-numbered messages.
    SendBurst(BurstArgs),
    /// Receive one message.
    Recv(RecvArgs),
    /// Receive many messages into a compact report.
    Drain(DrainArgs),
    /// Monitor events.
    Events(EventsArgs),
    /// Close a socket.
    Close(CloseArgs),
    /// Close everything and exit.
    Exit,
    /// Install, replace or remove the ZAP handler.
    Zap(crate::zap::ZapArgs),
    /// Serve requests, sending each back unchanged.
    Echo(crate::roundtrip::EchoArgs),
    /// Timed request-reply round trips.
    PingPong(crate::roundtrip::PingPongArgs),
}

impl Request {
    /// The op name.
    pub fn op(&self) -> &'static str {
        match self {
            Self::Hello => "hello",
            Self::Socket(_) => "socket",
            Self::Setsockopt(_) => "setsockopt",
            Self::Getsockopt(_) => "getsockopt",
            Self::Bind(_) => "bind",
            Self::Connect(_) => "connect",
            Self::Disconnect(_) => "disconnect",
            Self::Unbind(_) => "unbind",
            Self::Send(_) => "send",
            Self::SendPart(_) => "send_part",
            Self::SendBurst(_) => "send_burst",
            Self::Recv(_) => "recv",
            Self::Drain(_) => "drain",
            Self::Events(_) => "events",
            Self::Close(_) => "close",
            Self::Exit => "exit",
            Self::Zap(_) => "zap",
            Self::Echo(_) => "echo",
            Self::PingPong(_) => "ping_pong",
        }
    }

    /// The request as one JSON line with the given id (no trailing newline).
    pub fn to_line(&self, id: u64) -> String {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("id".into(), id.into());
        }
        v.to_string()
    }
}

/// The result of parsing one request line ([`parse_request`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    /// A well-formed request of a known op.
    Request {
        /// Its id.
        id: Option<u64>,
        /// The request.
        request: Request,
    },
    /// An op this protocol version does not know: answer `unsupported` (`[DRV-13]`).
    UnknownOp {
        /// Its id.
        id: Option<u64>,
        /// The op name.
        op: String,
    },
    /// Not a request at all, or a known op with bad fields: answer `error` with `code`.
    Invalid {
        /// The id, if it could be read.
        id: Option<u64>,
        /// `EPROTO` (not a JSON object with an integer id and a string op) or `EINVAL` (bad fields).
        code: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Parsed {
    /// The reply for an [`Parsed::UnknownOp`] or [`Parsed::Invalid`]; `None` for a request.
    pub fn reject(&self) -> Option<Reply> {
        match self {
            Self::Request { .. } => None,
            Self::UnknownOp { id, op } => {
                Some(Reply::unsupported(*id, format!("unknown op {op:?}")))
            }
            Self::Invalid { id, code, message } => Some(Reply::error(*id, code, message.clone())),
        }
    }
}

/// Parses one request line per `[DRV-05]`..`[DRV-13]`.
pub fn parse_request(line: &str) -> Parsed {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return Parsed::Invalid {
                id: None,
                code: "EPROTO",
                message: format!("not JSON: {e}"),
            };
        }
    };
    let Value::Object(map) = &v else {
        return Parsed::Invalid {
            id: None,
            code: "EPROTO",
            message: "a request must be a JSON object".into(),
        };
    };
    let id = match map.get("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        _ => {
            return Parsed::Invalid {
                id: None,
                code: "EPROTO",
                message: "\"id\" must be a non-negative integer".into(),
            };
        }
    };
    let op = match map.get("op") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Parsed::Invalid {
                id,
                code: "EPROTO",
                message: "\"op\" must be a string".into(),
            };
        }
    };
    if !OPS.contains(&op.as_str()) {
        return Parsed::UnknownOp { id, op };
    }
    match serde_json::from_value::<Request>(v) {
        Ok(request) => Parsed::Request { id, request },
        Err(e) => Parsed::Invalid {
            id,
            code: "EINVAL",
            message: format!("bad fields for {op}: {e}"),
        },
    }
}

/// Decodes `parts_hex`; the error names the bad part.
pub fn decode_parts(parts_hex: &[String]) -> Result<Vec<Vec<u8>>, String> {
    parts_hex
        .iter()
        .enumerate()
        .map(|(i, p)| hex::decode(p).map_err(|e| format!("parts_hex[{i}]: {e}")))
        .collect()
}

/// Encodes frames as lowercase hex.
pub fn encode_parts<F: AsRef<[u8]>>(parts: &[F]) -> Vec<String> {
    parts.iter().map(|p| hex::encode(p.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_known_unknown_and_bad() {
        assert_eq!(
            parse_request(r#"{"id":1,"op":"hello"}"#),
            Parsed::Request {
                id: Some(1),
                request: Request::Hello
            }
        );
        assert_eq!(
            parse_request(r#"{"id":2,"op":"exit","extra":true}"#),
            Parsed::Request {
                id: Some(2),
                request: Request::Exit
            }
        );
        assert_eq!(
            parse_request(r#"{"id":3,"op":"frobnicate"}"#),
            Parsed::UnknownOp {
                id: Some(3),
                op: "frobnicate".into()
            }
        );
        assert!(matches!(
            parse_request("{nope"),
            Parsed::Invalid {
                id: None,
                code: "EPROTO",
                ..
            }
        ));
        assert!(matches!(
            parse_request(r#"{"id":4,"op":"bind"}"#),
            Parsed::Invalid {
                id: Some(4),
                code: "EINVAL",
                ..
            }
        ));
        match parse_request(r#"{"id":5,"op":"drain","socket":"s1"}"#) {
            Parsed::Request {
                request: Request::Drain(d),
                ..
            } => {
                assert_eq!(d.max_messages, u64::MAX);
                assert_eq!(d.quiet_ms, 200);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parse_zap() {
        match parse_request(
            r#"{"id":6,"op":"zap","plain":[{"username":"a","password":"b"}],"curve":"any"}"#,
        ) {
            Parsed::Request {
                request: Request::Zap(z),
                ..
            } => {
                assert_eq!(z.plain.len(), 1);
                assert!(!z.null && !z.remove);
                assert!(z.policy().is_ok());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_request(r#"{"id":7,"op":"zap"}"#),
            Parsed::Request {
                request: Request::Zap(_),
                ..
            }
        ));
        assert!(matches!(
            parse_request(r#"{"id":8,"op":"zap","plain":"x"}"#),
            Parsed::Invalid { code: "EINVAL", .. }
        ));
    }

    #[test]
    fn request_line_round_trip() {
        let r = Request::Socket(SocketArgs {
            socket_type: "PUSH".into(),
        });
        let line = r.to_line(9);
        assert_eq!(
            parse_request(&line),
            Parsed::Request {
                id: Some(9),
                request: r
            }
        );
    }

    #[test]
    fn reply_shape() {
        let r = Reply::error(Some(3), "EFSM", "wrong state");
        let v: Value = serde_json::from_str(&r.to_line()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id":3,"result":"error","code":"EFSM","message":"wrong state"})
        );
        let back: Reply = serde_json::from_value(v).unwrap();
        assert_eq!(back.code(), Some("EFSM"));
        let n: Reply = serde_json::from_str(r#"{"id":null,"result":"would_block"}"#).unwrap();
        assert_eq!(n.result, Outcome::WouldBlock);
    }
}
