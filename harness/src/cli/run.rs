//! `run`: run scenarios against an implementation and judge it.
//!
//! Exit status: 0 when every result matches expectations (the baseline, or PASS/INFO/WARN/
//! UNSUPPORTED without one), 1 on a conformance deviation (a FAIL, a baseline mismatch, or a
//! verdict that flips between repetitions), 2 on a harness or driver error.

use super::{Error, ScenarioSource, out, outln};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use zmtp_harness::baseline::{Baseline, Deviation};
use zmtp_harness::driver::registry as drivers;
use zmtp_harness::report::{self, BaselineReport, Flaky};
use zmtp_harness::run::{self, RunOptions};
use zmtp_harness::verdict::Verdict;

/// Options of `run`.
#[derive(Args)]
pub struct RunArgs {
    /// Implementation under test: libzmq, zmqrs, pyzmq, or a driver command line.
    #[arg(long, default_value = "libzmq")]
    iut: String,
    /// Implementation for the second process of pair scenarios (default: same as --iut).
    #[arg(long)]
    iut2: Option<String>,
    /// Run only cases matching this glob (a family name selects the family); repeatable.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Skip cases matching this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Run only cases with this tag (seed, wire, ...); repeatable.
    #[arg(long)]
    tag: Vec<String>,
    /// Run only share K of N of the selection (1-based; join the reports with `merge`).
    #[arg(long, value_name = "K/N")]
    shard: Option<super::shard::Shard>,
    #[command(flatten)]
    source: ScenarioSource,
    /// Write the full report as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Stretch every wait and upper time bound by this factor.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Compare with this baseline (default: baselines/<iut>.toml for a named driver).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Do not compare with any baseline.
    #[arg(long, conflicts_with = "baseline")]
    no_baseline: bool,
    /// Rewrite the baseline from this run.
    #[arg(long)]
    update_baseline: bool,
    /// Keep transcripts of passing cases in the JSON report too.
    #[arg(long)]
    keep_transcripts: bool,
    /// Run the selection N times; a verdict that differs between runs is a deviation.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Run a case that deviates from the baseline again, alone, up to N more times; one that
    /// then matches is reported as flaky (every verdict and the first reason kept), not as a
    /// deviation.
    #[arg(long, default_value_t = 0, value_name = "N", conflicts_with_all = ["repeat", "update_baseline", "no_baseline"])]
    retry: u32,
    /// Cases run at once (default: two per core). Cases that measure time or load the machine
    /// still run alone, after the others; `--jobs 1` is the serial run in file order.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Do not print the details (transcripts) of failing cases.
    #[arg(long)]
    brief: bool,
    #[command(flatten)]
    hosts: HostArgs,
    #[command(flatten)]
    outputs: super::outputs::OutputArgs,
}

impl RunArgs {
    /// The baseline to compare with: `--baseline`, else `baselines/<iut>.toml` (or
    /// `<iut>+<iut2>.toml`) for a named driver, none with `--no-baseline`.
    fn baseline_path(&self) -> Option<PathBuf> {
        match (&self.baseline, self.no_baseline) {
            (_, true) => None,
            (Some(p), _) => Some(p.clone()),
            (None, false) if drivers::is_named(&self.iut) => {
                let name = match &self.iut2 {
                    Some(other) if other != &self.iut => format!("{}+{other}", self.iut),
                    _ => self.iut.clone(),
                };
                Some(
                    drivers::repo_root()
                        .join("baselines")
                        .join(format!("{name}.toml")),
                )
            }
            _ => None,
        }
    }
}

