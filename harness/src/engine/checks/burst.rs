//! Checks over numbered bursts: what a drain (or a raw peer) received, and how the sender
//! fared. Each is a pure function of a [`DrainReport`] and/or a [`Sent`].

use super::Eval;
use crate::engine::analysis::{self, Sent};
use crate::scenario::check;
use crate::verdict::Measurement;
use zmtp_driver_protocol::drain::DrainReport;

/// `check.in-order`: burst messages in increasing order, no duplicates.
pub(super) fn in_order(r: &DrainReport) -> Eval {
    Eval::from(
        analysis::in_order(r).map(|()| format!("{} messages in order", r.burst.count)),
        "burst messages in increasing order, no duplicates",
    )
}

/// `check.no-partial`: only whole multipart messages.
pub(super) fn no_partial(r: &DrainReport) -> Eval {
    Eval::from(
        analysis::no_partial(r).map(|()| format!("{} whole messages", r.burst.count)),
        "only whole multipart messages",
    )
}

/// `check.count`: the number of burst messages (of `topic`) is within bounds.
pub(super) fn count(c: &check::Count, r: &DrainReport) -> Eval {
    let n = match &c.topic {
        Some(t) => r
            .burst
            .topics
            .get(&hex::encode(t.as_bytes()))
            .copied()
            .unwrap_or(0),
        None => r.burst.count,
    };
    let holds = c.min.is_none_or(|m| n >= m) && c.max.is_none_or(|m| n <= m);
    Eval::new(
        holds,
        format!(
            "between {} and {} burst messages",
            c.min.unwrap_or(0),
            c.max.map(|m| m.to_string()).unwrap_or("∞".into())
        ),
        format!("{n}"),
    )
}

/// The accepted range of a burst, or why there is none.
pub(super) fn accepted_range(burst: &str, s: &Sent) -> Result<(u64, u64), Eval> {
    s.accepted_range().ok_or_else(|| {
        Eval::broken(format!(
            "burst `{burst}` accepted {} message(s) with {} refusal(s): no contiguous range",
            s.report.accepted, s.report.would_block
        ))
    })
}

/// `check.suffix`: of the accepted `lo..=hi`, a dropped prefix, then everything.
pub(super) fn suffix(c: &check::Suffix, r: &DrainReport, s: &Sent) -> Eval {
    let (lo, hi) = match accepted_range(&c.burst, s) {
        Ok(range) => range,
        Err(e) => return e,
    };
    let result = analysis::suffix(r, lo, hi, c.allow_empty);
    let dropped = result.as_ref().ok().copied();
    let mut e = Eval::from(
        result.map(|k| format!("first {k} dropped, then every later one delivered")),
        format!("a dropped prefix of {lo}..={hi}, then every later message"),
    );
    e.measured = dropped.map(|k| Measurement {
        name: format!(
            "{}: messages dropped before the subscription took effect",
            c.burst
        ),
        value: k as f64,
        unit: "messages".into(),
    });
    e
}

/// `check.none-of`: nothing of the accepted `lo..=hi` arrived.
pub(super) fn none_of(c: &check::NoneOf, r: &DrainReport, s: &Sent) -> Eval {
    let (lo, hi) = match accepted_range(&c.burst, s) {
        Ok(range) => range,
        Err(e) => return e,
    };
    Eval::from(
        analysis::none_of(r, lo, hi).map(|()| "none arrived".into()),
        format!("none of {lo}..={hi}"),
    )
}

/// `check.all-of`: every accepted message arrived exactly once, in order.
pub(super) fn all_of(c: &check::AllOf, r: &DrainReport, s: &Sent) -> Eval {
    let (lo, hi) = match accepted_range(&c.burst, s) {
        Ok(range) => range,
        Err(e) => return e,
    };
    Eval::from(
        analysis::all_of(r, lo, hi).map(|()| format!("all {} arrived once, in order", hi - lo + 1)),
        format!("every accepted message {lo}..={hi} exactly once, in order"),
    )
}

/// Every send of the burst was accepted: none refused (would-block) and none in error.
fn every_send_accepted(s: &Sent) -> bool {
    s.report.accepted == s.count && s.report.would_block == 0 && s.report.errors == 0
}

