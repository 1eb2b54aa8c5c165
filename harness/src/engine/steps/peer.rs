//! Actions of the raw peer: listening, proxying, connecting, writing and waiting.

use super::super::{Ctx, StepResult, Stop};
use super::endpoint_addr;
use crate::peer::{PeerConn, PeerListener, PeerProxy};
use crate::scenario::action;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;
use zmtp_codec::{RawFrame, SizeField, SubscriptionForm};

/// `peer.listen`: listens on the raw peer's host address (127.0.0.1 unless `--peer-host` or
/// the case's test network says otherwise): a new port, or a saved address.
/// Why a step that needs the raw peer on the implementation's host is UNSUPPORTED when the
/// implementation runs elsewhere (`--iut-host`).
const ONE_HOST: &str = "needs the raw peer on the implementation's host";

pub(super) async fn listen(cx: &mut Ctx<'_>, s: &action::Listen) -> StepResult {
    let addr = match &s.address_of {
        Some(v) => endpoint_addr(&cx.interp(&format!("${{{v}}}"))?)?,
        None => std::net::SocketAddr::new(cx.peer_host(), 0),
    };
    if s.address_of.is_some() && !cx.env.hosts.is_local() && addr.ip() != cx.peer_host() {
        // Taking over a dead implementation's endpoint means listening on its host.
        return Err(Stop::Unsupported(format!(
            "{ONE_HOST}: the raw peer would listen on {addr}, the implementation's host (--iut-host), \
             which is not this machine's"
        )));
    }
    let l = PeerListener::bind(
        &s.listener,
        addr,
        s.settings.clone(),
        cx.clock,
        s.auto,
        cx.env.scaled(5000),
    )
    .await
    .map_err(|e| Stop::Error(e.to_string()))?;
    let key = s
        .save
        .clone()
        .unwrap_or_else(|| format!("{}_ep", s.listener));
    cx.vars.insert(key, Value::from(l.endpoint()));
    cx.accepted.remove(s.listener.as_str());
    cx.listeners.insert(s.listener.clone(), l);
    Ok(())
}

/// `peer.unlisten`: stops listening (accepted connections stay).
pub(super) async fn unlisten(cx: &mut Ctx<'_>, s: &action::Unlisten) -> StepResult {
    let l = cx
        .listeners
        .get(&s.listener)
        .ok_or_else(|| Stop::Error(format!("no listener `{}`", s.listener)))?;
    l.stop().await;
    Ok(())
}

/// `peer.proxy`: a recording proxy to `to`, listening where the raw peer listens (so an
/// implementation on another host reaches it, as it reaches `peer.listen`'s listeners).
pub(super) async fn proxy(cx: &mut Ctx<'_>, s: &action::Proxy) -> StepResult {
    let upstream = endpoint_addr(&cx.interp(&s.to)?)?;
    let p = PeerProxy::start(
        &s.proxy,
        cx.peer_host(),
        upstream,
        s.settings.clone(),
        cx.clock,
    )
    .await
    .map_err(|e| Stop::Error(e.to_string()))?;
    keep_proxy(cx, &s.proxy, s.save.as_deref(), p);
    Ok(())
}

/// Keeps a started proxy under `name` and saves its endpoint as `save` (default
/// `<name>_ep`); connections accepted under an earlier proxy of that name are forgotten.
pub(super) fn keep_proxy(cx: &mut Ctx<'_>, name: &str, save: Option<&str>, p: PeerProxy) {
    let key = save.map_or_else(|| format!("{name}_ep"), str::to_string);
    cx.vars.insert(key, Value::from(p.endpoint()));
    cx.accepted.remove(name);
    cx.proxies.insert(name.to_string(), p);
}

