//! Baselines: the verdicts an implementation is known to get, with the reason for each.
//!
//! `baselines/<implementation>.toml` lists every case whose expected verdict is not PASS (or
//! INFO). A run matches its baseline when every case gets the verdict listed (PASS/INFO when
//! not listed). A new failure, and a listed case that now passes, are both deviations: the
//! first is a regression, the second a stale entry to remove. `--update-baseline` rewrites the
//! file from a run, keeping the reasons of entries that did not change.
//!
//! A FAIL or WARN entry also records *how* the case fails: the requirement IDs of the checks
//! that gave the verdict (`failed`), their outcome names (`outcome`), and a tolerance band for
//! each number the case measured (`[[case.band]]`). A run that gets the listed verdict but
//! fails on a requirement or outcome not listed, or measures a value outside its band, failed
//! differently: that is a deviation too ([`Deviation::changed`] says what changed). An entry
//! without these fields is compared on its verdict alone, as before they existed.

use crate::verdict::{CaseResult, CheckResult, Measurement, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

/// One expected non-PASS verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Case id.
    pub id: String,
    /// The verdict expected.
    pub verdict: Verdict,
    /// Other verdicts the case is known to get in some runs: a timing-dependent divergence
    /// that was investigated (the reason says what varies and why), not hidden. A run with
    /// any of these verdicts still matches, and a flip among them is not a deviation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Verdict>,
    /// FAIL/WARN: the requirement IDs of the checks that gave the verdict. A run with the same
    /// verdict that fails a requirement not listed here failed differently. Empty: not compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// FAIL/WARN: the names of the failing checks' outcomes (see [`outcome_name`]). A run with
    /// the same verdict and an outcome not listed here failed differently. Empty: not compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcome: Vec<String>,
    /// Why: the divergence, with a pointer (docs/findings.md, an issue, the digest).
    pub reason: String,
    /// FAIL/WARN: the range each measured value is expected in (none for the harness's own
    /// synchronisation, see [`SYNC_PROBES`]). Empty: not compared.
    #[serde(default, rename = "band", skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<Band>,
}

/// The range a measured value is expected in (`[[case.band]]`), wide enough for the spread
/// between runs on a loaded machine (see [`Band::around`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// The measurement's name, as the case reports it.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// The lowest value that matches.
    pub min: f64,
    /// The highest value that matches.
    pub max: f64,
}

/// Units of time: a measured duration varies with the machine's load.
const TIME_UNITS: [(&str, f64); 5] = [
    ("ns", 1e-6),
    ("us", 1e-3),
    ("µs", 1e-3),
    ("ms", 1.0),
    ("s", 1e3),
];

/// A duration's band reaches this much beyond `value × TIME_FACTOR` and below `value /
/// TIME_FACTOR` (in milliseconds): scheduling delays on a loaded 2-core machine are of this
/// order, whatever is measured.
const TIME_SLACK_MS: f64 = 250.0;

/// A duration may be this many times longer or shorter than recorded.
const TIME_FACTOR: f64 = 4.0;

/// A count (messages, descriptors, probes) may move by this fraction of its value …
const COUNT_FRACTION: f64 = 0.5;

/// … or by this many units, whichever is more.
const COUNT_SLACK: f64 = 3.0;

impl Band {
    /// The band around one measured value: for a duration from `value / 4 - 250 ms` to
    /// `value × 4 + 250 ms`, for a count `value ± max(3, value / 2)`, never below zero, widened
    /// to whole units.
    pub fn around(m: &Measurement) -> Band {
        let v = m.value;
        let (lo, hi) = match TIME_UNITS.iter().find(|(u, _)| *u == m.unit) {
            Some((_, ms_per_unit)) => {
                let slack = TIME_SLACK_MS / ms_per_unit;
                (v / TIME_FACTOR - slack, v * TIME_FACTOR + slack)
            }
            None => {
                let d = (v.abs() * COUNT_FRACTION).max(COUNT_SLACK);
                (v - d, v + d)
            }
        };
        Band {
            name: m.name.clone(),
            unit: m.unit.clone(),
            min: if v >= 0.0 { lo.max(0.0) } else { lo }.floor(),
            max: hi.ceil(),
        }
    }

