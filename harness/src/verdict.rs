//! Verdicts and results: what a case concluded, and everything needed to see why.

use crate::peer::Chunk;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The verdict of a check or a case.
///
/// Ordered from best to worst, so the verdict of a case is the maximum over its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// A measurement, or a MAY that was not taken.
    Info,
    /// A SHOULD was broken.
    Warn,
    /// A MUST was broken.
    Fail,
    /// The driver said the implementation cannot do something the case needs.
    Unsupported,
    /// Not run: the endpoint or the implementation's process went down in an earlier case
    /// (which is a FAIL), so nothing was there to test. Not a fault of the harness.
    #[serde(rename = "NOT-RUN", alias = "NOTRUN", alias = "NOT_RUN")]
    NotRun,
    /// A fault of the harness or the driver; never counted against the implementation.
    Error,
}

impl Verdict {
    /// The verdict's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Info => "INFO",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
            Verdict::Unsupported => "UNSUPPORTED",
            Verdict::NotRun => "NOT-RUN",
            Verdict::Error => "ERROR",
        }
    }

    /// Parses a verdict name (any case).
    pub fn parse(s: &str) -> Option<Verdict> {
        Some(match s.to_ascii_uppercase().as_str() {
            "PASS" => Verdict::Pass,
            "INFO" => Verdict::Info,
            "WARN" => Verdict::Warn,
            "FAIL" => Verdict::Fail,
            "UNSUPPORTED" => Verdict::Unsupported,
            "NOT-RUN" | "NOTRUN" | "NOT_RUN" => Verdict::NotRun,
            "ERROR" => Verdict::Error,
            _ => return None,
        })
    }

    /// The verdict for a broken rule of this level (`MUST`, `SHOULD`, `MAY`, `INFO`).
    pub fn for_level(level: &str) -> Verdict {
        match level {
            "SHOULD" => Verdict::Warn,
            "MAY" | "INFO" => Verdict::Info,
            _ => Verdict::Fail,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    /// Index of the step in the case.
    pub step: usize,
    /// The primitive, e.g. `check.in-order`.
    pub check: String,
    /// The author's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The requirement judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// The requirement's text, from the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement_text: Option<String>,
    /// MUST, SHOULD, MAY or INFO.
    pub level: String,
    /// What this check concluded.
    pub verdict: Verdict,
    /// What was expected.
    pub expected: String,
    /// What was seen.
    pub actual: String,
    /// For `check.one-of`: the outcome that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A number the case measured (always INFO).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// Name.
    pub name: String,
    /// Value.
    pub value: f64,
    /// Unit, e.g. `ms`.
    pub unit: String,
}

/// One executed step, for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// Index in the case.
    pub index: usize,
    /// The `do` name.
    pub kind: String,
    /// Milliseconds since the case started.
    pub at_ms: f64,
    /// How long it took.
    pub took_ms: f64,
    /// `ok`, or what went wrong.
    pub outcome: String,
}

/// What a raw-peer connection saw, for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerRecord {
    /// Connection name.
    pub name: String,
    /// The events, one line each.
    pub events: Vec<String>,
    /// Hex dump of both directions with timestamps.
    pub transcript: String,
    /// The octets received, decoded by the dissector.
    pub decoded_in: String,
    /// The octets sent, decoded by the dissector.
    pub decoded_out: String,
    /// Every kept octet in both directions, in time order (for the HTML timeline and
    /// `--pcap`; empty in the bounded summary of a passing case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<Chunk>,
    /// The raw peer's end of the connection, e.g. `127.0.0.1:40112`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_addr: Option<String>,
    /// The implementation's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_addr: Option<String>,
    /// Unix time in microseconds of the case's start, the origin of `t_us` in `chunks`.
    #[serde(default)]
    pub case_start_unix_us: u64,
    /// Events counted but not kept (see [`PeerRecord::bound`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub events_dropped: usize,
    /// Octets left out of `chunks` here but kept elsewhere (the HTML page shows the first
    /// [`crate::html::OCTETS_SHOWN`] of a connection; the JSON report and captures keep all).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub octets_not_shown: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl PeerRecord {
    /// Bounds what the record keeps: the first and last `events / 2` events (the count of the
    /// rest goes to `events_dropped`), each cut to [`EVENT_CHARS`] characters; with `octets` false also the chunks, the hex dump and
    /// the decoded streams beyond their first lines (the summary of a passing case).
    pub fn bound(&mut self, events: usize, octets: bool) {
        // An event can carry a whole message in hex; the octets are in `chunks` already.
        for e in &mut self.events {
            if e.len() > EVENT_CHARS {
                let mut cut = EVENT_CHARS;
                while !e.is_char_boundary(cut) {
                    cut -= 1;
                }
                let total = e.len();
                e.truncate(cut);
                e.push_str(&format!("… ({total} characters)"));
            }
        }
        if self.events.len() > events {
            let head = events / 2;
            let tail = events - head;
            let dropped = self.events.len() - events;
            let end = self.events.split_off(self.events.len() - tail);
            self.events.truncate(head);
            self.events.push(format!(
                "… {dropped} events not kept (--keep-transcripts keeps them)"
            ));
            self.events.extend(end);
            self.events_dropped += dropped;
        }
        if !octets {
            self.chunks.clear();
            for text in [
                &mut self.transcript,
                &mut self.decoded_in,
                &mut self.decoded_out,
            ] {
                let lines: Vec<&str> = text.lines().collect();
                if lines.len() > SUMMARY_LINES {
                    let mut short = lines[..SUMMARY_LINES].join("\n");
                    short.push_str(&format!("\n… {} more lines\n", lines.len() - SUMMARY_LINES));
                    *text = short;
                }
            }
        }
    }
}

/// Characters of one event line kept by [`PeerRecord::bound`].
pub const EVENT_CHARS: usize = 400;

/// Lines of the hex dump and decoded streams a passing case's summary keeps.
const SUMMARY_LINES: usize = 8;

/// What a driver process did, for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriverRecord {
    /// `iut` or `iut2`.
    pub role: String,
    /// The driver's label.
    pub label: String,
    /// Requests and replies.
    pub transcript: String,
    /// The end of its stderr.
    pub stderr_tail: String,
    /// How it ended.
    pub exit: String,
}

/// The result of one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Requirements the case checks.
    pub requirements: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// One line saying why, when the verdict is not PASS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The checks, in order.
    pub checks: Vec<CheckResult>,
    /// Measurements.
    pub measurements: Vec<Measurement>,
    /// The steps run.
    pub steps: Vec<StepRecord>,
    /// Raw-peer connections (kept for non-PASS verdicts, or with `--keep-transcripts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerRecord>,
    /// Driver processes (kept like `peers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drivers: Vec<DriverRecord>,
    /// Wall time.
    pub duration_ms: f64,
}
