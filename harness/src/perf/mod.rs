//! `zmtp-harness perf`: a performance suite, separate from conformance.
//!
//! Throughput (messages/s, MB/s) of PUSH→PULL, PUB→SUB (with and without a filter) and
//! DEALER→ROUTER at several message sizes, in three set-ups: the implementation sending to the
//! raw peer, the raw peer sending to the implementation, and the implementation sending to a
//! second implementation (`--iut2`, or a second process of the same one). Drivers send with
//! `send_burst` and receive with `drain` (spec/driver-protocol.md), so no JSON line is in the
//! timed path: a transfer is timed from the sender's start (the harness's clock at the burst
//! reply minus the burst's own `elapsed_us`; for the raw peer, its first write) to the arrival
//! of the last message (the drain's reply, minus `quiet_ms` when it stopped on silence; for
//! the raw peer, the read that brought the last message). Each cell is calibrated, then run
//! several times, and reported as min / median / max.
//!
//! REQ/REP latency ([`latency`]): the implementation's REQ makes round trips inside its driver
//! (`ping_pong`, timed there) and its REP answers inside the driver (`echo`), against the raw
//! peer both ways and against the second implementation; the raw peer's own floor (raw REQ ↔
//! raw REP over TCP) is the last row. [`ratio`] measures whether the raw peer keeps up with
//! libzmq (issue 12, item 4).

pub mod latency;
mod link;
pub mod ratio;
pub mod raw;
mod stats;
pub mod table;

pub use link::{Rx, Tx, transfer};
pub use raw::LatencyRun;
pub use stats::{Spread, human};
pub use table::{render_latency, render_table};

use crate::driver::{DriverCommand, DriverError, DriverProcess};
use crate::peer::PeerError;
use serde::Serialize;
use std::time::Duration;

/// Why a measurement could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    /// A driver failed or refused.
    #[error("driver: {0}")]
    Driver(#[from] DriverError),
    /// The raw peer failed.
    #[error("raw peer: {0}")]
    Peer(#[from] PeerError),
    /// The set-up could not be made.
    #[error("{0}")]
    Setup(String),
}

/// A throughput pattern: who sends, who receives, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// PUSH → PULL.
    PushPull,
    /// PUB → SUB subscribed to everything.
    PubSub,
    /// PUB → SUB subscribed to the topic `perf`, which every message carries.
    PubSubFilter,
    /// DEALER → ROUTER (the ROUTER's receive strips the routing id).
    DealerRouter,
}

impl Pattern {
    /// Every pattern, in table order.
    pub const ALL: [Pattern; 4] = [
        Pattern::PushPull,
        Pattern::PubSub,
        Pattern::PubSubFilter,
        Pattern::DealerRouter,
    ];

    /// The name shown in tables.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::PushPull => "PUSH→PULL",
            Pattern::PubSub => "PUB→SUB",
            Pattern::PubSubFilter => "PUB→SUB filter",
            Pattern::DealerRouter => "DEALER→ROUTER",
        }
    }

    /// The sending socket type.
    pub fn sender(self) -> &'static str {
        match self {
            Pattern::PushPull => "PUSH",
            Pattern::PubSub | Pattern::PubSubFilter => "PUB",
            Pattern::DealerRouter => "DEALER",
        }
    }

    /// The receiving socket type.
    pub fn receiver(self) -> &'static str {
        match self {
            Pattern::PushPull => "PULL",
            Pattern::PubSub | Pattern::PubSubFilter => "SUB",
            Pattern::DealerRouter => "ROUTER",
        }
    }

    /// The topic every message starts with.
    pub fn topic(self) -> &'static [u8] {
        match self {
            Pattern::PubSubFilter => b"perf",
            _ => b"",
        }
    }

    /// What the receiver subscribes to (SUB only).
    pub fn subscription(self) -> Option<&'static [u8]> {
        match self {
            Pattern::PubSub => Some(b""),
            Pattern::PubSubFilter => Some(b"perf"),
            _ => None,
        }
    }

    /// Frames the receiving driver strips before classifying (the ROUTER's routing id).
    pub fn strip_prefix(self) -> u64 {
        u64::from(self == Pattern::DealerRouter)
    }

    /// Whether the sender drops at its high-water mark instead of waiting (PUB).
    pub fn drops(self) -> bool {
        self.subscription().is_some()
    }
}

