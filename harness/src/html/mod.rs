//! The static HTML report: one self-contained page (no external scripts, fonts or network)
//! for one run or several (a matrix of implementation pairs). The runs are embedded once as
//! JSON, the same content as `--json`, and small vanilla JavaScript renders the views: the
//! matrix grid, per-implementation counts with the baseline status, the filtered case list and
//! the case view (`#case/<id>`, `#case/<id>?run=<label>` for one run of several) with
//! requirements, checks, steps, stderr and the octets as a timeline.
//!
//! The page stays fast and small for a large matrix because it reads the bulk only when asked,
//! and stores everything gzipped and base64-encoded (text without `<`, so no report text can
//! end an element): the summary of every case (id, title, verdict, reason, requirements,
//! checks, measurements) is one element before the script, which inflates it (the browser's
//! own `DecompressionStream`, no script library) and draws the grid and the list from it while
//! the browser is still reading the rest; each case's steps, raw-peer records (octets) and
//! driver records are stored after the script in blocks of many cases (the gzip of a JSON
//! array, `<script type="application/gzip+base64" id="b<k>">`). A case names its place
//! (`"detail": [k, i]`, the `i`-th entry of block `k`); the page inflates a block when one of
//! its cases is first opened, and keeps it.

use crate::registry::Registry;
use crate::report::RunReport;
use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write as _;
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
    /// The case details could not be compressed.
    #[error("HTML report data: gzip: {source}")]
    Compress {
        /// The cause.
        source: std::io::Error,
    },
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
/// (a case has `"detail": [k, i]` instead: entry `i` of detail block `k`).
#[derive(Serialize)]
struct PageData<'a> {
    harness_version: &'a str,
    generated_unix: u64,
    requirements: BTreeMap<&'a str, RequirementView<'a>>,
    runs: Vec<serde_json::Value>,
}

/// The fields of a case result that the page reads only when the case is opened.
const DETAIL_FIELDS: [&str; 3] = ["steps", "peers", "drivers"];

/// The JSON of case details a block holds before the next begins (a case larger than this is
/// a block alone). Opening a case decompresses its whole block, so a block must stay quick to
/// inflate and parse; gzip of many cases together compresses far better than of each alone
/// (measured in the README, "The page of a large matrix").
const BLOCK_BYTES: usize = 256 * 1024;

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
    details.finish_block()?;
    let summary = gzip_base64(serde_json::to_string(&data)?.as_bytes())?;
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
            ("{{data}}", &summary),
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

/// The detail blocks of the page, in case order.
#[derive(Default)]
struct Details {
    /// `<script type="application/gzip+base64" id="b<k>">…</script>` for each block done.
    elements: String,
    /// The JSON array of the block being filled, without its closing `]`.
    current: String,
    /// How many cases `current` holds.
    in_current: usize,
    /// How many blocks are done.
    blocks: usize,
}

impl Details {
    /// Adds one case's details (a JSON object); returns its place, `[block, index]`.
    fn push(&mut self, json: &str) -> Result<[usize; 2], HtmlError> {
        if self.in_current > 0 && self.current.len() + json.len() > BLOCK_BYTES {
            self.finish_block()?;
        }
        self.current
            .push(if self.in_current == 0 { '[' } else { ',' });
        self.current.push_str(json);
        self.in_current += 1;
        Ok([self.blocks, self.in_current - 1])
    }

    /// Closes the block being filled (if any case is in it) and appends its element.
    fn finish_block(&mut self) -> Result<(), HtmlError> {
        if self.in_current == 0 {
            return Ok(());
        }
        self.current.push(']');
        let encoded = gzip_base64(self.current.as_bytes())?;
        self.elements.push_str(&format!(
            "<script type=\"application/gzip+base64\" id=\"b{}\">{encoded}</script>\n",
            self.blocks
        ));
        self.blocks += 1;
        self.current.clear();
        self.in_current = 0;
        Ok(())
    }
}

/// `bytes` gzipped (default level) and base64-encoded (standard alphabet, padded): text
/// without `<` or `&`, safe as it is inside an element.
fn gzip_base64(bytes: &[u8]) -> Result<String, HtmlError> {
    let gzip = |bytes: &[u8]| -> std::io::Result<Vec<u8>> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes)?;
        encoder.finish()
    };
    let gz = gzip(bytes).map_err(|source| HtmlError::Compress { source })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(gz))
}

/// `run` as JSON with each case's [`DETAIL_FIELDS`] moved out into `details`, the case keeping
/// `"detail": [block, index]`.
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
        let place = details.push(&serde_json::to_string(&detail)?)?;
        fields.insert("detail".into(), serde_json::json!(place));
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

