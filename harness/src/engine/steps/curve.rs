//! The raw peer speaking CURVE (`peer.curve-handshake`, `peer.curve-send`, `peer.curve-recv`):
//! real CurveZMQ boxes from [`crate::peer::curve`], with one thing wrong on request. The
//! handshake state of each connection lives in the case's context, by peer name.

use super::super::{Ctx, StepResult, Stop};
use crate::peer::curve::{
    CurveClient, CurveError, CurveServer, Fault, Fixed, Key, Keypair, Traffic,
};
use crate::peer::{GreetingMode, PeerConn, PeerEventKind};
use crate::scenario::action;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One connection's CURVE state: the side the raw peer plays, and how many of the
/// implementation's MESSAGEs it has opened so far.
#[derive(Debug)]
pub(crate) struct CurveState {
    side: Side,
    opened: usize,
}

#[derive(Debug)]
enum Side {
    Client(Box<CurveClient>),
    Server(Box<CurveServer>),
}

impl CurveState {
    fn traffic(&mut self) -> &mut Traffic {
        match &mut self.side {
            Side::Client(c) => c.traffic(),
            Side::Server(s) => s.traffic(),
        }
    }
}

fn key(cx: &Ctx<'_>, what: &str, hex: &str) -> Result<Key, Stop> {
    cx.hex(what, hex)?
        .try_into()
        .map_err(|_| Stop::Error(format!("{what}: not 32 octets")))
}

/// The data after the name of a command body given as hex.
fn data_of(body_hex: &str) -> Vec<u8> {
    let body = hex::decode(body_hex).unwrap_or_default();
    let skip = 1 + body.first().copied().unwrap_or(0) as usize;
    body.get(skip..).map(<[u8]>::to_vec).unwrap_or_default()
}

/// Waits for the implementation's command `name` (a handshake step), returns its data.
async fn await_command(conn: &PeerConn, name: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let find = |s: &crate::peer::PeerSnapshot| {
        s.events.iter().find_map(|e| match &e.kind {
            PeerEventKind::Handshake { name: n, body }
            | PeerEventKind::Ready { name: n, body, .. }
                if n == name =>
            {
                Some(data_of(body))
            }
            _ => None,
        })
    };
    let _ = conn
        .wait_until(name, timeout, |s| {
            find(s).is_some()
                || s.closed.is_some()
                || s.error_reason().is_some()
                || s.violation().is_some()
        })
        .await;
    conn.with(|s| {
        find(s).ok_or_else(|| {
            let seen: Vec<String> = s.commands().into_iter().map(|(n, _)| n).collect();
            format!(
                "no {name}; commands seen: {seen:?}, closed: {}, ERROR: {:?}",
                s.closed.is_some(),
                s.error_reason()
            )
        })
    })
}

/// Turns a refusal of what the implementation sent into a failure of its requirement.
fn refused(cx: &Ctx<'_>, what: &str, e: CurveError) -> Stop {
    cx.fail(
        Some(e.requirement()),
        format!("the implementation's {what} to open and check"),
        e.to_string(),
    )
}

/// `peer.curve-handshake`: the greeting and a CURVE handshake, as the client (with
/// `server_key`) or the server; with `fault`, the raw peer's command of that kind goes out with
/// one thing wrong and the step ends there.
pub(super) async fn handshake(cx: &mut Ctx<'_>, s: &action::CurveHandshake) -> StepResult {
    if s.resume {
        return resume(cx, s).await;
    }
    let conn = cx.writing_peer(&s.peer).await?;
    let perm = Keypair::from_secret(key(cx, "secret", &s.secret)?);
    let deadline = Instant::now() + cx.env.scaled(s.timeout_ms);
    let left = move || deadline.saturating_duration_since(Instant::now());
    conn.send_greeting(GreetingMode::Whole, left())
        .await
        .map_err(|e| {
            cx.fail(
                s.requirement.as_deref(),
                "the greeting is written",
                e.to_string(),
            )
        })?;
    let metadata = conn
        .settings()
        .metadata_bytes()
        .map_err(|e| Stop::Error(format!("metadata: {e}")))?;
    let side = match &s.server_key {
        Some(server) => {
            let server = key(cx, "server_key", server)?;
            let client = CurveClient::new(perm, server, Fixed::default());
            Side::Client(Box::new(
                client_side(cx, s, &conn, client, &metadata, &left).await?,
            ))
        }
        None => {
            let server = CurveServer::new(perm, Fixed::default());
            Side::Server(Box::new(
                server_side(cx, s, &conn, server, &metadata, &left).await?,
            ))
        }
    };
    cx.curve
        .insert(s.peer.clone(), CurveState { side, opened: 0 });
    Ok(())
}

