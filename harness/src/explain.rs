//! `zmtp-harness explain`: a case in words — its requirements with their text, its steps, and
//! every outcome its checks allow.

use crate::registry::Registry;
use crate::scenario::{Action, Check, LoadedCase, Step, cited_requirements};
use crate::verdict::Verdict;
use serde_json::Value;
use std::fmt::Write;

/// Removes fields that only restate defaults (null, false, empty), for a compact rendering.
fn prune(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter_map(|(k, v)| {
                    let v = prune(v);
                    let empty = match &v {
                        Value::Null | Value::Bool(false) => true,
                        Value::Array(a) => a.is_empty(),
                        Value::Object(o) => o.is_empty(),
                        _ => false,
                    };
                    (!empty && k != "do").then_some((k, v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(prune).collect()),
        other => other,
    }
}

/// One step on one line: its kind and the fields the author set.
pub fn render_step(step: &Step) -> String {
    let fields = serde_json::to_value(step).map(prune).unwrap_or(Value::Null);
    let mut text = step.kind().to_string();
    if let Value::Object(m) = fields {
        for (k, v) in m {
            if k == "options" && matches!(step, Step::Check(Check::OneOf(_))) {
                continue;
            }
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let _ = write!(text, " {k}={v}");
        }
    }
    text
}

fn level_outcome(registry: &Registry, req: Option<&str>, forced: Option<&str>) -> String {
    let level = forced
        .map(str::to_string)
        .or_else(|| {
            req.and_then(|r| registry.get(r))
                .map(|r| r.level.keyword().to_string())
        })
        .unwrap_or_else(|| "MUST".into());
    format!("{} if it does not hold", Verdict::for_level(&level))
}

/// The explanation of a case.
pub fn explain(lc: &LoadedCase, registry: &Registry) -> String {
    let c = &lc.case;
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", c.id, c.title);
    let _ = writeln!(out, "file: {}   tags: {}", lc.source, c.tags.join(", "));
    if !c.description.is_empty() {
        let _ = writeln!(out, "\n{}", c.description.trim());
    }
    let _ = writeln!(out, "\nRequirements:");
    for r in cited_requirements(c) {
        match registry.get(&r) {
            Some(req) => {
                let _ = writeln!(
                    out,
                    "  {r} ({}, {}): {}",
                    req.level.keyword(),
                    req.testability.as_str(),
                    req.statement
                );
            }
            None => {
                let _ = writeln!(out, "  {r}: not in the registry");
            }
        }
    }
    let _ = writeln!(out, "\nSteps:");
    render_steps(&mut out, &c.steps, registry, 1);
    let _ = writeln!(
        out,
        "\nA step that fails stops the case: FAIL (or WARN for a SHOULD) when it names a requirement, \
         UNSUPPORTED when the driver cannot do it, ERROR otherwise."
    );
    out
}

fn render_steps(out: &mut String, steps: &[Step], registry: &Registry, depth: usize) {
    let pad = "  ".repeat(depth);
    for (i, s) in steps.iter().enumerate() {
        let meta = s.meta();
        let req = meta
            .requirement
            .map(|r| format!("  [{r}]"))
            .unwrap_or_default();
        let _ = writeln!(out, "{pad}{}. {}{req}", i + 1, render_step(s));
        if let Some(n) = meta.note {
            let _ = writeln!(out, "{pad}     note: {n}");
        }
        match s {
            Step::Check(Check::OneOf(c)) => {
                let _ = writeln!(out, "{pad}     allowed outcomes, first match wins:");
                for o in &c.options {
                    let checks: Vec<String> = o
                        .checks
                        .iter()
                        .map(|c| render_step(&Step::Check(c.clone())))
                        .collect();
                    let _ = writeln!(
                        out,
                        "{pad}       \"{}\" → {}{}: {}",
                        o.label,
                        o.verdict,
                        o.requirement
                            .as_deref()
                            .map(|r| format!(" [{r}]"))
                            .unwrap_or_default(),
                        checks.join(" AND ")
                    );
                }
                let _ = writeln!(
                    out,
                    "{pad}       none of them → {}",
                    level_outcome(registry, meta.requirement, meta.level)
                        .replace(" if it does not hold", "")
                );
            }
            Step::Action(Action::Repeat(r)) => render_steps(out, &r.steps, registry, depth + 2),
            Step::Check(c) if !matches!(c, Check::Measure(_)) => {
                let _ = writeln!(
                    out,
                    "{pad}     → {}",
                    level_outcome(registry, meta.requirement, meta.level)
                );
            }
            _ => {}
        }
    }
}
