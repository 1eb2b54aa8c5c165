//! `perf`: the performance suite (throughput and latency, separate from conformance), and the
//! check that the raw peer keeps up with libzmq (`--ratios`).

use super::{Error, out, outln};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use zmtp_harness::perf::{self, Pattern, PerfConfig, Setup, ratio};

/// Options of `perf`.
#[derive(Args)]
pub struct PerfArgs {
    /// The implementation: a driver name or command line.
    #[arg(long, default_value = "libzmq")]
    iut: String,
    /// The second implementation for the `iut-to-iut2` set-up (default: a second `--iut`).
    #[arg(long)]
    iut2: Option<String>,
    /// Patterns to run (repeatable; default all).
    #[arg(long = "pattern", value_enum)]
    patterns: Vec<Pattern>,
    /// Set-ups to run (repeatable; default all).
    #[arg(long = "setup", value_enum)]
    setups: Vec<Setup>,
    /// Message sizes in octets (repeatable; default 1, 64, 1024, 65536).
    #[arg(long = "size")]
    sizes: Vec<usize>,
    /// Target length of one timed run, milliseconds.
    #[arg(long, default_value_t = 1000)]
    run_ms: u64,
    /// Timed runs per cell.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Skip the REQ/REP latency rows.
    #[arg(long)]
    no_latency: bool,
    /// Instead of the suite: the raw peer's rate against libzmq's, as sink and as source
    /// (interleaved rounds; uses the libzmq driver whatever --iut says).
    #[arg(long)]
    ratios: bool,
    /// Rounds per size for --ratios.
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Write the result as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn sizes(args: &PerfArgs) -> Vec<usize> {
    if args.sizes.is_empty() {
        vec![1, 64, 1024, 65536]
    } else {
        args.sizes.clone()
    }
}

/// Runs the suite (or the ratios) and prints the table; exit 0, or 2 if it could not run.
/// `--ratios` exits 1 when a ratio misses its goal.
pub async fn execute(args: PerfArgs) -> Result<ExitCode, Error> {
    if args.ratios {
        return ratios(&args).await;
    }
    let config = PerfConfig {
        iut: zmtp_harness::driver::resolve(&args.iut)?,
        iut2: args
            .iut2
            .as_deref()
            .map(zmtp_harness::driver::resolve)
            .transpose()?,
        patterns: if args.patterns.is_empty() {
            Pattern::ALL.to_vec()
        } else {
            args.patterns.clone()
        },
        setups: if args.setups.is_empty() {
            Setup::ALL.to_vec()
        } else {
            args.setups.clone()
        },
        sizes: sizes(&args),
        run: Duration::from_millis(args.run_ms),
        runs: args.runs.max(1),
        latency: !args.no_latency,
    };
    let report = perf::run(&config, |c| {
        eprintln!(
            "perf: {} {} {} B: {}",
            c.pattern.name(),
            c.setup.name(),
            c.size,
            c.msgs_per_s
                .map(|s| format!("{} msg/s", perf::human(s.median)))
                .or_else(|| c.error.clone())
                .unwrap_or_default()
        );
    })
    .await
    .map_err(|e| Error::Failed(e.to_string()))?;
    out!("{}", perf::render_table(&report));
    out!("{}", perf::render_latency(&report.latency));
    for n in &report.notes {
        outln!("note: {n}");
    }
    if let Some(path) = &args.json {
        super::write_file(path, &serde_json::to_string_pretty(&report)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn ratios(args: &PerfArgs) -> Result<ExitCode, Error> {
    let config = ratio::RatioConfig {
        libzmq: zmtp_harness::driver::resolve("libzmq")?,
        sizes: sizes(args),
        rounds: args.rounds.max(1),
        transfer: Duration::from_millis(args.run_ms),
    };
    let report = ratio::run(&config, |r| {
        eprintln!(
            "ratios: {} {} B: {}",
            r.direction,
            r.size,
            r.ratio
                .map(|s| format!("{:.2}", s.median))
                .unwrap_or_default()
        );
    })
    .await
    .map_err(|e| Error::Failed(e.to_string()))?;
    out!("{}", ratio::render(&report));
    if let Some(path) = &args.json {
        super::write_file(path, &serde_json::to_string_pretty(&report)?)?;
    }
    Ok(if report.rows.iter().all(|r| r.met) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
