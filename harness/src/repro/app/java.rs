//! `App.java`: the application side in Java with JeroMQ. A template: the socket, the
//! options JeroMQ has setters for, bind or connect and the receive loop are written; other
//! options are `TODO`.

use super::{App, Binding, binds, receives, shown};
use crate::repro::plan::ReproPlan;
use std::fmt::Write as _;
use zmtp_driver_protocol::OptionValue;

/// JeroMQ's setter for an integer option.
fn setter(name: &str) -> Option<&'static str> {
    Some(match name {
        "sndhwm" => "setSndHWM",
        "rcvhwm" => "setRcvHWM",
        "linger" => "setLinger",
        "reconnect_ivl" => "setReconnectIVL",
        "reconnect_ivl_max" => "setReconnectIVLMax",
        "heartbeat_ivl" => "setHeartbeatIvl",
        "heartbeat_ttl" => "setHeartbeatTtl",
        "heartbeat_timeout" => "setHeartbeatTimeout",
        "handshake_ivl" => "setHandshakeIvl",
        "maxmsgsize" => "setMaxMsgSize",
        _ => return None,
    })
}

/// A Java byte array from octets.
fn java_bytes(b: &[u8]) -> String {
    let items: Vec<String> = b.iter().map(|c| format!("(byte) {c}")).collect();
    format!("new byte[] {{{}}}", items.join(", "))
}

/// The text of `App.java`.
pub fn write(plan: &ReproPlan) -> App {
    let mut options = String::new();
    let mut complete = true;
    for (name, v) in &plan.options {
        let line = match (name.as_str(), v) {
            ("subscribe", OptionValue::Bytes(b)) => format!("s.subscribe({});", java_bytes(b)),
            ("routing_id", OptionValue::Bytes(b)) => format!("s.setIdentity({});", java_bytes(b)),
            ("immediate", OptionValue::Bool(b)) => format!("s.setImmediate({b});"),
            (n, OptionValue::Int(i)) if setter(n).is_some() => {
                format!("s.{}({i});", setter(n).unwrap_or_default())
            }
            _ => {
                complete = false;
                format!(
                    "// TODO: set option {name} = {} (the case sets it; find JeroMQ's setter)",
                    shown(v)
                )
            }
        };
        let _ = writeln!(options, "            {line}");
    }
    let verb = if binds(plan) { "bind" } else { "connect" };
    let recv = if receives(&plan.socket.socket_type) {
        "                byte[] m = s.recv();\n                if (m != null) {\n                    StringBuilder h = new StringBuilder();\n                    for (byte b : m) h.append(String.format(\"%02x\", b));\n                    System.out.println(\"received \" + h + (s.hasReceiveMore() ? \" (more)\" : \"\"));\n                }"
    } else {
        "                Thread.sleep(100); // this socket type only sends"
    };
    let text = format!(
        r#"// The application side of {case} in Java with JeroMQ: a {ty} socket that {verb}s.
// javac -cp jeromq-0.6.0.jar App.java && java -cp jeromq-0.6.0.jar:. App tcp://127.0.0.1:5555
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

public class App {{
    public static void main(String[] args) throws Exception {{
        String endpoint = args.length > 0 ? args[0] : "tcp://127.0.0.1:5555";
        try (ZContext ctx = new ZContext()) {{
            ZMQ.Socket s = ctx.createSocket(SocketType.{ty});
{options}            s.{verb}(endpoint);
            System.out.println("{verb} " + endpoint);
            s.setReceiveTimeOut(100);
            long end = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < end) {{
{recv}
            }}
        }}
    }}
}}
"#,
        case = plan.case,
        ty = plan.socket.socket_type.to_ascii_uppercase(),
    );
    App {
        binding: Binding::Jeromq,
        text,
        complete,
        run: "java -cp jeromq-0.6.0.jar:. App ENDPOINT".into(),
        needs: "Java 11+ and the JeroMQ jar".into(),
    }
}