    /// Whether a value is inside the band.
    pub fn holds(&self, value: f64) -> bool {
        (self.min..=self.max).contains(&value)
    }

    /// This band widened to cover `other` too.
    fn union(&self, other: &Band) -> Band {
        Band {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            ..self.clone()
        }
    }

    /// Whether `m` is this band's measurement.
    fn is_for(&self, m: &Measurement) -> bool {
        self.name == m.name && self.unit == m.unit
    }
}

/// The measurement the `sync-pubsub` step makes of itself (`engine/steps/composite.rs`): how
/// many 10 ms probes it published before one arrived. It times the harness's synchronisation
/// (a subscription taking effect on a loaded machine), not how the case fails, so baselines
/// record no band for it.
const SYNC_PROBES: &str = "sync probes until delivery";

/// Whether `m` is the harness's own synchronisation ([`SYNC_PROBES`]).
fn is_synchronisation(m: &Measurement) -> bool {
    m.name.starts_with(SYNC_PROBES)
}

/// The name of a failing check's outcome, as baselines record it: the primitive, the author's
/// label in parentheses, and for `check.one-of` the outcome that matched (or that none did),
/// e.g. `check.one-of: answered the malformed command with a PONG` or `step (peer.wait)`.
pub fn outcome_name(c: &CheckResult) -> String {
    let mut name = c.check.clone();
    if let Some(label) = &c.label {
        name.push_str(&format!(" ({label})"));
    }
    match &c.outcome {
        Some(o) => name.push_str(&format!(": {o}")),
        None if c.check == "check.one-of" => name.push_str(": no outcome matched"),
        None => {}
    }
    name
}

/// The checks that gave a case its verdict (those with the case's verdict).
fn deciding_checks(r: &CaseResult) -> impl Iterator<Item = &CheckResult> {
    r.checks.iter().filter(move |c| c.verdict == r.verdict)
}

/// Sorted, without duplicates.
fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items.collect();
    v.sort();
    v.dedup();
    v
}

/// The requirement IDs of the checks that gave a case its verdict.
fn failed_requirements(r: &CaseResult) -> Vec<String> {
    sorted(deciding_checks(r).map(|c| c.requirement.clone().unwrap_or_else(|| "-".into())))
}

/// The outcome names of the checks that gave a case its verdict.
fn failed_outcomes(r: &CaseResult) -> Vec<String> {
    sorted(deciding_checks(r).map(outcome_name))
}

/// Whether a verdict's entries record how the case fails.
fn records_details(v: Verdict) -> bool {
    matches!(v, Verdict::Fail | Verdict::Warn)
}

/// The items of `seen` that `listed` does not have, when `listed` is not empty.
fn not_listed<'a>(listed: &[String], seen: &'a [String]) -> Vec<&'a str> {
    if listed.is_empty() {
        return Vec::new();
    }
    seen.iter()
        .filter(|s| !listed.contains(s))
        .map(String::as_str)
        .collect()
}

impl Entry {
    /// Whether `verdict` is what this entry expects, or one it is known to vary to.
    pub fn allows(&self, verdict: Verdict) -> bool {
        std::iter::once(self.verdict)
            .chain(self.also.iter().copied())
            .any(|v| same_outcome(v, verdict))
    }

    /// How a result with this entry's verdict failed differently from what the entry records:
    /// a failing requirement or outcome not listed, a measured value outside its band. Empty
    /// when it failed the same way, when the verdict is another one (`also`), and for the
    /// fields the entry does not have.
    pub fn changes(&self, r: &CaseResult) -> Vec<String> {
        if r.verdict != self.verdict || !records_details(r.verdict) {
            return Vec::new();
        }
        let mut changed = Vec::new();
        let failed = failed_requirements(r);
        let new = not_listed(&self.failed, &failed);
        if !new.is_empty() {
            changed.push(format!(
                "fails on {}; the baseline lists {}",
                new.join(", "),
                self.failed.join(", ")
            ));
        }
        let outcomes = failed_outcomes(r);
        let new = not_listed(&self.outcome, &outcomes);
        if !new.is_empty() {
            changed.push(format!(
                "outcome {}; the baseline lists {}",
                quoted(&new),
                quoted(&self.outcome)
            ));
        }
        for band in &self.bands {
            for m in r.measurements.iter().filter(|m| band.is_for(m)) {
                if !band.holds(m.value) {
                    changed.push(format!(
                        "measured {}: {} {}, outside the baseline's band {}..={} {}",
                        m.name, m.value, m.unit, band.min, band.max, band.unit
                    ));
                }
            }
        }
        changed
    }

