//! Network fuzzing of a live implementation (`zmtp-harness fuzz`, `zmtp-harness replay`).
//!
//! The raw peer opens connection after connection to one socket of the implementation and sends
//! mutated sessions ([`mutate`]): valid sessions, and the golden vectors' streams, bent where
//! ZMTP is fragile. Meanwhile a well-behaved peer stays connected to the same socket. After
//! every session the oracles run:
//! - **alive**: the driver process (and so the implementation) is still running;
//! - **good peer**: the well-behaved peer still gets its messages through, within a bound (a bad
//!   peer must not hurt a good one);
//! - **no bad delivery**: every message the application received from the fuzzed connection is
//!   one the session carried before it broke a rule (decided by the codec's lenient session);
//! - **memory**: the driver's resident memory stays within a bound of where it started.
//!
//! A failing session is saved as a replayable JSON finding (seed, iteration, octets, chunking,
//! close), minimised by replaying smaller versions against fresh processes, and can be
//! replayed with `zmtp-harness replay FILE --iut NAME`. A finding is a result about the
//! implementation; only a fault of the harness itself makes the command fail.

pub mod mutate;

use crate::driver::{DriverCommand, DriverProcess, registry as drivers};
use crate::peer::{Clock, PeerConn, PeerSettings};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zmtp_codec::session::{Event, InboundSession, Local, Role};
use zmtp_codec::{Config, Mechanism, Profile};
use zmtp_driver_protocol::messages::DrainArgs;

/// The socket types fuzzed by default, and the peer type each session announces.
pub const TARGETS: [(&str, &str); 5] = [
    ("PULL", "PUSH"),
    ("SUB", "PUB"),
    ("ROUTER", "DEALER"),
    ("DEALER", "DEALER"),
    ("PUB", "SUB"),
];

fn peer_type_for(socket_type: &str) -> Option<&'static str> {
    TARGETS
        .iter()
        .find(|(t, _)| *t == socket_type)
        .map(|(_, p)| *p)
}

/// What to fuzz and for how long.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// `--iut`.
    pub iut: String,
    /// Total time.
    pub time: Duration,
    /// The seed: the same seed gives the same sessions.
    pub seed: u64,
    /// Socket types to fuzz (time is split between them).
    pub socket_types: Vec<String>,
    /// Where findings and the report go.
    pub out: PathBuf,
    /// Stretch every bound.
    pub timeout_scale: f64,
    /// Allowed growth of the driver's resident memory, MiB.
    pub max_rss_growth_mib: u64,
    /// Minimise findings (replays against fresh processes).
    pub minimise: bool,
}

/// A session that broke an oracle, saved for replay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// `zmtp-netfuzz-finding/1`.
    pub format: String,
    /// The run's seed.
    pub seed: u64,
    /// The iteration that produced it.
    pub iteration: u64,
    /// The implementation.
    pub iut: String,
    /// The socket type fuzzed.
    pub socket_type: String,
    /// Which oracle failed: `alive`, `good-peer`, `bad-delivery`, `memory`.
    pub oracle: String,
    /// What was seen.
    pub detail: String,
    /// The mutations applied to the base session.
    pub mutations: Vec<String>,
    /// The octets written, one entry per write, hex.
    pub chunks_hex: Vec<String>,
    /// How the connection was closed afterwards: `fin` or `rst`.
    pub close: String,
    /// What the implementation sent back on that connection, hex.
    pub response_hex: String,
    /// Whether this is the minimised form (the original length is kept).
    pub minimised: bool,
    /// Octets before minimisation.
    pub original_len: usize,
    /// The sessions sent just before on other connections (a failure can be a late effect of
    /// one of them); replayed first, in order. Minimisation drops them when it can.
    #[serde(default)]
    pub preceding: Vec<PriorSession>,
}

/// A session sent before the one that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorSession {
    /// The writes, hex.
    pub chunks_hex: Vec<String>,
    /// `fin` or `rst`.
    pub close: String,
}

