//! One connected pair of ends (driver or raw peer) and the timed transfer between them.

use super::raw::{self, BurstEncoder};
use super::{Cell, Pattern, PerfConfig, PerfError, SETUP_TIMEOUT, Sample, Setup, Spread};
use crate::driver::DriverProcess;
use crate::driver::protocol::messages::{BurstArgs, DrainArgs};
use crate::peer::{CloseHow, PeerConn};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sending end of a transfer.
pub enum Tx<'a> {
    /// A driver's socket, sending with `send_burst`.
    Driver(&'a mut DriverProcess, &'a str),
    /// The raw peer.
    Raw(&'a PeerConn),
}

/// The receiving end of a transfer.
pub enum Rx<'a> {
    /// A driver's socket, receiving with `drain`.
    Driver(&'a mut DriverProcess, &'a str),
    /// The raw peer, counting.
    Raw(&'a PeerConn),
}

/// What every message of a transfer looks like, and how long to wait.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The topic at the start of every message.
    pub topic: Vec<u8>,
    /// The burst `size`.
    pub size: usize,
    /// Frames the receiving driver strips (ROUTER: 1).
    pub strip_prefix: u64,
    /// Silence after which the receiver stops (messages dropped by a PUB never come).
    pub quiet: Duration,
    /// Bound on the whole transfer.
    pub timeout: Duration,
}

impl Shape {
    /// The length of every message's one frame.
    pub fn frame_len(&self) -> usize {
        self.size.max(self.topic.len() + 24)
    }
}

/// Sends `count` burst messages from `first_seq` from `tx` to `rx` and times them: from the
/// sender's start to the last message's arrival, with no driver-protocol line in between.
pub async fn transfer(
    tx: Tx<'_>,
    rx: Rx<'_>,
    shape: &Shape,
    first_seq: u64,
    count: u64,
) -> Result<Sample, PerfError> {
    let timeout_ms = shape.timeout.as_millis() as u64;
    let base = match &rx {
        Rx::Raw(c) => raw::counters(c),
        Rx::Driver(..) => (0, 0),
    };
    let send = async {
        match tx {
            Tx::Driver(d, socket) => {
                let args = BurstArgs {
                    socket: socket.to_string(),
                    count,
                    first_seq,
                    topic_hex: hex::encode(&shape.topic),
                    size: shape.size as u64,
                    parts: 1,
                    prefix_hex: Vec::new(),
                    dontwait: false,
                    stop_on_would_block: true,
                    timeout_ms,
                };
                let r = d.send_burst(&args).await;
                let at = Instant::now();
                let r = r?;
                Ok::<_, PerfError>((
                    at.checked_sub(Duration::from_micros(r.elapsed_us))
                        .unwrap_or(at),
                    r.accepted,
                ))
            }
            Tx::Raw(c) => {
                let enc = BurstEncoder::new(&shape.topic, shape.size);
                Ok((
                    raw::send(c, &enc, first_seq, count, shape.timeout).await?,
                    count,
                ))
            }
        }
    };
    let receive = async {
        match rx {
            Rx::Driver(d, socket) => {
                let args = DrainArgs {
                    socket: socket.to_string(),
                    max_messages: count,
                    quiet_ms: shape.quiet.as_millis() as u64,
                    timeout_ms,
                    strip_prefix: shape.strip_prefix,
                    other_limit: 0,
                };
                let r = d.drain(&args).await;
                let at = Instant::now();
                let (_, report) = r?;
                let end = if report.stopped == "quiet" {
                    at.checked_sub(shape.quiet).unwrap_or(at)
                } else {
                    at
                };
                Ok::<_, PerfError>((
                    Some(end),
                    report.messages,
                    report.messages * shape.frame_len() as u64,
                ))
            }
            Rx::Raw(c) => {
                let r = raw::receive(c, base, count, shape.quiet, shape.timeout).await;
                Ok((r.last_at, r.messages, r.octets))
            }
        }
    };
    let (sent, received) = tokio::join!(send, receive);
    let (start, sent) = sent?;
    let (end, received, octets) = received?;
    let seconds = end
        .unwrap_or_else(Instant::now)
        .saturating_duration_since(start)
        .as_secs_f64();
    Ok(Sample {
        sent,
        received,
        octets,
        seconds,
    })
}

/// The sockets and raw peer of one pattern in one set-up.
struct Link {
    /// The sending socket on the implementation.
    tx: Option<String>,
    /// The receiving socket on the implementation (`RawToIut`) or the second (`IutToIut2`).
    rx: Option<String>,
    raw: Option<Arc<PeerConn>>,
}

async fn bound(
    d: &mut DriverProcess,
    socket_type: &str,
    sub: Option<&[u8]>,
) -> Result<(String, String), PerfError> {
    let s = d.socket(socket_type).await?;
    if let Some(topic) = sub {
        let r = d.setsockopt(&s, "subscribe", hex::encode(topic)).await?;
        d.require_ok("setsockopt", r)?;
    }
    let endpoint = d.bind(&s, "tcp://127.0.0.1:0").await?;
    Ok((s, endpoint))
}

