//! `merge`: joins the JSON reports of a sharded run (`run --shard K/N --json ...`) into the
//! report the unsharded run gives: the cases in suite order, counts recomputed, the baseline
//! comparison recomputed from the baseline file, and the report views written from it.
//!
//! Exit status: like `run`'s: 0 when the merged results match the baseline (or, without one,
//! have no FAIL), 1 on a deviation, 2 on an ERROR or when the reports cannot be merged.

use super::{Error, ScenarioSource, out};
use clap::Args;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use zmtp_harness::baseline::Baseline;
use zmtp_harness::report::{self, BaselineReport, Flaky, RunReport};
use zmtp_harness::verdict::Verdict;

/// Options of `merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// The shard reports (`run --json`), in any order.
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Write the merged report as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Compare with this baseline instead of the one the shards used.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Do not compare with any baseline.
    #[arg(long, conflicts_with = "baseline")]
    no_baseline: bool,
    /// The scenario files the shards ran (their order is the merged report's case order).
    #[command(flatten)]
    source: ScenarioSource,
    #[command(flatten)]
    outputs: super::outputs::OutputArgs,
}

/// Why shard reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A report could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The reports are of different implementations.
    #[error("{path} is a run of {found}, the first report of {expected}")]
    Implementation {
        /// The file.
        path: String,
        /// The first report's `iut+iut2`.
        expected: String,
        /// This one's.
        found: String,
    },
    /// A case is in two reports (overlapping shards, or a report given twice).
    #[error("case {id} is in both {first} and {second}")]
    Duplicate {
        /// The case.
        id: String,
        /// The first report with it.
        first: String,
        /// The second.
        second: String,
    },
}

/// Merges the reports, recomputes the baseline comparison, prints and writes the result.
pub fn execute(args: MergeArgs) -> Result<ExitCode, Error> {
    let registry = super::registry()?;
    let order: HashMap<String, usize> = args
        .source
        .load(&registry)?
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c.case.id, i))
        .collect();
    let mut shards = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let r: RunReport = serde_json::from_str(&text).map_err(|e| fail(read(path, e)))?;
        shards.push((path.display().to_string(), r));
    }
    // What each shard's `--retry` found flaky; its results already hold the matching runs.
    let flaky: Vec<Flaky> = shards
        .iter()
        .flat_map(|(_, r)| r.baseline.iter().flat_map(|b| b.flaky.clone()))
        .collect();
    let mut merged = merge(shards, &order).map_err(fail)?;
    let baseline_path = match (&args.baseline, args.no_baseline) {
        (_, true) => None,
        (Some(p), _) => Some(p.clone()),
        (None, false) => merged.baseline.as_ref().map(|b| PathBuf::from(&b.path)),
    };
    merged.baseline = None;
    if let Some(path) = &baseline_path {
        let baseline = Baseline::load(path)?;
        merged.baseline = Some(BaselineReport {
            path: path.display().to_string(),
            listed: baseline.cases.len(),
            deviations: baseline.compare(&merged.results),
            flaky,
        });
    }
    out!("{}", report::render_text(&merged, false));
    super::write_reports(&merged, args.json.as_deref(), args.junit.as_deref())?;
    args.outputs.write(&merged, &registry)?;
    let any = |v: Verdict| merged.results.iter().any(|r| r.verdict == v);
    let deviations = merged.baseline.as_ref().map(|b| b.deviations.len());
    Ok(if any(Verdict::Error) {
        ExitCode::from(2)
    } else if deviations.is_some_and(|n| n > 0) || (deviations.is_none() && any(Verdict::Fail)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn read(path: &std::path::Path, e: serde_json::Error) -> MergeError {
    MergeError::Read {
        path: path.display().to_string(),
        message: format!("not a `run --json` report: {e}"),
    }
}

fn fail(e: MergeError) -> Error {
    Error::Failed(e.to_string())
}

/// Joins shard reports: the first report's header, every case once, in the order of `order`
/// (case id → position in the suite; unknown ids last, by id), counts recomputed; the start is
/// the earliest shard's and the duration the longest shard's (shards run side by side).
pub fn merge(
    shards: Vec<(String, RunReport)>,
    order: &HashMap<String, usize>,
) -> Result<RunReport, MergeError> {
    let label = |r: &RunReport| format!("{}+{}", r.iut.name, r.iut2.name);
    let mut shards = shards.into_iter();
    let Some((first_path, mut merged)) = shards.next() else {
        return Err(MergeError::Read {
            path: String::new(),
            message: "no report".into(),
        });
    };
    let mut seen: BTreeMap<String, String> = merged
        .results
        .iter()
        .map(|r| (r.id.clone(), first_path.clone()))
        .collect();
    for (path, r) in shards {
        if label(&r) != label(&merged) {
            return Err(MergeError::Implementation {
                path,
                expected: label(&merged),
                found: label(&r),
            });
        }
        for c in &r.results {
            if let Some(first) = seen.insert(c.id.clone(), path.clone()) {
                return Err(MergeError::Duplicate {
                    id: c.id.clone(),
                    first,
                    second: path,
                });
            }
        }
        merged.started_unix = merged.started_unix.min(r.started_unix);
        merged.duration_ms = merged.duration_ms.max(r.duration_ms);
        if merged.baseline.is_none() {
            merged.baseline = r.baseline;
        }
        merged.results.extend(r.results);
    }
    merged
        .results
        .sort_by(|a, b| match (order.get(&a.id), order.get(&b.id)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.id.cmp(&b.id),
        });
    merged.counts = report::counts(&merged.results);
    Ok(merged)
}