impl Finding {
    fn octets(&self) -> Vec<Vec<u8>> {
        self.chunks_hex
            .iter()
            .map(|h| hex::decode(h).unwrap_or_default())
            .collect()
    }
}

/// The summary of a fuzz run.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    /// The implementation.
    pub iut: String,
    /// The seed.
    pub seed: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Sessions sent.
    pub iterations: u64,
    /// Sessions per second.
    pub per_second: f64,
    /// Sessions per socket type.
    pub per_type: Vec<(String, u64)>,
    /// Times the implementation had to be restarted.
    pub restarts: u64,
    /// Findings (files in the output directory).
    pub findings: Vec<String>,
    /// One line per finding.
    pub summary: Vec<String>,
}

/// A running implementation socket under fuzz, with its good peer.
struct Target {
    driver: DriverProcess,
    socket: String,
    socket_type: String,
    addr: SocketAddr,
    good: Arc<PeerConn>,
    rss_base_kib: u64,
    seq: u64,
    scale: f64,
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

impl Target {
    fn ms(&self, ms: u64) -> Duration {
        Duration::from_secs_f64(ms as f64 / 1000.0 * self.scale.max(0.1))
    }

    async fn start(cmd: &DriverCommand, socket_type: &str, scale: f64) -> Result<Target, String> {
        let peer_type = peer_type_for(socket_type)
            .ok_or_else(|| format!("socket type {socket_type} is not fuzzed"))?;
        let mut driver = DriverProcess::spawn(cmd).await.map_err(|e| e.to_string())?;
        driver.hello().await.map_err(|e| e.to_string())?;
        let socket = driver
            .socket(socket_type)
            .await
            .map_err(|e| e.to_string())?;
        if socket_type == "SUB" {
            let r = driver
                .setsockopt(&socket, "subscribe", "")
                .await
                .map_err(|e| e.to_string())?;
            driver
                .require_ok("subscribe", r)
                .map_err(|e| e.to_string())?;
        }
        let endpoint = driver
            .bind(&socket, "tcp://127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr: SocketAddr = endpoint
            .trim_start_matches("tcp://")
            .parse()
            .map_err(|e| format!("{endpoint}: {e}"))?;
        let clock = Clock::start();
        let mut settings = PeerSettings::of_type(peer_type);
        if peer_type == "SUB" {
            settings.subscribe = vec![String::new()];
        }
        let good = PeerConn::connect("good", addr, settings, clock, Duration::from_secs(5))
            .await
            .map_err(|e| e.to_string())?;
        good.handshake(Duration::from_secs(5))
            .await
            .map_err(|e| format!("the good peer's handshake: {e}"))?;
        let mut t = Target {
            rss_base_kib: rss_kib(driver.pid()).unwrap_or(0),
            driver,
            socket,
            socket_type: socket_type.to_string(),
            addr,
            good: Arc::new(good),
            seq: 0,

            scale,
        };
        // The good peer must work before fuzzing starts.
        t.good_round(&mut Vec::new())
            .await
            .map_err(|e| format!("the good peer does not work before fuzzing: {e}"))?;
        Ok(t)
    }

    /// One message through the good peer; other messages the application received meanwhile
    /// are appended to `others`.
    async fn good_round(&mut self, others: &mut Vec<Vec<Vec<u8>>>) -> Result<(), String> {
        self.seq += 1;
        let seq = self.seq;
        if self.good.is_closed() {
            return Err("the implementation closed the good peer's connection".into());
        }
        if self.socket_type == "PUB" {
            let body = format!("good {seq}").into_bytes();
            let deadline = Instant::now() + self.ms(2000);
            loop {
                let r = self
                    .driver
                    .send(&self.socket, std::slice::from_ref(&body), true, 0)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = r;
                let got = self
                    .good
                    .wait_until("the good message", Duration::from_millis(20), |s| {
                        s.messages()
                            .any(|m| m.first().is_some_and(|f| f == &body[..]))
                    })
                    .await
                    .is_ok();
                if got {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "the good subscriber did not get message {seq} within 2 s"
                    ));
                }
            }
        }
        let frames = zmtp_driver_protocol::burst::encode_message(b"good", seq, 1, 0);
        self.good
            .send_message(&frames, self.ms(1000))
            .await
            .map_err(|e| format!("the good peer cannot send: {e}"))?;
        let args = DrainArgs {
            socket: self.socket.clone(),
            max_messages: 10_000,
            quiet_ms: 15,
            timeout_ms: self.ms(1000).as_millis() as u64,
            strip_prefix: u64::from(self.socket_type == "ROUTER"),
            other_limit: 64,
        };
        let strip = usize::from(self.socket_type == "ROUTER");
        let (_, report) = self.driver.drain(&args).await.map_err(|e| e.to_string())?;
        for m in &report.other_hex {
            // A ROUTER puts the routing id in front: not part of what the peer sent.
            others.push(
                m.iter()
                    .skip(strip)
                    .map(|f| hex::decode(f).unwrap_or_default())
                    .collect(),
            );
        }
        let got = report
            .burst
            .seq_runs
            .iter()
            .any(|[a, b]| *a <= seq && seq <= *b);
        if got {
            Ok(())
        } else {
            // It may still be in flight: one more short look.
            let (_, again) = self.driver.drain(&args).await.map_err(|e| e.to_string())?;
            for m in &again.other_hex {
                others.push(
                    m.iter()
                        .skip(strip)
                        .map(|f| hex::decode(f).unwrap_or_default())
                        .collect(),
                );
            }
            if again
                .burst
                .seq_runs
                .iter()
                .any(|[a, b]| *a <= seq && seq <= *b)
            {
                Ok(())
            } else {
                Err(format!(
                    "the good peer's message {seq} was not delivered within 2 s"
                ))
            }
        }
    }

