//! A small ZMTP dissector: octets in, the greeting, frames and commands out, as text for people
//! and as JSON for machines (`zmtp-harness decode`).

use serde::Serialize;
use std::fmt::Write as _;
use zmtp_codec::text::{escape, hex};
use zmtp_codec::{
    Command, Config, DecodeError, Decoder, Frame, Greeting, Item, MechanismKind, Profile, Status,
};

/// Where decoding starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// A greeting if the first octet is 0xFF, else frames.
    #[default]
    Auto,
    /// A greeting first.
    Greeting,
    /// Frames (the greeting was already exchanged).
    Frames,
}

/// Options of a dissection.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Strict or lenient reading.
    pub profile: Profile,
    /// Where decoding starts.
    pub start: Start,
    /// The mechanism whose commands to read when no greeting is decoded (or to override it).
    pub mechanism: Option<MechanismKind>,
    /// Largest frame accepted.
    pub max_frame_size: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            profile: Profile::Strict,
            start: Start::Auto,
            mechanism: None,
            max_frame_size: None,
        }
    }
}

/// One decoded item, with its place in the input.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// Offset of the item's first octet.
    pub offset: usize,
    /// Octets the item occupies.
    pub length: usize,
    /// The greeting, if this item is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<Greeting<'a>>,
    /// The frame, if this item is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<Frame<'a>>,
    /// The command carried by a command frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Command<'a>>,
    /// Why a command frame's body is not a valid command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_error: Option<ErrorReport>,
    /// Whether the frame used the 8-octet size form.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub long_size: bool,
}

/// A decode error, in reportable form.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorReport {
    /// Offset of the item that failed.
    pub offset: usize,
    /// The stable error kind (as in `vectors/`).
    pub kind: &'static str,
    /// The requirement it enforces.
    pub requirement: &'static str,
    /// The full message.
    pub message: String,
}

impl ErrorReport {
    fn new(offset: usize, error: &DecodeError) -> Self {
        ErrorReport {
            offset,
            kind: error.kind(),
            requirement: error.requirement(),
            message: error.to_string(),
        }
    }
}

/// The result of dissecting some octets.
#[derive(Debug, Serialize)]
pub struct Dissection<'a> {
    /// The profile used.
    pub profile: Profile,
    /// Every complete item, in order.
    pub items: Vec<Entry<'a>>,
    /// The error that stopped decoding, if any.
    pub error: Option<ErrorReport>,
    /// If the input ended inside an item: how many more octets it needs.
    pub incomplete: Option<usize>,
    /// Octets not decoded (after an error or inside an incomplete item).
    pub undecoded: usize,
}

impl Dissection<'_> {
    /// Whether every octet decoded cleanly.
    pub fn is_clean(&self) -> bool {
        self.error.is_none() && self.incomplete.is_none()
    }
}

/// Decodes `input` as one direction of a ZMTP connection.
pub fn dissect(input: &[u8], options: Options) -> Dissection<'_> {
    let mut config = Config::new(options.profile);
    config.max_frame_size = options.max_frame_size;
    let greeting_first = match options.start {
        Start::Auto => input.first() == Some(&0xFF),
        Start::Greeting => true,
        Start::Frames => false,
    };
    let mut decoder = if greeting_first {
        Decoder::new(config)
    } else {
        Decoder::frames(config)
    };
    let mut mechanism = options.mechanism.unwrap_or(MechanismKind::Null);
    let mut out = Dissection {
        profile: options.profile,
        items: Vec::new(),
        error: None,
        incomplete: None,
        undecoded: 0,
    };
    let mut offset = 0;
    while offset < input.len() {
        let rest = input.get(offset..).unwrap_or_default();
        match decoder.decode(rest) {
            Err(e) => {
                out.error = Some(ErrorReport::new(offset, &e.error));
                break;
            }
            Ok(Status::NeedMore(n)) => {
                out.incomplete = Some(n);
                break;
            }
            Ok(Status::Done(item, used)) => {
                let mut entry = Entry {
                    offset,
                    length: used,
                    greeting: None,
                    frame: None,
                    command: None,
                    command_error: None,
                    long_size: false,
                };
                match item {
                    Item::Greeting(g) => {
                        if options.mechanism.is_none() {
                            mechanism = g.mechanism.kind();
                        }
                        entry.greeting = Some(g);
                    }
                    Item::Frame(f) => {
                        entry.long_size = f.flags.long();
                        if f.is_command() {
                            match Command::from_frame(&f, mechanism, &config.strictness) {
                                Ok(c) => entry.command = Some(c),
                                Err(e) => entry.command_error = Some(ErrorReport::new(offset, &e)),
                            }
                        }
                        entry.frame = Some(f);
                    }
                }
                out.items.push(entry);
                offset += used;
            }
        }
    }
    out.undecoded = input.len() - offset;
    out
}

/// Parses hex text, ignoring whitespace, `:` and `0x` prefixes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = text
        .split_whitespace()
        .flat_map(|w| w.split(':'))
        .map(|w| w.strip_prefix("0x").unwrap_or(w))
        .collect();
    hex::decode(&cleaned).map_err(|e| format!("not hex: {e}"))
}

/// Whether `bytes` looks like hex text rather than raw octets.
pub fn looks_like_hex(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace() || matches!(b, b':' | b'x'))
}

fn hex_preview(bytes: &[u8], max: usize) -> String {
    let shown: Vec<String> = bytes.iter().take(max).map(|b| format!("{b:02x}")).collect();
    let mut s = shown.join(" ");
    if bytes.len() > max {
        let _ = write!(s, " … (+{} octets)", bytes.len() - max);
    }
    s
}

