//! Pure functions over what was sent and what arrived: the arithmetic behind the assertion
//! primitives, kept apart from I/O so they can be tested on their own.

use zmtp_driver_protocol::drain::DrainReport;
use zmtp_driver_protocol::messages::BurstReport;

/// The burst a scenario sent: what was asked and what the library accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// First sequence number requested.
    pub first_seq: u64,
    /// Messages requested.
    pub count: u64,
    /// Whether sending stopped at the first refusal (so the accepted ones are a prefix).
    pub contiguous: bool,
    /// The library's report.
    pub report: BurstReport,
}

impl Sent {
    /// The accepted sequence numbers as an inclusive range, when they are known to be
    /// contiguous (sending stopped at the first refusal, or nothing was refused).
    pub fn accepted_range(&self) -> Option<(u64, u64)> {
        if self.report.accepted == 0 {
            return None;
        }
        if self.contiguous || self.report.would_block == 0 {
            Some((self.first_seq, self.first_seq + self.report.accepted - 1))
        } else {
            None
        }
    }
}

/// The runs of `report` clipped to `lo..=hi`, in arrival order (empty runs dropped).
pub fn clipped_runs(report: &DrainReport, lo: u64, hi: u64) -> Vec<(u64, u64)> {
    report
        .burst
        .seq_runs
        .iter()
        .filter_map(|&[a, b]| {
            let (a, b) = (a.max(lo), b.min(hi));
            (a <= b).then_some((a, b))
        })
        .collect()
}

/// Messages of `report` whose sequence number lies in `lo..=hi`.
pub fn count_in(report: &DrainReport, lo: u64, hi: u64) -> u64 {
    clipped_runs(report, lo, hi)
        .iter()
        .map(|(a, b)| b - a + 1)
        .sum()
}

/// Renders runs compactly: `[0..=99, 150..=199]` (at most `max` runs shown).
pub fn show_runs(runs: &[(u64, u64)], max: usize) -> String {
    let mut parts: Vec<String> = runs
        .iter()
        .take(max)
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..={b}")
            }
        })
        .collect();
    if runs.len() > max {
        parts.push(format!("… {} more runs", runs.len() - max));
    }
    format!("[{}]", parts.join(", "))
}

/// The runs of a report, unclipped.
pub fn runs(report: &DrainReport) -> Vec<(u64, u64)> {
    report.burst.seq_runs.iter().map(|&[a, b]| (a, b)).collect()
}

/// Whether the report's runs were cut short (too many to list), so run-based checks cannot
/// conclude.
pub fn truncated(report: &DrainReport) -> bool {
    report.burst.runs_truncated
}

/// In order, no duplicates.
pub fn in_order(report: &DrainReport) -> Result<(), String> {
    let b = &report.burst;
    if b.duplicates == 0 && b.regressions == 0 {
        Ok(())
    } else {
        Err(format!(
            "{} duplicate(s), {} out-of-order message(s); runs {}",
            b.duplicates,
            b.regressions,
            show_runs(&runs(report), 8)
        ))
    }
}

/// No partial, no malformed multipart message.
pub fn no_partial(report: &DrainReport) -> Result<(), String> {
    let b = &report.burst;
    if b.partial == 0 && b.malformed == 0 {
        Ok(())
    } else {
        let sample = b
            .bad_samples_hex
            .first()
            .map(|s| format!("; first bad message: {} frame(s) {:?}", s.len(), s))
            .unwrap_or_default();
        Err(format!(
            "{} partial and {} malformed message(s){sample}",
            b.partial, b.malformed
        ))
    }
}

/// What arrived of the accepted range is one run that ends with its last message; returns
/// how many were dropped before it.
pub fn suffix(report: &DrainReport, lo: u64, hi: u64, allow_empty: bool) -> Result<u64, String> {
    if truncated(report) {
        return Err("too many runs to decide (the drain report was truncated)".into());
    }
    let clipped = clipped_runs(report, lo, hi);
    match clipped.as_slice() {
        [] if allow_empty => Ok(hi - lo + 1),
        [] => Err(format!("none of {lo}..={hi} arrived")),
        [(a, b)] if *b == hi => Ok(a - lo),
        _ => Err(format!(
            "expected one run ending at {hi}, got {}",
            show_runs(&clipped, 8)
        )),
    }
}

