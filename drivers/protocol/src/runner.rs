//! Sans-IO control flow shared by the Rust drivers: the numbered-burst runner and the drain
//! stop policy. A driver does the library calls; these decide what comes next and what is
//! reported, so every driver answers alike (e.g. a send blocked when SIGTERM arrives is
//! `interrupted`, DRV-22; one blocked past the deadline is `timeout`).

use crate::burst::encode_message;
use crate::messages::{BurstArgs, BurstError, BurstReport, DrainArgs};
use std::time::{Duration, Instant};

/// Why a burst ended (`stopped` in its report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurstStop {
    /// Every message was accepted (or, without `stop_on_would_block`, tried).
    Complete,
    /// With `dontwait` and `stop_on_would_block`: the first would-block.
    WouldBlock,
    /// The burst's deadline passed.
    Timeout,
    /// The library refused a message with an error.
    Error,
    /// SIGINT or SIGTERM arrived (DRV-22).
    Interrupted,
}

impl BurstStop {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::WouldBlock => "would_block",
            Self::Timeout => "timeout",
            Self::Error => "error",
            Self::Interrupted => "interrupted",
        }
    }
}

/// How the library took one message of a burst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted at the first attempt.
    Accepted,
    /// Accepted after the first attempt would have blocked and the send waited (DRV-71).
    AcceptedAfterWait,
    /// Not accepted: would block (with `dontwait`), or, without it, still blocked at the
    /// deadline or when a signal arrived.
    NotAccepted,
    /// Refused with an error: its errno-style code and message.
    Failed {
        /// Errno-style code.
        code: String,
        /// Message.
        message: String,
    },
}

/// Runs a `send_burst`: yields the messages to send and accounts for each outcome.
///
/// ```
/// # use zmtp_driver_protocol::runner::{BurstRunner, SendOutcome};
/// # use zmtp_driver_protocol::messages::BurstArgs;
/// # let args: BurstArgs = serde_json::from_str(r#"{"socket":"s1","count":2}"#).unwrap();
/// let mut run = BurstRunner::new(&args, b"", std::time::Instant::now());
/// while let Some((seq, frames)) = run.next(false) {
///     let _ = frames; // send them; then:
///     run.record(seq, SendOutcome::Accepted, std::time::Duration::ZERO, false);
/// }
/// assert_eq!(run.finish().accepted, 2);
/// ```
#[derive(Debug)]
pub struct BurstRunner {
    count: u64,
    first_seq: u64,
    sent: u64,
    topic: Vec<u8>,
    parts: u16,
    size: usize,
    dontwait: bool,
    stop_on_would_block: bool,
    start: Instant,
    deadline: Instant,
    report: BurstReport,
    stopped: Option<BurstStop>,
}

impl BurstRunner {
    /// A runner for `args` (its parameters already checked), with its topic decoded, starting
    /// at `start`.
    pub fn new(args: &BurstArgs, topic: &[u8], start: Instant) -> Self {
        BurstRunner {
            count: args.count,
            first_seq: args.first_seq,
            sent: 0,
            topic: topic.to_vec(),
            parts: args.parts as u16,
            size: args.size as usize,
            dontwait: args.dontwait,
            stop_on_would_block: args.stop_on_would_block,
            start,
            deadline: start + Duration::from_millis(args.timeout_ms),
            report: BurstReport::default(),
            stopped: None,
        }
    }

    /// Counts the messages that waited (DRV-71): the report then carries `waited`. Only for a
    /// driver that tells [`SendOutcome::AcceptedAfterWait`] from [`SendOutcome::Accepted`].
    pub fn counting_waits(mut self) -> Self {
        self.report.waited = Some(0);
        self
    }

    /// The deadline of the whole burst (for a blocking send).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The next message to send (its sequence number and burst frames, without any routing
    /// prefix), or `None` when the burst is over; `interrupted` is the signal flag.
    pub fn next(&mut self, interrupted: bool) -> Option<(u64, Vec<Vec<u8>>)> {
        if self.stopped.is_some() {
            return None;
        }
        if self.sent >= self.count {
            self.stopped = Some(BurstStop::Complete);
            return None;
        }
        if interrupted {
            self.stopped = Some(BurstStop::Interrupted);
            return None;
        }
        let seq = self.first_seq.wrapping_add(self.sent);
        self.sent += 1;
        Some((seq, encode_message(&self.topic, seq, self.parts, self.size)))
    }

