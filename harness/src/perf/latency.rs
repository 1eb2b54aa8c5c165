//! REQ/REP round-trip latency: the implementation's REQ against the raw peer's REP, the raw
//! peer's REQ against the implementation's REP, and one implementation against another. A
//! driver makes its round trips with `ping_pong` and answers with `echo` (DRV-69, DRV-70), so
//! no driver-protocol line is in the timed path: `ping_pong` times each round trip inside the
//! driver, and the raw peer times its own.

use super::raw::{self, LatencyRun};
use super::{LatencyCell, PerfConfig, PerfError, SETUP_TIMEOUT, Setup, Spread};
use crate::driver::DriverProcess;
use crate::driver::protocol::roundtrip::{PING_PONG_MAX_COUNT, ping_payload};
use crate::driver::protocol::{EchoArgs, Outcome, PingPongArgs};
use crate::peer::{CloseHow, PeerConn};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Round trips of the warm-up that also sizes the timed runs.
const WARM_UP: u64 = 50;

/// The side that sends requests and times the round trips.
pub enum Pinger<'a> {
    /// A driver's REQ, with `ping_pong`.
    Driver(&'a mut DriverProcess, &'a str),
    /// The raw peer as REQ.
    Raw(&'a PeerConn),
}

/// The side that answers.
pub enum Echoer<'a> {
    /// A driver's REP, with `echo`.
    Driver(&'a mut DriverProcess, &'a str),
    /// The raw peer as REP.
    Raw(&'a PeerConn),
}

/// The round trips of one run: each one's time and the replies that differed from their
/// request.
#[derive(Debug, Clone, Default)]
pub struct Trips {
    /// Nanoseconds per completed round trip, in order.
    pub rtt_ns: Vec<u64>,
    /// Replies that were not their request's octets.
    pub mismatched: u64,
    /// Microseconds from the first request to the last reply (the pinger's clock).
    pub elapsed_us: u64,
}

/// The row title of a set-up's latency cell.
pub fn setup_name(setup: Setup) -> &'static str {
    match setup {
        Setup::IutToRaw => "iut REQ → raw REP",
        Setup::RawToIut => "raw REQ → iut REP",
        Setup::IutToIut2 => "iut REQ → iut2 REP",
    }
}

/// Waits for the raw peer's next message not yet taken (a request it has not answered) and
/// takes it; `None` if the connection closed first.
pub async fn raw_next(conn: &PeerConn, timeout: Duration) -> Result<Option<Vec<Bytes>>, PerfError> {
    conn.wait_until("a request", timeout, |s| {
        s.messages().next().is_some() || s.closed.is_some()
    })
    .await?;
    Ok(conn.take_messages().pop())
}

/// The raw peer as REP: answers `count` requests with their own frames. It waits for messages
/// it has not taken yet, not for a count, so a request that arrived before it started counts.
pub async fn raw_echo(conn: &PeerConn, count: u64, timeout: Duration) -> Result<u64, PerfError> {
    let deadline = Instant::now() + timeout;
    for n in 0..count {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(request) = raw_next(conn, left).await? else {
            return Err(PerfError::Setup(format!(
                "the raw REP's connection closed after {n} requests"
            )));
        };
        let parts: Vec<Vec<u8>> = request.iter().map(|p| p.to_vec()).collect();
        let left = deadline.saturating_duration_since(Instant::now());
        conn.send_message(&parts, left).await?;
    }
    Ok(count)
}

