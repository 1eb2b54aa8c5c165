//! The static HTML report: one self-contained page (no external scripts, fonts or network)
//! for one run or several (a matrix of implementation pairs). The runs are embedded once as
//! JSON, the same content as `--json`, and small vanilla JavaScript renders the views: the
//! matrix grid, per-implementation counts with the baseline status, the filtered case list and
//! the case view (`#case/<id>`, `#case/<id>?run=<label>` for one run of several) with
//! requirements, checks, steps, stderr and the octets as a timeline.
//!
//! The page stays fast for a large matrix because it reads the bulk only when asked: the
//! summary of every case (id, title, verdict, reason, requirements, checks, measurements) is
//! one JSON element before the script, which draws the grid and the list from it while the
//! browser is still reading the rest; each case's steps, raw-peer records (octets) and driver
//! records are a JSON element of their own after the script (`<script id="d<n>">`), parsed
//! when that case is opened.

use crate::registry::Registry;
use crate::report::RunReport;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Octets of one connection the page embeds (the first, in time order); the JSON report and the
/// captures keep all of them. A burst case moves megabytes that nobody reads as hex, and the
/// page must stay fast for a matrix of many implementations.
pub const OCTETS_SHOWN: usize = 64 * 1024;

/// Why the page could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// The runs could not be serialised.
    #[error("HTML report data: {0}")]
    Json(#[from] serde_json::Error),
    /// The directory or file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A requirement as the page shows it.
#[derive(Serialize)]
struct RequirementView<'a> {
    level: &'static str,
    text: &'a str,
    doc: &'a str,
}

/// What the page's script reads at once: the runs, each case without its [`DETAIL_FIELDS`]
/// (a case has `"detail": <n>` instead, the number of its detail element).
#[derive(Serialize)]
struct PageData<'a> {
    harness_version: &'a str,
    generated_unix: u64,
    requirements: BTreeMap<&'a str, RequirementView<'a>>,
    runs: Vec<serde_json::Value>,
}

/// The fields of a case result that the page reads only when the case is opened.
const DETAIL_FIELDS: [&str; 3] = ["steps", "peers", "drivers"];

/// The page for `runs` (one per implementation or pair); the requirement texts of every
/// requirement the results name come from `registry`.
pub fn render(runs: &[RunReport], registry: &Registry) -> Result<String, HtmlError> {
    let mut requirements = BTreeMap::new();
    for r in runs.iter().flat_map(|run| &run.results) {
        let ids = r
            .requirements
            .iter()
            .chain(r.checks.iter().filter_map(|c| c.requirement.as_ref()));
        for id in ids {
            if let Some(req) = registry.get(id) {
                requirements.insert(
                    req.id.as_str(),
                    RequirementView {
                        level: req.level.keyword(),
                        text: &req.statement,
                        doc: &req.doc,
                    },
                );
            }
        }
    }
    let trimmed: Vec<RunReport>;
    let runs = if runs
        .iter()
        .flat_map(|r| &r.results)
        .flat_map(|r| &r.peers)
        .any(|p| p.chunks.iter().map(|c| c.bytes.len()).sum::<usize>() > OCTETS_SHOWN)
    {
        trimmed = runs.iter().map(trim_octets).collect();
        &trimmed[..]
    } else {
        runs
    };
    let mut details = Details::default();
    let data = PageData {
        harness_version: env!("CARGO_PKG_VERSION"),
        generated_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        requirements,
        runs: runs
            .iter()
            .map(|run| split_details(run, &mut details))
            .collect::<Result<_, _>>()?,
    };
    let json = embed_json(&serde_json::to_string(&data)?);
    let title = match runs {
        [one] => format!("zmtp-harness report: {}", pair_label(one)),
        _ => format!("zmtp-harness report: {} runs", runs.len()),
    };
    let title = escape_html(&title);
    Ok(fill(
        TEMPLATE,
        &[
            ("{{title}}", &title),
            ("{{style}}", STYLE),
            ("{{script}}", SCRIPT),
            ("{{data}}", &json),
            ("{{details}}", &details.elements),
        ],
    ))
}