    /// Accounts for message `seq`: how it went, how long it took, and whether a signal has
    /// arrived since.
    pub fn record(&mut self, seq: u64, outcome: SendOutcome, took: Duration, interrupted: bool) {
        let r = &mut self.report;
        r.max_send_us = r.max_send_us.max(took.as_micros() as u64);
        // Without `dontwait` a message not accepted waited until the deadline or a signal.
        let waited = outcome == SendOutcome::AcceptedAfterWait
            || (!self.dontwait && outcome == SendOutcome::NotAccepted);
        if waited && let Some(w) = r.waited.as_mut() {
            *w += 1;
        }
        match outcome {
            SendOutcome::Accepted | SendOutcome::AcceptedAfterWait => {
                r.accepted += 1;
                r.last_accepted_seq = Some(seq);
            }
            SendOutcome::NotAccepted if self.dontwait => {
                r.would_block += 1;
                r.first_would_block_seq.get_or_insert(seq);
                if self.stop_on_would_block {
                    self.stopped = Some(BurstStop::WouldBlock);
                } else if Instant::now() >= self.deadline {
                    self.stopped = Some(BurstStop::Timeout);
                }
            }
            // A blocking send gives up only at the deadline or on a signal (DRV-22).
            SendOutcome::NotAccepted => {
                self.stopped = Some(if interrupted {
                    BurstStop::Interrupted
                } else {
                    BurstStop::Timeout
                });
            }
            SendOutcome::Failed { code, message } => {
                r.errors += 1;
                r.first_error = Some(BurstError { seq, code, message });
                self.stopped = Some(BurstStop::Error);
            }
        }
    }

    /// Why the burst ended, once it has.
    pub fn stopped(&self) -> Option<BurstStop> {
        self.stopped
    }

    /// The report, timed from the start.
    pub fn finish(mut self) -> BurstReport {
        self.report.stopped = self
            .stopped
            .unwrap_or(BurstStop::Complete)
            .as_str()
            .to_string();
        self.report.elapsed_us = self.start.elapsed().as_micros() as u64;
        self.report
    }
}

/// Why a drain ended (`stopped` in its report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainStop {
    /// `max_messages` arrived.
    MaxMessages,
    /// Nothing arrived for `quiet_ms`.
    Quiet,
    /// The deadline passed.
    Timeout,
    /// SIGINT or SIGTERM arrived (DRV-22).
    Interrupted,
}

impl DrainStop {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MaxMessages => "max_messages",
            Self::Quiet => "quiet",
            Self::Timeout => "timeout",
            Self::Interrupted => "interrupted",
        }
    }
}

/// When a drain stops: after `max_messages`, on a signal, at the deadline, or after a quiet
/// period with nothing received.
#[derive(Debug, Clone, Copy)]
pub struct DrainPolicy {
    max_messages: u64,
    deadline: Instant,
    quiet: Duration,
    last: Instant,
}

impl DrainPolicy {
    /// The policy of `args`, starting at `start`.
    pub fn new(args: &DrainArgs, start: Instant) -> Self {
        DrainPolicy {
            max_messages: args.max_messages,
            deadline: start + Duration::from_millis(args.timeout_ms),
            quiet: Duration::from_millis(args.quiet_ms),
            last: start,
        }
    }

    /// A message arrived at `now` (the quiet period restarts).
    pub fn received(&mut self, now: Instant) {
        self.last = now;
    }

