//! Replaying the raw peer's side of a recorded case (`zmtp-harness replay --report`) and
//! writing it out as a standalone reproducer (`zmtp-harness repro`).
//!
//! A case's JSON result keeps every octet of each raw-peer connection (`peers[].chunks`). A
//! [`Plan`] takes from it what the raw peer sent, per connection and in order with the times,
//! and from the case's scenario the implementation's socket (type, options, bind). Replaying
//! opens the same connections to the implementation, sends the same octets with the recorded
//! pauses (each bounded by [`MAX_PAUSE`]), and reads what comes back. The implementation's
//! answer is compared as an [`Answer`]: its greeting (version, mechanism, as-server), every
//! command it sent (name and body; READY's `Identity` value and a PING's context are left out,
//! they may legitimately differ), and whether it closed the connection. Messages are listed but
//! not compared: the case's application steps (the driver's sends) are not replayed, only the
//! raw peer's side.

use crate::dissect::{self, Start};
use crate::peer::{Chunk, Direction};
use crate::scenario::{Action, Case, Role, Step};
use crate::verdict::{CaseResult, PeerRecord};
use serde::Serialize;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zmtp_codec::Profile;
use zmtp_codec::text::hex;

/// Longest pause replayed between two writes (a recorded pause is often the raw peer waiting
/// for a step of the case that the replay does not run).
pub const MAX_PAUSE: Duration = Duration::from_millis(300);

/// How long the replay keeps reading after its last write when nothing more comes.
pub const QUIET: Duration = Duration::from_millis(600);

/// Longest a connection is read after its last write.
pub const MAX_TAIL: Duration = Duration::from_secs(3);

/// Why a case cannot be replayed.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The report has no such case, or the case kept no octets.
    #[error("{0}")]
    NotRecorded(String),
    /// The implementation's side cannot be set up from the scenario.
    #[error("{0}")]
    NotReplayable(String),
    /// The driver failed.
    #[error("driver: {0}")]
    Driver(String),
    /// A network error.
    #[error("{0}")]
    Io(String),
}

/// What the raw peer sent on one connection.
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    /// The connection's name in the case.
    pub name: String,
    /// When it opened: microseconds since the case started (its first chunk).
    pub opened_us: u64,
    /// The writes: time (µs since the case started) and octets.
    pub writes: Vec<(u64, Vec<u8>)>,
    /// The implementation's answer as recorded.
    pub recorded: Answer,
    /// The octets the implementation sent, as recorded.
    #[serde(skip)]
    pub received: Vec<u8>,
    /// When they arrived: time (µs since the case started) and length of each chunk.
    #[serde(skip)]
    pub received_chunks: Vec<(u64, usize)>,
}

impl Connection {
    /// How many octets of the implementation had arrived before write `i`, and when the last
    /// of them (or the previous write, whichever is later) happened: what the raw peer had
    /// seen, and since when it had been waiting, when it wrote.
    pub fn before_write(&self, i: usize) -> (usize, u64) {
        let Some(&(t, _)) = self.writes.get(i) else {
            return (self.received.len(), 0);
        };
        let prev_write = i
            .checked_sub(1)
            .and_then(|j| self.writes.get(j))
            .map_or(self.opened_us, |w| w.0);
        let arrived: Vec<&(u64, usize)> = self
            .received_chunks
            .iter()
            .filter(|(at, _)| *at <= t)
            .collect();
        let octets = arrived.iter().map(|(_, n)| n).sum();
        let last_in = arrived.last().map_or(0, |(at, _)| *at);
        (octets, prev_write.max(last_in))
    }
}

/// The implementation's socket: what the driver creates and binds.
#[derive(Debug, Clone, Serialize)]
pub struct Socket {
    /// Socket type, e.g. `DEALER`.
    pub socket_type: String,
    /// Options in the order the case sets them (driver-protocol values).
    pub options: Vec<(String, Value)>,
}

/// Everything needed to replay a case.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Case id.
    pub case: String,
    /// The implementation's socket.
    pub socket: Socket,
    /// The raw peer's connections, in the order they opened.
    pub connections: Vec<Connection>,
    /// Connections of the recording left out (proxied halves).
    pub skipped: Vec<String>,
}

