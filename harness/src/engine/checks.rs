//! The assertion primitives (`check.*` steps), each implemented once.
//!
//! A check evaluates to [`Eval`]: whether it holds, what was expected and what was seen. The
//! engine turns a check that does not hold into FAIL, WARN or INFO by the level of its
//! requirement (MUST, SHOULD, MAY).

use super::analysis::{self, Sent};
use super::steps::{message_parts, unhex};
use super::{Ctx, lookup};
use crate::peer::CloseHow;
use crate::peer::{CloseKind, PeerEventKind};
use crate::scenario::Step;
use crate::verdict::{CheckResult, Measurement, Verdict};
use serde_json::Value;
use zmtp_driver_protocol::drain::{DrainAccumulator, DrainReport};
use zmtp_driver_protocol::messages::BurstReport;

/// The outcome of evaluating one check.
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

impl Ctx<'_> {
    /// Evaluates a check step and records its result.
    pub(crate) async fn run_check(&mut self, step: &Step) {
        let meta = step.meta();
        if let Step::Alive { on, .. } = step {
            // Reap the process if it has ended, so the check sees its status.
            if let Some(slot) = self.drivers.get_mut(on) {
                slot.process.is_running();
            }
        }
        if let Step::Measure { .. } = step {
            self.measure(step);
            return;
        }
        let (eval, outcome, verdict_override, req) = match step {
            Step::OneOf { options, .. } => self.one_of(step, options),
            _ => (
                self.eval(step),
                None,
                None,
                meta.requirement.map(str::to_string),
            ),
        };
        if let Some(m) = &eval.measured {
            self.measurements.push(m.clone());
        }
        let level = self.level_of(req.as_deref(), meta.level);
        let verdict = match (verdict_override, eval.holds) {
            (Some(v), _) => v,
            (None, true) => Verdict::Pass,
            (None, false) => Verdict::for_level(&level),
        };
        self.checks.push(CheckResult {
            step: self.step_index,
            check: step.kind().to_string(),
            label: meta.label.map(str::to_string),
            requirement_text: self.requirement_text(req.as_deref()),
            requirement: req,
            level,
            verdict,
            expected: eval.expected,
            actual: eval.actual,
            outcome,
        });
    }

    fn one_of(
        &self,
        step: &Step,
        options: &[crate::scenario::Alternative],
    ) -> (Eval, Option<String>, Option<Verdict>, Option<String>) {
        let mut seen = Vec::new();
        for alt in options {
            let evals: Vec<Eval> = alt.checks.iter().map(|c| self.eval(c)).collect();
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
            let req = alt
                .requirement
                .clone()
                .or_else(|| step.meta().requirement.map(str::to_string));
            return (
                Eval::new(verdict <= Verdict::Info, describe_options(options), actual),
                Some(alt.label.clone()),
                Some(verdict),
                req,
            );
        }
        (
            Eval::new(false, describe_options(options), seen.join(" | ")),
            None,
            None,
            step.meta().requirement.map(str::to_string),
        )
    }

    fn measure(&mut self, step: &Step) {
        let Step::Measure {
            name,
            from,
            to,
            var,
            path,
            unit,
            ..
        } = step
        else {
            return;
        };
        let value = match (from, to, var) {
            (Some(f), Some(t), _) => match (self.time_of(f), self.time_of(t)) {
                (Some(a), Some(b)) => Some((b as f64 - a as f64) / 1000.0),
                _ => None,
            },
            (_, _, Some(v)) => self
                .vars
                .get(v)
                .and_then(|v| lookup(v, path.as_deref().unwrap_or("")).or(Some(v)))
                .and_then(Value::as_f64),
            _ => None,
        };
        match value {
            Some(value) => self.measurements.push(Measurement {
                name: name.clone(),
                value,
                unit: unit.clone().unwrap_or_else(|| {
                    if from.is_some() {
                        "ms".into()
                    } else {
                        String::new()
                    }
                }),
            }),
            None => self.checks.push(CheckResult {
                step: self.step_index,
                check: step.kind().into(),
                label: Some(name.clone()),
                requirement: None,
                requirement_text: None,
                level: "INFO".into(),
                verdict: Verdict::Info,
                expected: format!("a value for {name}"),
                actual: "not measurable: an event or value is missing".into(),
                outcome: None,
            }),
        }
    }

    /// A drain report from a saved drain, or built from a raw peer's received messages.
    fn report(&self, drain: &Option<String>, peer: &Option<String>) -> Result<DrainReport, String> {
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

    fn scaled_ms(&self, ms: u64) -> f64 {
        ms as f64 * self.env.timeout_scale.max(1.0)
    }

    /// Evaluates one check (not `one-of`, not `measure`).
    pub(crate) fn eval(&self, step: &Step) -> Eval {
        match step {
            Step::InOrder { drain, peer, .. } => match self.report(drain, peer) {
                Ok(r) => Eval::from(
                    analysis::in_order(&r).map(|()| format!("{} messages in order", r.burst.count)),
                    "burst messages in increasing order, no duplicates",
                ),
                Err(e) => Eval::broken(e),
            },
            Step::NoPartial { drain, peer, .. } => match self.report(drain, peer) {
                Ok(r) => Eval::from(
                    analysis::no_partial(&r).map(|()| format!("{} whole messages", r.burst.count)),
                    "only whole multipart messages",
                ),
                Err(e) => Eval::broken(e),
            },
            Step::Count {
                drain,
                peer,
                min,
                max,
                topic,
                ..
            } => match self.report(drain, peer) {
                Ok(r) => {
                    let n = match topic {
                        Some(t) => r
                            .burst
                            .topics
                            .get(&hex::encode(t.as_bytes()))
                            .copied()
                            .unwrap_or(0),
                        None => r.burst.count,
                    };
                    let holds = min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
                    Eval::new(
                        holds,
                        format!(
                            "between {} and {} burst messages",
                            min.unwrap_or(0),
                            max.map(|m| m.to_string()).unwrap_or("∞".into())
                        ),
                        format!("{n}"),
                    )
                }
                Err(e) => Eval::broken(e),
            },
            Step::Suffix {
                drain, peer, burst, ..
            }
            | Step::NoneOf {
                drain, peer, burst, ..
            }
            | Step::AllOf {
                drain, peer, burst, ..
            } => {
                let (r, s) = match (self.report(drain, peer), self.sent(burst)) {
                    (Ok(r), Ok(s)) => (r, s),
                    (Err(e), _) | (_, Err(e)) => return Eval::broken(e),
                };
                let Some((lo, hi)) = s.accepted_range() else {
                    return Eval::broken(format!(
                        "burst `{burst}` accepted {} message(s) with {} refusal(s): no contiguous range",
                        s.report.accepted, s.report.would_block
                    ));
                };
                match step {
                    Step::Suffix { allow_empty, .. } => {
                        let result = analysis::suffix(&r, lo, hi, *allow_empty);
                        let dropped = result.as_ref().ok().copied();
                        let mut e = Eval::from(
                            result.map(|k| {
                                format!("first {k} dropped, then every later one delivered")
                            }),
                            format!("a dropped prefix of {lo}..={hi}, then every later message"),
                        );
                        e.measured = dropped.map(|k| Measurement {
                            name: format!(
                                "{burst}: messages dropped before the subscription took effect"
                            ),
                            value: k as f64,
                            unit: "messages".into(),
                        });
                        e
                    }
                    Step::NoneOf { .. } => Eval::from(
                        analysis::none_of(&r, lo, hi).map(|()| "none arrived".into()),
                        format!("none of {lo}..={hi}"),
                    ),
                    _ => Eval::from(
                        analysis::all_of(&r, lo, hi)
                            .map(|()| format!("all {} arrived once, in order", hi - lo + 1)),
                        format!("every accepted message {lo}..={hi} exactly once, in order"),
                    ),
                }
            }
            Step::NotBlocked { burst, max_ms, .. } => match self.sent(burst) {
                Ok(s) => {
                    let bound = self.scaled_ms(*max_ms);
                    let max = s.report.max_send_us as f64 / 1000.0;
                    let holds = s.report.accepted == s.count
                        && s.report.would_block == 0
                        && s.report.errors == 0
                        && max <= bound;
                    Eval::new(
                        holds,
                        format!(
                            "all {} sends accepted, none slower than {bound:.0} ms",
                            s.count
                        ),
                        format!(
                            "{} accepted, {} would-block, {} error(s), slowest send {max:.1} ms, stopped: {}",
                            s.report.accepted,
                            s.report.would_block,
                            s.report.errors,
                            s.report.stopped
                        ),
                    )
                }
                Err(e) => Eval::broken(e),
            },
            Step::Blocked { burst, .. } => match self.sent(burst) {
                Ok(s) => {
                    let holds = s.report.would_block > 0
                        || s.report.stopped == "timeout"
                        || s.report.accepted < s.count;
                    Eval::new(
                        holds,
                        "the sender to refuse (would-block) or stall before all were accepted",
                        format!(
                            "{} of {} accepted, {} would-block, stopped: {}",
                            s.report.accepted, s.count, s.report.would_block, s.report.stopped
                        ),
                    )
                }
                Err(e) => Eval::broken(e),
            },
            Step::NoPrefix {
                peer,
                prefix,
                prefix_hex,
                ..
            } => {
                let prefix = match prefix_hex {
                    Some(h) => match unhex("prefix_hex", h) {
                        Ok(p) => p,
                        Err(_) => return Eval::broken("bad prefix_hex"),
                    },
                    None => prefix.as_bytes().to_vec(),
                };
                match self.peer(peer) {
                    Ok(c) => c.with(|s| {
                        let total = s.messages().count();
                        let hits: Vec<_> = s
                            .messages()
                            .filter(|m| m.first().is_some_and(|f| f.starts_with(&prefix)))
                            .collect();
                        Eval::new(
                            hits.is_empty(),
                            format!(
                                "no message starting with {:?} on the wire",
                                String::from_utf8_lossy(&prefix)
                            ),
                            if hits.is_empty() {
                                format!("none among {total} message(s)")
                            } else {
                                format!(
                                    "{} of {total} did, first: {}",
                                    hits.len(),
                                    hits.first()
                                        .map(|m| m
                                            .iter()
                                            .map(hex::encode)
                                            .collect::<Vec<_>>()
                                            .join(" | "))
                                        .unwrap_or_default()
                                )
                            },
                        )
                    }),
                    Err(_) => Eval::broken(format!("no peer `{peer}`")),
                }
            }
            Step::Subscriptions {
                peer,
                topics,
                cancels,
                form,
                ..
            } => match self.peer(peer) {
                Ok(c) => c.with(|s| {
                    let events: Vec<(bool, String, String)> = s
                        .events
                        .iter()
                        .filter_map(|e| match &e.kind {
                            PeerEventKind::Subscription {
                                subscribe,
                                topic,
                                form,
                            } => Some((
                                *subscribe,
                                String::from_utf8_lossy(&hex::decode(topic).unwrap_or_default())
                                    .into_owned(),
                                form.clone(),
                            )),
                            _ => None,
                        })
                        .collect();
                    let subs: Vec<String> =
                        events.iter().filter(|e| e.0).map(|e| e.1.clone()).collect();
                    let cans: Vec<String> = events
                        .iter()
                        .filter(|e| !e.0)
                        .map(|e| e.1.clone())
                        .collect();
                    let (m1, x1) = analysis::multiset_diff(topics, &subs);
                    let (m2, x2) = analysis::multiset_diff(cancels, &cans);
                    // `negotiated`: commands if both sides announced 3.1 or later (SUBW-05).
                    let form = form.as_ref().map(|f| {
                        if f == "negotiated" {
                            let ours = c.settings().version().has_subscription_commands();
                            let theirs = s
                                .peer_version
                                .is_some_and(|v| v.has_subscription_commands());
                            if ours && theirs {
                                "command".to_string()
                            } else {
                                "message".to_string()
                            }
                        } else {
                            f.clone()
                        }
                    });
                    let wrong_form: Vec<_> = form
                        .as_ref()
                        .map(|f| events.iter().filter(|e| &e.2 != f).collect())
                        .unwrap_or_default();
                    let holds = m1.is_empty()
                        && x1.is_empty()
                        && m2.is_empty()
                        && x2.is_empty()
                        && wrong_form.is_empty();
                    Eval::new(
                        holds,
                        format!(
                            "subscriptions {topics:?}, cancellations {cancels:?}{}",
                            form.as_ref()
                                .map(|f| format!(", all as {f}s"))
                                .unwrap_or_default()
                        ),
                        format!(
                            "subscriptions {subs:?}, cancellations {cans:?}, forms {:?}",
                            events.iter().map(|e| e.2.as_str()).collect::<Vec<_>>()
                        ),
                    )
                }),
                Err(_) => Eval::broken(format!("no peer `{peer}`")),
            },
            Step::Closed {
                peer,
                within_ms,
                since,
                how: want_how,
                whole,
                ..
            } => match self.peer(peer) {
                Ok(c) => {
                    let start = since.as_ref().and_then(|m| self.time_of(m)).unwrap_or(0);
                    let mut wanted = String::from("the implementation closes the connection");
                    match want_how {
                        Some(CloseHow::Fin) => wanted += " with FIN",
                        Some(CloseHow::Rst) => wanted += " with RST",
                        None => {}
                    }
                    if *whole {
                        wanted += " between messages";
                    }
                    c.with(|s| match &s.closed {
                        Some((t, CloseKind::Local(how))) => Eval::new(
                            false,
                            wanted.clone(),
                            format!(
                                "still open when the harness closed it ({how:?}) at {:.1} ms",
                                *t as f64 / 1000.0
                            ),
                        ),
                        Some((t, how)) => {
                            let after = (*t as f64 - start as f64) / 1000.0;
                            let bound = within_ms.map(|w| self.scaled_ms(w));
                            let how_ok = match want_how {
                                Some(CloseHow::Fin) => *how == CloseKind::Eof,
                                Some(CloseHow::Rst) => *how == CloseKind::Reset,
                                None => true,
                            };
                            let whole_ok = !*whole || s.cut.is_none();
                            Eval::new(
                                bound.is_none_or(|b| after <= b) && how_ok && whole_ok,
                                format!(
                                    "{wanted}{}",
                                    bound
                                        .map(|b| format!(" within {b:.0} ms"))
                                        .unwrap_or_default()
                                ),
                                format!(
                                    "closed ({how:?}) after {after:.1} ms{}",
                                    s.cut
                                        .as_ref()
                                        .map(|c| format!(", cut {c}"))
                                        .unwrap_or_default()
                                ),
                            )
                        }
                        None => Eval::new(
                            false,
                            wanted.clone(),
                            format!(
                                "still open ({} events, {} octets received)",
                                s.events.len(),
                                s.transcript.received
                            ),
                        ),
                    })
                }
                Err(_) => Eval::broken(format!("no peer `{peer}`")),
            },
            Step::Open { peer, .. } => match self.peer(peer) {
                Ok(c) => c.with(|s| match &s.closed {
                    None => Eval::new(true, "the connection stays open", "open"),
                    Some((t, how)) => Eval::new(
                        false,
                        "the connection stays open",
                        format!("closed ({how:?}) at {:.1} ms", *t as f64 / 1000.0),
                    ),
                }),
                Err(_) => Eval::broken(format!("no peer `{peer}`")),
            },
            Step::Command {
                peer,
                name,
                present,
                data_hex,
                data_prefix_hex,
                data_len,
                data_min_len,
                data_offset,
                data_printable,
                data_counted,
                ..
            } => {
                let hex_arg = |h: &Option<String>| -> Result<Option<String>, String> {
                    h.as_deref()
                        .map(|h| self.interp(h).map(|h| h.to_ascii_lowercase()))
                        .transpose()
                        .map_err(|e| format!("{e:?}"))
                };
                let (want_data, want_prefix) = match (hex_arg(data_hex), hex_arg(data_prefix_hex)) {
                    (Ok(a), Ok(b)) => (a, b),
                    (Err(e), _) | (_, Err(e)) => return Eval::broken(e),
                };
                let constrained = want_data.is_some()
                    || *data_printable
                    || *data_counted
                    || want_prefix.is_some()
                    || data_len.is_some()
                    || data_min_len.is_some();
                let from = 2 * data_offset.unwrap_or(0);
                match self.peer(peer) {
                    Ok(c) => c.with(|s| {
                        // (name, data after the name as hex) of every command seen.
                        let seen: Vec<(String, Option<String>)> = s
                            .commands()
                            .into_iter()
                            .map(|(n, d)| (n, d.map(hex::encode)))
                            .collect();
                        let at = |d: &str| d.get(from..).unwrap_or_default().to_string();
                        let fits = |d: &Option<String>| {
                            want_data
                                .as_ref()
                                .is_none_or(|w| d.as_deref().map(at).as_deref() == Some(w.as_str()))
                                && want_prefix.as_ref().is_none_or(|w| {
                                    d.as_deref().is_some_and(|d| at(d).starts_with(w.as_str()))
                                })
                                && data_len
                                    .is_none_or(|l| d.as_ref().is_some_and(|d| d.len() == 2 * l))
                                && data_min_len
                                    .is_none_or(|l| d.as_ref().is_some_and(|d| d.len() >= 2 * l))
                                && (!*data_counted
                                    || d.as_deref().is_some_and(|d| {
                                        hex::decode(d).is_ok_and(|b| {
                                            b.first()
                                                .is_some_and(|&n| usize::from(n) + 1 == b.len())
                                        })
                                    }))
                                && (!*data_printable
                                    || d.as_deref().is_some_and(|d| {
                                        hex::decode(at(d)).is_ok_and(|b| {
                                            b.iter().all(|&o| (0x20..=0x7e).contains(&o))
                                        })
                                    }))
                        };
                        let found = seen.iter().any(|(n, d)| n == name && fits(d));
                        let shown: Vec<String> = seen
                            .iter()
                            .map(|(n, d)| match d {
                                Some(d) if constrained => {
                                    let cut = &d[..d.len().min(96)];
                                    let more = if d.len() > 96 { "…" } else { "" };
                                    format!("{n}({} octets: {cut}{more})", d.len() / 2)
                                }
                                _ => n.clone(),
                            })
                            .collect();
                        let mut want = String::new();
                        let whence = match data_offset {
                            Some(o) if *o > 0 => format!(" from octet {o}"),
                            _ => String::new(),
                        };
                        if let Some(d) = &want_data {
                            want += &format!(" with data{whence} {d}");
                        }
                        if let Some(p) = &want_prefix {
                            want += &format!(" with data{whence} starting {p}");
                        }
                        if let Some(l) = data_len {
                            want += &format!(" with {l} octets of data");
                        }
                        if let Some(l) = data_min_len {
                            want += &format!(" with at least {l} octets of data");
                        }
                        if *data_printable {
                            want += &format!(" with printable data{whence}");
                        }
                        if *data_counted {
                            want += " whose first data octet counts the rest exactly";
                        }
                        Eval::new(
                            found == *present,
                            format!(
                                "{} {name}{want}",
                                if *present { "a command" } else { "no command" }
                            ),
                            format!("commands seen: {shown:?}"),
                        )
                    }),
                    Err(_) => Eval::broken(format!("no peer `{peer}`")),
                }
            }
            Step::Violation { peer, present, .. } => match self.peer(peer) {
                Ok(c) => c.with(|s| {
                    let v = s.violation().map(|e| format!("{:?}", e.kind));
                    Eval::new(
                        v.is_some() == *present,
                        if *present {
                            "a protocol violation by the implementation"
                        } else {
                            "no protocol violation by the implementation"
                        },
                        v.unwrap_or_else(|| "none".into()),
                    )
                }),
                Err(_) => Eval::broken(format!("no peer `{peer}`")),
            },
            Step::Received {
                peer,
                parts,
                parts_hex,
                index,
                ..
            } => {
                let want = match self.check_parts(parts, parts_hex) {
                    Ok(w) => w,
                    Err(e) => return Eval::broken(e),
                };
                match self.peer(peer) {
                    Ok(c) => c.with(|s| {
                        let got = s
                            .messages()
                            .nth(*index)
                            .map(|m| m.iter().map(|b| b.to_vec()).collect::<Vec<_>>());
                        Eval::new(
                            got.as_ref() == Some(&want),
                            format!("message #{index} = {}", show(&want)),
                            got.map(|g| show(&g)).unwrap_or_else(|| {
                                format!("only {} message(s)", s.messages().count())
                            }),
                        )
                    }),
                    Err(_) => Eval::broken(format!("no peer `{peer}`")),
                }
            }
            Step::Result {
                var, is, is_not, ..
            } => match self.vars.get(var) {
                Some(v) => {
                    let r = v.get("result").and_then(Value::as_str).unwrap_or("?");
                    let holds = is.as_deref().is_none_or(|w| r == w)
                        && is_not.as_deref().is_none_or(|w| r != w);
                    let expected = match (is, is_not) {
                        (Some(w), _) => format!("result {w}"),
                        (None, Some(n)) => format!("a result other than {n}"),
                        (None, None) => "any result".into(),
                    };
                    Eval::new(
                        holds,
                        expected,
                        format!(
                            "result {r} {}",
                            v.get("message").and_then(Value::as_str).unwrap_or("")
                        ),
                    )
                }
                None => Eval::broken(format!("no saved `{var}`")),
            },
            Step::GreetingIs {
                peer,
                version,
                min_version,
                mechanism,
                as_server,
                ..
            } => match self.peer(peer) {
                Ok(c) => c.with(|s| {
                    let Some(g) = s.events.iter().find_map(|e| match &e.kind {
                        PeerEventKind::Greeting {
                            version,
                            mechanism,
                            as_server,
                            ..
                        } => Some((*version, mechanism.clone(), *as_server)),
                        _ => None,
                    }) else {
                        return Eval::new(
                            false,
                            "the implementation's greeting",
                            "no greeting received",
                        );
                    };
                    let holds = version.is_none_or(|v| g.0 == v)
                        && min_version.is_none_or(|v| g.0 >= v)
                        && mechanism.as_ref().is_none_or(|m| &g.1 == m)
                        && as_server.is_none_or(|a| g.2 == a);
                    let mut want = Vec::new();
                    if let Some(v) = version {
                        want.push(format!("version {}.{}", v[0], v[1]));
                    }
                    if let Some(v) = min_version {
                        want.push(format!("version ≥ {}.{}", v[0], v[1]));
                    }
                    if let Some(m) = mechanism {
                        want.push(format!("mechanism {m}"));
                    }
                    if let Some(a) = as_server {
                        want.push(format!("as-server {a}"));
                    }
                    Eval::new(
                        holds,
                        format!("a greeting with {}", want.join(", ")),
                        format!(
                            "version {}.{}, mechanism {}, as-server {}",
                            g.0[0], g.0[1], g.1, g.2
                        ),
                    )
                }),
                Err(_) => Eval::broken(format!("no peer `{peer}`")),
            },
            Step::Curve {
                peer,
                property,
                min_messages,
                ..
            } => match self.peer(peer) {
                Ok(c) => c.with(|s| curve_check(s, property, *min_messages)),
                Err(_) => Eval::broken(format!("no peer `{peer}`")),
            },
            Step::ReadyProperty {
                peer,
                name,
                value,
                absent,
                any_case,
                prefix,
                ..
            } => match self.peer(peer) {
                Ok(c) => c.with(|s| {
                    let Some(props) = s.ready_properties() else {
                        return Eval::new(false, "the implementation's READY", "no READY received");
                    };
                    let found = props.iter().find(|(n, _)| {
                        let (n, name) = if *any_case {
                            (n.to_ascii_lowercase(), name.to_ascii_lowercase())
                        } else {
                            (n.clone(), name.clone())
                        };
                        if *prefix {
                            n.starts_with(&name)
                        } else {
                            n == name
                        }
                    });
                    let holds = match (found, absent) {
                        (Some(_), true) => false,
                        (None, true) => true,
                        (None, false) => false,
                        (Some((_, v)), false) => value.as_ref().is_none_or(|w| v == w),
                    };
                    Eval::new(
                        holds,
                        if *absent {
                            format!("no property {name}")
                        } else {
                            format!(
                                "property {name}{}",
                                value
                                    .as_ref()
                                    .map(|v| format!(" = {v:?}"))
                                    .unwrap_or_default()
                            )
                        },
                        format!("properties {props:?}"),
                    )
                }),
                Err(_) => Eval::broken(format!("no peer `{peer}`")),
            },
            Step::Octets {
                peer,
                offset,
                prefix_hex,
                contains_hex,
                equals_hex,
                absent_hex,
                ..
            } => {
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
                let (prefix, contains, equals, absent) = match (
                    want(prefix_hex),
                    want(contains_hex),
                    want(equals_hex),
                    want(absent_hex),
                ) {
                    (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
                    (Err(e), _, _, _)
                    | (_, Err(e), _, _)
                    | (_, _, Err(e), _)
                    | (_, _, _, Err(e)) => {
                        return Eval::broken(e);
                    }
                };
                match self.peer(peer) {
                    Ok(c) => c.with(|s| {
                        let all = s.transcript.stream(crate::peer::Direction::In);
                        let got = all.get(*offset..).unwrap_or_default();
                        let holds = prefix.as_ref().is_none_or(|p| got.starts_with(p))
                            && contains.as_ref().is_none_or(|p| {
                                !p.is_empty() && got.windows(p.len()).any(|w| w == &p[..])
                            })
                            && equals.as_ref().is_none_or(|p| got == &p[..])
                            && absent.as_ref().is_none_or(|p| {
                                p.is_empty() || !got.windows(p.len()).any(|w| w == &p[..])
                            });
                        let mut expected = format!("received octets from {offset}");
                        if let Some(p) = &prefix {
                            expected += &format!(" starting {}", hex::encode(p));
                        }
                        if let Some(p) = &contains {
                            expected += &format!(" containing {}", hex::encode(p));
                        }
                        if let Some(p) = &equals {
                            expected += &format!(" equal to {}", hex::encode(p));
                        }
                        if let Some(p) = &absent {
                            expected += &format!(" never containing {}", hex::encode(p));
                        }
                        let shown = &got[..got.len().min(96)];
                        Eval::new(
                            holds,
                            expected,
                            format!(
                                "{} octets: {}{}",
                                got.len(),
                                hex::encode(shown),
                                if got.len() > 96 { "…" } else { "" }
                            ),
                        )
                    }),
                    Err(_) => Eval::broken(format!("no peer `{peer}`")),
                }
            }
            Step::Field {
                var,
                path,
                equals,
                min,
                max,
                max_var,
                slack,
                ..
            } => match self.vars.get(var).map(|v| lookup(v, path)) {
                Some(Some(v)) => {
                    let bound = match max_var {
                        Some(other) => {
                            let (name, sub) = other.split_once('.').unwrap_or((other, ""));
                            match self
                                .vars
                                .get(name)
                                .and_then(|x| lookup(x, sub))
                                .and_then(Value::as_f64)
                            {
                                Some(b) => Some((other, b + slack)),
                                None => return Eval::broken(format!("no saved number `{other}`")),
                            }
                        }
                        None => None,
                    };
                    let mut holds = true;
                    if let Some((_, b)) = bound {
                        holds &= v.as_f64().is_some_and(|x| x <= b);
                    }
                    if let Some(e) = equals {
                        let want = serde_json::to_value(e).unwrap_or(Value::Null);
                        holds &= *v == want || v.as_f64().is_some() && v.as_f64() == want.as_f64();
                    }
                    if let Some(m) = min {
                        holds &= v.as_f64().is_some_and(|x| x >= *m);
                    }
                    if let Some(m) = max {
                        holds &= v.as_f64().is_some_and(|x| x <= *m);
                    }
                    let name = if path.is_empty() {
                        var.clone()
                    } else {
                        format!("{var}.{path}")
                    };
                    Eval::new(
                        holds,
                        format!(
                            "{name}{}{}{}{}",
                            equals
                                .as_ref()
                                .map(|e| format!(" = {e}"))
                                .unwrap_or_default(),
                            min.map(|m| format!(" ≥ {m}")).unwrap_or_default(),
                            max.map(|m| format!(" ≤ {m}")).unwrap_or_default(),
                            bound
                                .map(|(o, b)| format!(" ≤ {o} + {slack} = {b}"))
                                .unwrap_or_default()
                        ),
                        v.to_string(),
                    )
                }
                Some(None) => Eval::broken(format!("no `{path}` in `{var}`")),
                None => Eval::broken(format!("no saved `{var}`")),
            },
            Step::Message {
                var,
                parts,
                parts_hex,
                ..
            } => {
                let want = match self.check_parts(parts, parts_hex) {
                    Ok(w) => w,
                    Err(e) => return Eval::broken(e),
                };
                match self.vars.get(var) {
                    Some(v) => {
                        let got: Option<Vec<Vec<u8>>> =
                            v.get("parts_hex").and_then(Value::as_array).map(|a| {
                                a.iter()
                                    .filter_map(|p| hex::decode(p.as_str()?).ok())
                                    .collect()
                            });
                        Eval::new(
                            got.as_ref() == Some(&want),
                            format!("the message {}", show(&want)),
                            match got {
                                Some(g) => show(&g),
                                None => format!(
                                    "result {}",
                                    v.get("result").and_then(Value::as_str).unwrap_or("?")
                                ),
                            },
                        )
                    }
                    None => Eval::broken(format!("no saved `{var}`")),
                }
            }
            Step::Alive { on, .. } => {
                // `is_running` needs &mut; read the recorded status instead.
                let alive = self
                    .drivers
                    .get(on)
                    .map(|s| s.process.exit_status().is_none());
                Eval::new(
                    alive == Some(true),
                    "the implementation's process is alive",
                    match alive {
                        Some(true) => "alive".to_string(),
                        Some(false) => format!(
                            "it exited: {}",
                            self.drivers
                                .get(on)
                                .and_then(|s| s.process.exit_status())
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| "status unknown".into())
                        ),
                        None => "never started".to_string(),
                    },
                )
            }
            Step::Exited {
                var,
                code,
                within_ms,
                ..
            } => match self.vars.get(var) {
                Some(v) => {
                    let c = v.get("code").and_then(Value::as_i64);
                    let ms = v
                        .get("elapsed_ms")
                        .and_then(Value::as_f64)
                        .unwrap_or(f64::MAX);
                    let bound = within_ms.map(|w| self.scaled_ms(w));
                    let holds = code.is_none_or(|want| c == Some(i64::from(want)))
                        && bound.is_none_or(|b| ms <= b);
                    Eval::new(
                        holds,
                        format!(
                            "exit{}{}",
                            code.map(|c| format!(" with code {c}")).unwrap_or_default(),
                            bound
                                .map(|b| format!(" within {b:.0} ms"))
                                .unwrap_or_default()
                        ),
                        format!(
                            "code {:?}, signal {}, after {ms:.1} ms",
                            c,
                            v.get("signal").unwrap_or(&Value::Null)
                        ),
                    )
                }
                None => Eval::broken(format!("no saved `{var}`")),
            },
            Step::Elapsed {
                from,
                to,
                min_ms,
                max_ms,
                ..
            } => match (self.time_of(from), self.time_of(to)) {
                (Some(a), Some(b)) => {
                    let d = (b as f64 - a as f64) / 1000.0;
                    let max = max_ms.map(|m| m * self.env.timeout_scale.max(1.0));
                    let holds = min_ms.is_none_or(|m| d >= m) && max.is_none_or(|m| d <= m);
                    Eval::new(
                        holds,
                        format!(
                            "{from} → {to}{}{}",
                            min_ms.map(|m| format!(" ≥ {m} ms")).unwrap_or_default(),
                            max.map(|m| format!(" ≤ {m:.0} ms")).unwrap_or_default()
                        ),
                        format!("{d:.1} ms"),
                    )
                }
                (a, _) => Eval::broken(format!(
                    "{} did not happen",
                    if a.is_none() { from } else { to }
                )),
            },
            other => Eval::broken(format!("{} is not a check", other.kind())),
        }
    }
}

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

