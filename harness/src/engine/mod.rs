//! The scenario engine: runs one case's steps against driver processes and raw peers, and
//! turns its checks into verdicts.
//!
//! Every wait is bounded (scaled by `--timeout-scale`); every driver process is stopped and
//! reaped at the end of the case; a step that cannot be carried out stops the case with a
//! FAIL (the implementation's fault, when the step names a requirement), UNSUPPORTED (the
//! driver said so) or ERROR (the harness's or the driver's fault).

pub mod analysis;
mod checks;
mod retire;
mod steps;

use crate::driver::{DriverCommand, DriverError, DriverProcess};
use crate::peer::{Clock, PeerConn, PeerListener, PeerProxy};
use crate::registry::Registry;
use crate::scenario::{Case, Role};
use crate::verdict::{
    CaseResult, CheckResult, DriverRecord, Measurement, PeerRecord, StepRecord, Verdict,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run needs to execute cases.
#[derive(Debug, Clone)]
pub struct Env {
    /// The implementation for role `iut`.
    pub iut: DriverCommand,
    /// The implementation for role `iut2`.
    pub iut2: DriverCommand,
    /// Multiplies every wait and every upper time bound.
    pub timeout_scale: f64,
    /// The requirement registry (levels decide FAIL / WARN / INFO).
    pub registry: Arc<Registry>,
    /// Keep transcripts for every case, not only the ones that did not pass.
    pub keep_transcripts: bool,
    /// Where the implementations and the raw peer live (`--iut-host`, `--peer-host`).
    pub hosts: crate::netns::Hosts,
    /// Driver processes left in a clean state by a case, reused by the next (starting a Python
    /// driver costs ~150 ms a case). Cases that stop, kill or count the process get fresh ones.
    pub pool: DriverPool,
}

/// Idle driver processes by role, reused between cases.
#[derive(Default, Clone)]
pub struct DriverPool(Arc<tokio::sync::Mutex<BTreeMap<Role, DriverProcess>>>);

impl std::fmt::Debug for DriverPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DriverPool")
    }
}

impl DriverPool {
    async fn take(&self, role: Role) -> Option<DriverProcess> {
        let mut p = self.0.lock().await.remove(&role)?;
        p.is_running().then_some(p)
    }

    async fn put(&self, role: Role, process: DriverProcess) {
        let old = self.0.lock().await.insert(role, process);
        if let Some(mut old) = old {
            let _ = old.kill().await;
        }
    }

    /// Stops every idle process (bounded) and reaps it.
    pub async fn shutdown(&self) {
        let all: Vec<DriverProcess> = std::mem::take(&mut *self.0.lock().await)
            .into_values()
            .collect();
        for mut p in all {
            if p.request_exit().await.is_err()
                || matches!(p.wait_exit(Duration::from_secs(3)).await, Ok(None) | Err(_))
            {
                let _ = p.kill().await;
            }
        }
    }
}

impl Env {
    /// The same implementations and settings with a pool of driver processes of its own (one
    /// per `--jobs` worker, so concurrent cases never share a process).
    pub fn with_own_drivers(&self) -> Env {
        Env {
            pool: DriverPool::default(),
            ..self.clone()
        }
    }

    /// Scales a duration given in milliseconds.
    pub fn scaled(&self, ms: u64) -> Duration {
        Duration::from_secs_f64(ms as f64 / 1000.0 * self.timeout_scale.max(0.01))
    }

    fn command(&self, role: Role) -> &DriverCommand {
        match role {
            Role::Iut => &self.iut,
            Role::Iut2 => &self.iut2,
        }
    }
}

/// Why a case stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The implementation did not do what a step required.
    Failed {
        requirement: Option<String>,
        expected: String,
        actual: String,
    },
    /// The driver cannot do what the case needs.
    Unsupported(String),
    /// The harness or the driver failed.
    Error(String),
}

pub(crate) type StepResult = Result<(), Stop>;

struct DriverSlot {
    process: DriverProcess,
    /// When `exit`/`terminate` was requested, for `wait-exit` timing.
    stopping_since: Option<Instant>,
    /// Set when the harness killed or stopped it on purpose.
    expected_exit: bool,
    /// Transcript position when this case took the process (a reused one has history).
    transcript_from: u64,
}

