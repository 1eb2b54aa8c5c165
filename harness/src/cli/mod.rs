//! The subcommands of `zmtp-harness`, one file each: a subcommand is its clap `Args` struct and
//! an `execute` function returning the process's exit status or an [`Error`].

pub mod coverage;
pub mod decode;
pub mod drivers;
pub mod explain;
pub mod fuzz;
pub mod list;
pub mod matrix;
pub mod merge;
pub mod outputs;
pub mod perf;
pub mod probe;
pub mod replay;
pub mod repro;
mod retry;
pub mod run;
pub mod shard;

use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zmtp_harness::registry::{Registry, RegistryError};
use zmtp_harness::scenario::{self, LoadedCase, ScenarioError};

/// Why a subcommand could not do its work (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundled requirement registry is invalid.
    #[error("requirement registry: {0}")]
    Registry(#[from] RegistryError),
    /// A scenario file could not be read or is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The run could not start (selection, drivers).
    #[error(transparent)]
    Run(#[from] zmtp_harness::run::RunError),
    /// A baseline could not be read or written.
    #[error(transparent)]
    Baseline(#[from] zmtp_harness::baseline::BaselineError),
    /// The golden vectors could not be read.
    #[error("golden vectors: {0}")]
    Vectors(#[from] zmtp_harness::vectors::VectorError),
    /// A driver command line is invalid.
    #[error(transparent)]
    Driver(#[from] zmtp_harness::driver::registry::RegistryError),
    /// A report could not be serialised.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A file could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No case matched the selection, or no case has the id asked for.
    #[error("{0}")]
    NoCase(String),
    /// No reproducer can be written for the case.
    #[error(transparent)]
    Repro(#[from] zmtp_harness::repro::ReproError),
    /// A library reported a failure in words (probe, network fuzzer, replay, coverage).
    #[error("{0}")]
    Failed(String),
}

/// Where scenario cases come from.
#[derive(Args, Clone)]
pub struct ScenarioSource {
    /// Also load scenario files from this file or directory (repeatable).
    #[arg(long = "scenarios", value_name = "PATH")]
    scenarios: Vec<PathBuf>,
    /// Use only the files given with --scenarios, not the built-in ones.
    #[arg(long)]
    only_scenarios: bool,
}

impl ScenarioSource {
    /// The built-in cases (unless `--only-scenarios`) and those of every `--scenarios` path.
    pub fn load(&self, registry: &Registry) -> Result<Vec<LoadedCase>, Error> {
        let mut cases = if self.only_scenarios {
            Vec::new()
        } else {
            scenario::builtin(registry)?
        };
        for p in &self.scenarios {
            cases.extend(scenario::load_path(p, registry)?);
        }
        Ok(cases)
    }
}

/// `print!` through [`emit`].
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::emit(&format!($($t)*)) };
}

/// `println!` through [`emit`].
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::emit(&format!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {out, outln};

/// Writes to stdout; a closed pipe (`| head`) ends the program quietly instead of panicking.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// The bundled requirement registry.
pub fn registry() -> Result<Arc<Registry>, Error> {
    Ok(Arc::new(Registry::bundled()?))
}

/// Writes a file, creating its directory.
pub fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, text).map_err(io(path))
}

/// Writes the JSON and JUnit forms of a report where asked.
pub fn write_reports(
    report: &zmtp_harness::report::RunReport,
    json: Option<&Path>,
    junit: Option<&Path>,
) -> Result<(), Error> {
    if let Some(path) = json {
        write_file(path, &serde_json::to_string_pretty(report)?)?;
    }
    if let Some(path) = junit {
        write_file(path, &zmtp_harness::report::junit(report))?;
    }
    Ok(())
}
