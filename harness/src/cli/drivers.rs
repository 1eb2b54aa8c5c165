//! `drivers`: every driver with a manifest and its state here; `drivers build` builds them.

use super::{Error, outln};
use clap::{Args, Subcommand};
use std::process::ExitCode;
use zmtp_harness::driver::listing::{self, BuildOutcome};

/// `zmtp-harness drivers [build NAME|all]`.
#[derive(Args)]
pub struct DriversArgs {
    #[command(subcommand)]
    action: Option<DriversAction>,
    /// Do not start the ready drivers to ask for their `hello`.
    #[arg(long)]
    no_check: bool,
}

#[derive(Subcommand)]
enum DriversAction {
    /// Build one driver, or every driver whose toolchain is here (default: all).
    Build {
        /// A driver name, or `all`.
        #[arg(default_value = "all")]
        name: String,
    },
}

/// Lists the drivers (exit 0), or builds them (exit 1 when a build failed).
pub async fn execute(args: DriversArgs) -> Result<ExitCode, Error> {
    if let Some(DriversAction::Build { name }) = args.action {
        return build(name).await;
    }
    let exe = std::env::current_exe().map_err(|e| Error::Failed(e.to_string()))?;
    let rows = listing::list(&exe, !args.no_check).await;
    outln!("{}", listing::table(&rows));
    outln!("build: zmtp-harness drivers build [NAME|all]; `run --iut NAME` builds on first use");
    Ok(ExitCode::SUCCESS)
}

async fn build(name: String) -> Result<ExitCode, Error> {
    let which = (name != "all").then_some(name);
    let outcomes = tokio::task::spawn_blocking(move || listing::build(which.as_deref()))
        .await
        .map_err(|e| Error::Failed(e.to_string()))?;
    let mut failed = 0;
    for (driver, outcome) in &outcomes {
        match outcome {
            BuildOutcome::Built => outln!("{driver:<10} built"),
            BuildOutcome::UpToDate => outln!("{driver:<10} up to date"),
            BuildOutcome::Skipped(why) => outln!("{driver:<10} skipped: {why}"),
            BuildOutcome::Failed(e) => {
                failed += 1;
                outln!("{driver:<10} FAILED: {e}");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