/// `peer.accept`: waits for connection number `n` (default: the next one after the last
/// taken, even when a name is reused inside `repeat`) on a listener or proxy.
pub(super) async fn accept(cx: &mut Ctx<'_>, s: &action::Accept) -> StepResult {
    let n =
        s.n.unwrap_or(cx.accepted.get(&s.listener).copied().unwrap_or(0) + 1);
    if cx.proxies.contains_key(&s.listener) {
        return accept_proxied(cx, s, n).await;
    }
    if let Some(until) = &s.until {
        return accept_until(cx, s, n, until).await;
    }
    let l = cx
        .listeners
        .get(&s.listener)
        .ok_or_else(|| Stop::Error(format!("no listener `{}`", s.listener)))?;
    let taken = cx.accepted.entry(s.listener.clone()).or_default();
    *taken = (*taken).max(n);
    let timeout = cx.env.scaled(s.timeout_ms);
    match l.wait_for(n, timeout).await {
        Ok(conn) => {
            let at = l.get(n).map(|(t, _)| t).unwrap_or(0);
            cx.marks.insert(s.name.clone(), at);
            cx.peers.insert(s.name.clone(), conn);
            Ok(())
        }
        Err(e) => Err(cx.fail(
            s.requirement.as_deref(),
            format!(
                "connection #{n} on {} within {} ms",
                s.listener,
                timeout.as_millis()
            ),
            e.to_string(),
        )),
    }
}