    /// This entry with what `r` shows of how the case fails added: its failing requirements
    /// and outcomes joined to those listed, each measured value's band widened to cover it
    /// (a value inside its band leaves the band as it is). Only for a result with the entry's
    /// verdict; FAIL and WARN only.
    fn recording(mut self, r: &CaseResult) -> Entry {
        if r.verdict != self.verdict || !records_details(r.verdict) {
            return self;
        }
        let join =
            |listed: &[String], seen: Vec<String>| sorted(listed.iter().cloned().chain(seen));
        self.failed = join(&self.failed, failed_requirements(r));
        self.outcome = join(&self.outcome, failed_outcomes(r));
        for m in r.measurements.iter().filter(|m| !is_synchronisation(m)) {
            let around = Band::around(m);
            match self.bands.iter_mut().find(|b| b.is_for(m)) {
                Some(b) if b.holds(m.value) => {}
                Some(b) => *b = b.union(&around),
                None => self.bands.push(around),
            }
        }
        self
    }
}

/// `"a", "b"`.
fn quoted(items: &[impl AsRef<str>]) -> String {
    items
        .iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// PASS and INFO are the same outcome for a baseline: INFO is a measurement or a MAY not taken.
fn same_outcome(expected: Verdict, actual: Verdict) -> bool {
    match expected {
        Verdict::Pass | Verdict::Info => matches!(actual, Verdict::Pass | Verdict::Info),
        v => v == actual,
    }
}

/// A baseline file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Which implementation this baseline is for.
    #[serde(default)]
    pub implementation: String,
    /// The expected non-PASS verdicts.
    #[serde(default, rename = "case")]
    pub cases: Vec<Entry>,
}

/// Errors reading or writing a baseline.
#[derive(Debug, Error)]
pub enum BaselineError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a valid baseline.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// How a case's result compares with its baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deviation {
    /// Case id.
    pub id: String,
    /// The verdict the baseline expects.
    pub expected: Verdict,
    /// The verdict the run got.
    pub actual: Verdict,
    /// The baseline's reason, if the case is listed.
    #[serde(default)]
    pub reason: Option<String>,
    /// For a case that got the verdict listed but failed differently: what changed (a
    /// requirement or outcome not listed, a value outside its band). Empty for a verdict change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

impl Deviation {
    /// A listed case that now gets a better verdict: the entry is stale.
    pub fn is_improvement(&self) -> bool {
        self.actual < self.expected
    }

    /// A case that got the verdict listed, but failed differently.
    pub fn is_changed_failure(&self) -> bool {
        !self.changed.is_empty()
    }
}

