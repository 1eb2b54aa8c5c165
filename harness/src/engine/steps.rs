//! Carrying out the steps of a case.

use super::{Ctx, StepResult, Stop};
use crate::driver::DriverError;
use crate::peer::{CloseHow, GreetingMode, PeerConn, PeerListener, PeerProxy, PeerSettings};
use crate::scenario::{Role, Step, Until};
use crate::verdict::StepRecord;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zmtp_codec::{RawFrame, SizeField, SubscriptionForm};
use zmtp_driver_protocol::messages::{BurstArgs, DrainArgs};

/// A SIGTERM scheduled for while a request is pending.
struct ArmedTerm {
    on: Role,
    requested: Instant,
    timer: tokio::task::JoinHandle<Option<Instant>>,
}

/// Decodes hex given in a scenario.
pub(crate) fn unhex(what: &str, s: &str) -> Result<Vec<u8>, Stop> {
    let cleaned: String = s.split_whitespace().collect();
    hex::decode(&cleaned).map_err(|e| Stop::Error(format!("{what}: not hex: {e}")))
}

/// The frames of a message given as text or hex.
pub(crate) fn message_parts(
    parts: &Option<Vec<String>>,
    parts_hex: &Option<Vec<String>>,
) -> Result<Vec<Vec<u8>>, Stop> {
    match (parts, parts_hex) {
        (_, Some(h)) => h.iter().map(|p| unhex("parts_hex", p)).collect(),
        (Some(t), None) => Ok(t.iter().map(|p| p.as_bytes().to_vec()).collect()),
        (None, None) => Err(Stop::Error("a message needs `parts` or `parts_hex`".into())),
    }
}

