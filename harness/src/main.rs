//! `zmtp-harness`: the command-line front end.

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
    /// Run a built-in driver (used by the harness itself to start `libzmq` and `zmqrs`).
    #[command(hide = true)]
    Driver {
        /// Which built-in driver.
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Driver { name } => zmtp_harness::driver::run_builtin(&name),
    }
}
