//! Reports of a run: a text summary for people, JSON for machines, JUnit XML for CI.

use crate::baseline::Deviation;
use crate::verdict::{CaseResult, PeerRecord, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use zmtp_driver_protocol::HelloInfo;

/// One implementation of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Implementation {
    /// The `--iut` name or command.
    pub name: String,
    /// The command line that starts its driver.
    pub command: String,
    /// What its driver said in `hello`.
    pub hello: Option<HelloInfo>,
}

/// The comparison with a baseline file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineReport {
    /// The file.
    pub path: String,
    /// Cases the file lists.
    pub listed: usize,
    /// Results that differ from it.
    pub deviations: Vec<Deviation>,
    /// Cases that deviated, then matched the baseline when run again (`run --retry`); their
    /// result in `results` is the matching run's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaky: Vec<Flaky>,
}

/// A case that deviated from the baseline and matched it on a retry (`run --retry N`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flaky {
    /// Case id.
    pub id: String,
    /// The verdict of every attempt, in order; the last one matched the baseline.
    pub verdicts: Vec<Verdict>,
    /// Why the first attempt deviated (its one-line reason), so the failure stays visible.
    #[serde(default)]
    pub first_reason: Option<String>,
    /// For a first attempt with the listed verdict that failed differently: what differed
    /// (as in [`Deviation::changed`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_changed: Vec<String>,
}

impl Flaky {
    /// Every attempt's verdict in order, joined by `sep` (`FAIL then PASS`).
    pub fn trail(&self, sep: &str) -> String {
        let verdicts: Vec<&str> = self.verdicts.iter().map(|v| v.as_str()).collect();
        verdicts.join(sep)
    }
}

/// Everything a run produced (`--json`; read back by `merge` and `matrix`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// Version of this JSON format.
    pub schema_version: u32,
    /// Harness version.
    pub harness_version: String,
    /// Unix time the run started.
    pub started_unix: u64,
    /// The implementation for role `iut`.
    pub iut: Implementation,
    /// The implementation for role `iut2`.
    pub iut2: Implementation,
    /// `--timeout-scale`.
    pub timeout_scale: f64,
    /// Wall time of the whole run.
    pub duration_ms: f64,
    /// The harness's own peak resident memory over the run, in KiB (Linux `VmHWM`; drivers and
    /// other child processes are not included). Absent where the platform does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_kib: Option<u64>,
    /// Cases per verdict.
    pub counts: BTreeMap<String, usize>,
    /// The baseline comparison, if a baseline was used.
    pub baseline: Option<BaselineReport>,
    /// Per case.
    pub results: Vec<CaseResult>,
}

const ORDER: [Verdict; 7] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::Warn,
    Verdict::Info,
    Verdict::Unsupported,
    Verdict::NotRun,
    Verdict::Error,
];

/// Counts per verdict name.
pub fn counts(results: &[CaseResult]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in ORDER {
        m.insert(v.as_str().to_string(), 0);
    }
    for r in results {
        *m.entry(r.verdict.as_str().to_string()).or_insert(0) += 1;
    }
    m
}

