//! `zmtp-harness repro`: the standalone reproducers of known libzmq findings reproduce them
//! without the harness, and the reproducer of a passing case says it does not.
//!
//! For each case the harness runs it against libzmq and writes `repro.py`, `app.py` and
//! `REPORT.md`; then the test starts the libzmq side for real (`app.py` under the pyzmq
//! driver's virtual environment, `target/drivers/pyzmq/venv`, libzmq 4.3.5) and runs
//! `python3 repro.py` against it (the system Python: the script needs only the standard
//! library). Real processes, real TCP, ephemeral ports; every wait is bounded and every child
//! is killed and reaped. Needs Python 3 with venv (the pyzmq driver's toolchain): without it
//! the test prints why and passes, except under CI (`CI` set), where it fails.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use zmtp_harness::driver::manifest::DriverDir;
use zmtp_harness::driver::registry::repo_root;

/// Longest any child process may take.
const BOUND: Duration = Duration::from_secs(40);

/// The pyzmq driver's Python (built on first use), or `None` (skip) when Python is missing.
fn pyzmq_python() -> Option<PathBuf> {
    let driver = DriverDir::load(&repo_root(), "pyzmq").expect("drivers/pyzmq/driver.toml");
    if let Some(program) = driver.missing_program() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is missing (needed for the pyzmq application side)"
        );
        eprintln!("skipped: {program} is missing (needed for the pyzmq application side)");
        return None;
    }
    driver
        .ensure_built()
        .expect("build the pyzmq driver's venv");
    Some(driver.out.join("venv").join("bin").join("python"))
}

/// A running child whose stdout lines arrive on a channel; killed and reaped when dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    what: String,
}

impl Running {
    /// Starts `cmd` with stdout piped (stderr too, kept with stdout).
    fn start(mut cmd: Command, what: &str) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
        let (tx, rx) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Running {
            child,
            lines: rx,
            what: what.to_string(),
        }
    }

    /// Reads lines until one starts with `prefix` (bounded); returns the rest of that line.
    fn line_starting(&mut self, prefix: &str, seen: &mut Vec<String>) -> String {
        let deadline = std::time::Instant::now() + BOUND;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    seen.push(l.clone());
                    if let Some(rest) = l.strip_prefix(prefix) {
                        return rest.to_string();
                    }
                }
                Err(_) => panic!(
                    "{}: no line starting {prefix:?} within {BOUND:?}; got:\n{}",
                    self.what,
                    seen.join("\n")
                ),
            }
        }
    }

    /// Waits (bounded) for the exit; returns its code and every output line.
    fn finish(mut self, mut seen: Vec<String>) -> (i32, Vec<String>) {
        let deadline = std::time::Instant::now() + BOUND;
        // The output threads end when the child closes its pipes (it exits): drain to then.
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => seen.push(l),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: still running after {BOUND:?}; output:\n{}",
                        self.what,
                        seen.join("\n")
                    )
                }
            }
        }
        let status = self.child.wait().expect("wait");
        (status.code().unwrap_or(-1), seen)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `zmtp-harness repro CASE --iut libzmq --out DIR`; the directory.
fn generate(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "zmtp-repro-{}-{}",
        std::process::id(),
        case.replace('/', "-")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"));
    cmd.args(["repro", case, "--iut", "libzmq", "--out"])
        .arg(&dir);
    let (code, out) = Running::start(cmd, "zmtp-harness repro").finish(Vec::new());
    assert_eq!(code, 0, "repro {case}:\n{}", out.join("\n"));
    for f in ["repro.py", "app.py", "REPORT.md"] {
        assert!(dir.join(f).is_file(), "{case}: no {f} in {}", dir.display());
    }
    dir
}

/// Runs the reproducer of `dir` against a pyzmq application: app first when it binds,
/// repro.py first when it listens. Returns repro.py's exit status and output.
fn reproduce(dir: &Path, python: &Path) -> (i32, Vec<String>) {
    let script = std::fs::read_to_string(dir.join("repro.py")).expect("repro.py");
    let app = |flag: &str, endpoint: &str| {
        let mut cmd = Command::new(python);
        cmd.current_dir(dir)
            .args(["app.py", flag, endpoint, "--seconds", "30"]);
        Running::start(cmd, "app.py")
    };
    let repro = |args: &[&str]| {
        let mut cmd = Command::new("python3");
        cmd.current_dir(dir).arg("repro.py").args(args);
        Running::start(cmd, "repro.py")
    };
    let mut seen = Vec::new();
    if script.contains("ROLE = \"listen\"") {
        let mut r = repro(&["--listen", "0"]);
        let addr = r.line_starting("listening on ", &mut seen);
        let addr = addr.split(':').take(2).collect::<Vec<_>>().join(":");
        let _app = app("--connect", &format!("tcp://{addr}"));
        r.finish(seen)
    } else {
        let mut a = app("--bind", "tcp://127.0.0.1:0");
        let mut app_seen = Vec::new();
        let ep = a.line_starting("bound ", &mut app_seen);
        let hostport = ep.trim().trim_start_matches("tcp://").to_string();
        let result = repro(&["--connect", &hostport]).finish(seen);
        drop(a);
        result
    }
}

/// Generates and runs the reproducer of `case`; asserts its exit status and verdict line.
fn check(case: &str, want_code: i32, want_line: &str) {
    let Some(python) = pyzmq_python() else {
        return;
    };
    let dir = generate(case);
    let (code, out) = reproduce(&dir, &python);
    let text = out.join("\n");
    assert_eq!(
        code, want_code,
        "{case}: repro.py exit status; output:\n{text}"
    );
    assert!(
        out.iter().any(|l| l.starts_with(want_line)),
        "{case}: no line starting {want_line:?}:\n{text}"
    );
    let report = std::fs::read_to_string(dir.join("REPORT.md")).expect("REPORT.md");
    assert!(report.contains("## Versions") && report.contains("libzmq 4.3."));
    assert!(report.contains("decoded (`zmtp-harness decode`"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// W2-01: libzmq answers a PING without its TTL octets with a PONG (the app binds).
#[test]
fn ping_without_ttl_is_answered_with_a_pong() {
    check("commands/malformed/ping-no-ttl", 0, "REPRODUCED");
}

/// W2-04: libzmq keeps the connection open after an ERROR (the app connects).
#[test]
fn error_after_ready_is_ignored() {
    check("commands/error/after-ready", 0, "REPRODUCED");
}

/// W2-06: libzmq's ZMTP 3.0 encoder drops the LONG flag on a 255-octet subscription.
#[test]
fn long_subscription_to_zmtp_3_0_loses_its_long_flag() {
    check("commands/sub-form/sub-long-topic-3.0-255", 0, "REPRODUCED");
}

/// A case libzmq passes: its reproducer says so (exit 1).
#[test]
fn a_passing_case_is_not_reproduced() {
    check(
        "commands/malformed/name-length-over-body",
        1,
        "PASS, NOT REPRODUCED",
    );
}

/// A case with no raw peer is refused before it is run, with the reason (exit 2).
#[test]
fn a_case_without_a_raw_peer_is_refused() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"));
    cmd.args(["repro", "options/linger-per-socket", "--out"])
        .arg(std::env::temp_dir().join(format!("zmtp-repro-{}-none", std::process::id())));
    let (code, out) = Running::start(cmd, "zmtp-harness repro").finish(Vec::new());
    assert_eq!(code, 2, "{}", out.join("\n"));
    assert!(
        out.iter()
            .any(|l| l.contains("has no raw peer: nothing to replay standalone")),
        "{}",
        out.join("\n")
    );
}