/// Nothing of `lo..=hi` arrived.
pub fn none_of(report: &DrainReport, lo: u64, hi: u64) -> Result<(), String> {
    if truncated(report) {
        return Err("too many runs to decide (the drain report was truncated)".into());
    }
    let clipped = clipped_runs(report, lo, hi);
    if clipped.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of them arrived: {}",
            count_in(report, lo, hi),
            show_runs(&clipped, 8)
        ))
    }
}

/// Everything of `lo..=hi` arrived exactly once, in order.
pub fn all_of(report: &DrainReport, lo: u64, hi: u64) -> Result<(), String> {
    if truncated(report) {
        return Err("too many runs to decide (the drain report was truncated)".into());
    }
    let clipped = clipped_runs(report, lo, hi);
    let mut next = lo;
    for &(a, b) in &clipped {
        if a != next {
            return Err(format!(
                "expected {lo}..={hi} once each in order, got {} ({} of {})",
                show_runs(&clipped, 8),
                count_in(report, lo, hi),
                hi - lo + 1
            ));
        }
        next = b + 1;
    }
    if next == hi + 1 {
        Ok(())
    } else {
        Err(format!(
            "expected {lo}..={hi}, got {} ({} of {})",
            show_runs(&clipped, 8),
            count_in(report, lo, hi),
            hi - lo + 1
        ))
    }
}

/// Multiset difference: what `want` has that `got` lacks, and the reverse.
pub fn multiset_diff<T: Ord + Clone>(want: &[T], got: &[T]) -> (Vec<T>, Vec<T>) {
    let mut w = want.to_vec();
    let mut g = got.to_vec();
    w.sort();
    g.sort();
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < w.len() || j < g.len() {
        match (w.get(i), g.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                missing.push(a.clone());
                i += 1;
            }
            (Some(_), Some(b)) => {
                extra.push(b.clone());
                j += 1;
            }
            (Some(a), None) => {
                missing.push(a.clone());
                i += 1;
            }
            (None, Some(b)) => {
                extra.push(b.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    (missing, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(runs: &[[u64; 2]], dup: u64, reg: u64) -> DrainReport {
        let mut r = DrainReport::default();
        r.burst.seq_runs = runs.to_vec();
        r.burst.duplicates = dup;
        r.burst.regressions = reg;
        r.burst.count = runs.iter().map(|[a, b]| b - a + 1).sum();
        r
    }

    #[test]
    fn slow_joiner_shape() {
        assert_eq!(suffix(&report(&[[37, 99]], 0, 0), 0, 99, false), Ok(37));
        assert!(suffix(&report(&[[0, 10], [37, 99]], 0, 0), 0, 99, false).is_err());
        assert!(suffix(&report(&[[37, 98]], 0, 0), 0, 99, false).is_err());
        assert!(suffix(&report(&[], 0, 0), 0, 99, false).is_err());
        assert_eq!(suffix(&report(&[], 0, 0), 0, 99, true), Ok(100));
        // Probe messages of another range do not disturb it.
        assert_eq!(
            suffix(&report(&[[1000, 1002], [0, 99]], 0, 0), 0, 99, false),
            Ok(0)
        );
    }

    #[test]
    fn all_none_and_order() {
        assert!(all_of(&report(&[[0, 49], [50, 99]], 0, 0), 0, 99).is_ok());
        assert!(all_of(&report(&[[0, 49], [51, 99]], 0, 0), 0, 99).is_err());
        assert!(all_of(&report(&[[0, 60], [50, 99]], 1, 1), 0, 99).is_err());
        assert!(none_of(&report(&[[100, 199]], 0, 0), 0, 99).is_ok());
        assert!(none_of(&report(&[[99, 199]], 0, 0), 0, 99).is_err());
        assert!(in_order(&report(&[[0, 5]], 0, 0)).is_ok());
        assert!(in_order(&report(&[[0, 5], [3, 3]], 1, 1)).is_err());
    }

    #[test]
    fn multisets() {
        let (m, e) = multiset_diff(&["A", "A", "B"], &["A", "B", "C"]);
        assert_eq!((m, e), (vec!["A"], vec!["C"]));
    }

    #[test]
    fn accepted_ranges() {
        let mut s = Sent {
            first_seq: 10,
            count: 100,
            contiguous: true,
            report: BurstReport::default(),
        };
        assert_eq!(s.accepted_range(), None);
        s.report.accepted = 5;
        assert_eq!(s.accepted_range(), Some((10, 14)));
        s.contiguous = false;
        s.report.would_block = 3;
        assert_eq!(s.accepted_range(), None);
    }
}
