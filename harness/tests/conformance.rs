//! The whole suite against every reference implementation, compared with its reviewed baseline
//! (`baselines/<iut>.toml`): a verdict that moves either way fails the test, with the report.
//!
//! The implementations run one after the other in a single test, so timing-bound cases do not
//! compete with each other for the machine's cores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn every_reference_implementation_matches_its_baseline() {
    let root = workspace();
    let out_dir = root.join("target").join("conformance");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut failures = Vec::new();
    for iut in ["libzmq", "zmqrs", "pyzmq"] {
        let json = out_dir.join(format!("{iut}.json"));
        let junit = out_dir.join(format!("{iut}.xml"));
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
            .current_dir(&root)
            .args(["run", "--iut", iut, "--brief", "--json"])
            .arg(&json)
            .arg("--junit")
            .arg(&junit)
            .output()
            .expect("zmtp-harness runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary: Vec<&str> = stdout.lines().rev().take(24).collect();
        println!(
            "{iut}: exit {:?} in {:.1} s\n{}",
            out.status.code(),
            started.elapsed().as_secs_f64(),
            summary.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        if !out.status.success() {
            failures.push(format!(
                "{iut} (exit {:?}): the run differs from baselines/{iut}.toml; report in {}\n{}\n{}",
                out.status.code(),
                json.display(),
                stdout,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