/// What an implementation answered on one connection, in comparable form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The greeting and commands, one line each (see the module doc for what is left out).
    pub compared: Vec<String>,
    /// Messages, one line each (not compared).
    pub messages: Vec<String>,
    /// Whether the implementation closed (or reset) the connection.
    pub closed: bool,
}

impl Answer {
    /// The compared lines and the close, as the reproducer prints them.
    pub fn lines(&self) -> Vec<String> {
        let mut v = self.compared.clone();
        v.push(if self.closed { "closed" } else { "open" }.into());
        v
    }
}

/// A greeting line: `greeting 3.1 NULL as-server=0`.
fn greeting_line(octets: &[u8]) -> String {
    let mech: String = octets[12..32]
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| char::from(*b))
        .collect();
    format!(
        "greeting {}.{} {mech} as-server={}",
        octets[10], octets[11], octets[32]
    )
}

/// A command line: `command NAME <body hex>`; READY's `Identity` value and PING's context
/// are replaced by `*`.
fn command_line(body: &[u8]) -> String {
    let Some((&n, rest)) = body.split_first() else {
        return "command (empty)".into();
    };
    let n = usize::from(n).min(rest.len());
    let name = String::from_utf8_lossy(&rest[..n]).into_owned();
    let data = &rest[n..];
    match name.as_str() {
        "READY" => format!("command READY {}", properties(data)),
        "PING" if data.len() >= 2 => format!("command PING ttl={} context=*", hex(&data[..2])),
        _ => format!("command {name} {}", hex(data)),
    }
    .trim_end()
    .to_string()
}

/// READY's properties as `Name=hex` (`Identity=*`).
fn properties(mut data: &[u8]) -> String {
    let mut out = Vec::new();
    while let Some((&n, rest)) = data.split_first() {
        let n = usize::from(n);
        if rest.len() < n + 4 {
            out.push(format!("(truncated {})", hex(data)));
            break;
        }
        let name = String::from_utf8_lossy(&rest[..n]).into_owned();
        let len = u32::from_be_bytes([rest[n], rest[n + 1], rest[n + 2], rest[n + 3]]) as usize;
        let value = &rest[n + 4..];
        if value.len() < len {
            out.push(format!("(truncated {})", hex(data)));
            break;
        }
        let shown = if name.eq_ignore_ascii_case("Identity") {
            "*".to_string()
        } else {
            hex(&value[..len])
        };
        out.push(format!("{name}={shown}"));
        data = &value[len..];
    }
    out.join(" ")
}

/// The answer in `octets` (what the implementation sent on one connection).
pub fn answer(octets: &[u8], closed: bool) -> Answer {
    let d = dissect::dissect(
        octets,
        dissect::Options {
            profile: Profile::Lenient,
            start: Start::Auto,
            mechanism: None,
            max_frame_size: None,
        },
    );
    let mut a = Answer {
        closed,
        ..Answer::default()
    };
    let mut parts: Vec<String> = Vec::new();
    for e in &d.items {
        let raw = &octets[e.offset..e.offset + e.length];
        if e.greeting.is_some() {
            a.compared.push(greeting_line(raw));
        } else if let Some(f) = &e.frame {
            if f.is_command() {
                a.compared.push(command_line(f.body));
            } else {
                parts.push(hex(f.body));
                if !f.flags.more() {
                    a.messages.push(format!(
                        "message [{}]",
                        std::mem::take(&mut parts).join(", ")
                    ));
                }
            }
        }
    }
    if let Some(err) = &d.error {
        a.compared
            .push(format!("undecodable at octet {}: {}", err.offset, err.kind));
    }
    a
}

/// Whether a recorded connection ended by the implementation's doing (FIN, RST, read error).
fn closed_by_implementation(p: &PeerRecord) -> bool {
    implementation_closed_at(p).is_some()
}

/// When the implementation closed a recorded connection (FIN, RST, read error), in ms since
/// the case started; `None` when it did not (or the raw peer closed it).
pub fn implementation_closed_at(p: &PeerRecord) -> Option<f64> {
    p.events.iter().find_map(|e| {
        let (at, json) = e.trim_start().split_once(" ms ").unwrap_or(("0", e));
        let v: Value = serde_json::from_str(json).ok()?;
        let by_implementation = v["event"] == "closed"
            && !v["how"]
                .as_object()
                .is_some_and(|o| o.contains_key("local"));
        by_implementation.then(|| at.trim().parse().unwrap_or(0.0))
    })
}