fn family(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

/// The summary table: one row per family, one column per verdict.
pub fn summary_table(results: &[CaseResult]) -> String {
    let mut by_family: BTreeMap<&str, BTreeMap<Verdict, usize>> = BTreeMap::new();
    for r in results {
        *by_family
            .entry(family(&r.id))
            .or_default()
            .entry(r.verdict)
            .or_insert(0) += 1;
    }
    let mut table = comfy_table::Table::new();
    *table.style_mut() = comfy_table::presets::UTF8_BORDERS_ONLY;
    let mut header = vec!["family".to_string()];
    header.extend(ORDER.iter().map(|v| v.as_str().to_string()));
    header.push("time".into());
    table.set_header(header);
    let mut totals = [0usize; ORDER.len()];
    for (fam, counts) in &by_family {
        let ms: f64 = results
            .iter()
            .filter(|r| family(&r.id) == *fam)
            .map(|r| r.duration_ms)
            .sum();
        let mut row = vec![fam.to_string()];
        for (i, v) in ORDER.iter().enumerate() {
            let n = counts.get(v).copied().unwrap_or(0);
            totals[i] += n;
            row.push(if n == 0 { "·".into() } else { n.to_string() });
        }
        row.push(format!("{:.1} s", ms / 1000.0));
        table.add_row(row);
    }
    let mut row = vec!["total".to_string()];
    row.extend(totals.iter().map(|n| n.to_string()));
    row.push(format!(
        "{:.1} s",
        results.iter().map(|r| r.duration_ms).sum::<f64>() / 1000.0
    ));
    table.add_row(row);
    table.to_string()
}

/// The full text report: header, table, the cases that did not pass with why, then the
/// details (requirement text, expected versus actual, transcripts) of every FAIL, WARN and
/// ERROR, then the baseline comparison.
pub fn render_text(report: &RunReport, details: bool) -> String {
    let mut out = String::new();
    let hello = |i: &Implementation| {
        i.hello
            .as_ref()
            .map(|h| format!("{} {} (driver {})", h.library, h.library_version, h.version))
            .unwrap_or_else(|| i.command.clone())
    };
    let _ = writeln!(
        out,
        "zmtp-harness {} · iut: {} [{}]{} · {} case(s) in {:.1} s{}",
        report.harness_version,
        report.iut.name,
        hello(&report.iut),
        if report.iut2.name != report.iut.name {
            format!(" · iut2: {} [{}]", report.iut2.name, hello(&report.iut2))
        } else {
            String::new()
        },
        report.results.len(),
        report.duration_ms / 1000.0,
        report
            .peak_rss_kib
            .map(|kib| format!(" · peak RSS {:.0} MiB", kib as f64 / 1024.0))
            .unwrap_or_default()
    );
    out.push_str(&summary_table(&report.results));
    out.push('\n');
    let not_passing: Vec<&CaseResult> = report
        .results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Info))
        .collect();
    if !not_passing.is_empty() {
        let _ = writeln!(out, "\nNot passing:");
        for r in &not_passing {
            let _ = writeln!(
                out,
                "  {:<11} {}  {}",
                r.verdict.as_str(),
                r.id,
                r.reason.as_deref().unwrap_or("")
            );
        }
    }
    let measured: Vec<&CaseResult> = report
        .results
        .iter()
        .filter(|r| !r.measurements.is_empty())
        .collect();
    if !measured.is_empty() {
        let _ = writeln!(out, "\nMeasurements (INFO):");
        for r in measured {
            for m in &r.measurements {
                let _ = writeln!(out, "  {}  {}: {:.2} {}", r.id, m.name, m.value, m.unit);
            }
        }
    }
    if details {
        for r in report
            .results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error))
        {
            out.push_str(&render_case_details(r));
        }
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(out, "\nBaseline {} ({} listed):", b.path, b.listed);
        if b.deviations.is_empty() {
            let _ = writeln!(out, "  every result matches the baseline");
        }
        for d in &b.deviations {
            let what = if d.is_changed_failure() {
                format!("failed differently: {}", d.changed.join("; "))
            } else if d.is_improvement() {
                "better than the baseline (remove or update the entry)".into()
            } else {
                "worse than the baseline (a regression, or a new finding)".into()
            };
            let _ = writeln!(
                out,
                "  {}: expected {}, got {} — {what}{}",
                d.id,
                d.expected,
                d.actual,
                d.reason
                    .as_deref()
                    .map(|r| format!("; listed because: {r}"))
                    .unwrap_or_default()
            );
        }
    }
    out
}

/// Details of one case: why it did not pass, with the evidence.
pub fn render_case_details(r: &CaseResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n━━ {} {} — {} ({:.0} ms)",
        r.verdict.as_str(),
        r.id,
        r.title,
        r.duration_ms
    );
    for c in r
        .checks
        .iter()
        .filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::Info))
    {
        let _ = writeln!(
            out,
            "  {} {} at step {}{}",
            c.verdict.as_str(),
            c.label.as_deref().unwrap_or(&c.check),
            c.step,
            c.outcome
                .as_deref()
                .map(|o| format!(" (outcome: {o})"))
                .unwrap_or_default()
        );
        if let Some(req) = &c.requirement {
            let _ = writeln!(
                out,
                "    requirement {req} ({}): {}",
                c.level,
                c.requirement_text.as_deref().unwrap_or("")
            );
        }
        let _ = writeln!(out, "    expected: {}", c.expected);
        let _ = writeln!(out, "    actual:   {}", c.actual);
    }
    if r.verdict == Verdict::Error {
        let _ = writeln!(out, "  {}", r.reason.as_deref().unwrap_or(""));
    }
    if let Some(step) = r.steps.iter().rev().find(|s| s.outcome != "ok") {
        let _ = writeln!(
            out,
            "  step {} {} at {:.1} ms: {}",
            step.index, step.kind, step.at_ms, step.outcome
        );
    }
    for p in &r.peers {
        let _ = writeln!(out, "  ── raw peer {}: events", p.name);
        for e in p.events.iter().take(30) {
            let _ = writeln!(out, "    {e}");
        }
        if p.events.len() > 30 {
            let _ = writeln!(out, "    … {} more", p.events.len() - 30);
        }
        let _ = writeln!(out, "  ── octets (-> sent, <- received)");
        for line in p.transcript.lines().take(40) {
            let _ = writeln!(out, "    {line}");
        }
        let _ = writeln!(out, "  ── received, decoded");
        for line in p.decoded_in.lines().take(30) {
            let _ = writeln!(out, "    {line}");
        }
    }
    for d in &r.drivers {
        let tail: Vec<&str> = d.stderr_tail.lines().rev().take(10).collect();
        if !tail.is_empty() {
            let _ = writeln!(
                out,
                "  ── driver {} ({}) stderr, last lines:",
                d.role, d.label
            );
            for line in tail.iter().rev() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// The run as JUnit XML: one test suite per family; FAIL is a failure, ERROR an error,
/// UNSUPPORTED and NOT-RUN a skip; WARN and INFO pass with their details in system-out.
pub fn junit(report: &RunReport) -> String {
    use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
    let mut out = quick_junit::Report::new(format!("zmtp-harness {}", report.iut.name));
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for r in &report.results {
        let status = match r.verdict {
            Verdict::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(r.reason.clone().unwrap_or_default());
                s.set_description(render_case_details(r));
                s
            }
            Verdict::Error => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(r.reason.clone().unwrap_or_default());
                s.set_description(render_case_details(r));
                s
            }
            Verdict::Unsupported | Verdict::NotRun => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(r.reason.clone().unwrap_or_default());
                s
            }
            _ => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(r.id.clone(), status);
        case.set_classname(family(&r.id).to_string());
        case.set_time(std::time::Duration::from_secs_f64(r.duration_ms / 1000.0));
        if matches!(r.verdict, Verdict::Warn | Verdict::Info) {
            let mut text = format!("{}: {}\n", r.verdict, r.reason.clone().unwrap_or_default());
            for m in &r.measurements {
                let _ = writeln!(text, "{}: {:.2} {}", m.name, m.value, m.unit);
            }
            case.set_system_out(text);
        }
        suites
            .entry(family(&r.id))
            .or_insert_with(|| TestSuite::new(family(&r.id).to_string()))
            .add_test_case(case);
    }
    out.add_test_suites(suites.into_values());
    out.to_string()
        .unwrap_or_else(|e| format!("<!-- junit error: {e} -->"))
}