/// Everything one case run holds.
pub(crate) struct Ctx<'e> {
    env: &'e Env,
    clock: Clock,
    started: Instant,
    /// `started` as Unix time in microseconds (the origin of transcript timestamps).
    started_unix_us: u64,
    drivers: BTreeMap<Role, DriverSlot>,
    /// Previous processes of a role (after `restart`), kept for the report.
    retired: Vec<(Role, DriverProcess)>,
    /// Records of processes handed back to the pool or stopped at teardown.
    retired_records: Vec<DriverRecord>,
    sockets: HashMap<String, (Role, String, String)>,
    listeners: HashMap<String, PeerListener>,
    proxies: HashMap<String, PeerProxy>,
    /// `<name>.client` of each accepted proxied connection → its proxy.
    proxy_names: HashMap<String, String>,
    /// Per listener or proxy: the highest connection number `peer.accept` has taken.
    accepted: HashMap<String, usize>,
    peers: BTreeMap<String, Arc<PeerConn>>,
    /// CURVE state of raw-peer connections (`peer.curve-handshake`), by peer name.
    curve: HashMap<String, steps::curve::CurveState>,
    vars: BTreeMap<String, Value>,
    marks: HashMap<String, u64>,
    checks: Vec<CheckResult>,
    measurements: Vec<Measurement>,
    steps: Vec<StepRecord>,
    step_index: usize,
    /// This case must not use (or leave) a reused process.
    fresh: bool,
    /// The case ran past its bound ([`case_bound`]): teardown kills instead of asking.
    overrun: bool,
    /// The case's own network namespace for the implementation (a case with `net.*` steps).
    net: Option<crate::netns::TestNet>,
    /// Driver processes found dead (or not answering) at the end of the case, which no step
    /// saw: the death happened in this case and is charged to it ([`death_in_case`]).
    deaths: Vec<String>,
    /// Roles whose process this case left unsafe to reuse, with the first reason
    /// ([`retire`]): retired at the end of the case, an abnormal end charged to it.
    unsafe_reuse: BTreeMap<Role, String>,
}

/// Whether a case changes the network (`net.cut`, `net.heal`, `net.impair`), so its
/// implementation runs in a namespace of its own.
fn uses_net(steps: &[crate::scenario::Step]) -> bool {
    use crate::scenario::{Action, Step};
    steps.iter().any(|s| match s {
        Step::Action(Action::NetCut(_) | Action::NetHeal(_) | Action::NetImpair(_)) => true,
        Step::Action(Action::Repeat(r)) => uses_net(&r.steps),
        _ => false,
    })
}

/// Whether a case needs processes of its own: it stops, kills or restarts one, or counts its
/// descriptors.
fn needs_fresh(steps: &[crate::scenario::Step]) -> bool {
    use crate::scenario::{Action, Step};
    steps.iter().any(|s| match s {
        Step::Action(a) => match a {
            Action::Exit(_)
            | Action::Terminate(_)
            | Action::Kill(_)
            | Action::WaitExit(_)
            | Action::Restart(_)
            | Action::CountFds(_) => true,
            // A driver op may leave state behind (a ZAP handler lives as long as its process).
            Action::Op(_) => true,
            Action::Burst(b) => b.terminate_after_ms.is_some(),
            Action::Drain(d) => d.terminate_after_ms.is_some(),
            Action::Repeat(r) => needs_fresh(&r.steps),
            _ => false,
        },
        Step::Check(_) => false,
    })
}

