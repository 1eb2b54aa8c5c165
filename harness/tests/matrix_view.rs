//! The HTML page of `zmtp-harness matrix` in headless Chromium.
//!
//! `matrix_page_in_headless_chromium` runs a real small matrix (libzmq and zmq.rs, each alone
//! and both ordered pairs, on cases with known FAILs and `pair` cases) with `--html`, and checks
//! the page as a user would (tools/report-check/matrix.mjs): the grid against the cells'
//! reports, a failing pair cell, its case view (expected and seen, octets in hex and decoded),
//! the filters and a shared anchor.
//!
//! `large_matrix_page_size_and_load_time` builds the page of a 10-implementation matrix from
//! real full-suite reports (by `zmtp_harness::html::write`, the function `matrix --html` calls)
//! and measures its size, the time to the first render of its grid and to open a case.
//!
//! Chromium, node and tools/report-check/node_modules are needed; without them a test says so
//! and passes, except under CI (`CI` set), where a missing tool fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::repo;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;
use zmtp_harness::html::pair_label;
use zmtp_harness::report::RunReport;
use zmtp_harness::verdict::{CaseResult, Verdict};

/// The cases of the small matrix: FAILs with octets for both implementations alone
/// (SUBSCRIBE to a socket that takes none), and `pair` cases: an INFO, a FAIL without a raw
/// peer, and a FAIL whose octets the impairing proxy recorded (baselines list all of them).
const CASES: [&str; 4] = [
    "commands/not-for-this-socket/*",
    "impairment/cut-rst",
    "peer-death/sub-survives-killed-pub",
    "hwm/push-pull-pair",
];