async fn write(
    cx: &Ctx<'_>,
    s: &action::CurveHandshake,
    conn: &Arc<PeerConn>,
    what: &str,
    octets: &[u8],
    left: Duration,
) -> StepResult {
    conn.write(octets, left).await.map_err(|e| {
        cx.fail(
            s.requirement.as_deref(),
            format!("{what} is written"),
            e.to_string(),
        )
    })
}

async fn expect_command(
    cx: &Ctx<'_>,
    s: &action::CurveHandshake,
    conn: &PeerConn,
    name: &str,
    left: Duration,
) -> Result<Vec<u8>, Stop> {
    await_command(conn, name, left).await.map_err(|seen| {
        cx.fail(
            Some(s.requirement.as_deref().unwrap_or("CURVE-08")),
            format!("the implementation's {name} within {} ms", s.timeout_ms),
            seen,
        )
    })
}

/// The command `fault` spoils: `fault_in`, else the only one it fits (HELLO for the HELLO
/// faults, WELCOME for a wrong server key, else INITIATE or READY).
fn target(s: &action::CurveHandshake, client: bool) -> &str {
    if let Some(t) = s.fault_in.as_deref() {
        return t;
    }
    match s.fault {
        Some(Fault::HelloVersion | Fault::HelloPadding | Fault::HelloContent) => "HELLO",
        Some(Fault::WelcomeWrongKey) => "WELCOME",
        _ if client => "INITIATE",
        _ => "READY",
    }
}

/// The fault, if it spoils command `name`.
fn fault_for(s: &action::CurveHandshake, client: bool, name: &str) -> Option<Fault> {
    s.fault.filter(|_| target(s, client) == name)
}

async fn client_side(
    cx: &mut Ctx<'_>,
    s: &action::CurveHandshake,
    conn: &Arc<PeerConn>,
    mut client: CurveClient,
    metadata: &[u8],
    left: &impl Fn() -> Duration,
) -> Result<CurveClient, Stop> {
    let hello_fault = fault_for(s, true, "HELLO");
    let hello = client.hello(hello_fault);
    write(cx, s, conn, "HELLO", &hello, left()).await?;
    if hello_fault.is_some() {
        return Ok(client);
    }
    let welcome = expect_command(cx, s, conn, "WELCOME", left()).await?;
    client
        .open_welcome(&welcome)
        .map_err(|e| refused(cx, "WELCOME", e))?;
    if let Some(name) = &s.save_welcome {
        save_welcome(cx, name, &client);
    }
    if s.pause_after_welcome {
        return Ok(client);
    }
    initiate_and_ready(cx, s, conn, &mut client, metadata, left).await?;
    Ok(client)
}

/// The client's INITIATE (see [`initiate_for`]), then, unless that INITIATE is spoiled or not
/// this connection's own, the implementation's READY, opened and checked.
async fn initiate_and_ready(
    cx: &mut Ctx<'_>,
    s: &action::CurveHandshake,
    conn: &Arc<PeerConn>,
    client: &mut CurveClient,
    metadata: &[u8],
    left: &impl Fn() -> Duration,
) -> StepResult {
    let initiate = initiate_for(cx, s, client, metadata)?;
    if let Some(name) = &s.save_initiate {
        cx.vars
            .insert(name.clone(), Value::from(hex::encode(&initiate)));
    }
    write(cx, s, conn, "INITIATE", &initiate, left()).await?;
    if s.fault.is_some()
        || s.replay_initiate.is_some()
        || s.cookie_of.is_some()
        || s.initiate_of.is_some()
    {
        return Ok(());
    }
    let ready = expect_command(cx, s, conn, "READY", left()).await?;
    client
        .open_ready(&ready)
        .map_err(|e| refused(cx, "READY", e))?;
    Ok(())
}