/// The raw peer as REQ: `count` round trips of `ping_payload(i, size)` behind the empty
/// delimiter, each timed from just before its write to the wake-up that brought the reply.
pub async fn raw_ping(
    conn: &PeerConn,
    count: u64,
    size: usize,
    timeout: Duration,
) -> Result<Trips, PerfError> {
    let deadline = Instant::now() + timeout;
    // A reply left over from an earlier, failed run is not one of ours.
    conn.take_messages();
    let base = conn.with(|s| s.message_count) as u64;
    let mut trips = Trips {
        rtt_ns: Vec::with_capacity(count as usize),
        ..Trips::default()
    };
    let start = Instant::now();
    for i in 0..count {
        let request = vec![Vec::new(), ping_payload(i, size)];
        let t0 = Instant::now();
        let left = deadline.saturating_duration_since(t0);
        conn.send_message(&request, left).await?;
        conn.wait_until("the reply", left, |s| {
            s.message_count as u64 > base + i || s.closed.is_some()
        })
        .await?;
        let rtt = t0.elapsed();
        let reply = conn.take_messages().pop().ok_or_else(|| {
            PerfError::Setup(format!("the raw REQ's connection closed after {i} replies"))
        })?;
        trips.rtt_ns.push(rtt.as_nanos() as u64);
        if reply.len() != request.len() || reply.iter().zip(&request).any(|(a, b)| a[..] != b[..]) {
            trips.mismatched += 1;
        }
    }
    trips.elapsed_us = start.elapsed().as_micros() as u64;
    Ok(trips)
}

/// `count` round trips of `size`-octet requests from `pinger` to `echoer`, timed by the pinger.
pub async fn round_trips(
    pinger: Pinger<'_>,
    echoer: Echoer<'_>,
    size: usize,
    count: u64,
    timeout: Duration,
) -> Result<Trips, PerfError> {
    let timeout_ms = timeout.as_millis() as u64;
    let ping = async {
        match pinger {
            Pinger::Driver(d, socket) => {
                let args = PingPongArgs {
                    socket: socket.to_string(),
                    count,
                    size: size as u64,
                    timeout_ms,
                };
                let (outcome, r) = d.ping_pong(&args).await?;
                if outcome != Outcome::Ok || r.round_trips != count {
                    return Err(PerfError::Setup(format!(
                        "ping_pong: {} of {count} round trips, stopped {}{}",
                        r.round_trips,
                        r.stopped,
                        r.first_error
                            .map(|e| format!(" ({} {})", e.code, e.message))
                            .unwrap_or_default()
                    )));
                }
                Ok(Trips {
                    rtt_ns: r.rtt_ns,
                    mismatched: r.mismatched,
                    elapsed_us: r.elapsed_us,
                })
            }
            Pinger::Raw(c) => raw_ping(c, count, size, timeout).await,
        }
    };
    let echo = async {
        match echoer {
            Echoer::Driver(d, socket) => {
                let args = EchoArgs {
                    socket: socket.to_string(),
                    count,
                    timeout_ms,
                };
                let (_, r) = d.echo(&args).await?;
                if r.served != count {
                    return Err(PerfError::Setup(format!(
                        "echo: served {} of {count}, stopped {}{}",
                        r.served,
                        r.stopped,
                        r.first_error
                            .map(|e| format!(" ({} {})", e.code, e.message))
                            .unwrap_or_default()
                    )));
                }
                Ok(r.served)
            }
            Echoer::Raw(c) => raw_echo(c, count, timeout).await,
        }
    };
    let (trips, served) = tokio::join!(ping, echo);
    served?;
    trips
}

/// The sockets and raw peer of one latency set-up.
struct Pair {
    /// The implementation's REQ (`IutToRaw`, `IutToIut2`) or REP (`RawToIut`).
    iut: String,
    /// The second implementation's REP (`IutToIut2`).
    iut2: Option<String>,
    raw: Option<Arc<PeerConn>>,
}

/// `unsupported` before anything starts, for a driver whose `hello.ops` lacks `op` (its
/// partner would otherwise wait for replies that never come).
fn require_op(d: &DriverProcess, op: &str) -> Result<(), PerfError> {
    let listed = d
        .info()
        .map(|h| h.ops.iter().any(|o| o == op))
        .unwrap_or(false);
    if listed {
        Ok(())
    } else {
        Err(PerfError::Setup(format!(
            "unsupported: {} has no `{op}` op",
            d.label()
        )))
    }
}