/// Runs the selection, compares with the baseline, prints and writes the reports.
pub async fn execute(args: RunArgs) -> Result<ExitCode, Error> {
    let registry = super::registry()?;
    let all = args.source.load(&registry)?;
    let selected = run::select(&all, &args.cases, &args.exclude, &args.tag)?;
    if selected.is_empty() {
        return Err(Error::NoCase("no case matches the selection".into()));
    }
    // A shard may be empty (more shards than cases): it runs nothing and merges as nothing.
    let selected = match args.shard {
        Some(shard) => shard.apply(selected),
        None => selected,
    };
    let options = RunOptions {
        iut: args.iut.clone(),
        iut2: args.iut2.clone(),
        cases: args.cases.clone(),
        exclude: args.exclude.clone(),
        tags: args.tag.clone(),
        timeout_scale: args.timeout_scale,
        keep_transcripts: args.keep_transcripts,
        repeat: args.repeat,
        jobs: args
            .jobs
            .map_or_else(zmtp_harness::schedule::default_jobs, usize::from),
        progress: std::io::stderr().is_terminal(),
        hosts: args.hosts.hosts(),
    };
    let outcome = run::run(&options, registry.clone(), &selected).await?;
    let mut report = outcome.report;
    let baseline_path = args.baseline_path();
    let mut deviations: Vec<Deviation> = Vec::new();
    let mut flips = outcome.flips;
    let mut known_flips = Vec::new();
    let mut flaky = Vec::new();
    if let Some(path) = &baseline_path {
        let baseline = Baseline::load(path)?;
        if args.update_baseline {
            let updated = baseline.updated(&args.iut, &report.results);
            updated.save(path)?;
            eprintln!(
                "baseline {} rewritten: {} entries",
                path.display(),
                updated.cases.len()
            );
        } else {
            if args.retry > 0 {
                flaky = super::retry::retry_deviations(
                    args.retry,
                    &options,
                    registry.clone(),
                    &selected,
                    &baseline,
                    &mut report,
                )
                .await?;
            }
            deviations = baseline.compare(&report.results);
            // A flip among verdicts the baseline lists for the case (`also`) is known variation.
            flips.retain(|id, vs| {
                let known = vs.iter().all(|v| baseline.allows(id, *v));
                if known {
                    known_flips.push((id.clone(), vs.clone()));
                }
                !known
            });
        }
        report.baseline = Some(BaselineReport {
            path: path.display().to_string(),
            listed: baseline.cases.len(),
            deviations: deviations.clone(),
            flaky: flaky.clone(),
        });
    }
    out!("{}", report::render_text(&report, !args.brief));
    print_flaky(&flaky);
    for (title, list) in [
        ("Verdicts that differed between the runs", &flips),
        (
            "Verdicts that varied as the baseline records (`also`)",
            &known_flips.into_iter().collect(),
        ),
    ] {
        if !list.is_empty() {
            outln!("\n{title} ({} runs):", args.repeat);
            for (id, vs) in list {
                let vs: Vec<&str> = vs.iter().map(|v| v.as_str()).collect();
                outln!("  {id}: {}", vs.join(" "));
            }
        }
    }
    super::write_reports(&report, args.json.as_deref(), args.junit.as_deref())?;
    args.outputs.write(&report, &registry)?;
    let any = |v: Verdict| report.results.iter().any(|r| r.verdict == v);
    Ok(if any(Verdict::Error) {
        ExitCode::from(2)
    } else if !flips.is_empty()
        || (baseline_path.is_some() && !args.update_baseline && !deviations.is_empty())
        || (baseline_path.is_none() && any(Verdict::Fail))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The cases that matched the baseline only on a retry, with every verdict and the first
/// attempt's reason.
fn print_flaky(flaky: &[Flaky]) {
    if flaky.is_empty() {
        return;
    }
    outln!(
        "\nFlaky: deviated from the baseline, then matched it when run again alone ({}):",
        flaky.len()
    );
    for f in flaky {
        outln!("  {}: {}", f.id, f.trail(" then "));
        if !f.first_changed.is_empty() {
            outln!(
                "      the first failed differently: {}",
                f.first_changed.join("; ")
            );
        }
        if let Some(reason) = &f.first_reason {
            outln!("      first: {reason}");
        }
    }
}

/// Where the implementations and the raw peer live, for an implementation on another host
/// (its driver started with `ssh`, `docker exec`, `ip netns exec` ...).
#[derive(Args, Debug, Clone, Default)]
pub struct HostArgs {
    /// The implementation binds on, and is reached at, this address of its host (its
    /// `tcp://127.0.0.1:` endpoints are moved there).
    #[arg(long, value_name = "ADDR")]
    iut_host: Option<std::net::IpAddr>,
    /// The second implementation's host address (pair cases; default: --iut-host).
    #[arg(long, value_name = "ADDR")]
    iut2_host: Option<std::net::IpAddr>,
    /// The raw peer listens on this address of this machine, which the implementation must
    /// be able to reach.
    #[arg(long, value_name = "ADDR")]
    peer_host: Option<std::net::IpAddr>,
}

impl HostArgs {
    /// The addresses as the engine takes them.
    pub fn hosts(&self) -> zmtp_harness::netns::Hosts {
        zmtp_harness::netns::Hosts {
            iut: self.iut_host,
            iut2: self.iut2_host,
            peer: self.peer_host,
        }
    }
}