impl Baseline {
    /// Reads a baseline; a missing file is an empty baseline.
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Baseline::default()),
            Err(source) => {
                return Err(BaselineError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|e| BaselineError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// The expected verdict of a case (PASS when not listed).
    pub fn expected(&self, id: &str) -> Option<&Entry> {
        self.cases.iter().find(|e| e.id == id)
    }

    /// Whether the baseline allows `verdict` for case `id` (PASS or INFO when not listed).
    pub fn allows(&self, id: &str, verdict: Verdict) -> bool {
        match self.expected(id) {
            Some(e) => e.allows(verdict),
            None => same_outcome(Verdict::Pass, verdict),
        }
    }

    /// Compares results with this baseline: a verdict not allowed, or the verdict listed but
    /// failing differently ([`Entry::changes`]). Cases the run did not include are ignored.
    pub fn compare(&self, results: &[CaseResult]) -> Vec<Deviation> {
        results
            .iter()
            .filter_map(|r| {
                let entry = self.expected(&r.id);
                let expected = entry.map(|e| e.verdict).unwrap_or(Verdict::Pass);
                let changed = if self.allows(&r.id, r.verdict) {
                    let changed = entry.map(|e| e.changes(r)).unwrap_or_default();
                    if changed.is_empty() {
                        return None;
                    }
                    changed
                } else {
                    Vec::new()
                };
                Some(Deviation {
                    id: r.id.clone(),
                    expected,
                    actual: r.verdict,
                    reason: entry.map(|e| e.reason.clone()),
                    changed,
                })
            })
            .collect()
    }

    /// A baseline from a run: every FAIL, WARN and UNSUPPORTED (never ERROR: a harness or driver
    /// fault is fixed, not baselined). Reasons of entries whose verdict did not change are kept;
    /// others get the case's one-line reason for a reviewer to edit. A FAIL or WARN entry
    /// records how the case failed in this run ([`Entry::recording`]): what an entry with the
    /// same verdict listed is kept, and what this run adds is joined to it, so a failure that
    /// varies between runs is covered once each way was seen, and a changed failure is accepted.
    pub fn updated(&self, implementation: &str, results: &[CaseResult]) -> Baseline {
        let mut by_id: BTreeMap<String, Entry> = BTreeMap::new();
        for e in &self.cases {
            by_id.insert(e.id.clone(), e.clone());
        }
        for r in results {
            if let Some(e) = by_id.get_mut(&r.id).filter(|e| e.allows(r.verdict)) {
                *e = e.clone().recording(r);
                continue;
            }
            match r.verdict {
                Verdict::Fail | Verdict::Warn | Verdict::Unsupported => {
                    let reason = match by_id.get(&r.id) {
                        Some(e) if e.verdict == r.verdict => e.reason.clone(),
                        _ => format!(
                            "TODO review: {}",
                            r.reason.clone().unwrap_or_else(|| r.title.clone())
                        ),
                    };
                    let entry = Entry {
                        id: r.id.clone(),
                        verdict: r.verdict,
                        also: Vec::new(),
                        failed: Vec::new(),
                        outcome: Vec::new(),
                        reason,
                        bands: Vec::new(),
                    };
                    by_id.insert(r.id.clone(), entry.recording(r));
                }
                // Nothing was observed (the endpoint was down): the entry stays as it was.
                Verdict::NotRun => {}
                _ => {
                    by_id.remove(&r.id);
                }
            }
        }
        Baseline {
            implementation: implementation.to_string(),
            cases: by_id.into_values().collect(),
        }
    }

    /// Writes the baseline as TOML.
    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let io = |source| BaselineError::Io {
            path: path.display().to_string(),
            source,
        };
        let body = toml::to_string(self).map_err(|e| BaselineError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let header = format!(
            "# Expected non-PASS verdicts of {} (see baselines/README.md).\n# A result that differs from this file fails the run; `--update-baseline` rewrites it.\n\n",
            self.implementation
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, header + &body).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: "t".into(),
            requirements: vec![],
            verdict,
            reason: Some("why".into()),
            checks: vec![],
            measurements: vec![],
            steps: vec![],
            peers: vec![],
            drivers: vec![],
            duration_ms: 0.0,
        }
    }

    #[test]
    fn deviations_both_ways() {
        let b = Baseline {
            implementation: "x".into(),
            cases: vec![Entry {
                id: "a/1".into(),
                verdict: Verdict::Fail,
                also: vec![],
                failed: vec![],
                outcome: vec![],
                reason: "known".into(),
                bands: vec![],
            }],
        };
        let results = [
            result("a/1", Verdict::Pass),
            result("a/2", Verdict::Fail),
            result("a/3", Verdict::Info),
        ];
        let d = b.compare(&results);
        assert_eq!(d.len(), 2);
        assert!(d[0].is_improvement());
        assert!(!d[1].is_improvement());
        let u = b.updated("x", &results);
        assert_eq!(u.cases.len(), 1);
        assert_eq!(u.cases[0].id, "a/2");
        assert!(u.cases[0].reason.starts_with("TODO review"));
    }

    #[test]
    fn a_known_variation_matches_either_way_and_survives_an_update() {
        let b = Baseline {
            implementation: "x".into(),
            cases: vec![Entry {
                id: "t/1".into(),
                verdict: Verdict::Fail,
                also: vec![Verdict::Pass],
                failed: vec![],
                outcome: vec![],
                reason: "timing: the peer wins the race in about 1 run of 5".into(),
                bands: vec![],
            }],
        };
        for v in [Verdict::Fail, Verdict::Pass, Verdict::Info] {
            assert!(b.compare(&[result("t/1", v)]).is_empty(), "{v:?}");
        }
        assert_eq!(b.compare(&[result("t/1", Verdict::Warn)]).len(), 1);
        let u = b.updated("x", &[result("t/1", Verdict::Pass)]);
        assert_eq!(u.cases, b.cases);
    }

    fn check(requirement: &str, verdict: Verdict, outcome: Option<&str>) -> CheckResult {
        CheckResult {
            step: 3,
            check: "check.one-of".into(),
            label: None,
            requirement: Some(requirement.into()),
            requirement_text: None,
            level: "MUST".into(),
            verdict,
            expected: "e".into(),
            actual: "a".into(),
            outcome: outcome.map(Into::into),
        }
    }

    fn measured(name: &str, value: f64, unit: &str) -> Measurement {
        Measurement {
            name: name.into(),
            value,
            unit: unit.into(),
        }
    }

    /// A FAIL on `requirement` with outcome `outcome`, a passing check on PASS-01, and `lost`
    /// messages lost.
    fn failing(requirement: &str, outcome: &str, lost: f64) -> CaseResult {
        let mut r = result("l/1", Verdict::Fail);
        r.checks = vec![
            check("PASS-01", Verdict::Pass, None),
            check(requirement, Verdict::Fail, Some(outcome)),
        ];
        r.measurements = vec![measured("lost", lost, "messages")];
        r
    }

    /// A baseline recorded from one run (as `--update-baseline` writes it).
    fn recorded(r: &CaseResult) -> Baseline {
        Baseline::default().updated("x", std::slice::from_ref(r))
    }

    #[test]
    fn an_update_records_how_the_case_fails() {
        let b = recorded(&failing("RECON-03", "lost messages", 6.0));
        let e = &b.cases[0];
        assert_eq!(e.failed, ["RECON-03"]);
        assert_eq!(e.outcome, ["check.one-of: lost messages"]);
        assert_eq!(
            e.bands,
            [Band {
                name: "lost".into(),
                unit: "messages".into(),
                min: 3.0,
                max: 9.0
            }]
        );
        // and it round-trips through TOML
        let text = toml::to_string(&b).unwrap();
        assert!(text.contains("[[case.band]]"), "{text}");
        assert_eq!(toml::from_str::<Baseline>(&text).unwrap(), b);
    }

    #[test]
    fn the_same_failure_matches() {
        let b = recorded(&failing("RECON-03", "lost messages", 6.0));
        for lost in [3.0, 6.0, 9.0] {
            assert!(
                b.compare(&[failing("RECON-03", "lost messages", lost)])
                    .is_empty()
            );
        }
    }

    #[test]
    fn another_failing_requirement_is_a_deviation() {
        let b = recorded(&failing("RECON-03", "lost messages", 6.0));
        let d = b.compare(&[failing("JOIN-03", "lost messages", 6.0)]);
        assert_eq!(d.len(), 1);
        assert!(d[0].is_changed_failure() && !d[0].is_improvement());
        assert_eq!((d[0].expected, d[0].actual), (Verdict::Fail, Verdict::Fail));
        assert_eq!(
            d[0].changed,
            ["fails on JOIN-03; the baseline lists RECON-03"]
        );
    }

    #[test]
    fn another_outcome_is_a_deviation() {
        let b = recorded(&failing("RECON-03", "lost messages", 6.0));
        let d = b.compare(&[failing("RECON-03", "closed the connection", 6.0)]);
        assert_eq!(d.len(), 1);
        assert!(d[0].changed[0].contains("\"check.one-of: closed the connection\""));
    }

    #[test]
    fn a_value_outside_its_band_is_a_deviation() {
        let b = recorded(&failing("RECON-03", "lost messages", 6.0));
        let d = b.compare(&[failing("RECON-03", "lost messages", 170.0)]);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].changed,
            ["measured lost: 170 messages, outside the baseline's band 3..=9 messages"]
        );
    }

    #[test]
    fn an_update_accepts_a_changed_failure() {
        let b = recorded(&failing("RECON-03", "lost messages", 6.0));
        let changed = failing("JOIN-03", "closed the connection", 170.0);
        let u = b.updated("x", std::slice::from_ref(&changed));
        assert!(u.compare(std::slice::from_ref(&changed)).is_empty());
        assert_eq!(u.cases[0].failed, ["JOIN-03", "RECON-03"]);
        assert!(u.cases[0].bands[0].holds(6.0) && u.cases[0].bands[0].holds(170.0));
        // the reason of an entry whose verdict did not change is kept
        assert_eq!(u.cases[0].reason, b.cases[0].reason);
    }

    #[test]
    fn an_update_inside_the_band_changes_nothing() {
        let b = recorded(&failing("RECON-03", "lost messages", 6.0));
        let u = b.updated("x", &[failing("RECON-03", "lost messages", 8.0)]);
        assert_eq!(u, b);
    }

    #[test]
    fn an_entry_without_the_new_fields_compares_on_its_verdict_only() {
        let b: Baseline = toml::from_str(
            "implementation = \"x\"\n[[case]]\nid = \"l/1\"\nverdict = \"FAIL\"\nreason = \"known\"\n",
        )
        .unwrap();
        assert!(b.compare(&[failing("JOIN-03", "anything", 1e6)]).is_empty());
        assert_eq!(b.compare(&[result("l/1", Verdict::Warn)]).len(), 1);
    }

    #[test]
    fn details_are_not_compared_for_an_also_verdict_or_unsupported() {
        let mut b = recorded(&failing("RECON-03", "lost messages", 6.0));
        b.cases[0].also = vec![Verdict::Warn];
        let mut warn = failing("JOIN-03", "other", 170.0);
        warn.verdict = Verdict::Warn;
        warn.checks[1].verdict = Verdict::Warn;
        assert!(b.compare(std::slice::from_ref(&warn)).is_empty());
        assert_eq!(b.updated("x", &[warn]), b);
        let u = recorded(&result("u/1", Verdict::Unsupported));
        assert!(u.cases[0].failed.is_empty() && u.cases[0].bands.is_empty());
    }

    #[test]
    fn a_failing_requirement_dropped_is_not_a_deviation() {
        let mut two = failing("RECON-03", "lost messages", 6.0);
        two.checks
            .push(check("JOIN-03", Verdict::Fail, Some("late")));
        let b = recorded(&two);
        assert_eq!(b.cases[0].failed, ["JOIN-03", "RECON-03"]);
        assert!(
            b.compare(&[failing("RECON-03", "lost messages", 6.0)])
                .is_empty()
        );
    }

    #[test]
    fn bands_of_durations_and_counts() {
        let ms = Band::around(&measured("reconnect", 50.0, "ms"));
        assert_eq!((ms.min, ms.max), (0.0, 450.0));
        let us = Band::around(&measured("send", 5000.0, "us"));
        assert_eq!((us.min, us.max), (0.0, 270_000.0));
        let slow = Band::around(&measured("close", 2000.0, "ms"));
        assert_eq!((slow.min, slow.max), (250.0, 8250.0));
        let few = Band::around(&measured("probes", 1.0, "messages"));
        assert_eq!((few.min, few.max), (0.0, 4.0));
        let many = Band::around(&measured("depth", 1000.0, "messages"));
        assert_eq!((many.min, many.max), (500.0, 1500.0));
    }

    #[test]
    fn no_band_for_the_harness_own_synchronisation() {
        let mut r = failing("RECON-03", "lost messages", 6.0);
        r.measurements.push(measured(
            "sync probes until delivery (pub)",
            1.0,
            "messages",
        ));
        let b = recorded(&r);
        assert_eq!(b.cases[0].bands.len(), 1);
        assert_eq!(b.cases[0].bands[0].name, "lost");
    }

    #[test]
    fn outcome_names() {
        let mut c = check("HB-06", Verdict::Fail, Some("a PONG"));
        assert_eq!(outcome_name(&c), "check.one-of: a PONG");
        c.outcome = None;
        assert_eq!(outcome_name(&c), "check.one-of: no outcome matched");
        c.check = "step".into();
        c.label = Some("peer.wait".into());
        assert_eq!(outcome_name(&c), "step (peer.wait)");
    }
}