/// The INITIATE a client connection sends: a saved one (`replay_initiate`), the one another
/// connection paused after its WELCOME would send (`initiate_of`), this connection's own with
/// that connection's cookie (`cookie_of`), or its own.
fn initiate_for(
    cx: &mut Ctx<'_>,
    s: &action::CurveHandshake,
    client: &mut CurveClient,
    metadata: &[u8],
) -> Result<Vec<u8>, Stop> {
    if let Some(var) = &s.replay_initiate {
        return cx.hex("replay_initiate", &format!("${{{var}}}"));
    }
    if let Some(other) = &s.initiate_of {
        return paused_client(cx, other)?
            .initiate(metadata, None)
            .map_err(|e| Stop::Error(e.to_string()));
    }
    if let Some(other) = &s.cookie_of {
        let cookie = paused_client(cx, other)?
            .cookie()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Stop::Error(format!("no WELCOME opened on `{other}`")))?;
        client
            .use_cookie(&cookie)
            .map_err(|e| Stop::Error(e.to_string()))?;
    }
    client
        .initiate(metadata, fault_for(s, true, "INITIATE"))
        .map_err(|e| Stop::Error(e.to_string()))
}

/// The CURVE client state of another connection (`cookie_of`, `initiate_of`).
fn paused_client<'a>(cx: &'a mut Ctx<'_>, peer: &str) -> Result<&'a mut CurveClient, Stop> {
    match cx.curve.get_mut(peer).map(|st| &mut st.side) {
        Some(Side::Client(c)) => Ok(c),
        _ => Err(Stop::Error(format!(
            "no CURVE client handshake on `{peer}` (peer.curve-handshake with server_key first)"
        ))),
    }
}

/// `save_welcome`: what the WELCOME held, hex, under `name` (`long_nonce`, `server_transient`,
/// `cookie`, `cookie_nonce`), for `check.field` with `differs_from` (CURVE-27, CURVE-32).
fn save_welcome(cx: &mut Ctx<'_>, name: &str, client: &CurveClient) {
    if let Some(w) = client.welcome_seen() {
        cx.vars.insert(
            name.to_string(),
            serde_json::json!({
                "long_nonce": hex::encode(w.long_nonce),
                "server_transient": hex::encode(w.server_transient),
                "cookie": hex::encode(&w.cookie),
                "cookie_nonce": hex::encode(w.cookie_nonce()),
            }),
        );
    }
}

/// `resume`: the rest of a client handshake paused after its WELCOME (`pause_after_welcome`),
/// INITIATE then READY, on the same connection.
async fn resume(cx: &mut Ctx<'_>, s: &action::CurveHandshake) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let deadline = Instant::now() + cx.env.scaled(s.timeout_ms);
    let left = move || deadline.saturating_duration_since(Instant::now());
    let metadata = conn
        .settings()
        .metadata_bytes()
        .map_err(|e| Stop::Error(format!("metadata: {e}")))?;
    let mut state = cx
        .curve
        .remove(&s.peer)
        .ok_or_else(|| Stop::Error(format!("no paused CURVE handshake on `{}`", s.peer)))?;
    let Side::Client(client) = &mut state.side else {
        return Err(Stop::Error(format!(
            "`{}` is a CURVE server; only a client handshake resumes",
            s.peer
        )));
    };
    initiate_and_ready(cx, s, &conn, client, &metadata, &left).await?;
    cx.curve.insert(s.peer.clone(), state);
    Ok(())
}

async fn server_side(
    cx: &mut Ctx<'_>,
    s: &action::CurveHandshake,
    conn: &Arc<PeerConn>,
    mut server: CurveServer,
    metadata: &[u8],
    left: &impl Fn() -> Duration,
) -> Result<CurveServer, Stop> {
    let hello = expect_command(cx, s, conn, "HELLO", left()).await?;
    server
        .open_hello(&hello)
        .map_err(|e| refused(cx, "HELLO", e))?;
    let welcome_fault = fault_for(s, false, "WELCOME");
    let welcome = server
        .welcome(welcome_fault)
        .map_err(|e| Stop::Error(e.to_string()))?;
    write(cx, s, conn, "WELCOME", &welcome, left()).await?;
    if welcome_fault.is_some() {
        return Ok(server);
    }
    let initiate = expect_command(cx, s, conn, "INITIATE", left()).await?;
    server
        .open_initiate(&initiate)
        .map_err(|e| refused(cx, "INITIATE", e))?;
    let ready = server
        .ready(metadata, fault_for(s, false, "READY"))
        .map_err(|e| Stop::Error(e.to_string()))?;
    write(cx, s, conn, "READY", &ready, left()).await?;
    Ok(server)
}

