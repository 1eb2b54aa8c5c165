//! The round-trip ops `echo` and `ping_pong` (spec/driver-protocol.md, DRV-69 and DRV-70):
//! request-reply loops inside the driver, so REQ/REP latency is timed without a protocol line
//! in the timed path.

use serde::{Deserialize, Serialize};

/// The most requests one `echo` serves.
pub const ECHO_MAX_COUNT: u64 = 1_000_000;
/// The most round trips one `ping_pong` makes (its reply lists every one).
pub const PING_PONG_MAX_COUNT: u64 = 100_000;
/// The largest `ping_pong` payload, octets.
pub const PING_PONG_MAX_SIZE: u64 = 16 << 20;

fn default_timeout() -> u64 {
    10_000
}

/// `echo` request fields: serve `count` requests, sending each message back unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoArgs {
    /// Socket handle (REP, ROUTER, PAIR, DEALER...).
    pub socket: String,
    /// Requests to serve, 1..=[`ECHO_MAX_COUNT`].
    pub count: u64,
    /// Deadline for the whole op, from its start.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

/// `ping_pong` request fields: `count` timed round trips of a `size`-octet message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingPongArgs {
    /// Socket handle (REQ, DEALER, PAIR...).
    pub socket: String,
    /// Round trips, 1..=[`PING_PONG_MAX_COUNT`].
    pub count: u64,
    /// Payload octets of every request, 0..=[`PING_PONG_MAX_SIZE`].
    #[serde(default)]
    pub size: u64,
    /// Deadline for the whole op, from its start.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

/// The first library error of an `echo` or `ping_pong`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTripError {
    /// Errno-style code.
    pub code: String,
    /// The library's text.
    pub message: String,
}

/// The reply fields of `echo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoReport {
    /// Requests received and sent back.
    pub served: u64,
    /// `complete`, `timeout`, `error` or `interrupted`.
    pub stopped: String,
    /// The library error that stopped it, if one did.
    pub first_error: Option<RoundTripError>,
    /// Microseconds from the start of the op to its end.
    pub elapsed_us: u64,
}

/// The reply fields of `ping_pong`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingPongReport {
    /// Round trips completed (a reply arrived).
    pub round_trips: u64,
    /// Each completed round trip in order, nanoseconds from just before the send to just after
    /// the reply was received.
    pub rtt_ns: Vec<u64>,
    /// Replies that were not the request's octets.
    pub mismatched: u64,
    /// `complete`, `timeout`, `error` or `interrupted`.
    pub stopped: String,
    /// The library error that stopped it, if one did.
    pub first_error: Option<RoundTripError>,
    /// Microseconds from the start of the op to its end.
    pub elapsed_us: u64,
}

/// The payload of round trip `i` (0-based): `size` octets, octet `k` being `(k + i) mod 256`.
pub fn ping_payload(i: u64, size: usize) -> Vec<u8> {
    (0..size)
        .map(|k| (k as u64).wrapping_add(i) as u8)
        .collect()
}

/// Checks `ping_pong` fields before anything is sent (`EINVAL` on the error).
pub fn check_ping_pong(args: &PingPongArgs) -> Result<(), String> {
    if !(1..=PING_PONG_MAX_COUNT).contains(&args.count) {
        return Err(format!("count must be 1..={PING_PONG_MAX_COUNT}"));
    }
    if args.size > PING_PONG_MAX_SIZE {
        return Err(format!("size must be at most {PING_PONG_MAX_SIZE}"));
    }
    Ok(())
}

/// Checks `echo` fields (`EINVAL` on the error).
pub fn check_echo(args: &EchoArgs) -> Result<(), String> {
    if !(1..=ECHO_MAX_COUNT).contains(&args.count) {
        return Err(format!("count must be 1..={ECHO_MAX_COUNT}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_limits() {
        assert_eq!(ping_payload(255, 3), vec![255, 0, 1]);
        assert!(ping_payload(7, 0).is_empty());
        let a = PingPongArgs {
            socket: "s1".into(),
            count: 0,
            size: 1,
            timeout_ms: 1,
        };
        assert!(check_ping_pong(&a).is_err());
        assert!(
            check_ping_pong(&PingPongArgs {
                count: 1,
                size: PING_PONG_MAX_SIZE + 1,
                ..a.clone()
            })
            .is_err()
        );
        assert!(check_ping_pong(&PingPongArgs { count: 1, ..a }).is_ok());
    }
}
