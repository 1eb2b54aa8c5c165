//! The transcript: every octet a raw peer sent or received, with when.

use serde::{Deserialize, Serialize};

/// Which way octets went, from the raw peer's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received from the implementation.
    In,
    /// Sent to the implementation.
    Out,
}

/// Octets moved in one read or write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Microseconds since the case started.
    pub t_us: u64,
    /// Direction.
    pub dir: Direction,
    /// Offset of the first octet within its direction's stream.
    pub offset: u64,
    /// The octets (kept up to the transcript's limit).
    #[serde(serialize_with = "hex_ser", deserialize_with = "hex_de")]
    pub bytes: Vec<u8>,
}

fn hex_ser<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

fn hex_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    hex::decode(s).map_err(serde::de::Error::custom)
}

/// Both directions of one connection. Octets beyond `limit` per direction are counted but not
/// kept, so a 100 000-message burst does not fill memory with its report.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    /// The chunks, in time order.
    pub chunks: Vec<Chunk>,
    /// Total octets received.
    pub received: u64,
    /// Total octets sent.
    pub sent: u64,
    /// Octets received but not kept.
    pub dropped_in: u64,
    /// Octets sent but not kept.
    pub dropped_out: u64,
    #[serde(skip)]
    limit: u64,
}

impl Transcript {
    /// An empty transcript keeping at most `limit` octets per direction.
    pub fn new(limit: u64) -> Self {
        Transcript {
            chunks: Vec::new(),
            received: 0,
            sent: 0,
            dropped_in: 0,
            dropped_out: 0,
            limit,
        }
    }

    /// Records octets moved at `t_us`.
    pub fn record(&mut self, t_us: u64, dir: Direction, bytes: &[u8]) {
        let (total, dropped) = match dir {
            Direction::In => (&mut self.received, &mut self.dropped_in),
            Direction::Out => (&mut self.sent, &mut self.dropped_out),
        };
        let offset = *total;
        *total += bytes.len() as u64;
        let kept_before = offset - *dropped;
        let room = self.limit.saturating_sub(kept_before) as usize;
        let keep = bytes.len().min(room);
        *dropped += (bytes.len() - keep) as u64;
        if keep > 0 {
            self.chunks.push(Chunk {
                t_us,
                dir,
                offset,
                bytes: bytes[..keep].to_vec(),
            });
        }
    }

    /// The kept octets of one direction, concatenated.
    pub fn stream(&self, dir: Direction) -> Vec<u8> {
        self.chunks
            .iter()
            .filter(|c| c.dir == dir)
            .flat_map(|c| c.bytes.iter().copied())
            .collect()
    }

    /// A readable hex dump of the chunks (at most `max_octets` per chunk).
    pub fn render(&self, max_octets: usize) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for c in &self.chunks {
            let arrow = match c.dir {
                Direction::In => "<-",
                Direction::Out => "->",
            };
            let shown = &c.bytes[..c.bytes.len().min(max_octets)];
            let _ = write!(
                out,
                "{:>10.3} ms {arrow} @{:<6} {:>5} B  {}",
                c.t_us as f64 / 1000.0,
                c.offset,
                c.bytes.len(),
                hex::encode(shown)
            );
            if c.bytes.len() > max_octets {
                out.push('…');
            }
            out.push('\n');
        }
        if self.dropped_in + self.dropped_out > 0 {
            let _ = writeln!(
                out,
                "(not kept: {} octets in, {} out)",
                self.dropped_in, self.dropped_out
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_limit() {
        let mut t = Transcript::new(4);
        t.record(1, Direction::In, b"abc");
        t.record(2, Direction::In, b"def");
        t.record(3, Direction::Out, b"xy");
        assert_eq!(t.stream(Direction::In), b"abcd");
        assert_eq!((t.received, t.dropped_in, t.sent), (6, 2, 2));
    }
}