/// An option value from a scenario as the driver protocol wants it: binary options take hex
/// (a string is its UTF-8 octets, `hex:...` is hex).
fn option_value(option: &str, v: &toml::Value) -> Result<Value, Stop> {
    use zmtp_driver_protocol::OptionKind;
    let kind = zmtp_driver_protocol::option_kind(option);
    Ok(match (kind, v) {
        (Some(OptionKind::Hex), toml::Value::String(s)) => match s.strip_prefix("hex:") {
            Some(h) => Value::from(hex::encode(unhex(option, h)?)),
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

fn endpoint_addr(ep: &str) -> Result<std::net::SocketAddr, Stop> {
    ep.strip_prefix("tcp://")
        .unwrap_or(ep)
        .parse()
        .map_err(|e| Stop::Error(format!("endpoint {ep:?}: {e}")))
}

fn reply_json(reply: &zmtp_driver_protocol::Reply) -> Value {
    serde_json::to_value(reply).unwrap_or(Value::Null)
}

impl std::fmt::Display for Until {
    /// The condition in words: "the implementation's READY and 3 messages".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.greeting {
            parts.push("the implementation's greeting".into());
        }
        if self.ready {
            parts.push("the implementation's READY".into());
        }
        if let Some(n) = self.messages {
            parts.push(format!("{n} message(s)"));
        }
        if let Some(n) = self.subscriptions {
            parts.push(format!("{n} subscription(s) or cancellation(s)"));
        }
        if let Some(t) = &self.subscription {
            parts.push(format!("a subscription to {t:?}"));
        }
        if let Some(c) = &self.command {
            parts.push(format!("a {c} command"));
        }
        if self.closed {
            parts.push("the connection closed".into());
        }
        if self.ended {
            parts.push("the connection ended (closed, ERROR or a protocol violation)".into());
        }
        if let Some(n) = self.received {
            parts.push(format!("{n} octet(s) received"));
        }
        if let Some(n) = self.burst_seq {
            parts.push(format!("burst message #{n}"));
        }
        if !self.any_of.is_empty() {
            let alts: Vec<String> = self.any_of.iter().map(|u| u.to_string()).collect();
            parts.push(format!("one of ({})", alts.join(" | ")));
        }
        if parts.is_empty() {
            parts.push("nothing".into());
        }
        f.write_str(&parts.join(" and "))
    }
}

impl Until {
    /// Whether the condition holds on a connection's recorded state.
    pub fn holds(&self, s: &crate::peer::PeerSnapshot) -> bool {
        use crate::peer::PeerEventKind as K;
        (!self.greeting || s.first(|k| matches!(k, K::Greeting { .. })).is_some())
            && (!self.ready || s.first(|k| matches!(k, K::Ready { .. })).is_some())
            && self.messages.is_none_or(|n| s.message_count >= n)
            && self
                .subscriptions
                .is_none_or(|n| s.subscriptions().len() >= n)
            && self.subscription.as_ref().is_none_or(|t| {
                s.subscriptions()
                    .iter()
                    .any(|(sub, topic)| *sub && topic == t.as_bytes())
            })
            && self
                .command
                .as_ref()
                .is_none_or(|c| s.commands().iter().any(|(name, _)| name == c))
            && (!self.closed || s.closed.is_some())
            && (!self.ended
                || s.closed.is_some()
                || s.error_reason().is_some()
                || s.violation().is_some())
            && self.received.is_none_or(|n| s.transcript.received >= n)
            && self.burst_seq.is_none_or(|seq| s.burst_seqs.contains(&seq))
            && (self.any_of.is_empty() || self.any_of.iter().any(|u| u.holds(s)))
    }
}

impl Ctx<'_> {
    /// The frames of a message, with `${...}` replaced in each.
    fn parts(
        &self,
        parts: &Option<Vec<String>>,
        parts_hex: &Option<Vec<String>>,
    ) -> Result<Vec<Vec<u8>>, Stop> {
        let interp_all = |v: &Option<Vec<String>>| -> Result<Option<Vec<String>>, Stop> {
            v.as_ref()
                .map(|v| v.iter().map(|p| self.interp(p)).collect())
                .transpose()
        };
        message_parts(&interp_all(parts)?, &interp_all(parts_hex)?)
    }

    /// Hex from a scenario, with `${...}` replaced first.
    fn hex(&self, what: &str, s: &str) -> Result<Vec<u8>, Stop> {
        unhex(what, &self.interp(s)?)
    }

    /// Runs steps in order, recording each.
    pub(crate) fn run_steps<'a>(
        &'a mut self,
        steps: &'a [Step],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = StepResult> + 'a>> {
        Box::pin(async move {
            for step in steps {
                self.step_index += 1;
                let index = self.step_index;
                let at = self.clock.now_us();
                let began = Instant::now();
                let result = self.run_step(step).await;
                let meta = step.meta();
                let outcome = match &result {
                    Ok(()) => "ok".to_string(),
                    Err(Stop::Failed {
                        expected, actual, ..
                    }) => format!("failed: expected {expected}; got {actual}"),
                    Err(Stop::Unsupported(m)) => format!("unsupported: {m}"),
                    Err(Stop::Error(m)) => format!("error: {m}"),
                };
                if !matches!(step, Step::Repeat { .. }) || result.is_err() {
                    self.steps.push(StepRecord {
                        index,
                        kind: step.kind().to_string(),
                        at_ms: at as f64 / 1000.0,
                        took_ms: began.elapsed().as_secs_f64() * 1000.0,
                        outcome,
                    });
                }
                match result {
                    Err(_) if meta.optional => continue,
                    Err(e) => return Err(e),
                    Ok(()) => {}
                }
            }
            Ok(())
        })
    }

    fn fail(&self, step: &Step, expected: impl Into<String>, actual: impl Into<String>) -> Stop {
        match step.meta().requirement {
            Some(r) => Stop::Failed {
                requirement: Some(r.to_string()),
                expected: expected.into(),
                actual: actual.into(),
            },
            None => Stop::Error(format!(
                "expected {}; got {}",
                expected.into(),
                actual.into()
            )),
        }
    }

    async fn run_step(&mut self, step: &Step) -> StepResult {
        if step.is_check() {
            self.run_check(step).await;
            return Ok(());
        }
        let req = step.meta().requirement;
        match step {
            Step::Socket {
                on,
                socket_type,
                name,
                options,
                ..
            } => {
                let on = *on;
                let d = self.driver(on).await?;
                let handle = match d.socket(socket_type).await {
                    Ok(h) => h,
                    Err(e) => return Err(self.driver_stop(on, e, req)),
                };
                self.sockets
                    .insert(name.clone(), (on, handle.clone(), socket_type.clone()));
                for (option, value) in options {
                    self.set_option(step, name, option, value).await?;
                }
                Ok(())
            }
            Step::Set {
                socket,
                option,
                value,
                ..
            } => self.set_option(step, socket, option, value).await,
            Step::Bind {
                socket,
                endpoint,
                save,
                ..
            } => {
                let (on, handle, _) = self.socket(socket)?;
                let ep = self.interp(endpoint)?;
                let d = self.driver(on).await?;
                match d.bind(&handle, &ep).await {
                    Ok(actual) => {
                        let key = save.clone().unwrap_or_else(|| format!("{socket}_ep"));
                        self.vars.insert(key, Value::from(actual));
                        Ok(())
                    }
                    Err(e) => Err(self.driver_stop(on, e, req)),
                }
            }
            Step::Connect {
                socket, endpoint, ..
            }
            | Step::Disconnect {
                socket, endpoint, ..
            }
            | Step::Unbind {
                socket, endpoint, ..
            } => {
                let (on, handle, _) = self.socket(socket)?;
                let ep = self.interp(endpoint)?;
                let d = self.driver(on).await?;
                let r = match step {
                    Step::Connect { .. } => d.connect(&handle, &ep).await,
                    Step::Disconnect { .. } => d.disconnect(&handle, &ep).await,
                    _ => d.unbind(&handle, &ep).await,
                };
                let r = r.and_then(|r| d.require_ok(step.kind(), r));
                r.map(|_| ()).map_err(|e| self.driver_stop(on, e, req))
            }
            Step::Send {
                socket,
                parts,
                parts_hex,
                dontwait,
                expect,
                save,
                ..
            } => {
                let (on, handle, _) = self.socket(socket)?;
                let frames = self.parts(parts, parts_hex)?;
                let timeout = self.env.scaled(2000).as_millis() as u64;
                let d = self.driver(on).await?;
                let r = match d.send(&handle, &frames, *dontwait, timeout).await {
                    Ok(r) => r,
                    Err(e) => return Err(self.driver_stop(on, e, req)),
                };
                self.check_result(step, &r, expect.as_deref().unwrap_or("ok"))?;
                if let Some(s) = save {
                    self.vars.insert(s.clone(), reply_json(&r));
                }
                Ok(())
            }
            Step::Burst {
                socket,
                count,
                first_seq,
                topic,
                size,
                parts,
                prefix,
                dontwait,
                stop_on_would_block,
                timeout_ms,
                terminate_after_ms,
                save,
                ..
            } => {
                let (on, handle, _) = self.socket(socket)?;
                let args = BurstArgs {
                    socket: handle,
                    count: *count,
                    first_seq: *first_seq,
                    topic_hex: hex::encode(topic.as_bytes()),
                    size: *size,
                    parts: *parts,
                    prefix_hex: prefix.iter().map(|p| hex::encode(p.as_bytes())).collect(),
                    dontwait: *dontwait,
                    stop_on_would_block: *stop_on_would_block,
                    timeout_ms: self.env.scaled(*timeout_ms).as_millis() as u64,
                };
                let armed = self.arm_term(on, *terminate_after_ms).await?;
                let d = self.driver(on).await?;
                let r = d.send_burst(&args).await;
                let signal = self.term_timing(armed).await;
                match r {
                    Ok(report) => {
                        let mut v = json!({
                            "first_seq": first_seq, "count": count,
                            "contiguous": *stop_on_would_block || !*dontwait,
                            "topic": topic,
                            "report": report,
                        });
                        if let Some(sig) = signal {
                            v["signal"] = sig;
                        }
                        self.vars.insert(save.clone(), v);
                        Ok(())
                    }
                    Err(e) => Err(self.pending_stop(on, e, req, signal.is_some(), "burst")),
                }
            }
            Step::Recv {
                socket,
                timeout_ms,
                expect,
                save,
                ..
            } => {
                let (on, handle, _) = self.socket(socket)?;
                let t = self.env.scaled(*timeout_ms).as_millis() as u64;
                let d = self.driver(on).await?;
                let r = match d.recv(&handle, t).await {
                    Ok(r) => r,
                    Err(e) => return Err(self.driver_stop(on, e, req)),
                };
                if let Some(e) = expect {
                    self.check_result(step, &r, e)?;
                }
                if let Some(s) = save {
                    self.vars.insert(s.clone(), reply_json(&r));
                }
                Ok(())
            }
            Step::Drain {
                socket,
                max,
                quiet_ms,
                timeout_ms,
                strip_prefix,
                terminate_after_ms,
                save,
                ..
            } => {
                let (on, handle, _) = self.socket(socket)?;
                let args = DrainArgs {
                    socket: handle,
                    max_messages: *max,
                    quiet_ms: self.env.scaled(*quiet_ms).as_millis() as u64,
                    timeout_ms: self.env.scaled(*timeout_ms).as_millis() as u64,
                    strip_prefix: *strip_prefix,
                    other_limit: 16,
                };
                let armed = self.arm_term(on, *terminate_after_ms).await?;
                let d = self.driver(on).await?;
                let r = d.drain(&args).await;
                let signal = self.term_timing(armed).await;
                match r {
                    Ok((_, report)) => {
                        let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
                        if let (Some(sig), Some(obj)) = (signal, v.as_object_mut()) {
                            obj.insert("signal".into(), sig);
                        }
                        self.vars.insert(save.clone(), v);
                        Ok(())
                    }
                    Err(e) => Err(self.pending_stop(on, e, req, signal.is_some(), "drain")),
                }
            }
            Step::Close {
                socket,
                linger_ms,
                save,
                ..
            } => {
                let (on, handle, _) = self.socket(socket)?;
                let d = self.driver(on).await?;
                let r = d
                    .close(&handle, *linger_ms)
                    .await
                    .and_then(|r| d.require_ok("close", r));
                match r {
                    Ok(r) => {
                        if let Some(s) = save {
                            self.vars.insert(s.clone(), reply_json(&r));
                        }
                        self.sockets.remove(socket);
                        Ok(())
                    }
                    Err(e) => Err(self.driver_stop(on, e, req)),
                }
            }
            Step::Exit { on, .. } => {
                let on = *on;
                self.driver(on).await?;
                let slot = self.slot(on)?;
                slot.expected_exit = true;
                slot.stopping_since = Some(Instant::now());
                let r = slot.process.request_exit().await;
                r.map_err(|e| self.driver_stop(on, e, req))
            }
            Step::Terminate { on, .. } => {
                let on = *on;
                self.driver(on).await?;
                let slot = self.slot(on)?;
                slot.expected_exit = true;
                slot.stopping_since = Some(Instant::now());
                slot.process.signal_term();
                Ok(())
            }
            Step::Kill { on, .. } => {
                let on = *on;
                self.driver(on).await?;
                let slot = self.slot(on)?;
                slot.expected_exit = true;
                slot.process
                    .kill()
                    .await
                    .map(|_| ())
                    .map_err(|e| Stop::Error(e.to_string()))
            }
            Step::WaitExit {
                on,
                timeout_ms,
                save,
                ..
            } => {
                let on = *on;
                let timeout = self.env.scaled(*timeout_ms);
                let slot = self.slot(on)?;
                let since = slot.stopping_since.unwrap_or_else(Instant::now);
                match slot.process.wait_exit(timeout).await {
                    Ok(Some(status)) => {
                        use std::os::unix::process::ExitStatusExt;
                        let v = json!({
                            "code": status.code(),
                            "signal": status.signal(),
                            "elapsed_ms": since.elapsed().as_secs_f64() * 1000.0,
                        });
                        if let Some(s) = save {
                            self.vars.insert(s.clone(), v);
                        }
                        Ok(())
                    }
                    Ok(None) => Err(self.fail(
                        step,
                        format!("the process exits within {} ms", timeout.as_millis()),
                        "it is still running",
                    )),
                    Err(e) => Err(Stop::Error(e.to_string())),
                }
            }
            Step::Restart { on, .. } => {
                let on = *on;
                if let Some(mut old) = self.drivers.remove(&on) {
                    if old.process.is_running() {
                        let _ = old.process.kill().await;
                    }
                    self.retired.push((on, old.process));
                }
                self.sockets.retain(|_, (r, _, _)| *r != on);
                self.driver(on).await.map(|_| ())
            }
            Step::CountFds { on, save, .. } => {
                let n = self.driver(*on).await?.open_fds();
                match n {
                    Some(n) => {
                        self.vars.insert(save.clone(), Value::from(n));
                        Ok(())
                    }
                    None => Err(Stop::Unsupported(
                        "cannot count file descriptors here (/proc)".into(),
                    )),
                }
            }

            Step::Op {
                on,
                op,
                fields,
                expect,
                save,
                ..
            } => {
                let on = *on;
                let mut map = serde_json::Map::new();
                for (k, v) in fields {
                    let mut v = serde_json::to_value(v)
                        .map_err(|e| Stop::Error(format!("field {k}: {e}")))?;
                    if let Value::String(t) = &v {
                        let t = self.interp(t)?;
                        // A socket is named by its scenario name; the driver wants its handle.
                        v = match (k.as_str(), self.sockets.get(&t)) {
                            ("socket", Some((_, handle, _))) => Value::from(handle.clone()),
                            _ => Value::from(t),
                        };
                    }
                    map.insert(k.clone(), v);
                }
                let timeout = self.env.scaled(5000);
                let d = self.driver(on).await?;
                let r = match d.request_op(op, map, timeout).await {
                    Ok(r) => r,
                    Err(e) => return Err(self.driver_stop(on, e, req)),
                };
                self.check_result(step, &r, expect.as_deref().unwrap_or("ok"))?;
                if let Some(s) = save {
                    self.vars.insert(s.clone(), reply_json(&r));
                }
                Ok(())
            }
            Step::WaitEvent {
                socket,
                event,
                timeout_ms,
                mark,
                save,
                ..
            } => {
                let (on, handle, _) = self.socket(socket)?;
                let wanted: Vec<&str> = event.split('|').map(str::trim).collect();
                let timeout = self.env.scaled(*timeout_ms);
                let deadline = Instant::now() + timeout;
                let mut seen = Vec::new();
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let d = self.driver(on).await?;
                    let (_, report) = match d.events(&handle, left.as_millis() as u64).await {
                        Ok(r) => r,
                        Err(e) => return Err(self.driver_stop(on, e, step.meta().requirement)),
                    };
                    let hit = report
                        .events
                        .iter()
                        .any(|e| wanted.contains(&e.event.as_str()));
                    seen.extend(report.events.into_iter().map(|e| e.event));
                    if hit {
                        if let Some(m) = mark {
                            self.marks.insert(m.clone(), self.clock.now_us());
                        }
                        if let Some(s) = save {
                            self.vars.insert(s.clone(), json!(seen));
                        }
                        return Ok(());
                    }
                    if Instant::now() >= deadline {
                        return Err(self.fail(
                            step,
                            format!("monitor event {event} within {} ms", timeout.as_millis()),
                            format!("events seen: {seen:?}"),
                        ));
                    }
                }
            }

            // ---- raw peer ---------------------------------------------------------------
            Step::Listen {
                listener,
                settings,
                auto,
                address_of,
                save,
                ..
            } => {
                let addr = match address_of {
                    Some(v) => endpoint_addr(&self.interp(&format!("${{{v}}}"))?)?,
                    None => "127.0.0.1:0"
                        .parse()
                        .map_err(|_| Stop::Error("addr".into()))?,
                };
                let l = PeerListener::bind(
                    listener,
                    addr,
                    settings.clone(),
                    self.clock,
                    *auto,
                    self.env.scaled(5000),
                )
                .await
                .map_err(|e| Stop::Error(e.to_string()))?;
                let key = save.clone().unwrap_or_else(|| format!("{listener}_ep"));
                self.vars.insert(key, Value::from(l.endpoint()));
                self.accepted.remove(listener.as_str());
                self.listeners.insert(listener.clone(), l);
                Ok(())
            }
            Step::Unlisten { listener, .. } => {
                let l = self
                    .listeners
                    .get(listener)
                    .ok_or_else(|| Stop::Error(format!("no listener `{listener}`")))?;
                l.stop().await;
                Ok(())
            }
            Step::Proxy {
                proxy,
                to,
                settings,
                save,
                ..
            } => {
                let upstream = endpoint_addr(&self.interp(to)?)?;
                let p = PeerProxy::start(proxy, upstream, settings.clone(), self.clock)
                    .await
                    .map_err(|e| Stop::Error(e.to_string()))?;
                let key = save.clone().unwrap_or_else(|| format!("{proxy}_ep"));
                self.vars.insert(key, Value::from(p.endpoint()));
                self.accepted.remove(proxy.as_str());
                self.proxies.insert(proxy.clone(), p);
                Ok(())
            }
            Step::Accept {
                listener,
                name,
                n,
                timeout_ms,
                ..
            } if self.proxies.contains_key(listener) => {
                let n = n.unwrap_or(self.accepted.get(listener).copied().unwrap_or(0) + 1);
                let taken = self.accepted.entry(listener.clone()).or_default();
                *taken = (*taken).max(n);
                let timeout = self.env.scaled(*timeout_ms);
                let waited = match self.proxies.get(listener) {
                    Some(p) => p.wait_for(n, timeout).await,
                    None => return Err(Stop::Error(format!("no proxy `{listener}`"))),
                };
                match waited {
                    Ok((client, server)) => {
                        self.marks.insert(name.clone(), self.clock.now_us());
                        self.peers.insert(format!("{name}.client"), client);
                        self.peers.insert(format!("{name}.server"), server);
                        self.proxy_names
                            .insert(format!("{name}.client"), listener.clone());
                        Ok(())
                    }
                    Err(e) => Err(self.fail(
                        step,
                        format!(
                            "connection #{n} through proxy {listener} within {} ms",
                            timeout.as_millis()
                        ),
                        e.to_string(),
                    )),
                }
            }
            Step::Accept {
                listener,
                name,
                n,
                timeout_ms,
                ..
            } => {
                let l = self
                    .listeners
                    .get(listener)
                    .ok_or_else(|| Stop::Error(format!("no listener `{listener}`")))?;
                // The next connection after the last one taken, even when a name is reused
                // (inside `repeat`).
                let n = n.unwrap_or(self.accepted.get(listener).copied().unwrap_or(0) + 1);
                let taken = self.accepted.entry(listener.clone()).or_default();
                *taken = (*taken).max(n);
                let timeout = self.env.scaled(*timeout_ms);
                match l.wait_for(n, timeout).await {
                    Ok(conn) => {
                        let at = l.get(n).map(|(t, _)| t).unwrap_or(0);
                        self.marks.insert(name.clone(), at);
                        self.peers.insert(name.clone(), conn);
                        Ok(())
                    }
                    Err(e) => Err(self.fail(
                        step,
                        format!(
                            "connection #{n} on {listener} within {} ms",
                            timeout.as_millis()
                        ),
                        e.to_string(),
                    )),
                }
            }
            Step::PeerConnect {
                peer, to, settings, ..
            } => {
                let addr = endpoint_addr(&self.interp(to)?)?;
                let conn = PeerConn::connect(
                    peer,
                    addr,
                    settings.clone(),
                    self.clock,
                    self.env.scaled(5000),
                )
                .await
                .map_err(|e| {
                    self.fail(step, format!("a TCP connection to {addr}"), e.to_string())
                })?;
                let conn = Arc::new(conn);
                self.marks.insert(peer.clone(), self.clock.now_us());
                if settings.auto_handshake {
                    let c = conn.clone();
                    let t = self.env.scaled(5000);
                    tokio::spawn(async move {
                        let _ = c.handshake(t).await;
                    });
                }
                self.peers.insert(peer.clone(), conn);
                Ok(())
            }
            Step::Greet {
                peer, mode, octets, ..
            } => {
                let conn = self.peer(peer)?;
                let t = self.env.scaled(5000);
                let r = match octets {
                    Some(n) => {
                        let g = conn
                            .greeting_bytes()
                            .map_err(|e| Stop::Error(e.to_string()))?;
                        conn.write_greeting_part(&g, 0, *n, t).await
                    }
                    None => {
                        conn.send_greeting(mode.unwrap_or(conn.settings().greeting), t)
                            .await
                    }
                };
                r.map_err(|e| self.fail(step, "the greeting is written", e.to_string()))
            }
            Step::Handshake {
                peer, timeout_ms, ..
            } => {
                let conn = self.peer(peer)?;
                let t = self.env.scaled(*timeout_ms);
                conn.handshake(t).await.map_err(|e| {
                    self.fail(
                        step,
                        format!("a completed handshake within {} ms", t.as_millis()),
                        e.to_string(),
                    )
                })
            }
            Step::PeerSend {
                peer,
                parts,
                parts_hex,
                ..
            } => {
                let conn = self.writing_peer(peer).await?;
                let frames = self.parts(parts, parts_hex)?;
                conn.send_message(&frames, self.env.scaled(5000))
                    .await
                    .map_err(|e| self.fail(step, "the message is written", e.to_string()))
            }
            Step::PeerBurst {
                peer,
                count,
                first_seq,
                topic,
                size,
                parts,
                timeout_ms,
                ..
            } => {
                let conn = self.writing_peer(peer).await?;
                let deadline = Instant::now() + self.env.scaled(*timeout_ms);
                let mut wire = Vec::with_capacity(64 * 1024);
                let nparts = (*parts).clamp(1, 1024) as u16;
                for seq in *first_seq..first_seq + count {
                    let frames = zmtp_driver_protocol::burst::encode_message(
                        topic.as_bytes(),
                        seq,
                        nparts,
                        *size as usize,
                    );
                    let last = frames.len().saturating_sub(1);
                    for (i, f) in frames.iter().enumerate() {
                        zmtp_codec::Frame::message(f, i < last).encode(&mut wire);
                    }
                    if wire.len() >= 64 * 1024 || seq + 1 == first_seq + count {
                        let left = deadline.saturating_duration_since(Instant::now());
                        conn.write(&wire, left).await.map_err(|e| {
                            self.fail(step, format!("{count} messages written"), e.to_string())
                        })?;
                        wire.clear();
                    }
                }
                Ok(())
            }
            Step::PeerSubscribe {
                peer,
                topic,
                topic_hex,
                cancel,
                form,
                ..
            } => {
                let conn = self.writing_peer(peer).await?;
                let topic = match topic_hex {
                    Some(h) => self.hex("topic_hex", h)?,
                    None => self.interp(topic)?.into_bytes(),
                };
                let form = match form.as_deref() {
                    None => None,
                    Some("message") => Some(SubscriptionForm::Message),
                    Some("command") => Some(SubscriptionForm::Command),
                    Some(other) => return Err(Stop::Error(format!("form {other:?}"))),
                };
                conn.send_subscription(!cancel, &topic, form, self.env.scaled(5000))
                    .await
                    .map_err(|e| self.fail(step, "the subscription is written", e.to_string()))
            }
            Step::PeerPing {
                peer,
                ttl,
                context_hex,
                ..
            } => {
                let conn = self.writing_peer(peer).await?;
                let ctx = self.hex("context_hex", context_hex)?;
                conn.ping(*ttl, &ctx, self.env.scaled(5000))
                    .await
                    .map_err(|e| self.fail(step, "PING is written", e.to_string()))
            }
            Step::PeerCommand {
                peer,
                name,
                data_hex,
                ..
            } => {
                let conn = self.writing_peer(peer).await?;
                let data = self.hex("data_hex", data_hex)?;
                let cmd = zmtp_codec::Command::Unknown(zmtp_codec::command::Unknown {
                    name: name.as_bytes(),
                    data: &data,
                });
                conn.write(&cmd.to_vec(), self.env.scaled(5000))
                    .await
                    .map_err(|e| self.fail(step, "the command is written", e.to_string()))
            }
            Step::PeerFrame {
                peer,
                flags,
                size,
                size_form,
                body_hex,
                ..
            } => {
                let conn = self.writing_peer(peer).await?;
                let body = self.hex("body_hex", body_hex)?;
                let long = match size_form.as_deref() {
                    Some("long") => true,
                    Some("short") => false,
                    _ => flags & zmtp_codec::Flags::LONG != 0,
                };
                let size = match (size, long) {
                    (None, _) => SizeField::Honest,
                    (Some(n), true) => SizeField::Long(*n),
                    (Some(n), false) => SizeField::Short(*n as u8),
                };
                let size = match (size, size_form.as_deref(), long) {
                    (SizeField::Honest, Some(_), true) => SizeField::Long(body.len() as u64),
                    (SizeField::Honest, Some(_), false) => SizeField::Short(body.len() as u8),
                    (s, _, _) => s,
                };
                let frame = RawFrame::new(*flags, &body).with_size(size).to_vec();
                conn.write(&frame, self.env.scaled(5000))
                    .await
                    .map_err(|e| self.fail(step, "the frame is written", e.to_string()))
            }
            Step::PeerRaw {
                peer,
                hex,
                pieces,
                split_at,
                then,
                ..
            } => {
                let conn = self.writing_peer(peer).await?;
                let bytes = self.hex("hex", hex)?;
                let t = self.env.scaled(5000);
                let mut pieces = pieces.clone();
                if let Some(at) = split_at {
                    let mut last = 0usize;
                    for cut in self
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
                r.map_err(|e| self.fail(step, "the octets are written", e.to_string()))?;
                if let Some(how) = then {
                    conn.close(*how).await;
                }
                Ok(())
            }
            Step::SaveCommand {
                peer,
                name,
                save,
                offset,
                len,
                ..
            } => {
                let conn = self.peer(peer)?;
                let data = conn.with(|s| {
                    s.commands()
                        .into_iter()
                        .find(|(n, _)| n == name)
                        .and_then(|(_, d)| d)
                });
                let data = data.and_then(|d| {
                    let from = offset.unwrap_or(0);
                    let to = len.map_or(d.len(), |l| from + l);
                    d.get(from..to).map(hex::encode)
                });
                match data {
                    Some(d) => {
                        self.vars.insert(save.clone(), Value::from(d));
                        Ok(())
                    }
                    None => Err(self.fail(
                        step,
                        format!(
                            "a {name} command on {peer} with data octets {}..{}",
                            offset.unwrap_or(0),
                            len.map_or("end".into(), |l| (offset.unwrap_or(0) + l).to_string())
                        ),
                        "none arrived, or its data is shorter",
                    )),
                }
            }
            Step::StopReading { peer, .. } => {
                self.peer(peer)?.stop_reading();
                Ok(())
            }
            Step::ResumeReading { peer, .. } => {
                self.peer(peer)?.resume_reading();
                Ok(())
            }
            Step::PeerClose { peer, how, .. } => {
                self.peer(peer)?.close(*how).await;
                Ok(())
            }
            Step::Wait {
                peer,
                until,
                timeout_ms,
                mark,
                ..
            } => {
                let conn = self.peer(peer)?;
                let t = self.env.scaled(*timeout_ms);
                let r = conn
                    .wait_until(&until.to_string(), t, |s| until.holds(s))
                    .await;
                if let Some(m) = mark {
                    self.marks.insert(m.clone(), self.clock.now_us());
                }
                r.map_err(|e| {
                    let seen = conn.with(|s| {
                        format!(
                            "{e}; seen: {} event(s), {} octet(s) in, closed: {}",
                            s.events.len(),
                            s.transcript.received,
                            s.closed.is_some()
                        )
                    });
                    self.fail(step, format!("{until} within {} ms", t.as_millis()), seen)
                })
            }

            // ---- control ----------------------------------------------------------------
            Step::Mark { name, .. } => {
                self.marks.insert(name.clone(), self.clock.now_us());
                Ok(())
            }
            Step::Pause { ms, .. } => {
                tokio::time::sleep(self.env.scaled(*ms)).await;
                Ok(())
            }
            Step::Repeat { times, steps, .. } => {
                for i in 1..=*times {
                    self.vars.insert("i".into(), Value::from(i));
                    self.run_steps(steps).await?;
                }
                Ok(())
            }
            Step::SyncPubSub {
                publisher,
                subscriber,
                peer,
                topic,
                timeout_ms,
                ..
            } => {
                self.sync_pubsub(
                    step,
                    publisher,
                    subscriber.as_deref(),
                    peer.as_deref(),
                    topic,
                    *timeout_ms,
                )
                .await
            }
            Step::Liveness {
                socket,
                endpoint,
                timeout_ms,
                settings,
                ..
            } => {
                self.liveness(step, socket, endpoint, *timeout_ms, settings.as_ref())
                    .await
            }
            _ => Err(Stop::Error(format!("step {} not handled", step.kind()))),
        }
    }

    /// For a step with `terminate_after_ms`: marks the process as stopping on purpose and
    /// schedules its SIGTERM; returns when the request is about to be sent and the timer.
    async fn arm_term(
        &mut self,
        on: Role,
        after_ms: Option<u64>,
    ) -> Result<Option<ArmedTerm>, Stop> {
        let Some(after_ms) = after_ms else {
            return Ok(None);
        };
        self.driver(on).await?;
        let slot = self.slot(on)?;
        slot.expected_exit = true;
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
    async fn term_timing(&mut self, armed: Option<ArmedTerm>) -> Option<Value> {
        let armed = armed?;
        let answered = Instant::now();
        // A request that answered before the signal leaves the timer running; wait for it, so
        // the signal is sent (and timed) all the same.
        let sent = armed.timer.await.ok().flatten();
        if let (Some(sent), Ok(slot)) = (sent, self.slot(armed.on)) {
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
        &mut self,
        on: Role,
        err: DriverError,
        req: Option<&str>,
        signalled: bool,
        op: &str,
    ) -> Stop {
        if signalled && matches!(err, DriverError::Exited { .. }) {
            return Stop::Failed {
                requirement: Some(req.unwrap_or("LINGER-07").to_string()),
                expected: format!(
                    "the pending `{op}` answers after SIGTERM, before the process ends"
                ),
                actual: format!("the process ended without answering: {err}"),
            };
        }
        self.driver_stop(on, err, req)
    }

    fn slot(&mut self, on: Role) -> Result<&mut super::DriverSlot, Stop> {
        self.drivers
            .get_mut(&on)
            .ok_or_else(|| Stop::Error(format!("no process for {}", on.name())))
    }

    fn check_result(
        &self,
        step: &Step,
        reply: &zmtp_driver_protocol::Reply,
        expect: &str,
    ) -> StepResult {
        if reply.result.as_str() == expect {
            return Ok(());
        }
        if reply.result == zmtp_driver_protocol::Outcome::Unsupported {
            return Err(Stop::Unsupported(
                reply.message().unwrap_or("unsupported").to_string(),
            ));
        }
        Err(self.fail(
            step,
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

    async fn set_option(
        &mut self,
        step: &Step,
        socket: &str,
        option: &str,
        value: &toml::Value,
    ) -> StepResult {
        let (on, handle, _) = self.socket(socket)?;
        let value = match value {
            toml::Value::String(t) => toml::Value::String(self.interp(t)?),
            other => other.clone(),
        };
        let v = option_value(option, &value)?;
        let d = self.driver(on).await?;
        let r = d.setsockopt(&handle, option, v).await;
        let r = r.and_then(|r| d.require_ok("setsockopt", r));
        r.map(|_| ())
            .map_err(|e| self.driver_stop(on, e, step.meta().requirement))
    }

    /// Publishes probes until the subscriber gets one (the subscription has reached the
    /// publisher), bounded by `timeout_ms`.
    async fn sync_pubsub(
        &mut self,
        step: &Step,
        publisher: &str,
        subscriber: Option<&str>,
        peer: Option<&str>,
        topic: &str,
        timeout_ms: u64,
    ) -> StepResult {
        let timeout = self.env.scaled(timeout_ms);
        let deadline = Instant::now() + timeout;
        let (pon, phandle, _) = self.socket(publisher)?;
        let sub = subscriber.map(|s| self.socket(s)).transpose()?;
        let conn = peer.map(|p| self.peer(p)).transpose()?;
        let probe = [topic.as_bytes(), b"\x00sync-probe"].concat();
        let before = conn.as_ref().map(|c| c.with(|s| s.messages().count()));
        let mut probes = 0u64;
        while Instant::now() < deadline {
            probes += 1;
            let d = self.driver(pon).await?;
            if let Err(e) = d
                .send(&phandle, std::slice::from_ref(&probe), true, 0)
                .await
            {
                return Err(self.driver_stop(pon, e, step.meta().requirement));
            }
            let arrived = match (&sub, &conn) {
                (Some((son, shandle, _)), _) => {
                    let d = self.driver(*son).await?;
                    match d.recv(shandle, 10).await {
                        Ok(r) => r.result == zmtp_driver_protocol::Outcome::Ok,
                        Err(e) => return Err(self.driver_stop(*son, e, step.meta().requirement)),
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
                self.measurements.push(crate::verdict::Measurement {
                    name: format!("sync probes until delivery ({publisher})"),
                    value: probes as f64,
                    unit: "messages".into(),
                });
                return Ok(());
            }
        }
        Err(self.fail(
            step,
            format!("a probe delivered within {} ms", timeout.as_millis()),
            format!("{probes} probes published, none delivered"),
        ))
    }

    /// A fresh, well-formed peer connects, handshakes, and exchanges one message.
    async fn liveness(
        &mut self,
        step: &Step,
        socket: &str,
        endpoint: &str,
        timeout_ms: u64,
        settings: Option<&PeerSettings>,
    ) -> StepResult {
        let (on, handle, stype) = self.socket(socket)?;
        let ep = self.interp(endpoint)?;
        let addr = endpoint_addr(&ep)?;
        let timeout = self.env.scaled(timeout_ms);
        let peer_type = match stype.as_str() {
            "PUB" | "XPUB" => "SUB",
            "SUB" | "XSUB" => "PUB",
            "PUSH" => "PULL",
            "PULL" => "PUSH",
            "REQ" => "REP",
            "REP" => "REQ",
            "DEALER" | "ROUTER" => "DEALER",
            "PAIR" => "PAIR",
            other => return Err(Stop::Error(format!("liveness: socket type {other}"))),
        };
        let name = format!("liveness-{}", self.step_index);
        let mut probe_settings = match settings {
            Some(s) => s.clone(),
            None => PeerSettings {
                greeting: GreetingMode::Whole,
                ..PeerSettings::default()
            },
        };
        if probe_settings.socket_type.is_empty() {
            probe_settings.socket_type = peer_type.to_string();
        }
        let conn = PeerConn::connect(&name, addr, probe_settings, self.clock, timeout)
            .await
            .map_err(|e| self.fail(step, "the liveness probe connects", e.to_string()))?;
        let conn = Arc::new(conn);
        self.peers.insert(name.clone(), conn.clone());
        let lost = |e: String| format!("liveness probe: {e}");
        conn.handshake(timeout).await.map_err(|e| {
            self.fail(
                step,
                "a fresh peer completes a handshake",
                lost(e.to_string()),
            )
        })?;
        let body = b"liveness".to_vec();
        let to_iut = !matches!(stype.as_str(), "PUB" | "XPUB" | "PUSH" | "REQ");
        if to_iut {
            let msg = match peer_type {
                "REQ" => vec![Vec::new(), body.clone()],
                _ => vec![body.clone()],
            };
            if peer_type == "PUB" {
                // The implementation's SUB must have sent its subscriptions; publish on the
                // first one (or the empty topic).
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
                let msg = [topic, body.clone()].concat();
                conn.send_message(&[msg], timeout).await.map_err(|e| {
                    self.fail(step, "the probe message is written", lost(e.to_string()))
                })?;
            } else {
                conn.send_message(&msg, timeout).await.map_err(|e| {
                    self.fail(step, "the probe message is written", lost(e.to_string()))
                })?;
            }
            let t = timeout.as_millis() as u64;
            let d = self.driver(on).await?;
            let r = match d.recv(&handle, t).await {
                Ok(r) => r,
                Err(e) => return Err(self.driver_stop(on, e, step.meta().requirement)),
            };
            let got = r.parts().unwrap_or_default();
            if !got.last().is_some_and(|p| p.ends_with(&body)) {
                return Err(self.fail(
                    step,
                    "the implementation receives the probe's message",
                    format!("recv answered {} with {} frame(s)", r.result, got.len()),
                ));
            }
        } else {
            if peer_type == "SUB" {
                conn.send_subscription(true, b"", None, timeout)
                    .await
                    .map_err(|e| self.fail(step, "the probe subscribes", lost(e.to_string())))?;
            }
            // A socket may take a moment to attach the new peer (zmq.rs answers ENOTCONN until
            // it has read the peer's READY; a PUSH may route a send to another peer). Sends are
            // retried until one reaches the probe; a REQ sends once, since it cannot send again.
            let deadline = Instant::now() + timeout;
            let arrived = |s: &crate::peer::PeerSnapshot| {
                s.messages()
                    .any(|m| m.last().is_some_and(|p| p.ends_with(&body)))
            };
            let mut sent_once = false;
            loop {
                if stype != "REQ" || !sent_once {
                    let d = self.driver(on).await?;
                    match d.send(&handle, std::slice::from_ref(&body), true, 0).await {
                        Ok(r) => sent_once |= r.result == zmtp_driver_protocol::Outcome::Ok,
                        Err(e) => return Err(self.driver_stop(on, e, step.meta().requirement)),
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
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(self.fail(
                        step,
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
        conn.close(CloseHow::Fin).await;
        Ok(())
    }
}

impl From<DriverError> for Stop {
    fn from(e: DriverError) -> Self {
        Stop::Error(e.to_string())
    }
}
