//! Baselines: the verdicts an implementation is known to get, with the reason for each.
//!
//! `baselines/<implementation>.toml` lists every case whose expected verdict is not PASS (or
//! INFO). A run matches its baseline when every case gets the verdict listed (PASS/INFO when
//! not listed). A new failure, and a listed case that now passes, are both deviations: the
//! first is a regression, the second a stale entry to remove. `--update-baseline` rewrites the
//! file from a run, keeping the reasons of entries that did not change.

use crate::verdict::{CaseResult, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

/// One expected non-PASS verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Why: the divergence, with a pointer (docs/findings.md, an issue, the digest).
    pub reason: String,
}

impl Entry {
    /// Whether `verdict` is what this entry expects, or one it is known to vary to.
    pub fn allows(&self, verdict: Verdict) -> bool {
        std::iter::once(self.verdict)
            .chain(self.also.iter().copied())
            .any(|v| same_outcome(v, verdict))
    }
}

/// PASS and INFO are the same outcome for a baseline: INFO is a measurement or a MAY not taken.
fn same_outcome(expected: Verdict, actual: Verdict) -> bool {
    match expected {
        Verdict::Pass | Verdict::Info => matches!(actual, Verdict::Pass | Verdict::Info),
        v => v == actual,
    }
}

/// A baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deviation {
    /// Case id.
    pub id: String,
    /// The verdict the baseline expects.
    pub expected: Verdict,
    /// The verdict the run got.
    pub actual: Verdict,
    /// The baseline's reason, if the case is listed.
    pub reason: Option<String>,
}

impl Deviation {
    /// A listed case that now gets a better verdict: the entry is stale.
    pub fn is_improvement(&self) -> bool {
        self.actual < self.expected
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

    /// Compares results with this baseline. Cases the run did not include are ignored.
    pub fn compare(&self, results: &[CaseResult]) -> Vec<Deviation> {
        results
            .iter()
            .filter_map(|r| {
                let entry = self.expected(&r.id);
                let expected = entry.map(|e| e.verdict).unwrap_or(Verdict::Pass);
                (!self.allows(&r.id, r.verdict)).then(|| Deviation {
                    id: r.id.clone(),
                    expected,
                    actual: r.verdict,
                    reason: entry.map(|e| e.reason.clone()),
                })
            })
            .collect()
    }

    /// A baseline from a run: every FAIL, WARN and UNSUPPORTED (never ERROR: a harness or driver
    /// fault is fixed, not baselined). Reasons of entries whose verdict did not change are kept;
    /// others get the case's one-line reason for a reviewer to edit.
    pub fn updated(&self, implementation: &str, results: &[CaseResult]) -> Baseline {
        let mut by_id: BTreeMap<String, Entry> = BTreeMap::new();
        for e in &self.cases {
            by_id.insert(e.id.clone(), e.clone());
        }
        for r in results {
            if by_id.get(&r.id).is_some_and(|e| e.allows(r.verdict)) {
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
                    by_id.insert(
                        r.id.clone(),
                        Entry {
                            id: r.id.clone(),
                            verdict: r.verdict,
                            also: Vec::new(),
                            reason,
                        },
                    );
                }
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
                reason: "known".into(),
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
                reason: "timing: the peer wins the race in about 1 run of 5".into(),
            }],
        };
        for v in [Verdict::Fail, Verdict::Pass, Verdict::Info] {
            assert!(b.compare(&[result("t/1", v)]).is_empty(), "{v:?}");
        }
        assert_eq!(b.compare(&[result("t/1", Verdict::Warn)]).len(), 1);
        let u = b.updated("x", &[result("t/1", Verdict::Pass)]);
        assert_eq!(u.cases, b.cases);
    }
}
