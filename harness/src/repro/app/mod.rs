//! The application side of a reproducer, in the implementation's own binding: the case's
//! socket type and options, bind or connect, then a loop printing what it receives. pyzmq
//! ([`pyzmq`], for libzmq and pyzmq) is complete and runnable; the others ([`rust`], [`go`],
//! [`java`], [`node`]) are templates that compile as written and mark what to fill with
//! `TODO`.

pub mod go;
pub mod java;
pub mod node;
pub mod pyzmq;
pub mod rust;

use super::plan::ReproPlan;
use zmtp_driver_protocol::OptionValue;

/// The binding an application is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// pyzmq (libzmq), Python.
    Pyzmq,
    /// zmq.rs (`zeromq` crate), Rust.
    ZmqRs,
    /// rzmq, Rust.
    Rzmq,
    /// zmq4 (go-zeromq), Go.
    Zmq4,
    /// JeroMQ, Java.
    Jeromq,
    /// zeromq.js, Node.
    ZeromqJs,
}

impl Binding {
    /// The binding for an `--iut` name; pyzmq for libzmq and for a driver command line.
    pub fn for_iut(iut: &str) -> Binding {
        match iut {
            "zmqrs" => Binding::ZmqRs,
            "rzmq" => Binding::Rzmq,
            "zmq4" => Binding::Zmq4,
            "jeromq" => Binding::Jeromq,
            "zeromqjs" => Binding::ZeromqJs,
            _ => Binding::Pyzmq,
        }
    }

    /// The file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Binding::Pyzmq => "py",
            Binding::ZmqRs | Binding::Rzmq => "rs",
            Binding::Zmq4 => "go",
            Binding::Jeromq => "java",
            Binding::ZeromqJs => "mjs",
        }
    }
}

/// An application file.
#[derive(Debug, Clone)]
pub struct App {
    /// Its binding.
    pub binding: Binding,
    /// Its text.
    pub text: String,
    /// Whether it runs as written (false: a template with `TODO`s).
    pub complete: bool,
    /// How to build and run it (a shell command, `ENDPOINT` stands for the address).
    pub run: String,
    /// What it needs installed.
    pub needs: String,
}

impl App {
    /// `app.py`, `app.go` …; JeroMQ's class file is `App.java`.
    pub fn file_name(&self) -> String {
        match self.binding {
            Binding::Jeromq => "App.java".into(),
            b => format!("app.{}", b.extension()),
        }
    }
}

/// Whether the socket type receives (PUB and PUSH only send).
pub fn receives(socket_type: &str) -> bool {
    !matches!(socket_type.to_ascii_uppercase().as_str(), "PUB" | "PUSH")
}

/// Whether the application binds (false: it connects to the raw peer).
pub fn binds(plan: &ReproPlan) -> bool {
    !plan.peer_listens()
}

/// An option's value as text for a comment: integers and booleans as such, octets as text
/// when printable, else hex.
pub fn shown(v: &OptionValue) -> String {
    match v {
        OptionValue::Int(i) => i.to_string(),
        OptionValue::Bool(b) => b.to_string(),
        OptionValue::Bytes(b) if b.iter().all(|c| (0x20..0x7f).contains(c)) => {
            format!("{:?}", String::from_utf8_lossy(b))
        }
        OptionValue::Bytes(b) => format!("hex {}", hex::encode(b)),
    }
}

/// The application for the plan, in the binding of `iut`.
pub fn write(plan: &ReproPlan, iut: &str) -> App {
    match Binding::for_iut(iut) {
        Binding::Pyzmq => pyzmq::write(plan),
        Binding::ZmqRs => rust::write_zmqrs(plan),
        Binding::Rzmq => rust::write_rzmq(plan),
        Binding::Zmq4 => go::write(plan),
        Binding::Jeromq => java::write(plan),
        Binding::ZeromqJs => node::write(plan),
    }
}
