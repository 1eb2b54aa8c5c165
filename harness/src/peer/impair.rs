//! The impairments of an impairing proxy ([`super::PeerProxy::start_impairing`]): what a
//! userspace TCP relay does to the octets of one direction — delay them, slice them into
//! N-octet segments, stall (stop reading, so the sender's window fills), cut the connection
//! after N more octets with FIN or RST, or blackhole them (read and drop; nothing is sent).
//!
//! The decisions are sans-IO: a [`Shaper`] turns "a chunk of `len` octets was read at time
//! `t`" into a [`Plan`] (when to write which pieces, what to drop, whether to cut after them),
//! and the proxy's forwarding task carries the plan out. The settings of both directions live in
//! an [`Impairments`] shared by every connection of one proxy, changed by scenario steps while
//! the connections run; each change bumps a version, so every connection's shaper restarts its
//! octet count from the change.

use super::CloseHow;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Mutex;
use thiserror::Error;

/// One direction through the proxy: `a` is the side that connected to the proxy, `b` the
/// upstream side the proxy connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Way {
    /// From the connecting side to the upstream side (`a->b`).
    AtoB,
    /// From the upstream side to the connecting side (`b->a`).
    BtoA,
}

impl Way {
    /// Both directions.
    pub const BOTH: [Way; 2] = [Way::AtoB, Way::BtoA];

    /// The index of the direction in per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Way::AtoB => 0,
            Way::BtoA => 1,
        }
    }

    /// The direction as written in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            Way::AtoB => "a->b",
            Way::BtoA => "b->a",
        }
    }
}

/// A direction given in a scenario is none of `a->b`, `b->a`, `both`.
#[derive(Debug, Error)]
#[error("direction {0:?}: expected \"a->b\" (connecting side to upstream), \"b->a\" or \"both\"")]
pub struct BadDirection(pub String);

/// The directions a scenario's `dir` names.
pub fn parse_dir(dir: &str) -> Result<Vec<Way>, BadDirection> {
    match dir.replace(' ', "").as_str() {
        "a->b" => Ok(vec![Way::AtoB]),
        "b->a" => Ok(vec![Way::BtoA]),
        "both" => Ok(Way::BOTH.to_vec()),
        _ => Err(BadDirection(dir.to_string())),
    }
}

/// What the proxy does to one direction. The default passes everything on at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impairment {
    /// Every chunk is written this long after it was read (a fixed latency; order kept).
    pub delay_ms: u64,
    /// Written in segments of at most this many octets, one write each (TCP_NODELAY is set,
    /// so each write leaves as its own segment).
    pub slice: Option<usize>,
    /// A pause between two segments of one chunk.
    pub gap_ms: u64,
    /// The proxy stops reading this direction's sender: its TCP window fills.
    pub stall: bool,
    /// After this many more octets of this direction are passed on, the connection is cut,
    /// both sides, with `cut`. Fires once: the first connection to reach it is cut and the
    /// setting cleared, so a reconnection passes.
    pub cut_after: Option<u64>,
    /// How a cut closes both sides: FIN or RST (SO_LINGER 0).
    pub cut: Option<CloseHow>,
    /// Everything read in this direction is dropped (recorded, never written), a close
    /// included; the connections stay open and the proxy sends nothing of its own.
    pub blackhole: bool,
}

impl Impairment {
    /// How a cut closes the connection (FIN unless told).
    pub fn cut_how(&self) -> CloseHow {
        self.cut.unwrap_or(CloseHow::Fin)
    }

    /// The impairment in words, for reports.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.delay_ms > 0 {
            parts.push(format!("delay {} ms", self.delay_ms));
        }
        if let Some(n) = self.slice {
            parts.push(format!("{n}-octet segments"));
        }
        if self.gap_ms > 0 {
            parts.push(format!("{} ms between segments", self.gap_ms));
        }
        if self.stall {
            parts.push("stalled".into());
        }
        if let Some(n) = self.cut_after {
            parts.push(format!(
                "cut with {} after {n} octet(s)",
                match self.cut_how() {
                    CloseHow::Fin => "FIN",
                    CloseHow::Rst => "RST",
                }
            ));
        }
        if self.blackhole {
            parts.push("blackholed".into());
        }
        if parts.is_empty() {
            "passed on at once".into()
        } else {
            parts.join(", ")
        }
    }
}