impl<'e> Ctx<'e> {
    fn new(env: &'e Env) -> Self {
        Ctx {
            env,
            clock: Clock::start(),
            started: Instant::now(),
            started_unix_us: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64),
            drivers: BTreeMap::new(),
            retired: Vec::new(),
            retired_records: Vec::new(),
            sockets: HashMap::new(),
            listeners: HashMap::new(),
            proxies: HashMap::new(),
            proxy_names: HashMap::new(),
            accepted: HashMap::new(),
            peers: BTreeMap::new(),
            curve: HashMap::new(),
            vars: BTreeMap::new(),
            marks: HashMap::new(),
            checks: Vec::new(),
            measurements: Vec::new(),
            steps: Vec::new(),
            step_index: 0,
            fresh: false,
            overrun: false,
            net: None,
            deaths: Vec::new(),
            unsafe_reuse: BTreeMap::new(),
        }
    }

    /// Records that `role`'s process must not be handed to the next case (the first reason
    /// is kept); `None` leaves it as it is.
    pub(crate) fn mark_unsafe(&mut self, role: Role, why: Option<String>) {
        if let Some(why) = why {
            self.unsafe_reuse.entry(role).or_insert(why);
        }
    }

    /// The address the implementation of `role` binds on and is reached at: the namespace's
    /// for `iut` in a case with a test network (`iut2` then lives beside the raw peer), else
    /// `--iut-host` / `--iut2-host`, else 127.0.0.1.
    pub(crate) fn host_of(&self, role: Role) -> std::net::IpAddr {
        match (&self.net, role) {
            (Some(n), Role::Iut) => n.iut_addr(),
            (Some(n), Role::Iut2) => n.peer_addr(),
            (None, r) => self.env.hosts.iut_addr(r == Role::Iut2),
        }
    }

    /// The address the raw peer listens on: the root end of the test network's link, else
    /// `--peer-host`, else 127.0.0.1.
    pub(crate) fn peer_host(&self) -> std::net::IpAddr {
        self.net
            .as_ref()
            .map_or_else(|| self.env.hosts.peer_addr(), |n| n.peer_addr())
    }

    /// The command that starts `role`'s driver: inside the test network for `iut`.
    fn spawn_command(&self, role: Role) -> DriverCommand {
        match (&self.net, role) {
            (Some(n), Role::Iut) => n.wrap(self.env.command(role)),
            _ => self.env.command(role).clone(),
        }
    }

    /// The driver of `role`, started on first use.
    async fn driver(&mut self, role: Role) -> Result<&mut DriverProcess, Stop> {
        if !self.drivers.contains_key(&role) {
            let reused = if self.fresh {
                None
            } else {
                self.env.pool.take(role).await
            };
            let process = match reused {
                Some(p) => p,
                None => {
                    let mut p = DriverProcess::spawn(&self.spawn_command(role))
                        .await
                        .map_err(|e| Stop::Error(e.to_string()))?;
                    p.set_slack(self.env.scaled(5000));
                    p.hello()
                        .await
                        .map_err(|e| Stop::Error(format!("hello: {e}")))?;
                    p
                }
            };
            self.drivers.insert(
                role,
                DriverSlot {
                    transcript_from: process.transcript_position(),
                    process,
                    stopping_since: None,
                    expected_exit: false,
                },
            );
        }
        self.drivers
            .get_mut(&role)
            .map(|s| &mut s.process)
            .ok_or_else(|| Stop::Error("driver slot vanished".into()))
    }

    /// Converts a driver error into a stop: unsupported, the implementation's fault (a
    /// crash, or a refusal where the step names a requirement), or a harness/driver fault.
    fn driver_stop(&mut self, role: Role, err: DriverError, requirement: Option<&str>) -> Stop {
        if err.is_unsupported() {
            return Stop::Unsupported(err.to_string());
        }
        if let DriverError::Exited { .. } = &err {
            let expected = self
                .drivers
                .get(&role)
                .map(|s| s.expected_exit)
                .unwrap_or(false);
            if !expected {
                return Stop::Failed {
                    requirement: requirement.map(str::to_string),
                    expected: "the implementation's process keeps running".into(),
                    actual: format!("it died: {err}"),
                };
            }
        }
        match (&err, requirement) {
            (DriverError::Refused { .. }, Some(r)) => Stop::Failed {
                requirement: Some(r.to_string()),
                expected: "the call succeeds".into(),
                actual: err.to_string(),
            },
            _ => Stop::Error(err.to_string()),
        }
    }

    fn var(&self, name: &str) -> Result<&Value, Stop> {
        self.vars
            .get(name)
            .ok_or_else(|| Stop::Error(format!("no saved value named `{name}`")))
    }

    /// Replaces `${name}` and `${name.path}` with saved values.
    fn interp(&self, s: &str) -> Result<String, Stop> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| Stop::Error(format!("unterminated ${{ in `{s}`")))?;
            let key = &after[..end];
            let (name, path) = key.split_once('.').unwrap_or((key, ""));
            let v = self.var(name)?;
            let v = if path.is_empty() {
                v
            } else {
                lookup(v, path).ok_or_else(|| Stop::Error(format!("no `{path}` in `{name}`")))?
            };
            match v {
                Value::String(t) => out.push_str(t),
                other => out.push_str(&other.to_string()),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A connection about to be written to: first let a background handshake finish.
    async fn writing_peer(&self, name: &str) -> Result<Arc<PeerConn>, Stop> {
        let conn = self.peer(name)?;
        conn.settle(self.env.scaled(2000)).await;
        Ok(conn)
    }

    fn peer(&self, name: &str) -> Result<Arc<PeerConn>, Stop> {
        if let Some(p) = self.peers.get(name) {
            return Ok(p.clone());
        }
        // `proxy#n.client` / `proxy#n.server`: a half of a proxied connection by number.
        if let Some((head, half)) = name.rsplit_once('.')
            && let Some((p, n)) = head.split_once('#')
            && let (Some(proxy), Ok(n)) = (self.proxies.get(p), n.parse::<usize>())
            && let Some((_, (client, server))) = proxy.get(n)
        {
            match half {
                "client" => return Ok(client),
                "server" => return Ok(server),
                _ => {}
            }
        }
        // `listener#n`: an accepted connection by number.
        if let Some((l, n)) = name.split_once('#')
            && let (Some(listener), Ok(n)) = (self.listeners.get(l), n.parse::<usize>())
            && let Some((_, c)) = listener.get(n)
        {
            return Ok(c);
        }
        Err(Stop::Error(format!(
            "no raw-peer connection named `{name}`"
        )))
    }

    fn socket(&self, name: &str) -> Result<(Role, String, String), Stop> {
        self.sockets
            .get(name)
            .cloned()
            .ok_or_else(|| Stop::Error(format!("no socket named `{name}`")))
    }

    /// A time reference: a mark, or `peer:<name>:<event>` with event one of `greeting`,
    /// `ready`, `closed`, `first-message`, `first-subscription`, `accepted`.
    fn time_of(&self, name: &str) -> Option<u64> {
        if let Some(t) = self.marks.get(name) {
            return Some(*t);
        }
        let rest = name.strip_prefix("peer:")?;
        let (peer, event) = rest.rsplit_once(':')?;
        let conn = self.peer(peer).ok()?;
        use crate::peer::PeerEventKind as K;
        conn.with(|s| match event {
            "closed" => s.closed.as_ref().map(|(t, _)| *t),
            "greeting" => s.first(|k| matches!(k, K::Greeting { .. })).map(|e| e.t_us),
            "ready" => s.first(|k| matches!(k, K::Ready { .. })).map(|e| e.t_us),
            "first-message" => s.first(|k| matches!(k, K::Message { .. })).map(|e| e.t_us),
            "first-subscription" => s
                .first(|k| matches!(k, K::Subscription { .. }))
                .map(|e| e.t_us),
            _ => None,
        })
    }

    fn level_of(&self, requirement: Option<&str>, forced: Option<&str>) -> String {
        if let Some(l) = forced {
            return l.to_ascii_uppercase();
        }
        requirement
            .and_then(|r| self.env.registry.get(r))
            .map(|r| r.level.keyword().to_string())
            .unwrap_or_else(|| "MUST".into())
    }

    fn requirement_text(&self, requirement: Option<&str>) -> Option<String> {
        requirement
            .and_then(|r| self.env.registry.get(r))
            .map(|r| r.statement.clone())
    }

    /// Closes the case's sockets and returns clean processes to the pool (or stops them,
    /// bounded), closes peers, and reaps everything.
    async fn teardown(&mut self) {
        let grace = self.env.scaled(3000);
        let sockets: Vec<(Role, String)> = self
            .sockets
            .values()
            .map(|(r, h, _)| (*r, h.clone()))
            .collect();
        let roles: Vec<Role> = self.drivers.keys().copied().collect();
        // Processes left unsafe to reuse: retired after the peers are closed (an abort the end
        // of a connection provokes then happens during the retirement, in this case).
        let mut retiring: Vec<(Role, DriverSlot, String)> = Vec::new();
        for role in roles {
            let Some(mut slot) = self.drivers.remove(&role) else {
                continue;
            };
            if self.overrun {
                // It did not answer within the case's bound: no polite requests, no pool.
                slot.expected_exit = true;
                let _ = slot.process.kill().await;
                self.retired_records.push(driver_record(
                    &role,
                    &slot.process,
                    slot.transcript_from,
                ));
                continue;
            }
            let seen_by_a_step = slot.process.faulted();
            let retire_why = self
                .unsafe_reuse
                .remove(&role)
                .filter(|_| !seen_by_a_step && !slot.expected_exit);
            let running = !slot.expected_exit && slot.process.is_running();
            let mut clean = !self.fresh && running && retire_why.is_none();
            if clean || (running && retire_why.is_some()) {
                for (r, handle) in sockets.iter().filter(|(r, _)| *r == role) {
                    let _ = r;
                    let closed = slot
                        .process
                        .close(handle, Some(0))
                        .await
                        .is_ok_and(|reply| reply.result == zmtp_driver_protocol::Outcome::Ok);
                    clean &= closed;
                }
            }
            if !seen_by_a_step && let Some(death) = death_in_case(&role, &mut slot, clean).await {
                self.deaths.push(death);
                clean = false;
            } else if let Some(why) = retire_why {
                retiring.push((role, slot, why));
                continue;
            }
            if clean && slot.process.is_running() {
                // Keep the record of what this case did before handing the process on.
                self.retired_records.push(driver_record(
                    &role,
                    &slot.process,
                    slot.transcript_from,
                ));
                self.env.pool.put(role, slot.process).await;
                continue;
            }
            if slot.process.is_running() {
                slot.expected_exit = true;
                if slot.process.request_exit().await.is_err()
                    || matches!(slot.process.wait_exit(grace).await, Ok(None) | Err(_))
                {
                    let _ = slot.process.kill().await;
                }
            }
            self.retired_records
                .push(driver_record(&role, &slot.process, slot.transcript_from));
        }
        for l in self.listeners.values() {
            for (_, c) in l.all() {
                if !c.is_closed() {
                    c.close(crate::peer::CloseHow::Rst).await;
                }
            }
        }
        for p in self.proxies.values() {
            for c in p.all() {
                if !c.is_closed() {
                    c.close(crate::peer::CloseHow::Rst).await;
                }
            }
        }
        for p in self.peers.values() {
            if !p.is_closed() {
                p.close(crate::peer::CloseHow::Rst).await;
            }
        }
        for (role, mut slot, why) in retiring {
            if let Some(death) = retire::retire(role, &mut slot, &why, grace).await {
                self.deaths.push(death);
            }
            self.retired_records
                .push(driver_record(&role, &slot.process, slot.transcript_from));
        }
        self.charge_deaths();
    }

    /// Every death [`death_in_case`] found becomes a failed check of this case (SEC-09: the
    /// implementation must not crash or hang).
    fn charge_deaths(&mut self) {
        for death in std::mem::take(&mut self.deaths) {
            self.checks.push(CheckResult {
                step: self.step_index,
                check: "driver-alive".into(),
                label: Some(
                    "the implementation's process is alive and answers after the case".into(),
                ),
                requirement: Some("SEC-09".into()),
                requirement_text: self.requirement_text(Some("SEC-09")),
                level: "MUST".into(),
                verdict: Verdict::Fail,
                expected: "the process still runs and answers `hello`".into(),
                actual: death,
                outcome: None,
            });
        }
    }

    fn peer_records(&self) -> Vec<PeerRecord> {
        let mut conns: Vec<Arc<PeerConn>> = self.peers.values().cloned().collect();
        for l in self.listeners.values() {
            for (_, c) in l.all() {
                if !conns.iter().any(|x| Arc::ptr_eq(x, &c)) {
                    conns.push(c);
                }
            }
        }
        for p in self.proxies.values() {
            for c in p.all() {
                if !conns.iter().any(|x| Arc::ptr_eq(x, &c)) {
                    conns.push(c);
                }
            }
        }
        conns
            .iter()
            .map(|c| {
                c.with(|s| {
                    let events = s
                        .events
                        .iter()
                        .map(|e| {
                            format!(
                                "{:>10.3} ms {}",
                                e.t_us as f64 / 1000.0,
                                serde_json::to_string(&e.kind).unwrap_or_default()
                            )
                        })
                        .collect();
                    let decode = |dir| {
                        let bytes = s.transcript.stream(dir);
                        let d = crate::dissect::dissect(
                            &bytes,
                            crate::dissect::Options {
                                profile: zmtp_codec::Profile::Lenient,
                                ..Default::default()
                            },
                        );
                        crate::dissect::render_text(&d, &bytes)
                    };
                    PeerRecord {
                        name: c.name().to_string(),
                        events,
                        transcript: s.transcript.render(48),
                        decoded_in: decode(crate::peer::Direction::In),
                        decoded_out: decode(crate::peer::Direction::Out),
                        chunks: s.transcript.chunks.clone(),
                        local_addr: c.local_addr().map(|a| a.to_string()),
                        peer_addr: c.peer_addr().map(|a| a.to_string()),
                        case_start_unix_us: self.started_unix_us,
                        events_dropped: 0,
                        octets_not_shown: 0,
                    }
                })
            })
            .collect()
    }

    fn driver_records(&self) -> Vec<DriverRecord> {
        self.retired
            .iter()
            .map(|(r, p)| driver_record(r, p, 0))
            .chain(self.retired_records.iter().cloned())
            .chain(
                self.drivers
                    .iter()
                    .map(|(r, s)| driver_record(r, &s.process, s.transcript_from)),
            )
            .collect()
    }
}

