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

/// Waits for `child` until `bound` after `started`; a child still running then is killed,
/// reaped and reported as hung (the harness must never hang, whatever its peer does).
fn wait_bounded(
    child: &mut std::process::Child,
    started: Instant,
    bound: Duration,
    what: &str,
) -> std::process::ExitStatus {
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} hung: still running after {bound:?}");
        }
        // Polling a child's exit: there is no event to wait on without blocking unboundedly.
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The JSON report at `path`, or `null` when none was written.
fn read_report(path: &Path) -> serde_json::Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null)
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
    let status = wait_bounded(&mut child, started, bound, "the harness");
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

/// A hostile endpoint (`hostile/endpoint.py MODE ARG`) on a free port; killed and reaped on drop.
struct Endpoint {
    child: std::process::Child,
    port: u16,
}

impl Endpoint {
    fn start(mode: &[&str]) -> Option<Endpoint> {
        if Command::new("python3").arg("--version").output().is_err() {
            eprintln!("skipped: no python3");
            return None;
        }
        let mut child = Command::new("python3")
            .arg(repo_root().join("harness/tests/hostile/endpoint.py"))
            .args(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("endpoint.py printed {line:?}"));
        Some(Endpoint { child, port })
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `zmtp-harness probe` against `port` (a PULL) with a bound; returns the exit code, the
/// JSON report (if written) and the wall time.
fn probe(port: u16, name: &str, bound: Duration) -> (Option<i32>, serde_json::Value, Duration) {
    let dir = repo_root().join("target").join("hostile-test");
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join(format!("probe-{name}.json"));
    let _ = std::fs::remove_file(&json);
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
        .args(["probe", &format!("tcp://127.0.0.1:{port}")])
        .args(["--socket-type", "PULL", "--brief", "--json"])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("zmtp-harness starts");
    let what = format!("probe against the {name} endpoint");
    let status = wait_bounded(&mut child, started, bound, &what);
    (status.code(), read_report(&json), started.elapsed())
}

fn verdicts(report: &serde_json::Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["id"].as_str().unwrap_or("").to_string(),
                        r["verdict"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Item 5 of issue 13: an endpoint that exits on a chosen input (a long size with the top bit
/// set, sent by `probe/size-2-63`). That case is a FAIL naming the octets last sent, every later
/// case is NOT-RUN (not ERROR), and the exit status is 1.
#[test]
fn probe_an_endpoint_that_crashes_on_an_input() {
    let Some(ep) = Endpoint::start(&["crash-on", "0280"]) else {
        return;
    };
    let (code, report, took) = probe(ep.port, "crash", Duration::from_secs(120));
    assert_eq!(code, Some(1), "exit 1 ({took:?})");
    let v = verdicts(&report);
    let at = v
        .iter()
        .position(|(id, _)| id == "probe/size-2-63")
        .expect("the size-2-63 case ran");
    assert_eq!(v[at].1, "FAIL", "{v:?}");
    let reason = report["results"][at]["reason"].as_str().unwrap();
    assert!(
        reason.contains("went down") && reason.contains("028000000000000000"),
        "the FAIL names the last octets sent: {reason}"
    );
    assert!(at + 1 < v.len(), "cases follow the crash");
    for (id, verdict) in &v[at + 1..] {
        assert_eq!(verdict, "NOT-RUN", "{id} after the crash");
    }
    assert!(v.iter().all(|(_, verdict)| verdict != "ERROR"), "{v:?}");
    assert!(report["counts"]["NOT-RUN"].as_u64().unwrap() >= 1);
}

/// An endpoint that accepts every connection and never reads or writes: the first case
/// FAILs, the rest are NOT-RUN (the endpoint is hung), and the run ends in time.
#[test]
fn probe_an_endpoint_that_never_reads() {
    let Some(ep) = Endpoint::start(&["never-read"]) else {
        return;
    };
    let (code, report, took) = probe(ep.port, "never-read", Duration::from_secs(60));
    assert_eq!(code, Some(1), "exit 1 ({took:?})");
    let v = verdicts(&report);
    assert_eq!(v[0].1, "FAIL", "{v:?}");
    let reason = report["results"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("hung"), "{reason}");
    assert!(
        v[1..].iter().all(|(_, verdict)| verdict == "NOT-RUN"),
        "{v:?}"
    );
}

/// An endpoint that answers one octet every 5 ms is slow, not down: every case runs, none is
/// ERROR or NOT-RUN, the greeting case passes.
#[test]
fn probe_a_slow_endpoint() {
    let Some(ep) = Endpoint::start(&["slow", "5"]) else {
        return;
    };
    let (code, report, took) = probe(ep.port, "slow", Duration::from_secs(120));
    let v = verdicts(&report);
    assert!(
        matches!(code, Some(0) | Some(1)),
        "{code:?} {v:?} ({took:?})"
    );
    assert!(
        v.iter()
            .all(|(_, verdict)| verdict != "ERROR" && verdict != "NOT-RUN"),
        "{v:?}"
    );
    assert!(
        v.contains(&("probe/greeting".into(), "PASS".into())),
        "{v:?}"
    );
}

/// An endpoint that closes every connection at once is alive but serves nobody: every case
/// FAILs on its own evidence (no greeting), none is ERROR or NOT-RUN.
#[test]
fn probe_an_endpoint_that_closes_every_connection() {
    let Some(ep) = Endpoint::start(&["close-all"]) else {
        return;
    };
    let (code, report, took) = probe(ep.port, "close-all", Duration::from_secs(120));
    assert_eq!(code, Some(1), "exit 1 ({took:?})");
    let v = verdicts(&report);
    assert!(!v.is_empty());
    assert!(v.iter().all(|(_, verdict)| verdict == "FAIL"), "{v:?}");
}

/// Garbage after a valid greeting: protocol violations are FAILs with the evidence, the
/// endpoint stays up (no NOT-RUN), nothing is ERROR.
#[test]
fn probe_an_endpoint_that_sends_garbage_after_the_greeting() {
    let Some(ep) = Endpoint::start(&["garbage"]) else {
        return;
    };
    let (code, report, took) = probe(ep.port, "garbage", Duration::from_secs(120));
    assert_eq!(code, Some(1), "exit 1 ({took:?})");
    let v = verdicts(&report);
    assert!(
        v.iter()
            .all(|(_, verdict)| verdict != "ERROR" && verdict != "NOT-RUN"),
        "{v:?}"
    );
    // Which case meets the garbage first depends on timing (a case may finish before it
    // arrives): some case must fail on it as a framing violation.
    let reasons: Vec<&str> = report["results"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["reason"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        reasons.iter().any(|r| r.contains("FRAME-")),
        "a framing violation: {reasons:?}"
    );
}

/// Runs the two `hostile.toml` cases against `hostile_driver.py MODE` with a bound; returns
/// the exit code, the JSON report and the pids the driver processes wrote.
fn run_hostile_driver(
    mode: &str,
    bound: Duration,
) -> Option<(Option<i32>, serde_json::Value, Vec<u32>)> {
    run_hostile_scenarios(mode, "hostile.toml", bound)
}

/// [`run_hostile_driver`] with the cases of `harness/tests/hostile/<scenarios>`, in order.
fn run_hostile_scenarios(
    mode: &str,
    scenarios: &str,
    bound: Duration,
) -> Option<(Option<i32>, serde_json::Value, Vec<u32>)> {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: no python3");
        return None;
    }
    let dir = repo_root().join("target").join("hostile-test");
    std::fs::create_dir_all(&dir).unwrap();
    let pids = dir.join(format!("pids-{mode}"));
    let mark = dir.join(format!("mark-{mode}"));
    let json = dir.join(format!("driver-{mode}.json"));
    for f in [&pids, &mark, &json] {
        let _ = std::fs::remove_file(f);
    }
    let driver = repo_root().join("harness/tests/hostile/hostile_driver.py");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
        .current_dir(repo_root())
        .env("HOSTILE_PIDS", &pids)
        .env("HOSTILE_MARK", &mark)
        .args([
            "run",
            "--iut",
            &format!("python3 {} {mode}", driver.display()),
        ])
        .args(["--jobs", "1"])
        .arg("--scenarios")
        .arg(repo_root().join("harness/tests/hostile").join(scenarios))
        .args(["--only-scenarios", "--no-baseline", "--brief", "--json"])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("zmtp-harness starts");
    let what = format!("the harness on the {mode} driver");
    let status = wait_bounded(&mut child, started, bound, &what);
    let report = read_report(&json);
    let pids = std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    Some((status.code(), report, pids))
}

/// Whether `pid` is still a live process (not gone, not a zombie waiting for init).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

/// A driver misbehaving on `socket`: both cases are ERROR naming the driver's fault (`detail`
/// in the reason), the run ends in time, and no driver process (nor a child of one) is left.
fn hostile_driver_is_a_driver_fault(mode: &str, detail: &str) {
    let Some((code, report, pids)) = run_hostile_driver(mode, Duration::from_secs(90)) else {
        return;
    };
    assert_eq!(code, Some(2), "{mode}: ERROR exits 2: {report}");
    let results = report["results"].as_array().expect("a report");
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["verdict"], "ERROR", "{mode}: {r}");
        let reason = r["reason"].as_str().unwrap_or("");
        assert!(
            reason.contains("driver"),
            "{mode}: the reason names the driver: {reason}"
        );
        assert!(reason.contains(detail), "{mode}: {detail:?} in {reason}");
    }
    assert!(
        pids.len() >= 3,
        "{mode}: contract check and two cases: {pids:?}"
    );
    for pid in pids {
        assert!(!alive(pid), "{mode}: process {pid} was left running");
    }
}

/// Item 8 of issue 13: a line that is not JSON.
#[test]
fn a_driver_writing_garbage_is_a_driver_fault() {
    hostile_driver_is_a_driver_fault("garbage", "not a reply line");
}

/// A reply that carries another request's id.
#[test]
fn a_reply_with_the_wrong_id_is_a_driver_fault() {
    hostile_driver_is_a_driver_fault("wrong-id", "reply id Some(1");
}

/// One reply line of 100 MB: cut at the harness's bound, not buffered whole.
#[test]
fn a_100_mb_line_is_a_driver_fault() {
    hostile_driver_is_a_driver_fault("huge-line", "a reply line of more than");
}

/// A reply that never comes: bounded by the driver slack.
#[test]
fn a_reply_that_never_comes_is_a_driver_fault() {
    hostile_driver_is_a_driver_fault("no-reply", "did not answer `socket`");
}

/// A driver that forks a child keeping its stdout open, then exits without answering: the
/// harness does not wait for an end of file that never comes, and the child, in the driver's
/// process group, is killed too.
#[test]
fn a_driver_that_leaves_a_child_is_reaped_with_its_group() {
    hostile_driver_is_a_driver_fault("fork", "socket");
}

/// Item 6 of issue 13: a driver that aborts after the case's last request (at its first
/// request after `close`, the end-of-case health check) is charged to that case: FAIL with the
/// end of its stderr; the next case gets a fresh process and passes.
#[test]
fn a_driver_death_is_charged_to_the_case_that_caused_it() {
    let Some((code, report, pids)) = run_hostile_driver("die-after-close", Duration::from_secs(90))
    else {
        return;
    };
    assert_eq!(code, Some(1), "FAIL exits 1: {report}");
    let results = report["results"].as_array().expect("a report");
    assert_eq!(results[0]["id"], "hostile/driver/first");
    assert_eq!(results[0]["verdict"], "FAIL", "{}", results[0]);
    let reason = results[0]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("SEC-09") && reason.contains("died"),
        "{reason}"
    );
    let actual = results[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "driver-alive")
        .expect("a driver-alive check")["actual"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        actual.contains("session_base.cpp:260"),
        "stderr quoted: {actual}"
    );
    assert_eq!(
        results[1]["verdict"], "PASS",
        "the next case is not blamed: {}",
        results[1]
    );
    for pid in pids {
        assert!(!alive(pid), "process {pid} was left running");
    }
}

/// Finding JB-01: a case whose burst of multi-frame messages was cut short leaves its driver
/// unsafe to reuse, so the engine retires the process at the end of that case; an abort during
/// the retirement (here: at the `exit` request) is charged to that case, with the end of its
/// stderr, and the next case gets a fresh process and passes. A one-frame burst cut short does
/// not retire its process: the last three cases share one.
#[test]
fn a_driver_left_unsafe_is_retired_and_its_abort_charged_to_its_case() {
    let Some((code, report, pids)) = run_hostile_scenarios(
        "abort-at-exit-after-cut",
        "retire.toml",
        Duration::from_secs(90),
    ) else {
        return;
    };
    assert_eq!(code, Some(1), "FAIL exits 1: {report}");
    let results = report["results"].as_array().expect("a report");
    let verdicts: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("hostile/retire/cut-multipart", "FAIL"),
            ("hostile/retire/next", "PASS"),
            ("hostile/retire/cut-single", "PASS"),
            ("hostile/retire/after-single", "PASS"),
        ]
    );
    let check = results[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "driver-alive")
        .expect("a driver-alive check");
    assert_eq!(check["requirement"], "SEC-09");
    let actual = check["actual"].as_str().unwrap();
    assert!(
        actual.contains("ended abnormally when it was retired")
            && actual.contains("4-frame")
            && actual.contains("SIGABRT")
            && actual.contains("session_base.cpp:233"),
        "what happened, why it was retired, the signal and the stderr: {actual}"
    );
    // The contract check's process, the retired one, and one shared by the last three cases.
    assert_eq!(pids.len(), 3, "processes started: {pids:?}");
    for pid in pids {
        assert!(!alive(pid), "process {pid} was left running");
    }
}
