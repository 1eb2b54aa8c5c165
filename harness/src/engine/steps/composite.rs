//! Actions built from several driver and raw-peer operations.

use super::super::{Ctx, StepResult, Stop};
use super::endpoint_addr;
use crate::peer::{CloseHow, GreetingMode, PeerConn, PeerSettings, PeerSnapshot};
use crate::scenario::action;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zmtp_driver_protocol::Outcome;

/// `sync-pubsub`: publishes probes until the subscriber (a driver socket or a raw peer) gets
/// one, i.e. the subscription has reached the publisher; bounded by `timeout_ms`.
pub(super) async fn sync_pubsub(cx: &mut Ctx<'_>, s: &action::SyncPubSub) -> StepResult {
    let req = s.requirement.as_deref();
    let timeout = cx.env.scaled(s.timeout_ms);
    let deadline = Instant::now() + timeout;
    let (pon, phandle, _) = cx.socket(&s.publisher)?;
    let sub = s.subscriber.as_deref().map(|s| cx.socket(s)).transpose()?;
    let conn = s.peer.as_deref().map(|p| cx.peer(p)).transpose()?;
    let probe = [s.topic.as_bytes(), b"\x00sync-probe"].concat();
    let before = conn.as_ref().map(|c| c.with(|s| s.messages().count()));
    let mut probes = 0u64;
    while Instant::now() < deadline {
        probes += 1;
        let d = cx.driver(pon).await?;
        if let Err(e) = d
            .send(&phandle, std::slice::from_ref(&probe), true, 0)
            .await
        {
            return Err(cx.driver_stop(pon, e, req));
        }
        let arrived = match (&sub, &conn) {
            (Some((son, shandle, _)), _) => {
                let d = cx.driver(*son).await?;
                match d.recv(shandle, 10).await {
                    Ok(r) => r.result == Outcome::Ok,
                    Err(e) => return Err(cx.driver_stop(*son, e, req)),
                }
            }
            (None, Some(c)) => c
                .wait_until("a probe", Duration::from_millis(10), |s| {
                    // Our own probe, not other traffic still flowing to the peer.
                    s.messages()
                        .skip(before.unwrap_or(0))
                        .any(|m| m.len() == 1 && m[0][..] == probe[..])
                })
                .await
                .is_ok(),
            (None, None) => {
                return Err(Stop::Error(
                    "sync-pubsub needs `subscriber` or `peer`".into(),
                ));
            }
        };
        if arrived {
            cx.measurements.push(crate::verdict::Measurement {
                name: format!("sync probes until delivery ({})", s.publisher),
                value: probes as f64,
                unit: "messages".into(),
            });
            return Ok(());
        }
    }
    Err(cx.fail(
        req,
        format!("a probe delivered within {} ms", timeout.as_millis()),
        format!("{probes} probes published, none delivered"),
    ))
}

/// The raw-peer socket type that talks to an implementation socket of type `stype`.
fn probe_type(stype: &str) -> Option<&'static str> {
    Some(match stype {
        "PUB" | "XPUB" => "SUB",
        "SUB" | "XSUB" => "PUB",
        "PUSH" => "PULL",
        "PULL" => "PUSH",
        "REQ" => "REP",
        "REP" => "REQ",
        "DEALER" | "ROUTER" => "DEALER",
        "PAIR" => "PAIR",
        _ => return None,
    })
}

/// `liveness`: a fresh, well-formed peer connects, handshakes, and exchanges one message with
/// the implementation's socket.
pub(super) async fn liveness(cx: &mut Ctx<'_>, s: &action::Liveness) -> StepResult {
    let req = s.requirement.as_deref();
    let (_, _, stype) = cx.socket(&s.socket)?;
    let ep = cx.interp(&s.endpoint)?;
    let addr = endpoint_addr(&ep)?;
    let timeout = cx.env.scaled(s.timeout_ms);
    let peer_type =
        probe_type(&stype).ok_or_else(|| Stop::Error(format!("liveness: socket type {stype}")))?;
    let name = format!("liveness-{}", cx.step_index);
    let mut settings = match &s.settings {
        Some(s) => s.clone(),
        None => PeerSettings {
            greeting: GreetingMode::Whole,
            ..PeerSettings::default()
        },
    };
    if settings.socket_type.is_empty() {
        settings.socket_type = peer_type.to_string();
    }
    let conn = PeerConn::connect(&name, addr, settings, cx.clock, timeout)
        .await
        .map_err(|e| cx.fail(req, "the liveness probe connects", e.to_string()))?;
    let conn = Arc::new(conn);
    cx.peers.insert(name, conn.clone());
    conn.handshake(timeout).await.map_err(|e| {
        cx.fail(
            req,
            "a fresh peer completes a handshake",
            format!("liveness probe: {e}"),
        )
    })?;
    if matches!(stype.as_str(), "PUB" | "XPUB" | "PUSH" | "REQ") {
        liveness_from_iut(cx, s, &conn, peer_type, timeout).await?;
    } else {
        liveness_to_iut(cx, s, &conn, peer_type, timeout).await?;
    }
    conn.close(CloseHow::Fin).await;
    Ok(())
}