/// Events a non-passing case's peer record keeps by default (the first and last halves).
pub const EVENTS_KEPT: usize = 400;
/// Events a passing case's summary keeps.
pub const SUMMARY_EVENTS: usize = 16;

/// What a case's report keeps of its raw-peer connections. With `keep_all` (`--keep-transcripts`)
/// everything; otherwise every octet of a non-passing case with its first and last
/// [`EVENTS_KEPT`] events, and a bounded summary of a passing case (no octets, the first lines of
/// the hex dump and decoded streams, [`SUMMARY_EVENTS`] events).
pub fn bound_peers(
    mut peers: Vec<PeerRecord>,
    keep_all: bool,
    verdict: Verdict,
) -> Vec<PeerRecord> {
    if keep_all {
        return peers;
    }
    let passed = verdict == Verdict::Pass;
    for p in &mut peers {
        if passed {
            p.bound(SUMMARY_EVENTS, false);
        } else {
            p.bound(EVENTS_KEPT, true);
        }
    }
    peers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::{Chunk, Direction};

    fn peer(events: usize) -> PeerRecord {
        PeerRecord {
            name: "p".into(),
            events: (0..events)
                .map(|i| format!("{i} {}", "x".repeat(i)))
                .collect(),
            transcript: "l\n".repeat(20),
            decoded_in: String::new(),
            decoded_out: String::new(),
            chunks: vec![Chunk {
                t_us: 1,
                dir: Direction::In,
                offset: 0,
                bytes: vec![1, 2, 3],
            }],
            local_addr: None,
            peer_addr: None,
            case_start_unix_us: 0,
            events_dropped: 0,
            octets_not_shown: 0,
        }
    }

    #[test]
    fn a_failing_case_keeps_its_octets_and_bounded_events() {
        let p = &bound_peers(vec![peer(1000)], false, Verdict::Fail)[0];
        assert_eq!(p.chunks.len(), 1);
        assert_eq!(p.events.len(), EVENTS_KEPT + 1);
        assert_eq!(p.events_dropped, 1000 - EVENTS_KEPT);
        assert!(p.events[0].starts_with("0 "));
        assert!(p.events.last().unwrap().starts_with("999 "));
        assert!(
            p.events
                .iter()
                .all(|e| e.len() < crate::verdict::EVENT_CHARS + 40)
        );
    }

    #[test]
    fn a_passing_case_keeps_a_summary_unless_asked() {
        let p = &bound_peers(vec![peer(100)], false, Verdict::Pass)[0];
        assert!(p.chunks.is_empty());
        assert_eq!(p.events.len(), SUMMARY_EVENTS + 1);
        assert!(p.transcript.lines().count() <= 9);
        let p = &bound_peers(vec![peer(100)], true, Verdict::Pass)[0];
        assert_eq!((p.chunks.len(), p.events.len()), (1, 100));
    }
}