    async fn stop(mut self) {
        if self.driver.is_running()
            && (self.driver.request_exit().await.is_err()
                || matches!(
                    self.driver.wait_exit(Duration::from_secs(3)).await,
                    Ok(None) | Err(_)
                ))
        {
            let _ = self.driver.kill().await;
        }
        self.good.close(crate::peer::CloseHow::Rst).await;
    }
}

/// Messages in ZMTP/1.0 framing (RFC 13): a length (1 octet, or 0xFF and 8 octets) that counts
/// the flags octet, the flags, the body; the first frame is the identity, not a message.
fn v1_messages(mut b: &[u8], skip_identity: bool) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let mut identity = skip_identity;
    loop {
        let (len, hdr) = match b.first() {
            None => break,
            Some(&0xFF) => match b.get(1..9).and_then(|x| <[u8; 8]>::try_from(x).ok()) {
                Some(n) => (u64::from_be_bytes(n), 9usize),
                None => break,
            },
            Some(&n) => (u64::from(n), 1usize),
        };
        let Ok(len) = usize::try_from(len) else { break };
        if len == 0 {
            break;
        }
        let Some(frame) = b.get(hdr..hdr.saturating_add(len)) else {
            break;
        };
        let (flags, body) = (frame[0], &frame[1..]);
        b = &b[hdr + len..];
        if identity {
            identity = false;
            continue;
        }
        parts.push(body.to_vec());
        if flags & 1 == 0 {
            out.push(std::mem::take(&mut parts));
        }
    }
    out
}