/// An impairment whose settings contradict each other.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ImpairError {
    /// `slice = 0` would never write anything.
    #[error("slice must be at least 1 octet")]
    ZeroSlice,
    /// `cut` without `cut_after`.
    #[error("`cut` says how to cut; `cut_after` says when, and is missing")]
    CutWithoutWhen,
}

impl Impairment {
    /// Checks the settings make sense together.
    pub fn validate(&self) -> Result<(), ImpairError> {
        if self.slice == Some(0) {
            return Err(ImpairError::ZeroSlice);
        }
        if self.cut.is_some() && self.cut_after.is_none() {
            return Err(ImpairError::CutWithoutWhen);
        }
        Ok(())
    }
}

/// What to do with one chunk read from a direction's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// When to write (microseconds on the case clock).
    pub due_us: u64,
    /// The ranges of the chunk to write, in order, one write each.
    pub pieces: Vec<Range<usize>>,
    /// The pause between two pieces.
    pub gap_ms: u64,
    /// Octets of the chunk dropped (blackhole, or after a cut).
    pub dropped: usize,
    /// Cut the connection this way after writing the pieces.
    pub cut: Option<CloseHow>,
}

/// What to do with the sender's close (FIN or RST) in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePlan {
    /// Pass it on to the receiver, at this time (after the delayed data before it).
    PassOn {
        /// When (microseconds on the case clock).
        due_us: u64,
    },
    /// Drop it: the direction is blackholed or already cut.
    Drop,
}

/// The per-connection state of one direction: the impairment in force and how many octets
/// have been passed on since it was set.
#[derive(Debug, Clone, Default)]
pub struct Shaper {
    impairment: Impairment,
    version: u64,
    passed: u64,
    cut: bool,
}

impl Shaper {
    /// Takes a new impairment (if its version differs from the one in force): the octet count
    /// restarts.
    pub fn update(&mut self, impairment: &Impairment, version: u64) {
        if version != self.version {
            self.impairment = impairment.clone();
            self.version = version;
            self.passed = 0;
        }
    }

    /// The connection has been cut (by this direction or the other): nothing more passes.
    pub fn mark_cut(&mut self) {
        self.cut = true;
    }

    /// Whether the connection has been cut.
    #[cfg(test)]
    pub fn is_cut(&self) -> bool {
        self.cut
    }

    /// Octets passed on since the impairment in force was set.
    #[cfg(test)]
    pub fn passed(&self) -> u64 {
        self.passed
    }

    /// What to do with `len` octets read at `read_at_us`.
    pub fn plan(&mut self, len: usize, read_at_us: u64) -> Plan {
        let imp = &self.impairment;
        let due_us = read_at_us.saturating_add(imp.delay_ms.saturating_mul(1000));
        if self.cut || imp.blackhole {
            return Plan {
                due_us,
                pieces: Vec::new(),
                gap_ms: 0,
                dropped: len,
                cut: None,
            };
        }
        let mut take = len;
        let mut cut = None;
        if let Some(limit) = imp.cut_after {
            let left = limit.saturating_sub(self.passed);
            if (len as u64) >= left {
                take = left as usize;
                cut = Some(imp.cut_how());
                self.cut = true;
            }
        }
        let step = imp.slice.unwrap_or(usize::MAX).max(1);
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < take {
            let end = at.saturating_add(step).min(take);
            pieces.push(at..end);
            at = end;
        }
        self.passed += take as u64;
        Plan {
            due_us,
            pieces,
            gap_ms: imp.gap_ms,
            dropped: len - take,
            cut,
        }
    }

    /// What to do with the sender's close, seen at `read_at_us`.
    pub fn plan_close(&self, read_at_us: u64) -> ClosePlan {
        if self.cut || self.impairment.blackhole {
            ClosePlan::Drop
        } else {
            ClosePlan::PassOn {
                due_us: read_at_us.saturating_add(self.impairment.delay_ms.saturating_mul(1000)),
            }
        }
    }
}

/// What a half of an impairing proxy hands its direction's forwarder.
#[derive(Debug)]
pub(crate) enum Relayed {
    /// Octets read at `at_us`.
    Data {
        /// When they were read (microseconds on the case clock).
        at_us: u64,
        /// The octets.
        bytes: Vec<u8>,
    },
    /// The sender closed: FIN (`reset` false) or RST.
    Closed {
        /// When the close was seen.
        at_us: u64,
        /// It was a reset.
        reset: bool,
    },
}

/// The impairments of both directions of one proxy, shared by its connections and changed by
/// scenario steps.
#[derive(Debug, Default)]
pub struct Impairments {
    state: Mutex<[(Impairment, u64); 2]>,
}

