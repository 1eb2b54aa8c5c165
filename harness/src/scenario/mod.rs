//! Scenario files: the built-in ones (`harness/scenarios/*.toml`, embedded at build time) and
//! any a user loads from a path. Loading validates them: ids unique and prefixed by their
//! family, every cited requirement in the registry, checks only where checks belong, and every
//! wait on the implementation tied to a requirement.

mod fixture;
mod model;
mod template;

pub use model::*;

use crate::registry::Registry;
use std::path::Path;
use thiserror::Error;

include!(concat!(env!("OUT_DIR"), "/builtin_scenarios.rs"));

/// A case and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    /// The case.
    pub case: Case,
    /// Its family.
    pub family: String,
    /// The file it came from.
    pub source: String,
}

/// Why scenario files could not be loaded.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A file is not valid TOML for the format.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A file parsed but breaks a rule.
    #[error("{path}: {problems}", problems = .problems.join("\n  "))]
    Invalid {
        /// The file.
        path: String,
        /// Every problem found.
        problems: Vec<String>,
    },
}

/// Parses one scenario file's text, expanding case templates (`params`, `matrix`).
pub fn parse(path: &str, text: &str) -> Result<ScenarioFile, ScenarioError> {
    let err = |message: String| ScenarioError::Parse {
        path: path.to_string(),
        message,
    };
    let mut table: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
    if let Some(toml::Value::Array(cases)) = table.remove("case") {
        let mut expanded = Vec::new();
        for case in cases {
            for mut case in template::expand(case).map_err(&err)? {
                if let toml::Value::Table(t) = &mut case {
                    fixture::expand(t).map_err(|e| err(format!("{}: {e}", case_id(t))))?;
                }
                expanded.push(case);
            }
        }
        table.insert("case".into(), toml::Value::Array(expanded));
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| err(e.to_string()))
}

/// A case table's id, for messages.
fn case_id(case: &toml::Table) -> String {
    case.get("id")
        .and_then(toml::Value::as_str)
        .map_or_else(|| "a case".into(), |id| format!("case {id}"))
}

/// Probe mode's case templates (`scenarios/probe.toml`): embedded like every scenario file, but
/// used only by `zmtp-harness probe` (which fills them for the endpoint's socket type), never
/// loaded as part of the suite.
pub const PROBE_FILE: &str = "probe.toml";

/// The text of [`PROBE_FILE`].
pub fn probe_text() -> &'static str {
    BUILTIN
        .iter()
        .find(|(name, _)| *name == PROBE_FILE)
        .map_or("", |(_, text)| text)
}

/// Loads the built-in scenario files (all but [`PROBE_FILE`]).
pub fn builtin(registry: &Registry) -> Result<Vec<LoadedCase>, ScenarioError> {
    let mut out = Vec::new();
    for (name, text) in BUILTIN.iter().filter(|(name, _)| *name != PROBE_FILE) {
        out.extend(load_text(name, text, registry)?);
    }
    check_unique(&out)?;
    Ok(out)
}

/// Loads a scenario file, or every `*.toml` in a directory but [`PROBE_FILE`].
pub fn load_path(path: &Path, registry: &Registry) -> Result<Vec<LoadedCase>, ScenarioError> {
    let io = |source| ScenarioError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path).map_err(io)? {
            let p = e.map_err(io)?.path();
            if p.extension().is_some_and(|x| x == "toml")
                && p.file_name().is_none_or(|n| n != PROBE_FILE)
            {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|source| ScenarioError::Io {
            path: f.display().to_string(),
            source,
        })?;
        out.extend(load_text(&f.display().to_string(), &text, registry)?);
    }
    check_unique(&out)?;
    Ok(out)
}

fn check_unique(cases: &[LoadedCase]) -> Result<(), ScenarioError> {
    let mut seen = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for c in cases {
        if let Some(prev) = seen.insert(c.case.id.clone(), c.source.clone()) {
            problems.push(format!(
                "case id {} is defined in {prev} and {}",
                c.case.id, c.source
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::Invalid {
            path: "scenarios".into(),
            problems,
        })
    }
}

/// Parses and validates one file's text.
pub fn load_text(
    path: &str,
    text: &str,
    registry: &Registry,
) -> Result<Vec<LoadedCase>, ScenarioError> {
    let file = parse(path, text)?;
    let mut problems = Vec::new();
    for case in &file.cases {
        validate_case(&file.family, case, registry, &mut problems);
    }
    if !problems.is_empty() {
        return Err(ScenarioError::Invalid {
            path: path.to_string(),
            problems,
        });
    }
    Ok(file
        .cases
        .into_iter()
        .map(|mut case| {
            if uses_second_process(&case) && !case.tags.iter().any(|t| t == PAIR_TAG) {
                case.tags.push(PAIR_TAG.to_owned());
            }
            LoadedCase {
                case,
                family: file.family.clone(),
                source: path.to_string(),
            }
        })
        .collect())
}

/// The tag every case that starts a second implementation process (`on = "iut2"`) gets
/// implicitly, so `--tag pair` selects what a cross-implementation run (`--iut2`) changes.
pub const PAIR_TAG: &str = "pair";

/// Whether any step of the case, at any depth, addresses the second process.
pub fn uses_second_process(case: &Case) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(map) => map
                .iter()
                .any(|(k, v)| (k == "on" && v == "iut2") || walk(v)),
            serde_json::Value::Array(items) => items.iter().any(walk),
            _ => false,
        }
    }
    case.steps
        .iter()
        .any(|s| serde_json::to_value(s).is_ok_and(|v| walk(&v)))
}

