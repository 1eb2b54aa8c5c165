//! `zmtp-harness`: the command-line front end. Each subcommand lives in `cli/<name>.rs`.
//!
//! Exit status: see each subcommand; 2 is always a harness or driver error.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "zmtp-harness", version, about = "ZMTP 3.x conformance harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against an implementation and judge it.
    Run(cli::run::RunArgs),
    /// Every implementation alone and every ordered pair on the `pair` cases, against the baselines.
    Matrix(cli::matrix::MatrixArgs),
    /// Join the JSON reports of a sharded run (`run --shard K/N`) into one report.
    Merge(cli::merge::MergeArgs),
    /// List the scenario cases.
    List(cli::list::ListArgs),
    /// Show a case: its requirements, steps and every allowed outcome.
    Explain(cli::explain::ExplainArgs),
    /// List every driver with its state here (ready, needs build, toolchain missing), or build them.
    Drivers(cli::drivers::DriversArgs),
    /// Check a driver against the driver protocol (DRV-nn), op by op, before running the suite.
    DriverCheck(zmtp_harness::driver_check::Args),
    /// For every requirement, the cases that check it (or why it cannot be tested).
    Coverage(cli::coverage::CoverageArgs),
    /// Test an endpoint that is already running, with no driver.
    Probe(cli::probe::ProbeArgs),
    /// Fuzz a live implementation over the network with ZMTP-aware mutations.
    Fuzz(cli::fuzz::FuzzArgs),
    /// Replay a saved fuzz finding against an implementation.
    Replay(cli::replay::ReplayArgs),
    /// Run one case and write a standalone reproducer of it: repro.py, the application side, REPORT.md.
    Repro(cli::repro::ReproArgs),
    /// Measure throughput and latency (separate from conformance), or the raw peer's ratios.
    Perf(cli::perf::PerfArgs),
    /// Decode ZMTP octets: greeting, frames and commands, or the first rule they break.
    Decode(cli::decode::DecodeArgs),
    /// Run a built-in driver (used by the harness itself to start `libzmq`, `zmqrs` and `rzmq`).
    #[command(hide = true)]
    Driver {
        /// Which built-in driver.
        name: String,
    },
}

/// Runs an async subcommand on a small runtime.
fn block_on(
    work: impl std::future::Future<Output = Result<ExitCode, cli::Error>>,
) -> Result<ExitCode, cli::Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| cli::Error::Failed(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        take_over_interrupt();
        work.await
    })
}

/// Handles SIGINT in this process, so that the drivers it starts begin with SIGINT at its
/// default: a handler is reset to the default across exec, an ignored signal stays ignored, and
/// a harness started as a background job or under nohup has SIGINT ignored. A JVM inherits
/// that and then never handles SIGINT (JeroMQ's driver failed DRV-22 that way). On SIGINT the
/// harness exits with status 130, as the default would; its drivers see their input end.
fn take_over_interrupt() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::interrupt()) {
        Ok(mut interrupt) => {
            tokio::spawn(async move {
                if interrupt.recv().await.is_some() {
                    eprintln!("zmtp-harness: interrupted");
                    std::process::exit(130);
                }
            });
        }
        Err(e) => tracing::warn!("cannot handle SIGINT, drivers inherit its disposition: {e}"),
    }
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZMTP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Runs one subcommand.
fn execute(command: Command) -> Result<ExitCode, cli::Error> {
    match command {
        Command::Run(args) => block_on(cli::run::execute(args)),
        Command::Matrix(args) => cli::matrix::execute(args),
        Command::Merge(args) => cli::merge::execute(args),
        Command::List(args) => cli::list::execute(args),
        Command::Explain(args) => cli::explain::execute(args),
        Command::Drivers(args) => block_on(cli::drivers::execute(args)),
        Command::DriverCheck(args) => {
            block_on(async { Ok(zmtp_harness::driver_check::main(args).await) })
        }
        Command::Coverage(args) => cli::coverage::execute(args),
        Command::Probe(args) => block_on(cli::probe::execute(args)),
        Command::Fuzz(args) => block_on(cli::fuzz::execute(args)),
        Command::Replay(args) => block_on(cli::replay::execute(args)),
        Command::Repro(args) => block_on(cli::repro::execute(args)),
        Command::Decode(args) => cli::decode::execute(args),
        Command::Perf(args) => block_on(cli::perf::execute(args)),
        Command::Driver { name } => Ok(zmtp_harness::driver::run_builtin(&name)),
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        // A driver speaks the driver protocol on stdout and logs on its own terms.
        Command::Driver { name } => zmtp_harness::driver::run_builtin(&name),
        command => {
            init_tracing();
            execute(command).unwrap_or_else(|e| {
                eprintln!("error: {e}");
                ExitCode::from(2)
            })
        }
    }
}