/// A one-line description of a command.
pub fn describe_command(cmd: &Command<'_>) -> String {
    let props = |md: zmtp_codec::Metadata<'_>| {
        md.iter()
            .map(|p| format!("{}={}", escape(p.name), quoted(p.value)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let name = escape(cmd.name());
    match cmd {
        Command::Ready(r) => format!("READY {}", props(r.metadata)),
        Command::PlainInitiate(i) => format!("INITIATE (PLAIN) {}", props(i.metadata)),
        Command::Error(e) => format!("ERROR reason={}", quoted(e.reason)),
        Command::Subscribe(s) => format!("SUBSCRIBE topic={}", quoted(s.topic)),
        Command::Cancel(c) => format!("CANCEL topic={}", quoted(c.topic)),
        Command::Ping(p) => format!(
            "PING ttl={} ({} ms) context={}",
            p.ttl,
            p.ttl_millis(),
            quoted(p.context)
        ),
        Command::Pong(p) => format!("PONG context={}", quoted(p.context)),
        Command::Join(j) => format!("JOIN group={}", quoted(j.group)),
        Command::Leave(l) => format!("LEAVE group={}", quoted(l.group)),
        Command::PlainHello(h) => format!(
            "HELLO (PLAIN) username={} password={}",
            quoted(h.username),
            quoted(h.password)
        ),
        Command::PlainWelcome(_) => "WELCOME (PLAIN)".into(),
        Command::CurveHello(h) => format!(
            "HELLO (CURVE) version {}.{} C'={} nonce={}",
            h.major,
            h.minor,
            hex(h.client_transient_key),
            hex(h.nonce)
        ),
        Command::CurveWelcome(w) => format!("WELCOME (CURVE) nonce={}", hex(w.nonce)),
        Command::CurveInitiate(i) => format!(
            "INITIATE (CURVE) nonce={} box {} octets",
            hex(i.nonce),
            i.ciphertext.len()
        ),
        Command::CurveReady(r) => format!(
            "READY (CURVE) nonce={} box {} octets",
            hex(r.nonce),
            r.ciphertext.len()
        ),
        Command::CurveMessage(m) => format!(
            "MESSAGE (CURVE) nonce={} box {} octets",
            hex(m.nonce),
            m.ciphertext.len()
        ),
        Command::Unknown(u) => format!("{name} (unknown command) data={}", quoted(u.data)),
        _ => name,
    }
}

/// Octets as a quoted string if printable, else hex.
fn quoted(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| (0x20..0x7F).contains(b)) {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        format!("0x{}", hex_preview(bytes, 24).replace(' ', ""))
    }
}

/// Renders a dissection for people.
pub fn render_text(d: &Dissection<'_>, input: &[u8]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "profile: {:?}", d.profile);
    for e in &d.items {
        let _ = write!(out, "{:>8}  {:>6}  ", e.offset, e.length);
        if let Some(g) = &e.greeting {
            let _ = write!(
                out,
                "greeting  ZMTP {} mechanism {} as-server {} padding {}",
                g.version,
                escape(g.mechanism.name()),
                g.as_server,
                hex(g.padding)
            );
            if g.filler.iter().any(|&b| b != 0) {
                let _ = write!(out, " filler {}", hex(g.filler));
            }
        } else if let Some(f) = &e.frame {
            let size = if e.long_size { "long" } else { "short" };
            if let Some(c) = &e.command {
                let _ = write!(out, "command   {}", describe_command(c));
            } else if let Some(err) = &e.command_error {
                let _ = write!(out, "command   INVALID {}", err.message);
            } else {
                let more = if f.more() { " MORE" } else { "" };
                let _ = write!(
                    out,
                    "message{more}  {} octets: {}",
                    f.body.len(),
                    hex_preview(f.body, 16)
                );
            }
            let _ = write!(out, "  [{:?}, {size} size]", f.flags);
        }
        out.push('\n');
    }
    if let Some(err) = &d.error {
        let tail = input.get(err.offset..).unwrap_or_default();
        let _ = writeln!(out, "error at offset {}: {}", err.offset, err.message);
        let _ = writeln!(out, "  kind {} (requirement {})", err.kind, err.requirement);
        let _ = writeln!(out, "  octets: {}", hex_preview(tail, 32));
    }
    if let Some(n) = d.incomplete {
        let _ = writeln!(
            out,
            "incomplete: the last item needs {n} more octet(s) ({} undecoded)",
            d.undecoded
        );
    }
    if d.is_clean() {
        let _ = writeln!(out, "ok: {} item(s), {} octets", d.items.len(), input.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dissects_a_handshake_and_stops_at_a_bad_frame() {
        let mut wire = parse_hex("ff00000000000000017f0301 4e554c4c").unwrap();
        wire.resize(64, 0);
        wire.extend(
            parse_hex(
                "04 19 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 03 50 55 42",
            )
            .unwrap(),
        );
        wire.extend(parse_hex("02 80 00 00 00 00 00 00 00").unwrap());
        let d = dissect(&wire, Options::default());
        assert_eq!(d.items.len(), 2);
        let err = d.error.as_ref().unwrap();
        assert_eq!(
            (err.offset, err.kind, err.requirement),
            (91, "SizeOverflow", "FRAME-05")
        );
        let text = render_text(&d, &wire);
        assert!(text.contains("READY Socket-Type=\"PUB\""), "{text}");
        assert!(text.contains("error at offset 91"), "{text}");
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["items"][1]["command"]["command"], "READY");
    }
}
