//! Socket option names and value kinds (`spec/driver-protocol.md`, section "Options").

use serde_json::Value;

/// How an option's `value` is written in a `setsockopt` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// A JSON integer (milliseconds, counts, octets; -1 where the library allows it).
    Int,
    /// `true`/`false` (0 and 1 are accepted too).
    Bool,
    /// Binary, as a lowercase hex string.
    Hex,
}

/// Every option name of protocol version 1 and its kind.
///
/// The security options are applied in the order they are set, as libzmq does (DRV-55):
/// `plain_username`/`plain_password` make a socket a PLAIN client even after `plain_server`,
/// `curve_serverkey` makes it a CURVE client even after `curve_server`, and the last of them
/// decides. CURVE keys are 32 octets (libzmq also reads 40 characters as Z85).
pub const OPTIONS: &[(&str, OptionKind)] = &[
    ("sndhwm", OptionKind::Int),
    ("rcvhwm", OptionKind::Int),
    ("linger", OptionKind::Int),
    ("subscribe", OptionKind::Hex),
    ("unsubscribe", OptionKind::Hex),
    ("routing_id", OptionKind::Hex),
    ("immediate", OptionKind::Bool),
    ("reconnect_ivl", OptionKind::Int),
    ("reconnect_ivl_max", OptionKind::Int),
    ("connect_timeout", OptionKind::Int),
    ("heartbeat_ivl", OptionKind::Int),
    ("heartbeat_ttl", OptionKind::Int),
    ("heartbeat_timeout", OptionKind::Int),
    ("handshake_ivl", OptionKind::Int),
    ("maxmsgsize", OptionKind::Int),
    ("sndtimeo", OptionKind::Int),
    ("rcvtimeo", OptionKind::Int),
    ("sndbuf", OptionKind::Int),
    ("rcvbuf", OptionKind::Int),
    ("backlog", OptionKind::Int),
    ("req_relaxed", OptionKind::Bool),
    ("req_correlate", OptionKind::Bool),
    ("router_mandatory", OptionKind::Bool),
    ("router_handover", OptionKind::Bool),
    ("xpub_nodrop", OptionKind::Bool),
    ("xpub_verbose", OptionKind::Bool),
    ("xpub_verboser", OptionKind::Bool),
    ("xpub_manual", OptionKind::Bool),
    ("invert_matching", OptionKind::Bool),
    ("probe_router", OptionKind::Bool),
    ("conflate", OptionKind::Bool),
    ("ipv6", OptionKind::Bool),
    ("tcp_keepalive", OptionKind::Int),
    ("tcp_keepalive_idle", OptionKind::Int),
    ("tcp_keepalive_cnt", OptionKind::Int),
    ("tcp_keepalive_intvl", OptionKind::Int),
    ("plain_server", OptionKind::Bool),
    ("plain_username", OptionKind::Hex),
    ("plain_password", OptionKind::Hex),
    ("zap_domain", OptionKind::Hex),
    ("curve_server", OptionKind::Bool),
    ("curve_publickey", OptionKind::Hex),
    ("curve_secretkey", OptionKind::Hex),
    ("curve_serverkey", OptionKind::Hex),
];

/// The kind of a known option, or `None` for a name this protocol version does not define.
pub fn option_kind(name: &str) -> Option<OptionKind> {
    OPTIONS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// A decoded option value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// Octets.
    Bytes(Vec<u8>),
}

impl OptionValue {
    /// The value as JSON, in the form `setsockopt` takes and `getsockopt` returns.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Int(i) => Value::from(*i),
            Self::Bool(b) => Value::from(*b),
            Self::Bytes(b) => Value::from(hex::encode(b)),
        }
    }
}

/// Decodes a JSON value for an option of the given kind; the error says why it does not fit.
pub fn parse_option_value(kind: OptionKind, v: &Value) -> Result<OptionValue, String> {
    match (kind, v) {
        (OptionKind::Int, Value::Number(n)) => n
            .as_i64()
            .map(OptionValue::Int)
            .ok_or_else(|| format!("{n} is not an integer")),
        (OptionKind::Bool, Value::Bool(b)) => Ok(OptionValue::Bool(*b)),
        (OptionKind::Bool, Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
            Ok(OptionValue::Bool(n.as_i64() == Some(1)))
        }
        (OptionKind::Hex, Value::String(s)) => hex::decode(s)
            .map(OptionValue::Bytes)
            .map_err(|e| format!("not hex: {e}")),
        (k, v) => Err(format!("expected {k:?} value, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_and_values() {
        assert_eq!(option_kind("linger"), Some(OptionKind::Int));
        assert_eq!(option_kind("nope"), None);
        assert_eq!(option_kind("curve_server"), Some(OptionKind::Bool));
        assert_eq!(option_kind("curve_serverkey"), Some(OptionKind::Hex));
        assert_eq!(
            parse_option_value(OptionKind::Bool, &json!(1)),
            Ok(OptionValue::Bool(true))
        );
        assert_eq!(
            parse_option_value(OptionKind::Hex, &json!("0aff")),
            Ok(OptionValue::Bytes(vec![10, 255]))
        );
        assert!(parse_option_value(OptionKind::Int, &json!("1")).is_err());
        assert!(parse_option_value(OptionKind::Bool, &json!(2)).is_err());
    }
}
