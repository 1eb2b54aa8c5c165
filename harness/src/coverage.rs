//! Requirement coverage: for every requirement of the registry, the cases that check it, or
//! why it cannot be tested (`zmtp-harness coverage`).

use crate::registry::{Level, Registry, Testability};
use crate::scenario::{LoadedCase, ScenarioError, cited_requirements};
use crate::vectors::VectorError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The cases coverage counts: the scenario cases given, plus the probe cases (generated for a
/// DEALER endpoint, which exercises the whole probe family).
pub fn all_cases(
    registry: &Registry,
    mut cases: Vec<LoadedCase>,
) -> Result<Vec<LoadedCase>, ScenarioError> {
    cases.extend(crate::probe::cases("DEALER", registry)?);
    Ok(cases)
}

/// Every requirement ID the golden vectors cite (one entry per citation).
///
/// # Errors
///
/// When a vector file cannot be read or parsed.
pub fn vector_citations() -> Result<Vec<String>, VectorError> {
    Ok(crate::vectors::load_dir(&crate::vectors::default_dir())?
        .into_iter()
        .flat_map(|(_, f)| f.vectors)
        .flat_map(|v| v.requirements)
        .collect())
}

/// One requirement's coverage.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Requirement ID.
    pub id: String,
    /// MUST / SHOULD / MAY.
    pub level: String,
    /// wire / driver / untestable.
    pub testability: String,
    /// Cases citing it.
    pub cases: Vec<String>,
    /// Golden vectors citing it (codec-level evidence; not counted as a case).
    pub vectors: usize,
    /// Why it is untestable, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untestable: Option<String>,
}

/// Totals for one group (a level, or everything).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Requirements.
    pub requirements: usize,
    /// Requirements checked by at least one case.
    pub covered: usize,
    /// Untestable requirements (with a reason).
    pub untestable: usize,
    /// Testable requirements no case checks.
    pub uncovered: usize,
}

impl Totals {
    /// Covered as a percentage of the testable requirements.
    pub fn percent(&self) -> f64 {
        let testable = self.requirements - self.untestable;
        if testable == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / testable as f64
        }
    }
}

/// The whole coverage report.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Per requirement, in registry order.
    pub rows: Vec<Row>,
    /// Totals per level.
    pub by_level: BTreeMap<String, Totals>,
    /// Totals per testability.
    pub by_testability: BTreeMap<String, Totals>,
    /// Everything.
    pub total: Totals,
}

impl Coverage {
    /// Computes coverage of `registry` by `cases`; `vector_citations` are the requirement IDs
    /// the golden vectors cite (one entry per citation).
    pub fn compute(
        registry: &Registry,
        cases: &[LoadedCase],
        vector_citations: &[String],
    ) -> Coverage {
        let mut vectors: BTreeMap<&str, usize> = BTreeMap::new();
        for v in vector_citations {
            *vectors.entry(v.as_str()).or_insert(0) += 1;
        }
        let mut by_req: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in cases {
            for r in cited_requirements(&c.case) {
                by_req.entry(r).or_default().push(c.case.id.clone());
            }
        }
        let mut rows = Vec::new();
        let mut by_level: BTreeMap<String, Totals> = BTreeMap::new();
        let mut by_testability: BTreeMap<String, Totals> = BTreeMap::new();
        let mut total = Totals::default();
        for r in registry.iter() {
            let cases = by_req.remove(&r.id).unwrap_or_default();
            let untestable = (r.testability == Testability::Untestable)
                .then(|| r.reason.clone().unwrap_or_default());
            for t in [
                &mut total,
                by_level.entry(r.level.keyword().to_string()).or_default(),
                by_testability
                    .entry(r.testability.as_str().to_string())
                    .or_default(),
            ] {
                t.requirements += 1;
                if !cases.is_empty() {
                    t.covered += 1;
                } else if untestable.is_some() {
                    t.untestable += 1;
                } else {
                    t.uncovered += 1;
                }
            }
            rows.push(Row {
                id: r.id.clone(),
                level: r.level.keyword().to_string(),
                testability: r.testability.as_str().to_string(),
                cases,
                vectors: vectors.get(r.id.as_str()).copied().unwrap_or(0),
                untestable,
            });
        }
        Coverage {
            rows,
            by_level,
            by_testability,
            total,
        }
    }

    /// Testable MUST requirements (wire-testable only, if `wire_only`) that no case checks.
    pub fn uncovered_musts(&self, registry: &Registry, wire_only: bool) -> Vec<String> {
        self.rows
            .iter()
            .filter(|row| row.cases.is_empty() && row.untestable.is_none())
            .filter(|row| {
                registry.get(&row.id).is_some_and(|r| {
                    r.level == Level::Must && (!wire_only || r.testability == Testability::Wire)
                })
            })
            .map(|row| row.id.clone())
            .collect()
    }

    /// The report as text: one line per requirement, then the totals.
    pub fn render(&self, verbose: bool) -> String {
        let mut out =
            String::from("requirement level  testable   vectors  cases (or why untestable)\n");
        for row in &self.rows {
            let what = if !row.cases.is_empty() {
                let shown: Vec<&str> = row
                    .cases
                    .iter()
                    .take(if verbose { usize::MAX } else { 3 })
                    .map(String::as_str)
                    .collect();
                let more = row.cases.len().saturating_sub(shown.len());
                format!(
                    "{}{}",
                    shown.join(", "),
                    if more > 0 {
                        format!(" (+{more})")
                    } else {
                        String::new()
                    }
                )
            } else if let Some(why) = &row.untestable {
                format!("untestable: {why}")
            } else {
                "NOT COVERED".to_string()
            };
            let vectors = if row.vectors > 0 {
                format!("{:>3}v", row.vectors)
            } else {
                "    ".to_string()
            };
            let _ = writeln!(
                out,
                "{:<11} {:<6} {:<10} {vectors}  {what}",
                row.id, row.level, row.testability
            );
        }
        let _ = writeln!(
            out,
            "\n{:<12} {:>6} {:>8} {:>11} {:>10} {:>9}",
            "", "total", "covered", "untestable", "uncovered", "covered%"
        );
        let line = |out: &mut String, name: &str, t: &Totals| {
            let _ = writeln!(
                out,
                "{name:<12} {:>6} {:>8} {:>11} {:>10} {:>8.1}%",
                t.requirements,
                t.covered,
                t.untestable,
                t.uncovered,
                t.percent()
            );
        };
        for (level, t) in &self.by_level {
            line(&mut out, level, t);
        }
        for (testability, t) in &self.by_testability {
            line(&mut out, testability, t);
        }
        line(&mut out, "all", &self.total);
        out
    }
}
