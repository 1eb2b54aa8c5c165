//! Decode throughput benchmark (placeholder until the criterion suite lands).
fn main() {}
