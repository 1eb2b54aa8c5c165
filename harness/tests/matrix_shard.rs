//! `run --shard K/N` with `merge`, and `matrix`, end to end through the real binary against
//! real drivers: three shards merged give the unsharded run's cases, order, verdicts and counts;
//! a two-implementation matrix prints its grid and, run again on the same output directory,
//! runs no cell.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_zmtp-harness");

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zmtp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The page's summary data: the `#data` element, base64 of gzip of JSON.
fn page_data(page: &str) -> Value {
    use base64::Engine;
    use std::io::Read;
    let start = "<script type=\"application/gzip+base64\" id=\"data\">";
    let from = page.find(start).expect("the page has its data") + start.len();
    let len = page[from..].find("</script>").unwrap();
    let gz = base64::engine::general_purpose::STANDARD
        .decode(page[from..from + len].trim())
        .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn harness(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("start zmtp-harness");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "zmtp-harness {args:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (case id, verdict) in report order.
fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn three_shards_merged_equal_the_unsharded_run() {
    let dir = scratch("shard");
    let p = |f: &str| dir.join(f).display().to_string();
    let selection = ["--iut", "libzmq", "--case", "greeting/**"];
    let whole = p("whole.json");
    harness(&[&["run"][..], &selection, &["--brief", "--json", &whole]].concat());
    let mut shards = Vec::new();
    for k in 1..=3 {
        let file = p(&format!("shard{k}.json"));
        let shard = format!("{k}/3");
        harness(
            &[
                &["run"][..],
                &selection,
                &["--brief", "--shard", &shard, "--json", &file],
            ]
            .concat(),
        );
        shards.push(file);
    }
    let merged = p("merged.json");
    let md = p("merged.md");
    let mut args = vec!["merge"];
    // Given out of order: the merged report follows the suite's order regardless.
    args.extend(shards.iter().rev().map(String::as_str));
    args.extend(["--json", &merged, "--markdown", &md]);
    harness(&args);

    let (whole, merged) = (json(Path::new(&whole)), json(Path::new(&merged)));
    let sizes: Vec<usize> = shards
        .iter()
        .map(|s| json(Path::new(s))["results"].as_array().unwrap().len())
        .collect();
    let n = verdicts(&whole).len();
    assert!(n >= 6, "the selection has {n} cases");
    assert_eq!(sizes.iter().sum::<usize>(), n, "shards cover the selection");
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
    assert_eq!(verdicts(&merged), verdicts(&whole));
    assert_eq!(merged["counts"], whole["counts"]);
    let deviations = |r: &Value| r["baseline"]["deviations"].as_array().map(Vec::len);
    assert_eq!(deviations(&merged), deviations(&whole));
    assert_eq!(merged["baseline"]["path"], whole["baseline"]["path"]);
    assert!(std::fs::read_to_string(&md).unwrap().contains("| libzmq |"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_two_implementation_matrix_prints_its_grid_and_resumes() {
    let dir = scratch("matrix");
    let out = dir.join("cells").display().to_string();
    let summary = dir.join("matrix.json").display().to_string();
    let md = dir.join("matrix.md").display().to_string();
    let html = dir.join("html").display().to_string();
    let args = [
        "matrix",
        "--iut",
        "libzmq,zmqrs",
        "--case",
        "greeting/mechanism-*",
        "--case",
        "slow-joiner/pub-binds-sub-connects",
        "--parallel",
        "2",
        "--out",
        &out,
        "--json",
        &summary,
        "--markdown",
        &md,
        "--html",
        &html,
    ];
    let first = harness(&args);
    let text = String::from_utf8_lossy(&first.stdout);
    for label in ["iut \\ iut2", "libzmq", "zmqrs", "pass"] {
        assert!(text.contains(label), "{label} not in the grid:\n{text}");
    }
    let cells = json(Path::new(&summary))["cells"]
        .as_array()
        .unwrap()
        .clone();
    let labels: Vec<&str> = cells.iter().map(|c| c["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["libzmq", "zmqrs", "libzmq+zmqrs", "zmqrs+libzmq"],
        "{text}"
    );
    assert!(cells.iter().all(|c| c["resumed"] == false));
    // The pair cells run only the `pair` case.
    assert!(cells[2..].iter().all(|c| c["cases"] == 1), "{cells:?}");
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("| iut \\ iut2 | libzmq | zmqrs |")
    );
    let page = std::fs::read_to_string(dir.join("html/index.html")).unwrap();
    let runs: Vec<(String, String)> = page_data(&page)["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = |role: &str| r[role]["name"].as_str().unwrap().to_string();
            (name("iut"), name("iut2"))
        })
        .collect();
    assert!(
        runs.contains(&("libzmq".into(), "zmqrs".into())),
        "the page has the pair cell: {runs:?}"
    );

    let second = harness(&args);
    assert_eq!(first.status.code(), second.status.code());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("4 of 4 cell(s) already finished"),
        "{stderr}"
    );
    let cells = json(Path::new(&summary))["cells"]
        .as_array()
        .unwrap()
        .clone();
    assert!(cells.iter().all(|c| c["resumed"] == true), "{cells:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