/// Lines of a dead driver's stderr quoted in the verdict.
const DEATH_STDERR_LINES: usize = 8;

/// The end-of-case health check of a driver process the case did not stop on purpose: it is
/// still running and, when it is to be kept for the next case (`ask`), answers `hello`. A
/// process that died (a library abort after the case's last request, e.g. libzmq 4.3.4's
/// `session_base.cpp:260` after `hwm/counts-messages-not-frames`) or stopped answering is
/// charged to this case, with the end of its stderr, and the next case gets a fresh one.
async fn death_in_case(role: &Role, slot: &mut DriverSlot, ask: bool) -> Option<String> {
    if slot.expected_exit {
        return None;
    }
    let p = &mut slot.process;
    let what = if !p.is_running() {
        format!(
            "the {} process ({}) ended during the case: {}",
            role.name(),
            p.label(),
            p.exit_status()
                .map_or_else(|| "status unknown".into(), |s| s.to_string())
        )
    } else if ask {
        match p.hello().await {
            Ok(_) => return None,
            Err(e @ (DriverError::Timeout { .. } | DriverError::Protocol { .. })) => format!(
                "the {} process ({}) stopped answering at the end of the case (killed): {e}",
                role.name(),
                p.label()
            ),
            Err(_) => format!(
                "the {} process ({}) died at the end of the case: {}",
                role.name(),
                p.label(),
                p.exit_status()
                    .map_or_else(|| "status unknown".into(), |s| s.to_string())
            ),
        }
    } else {
        return None;
    };
    slot.expected_exit = true;
    Some(quote_stderr(&mut slot.process, what).await)
}

