//! Actions on the implementation, through its driver process.

use super::super::{Ctx, DriverSlot, StepResult, Stop};
use crate::driver::DriverError;
use crate::scenario::{Role, action};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use zmtp_driver_protocol::messages::{BurstArgs, DrainArgs};
use zmtp_driver_protocol::{Outcome, Reply};

/// A SIGTERM scheduled for while a request is pending.
struct ArmedTerm {
    on: Role,
    requested: Instant,
    timer: tokio::task::JoinHandle<Option<Instant>>,
}

fn reply_json(reply: &Reply) -> Value {
    serde_json::to_value(reply).unwrap_or(Value::Null)
}

/// An option value from a scenario as the driver protocol wants it: binary options take hex
/// (a string is its UTF-8 octets, `hex:...` is hex).
fn option_value(option: &str, v: &toml::Value) -> Result<Value, Stop> {
    use zmtp_driver_protocol::OptionKind;
    let kind = zmtp_driver_protocol::option_kind(option);
    Ok(match (kind, v) {
        (Some(OptionKind::Hex), toml::Value::String(s)) => match s.strip_prefix("hex:") {
            Some(h) => Value::from(hex::encode(super::unhex(option, h)?)),
            None => Value::from(hex::encode(s.as_bytes())),
        },
        (_, toml::Value::Integer(i)) => Value::from(*i),
        (_, toml::Value::Boolean(b)) => Value::from(*b),
        (_, toml::Value::String(s)) => Value::from(s.clone()),
        (_, other) => {
            return Err(Stop::Error(format!(
                "option {option}: unsupported value {other}"
            )));
        }
    })
}

/// `socket`: creates a socket and sets its options in the order written.
pub(super) async fn socket(cx: &mut Ctx<'_>, s: &action::Socket) -> StepResult {
    let req = s.requirement.as_deref();
    let d = cx.driver(s.on).await?;
    let handle = match d.socket(&s.socket_type).await {
        Ok(h) => h,
        Err(e) => return Err(cx.driver_stop(s.on, e, req)),
    };
    cx.sockets
        .insert(s.name.clone(), (s.on, handle, s.socket_type.clone()));
    for (option, value) in &s.options {
        set_option(cx, req, &s.name, option, value).await?;
    }
    Ok(())
}

/// `set`: sets one option.
pub(super) async fn set(cx: &mut Ctx<'_>, s: &action::Set) -> StepResult {
    set_option(cx, s.requirement.as_deref(), &s.socket, &s.option, &s.value).await
}

async fn set_option(
    cx: &mut Ctx<'_>,
    req: Option<&str>,
    socket: &str,
    option: &str,
    value: &toml::Value,
) -> StepResult {
    let (on, handle, _) = cx.socket(socket)?;
    let value = match value {
        toml::Value::String(t) => toml::Value::String(cx.interp(t)?),
        other => other.clone(),
    };
    let v = option_value(option, &value)?;
    let d = cx.driver(on).await?;
    let r = d.setsockopt(&handle, option, v).await;
    let r = r.and_then(|r| d.require_ok("setsockopt", r));
    r.map(|_| ()).map_err(|e| cx.driver_stop(on, e, req))
}

/// `bind`: binds and saves the concrete endpoint. A `tcp://127.0.0.1:` endpoint is moved to
/// the implementation's host address (`--iut-host`, or its namespace's) so the raw peer and
/// the other implementation can reach it.
pub(super) async fn bind(cx: &mut Ctx<'_>, s: &action::Bind) -> StepResult {
    let (on, handle, _) = cx.socket(&s.socket)?;
    let ep = crate::netns::rehost(&cx.interp(&s.endpoint)?, cx.host_of(on));
    let d = cx.driver(on).await?;
    match d.bind(&handle, &ep).await {
        Ok(actual) => {
            let key = s.save.clone().unwrap_or_else(|| format!("{}_ep", s.socket));
            cx.vars.insert(key, Value::from(actual));
            Ok(())
        }
        Err(e) => Err(cx.driver_stop(on, e, s.requirement.as_deref())),
    }
}

