//! `matrix`: every implementation's own suite and every ordered pair's `pair` cases, each
//! compared with its baseline, run as separate `zmtp-harness run` processes.
//!
//! A cell is one `run`: the diagonal cell `a` runs the selection against `a` alone
//! (`baselines/<a>.toml`), the cell `a+b` (a ≠ b) runs the selected cases tagged `pair` with `a`
//! as `iut` and `b` as `iut2` (`baselines/<a>+<b>.toml`). A cell whose baseline file does not
//! exist yet runs with `--no-baseline` and is shown as "no baseline": its FAILs are reported,
//! not counted as deviations (there is nothing to deviate from).
//!
//! Cells run as child processes of the same executable rather than in-process: a driver that
//! wedges or crashes, or a harness fault, ends one cell and not the matrix; each cell has its
//! own runtime, driver pool and ports; and a cell's verdicts are those of the `run` a user would
//! type, with the same report files. `--parallel P` runs P cells at once.
//!
//! Each finished cell leaves `OUT/<cell>/report.json` (the `run --json` report), `stdout.txt`
//! (its text report), `stderr.txt`, and `cell.json` (inputs fingerprint, exit status, time).
//! A second invocation with the same `--out` skips every finished cell whose inputs (harness
//! binary and version, the selected cases, the driver's files, the baseline file, the timeout
//! scale) are unchanged, unless `--fresh`; a cell that ended in a harness error is run again.
//!
//! Exit status: 0 when every cell matches its baseline, 1 on any baseline deviation (or a
//! verdict flip), 2 when a cell could not run (harness or driver error).

use super::{Error, ScenarioSource, outln, write_file};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::time::Instant;
use zmtp_harness::driver::registry as drivers;
use zmtp_harness::report::RunReport;
use zmtp_harness::run;
use zmtp_harness::scenario::LoadedCase;
use zmtp_harness::verdict::Verdict;

/// The tag of the cases that start a second implementation (a step `on = "iut2"`).
const PAIR_TAG: &str = "pair";

/// Options of `matrix`.
#[derive(Args)]
pub struct MatrixArgs {
    /// The implementations, comma-separated (driver names): each alone, and every ordered pair.
    #[arg(long, value_delimiter = ',', required = true)]
    iut: Vec<String>,
    /// Run only cases matching this glob (a family name selects the family); repeatable.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Skip cases matching this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Run only cases with this tag; repeatable. Pair cells also need the tag `pair`.
    #[arg(long)]
    tag: Vec<String>,
    /// Leave out the pair cells (only each implementation's own suite).
    #[arg(long)]
    no_pairs: bool,
    /// Leave out the single-implementation cells (only the pairs).
    #[arg(long, conflicts_with = "no_pairs")]
    no_singles: bool,
    #[command(flatten)]
    source: ScenarioSource,
    /// How many cells run at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
    /// Passed to each cell's `run --jobs` (cases at once inside a cell).
    #[arg(long)]
    jobs: Option<u16>,
    /// Passed to each cell's `run --retry` (cells with a baseline): a deviating case runs
    /// again alone up to N more times, and one that then matches counts as flaky.
    #[arg(long, default_value_t = 0, value_name = "N")]
    retry: u32,
    /// Stretch every wait and upper time bound by this factor (each cell's `--timeout-scale`).
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Where each cell's results go; finished cells found here are not run again.
    #[arg(long, value_name = "DIR", default_value = "target/matrix")]
    out: PathBuf,
    /// Run every cell even if a finished result with the same inputs is in --out.
    #[arg(long)]
    fresh: bool,
    /// Write the matrix summary (every cell's counts and deviations) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report of every cell to DIR/index.html.
    #[arg(long, value_name = "DIR")]
    html: Option<PathBuf>,
    /// Write the grid and the per-cell summary as Markdown.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

/// One cell of the matrix: a `run` of `iut` (and `iut2` for a pair).
#[derive(Debug, Clone)]
struct Cell {
    iut: String,
    iut2: Option<String>,
    cases: Vec<String>,
    baseline: Option<PathBuf>,
    fingerprint: String,
}

impl Cell {
    fn label(&self) -> String {
        match &self.iut2 {
            Some(b) => format!("{}+{b}", self.iut),
            None => self.iut.clone(),
        }
    }

