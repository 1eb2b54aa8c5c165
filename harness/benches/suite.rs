//! How long the suites take, measured as a benchmark (never as a timed test).
//!
//! `cargo bench -p zmtp-harness --bench suite [-- IUT...]` runs the seed suite and the wire
//! suite against each implementation (default: libzmq, zmqrs, pyzmq) `ROUNDS` times with the
//! release build of `zmtp-harness`, and prints wall time min / median / max per suite.
//! Targets: the seed suite against libzmq under 20 s, the wire suite under 2 minutes per
//! implementation, on a 2-core machine.

use std::process::Command;
use std::time::Instant;

const ROUNDS: usize = 3;

fn main() {
    let exe = env!("CARGO_BIN_EXE_zmtp-harness");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let iuts: Vec<String> = if args.is_empty() {
        vec!["libzmq".into(), "zmqrs".into(), "pyzmq".into()]
    } else {
        args
    };
    println!("suite timings, {ROUNDS} rounds each ({exe})");
    for iut in &iuts {
        for tag in ["seed", "wire"] {
            let mut times = Vec::new();
            let mut cases = String::new();
            for _ in 0..ROUNDS {
                let start = Instant::now();
                let out = Command::new(exe)
                    .args([
                        "run",
                        "--iut",
                        iut,
                        "--tag",
                        tag,
                        "--no-baseline",
                        "--brief",
                    ])
                    .output();
                let secs = start.elapsed().as_secs_f64();
                match out {
                    Ok(o) => {
                        let text = String::from_utf8_lossy(&o.stdout);
                        if let Some(line) = text.lines().next() {
                            cases = line.split(" · ").last().unwrap_or("").to_string();
                        }
                        times.push(secs);
                    }
                    Err(e) => {
                        eprintln!("{iut} {tag}: cannot run the harness: {e}");
                        break;
                    }
                }
            }
            times.sort_by(f64::total_cmp);
            if let (Some(min), Some(max)) = (times.first(), times.last()) {
                let median = times[times.len() / 2];
                println!(
                    "{iut:<8} {tag:<5} min {min:6.2} s  median {median:6.2} s  max {max:6.2} s   ({cases})"
                );
            }
        }
    }
}
