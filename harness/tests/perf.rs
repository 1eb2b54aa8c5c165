//! `zmtp-harness perf` end to end against libzmq, tiny: checks the output's shape (every cell
//! asked for, numbers where numbers belong, the notes, the ratio rows), never the numbers.

use std::process::Command;

fn harness(args: &[&str]) -> (std::process::ExitStatus, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
        .args(args)
        .output()
        .expect("zmtp-harness runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "perf failed: {:?}\n{stderr}",
        out.status
    );
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn perf_runs_end_to_end_against_libzmq() {
    let dir = std::env::temp_dir().join(format!("zmtp-perf-test-{}", std::process::id()));
    let json = dir.join("perf.json");
    let (status, table) = harness(&[
        "perf",
        "--iut",
        "libzmq",
        "--pattern",
        "push-pull",
        "--pattern",
        "pub-sub-filter",
        "--size",
        "64",
        "--run-ms",
        "30",
        "--runs",
        "2",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(status.success());
    for setup in ["iut → raw", "raw → iut", "iut → iut2"] {
        assert!(table.contains(setup), "{setup} missing:\n{table}");
    }
    assert!(
        table.contains("PUB→SUB filter") && table.contains("p99 µs"),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(
        cells.len(),
        2 * 3,
        "two patterns × three set-ups × one size"
    );
    for c in cells {
        assert!(c["error"].is_null(), "cell failed: {c}");
        assert_eq!(c["samples"].as_array().unwrap().len(), 2);
        assert_eq!(c["frame_octets"], 64);
        let m = &c["msgs_per_s"];
        assert!(m["min"].as_f64().unwrap() > 0.0, "{c}");
        assert!(
            m["min"].as_f64() <= m["median"].as_f64() && m["median"].as_f64() <= m["max"].as_f64()
        );
        assert!(c["delivered"].as_f64().unwrap() > 0.0);
    }
    // REQ/REP latency: each set-up through echo/ping_pong, then the raw peer's floor.
    let latency = report["latency"].as_array().unwrap();
    let setups: Vec<_> = latency
        .iter()
        .map(|c| c["setup"].as_str().unwrap())
        .collect();
    assert_eq!(
        setups,
        [
            "iut REQ → raw REP",
            "raw REQ → iut REP",
            "iut REQ → iut2 REP",
            "raw REQ ↔ raw REP"
        ]
    );
    for c in latency {
        assert!(c["error"].is_null(), "latency cell failed: {c}");
        assert_eq!(c["runs"].as_array().unwrap().len(), 2, "{c}");
        let (p50, p99, max) = (
            c["p50_us"]["median"].as_f64().unwrap(),
            c["p99_us"]["median"].as_f64().unwrap(),
            c["max_us"]["median"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{c}");
        for r in c["runs"].as_array().unwrap() {
            assert_eq!(r["mismatched"], 0, "{c}");
        }
    }
    assert!(!report["notes"].as_array().unwrap().is_empty());

    let json = dir.join("ratios.json");
    let (_, table) = harness(&[
        "perf",
        "--ratios",
        "--size",
        "64",
        "--rounds",
        "1",
        "--run-ms",
        "30",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(table.contains("raw peer as"), "{table}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let directions: Vec<_> = rows
        .iter()
        .map(|r| r["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["sink", "source"]);
    for r in rows {
        assert!(r["ratio"]["median"].as_f64().unwrap() > 0.0, "{r}");
        assert_eq!(r["goal"], 0.9);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
