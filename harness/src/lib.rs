//! The ZMTP conformance harness: drives implementations under test through driver processes,
//! plays the raw ZMTP peer itself, and judges what it sees against `spec/`.

pub mod baseline;
pub mod coverage;
pub mod dissect;
pub mod driver;
pub mod driver_check;
pub mod engine;
pub mod explain;
pub mod html;
pub mod markdown;
pub mod memory;
pub mod netfuzz;
pub mod netns;
pub mod pcap;
pub mod peer;
pub mod perf;
pub mod probe;
pub mod registry;
pub mod replay_case;
pub mod report;
pub mod repro;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod socket_types;
pub mod verdict;

/// The golden vectors: their model and runner live in the `zmtp-vectors` crate.
pub use zmtp_vectors as vectors;
