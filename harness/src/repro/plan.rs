//! What a standalone reproducer replays and judges, taken from a case's recorded run: the
//! raw peer's connections (through [`replay_case`]'s model of the transcript), the
//! implementation's socket and how it meets the raw peer, and what the run found.

use super::ReproError;
use crate::replay_case::{self, Connection, Side, Socket};
use crate::scenario::{Action, Alternative, Case, Check, Step};
use crate::verdict::{CaseResult, CheckResult, Verdict};
use zmtp_driver_protocol::{OptionValue, option_kind, parse_option_value};

/// Checks that judge what the raw peer saw on its connection (the greeting, commands,
/// subscriptions, frames, the close): a failure of one of these shows on the wire, so a
/// script playing the raw peer can see it again.
const WIRE_CHECKS: &[&str] = &[
    "check.command",
    "check.closed",
    "check.open",
    "check.violation",
    "check.greeting",
    "check.subscriptions",
    "check.no-prefix",
    "check.ready-property",
    "check.octets",
    "check.field",
    "check.curve",
];

/// What the reproducer's reference answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The recorded run diverged (FAIL or WARN): the same answer again is the divergence
    /// reproduced.
    Divergence,
    /// The recorded run passed: its answer is the conforming one, the same answer again means
    /// nothing to reproduce.
    Conforming,
}

/// Everything the writers need.
#[derive(Debug, Clone)]
pub struct ReproPlan {
    /// Case id.
    pub case: String,
    /// Case title.
    pub title: String,
    /// The case's description.
    pub description: String,
    /// The verdict of the recorded run.
    pub verdict: Verdict,
    /// Divergence or conforming reference.
    pub mode: Mode,
    /// The implementation's socket (type, options as the driver protocol takes them).
    pub socket: Socket,
    /// The options decoded (integer, boolean, octets), in order.
    pub options: Vec<(String, OptionValue)>,
    /// How the implementation meets the raw peer.
    pub side: Side,
    /// The raw peer's connections to replay, in the order they opened.
    pub connections: Vec<Connection>,
    /// The checks that did not pass (FAIL or WARN).
    pub failed: Vec<CheckResult>,
    /// Whether messages the implementation sent are compared: only when the case's
    /// application sends nothing (the reproducer's app does not send).
    pub compare_messages: bool,
}

impl ReproPlan {
    /// Whether the raw peer listens (the implementation connects).
    pub fn peer_listens(&self) -> bool {
        matches!(self.side, Side::Connects(_))
    }
}

/// The implementation's socket that meets the raw peer, or why the case has none: checked
/// before the case is run.
pub fn raw_peer_side(case: &Case) -> Result<(Socket, Side), ReproError> {
    replay_case::iut_socket(case).map_err(|e| ReproError::NoRawPeer {
        case: case.id.clone(),
        why: e.to_string(),
    })
}

/// The plan for the recorded run `result` of `case`.
pub fn plan(result: &CaseResult, case: &Case) -> Result<ReproPlan, ReproError> {
    let mode = mode_of(result)?;
    let (socket, side) = raw_peer_side(case)?;
    let options = decoded_options(&socket)?;
    let connections = connections_of(result, &side);
    if connections.is_empty() {
        return Err(ReproError::NoOctets(result.id.clone()));
    }
    let failed: Vec<CheckResult> = result
        .checks
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Warn))
        .cloned()
        .collect();
    if mode == Mode::Divergence && !failed.iter().any(|c| on_the_wire(c, case)) {
        return Err(ReproError::NotOnTheWire {
            case: case.id.clone(),
            checks: failed.iter().map(check_name).collect::<Vec<_>>().join(", "),
        });
    }
    Ok(ReproPlan {
        case: result.id.clone(),
        title: result.title.clone(),
        description: case.description.clone(),
        verdict: result.verdict,
        mode,
        socket,
        options,
        side,
        connections,
        failed,
        compare_messages: !application_sends(&case.steps),
    })
}

/// Divergence for FAIL and WARN, conforming for PASS; any other verdict has nothing to show.
fn mode_of(result: &CaseResult) -> Result<Mode, ReproError> {
    match result.verdict {
        Verdict::Fail | Verdict::Warn => Ok(Mode::Divergence),
        Verdict::Pass => Ok(Mode::Conforming),
        v => Err(ReproError::Verdict {
            case: result.id.clone(),
            verdict: v.to_string(),
            reason: result.reason.clone().unwrap_or_default(),
        }),
    }
}

/// The socket's options as typed values.
fn decoded_options(socket: &Socket) -> Result<Vec<(String, OptionValue)>, ReproError> {
    socket
        .options
        .iter()
        .map(|(name, v)| {
            let kind = option_kind(name).ok_or_else(|| ReproError::Option {
                option: name.clone(),
                why: "not an option of the driver protocol".into(),
            })?;
            let value = parse_option_value(kind, v).map_err(|why| ReproError::Option {
                option: name.clone(),
                why,
            })?;
            Ok((name.clone(), value))
        })
        .collect()
}

