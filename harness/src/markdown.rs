//! The Markdown summary for a pull-request comment: verdict counts per run, then the new
//! failures and fixes against the baseline, each linked to its case in the HTML report.

use crate::html::pair_label;
use crate::report::RunReport;
use crate::verdict::Verdict;
use std::fmt::Write;

const VERDICTS: [Verdict; 7] = [
    Verdict::Pass,
    Verdict::Info,
    Verdict::Warn,
    Verdict::Fail,
    Verdict::Unsupported,
    Verdict::NotRun,
    Verdict::Error,
];

/// Most deviations listed per run; the rest are counted.
const LISTED: usize = 30;

/// The summary of `runs`. `html` is the HTML report's address as the reader will reach it
/// (e.g. `report/index.html` or an artifact URL); case links are `<html>#case/<id>`.
pub fn render(runs: &[RunReport], html: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### ZMTP conformance\n");
    let _ = write!(out, "| run | cases |");
    for v in VERDICTS {
        let _ = write!(out, " {} |", v.as_str());
    }
    let _ = writeln!(out, " new failures | fixed |");
    let _ = writeln!(
        out,
        "|---|---:|{}---:|---:|",
        "---:|".repeat(VERDICTS.len())
    );
    for run in runs {
        let (new, fixed) = deviations(run);
        let _ = write!(out, "| {} | {} |", pair_label(run), run.results.len());
        for v in VERDICTS {
            let n = run.results.iter().filter(|r| r.verdict == v).count();
            let _ = write!(
                out,
                " {} |",
                if n == 0 { "·".into() } else { n.to_string() }
            );
        }
        let baseline = |n: usize| match (&run.baseline, n) {
            (None, _) => "no baseline".to_string(),
            (Some(_), 0) => "0".into(),
            (Some(_), n) => format!("**{n}**"),
        };
        let _ = writeln!(
            out,
            " {} | {} |",
            baseline(new.len()),
            baseline(fixed.len())
        );
    }
    let link = |id: &str| match html {
        Some(h) => format!("[`{id}`]({h}#case/{id})"),
        None => format!("`{id}`"),
    };
    for run in runs {
        let (new, fixed) = deviations(run);
        for (what, list) in [("New failures", new), ("Fixed", fixed)] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n**{what}** ({}, {}):\n", pair_label(run), list.len());
            for (id, expected, actual) in list.iter().take(LISTED) {
                let _ = writeln!(out, "- {}: {expected} → **{actual}**", link(id));
            }
            if list.len() > LISTED {
                let _ = writeln!(out, "- … {} more", list.len() - LISTED);
            }
        }
        flaky_list(&mut out, run, &link);
    }
    if let Some(h) = html {
        let _ = writeln!(out, "\nFull report: [{h}]({h})");
    }
    out
}

/// The cases that matched the baseline only when run again (`run --retry`), with every verdict.
fn flaky_list(out: &mut String, run: &RunReport, link: &dyn Fn(&str) -> String) {
    let flaky = run.baseline.as_ref().map_or(&[][..], |b| &b.flaky[..]);
    if flaky.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n**Flaky**, matched the baseline when run again ({}, {}):\n",
        pair_label(run),
        flaky.len()
    );
    for f in flaky.iter().take(LISTED) {
        let _ = writeln!(out, "- {}: {}", link(&f.id), f.trail(" → "));
    }
    if flaky.len() > LISTED {
        let _ = writeln!(out, "- … {} more", flaky.len() - LISTED);
    }
}

/// A deviation: case id, the baseline's verdict, the run's.
type Change = (String, Verdict, Verdict);

/// The run's deviations from its baseline: worse (new failures) and better (fixed).
fn deviations(run: &RunReport) -> (Vec<Change>, Vec<Change>) {
    let mut new = Vec::new();
    let mut fixed = Vec::new();
    for d in run.baseline.iter().flat_map(|b| &b.deviations) {
        let c = (d.id.clone(), d.expected, d.actual);
        if d.is_improvement() {
            fixed.push(c);
        } else {
            new.push(c);
        }
    }
    (new, fixed)
}
