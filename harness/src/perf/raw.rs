//! The raw peer as a fast source and sink: burst messages encoded in place into large writes,
//! and messages counted (not kept) as they are decoded.

use super::PerfError;
use crate::peer::{Clock, PeerConn, PeerSettings};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zmtp_driver_protocol::burst::{BURST_HEADER_LEN, BURST_MAGIC, pad_octet};

/// Octets gathered before one write.
const BATCH: usize = 128 * 1024;

/// Encodes burst messages (spec/driver-protocol.md §6) as ZMTP frames, straight into a
/// buffer: no allocation per message.
#[derive(Debug, Clone)]
pub struct BurstEncoder {
    topic: Vec<u8>,
    size: usize,
    pattern: Vec<u8>,
}

impl BurstEncoder {
    /// One-frame messages of `size` octets (at least topic plus header) starting with `topic`.
    pub fn new(topic: &[u8], size: usize) -> Self {
        BurstEncoder {
            topic: topic.to_vec(),
            size,
            pattern: (0..512).map(|i| i as u8).collect(),
        }
    }

    /// The length of each message's one frame.
    pub fn frame_len(&self) -> usize {
        self.size.max(self.topic.len() + BURST_HEADER_LEN)
    }

    /// Appends message `seq` (its ZMTP frame header and body) to `out`.
    pub fn encode(&self, seq: u64, out: &mut Vec<u8>) {
        let len = self.frame_len();
        if len > 255 {
            out.push(0x02);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        } else {
            out.push(0x00);
            out.push(len as u8);
        }
        let t = self.topic.len();
        out.extend_from_slice(&self.topic);
        out.extend_from_slice(&BURST_MAGIC);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&(t as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
        let mut k = t + BURST_HEADER_LEN;
        while k < len {
            let phase = pad_octet(k, seq) as usize;
            let n = (len - k).min(256);
            out.extend_from_slice(&self.pattern[phase..phase + n]);
            k += n;
        }
    }
}

/// Sends `count` burst messages from `first_seq` as fast as TCP takes them. Returns when the
/// sending started.
pub async fn send(
    conn: &PeerConn,
    enc: &BurstEncoder,
    first_seq: u64,
    count: u64,
    timeout: Duration,
) -> Result<Instant, PerfError> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut buf = Vec::with_capacity(BATCH + enc.frame_len() + 16);
    let end = first_seq + count;
    let mut seq = first_seq;
    while seq < end {
        buf.clear();
        while seq < end && buf.len() < BATCH {
            enc.encode(seq, &mut buf);
            seq += 1;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        conn.write(&buf, left).await?;
    }
    Ok(start)
}

/// What a counting sink saw.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Messages counted since the base.
    pub messages: u64,
    /// Frame-body octets counted since the base.
    pub octets: u64,
    /// When the last of them arrived.
    pub last_at: Option<Instant>,
}

/// The counters of a counting connection now: (messages, octets).
pub fn counters(conn: &PeerConn) -> (u64, u64) {
    conn.with(|s| (s.message_count as u64, s.message_octets))
}

/// Waits until `count` messages more than `base` arrived, or none arrived for `quiet`, or the
/// connection closed, or `timeout` passed.
pub async fn receive(
    conn: &PeerConn,
    base: (u64, u64),
    count: u64,
    quiet: Duration,
    timeout: Duration,
) -> Received {
    let deadline = Instant::now() + timeout;
    let target = base.0 + count;
    // One wake-up when the count is reached, not one per read.
    conn.set_wake_at(target);
    let mut last = base.0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = conn
            .wait_until("the burst's messages", quiet.min(left), |s| {
                s.message_count as u64 >= target || s.closed.is_some()
            })
            .await;
        let (n, closed) = conn.with(|s| (s.message_count as u64, s.closed.is_some()));
        if r.is_ok() || closed || n == last || left.is_zero() {
            break;
        }
        last = n;
    }
    conn.set_wake_at(0);
    let (n, octets, last_us) =
        conn.with(|s| (s.message_count as u64, s.message_octets, s.last_message_us));
    let messages = n - base.0;
    Received {
        messages,
        octets: octets - base.1,
        last_at: (messages > 0).then(|| conn.clock().epoch() + Duration::from_micros(last_us)),
    }
}

