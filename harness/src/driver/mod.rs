//! Driver processes: spawning, the JSON-lines client, and the built-in drivers.
//!
//! The protocol is specified in `spec/driver-protocol.md`; its types live in the
//! `zmtp-driver-protocol` crate, re-exported here as [`protocol`].

pub mod client;
pub mod listing;
pub mod manifest;
pub mod registry;

pub use client::{DriverError, DriverProcess, TranscriptEntry};
pub use registry::{DriverCommand, is_named, named_drivers, resolve, resolve_with};
pub use zmtp_driver_protocol as protocol;

use std::process::ExitCode;

/// Runs the built-in driver `name` (`libzmq`, `zmqrs` or `rzmq`) on this process's stdin/stdout, so
/// `zmtp-harness driver NAME` needs nothing else built.
pub fn run_builtin(name: &str) -> ExitCode {
    match name {
        "libzmq" => zmtp_driver_libzmq::run(),
        "zmqrs" => zmtp_driver_zmqrs::run(),
        "rzmq" => zmtp_driver_rzmq::run(),
        other => {
            eprintln!("no built-in driver named {other:?} (built in: libzmq, zmqrs, rzmq)");
            ExitCode::from(2)
        }
    }
}