/// `what` happened to a process, with the last [`DEATH_STDERR_LINES`] lines of its stderr
/// (read to its end, bounded, so an abort message written just before dying is whole).
async fn quote_stderr(p: &mut DriverProcess, what: String) -> String {
    p.stderr_read_to_end(Duration::from_secs(1)).await;
    let stderr = p.stderr_last_lines(DEATH_STDERR_LINES);
    if stderr.is_empty() {
        format!("{what}; its stderr is empty")
    } else {
        format!("{what}; the end of its stderr:\n{stderr}")
    }
}

fn driver_record(role: &Role, p: &DriverProcess, from: u64) -> DriverRecord {
    DriverRecord {
        role: role.name().to_string(),
        label: p.label().to_string(),
        transcript: p.render_transcript_from(from),
        stderr_tail: p.stderr_tail(),
        exit: p
            .exit_status()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "running (kept for the next case)".into()),
    }
}

/// The longest a case's steps may take: every `*_ms` wait the steps name (a `repeat`'s as
/// often as it repeats) plus twice the driver slack per step and 30 s to start the drivers,
/// all scaled. Each wait inside is bounded already; this bound catches one that is not (a
/// driver or an implementation that never answers), so a case ends with a verdict, not a hang.
pub fn case_bound(steps: &[crate::scenario::Step], env: &Env) -> Duration {
    fn walk(v: &Value) -> (u64, u64) {
        match v {
            Value::Array(a) => a
                .iter()
                .map(walk)
                .fold((0, 0), |x, y| (x.0 + y.0, x.1 + y.1)),
            Value::Object(m) => {
                let times = m.get("times").and_then(Value::as_u64).unwrap_or(1).max(1);
                let mut ms = 0u64;
                let mut n = 0u64;
                for (k, v) in m {
                    if k.ends_with("_ms") {
                        ms = ms.saturating_add(v.as_u64().unwrap_or(0));
                    } else if k == "steps" {
                        let (a, b) = walk(v);
                        let count = v.as_array().map_or(0, |s| s.len() as u64);
                        ms = ms.saturating_add(a.saturating_mul(times));
                        n = n.saturating_add((b + count).saturating_mul(times));
                    } else {
                        let (a, b) = walk(v);
                        ms = ms.saturating_add(a);
                        n = n.saturating_add(b);
                    }
                }
                (ms, n)
            }
            _ => (0, 0),
        }
    }
    let v = serde_json::to_value(steps).unwrap_or(Value::Null);
    let (ms, nested) = walk(&v);
    let n = steps.len() as u64 + nested;
    env.scaled(
        ms.saturating_add(n.saturating_mul(2 * 5000))
            .saturating_add(30_000),
    )
}

