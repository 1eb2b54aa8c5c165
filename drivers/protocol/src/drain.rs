//! The drain accumulator: folds received messages into the compact `drain` report
//! (`spec/driver-protocol.md`, section "drain").

use crate::burst::{Classified, classify};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// Default for `other_limit`: how many non-burst messages a drain report carries in full.
pub const DEFAULT_OTHER_LIMIT: usize = 16;
/// How many `[first, last]` runs a report carries at most.
pub const MAX_RUNS: usize = 10_000;
/// How many distinct topics / prefixes a report carries at most.
pub const MAX_KEYS: usize = 64;
/// How many partial or malformed messages are kept as samples.
pub const MAX_BAD_SAMPLES: usize = 4;
/// Frames of a bad sample are cut to this many octets.
pub const SAMPLE_FRAME_CAP: usize = 256;

/// The burst part of a drain report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurstSummary {
    /// Number of valid burst messages.
    pub count: u64,
    /// Maximal runs of consecutive sequence numbers, `[first, last]`, in arrival order.
    pub seq_runs: Vec<[u64; 2]>,
    /// True if more than [`MAX_RUNS`] runs occurred; the list holds the first ones.
    pub runs_truncated: bool,
    /// Valid burst messages whose seq had already been seen in this drain.
    pub duplicates: u64,
    /// Valid burst messages whose seq is not greater than the highest seq seen before them.
    pub regressions: u64,
    /// Messages whose frame 0 is a burst frame but whose frame count is wrong.
    pub partial: u64,
    /// Messages with the right frame count but an inconsistent frame.
    pub malformed: u64,
    /// Up to [`MAX_BAD_SAMPLES`] partial or malformed messages, frames hex, cut to
    /// [`SAMPLE_FRAME_CAP`] octets each.
    pub bad_samples_hex: Vec<Vec<String>>,
    /// Valid burst messages per topic (topic as hex).
    pub topics: BTreeMap<String, u64>,
}

/// The reply fields of `drain`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainReport {
    /// Number of messages received.
    pub messages: u64,
    /// Why the drain stopped: `max_messages`, `quiet`, `timeout` or `interrupted` (signal).
    pub stopped: String,
    /// Microseconds from the start of the drain to its end.
    pub elapsed_us: u64,
    /// Summary of the burst messages.
    pub burst: BurstSummary,
    /// Number of non-burst messages.
    pub other: u64,
    /// The first `other_limit` non-burst messages, frames as hex.
    pub other_hex: Vec<Vec<String>>,
    /// Prefix frames stripped from each message (`strip_prefix`), joined by `,`, with counts.
    pub prefixes: BTreeMap<String, u64>,
    /// True if more than [`MAX_KEYS`] distinct prefixes or topics occurred.
    pub keys_truncated: bool,
}

/// Accumulates received messages into a [`DrainReport`].
#[derive(Debug)]
pub struct DrainAccumulator {
    strip_prefix: usize,
    other_limit: usize,
    seen: HashSet<u64>,
    max_seq: Option<u64>,
    report: DrainReport,
}

impl DrainAccumulator {
    /// A new accumulator that strips `strip_prefix` frames off each message and keeps the first
    /// `other_limit` non-burst messages in full.
    pub fn new(strip_prefix: usize, other_limit: usize) -> Self {
        Self {
            strip_prefix,
            other_limit,
            seen: HashSet::new(),
            max_seq: None,
            report: DrainReport::default(),
        }
    }

    /// Number of messages pushed so far.
    pub fn messages(&self) -> u64 {
        self.report.messages
    }

    fn bump(map: &mut BTreeMap<String, u64>, key: String, truncated: &mut bool) {
        if let Some(n) = map.get_mut(&key) {
            *n += 1;
        } else if map.len() < MAX_KEYS {
            map.insert(key, 1);
        } else {
            *truncated = true;
        }
    }