/// A raw peer of `socket_type` connected to `endpoint` that keeps messages (it answers them).
pub async fn raw_keeping(endpoint: &str, socket_type: &str) -> Result<Arc<PeerConn>, PerfError> {
    let raw = raw::connect(endpoint, socket_type, None, SETUP_TIMEOUT).await?;
    raw.set_count_only(false);
    Ok(raw)
}

async fn open(
    iut: &mut DriverProcess,
    iut2: &mut DriverProcess,
    setup: Setup,
) -> Result<Pair, PerfError> {
    let bound = async |d: &mut DriverProcess, ty: &str| -> Result<(String, String), PerfError> {
        let s = d.socket(ty).await?;
        let ep = d.bind(&s, "tcp://127.0.0.1:0").await?;
        Ok((s, ep))
    };
    match setup {
        Setup::IutToRaw => {
            require_op(iut, "ping_pong")?;
            let (s, ep) = bound(iut, "REQ").await?;
            Ok(Pair {
                iut: s,
                iut2: None,
                raw: Some(raw_keeping(&ep, "REP").await?),
            })
        }
        Setup::RawToIut => {
            require_op(iut, "echo")?;
            let (s, ep) = bound(iut, "REP").await?;
            Ok(Pair {
                iut: s,
                iut2: None,
                raw: Some(raw_keeping(&ep, "REQ").await?),
            })
        }
        Setup::IutToIut2 => {
            require_op(iut, "ping_pong")?;
            require_op(iut2, "echo")?;
            let (r, ep) = bound(iut2, "REP").await?;
            let s = iut.socket("REQ").await?;
            let c = iut.connect(&s, &ep).await?;
            iut.require_ok("connect", c)?;
            Ok(Pair {
                iut: s,
                iut2: Some(r),
                raw: None,
            })
        }
    }
}

impl Pair {
    fn ends<'a>(
        &'a self,
        iut: &'a mut DriverProcess,
        iut2: &'a mut DriverProcess,
        setup: Setup,
    ) -> Result<(Pinger<'a>, Echoer<'a>), PerfError> {
        let missing = || PerfError::Setup("latency pair incomplete".into());
        Ok(match setup {
            Setup::IutToRaw => (
                Pinger::Driver(iut, &self.iut),
                Echoer::Raw(self.raw.as_deref().ok_or_else(missing)?),
            ),
            Setup::RawToIut => (
                Pinger::Raw(self.raw.as_deref().ok_or_else(missing)?),
                Echoer::Driver(iut, &self.iut),
            ),
            Setup::IutToIut2 => (
                Pinger::Driver(iut, &self.iut),
                Echoer::Driver(iut2, self.iut2.as_deref().ok_or_else(missing)?),
            ),
        })
    }

    async fn close(self, iut: &mut DriverProcess, iut2: &mut DriverProcess) {
        if let Some(raw) = &self.raw {
            raw.close(CloseHow::Rst).await;
        }
        let _ = iut.close(&self.iut, Some(0)).await;
        if let Some(s) = &self.iut2 {
            let _ = iut2.close(s, Some(0)).await;
        }
    }
}

/// Percentiles of round-trip times given in nanoseconds, in microseconds
/// ([`raw::latency_run`]: nearest rank on the sorted times).
pub fn run_of(rtt_ns: &[u64]) -> LatencyRun {
    raw::latency_run(rtt_ns.iter().map(|&ns| ns as f64 / 1e3).collect())
}