fn describe_options(options: &[crate::scenario::Alternative]) -> String {
    options
        .iter()
        .map(|a| format!("\"{}\" ({})", a.label, a.verdict))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// One CURVE command seen on a connection: its name, its data (after the name), and how many
/// frames carried it (a MESSAGE box in a multipart message would show more than one).
struct CurveItem {
    name: String,
    data: Vec<u8>,
    frames: usize,
}

fn curve_items(s: &crate::peer::PeerSnapshot) -> Vec<CurveItem> {
    let split = |body: &[u8]| -> Option<(String, Vec<u8>)> {
        let (&len, rest) = body.split_first()?;
        let (name, data) = rest.split_at_checked(usize::from(len))?;
        Some((String::from_utf8_lossy(name).into_owned(), data.to_vec()))
    };
    s.events
        .iter()
        .filter_map(|e| match &e.kind {
            PeerEventKind::Handshake { body, .. }
            | PeerEventKind::Ready { body, .. }
            | PeerEventKind::Command { body, .. } => {
                let (name, data) = split(&hex::decode(body).ok()?)?;
                Some(CurveItem {
                    name,
                    data,
                    frames: 1,
                })
            }
            // Deployed implementations send MESSAGE in frames without the COMMAND bit.
            PeerEventKind::Message { parts } => {
                let first = parts.first()?;
                let (name, data) = split(first)?;
                (name == "MESSAGE").then_some(CurveItem {
                    name,
                    data,
                    frames: parts.len(),
                })
            }
            _ => None,
        })
        .collect()
}

/// The CURVE properties `check.curve` can judge.
fn curve_check(s: &crate::peer::PeerSnapshot, property: &str, min_messages: usize) -> Eval {
    let items = curve_items(s);
    let messages: Vec<&CurveItem> = items.iter().filter(|i| i.name == "MESSAGE").collect();
    if messages.len() < min_messages {
        return Eval::new(
            false,
            format!("at least {min_messages} CURVE MESSAGE(s)"),
            format!(
                "{} MESSAGE(s) among {} CURVE commands",
                messages.len(),
                items.len()
            ),
        );
    }
    match property {
        "nonces" => {
            // The short nonce of each command, where its layout has one.
            let nonces: Vec<(String, u64)> = items
                .iter()
                .filter_map(|i| {
                    let at = match i.name.as_str() {
                        "HELLO" => 2 + 72 + 32,
                        "INITIATE" => 96,
                        "READY" | "MESSAGE" => 0,
                        _ => return None,
                    };
                    let n = i.data.get(at..at + 8)?;
                    Some((i.name.clone(), u64::from_be_bytes(n.try_into().ok()?)))
                })
                .collect();
            let bad = nonces.windows(2).find(|w| w[1].1 <= w[0].1);
            Eval::new(
                bad.is_none(),
                "short nonces that strictly increase, command after command",
                match bad {
                    None => format!(
                        "{} nonces, increasing: {:?}",
                        nonces.len(),
                        nonces.iter().map(|n| n.1).take(12).collect::<Vec<_>>()
                    ),
                    Some(w) => format!(
                        "{} nonce {} followed by {} nonce {}",
                        w[0].0, w[0].1, w[1].0, w[1].1
                    ),
                },
            )
        }
        "single-frame" => {
            let bad = messages.iter().filter(|m| m.frames != 1).count();
            Eval::new(
                bad == 0,
                "every MESSAGE in a single frame with MORE clear",
                format!(
                    "{bad} of {} MESSAGE(s) spread over several frames",
                    messages.len()
                ),
            )
        }
        "sizes" => {
            // Body = 1 + 7 (name) + data; at least 33 octets.
            let bad: Vec<usize> = messages
                .iter()
                .map(|m| 8 + m.data.len())
                .filter(|&n| n < 33)
                .collect();
            Eval::new(
                bad.is_empty(),
                "every MESSAGE body at least 33 octets",
                if bad.is_empty() {
                    format!(
                        "{} MESSAGE(s), smallest {} octets",
                        messages.len(),
                        messages.iter().map(|m| 8 + m.data.len()).min().unwrap_or(0)
                    )
                } else {
                    format!("bodies of {bad:?} octets")
                },
            )
        }
        other => Eval::broken(format!("unknown CURVE property {other:?}")),
    }
}
