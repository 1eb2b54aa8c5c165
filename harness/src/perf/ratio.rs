//! Is the raw peer ever the bottleneck? (issue 12, item 4)
//!
//! The raw peer as a sink for a libzmq PUSH is compared with a libzmq PULL receiving from a
//! libzmq PUSH, and the raw peer as a source (raw PUSH → libzmq PULL) with the same libzmq
//! PUSH → libzmq PULL, in one run: every round measures the three transfers one after another,
//! in an order that rotates from round to round, so the machine's noise hits all three. A
//! round's ratio is the raw peer's rate over the libzmq reference's rate in the same round.
//! The goals: at least 0.9 at 64 octets and below, at least 0.95 from 1 KiB up.

use super::link::{Rx, Shape, Tx, transfer};
use super::raw;
use super::{PerfError, SETUP_TIMEOUT, Sample, Spread, start_driver, stop_driver};
use crate::driver::{DriverCommand, DriverProcess};
use serde::Serialize;
use std::time::Duration;

/// What to measure.
#[derive(Debug, Clone)]
pub struct RatioConfig {
    /// The libzmq driver (`resolve("libzmq")`).
    pub libzmq: DriverCommand,
    /// Message sizes (burst `size`).
    pub sizes: Vec<usize>,
    /// Rounds per size.
    pub rounds: usize,
    /// Target length of one transfer.
    pub transfer: Duration,
}

/// The ratios of one direction at one size.
#[derive(Debug, Clone, Serialize)]
pub struct RatioRow {
    /// `sink` (libzmq PUSH → raw peer) or `source` (raw peer → libzmq PULL).
    pub direction: String,
    /// The burst `size`.
    pub size: usize,
    /// The real frame length.
    pub frame_octets: usize,
    /// Messages per transfer.
    pub count: u64,
    /// The raw peer's transfers, messages per second.
    pub raw_msgs_per_s: Option<Spread>,
    /// The libzmq reference's transfers (the same in both directions), messages per second.
    pub libzmq_msgs_per_s: Option<Spread>,
    /// Per-round ratio raw / libzmq.
    pub ratio: Option<Spread>,
    /// The goal for the median ratio.
    pub goal: f64,
    /// Whether the median ratio meets the goal.
    pub met: bool,
}

/// The result of a ratio run.
#[derive(Debug, Clone, Serialize)]
pub struct RatioReport {
    /// libzmq's version as its driver reports it.
    pub libzmq: String,
    /// Rounds per size.
    pub rounds: usize,
    /// The rows, sink then source per size.
    pub rows: Vec<RatioRow>,
}

/// The goal for a size: 0.9 up to 64 octets, 0.95 above.
pub fn goal(size: usize) -> f64 {
    if size <= 64 { 0.9 } else { 0.95 }
}

struct Sockets {
    /// On the sender process: PUSH to the raw sink, PUSH to the libzmq PULL.
    push_raw: String,
    push_ref: String,
    /// On the receiver process: PULL from the raw source, PULL from the libzmq PUSH.
    pull_raw: String,
    pull_ref: String,
    raw_sink: std::sync::Arc<crate::peer::PeerConn>,
    raw_source: std::sync::Arc<crate::peer::PeerConn>,
}

async fn open(a: &mut DriverProcess, b: &mut DriverProcess) -> Result<Sockets, PerfError> {
    let push_raw = a.socket("PUSH").await?;
    let ep = a.bind(&push_raw, "tcp://127.0.0.1:0").await?;
    let raw_sink = raw::connect(&ep, "PULL", None, SETUP_TIMEOUT).await?;
    let pull_ref = b.socket("PULL").await?;
    let ep = b.bind(&pull_ref, "tcp://127.0.0.1:0").await?;
    let push_ref = a.socket("PUSH").await?;
    let r = a.connect(&push_ref, &ep).await?;
    a.require_ok("connect", r)?;
    let pull_raw = b.socket("PULL").await?;
    let ep = b.bind(&pull_raw, "tcp://127.0.0.1:0").await?;
    let raw_source = raw::connect(&ep, "PUSH", None, SETUP_TIMEOUT).await?;
    Ok(Sockets {
        push_raw,
        push_ref,
        pull_raw,
        pull_ref,
        raw_sink,
        raw_source,
    })
}

#[derive(Clone, Copy)]
enum Which {
    Reference,
    Sink,
    Source,
}

async fn one(
    which: Which,
    s: &Sockets,
    a: &mut DriverProcess,
    b: &mut DriverProcess,
    shape: &Shape,
    seq: &mut u64,
    count: u64,
) -> Result<Sample, PerfError> {
    let (tx, rx) = match which {
        Which::Reference => (Tx::Driver(a, &s.push_ref), Rx::Driver(b, &s.pull_ref)),
        Which::Sink => (Tx::Driver(a, &s.push_raw), Rx::Raw(&s.raw_sink)),
        Which::Source => (Tx::Raw(&s.raw_source), Rx::Driver(b, &s.pull_raw)),
    };
    let r = transfer(tx, rx, shape, *seq, count).await;
    *seq += count;
    r
}