/// The latency cell of one set-up at every size: warm-up (which sizes the runs to about
/// `config.run` each), then `config.runs` timed runs per size.
pub async fn measure_setup(
    iut: &mut DriverProcess,
    iut2: &mut DriverProcess,
    setup: Setup,
    config: &PerfConfig,
) -> Vec<LatencyCell> {
    let pair = match open(iut, iut2, setup).await {
        Ok(p) => p,
        Err(e) => {
            return config
                .sizes
                .iter()
                .map(|&size| failed(setup_name(setup), size, e.to_string()))
                .collect();
        }
    };
    let mut cells = Vec::new();
    let mut broken: Option<String> = None;
    for &size in &config.sizes {
        if let Some(e) = &broken {
            cells.push(failed(setup_name(setup), size, e.clone()));
            continue;
        }
        let mut runs = Vec::new();
        let result = measure_size(&pair, iut, iut2, setup, size, config, &mut runs).await;
        let error = result.err().map(|e| e.to_string());
        // A failed round trip leaves a REQ waiting for its reply: the pair is unusable.
        broken.clone_from(&error);
        cells.push(cell(setup_name(setup), size, runs, error));
    }
    pair.close(iut, iut2).await;
    cells
}

async fn measure_size(
    pair: &Pair,
    iut: &mut DriverProcess,
    iut2: &mut DriverProcess,
    setup: Setup,
    size: usize,
    config: &PerfConfig,
    runs: &mut Vec<LatencyRun>,
) -> Result<(), PerfError> {
    let timeout = config.run * 10 + SETUP_TIMEOUT;
    let (p, e) = pair.ends(iut, iut2, setup)?;
    let warm = round_trips(p, e, size, WARM_UP, timeout).await?;
    let mean_us = (warm.elapsed_us as f64 / WARM_UP as f64).max(1.0);
    let count = ((config.run.as_secs_f64() * 1e6 / mean_us) as u64).clamp(20, PING_PONG_MAX_COUNT);
    for _ in 0..config.runs {
        let (p, e) = pair.ends(iut, iut2, setup)?;
        let trips = round_trips(p, e, size, count, timeout).await?;
        let mut run = run_of(&trips.rtt_ns);
        run.mismatched = trips.mismatched;
        runs.push(run);
    }
    Ok(())
}

/// A latency cell from its runs.
pub fn cell(setup: &str, size: usize, runs: Vec<LatencyRun>, error: Option<String>) -> LatencyCell {
    LatencyCell {
        setup: setup.into(),
        size,
        p50_us: Spread::of(runs.iter().map(|r| r.p50_us)),
        p99_us: Spread::of(runs.iter().map(|r| r.p99_us)),
        max_us: Spread::of(runs.iter().map(|r| r.max_us)),
        runs,
        error,
    }
}

fn failed(setup: &str, size: usize, error: String) -> LatencyCell {
    cell(setup, size, Vec::new(), Some(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_nanosecond_round_trips() {
        // 1000 round trips of 1..=1000 µs, shuffled: nearest rank on the sorted times.
        let mut ns: Vec<u64> = (1..=1000u64).map(|us| us * 1000).collect();
        ns.reverse();
        ns.swap(3, 700);
        let r = run_of(&ns);
        assert_eq!(r.round_trips, 1000);
        // rank round(999 × 0.5) = 500 (0-based) → 501 µs; round(999 × 0.99) = 989 → 990 µs.
        assert_eq!((r.p50_us, r.p99_us, r.max_us), (501.0, 990.0, 1000.0));
        // One round trip is every percentile; none gives zeros, not a panic.
        let one = run_of(&[42_500]);
        assert_eq!((one.p50_us, one.p99_us, one.max_us), (42.5, 42.5, 42.5));
        let none = run_of(&[]);
        assert_eq!((none.round_trips, none.p50_us, none.max_us), (0, 0.0, 0.0));
    }

    #[test]
    fn a_cell_spreads_its_runs() {
        let runs = [30.0, 10.0, 20.0]
            .iter()
            .map(|&p50| LatencyRun {
                round_trips: 10,
                p50_us: p50,
                p99_us: p50 * 2.0,
                max_us: p50 * 3.0,
                mismatched: 0,
            })
            .collect();
        let c = cell("iut REQ → raw REP", 64, runs, None);
        let p50 = c.p50_us.unwrap();
        assert_eq!((p50.min, p50.median, p50.max), (10.0, 20.0, 30.0));
        assert_eq!(c.max_us.unwrap().median, 60.0);
    }
}
