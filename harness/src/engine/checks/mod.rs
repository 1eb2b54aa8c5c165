//! The assertion primitives (`check.*`), each a named pure function over a snapshot: a
//! raw-peer connection's record ([`crate::peer::PeerSnapshot`]), a drain report, a burst
//! report, a saved driver reply, or times. This module only looks the snapshot up.
//!
//! A check evaluates to [`Eval`]: whether it holds, what was expected and what was seen. The
//! engine turns a check that does not hold into FAIL, WARN or INFO by the level of its
//! requirement (MUST, SHOULD, MAY).

mod burst;
mod driver;
mod timing;
mod wire;

use super::analysis::Sent;
use super::steps::{message_parts, unhex};
use super::{Ctx, lookup};
use crate::peer::PeerSnapshot;
use crate::scenario::{Alternative, Check, check};
use crate::verdict::{CheckResult, Measurement, Verdict};
use serde_json::Value;
use zmtp_driver_protocol::drain::{DrainAccumulator, DrainReport};
use zmtp_driver_protocol::messages::BurstReport;

/// The outcome of evaluating one check.
#[derive(Debug)]
pub(crate) struct Eval {
    pub holds: bool,
    pub expected: String,
    pub actual: String,
    /// A number the check measured on the way (reported as INFO).
    pub measured: Option<Measurement>,
}

impl Eval {
    fn new(holds: bool, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Eval {
            holds,
            expected: expected.into(),
            actual: actual.into(),
            measured: None,
        }
    }

    fn from(result: Result<String, String>, expected: impl Into<String>) -> Self {
        match result {
            Ok(actual) => Eval::new(true, expected, actual),
            Err(actual) => Eval::new(false, expected, actual),
        }
    }

    /// The check could not be evaluated (missing data): it does not hold.
    fn broken(why: impl Into<String>) -> Self {
        Eval::new(false, "data to evaluate the check", why)
    }
}

/// What `check.one-of` decided: the evaluation, the outcome that held (if one did), the
/// verdict that outcome forces, and the requirement it concerns.
pub(crate) struct Decision {
    pub eval: Eval,
    pub outcome: Option<String>,
    pub verdict: Option<Verdict>,
    pub requirement: Option<String>,
}