    fn dir(&self, out: &Path) -> PathBuf {
        let safe: String = self
            .label()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        out.join(safe)
    }
}

/// What `cell.json` records of a finished cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CellRecord {
    label: String,
    fingerprint: String,
    /// The child's exit status (0 as expected, 1 deviation or FAIL, 2 harness error).
    exit_code: i32,
    /// The baseline compared with, if any.
    baseline: Option<String>,
    /// Wall time of the child, seconds.
    seconds: f64,
    /// Cases run.
    cases: usize,
}

/// A cell with its record and report, once finished.
struct Finished {
    cell: Cell,
    record: CellRecord,
    report: Option<RunReport>,
    resumed: bool,
}

impl Finished {
    fn deviations(&self) -> usize {
        self.report
            .as_ref()
            .and_then(|r| r.baseline.as_ref())
            .map_or(0, |b| b.deviations.len())
    }

    /// Cases that deviated, then matched the baseline on a retry.
    fn flaky(&self) -> usize {
        self.report
            .as_ref()
            .and_then(|r| r.baseline.as_ref())
            .map_or(0, |b| b.flaky.len())
    }

    /// A cell that fails the matrix: a deviation from its baseline, or (with a baseline) any
    /// other reason its `run` exited 1 (a verdict flip).
    fn deviates(&self) -> bool {
        self.record.exit_code == 1 && self.cell.baseline.is_some()
    }

    fn errored(&self) -> bool {
        !matches!(self.record.exit_code, 0 | 1) || self.report.is_none()
    }
}