    /// Adds one received message (all its frames).
    pub fn push<F: AsRef<[u8]>>(&mut self, parts: &[F]) {
        let r = &mut self.report;
        r.messages += 1;
        let n = self.strip_prefix.min(parts.len());
        if self.strip_prefix > 0 {
            let key = parts[..n]
                .iter()
                .map(|p| hex::encode(p.as_ref()))
                .collect::<Vec<_>>()
                .join(",");
            Self::bump(&mut r.prefixes, key, &mut r.keys_truncated);
        }
        let body = &parts[n..];
        if body.is_empty() && self.strip_prefix > 0 {
            self.push_other(parts);
            return;
        }
        match classify(body) {
            Classified::Burst { seq, topic } => {
                let b = &mut r.burst;
                b.count += 1;
                Self::bump(&mut b.topics, hex::encode(topic), &mut r.keys_truncated);
                if !self.seen.insert(seq) {
                    b.duplicates += 1;
                }
                if self.max_seq.is_some_and(|m| seq <= m) {
                    b.regressions += 1;
                }
                self.max_seq = Some(self.max_seq.map_or(seq, |m| m.max(seq)));
                let full = b.seq_runs.len() >= MAX_RUNS;
                match b.seq_runs.last_mut() {
                    Some(run) if run[1].checked_add(1) == Some(seq) => run[1] = seq,
                    _ if full => b.runs_truncated = true,
                    _ => b.seq_runs.push([seq, seq]),
                }
            }
            Classified::Partial { .. } => {
                r.burst.partial += 1;
                Self::sample(&mut r.burst, parts);
            }
            Classified::Malformed { .. } => {
                r.burst.malformed += 1;
                Self::sample(&mut r.burst, parts);
            }
            Classified::Other => self.push_other(parts),
        }
    }

    fn sample<F: AsRef<[u8]>>(b: &mut BurstSummary, parts: &[F]) {
        if b.bad_samples_hex.len() < MAX_BAD_SAMPLES {
            b.bad_samples_hex.push(
                parts
                    .iter()
                    .map(|p| {
                        let p = p.as_ref();
                        hex::encode(&p[..p.len().min(SAMPLE_FRAME_CAP)])
                    })
                    .collect(),
            );
        }
    }

    fn push_other<F: AsRef<[u8]>>(&mut self, parts: &[F]) {
        let r = &mut self.report;
        r.other += 1;
        if r.other_hex.len() < self.other_limit {
            r.other_hex
                .push(parts.iter().map(|p| hex::encode(p.as_ref())).collect());
        }
    }

    /// Finishes the report with the stop reason and the elapsed time.
    pub fn finish(mut self, stopped: &str, elapsed_us: u64) -> DrainReport {
        self.report.stopped = stopped.to_owned();
        self.report.elapsed_us = elapsed_us;
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::burst::encode_message;

    #[test]
    fn runs_duplicates_and_others() {
        let mut acc = DrainAccumulator::new(0, 1);
        for seq in [0u64, 1, 2, 5, 6, 6, 3] {
            acc.push(&encode_message(b"t", seq, 2, 32));
        }
        acc.push(&[b"x".to_vec()]);
        acc.push(&[b"y".to_vec()]);
        let m = encode_message(b"t", 9, 3, 32);
        acc.push(&m[..2]);
        let r = acc.finish("quiet", 5);
        assert_eq!(r.messages, 10);
        assert_eq!(r.burst.count, 7);
        assert_eq!(r.burst.seq_runs, vec![[0, 2], [5, 6], [6, 6], [3, 3]]);
        assert_eq!(r.burst.duplicates, 1);
        assert_eq!(r.burst.regressions, 2);
        assert_eq!(r.burst.partial, 1);
        assert_eq!(r.burst.bad_samples_hex.len(), 1);
        assert_eq!(r.other, 2);
        assert_eq!(r.other_hex, vec![vec!["78".to_string()]]);
        assert_eq!(r.burst.topics.get("74"), Some(&7));
        assert_eq!(r.stopped, "quiet");
    }

    #[test]
    fn prefix_stripping() {
        let mut acc = DrainAccumulator::new(1, 4);
        let mut m = vec![b"\x00id".to_vec()];
        m.extend(encode_message(b"", 4, 1, 0));
        acc.push(&m);
        acc.push(&[b"\x00id".to_vec()]);
        let r = acc.finish("timeout", 0);
        assert_eq!(r.burst.seq_runs, vec![[4, 4]]);
        assert_eq!(r.prefixes.get("006964"), Some(&2));
        assert_eq!(r.other, 1);
    }
}