impl Ctx<'_> {
    /// Gives a case with `net.*` steps its network namespace (and fresh processes, started in
    /// it). Where the machine has none: UNSUPPORTED with the reason, never ERROR.
    fn make_net(&mut self, steps: &[crate::scenario::Step]) -> Option<Stop> {
        if !uses_net(steps) {
            return None;
        }
        self.fresh = true;
        match crate::netns::TestNet::create() {
            Ok(n) => {
                self.net = Some(n);
                None
            }
            Err(e) if e.is_unavailable() => Some(Stop::Unsupported(format!(
                "the case needs a network namespace for the implementation: {e}"
            ))),
            Err(e) => Some(Stop::Error(format!("creating the test network: {e}"))),
        }
    }

    /// Why a case that ran past [`case_bound`] was stopped: the step it was in and the driver
    /// processes that are killed for it.
    fn overrun_reason(&self, bound: Duration) -> String {
        let drivers: Vec<String> = self
            .drivers
            .values()
            .map(|s| {
                format!(
                    "{} (pid {})",
                    s.process.label(),
                    s.process
                        .pid()
                        .map_or_else(|| "?".into(), |p| p.to_string())
                )
            })
            .collect();
        format!(
            "driver fault: the case did not finish within its bound of {} ms (its waits plus \
             the driver slack), in step {}; the implementation's process stopped \
             answering; killed {}",
            bound.as_millis(),
            self.step_index,
            if drivers.is_empty() {
                "no driver process".to_string()
            } else {
                drivers.join(", ")
            }
        )
    }
}