/// The recorded raw-peer connections on the implementation's side: every connection the raw
/// peer opened when the implementation binds, those accepted on the listener it connects to
/// (`l#1`, `l#2` …) otherwise. Left out: proxied halves, and the `liveness` step's probes
/// (`liveness-N`, `engine/steps/composite.rs`), which need the application to answer.
///
/// A connection counts as closed by the implementation only when that happened before the
/// case's last step ended: the driver closing its sockets after the case is not an answer.
fn connections_of(result: &CaseResult, side: &Side) -> Vec<Connection> {
    let steps_end_ms = replay_case::steps_end_ms(result);
    let mut out: Vec<Connection> = result
        .peers
        .iter()
        .filter(|p| !p.name.ends_with(".client") && !p.name.ends_with(".server"))
        .filter(|p| !p.name.starts_with("liveness-"))
        .filter(|p| match side {
            Side::Binds => !p.name.contains('#'),
            Side::Connects(l) => p.name.starts_with(&format!("{l}#")),
        })
        .filter_map(|p| {
            let mut c = replay_case::connection_of(p)?;
            c.recorded.closed = replay_case::closed_during_case(p, steps_end_ms);
            Some(c)
        })
        .collect();
    out.sort_by_key(|c| c.opened_us);
    out
}

/// A check's name as reports print it (`check.violation`, `step (peer.wait)`).
pub fn check_name(c: &CheckResult) -> String {
    match &c.label {
        Some(l) if c.check == "step" => format!("step ({l})"),
        _ => c.check.clone(),
    }
}

/// Whether a failed check judged what the raw peer saw: a wire check, a raw-peer step
/// (`peer.wait`, `peer.handshake` …), or a `check.one-of` whose outcome is decided by one.
fn on_the_wire(c: &CheckResult, case: &Case) -> bool {
    if c.check == "step" {
        return c.label.as_deref().is_some_and(|l| l.starts_with("peer."));
    }
    if WIRE_CHECKS.contains(&c.check.as_str()) {
        return true;
    }
    c.check == "check.one-of"
        && c.outcome
            .as_deref()
            .and_then(|label| alternative(&case.steps, label))
            .is_some_and(|a| a.checks.iter().any(|k| WIRE_CHECKS.contains(&k.kind())))
}

/// The `check.one-of` alternative labelled `label`, anywhere in the steps.
fn alternative<'a>(steps: &'a [Step], label: &str) -> Option<&'a Alternative> {
    steps.iter().find_map(|s| match s {
        Step::Check(Check::OneOf(o)) => o.options.iter().find(|a| a.label == label),
        Step::Action(Action::Repeat(r)) => alternative(&r.steps, label),
        _ => None,
    })
}

/// Whether the case's application sends (then the messages on the wire are not compared:
/// the reproducer's application only receives).
fn application_sends(steps: &[Step]) -> bool {
    steps.iter().any(|s| match s {
        Step::Action(Action::Send(_) | Action::Burst(_) | Action::Liveness(_)) => true,
        Step::Action(Action::Repeat(r)) => application_sends(&r.steps),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    /// A built-in case (the scenarios are loaded once for every test here).
    fn case(id: &str) -> Case {
        static CASES: std::sync::OnceLock<Vec<crate::scenario::LoadedCase>> =
            std::sync::OnceLock::new();
        CASES
            .get_or_init(|| {
                let registry = Registry::bundled().expect("registry");
                crate::scenario::builtin(&registry).expect("cases")
            })
            .iter()
            .find(|c| c.case.id == id)
            .unwrap_or_else(|| panic!("no case {id}"))
            .case
            .clone()
    }

    #[test]
    fn the_side_is_where_the_implementation_meets_the_raw_peer() {
        let (s, side) = raw_peer_side(&case("commands/malformed/ping-no-ttl")).expect("side");
        assert_eq!((s.socket_type.as_str(), side), ("DEALER", Side::Binds));
        let (s, side) = raw_peer_side(&case("commands/error/after-ready")).expect("side");
        assert_eq!(s.socket_type, "DEALER");
        assert_eq!(side, Side::Connects("l".into()));
        assert_eq!(s.options.len(), 1, "{:?}", s.options);
        let e = raw_peer_side(&case("options/linger-per-socket")).expect_err("no raw peer");
        assert!(e.to_string().contains("has no raw peer"), "{e}");
    }

    #[test]
    fn application_sends_and_one_of_outcomes_are_found() {
        let c = case("commands/malformed/ping-no-ttl");
        assert!(application_sends(&c.steps));
        let a = alternative(&c.steps, "answered the malformed command with a PONG").expect("alt");
        assert!(a.checks.iter().any(|k| WIRE_CHECKS.contains(&k.kind())));
        assert!(!application_sends(
            &case("commands/sub-form/sub-long-topic-3.0-255").steps
        ));
    }
}