/// How the implementation's socket meets the raw peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Side {
    /// The implementation binds; the raw peer connects.
    Binds,
    /// The implementation connects to the raw peer's listener of this name.
    Connects(String),
}

/// The implementation's socket, from the case: its first socket on the implementation that is
/// bound, with its options and the `set` steps before the raw peer's first connection.
fn socket_of(case: &Case) -> Result<Socket, ReplayError> {
    match iut_socket(case)? {
        (socket, Side::Binds) => Ok(socket),
        (_, Side::Connects(_)) => Err(ReplayError::NotReplayable(format!(
            "case {}: the implementation binds no socket the raw peer connects to (a case where the implementation connects is not replayed)",
            case.id
        ))),
    }
}

/// The variable a `connect` endpoint names (`${l_ep}` is listener `l`'s address).
fn variable_of(endpoint: &str) -> Option<&str> {
    endpoint.strip_prefix("${")?.strip_suffix('}')
}

/// The implementation's socket that meets the raw peer, and how: its first socket on the
/// implementation that is bound or connects to a raw-peer listener, with its options and the
/// `set` steps before the raw peer's first connection (or accept).
pub fn iut_socket(case: &Case) -> Result<(Socket, Side), ReplayError> {
    // Each raw-peer listener and the variable its address is saved in.
    let listeners: Vec<(String, String)> = case
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Action(Action::Listen(l)) => Some((
                l.listener.clone(),
                l.save
                    .clone()
                    .unwrap_or_else(|| format!("{}_ep", l.listener)),
            )),
            _ => None,
        })
        .collect();
    let listener_of = |endpoint: &str| {
        let var = variable_of(endpoint)?;
        listeners
            .iter()
            .find(|(_, v)| v == var)
            .map(|(l, _)| l.clone())
    };
    let sides: Vec<(&str, Side)> = case
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Action(Action::Bind(b)) => Some((b.socket.as_str(), Side::Binds)),
            Step::Action(Action::Connect(c)) => {
                listener_of(&c.endpoint).map(|l| (c.socket.as_str(), Side::Connects(l)))
            }
            _ => None,
        })
        .collect();
    let side_of = |name: &str| sides.iter().find(|(n, _)| *n == name).map(|(_, s)| s);
    let mut socket: Option<(String, Socket, Side)> = None;
    for s in &case.steps {
        match s {
            Step::Action(Action::Socket(x))
                if x.on == Role::Iut && socket.is_none() && side_of(&x.name).is_some() =>
            {
                let mut options = Vec::new();
                for (k, v) in &x.options {
                    options.push((k.clone(), option_value(k, v)?));
                }
                let side = side_of(&x.name).cloned().unwrap_or(Side::Binds);
                socket = Some((
                    x.name.clone(),
                    Socket {
                        socket_type: x.socket_type.clone(),
                        options,
                    },
                    side,
                ));
            }
            Step::Action(Action::Set(x)) => {
                if let Some((name, sock, _)) = &mut socket
                    && *name == x.socket
                {
                    sock.options
                        .push((x.option.clone(), option_value(&x.option, &x.value)?));
                }
            }
            Step::Action(Action::PeerConnect(_) | Action::Accept(_)) if socket.is_some() => break,
            _ => {}
        }
    }
    socket.map(|(_, s, side)| (s, side)).ok_or_else(|| {
        ReplayError::NotReplayable(format!(
            "case {}: no socket of the implementation binds or connects to a raw-peer listener: the raw peer is not one side of it",
            case.id
        ))
    })
}

