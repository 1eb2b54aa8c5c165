//! `run --retry N`: a case that deviates from its baseline is run again, alone, up to N more
//! times. One that then matches is reported as flaky (every attempt's verdict and the first
//! attempt's reason kept) instead of as a deviation, and its result is the matching run's.
//! Some libraries race with themselves (JeroMQ's connecting socket sometimes never sends its
//! greeting, JQ-01), so a CI gate without retries fails on the library's dice; with them, only
//! a case that deviates every time fails, and the flaky ones are still printed.

use std::collections::BTreeMap;
use std::sync::Arc;
use zmtp_harness::baseline::Baseline;
use zmtp_harness::registry::Registry;
use zmtp_harness::report::{Flaky, RunReport};
use zmtp_harness::run::{self, RunError, RunOptions};
use zmtp_harness::scenario::LoadedCase;

/// Runs the deviating cases of `report` again, one at a time, up to `attempts` more times
/// each; a result that matches `baseline` replaces the deviating one. Returns the flaky cases.
pub(super) async fn retry_deviations(
    attempts: u32,
    options: &RunOptions,
    registry: Arc<Registry>,
    all: &[LoadedCase],
    baseline: &Baseline,
    report: &mut RunReport,
) -> Result<Vec<Flaky>, RunError> {
    // Case id -> the first attempt's record, to which every later verdict is added.
    let mut history: BTreeMap<String, Flaky> = BTreeMap::new();
    let mut flaky = Vec::new();
    for attempt in 1..=attempts {
        let deviations = baseline.compare(&report.results);
        if deviations.is_empty() {
            break;
        }
        eprintln!(
            "retry {attempt} of {attempts}: {} deviating case(s), each alone",
            deviations.len()
        );
        for d in &deviations {
            let reason = report
                .results
                .iter()
                .find(|r| r.id == d.id)
                .and_then(|r| r.reason.clone());
            history.entry(d.id.clone()).or_insert_with(|| Flaky {
                id: d.id.clone(),
                verdicts: vec![d.actual],
                first_reason: reason,
                first_changed: d.changed.clone(),
            });
        }
        let deviating: Vec<String> = deviations.into_iter().map(|d| d.id).collect();
        let cases: Vec<LoadedCase> = all
            .iter()
            .filter(|c| deviating.contains(&c.case.id))
            .cloned()
            .collect();
        let alone = RunOptions {
            cases: deviating.clone(),
            repeat: 1,
            jobs: 1,
            ..options.clone()
        };
        let again = run::run(&alone, registry.clone(), &cases).await?.report;
        for result in again.results {
            let Some(record) = history.get_mut(&result.id) else {
                continue;
            };
            record.verdicts.push(result.verdict);
            if !baseline.compare(std::slice::from_ref(&result)).is_empty() {
                continue;
            }
            flaky.push(record.clone());
            if let Some(slot) = report.results.iter_mut().find(|r| r.id == result.id) {
                *slot = result;
            }
        }
    }
    report.counts = zmtp_harness::report::counts(&report.results);
    Ok(flaky)
}
