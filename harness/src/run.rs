//! Running a suite: selecting cases, checking the drivers' contract, running each case, and
//! collecting the report.

use crate::driver::{DriverCommand, DriverProcess, registry as drivers};
use crate::engine::{self, Env};
use crate::registry::Registry;
use crate::report::{self, Implementation, RunReport};
use crate::scenario::{Action, Check, LoadedCase, Role, Step};
use crate::schedule;
use crate::verdict::{CaseResult, Verdict};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use zmtp_driver_protocol::HelloInfo;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--iut`: a driver name or a command line.
    pub iut: String,
    /// `--iut2`: the second process's implementation (default: the same as `iut`).
    pub iut2: Option<String>,
    /// Run only cases matching one of these globs (all when empty).
    pub cases: Vec<String>,
    /// Skip cases matching one of these globs.
    pub exclude: Vec<String>,
    /// Run only cases with one of these tags (all when empty).
    pub tags: Vec<String>,
    /// Stretch every wait and upper time bound.
    pub timeout_scale: f64,
    /// Keep transcripts of passing cases too.
    pub keep_transcripts: bool,
    /// Run the selection this many times and report verdicts that flip.
    pub repeat: u32,
    /// Cases run at once (`--jobs`); cases that measure time or load the machine always run
    /// alone (`crate::schedule`). 1 is the serial run in file order.
    pub jobs: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Where the implementations and the raw peer live (`--iut-host`, `--iut2-host`,
    /// `--peer-host`; all 127.0.0.1 by default).
    pub hosts: crate::netns::Hosts,
}

/// Why a run could not be carried out (never a verdict about the implementation).
#[derive(Debug, Error)]
pub enum RunError {
    /// A driver could not be resolved or started, or failed its contract.
    #[error("driver {name}: {message}")]
    Driver {
        /// The `--iut` value.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A case selection glob is invalid.
    #[error("bad pattern {pattern:?}: {message}")]
    Pattern {
        /// The glob.
        pattern: String,
        /// Why.
        message: String,
    },
}

fn globset(patterns: &[String]) -> Result<GlobSet, RunError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        // `family` alone selects the whole family.
        let p2 = if p.contains('/') || p.contains('*') {
            p.clone()
        } else {
            format!("{p}/**")
        };
        b.add(Glob::new(&p2).map_err(|e| RunError::Pattern {
            pattern: p.clone(),
            message: e.to_string(),
        })?);
        b.add(Glob::new(p).map_err(|e| RunError::Pattern {
            pattern: p.clone(),
            message: e.to_string(),
        })?);
    }
    b.build().map_err(|e| RunError::Pattern {
        pattern: patterns.join(","),
        message: e.to_string(),
    })
}

/// The cases selected by the options, in file order.
pub fn select(
    cases: &[LoadedCase],
    include: &[String],
    exclude: &[String],
    tags: &[String],
) -> Result<Vec<LoadedCase>, RunError> {
    let inc = globset(include)?;
    let exc = globset(exclude)?;
    Ok(cases
        .iter()
        .filter(|c| include.is_empty() || inc.is_match(&c.case.id))
        .filter(|c| exclude.is_empty() || !exc.is_match(&c.case.id))
        .filter(|c| tags.is_empty() || c.case.tags.iter().any(|t| tags.contains(t)))
        .cloned()
        .collect())
}

/// Starts a driver, checks its contract (`hello`, and an unknown op answered `unsupported`),
/// and stops it again. Returns its `hello`.
pub async fn contract_check(command: &DriverCommand) -> Result<HelloInfo, String> {
    let mut d = DriverProcess::spawn(command)
        .await
        .map_err(|e| e.to_string())?;
    let hello = d.contract_check().await.map_err(|e| e.to_string());
    if d.exit(Duration::from_secs(5)).await.is_err() {
        let _ = d.kill().await;
    }
    hello
}

fn uses_role(steps: &[Step], role: Role) -> bool {
    steps.iter().any(|s| match s {
        Step::Action(a) => match a {
            Action::Socket(x) => x.on == role,
            Action::Exit(x) => x.on == role,
            Action::Terminate(x) => x.on == role,
            Action::Kill(x) => x.on == role,
            Action::WaitExit(x) => x.on == role,
            Action::Restart(x) => x.on == role,
            Action::CountFds(x) => x.on == role,
            Action::Repeat(x) => uses_role(&x.steps, role),
            _ => false,
        },
        Step::Check(Check::Alive(x)) => x.on == role,
        Step::Check(_) => false,
    })
}

/// The socket types a case needs from a role that the driver lacks.
fn missing_types(lc: &LoadedCase, role: Role, hello: &HelloInfo) -> Vec<String> {
    fn types(steps: &[Step], role: Role, out: &mut Vec<String>) {
        for s in steps {
            match s {
                Step::Action(Action::Socket(x)) if x.on == role => out.push(x.socket_type.clone()),
                Step::Action(Action::Repeat(x)) => types(&x.steps, role, out),
                _ => {}
            }
        }
    }
    let mut need = Vec::new();
    types(&lc.case.steps, role, &mut need);
    if role == Role::Iut {
        need.extend(lc.case.needs.iter().cloned());
    }
    need.sort();
    need.dedup();
    need.into_iter()
        .filter(|t| !hello.socket_types.iter().any(|h| h.eq_ignore_ascii_case(t)))
        .collect()
}

fn unsupported(lc: &LoadedCase, why: String) -> CaseResult {
    CaseResult {
        id: lc.case.id.clone(),
        title: lc.case.title.clone(),
        requirements: lc.case.requirements.clone(),
        verdict: Verdict::Unsupported,
        reason: Some(why),
        checks: vec![],
        measurements: vec![],
        steps: vec![],
        peers: vec![],
        drivers: vec![],
        duration_ms: 0.0,
    }
}

/// The outcome of a run: the report of the last repetition, and the cases whose verdict
/// differed between repetitions.
pub struct RunOutcome {
    /// The report.
    pub report: RunReport,
    /// Case id → the verdict of each repetition, for cases that flipped.
    pub flips: BTreeMap<String, Vec<Verdict>>,
}

/// Runs the selected cases against the implementations.
pub async fn run(
    options: &RunOptions,
    registry: Arc<Registry>,
    cases: &[LoadedCase],
) -> Result<RunOutcome, RunError> {
    let resolve = |name: &str| {
        drivers::resolve(name).map_err(|e| RunError::Driver {
            name: name.to_string(),
            message: e.to_string(),
        })
    };
    let iut_cmd = resolve(&options.iut)?;
    let iut2_name = options.iut2.clone().unwrap_or_else(|| options.iut.clone());
    let iut2_cmd = resolve(&iut2_name)?;
    let hello1 = contract_check(&iut_cmd)
        .await
        .map_err(|message| RunError::Driver {
            name: options.iut.clone(),
            message,
        })?;
    let hello2 = if iut2_cmd == iut_cmd {
        hello1.clone()
    } else {
        contract_check(&iut2_cmd)
            .await
            .map_err(|message| RunError::Driver {
                name: iut2_name.clone(),
                message,
            })?
    };
    let env = Env {
        iut: iut_cmd.clone(),
        iut2: iut2_cmd.clone(),
        timeout_scale: options.timeout_scale,
        registry,
        keep_transcripts: options.keep_transcripts,
        hosts: options.hosts.clone(),
        pool: engine::DriverPool::default(),
    };
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let repeats = options.repeat.max(1);
    let total = cases.len() as u64 * u64::from(repeats);
    let bar = if options.progress {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut history: BTreeMap<String, Vec<Verdict>> = BTreeMap::new();
    let mut results = Vec::new();
    let plan = schedule::Plan::new(cases, options.jobs);
    let shared = Arc::new(Shared {
        cases: cases.to_vec(),
        hello1,
        hello2,
        bar: bar.clone(),
        log: !options.progress,
    });
    for round in 0..repeats {
        results = run_round(&shared, &plan, options.jobs, &env).await;
        for r in &results {
            history.entry(r.id.clone()).or_default().push(r.verdict);
        }
        tracing::debug!(round, "round done");
    }
    bar.finish_and_clear();
    env.pool.shutdown().await;
    let flips = history
        .into_iter()
        .filter(|(_, vs)| vs.windows(2).any(|w| w[0] != w[1]))
        .collect();
    let report = RunReport {
        schema_version: 1,
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        started_unix,
        iut: Implementation {
            name: options.iut.clone(),
            command: iut_cmd.display(),
            hello: Some(shared.hello1.clone()),
        },
        iut2: Implementation {
            name: iut2_name,
            command: iut2_cmd.display(),
            hello: Some(shared.hello2.clone()),
        },
        timeout_scale: options.timeout_scale,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        peak_rss_kib: crate::memory::peak_rss_kib(),
        counts: report::counts(&results),
        baseline: None,
        results,
    };
    Ok(RunOutcome { report, flips })
}

/// What every worker of a run reads: the selection, the drivers' `hello`s, the progress bar.
struct Shared {
    cases: Vec<LoadedCase>,
    hello1: HelloInfo,
    hello2: HelloInfo,
    bar: indicatif::ProgressBar,
    /// Log non-PASS verdicts as they come (when there is no progress bar).
    log: bool,
}

/// One pass over the selection: the concurrent cases on `jobs` workers (each with its own
/// driver processes), then the ones that run alone, on `env`'s. Results in selection order.
async fn run_round(
    shared: &Arc<Shared>,
    plan: &schedule::Plan,
    jobs: usize,
    env: &Env,
) -> Vec<CaseResult> {
    let mut slots: Vec<Option<CaseResult>> = vec![None; shared.cases.len()];
    if !plan.together.is_empty() {
        let s = shared.clone();
        let done = schedule::run_pool(
            plan.together.clone(),
            jobs,
            || env.with_own_drivers(),
            move |i, env| {
                let s = s.clone();
                async move {
                    let r = run_one(&s, i, &env).await;
                    (r, env)
                }
            },
            |env| async move { env.pool.shutdown().await },
        )
        .await;
        for (i, r) in done {
            slots[i] = Some(r);
        }
    }
    for &i in &plan.alone {
        slots[i] = Some(run_one(shared, i, env).await);
    }
    slots.into_iter().flatten().collect()
}

/// Runs case `i` of the selection, or reports it UNSUPPORTED when a driver lacks a socket
/// type it needs.
async fn run_one(shared: &Shared, i: usize, env: &Env) -> CaseResult {
    let lc = &shared.cases[i];
    shared.bar.set_message(lc.case.id.clone());
    let mut missing = missing_types(lc, Role::Iut, &shared.hello1);
    if uses_role(&lc.case.steps, Role::Iut2) {
        missing.extend(missing_types(lc, Role::Iut2, &shared.hello2));
    }
    let r = if missing.is_empty() {
        engine::run_case(&lc.case, env).await
    } else {
        unsupported(
            lc,
            format!("the driver has no socket type {}", missing.join(", ")),
        )
    };
    if r.verdict != Verdict::Pass && shared.log {
        tracing::info!(case = %r.id, verdict = %r.verdict, "{}", r.reason.clone().unwrap_or_default());
    }
    shared.bar.inc(1);
    r
}
