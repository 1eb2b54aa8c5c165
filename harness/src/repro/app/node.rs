//! `app.mjs`: the application side in Node with zeromq.js (v6). A template: the socket, the
//! options zeromq.js names, bind or connect and the receive loop are written; other options
//! are `TODO`.

use super::{App, Binding, binds, receives, shown};
use crate::repro::plan::ReproPlan;
use std::fmt::Write as _;
use zmtp_driver_protocol::OptionValue;

/// zeromq.js's class for a socket type.
fn class(socket_type: &str) -> &'static str {
    match socket_type.to_ascii_uppercase().as_str() {
        "PAIR" => "Pair",
        "PUB" => "Publisher",
        "SUB" => "Subscriber",
        "REQ" => "Request",
        "REP" => "Reply",
        "ROUTER" => "Router",
        "PULL" => "Pull",
        "PUSH" => "Push",
        "XPUB" => "XPublisher",
        "XSUB" => "XSubscriber",
        _ => "Dealer",
    }
}

/// zeromq.js's property for an option.
fn property(name: &str) -> Option<&'static str> {
    Some(match name {
        "sndhwm" => "sendHighWaterMark",
        "rcvhwm" => "receiveHighWaterMark",
        "linger" => "linger",
        "routing_id" => "routingId",
        "immediate" => "immediate",
        "reconnect_ivl" => "reconnectInterval",
        "reconnect_ivl_max" => "reconnectMaxInterval",
        "heartbeat_ivl" => "heartbeatInterval",
        "heartbeat_ttl" => "heartbeatTimeToLive",
        "heartbeat_timeout" => "heartbeatTimeout",
        "handshake_ivl" => "handshakeInterval",
        "maxmsgsize" => "maxMessageSize",
        _ => return None,
    })
}

/// The text of `app.mjs`.
pub fn write(plan: &ReproPlan) -> App {
    let mut options = String::new();
    let mut complete = true;
    for (name, v) in &plan.options {
        let value = match v {
            OptionValue::Int(i) => i.to_string(),
            OptionValue::Bool(b) => b.to_string(),
            OptionValue::Bytes(b) => format!("Buffer.from({:?}, \"hex\")", hex::encode(b)),
        };
        let line = match (name.as_str(), property(name)) {
            ("subscribe", _) => format!("s.subscribe({value});"),
            (_, Some(p)) => format!("s.{p} = {value};"),
            _ => {
                complete = false;
                format!(
                    "// TODO: set option {name} = {} (the case sets it; find zeromq.js's property)",
                    shown(v)
                )
            }
        };
        let _ = writeln!(options, "{line}");
    }
    let (verb, call) = if binds(plan) {
        ("bind", "await s.bind(endpoint);")
    } else {
        ("connect", "s.connect(endpoint);")
    };
    let recv = if receives(&plan.socket.socket_type) {
        "try {\n  for await (const frames of s) {\n    console.log(\"received [\" + frames.map((f) => f.toString(\"hex\")).join(\", \") + \"]\");\n  }\n} catch (e) {\n  if (!s.closed) throw e;\n}"
    } else {
        "// this socket type only sends"
    };
    let text = format!(
        r#"// The application side of {case} in Node with zeromq.js: a {ty} socket that {verb}s.
// npm install zeromq@6 && node app.mjs tcp://127.0.0.1:5555
import * as zmq from "zeromq";

const endpoint = process.argv[2] ?? "tcp://127.0.0.1:5555";
const s = new zmq.{class}();
{options}{call}
console.log("{verb} " + endpoint);
setTimeout(() => s.close(), 30_000);
{recv}
"#,
        case = plan.case,
        ty = plan.socket.socket_type,
        class = class(&plan.socket.socket_type),
    );
    App {
        binding: Binding::ZeromqJs,
        text,
        complete,
        run: "node app.mjs ENDPOINT".into(),
        needs: "Node 18+ and zeromq@6 (npm)".into(),
    }
}