/// `check.not-blocked`: every send accepted, none refused, and none waited. "Waited" is the
/// driver's own count (`waited`, DRV-71) where it reports one: a count of sends the library
/// could not take at once, which scheduling cannot change. A driver that cannot tell leaves it
/// out, and then the slowest send is judged against `max_ms` (times `scale`) instead; a driver
/// descheduled under load can pass that bound without any send having blocked. The slowest
/// send is shown either way, and the seen text names the rule used.
pub(super) fn not_blocked(c: &check::NotBlocked, s: &Sent, scale: f64) -> Eval {
    let r = &s.report;
    let slowest = r.max_send_us as f64 / 1000.0;
    let taken = every_send_accepted(s);
    let counts = format!(
        "{} accepted, {} would-block, {} error(s)",
        r.accepted, r.would_block, r.errors
    );
    match r.waited {
        Some(waited) => Eval::new(
            taken && waited == 0,
            format!(
                "all {} sends accepted, none waited (the driver's count)",
                s.count
            ),
            format!(
                "{counts}, {waited} waited, stopped: {}; slowest send {slowest:.1} ms (measured, \
                 not judged); rule: the driver's waited count (DRV-71)",
                r.stopped
            ),
        ),
        None => {
            let bound = c.max_ms as f64 * scale;
            Eval::new(
                taken && slowest <= bound,
                format!(
                    "all {} sends accepted, none slower than {bound:.0} ms",
                    s.count
                ),
                format!(
                    "{counts}, slowest send {slowest:.1} ms, stopped: {}; rule: slowest send \
                     against {bound:.0} ms (the driver reports no waited count)",
                    r.stopped
                ),
            )
        }
    }
}

/// `check.blocked`: the sender refused or stalled before all were accepted.
pub(super) fn blocked(s: &Sent) -> Eval {
    let holds =
        s.report.would_block > 0 || s.report.stopped == "timeout" || s.report.accepted < s.count;
    Eval::new(
        holds,
        "the sender to refuse (would-block) or stall before all were accepted",
        format!(
            "{} of {} accepted, {} would-block, stopped: {}",
            s.report.accepted, s.count, s.report.would_block, s.report.stopped
        ),
    )
}

