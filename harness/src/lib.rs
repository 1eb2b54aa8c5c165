//! The ZMTP conformance harness: drives implementations under test through driver processes,
//! plays the raw ZMTP peer itself, and judges what it sees against `spec/`.

pub mod dissect;
pub mod driver;
pub mod peer;
pub mod registry;
pub mod vectors;
