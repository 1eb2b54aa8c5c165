//! The checks, one function each, and the order they run in ([`run_all`]).

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::CheckRecord;
use super::session::{Checked, Cx, Failure, Passed, Session, brief, ensure, expect, op_of};
use crate::driver::DriverProcess;
use crate::driver::protocol::roundtrip::{ECHO_MAX_COUNT, PING_PONG_MAX_COUNT, PING_PONG_MAX_SIZE};
use crate::driver::protocol::{
    BurstArgs, BurstReport, DrainArgs, DrainReport, EchoArgs, EventsReport, HelloInfo, OPTIONS,
    OptionKind, Outcome, PROTOCOL_VERSION, PingPongArgs, Reply, SOCKET_TYPES, burst,
};
use crate::perf::latency;

const ANY_PORT: &str = "tcp://127.0.0.1:0";
/// `max_messages` for a drain that should stop on time, not on a count (below 2^53, DRV-06).
const UNLIMITED: u64 = 1_000_000;
/// Ids for raw lines, far above the ones the client counts up from 1.
const RAW_ID: u64 = 900_001;
/// Ops every driver implements (the others are optional).
const REQUIRED_OPS: &[&str] = &[
    "hello",
    "socket",
    "setsockopt",
    "bind",
    "connect",
    "send",
    "send_burst",
    "recv",
    "drain",
    "close",
    "exit",
];
/// Monitor event names a driver may report (DRV-45).
const EVENT_NAMES: &[&str] = &[
    "connected",
    "connect_delayed",
    "connect_retried",
    "listening",
    "bind_failed",
    "accepted",
    "accept_failed",
    "closed",
    "close_failed",
    "disconnected",
    "monitor_stopped",
    "handshake_failed_no_detail",
    "handshake_succeeded",
    "handshake_failed_protocol",
    "handshake_failed_auth",
    "connect_failed",
];

/// Runs every check in order and returns their records.
pub(crate) async fn run_all(s: &mut Session) -> Vec<CheckRecord> {
    s.check(
        "hello",
        &["DRV-31", "DRV-60"],
        "hello answers ok with every field, protocol 1",
        hello,
    )
    .await;
    s.check(
        "unknown-op",
        &["DRV-12", "DRV-60"],
        "an unknown op answers unsupported",
        unknown_op,
    )
    .await;
    s.check(
        "unknown-fields",
        &["DRV-06"],
        "fields a driver does not know are ignored",
        unknown_fields,
    )
    .await;
    s.check(
        "line-endings",
        &["DRV-01"],
        "CR before LF is tolerated, empty lines are ignored",
        line_endings,
    )
    .await;
    s.check(
        "bad-json",
        &["DRV-11"],
        "a line that is not JSON answers error EPROTO, id null",
        bad_json,
    )
    .await;
    s.check(
        "not-a-request",
        &["DRV-11"],
        "JSON without an integer id and a string op answers error EPROTO",
        not_a_request,
    )
    .await;
    s.check(
        "missing-field",
        &["DRV-11"],
        "a known op without a required field answers error EINVAL",
        missing_field,
    )
    .await;
    s.check(
        "ill-typed-field",
        &["DRV-11"],
        "a field of the wrong JSON type answers error EINVAL",
        ill_typed_field,
    )
    .await;
    s.check(
        "unknown-socket",
        &["DRV-09"],
        "an unknown socket handle answers error ENOTSOCK",
        unknown_socket,
    )
    .await;
    s.check(
        "handles",
        &["DRV-30"],
        "socket handles are unique and never reused; many sockets at once",
        handles,
    )
    .await;
    s.check(
        "socket-types",
        &["DRV-32", "DRV-08"],
        "every listed type is created, an unknown one is unsupported",
        socket_types,
    )
    .await;
    s.check(
        "setsockopt-valid",
        &["DRV-33", "DRV-50", "DRV-08"],
        "every listed option takes a valid value, every other one is unsupported",
        setsockopt_valid,
    )
    .await;
    s.check(
        "setsockopt-invalid",
        &["DRV-33", "DRV-50"],
        "an unknown option is unsupported, a value of the wrong kind EINVAL",
        setsockopt_invalid,
    )
    .await;
    s.check(
        "curve-options",
        &["DRV-56"],
        "curve_* options are offered exactly when CURVE is in mechanisms",
        curve_options,
    )
    .await;
    s.check(
        "getsockopt",
        &["DRV-34"],
        "getsockopt returns a value in the form setsockopt takes",
        getsockopt,
    )
    .await;
    s.check(
        "bind",
        &["DRV-35", "DRV-16"],
        "bind to :0 and :* returns the real port; a port in use is error EADDRINUSE",
        bind,
    )
    .await;
    s.check(
        "connect-async",
        &["DRV-36"],
        "connect to a port nobody listens on returns at once",
        connect_async,
    )
    .await;
    s.check(
        "disconnect-unbind",
        &["DRV-37", "DRV-16"],
        "unbind and disconnect work; of an unknown endpoint: ok or error ENOENT",
        disconnect_unbind,
    )
    .await;
    s.check(
        "send-recv",
        &["DRV-38", "DRV-43", "DRV-10"],
        "a multipart message round-trips; upper-case hex is accepted, lower-case returned",
        send_recv,
    )
    .await;
    s.check(
        "send-invalid",
        &["DRV-38", "DRV-10", "DRV-11"],
        "no frames, bad hex and odd-length hex answer error EINVAL",
        send_invalid,
    )
    .await;
    s.check(
        "send-dontwait",
        &["DRV-38"],
        "a send with dontwait and no peer does not wait",
        send_dontwait,
    )
    .await;
    s.check(
        "send-deadline",
        &["DRV-13", "DRV-38"],
        "a blocked send answers timeout when its deadline passes",
        send_deadline,
    )
    .await;
    s.check(
        "recv-deadline",
        &["DRV-13", "DRV-43"],
        "recv with nothing to read answers timeout at its deadline",
        recv_deadline,
    )
    .await;
    s.check(
        "recv-deadline-draft",
        &["DRV-13", "DRV-43", "DRV-66"],
        "recv on each draft type that receives (SERVER, CLIENT, DISH, GATHER, PEER, CHANNEL) answers timeout at its deadline",
        recv_deadline_draft,
    )
    .await;
    s.check(
        "send-part",
        &["DRV-64"],
        "send_part builds one multipart message frame by frame",
        send_part,
    )
    .await;
    s.check(
        "burst-drain",
        &[
            "DRV-40", "DRV-42", "DRV-44", "DRV-51", "DRV-52", "DRV-53", "DRV-54",
        ],
        "a burst arrives byte-exact and drains into exact sequence runs",
        burst_drain,
    )
    .await;
    s.check(
        "burst-waited",
        &["DRV-71", "DRV-42"],
        "send_burst's optional waited is a count: 0 on a PUB without subscribers, 1 when a send blocks until the deadline",
        burst_waited,
    )
    .await;
    s.check(
        "burst-invalid",
        &["DRV-41"],
        "invalid burst parameters answer EINVAL and send nothing",
        burst_invalid,
    )
    .await;
    s.check(
        "drain-deadline",
        &["DRV-13", "DRV-44"],
        "an empty drain stops when quiet, or at its deadline",
        drain_deadline,
    )
    .await;
    s.check(
        "ping-pong",
        &["DRV-70", "DRV-13"],
        "ping_pong times round trips against the raw peer's REP, counts wrong replies, stops at its deadline; bad counts and sizes are EINVAL",
        ping_pong,
    )
    .await;
    s.check(
        "echo",
        &["DRV-69", "DRV-13"],
        "echo sends the raw peer's requests back unchanged and stops at its deadline; a bad count is EINVAL",
        echo,
    )
    .await;
    s.check(
        "sigterm-echo",
        &["DRV-22", "DRV-69"],
        "SIGTERM during an echo waiting for requests: it answers stopped interrupted, then status 0",
        sigterm_echo,
    )
    .await;
    s.check(
        "events",
        &["DRV-45"],
        "events returns monitor events by their lower-case names",
        events,
    )
    .await;
    s.check(
        "close",
        &["DRV-46", "DRV-09"],
        "close answers ok with elapsed_ms; a closed handle is ENOTSOCK",
        close,
    )
    .await;
    s.check(
        "zap",
        &["DRV-48"],
        "zap installs, replaces and removes a handler; bad fields are EINVAL",
        zap,
    )
    .await;
    s.check(
        "join-leave",
        &["DRV-65"],
        "join and leave on a DISH, or unsupported without RADIO/DISH",
        join_leave,
    )
    .await;
    s.check(
        "exit",
        &["DRV-47", "DRV-02"],
        "exit answers ok, the process ends with status 0, nothing more on stdout",
        exit,
    )
    .await;
    s.check(
        "eof",
        &["DRV-23"],
        "end of file on stdin ends the process with status 0",
        eof,
    )
    .await;
    s.check(
        "sigterm-idle",
        &["DRV-22"],
        "SIGTERM while idle ends the process with status 0",
        sigterm_idle,
    )
    .await;
    s.check(
        "sigint-idle",
        &["DRV-22"],
        "SIGINT while idle ends the process with status 0",
        sigint_idle,
    )
    .await;
    s.check(
        "sigterm-recv",
        &["DRV-22"],
        "SIGTERM during a blocked recv: it answers timeout at once, then status 0",
        sigterm_recv,
    )
    .await;
    s.check(
        "sigterm-drain",
        &["DRV-22"],
        "SIGTERM during a drain: it answers stopped interrupted, then status 0",
        sigterm_drain,
    )
    .await;
    s.check(
        "sigterm-send",
        &["DRV-22"],
        "SIGTERM during a send blocked with no peer: it answers at once, then status 0",
        sigterm_send,
    )
    .await;
    let shape = reply_shapes(s);
    s.record("reply-shapes", &["DRV-04", "DRV-07", "DRV-09", "DRV-10"], "every reply of every check: one JSON object, its id, a result, code and message where due, lower-case hex", shape);
    std::mem::take(&mut s.records)
}