/// `check.all-taken`: every send was accepted in the end, none refused and the burst not cut
/// short by its timeout. Sends may have waited: a sender whose queue is bounded but whose peer
/// keeps draining (into an unbounded queue of its own) takes everything after short waits.
pub(super) fn all_taken(s: &Sent) -> Eval {
    let r = &s.report;
    let taken = every_send_accepted(s);
    Eval::new(
        taken && r.stopped != "timeout",
        format!("all {} sends accepted (waiting allowed)", s.count),
        format!(
            "{} of {} accepted, {} would-block, {} error(s), {} waited, stopped: {}",
            r.accepted,
            s.count,
            r.would_block,
            r.errors,
            r.waited
                .map_or_else(|| "unknown".to_string(), |w| w.to_string()),
            r.stopped
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use zmtp_driver_protocol::burst::encode_message;
    use zmtp_driver_protocol::drain::DrainAccumulator;
    use zmtp_driver_protocol::messages::BurstReport;

    /// A drain report of burst messages with these sequence numbers, in this order.
    fn drained(topic: &str, seqs: &[u64]) -> DrainReport {
        let mut acc = DrainAccumulator::new(0, 16);
        for &seq in seqs {
            acc.push(&encode_message(topic.as_bytes(), seq, 1, 0));
        }
        acc.finish("quiet", 0)
    }

    /// A burst of `count` from 0 of which `accepted` were accepted, from a driver that does not
    /// count waits.
    fn sent(count: u64, accepted: u64, would_block: u64, stopped: &str, max_send_us: u64) -> Sent {
        Sent {
            first_seq: 0,
            count,
            contiguous: true,
            report: BurstReport {
                accepted,
                would_block,
                errors: 0,
                first_error: None,
                first_would_block_seq: (would_block > 0).then_some(accepted),
                last_accepted_seq: accepted.checked_sub(1),
                stopped: stopped.into(),
                elapsed_us: 1000,
                max_send_us,
                waited: None,
            },
        }
    }

    fn count_check(min: Option<u64>, max: Option<u64>, topic: Option<&str>) -> check::Count {
        toml::from_str::<check::Count>(&format!(
            "{}{}{}",
            min.map(|m| format!("min = {m}\n")).unwrap_or_default(),
            max.map(|m| format!("max = {m}\n")).unwrap_or_default(),
            topic
                .map(|t| format!("topic = {t:?}\n"))
                .unwrap_or_default()
        ))
        .unwrap()
    }

    #[test]
    fn in_order_holds_for_increasing_and_fails_on_a_step_back() {
        assert!(in_order(&drained("", &[0, 1, 2])).holds);
        let e = in_order(&drained("", &[0, 2, 1]));
        assert!(!e.holds, "{}", e.actual);
    }

    #[test]
    fn no_partial_holds_for_whole_messages() {
        assert!(no_partial(&drained("", &[0, 1])).holds);
    }

    #[test]
    fn count_respects_bounds_and_topic() {
        let r = drained("a", &[0, 1, 2]);
        assert!(count(&count_check(Some(3), Some(3), None), &r).holds);
        assert!(!count(&count_check(Some(4), None, None), &r).holds);
        assert!(!count(&count_check(None, Some(2), None), &r).holds);
        assert!(count(&count_check(Some(3), None, Some("a")), &r).holds);
        let e = count(&count_check(Some(1), None, Some("b")), &r);
        assert_eq!((e.holds, e.actual.as_str()), (false, "0"));
    }

    fn suffix_check(allow_empty: bool) -> check::Suffix {
        toml::from_str(&format!("burst = \"b\"\nallow_empty = {allow_empty}")).unwrap()
    }

    #[test]
    fn suffix_accepts_a_dropped_prefix_and_measures_it() {
        let s = sent(10, 10, 0, "complete", 10);
        let e = suffix(&suffix_check(false), &drained("", &[4, 5, 6, 7, 8, 9]), &s);
        assert!(e.holds, "{}", e.actual);
        assert_eq!(e.measured.map(|m| m.value), Some(4.0));
        assert!(!suffix(&suffix_check(false), &drained("", &[4, 6, 7, 8, 9]), &s).holds);
        assert!(!suffix(&suffix_check(false), &drained("", &[]), &s).holds);
        assert!(suffix(&suffix_check(true), &drained("", &[]), &s).holds);
    }

    #[test]
    fn suffix_without_an_accepted_range_is_broken() {
        let e = suffix(
            &suffix_check(false),
            &drained("", &[]),
            &sent(10, 0, 1, "would_block", 0),
        );
        assert!(!e.holds);
        assert!(e.actual.contains("no contiguous range"), "{}", e.actual);
    }

    #[test]
    fn none_of_and_all_of() {
        let s = sent(3, 3, 0, "complete", 10);
        let none: check::NoneOf = toml::from_str("burst = \"b\"").unwrap();
        let all: check::AllOf = toml::from_str("burst = \"b\"").unwrap();
        assert!(none_of(&none, &drained("", &[]), &s).holds);
        assert!(!none_of(&none, &drained("", &[1]), &s).holds);
        assert!(all_of(&all, &drained("", &[0, 1, 2]), &s).holds);
        assert!(!all_of(&all, &drained("", &[0, 2]), &s).holds);
        assert!(!all_of(&all, &drained("", &[0, 1, 1, 2]), &s).holds);
    }

    /// The same burst from a driver that counts waits (DRV-71).
    fn counted(mut s: Sent, waited: u64) -> Sent {
        s.report.waited = Some(waited);
        s
    }

    #[test]
    fn not_blocked_judges_the_waited_count_when_the_driver_reports_it() {
        let c: check::NotBlocked = toml::from_str("burst = \"b\"\nmax_ms = 10").unwrap();
        // A slow send that never waited (the driver was descheduled): not blocked.
        let e = not_blocked(&c, &counted(sent(5, 5, 0, "complete", 900_000), 0), 1.0);
        assert!(e.holds, "{}", e.actual);
        assert!(e.actual.contains("slowest send 900.0 ms"), "{}", e.actual);
        assert!(
            e.actual.contains("rule: the driver's waited count"),
            "{}",
            e.actual
        );
        // A fast send that waited: blocked, whatever the time.
        let e = not_blocked(&c, &counted(sent(5, 5, 0, "complete", 10), 1), 1.0);
        assert!(!e.holds);
        assert!(e.actual.contains("1 waited"), "{}", e.actual);
        // Refusals and short bursts still fail.
        assert!(!not_blocked(&c, &counted(sent(5, 3, 1, "would_block", 10), 0), 1.0).holds);
        assert!(!not_blocked(&c, &counted(sent(5, 4, 0, "timeout", 10), 1), 1.0).holds);
    }

    #[test]
    fn not_blocked_and_blocked() {
        let c: check::NotBlocked = toml::from_str("burst = \"b\"\nmax_ms = 10").unwrap();
        assert!(not_blocked(&c, &sent(5, 5, 0, "complete", 9_000), 1.0).holds);
        assert!(!not_blocked(&c, &sent(5, 5, 0, "complete", 11_000), 1.0).holds);
        assert!(not_blocked(&c, &sent(5, 5, 0, "complete", 11_000), 2.0).holds);
        assert!(!not_blocked(&c, &sent(5, 3, 1, "would_block", 10), 1.0).holds);
        let e = not_blocked(&c, &sent(5, 5, 0, "complete", 11_000), 1.0);
        assert!(
            e.actual.contains("rule: slowest send against 10 ms"),
            "{}",
            e.actual
        );
        assert!(blocked(&sent(5, 3, 1, "would_block", 10)).holds);
        assert!(blocked(&sent(5, 3, 0, "timeout", 10)).holds);
        assert!(!blocked(&sent(5, 5, 0, "complete", 10)).holds);
    }

    #[test]
    fn all_taken_is_the_complement_of_blocked_and_allows_waiting() {
        // Every send taken after some waited (a bounded sender, a peer that keeps draining).
        let e = all_taken(&counted(sent(5, 5, 0, "complete", 200_000), 3));
        assert!(e.holds, "{}", e.actual);
        assert!(e.actual.contains("3 waited"), "{}", e.actual);
        for s in [
            sent(5, 3, 1, "would_block", 10),
            sent(5, 3, 0, "timeout", 10),
            sent(5, 5, 0, "complete", 10),
        ] {
            assert_ne!(all_taken(&s).holds, blocked(&s).holds, "{:?}", s.report);
        }
    }
}