/// Which endpoint call: `connect`, `disconnect` or `unbind`.
#[derive(Clone, Copy)]
enum EndpointOp {
    Connect,
    Disconnect,
    Unbind,
}

async fn endpoint_op(
    cx: &mut Ctx<'_>,
    op: EndpointOp,
    socket: &str,
    endpoint: &str,
    req: Option<&str>,
) -> StepResult {
    let (on, handle, _) = cx.socket(socket)?;
    let ep = cx.interp(endpoint)?;
    let d = cx.driver(on).await?;
    let (kind, r) = match op {
        EndpointOp::Connect => ("connect", d.connect(&handle, &ep).await),
        EndpointOp::Disconnect => ("disconnect", d.disconnect(&handle, &ep).await),
        EndpointOp::Unbind => ("unbind", d.unbind(&handle, &ep).await),
    };
    let r = r.and_then(|r| d.require_ok(kind, r));
    r.map(|_| ()).map_err(|e| cx.driver_stop(on, e, req))
}

/// `connect` (asynchronous, like libzmq).
pub(super) async fn connect(cx: &mut Ctx<'_>, s: &action::Connect) -> StepResult {
    let req = s.requirement.as_deref();
    endpoint_op(cx, EndpointOp::Connect, &s.socket, &s.endpoint, req).await
}

/// `disconnect` from an endpoint.
pub(super) async fn disconnect(cx: &mut Ctx<'_>, s: &action::Disconnect) -> StepResult {
    let req = s.requirement.as_deref();
    endpoint_op(cx, EndpointOp::Disconnect, &s.socket, &s.endpoint, req).await
}

/// `unbind` an endpoint.
pub(super) async fn unbind(cx: &mut Ctx<'_>, s: &action::Unbind) -> StepResult {
    let req = s.requirement.as_deref();
    endpoint_op(cx, EndpointOp::Unbind, &s.socket, &s.endpoint, req).await
}

/// `send`: one message; the result must be `expect` (default `ok`).
pub(super) async fn send(cx: &mut Ctx<'_>, s: &action::Send) -> StepResult {
    let req = s.requirement.as_deref();
    let (on, handle, _) = cx.socket(&s.socket)?;
    let frames = cx.parts(&s.parts, &s.parts_hex)?;
    let timeout = cx.env.scaled(2000).as_millis() as u64;
    let d = cx.driver(on).await?;
    let r = match d.send(&handle, &frames, s.dontwait, timeout).await {
        Ok(r) => r,
        Err(e) => return Err(cx.driver_stop(on, e, req)),
    };
    cx.mark_unsafe(
        on,
        super::super::retire::after_send(frames.len(), &r.result),
    );
    check_result(cx, req, &r, s.expect.as_deref().unwrap_or("ok"))?;
    cx.save(&s.save, reply_json(&r));
    Ok(())
}

/// `burst`: a numbered burst sent inside the driver; its report is saved.
pub(super) async fn burst(cx: &mut Ctx<'_>, s: &action::Burst) -> StepResult {
    let (on, handle, _) = cx.socket(&s.socket)?;
    let args = BurstArgs {
        socket: handle,
        count: s.count,
        first_seq: s.first_seq,
        topic_hex: hex::encode(s.topic.as_bytes()),
        size: s.size,
        parts: s.parts,
        prefix_hex: s.prefix.iter().map(|p| hex::encode(p.as_bytes())).collect(),
        dontwait: s.dontwait,
        stop_on_would_block: s.stop_on_would_block,
        timeout_ms: cx.env.scaled(s.timeout_ms).as_millis() as u64,
    };
    let armed = arm_term(cx, on, s.terminate_after_ms).await?;
    let d = cx.driver(on).await?;
    let r = d.send_burst(&args).await;
    let signal = term_timing(cx, armed).await;
    match r {
        Ok(report) => {
            let frames = s.prefix.len() as u64 + s.parts;
            cx.mark_unsafe(
                on,
                super::super::retire::after_burst(frames, &report.stopped),
            );
            let mut v = json!({
                "first_seq": s.first_seq, "count": s.count,
                "contiguous": s.stop_on_would_block || !s.dontwait,
                "topic": s.topic,
                "report": report,
            });
            if let Some(sig) = signal {
                v["signal"] = sig;
            }
            cx.vars.insert(s.save.clone(), v);
            Ok(())
        }
        Err(e) => Err(pending_stop(
            cx,
            on,
            e,
            s.requirement.as_deref(),
            signal.is_some(),
            "burst",
        )),
    }
}