/// `peer.accept` with `until`: the first connection from number `n` on on which `until` holds.
/// A connection that ends before it does (a closed socket's leftover reconnect reaching a
/// re-opened listener first) is skipped: the step synchronises on what the wire shows, not on
/// the order in which connections arrive.
async fn accept_until(
    cx: &mut Ctx<'_>,
    s: &action::Accept,
    n: usize,
    until: &crate::scenario::Until,
) -> StepResult {
    let timeout = cx.env.scaled(s.timeout_ms);
    let l = cx
        .listeners
        .get(&s.listener)
        .ok_or_else(|| Stop::Error(format!("no listener `{}`", s.listener)))?;
    let mut skipped: Vec<usize> = Vec::new();
    let search = async {
        let mut next = n;
        let mut watching = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                arrived = l.wait_for(next, timeout) => {
                    let Ok(conn) = arrived else {
                        return None;
                    };
                    let (k, u) = (next, until.clone());
                    next += 1;
                    watching.spawn(async move {
                        let _ = conn
                            .wait_until(&u.to_string(), timeout, |snap| {
                                u.holds(snap) || snap.closed.is_some()
                            })
                            .await;
                        let holds = conn.with(|snap| u.holds(snap));
                        (k, holds)
                    });
                }
                Some(Ok((k, holds))) = watching.join_next() => {
                    if holds {
                        return Some(k);
                    }
                    skipped.push(k);
                }
            }
        }
    };
    let found = tokio::time::timeout(timeout, search).await.ok().flatten();
    skipped.sort_unstable();
    let skipped_text = if skipped.is_empty() {
        String::new()
    } else {
        format!(
            "; skipped connection(s) {} (ended before it held)",
            skipped
                .iter()
                .map(|k| format!("#{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let count = l.count();
    match found.and_then(|k| l.get(k).map(|(at, c)| (k, at, c))) {
        Some((k, at, conn)) => {
            let taken = cx.accepted.entry(s.listener.clone()).or_default();
            *taken = (*taken).max(k);
            cx.marks.insert(s.name.clone(), at);
            cx.peers.insert(s.name.clone(), conn);
            if !skipped.is_empty() {
                tracing::debug!("peer.accept {}: took #{k}{skipped_text}", s.listener);
            }
            Ok(())
        }
        None => Err(cx.fail(
            s.requirement.as_deref(),
            format!(
                "a connection from #{n} on {} on which {until} holds, within {} ms",
                s.listener,
                timeout.as_millis()
            ),
            format!("none ({count} accepted in all){skipped_text}"),
        )),
    }
}

/// `peer.accept` on a proxy: names the halves `<name>.client` and `<name>.server`.
async fn accept_proxied(cx: &mut Ctx<'_>, s: &action::Accept, n: usize) -> StepResult {
    let taken = cx.accepted.entry(s.listener.clone()).or_default();
    *taken = (*taken).max(n);
    let timeout = cx.env.scaled(s.timeout_ms);
    let waited = match cx.proxies.get(&s.listener) {
        Some(p) => p.wait_for(n, timeout).await,
        None => return Err(Stop::Error(format!("no proxy `{}`", s.listener))),
    };
    match waited {
        Ok((client, server)) => {
            let name = &s.name;
            cx.marks.insert(name.clone(), cx.clock.now_us());
            cx.peers.insert(format!("{name}.client"), client);
            cx.peers.insert(format!("{name}.server"), server);
            cx.proxy_names
                .insert(format!("{name}.client"), s.listener.clone());
            Ok(())
        }
        Err(e) => Err(cx.fail(
            s.requirement.as_deref(),
            format!(
                "connection #{n} through proxy {} within {} ms",
                s.listener,
                timeout.as_millis()
            ),
            e.to_string(),
        )),
    }
}

/// `peer.connect`: a raw peer connects (and, with `auto_handshake`, handshakes in the
/// background).
pub(super) async fn connect(cx: &mut Ctx<'_>, s: &action::PeerConnect) -> StepResult {
    let addr = endpoint_addr(&cx.interp(&s.to)?)?;
    let conn = PeerConn::connect(
        &s.peer,
        addr,
        s.settings.clone(),
        cx.clock,
        cx.env.scaled(5000),
    )
    .await
    .map_err(|e| {
        cx.fail(
            s.requirement.as_deref(),
            format!("a TCP connection to {addr}"),
            e.to_string(),
        )
    })?;
    let conn = Arc::new(conn);
    cx.marks.insert(s.peer.clone(), cx.clock.now_us());
    if s.settings.auto_handshake {
        let c = conn.clone();
        let t = cx.env.scaled(5000);
        tokio::spawn(async move {
            let _ = c.handshake(t).await;
        });
    }
    cx.peers.insert(s.peer.clone(), conn);
    Ok(())
}

/// `peer.greet`: the greeting, or its first `octets`.
pub(super) async fn greet(cx: &mut Ctx<'_>, s: &action::Greet) -> StepResult {
    let conn = cx.peer(&s.peer)?;
    let t = cx.env.scaled(5000);
    let r = match s.octets {
        Some(n) => {
            let g = conn
                .greeting_bytes()
                .map_err(|e| Stop::Error(e.to_string()))?;
            conn.write_greeting_part(&g, 0, n, t).await
        }
        None => {
            conn.send_greeting(s.mode.unwrap_or(conn.settings().greeting), t)
                .await
        }
    };
    r.map_err(|e| {
        cx.fail(
            s.requirement.as_deref(),
            "the greeting is written",
            e.to_string(),
        )
    })
}

/// `peer.handshake`: completes the greeting and the handshake.
pub(super) async fn handshake(cx: &mut Ctx<'_>, s: &action::Handshake) -> StepResult {
    let conn = cx.peer(&s.peer)?;
    let t = cx.env.scaled(s.timeout_ms);
    conn.handshake(t).await.map_err(|e| {
        cx.fail(
            s.requirement.as_deref(),
            format!("a completed handshake within {} ms", t.as_millis()),
            e.to_string(),
        )
    })
}

/// `peer.send`: one message.
pub(super) async fn send(cx: &mut Ctx<'_>, s: &action::PeerSend) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let frames = cx.parts(&s.parts, &s.parts_hex)?;
    conn.send_message(&frames, cx.env.scaled(5000))
        .await
        .map_err(|e| {
            cx.fail(
                s.requirement.as_deref(),
                "the message is written",
                e.to_string(),
            )
        })
}

/// `peer.burst`: a numbered burst in the driver protocol's format, written in 64 KiB writes.
pub(super) async fn burst(cx: &mut Ctx<'_>, s: &action::PeerBurst) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let deadline = Instant::now() + cx.env.scaled(s.timeout_ms);
    let mut wire = Vec::with_capacity(64 * 1024);
    let nparts = s.parts.clamp(1, 1024) as u16;
    let end = s.first_seq + s.count;
    for seq in s.first_seq..end {
        let frames = zmtp_driver_protocol::burst::encode_message(
            s.topic.as_bytes(),
            seq,
            nparts,
            s.size as usize,
        );
        let last = frames.len().saturating_sub(1);
        for (i, f) in frames.iter().enumerate() {
            zmtp_codec::Frame::message(f, i < last).encode(&mut wire);
        }
        if wire.len() >= 64 * 1024 || seq + 1 == end {
            let left = deadline.saturating_duration_since(Instant::now());
            conn.write(&wire, left).await.map_err(|e| {
                cx.fail(
                    s.requirement.as_deref(),
                    format!("{} messages written", s.count),
                    e.to_string(),
                )
            })?;
            wire.clear();
        }
    }
    Ok(())
}

/// `peer.subscribe`: a subscription (or cancellation) in the negotiated form or `form`.
pub(super) async fn subscribe(cx: &mut Ctx<'_>, s: &action::PeerSubscribe) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let topic = match &s.topic_hex {
        Some(h) => cx.hex("topic_hex", h)?,
        None => cx.interp(&s.topic)?.into_bytes(),
    };
    let form = match s.form.as_deref() {
        None => None,
        Some("message") => Some(SubscriptionForm::Message),
        Some("command") => Some(SubscriptionForm::Command),
        Some(other) => return Err(Stop::Error(format!("form {other:?}"))),
    };
    conn.send_subscription(!s.cancel, &topic, form, cx.env.scaled(5000))
        .await
        .map_err(|e| {
            cx.fail(
                s.requirement.as_deref(),
                "the subscription is written",
                e.to_string(),
            )
        })
}

/// `peer.ping`: a PING.
pub(super) async fn ping(cx: &mut Ctx<'_>, s: &action::PeerPing) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let context = cx.hex("context_hex", &s.context_hex)?;
    conn.ping(s.ttl, &context, cx.env.scaled(5000))
        .await
        .map_err(|e| cx.fail(s.requirement.as_deref(), "PING is written", e.to_string()))
}

/// `peer.command`: a well-formed command frame.
pub(super) async fn command(cx: &mut Ctx<'_>, s: &action::PeerCommand) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let data = cx.hex("data_hex", &s.data_hex)?;
    let cmd = zmtp_codec::Command::Unknown(zmtp_codec::command::Unknown {
        name: s.name.as_bytes(),
        data: &data,
    });
    conn.write(&cmd.to_vec(), cx.env.scaled(5000))
        .await
        .map_err(|e| {
            cx.fail(
                s.requirement.as_deref(),
                "the command is written",
                e.to_string(),
            )
        })
}

/// `peer.frame`: a frame exactly as described, size field included.
pub(super) async fn frame(cx: &mut Ctx<'_>, s: &action::PeerFrame) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let body = cx.hex("body_hex", &s.body_hex)?;
    let long = match s.size_form.as_deref() {
        Some("long") => true,
        Some("short") => false,
        _ => s.flags & zmtp_codec::Flags::LONG != 0,
    };
    let size = match (s.size, long) {
        (None, _) => SizeField::Honest,
        (Some(n), true) => SizeField::Long(n),
        (Some(n), false) => SizeField::Short(n as u8),
    };
    let size = match (size, s.size_form.as_deref(), long) {
        (SizeField::Honest, Some(_), true) => SizeField::Long(body.len() as u64),
        (SizeField::Honest, Some(_), false) => SizeField::Short(body.len() as u8),
        (size, _, _) => size,
    };
    let frame = RawFrame::new(s.flags, &body).with_size(size).to_vec();
    conn.write(&frame, cx.env.scaled(5000)).await.map_err(|e| {
        cx.fail(
            s.requirement.as_deref(),
            "the frame is written",
            e.to_string(),
        )
    })
}

/// `peer.raw`: raw octets, in one write or in pieces, then optionally a close.
pub(super) async fn raw(cx: &mut Ctx<'_>, s: &action::PeerRaw) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let bytes = cx.hex("hex", &s.hex)?;
    let t = cx.env.scaled(5000);
    let mut pieces = s.pieces.clone();
    if let Some(at) = &s.split_at {
        let mut last = 0usize;
        for cut in cx
            .interp(at)?
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            let cut: usize = cut
                .parse()
                .map_err(|e| Stop::Error(format!("split_at {cut:?}: {e}")))?;
            pieces.push(cut.saturating_sub(last));
            last = cut;
        }
        pieces.push(bytes.len().saturating_sub(last).max(1));
    }
    let r = if pieces.is_empty() {
        conn.write(&bytes, t).await
    } else {
        conn.write_in_pieces(&bytes, &pieces, t).await
    };
    r.map_err(|e| {
        cx.fail(
            s.requirement.as_deref(),
            "the octets are written",
            e.to_string(),
        )
    })?;
    if let Some(how) = s.then {
        conn.close(how).await;
    }
    Ok(())
}

/// `peer.save-command`: saves (a slice of) the data of the first command named `name`.
pub(super) fn save_command(cx: &mut Ctx<'_>, s: &action::SaveCommand) -> StepResult {
    let conn = cx.peer(&s.peer)?;
    let data = conn.with(|snap| {
        snap.commands()
            .into_iter()
            .find(|(n, _)| *n == s.name)
            .and_then(|(_, d)| d)
    });
    let from = s.offset.unwrap_or(0);
    let data = data.and_then(|d| {
        let to = s.len.map_or(d.len(), |l| from + l);
        d.get(from..to).map(hex::encode)
    });
    match data {
        Some(d) => {
            cx.vars.insert(s.save.clone(), Value::from(d));
            Ok(())
        }
        None => Err(cx.fail(
            s.requirement.as_deref(),
            format!(
                "a {} command on {} with data octets {from}..{}",
                s.name,
                s.peer,
                s.len.map_or("end".into(), |l| (from + l).to_string())
            ),
            "none arrived, or its data is shorter",
        )),
    }
}

/// `peer.stop-reading`: the TCP window fills.
pub(super) fn stop_reading(cx: &mut Ctx<'_>, s: &action::StopReading) -> StepResult {
    cx.peer(&s.peer)?.stop_reading();
    Ok(())
}

/// `peer.resume-reading`.
pub(super) fn resume_reading(cx: &mut Ctx<'_>, s: &action::ResumeReading) -> StepResult {
    cx.peer(&s.peer)?.resume_reading();
    Ok(())
}

/// `peer.close`: FIN or RST.
pub(super) async fn close(cx: &mut Ctx<'_>, s: &action::PeerClose) -> StepResult {
    cx.peer(&s.peer)?.close(s.how).await;
    Ok(())
}

/// `peer.wait`: waits (bounded) until a condition holds; its time is saved as `mark`.
pub(super) async fn wait(cx: &mut Ctx<'_>, s: &action::Wait) -> StepResult {
    let conn = cx.peer(&s.peer)?;
    let t = cx.env.scaled(s.timeout_ms);
    let r = conn
        .wait_until(&s.until.to_string(), t, |snap| s.until.holds(snap))
        .await;
    if let Some(m) = &s.mark {
        cx.marks.insert(m.clone(), cx.clock.now_us());
    }
    r.map_err(|e| {
        let seen = conn.with(|snap| {
            format!(
                "{e}; seen: {} event(s), {} octet(s) in, closed: {}",
                snap.events.len(),
                snap.transcript.received,
                snap.closed.is_some()
            )
        });
        cx.fail(
            s.requirement.as_deref(),
            format!("{} within {} ms", s.until, t.as_millis()),
            seen,
        )
    })
}