fn validate_case(family: &str, case: &Case, registry: &Registry, problems: &mut Vec<String>) {
    let id = &case.id;
    if !id.starts_with(&format!("{family}/")) {
        problems.push(format!("case {id}: id must start with `{family}/`"));
    }
    if case.requirements.is_empty() {
        problems.push(format!("case {id}: lists no requirements"));
    }
    for r in &case.requirements {
        if registry.get(r).is_none() {
            problems.push(format!("case {id}: requirement {r} is not in the registry"));
        }
    }
    if case.steps.is_empty() {
        problems.push(format!("case {id}: has no steps"));
    }
    validate_steps(id, &case.steps, registry, problems);
}

/// Checks the fields every step has: its requirement is registered, its level is a level.
fn validate_meta(at: &str, meta: Meta<'_>, registry: &Registry, problems: &mut Vec<String>) {
    if let Some(r) = meta.requirement
        && registry.get(r).is_none()
    {
        problems.push(format!("{at}: requirement {r} is not in the registry"));
    }
    if let Some(l) = meta.level
        && !matches!(l, "MUST" | "SHOULD" | "MAY" | "INFO")
    {
        problems.push(format!(
            "{at}: level {l:?} is not MUST, SHOULD, MAY or INFO"
        ));
    }
}

fn validate_steps(id: &str, steps: &[Step], registry: &Registry, problems: &mut Vec<String>) {
    for (i, step) in steps.iter().enumerate() {
        let at = format!("case {id}, step {} ({})", i + 1, step.kind());
        let meta = step.meta();
        validate_meta(&at, meta, registry, problems);
        // A wait on the implementation must say which requirement it embodies, or be optional.
        let waits_on_iut = matches!(
            step,
            Step::Action(
                Action::Wait(_)
                    | Action::WaitEvent(_)
                    | Action::Accept(_)
                    | Action::Handshake(_)
                    | Action::SyncPubSub(_)
                    | Action::Liveness(_)
            )
        );
        if waits_on_iut && meta.requirement.is_none() && !meta.optional {
            problems.push(format!(
                "{at}: waits on the implementation, so it needs `requirement` (or `optional = true`)"
            ));
        }
        match step {
            Step::Action(Action::Repeat(r)) => validate_steps(id, &r.steps, registry, problems),
            Step::Check(Check::OneOf(c)) => validate_options(&at, &c.options, registry, problems),
            Step::Action(Action::Pause(p)) if p.why.trim().is_empty() => {
                problems.push(format!("{at}: a pause must say why"));
            }
            _ => {}
        }
    }
}

fn validate_options(
    at: &str,
    options: &[Alternative],
    registry: &Registry,
    problems: &mut Vec<String>,
) {
    if options.is_empty() {
        problems.push(format!("{at}: no options"));
    }
    for o in options {
        if crate::verdict::Verdict::parse(&o.verdict).is_none() {
            problems.push(format!(
                "{at}: option {:?} has verdict {:?}",
                o.label, o.verdict
            ));
        }
        if let Some(r) = &o.requirement
            && registry.get(r).is_none()
        {
            problems.push(format!("{at}: requirement {r} is not in the registry"));
        }
        for (j, check) in o.checks.iter().enumerate() {
            let at = format!(
                "{at}, option {:?} check {} ({})",
                o.label,
                j + 1,
                check.kind()
            );
            validate_meta(&at, check.meta(), registry, problems);
            if matches!(check, Check::OneOf(_) | Check::Measure(_)) {
                problems.push(format!("{at}: cannot be nested in a one-of option"));
            }
        }
    }
}

/// Every requirement a case cites: its list, and each step's (recursively).
pub fn cited_requirements(case: &Case) -> Vec<String> {
    fn walk(steps: &[Step], out: &mut Vec<String>) {
        for s in steps {
            if let Some(r) = s.meta().requirement {
                out.push(r.to_string());
            }
            match s {
                Step::Action(Action::Repeat(r)) => walk(&r.steps, out),
                Step::Check(Check::OneOf(c)) => {
                    for o in &c.options {
                        if let Some(r) = &o.requirement {
                            out.push(r.clone());
                        }
                        out.extend(
                            o.checks
                                .iter()
                                .filter_map(|c| c.meta().requirement.map(str::to_string)),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = case.requirements.clone();
    walk(&case.steps, &mut out);
    out.sort();
    out.dedup();
    out
}
