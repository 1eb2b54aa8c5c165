//! `--shard K/N`: a deterministic share of the selected cases, for splitting a run over N CI
//! runners and joining the reports again with `merge`.
//!
//! The selected case ids are sorted and dealt round-robin: shard K (1-based) gets the ids at
//! positions K-1, K-1+N, K-1+2N, … of the sorted list. The share depends only on the set of
//! selected ids, not on the order of the case files, and the N shards are disjoint, cover the
//! selection, and differ in size by at most one case.

use std::str::FromStr;
use zmtp_harness::scenario::LoadedCase;

/// Shard K of N (1 ≤ K ≤ N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which share, 1-based.
    pub index: usize,
    /// How many shares.
    pub count: usize,
}

/// Why a `--shard` value is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("--shard {0:?}: expected K/N with 1 <= K <= N (e.g. 2/3)")]
pub struct ShardError(String);

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ShardError(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The cases of `selected` in this shard, in their original (file) order.
    pub fn apply(&self, selected: Vec<LoadedCase>) -> Vec<LoadedCase> {
        let mut ids: Vec<&str> = selected.iter().map(|c| c.case.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mine: std::collections::HashSet<String> = ids
            .iter()
            .skip(self.index - 1)
            .step_by(self.count)
            .map(|s| s.to_string())
            .collect();
        selected
            .into_iter()
            .filter(|c| mine.contains(&c.case.id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