/// Messages in ZMTP/2.0 framing (RFC 15), after the identity frame: flags (MORE, LONG), size,
/// body.
fn v2_messages(mut b: &[u8], skip_identity: bool) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let mut identity = skip_identity;
    while let Some(&flags) = b.first() {
        let (len, hdr) = if flags & 2 != 0 {
            match b.get(1..9).and_then(|x| <[u8; 8]>::try_from(x).ok()) {
                Some(n) => (u64::from_be_bytes(n), 9usize),
                None => break,
            }
        } else {
            match b.get(1) {
                Some(&n) => (u64::from(n), 2usize),
                None => break,
            }
        };
        let Ok(len) = usize::try_from(len) else { break };
        let Some(body) = b.get(hdr..hdr.saturating_add(len)) else {
            break;
        };
        let body = body.to_vec();
        b = &b[hdr + len..];
        if identity {
            identity = false;
            continue;
        }
        parts.push(body);
        if flags & 1 == 0 {
            out.push(std::mem::take(&mut parts));
        }
    }
    out
}

/// The messages a receiver may deliver from `octets`: those a 3.x receiver completes before
/// the first rule the lenient session sees broken, or — for a stream whose first octets say
/// ZMTP 1.0 or 2.0, which a NULL receiver may downgrade to (VER-05) — those of that framing,
/// with the identity frame read either as the identity or (as a ROUTER may) as a message frame.
pub fn deliverable(octets: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut out = deliverable_3x(octets);
    for skip in [true, false] {
        match zmtp_codec::detect_peer(octets) {
            zmtp_codec::Status::Done(zmtp_codec::PeerVersion::Zmtp10, _) => {
                out.extend(v1_messages(octets, skip))
            }
            zmtp_codec::Status::Done(zmtp_codec::PeerVersion::Zmtp20 { revision }, _) => {
                let rest = octets.get(12..).unwrap_or_default();
                out.extend(if revision == 0 {
                    v1_messages(rest, skip)
                } else {
                    v2_messages(rest, skip)
                });
            }
            _ => {}
        }
    }
    out
}

fn deliverable_3x(octets: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut s = InboundSession::new(Local {
        mechanism: *Mechanism::NULL.0,
        role: Role::Server,
        config: Config::new(Profile::Lenient).with_max_frame_size(64 << 20),
    });
    s.feed(octets);
    let mut out = Vec::new();
    while let Ok(Some(e)) = s.poll() {
        if let Event::Message(parts) = e {
            out.push(parts.iter().map(|b| b.to_vec()).collect());
        }
    }
    out
}