/// `template` with each placeholder replaced by its value. Only the template's own text is
/// searched: a value that happens to contain a placeholder (report text can quote anything) is
/// inserted as it is.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some((at, name, value)) = values
        .iter()
        .filter_map(|(name, value)| rest.find(name).map(|at| (at, *name, *value)))
        .min_by_key(|(at, _, _)| *at)
    {
        out.push_str(&rest[..at]);
        out.push_str(value);
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// The detail elements of the page, in case order.
#[derive(Default)]
struct Details {
    /// `<script type="application/json" id="d<n>">…</script>` for each case.
    elements: String,
    /// How many there are.
    count: usize,
}

/// `run` as JSON with each case's [`DETAIL_FIELDS`] moved out: appended to `details` as an
/// element `<script type="application/json" id="d<n>">`, the case keeping `"detail": n`.
fn split_details(run: &RunReport, details: &mut Details) -> Result<serde_json::Value, HtmlError> {
    let mut value = serde_json::to_value(run)?;
    let results = value
        .get_mut("results")
        .and_then(serde_json::Value::as_array_mut);
    for case in results.into_iter().flatten() {
        let Some(fields) = case.as_object_mut() else {
            continue;
        };
        let detail: serde_json::Map<String, serde_json::Value> = DETAIL_FIELDS
            .iter()
            .filter_map(|k| fields.remove_entry(*k))
            .collect();
        let n = details.count;
        details.count += 1;
        fields.insert("detail".into(), n.into());
        details.elements.push_str(&format!(
            "<script type=\"application/json\" id=\"d{n}\">{}</script>\n",
            embed_json(&serde_json::to_string(&detail)?)
        ));
    }
    Ok(value)
}

/// Writes `index.html` into `dir` (created) and returns its path.
pub fn write(dir: &Path, runs: &[RunReport], registry: &Registry) -> Result<PathBuf, HtmlError> {
    let page = render(runs, registry)?;
    std::fs::create_dir_all(dir).map_err(|source| HtmlError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join("index.html");
    std::fs::write(&path, page).map_err(|source| HtmlError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// A copy of `run` whose connections keep at most [`OCTETS_SHOWN`] octets each.
fn trim_octets(run: &RunReport) -> RunReport {
    let mut run = run.clone();
    for p in run.results.iter_mut().flat_map(|r| &mut r.peers) {
        let mut budget = OCTETS_SHOWN;
        for c in &mut p.chunks {
            let keep = c.bytes.len().min(budget);
            budget -= keep;
            p.octets_not_shown += c.bytes.len() - keep;
            c.bytes.truncate(keep);
        }
        p.chunks.retain(|c| !c.bytes.is_empty());
    }
    run
}

/// `iut` or `iut+iut2`, the label of a run in the matrix.
pub fn pair_label(run: &RunReport) -> String {
    if run.iut2.name == run.iut.name {
        run.iut.name.clone()
    } else {
        format!("{}+{}", run.iut.name, run.iut2.name)
    }
}

/// JSON made safe inside `<script type="application/json">`: no `<` can end the element or
/// open a comment (`\u003c` is the same string to `JSON.parse`).
fn embed_json(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// Escapes text for HTML element content and attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_the_script_element() {
        let s = embed_json(r#"{"a":"</script><!--"}"#);
        assert!(!s.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["a"], "</script><!--");
    }

    #[test]
    fn fills_every_placeholder() {
        let page = render(&[], &Registry::default()).unwrap();
        for p in [
            "{{title}}",
            "{{style}}",
            "{{script}}",
            "{{data}}",
            "{{details}}",
        ] {
            assert!(!page.contains(p), "{p} left in the page");
        }
        assert!(page.contains("<h1>zmtp-harness report: 0 runs</h1>"));
    }

    /// A run of one case, read as `merge` and `matrix` read reports.
    fn one_case_run() -> RunReport {
        serde_json::from_value(serde_json::json!({
            "schema_version": 1, "harness_version": "0", "started_unix": 0,
            "iut": { "name": "a", "command": "a", "hello": null },
            "iut2": { "name": "a", "command": "a", "hello": null },
            "timeout_scale": 1.0, "duration_ms": 1.0, "counts": {}, "baseline": null,
            "results": [{
                "id": "f/c", "title": "t", "requirements": [], "verdict": "FAIL",
                "checks": [], "measurements": [], "duration_ms": 1.0,
                "steps": [{ "index": 1, "kind": "socket", "at_ms": 0.0, "took_ms": 1.0,
                            "outcome": "step-outcome {{details}}" }]
            }]
        }))
        .unwrap()
    }

    #[test]
    fn the_case_details_are_elements_after_the_script() {
        let page = render(&[one_case_run()], &Registry::default()).unwrap();
        let data = page.find("id=\"data\">").unwrap();
        let script = page.find("<script>").unwrap();
        let detail = page
            .find("<script type=\"application/json\" id=\"d0\">")
            .unwrap();
        assert!(data < script && script < detail);
        let summary = &page[data..script];
        assert!(summary.contains(r#""detail":0"#), "{summary}");
        assert!(
            !summary.contains("step-outcome"),
            "steps left in the summary"
        );
        let end = detail + page[detail..].find("</script>").unwrap();
        assert!(page[detail..end].contains("step-outcome {{details}}"));
    }

    #[test]
    fn a_value_quoting_a_placeholder_is_not_filled_again() {
        let page = fill(
            "<p>{{a}}</p><p>{{b}}</p>",
            &[("{{a}}", "says {{b}}"), ("{{b}}", "B")],
        );
        assert_eq!(page, "<p>says {{b}}</p><p>B</p>");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
