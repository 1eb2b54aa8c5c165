//! `cargo bench -p zmtp-harness --bench raw_peer`: is the raw peer ever the bottleneck?
//!
//! The raw peer as a sink for a libzmq PUSH against a libzmq PULL receiving from a libzmq
//! PUSH, and the raw peer as a source against that libzmq PUSH, in interleaved rounds (see
//! `zmtp_harness::perf::ratio`). Prints the rates and the per-round ratios with their goals
//! (≥ 0.9 up to 64 octets, ≥ 0.95 from 1 KiB). A measurement, never an assertion: a ratio
//! that misses its goal is printed as `NO`. `ZMTP_BENCH_ROUNDS` (default 7) and
//! `ZMTP_BENCH_RUN_MS` (default 1000) set the rounds per size and one transfer's length.
//! The same measurement is `zmtp-harness perf --ratios`.

use std::path::Path;
use std::time::Duration;
use zmtp_harness::perf::ratio;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it with no argument: then
    // only check that it starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("raw_peer: run with `cargo bench -p zmtp-harness --bench raw_peer`");
        return;
    }
    let exe = Path::new(env!("CARGO_BIN_EXE_zmtp-harness"));
    let libzmq = match zmtp_harness::driver::resolve_with("libzmq", exe) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raw_peer: cannot start the libzmq driver: {e}");
            std::process::exit(2);
        }
    };
    let config = ratio::RatioConfig {
        libzmq,
        sizes: vec![1, 64, 1024, 65536],
        rounds: env_or("ZMTP_BENCH_ROUNDS", 7) as usize,
        transfer: Duration::from_millis(env_or("ZMTP_BENCH_RUN_MS", 1000)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(ratio::run(&config, |_| {})) {
        Ok(report) => print!("{}", ratio::render(&report)),
        Err(e) => {
            eprintln!("raw_peer: {e}");
            std::process::exit(2);
        }
    }
}