/// Connects a counting raw peer of `socket_type` to `endpoint` (tcp://host:port) and completes
/// its handshake (subscribing to `subscribe`, if any, as part of it).
pub async fn connect(
    endpoint: &str,
    socket_type: &str,
    subscribe: Option<&[u8]>,
    timeout: Duration,
) -> Result<Arc<PeerConn>, PerfError> {
    let addr = endpoint
        .strip_prefix("tcp://")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| PerfError::Setup(format!("not a TCP endpoint: {endpoint}")))?;
    let mut settings = PeerSettings::of_type(socket_type);
    if let Some(topic) = subscribe {
        settings.subscribe = vec![String::from_utf8_lossy(topic).into_owned()];
    }
    let conn = PeerConn::connect(
        &format!("raw-{}", socket_type.to_lowercase()),
        addr,
        settings,
        Clock::start(),
        timeout,
    )
    .await?;
    conn.set_count_only(true);
    conn.handshake(timeout).await?;
    Ok(Arc::new(conn))
}

/// Round-trip times of one latency run, in microseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyRun {
    /// Round trips made.
    pub round_trips: u64,
    /// Median round trip.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Longest.
    pub max_us: f64,
    /// Replies that were not their request's octets (0 where the run does not compare).
    pub mismatched: u64,
}

/// REQ/REP round trips between two raw peers over real TCP (the raw peer as REQ and as REP),
/// for `duration`: the harness's own floor, the latency it adds on each side.
pub async fn latency_floor(
    size: usize,
    duration: Duration,
    timeout: Duration,
) -> Result<LatencyRun, PerfError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| PerfError::Setup(format!("bind: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| PerfError::Setup(format!("bind: {e}")))?;
    let clock = Clock::start();
    let (accepted, req) = tokio::join!(
        tokio::time::timeout(timeout, listener.accept()),
        PeerConn::connect("req", addr, PeerSettings::of_type("REQ"), clock, timeout)
    );
    let req = req?;
    let (stream, _) = accepted
        .map_err(|_| PerfError::Setup("accept timed out".into()))?
        .map_err(|e| PerfError::Setup(format!("accept: {e}")))?;
    let rep = Arc::new(PeerConn::from_stream(
        "rep",
        stream,
        PeerSettings::of_type("REP"),
        clock,
        true,
    ));
    req.set_count_only(true);
    rep.set_count_only(true);
    let (a, b) = tokio::join!(req.handshake(timeout), rep.handshake(timeout));
    a?;
    b?;
    let payload = vec![0x5a; size];
    let echo = {
        let rep = rep.clone();
        let payload = payload.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            loop {
                n += 1;
                let ok = rep
                    .wait_until("a request", timeout, |s| {
                        s.message_count >= n || s.closed.is_some()
                    })
                    .await
                    .is_ok();
                if !ok || rep.is_closed() {
                    return;
                }
                if rep
                    .send_message(&[Vec::new(), payload.clone()], timeout)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        })
    };
    let mut rtts = Vec::new();
    let end = Instant::now() + duration;
    let mut n = 0usize;
    while Instant::now() < end {
        n += 1;
        let t = Instant::now();
        req.send_message(&[Vec::new(), payload.clone()], timeout)
            .await?;
        req.wait_until("the reply", timeout, |s| s.message_count >= n)
            .await?;
        rtts.push(t.elapsed().as_secs_f64() * 1e6);
    }
    req.close(crate::peer::CloseHow::Fin).await;
    let _ = tokio::time::timeout(timeout, echo).await;
    rep.close(crate::peer::CloseHow::Rst).await;
    Ok(latency_run(rtts))
}

/// Percentiles of round-trip times (microseconds): the value at nearest rank
/// `round((n - 1) × q)` of the sorted times, so p50 of 1..=100 is 51 and p99 is 99.
pub fn latency_run(mut rtts: Vec<f64>) -> LatencyRun {
    rtts.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if rtts.is_empty() {
            0.0
        } else {
            rtts[((rtts.len() - 1) as f64 * q).round() as usize]
        }
    };
    LatencyRun {
        round_trips: rtts.len() as u64,
        p50_us: at(0.5),
        p99_us: at(0.99),
        max_us: rtts.last().copied().unwrap_or(0.0),
        mismatched: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_matches_the_protocol_crate() {
        for (topic, size) in [
            (&b""[..], 1usize),
            (b"perf", 64),
            (b"", 1024),
            (b"", 70_000),
        ] {
            let enc = BurstEncoder::new(topic, size);
            for seq in [0u64, 1, 255, 1 << 40] {
                let mut out = Vec::new();
                enc.encode(seq, &mut out);
                let body = zmtp_driver_protocol::burst::encode_frame(topic, seq, 0, 1, size);
                let mut want = Vec::new();
                zmtp_codec::Frame::message(&body, false).encode(&mut want);
                assert_eq!(out, want, "topic {topic:?} size {size} seq {seq}");
            }
        }
    }

    #[test]
    fn percentiles() {
        let r = latency_run((1..=100).map(f64::from).collect());
        assert_eq!((r.round_trips, r.p50_us, r.max_us), (100, 51.0, 100.0));
        assert_eq!(r.p99_us, 99.0);
    }
}
