//! Probe mode: test an endpoint that is already running, with no driver — like h2spec pointed
//! at a server. The raw peer does everything: greeting, handshake, the socket-type table, a
//! robustness subset, and after every negative case a fresh well-formed handshake to show the
//! endpoint still serves. What needs the implementation's API (delivery to its application)
//! is out of reach here; use a driver for that.
//!
//! The cases are templates in `harness/scenarios/probe.toml`; this module only selects and
//! fills them for the endpoint's socket type ([`scenario_text`]), runs them, and checks the
//! endpoint's health between them.

use crate::engine::{self, Env};
use crate::registry::Registry;
use crate::report::{self, Implementation, RunReport};
use crate::scenario::{self, LoadedCase, ScenarioError};
use crate::socket_types::{CLASSIC, compatible, peers_of};
use crate::verdict::{CaseResult, Verdict};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

/// The key that marks a socket-type template in `probe.toml`: `"valid"` or `"invalid"`.
const PEERS_KEY: &str = "probe_peers";

/// Gives a case template its parameters; the loader's case templates (`{{name}}`) fill them in.
fn fill(mut case: toml::Table, socket_type: &str, me: &str, peer: Option<&str>) -> toml::Value {
    let mut params = toml::Table::new();
    params.insert("socket_type".into(), socket_type.into());
    params.insert("me".into(), me.into());
    if let Some(peer) = peer {
        params.insert("peer".into(), peer.into());
    }
    case.insert("params".into(), toml::Value::Array(vec![params.into()]));
    toml::Value::Table(case)
}

/// The probe cases for an endpoint whose socket type is `socket_type`, as scenario text: the
/// templates of `probe.toml` with their parameters, the socket-type template expanded to one
/// case per classic socket type (the `valid` or the `invalid` one, in table order).
pub fn scenario_text(socket_type: &str) -> Result<String, ScenarioError> {
    let err = |message: String| ScenarioError::Parse {
        path: scenario::PROBE_FILE.into(),
        message,
    };
    let me = peers_of(socket_type).first().copied().unwrap_or("DEALER");
    let mut file: toml::Table =
        toml::from_str(scenario::probe_text()).map_err(|e| err(e.to_string()))?;
    let Some(toml::Value::Array(templates)) = file.remove("case") else {
        return Err(err("no [[case]]".into()));
    };
    let mut cases = Vec::new();
    let (mut valid, mut invalid, mut table_at) = (None, None, None);
    for case in templates {
        let toml::Value::Table(mut case) = case else {
            return Err(err("a [[case]] that is not a table".into()));
        };
        let Some(kind) = case.remove(PEERS_KEY) else {
            cases.push(fill(case, socket_type, me, None));
            continue;
        };
        table_at.get_or_insert(cases.len());
        match kind.as_str() {
            Some("valid") => valid = Some(case),
            Some("invalid") => invalid = Some(case),
            _ => {
                return Err(err(format!(
                    "{PEERS_KEY} = {kind}: not \"valid\" or \"invalid\""
                )));
            }
        }
    }
    let (Some(valid), Some(invalid), Some(at)) = (valid, invalid, table_at) else {
        return Err(err(format!(
            "needs a {PEERS_KEY} = \"valid\" and a {PEERS_KEY} = \"invalid\" template"
        )));
    };
    let table = CLASSIC.iter().map(|peer| {
        let template = if compatible(socket_type, peer) {
            &valid
        } else {
            &invalid
        };
        fill(template.clone(), socket_type, me, Some(peer))
    });
    cases.splice(at..at, table);
    file.insert("case".into(), toml::Value::Array(cases));
    toml::to_string(&file).map_err(|e| err(e.to_string()))
}

/// How long a fresh connection may wait for the endpoint's first octet after a case, before
/// it counts as hung (scaled by `--timeout-scale`).
pub const LIVENESS_MS: u64 = 2000;

/// How [`Health::Down`] starts for an endpoint that accepts but does not answer.
const HUNG: &str = "hung";

