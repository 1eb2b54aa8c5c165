//! `run --retry N` against real drivers. A wrapper script stands in for a library that races
//! with itself: it starts the zmq.rs driver for the first launches and the libzmq driver after,
//! so one case fails in the first run (zmq.rs answers a malformed command wrongly, CMD-09) and
//! passes when run again (libzmq). How many launches one run of the case takes is measured
//! first with the same wrapper, so the test does not depend on how the harness starts drivers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use zmtp_harness::driver::registry::resolve_with;

/// libzmq passes it, zmq.rs fails it (CMD-09), and it takes well under a second.
const CASE: &str = "commands/malformed/empty-body";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A driver command that counts its launches in `dir/count` and starts `first` for launches
/// 1..=`switch_after`, `then` after that.
fn wrapper(dir: &Path, switch_after: usize) -> String {
    let exe = Path::new(env!("CARGO_BIN_EXE_zmtp-harness"));
    let first = resolve_with("zmqrs", exe).expect("the zmq.rs driver builds");
    let then = resolve_with("libzmq", exe).expect("the libzmq driver builds");
    let script = dir.join("wrapper.sh");
    let count = dir.join("count");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nn=$(cat '{c}' 2>/dev/null || echo 0)\nn=$((n + 1))\necho \"$n\" > '{c}'\n\
             if [ \"$n\" -le {switch_after} ]; then exec {first}; else exec {then}; fi\n",
            c = count.display(),
            first = first.display(),
            then = then.display(),
        ),
    )
    .unwrap();
    let _ = std::fs::remove_file(&count);
    format!("sh {}", script.display())
}

fn launches(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("count"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// One `run` of the case against `iut` with libzmq's baseline: exit status, stdout, report.
fn run(iut: &str, dir: &Path, extra: &[&str]) -> (i32, String, serde_json::Value) {
    let json = dir.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
        .current_dir(repo_root())
        .args([
            "run", "--iut", iut, "--case", CASE, "--jobs", "1", "--brief",
        ])
        .arg("--baseline")
        .arg(repo_root().join("baselines/libzmq.toml"))
        .arg("--json")
        .arg(&json)
        .args(extra)
        .output()
        .expect("zmtp-harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (out.status.code().unwrap(), stdout, report)
}

#[test]
fn a_case_that_deviates_then_matches_is_flaky_and_one_that_always_deviates_fails() {
    let dir = repo_root().join("target").join("retry-test");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.as_path();
    // Launches in one run of the case, all of them libzmq: it matches the baseline.
    let iut = wrapper(dir, 0);
    let (code, _, _) = run(&iut, dir, &[]);
    assert_eq!(code, 0, "libzmq passes {CASE}");
    let per_run = launches(dir);

    // zmq.rs for the whole first run, then libzmq: without --retry a deviation.
    let iut = wrapper(dir, per_run);
    let (code, stdout, report) = run(&iut, dir, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(report["baseline"]["deviations"][0]["id"], CASE, "{stdout}");

    // The same with --retry 2: the retry (libzmq) matches, so the case is flaky, not a deviation.
    let iut = wrapper(dir, per_run);
    let md = dir.join("summary.md");
    let (code, stdout, report) = run(
        &iut,
        dir,
        &["--retry", "2", "--markdown", md.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stdout}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("**Flaky**") && md.contains("FAIL → PASS"),
        "{md}"
    );
    let baseline = &report["baseline"];
    assert_eq!(
        baseline["deviations"].as_array().unwrap().len(),
        0,
        "{stdout}"
    );
    assert_eq!(baseline["flaky"][0]["id"], CASE, "{stdout}");
    assert_eq!(
        baseline["flaky"][0]["verdicts"],
        serde_json::json!(["FAIL", "PASS"])
    );
    assert!(
        baseline["flaky"][0]["first_reason"]
            .as_str()
            .unwrap()
            .contains("CMD-09"),
        "{baseline}"
    );
    assert_eq!(
        report["results"][0]["verdict"], "PASS",
        "the matching run's result"
    );
    assert!(
        stdout.contains("Flaky:") && stdout.contains("FAIL then PASS"),
        "{stdout}"
    );

    // zmq.rs every time: three attempts, all deviate, and the run fails.
    let iut = wrapper(dir, 1_000_000);
    let (code, stdout, report) = run(&iut, dir, &["--retry", "2"]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(report["baseline"]["deviations"][0]["id"], CASE);
    assert!(report["baseline"].get("flaky").is_none(), "{stdout}");
    assert_eq!(launches(dir), 3 * per_run, "the first run and two retries");
}
