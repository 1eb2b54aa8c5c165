//! `app.rs`: the application side in Rust, for zmq.rs (the `zeromq` crate) and rzmq.
//! Templates: the socket, bind or connect and the receive loop are written; options other
//! than a subscription are left as `TODO` lines naming the value.

use super::{App, Binding, binds, receives, shown};
use crate::repro::plan::ReproPlan;
use std::fmt::Write as _;
use zmtp_driver_protocol::OptionValue;

/// `Dealer` for `DEALER`, `XPub` for `XPUB`.
fn camel(socket_type: &str) -> String {
    let t = socket_type.to_ascii_uppercase();
    match t.as_str() {
        "XPUB" => "XPub".into(),
        "XSUB" => "XSub".into(),
        _ => t[..1].to_string() + &t[1..].to_ascii_lowercase(),
    }
}

/// The options as lines: a subscription through `subscribe`, the rest `TODO` comments.
fn options(plan: &ReproPlan, subscribe: &str) -> String {
    let mut out = String::new();
    for (name, v) in &plan.options {
        match (name.as_str(), v) {
            ("subscribe", OptionValue::Bytes(b)) => {
                let _ = writeln!(
                    out,
                    "    {}",
                    subscribe.replace("TOPIC", &format!("{:?}", String::from_utf8_lossy(b)))
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "    // TODO: set option {name} = {} (the case sets it; this binding's API for it is not written here)",
                    shown(v)
                );
            }
        }
    }
    out
}

/// The text of `app.rs` for zmq.rs.
pub fn write_zmqrs(plan: &ReproPlan) -> App {
    let ty = camel(&plan.socket.socket_type);
    let verb = if binds(plan) { "bind" } else { "connect" };
    let recv = if receives(&plan.socket.socket_type) {
        "        match tokio::time::timeout_at(end, s.recv()).await {\n            Ok(Ok(m)) => println!(\"received {m:?}\"),\n            Ok(Err(e)) => return Err(e.into()),\n            Err(_) => return Ok(()),\n        }"
    } else {
        "        tokio::time::sleep_until(end).await; // this socket type only sends\n        return Ok(());"
    };
    let text = format!(
        r#"//! The application side of {case} in zmq.rs: a {upper} socket that {verb}s.
//! Cargo.toml: zeromq = "0.7", tokio = {{ version = "1", features = ["full"] }}
//! Run: cargo run -- tcp://127.0.0.1:5555
use zeromq::{{Socket, SocketRecv}};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {{
    let endpoint = std::env::args().nth(1).unwrap_or_else(|| "tcp://127.0.0.1:5555".into());
    let mut s = zeromq::{ty}Socket::new();
{options}    s.{verb}(&endpoint).await?;
    println!("{verb} {{endpoint}}");
    let end = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {{
{recv}
    }}
}}
"#,
        case = plan.case,
        upper = plan.socket.socket_type,
        options = options(plan, "s.subscribe(TOPIC).await?;"),
    );
    App {
        binding: Binding::ZmqRs,
        complete: plan.options.iter().all(|(n, _)| n == "subscribe"),
        text,
        run: "cargo run -- ENDPOINT".into(),
        needs: "Rust with the zeromq (zmq.rs) and tokio crates".into(),
    }
}

/// The text of `app.rs` for rzmq.
pub fn write_rzmq(plan: &ReproPlan) -> App {
    let upper = plan.socket.socket_type.to_ascii_uppercase();
    let verb = if binds(plan) { "bind" } else { "connect" };
    let recv = if receives(&upper) {
        "        match tokio::time::timeout_at(end, s.recv_multipart()).await {\n            Ok(Ok(m)) => println!(\"received {:?}\", m.iter().map(|p| p.data().unwrap_or(&[]).to_vec()).collect::<Vec<_>>()),\n            Ok(Err(e)) => return Err(e.into()),\n            Err(_) => return Ok(()),\n        }"
    } else {
        "        tokio::time::sleep_until(end).await; // this socket type only sends\n        return Ok(());"
    };
    let text = format!(
        r#"//! The application side of {case} in rzmq: a {upper} socket that {verb}s.
//! Cargo.toml: rzmq = "0.5", tokio = {{ version = "1", features = ["full"] }}
//! Run: cargo run -- tcp://127.0.0.1:5555
use rzmq::{{Context, SocketType}};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {{
    let endpoint = std::env::args().nth(1).unwrap_or_else(|| "tcp://127.0.0.1:5555".into());
    let ctx = Context::new()?;
    let s = ctx.socket(SocketType::{ty})?;
{options}    s.{verb}(&endpoint).await?;
    println!("{verb} {{endpoint}}");
    let end = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {{
{recv}
    }}
}}
"#,
        case = plan.case,
        ty = camel(&upper),
        options = options(
            plan,
            "s.set_option_raw(rzmq::socket::options::SUBSCRIBE, TOPIC.as_bytes()).await?;"
        ),
    );
    App {
        binding: Binding::Rzmq,
        complete: plan.options.iter().all(|(n, _)| n == "subscribe"),
        text,
        run: "cargo run -- ENDPOINT".into(),
        needs: "Rust with the rzmq and tokio crates".into(),
    }
}