/// What a fresh connection to the endpoint shows between cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// It accepted the connection and answered (or closed it: a process that is alive).
    Up,
    /// It refused the connection (the process is gone) or accepted it and sent nothing within
    /// the bound (hung); why.
    Down(String),
}

/// Connects to `addr`, sends a NULL greeting and waits up to `bound` for the first octet back.
/// A connection closed at once counts as up: the process is alive, and the cases judge it.
pub async fn health(addr: std::net::SocketAddr, bound: std::time::Duration) -> Health {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = match tokio::time::timeout(bound, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Health::Down(format!("a new TCP connection to {addr} failed: {e}")),
        Err(_) => {
            return Health::Down(format!(
                "no TCP connection to {addr} within {} ms",
                bound.as_millis()
            ));
        }
    };
    let _ = stream.write_all(&null_greeting()).await;
    let mut first = [0u8; 1];
    match tokio::time::timeout(bound, stream.read(&mut first)).await {
        Ok(_) => Health::Up,
        Err(_) => Health::Down(format!(
            "{HUNG}: it accepted a new connection to {addr} but sent nothing within {} ms",
            bound.as_millis()
        )),
    }
}

/// A ZMTP 3.0 NULL greeting, as a client.
fn null_greeting() -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0];
    g.extend_from_slice(b"NULL");
    g.resize(64, 0);
    g
}

/// The last octets the raw peer sent on each connection of a case, oldest first: (connection,
/// offset in its stream, octets). The endpoint may die while a later connection (the liveness
/// probe) is already under way, so the culprit is not always the very last write.
fn last_sent(r: &CaseResult) -> Vec<(String, u64, Vec<u8>)> {
    let mut last: Vec<(u64, String, u64, Vec<u8>)> = r
        .peers
        .iter()
        .filter_map(|p| {
            p.chunks
                .iter()
                .filter(|c| c.dir == crate::peer::Direction::Out)
                .max_by_key(|c| c.t_us)
                .map(|c| (c.t_us, p.name.clone(), c.offset, c.bytes.clone()))
        })
        .collect();
    last.sort_by_key(|l| l.0);
    let keep = last.len().saturating_sub(SENT_CONNECTIONS);
    last.into_iter()
        .skip(keep)
        .map(|(_, name, offset, bytes)| (name, offset, bytes))
        .collect()
}

/// Connections whose last octets a crash verdict quotes, and octets quoted per connection.
const SENT_CONNECTIONS: usize = 3;
const SENT_SHOWN: usize = 64;

/// The case after which the endpoint was down: a FAIL (SEC-09: no crash, no hang) naming the
/// last octets sent on each connection.
fn went_down(r: &mut CaseResult, why: &str, registry: &Registry) {
    let sent: Vec<String> = last_sent(r)
        .into_iter()
        .map(|(conn, offset, bytes)| {
            format!(
                "on `{conn}` {} octet(s) at offset {offset}: {}{}",
                bytes.len(),
                hex::encode(&bytes[..bytes.len().min(SENT_SHOWN)]),
                if bytes.len() > SENT_SHOWN { "…" } else { "" }
            )
        })
        .collect();
    let sent = if sent.is_empty() {
        "nothing was sent in this case".to_string()
    } else {
        format!("the last octets sent: {}", sent.join("; "))
    };
    let actual = format!("the endpoint went down during this case ({why}); {sent}");
    r.checks.push(crate::verdict::CheckResult {
        step: r.steps.len(),
        check: "endpoint-alive".into(),
        label: Some("the endpoint is still up after the case".into()),
        requirement: Some("SEC-09".into()),
        requirement_text: registry.get("SEC-09").map(|q| q.statement.clone()),
        level: "MUST".into(),
        verdict: Verdict::Fail,
        expected: "a new connection is accepted and answered".into(),
        actual: actual.clone(),
        outcome: None,
    });
    if r.verdict < Verdict::Fail || r.verdict == Verdict::Error {
        r.verdict = Verdict::Fail;
        r.reason = Some(format!("[SEC-09] {actual}"));
    } else {
        r.reason = Some(match r.reason.take() {
            Some(reason) => format!("{reason}; then {actual}"),
            None => actual,
        });
    }
}

