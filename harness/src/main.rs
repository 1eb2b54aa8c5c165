//! `zmtp-harness`: the command-line front end.
//!
//! Exit status of `run`: 0 when every result matches expectations (the baseline, or PASS/INFO/
//! WARN/UNSUPPORTED without one), 1 on a conformance deviation (a FAIL, a baseline mismatch,
//! or a verdict that flips between repetitions), 2 on a harness or driver error.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use zmtp_harness::baseline::{Baseline, Deviation};
use zmtp_harness::dissect::{self, Options, Start};
use zmtp_harness::driver::registry as drivers;
use zmtp_harness::registry::Registry;
use zmtp_harness::report::{self, BaselineReport};
use zmtp_harness::run::{self, RunOptions};
use zmtp_harness::scenario::{self, LoadedCase};
use zmtp_harness::verdict::Verdict;

#[derive(Parser)]
#[command(name = "zmtp-harness", version, about = "ZMTP 3.x conformance harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against an implementation and judge it.
    Run(RunArgs),
    /// List the scenario cases.
    List(ListArgs),
    /// Show a case: its requirements, steps and every allowed outcome.
    Explain(ExplainArgs),
    /// List every driver with its state here (ready, needs build, toolchain missing), or build them.
    Drivers(DriversArgs),
    /// For every requirement, the cases that check it (or why it cannot be tested).
    Coverage(CoverageArgs),
    /// Test an endpoint that is already running, with no driver.
    Probe(ProbeArgs),
    /// Fuzz a live implementation over the network with ZMTP-aware mutations.
    Fuzz(FuzzArgs),
    /// Replay a saved fuzz finding against an implementation.
    Replay(ReplayArgs),
    /// Decode ZMTP octets: greeting, frames and commands, or the first rule they break.
    Decode(DecodeArgs),
    /// Check a driver against the driver protocol (DRV-nn), op by op, before running the suite.
    DriverCheck(zmtp_harness::driver_check::Args),
    /// Run a built-in driver (used by the harness itself to start `libzmq` and `zmqrs`).
    #[command(hide = true)]
    Driver {
        /// Which built-in driver.
        name: String,
    },
}

#[derive(Args)]
struct DriversArgs {
    #[command(subcommand)]
    action: Option<DriversAction>,
    /// Do not start the ready drivers to ask for their `hello`.
    #[arg(long)]
    no_check: bool,
}

#[derive(Subcommand)]
enum DriversAction {
    /// Build one driver, or every driver whose toolchain is here (default: all).
    Build {
        /// A driver name, or `all`.
        #[arg(default_value = "all")]
        name: String,
    },
}

#[derive(Args, Clone)]
struct ScenarioSource {
    /// Also load scenario files from this file or directory (repeatable).
    #[arg(long = "scenarios", value_name = "PATH")]
    scenarios: Vec<PathBuf>,
    /// Use only the files given with --scenarios, not the built-in ones.
    #[arg(long)]
    only_scenarios: bool,
}

#[derive(Args)]
struct RunArgs {
    /// Implementation under test: libzmq, zmqrs, pyzmq, or a driver command line.
    #[arg(long, default_value = "libzmq")]
    iut: String,
    /// Implementation for the second process of pair scenarios (default: same as --iut).
    #[arg(long)]
    iut2: Option<String>,
    /// Run only cases matching this glob (a family name selects the family); repeatable.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Skip cases matching this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Run only cases with this tag (seed, wire, ...); repeatable.
    #[arg(long)]
    tag: Vec<String>,
    #[command(flatten)]
    source: ScenarioSource,
    /// Write the full report as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Stretch every wait and upper time bound by this factor.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Compare with this baseline (default: baselines/<iut>.toml for a named driver).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Do not compare with any baseline.
    #[arg(long, conflicts_with = "baseline")]
    no_baseline: bool,
    /// Rewrite the baseline from this run.
    #[arg(long)]
    update_baseline: bool,
    /// Keep transcripts of passing cases in the JSON report too.
    #[arg(long)]
    keep_transcripts: bool,
    /// Run the selection N times; a verdict that differs between runs is a deviation.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Do not print the details (transcripts) of failing cases.
    #[arg(long)]
    brief: bool,
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    source: ScenarioSource,
    /// Only cases matching this glob.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ProbeArgs {
    /// The endpoint, e.g. tcp://127.0.0.1:5555.
    endpoint: String,
    /// The socket type listening there (PUB, ROUTER, PULL ...).
    #[arg(long)]
    socket_type: String,
    /// Run only probe cases matching this glob.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Write the full report as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Stretch every wait and upper time bound by this factor.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Do not print the details of failing cases.
    #[arg(long)]
    brief: bool,
}

