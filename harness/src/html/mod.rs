//! The static HTML report: one self-contained page (no external scripts, fonts or network)
//! for one run or several (a matrix of implementation pairs). The runs are embedded once as
//! JSON, the same content as `--json`, and small vanilla JavaScript renders the views: the
//! matrix grid, per-implementation counts with the baseline status, the filtered case list and
//! the case view (`#case/<id>`) with requirements, checks, steps, stderr and the octets as a
//! timeline.

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

/// Everything the page's script reads.
#[derive(Serialize)]
struct PageData<'a> {
    harness_version: &'a str,
    generated_unix: u64,
    requirements: BTreeMap<&'a str, RequirementView<'a>>,
    runs: &'a [RunReport],
}

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
    let data = PageData {
        harness_version: env!("CARGO_PKG_VERSION"),
        generated_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        requirements,
        runs,
    };
    let json = embed_json(&serde_json::to_string(&data)?);
    let title = match runs {
        [one] => format!("zmtp-harness report: {}", pair_label(one)),
        _ => format!("zmtp-harness report: {} runs", runs.len()),
    };
    Ok(TEMPLATE
        .replacen("{{title}}", &escape_html(&title), 1)
        .replacen("{{style}}", STYLE, 1)
        .replacen("{{script}}", SCRIPT, 1)
        .replacen("{{data}}", &json, 1))
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
    fn escapes_markup() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
