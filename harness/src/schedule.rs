//! Scheduling a run over `--jobs` workers: which cases may share the machine with others, and
//! the pool of workers that runs the rest concurrently.
//!
//! Most cases spend their time waiting on bounded timeouts, so several can run at once even on
//! two cores. A case whose verdict depends on time or on the machine's spare capacity runs
//! alone, after the concurrent ones: one with an explicit `alone = true`, a `timing`, `slow` or
//! `load` tag, a time bound on a check (`within_ms`, `max_ms`, `min_ms`), or a burst of
//! [`LOAD_COUNT`] messages or more. Every worker has its own driver processes (drivers are
//! reused between the cases of one worker, as in a serial run).

use crate::scenario::{Case, LoadedCase};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tags that make a case run alone.
pub const ALONE_TAGS: &[&str] = &["timing", "slow", "load"];

/// Keys of a step that bound a duration the verdict depends on.
const TIME_BOUND_KEYS: &[&str] = &["within_ms", "max_ms", "min_ms"];

/// A burst this large loads the machine (and its drain's quiet period decides the count).
pub const LOAD_COUNT: u64 = 1000;

/// Workers when `--jobs` is not given: two per core, since cases mostly wait.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// Why a case runs alone under `--jobs`, or `None` when it may share the machine.
pub fn why_alone(case: &Case) -> Option<String> {
    if case.alone {
        return Some("marked `alone`".into());
    }
    if let Some(tag) = case.tags.iter().find(|t| ALONE_TAGS.contains(&t.as_str())) {
        return Some(format!("tagged `{tag}`"));
    }
    let steps = serde_json::to_value(&case.steps).unwrap_or(Value::Null);
    if let Some(key) = find_time_bound(&steps) {
        return Some(format!("a check bounds time (`{key}`)"));
    }
    let largest = largest_count(&steps);
    (largest >= LOAD_COUNT).then(|| format!("a burst of {largest} messages"))
}

/// Whether a case runs alone under `--jobs`.
pub fn runs_alone(case: &Case) -> bool {
    why_alone(case).is_some()
}

fn find_time_bound(v: &Value) -> Option<&'static str> {
    match v {
        Value::Array(a) => a.iter().find_map(find_time_bound),
        Value::Object(m) => TIME_BOUND_KEYS
            .iter()
            .copied()
            .find(|k| m.get(*k).is_some_and(|x| !x.is_null()))
            .or_else(|| m.values().find_map(find_time_bound)),
        _ => None,
    }
}

fn largest_count(v: &Value) -> u64 {
    match v {
        Value::Array(a) => a.iter().map(largest_count).max().unwrap_or(0),
        Value::Object(m) => {
            let own = m.get("count").and_then(Value::as_u64).unwrap_or(0);
            m.values().map(largest_count).fold(own, u64::max)
        }
        _ => 0,
    }
}

/// The order a run takes: the cases that may run concurrently, then those that run alone,
/// as indices into the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Cases run by the worker pool.
    pub together: Vec<usize>,
    /// Cases run one at a time after the pool has finished.
    pub alone: Vec<usize>,
}

impl Plan {
    /// Splits a selection; with one job every case counts as alone (the serial run, in order).
    pub fn new(cases: &[LoadedCase], jobs: usize) -> Plan {
        if jobs <= 1 {
            return Plan {
                together: Vec::new(),
                alone: (0..cases.len()).collect(),
            };
        }
        let (alone, together) = (0..cases.len()).partition(|&i| runs_alone(&cases[i].case));
        Plan { together, alone }
    }
}

/// Runs `work` over `items` with `jobs` workers; each worker gets its own state from `state`
/// (its driver processes) and hands it to `finish` at the end. Results come back in the
/// order of `items`.
pub async fn run_pool<S, T, W, WF, F, FF>(
    items: Vec<usize>,
    jobs: usize,
    mut state: impl FnMut() -> S,
    work: W,
    finish: F,
) -> Vec<(usize, T)>
where
    S: Send + 'static,
    T: Send + 'static,
    W: Fn(usize, S) -> WF + Send + Sync + 'static,
    WF: Future<Output = (T, S)> + Send,
    F: Fn(S) -> FF + Send + Sync + 'static,
    FF: Future<Output = ()> + Send,
{
    let items = Arc::new(items);
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let finish = Arc::new(finish);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..jobs.clamp(1, items.len().max(1)) {
        let (items, next, work, finish) =
            (items.clone(), next.clone(), work.clone(), finish.clone());
        let mut s = state();
        set.spawn(async move {
            let mut done = Vec::new();
            loop {
                let slot = next.fetch_add(1, Ordering::Relaxed);
                let Some(&item) = items.get(slot) else { break };
                let (t, back) = work(item, s).await;
                s = back;
                done.push((slot, item, t));
            }
            finish(s).await;
            done
        });
    }
    let mut all = Vec::with_capacity(items.len());
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(done) => all.extend(done),
            // A worker that panicked is a harness bug; re-raise it where it can be seen.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    all.sort_by_key(|(slot, _, _)| *slot);
    all.into_iter().map(|(_, item, t)| (item, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(toml: &str) -> Case {
        toml::from_str(toml).expect("case parses")
    }

    const BASE: &str = "id = \"f/x\"\ntitle = \"t\"\nrequirements = [\"R-1\"]\n";

    #[test]
    fn a_plain_case_shares_the_machine() {
        let c = case(&format!(
            "{BASE}[[step]]\ndo = \"socket\"\ntype = \"PUSH\"\nname = \"s\"\n"
        ));
        assert_eq!(why_alone(&c), None);
    }

    #[test]
    fn marked_tagged_timed_and_loaded_cases_run_alone() {
        let marked = case(&format!("{BASE}alone = true\n"));
        assert_eq!(why_alone(&marked).as_deref(), Some("marked `alone`"));
        let tagged = case(&format!("{BASE}tags = [\"wire\", \"timing\"]\n"));
        assert_eq!(why_alone(&tagged).as_deref(), Some("tagged `timing`"));
        let timed = case(&format!(
            "{BASE}[[step]]\ndo = \"check.closed\"\npeer = \"p\"\nwithin_ms = 500\n"
        ));
        assert!(why_alone(&timed).is_some_and(|w| w.contains("within_ms")));
        let loaded = case(&format!(
            "{BASE}[[step]]\ndo = \"burst\"\nsocket = \"s\"\ncount = 5000\nsave = \"b\"\n"
        ));
        assert_eq!(
            why_alone(&loaded).as_deref(),
            Some("a burst of 5000 messages")
        );
    }

    #[test]
    fn one_job_is_the_serial_order() {
        let plan = Plan::new(&[], 1);
        assert!(plan.together.is_empty() && plan.alone.is_empty());
    }

    #[tokio::test]
    async fn the_pool_returns_every_result_in_order_and_finishes_every_worker() {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        let out = run_pool(
            (0..20).rev().collect(),
            3,
            || 0u32,
            |i, n| async move {
                tokio::time::sleep(std::time::Duration::from_millis((i % 3) as u64)).await;
                (i * 10, n + 1)
            },
            move |_| {
                let f = f.clone();
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .await;
        let items: Vec<usize> = out.iter().map(|(i, _)| *i).collect();
        assert_eq!(items, (0..20).rev().collect::<Vec<_>>());
        assert!(out.iter().all(|(i, t)| *t == i * 10));
        assert_eq!(finished.load(Ordering::SeqCst), 3);
    }
}