impl Impairments {
    /// Sets the impairment of a direction (replacing the one in force).
    pub fn set(&self, way: Way, impairment: Impairment) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut s[way.index()];
        slot.1 += 1;
        slot.0 = impairment;
    }

    /// The impairment in force in a direction and its version.
    pub fn get(&self, way: Way) -> (Impairment, u64) {
        self.state.lock().unwrap_or_else(|p| p.into_inner())[way.index()].clone()
    }

    /// A one-shot cut fired in a direction: it is cleared (the rest of the impairment stays),
    /// so a reconnection passes.
    pub fn clear_cut(&self, way: Way) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut s[way.index()];
        if slot.0.cut_after.is_some() {
            slot.0.cut_after = None;
            slot.0.cut = None;
            slot.1 += 1;
        }
    }

    /// Brings a shaper up to date with the direction's impairment.
    pub fn refresh(&self, way: Way, shaper: &mut Shaper) {
        let (imp, version) = self.get(way);
        shaper.update(&imp, version);
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // ranges of a chunk, not a Vec of its octets
mod tests {
    use super::*;

    fn shaper(imp: Impairment) -> Shaper {
        let mut s = Shaper::default();
        s.update(&imp, 1);
        s
    }

    #[test]
    fn no_impairment_passes_a_chunk_whole_at_once() {
        let mut s = Shaper::default();
        let p = s.plan(100, 5_000);
        assert_eq!(p.due_us, 5_000);
        assert_eq!(p.pieces, vec![0..100]);
        assert_eq!((p.dropped, p.cut), (0, None));
        assert_eq!(s.passed(), 100);
    }

    #[test]
    fn delay_shifts_every_chunk_and_the_close() {
        let mut s = shaper(Impairment {
            delay_ms: 250,
            ..Default::default()
        });
        assert_eq!(s.plan(3, 1_000).due_us, 251_000);
        assert_eq!(s.plan(3, 2_000).due_us, 252_000);
        assert_eq!(s.plan_close(3_000), ClosePlan::PassOn { due_us: 253_000 });
    }

    #[test]
    fn slicing_cuts_a_chunk_into_segments_the_last_one_shorter() {
        let mut s = shaper(Impairment {
            slice: Some(4),
            gap_ms: 2,
            ..Default::default()
        });
        let p = s.plan(10, 0);
        assert_eq!(p.pieces, vec![0..4, 4..8, 8..10]);
        assert_eq!(p.gap_ms, 2);
        let p = s.plan(64, 0);
        assert_eq!(p.pieces.len(), 16);
        let mut one = shaper(Impairment {
            slice: Some(1),
            ..Default::default()
        });
        let p = one.plan(64, 0);
        assert_eq!(p.pieces.len(), 64);
        assert!(p.pieces.iter().enumerate().all(|(i, r)| *r == (i..i + 1)));
    }

    #[test]
    fn a_cut_passes_exactly_n_octets_across_chunks_then_drops_everything() {
        let mut s = shaper(Impairment {
            cut_after: Some(25),
            cut: Some(CloseHow::Rst),
            ..Default::default()
        });
        let p = s.plan(10, 0);
        assert_eq!((p.pieces.clone(), p.cut), (vec![0..10], None));
        let p = s.plan(10, 0);
        assert_eq!((p.pieces.clone(), p.cut), (vec![0..10], None));
        let p = s.plan(10, 0);
        assert_eq!(p.pieces, vec![0..5]);
        assert_eq!(p.dropped, 5);
        assert_eq!(p.cut, Some(CloseHow::Rst));
        assert!(s.is_cut());
        let p = s.plan(7, 0);
        assert!(p.pieces.is_empty());
        assert_eq!((p.dropped, p.cut), (7, None));
        assert_eq!(s.plan_close(0), ClosePlan::Drop);
    }

    #[test]
    fn a_cut_on_a_chunk_boundary_writes_the_whole_chunk_then_cuts() {
        let mut s = shaper(Impairment {
            cut_after: Some(8),
            ..Default::default()
        });
        let p = s.plan(8, 0);
        assert_eq!(p.pieces, vec![0..8]);
        assert_eq!((p.dropped, p.cut), (0, Some(CloseHow::Fin)));
    }

    #[test]
    fn cut_after_zero_cuts_on_the_next_octet_passing_nothing() {
        let mut s = shaper(Impairment {
            cut_after: Some(0),
            ..Default::default()
        });
        let p = s.plan(3, 0);
        assert!(p.pieces.is_empty());
        assert_eq!((p.dropped, p.cut), (3, Some(CloseHow::Fin)));
    }

    #[test]
    fn sliced_and_cut_slices_only_what_passes() {
        let mut s = shaper(Impairment {
            slice: Some(3),
            cut_after: Some(7),
            ..Default::default()
        });
        let p = s.plan(20, 0);
        assert_eq!(p.pieces, vec![0..3, 3..6, 6..7]);
        assert_eq!(p.dropped, 13);
    }

    #[test]
    fn blackhole_drops_data_and_close_and_healing_passes_again() {
        let imps = Impairments::default();
        let mut s = Shaper::default();
        imps.set(
            Way::AtoB,
            Impairment {
                blackhole: true,
                ..Default::default()
            },
        );
        imps.refresh(Way::AtoB, &mut s);
        let p = s.plan(9, 0);
        assert!(p.pieces.is_empty());
        assert_eq!(p.dropped, 9);
        assert_eq!(s.plan_close(0), ClosePlan::Drop);
        imps.set(Way::AtoB, Impairment::default());
        imps.refresh(Way::AtoB, &mut s);
        assert_eq!(s.plan(9, 0).pieces, vec![0..9]);
        // the other direction was never touched
        let mut other = Shaper::default();
        imps.refresh(Way::BtoA, &mut other);
        assert_eq!(other.plan(2, 0).pieces, vec![0..2]);
    }

    #[test]
    fn a_new_impairment_restarts_the_octet_count() {
        let imps = Impairments::default();
        let mut s = Shaper::default();
        imps.refresh(Way::BtoA, &mut s);
        s.plan(1000, 0);
        imps.set(
            Way::BtoA,
            Impairment {
                cut_after: Some(10),
                ..Default::default()
            },
        );
        imps.refresh(Way::BtoA, &mut s);
        assert_eq!(s.passed(), 0);
        assert_eq!(s.plan(6, 0).cut, None);
        assert_eq!(s.plan(6, 0).cut, Some(CloseHow::Fin));
        // refreshing with the same version keeps the count
        imps.refresh(Way::BtoA, &mut s);
        assert!(s.is_cut());
    }

    #[test]
    fn a_fired_cut_is_cleared_so_the_next_connection_passes() {
        let imps = Impairments::default();
        imps.set(
            Way::AtoB,
            Impairment {
                cut_after: Some(4),
                cut: Some(CloseHow::Rst),
                delay_ms: 5,
                ..Default::default()
            },
        );
        let (_, v) = imps.get(Way::AtoB);
        imps.clear_cut(Way::AtoB);
        let (imp, v2) = imps.get(Way::AtoB);
        assert_eq!(imp.cut_after, None);
        assert_eq!(imp.delay_ms, 5, "the rest of the impairment stays");
        assert!(v2 > v);
        // nothing to clear: the version stays, so no shaper restarts its count
        imps.clear_cut(Way::AtoB);
        assert_eq!(imps.get(Way::AtoB).1, v2);
    }

    #[test]
    fn directions_parse_and_bad_ones_are_named() {
        assert_eq!(parse_dir("a->b").unwrap(), vec![Way::AtoB]);
        assert_eq!(parse_dir("b -> a").unwrap(), vec![Way::BtoA]);
        assert_eq!(parse_dir("both").unwrap(), vec![Way::AtoB, Way::BtoA]);
        let e = parse_dir("up").unwrap_err().to_string();
        assert!(e.contains("\"up\"") && e.contains("a->b"), "{e}");
    }

    #[test]
    fn contradictory_settings_are_refused() {
        let zero = Impairment {
            slice: Some(0),
            ..Default::default()
        };
        assert_eq!(zero.validate(), Err(ImpairError::ZeroSlice));
        let how_only = Impairment {
            cut: Some(CloseHow::Rst),
            ..Default::default()
        };
        assert_eq!(how_only.validate(), Err(ImpairError::CutWithoutWhen));
        assert!(Impairment::default().validate().is_ok());
        assert_eq!(Impairment::default().describe(), "passed on at once");
        let all = Impairment {
            delay_ms: 50,
            slice: Some(1),
            cut_after: Some(9),
            cut: Some(CloseHow::Rst),
            ..Default::default()
        };
        assert_eq!(
            all.describe(),
            "delay 50 ms, 1-octet segments, cut with RST after 9 octet(s)"
        );
    }
}