// ---- helpers ------------------------------------------------------------------------------

/// Sends a raw line; the reply must carry `expect_id`.
async fn raw(d: &mut DriverProcess, line: &str, expect_id: Option<u64>) -> Result<Reply, Failure> {
    let op = op_of(line).unwrap_or_else(|| "raw line".into());
    Ok(d.send_line(&op, line, expect_id, Duration::from_secs(5))
        .await?)
}

/// Sends a request by op name with these fields.
async fn op(d: &mut DriverProcess, op: &str, fields: Value) -> Result<Reply, Failure> {
    let fields = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Ok(d.request_op(op, fields, Duration::from_secs(15)).await?)
}

/// A bound PULL and a PUSH connected to it: `(push, pull, endpoint)`.
async fn push_pull(d: &mut DriverProcess) -> Result<(String, String, String), Failure> {
    let pull = d.socket("PULL").await?;
    let ep = d.bind(&pull, ANY_PORT).await?;
    let push = d.socket("PUSH").await?;
    let r = d.connect(&push, &ep).await?;
    expect(&r, Outcome::Ok, None)?;
    Ok((push, pull, ep))
}

/// Waits for the process to end and requires status 0.
async fn exits_zero(d: &mut DriverProcess, cx: &Cx, after: &str) -> Result<String, Failure> {
    let t = Instant::now();
    match d.wait_exit(cx.bound(5000)).await? {
        Some(st) if st.code() == Some(0) => Ok(format!(
            "exit status 0 {} ms after {after}",
            t.elapsed().as_millis()
        )),
        Some(st) => Err(Failure(format!(
            "after {after} the process ended with {st}"
        ))),
        None => Err(Failure(format!(
            "still running {} ms after {after}",
            cx.bound(5000).as_millis()
        ))),
    }
}

fn send_signal(d: &DriverProcess, signal: nix::sys::signal::Signal) -> Result<(), Failure> {
    let pid = d.pid().ok_or_else(|| Failure("no pid".into()))?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
        .map_err(|e| Failure(format!("cannot send {signal}: {e}")))
}

fn payload<T: serde::de::DeserializeOwned>(r: &Reply, what: &str) -> Result<T, Failure> {
    r.payload()
        .map_err(|e| Failure(format!("{what} reply fields: {e}")))
}

