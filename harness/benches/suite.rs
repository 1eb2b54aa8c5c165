//! How long the suites take, serial against concurrent, measured as a benchmark (never as a
//! timed test), and whether concurrency changes a verdict.
//!
//! `cargo bench -p zmtp-harness --bench suite [-- [--rounds N] [--suite seed|wire|all|shared]... IUT...]`
//! runs each suite (default: the seed and wire tags) against each implementation (default:
//! libzmq, zmqrs, pyzmq) with the release build of `zmtp-harness`, alternately with `--jobs 1`
//! (the serial run, "before") and with the default number of jobs ("after"), `N` rounds of
//! each (default 3). The two modes share the machine's noise because their rounds interleave,
//! so read the ratio, not the seconds. It prints per suite the wall time min / median / max of
//! each mode, the ratio of the medians, the harness's peak RSS, and every case whose verdict
//! was not the same in all runs of both modes (with the verdicts seen): any such case means
//! `--jobs` is not yet safe for it.
//!
//! `shared` is every case that may share the machine (all but those `list` marks `alone`): the
//! cases that run alone run one at a time in both modes, so `shared` is the part of the suite
//! where `--jobs` can change anything, and the part it speeds up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The two modes compared, in the order each round runs them.
const MODES: [(&str, Option<&str>); 2] = [("jobs 1", Some("1")), ("default", None)];

/// What the command line asked for.
struct Options {
    rounds: usize,
    suites: Vec<String>,
    iuts: Vec<String>,
}

fn options() -> Options {
    let mut rounds = 3;
    let mut suites = Vec::new();
    let mut iuts = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(rounds),
            "--suite" => suites.extend(args.next()),
            a if a.starts_with('-') => {} // cargo bench's own flags (`--bench`)
            a => iuts.push(a.to_string()),
        }
    }
    if suites.is_empty() {
        suites = vec!["seed".into(), "wire".into()];
    }
    if iuts.is_empty() {
        iuts = vec!["libzmq".into(), "zmqrs".into(), "pyzmq".into()];
    }
    Options {
        rounds: rounds.max(1),
        suites,
        iuts,
    }
}

/// One run of the harness: wall time, the verdict of every case, the harness's peak RSS.
struct RunResult {
    secs: f64,
    verdicts: BTreeMap<String, String>,
    peak_rss_kib: Option<u64>,
}

/// The ids of the cases that run alone under `--jobs` (from `zmtp-harness list --json`).
fn alone_ids(exe: &str) -> Vec<String> {
    let listed = Command::new(exe).args(["list", "--json"]).output();
    let Ok(listed) = listed else {
        return Vec::new();
    };
    let cases: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap_or_default();
    cases
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| !c["alone"].is_null())
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect()
}

fn run_once(
    exe: &str,
    iut: &str,
    suite: &str,
    jobs: Option<&str>,
    json: &Path,
) -> Option<RunResult> {
    let mut cmd = Command::new(exe);
    cmd.args(["run", "--iut", iut, "--no-baseline", "--brief", "--json"])
        .arg(json);
    match suite {
        "all" => {}
        "shared" => {
            for id in alone_ids(exe) {
                cmd.arg("--exclude").arg(id);
            }
        }
        tag => {
            cmd.args(["--tag", tag]);
        }
    }
    if let Some(j) = jobs {
        cmd.args(["--jobs", j]);
    }
    let start = Instant::now();
    if let Err(e) = cmd.output() {
        eprintln!("{iut} {suite}: cannot run the harness: {e}");
        return None;
    }
    let secs = start.elapsed().as_secs_f64();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).ok()?).ok()?;
    let verdicts = report["results"]
        .as_array()?
        .iter()
        .filter_map(|r| {
            Some((
                r["id"].as_str()?.to_string(),
                r["verdict"].as_str()?.to_string(),
            ))
        })
        .collect();
    Some(RunResult {
        secs,
        verdicts,
        peak_rss_kib: report["peak_rss_kib"].as_u64(),
    })
}

/// `min / median / max` of some seconds.
fn spread(times: &mut [f64]) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2], times[times.len() - 1])
}

/// Each case whose verdict differs between any two runs, with the verdicts seen per mode.
fn unstable(runs: &[(usize, RunResult)]) -> Vec<String> {
    let ids: BTreeSet<&String> = runs.iter().flat_map(|(_, r)| r.verdicts.keys()).collect();
    let mut out = Vec::new();
    for id in ids {
        let seen: BTreeSet<(usize, &str)> = runs
            .iter()
            .map(|(m, r)| (*m, r.verdicts.get(id).map_or("absent", String::as_str)))
            .collect();
        let verdicts: BTreeSet<&str> = seen.iter().map(|(_, v)| *v).collect();
        if verdicts.len() > 1 {
            let per_mode: Vec<String> = seen
                .iter()
                .map(|(m, v)| format!("{}: {v}", MODES[*m].0))
                .collect();
            out.push(format!("{id} ({})", per_mode.join(", ")));
        }
    }
    out
}

fn main() {
    let exe = env!("CARGO_BIN_EXE_zmtp-harness");
    let opts = options();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("suite-bench");
    let _ = std::fs::create_dir_all(&dir);
    println!(
        "suite timings: --jobs 1 (before) against the default (after), {} interleaved round(s) each ({exe})",
        opts.rounds
    );
    for iut in &opts.iuts {
        for suite in &opts.suites {
            let mut runs: Vec<(usize, RunResult)> = Vec::new();
            for round in 0..opts.rounds {
                for (m, (label, jobs)) in MODES.iter().enumerate() {
                    let json = dir.join(format!("{iut}-{suite}-{m}-{round}.json"));
                    match run_once(exe, iut, suite, *jobs, &json) {
                        Some(r) => runs.push((m, r)),
                        None => eprintln!("{iut} {suite} {label}: no report"),
                    }
                }
            }
            report(iut, suite, &runs);
        }
    }
}

fn report(iut: &str, suite: &str, runs: &[(usize, RunResult)]) {
    let cases = runs.first().map_or(0, |(_, r)| r.verdicts.len());
    let mut medians = [0.0f64; 2];
    for (m, (label, _)) in MODES.iter().enumerate() {
        let mut times: Vec<f64> = runs
            .iter()
            .filter(|(k, _)| *k == m)
            .map(|(_, r)| r.secs)
            .collect();
        if times.is_empty() {
            continue;
        }
        let (min, median, max) = spread(&mut times);
        medians[m] = median;
        println!(
            "{iut:<8} {suite:<5} {label:<8} min {min:7.2} s  median {median:7.2} s  max {max:7.2} s  ({cases} cases)"
        );
    }
    let peak = runs.iter().filter_map(|(_, r)| r.peak_rss_kib).max();
    if medians[0] > 0.0 && medians[1] > 0.0 {
        println!(
            "{iut:<8} {suite:<5} after/before {:.2} (median default over median --jobs 1); harness peak RSS {}",
            medians[1] / medians[0],
            peak.map_or("?".to_string(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
        );
    }
    let flips = unstable(runs);
    if flips.is_empty() {
        println!(
            "{iut:<8} {suite:<5} verdicts identical in all {} runs",
            runs.len()
        );
    } else {
        println!(
            "{iut:<8} {suite:<5} {} case(s) with differing verdicts:",
            flips.len()
        );
        for f in flips {
            println!("    {f}");
        }
    }
}