/// The first alternative whose checks all hold decides; `eval` evaluates one check.
pub(crate) fn one_of(
    requirement: Option<&str>,
    options: &[Alternative],
    eval: impl Fn(&Check) -> Eval,
) -> Decision {
    let mut seen = Vec::new();
    for alt in options {
        let evals: Vec<Eval> = alt.checks.iter().map(&eval).collect();
        if let Some(bad) = evals.iter().find(|e| !e.holds) {
            seen.push(format!("not \"{}\": {}", alt.label, bad.actual));
            continue;
        }
        let verdict = Verdict::parse(&alt.verdict).unwrap_or(Verdict::Pass);
        let actual = evals
            .iter()
            .map(|e| e.actual.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Decision {
            eval: Eval::new(verdict <= Verdict::Info, describe_options(options), actual),
            outcome: Some(alt.label.clone()),
            verdict: Some(verdict),
            requirement: alt
                .requirement
                .clone()
                .or_else(|| requirement.map(str::to_string)),
        };
    }
    Decision {
        eval: Eval::new(false, describe_options(options), seen.join(" | ")),
        outcome: None,
        verdict: None,
        requirement: requirement.map(str::to_string),
    }
}

fn describe_options(options: &[Alternative]) -> String {
    options
        .iter()
        .map(|a| format!("\"{}\" ({})", a.label, a.verdict))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Frames as text where printable, else hex.
fn show(parts: &[Vec<u8>]) -> String {
    let shown: Vec<String> = parts
        .iter()
        .map(|p| {
            if p.iter().all(|b| (0x20..0x7F).contains(b)) {
                format!("{:?}", String::from_utf8_lossy(p))
            } else {
                format!("0x{}", hex::encode(p))
            }
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

impl Ctx<'_> {
    /// Evaluates a check step and records its result.
    pub(crate) async fn run_check(&mut self, check: &Check) {
        let meta = check.meta();
        if let Check::Alive(c) = check {
            // Reap the process if it has ended, so the check sees its status.
            if let Some(slot) = self.drivers.get_mut(&c.on) {
                slot.process.is_running();
            }
        }
        let decision = match check {
            Check::Measure(m) => return self.measure(m),
            Check::OneOf(c) => one_of(meta.requirement, &c.options, |c| self.eval(c)),
            _ => Decision {
                eval: self.eval(check),
                outcome: None,
                verdict: None,
                requirement: meta.requirement.map(str::to_string),
            },
        };
        let Decision {
            eval,
            outcome,
            verdict,
            requirement,
        } = decision;
        if let Some(m) = &eval.measured {
            self.measurements.push(m.clone());
        }
        let level = self.level_of(requirement.as_deref(), meta.level);
        let verdict = match (verdict, eval.holds) {
            (Some(v), _) => v,
            (None, true) => Verdict::Pass,
            (None, false) => Verdict::for_level(&level),
        };
        self.checks.push(CheckResult {
            step: self.step_index,
            check: check.kind().to_string(),
            label: meta.label.map(str::to_string),
            requirement_text: self.requirement_text(requirement.as_deref()),
            requirement,
            level,
            verdict,
            expected: eval.expected,
            actual: eval.actual,
            outcome,
        });
    }

    /// `check.measure`: records a measurement, or an INFO that it could not be taken.
    fn measure(&mut self, m: &check::Measure) {
        let value = match (&m.from, &m.to, &m.var) {
            (Some(f), Some(t), _) => timing::interval_ms(self.time_of(f), self.time_of(t)),
            (_, _, Some(v)) => self
                .vars
                .get(v)
                .and_then(|v| lookup(v, m.path.as_deref().unwrap_or("")).or(Some(v)))
                .and_then(Value::as_f64),
            _ => None,
        };
        match value {
            Some(value) => self.measurements.push(Measurement {
                name: m.name.clone(),
                value,
                unit: m.unit.clone().unwrap_or_else(|| {
                    if m.from.is_some() {
                        "ms".into()
                    } else {
                        String::new()
                    }
                }),
            }),
            None => self.checks.push(CheckResult {
                step: self.step_index,
                check: "check.measure".into(),
                label: Some(m.name.clone()),
                requirement: None,
                requirement_text: None,
                level: "INFO".into(),
                verdict: Verdict::Info,
                expected: format!("a value for {}", m.name),
                actual: "not measurable: an event or value is missing".into(),
                outcome: None,
            }),
        }
    }

    /// Evaluates one check (inside `one-of` too). Every check has its arm: a new one does not
    /// compile until it is dispatched here.
    pub(crate) fn eval(&self, check: &Check) -> Eval {
        let scale = self.env.timeout_scale.max(1.0);
        match check {
            Check::InOrder(c) => self.on_drain(&c.drain, &c.peer, burst::in_order),
            Check::NoPartial(c) => self.on_drain(&c.drain, &c.peer, burst::no_partial),
            Check::Count(c) => self.on_drain(&c.drain, &c.peer, |r| burst::count(c, r)),
            Check::Suffix(c) => {
                self.on_burst(&c.drain, &c.peer, &c.burst, |r, s| burst::suffix(c, r, s))
            }
            Check::NoneOf(c) => {
                self.on_burst(&c.drain, &c.peer, &c.burst, |r, s| burst::none_of(c, r, s))
            }
            Check::AllOf(c) => {
                self.on_burst(&c.drain, &c.peer, &c.burst, |r, s| burst::all_of(c, r, s))
            }
            Check::NotBlocked(c) => self.on_sent(&c.burst, |s| burst::not_blocked(c, s, scale)),
            Check::Blocked(c) => self.on_sent(&c.burst, burst::blocked),
            Check::AllTaken(c) => self.on_sent(&c.burst, burst::all_taken),
            Check::NoPrefix(c) => {
                let prefix = match &c.prefix_hex {
                    Some(h) => match unhex("prefix_hex", h) {
                        Ok(p) => p,
                        Err(_) => return Eval::broken("bad prefix_hex"),
                    },
                    None => c.prefix.as_bytes().to_vec(),
                };
                self.on_peer(&c.peer, |s| wire::no_prefix(&prefix, s))
            }
            Check::Subscriptions(c) => match self.peer(&c.peer) {
                Ok(conn) => {
                    let ours = conn.settings().version().has_subscription_commands();
                    conn.with(|s| wire::subscriptions(c, ours, s))
                }
                Err(_) => Eval::broken(format!("no peer `{}`", c.peer)),
            },
            Check::Closed(c) => {
                let start = c.since.as_ref().and_then(|m| self.time_of(m)).unwrap_or(0);
                self.on_peer(&c.peer, |s| wire::closed(c, start, scale, s))
            }
            Check::Open(c) => self.on_peer(&c.peer, wire::open),
            Check::Command(c) => match self.resolve_command(c) {
                Ok(c) => self.on_peer(&c.peer, |s| wire::command(&c, s)),
                Err(e) => Eval::broken(e),
            },
            Check::Violation(c) => self.on_peer(&c.peer, |s| wire::violation(c, s)),
            Check::Received(c) => match self.check_parts(&c.parts, &c.parts_hex) {
                Ok(want) => self.on_peer(&c.peer, |s| wire::received(&want, c.index, s)),
                Err(e) => Eval::broken(e),
            },
            Check::GreetingIs(c) => self.on_peer(&c.peer, |s| wire::greeting(c, s)),
            Check::Curve(c) => self.on_peer(&c.peer, |s| wire::curve(c, s)),
            Check::ReadyProperty(c) => self.on_peer(&c.peer, |s| wire::ready_property(c, s)),
            Check::ReadyNamesDistinct(c) => self.on_peer(&c.peer, wire::ready_names_distinct),
            Check::Octets(c) => match self.octet_patterns(c) {
                Ok(p) => self.on_peer(&c.peer, |s| wire::octets(c.offset, &p, s)),
                Err(e) => Eval::broken(e),
            },
            Check::Result(c) => self.on_var(&c.var, |v| driver::result(c, v)),
            Check::Field(c) => self.field(c),
            Check::Message(c) => match self.check_parts(&c.parts, &c.parts_hex) {
                Ok(want) => self.on_var(&c.var, |v| driver::message(&want, v)),
                Err(e) => Eval::broken(e),
            },
            Check::Alive(c) => driver::alive(&self.process_state(c.on)),
            Check::Exited(c) => self.on_var(&c.var, |v| driver::exited(c, v, scale)),
            Check::Elapsed(c) => {
                let other = c
                    .longer_than
                    .as_ref()
                    .and_then(|l| timing::interval_ms(self.time_of(&l.from), self.time_of(&l.to)));
                timing::elapsed(c, self.time_of(&c.from), self.time_of(&c.to), scale, other)
            }
            Check::Measure(_) | Check::OneOf(_) => {
                Eval::broken(format!("{} is not a check", check.kind()))
            }
        }
    }

    /// A drain report from a saved drain, or built from a raw peer's received messages.
    fn drain_report(
        &self,
        drain: &Option<String>,
        peer: &Option<String>,
    ) -> Result<DrainReport, String> {
        match (drain, peer) {
            (Some(v), _) => {
                let v = self.vars.get(v).ok_or(format!("no saved drain `{v}`"))?;
                serde_json::from_value(v.clone()).map_err(|e| format!("not a drain report: {e}"))
            }
            (None, Some(p)) => {
                let conn = self.peer(p).map_err(|_| format!("no peer `{p}`"))?;
                Ok(conn.with(|s| {
                    let mut acc = DrainAccumulator::new(0, 16);
                    for m in s.messages() {
                        acc.push(m);
                    }
                    acc.finish("peer", 0)
                }))
            }
            (None, None) => Err("the check needs `drain` or `peer`".into()),
        }
    }

    /// A saved burst: what was asked and the driver's report.
    fn sent(&self, burst: &str) -> Result<Sent, String> {
        let v = self
            .vars
            .get(burst)
            .ok_or(format!("no saved burst `{burst}`"))?;
        let report: BurstReport = v
            .get("report")
            .cloned()
            .map(serde_json::from_value)
            .ok_or("no report in the burst")?
            .map_err(|e| format!("not a burst report: {e}"))?;
        Ok(Sent {
            first_seq: v.get("first_seq").and_then(Value::as_u64).unwrap_or(0),
            count: v.get("count").and_then(Value::as_u64).unwrap_or(0),
            contiguous: v.get("contiguous").and_then(Value::as_bool).unwrap_or(true),
            report,
        })
    }

    fn on_drain(
        &self,
        drain: &Option<String>,
        peer: &Option<String>,
        f: impl FnOnce(&DrainReport) -> Eval,
    ) -> Eval {
        self.drain_report(drain, peer)
            .map_or_else(Eval::broken, |r| f(&r))
    }

    fn on_sent(&self, burst: &str, f: impl FnOnce(&Sent) -> Eval) -> Eval {
        self.sent(burst).map_or_else(Eval::broken, |s| f(&s))
    }

    fn on_burst(
        &self,
        drain: &Option<String>,
        peer: &Option<String>,
        burst: &str,
        f: impl FnOnce(&DrainReport, &Sent) -> Eval,
    ) -> Eval {
        match (self.drain_report(drain, peer), self.sent(burst)) {
            (Ok(r), Ok(s)) => f(&r, &s),
            (Err(e), _) | (_, Err(e)) => Eval::broken(e),
        }
    }

    fn on_peer(&self, name: &str, f: impl FnOnce(&PeerSnapshot) -> Eval) -> Eval {
        match self.peer(name) {
            Ok(conn) => conn.with(f),
            Err(_) => Eval::broken(format!("no peer `{name}`")),
        }
    }

    fn on_var(&self, name: &str, f: impl FnOnce(&Value) -> Eval) -> Eval {
        match self.vars.get(name) {
            Some(v) => f(v),
            None => Eval::broken(format!("no saved `{name}`")),
        }
    }

    /// `check.field`: the value and the `max_var` bound looked up, then judged.
    fn field(&self, c: &check::Field) -> Eval {
        let v = match self.vars.get(&c.var).map(|v| lookup(v, &c.path)) {
            Some(Some(v)) => v,
            Some(None) => return Eval::broken(format!("no `{}` in `{}`", c.path, c.var)),
            None => return Eval::broken(format!("no saved `{}`", c.var)),
        };
        let bound = match &c.max_var {
            Some(other) => {
                let (name, sub) = other.split_once('.').unwrap_or((other, ""));
                match self
                    .vars
                    .get(name)
                    .and_then(|x| lookup(x, sub))
                    .and_then(Value::as_f64)
                {
                    Some(b) => Some((other.as_str(), b + c.slack)),
                    None => return Eval::broken(format!("no saved number `{other}`")),
                }
            }
            None => None,
        };
        let other = match &c.differs_from {
            Some(other) => match self.saved_path(other) {
                Some(o) => Some((other.as_str(), o)),
                None => return Eval::broken(format!("no saved `{other}`")),
            },
            None => None,
        };
        driver::field(c, v, bound, other)
    }

    /// A saved value by `var.path` (the path may be empty).
    fn saved_path(&self, name_path: &str) -> Option<&Value> {
        let (name, sub) = name_path.split_once('.').unwrap_or((name_path, ""));
        self.vars.get(name).and_then(|x| lookup(x, sub))
    }

    fn process_state(&self, on: crate::scenario::Role) -> driver::ProcessState {
        // `is_running` needs &mut; read the recorded status instead.
        match self.drivers.get(&on).map(|s| s.process.exit_status()) {
            None => driver::ProcessState::NeverStarted,
            Some(None) => driver::ProcessState::Running,
            Some(Some(status)) => driver::ProcessState::Exited(status.to_string()),
        }
    }

    /// Expected frames of a check, with `${...}` replaced.
    fn check_parts(
        &self,
        parts: &Option<Vec<String>>,
        parts_hex: &Option<Vec<String>>,
    ) -> Result<Vec<Vec<u8>>, String> {
        let interp_all = |v: &Option<Vec<String>>| -> Result<Option<Vec<String>>, String> {
            v.as_ref()
                .map(|v| {
                    v.iter()
                        .map(|p| self.interp(p).map_err(|e| format!("{e:?}")))
                        .collect()
                })
                .transpose()
        };
        message_parts(&interp_all(parts)?, &interp_all(parts_hex)?).map_err(|e| format!("{e:?}"))
    }

    /// `check.command` with `${...}` replaced in its hex arguments (lower-cased).
    fn resolve_command(&self, c: &check::Command) -> Result<check::Command, String> {
        let hex_arg = |h: &Option<String>| -> Result<Option<String>, String> {
            h.as_deref()
                .map(|h| self.interp(h).map(|h| h.to_ascii_lowercase()))
                .transpose()
                .map_err(|e| format!("{e:?}"))
        };
        Ok(check::Command {
            data_hex: hex_arg(&c.data_hex)?,
            data_prefix_hex: hex_arg(&c.data_prefix_hex)?,
            ..c.clone()
        })
    }

    /// The hex patterns of `check.octets`, with `${...}` replaced, decoded.
    fn octet_patterns(&self, c: &check::Octets) -> Result<wire::OctetPatterns, String> {
        let want = |h: &Option<String>| -> Result<Option<Vec<u8>>, String> {
            h.as_deref()
                .map(|h| {
                    self.interp(h).map_err(|e| format!("{e:?}")).and_then(|h| {
                        hex::decode(h.split_whitespace().collect::<String>())
                            .map_err(|e| e.to_string())
                    })
                })
                .transpose()
        };
        Ok(wire::OctetPatterns {
            prefix: want(&c.prefix_hex)?,
            contains: want(&c.contains_hex)?,
            equals: want(&c.equals_hex)?,
            absent: want(&c.absent_hex)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::wire::tests::{message, snapshot};
    use super::*;
    use crate::peer::{CloseKind, PeerEventKind};

    /// The usual shape of a refusal: "ERROR then close" (PASS), "close without ERROR" (WARN),
    /// "still open" (a known-bad shape, FAIL).
    fn refusal() -> Vec<Alternative> {
        #[derive(serde::Deserialize)]
        struct Options {
            options: Vec<Alternative>,
        }
        let text = r#"
            [[options]]
            label = "ERROR then close"
            requirement = "ERR-03"
            checks = [{ do = "check.command", peer = "p", name = "ERROR" },
                      { do = "check.closed", peer = "p" }]
            [[options]]
            label = "close without ERROR"
            verdict = "WARN"
            checks = [{ do = "check.closed", peer = "p" }]
            [[options]]
            label = "still open"
            verdict = "FAIL"
            checks = [{ do = "check.open", peer = "p" }]
        "#;
        toml::from_str::<Options>(text).unwrap().options
    }

    /// Evaluates the wire checks the options use against one snapshot.
    fn decide(s: &PeerSnapshot) -> Decision {
        one_of(Some("FRAME-03"), &refusal(), |c| match c {
            Check::Command(c) => wire::command(c, s),
            Check::Closed(c) => wire::closed(c, 0, 1.0, s),
            Check::Open(_) => wire::open(s),
            other => Eval::broken(format!("{} not used here", other.kind())),
        })
    }

    fn closed(mut s: PeerSnapshot) -> PeerSnapshot {
        s.closed = Some((5_000, CloseKind::Eof));
        s
    }

    #[test]
    fn one_of_first_branch_passes_with_its_requirement() {
        let error = PeerEventKind::Error {
            reason: "bad".into(),
            body: hex::encode(b"\x05ERROR\x03bad"),
        };
        let d = decide(&closed(snapshot(vec![error], b"")));
        assert_eq!(d.outcome.as_deref(), Some("ERROR then close"));
        assert_eq!(d.verdict, Some(Verdict::Pass));
        assert_eq!(d.requirement.as_deref(), Some("ERR-03"));
        assert!(d.eval.holds);
    }

    #[test]
    fn one_of_second_branch_warns_with_the_step_requirement() {
        let d = decide(&closed(snapshot(vec![message(&[b"x"])], b"")));
        assert_eq!(d.outcome.as_deref(), Some("close without ERROR"));
        assert_eq!(d.verdict, Some(Verdict::Warn));
        assert_eq!(d.requirement.as_deref(), Some("FRAME-03"));
        assert!(!d.eval.holds);
    }

    #[test]
    fn one_of_known_bad_branch_fails() {
        let d = decide(&snapshot(vec![], b""));
        assert_eq!(d.outcome.as_deref(), Some("still open"));
        assert_eq!(d.verdict, Some(Verdict::Fail));
        assert!(!d.eval.holds);
    }

    #[test]
    fn one_of_with_no_branch_holding_says_why_each_did_not() {
        let options: Vec<Alternative> = refusal().into_iter().take(2).collect();
        let s = snapshot(vec![], b"");
        let d = one_of(None, &options, |c| match c {
            Check::Command(c) => wire::command(c, &s),
            Check::Closed(c) => wire::closed(c, 0, 1.0, &s),
            other => Eval::broken(other.kind()),
        });
        assert_eq!((d.outcome, d.verdict), (None, None));
        assert!(!d.eval.holds);
        assert!(d.eval.actual.starts_with("not \"ERROR then close\": "));
        assert!(d.eval.actual.contains(" | not \"close without ERROR\": "));
        assert_eq!(
            d.eval.expected,
            "\"ERROR then close\" (PASS) or \"close without ERROR\" (WARN)"
        );
    }
}