/// A scenario option value as the driver protocol wants it (binary options in hex).
fn option_value(option: &str, v: &toml::Value) -> Result<Value, ReplayError> {
    use zmtp_driver_protocol::OptionKind;
    let hexed = zmtp_driver_protocol::option_kind(option) == Some(OptionKind::Hex);
    Ok(match v {
        toml::Value::String(s) if s.contains("${") => {
            return Err(ReplayError::NotReplayable(format!(
                "option {option} = {s:?} depends on the run"
            )));
        }
        toml::Value::String(s) if hexed => match s.strip_prefix("hex:") {
            Some(h) => Value::from(h.to_string()),
            None => Value::from(hex::encode(s.as_bytes())),
        },
        toml::Value::String(s) => Value::from(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Boolean(b) => Value::from(*b),
        other => {
            return Err(ReplayError::NotReplayable(format!(
                "option {option}: unsupported value {other}"
            )));
        }
    })
}

/// One connection of the recording: its writes and the recorded answer.
pub fn connection_of(p: &PeerRecord) -> Option<Connection> {
    let first = p.chunks.first()?;
    let by = |d: Direction| p.chunks.iter().filter(move |c: &&Chunk| c.dir == d);
    let writes: Vec<(u64, Vec<u8>)> = by(Direction::Out)
        .map(|c| (c.t_us, c.bytes.clone()))
        .collect();
    let received: Vec<u8> = by(Direction::In).flat_map(|c| c.bytes.clone()).collect();
    Some(Connection {
        name: p.name.clone(),
        opened_us: first.t_us,
        writes,
        recorded: answer(&received, closed_by_implementation(p)),
        received,
        received_chunks: by(Direction::In).map(|c| (c.t_us, c.bytes.len())).collect(),
    })
}

/// When the case's last step ended, in ms since the case started.
pub fn steps_end_ms(result: &CaseResult) -> f64 {
    result
        .steps
        .iter()
        .map(|s| s.at_ms + s.took_ms)
        .fold(0.0, f64::max)
}

/// Whether the implementation closed the connection before `steps_end_ms`: the driver
/// closing its sockets after the case's last step is not an answer of the implementation.
pub fn closed_during_case(p: &PeerRecord, steps_end_ms: f64) -> bool {
    implementation_closed_at(p).is_some_and(|at| at <= steps_end_ms)
}

/// The plan of a recorded case.
pub fn plan(result: &CaseResult, case: &Case) -> Result<Plan, ReplayError> {
    let socket = socket_of(case)?;
    let end = steps_end_ms(result);
    let mut connections = Vec::new();
    let mut skipped = Vec::new();
    for p in &result.peers {
        if p.name.ends_with(".client") || p.name.ends_with(".server") {
            skipped.push(p.name.clone());
            continue;
        }
        match connection_of(p) {
            Some(mut c) => {
                c.recorded.closed = closed_during_case(p, end);
                connections.push(c);
            }
            None => skipped.push(p.name.clone()),
        }
    }
    if connections.is_empty() {
        return Err(ReplayError::NotRecorded(format!(
            "case {} kept no octets of a raw-peer connection (a PASS case keeps them only with --keep-transcripts)",
            result.id
        )));
    }
    connections.sort_by_key(|c| c.opened_us);
    Ok(Plan {
        case: result.id.clone(),
        socket,
        connections,
        skipped,
    })
}

/// Replays every connection of the plan against `addr`, one after the other, and returns
/// the answers in the plan's order.
pub async fn replay(plan: &Plan, addr: SocketAddr, scale: f64) -> Result<Vec<Answer>, ReplayError> {
    let mut answers = Vec::new();
    for c in &plan.connections {
        answers.push(replay_connection(c, addr, scale).await?);
    }
    Ok(answers)
}

/// Replays one connection: connect, the writes with their pauses (bounded), then read until
/// the implementation closes, [`QUIET`] passes without octets, or [`MAX_TAIL`].
async fn replay_connection(
    c: &Connection,
    addr: SocketAddr,
    scale: f64,
) -> Result<Answer, ReplayError> {
    let scale = scale.max(0.1);
    let io = |e: std::io::Error| ReplayError::Io(format!("{addr}: {e}"));
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| ReplayError::Io(format!("{addr}: connect timed out")))?
        .map_err(io)?;
    stream.set_nodelay(true).map_err(io)?;
    let (rd, mut wr) = stream.into_split();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn(read_answer(rd, done_rx, scale));
    let mut last = c.opened_us;
    for (t, octets) in &c.writes {
        let pause = Duration::from_micros(t.saturating_sub(last)).min(MAX_PAUSE);
        last = *t;
        tokio::time::sleep(pause.mul_f64(scale)).await;
        if wr.write_all(octets).await.is_err() {
            break; // the implementation closed: the reader sees it
        }
    }
    let _ = done_tx.send(());
    let (got, closed) = reader
        .await
        .map_err(|e| ReplayError::Io(format!("reader: {e}")))?;
    drop(wr);
    Ok(answer(&got, closed))
}