const LIVENESS_BODY: &[u8] = b"liveness";

/// The probe sends one message; the implementation's socket must receive it.
async fn liveness_to_iut(
    cx: &mut Ctx<'_>,
    s: &action::Liveness,
    conn: &PeerConn,
    peer_type: &str,
    timeout: Duration,
) -> StepResult {
    let req = s.requirement.as_deref();
    let (on, handle, _) = cx.socket(&s.socket)?;
    let body = LIVENESS_BODY.to_vec();
    let lost = |e: String| format!("liveness probe: {e}");
    let msg = if peer_type == "PUB" {
        // The implementation's SUB must have sent its subscriptions; publish on the first one
        // (or the empty topic).
        let _ = conn
            .wait_until("a subscription", timeout, |s| !s.subscriptions().is_empty())
            .await;
        let topic = conn.with(|s| {
            s.subscriptions()
                .into_iter()
                .find(|(sub, _)| *sub)
                .map(|(_, t)| t)
                .unwrap_or_default()
        });
        vec![[topic, body.clone()].concat()]
    } else if peer_type == "REQ" {
        vec![Vec::new(), body.clone()]
    } else {
        vec![body.clone()]
    };
    conn.send_message(&msg, timeout)
        .await
        .map_err(|e| cx.fail(req, "the probe message is written", lost(e.to_string())))?;
    let t = timeout.as_millis() as u64;
    let d = cx.driver(on).await?;
    let r = match d.recv(&handle, t).await {
        Ok(r) => r,
        Err(e) => return Err(cx.driver_stop(on, e, req)),
    };
    let got = r.parts().unwrap_or_default();
    if !got.last().is_some_and(|p| p.ends_with(&body)) {
        return Err(cx.fail(
            req,
            "the implementation receives the probe's message",
            format!("recv answered {} with {} frame(s)", r.result, got.len()),
        ));
    }
    Ok(())
}

/// The implementation's socket sends; the probe must receive one message.
///
/// A socket may take a moment to attach the new peer (zmq.rs answers ENOTCONN until it has
/// read the peer's READY; a PUSH may route a send to another peer), so sends are retried until
/// one reaches the probe; a REQ sends once, since it cannot send again.
async fn liveness_from_iut(
    cx: &mut Ctx<'_>,
    s: &action::Liveness,
    conn: &PeerConn,
    peer_type: &str,
    timeout: Duration,
) -> StepResult {
    let req = s.requirement.as_deref();
    let (on, handle, stype) = cx.socket(&s.socket)?;
    let body = LIVENESS_BODY.to_vec();
    if peer_type == "SUB" {
        conn.send_subscription(true, b"", None, timeout)
            .await
            .map_err(|e| cx.fail(req, "the probe subscribes", format!("liveness probe: {e}")))?;
    }
    let deadline = Instant::now() + timeout;
    let arrived = |s: &PeerSnapshot| {
        s.messages()
            .any(|m| m.last().is_some_and(|p| p.ends_with(&body)))
    };
    let mut sent_once = false;
    loop {
        if stype != "REQ" || !sent_once {
            let d = cx.driver(on).await?;
            match d.send(&handle, std::slice::from_ref(&body), true, 0).await {
                Ok(r) => sent_once |= r.result == Outcome::Ok,
                Err(e) => return Err(cx.driver_stop(on, e, req)),
            }
        }
        let wait = if stype == "REQ" && sent_once {
            deadline.saturating_duration_since(Instant::now())
        } else {
            Duration::from_millis(25)
        };
        if conn
            .wait_until("the probe message", wait, arrived)
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(cx.fail(
                req,
                "the probe receives a message from the implementation",
                if sent_once {
                    "nothing arrived"
                } else {
                    "every send was refused"
                },
            ));
        }
    }
}