/// A port on 127.0.0.1 that nobody listens on (bound and released again).
fn closed_port() -> Result<u16, Failure> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure(format!("cannot find a free port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Failure(e.to_string()))
}

// ---- contract and parsing -----------------------------------------------------------------

async fn hello(d: &mut DriverProcess, _: &Cx) -> Checked {
    let r = op(d, "hello", json!({})).await?;
    expect(&r, Outcome::Ok, None)?;
    let h: HelloInfo = payload(&r, "hello")?;
    ensure(h.protocol_version == PROTOCOL_VERSION, || {
        format!(
            "protocol_version {} (expected {PROTOCOL_VERSION})",
            h.protocol_version
        )
    })?;
    for (field, v) in [
        ("implementation", &h.implementation),
        ("version", &h.version),
        ("library", &h.library),
        ("library_version", &h.library_version),
    ] {
        ensure(!v.is_empty(), || format!("hello.{field} is empty"))?;
    }
    let missing: Vec<&str> = REQUIRED_OPS
        .iter()
        .copied()
        .filter(|o| !h.ops.iter().any(|x| x == o))
        .collect();
    ensure(missing.is_empty(), || {
        format!("hello.ops lacks required ops: {}", missing.join(" "))
    })?;
    ensure(h.mechanisms.iter().any(|m| m == "NULL"), || {
        format!("hello.mechanisms {:?} lacks NULL", h.mechanisms)
    })?;
    ensure(
        !h.zmtp.is_empty() && h.zmtp.iter().all(|z| z == "3.0" || z == "3.1"),
        || format!("hello.zmtp {:?}: expected \"3.0\" and/or \"3.1\"", h.zmtp),
    )?;
    ensure(!h.socket_types.is_empty(), || {
        "hello.socket_types is empty".into()
    })?;
    let unknown: Vec<&String> = h
        .options
        .iter()
        .filter(|o| !OPTIONS.iter().any(|(n, _)| n == o))
        .collect();
    ensure(unknown.is_empty(), || {
        format!("hello.options names options protocol 1 does not define: {unknown:?}")
    })?;
    Ok(Passed::Yes(format!(
        "{} socket types, {} options, {} ops, mechanisms {}, ZMTP {}",
        h.socket_types.len(),
        h.options.len(),
        h.ops.len(),
        h.mechanisms.join(","),
        h.zmtp.join(",")
    )))
}

async fn unknown_op(d: &mut DriverProcess, _: &Cx) -> Checked {
    let r = op(d, "zmtp-check-no-such-op", json!({"socket": "s1"})).await?;
    expect(&r, Outcome::Unsupported, None)?;
    ensure(r.message().is_some(), || {
        "unsupported without a message".into()
    })?;
    let r = op(d, "hello", json!({})).await?;
    expect(&r, Outcome::Ok, None)?;
    Ok(Passed::Yes(
        "unsupported, and the driver answers the next request".into(),
    ))
}

async fn unknown_fields(d: &mut DriverProcess, _: &Cx) -> Checked {
    let r = op(
        d,
        "hello",
        json!({"x_future": {"a": [1, 2]}, "flags": null}),
    )
    .await?;
    expect(&r, Outcome::Ok, None)?;
    let s = d.socket("PUSH").await?;
    let r = op(d, "close", json!({"socket": s, "x_future": true})).await?;
    expect(&r, Outcome::Ok, None)?;
    Ok(Passed::Yes(
        "hello and close with extra fields answered ok".into(),
    ))
}

async fn line_endings(d: &mut DriverProcess, _: &Cx) -> Checked {
    let crlf = format!(r#"{{"id":{RAW_ID},"op":"hello"}}"#) + "\r";
    expect(&raw(d, &crlf, Some(RAW_ID)).await?, Outcome::Ok, None)?;
    let id = RAW_ID + 1;
    let blanks = format!("\n\r\n   \n{{\"id\":{id},\"op\":\"hello\"}}");
    expect(&raw(d, &blanks, Some(id)).await?, Outcome::Ok, None)?;
    // A reply to a blank line would arrive now, in place of this one.
    let r = op(d, "hello", json!({})).await?;
    expect(&r, Outcome::Ok, None)?;
    Ok(Passed::Yes(
        "CRLF answered; three blank lines drew no reply".into(),
    ))
}

async fn bad_json(d: &mut DriverProcess, _: &Cx) -> Checked {
    for line in ["{not json", "{\"id\":1,\"op\":\"hello\"", "\u{1}\u{2}"] {
        let r = raw(d, line, None).await?;
        expect(&r, Outcome::Error, Some("EPROTO"))?;
    }
    let r = op(d, "hello", json!({})).await?;
    expect(&r, Outcome::Ok, None)?;
    Ok(Passed::Yes(
        "three malformed lines: error EPROTO with id null; the driver lives on".into(),
    ))
}

async fn not_a_request(d: &mut DriverProcess, _: &Cx) -> Checked {
    for line in [
        "[1,2,3]",
        "\"hello\"",
        r#"{"op":"hello"}"#,
        r#"{"id":"7","op":"hello"}"#,
        r#"{"id":-1,"op":"hello"}"#,
        r#"{"id":1.5,"op":"hello"}"#,
    ] {
        let r = raw(d, line, None).await?;
        expect(&r, Outcome::Error, Some("EPROTO"))?;
    }
    // With a valid id, the reply may carry it (DRV-11).
    let line = format!(r#"{{"id":{RAW_ID},"op":7}}"#);
    let r = match raw(d, &line, None).await {
        Ok(r) => r,
        Err(_) => raw_retry_with_id(d, &line).await?,
    };
    expect(&r, Outcome::Error, Some("EPROTO"))?;
    Ok(Passed::Yes(
        "array, string, no id, string id, negative id, fractional id, numeric op: EPROTO".into(),
    ))
}

/// The numeric-op line again on a fresh process, expecting the request's id in the reply.
async fn raw_retry_with_id(d: &mut DriverProcess, line: &str) -> Result<Reply, Failure> {
    let _ = d.kill().await;
    let mut fresh = DriverProcess::spawn(d.command()).await?;
    let r = raw(&mut fresh, line, Some(RAW_ID)).await;
    let _ = fresh.exit(Duration::from_secs(5)).await;
    r
}

async fn missing_field(d: &mut DriverProcess, _: &Cx) -> Checked {
    let s = d.socket("PULL").await?;
    let cases = [
        ("socket", json!({})),
        ("bind", json!({"socket": s})),
        ("bind", json!({"endpoint": ANY_PORT})),
        ("connect", json!({"socket": s})),
        ("setsockopt", json!({"socket": s, "option": "linger"})),
        ("send", json!({"socket": s})),
        ("send_burst", json!({"socket": s})),
        ("recv", json!({})),
        ("close", json!({})),
    ];
    let mut wrong = Vec::new();
    for (name, fields) in cases {
        let r = op(d, name, fields.clone()).await?;
        if !(r.result == Outcome::Error && r.code() == Some("EINVAL")) {
            wrong.push(format!("{name} {fields}: {}", brief(&r)));
        }
    }
    ensure(wrong.is_empty(), || {
        format!("expected error EINVAL: {}", wrong.join("; "))
    })?;
    Ok(Passed::Yes(
        "9 requests without a required field: error EINVAL".into(),
    ))
}

async fn ill_typed_field(d: &mut DriverProcess, _: &Cx) -> Checked {
    let s = d.socket("PULL").await?;
    let cases = [
        ("socket", json!({"type": 7})),
        ("bind", json!({"socket": s, "endpoint": 5})),
        ("send", json!({"socket": s, "parts_hex": "6869"})),
        ("send", json!({"socket": s, "parts_hex": [1, 2]})),
        ("recv", json!({"socket": s, "timeout_ms": "soon"})),
        ("drain", json!({"socket": s, "quiet_ms": -5})),
        ("send_burst", json!({"socket": s, "count": "many"})),
    ];
    let mut wrong = Vec::new();
    for (name, fields) in cases {
        let r = op(d, name, fields.clone()).await?;
        if !(r.result == Outcome::Error && r.code() == Some("EINVAL")) {
            wrong.push(format!("{name} {fields}: {}", brief(&r)));
        }
    }
    ensure(wrong.is_empty(), || {
        format!("expected error EINVAL: {}", wrong.join("; "))
    })?;
    Ok(Passed::Yes(
        "7 requests with an ill-typed field: error EINVAL".into(),
    ))
}

async fn unknown_socket(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let bogus = "no-such-socket-1";
    let mut cases = vec![
        (
            "setsockopt",
            json!({"socket": bogus, "option": "linger", "value": 0}),
        ),
        ("bind", json!({"socket": bogus, "endpoint": ANY_PORT})),
        (
            "connect",
            json!({"socket": bogus, "endpoint": "tcp://127.0.0.1:1"}),
        ),
        ("send", json!({"socket": bogus, "parts_hex": ["00"]})),
        ("send_burst", json!({"socket": bogus, "count": 1})),
        ("recv", json!({"socket": bogus, "timeout_ms": 0})),
        ("drain", json!({"socket": bogus, "timeout_ms": 0})),
        ("close", json!({"socket": bogus})),
    ];
    for (name, fields) in [
        ("getsockopt", json!({"socket": bogus, "option": "linger"})),
        ("events", json!({"socket": bogus})),
        ("unbind", json!({"socket": bogus, "endpoint": ANY_PORT})),
        ("disconnect", json!({"socket": bogus, "endpoint": ANY_PORT})),
        ("send_part", json!({"socket": bogus, "part_hex": "00"})),
    ] {
        if cx.has_op(name) {
            cases.push((name, fields));
        }
    }
    let n = cases.len();
    let mut wrong = Vec::new();
    for (name, fields) in cases {
        let r = op(d, name, fields).await?;
        if !(r.result == Outcome::Error && r.code() == Some("ENOTSOCK")) {
            wrong.push(format!("{name}: {}", brief(&r)));
        }
    }
    ensure(wrong.is_empty(), || {
        format!("expected error ENOTSOCK: {}", wrong.join("; "))
    })?;
    Ok(Passed::Yes(format!(
        "{n} ops on an unknown handle: error ENOTSOCK"
    )))
}

async fn handles(d: &mut DriverProcess, _: &Cx) -> Checked {
    let mut seen = std::collections::HashSet::new();
    let mut open = Vec::new();
    for _ in 0..40 {
        let h = d.socket("PUSH").await?;
        ensure(seen.insert(h.clone()), || {
            format!("handle {h:?} given twice")
        })?;
        open.push(h);
    }
    for h in open.drain(..20) {
        expect(&d.close(&h, None).await?, Outcome::Ok, None)?;
    }
    for _ in 0..5 {
        let h = d.socket("PULL").await?;
        ensure(seen.insert(h.clone()), || {
            format!("closed handle {h:?} reused")
        })?;
    }
    Ok(Passed::Yes(
        "45 sockets, 40 at once, every handle new".into(),
    ))
}

async fn socket_types(d: &mut DriverProcess, cx: &Cx) -> Checked {
    for ty in &cx.hello.socket_types {
        let r = op(d, "socket", json!({"type": ty})).await?;
        expect(&r, Outcome::Ok, None).map_err(|f| Failure(format!("{ty}: {}", f.0)))?;
    }
    let mut unlisted = Vec::new();
    for ty in SOCKET_TYPES.iter().chain(["BOGUS", "push"].iter()) {
        if cx.has_type(ty) {
            continue;
        }
        let r = op(d, "socket", json!({"type": ty})).await?;
        expect(&r, Outcome::Unsupported, None)
            .map_err(|f| Failure(format!("{ty} (not in hello.socket_types): {}", f.0)))?;
        unlisted.push(*ty);
    }
    Ok(Passed::Yes(format!(
        "created {}; unsupported: {}",
        cx.hello.socket_types.join(" "),
        unlisted.join(" ")
    )))
}

/// A socket type and a value each option accepts in every library that has the option.
fn sample_value(option: &str) -> Option<(&'static str, Value)> {
    let key32 = "11".repeat(32);
    Some(match option {
        "sndhwm" | "rcvhwm" => ("PUSH", json!(1000)),
        "linger" => ("PUSH", json!(0)),
        "reconnect_ivl" => ("PUSH", json!(100)),
        "reconnect_ivl_max" => ("PUSH", json!(0)),
        "connect_timeout" => ("PUSH", json!(1000)),
        "heartbeat_ivl" => ("PUSH", json!(1000)),
        "heartbeat_ttl" | "heartbeat_timeout" => ("PUSH", json!(3000)),
        "handshake_ivl" => ("PUSH", json!(30000)),
        "maxmsgsize" | "sndtimeo" | "rcvtimeo" => ("PUSH", json!(-1)),
        "sndbuf" | "rcvbuf" => ("PUSH", json!(65536)),
        "backlog" => ("PUSH", json!(100)),
        "tcp_keepalive" => ("PUSH", json!(1)),
        "tcp_keepalive_idle" => ("PUSH", json!(60)),
        "tcp_keepalive_intvl" => ("PUSH", json!(10)),
        "tcp_keepalive_cnt" => ("PUSH", json!(5)),
        "immediate" | "ipv6" => ("PUSH", json!(true)),
        "req_relaxed" | "req_correlate" => ("REQ", json!(true)),
        "router_mandatory" | "router_handover" => ("ROUTER", json!(true)),
        "xpub_nodrop" | "xpub_verbose" | "xpub_verboser" | "xpub_manual" => ("XPUB", json!(true)),
        "invert_matching" => ("SUB", json!(true)),
        "probe_router" => ("DEALER", json!(true)),
        "conflate" => ("PULL", json!(true)),
        "plain_server" | "curve_server" => ("PULL", json!(true)),
        "subscribe" | "unsubscribe" => ("SUB", json!("74")),
        "routing_id" => ("DEALER", json!("6964")),
        "plain_username" => ("PUSH", json!("75")),
        "plain_password" => ("PUSH", json!("70")),
        "zap_domain" => ("PULL", json!("676c6f62616c")),
        "curve_publickey" | "curve_secretkey" | "curve_serverkey" => ("PUSH", json!(key32)),
        _ => return None,
    })
}

async fn setsockopt_valid(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let mut set = 0;
    let mut skipped = Vec::new();
    for name in &cx.hello.options {
        let Some((ty, value)) = sample_value(name) else {
            continue;
        };
        if !cx.has_type(ty) {
            skipped.push(format!("{name} (no {ty})"));
            continue;
        }
        let s = d.socket(ty).await?;
        let r = d.setsockopt(&s, name, value.clone()).await?;
        expect(&r, Outcome::Ok, None)
            .map_err(|f| Failure(format!("{name} = {value} on a {ty}: {}", f.0)))?;
        set += 1;
    }
    let s = d.socket("PUSH").await?;
    let mut refused = 0;
    for (name, kind) in OPTIONS {
        if cx.has_option(name) {
            continue;
        }
        let value = match kind {
            OptionKind::Int => json!(1),
            OptionKind::Bool => json!(true),
            OptionKind::Hex => json!("00"),
        };
        let r = d.setsockopt(&s, name, value).await?;
        expect(&r, Outcome::Unsupported, None)
            .map_err(|f| Failure(format!("{name} (not in hello.options): {}", f.0)))?;
        refused += 1;
    }
    let mut detail = format!("{set} listed options set; {refused} unlisted ones unsupported");
    if !skipped.is_empty() {
        detail.push_str(&format!("; not tried: {}", skipped.join(", ")));
    }
    Ok(Passed::Yes(detail))
}

async fn setsockopt_invalid(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("SUB").await?;
    let r = d.setsockopt(&s, "no_such_option", 1).await?;
    expect(&r, Outcome::Unsupported, None)?;
    let mut tried = vec!["no_such_option: unsupported".to_string()];
    let wrong_kind = [
        ("subscribe", json!(5)),
        ("subscribe", json!("zz")),
        ("linger", json!("ten")),
        ("linger", json!(1.5)),
        ("immediate", json!("yes")),
        ("connect_timeout", json!([1])),
    ];
    for (name, value) in wrong_kind {
        if !cx.has_option(name) {
            continue;
        }
        let ty = sample_value(name).map(|(t, _)| t).unwrap_or("PUSH");
        let s = d.socket(ty).await?;
        let r = d.setsockopt(&s, name, value.clone()).await?;
        expect(&r, Outcome::Error, Some("EINVAL"))
            .map_err(|f| Failure(format!("{name} = {value}: {}", f.0)))?;
        tried.push(format!("{name} = {value}: EINVAL"));
    }
    if cx.has_option("subscribe") {
        let r = d.setsockopt(&s, "subscribe", "4A4B").await?;
        expect(&r, Outcome::Ok, None)
            .map_err(|f| Failure(format!("subscribe \"4A4B\": {}", f.0)))?;
        tried.push("subscribe \"4A4B\" (upper-case hex): ok".into());
    }
    Ok(Passed::Yes(tried.join("; ")))
}

async fn curve_options(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let curve = cx.hello.mechanisms.iter().any(|m| m == "CURVE");
    let listed: Vec<&String> = cx
        .hello
        .options
        .iter()
        .filter(|o| o.starts_with("curve_"))
        .collect();
    if curve {
        ensure(listed.len() == 4, || {
            format!("CURVE in mechanisms, but options list only {listed:?}")
        })?;
        return Ok(Passed::Yes(
            "CURVE in mechanisms and all four curve_* options listed".into(),
        ));
    }
    ensure(listed.is_empty(), || {
        format!("no CURVE in mechanisms, but options list {listed:?}")
    })?;
    let s = d.socket("PUSH").await?;
    for name in ["curve_server", "curve_publickey"] {
        let value = if name == "curve_server" {
            json!(true)
        } else {
            json!("11".repeat(32))
        };
        expect(
            &d.setsockopt(&s, name, value).await?,
            Outcome::Unsupported,
            None,
        )
        .map_err(|f| Failure(format!("{name}: {}", f.0)))?;
    }
    Ok(Passed::Unsupported(
        "no CURVE: the curve_* options answer unsupported".into(),
    ))
}

async fn getsockopt(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let (name, value) = if cx.has_option("sndhwm") {
        ("sndhwm", json!(77))
    } else if cx.has_option("routing_id") {
        ("routing_id", json!("6964"))
    } else {
        ("linger", json!(0))
    };
    let ty = sample_value(name).map(|(t, _)| t).unwrap_or("PUSH");
    let s = d.socket(ty).await?;
    let r = op(d, "getsockopt", json!({"socket": s, "option": name})).await?;
    if let Some(v) = cx.optional("getsockopt", &r) {
        return v;
    }
    if cx.has_option(name) {
        expect(
            &d.setsockopt(&s, name, value.clone()).await?,
            Outcome::Ok,
            None,
        )?;
        let r = op(d, "getsockopt", json!({"socket": s, "option": name})).await?;
        expect(&r, Outcome::Ok, None)?;
        ensure(r.fields.get("value") == Some(&value), || {
            format!(
                "{name} set to {value}, read back {:?}",
                r.fields.get("value")
            )
        })?;
    }
    let r = op(
        d,
        "getsockopt",
        json!({"socket": s, "option": "no_such_option"}),
    )
    .await?;
    expect(&r, Outcome::Unsupported, None)
        .map_err(|f| Failure(format!("no_such_option: {}", f.0)))?;
    Ok(Passed::Yes(format!(
        "{name} read back as set; an unknown option is unsupported"
    )))
}

async fn bind(d: &mut DriverProcess, _: &Cx) -> Checked {
    let mut eps = Vec::new();
    for ep in [ANY_PORT, "tcp://127.0.0.1:*"] {
        let s = d.socket("PULL").await?;
        let got = d.bind(&s, ep).await?;
        let port = got
            .strip_prefix("tcp://127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0);
        ensure(port.is_some(), || {
            format!("bind {ep} returned {got:?}, not tcp://127.0.0.1:<port>")
        })?;
        eps.push(got);
    }
    let s = d.socket("PULL").await?;
    let r = op(d, "bind", json!({"socket": s, "endpoint": eps[0]})).await?;
    expect(&r, Outcome::Error, Some("EADDRINUSE"))
        .map_err(|f| Failure(format!("bind to {} again: {}", eps[0], f.0)))?;
    Ok(Passed::Yes(format!(
        "{} and {}; the port again: error {}",
        eps[0],
        eps[1],
        r.code().unwrap_or("")
    )))
}

async fn connect_async(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let port = closed_port()?;
    let s = d.socket("PUSH").await?;
    let t = Instant::now();
    let r = d.connect(&s, &format!("tcp://127.0.0.1:{port}")).await?;
    let took = t.elapsed();
    expect(&r, Outcome::Ok, None)?;
    ensure(took <= cx.bound(500), || {
        format!("connect took {} ms", took.as_millis())
    })?;
    let pending = r.fields.get("pending") == Some(&json!(true));
    Ok(Passed::Yes(format!(
        "ok after {} ms{}",
        took.as_millis(),
        if pending { " (pending: true)" } else { "" }
    )))
}

async fn disconnect_unbind(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let (push, pull, ep) = push_pull(d).await?;
    let mut done = Vec::new();
    for (name, socket, other) in [
        ("unbind", &pull, ep.as_str()),
        ("disconnect", &push, "tcp://127.0.0.1:1"),
    ] {
        let r = op(d, name, json!({"socket": socket, "endpoint": ep})).await?;
        match cx.optional(name, &r) {
            Some(Err(f)) => return Err(f),
            Some(Ok(_)) => done.push(format!("{name} unsupported")),
            None => {
                expect(&r, Outcome::Ok, None)?;
                // Of an endpoint that is not (or no longer) there: libzmq says ENOENT (DRV-16);
                // DRV-37 allows ok too.
                let again = op(d, name, json!({"socket": socket, "endpoint": other})).await?;
                ensure(
                    again.result == Outcome::Ok
                        || (again.result == Outcome::Error && again.code() == Some("ENOENT")),
                    || {
                        format!(
                            "{name} of {other}, which is not there: expected ok or error ENOENT (DRV-16), got {}",
                            brief(&again)
                        )
                    },
                )?;
                done.push(format!("{name} ok; of {other}: {}", brief(&again)));
            }
        }
    }
    if !cx.has_op("unbind") && !cx.has_op("disconnect") {
        return Ok(Passed::Unsupported(done.join("; ")));
    }
    Ok(Passed::Yes(done.join("; ")))
}

// ---- messages -----------------------------------------------------------------------------

async fn send_recv(d: &mut DriverProcess, _: &Cx) -> Checked {
    let (push, pull, _) = push_pull(d).await?;
    let r = op(
        d,
        "send",
        json!({"socket": push, "parts_hex": ["DEADBEEF", "", "00Ff"], "timeout_ms": 3000}),
    )
    .await?;
    expect(&r, Outcome::Ok, None)?;
    let r = d.recv(&pull, 3000).await?;
    expect(&r, Outcome::Ok, None)?;
    let got = r.fields.get("parts_hex");
    ensure(got == Some(&json!(["deadbeef", "", "00ff"])), || {
        format!("sent [DEADBEEF, \"\", 00Ff], received {got:?}")
    })?;
    Ok(Passed::Yes(
        "three frames, one empty, back in lower case".into(),
    ))
}

async fn send_invalid(d: &mut DriverProcess, _: &Cx) -> Checked {
    let (push, pull, _) = push_pull(d).await?;
    for parts in [json!([]), json!(["zz"]), json!(["abc"])] {
        let r = op(
            d,
            "send",
            json!({"socket": push, "parts_hex": parts, "timeout_ms": 500}),
        )
        .await?;
        expect(&r, Outcome::Error, Some("EINVAL"))
            .map_err(|f| Failure(format!("parts_hex {parts}: {}", f.0)))?;
    }
    let r = d.recv(&pull, 300).await?;
    expect(&r, Outcome::Timeout, None)
        .map_err(|f| Failure(format!("after three refused sends, recv: {}", f.0)))?;
    Ok(Passed::Yes(
        "[], [\"zz\"], [\"abc\"]: EINVAL, and nothing arrived".into(),
    ))
}

async fn send_dontwait(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("PUSH").await?;
    d.bind(&s, ANY_PORT).await?;
    let t = Instant::now();
    let r = d.send(&s, &[b"x"], true, 5000).await?;
    let took = t.elapsed();
    ensure(took <= cx.bound(500), || {
        format!("a dontwait send took {} ms", took.as_millis())
    })?;
    match r.result {
        Outcome::WouldBlock => Ok(Passed::Yes(format!(
            "would_block after {} ms",
            took.as_millis()
        ))),
        Outcome::Error => Ok(Passed::Yes(format!(
            "error {} after {} ms (the library refuses at once; not EAGAIN)",
            r.code().unwrap_or(""),
            took.as_millis()
        ))),
        _ => Err(Failure(format!(
            "expected would_block (or the library's error), got {}",
            brief(&r)
        ))),
    }
}

async fn send_deadline(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("PUSH").await?;
    d.bind(&s, ANY_PORT).await?;
    let t = Instant::now();
    let r = d.send(&s, &[b"x"], false, 400).await?;
    let took = t.elapsed();
    match r.result {
        Outcome::Timeout => {
            ensure_at_deadline(cx, took, "timeout_ms", 400)?;
            Ok(Passed::Yes(format!(
                "timeout after {} ms (deadline 400 ms)",
                took.as_millis()
            )))
        }
        Outcome::Error if took <= cx.bound(500) => Ok(Passed::Yes(format!(
            "error {} at once: this library does not block a send with no peer",
            r.code().unwrap_or("")
        ))),
        _ => Err(Failure(format!(
            "expected timeout after 400 ms, got {} after {} ms",
            brief(&r),
            took.as_millis()
        ))),
    }
}

async fn recv_deadline(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("PULL").await?;
    d.bind(&s, ANY_PORT).await?;
    let t = Instant::now();
    let r = d.recv(&s, 400).await?;
    let took = t.elapsed();
    expect(&r, Outcome::Timeout, None)?;
    ensure_at_deadline(cx, took, "timeout_ms", 400)?;
    let t0 = Instant::now();
    let r = d.recv(&s, 0).await?;
    let took0 = t0.elapsed();
    expect(&r, Outcome::Timeout, None)?;
    ensure(took0 <= cx.bound(300), || {
        format!("timeout_ms 0 answered after {} ms", took0.as_millis())
    })?;
    Ok(Passed::Yes(format!(
        "timeout after {} ms (deadline 400), after {} ms with timeout_ms 0",
        took.as_millis(),
        took0.as_millis()
    )))
}

/// The draft types a driver may list that can receive.
const RECEIVING_DRAFT_TYPES: [&str; 6] = ["SERVER", "CLIENT", "DISH", "GATHER", "PEER", "CHANNEL"];

/// Thread-safe sockets often wait differently from the classic types (JeroMQ's have no file
/// descriptor to poll), so a driver's waiting `recv` is checked on each of them.
async fn recv_deadline_draft(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let types: Vec<&str> = RECEIVING_DRAFT_TYPES
        .into_iter()
        .filter(|t| cx.has_type(t))
        .collect();
    if types.is_empty() {
        return Ok(Passed::Unsupported(
            "no draft type that receives in socket_types".into(),
        ));
    }
    for ty in &types {
        let s = d.socket(ty).await?;
        let t = Instant::now();
        let r = d.recv(&s, 200).await?;
        let took = t.elapsed();
        expect(&r, Outcome::Timeout, None).map_err(|f| Failure(format!("{ty}: {}", f.0)))?;
        ensure_at_deadline(cx, took, &format!("{ty}: timeout_ms"), 200)?;
    }
    Ok(Passed::Yes(format!(
        "timeout at the 200 ms deadline on {}",
        types.join(", ")
    )))
}

async fn send_part(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let (push, pull, _) = push_pull(d).await?;
    let r = op(
        d,
        "send_part",
        json!({"socket": push, "part_hex": "AA", "more": true, "timeout_ms": 3000}),
    )
    .await?;
    if let Some(v) = cx.optional("send_part", &r) {
        return v;
    }
    expect(&r, Outcome::Ok, None)?;
    let r = d.recv(&pull, 300).await?;
    expect(&r, Outcome::Timeout, None)
        .map_err(|f| Failure(format!("half a message was delivered: {}", f.0)))?;
    let r = op(
        d,
        "send_part",
        json!({"socket": push, "part_hex": "bb", "timeout_ms": 3000}),
    )
    .await?;
    expect(&r, Outcome::Ok, None)?;
    let r = d.recv(&pull, 3000).await?;
    expect(&r, Outcome::Ok, None)?;
    ensure(
        r.fields.get("parts_hex") == Some(&json!(["aa", "bb"])),
        || {
            format!(
                "received {:?}, expected [aa, bb]",
                r.fields.get("parts_hex")
            )
        },
    )?;
    Ok(Passed::Yes(
        "nothing before the last frame, then [aa, bb]".into(),
    ))
}

async fn burst_drain(d: &mut DriverProcess, _: &Cx) -> Checked {
    let (push, pull, _) = push_pull(d).await?;
    // One message by recv: byte-exact against the reference encoder.
    let one = BurstArgs {
        socket: push.clone(),
        count: 1,
        first_seq: 258,
        topic_hex: "6162".into(),
        size: 30,
        parts: 3,
        prefix_hex: vec![],
        dontwait: false,
        stop_on_would_block: true,
        timeout_ms: 5000,
    };
    let rep = d.send_burst(&one).await?;
    ensure(rep.accepted == 1 && rep.stopped == "complete", || {
        format!("burst of 1: {rep:?}")
    })?;
    let r = d.recv(&pull, 3000).await?;
    expect(&r, Outcome::Ok, None)?;
    let want = burst::encode_message(b"ab", 258, 3, 30);
    let got = r.parts().unwrap_or_default();
    ensure(got == want, || {
        format!(
            "burst message seq 258 (topic ab, size 30, 3 parts) is not byte-exact: got {:?}",
            r.fields.get("parts_hex")
        )
    })?;
    // Many, by drain.
    let many = BurstArgs {
        count: 2000,
        first_seq: 1000,
        topic_hex: String::new(),
        size: 100,
        parts: 2,
        ..one
    };
    let rep: BurstReport = d.send_burst(&many).await?;
    ensure(
        rep.accepted == 2000 && rep.stopped == "complete" && rep.last_accepted_seq == Some(2999),
        || format!("burst of 2000: {rep:?}"),
    )?;
    let (outcome, dr): (Outcome, DrainReport) = d
        .drain(&DrainArgs {
            socket: pull,
            max_messages: 2000,
            quiet_ms: 2000,
            timeout_ms: 10_000,
            strip_prefix: 0,
            other_limit: 16,
        })
        .await?;
    ensure(outcome == Outcome::Ok, || {
        format!("drain answered {outcome}")
    })?;
    let b = &dr.burst;
    ensure(
        dr.messages == 2000
            && dr.stopped == "max_messages"
            && b.count == 2000
            && b.seq_runs == vec![[1000, 2999]]
            && b.duplicates + b.regressions + b.partial + b.malformed + dr.other == 0,
        || {
            format!(
                "drain of the 2000: messages {}, stopped {}, runs {:?}, dup {}, reg {}, partial {}, malformed {}, other {}",
                dr.messages,
                dr.stopped,
                b.seq_runs,
                b.duplicates,
                b.regressions,
                b.partial,
                b.malformed,
                dr.other
            )
        },
    )?;
    Ok(Passed::Yes(format!(
        "seq 258 byte-exact; 2000 × 2 frames in {} ms, drained as [[1000, 2999]]",
        rep.elapsed_us / 1000
    )))
}

async fn burst_invalid(d: &mut DriverProcess, _: &Cx) -> Checked {
    let (push, pull, _) = push_pull(d).await?;
    let cases = [
        json!({"parts": 0}),
        json!({"parts": 1025}),
        json!({"topic_hex": "615a544231"}),
        json!({"topic_hex": "61".repeat(1025)}),
        json!({"size": (16u64 << 20) + 1}),
        json!({"topic_hex": "zz"}),
        json!({"prefix_hex": ["q"]}),
    ];
    for extra in cases {
        let mut fields = json!({"socket": push, "count": 3, "timeout_ms": 1000});
        if let (Value::Object(m), Value::Object(e)) = (&mut fields, &extra) {
            m.extend(e.clone());
        }
        let r = op(d, "send_burst", fields).await?;
        let shown = extra.to_string();
        expect(&r, Outcome::Error, Some("EINVAL"))
            .map_err(|f| Failure(format!("{}: {}", crate::driver_check::cut(&shown, 60), f.0)))?;
    }
    let r = d.recv(&pull, 300).await?;
    expect(&r, Outcome::Timeout, None)
        .map_err(|f| Failure(format!("after refused bursts, recv: {}", f.0)))?;
    Ok(Passed::Yes("parts 0 and 1025, topic with ZTB1, topic of 1025 octets, size 16 MiB + 1, bad hex: EINVAL; nothing sent".into()))
}

async fn drain_deadline(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("PULL").await?;
    d.bind(&s, ANY_PORT).await?;
    let quiet = DrainArgs {
        socket: s.clone(),
        max_messages: UNLIMITED,
        quiet_ms: 300,
        timeout_ms: 5000,
        strip_prefix: 0,
        other_limit: 16,
    };
    let t = Instant::now();
    let (o, rep) = d.drain(&quiet).await?;
    let took = t.elapsed();
    ensure(
        o == Outcome::Timeout && rep.stopped == "quiet" && rep.messages == 0,
        || format!("empty drain (quiet 300 ms): {o}, stopped {}", rep.stopped),
    )?;
    ensure_at_deadline(cx, took, "quiet_ms", 300)?;
    let deadline = DrainArgs {
        quiet_ms: 5000,
        timeout_ms: 400,
        ..quiet
    };
    let t = Instant::now();
    let (o, rep) = d.drain(&deadline).await?;
    let took2 = t.elapsed();
    ensure(o == Outcome::Timeout && rep.stopped == "timeout", || {
        format!("empty drain (timeout 400 ms): {o}, stopped {}", rep.stopped)
    })?;
    ensure(
        took2 >= Duration::from_millis(390) && took2 <= Duration::from_millis(400) + cx.bound(600),
        || format!("timeout_ms 400 answered after {} ms", took2.as_millis()),
    )?;
    Ok(Passed::Yes(format!(
        "stopped quiet after {} ms, stopped timeout after {} ms",
        took.as_millis(),
        took2.as_millis()
    )))
}

/// The raw peer of `socket_type` connected to a new bound `ty` socket of the driver.
async fn with_raw(
    d: &mut DriverProcess,
    ty: &str,
    raw_type: &str,
) -> Result<(String, std::sync::Arc<crate::peer::PeerConn>), Failure> {
    let s = d.socket(ty).await?;
    let ep = d.bind(&s, ANY_PORT).await?;
    let raw = latency::raw_keeping(&ep, raw_type)
        .await
        .map_err(|e| Failure(format!("raw {raw_type} to {ep}: {e}")))?;
    Ok((s, raw))
}

/// The `waited` field of a `send_burst` reply (DRV-71): `None` when the driver leaves it out,
/// a failure when it is there but not a non-negative integer.
fn waited_field(r: &Reply) -> Result<Option<u64>, Failure> {
    match r.fields.get("waited") {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            Failure(format!(
                "waited must be a non-negative integer (DRV-71), got {v}"
            ))
        }),
    }
}

/// A blocking `send_burst` of `count` messages of `size` octets on `socket`: the reply's
/// `accepted`, `stopped` and `waited` (which must be there: the driver reported it before).
async fn blocking_burst(
    d: &mut DriverProcess,
    socket: &str,
    count: u64,
    size: u64,
    timeout_ms: u64,
) -> Result<(u64, String, u64), Failure> {
    let r = op(
        d,
        "send_burst",
        json!({"socket": socket, "count": count, "size": size, "timeout_ms": timeout_ms}),
    )
    .await?;
    expect(&r, Outcome::Ok, None)?;
    let accepted = r
        .fields
        .get("accepted")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let stopped = r
        .fields
        .get("stopped")
        .and_then(Value::as_str)
        .unwrap_or("");
    let waited = waited_field(&r)?
        .ok_or_else(|| Failure("waited was reported for one burst but not for another".into()))?;
    Ok((accepted, stopped.into(), waited))
}

/// `waited` (DRV-71): absent is allowed (UNSUPPORTED); present, it counts sends that could not
/// be taken at once. A PUB without subscribers takes (drops) everything at once: 0. A PUSH
/// without a peer blocks its first message until the deadline: 1, nothing accepted. A library
/// that refuses that send with an error instead (zmq.rs: ENOTCONN) is given a peer that stops
/// reading, so 400 messages of 64 KiB fill the TCP window: a burst cut short by its deadline
/// must have waited.
async fn burst_waited(d: &mut DriverProcess, _: &Cx) -> Checked {
    let publisher = d.socket("PUB").await?;
    d.bind(&publisher, ANY_PORT).await?;
    let r = op(
        d,
        "send_burst",
        json!({"socket": publisher, "count": 100, "timeout_ms": 5000}),
    )
    .await?;
    expect(&r, Outcome::Ok, None)?;
    let Some(free) = waited_field(&r)? else {
        return Ok(Passed::Unsupported(
            "send_burst reports no waited (optional, DRV-71): check.not-blocked judges this \
             driver's send times against each case's bound instead"
                .into(),
        ));
    };
    ensure(free == 0, || {
        format!("100 sends on a PUB without subscribers: waited {free}, expected 0")
    })?;
    let push = d.socket("PUSH").await?;
    d.bind(&push, ANY_PORT).await?;
    let (accepted, stopped, waited) = blocking_burst(d, &push, 3, 0, 300).await?;
    match stopped.as_str() {
        "timeout" => {
            ensure(accepted == 0 && waited == 1, || {
                format!(
                    "a PUSH without a peer, 3 sends, timeout_ms 300: accepted {accepted}, \
                     waited {waited}; expected 0 and 1 (the first send waited, then timed out)"
                )
            })?;
            Ok(Passed::Yes(
                "waited 0 for 100 sends on a PUB without subscribers; 1 for a PUSH without a \
                 peer whose first send blocked until the deadline"
                    .into(),
            ))
        }
        "error" => burst_waited_on_a_full_window(d).await,
        other => Err(Failure(format!(
            "a PUSH without a peer, 3 blocking sends, timeout_ms 300: stopped {other} with \
             {accepted} accepted; expected timeout (or the library's error)"
        ))),
    }
}

/// The second half of [`burst_waited`] for a library whose PUSH refuses a send without a peer:
/// a raw PULL that stops reading.
async fn burst_waited_on_a_full_window(d: &mut DriverProcess) -> Checked {
    let (push, raw) = with_raw(d, "PUSH", "PULL").await?;
    raw.stop_reading();
    let result = blocking_burst(d, &push, 400, 65_536, 1500).await;
    raw.close(crate::peer::CloseHow::Rst).await;
    let (accepted, stopped, waited) = result?;
    match stopped.as_str() {
        "timeout" => {
            ensure(waited >= 1 && waited <= accepted + 1, || {
                format!(
                    "400 sends of 64 KiB to a peer that reads nothing stopped at the deadline \
                     with {accepted} accepted but waited {waited}: expected 1..={}",
                    accepted + 1
                )
            })?;
            Ok(Passed::Yes(format!(
                "waited 0 on a PUB without subscribers; a PUSH without a peer is refused at \
                 once, and toward a peer that reads nothing {accepted} of 400 sends of 64 KiB \
                 were taken before the deadline, {waited} waited"
            )))
        }
        "complete" => Ok(Passed::Yes(format!(
            "waited 0 on a PUB without subscribers; this library never blocks a PUSH (no peer: \
             refused at once; a peer that reads nothing: all 400 sends of 64 KiB taken, \
             waited {waited}), so no send here has to wait"
        ))),
        other => Err(Failure(format!(
            "400 sends of 64 KiB to a peer that reads nothing: stopped {other} with {accepted} \
             accepted; expected timeout or complete"
        ))),
    }
}

/// Requests `fields` of `op` that must each answer `error` `EINVAL`.
async fn all_einval(
    d: &mut DriverProcess,
    op_name: &str,
    cases: Vec<Value>,
) -> Result<(), Failure> {
    for fields in cases {
        let shown = fields.to_string();
        let r = op(d, op_name, fields).await?;
        expect(&r, Outcome::Error, Some("EINVAL")).map_err(|f| {
            Failure(format!(
                "{op_name} {}: {}",
                crate::driver_check::cut(&shown, 60),
                f.0
            ))
        })?;
    }
    Ok(())
}

async fn ping_pong(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let (req, raw) = with_raw(d, "REQ", "REP").await?;
    let r = op(d, "ping_pong", json!({"socket": req, "count": 0})).await?;
    if let Some(v) = cx.optional("ping_pong", &r) {
        raw.close(crate::peer::CloseHow::Rst).await;
        return v;
    }
    expect(&r, Outcome::Error, Some("EINVAL"))?;
    all_einval(
        d,
        "ping_pong",
        vec![
            json!({"socket": req, "count": PING_PONG_MAX_COUNT + 1}),
            json!({"socket": req, "count": 1, "size": PING_PONG_MAX_SIZE + 1}),
            json!({"socket": req, "count": -1}),
        ],
    )
    .await?;
    let args = PingPongArgs {
        socket: req.clone(),
        count: 50,
        size: 100,
        timeout_ms: 10_000,
    };
    let (pp, served) = tokio::join!(
        d.ping_pong(&args),
        latency::raw_echo(&raw, 50, Duration::from_secs(10))
    );
    let (o, rep) = pp?;
    served.map_err(|e| Failure(format!("the raw REP answering: {e}")))?;
    ensure(
        o == Outcome::Ok
            && rep.round_trips == 50
            && rep.rtt_ns.len() == 50
            && rep.mismatched == 0
            && rep.stopped == "complete",
        || {
            format!(
                "50 round trips of 100 octets: {o}, round_trips {}, {} times, mismatched {}, stopped {}",
                rep.round_trips,
                rep.rtt_ns.len(),
                rep.mismatched,
                rep.stopped
            )
        },
    )?;
    let total_us = rep.rtt_ns.iter().sum::<u64>() / 1000;
    ensure(
        rep.rtt_ns.iter().all(|&t| t > 0) && total_us <= rep.elapsed_us + 1000,
        || {
            format!(
                "round-trip times must be positive and within the op: sum {total_us} µs, elapsed_us {}",
                rep.elapsed_us
            )
        },
    )?;
    // Two replies that are not the requests: counted as mismatched, still round trips.
    let wrong = async {
        for n in 1..=2u64 {
            latency::raw_next(&raw, Duration::from_secs(10))
                .await
                .map_err(|e| Failure(format!("the raw REP: {e}")))?
                .ok_or_else(|| {
                    Failure(format!("the raw REP's connection closed at request {n}"))
                })?;
            raw.send_message(&[Vec::new(), b"not it".to_vec()], Duration::from_secs(5))
                .await
                .map_err(|e| Failure(format!("the raw REP: {e}")))?;
        }
        Ok::<_, Failure>(())
    };
    let two = PingPongArgs {
        count: 2,
        ..args.clone()
    };
    let (pp, wrote) = tokio::join!(d.ping_pong(&two), wrong);
    wrote?;
    let (o, bad) = pp?;
    ensure(
        o == Outcome::Ok && bad.round_trips == 2 && bad.mismatched == 2,
        || {
            format!(
                "two wrong replies: {o}, round_trips {}, mismatched {} (expected 2 and 2)",
                bad.round_trips, bad.mismatched
            )
        },
    )?;
    // The raw REP stops answering: the deadline.
    let t = Instant::now();
    let (o, late) = d
        .ping_pong(&PingPongArgs {
            count: 3,
            timeout_ms: 300,
            ..args
        })
        .await?;
    let took = t.elapsed();
    raw.close(crate::peer::CloseHow::Rst).await;
    ensure(
        o == Outcome::Timeout && late.round_trips == 0 && late.stopped == "timeout",
        || {
            format!(
                "no reply (timeout_ms 300): {o}, round_trips {}, stopped {}",
                late.round_trips, late.stopped
            )
        },
    )?;
    ensure_at_deadline(cx, took, "timeout_ms", 300)?;
    let mut sorted = rep.rtt_ns.clone();
    sorted.sort_unstable();
    Ok(Passed::Yes(format!(
        "50 round trips of 100 octets, median {} µs; 2 wrong replies counted; no reply: timeout after {} ms",
        sorted[25] / 1000,
        took.as_millis()
    )))
}

async fn echo(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let (rep, raw) = with_raw(d, "REP", "REQ").await?;
    let r = op(d, "echo", json!({"socket": rep, "count": 0})).await?;
    if let Some(v) = cx.optional("echo", &r) {
        raw.close(crate::peer::CloseHow::Rst).await;
        return v;
    }
    expect(&r, Outcome::Error, Some("EINVAL"))?;
    all_einval(
        d,
        "echo",
        vec![
            json!({"socket": rep, "count": ECHO_MAX_COUNT + 1}),
            json!({"socket": rep, "count": "many"}),
        ],
    )
    .await?;
    let args = EchoArgs {
        socket: rep.clone(),
        count: 20,
        timeout_ms: 10_000,
    };
    let (served, trips) = tokio::join!(
        d.echo(&args),
        latency::raw_ping(&raw, 20, 64, Duration::from_secs(10))
    );
    let (o, report) = served?;
    let trips = trips.map_err(|e| Failure(format!("the raw REQ: {e}")))?;
    ensure(
        o == Outcome::Ok && report.served == 20 && report.stopped == "complete",
        || {
            format!(
                "20 requests: {o}, served {}, stopped {}",
                report.served, report.stopped
            )
        },
    )?;
    ensure(trips.rtt_ns.len() == 20 && trips.mismatched == 0, || {
        format!(
            "the raw REQ got {} replies, {} not its request",
            trips.rtt_ns.len(),
            trips.mismatched
        )
    })?;
    let t = Instant::now();
    let (o, idle) = d
        .echo(&EchoArgs {
            count: 5,
            timeout_ms: 300,
            ..args
        })
        .await?;
    let took = t.elapsed();
    raw.close(crate::peer::CloseHow::Rst).await;
    ensure(
        o == Outcome::Timeout && idle.served == 0 && idle.stopped == "timeout",
        || {
            format!(
                "no request (timeout_ms 300): {o}, served {}, stopped {}",
                idle.served, idle.stopped
            )
        },
    )?;
    ensure_at_deadline(cx, took, "timeout_ms", 300)?;
    Ok(Passed::Yes(format!(
        "20 requests of 64 octets sent back unchanged; no request: timeout after {} ms",
        took.as_millis()
    )))
}

async fn sigterm_echo(d: &mut DriverProcess, cx: &Cx) -> Checked {
    if !cx.has_op("echo") {
        return Ok(Passed::Unsupported("`echo` is not in hello.ops".into()));
    }
    let s = d.socket("REP").await?;
    d.bind(&s, ANY_PORT).await?;
    let args = EchoArgs {
        socket: s,
        count: 5,
        timeout_ms: 10_000,
    };
    let ((_, rep), after) = during_signal(d, cx, async |d| Ok(d.echo(&args).await?)).await?;
    ensure(rep.stopped == "interrupted", || {
        format!("echo stopped {:?}, expected interrupted", rep.stopped)
    })?;
    let exit = exits_zero(d, cx, "the reply").await?;
    Ok(Passed::Yes(format!(
        "echo stopped interrupted {} ms after the signal; {exit}",
        after.as_millis()
    )))
}

async fn events(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let pull = d.socket("PULL").await?;
    let r = op(d, "events", json!({"socket": pull, "timeout_ms": 0})).await?;
    if let Some(v) = cx.optional("events", &r) {
        return v;
    }
    let ep = d.bind(&pull, ANY_PORT).await?;
    let push = d.socket("PUSH").await?;
    expect(&d.connect(&push, &ep).await?, Outcome::Ok, None)?;
    expect(
        &d.send(&push, &[b"e"], false, 3000).await?,
        Outcome::Ok,
        None,
    )?;
    expect(&d.recv(&pull, 3000).await?, Outcome::Ok, None)?;
    let mut names = Vec::new();
    for s in [&pull, &push] {
        let (o, rep): (Outcome, EventsReport) = d.events(s, 1000).await?;
        ensure(o == Outcome::Timeout || !rep.events.is_empty(), || {
            "ok with no events (expected timeout)".into()
        })?;
        for e in &rep.events {
            let own = !EVENT_NAMES.contains(&e.event.as_str());
            let snake = e.event.starts_with(|c: char| c.is_ascii_lowercase())
                && e.event
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            ensure(snake, || {
                format!("event name {:?} is not lower case", e.event)
            })?;
            names.push(if own {
                format!("{} (the library's own)", e.event)
            } else {
                e.event.clone()
            });
        }
    }
    let (o, rep) = d.events(&push, 200).await?;
    ensure(o == Outcome::Timeout || !rep.events.is_empty(), || {
        "ok with no events".into()
    })?;
    if names.is_empty() {
        return Ok(Passed::Yes(
            "no events at all after bind, connect and a message: a library with no such events"
                .into(),
        ));
    }
    Ok(Passed::Yes(format!(
        "after bind, connect and a message: {}",
        names.join(" ")
    )))
}

async fn close(d: &mut DriverProcess, _: &Cx) -> Checked {
    let s = d.socket("PUSH").await?;
    let r = d.close(&s, None).await?;
    expect(&r, Outcome::Ok, None)?;
    ensure(
        r.fields.get("elapsed_ms").is_some_and(Value::is_u64),
        || format!("close reply without an integer elapsed_ms: {:?}", r.fields),
    )?;
    let r = d.close(&s, None).await?;
    expect(&r, Outcome::Error, Some("ENOTSOCK"))
        .map_err(|f| Failure(format!("closing it again: {}", f.0)))?;
    let s2 = d.socket("PUSH").await?;
    let r = d.close(&s2, Some(0)).await?;
    let linger = match r.result {
        Outcome::Ok => "close with linger_ms 0: ok",
        Outcome::Unsupported => {
            expect(&d.close(&s2, None).await?, Outcome::Ok, None).map_err(|f| {
                Failure(format!(
                    "close after an unsupported linger_ms (nothing may have changed): {}",
                    f.0
                ))
            })?;
            "linger_ms unsupported, and the socket was still open"
        }
        _ => return Err(Failure(format!("close with linger_ms 0: {}", brief(&r)))),
    };
    Ok(Passed::Yes(format!(
        "ok with elapsed_ms; again: ENOTSOCK; {linger}"
    )))
}

async fn zap(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let policy = json!({"plain": [{"username": "u", "password": "p"}], "null": true});
    let r = op(d, "zap", policy.clone()).await?;
    if let Some(v) = cx.optional("zap", &r) {
        return v;
    }
    expect(&r, Outcome::Ok, None)?;
    ensure(r.fields.get("replaced") == Some(&json!(false)), || {
        format!("first zap: replaced {:?}", r.fields.get("replaced"))
    })?;
    for bad in [
        json!({"curve": "bogus"}),
        json!({"curve": ["00"]}),
        json!({"plain": [{"username": "u"}]}),
    ] {
        let r = op(d, "zap", bad.clone()).await?;
        expect(&r, Outcome::Error, Some("EINVAL"))
            .map_err(|f| Failure(format!("zap {bad}: {}", f.0)))?;
    }
    let r = op(d, "zap", policy).await?;
    expect(&r, Outcome::Ok, None)?;
    ensure(r.fields.get("replaced") == Some(&json!(true)), || {
        "second zap: replaced is not true (did a refused zap remove the handler?)".into()
    })?;
    let r = op(d, "zap", json!({"remove": true})).await?;
    expect(&r, Outcome::Ok, None)?;
    let counts: Vec<Option<&Value>> = ["requests", "accepted", "refused"]
        .iter()
        .map(|k| r.fields.get(*k))
        .collect();
    ensure(
        r.fields.get("replaced") == Some(&json!(true))
            && counts.iter().all(|c| c.is_some_and(Value::is_u64)),
        || format!("remove: {:?}", r.fields),
    )?;
    Ok(Passed::Yes(
        "installed, bad policies EINVAL (handler kept), replaced, removed with counts".into(),
    ))
}

async fn join_leave(d: &mut DriverProcess, cx: &Cx) -> Checked {
    if !cx.has_type("DISH") {
        let r = op(d, "join", json!({"socket": "s1", "group_hex": "67"})).await?;
        if let Some(v) = cx.optional("join", &r) {
            return v;
        }
        return Err(Failure(format!(
            "no DISH in socket_types, but join answered {}",
            brief(&r)
        )));
    }
    let s = d.socket("DISH").await?;
    for name in ["join", "leave"] {
        let r = op(d, name, json!({"socket": s, "group_hex": "6767"})).await?;
        if let Some(v) = cx.optional(name, &r) {
            return v;
        }
        expect(&r, Outcome::Ok, None).map_err(|f| Failure(format!("{name}: {}", f.0)))?;
    }
    let r = op(d, "join", json!({"socket": s, "group_hex": "zz"})).await?;
    expect(&r, Outcome::Error, Some("EINVAL"))
        .map_err(|f| Failure(format!("join with bad hex: {}", f.0)))?;
    Ok(Passed::Yes(
        "join and leave of group gg on a DISH: ok; bad hex: EINVAL".into(),
    ))
}

// ---- ending -------------------------------------------------------------------------------

async fn exit(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("PUSH").await?;
    if cx.has_option("linger") {
        expect(&d.setsockopt(&s, "linger", 0).await?, Outcome::Ok, None)?;
    }
    let t = Instant::now();
    let st = d.exit(cx.bound(5000)).await?;
    ensure(st.code() == Some(0), || format!("exit status {st}"))?;
    let stray = d.unsolicited_lines(Duration::from_millis(200)).await;
    ensure(stray.is_empty(), || {
        format!("stdout after the exit reply: {stray:?}")
    })?;
    Ok(Passed::Yes(format!(
        "status 0 after {} ms, stdout then closed",
        t.elapsed().as_millis()
    )))
}

async fn eof(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let _ = d.socket("PULL").await?;
    d.close_stdin();
    Ok(Passed::Yes(exits_zero(d, cx, "EOF").await?))
}

async fn sigterm_idle(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let _ = d.socket("PULL").await?;
    send_signal(d, nix::sys::signal::Signal::SIGTERM)?;
    Ok(Passed::Yes(exits_zero(d, cx, "SIGTERM").await?))
}

async fn sigint_idle(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let _ = d.socket("PULL").await?;
    send_signal(d, nix::sys::signal::Signal::SIGINT)?;
    Ok(Passed::Yes(exits_zero(d, cx, "SIGINT").await?))
}

/// Arms SIGTERM 300 ms ahead, runs `pending`, and measures how soon after the signal it answered.
async fn during_signal<T>(
    d: &mut DriverProcess,
    cx: &Cx,
    pending: impl AsyncFnOnce(&mut DriverProcess) -> Result<T, Failure>,
) -> Result<(T, Duration), Failure> {
    let signal = d.signal_term_after(Duration::from_millis(300));
    let out = pending(d).await?;
    let answered = Instant::now();
    let sent = signal
        .await
        .ok()
        .flatten()
        .ok_or_else(|| Failure("the signal could not be sent".into()))?;
    let after = answered.saturating_duration_since(sent);
    ensure(answered > sent, || "answered before the signal".into())?;
    ensure(after <= cx.bound(1000), || {
        format!("answered {} ms after the signal", after.as_millis())
    })?;
    Ok((out, after))
}

async fn sigterm_recv(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("PULL").await?;
    d.bind(&s, ANY_PORT).await?;
    let (r, after) = during_signal(d, cx, async |d| Ok(d.recv(&s, 10_000).await?)).await?;
    expect(&r, Outcome::Timeout, None)?;
    let exit = exits_zero(d, cx, "the reply").await?;
    Ok(Passed::Yes(format!(
        "recv answered timeout {} ms after the signal; {exit}",
        after.as_millis()
    )))
}

async fn sigterm_drain(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("PULL").await?;
    d.bind(&s, ANY_PORT).await?;
    let args = DrainArgs {
        socket: s,
        max_messages: UNLIMITED,
        quiet_ms: 10_000,
        timeout_ms: 10_000,
        strip_prefix: 0,
        other_limit: 16,
    };
    let ((_, rep), after) = during_signal(d, cx, async |d| Ok(d.drain(&args).await?)).await?;
    ensure(rep.stopped == "interrupted", || {
        format!("drain stopped {:?}, expected interrupted", rep.stopped)
    })?;
    let exit = exits_zero(d, cx, "the reply").await?;
    Ok(Passed::Yes(format!(
        "drain stopped interrupted {} ms after the signal; {exit}",
        after.as_millis()
    )))
}

async fn sigterm_send(d: &mut DriverProcess, cx: &Cx) -> Checked {
    let s = d.socket("PUSH").await?;
    d.bind(&s, ANY_PORT).await?;
    let t = Instant::now();
    let first = d.send(&s, &[b"x"], false, 100).await?;
    if first.result == Outcome::Error && t.elapsed() <= cx.bound(500) {
        // The library refuses at once instead of blocking: nothing can be pending.
        send_signal(d, nix::sys::signal::Signal::SIGTERM)?;
        let exit = exits_zero(d, cx, "SIGTERM").await?;
        return Ok(Passed::Yes(format!(
            "a send with no peer is error {} at once here (nothing blocks); {exit}",
            first.code().unwrap_or("")
        )));
    }
    let (r, after) = during_signal(d, cx, async |d| {
        Ok(d.send(&s, &[b"x"], false, 10_000).await?)
    })
    .await?;
    ensure(r.result != Outcome::Ok, || {
        "the blocked send answered ok".into()
    })?;
    let exit = exits_zero(d, cx, "the reply").await?;
    Ok(Passed::Yes(format!(
        "send answered {} {} ms after the signal; {exit}",
        r.result,
        after.as_millis()
    )))
}

// ---- over every reply -----------------------------------------------------------------------

fn reply_shapes(s: &Session) -> Checked {
    let mut bad = Vec::new();
    let mut n = 0;
    for x in &s.exchanged {
        let Ok(v) = serde_json::from_str::<Value>(&x.reply) else {
            if !x.reply.contains("…[") {
                bad.push(format!("not JSON: {}", x.reply));
            }
            continue;
        };
        n += 1;
        if let Some(problem) = reply_problem(&x.request, &v) {
            bad.push(format!(
                "{problem}: {} -> {}",
                crate::driver_check::cut(&x.request, 80),
                crate::driver_check::cut(&x.reply, 120)
            ));
        }
    }
    ensure(bad.is_empty(), || {
        format!("{} of {n} replies: {}", bad.len(), bad.join(" | "))
    })?;
    Ok(Passed::Yes(format!("{n} replies")))
}

/// What is wrong with a reply, judged without knowing the op's own fields.
fn reply_problem(request: &str, v: &Value) -> Option<String> {
    let Value::Object(m) = v else {
        return Some("not an object".into());
    };
    let req_id = serde_json::from_str::<Value>(request)
        .ok()
        .and_then(|r| r.get("id").and_then(Value::as_u64));
    match m.get("id") {
        Some(Value::Null) => {}
        Some(id) if id.as_u64().is_some() && id.as_u64() == req_id => {}
        other => return Some(format!("id {other:?}, request id {req_id:?}")),
    }
    let result = m.get("result").and_then(Value::as_str).unwrap_or("");
    match result {
        "ok" | "would_block" | "timeout" => {}
        "unsupported" if m.get("message").is_some_and(Value::is_string) => {}
        "error" => {
            let code = m.get("code").and_then(Value::as_str).unwrap_or("");
            let mut chars = code.chars();
            let upper = chars.next() == Some('E')
                && chars.next().is_some_and(|c| c.is_ascii_uppercase())
                && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !upper || !m.get("message").is_some_and(Value::is_string) {
                return Some(format!(
                    "error with code {code:?} and message {:?}",
                    m.get("message")
                ));
            }
        }
        other => return Some(format!("result {other:?}")),
    }
    let mut hex_bad = None;
    visit_hex(v, &mut |s| {
        if s.chars().any(|c| c.is_ascii_uppercase()) {
            hex_bad = Some(format!("upper-case hex {s:?}"));
        }
    });
    hex_bad
}

/// Calls `f` with every string inside a field whose name ends in `_hex`.
fn visit_hex(v: &Value, f: &mut impl FnMut(&str)) {
    fn strings(v: &Value, f: &mut impl FnMut(&str)) {
        match v {
            Value::String(s) => f(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, f)),
            Value::Object(m) => m.values().for_each(|x| strings(x, f)),
            _ => {}
        }
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k.ends_with("_hex") {
                    strings(x, f);
                } else {
                    visit_hex(x, f);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| visit_hex(x, f)),
        _ => {}
    }
}

/// A request whose `field` is `ms` and that gets nothing must answer at that deadline: no more
/// than 10 ms early (timer allowance), and no later than the deadline plus the scaled reply
/// bound for a loaded machine. The failure says `<field> <ms> answered after <took> ms`.
fn ensure_at_deadline(cx: &Cx, took: Duration, field: &str, ms: u64) -> Result<(), Failure> {
    ensure(
        took >= Duration::from_millis(ms.saturating_sub(10))
            && took <= Duration::from_millis(ms) + cx.bound(600),
        || format!("{field} {ms} answered after {} ms", took.as_millis()),
    )
}