/// Runs the matrix.
pub fn execute(args: MatrixArgs) -> Result<ExitCode, Error> {
    let registry = super::registry()?;
    let all = args.source.load(&registry)?;
    let selected = run::select(&all, &args.cases, &args.exclude, &args.tag)?;
    if selected.is_empty() {
        return Err(Error::NoCase("no case matches the selection".into()));
    }
    let mut iuts: Vec<String> = Vec::new();
    for i in args.iut.iter().map(|s| s.trim().to_string()) {
        if !i.is_empty() && !iuts.contains(&i) {
            iuts.push(i);
        }
    }
    prepare_drivers(&iuts)?;
    let cells = plan(&args, &iuts, &selected)?;
    if cells.is_empty() {
        return Err(Error::NoCase(
            "the selection gives the matrix no cell".into(),
        ));
    }
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        path: args.out.clone(),
        source,
    })?;
    let started = Instant::now();
    let finished = run_cells(&args, cells)?;
    let elapsed = started.elapsed().as_secs_f64();
    let ran = finished.iter().filter(|f| !f.resumed).count();
    outln!(
        "{}",
        render_grid(&iuts, &finished, &args.out, ran, elapsed).trim_end()
    );
    write_outputs(&args, &iuts, &finished, &registry)?;
    Ok(if finished.iter().any(Finished::errored) {
        ExitCode::from(2)
    } else if finished.iter().any(Finished::deviates) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Resolves (and builds where needed) every driver once, before cells start in parallel: two
/// cells must not build the same driver at the same time.
fn prepare_drivers(iuts: &[String]) -> Result<(), Error> {
    for i in iuts {
        drivers::resolve(i).map_err(|e| Error::Failed(format!("driver {i}: {e}")))?;
    }
    Ok(())
}

/// The cells: each implementation alone on the selection, then every ordered pair on the
/// selected `pair` cases.
fn plan(args: &MatrixArgs, iuts: &[String], selected: &[LoadedCase]) -> Result<Vec<Cell>, Error> {
    let pair_cases: Vec<LoadedCase> = selected
        .iter()
        .filter(|c| c.case.tags.iter().any(|t| t == PAIR_TAG))
        .cloned()
        .collect();
    let mut cells = Vec::new();
    if !args.no_singles {
        for a in iuts {
            cells.push(cell(args, a, None, selected)?);
        }
    }
    if !args.no_pairs && !pair_cases.is_empty() {
        for a in iuts {
            for b in iuts.iter().filter(|b| *b != a) {
                cells.push(cell(args, a, Some(b), &pair_cases)?);
            }
        }
    }
    Ok(cells)
}

/// One cell with its baseline (if the file exists) and the fingerprint of its inputs.
fn cell(
    args: &MatrixArgs,
    iut: &str,
    iut2: Option<&String>,
    cases: &[LoadedCase],
) -> Result<Cell, Error> {
    let name = match iut2 {
        Some(b) => format!("{iut}+{b}"),
        None => iut.to_string(),
    };
    let baseline = Some(
        drivers::repo_root()
            .join("baselines")
            .join(format!("{name}.toml")),
    )
    .filter(|p| drivers::is_named(iut) && p.is_file());
    let mut h = Fnv::default();
    h.add(env!("CARGO_PKG_VERSION").as_bytes());
    h.add(exe_stamp().as_bytes());
    h.add(format!("{} retry {}", args.timeout_scale, args.retry).as_bytes());
    for lc in cases {
        h.add(format!("{:?}", lc.case).as_bytes());
    }
    for i in std::iter::once(iut).chain(iut2.map(String::as_str)) {
        h.add(i.as_bytes());
        driver_stamp(i, &mut h);
    }
    match &baseline {
        Some(p) => h.add(&std::fs::read(p).map_err(|source| Error::Io {
            path: p.clone(),
            source,
        })?),
        None => h.add(b"no baseline"),
    }
    Ok(Cell {
        iut: iut.to_string(),
        iut2: iut2.cloned(),
        cases: cases.iter().map(|c| c.case.id.clone()).collect(),
        baseline,
        fingerprint: format!("{:016x}", h.0),
    })
}

/// The running executable's size and modification time: a rebuilt harness (and so a changed
/// built-in driver) is a new input.
fn exe_stamp() -> String {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| format!("{}:{:?}", m.len(), m.modified().ok()))
        .unwrap_or_default()
}

/// Adds a named driver's files (name, size, modification time; build outputs left out) to the
/// fingerprint; a command line is its own stamp.
fn driver_stamp(iut: &str, h: &mut Fnv) {
    if !drivers::is_named(iut) {
        return;
    }
    const SKIP: [&str; 7] = [
        "node_modules",
        "target",
        "build",
        ".venv",
        "venv",
        "__pycache__",
        ".gradle",
    ];
    fn walk(dir: &Path, h: &mut Fnv) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                if !name.starts_with('.') && !SKIP.contains(&name.as_str()) {
                    walk(&e.path(), h);
                }
            } else {
                h.add(format!("{name}:{}:{:?}", meta.len(), meta.modified().ok()).as_bytes());
            }
        }
    }
    walk(&drivers::repo_root().join("drivers").join(iut), h);
}

/// 64-bit FNV-1a: stable across builds and platforms (unlike `DefaultHasher`).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for b in bytes.iter().chain(&[0xff]) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A finished cell found in `out` with the same inputs, if any (and not a harness error).
fn resumed(cell: &Cell, out: &Path) -> Option<Finished> {
    let dir = cell.dir(out);
    let record: CellRecord =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cell.json")).ok()?).ok()?;
    if record.fingerprint != cell.fingerprint || !matches!(record.exit_code, 0 | 1) {
        return None;
    }
    let report = read_report(&dir.join("report.json"))?;
    Some(Finished {
        cell: cell.clone(),
        record,
        report: Some(report),
        resumed: true,
    })
}