/// Dotted-path lookup in a JSON value (`a.b.0.c`).
pub(crate) fn lookup<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(v); // the saved value itself (a bare number, e.g. from count-fds)
    }
    path.split('.').try_fold(v, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Runs one case to completion and returns its result. Never panics on a misbehaving
/// implementation; every wait is bounded.
pub async fn run_case(case: &Case, env: &Env) -> CaseResult {
    run_case_with(case, env, &[]).await
}

/// [`run_case`] with values saved before the first step (`${name}` in the case).
pub async fn run_case_with(case: &Case, env: &Env, vars: &[(&str, &str)]) -> CaseResult {
    let mut ctx = Ctx::new(env);
    ctx.fresh = case.fresh || needs_fresh(&case.steps);
    for (k, v) in vars {
        ctx.vars.insert((*k).to_string(), Value::from(*v));
    }
    let bound = case_bound(&case.steps, env);
    let stop = match ctx.make_net(&case.steps) {
        Some(stop) => Some(stop),
        None => match tokio::time::timeout(bound, ctx.run_steps(&case.steps)).await {
            Ok(r) => r.err(),
            Err(_) => {
                ctx.overrun = true;
                Some(Stop::Error(ctx.overrun_reason(bound)))
            }
        },
    };
    ctx.teardown().await;
    // Only now, with every process of the namespace stopped: delete the link and namespace.
    drop(ctx.net.take());
    let mut verdict = ctx
        .checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    let mut reason = ctx
        .checks
        .iter()
        .find(|c| c.verdict == verdict && verdict != Verdict::Pass)
        .map(|c| {
            let req = c
                .requirement
                .as_deref()
                .map(|r| format!("[{r}] "))
                .unwrap_or_default();
            let what = c.label.as_deref().unwrap_or(&c.check);
            match &c.outcome {
                Some(o) => format!("{req}{what}: outcome \"{o}\" ({}): {}", c.verdict, c.actual),
                None => format!("{req}{what}: expected {}; got {}", c.expected, c.actual),
            }
        });
    if let Some(stop) = stop {
        let (v, text) = match stop {
            Stop::Unsupported(m) => (Verdict::Unsupported, m),
            Stop::Error(m) => (Verdict::Error, m),
            Stop::Failed {
                requirement,
                expected,
                actual,
            } => {
                let level = ctx.level_of(requirement.as_deref(), None);
                let v = Verdict::for_level(&level);
                ctx.checks.push(CheckResult {
                    step: ctx.step_index,
                    check: "step".into(),
                    label: ctx.steps.last().map(|s| s.kind.clone()),
                    requirement_text: ctx.requirement_text(requirement.as_deref()),
                    requirement: requirement.clone(),
                    level,
                    verdict: v,
                    expected: expected.clone(),
                    actual: actual.clone(),
                    outcome: None,
                });
                (
                    v,
                    format!(
                        "{}step {} ({}): expected {expected}; got {actual}",
                        requirement.map(|r| format!("[{r}] ")).unwrap_or_default(),
                        ctx.step_index,
                        ctx.steps.last().map(|s| s.kind.as_str()).unwrap_or("?")
                    ),
                )
            }
        };
        if v > verdict {
            verdict = v;
            reason = Some(text);
        } else if v == verdict {
            // Keep the first failing check's reason, and add why the case stopped.
            reason = Some(match reason {
                Some(r) => format!("{r}; then {text}"),
                None => text,
            });
        }
    }
    if verdict == Verdict::Pass && ctx.checks.is_empty() && !ctx.measurements.is_empty() {
        // Nothing was judged, only measured.
        verdict = Verdict::Info;
    }
    let keep = env.keep_transcripts || verdict != Verdict::Pass;
    CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        requirements: case.requirements.clone(),
        verdict,
        reason,
        checks: std::mem::take(&mut ctx.checks),
        measurements: std::mem::take(&mut ctx.measurements),
        steps: std::mem::take(&mut ctx.steps),
        peers: crate::report::bound_peers(ctx.peer_records(), env.keep_transcripts, verdict),
        drivers: if keep {
            ctx.driver_records()
        } else {
            Vec::new()
        },
        duration_ms: ctx.started.elapsed().as_secs_f64() * 1000.0,
    }
}