/// `peer.curve-send`: one message, each frame in a CURVE MESSAGE (COMMAND bit clear unless
/// `command_bit`), `fault` applied to every MESSAGE.
pub(super) async fn send(cx: &mut Ctx<'_>, s: &action::CurveSend) -> StepResult {
    let conn = cx.writing_peer(&s.peer).await?;
    let frames = cx.parts(&s.parts, &s.parts_hex)?;
    let state = cx
        .curve
        .get_mut(&s.peer)
        .ok_or_else(|| Stop::Error(format!("no CURVE handshake on `{}`", s.peer)))?;
    let last = frames.len().saturating_sub(1);
    let mut wire = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let mut frame = state.traffic().message(f, i < last, s.fault);
        if !s.command_bit {
            frame[0] &= !zmtp_codec::Flags::COMMAND;
        }
        wire.extend_from_slice(&frame);
    }
    conn.write(&wire, cx.env.scaled(5000)).await.map_err(|e| {
        cx.fail(
            s.requirement.as_deref(),
            "the MESSAGEs are written",
            e.to_string(),
        )
    })
}

/// The data of every MESSAGE the implementation sent, in order (COMMAND bit set or clear).
fn messages(conn: &PeerConn) -> Vec<Vec<u8>> {
    conn.with(|snap| {
        snap.events
            .iter()
            .filter_map(|e| match &e.kind {
                PeerEventKind::Command { name, body } if name == "MESSAGE" => Some(data_of(body)),
                PeerEventKind::Message { parts }
                    if parts.len() == 1 && parts[0].starts_with(b"\x07MESSAGE") =>
                {
                    Some(parts[0][8..].to_vec())
                }
                _ => None,
            })
            .collect()
    })
}

/// `peer.curve-recv`: waits for the implementation's next message in CURVE MESSAGEs, opens
/// every box (CURVE-31, CURVE-42), checks the nonces (CURVE-17) and flags (CURVE-22), and
/// compares the frames with `parts`.
pub(super) async fn recv(cx: &mut Ctx<'_>, s: &action::CurveRecv) -> StepResult {
    let conn = cx.peer(&s.peer)?;
    let want = cx.parts(&s.parts, &s.parts_hex)?;
    let timeout = cx.env.scaled(s.timeout_ms);
    let deadline = Instant::now() + timeout;
    let mut frames: Vec<Vec<u8>> = Vec::new();
    loop {
        let all = messages(&conn);
        let state = cx
            .curve
            .get_mut(&s.peer)
            .ok_or_else(|| Stop::Error(format!("no CURVE handshake on `{}`", s.peer)))?;
        let mut done = false;
        while state.opened < all.len() && !done {
            let data = &all[state.opened];
            state.opened += 1;
            let opened = state.traffic().open_message(data);
            let (flags, frame) = match opened {
                Ok(v) => v,
                Err(e) => {
                    return Err(cx.fail(
                        Some(e.requirement()),
                        "a MESSAGE that opens, with a greater nonce",
                        format!("{e}; MESSAGE data {}", hex::encode(data)),
                    ));
                }
            };
            if flags & !0x03 != 0 {
                return Err(cx.fail(
                    Some("CURVE-22"),
                    "a flags octet with bits 7..2 zero",
                    format!("flags {flags:#04x}"),
                ));
            }
            if flags & 0x02 != 0 {
                continue; // a command inside the box (PING ...), not a message frame
            }
            frames.push(frame);
            done = flags & 0x01 == 0;
        }
        if done {
            break;
        }
        let closed = conn.with(|snap| snap.closed.is_some());
        let left = deadline.saturating_duration_since(Instant::now());
        if closed || left.is_zero() {
            return Err(cx.fail(
                s.requirement.as_deref(),
                format!(
                    "a message in CURVE MESSAGEs within {} ms",
                    timeout.as_millis()
                ),
                format!(
                    "{} frame(s) of an unfinished message, {} MESSAGE(s) in all, closed: {closed}",
                    frames.len(),
                    all.len()
                ),
            ));
        }
        let n = all.len();
        let _ = conn
            .wait_until("a MESSAGE", left, |snap| {
                snap.closed.is_some()
                    || snap
                        .events
                        .iter()
                        .filter(|e| {
                            matches!(&e.kind, PeerEventKind::Command { name, .. } if name == "MESSAGE")
                                || matches!(&e.kind, PeerEventKind::Message { .. })
                        })
                        .count()
                        > n
            })
            .await;
    }
    if frames != want {
        return Err(cx.fail(
            s.requirement.as_deref(),
            format!("the message {}", show(&want)),
            format!("the message {}", show(&frames)),
        ));
    }
    Ok(())
}

fn show(frames: &[Vec<u8>]) -> String {
    let v: Vec<String> = frames.iter().map(|f| zmtp_codec::text::escape(f)).collect();
    format!("{v:?}")
}
