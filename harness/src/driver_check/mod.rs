//! `zmtp-harness driver-check`: exercises every op of a driver with valid and invalid input
//! and reports, per requirement of `spec/driver-protocol.md` (DRV-nn), whether the driver
//! follows the protocol, so an author knows the driver is right before running the suite.
//!
//! Every check runs against fresh driver processes, so one check's failure (even a crash) cannot
//! change another's verdict. A check prints what it sent and what came back.

mod checks;
mod session;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use crate::driver::protocol::HelloInfo;
use crate::driver::{DriverCommand, DriverError, DriverProcess};
use session::Session;

/// Command-line arguments of `driver-check`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The driver: a name `zmtp-harness drivers` lists, or a driver command line.
    #[arg(long)]
    pub iut: String,
    /// Print the exchange only for checks that fail.
    #[arg(long)]
    pub brief: bool,
    /// Stretch the bounds on how long a reply may take by this factor.
    #[arg(long, default_value_t = 1.0)]
    pub timeout_scale: f64,
}

/// Why the checks could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The `--iut` string names no driver or command line.
    #[error("cannot resolve driver {iut:?}: {message}")]
    Resolve {
        /// The `--iut` string.
        iut: String,
        /// Why.
        message: String,
    },
    /// The driver could not be started, or did not answer `hello`.
    #[error("{0}")]
    Start(#[from] DriverError),
}

/// The verdict of one check, and of one requirement (the worst of its checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// The driver may leave this out and did (an optional op, type or option).
    Unsupported,
    /// The driver follows the requirement.
    Pass,
    /// The driver breaks the requirement.
    Fail,
}

impl Verdict {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Unsupported => "UNSUPPORTED",
        }
    }
}

/// The result of one check.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckRecord {
    /// Short name (`bad-json`, `sigterm-recv`, ...).
    pub name: &'static str,
    /// The requirements it checks.
    pub requirements: &'static [&'static str],
    /// What it checks, in one line.
    pub title: &'static str,
    /// Its verdict.
    pub verdict: Verdict,
    /// What was seen (or what was wrong).
    pub detail: String,
    /// Lines sent (`->`), received (`<-`) and what the checker did (`##`).
    pub exchange: Vec<String>,
}

/// Everything `driver-check` found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The driver's command line.
    pub command: String,
    /// Its `hello`.
    pub hello: HelloInfo,
    /// One record per check, in the order they ran.
    pub checks: Vec<CheckRecord>,
    /// How long the checks took, in seconds.
    pub seconds: f64,
}

impl Report {
    /// Requirement → the worst verdict of the checks that cite it.
    pub fn by_requirement(&self) -> BTreeMap<&'static str, Verdict> {
        let mut out: BTreeMap<&'static str, Verdict> = BTreeMap::new();
        for c in &self.checks {
            for r in c.requirements {
                let v = out.entry(r).or_insert(c.verdict);
                *v = (*v).max(c.verdict);
            }
        }
        out
    }

    /// The number of checks with this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == verdict).count()
    }

    /// True if no check failed.
    pub fn passed(&self) -> bool {
        self.count(Verdict::Fail) == 0
    }

    /// The report as text: one block per check, then one line per requirement and the counts.
    pub fn render(&self, brief: bool) -> String {
        let mut s = String::new();
        let h = &self.hello;
        let _ = writeln!(
            s,
            "driver-check: {} ({} {}, {} {})\n",
            self.command, h.implementation, h.version, h.library, h.library_version
        );
        for c in &self.checks {
            let _ = writeln!(
                s,
                "{:<11} {:<22} {} [{}]",
                c.verdict.as_str(),
                c.name,
                c.title,
                c.requirements.join(" ")
            );
            if !c.detail.is_empty() {
                let _ = writeln!(s, "            {}", c.detail);
            }
            if !brief || c.verdict == Verdict::Fail {
                for line in &c.exchange {
                    let _ = writeln!(s, "              {}", cut(line, 200));
                }
            }
        }
        let _ = writeln!(s, "\nPer requirement:");
        let by_req = self.by_requirement();
        for chunk in by_req.iter().collect::<Vec<_>>().chunks(6) {
            let row: Vec<String> = chunk
                .iter()
                .map(|(r, v)| format!("{r} {:<11}", v.as_str()))
                .collect();
            let _ = writeln!(s, "  {}", row.join("  ").trim_end());
        }
        let req = |v: Verdict| by_req.values().filter(|x| **x == v).count();
        let _ = writeln!(
            s,
            "\n{} checks: {} PASS, {} FAIL, {} UNSUPPORTED; {} requirements: {} PASS, {} FAIL, {} UNSUPPORTED ({:.1} s)",
            self.checks.len(),
            self.count(Verdict::Pass),
            self.count(Verdict::Fail),
            self.count(Verdict::Unsupported),
            by_req.len(),
            req(Verdict::Pass),
            req(Verdict::Fail),
            req(Verdict::Unsupported),
            self.seconds
        );
        s
    }
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// Runs every check against the driver `command`.
pub async fn run(command: &DriverCommand, timeout_scale: f64) -> Result<Report, CheckError> {
    let started = Instant::now();
    let mut first = DriverProcess::spawn(command).await?;
    let hello = first.hello().await;
    if first.exit(std::time::Duration::from_secs(5)).await.is_err() {
        let _ = first.kill().await;
    }
    let hello = hello?;
    let mut session = Session::new(command, hello.clone(), timeout_scale);
    let checks = checks::run_all(&mut session).await;
    Ok(Report {
        command: command.display(),
        hello,
        checks,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The `driver-check` command: prints the report; exit status 0 when every check passed (or
/// is unsupported where that is allowed), 1 on a failure, 2 when the driver cannot be checked.
pub async fn main(args: Args) -> ExitCode {
    let command = match crate::driver::resolve(&args.iut) {
        Ok(c) => c,
        Err(e) => {
            return fatal(&CheckError::Resolve {
                iut: args.iut,
                message: e.to_string(),
            });
        }
    };
    match run(&command, args.timeout_scale).await {
        Ok(report) => {
            print!("{}", report.render(args.brief));
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => fatal(&e),
    }
}

fn fatal(e: &CheckError) -> ExitCode {
    eprintln!("driver-check: {e}");
    ExitCode::from(2)
}