/// Escapes text for HTML element content (the page's `<title>`).
fn escape_html(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` (base64 of gzip) decoded and gunzipped, as the page's script does.
    fn gunzip_base64(text: &str) -> String {
        use std::io::Read as _;
        let gz = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn embedded_data_cannot_close_the_script_element() {
        let text = r#"{"a":"</script><!-- & http://x url(y) @import"}"#;
        let s = gzip_base64(text.as_bytes()).unwrap();
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
            "{s}"
        );
        assert_eq!(gunzip_base64(&s), text);
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

    /// The text of the element that starts with `open`, and where it starts.
    fn element<'p>(page: &'p str, open: &str) -> (usize, &'p str) {
        let at = page.find(open).unwrap_or_else(|| panic!("no {open}"));
        let text = &page[at + open.len()..];
        (at, &text[..text.find("</script>").unwrap()])
    }

    /// The JSON array of detail block `block`, decoded.
    fn read_block(page: &str, block: usize) -> Vec<serde_json::Value> {
        let (_, text) = element(
            page,
            &format!("<script type=\"application/gzip+base64\" id=\"b{block}\">"),
        );
        serde_json::from_str(&gunzip_base64(text)).unwrap()
    }

    /// The summary element's text, decoded, and where it starts.
    fn read_summary(page: &str) -> (usize, String) {
        let (at, text) = element(
            page,
            "<script type=\"application/gzip+base64\" id=\"data\">",
        );
        (at, gunzip_base64(text))
    }

    #[test]
    fn the_case_details_are_elements_after_the_script() {
        let page = render(&[one_case_run()], &Registry::default()).unwrap();
        let (data, summary) = read_summary(&page);
        let script = page.find("<script>").unwrap();
        let (block, text) = element(&page, "<script type=\"application/gzip+base64\" id=\"b0\">");
        assert!(data < script && script < block);
        assert!(summary.contains(r#""detail":[0,0]"#), "{summary}");
        assert!(
            !summary.contains("step-outcome"),
            "steps left in the summary"
        );
        assert!(!text.contains("step-outcome"), "a block is not compressed");
        assert!(!page.contains("id=\"b1\""), "one case, one block");
    }

    #[test]
    fn a_block_decodes_to_its_cases_details() {
        let page = render(&[one_case_run()], &Registry::default()).unwrap();
        let block = read_block(&page, 0);
        assert_eq!(block.len(), 1);
        assert_eq!(
            block[0]["steps"][0]["outcome"], "step-outcome {{details}}",
            "{block:?}"
        );
        assert!(
            block[0].get("id").is_none(),
            "the summary's fields stay out"
        );
    }

    #[test]
    fn details_fill_blocks_in_case_order() {
        // Cases of about 100 KiB each: two or three to a block.
        let mut run = one_case_run();
        let big = "x".repeat(100 * 1024);
        let case = run.results[0].clone();
        run.results = (0..7)
            .map(|i| {
                let mut c = case.clone();
                c.id = format!("f/c{i}");
                c.steps[0].outcome = format!("case {i} {big}");
                c
            })
            .collect();
        let page = render(&[run.clone(), run], &Registry::default()).unwrap();
        let (_, summary) = read_summary(&page);
        let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
        let mut blocks = BTreeMap::new();
        let mut last = (0, 0);
        for (r, run) in summary["runs"].as_array().unwrap().iter().enumerate() {
            for (i, case) in run["results"].as_array().unwrap().iter().enumerate() {
                let place: (usize, usize) = serde_json::from_value(case["detail"].clone()).unwrap();
                assert!(place == (0, 0) || place > last, "{place:?} after {last:?}");
                last = place;
                let block = blocks
                    .entry(place.0)
                    .or_insert_with(|| read_block(&page, place.0));
                let outcome = block[place.1]["steps"][0]["outcome"].as_str().unwrap();
                assert!(
                    outcome.starts_with(&format!("case {i} ")),
                    "run {r} case {i}: {}",
                    &outcome[..20]
                );
            }
        }
        assert!(
            blocks.len() > 2 && blocks.len() < 14,
            "{} blocks",
            blocks.len()
        );
        assert!(
            page.len() < 100 * 1024,
            "{} bytes: not compressed",
            page.len()
        );
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
            escape_html("<a href=\"x\">&'</title>"),
            "&lt;a href=\"x\"&gt;&amp;'&lt;/title&gt;"
        );
    }
}
