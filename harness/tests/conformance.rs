//! The whole suite against every implementation that has a driver manifest
//! (`drivers/*/driver.toml`), compared with its reviewed baseline (`baselines/<iut>.toml`), and
//! the cases that start a second process (`--tag pair`) across implementations: each stack
//! against libzmq in both directions (`baselines/<a>+<b>.toml`). A verdict that moves either
//! way fails the test, with the report.
//!
//! Drivers build on first use (`zmtp-harness run --iut NAME` does it). A driver whose toolchain
//! is missing is skipped with the reason, except under CI (`CI` set), where every toolchain must
//! be there. The runs go one after the other, so timing-bound cases do not compete with each
//! other for the machine's cores.
//!
//! Some libraries race with themselves: JeroMQ's connecting socket sometimes never sends its
//! greeting (JQ-01, about one case in forty), zmq4's and rzmq's timers land on either side of a
//! bound (`also` entries in their baselines). So every run has `--retry 2`: a case that
//! deviates from its baseline is run again, alone, up to twice more, and only a case that
//! deviates every time fails the test; the harness prints the flaky ones with every verdict, so
//! a library that starts flaking is visible.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use zmtp_harness::driver::manifest::{self, State};

/// The implementation every other one is paired with.
const REFERENCE: &str = "libzmq";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Retries for a case that deviates from its baseline (`run --retry`).
const RETRIES: &str = "2";

/// Runs the harness with `args` (and `--retry`); `None` when the run matched its baseline,
/// else the failure with the whole report text.
fn run(root: &Path, label: &str, args: &[&str]) -> Option<String> {
    let out_dir = root.join("target").join("conformance");
    std::fs::create_dir_all(&out_dir).unwrap();
    let json = out_dir.join(format!("{label}.json"));
    let junit = out_dir.join(format!("{label}.xml"));
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"));
    command
        .current_dir(root)
        .arg("run")
        .args(args)
        .arg("--retry")
        .arg(RETRIES);
    let out = command
        .arg("--brief")
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .expect("zmtp-harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = stdout.lines().rev().take(24).collect();
    println!(
        "{label}: exit {:?} in {:.1} s\n{}",
        out.status.code(),
        started.elapsed().as_secs_f64(),
        summary.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    (!out.status.success()).then(|| {
        format!(
            "{label} (exit {:?}): the run differs from its baseline; report in {}\n{}\n{}",
            out.status.code(),
            json.display(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The drivers that can run here; the others are skipped with their reason (a failure in CI).
fn available(root: &Path, failures: &mut Vec<String>) -> Vec<String> {
    let in_ci = std::env::var_os("CI").is_some();
    let mut names = Vec::new();
    for entry in manifest::discover(root) {
        match entry {
            Err(e) => failures.push(format!("broken driver manifest: {e}")),
            Ok(d) => match d.state() {
                State::ToolchainMissing { .. } if in_ci => failures.push(format!(
                    "{}: {} (CI must have every driver's toolchain)",
                    d.name(),
                    d.state()
                )),
                State::ToolchainMissing { .. } => {
                    println!("SKIPPED {}: {}", d.name(), d.state());
                }
                _ => names.push(d.manifest.name.clone()),
            },
        }
    }
    names
}

#[test]
fn every_implementation_matches_its_baseline() {
    let root = workspace();
    let mut failures = Vec::new();
    let names = available(&root, &mut failures);
    assert!(
        names.iter().any(|n| n == REFERENCE),
        "the {REFERENCE} driver is built in and always available"
    );
    for iut in &names {
        failures.extend(run(&root, iut, &["--iut", iut]));
    }
    for other in names.iter().filter(|n| *n != REFERENCE) {
        for (a, b) in [(other.as_str(), REFERENCE), (REFERENCE, other.as_str())] {
            let label = format!("{a}+{b}");
            failures.extend(run(
                &root,
                &label,
                &["--iut", a, "--iut2", b, "--tag", "pair"],
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