#[derive(Args)]
struct FuzzArgs {
    /// Implementation under test: libzmq, zmqrs, pyzmq, or a driver command line.
    #[arg(long, default_value = "libzmq")]
    iut: String,
    /// How long, e.g. 60s, 5m.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    time: std::time::Duration,
    /// The seed: the same seed sends the same sessions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Socket types to fuzz (default: PULL, SUB, ROUTER, DEALER, PUB); repeatable.
    #[arg(long = "socket-type")]
    socket_types: Vec<String>,
    /// Where findings and report.json go.
    #[arg(long, default_value = "target/netfuzz")]
    out: PathBuf,
    /// Stretch every bound.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Allowed growth of the driver's resident memory, MiB.
    #[arg(long, default_value_t = 256)]
    max_rss_growth: u64,
    /// Do not minimise findings.
    #[arg(long)]
    no_minimise: bool,
}

#[derive(Args)]
struct ReplayArgs {
    /// A finding file written by `fuzz`.
    file: PathBuf,
    /// Implementation to replay against (default: the one in the finding).
    #[arg(long)]
    iut: Option<String>,
    /// Stretch every bound.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Replay this many times (races reproduce only sometimes); reports how often it failed.
    #[arg(long, default_value_t = 5)]
    times: u32,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    Ok(std::time::Duration::from_secs_f64(v * mult))
}

#[derive(Args)]
struct CoverageArgs {
    #[command(flatten)]
    source: ScenarioSource,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// List every case per requirement (not only the first three).
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Args)]
struct ExplainArgs {
    /// The case id.
    case: String,
    #[command(flatten)]
    source: ScenarioSource,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// The spec as written.
    Strict,
    /// What libzmq accepts.
    Lenient,
}

#[derive(Clone, Copy, ValueEnum)]
enum StartArg {
    /// A greeting if the first octet is 0xff, else frames.
    Auto,
    /// A greeting first.
    Greeting,
    /// Frames only.
    Frames,
}

#[derive(Clone, Copy, ValueEnum)]
enum MechanismArg {
    Null,
    Plain,
    Curve,
}

#[derive(Args)]
struct DecodeArgs {
    /// Octets as hex (whitespace, `:` and `0x` allowed). Without it, read stdin.
    hex: Option<String>,
    /// Read the octets from this file instead.
    #[arg(long, short, conflicts_with = "hex")]
    file: Option<PathBuf>,
    /// Treat file/stdin input as raw octets even if it looks like hex.
    #[arg(long)]
    raw: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// How strictly to read.
    #[arg(long, value_enum, default_value = "strict")]
    profile: ProfileArg,
    /// Where the input starts.
    #[arg(long, value_enum, default_value = "auto")]
    start: StartArg,
    /// Mechanism for reading commands (default: from the greeting, else NULL).
    #[arg(long, value_enum)]
    mechanism: Option<MechanismArg>,
    /// Reject frames larger than this many octets.
    #[arg(long)]
    max_frame_size: Option<u64>,
}

/// `print!` through [`emit`].
macro_rules! out {
    ($($t:tt)*) => { emit(&format!($($t)*)) };
}

/// `println!` through [`emit`].
macro_rules! outln {
    ($($t:tt)*) => { emit(&format!("{}\n", format_args!($($t)*))) };
}

/// Writes to stdout; a closed pipe (`| head`) ends the program quietly instead of panicking.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

fn registry() -> Result<Arc<Registry>, String> {
    Registry::bundled()
        .map(Arc::new)
        .map_err(|e| format!("requirement registry: {e}"))
}