/// Sends one session on a fresh connection, listens `settle_ms` for an answer, closes; returns
/// what came back.
async fn send_session(
    addr: SocketAddr,
    chunks: &[Vec<u8>],
    rst: bool,
    settle_ms: u64,
    scale: f64,
) -> Vec<u8> {
    let bound = |ms: u64| Duration::from_secs_f64(ms as f64 / 1000.0 * scale.max(0.1));
    let Ok(Ok(mut stream)) = tokio::time::timeout(bound(1000), TcpStream::connect(addr)).await
    else {
        return Vec::new();
    };
    let _ = stream.set_nodelay(true);
    let mut response = Vec::new();
    let deadline = tokio::time::Instant::now() + bound(1000);
    for c in chunks {
        match tokio::time::timeout_at(deadline, stream.write_all(c)).await {
            Ok(Ok(())) => {}
            _ => break,
        }
    }
    // Give the implementation a moment to answer or close.
    let mut buf = vec![0u8; 4096];
    let read_until = tokio::time::Instant::now() + bound(settle_ms);
    while let Ok(Ok(n)) = tokio::time::timeout_at(read_until, stream.read(&mut buf)).await {
        if n == 0 || response.len() > 64 * 1024 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    if rst {
        let _ = stream.set_zero_linger();
    } else {
        let _ = stream.shutdown().await;
    }
    drop(stream);
    response
}

/// Runs the oracles after a session; `Err((oracle, detail))` when one fails.
async fn oracles(
    t: &mut Target,
    octets: &[u8],
    recent: &[Vec<Vec<Vec<u8>>>],
    max_rss_growth_kib: u64,
    check_rss: bool,
) -> Result<(), (String, String)> {
    if !t.driver.is_running() {
        return Err((
            "alive".into(),
            format!(
                "the implementation's process died: {}; stderr: {}",
                t.driver
                    .exit_status()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                t.driver
                    .stderr_tail()
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        ));
    }
    let mut others = Vec::new();
    if let Err(e) = t.good_round(&mut others).await {
        if !t.driver.is_running() {
            return Err(("alive".into(), format!("the process died: {e}")));
        }
        return Err(("good-peer".into(), e));
    }
    let allowed = deliverable(octets);
    for m in &others {
        if !allowed.contains(m) && !recent.iter().any(|r| r.contains(m)) {
            return Err((
                "bad-delivery".into(),
                format!(
                    "the application received {} frame(s) [{}] that the session never validly carried",
                    m.len(),
                    m.iter().map(hex::encode).collect::<Vec<_>>().join(" | ")
                ),
            ));
        }
    }
    if check_rss
        && let Some(now) = rss_kib(t.driver.pid())
        && now > t.rss_base_kib + max_rss_growth_kib
    {
        return Err((
            "memory".into(),
            format!(
                "resident memory grew from {} KiB to {now} KiB",
                t.rss_base_kib
            ),
        ));
    }
    Ok(())
}

fn vector_streams() -> Vec<Vec<u8>> {
    crate::vectors::load_dir(&crate::vectors::default_dir())
        .map(|files| {
            files
                .into_iter()
                .flat_map(|(_, f)| f.vectors)
                .filter_map(|v| match v.context {
                    crate::vectors::Context::Stream => v.octets().ok(),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The session of iteration `i`: (chunks, rst, mutations).
fn session(
    seed: u64,
    i: u64,
    peer_type: &str,
    vectors: &[Vec<u8>],
) -> (Vec<Vec<u8>>, bool, Vec<String>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let base = if vectors.is_empty() || rng.random_bool(0.8) {
        let minor = if rng.random_bool(0.5) { 1 } else { 0 };
        mutate::valid_session(peer_type, minor, &mut rng)
    } else {
        vectors[rng.random_range(0..vectors.len())].clone()
    };
    let (octets, notes) = mutate::mutate(&base, &mut rng);
    let sizes = mutate::chunking(octets.len(), &mut rng);
    let mut chunks = Vec::new();
    let mut at = 0;
    for n in sizes {
        chunks.push(octets[at..at + n].to_vec());
        at += n;
    }
    (chunks, rng.random_bool(0.5), notes)
}

/// Replays a finding against a fresh process; `Ok(Some(detail))` if an oracle fails again.
pub async fn reproduce(
    finding: &Finding,
    cmd: &DriverCommand,
    scale: f64,
    max_rss_growth_kib: u64,
) -> Result<Option<(String, String)>, String> {
    let mut t = Target::start(cmd, &finding.socket_type, scale).await?;
    for p in &finding.preceding {
        let chunks: Vec<Vec<u8>> = p
            .chunks_hex
            .iter()
            .map(|h| hex::decode(h).unwrap_or_default())
            .collect();
        let _ = send_session(t.addr, &chunks, p.close == "rst", 20, scale).await;
    }
    let chunks = finding.octets();
    let octets: Vec<u8> = chunks.concat();
    // A longer settle time than while fuzzing, so the implementation has read everything
    // before the close (an RST discards what it has not read yet).
    let _ = send_session(t.addr, &chunks, finding.close == "rst", 150, scale).await;
    let r = oracles(&mut t, &octets, &[], max_rss_growth_kib, true).await;
    t.stop().await;
    Ok(r.err())
}

/// Shrinks a finding while it still fails the same oracle (bounded number of replays).
async fn minimise(
    f: &Finding,
    cmd: &DriverCommand,
    scale: f64,
    growth: u64,
    deadline: Instant,
) -> Finding {
    let mut best = f.clone();
    let mut budget = 30;
    // Some failures are races: a candidate still fails if it fails in either of two replays.
    let fails = |cand: &Finding| {
        let cand = cand.clone();
        let oracle = f.oracle.clone();
        async move {
            for _ in 0..2 {
                if Instant::now() > deadline {
                    return false;
                }
                if matches!(reproduce(&cand, cmd, scale, growth).await, Ok(Some((ref o, _))) if *o == oracle)
                {
                    return true;
                }
            }
            false
        }
    };
    // Without the sessions before it, if it still fails.
    if !best.preceding.is_empty() {
        let mut c = best.clone();
        c.preceding.clear();
        budget -= 2;
        if fails(&c).await {
            best = c;
        }
    }
    // One write instead of many.
    if best.chunks_hex.len() > 1 {
        let mut c = best.clone();
        c.chunks_hex = vec![best.chunks_hex.concat()];
        budget -= 1;
        if fails(&c).await {
            best = c;
        }
    }
    // Cut from the end, then drop halves, quarters ... while it still fails.
    if best.chunks_hex.len() == 1 {
        let mut octets = best.octets().concat();
        let mut step = octets.len() / 2;
        while step > 0 && budget > 0 {
            let mut shrunk = false;
            let mut start = 0;
            while start < octets.len() && budget > 0 {
                let end = (start + step).min(octets.len());
                let mut cand_octets = octets.clone();
                cand_octets.drain(start..end);
                if cand_octets.is_empty() {
                    start += step;
                    continue;
                }
                let mut c = best.clone();
                c.chunks_hex = vec![hex::encode(&cand_octets)];
                budget -= 1;
                if fails(&c).await {
                    octets = cand_octets;
                    best = c;
                    shrunk = true;
                } else {
                    start += step;
                }
            }
            if !shrunk {
                step /= 2;
            }
        }
    }
    best.minimised = true;
    best
}

/// Runs a fuzz campaign.
pub async fn run(opts: &FuzzOptions) -> Result<FuzzReport, String> {
    let cmd = drivers::resolve(&opts.iut).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    let vectors = vector_streams();
    let started = Instant::now();
    let types: Vec<String> = if opts.socket_types.is_empty() {
        TARGETS.iter().map(|(t, _)| t.to_string()).collect()
    } else {
        opts.socket_types.clone()
    };
    let per = opts.time / types.len().max(1) as u32;
    let growth = opts.max_rss_growth_mib * 1024;
    let mut report = FuzzReport {
        iut: opts.iut.clone(),
        seed: opts.seed,
        seconds: 0.0,
        iterations: 0,
        per_second: 0.0,
        per_type: Vec::new(),
        restarts: 0,
        findings: Vec::new(),
        summary: Vec::new(),
    };
    let mut seen_oracles: Vec<(String, String)> = Vec::new();
    for (k, socket_type) in types.iter().enumerate() {
        let peer_type = peer_type_for(socket_type)
            .ok_or_else(|| format!("socket type {socket_type} is not fuzzed"))?;
        let mut target = match Target::start(&cmd, socket_type, opts.timeout_scale).await {
            Ok(t) => t,
            Err(e) if e.contains("unsupported") => {
                report
                    .summary
                    .push(format!("{socket_type}: unsupported by the driver ({e})"));
                continue;
            }
            Err(e) => return Err(format!("{socket_type}: {e}")),
        };
        let phase_end = started + per * (k as u32 + 1);
        let mut i = 0u64;
        let mut recent: Vec<Vec<Vec<Vec<u8>>>> = Vec::new();
        let mut prior: Vec<PriorSession> = Vec::new();
        while Instant::now() < phase_end {
            let iteration = (k as u64) << 32 | i;
            let (chunks, rst, notes) = session(opts.seed, iteration, peer_type, &vectors);
            let octets: Vec<u8> = chunks.concat();
            let response = send_session(target.addr, &chunks, rst, 20, opts.timeout_scale).await;
            let check = oracles(&mut target, &octets, &recent, growth, i.is_multiple_of(10)).await;
            recent.push(deliverable(&octets));
            if recent.len() > 3 {
                recent.remove(0);
            }
            let this = PriorSession {
                chunks_hex: chunks.iter().map(hex::encode).collect(),
                close: if rst { "rst".into() } else { "fin".into() },
            };
            i += 1;
            report.iterations += 1;
            if let Err((oracle, detail)) = check {
                let mut finding = Finding {
                    format: "zmtp-netfuzz-finding/1".into(),
                    seed: opts.seed,
                    iteration,
                    iut: opts.iut.clone(),
                    socket_type: socket_type.clone(),
                    oracle: oracle.clone(),
                    detail: detail.clone(),
                    mutations: notes,
                    chunks_hex: chunks.iter().map(hex::encode).collect(),
                    close: if rst { "rst".into() } else { "fin".into() },
                    response_hex: hex::encode(&response),
                    minimised: false,
                    original_len: octets.len(),
                    preceding: prior.clone(),
                };
                // One finding per (socket type, oracle): the same failure repeating is noise.
                let key = (socket_type.clone(), oracle.clone());
                if !seen_oracles.contains(&key) {
                    seen_oracles.push(key);
                    if opts.minimise {
                        // At most a quarter of this socket type's time goes to minimising.
                        let deadline = Instant::now() + per / 4;
                        finding =
                            minimise(&finding, &cmd, opts.timeout_scale, growth, deadline).await;
                    }
                    let name = format!(
                        "finding-{}-{}-{}.json",
                        socket_type.to_lowercase(),
                        oracle,
                        iteration
                    );
                    let path = opts.out.join(&name);
                    let text = serde_json::to_string_pretty(&finding).map_err(|e| e.to_string())?;
                    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
                    report.findings.push(path.display().to_string());
                    report.summary.push(format!(
                        "{socket_type} iteration {iteration}: {oracle}: {detail} ({} octets{})",
                        finding
                            .chunks_hex
                            .iter()
                            .map(|h| h.len() / 2)
                            .sum::<usize>(),
                        if finding.minimised { ", minimised" } else { "" }
                    ));
                }
                // Start again from a fresh process and good peer.
                target.stop().await;
                report.restarts += 1;
                target = Target::start(&cmd, socket_type, opts.timeout_scale).await?;
                prior.clear();
                continue;
            }
            prior.push(this);
            if prior.len() > 3 {
                prior.remove(0);
            }
        }
        report.per_type.push((socket_type.clone(), i));
        target.stop().await;
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.per_second = report.iterations as f64 / report.seconds.max(0.001);
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(opts.out.join("report.json"), text)
        .map_err(|e| format!("{}: {e}", opts.out.display()))?;
    Ok(report)
}

/// Loads a finding file.
pub fn load_finding(path: &Path) -> Result<Finding, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_sessions_deliver_their_messages() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let s = mutate::valid_session("PUSH", 1, &mut rng);
        assert!(!deliverable(&s).is_empty());
        // A session that breaks at the greeting delivers nothing.
        let mut bad = s.clone();
        bad[12] = b'X';
        assert!(deliverable(&bad).is_empty());
        // A stream read as ZMTP 1.0 (first octet not 0xFF): identity, then a message.
        let legacy = deliverable(b"\x01\x00\x03\x00hi");
        assert!(legacy.contains(&vec![b"hi".to_vec()]), "{legacy:?}");
    }

    #[test]
    fn sessions_are_reproducible_from_the_seed() {
        let a = session(9, 17, "PUSH", &[]);
        let b = session(9, 17, "PUSH", &[]);
        assert_eq!(a, b);
        assert_ne!(a, session(9, 18, "PUSH", &[]));
    }
}