    /// With `messages` received so far: stop (and why), or go on receiving until the instant
    /// returned.
    pub fn next(
        &self,
        messages: u64,
        interrupted: bool,
        now: Instant,
    ) -> Result<Instant, DrainStop> {
        if messages >= self.max_messages {
            return Err(DrainStop::MaxMessages);
        }
        if interrupted {
            return Err(DrainStop::Interrupted);
        }
        if now >= self.deadline {
            return Err(DrainStop::Timeout);
        }
        let until = self.deadline.min(self.last + self.quiet);
        if now >= until {
            return Err(DrainStop::Quiet);
        }
        Ok(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(json: &str) -> BurstArgs {
        serde_json::from_str(json).unwrap()
    }

    fn drive(run: &mut BurstRunner, outcomes: &[SendOutcome], interrupted_after: Option<usize>) {
        let mut i = 0;
        while let Some((seq, _)) = run.next(interrupted_after.is_some_and(|n| i >= n)) {
            let o = outcomes.get(i).cloned().unwrap_or(SendOutcome::Accepted);
            let signalled = interrupted_after.is_some_and(|n| i + 1 >= n);
            run.record(seq, o, Duration::from_micros(5), signalled);
            i += 1;
        }
    }

    #[test]
    fn a_whole_burst_completes() {
        let mut run = BurstRunner::new(
            &burst(r#"{"socket":"s","count":3,"first_seq":10}"#),
            b"",
            Instant::now(),
        );
        drive(&mut run, &[], None);
        let r = run.finish();
        assert_eq!(
            (r.accepted, r.last_accepted_seq, r.stopped.as_str()),
            (3, Some(12), "complete")
        );
        assert_eq!(r.max_send_us, 5);
    }

    #[test]
    fn a_blocked_send_is_a_timeout_or_on_a_signal_interrupted() {
        let args = burst(r#"{"socket":"s","count":5}"#);
        let blocked = [SendOutcome::Accepted, SendOutcome::NotAccepted];
        let mut run = BurstRunner::new(&args, b"", Instant::now());
        drive(&mut run, &blocked, None);
        assert_eq!(run.finish().stopped, "timeout");
        let mut run = BurstRunner::new(&args, b"", Instant::now());
        drive(&mut run, &blocked, Some(2));
        let r = run.finish();
        assert_eq!((r.accepted, r.stopped.as_str()), (1, "interrupted"));
    }

    #[test]
    fn waits_are_counted_only_when_asked() {
        let args = burst(r#"{"socket":"s","count":4}"#);
        let outcomes = [
            SendOutcome::Accepted,
            SendOutcome::AcceptedAfterWait,
            SendOutcome::AcceptedAfterWait,
            SendOutcome::NotAccepted,
        ];
        let mut run = BurstRunner::new(&args, b"", Instant::now()).counting_waits();
        drive(&mut run, &outcomes, None);
        let r = run.finish();
        assert_eq!(
            (r.accepted, r.waited, r.stopped.as_str()),
            (3, Some(3), "timeout")
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["waited"], 3);
        let mut run = BurstRunner::new(&args, b"", Instant::now());
        drive(&mut run, &outcomes, None);
        let r = run.finish();
        assert_eq!(r.waited, None);
        assert!(serde_json::to_value(&r).unwrap().get("waited").is_none());
        let mut run = BurstRunner::new(
            &burst(r#"{"socket":"s","count":2,"dontwait":true,"stop_on_would_block":false}"#),
            b"",
            Instant::now(),
        )
        .counting_waits();
        drive(&mut run, &[SendOutcome::NotAccepted], None);
        let r = run.finish();
        assert_eq!((r.would_block, r.waited), (1, Some(0)));
    }

    #[test]
    fn a_signal_between_messages_interrupts() {
        let mut run = BurstRunner::new(&burst(r#"{"socket":"s","count":5}"#), b"", Instant::now());
        drive(&mut run, &[], Some(2));
        let r = run.finish();
        assert_eq!((r.accepted, r.stopped.as_str()), (2, "interrupted"));
    }

    #[test]
    fn would_block_stops_or_skips() {
        let wb = [
            SendOutcome::Accepted,
            SendOutcome::NotAccepted,
            SendOutcome::Accepted,
        ];
        let mut run = BurstRunner::new(
            &burst(r#"{"socket":"s","count":3,"dontwait":true}"#),
            b"",
            Instant::now(),
        );
        drive(&mut run, &wb, None);
        let r = run.finish();
        assert_eq!(
            (
                r.accepted,
                r.would_block,
                r.first_would_block_seq,
                r.stopped.as_str()
            ),
            (1, 1, Some(1), "would_block")
        );
        let skip = r#"{"socket":"s","count":3,"dontwait":true,"stop_on_would_block":false}"#;
        let mut run = BurstRunner::new(&burst(skip), b"", Instant::now());
        drive(&mut run, &wb, None);
        let r = run.finish();
        assert_eq!(
            (r.accepted, r.would_block, r.stopped.as_str()),
            (2, 1, "complete")
        );
    }

    #[test]
    fn an_error_stops_with_the_first_error() {
        let failed = SendOutcome::Failed {
            code: "EFSM".into(),
            message: "m".into(),
        };
        let mut run = BurstRunner::new(&burst(r#"{"socket":"s","count":3}"#), b"", Instant::now());
        drive(&mut run, &[SendOutcome::Accepted, failed], None);
        let r = run.finish();
        assert_eq!((r.errors, r.stopped.as_str()), (1, "error"));
        assert_eq!(
            r.first_error.map(|e| (e.seq, e.code)),
            Some((1, "EFSM".to_string()))
        );
    }

    #[test]
    fn drain_policy_order() {
        let args: DrainArgs = serde_json::from_str(
            r#"{"socket":"s","max_messages":2,"quiet_ms":100,"timeout_ms":1000}"#,
        )
        .unwrap();
        let t0 = Instant::now();
        let mut p = DrainPolicy::new(&args, t0);
        assert_eq!(p.next(0, false, t0), Ok(t0 + Duration::from_millis(100)));
        assert_eq!(p.next(2, true, t0), Err(DrainStop::MaxMessages));
        assert_eq!(p.next(0, true, t0), Err(DrainStop::Interrupted));
        assert_eq!(
            p.next(0, false, t0 + Duration::from_millis(100)),
            Err(DrainStop::Quiet)
        );
        p.received(t0 + Duration::from_millis(950));
        assert_eq!(
            p.next(1, false, t0 + Duration::from_millis(960)),
            Ok(t0 + Duration::from_millis(1000))
        );
        assert_eq!(
            p.next(1, false, t0 + Duration::from_millis(1000)),
            Err(DrainStop::Timeout)
        );
    }
}
