//! The driver protocol of the ZMTP conformance harness (`spec/driver-protocol.md`).
//!
//! A driver is a small program that puts one ZeroMQ implementation under the harness's control:
//! it reads JSON requests, one per line, on stdin and writes one JSON reply per line on stdout.
//! This crate holds the serde types of requests and replies ([`messages`]), the option table
//! ([`options`]), the burst payload format ([`burst`]) and the drain accumulator ([`drain`]) and
//! the ZAP handler policy of the `zap` op ([`zap`]), and the sans-IO burst runner and drain stop
//! policy the Rust drivers share ([`runner`]), and the [`Driver`] trait a Rust driver implements
//! with its library calls, with the one [`dispatch`] and request loop ([`serve`]) they all run on,
//! and the round-trip ops `echo` and `ping_pong` ([`roundtrip`]).
//! The Rust drivers and the harness both use it; drivers in other languages follow the spec.

pub mod burst;
pub mod drain;
pub mod driver;
pub mod messages;
pub mod options;
pub mod roundtrip;
pub mod runner;
pub mod serve;
pub mod zap;

pub use drain::{DrainAccumulator, DrainReport};
pub use driver::{
    Applied, Connected, Driver, EventLog, Fault, Flow, OpResult, Parts, Sent, ZapChange, dispatch,
};
pub use messages::*;
pub use options::{OPTIONS, OptionKind, OptionValue, option_kind, parse_option_value};
pub use roundtrip::{EchoArgs, EchoReport, PingPongArgs, PingPongReport, RoundTripError};
pub use zap::{ZAP_ENDPOINT, ZapArgs, ZapPolicy, ZapStats};