/// `recv`: one message, saved as the driver's reply.
pub(super) async fn recv(cx: &mut Ctx<'_>, s: &action::Recv) -> StepResult {
    let req = s.requirement.as_deref();
    let (on, handle, _) = cx.socket(&s.socket)?;
    let t = cx.env.scaled(s.timeout_ms).as_millis() as u64;
    let d = cx.driver(on).await?;
    let r = match d.recv(&handle, t).await {
        Ok(r) => r,
        Err(e) => return Err(cx.driver_stop(on, e, req)),
    };
    if let Some(e) = &s.expect {
        check_result(cx, req, &r, e)?;
    }
    cx.save(&s.save, reply_json(&r));
    Ok(())
}

/// `drain`: collects messages until `max`, a quiet period or the deadline; the report is
/// saved.
pub(super) async fn drain(cx: &mut Ctx<'_>, s: &action::Drain) -> StepResult {
    let (on, handle, _) = cx.socket(&s.socket)?;
    let args = DrainArgs {
        socket: handle,
        max_messages: s.max,
        quiet_ms: cx.env.scaled(s.quiet_ms).as_millis() as u64,
        timeout_ms: cx.env.scaled(s.timeout_ms).as_millis() as u64,
        strip_prefix: s.strip_prefix,
        other_limit: 16,
    };
    let armed = arm_term(cx, on, s.terminate_after_ms).await?;
    let d = cx.driver(on).await?;
    let r = d.drain(&args).await;
    let signal = term_timing(cx, armed).await;
    match r {
        Ok((_, report)) => {
            let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
            if let (Some(sig), Some(obj)) = (signal, v.as_object_mut()) {
                obj.insert("signal".into(), sig);
            }
            cx.vars.insert(s.save.clone(), v);
            Ok(())
        }
        Err(e) => Err(pending_stop(
            cx,
            on,
            e,
            s.requirement.as_deref(),
            signal.is_some(),
            "drain",
        )),
    }
}

/// `close`: closes a socket, optionally setting its linger first.
pub(super) async fn close(cx: &mut Ctx<'_>, s: &action::Close) -> StepResult {
    let (on, handle, _) = cx.socket(&s.socket)?;
    let d = cx.driver(on).await?;
    let r = d
        .close(&handle, s.linger_ms)
        .await
        .and_then(|r| d.require_ok("close", r));
    match r {
        Ok(r) => {
            cx.save(&s.save, reply_json(&r));
            cx.sockets.remove(&s.socket);
            Ok(())
        }
        Err(e) => Err(cx.driver_stop(on, e, s.requirement.as_deref())),
    }
}

/// The slot of a role's process, started on first use, marked as stopping on purpose.
async fn stopping_slot<'c>(cx: &'c mut Ctx<'_>, on: Role) -> Result<&'c mut DriverSlot, Stop> {
    cx.driver(on).await?;
    let slot = slot(cx, on)?;
    slot.expected_exit = true;
    Ok(slot)
}

/// `exit`: asks the driver to exit; does not wait.
pub(super) async fn exit(cx: &mut Ctx<'_>, s: &action::Exit) -> StepResult {
    let slot = stopping_slot(cx, s.on).await?;
    slot.stopping_since = Some(Instant::now());
    let r = slot.process.request_exit().await;
    r.map_err(|e| cx.driver_stop(s.on, e, s.requirement.as_deref()))
}

/// `terminate`: sends SIGTERM; does not wait.
pub(super) async fn terminate(cx: &mut Ctx<'_>, s: &action::Terminate) -> StepResult {
    let slot = stopping_slot(cx, s.on).await?;
    slot.stopping_since = Some(Instant::now());
    slot.process.signal_term();
    Ok(())
}

