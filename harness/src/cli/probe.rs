//! `probe`: test an endpoint that is already running, with no driver.

use super::{Error, out};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use zmtp_harness::report;
use zmtp_harness::verdict::Verdict;

/// Options of `probe`.
#[derive(Args)]
pub struct ProbeArgs {
    /// The endpoint, e.g. tcp://127.0.0.1:5555.
    endpoint: String,
    /// The socket type listening there (PUB, ROUTER, PULL ...).
    #[arg(long)]
    socket_type: String,
    /// Run only probe cases matching this glob.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Write the full report as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Stretch every wait and upper time bound by this factor.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Do not print the details of failing cases.
    #[arg(long)]
    brief: bool,
    #[command(flatten)]
    outputs: super::outputs::OutputArgs,
}

/// Runs the probe cases; exit 1 on a FAIL, 2 on an ERROR.
pub async fn execute(args: ProbeArgs) -> Result<ExitCode, Error> {
    let registry = super::registry()?;
    let report = zmtp_harness::probe::run(
        &args.endpoint,
        &args.socket_type,
        &args.cases,
        registry.clone(),
        args.timeout_scale,
        false,
    )
    .await
    .map_err(Error::Failed)?;
    out!("{}", report::render_text(&report, !args.brief));
    super::write_reports(&report, args.json.as_deref(), args.junit.as_deref())?;
    args.outputs.write(&report, &registry)?;
    let any = |v: Verdict| report.results.iter().any(|r| r.verdict == v);
    Ok(if any(Verdict::Error) {
        ExitCode::from(2)
    } else if any(Verdict::Fail) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
