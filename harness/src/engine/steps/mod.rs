//! Carrying out the actions of a case, one named function per `do` name, by family:
//! [`driver`] (the implementation through its driver), [`peer`] (the raw peer), [`net`] (the
//! network between them), [`control`] (the flow of the case) and [`composite`] (steps built from
//! several of the others).

mod composite;
mod control;
pub(crate) mod curve;
mod driver;
mod net;
mod peer;

use super::{Ctx, StepResult, Stop};
use crate::scenario::{Action, Step, Until};
mod proxy;
use crate::verdict::StepRecord;
use serde_json::Value;
use std::time::Instant;

/// Decodes hex given in a scenario.
pub(crate) fn unhex(what: &str, s: &str) -> Result<Vec<u8>, Stop> {
    let cleaned: String = s.split_whitespace().collect();
    hex::decode(&cleaned).map_err(|e| Stop::Error(format!("{what}: not hex: {e}")))
}

/// The frames of a message given as text or hex.
pub(crate) fn message_parts(
    parts: &Option<Vec<String>>,
    parts_hex: &Option<Vec<String>>,
) -> Result<Vec<Vec<u8>>, Stop> {
    match (parts, parts_hex) {
        (_, Some(h)) => h.iter().map(|p| unhex("parts_hex", p)).collect(),
        (Some(t), None) => Ok(t.iter().map(|p| p.as_bytes().to_vec()).collect()),
        (None, None) => Err(Stop::Error("a message needs `parts` or `parts_hex`".into())),
    }
}

/// `tcp://host:port` (or `host:port`) as a socket address.
fn endpoint_addr(ep: &str) -> Result<std::net::SocketAddr, Stop> {
    ep.strip_prefix("tcp://")
        .unwrap_or(ep)
        .parse()
        .map_err(|e| Stop::Error(format!("endpoint {ep:?}: {e}")))
}

impl std::fmt::Display for Until {
    /// The condition in words: "the implementation's READY and 3 messages".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.greeting {
            parts.push("the implementation's greeting".into());
        }
        if self.ready {
            parts.push("the implementation's READY".into());
        }
        if let Some(n) = self.messages {
            parts.push(format!("{n} message(s)"));
        }
        if let Some(n) = self.subscriptions {
            parts.push(format!("{n} subscription(s) or cancellation(s)"));
        }
        if let Some(t) = &self.subscription {
            parts.push(format!("a subscription to {t:?}"));
        }
        if let Some(c) = &self.command {
            parts.push(format!("a {c} command"));
        }
        if self.closed {
            parts.push("the connection closed".into());
        }
        if self.ended {
            parts.push("the connection ended (closed, ERROR or a protocol violation)".into());
        }
        if let Some(n) = self.received {
            parts.push(format!("{n} octet(s) received"));
        }
        if let Some(n) = self.burst_seq {
            parts.push(format!("burst message #{n}"));
        }
        if !self.any_of.is_empty() {
            let alts: Vec<String> = self.any_of.iter().map(|u| u.to_string()).collect();
            parts.push(format!("one of ({})", alts.join(" | ")));
        }
        if parts.is_empty() {
            parts.push("nothing".into());
        }
        f.write_str(&parts.join(" and "))
    }
}

impl Until {
    /// Whether the condition holds on a connection's recorded state.
    pub fn holds(&self, s: &crate::peer::PeerSnapshot) -> bool {
        use crate::peer::PeerEventKind as K;
        (!self.greeting || s.first(|k| matches!(k, K::Greeting { .. })).is_some())
            && (!self.ready || s.first(|k| matches!(k, K::Ready { .. })).is_some())
            && self.messages.is_none_or(|n| s.message_count >= n)
            && self
                .subscriptions
                .is_none_or(|n| s.subscriptions().len() >= n)
            && self.subscription.as_ref().is_none_or(|t| {
                s.subscriptions()
                    .iter()
                    .any(|(sub, topic)| *sub && topic == t.as_bytes())
            })
            && self
                .command
                .as_ref()
                .is_none_or(|c| s.commands().iter().any(|(name, _)| name == c))
            && (!self.closed || s.closed.is_some())
            && (!self.ended
                || s.closed.is_some()
                || s.error_reason().is_some()
                || s.violation().is_some())
            && self.received.is_none_or(|n| s.transcript.received >= n)
            && self.burst_seq.is_none_or(|seq| s.burst_seqs.contains(&seq))
            && (self.any_of.is_empty() || self.any_of.iter().any(|u| u.holds(s)))
    }
}