/// `kill`: SIGKILLs the process and reaps it.
pub(super) async fn kill(cx: &mut Ctx<'_>, s: &action::Kill) -> StepResult {
    let slot = stopping_slot(cx, s.on).await?;
    slot.process
        .kill()
        .await
        .map(|_| ())
        .map_err(|e| Stop::Error(e.to_string()))
}

/// `wait-exit`: waits for the process to exit; saves its code, signal and time.
pub(super) async fn wait_exit(cx: &mut Ctx<'_>, s: &action::WaitExit) -> StepResult {
    let timeout = cx.env.scaled(s.timeout_ms);
    let slot = slot(cx, s.on)?;
    let since = slot.stopping_since.unwrap_or_else(Instant::now);
    match slot.process.wait_exit(timeout).await {
        Ok(Some(status)) => {
            use std::os::unix::process::ExitStatusExt;
            let v = json!({
                "code": status.code(),
                "signal": status.signal(),
                "elapsed_ms": since.elapsed().as_secs_f64() * 1000.0,
            });
            cx.save(&s.save, v);
            Ok(())
        }
        Ok(None) => Err(cx.fail(
            s.requirement.as_deref(),
            format!("the process exits within {} ms", timeout.as_millis()),
            "it is still running",
        )),
        Err(e) => Err(Stop::Error(e.to_string())),
    }
}

/// `restart`: a fresh process for the role; the old one's sockets are gone.
pub(super) async fn restart(cx: &mut Ctx<'_>, s: &action::Restart) -> StepResult {
    let on = s.on;
    if let Some(mut old) = cx.drivers.remove(&on) {
        if old.process.is_running() {
            let _ = old.process.kill().await;
        }
        cx.retired.push((on, old.process));
    }
    cx.sockets.retain(|_, (r, _, _)| *r != on);
    cx.driver(on).await.map(|_| ())
}

/// `op`: any driver op with these fields (`${...}` replaced, `socket` named by its scenario
/// name).
pub(super) async fn op(cx: &mut Ctx<'_>, s: &action::Op) -> StepResult {
    let req = s.requirement.as_deref();
    let mut map = serde_json::Map::new();
    for (k, v) in &s.fields {
        let mut v = serde_json::to_value(v).map_err(|e| Stop::Error(format!("field {k}: {e}")))?;
        if let Value::String(t) = &v {
            let t = cx.interp(t)?;
            // A socket is named by its scenario name; the driver wants its handle.
            v = match (k.as_str(), cx.sockets.get(&t)) {
                ("socket", Some((_, handle, _))) => Value::from(handle.clone()),
                _ => Value::from(t),
            };
        }
        map.insert(k.clone(), v);
    }
    let timeout = cx.env.scaled(5000);
    let d = cx.driver(s.on).await?;
    let r = match d.request_op(&s.op, map, timeout).await {
        Ok(r) => r,
        Err(e) => return Err(cx.driver_stop(s.on, e, req)),
    };
    check_result(cx, req, &r, s.expect.as_deref().unwrap_or("ok"))?;
    cx.save(&s.save, reply_json(&r));
    Ok(())
}

/// `count-fds`: saves the process's open file descriptor count.
pub(super) async fn count_fds(cx: &mut Ctx<'_>, s: &action::CountFds) -> StepResult {
    match cx.driver(s.on).await?.open_fds() {
        Some(n) => {
            cx.vars.insert(s.save.clone(), Value::from(n));
            Ok(())
        }
        None => Err(Stop::Unsupported(
            "cannot count file descriptors here (/proc)".into(),
        )),
    }
}

/// `wait-event`: waits (bounded) for one of the monitor events of a socket.
pub(super) async fn wait_event(cx: &mut Ctx<'_>, s: &action::WaitEvent) -> StepResult {
    let (on, handle, _) = cx.socket(&s.socket)?;
    let wanted: Vec<&str> = s.event.split('|').map(str::trim).collect();
    let timeout = cx.env.scaled(s.timeout_ms);
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let d = cx.driver(on).await?;
        let (_, report) = match d.events(&handle, left.as_millis() as u64).await {
            Ok(r) => r,
            Err(e) => return Err(cx.driver_stop(on, e, s.requirement.as_deref())),
        };
        let hit = report
            .events
            .iter()
            .any(|e| wanted.contains(&e.event.as_str()));
        seen.extend(report.events.into_iter().map(|e| e.event));
        if hit {
            if let Some(m) = &s.mark {
                cx.marks.insert(m.clone(), cx.clock.now_us());
            }
            cx.save(&s.save, json!(seen));
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(cx.fail(
                s.requirement.as_deref(),
                format!(
                    "monitor event {} within {} ms",
                    s.event,
                    timeout.as_millis()
                ),
                format!("events seen: {seen:?}"),
            ));
        }
    }
}