async fn open(
    iut: &mut DriverProcess,
    iut2: &mut DriverProcess,
    pattern: Pattern,
    setup: Setup,
) -> Result<Link, PerfError> {
    let sub = pattern.subscription();
    match setup {
        Setup::IutToRaw => {
            let (s, ep) = bound(iut, pattern.sender(), None).await?;
            let raw = raw::connect(&ep, pattern.receiver(), sub, SETUP_TIMEOUT).await?;
            Ok(Link {
                tx: Some(s),
                rx: None,
                raw: Some(raw),
            })
        }
        Setup::RawToIut => {
            let (s, ep) = bound(iut, pattern.receiver(), sub).await?;
            let raw = raw::connect(&ep, pattern.sender(), None, SETUP_TIMEOUT).await?;
            if sub.is_some() {
                raw.wait_until("the SUB's subscription", SETUP_TIMEOUT, |s| {
                    !s.subscriptions().is_empty()
                })
                .await?;
            }
            Ok(Link {
                tx: None,
                rx: Some(s),
                raw: Some(raw),
            })
        }
        Setup::IutToIut2 => {
            let (r, ep) = bound(iut2, pattern.receiver(), sub).await?;
            let s = iut.socket(pattern.sender()).await?;
            let c = iut.connect(&s, &ep).await?;
            iut.require_ok("connect", c)?;
            Ok(Link {
                tx: Some(s),
                rx: Some(r),
                raw: None,
            })
        }
    }
}

impl Link {
    fn ends<'a>(
        &'a self,
        iut: &'a mut DriverProcess,
        iut2: &'a mut DriverProcess,
        setup: Setup,
    ) -> Result<(Tx<'a>, Rx<'a>), PerfError> {
        let missing = || PerfError::Setup("link incomplete".into());
        Ok(match setup {
            Setup::IutToRaw => (
                Tx::Driver(iut, self.tx.as_deref().ok_or_else(missing)?),
                Rx::Raw(self.raw.as_deref().ok_or_else(missing)?),
            ),
            Setup::RawToIut => (
                Tx::Raw(self.raw.as_deref().ok_or_else(missing)?),
                Rx::Driver(iut, self.rx.as_deref().ok_or_else(missing)?),
            ),
            Setup::IutToIut2 => (
                Tx::Driver(iut, self.tx.as_deref().ok_or_else(missing)?),
                Rx::Driver(iut2, self.rx.as_deref().ok_or_else(missing)?),
            ),
        })
    }

    async fn close(self, iut: &mut DriverProcess, iut2: &mut DriverProcess, setup: Setup) {
        if let Some(raw) = &self.raw {
            raw.close(CloseHow::Rst).await;
        }
        if let Some(s) = &self.tx {
            let _ = iut.close(s, Some(0)).await;
        }
        if let Some(s) = &self.rx {
            let d = if setup == Setup::IutToIut2 { iut2 } else { iut };
            let _ = d.close(s, Some(0)).await;
        }
    }
}

/// A cell with an error instead of numbers.
pub fn failed_cell(pattern: Pattern, setup: Setup, size: usize, error: String) -> Cell {
    let topic = pattern.topic().len();
    Cell {
        pattern,
        setup,
        size,
        frame_octets: size.max(topic + 24),
        count: 0,
        samples: Vec::new(),
        msgs_per_s: None,
        mb_per_s: None,
        delivered: None,
        error: Some(error),
    }
}

/// Opens the pattern's link in the set-up and measures every size on it.
pub async fn measure_pattern(
    iut: &mut DriverProcess,
    iut2: &mut DriverProcess,
    pattern: Pattern,
    setup: Setup,
    config: &PerfConfig,
    sink: &mut dyn FnMut(Cell),
) -> Result<(), PerfError> {
    let link = open(iut, iut2, pattern, setup).await?;
    let mut result = Ok(());
    let mut seq = 0u64;
    for &size in &config.sizes {
        match measure_size(&link, iut, iut2, pattern, setup, size, config, &mut seq).await {
            Ok(cell) => sink(cell),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    link.close(iut, iut2, setup).await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn measure_size(
    link: &Link,
    iut: &mut DriverProcess,
    iut2: &mut DriverProcess,
    pattern: Pattern,
    setup: Setup,
    size: usize,
    config: &PerfConfig,
    seq: &mut u64,
) -> Result<Cell, PerfError> {
    let mut shape = Shape {
        topic: pattern.topic().to_vec(),
        size,
        strip_prefix: pattern.strip_prefix(),
        quiet: Duration::from_millis(100),
        timeout: config.run * 20 + Duration::from_secs(10),
    };
    // Warm up: until one message gets through (a PUB drops until it has the subscription).
    let mut through = false;
    for _ in 0..50 {
        let (tx, rx) = link.ends(iut, iut2, setup)?;
        let s = transfer(tx, rx, &shape, *seq, 1).await?;
        *seq += 1;
        if s.received > 0 {
            through = true;
            break;
        }
    }
    if !through {
        return Err(PerfError::Setup(
            "no message got through in 50 warm-up attempts".into(),
        ));
    }
    shape.quiet = if pattern.drops() {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(2)
    };
    // Calibrate: about a tenth of a run's worth of 20 MB, then size the runs from its rate.
    let frame = shape.frame_len() as u64;
    let guess = (2_000_000 / frame).clamp(50, 20_000);
    let (tx, rx) = link.ends(iut, iut2, setup)?;
    let calib = transfer(tx, rx, &shape, *seq, guess).await?;
    *seq += guess;
    let count = ((calib.msgs_per_s() * config.run.as_secs_f64()) as u64).clamp(20, 20_000_000);
    let mut samples = Vec::new();
    for _ in 0..config.runs {
        let (tx, rx) = link.ends(iut, iut2, setup)?;
        samples.push(transfer(tx, rx, &shape, *seq, count).await?);
        *seq += count;
    }
    let sent: u64 = samples.iter().map(|s| s.sent).sum();
    let received: u64 = samples.iter().map(|s| s.received).sum();
    Ok(Cell {
        pattern,
        setup,
        size,
        frame_octets: shape.frame_len(),
        count,
        msgs_per_s: Spread::of(samples.iter().map(Sample::msgs_per_s)),
        mb_per_s: Spread::of(samples.iter().map(Sample::mb_per_s)),
        delivered: (sent > 0).then(|| received as f64 / sent as f64),
        samples,
        error: None,
    })
}