/// Who sends to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Setup {
    /// The implementation sends, the raw peer receives.
    IutToRaw,
    /// The raw peer sends, the implementation receives.
    RawToIut,
    /// The implementation sends, the second implementation receives.
    IutToIut2,
}

impl Setup {
    /// Every set-up, in table order.
    pub const ALL: [Setup; 3] = [Setup::IutToRaw, Setup::RawToIut, Setup::IutToIut2];

    /// The column title.
    pub fn name(self) -> &'static str {
        match self {
            Setup::IutToRaw => "iut → raw",
            Setup::RawToIut => "raw → iut",
            Setup::IutToIut2 => "iut → iut2",
        }
    }
}

/// One timed transfer.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Messages the sender offered.
    pub sent: u64,
    /// Messages that arrived.
    pub received: u64,
    /// Message octets that arrived.
    pub octets: u64,
    /// From the sender's start to the last message's arrival.
    pub seconds: f64,
}

impl Sample {
    /// Messages per second.
    pub fn msgs_per_s(&self) -> f64 {
        self.received as f64 / self.seconds.max(1e-9)
    }

    /// Megabytes (10^6 octets) of message payload per second.
    pub fn mb_per_s(&self) -> f64 {
        self.octets as f64 / 1e6 / self.seconds.max(1e-9)
    }
}

/// One cell of the table: a pattern, a set-up and a size, run several times.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The pattern.
    pub pattern: Pattern,
    /// The set-up.
    pub setup: Setup,
    /// The `size` asked for.
    pub size: usize,
    /// The real frame length (a burst frame is at least its topic plus a 24-octet header).
    pub frame_octets: usize,
    /// Messages per timed run (from the calibration run).
    pub count: u64,
    /// The timed runs.
    pub samples: Vec<Sample>,
    /// Messages per second over the runs.
    pub msgs_per_s: Option<Spread>,
    /// MB/s over the runs.
    pub mb_per_s: Option<Spread>,
    /// Share of the sent messages that arrived (below 1 for PUB, which drops at its HWM).
    pub delivered: Option<f64>,
    /// Why the cell has no numbers, if it has none.
    pub error: Option<String>,
}

/// REQ/REP latency of one set-up and size.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyCell {
    /// Which ends: `iut REQ → raw REP`, `raw REQ → iut REP`, `iut REQ → iut2 REP`, or the
    /// raw peer's floor `raw REQ ↔ raw REP`.
    pub setup: String,
    /// Payload octets.
    pub size: usize,
    /// The runs.
    pub runs: Vec<LatencyRun>,
    /// Median round trip over the runs.
    pub p50_us: Option<Spread>,
    /// 99th percentile over the runs.
    pub p99_us: Option<Spread>,
    /// Maximum over the runs.
    pub max_us: Option<Spread>,
    /// Why there are no numbers, if there are none.
    pub error: Option<String>,
}

/// The whole `perf` result (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct PerfReport {
    /// The harness version.
    pub harness: String,
    /// The implementation (`hello`: implementation and library version).
    pub iut: String,
    /// The second implementation.
    pub iut2: String,
    /// Target length of one timed run, milliseconds.
    pub run_ms: u64,
    /// Timed runs per cell.
    pub runs: usize,
    /// The throughput cells.
    pub cells: Vec<Cell>,
    /// The latency cells.
    pub latency: Vec<LatencyCell>,
    /// What the numbers mean and what is not measured.
    pub notes: Vec<String>,
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct PerfConfig {
    /// The implementation.
    pub iut: DriverCommand,
    /// The second implementation (default: a second process of the first).
    pub iut2: Option<DriverCommand>,
    /// Patterns to run.
    pub patterns: Vec<Pattern>,
    /// Set-ups to run.
    pub setups: Vec<Setup>,
    /// Message sizes.
    pub sizes: Vec<usize>,
    /// Target length of one timed run.
    pub run: Duration,
    /// Timed runs per cell.
    pub runs: usize,
    /// Whether to measure REQ/REP latency (each set-up, and the raw peer's floor).
    pub latency: bool,
}

