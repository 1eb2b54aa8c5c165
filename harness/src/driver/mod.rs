//! Driver processes: spawning, the JSON-lines client, and the built-in drivers.

use std::process::ExitCode;

/// Runs the built-in driver `name` on this process's stdin/stdout.
pub fn run_builtin(name: &str) -> ExitCode {
    eprintln!("no built-in driver named {name:?}");
    ExitCode::from(2)
}
