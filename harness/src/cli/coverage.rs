//! `coverage`: for every requirement, the cases that check it (or why it cannot be tested).

use super::{Error, ScenarioSource, out, outln};
use clap::Args;
use std::process::ExitCode;
use zmtp_harness::coverage::{self, Coverage};

/// Options of `coverage`.
#[derive(Args)]
pub struct CoverageArgs {
    #[command(flatten)]
    source: ScenarioSource,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// List every case per requirement (not only the first three).
    #[arg(long, short)]
    verbose: bool,
}

/// Prints the coverage table (or JSON) and the wire-testable MUSTs without a case.
pub fn execute(args: CoverageArgs) -> Result<ExitCode, Error> {
    let registry = super::registry()?;
    let cases = coverage::all_cases(&registry, args.source.load(&registry)?)?;
    let citations = coverage::vector_citations()?;
    let cov = Coverage::compute(&registry, &cases, &citations);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&cov)?);
    } else {
        out!("{}", cov.render(args.verbose));
        let missing = cov.uncovered_musts(&registry, true);
        if !missing.is_empty() {
            outln!(
                "\n{} wire-testable MUST requirement(s) have no case: {}",
                missing.len(),
                missing.join(" ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