fn read_report(path: &Path) -> Option<RunReport> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Runs the cells not already finished, `--parallel` at a time, with a progress display.
fn run_cells(args: &MatrixArgs, cells: Vec<Cell>) -> Result<Vec<Finished>, Error> {
    let total = cells.len();
    let mut done: Vec<Option<Finished>> = (0..total).map(|_| None).collect();
    let mut queue = VecDeque::new();
    for (i, c) in cells.into_iter().enumerate() {
        match resumed(&c, &args.out).filter(|_| !args.fresh) {
            Some(f) => done[i] = Some(f),
            None => queue.push_back((i, c)),
        }
    }
    let skipped = total - queue.len();
    if skipped > 0 {
        eprintln!(
            "{skipped} of {total} cell(s) already finished in {} with the same inputs (--fresh runs them again)",
            args.out.display()
        );
    }
    let progress = Progress::new(total as u64, skipped as u64);
    let queue = Mutex::new(queue);
    let done = Mutex::new(done);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..args.parallel {
            s.spawn(|| {
                loop {
                    let Some((i, cell)) = queue.lock().map(|mut q| q.pop_front()).ok().flatten()
                    else {
                        return;
                    };
                    progress.start(&cell.label());
                    match run_cell(args, &cell) {
                        Ok(f) => {
                            progress.finish(&f);
                            if let Ok(mut d) = done.lock() {
                                d[i] = Some(f);
                            }
                        }
                        Err(e) => {
                            progress.abandon(&cell.label(), &e);
                            if let Ok(mut fe) = first_error.lock() {
                                fe.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    progress.clear();
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(done
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect())
}

/// Runs one cell as a `zmtp-harness run` child and records it.
fn run_cell(args: &MatrixArgs, cell: &Cell) -> Result<Finished, Error> {
    let dir = cell.dir(&args.out);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let _ = std::fs::remove_file(dir.join("cell.json"));
    let _ = std::fs::remove_file(dir.join("report.json"));
    let exe = std::env::current_exe().map_err(io(Path::new("current_exe")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("run").arg("--iut").arg(&cell.iut);
    if let Some(b) = &cell.iut2 {
        cmd.arg("--iut2").arg(b);
    }
    for id in &cell.cases {
        cmd.arg("--case").arg(id);
    }
    for p in &args.source.scenarios {
        cmd.arg("--scenarios").arg(p);
    }
    if args.source.only_scenarios {
        cmd.arg("--only-scenarios");
    }
    match &cell.baseline {
        Some(p) => {
            cmd.arg("--baseline").arg(p);
            if args.retry > 0 {
                cmd.arg("--retry").arg(args.retry.to_string());
            }
        }
        None => {
            cmd.arg("--no-baseline");
        }
    }
    if let Some(j) = args.jobs {
        cmd.arg("--jobs").arg(j.to_string());
    }
    cmd.arg("--timeout-scale")
        .arg(args.timeout_scale.to_string())
        .arg("--brief")
        .arg("--json")
        .arg(dir.join("report.json"));
    let stdout = std::fs::File::create(dir.join("stdout.txt")).map_err(io(&dir))?;
    let stderr = std::fs::File::create(dir.join("stderr.txt")).map_err(io(&dir))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr));
    let started = Instant::now();
    let status = cmd.status().map_err(io(&dir))?;
    let report = read_report(&dir.join("report.json"));
    let record = CellRecord {
        label: cell.label(),
        fingerprint: cell.fingerprint.clone(),
        exit_code: status.code().unwrap_or(-1),
        baseline: cell.baseline.as_ref().map(|p| p.display().to_string()),
        seconds: started.elapsed().as_secs_f64(),
        cases: cell.cases.len(),
    };
    // Written last, atomically: a cell interrupted before this line is run again.
    let tmp = dir.join("cell.json.tmp");
    write_file(&tmp, &serde_json::to_string_pretty(&record)?)?;
    std::fs::rename(&tmp, dir.join("cell.json")).map_err(io(&dir))?;
    Ok(Finished {
        cell: cell.clone(),
        record,
        report,
        resumed: false,
    })
}

/// The progress display: a bar of cells done out of the total with the running cells and
/// their time, or one line per finished cell when stderr is not a terminal.
struct Progress {
    bar: indicatif::ProgressBar,
    running: Mutex<BTreeMap<String, Instant>>,
    tty: bool,
}

impl Progress {
    fn new(total: u64, done: u64) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = if tty {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} cells · running: {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_position(done);
            bar.enable_steady_tick(std::time::Duration::from_millis(500));
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        Progress {
            bar,
            running: Mutex::new(BTreeMap::new()),
            tty,
        }
    }

    fn show_running(&self) {
        if let Ok(r) = self.running.lock() {
            let list: Vec<String> = r
                .iter()
                .map(|(l, t)| format!("{l} ({}s)", t.elapsed().as_secs()))
                .collect();
            self.bar.set_message(list.join(", "));
        }
    }

    fn start(&self, label: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.insert(label.to_string(), Instant::now());
        }
        self.show_running();
    }

    fn end(&self, label: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(label);
        }
        self.bar.inc(1);
        self.show_running();
    }

    fn finish(&self, f: &Finished) {
        self.end(&f.record.label);
        let line = format!(
            "cell {} done in {:.1} s: {}",
            f.record.label,
            f.record.seconds,
            cell_text(f)
        );
        if self.tty {
            self.bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    fn abandon(&self, label: &str, e: &Error) {
        self.end(label);
        eprintln!("cell {label} could not run: {e}");
    }

    fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// A cell in a few characters: passing/total and the baseline status.
fn cell_text(f: &Finished) -> String {
    let Some(report) = &f.report else {
        return format!("ERROR (exit {}, see stderr.txt)", f.record.exit_code);
    };
    let n = report.results.len();
    let count = |v: Verdict| report.results.iter().filter(|r| r.verdict == v).count();
    let pass = count(Verdict::Pass) + count(Verdict::Info);
    let errors = count(Verdict::Error);
    let mut others = Vec::new();
    for v in [
        Verdict::Fail,
        Verdict::Warn,
        Verdict::Unsupported,
        Verdict::NotRun,
    ] {
        let k = count(v);
        if k > 0 {
            others.push(format!("{k} {}", v.as_str().to_lowercase()));
        }
    }
    let status = if errors > 0 {
        format!("{errors} ERROR")
    } else if f.cell.baseline.is_none() {
        "no baseline".to_string()
    } else if f.deviates() {
        format!("{} deviation(s)", f.deviations().max(1))
    } else {
        "as baseline".to_string()
    };
    let status = match f.flaky() {
        0 => status,
        k => format!("{status}, {k} flaky"),
    };
    let others = if others.is_empty() {
        String::new()
    } else {
        format!(" ({})", others.join(", "))
    };
    format!("{pass}/{n} pass{others}, {status}")
}

/// The cell of row `a`, column `b` (`a` alone on the diagonal).
fn find<'a>(finished: &'a [Finished], a: &str, b: &str) -> Option<&'a Finished> {
    finished.iter().find(|f| {
        f.cell.iut == a
            && match &f.cell.iut2 {
                Some(x) => x == b,
                None => a == b,
            }
    })
}

/// The terminal grid: rows are `iut`, columns `iut2`, the diagonal is each implementation
/// alone; then the deviations of every cell.
fn render_grid(
    iuts: &[String],
    finished: &[Finished],
    out: &Path,
    ran: usize,
    seconds: f64,
) -> String {
    let mut table = comfy_table::Table::new();
    *table.style_mut() = comfy_table::presets::UTF8_FULL_CONDENSED;
    let mut header = vec!["iut \\ iut2".to_string()];
    header.extend(iuts.iter().cloned());
    table.set_header(header);
    for a in iuts {
        let mut row = vec![a.clone()];
        for b in iuts {
            row.push(find(finished, a, b).map_or("·".into(), cell_text));
        }
        table.add_row(row);
    }
    let mut text = format!(
        "matrix: {} cell(s), {ran} run now in {seconds:.1} s, results in {}\n",
        finished.len(),
        out.display()
    );
    text.push_str(&table.to_string());
    text.push('\n');
    for f in finished {
        let Some(b) = f.report.as_ref().and_then(|r| r.baseline.as_ref()) else {
            continue;
        };
        for d in &b.deviations {
            text.push_str(&format!(
                "  {}: {} expected {}, got {}\n",
                f.record.label, d.id, d.expected, d.actual
            ));
        }
        for k in &b.flaky {
            text.push_str(&format!(
                "  {}: {} flaky: {}\n",
                f.record.label,
                k.id,
                k.trail(" then ")
            ));
        }
    }
    text
}

/// The Markdown grid (one cell per pair, as in the terminal) followed by the per-run summary
/// of [`zmtp_harness::markdown::render`].
fn render_markdown(
    iuts: &[String],
    finished: &[Finished],
    runs: &[RunReport],
    link: Option<&str>,
) -> String {
    let mut md = String::from(
        "### ZMTP interoperability matrix\n\nRows: `iut`; columns: `iut2`; the diagonal is each implementation alone on the suite, the others the `pair` cases.\n\n| iut \\ iut2 |",
    );
    for b in iuts {
        md.push_str(&format!(" {b} |"));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(iuts.len()));
    md.push('\n');
    for a in iuts {
        md.push_str(&format!("| **{a}** |"));
        for b in iuts {
            md.push_str(&format!(
                " {} |",
                find(finished, a, b).map_or("·".into(), cell_text)
            ));
        }
        md.push('\n');
    }
    md.push('\n');
    md.push_str(&zmtp_harness::markdown::render(runs, link));
    md
}

/// The matrix summary JSON.
#[derive(Serialize)]
struct Summary<'a> {
    implementations: &'a [String],
    cells: Vec<CellSummary<'a>>,
}

#[derive(Serialize)]
struct CellSummary<'a> {
    #[serde(flatten)]
    record: &'a CellRecord,
    report: String,
    counts: Option<&'a BTreeMap<String, usize>>,
    deviations: usize,
    flaky: usize,
    resumed: bool,
}

/// `--json`, `--html`, `--markdown`.
fn write_outputs(
    args: &MatrixArgs,
    iuts: &[String],
    finished: &[Finished],
    registry: &zmtp_harness::registry::Registry,
) -> Result<(), Error> {
    let runs: Vec<RunReport> = finished.iter().filter_map(|f| f.report.clone()).collect();
    if let Some(path) = &args.json {
        let summary = Summary {
            implementations: iuts,
            cells: finished
                .iter()
                .map(|f| CellSummary {
                    record: &f.record,
                    report: f
                        .cell
                        .dir(&args.out)
                        .join("report.json")
                        .display()
                        .to_string(),
                    counts: f.report.as_ref().map(|r| &r.counts),
                    deviations: f.deviations(),
                    flaky: f.flaky(),
                    resumed: f.resumed,
                })
                .collect(),
        };
        write_file(path, &serde_json::to_string_pretty(&summary)?)?;
    }
    if let Some(dir) = &args.html {
        let path = zmtp_harness::html::write(dir, &runs, registry)
            .map_err(|e| Error::Failed(e.to_string()))?;
        eprintln!("HTML report: {}", path.display());
    }
    if let Some(path) = &args.markdown {
        let link = args
            .html
            .as_ref()
            .map(|dir| super::outputs::relative_link(path, &dir.join("index.html")));
        write_file(
            path,
            &render_markdown(iuts, finished, &runs, link.as_deref()),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable_and_separates_fields() {
        let mut a = Fnv::default();
        a.add(b"ab");
        a.add(b"c");
        let mut b = Fnv::default();
        b.add(b"a");
        b.add(b"bc");
        assert_ne!(a.0, b.0);
        let mut c = Fnv::default();
        c.add(b"ab");
        c.add(b"c");
        assert_eq!(a.0, c.0);
    }
}