/// Measures the ratios; `progress` is told each finished row.
pub async fn run(
    config: &RatioConfig,
    mut progress: impl FnMut(&RatioRow),
) -> Result<RatioReport, PerfError> {
    let mut a = start_driver(&config.libzmq).await?;
    let mut b = match start_driver(&config.libzmq).await {
        Ok(b) => b,
        Err(e) => {
            stop_driver(a).await;
            return Err(e);
        }
    };
    let r = measure(config, &mut a, &mut b, &mut progress).await;
    let libzmq = a
        .info()
        .map(|h| format!("{} {}", h.library, h.library_version))
        .unwrap_or_default();
    stop_driver(a).await;
    stop_driver(b).await;
    Ok(RatioReport {
        libzmq,
        rounds: config.rounds,
        rows: r?,
    })
}

async fn measure(
    config: &RatioConfig,
    a: &mut DriverProcess,
    b: &mut DriverProcess,
    progress: &mut impl FnMut(&RatioRow),
) -> Result<Vec<RatioRow>, PerfError> {
    let s = open(a, b).await?;
    let mut rows = Vec::new();
    let mut seq = 0u64;
    for &size in &config.sizes {
        let shape = Shape {
            topic: Vec::new(),
            size,
            strip_prefix: 0,
            quiet: Duration::from_secs(2),
            timeout: config.transfer * 20 + Duration::from_secs(10),
        };
        let guess = (2_000_000 / shape.frame_len() as u64).clamp(50, 20_000);
        for which in [Which::Reference, Which::Sink, Which::Source] {
            one(which, &s, a, b, &shape, &mut seq, guess).await?;
        }
        let calib = one(Which::Reference, &s, a, b, &shape, &mut seq, guess).await?;
        let count =
            ((calib.msgs_per_s() * config.transfer.as_secs_f64()) as u64).clamp(20, 50_000_000);
        let (mut reference, mut sink, mut source) = (Vec::new(), Vec::new(), Vec::new());
        let order = [Which::Reference, Which::Sink, Which::Source];
        for round in 0..config.rounds {
            for k in 0..3 {
                let which = order[(round + k) % 3];
                let rate = one(which, &s, a, b, &shape, &mut seq, count)
                    .await?
                    .msgs_per_s();
                match which {
                    Which::Reference => reference.push(rate),
                    Which::Sink => sink.push(rate),
                    Which::Source => source.push(rate),
                }
            }
        }
        for (direction, raw_rates) in [("sink", &sink), ("source", &source)] {
            let ratio = Spread::of(raw_rates.iter().zip(&reference).map(|(r, l)| r / l));
            let row = RatioRow {
                direction: direction.into(),
                size,
                frame_octets: shape.frame_len(),
                count,
                raw_msgs_per_s: Spread::of(raw_rates.iter().copied()),
                libzmq_msgs_per_s: Spread::of(reference.iter().copied()),
                met: ratio.is_some_and(|r| r.median >= goal(size)),
                ratio,
                goal: goal(size),
            };
            progress(&row);
            rows.push(row);
        }
    }
    s.raw_sink.close(crate::peer::CloseHow::Rst).await;
    s.raw_source.close(crate::peer::CloseHow::Rst).await;
    Ok(rows)
}

/// The ratio table.
pub fn render(report: &RatioReport) -> String {
    use comfy_table::Table;
    let mut t = Table::new();
    *t.style_mut() = comfy_table::presets::UTF8_BORDERS_ONLY;
    t.set_header(vec![
        "raw peer as",
        "size",
        "msgs/transfer",
        "raw msg/s",
        "libzmq→libzmq msg/s",
        "ratio median (min–max)",
        "goal",
        "met",
    ]);
    for r in &report.rows {
        let m = |s: Option<Spread>| {
            s.map(|s| super::human(s.median))
                .unwrap_or_else(|| "·".into())
        };
        t.add_row(vec![
            r.direction.clone(),
            format!("{} ({})", super::table::size_name(r.size), r.frame_octets),
            r.count.to_string(),
            m(r.raw_msgs_per_s),
            m(r.libzmq_msgs_per_s),
            r.ratio
                .map(|s| format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max))
                .unwrap_or_else(|| "·".into()),
            format!("≥ {:.2}", r.goal),
            if r.met { "yes" } else { "NO" }.into(),
        ]);
    }
    format!(
        "raw peer vs {} · {} interleaved round(s) per size\n{t}\n",
        report.libzmq, report.rounds
    )
}
