//! What the report-view tests share: the repository root and the headless-Chromium checker in
//! tools/report-check (playwright-core driving Debian's chromium).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Whether `tool` can run; under CI (`CI` set) a missing tool is a failure.
pub fn have(tool: &str, probe: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is needed under CI (.ci/run installs it)"
        );
        eprintln!("skipped: {tool} is not installed");
    }
    ok
}

/// tools/report-check, ready to run (its npm packages installed), or `None` when chromium or
/// node is missing (said, and a failure under CI).
pub fn report_checker() -> Option<PathBuf> {
    let check = repo().join("tools/report-check");
    if !have("chromium", &["--version"]) || !have("node", &["--version"]) {
        return None;
    }
    if !check.join("node_modules/playwright-core").is_dir() {
        // Provision the checker like a driver: its lock file pins playwright-core, and no
        // browser is downloaded (Debian's chromium is used).
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&check)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "npm ci in {} failed: {status:?}",
            check.display()
        );
    }
    Some(check)
}

/// Runs `node SCRIPT ARGS…` in the checker and returns its JSON summary; fails the test (with
/// the summary and stderr) when the script does.
pub fn run_checker(check: &Path, script: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = Command::new("node")
        .arg(check.join(script))
        .args(args)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the page check {script} failed:\n{summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&summary).unwrap_or_else(|e| panic!("{e}: {summary}"))
}