impl Ctx<'_> {
    /// The frames of a message, with `${...}` replaced in each.
    fn parts(
        &self,
        parts: &Option<Vec<String>>,
        parts_hex: &Option<Vec<String>>,
    ) -> Result<Vec<Vec<u8>>, Stop> {
        let interp_all = |v: &Option<Vec<String>>| -> Result<Option<Vec<String>>, Stop> {
            v.as_ref()
                .map(|v| v.iter().map(|p| self.interp(p)).collect())
                .transpose()
        };
        message_parts(&interp_all(parts)?, &interp_all(parts_hex)?)
    }

    /// Hex from a scenario, with `${...}` replaced first.
    fn hex(&self, what: &str, s: &str) -> Result<Vec<u8>, Stop> {
        unhex(what, &self.interp(s)?)
    }

    /// Saves a value under `name`, if the step names one.
    fn save(&mut self, name: &Option<String>, value: Value) {
        if let Some(name) = name {
            self.vars.insert(name.clone(), value);
        }
    }

    /// Runs steps in order, recording each.
    pub(crate) fn run_steps<'a>(
        &'a mut self,
        steps: &'a [Step],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = StepResult> + Send + 'a>> {
        Box::pin(async move {
            for step in steps {
                self.step_index += 1;
                let index = self.step_index;
                let at = self.clock.now_us();
                let began = Instant::now();
                let result = self.run_step(step).await;
                let outcome = match &result {
                    Ok(()) => "ok".to_string(),
                    Err(Stop::Failed {
                        expected, actual, ..
                    }) => format!("failed: expected {expected}; got {actual}"),
                    Err(Stop::Unsupported(m)) => format!("unsupported: {m}"),
                    Err(Stop::Error(m)) => format!("error: {m}"),
                };
                if !matches!(step, Step::Action(Action::Repeat(_))) || result.is_err() {
                    self.steps.push(StepRecord {
                        index,
                        kind: step.kind().to_string(),
                        at_ms: at as f64 / 1000.0,
                        took_ms: began.elapsed().as_secs_f64() * 1000.0,
                        outcome,
                    });
                }
                match result {
                    Err(_) if step.meta().optional => continue,
                    Err(e) => return Err(e),
                    Ok(()) => {}
                }
            }
            Ok(())
        })
    }

    /// A step did not get what it required: the implementation's failure when the step names
    /// a requirement, else a harness error.
    fn fail(
        &self,
        requirement: Option<&str>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Stop {
        match requirement {
            Some(r) => Stop::Failed {
                requirement: Some(r.to_string()),
                expected: expected.into(),
                actual: actual.into(),
            },
            None => Stop::Error(format!(
                "expected {}; got {}",
                expected.into(),
                actual.into()
            )),
        }
    }

    async fn run_step(&mut self, step: &Step) -> StepResult {
        match step {
            Step::Action(action) => self.act(action).await,
            Step::Check(check) => {
                self.run_check(check).await;
                Ok(())
            }
        }
    }

    /// Carries out one action. Every action has its arm: a new one does not compile until it
    /// is dispatched here.
    async fn act(&mut self, action: &Action) -> StepResult {
        match action {
            Action::Socket(s) => driver::socket(self, s).await,
            Action::Set(s) => driver::set(self, s).await,
            Action::Bind(s) => driver::bind(self, s).await,
            Action::Connect(s) => driver::connect(self, s).await,
            Action::Disconnect(s) => driver::disconnect(self, s).await,
            Action::Unbind(s) => driver::unbind(self, s).await,
            Action::Send(s) => driver::send(self, s).await,
            Action::Burst(s) => driver::burst(self, s).await,
            Action::Recv(s) => driver::recv(self, s).await,
            Action::Drain(s) => driver::drain(self, s).await,
            Action::Close(s) => driver::close(self, s).await,
            Action::Exit(s) => driver::exit(self, s).await,
            Action::Terminate(s) => driver::terminate(self, s).await,
            Action::Kill(s) => driver::kill(self, s).await,
            Action::WaitExit(s) => driver::wait_exit(self, s).await,
            Action::Restart(s) => driver::restart(self, s).await,
            Action::Op(s) => driver::op(self, s).await,
            Action::CountFds(s) => driver::count_fds(self, s).await,
            Action::WaitEvent(s) => driver::wait_event(self, s).await,
            Action::Listen(s) => peer::listen(self, s).await,
            Action::Proxy(s) => peer::proxy(self, s).await,
            Action::Unlisten(s) => peer::unlisten(self, s).await,
            Action::Accept(s) => peer::accept(self, s).await,
            Action::PeerConnect(s) => peer::connect(self, s).await,
            Action::ProxyStart(s) => proxy::start(self, s).await,
            Action::ProxyImpair(s) => proxy::impair(self, s),
            Action::ProxyHeal(s) => proxy::heal(self, s),
            Action::Greet(s) => peer::greet(self, s).await,
            Action::Handshake(s) => peer::handshake(self, s).await,
            Action::PeerSend(s) => peer::send(self, s).await,
            Action::PeerBurst(s) => peer::burst(self, s).await,
            Action::PeerSubscribe(s) => peer::subscribe(self, s).await,
            Action::PeerPing(s) => peer::ping(self, s).await,
            Action::PeerCommand(s) => peer::command(self, s).await,
            Action::PeerFrame(s) => peer::frame(self, s).await,
            Action::PeerRaw(s) => peer::raw(self, s).await,
            Action::StopReading(s) => peer::stop_reading(self, s),
            Action::ResumeReading(s) => peer::resume_reading(self, s),
            Action::PeerClose(s) => peer::close(self, s).await,
            Action::Wait(s) => peer::wait(self, s).await,
            Action::CurveHandshake(s) => curve::handshake(self, s).await,
            Action::CurveSend(s) => curve::send(self, s).await,
            Action::CurveRecv(s) => curve::recv(self, s).await,
            Action::SaveCommand(s) => peer::save_command(self, s),
            Action::NetCut(s) => net::cut(self, s),
            Action::NetHeal(s) => net::heal(self, s),
            Action::NetImpair(s) => net::impair(self, s),
            Action::Mark(s) => control::mark(self, s),
            Action::Pause(s) => control::pause(self, s).await,
            Action::Repeat(s) => control::repeat(self, s).await,
            Action::SyncPubSub(s) => composite::sync_pubsub(self, s).await,
            Action::Liveness(s) => composite::liveness(self, s).await,
        }
    }
}

impl From<crate::driver::DriverError> for Stop {
    fn from(e: crate::driver::DriverError) -> Self {
        Stop::Error(e.to_string())
    }
}