/// Runs `matrix --iut libzmq,zmqrs` on [`CASES`] with `--html` and `--json`; returns the output
/// directory and the cells' reports in the matrix's order.
fn small_matrix() -> (PathBuf, Vec<RunReport>) {
    let dir = repo().join("target/matrix-view/small");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"));
    cmd.args([
        "matrix",
        "--iut",
        "libzmq,zmqrs",
        "--parallel",
        "2",
        "--fresh",
    ]);
    for case in CASES {
        cmd.args(["--case", case]);
    }
    let started = Instant::now();
    let out = cmd
        .arg("--out")
        .arg(dir.join("cells"))
        .arg("--html")
        .arg(dir.join("html"))
        .arg("--json")
        .arg(dir.join("matrix.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "matrix in {:.1} s ({:?}):\n{stdout}",
        started.elapsed().as_secs_f64(),
        out.status
    );
    // 1 is a baseline deviation: a verdict that changed, which tests/conformance.rs judges; the
    // page must show it all the same. 2 is a cell that could not run.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "matrix failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.join("matrix.json")).unwrap()).unwrap();
    let runs: Vec<RunReport> = summary["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::from_slice(&std::fs::read(c["report"].as_str().unwrap()).unwrap()))
        .collect::<Result<_, _>>()
        .unwrap();
    let labels: BTreeSet<String> = runs.iter().map(pair_label).collect();
    let want: BTreeSet<String> = ["libzmq", "zmqrs", "libzmq+zmqrs", "zmqrs+libzmq"]
        .map(String::from)
        .into();
    assert_eq!(labels, want, "the matrix's cells");
    (dir, runs)
}

/// Held by the small matrix's run and check, and by the large page's measurement: the
/// measurement's times are not those of a machine also running a matrix.
static MACHINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn family(id: &str) -> &str {
    id.split('/').next().unwrap()
}

/// The grid cell the page must draw for `results` (one run, one family): its colour, the worst
/// verdict (ERROR > FAIL > WARN > UNSUPPORTED, NOT-RUN > INFO > PASS), and its counts.
fn expected_cell(results: &[&CaseResult]) -> (String, String) {
    let severity = |v: Verdict| match v {
        Verdict::Pass => 0,
        Verdict::Info => 1,
        Verdict::Unsupported | Verdict::NotRun => 2,
        Verdict::Warn => 3,
        Verdict::Fail => 4,
        Verdict::Error => 5,
    };
    let worst = results
        .iter()
        .map(|r| r.verdict)
        .reduce(|a, b| if severity(b) > severity(a) { b } else { a })
        .unwrap();
    let order = [
        (Verdict::Pass, 'P'),
        (Verdict::Info, 'I'),
        (Verdict::Warn, 'W'),
        (Verdict::Fail, 'F'),
        (Verdict::Unsupported, 'U'),
        (Verdict::NotRun, 'N'),
        (Verdict::Error, 'E'),
    ];
    let text: Vec<String> = order
        .iter()
        .filter_map(|(v, letter)| {
            let n = results.iter().filter(|r| r.verdict == *v).count();
            (n > 0).then(|| format!("{n}{letter}"))
        })
        .collect();
    (worst.as_str().to_string(), text.join(" "))
}

/// The grid as the page must draw it: (run, family) -> (worst verdict, counts).
fn expected_grid(runs: &[RunReport]) -> BTreeMap<(String, String), (String, String)> {
    let mut grid = BTreeMap::new();
    for run in runs {
        let mut by_family: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
        for r in &run.results {
            by_family.entry(family(&r.id)).or_default().push(r);
        }
        for (fam, results) in by_family {
            grid.insert((pair_label(run), fam.to_string()), expected_cell(&results));
        }
    }
    grid
}

/// The cell to click: a pair run's family whose first FAIL (in list order) kept octets, else
/// any run's; with that case's id.
fn failing_cell_with_octets(runs: &[RunReport]) -> (String, String, String) {
    let mut candidates = Vec::new();
    for run in runs {
        let mut first_fail: BTreeMap<&str, &CaseResult> = BTreeMap::new();
        for r in run.results.iter().filter(|r| r.verdict == Verdict::Fail) {
            first_fail.entry(family(&r.id)).or_insert(r);
        }
        for (fam, r) in first_fail {
            if r.peers.iter().any(|p| !p.chunks.is_empty()) {
                let label = pair_label(run);
                candidates.push((!label.contains('+'), label, fam.to_string(), r.id.clone()));
            }
        }
    }
    candidates.sort();
    let (_, label, fam, id) = candidates
        .into_iter()
        .next()
        .expect("no FAIL that kept octets in the small matrix");
    (label, fam, id)
}

#[test]
fn matrix_page_in_headless_chromium() {
    let Some(check) = common::report_checker() else {
        return;
    };
    let _machine = MACHINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let (dir, runs) = small_matrix();
    let html = dir.join("html/index.html");
    let shot = dir.join("failing-case.png");
    let (label, fam, id) = failing_cell_with_octets(&runs);
    let v = common::run_checker(
        &check,
        "matrix.mjs",
        &[
            "check".as_ref(),
            html.as_os_str(),
            shot.as_os_str(),
            label.as_ref(),
            fam.as_ref(),
        ],
    );
    eprintln!("{v:#}");
    check_grid(&v, &runs);
    check_cell_list(&v, &runs, &label, &fam);
    check_case_view(&v, &runs, &label, &id);
    check_filters(&v, &runs, &label, &fam, &id);
    assert!(shot.metadata().unwrap().len() > 10_000, "no screenshot");
    let took = started.elapsed();
    eprintln!(
        "matrix page test: {:.1} s (page {} bytes, screenshot {})",
        took.as_secs_f64(),
        html.metadata().unwrap().len(),
        shot.display()
    );
}

/// One row per cell of the matrix, one coloured cell with counts per family it ran.
fn check_grid(v: &Value, runs: &[RunReport]) {
    let rows: Vec<String> = serde_json::from_value(v["rows"].clone()).unwrap();
    assert_eq!(rows, runs.iter().map(pair_label).collect::<Vec<_>>());
    let drawn: BTreeMap<(String, String), (String, String)> = v["grid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            ((s("run"), s("family")), (s("worst"), s("text")))
        })
        .collect();
    assert_eq!(drawn, expected_grid(runs), "the grid");
}

/// The clicked cell lists exactly its cases.
fn check_cell_list(v: &Value, runs: &[RunReport], label: &str, fam: &str) {
    let run = runs.iter().find(|r| pair_label(r) == label).unwrap();
    let want: Vec<(String, String)> = run
        .results
        .iter()
        .filter(|r| family(&r.id) == fam)
        .map(|r| (r.verdict.as_str().to_string(), r.id.clone()))
        .collect();
    let listed: Vec<(String, String)> = v["cell_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            assert_eq!(row["run"], label, "{row}");
            (
                row["verdict"].as_str().unwrap().to_string(),
                row["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(listed, want, "the cases of cell {label} × {fam}");
}

/// The case view of the run's FAIL: its anchor, expected and seen, the octets in the
/// directions the report kept, the other runs' verdicts of the same case.
fn check_case_view(v: &Value, runs: &[RunReport], label: &str, id: &str) {
    assert_eq!(v["case"], id);
    assert_eq!(v["hash"], format!("#case/{id}?run={label}"));
    assert_eq!(v["panels"], 1, "one run's result");
    let heading = v["heading"].as_str().unwrap();
    assert!(heading.contains(label) && heading.contains(id), "{heading}");
    let with_case = runs
        .iter()
        .filter(|r| r.results.iter().any(|c| c.id == id))
        .count();
    let links = v["run_links"].as_array().unwrap().len();
    assert_eq!(links, if with_case > 1 { with_case } else { 0 });
    let run = runs.iter().find(|r| pair_label(r) == label).unwrap();
    let case = run.results.iter().find(|c| c.id == id).unwrap();
    let expected: Vec<&str> = v["expected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let failed = case
        .checks
        .iter()
        .find(|k| k.verdict == Verdict::Fail)
        .unwrap();
    assert!(
        expected
            .iter()
            .any(|t| failed.expected.starts_with(t.trim_end())),
        "the failed check's expected text {:?} is not shown: {expected:?}",
        failed.expected
    );
    let requirements = v["requirements"].to_string();
    assert!(
        requirements.contains("MUST") || requirements.contains("SHOULD"),
        "{requirements}"
    );
    let dirs: BTreeSet<&str> = case
        .peers
        .iter()
        .flat_map(|p| &p.chunks)
        .map(|c| {
            if serde_json::to_value(c.dir).unwrap() == "out" {
                "peer → iut"
            } else {
                "iut → peer"
            }
        })
        .collect();
    let shown: BTreeSet<&str> = v["directions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(shown, dirs, "the directions of the octets");
    assert!(!v["decoded"].as_array().unwrap().is_empty());
    assert!(v["anchor_heading"].as_str().unwrap().contains(label));
    assert_eq!(v["anchor_all"]["runs"], with_case);
    assert_eq!(v["anchor_all"]["open"], 1);
}

/// The filters narrow the list to what the reports hold.
fn check_filters(v: &Value, runs: &[RunReport], label: &str, fam: &str, id: &str) {
    let all = || {
        runs.iter()
            .flat_map(|r| r.results.iter().map(move |c| (r, c)))
    };
    let fail = |c: &CaseResult| c.verdict == Verdict::Fail;
    let n = &v["filter_counts"];
    assert_eq!(n["all"], all().count());
    assert_eq!(n["fail"], all().filter(|(_, c)| fail(c)).count());
    assert_eq!(
        n["fail_family"],
        all()
            .filter(|(_, c)| fail(c) && family(&c.id) == fam)
            .count()
    );
    assert_eq!(
        n["fail_family_run"],
        all()
            .filter(|(r, c)| fail(c) && family(&c.id) == fam && pair_label(r) == label)
            .count()
    );
    let req = v["requirement"].as_str().unwrap().to_uppercase();
    let with_req = all()
        .filter(|(_, c)| {
            c.requirements
                .iter()
                .chain(c.checks.iter().filter_map(|k| k.requirement.as_ref()))
                .any(|r| r.to_uppercase().contains(&req))
        })
        .count();
    assert_eq!(n["requirement"], with_req, "requirement {req}");
    let listed = |key: &str| -> BTreeSet<(String, String)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["run"].as_str().unwrap().to_string(),
                    r["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert!(listed("requirement_list").contains(&(label.to_string(), id.to_string())));
    let with_id: BTreeSet<(String, String)> = all()
        .filter(|(_, c)| c.id == id)
        .map(|(r, _)| (pair_label(r), id.to_string()))
        .collect();
    assert!(
        listed("text_list").is_superset(&with_id),
        "text search {id}"
    );
    for row in v["filtered"].as_array().unwrap() {
        assert_eq!(row["run"], label);
        assert_eq!(row["verdict"], "FAIL");
    }
}

/// Real reports (`run --json`) from `ZMTP_MATRIX_VIEW_REPORTS` (a directory) or
/// `target/conformance` (where `tests/conformance.rs` leaves them): the full-suite runs of single
/// implementations (600 cases or more), and the pair runs (`a+b.json`). `None`, with the reason
/// printed, when there is no full-suite run.
fn real_reports() -> Option<(Vec<RunReport>, Vec<RunReport>)> {
    let dir = std::env::var_os("ZMTP_MATRIX_VIEW_REPORTS")
        .map_or_else(|| repo().join("target/conformance"), PathBuf::from);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    let (mut singles, mut pairs) = (Vec::new(), Vec::new());
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name.contains(".retry") {
            continue;
        }
        let Some(report) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<RunReport>(&b).ok())
        else {
            continue;
        };
        if name.contains('+') {
            pairs.push(report);
        } else if report.results.len() >= 600 {
            singles.push(report);
        }
    }
    if singles.is_empty() {
        eprintln!(
            "skipped: no full-suite report (600 cases or more) in {}; run tests/conformance.rs \
             or set ZMTP_MATRIX_VIEW_REPORTS to a directory of `run --json` reports",
            dir.display()
        );
        return None;
    }
    Some((singles, pairs))
}

/// The cells of a matrix of 10 implementations named `<real name>-<i>`: each alone (the real
/// full-suite reports in turn) and, when there are pair reports, every ordered pair (the real
/// pair reports in turn), in the order `matrix` writes them.
fn ten_implementations(singles: &[RunReport], pairs: &[RunReport]) -> Vec<RunReport> {
    let named = |mut run: RunReport, a: &str, b: &str| {
        run.iut.name = a.to_string();
        run.iut2.name = b.to_string();
        run
    };
    let names: Vec<String> = (0..10)
        .map(|i| format!("{}-{i}", singles[i % singles.len()].iut.name))
        .collect();
    let mut runs: Vec<RunReport> = names
        .iter()
        .enumerate()
        .map(|(i, n)| named(singles[i % singles.len()].clone(), n, n))
        .collect();
    let ordered = names
        .iter()
        .flat_map(|a| names.iter().filter(move |b| *b != a).map(move |b| (a, b)));
    for (k, (a, b)) in ordered
        .enumerate()
        .take(if pairs.is_empty() { 0 } else { 90 })
    {
        runs.push(named(pairs[k % pairs.len()].clone(), a, b));
    }
    runs
}

/// A measurement, not a check (timings are never asserted in tests: the machines are shared):
/// `cargo test -p zmtp-harness --test matrix_view -- --ignored --nocapture` prints the page's
/// size and load times; it still checks that the big page draws every cell.
#[test]
#[ignore = "a measurement of a 100-cell page (1.5-3 min); run with --ignored"]
fn large_matrix_page_size_and_load_time() {
    let Some((singles, pairs)) = real_reports() else {
        return;
    };
    let runs = ten_implementations(&singles, &pairs);
    let dir = repo().join("target/matrix-view/large");
    let registry = zmtp_harness::registry::Registry::bundled().unwrap();
    let started = Instant::now();
    let page = zmtp_harness::html::write(&dir, &runs, &registry).unwrap();
    let results: usize = runs.iter().map(|r| r.results.len()).sum();
    let bytes = page.metadata().unwrap().len();
    eprintln!(
        "page of {} cells (10 implementations, {} pairs), {results} case results: {bytes} bytes, \
         written in {:.1} s",
        runs.len(),
        runs.len() - 10,
        started.elapsed().as_secs_f64()
    );
    let Some(check) = common::report_checker() else {
        return;
    };
    let _machine = MACHINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let v = common::run_checker(
        &check,
        "matrix.mjs",
        &["measure".as_ref(), page.as_os_str(), "3".as_ref()],
    );
    eprintln!("{v:#}");
    let cells = expected_grid(&runs).len();
    let loads = v["loads"].as_array().unwrap();
    for load in loads {
        assert_eq!(load["rows"], runs.len(), "{load}");
        assert_eq!(load["grid_cells"], cells, "{load}");
        assert!(load["timeline_rows"].as_u64().unwrap() > 0, "{load}");
    }
    let median = |key: &str| {
        let mut ms: Vec<u64> = loads.iter().map(|l| l[key].as_u64().unwrap()).collect();
        ms.sort_unstable();
        ms[ms.len() / 2]
    };
    let (grid, open) = (median("grid_painted_ms"), median("open_case_ms"));
    eprintln!(
        "median of {}: grid drawn {} ms and painted {grid} ms after navigation start, list \
         drawn {} ms, whole page parsed {} ms; a case opened in {open} ms, from an anchor drawn \
         {} ms and painted {} ms (first run) / {} ms and {} ms (last run)",
        loads.len(),
        median("grid_ms"),
        median("ready_ms"),
        median("parsed_ms"),
        median("anchor_first_run_ms"),
        median("anchor_first_run_painted_ms"),
        median("anchor_last_run_ms"),
        median("anchor_last_run_painted_ms")
    );
    // The aim is a grid within 2 s and a case within 2 s on the 2 shared cores: reported, not
    // asserted.
    if grid > 2000 || open > 2000 {
        eprintln!("above the 2 s aim: grid {grid} ms, open {open} ms");
    }
}