fn load_cases(source: &ScenarioSource, registry: &Registry) -> Result<Vec<LoadedCase>, String> {
    let mut cases = if source.only_scenarios {
        Vec::new()
    } else {
        scenario::builtin(registry).map_err(|e| e.to_string())?
    };
    for p in &source.scenarios {
        cases.extend(scenario::load_path(p, registry).map_err(|e| e.to_string())?);
    }
    Ok(cases)
}

fn write_file(path: &PathBuf, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn run_command(args: RunArgs) -> Result<ExitCode, String> {
    let registry = registry()?;
    let all = load_cases(&args.source, &registry)?;
    let selected =
        run::select(&all, &args.cases, &args.exclude, &args.tag).map_err(|e| e.to_string())?;
    if selected.is_empty() {
        return Err("no case matches the selection".into());
    }
    let options = RunOptions {
        iut: args.iut.clone(),
        iut2: args.iut2.clone(),
        cases: args.cases.clone(),
        exclude: args.exclude.clone(),
        tags: args.tag.clone(),
        timeout_scale: args.timeout_scale,
        keep_transcripts: args.keep_transcripts,
        repeat: args.repeat,
        progress: std::io::stderr().is_terminal(),
    };
    let outcome = run::run(&options, registry, &selected)
        .await
        .map_err(|e| e.to_string())?;
    let mut report = outcome.report;
    let baseline_path = match (&args.baseline, args.no_baseline) {
        (_, true) => None,
        (Some(p), _) => Some(p.clone()),
        (None, false) if drivers::is_named(&args.iut) => {
            let name = match &args.iut2 {
                Some(other) if other != &args.iut => format!("{}+{other}", args.iut),
                _ => args.iut.clone(),
            };
            Some(
                drivers::repo_root()
                    .join("baselines")
                    .join(format!("{name}.toml")),
            )
        }
        _ => None,
    };
    let mut deviations: Vec<Deviation> = Vec::new();
    if let Some(path) = &baseline_path {
        let baseline = Baseline::load(path).map_err(|e| e.to_string())?;
        if args.update_baseline {
            let updated = baseline.updated(&args.iut, &report.results);
            updated.save(path).map_err(|e| e.to_string())?;
            eprintln!(
                "baseline {} rewritten: {} entries",
                path.display(),
                updated.cases.len()
            );
        } else {
            deviations = baseline.compare(&report.results);
        }
        report.baseline = Some(BaselineReport {
            path: path.display().to_string(),
            listed: baseline.cases.len(),
            deviations: deviations.clone(),
        });
    }
    out!("{}", report::render_text(&report, !args.brief));
    if !outcome.flips.is_empty() {
        outln!("\nVerdicts that differed between the {} runs:", args.repeat);
        for (id, vs) in &outcome.flips {
            let vs: Vec<&str> = vs.iter().map(|v| v.as_str()).collect();
            outln!("  {id}: {}", vs.join(" "));
        }
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        write_file(path, &text)?;
    }
    if let Some(path) = &args.junit {
        write_file(path, &report::junit(&report))?;
    }
    let any = |v: Verdict| report.results.iter().any(|r| r.verdict == v);
    Ok(if any(Verdict::Error) {
        ExitCode::from(2)
    } else if !outcome.flips.is_empty()
        || (baseline_path.is_some() && !args.update_baseline && !deviations.is_empty())
        || (baseline_path.is_none() && any(Verdict::Fail))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn list_command(args: ListArgs) -> Result<ExitCode, String> {
    let registry = registry()?;
    let all = load_cases(&args.source, &registry)?;
    let cases = run::select(&all, &args.cases, &[], &[]).map_err(|e| e.to_string())?;
    if args.json {
        let rows: Vec<serde_json::Value> = cases
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.case.id, "title": c.case.title, "family": c.family,
                    "requirements": scenario::cited_requirements(&c.case),
                    "tags": c.case.tags, "source": c.source,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?
        );
    } else {
        let mut family = String::new();
        for c in &cases {
            if c.family != family {
                family = c.family.clone();
                outln!("\n{family}");
            }
            outln!(
                "  {:<48} {}  [{}]",
                c.case.id,
                c.case.title,
                c.case.requirements.join(" ")
            );
        }
        outln!("\n{} case(s)", cases.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn explain_command(args: ExplainArgs) -> Result<ExitCode, String> {
    let registry = registry()?;
    let all = load_cases(&args.source, &registry)?;
    let lc = all
        .iter()
        .find(|c| c.case.id == args.case)
        .ok_or_else(|| format!("no case {}", args.case))?;
    out!("{}", zmtp_harness::explain::explain(lc, &registry));
    Ok(ExitCode::SUCCESS)
}

async fn probe_command(args: ProbeArgs) -> Result<ExitCode, String> {
    let registry = registry()?;
    let report = zmtp_harness::probe::run(
        &args.endpoint,
        &args.socket_type,
        &args.cases,
        registry,
        args.timeout_scale,
        false,
    )
    .await?;
    out!("{}", report::render_text(&report, !args.brief));
    if let Some(path) = &args.json {
        write_file(
            path,
            &serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
        )?;
    }
    if let Some(path) = &args.junit {
        write_file(path, &report::junit(&report))?;
    }
    let any = |v: Verdict| report.results.iter().any(|r| r.verdict == v);
    Ok(if any(Verdict::Error) {
        ExitCode::from(2)
    } else if any(Verdict::Fail) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn fuzz_command(args: FuzzArgs) -> Result<ExitCode, String> {
    use zmtp_harness::netfuzz;
    let opts = netfuzz::FuzzOptions {
        iut: args.iut,
        time: args.time,
        seed: args.seed,
        socket_types: args
            .socket_types
            .iter()
            .map(|t| t.to_ascii_uppercase())
            .collect(),
        out: args.out.clone(),
        timeout_scale: args.timeout_scale,
        max_rss_growth_mib: args.max_rss_growth,
        minimise: !args.no_minimise,
    };
    let r = netfuzz::run(&opts).await?;
    outln!(
        "fuzzed {} for {:.1} s: {} sessions ({:.1}/s), {} restart(s), seed {}",
        r.iut,
        r.seconds,
        r.iterations,
        r.per_second,
        r.restarts,
        r.seed
    );
    for (t, n) in &r.per_type {
        outln!("  {t:<7} {n} sessions");
    }
    if r.findings.is_empty() {
        outln!("no findings");
    }
    for line in &r.summary {
        outln!("  finding: {line}");
    }
    for f in &r.findings {
        outln!("  saved: {f}  (replay: zmtp-harness replay {f})");
    }
    outln!("report: {}", args.out.join("report.json").display());
    // A finding is a result about the implementation, not a failure of this command.
    Ok(ExitCode::SUCCESS)
}

async fn replay_command(args: ReplayArgs) -> Result<ExitCode, String> {
    use zmtp_harness::netfuzz;
    let finding = netfuzz::load_finding(&args.file)?;
    let iut = args.iut.unwrap_or_else(|| finding.iut.clone());
    let cmd = drivers::resolve(&iut).map_err(|e| e.to_string())?;
    outln!(
        "replaying {} ({} on a {} socket, {} octets, close {}) against {iut}",
        args.file.display(),
        finding.oracle,
        finding.socket_type,
        finding
            .chunks_hex
            .iter()
            .map(|h| h.len() / 2)
            .sum::<usize>(),
        finding.close
    );
    for m in &finding.mutations {
        outln!("  mutation: {m}");
    }
    let mut failed = 0;
    let mut last = None;
    for _ in 0..args.times.max(1) {
        if let Some(f) = netfuzz::reproduce(&finding, &cmd, args.timeout_scale, 256 * 1024).await? {
            failed += 1;
            last = Some(f);
        }
    }
    match last {
        Some((oracle, detail)) => {
            outln!(
                "reproduced in {failed} of {} replays: {oracle}: {detail}",
                args.times.max(1)
            );
            Ok(ExitCode::from(1))
        }
        None => {
            outln!(
                "not reproduced in {} replays: every oracle held",
                args.times.max(1)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn coverage_command(args: CoverageArgs) -> Result<ExitCode, String> {
    let registry = registry()?;
    let cases = zmtp_harness::coverage::all_cases(&registry, load_cases(&args.source, &registry)?)?;
    let citations: Vec<String> =
        zmtp_harness::vectors::load_dir(&zmtp_harness::vectors::default_dir())
            .map(|files| {
                files
                    .into_iter()
                    .flat_map(|(_, f)| f.vectors)
                    .flat_map(|v| v.requirements)
                    .collect()
            })
            .unwrap_or_default();
    let cov = zmtp_harness::coverage::Coverage::compute(&registry, &cases, &citations);
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&cov).map_err(|e| e.to_string())?
        );
    } else {
        out!("{}", cov.render(args.verbose));
        let missing = cov.uncovered_musts(&registry, true);
        if !missing.is_empty() {
            outln!(
                "
{} wire-testable MUST requirement(s) have no case: {}",
                missing.len(),
                missing.join(" ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn drivers_command(args: DriversArgs) -> Result<ExitCode, String> {
    use zmtp_harness::driver::listing::{self, BuildOutcome};
    if let Some(DriversAction::Build { name }) = args.action {
        let which = (name != "all").then_some(name.as_str());
        let outcomes = tokio::task::spawn_blocking({
            let which = which.map(str::to_owned);
            move || listing::build(which.as_deref())
        })
        .await
        .map_err(|e| e.to_string())?;
        let mut failed = 0;
        for (driver, outcome) in &outcomes {
            match outcome {
                BuildOutcome::Built => outln!("{driver:<10} built"),
                BuildOutcome::UpToDate => outln!("{driver:<10} up to date"),
                BuildOutcome::Skipped(why) => outln!("{driver:<10} skipped: {why}"),
                BuildOutcome::Failed(e) => {
                    failed += 1;
                    outln!("{driver:<10} FAILED: {e}");
                }
            }
        }
        return Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let rows = listing::list(&exe, !args.no_check).await;
    outln!("{}", listing::table(&rows));
    outln!("build: zmtp-harness drivers build [NAME|all]; `run --iut NAME` builds on first use");
    Ok(ExitCode::SUCCESS)
}

fn decode(args: DecodeArgs) -> ExitCode {
    let input = match read_input(&args) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        profile: match args.profile {
            ProfileArg::Strict => zmtp_codec::Profile::Strict,
            ProfileArg::Lenient => zmtp_codec::Profile::Lenient,
        },
        start: match args.start {
            StartArg::Auto => Start::Auto,
            StartArg::Greeting => Start::Greeting,
            StartArg::Frames => Start::Frames,
        },
        mechanism: args.mechanism.map(|m| match m {
            MechanismArg::Null => zmtp_codec::MechanismKind::Null,
            MechanismArg::Plain => zmtp_codec::MechanismKind::Plain,
            MechanismArg::Curve => zmtp_codec::MechanismKind::Curve,
        }),
        max_frame_size: args.max_frame_size,
    };
    let d = dissect::dissect(&input, options);
    if args.json {
        match serde_json::to_string_pretty(&d) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        out!("{}", dissect::render_text(&d, &input));
    }
    if d.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read_input(args: &DecodeArgs) -> Result<Vec<u8>, String> {
    if let Some(hex) = &args.hex {
        return dissect::parse_hex(hex);
    }
    let bytes = match &args.file {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("stdin: {e}"))?;
            buf
        }
    };
    if !args.raw && dissect::looks_like_hex(&bytes) {
        dissect::parse_hex(&String::from_utf8_lossy(&bytes))
    } else {
        Ok(bytes)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Driver { name } = &cli.command {
        return zmtp_harness::driver::run_builtin(name);
    }
    if let Command::Decode(args) = cli.command {
        return decode(args);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZMTP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => run_command(args).await,
            Command::List(args) => list_command(args),
            Command::Explain(args) => explain_command(args),
            Command::Drivers(args) => drivers_command(args).await,
            Command::Coverage(args) => coverage_command(args),
            Command::Probe(args) => probe_command(args).await,
            Command::Fuzz(args) => fuzz_command(args).await,
            Command::Replay(args) => replay_command(args).await,
            Command::DriverCheck(args) => Ok(zmtp_harness::driver_check::main(args).await),
            Command::Decode(_) | Command::Driver { .. } => Ok(ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