/// A case not run because the endpoint went down in an earlier one.
fn not_run(case: &crate::scenario::Case, down_in: &str, why: &str) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        requirements: case.requirements.clone(),
        verdict: Verdict::NotRun,
        reason: Some(format!(
            "not run: the endpoint is down since {down_in} ({why})"
        )),
        checks: Vec::new(),
        measurements: Vec::new(),
        steps: Vec::new(),
        peers: Vec::new(),
        drivers: Vec::new(),
        duration_ms: 0.0,
    }
}

/// Loads the probe cases for a socket type, validated like any scenario file.
pub fn cases(socket_type: &str, registry: &Registry) -> Result<Vec<LoadedCase>, ScenarioError> {
    scenario::load_text("probe (built in)", &scenario_text(socket_type)?, registry)
}

/// Runs the probe cases against `endpoint` and returns the report.
pub async fn run(
    endpoint: &str,
    socket_type: &str,
    select: &[String],
    registry: Arc<Registry>,
    timeout_scale: f64,
    keep_transcripts: bool,
) -> Result<RunReport, String> {
    let socket_type = socket_type.to_ascii_uppercase();
    if peers_of(&socket_type).is_empty() {
        return Err(format!("unknown socket type {socket_type}"));
    }
    let all = cases(&socket_type, &registry).map_err(|e| e.to_string())?;
    let cases = crate::run::select(&all, select, &[], &[]).map_err(|e| e.to_string())?;
    let nobody = crate::driver::DriverCommand {
        label: "none".into(),
        program: "/bin/false".into(),
        args: vec![],
    };
    let env = Env {
        iut: nobody.clone(),
        iut2: nobody,
        timeout_scale,
        registry,
        // Every octet is kept until the endpoint's health after the case is known (the case
        // that brought it down names the last octets it was sent); bounded afterwards.
        keep_transcripts: true,
        hosts: Default::default(),
        pool: Default::default(),
    };
    let started = Instant::now();
    let addr: std::net::SocketAddr = endpoint
        .strip_prefix("tcp://")
        .unwrap_or(endpoint)
        .parse()
        .map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
    let bound = env.scaled(LIVENESS_MS);
    // Refused before the first case: nothing to probe. Hung (accepts, says nothing): the first
    // case runs and fails, and the rest are not run.
    if let Health::Down(why) = health(addr, bound).await
        && !why.starts_with(HUNG)
    {
        return Err(format!(
            "the endpoint {endpoint} is down before the first case ({why}); nothing was run"
        ));
    }
    let mut results: Vec<CaseResult> = Vec::new();
    let mut down: Option<(String, String)> = None;
    for lc in &cases {
        if let Some((case, why)) = &down {
            results.push(not_run(&lc.case, case, why));
            continue;
        }
        let mut r = engine::run_case_with(&lc.case, &env, &[("target", endpoint)]).await;
        if let Health::Down(why) = health(addr, bound).await {
            went_down(&mut r, &why, &env.registry);
            down = Some((r.id.clone(), why));
        }
        r.peers = report::bound_peers(std::mem::take(&mut r.peers), keep_transcripts, r.verdict);
        results.push(r);
    }
    let mut described = String::new();
    let _ = write!(described, "probe {endpoint} ({socket_type})");
    Ok(RunReport {
        schema_version: 1,
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        iut: Implementation {
            name: endpoint.to_string(),
            command: described.clone(),
            hello: None,
        },
        iut2: Implementation {
            name: endpoint.to_string(),
            command: described,
            hello: None,
        },
        timeout_scale,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        peak_rss_kib: crate::memory::peak_rss_kib(),
        counts: report::counts(&results),
        baseline: None,
        results,
    })
}
