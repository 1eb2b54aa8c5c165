//! "Never hang": a driver whose implementation wedges (JeroMQ after JQ-12, docs/findings.md)
//! must cost a bounded time and leave no process behind. `hostile/wedged_driver.py` passes
//! the contract check, answers `socket` and `bind` (its listening socket never serves a
//! connection), then never answers again and ignores SIGTERM and the end of stdin; only
//! SIGKILL ends it. Two cases run against it, the second on whatever the first left.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether `pid` still exists (running or a zombie nobody reaped).
fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_wedged_driver_costs_a_bounded_time_and_is_reaped() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: no python3");
        return;
    }
    let dir = repo_root().join("target").join("hostile-test");
    std::fs::create_dir_all(&dir).unwrap();
    let pids = dir.join("pids");
    let json = dir.join("report.json");
    let _ = std::fs::remove_file(&pids);
    let _ = std::fs::remove_file(&json);
    let driver = repo_root().join("harness/tests/hostile/wedged_driver.py");
    let scenarios = repo_root().join("harness/tests/hostile/wedged.toml");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
        .current_dir(repo_root())
        .env("HOSTILE_PIDS", &pids)
        .args(["run", "--iut", &format!("python3 {}", driver.display())])
        .arg("--scenarios")
        .arg(&scenarios)
        .args(["--only-scenarios", "--no-baseline", "--brief", "--json"])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("zmtp-harness starts");
    // Each case: the handshake's 1 s, a `close` that times out after the 5 s slack, 5 s of
    // SIGKILL reaping at most; plus the contract check's `exit` (5 s) and start-up.
    let bound = Duration::from_secs(90);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the harness hung: still running after {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = started.elapsed();
    assert_eq!(status.code(), Some(1), "FAIL verdicts exit 1 ({took:?})");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_ne!(r["verdict"], "PASS", "{r}");
        let exits: Vec<&str> = r["drivers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["exit"].as_str())
            .collect();
        assert!(
            exits.iter().all(|e| e.contains("signal: 9")),
            "every process of {} was SIGKILLed and reaped: {exits:?}",
            r["id"]
        );
    }

    let pids: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(
        pids.len() >= 2,
        "the contract check's and the cases' processes: {pids:?}"
    );
    for pid in pids {
        assert!(!exists(pid), "driver process {pid} was left behind");
    }
}
