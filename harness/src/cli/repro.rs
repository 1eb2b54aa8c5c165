//! `repro CASE --iut NAME [--out DIR]`: runs one case, then writes a standalone reproducer of
//! it (`repro.py`, `app.<ext>`, `REPORT.md`, see `zmtp_harness::repro`).

use super::{Error, ScenarioSource, outln, write_file};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zmtp_harness::repro::{self, Files, Inputs, Mode};
use zmtp_harness::run::{self, RunOptions};

/// Options of `repro`.
#[derive(Args)]
pub struct ReproArgs {
    /// The case (its exact id).
    case: String,
    /// Implementation to run it against: a driver name or a driver command line.
    #[arg(long, default_value = "libzmq")]
    iut: String,
    /// Directory to write into (default: `repro/<case id, slashes as dashes>`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Stretch every wait and upper time bound of the run.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    #[command(flatten)]
    source: ScenarioSource,
}

/// Runs the case with its transcripts kept and writes the reproducer; exit 0 when written.
pub async fn execute(args: ReproArgs) -> Result<ExitCode, Error> {
    let registry = super::registry()?;
    let all = args.source.load(&registry)?;
    let Some(case) = all.iter().find(|c| c.case.id == args.case).cloned() else {
        return Err(Error::NoCase(format!(
            "no case {} (`zmtp-harness list` shows them)",
            args.case
        )));
    };
    repro::plan::raw_peer_side(&case.case)?;
    let options = RunOptions {
        iut: args.iut.clone(),
        iut2: None,
        cases: vec![],
        exclude: vec![],
        tags: vec![],
        timeout_scale: args.timeout_scale,
        keep_transcripts: true,
        repeat: 1,
        jobs: 1,
        progress: false,
        hosts: Default::default(),
    };
    let outcome = run::run(&options, registry.clone(), std::slice::from_ref(&case)).await?;
    let report = outcome.report;
    let result = report
        .results
        .first()
        .ok_or_else(|| Error::NoCase(format!("the run of {} gave no result", args.case)))?;
    let files = repro::generate(&Inputs {
        result,
        case: &case.case,
        iut: &args.iut,
        hello: report.iut.hello.as_ref(),
        harness_version: &report.harness_version,
        registry: &registry,
    })?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("repro").join(args.case.replace('/', "-")));
    write_files(&dir, &files)?;
    print_summary(&dir, &files, result.verdict.as_str(), &args.iut);
    Ok(ExitCode::SUCCESS)
}

/// Writes the three files into `dir`.
fn write_files(dir: &Path, files: &Files) -> Result<(), Error> {
    write_file(&dir.join("repro.py"), &files.repro_py)?;
    write_file(&dir.join(&files.app.0), &files.app.1)?;
    write_file(&dir.join("REPORT.md"), &files.report_md)
}

/// What was written and how to run it.
fn print_summary(dir: &Path, files: &Files, verdict: &str, iut: &str) {
    let plan = &files.plan;
    let octets: usize = plan
        .connections
        .iter()
        .flat_map(|c| &c.writes)
        .map(|(_, o)| o.len())
        .sum();
    outln!(
        "{}: {verdict} against {iut}; a {} socket that {}, {} raw-peer connection(s), {octets} octets to replay",
        plan.case,
        plan.socket.socket_type,
        if plan.peer_listens() {
            "connects to the raw peer"
        } else {
            "binds"
        },
        plan.connections.len()
    );
    if plan.mode == Mode::Conforming {
        outln!(
            "the case passed: repro.py checks the conforming answer and says NOT REPRODUCED while the implementation gives it"
        );
    }
    for f in ["repro.py", files.app.0.as_str(), "REPORT.md"] {
        outln!("  wrote {}", dir.join(f).display());
    }
    let (first, second) = if plan.peer_listens() {
        (
            "python3 repro.py --listen 5555",
            format!("{} (connects to tcp://127.0.0.1:5555)", files.app.0),
        )
    } else {
        (
            "the application, binding tcp://127.0.0.1:5555",
            "python3 repro.py --connect 127.0.0.1:5555".to_string(),
        )
    };
    outln!(
        "run: first {first}, then {second} (in {}); exit 0 = reproduced, 1 = not, 2 = could not run",
        dir.display()
    );
}