/// For a step with `terminate_after_ms`: marks the process as stopping on purpose and
/// schedules its SIGTERM; returns when the request is about to be sent and the timer.
async fn arm_term(
    cx: &mut Ctx<'_>,
    on: Role,
    after_ms: Option<u64>,
) -> Result<Option<ArmedTerm>, Stop> {
    let Some(after_ms) = after_ms else {
        return Ok(None);
    };
    let slot = stopping_slot(cx, on).await?;
    let timer = slot
        .process
        .signal_term_after(Duration::from_millis(after_ms));
    let requested = Instant::now();
    slot.stopping_since = Some(requested + Duration::from_millis(after_ms));
    Ok(Some(ArmedTerm {
        on,
        requested,
        timer,
    }))
}

/// When the armed SIGTERM went out, relative to the request, and how long the pending
/// request took to answer after it: `{sent_after_ms, answered_ms_after_signal}`.
async fn term_timing(cx: &mut Ctx<'_>, armed: Option<ArmedTerm>) -> Option<Value> {
    let armed = armed?;
    let answered = Instant::now();
    // A request that answered before the signal leaves the timer running; wait for it, so
    // the signal is sent (and timed) all the same.
    let sent = armed.timer.await.ok().flatten();
    if let (Some(sent), Ok(slot)) = (sent, slot(cx, armed.on)) {
        slot.stopping_since = Some(sent);
    }
    Some(match sent {
        Some(sent) => json!({
            "sent_after_ms": sent.duration_since(armed.requested).as_secs_f64() * 1000.0,
            "answered_ms_after_signal": answered.saturating_duration_since(sent).as_secs_f64() * 1000.0,
            "answered_before_signal": answered < sent,
        }),
        None => json!({ "sent_after_ms": null }),
    })
}

/// A pending request failed: with a SIGTERM armed, a process that ended without answering
/// broke LINGER-07 (the blocked call did not return); otherwise the usual reading.
fn pending_stop(
    cx: &mut Ctx<'_>,
    on: Role,
    err: DriverError,
    req: Option<&str>,
    signalled: bool,
    op: &str,
) -> Stop {
    if signalled && matches!(err, DriverError::Exited { .. }) {
        return Stop::Failed {
            requirement: Some(req.unwrap_or("LINGER-07").to_string()),
            expected: format!("the pending `{op}` answers after SIGTERM, before the process ends"),
            actual: format!("the process ended without answering: {err}"),
        };
    }
    cx.driver_stop(on, err, req)
}

fn slot<'c>(cx: &'c mut Ctx<'_>, on: Role) -> Result<&'c mut DriverSlot, Stop> {
    cx.drivers
        .get_mut(&on)
        .ok_or_else(|| Stop::Error(format!("no process for {}", on.name())))
}

/// The reply's result must be `expect`; `unsupported` stops the case as UNSUPPORTED.
pub(super) fn check_result(
    cx: &Ctx<'_>,
    req: Option<&str>,
    reply: &Reply,
    expect: &str,
) -> StepResult {
    if reply.result.as_str() == expect {
        return Ok(());
    }
    if reply.result == Outcome::Unsupported {
        return Err(Stop::Unsupported(
            reply.message().unwrap_or("unsupported").to_string(),
        ));
    }
    Err(cx.fail(
        req,
        format!("result {expect}"),
        format!(
            "result {}{}",
            reply.result,
            reply
                .message()
                .map(|m| format!(" ({}: {m})", reply.code().unwrap_or("")))
                .unwrap_or_default()
        ),
    ))
}