/// Bound on the set-up steps (connect, handshake, driver requests other than the transfer).
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts a driver and greets it.
pub async fn start_driver(command: &DriverCommand) -> Result<DriverProcess, PerfError> {
    let mut d = DriverProcess::spawn(command).await?;
    d.set_slack(SETUP_TIMEOUT);
    d.hello().await?;
    Ok(d)
}

fn describe(d: &DriverProcess) -> String {
    d.info()
        .map(|h| format!("{} ({} {})", d.label(), h.library, h.library_version))
        .unwrap_or_else(|| d.label().to_string())
}

/// Stops a driver politely, or kills it.
pub async fn stop_driver(mut d: DriverProcess) {
    if d.exit(Duration::from_secs(5)).await.is_err() {
        let _ = d.kill().await;
    }
}

/// Runs every cell of `config`; `progress` is told each finished cell.
pub async fn run(
    config: &PerfConfig,
    mut progress: impl FnMut(&Cell),
) -> Result<PerfReport, PerfError> {
    let mut iut = start_driver(&config.iut).await?;
    let mut iut2 = match start_driver(config.iut2.as_ref().unwrap_or(&config.iut)).await {
        Ok(d) => d,
        Err(e) => {
            stop_driver(iut).await;
            return Err(e);
        }
    };
    let mut cells = Vec::new();
    for &pattern in &config.patterns {
        for &setup in &config.setups {
            let done =
                link::measure_pattern(&mut iut, &mut iut2, pattern, setup, config, &mut |c| {
                    progress(&c);
                    cells.push(c);
                })
                .await;
            if let Err(e) = done {
                for &size in &config.sizes {
                    if !cells
                        .iter()
                        .any(|c: &Cell| c.pattern == pattern && c.setup == setup && c.size == size)
                    {
                        let c = link::failed_cell(pattern, setup, size, e.to_string());
                        progress(&c);
                        cells.push(c);
                    }
                }
            }
        }
    }
    let mut latency = Vec::new();
    if config.latency {
        for &setup in &config.setups {
            latency.extend(latency::measure_setup(&mut iut, &mut iut2, setup, config).await);
        }
    }
    let report_iut = describe(&iut);
    let report_iut2 = describe(&iut2);
    stop_driver(iut).await;
    stop_driver(iut2).await;
    if config.latency {
        for &size in &config.sizes {
            latency.push(latency_cell(size, config).await);
        }
    }
    Ok(PerfReport {
        harness: env!("CARGO_PKG_VERSION").to_string(),
        iut: report_iut,
        iut2: report_iut2,
        run_ms: config.run.as_millis() as u64,
        runs: config.runs,
        cells,
        latency,
        notes: notes(),
    })
}

/// The notes every report carries.
pub fn notes() -> Vec<String> {
    vec![
        "A cell is the median (min–max) of its timed runs; each run is timed from the sender's \
         start to the last message's arrival, with no driver-protocol line in between."
            .into(),
        "Sizes are burst frame sizes: a burst frame is never shorter than its topic plus the \
         24-octet burst header, so size 1 sends 24-octet frames (28 with the `perf` topic)."
            .into(),
        "PUB drops at its high-water mark instead of waiting: PUB→SUB counts the messages that \
         arrived (`delivered` is the share), timed to the last one."
            .into(),
        "The raw peer counts messages without keeping them in perf runs; its octet transcript \
         keeps the first MiB per direction, as in every run."
            .into(),
        "REQ/REP latency: a driver's REQ times each round trip inside the driver (`ping_pong`), \
         a driver's REP answers inside the driver (`echo`), the raw peer times its own round \
         trips; no driver-protocol line is in the timed path. Each run is sized to the run \
         length from a 50-round-trip warm-up; p50/p99/max are nearest-rank percentiles of one \
         run, shown as the median (min–max) over the runs. `raw REQ ↔ raw REP` is the raw \
         peer's own floor over TCP."
            .into(),
    ]
}

/// The raw peer's own REQ/REP floor at `size`.
async fn latency_cell(size: usize, config: &PerfConfig) -> LatencyCell {
    let mut runs = Vec::new();
    let mut error = None;
    for _ in 0..config.runs {
        match raw::latency_floor(size, config.run, SETUP_TIMEOUT).await {
            Ok(r) => runs.push(r),
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    latency::cell("raw REQ ↔ raw REP", size, runs, error)
}
