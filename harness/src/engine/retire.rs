//! Retiring a driver process that a case left unsafe to reuse (finding JB-01).
//!
//! Driver processes are reused between the cases a worker runs. libzmq 4.3.4 and 4.3.5 abort
//! in `session_base_t::clean_pipes` (`session_base.cpp:260` / `:233`) when a connection ends
//! while its engine holds part of a multipart message and the rest cannot be pulled from the
//! pipe (the socket was closed): a few milliseconds after the case's own end-of-case check, in
//! whatever case runs next. Both occurrences seen followed a `burst` of multi-frame messages:
//! one cut short by its deadline (`hwm/counts-messages-not-frames`, a message may be cut
//! inside), and complete ones of 300 eight-frame messages of 64 KiB toward a peer that had
//! stopped reading (`framing/iut-sends/*-during-multipart-burst`, the library may still be
//! writing one when the connection ends).
//!
//! The rule: a process that sent a `burst` of messages of more than one frame (routing prefix
//! included), however the burst ended, or a `send` of more than one frame that the library did
//! not take, is not handed to the next case. At the end of the case its
//! sockets are closed (LINGER 0, as for a reused process), the case's raw-peer connections are
//! closed, and then the process is asked to exit, given a bounded grace, killed if it is still
//! running, and reaped. An abnormal end during that retirement (a signal, e.g. the abort, or a
//! non-zero status) or no answer to the exit request is a failed `driver-alive` check of this
//! case, with the end of the driver's stderr. Every other case keeps its process (no cost).

use super::{DriverSlot, quote_stderr};
use crate::driver::DriverError;
use crate::scenario::Role;
use std::time::Duration;
use zmtp_driver_protocol::Outcome;

/// Why a `burst` of messages of `frames_per_message` frames (routing prefix included) that
/// stopped with `stopped` leaves its process unsafe to reuse: messages of more than one frame,
/// whether the burst stopped before its last message (`timeout`, `would_block`, `interrupted`,
/// `error`: one may have been cut inside) or completed (the library may still be writing one
/// when the connection ends). `None`: safe (one-frame messages).
pub(crate) fn after_burst(frames_per_message: u64, stopped: &str) -> Option<String> {
    if frames_per_message <= 1 {
        return None;
    }
    Some(if stopped == "complete" {
        format!(
            "a burst of {frames_per_message}-frame messages (complete; the library may still \
             be writing one when the connection ends)"
        )
    } else {
        format!(
            "a burst of {frames_per_message}-frame messages stopped ({stopped}) before its \
             last message, so one may have been cut inside"
        )
    })
}

/// Why a `send` of `frames` frames with result `result` leaves its process unsafe to reuse:
/// more than one frame and a result other than `ok` (a frame after the first may have been
/// taken). `unsupported` sent nothing. `None`: safe.
pub(crate) fn after_send(frames: usize, result: &Outcome) -> Option<String> {
    (frames > 1 && !matches!(result, Outcome::Ok | Outcome::Unsupported)).then(|| {
        format!("a send of a {frames}-frame message ended with `{result}`, so it may be cut inside")
    })
}

/// Asks the process of `role` to exit (bounded by its slack), waits up to `grace`, kills and
/// reaps it if it is still running. Returns what to charge to the case: an abnormal end that
/// the harness did not cause, or no answer to the exit request.
pub(super) async fn retire(
    role: Role,
    slot: &mut DriverSlot,
    why: &str,
    grace: Duration,
) -> Option<String> {
    let p = &mut slot.process;
    p.annotate(&format!("retired after the case, not reused: {why}"));
    slot.expected_exit = true;
    let who = format!("the {} process ({})", role.name(), p.label());
    let what = match p.request_exit().await {
        Err(e @ (DriverError::Timeout { .. } | DriverError::Protocol { .. })) => {
            let _ = p.kill().await;
            Some(format!(
                "{who} did not answer the exit request when it was retired after the case \
                 ({why}; killed): {e}"
            ))
        }
        // Answered, or already dead (`Exited`): its status says how it ended.
        _ => match p.wait_exit(grace).await {
            Ok(Some(status)) if !status.success() => Some(format!(
                "{who} ended abnormally when it was retired after the case ({why}): {status}"
            )),
            Ok(Some(_)) => None,
            // Still running after the grace: killed by the harness, not charged.
            Ok(None) | Err(_) => {
                p.annotate(&format!("still running {grace:?} after the exit request"));
                let _ = p.kill().await;
                None
            }
        },
    }?;
    Some(quote_stderr(p, what).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_frame_burst_is_unsafe_however_it_stopped() {
        for stopped in ["timeout", "would_block", "interrupted", "error", "what"] {
            let why = after_burst(4, stopped).expect(stopped);
            assert!(
                why.contains("4-frame") && why.contains(stopped) && why.contains("cut inside"),
                "{why}"
            );
        }
        let why = after_burst(8, "complete").expect("complete");
        assert!(
            why.contains("8-frame") && why.contains("still be writing"),
            "{why}"
        );
    }

    #[test]
    fn a_one_frame_burst_is_safe_however_it_stopped() {
        for stopped in ["complete", "timeout", "would_block", "interrupted", "error"] {
            assert_eq!(after_burst(1, stopped), None, "{stopped}");
        }
    }

    #[test]
    fn a_routing_prefix_counts_as_a_frame() {
        // A ROUTER burst of one-part messages behind one routing frame: two frames a message.
        assert!(after_burst(1 + 1, "timeout").is_some());
    }

    #[test]
    fn a_multi_frame_send_not_taken_is_unsafe() {
        for r in [Outcome::Timeout, Outcome::WouldBlock, Outcome::Error] {
            assert!(after_send(2, &r).is_some(), "{r}");
            assert_eq!(after_send(1, &r), None, "{r}");
        }
        assert_eq!(after_send(3, &Outcome::Ok), None);
        assert_eq!(after_send(3, &Outcome::Unsupported), None);
    }
}
