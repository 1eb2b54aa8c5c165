//! `explain`: a case's requirements, steps and every allowed outcome.

use super::{Error, ScenarioSource, out};
use clap::Args;
use std::process::ExitCode;

/// Options of `explain`.
#[derive(Args)]
pub struct ExplainArgs {
    /// The case id.
    case: String,
    #[command(flatten)]
    source: ScenarioSource,
}

/// Prints the explanation of one case.
pub fn execute(args: ExplainArgs) -> Result<ExitCode, Error> {
    let registry = super::registry()?;
    let all = args.source.load(&registry)?;
    let lc = all
        .iter()
        .find(|c| c.case.id == args.case)
        .ok_or_else(|| Error::NoCase(format!("no case {}", args.case)))?;
    out!("{}", zmtp_harness::explain::explain(lc, &registry));
    Ok(ExitCode::SUCCESS)
}