/// Reads what the implementation sends until it closes, or (once the writes are done) until
/// [`QUIET`] passes without octets or [`MAX_TAIL`] passes.
async fn read_answer(
    mut rd: tokio::net::tcp::OwnedReadHalf,
    mut done: tokio::sync::oneshot::Receiver<()>,
    scale: f64,
) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut writes_done: Option<tokio::time::Instant> = None;
    let mut last_octet = tokio::time::Instant::now();
    loop {
        let wait = match writes_done {
            None => MAX_TAIL.mul_f64(scale),
            Some(at) => {
                let quiet_end = last_octet.max(at) + QUIET.mul_f64(scale);
                let tail_end = at + MAX_TAIL.mul_f64(scale);
                let end = quiet_end.min(tail_end);
                let now = tokio::time::Instant::now();
                if now >= end {
                    return (got, false);
                }
                end - now
            }
        };
        tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => return (got, true),
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    last_octet = tokio::time::Instant::now();
                }
            },
            _ = &mut done, if writes_done.is_none() => {
                writes_done = Some(tokio::time::Instant::now());
            }
            _ = tokio::time::sleep(wait) => {
                if writes_done.is_some() {
                    return (got, false);
                }
            }
        }
    }
}

/// How a replayed answer compares with the recorded one: one line per difference (empty: the
/// same).
pub fn differences(recorded: &Answer, replayed: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    let n = recorded.compared.len().max(replayed.compared.len());
    for i in 0..n {
        match (recorded.compared.get(i), replayed.compared.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => out.push(format!("item {}: recorded {a}; replayed {b}", i + 1)),
            (Some(a), None) => out.push(format!("item {}: recorded {a}; replayed nothing", i + 1)),
            (None, Some(b)) => out.push(format!("item {}: recorded nothing; replayed {b}", i + 1)),
            (None, None) => {}
        }
    }
    if recorded.closed != replayed.closed {
        let word = |c: bool| {
            if c {
                "closed by the implementation"
            } else {
                "left open"
            }
        };
        out.push(format!(
            "connection: recorded {}; replayed {}",
            word(recorded.closed),
            word(replayed.closed)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREETING: &str = "ff00000000000000017f03014e554c4c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    const READY: &str =
        "04290552454144590b536f636b65742d54797065000000064445414c4552084964656e7469747900000000";
    const PONG: &str = "041504504f4e47536f636b65742d547970650000000644";

    #[test]
    fn an_answer_keeps_greeting_commands_and_close_and_lists_messages() {
        let octets = hex::decode(format!("{GREETING}{READY}{PONG}00046261636b")).unwrap();
        let a = answer(&octets, false);
        assert_eq!(
            a.compared,
            [
                "greeting 3.1 NULL as-server=0",
                "command READY Socket-Type=4445414c4552 Identity=*",
                "command PONG 536f636b65742d547970650000000644",
            ]
        );
        assert_eq!(a.messages, ["message [6261636b]"]);
        assert_eq!(a.lines().last().unwrap(), "open");
    }

    #[test]
    fn identity_and_ping_context_are_not_compared() {
        let with_id = "04".to_string()
            + "2d"
            + "0552454144590b536f636b65742d54797065000000064445414c4552084964656e746974790000000461626364";
        let a = answer(&hex::decode(&with_id).unwrap(), false);
        assert_eq!(
            a.compared,
            ["command READY Socket-Type=4445414c4552 Identity=*"]
        );
        let ping = answer(&hex::decode("040b0450494e470001636f6e74").unwrap(), false);
        assert_eq!(ping.compared, ["command PING ttl=0001 context=*"]);
    }

    #[test]
    fn differences_name_the_item_and_the_close() {
        let rec = answer(
            &hex::decode(format!("{GREETING}{READY}{PONG}")).unwrap(),
            false,
        );
        let same = answer(
            &hex::decode(format!("{GREETING}{READY}{PONG}")).unwrap(),
            false,
        );
        assert!(differences(&rec, &same).is_empty());
        let other = answer(&hex::decode(format!("{GREETING}{READY}")).unwrap(), true);
        let d = differences(&rec, &other);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("item 3: recorded command PONG"));
        assert!(d[1].contains("recorded left open; replayed closed"));
    }
}
