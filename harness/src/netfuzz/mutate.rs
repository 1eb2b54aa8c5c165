//! ZMTP-aware mutations of whole sessions: a valid session (greeting, handshake, messages) is
//! parsed into items with the codec, bent in the places that matter (flags, sizes, command
//! names, property lengths, greeting fields, order), written back with the raw encoder, and cut
//! into TCP segments.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use zmtp_codec::command::Ready;
use zmtp_codec::{
    Command, Config, Decoder, Greeting, Item, Mechanism, Metadata, Profile, Property, RawFrame,
    SizeField, Status, Subscription, SubscriptionAction, Version,
};

/// One item of a session, owned and freely editable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Greeting octets (normally 64).
    Greeting(Vec<u8>),
    /// A frame: exact flags octet, size field, body.
    Frame {
        /// Flags octet.
        flags: u8,
        /// How the size is written.
        size: SizeField,
        /// Body octets.
        body: Vec<u8>,
    },
    /// Octets that are not an item (garbage, or the tail after a mutation broke parsing).
    Raw(Vec<u8>),
}

impl Piece {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Piece::Greeting(g) | Piece::Raw(g) => out.extend_from_slice(g),
            Piece::Frame { flags, size, body } => {
                RawFrame::new(*flags, body).with_size(*size).encode(out)
            }
        }
    }
}

/// Splits a stream into pieces (greeting, frames, and any undecodable tail).
pub fn parse(stream: &[u8]) -> Vec<Piece> {
    let mut dec = Decoder::new(Config::new(Profile::Lenient));
    let mut rest = stream;
    let mut out = Vec::new();
    while !rest.is_empty() {
        match dec.decode(rest) {
            Ok(Status::Done(Item::Greeting(g), used)) => {
                out.push(Piece::Greeting(g.to_bytes().to_vec()));
                rest = &rest[used..];
            }
            Ok(Status::Done(Item::Frame(f), used)) => {
                out.push(Piece::Frame {
                    flags: f.flags.0,
                    size: if f.flags.long() {
                        SizeField::Long(f.body.len() as u64)
                    } else {
                        SizeField::Short(f.body.len() as u8)
                    },
                    body: f.body.to_vec(),
                });
                rest = &rest[used..];
            }
            _ => {
                out.push(Piece::Raw(rest.to_vec()));
                break;
            }
        }
    }
    out
}

/// Writes pieces back into one stream.
pub fn encode(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        p.encode(&mut out);
    }
    out
}

/// A well-formed session of a peer of type `peer_type`: greeting, READY, and (for types that
/// send) a few messages, or (for subscribers) a subscription.
pub fn valid_session(peer_type: &str, minor: u8, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = Greeting::new(Version { major: 3, minor }, Mechanism::NULL)
        .to_bytes()
        .to_vec();
    let mut md = Vec::new();
    let mut props = vec![Property {
        name: b"Socket-Type",
        value: peer_type.as_bytes(),
    }];
    if matches!(peer_type, "DEALER" | "REQ" | "ROUTER") {
        props.push(Property {
            name: b"Identity",
            value: b"",
        });
    }
    Metadata::encode(props, &mut md);
    if let Ok(metadata) = Metadata::load(&md, &zmtp_codec::Strictness::LENIENT) {
        Command::Ready(Ready { metadata }).encode(&mut out);
    }
    match peer_type {
        "SUB" | "XSUB" => {
            let v = Version { major: 3, minor };
            Subscription::for_peer(SubscriptionAction::Subscribe, b"", v).encode(&mut out);
        }
        _ => {
            let n = rng.random_range(1..4);
            for i in 0..n {
                let parts = rng.random_range(1..4);
                for p in 0..parts {
                    let len = rng.random_range(0..40);
                    let body: Vec<u8> = (0..len).map(|k| b'a' + ((i + p + k) % 26) as u8).collect();
                    let mut frame = Vec::new();
                    zmtp_codec::Frame::message(&body, p + 1 < parts).encode(&mut frame);
                    out.extend_from_slice(&frame);
                }
            }
        }
    }
    out
}

const SIZES: [u64; 12] = [
    0,
    1,
    254,
    255,
    256,
    65_535,
    1 << 20,
    1 << 31,
    1 << 62,
    (1 << 63) - 1,
    1 << 63,
    u64::MAX,
];

const NAMES: [&[u8]; 12] = [
    b"READY",
    b"ERROR",
    b"PING",
    b"PONG",
    b"SUBSCRIBE",
    b"CANCEL",
    b"HELLO",
    b"WELCOME",
    b"INITIATE",
    b"MESSAGE",
    b"JOIN",
    b"ready",
];

fn frame_indices(pieces: &[Piece]) -> Vec<usize> {
    pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, Piece::Frame { .. }))
        .map(|(i, _)| i)
        .collect()
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.random_range(0..items.len())).copied()
    }
}

/// Applies one to three mutations; returns the mutated stream and what was done.
pub fn mutate(base: &[u8], rng: &mut ChaCha8Rng) -> (Vec<u8>, Vec<String>) {
    let mut pieces = parse(base);
    let mut notes = Vec::new();
    let rounds = rng.random_range(1..4);
    let mut post: Vec<u8> = Vec::new();
    let mut truncate_at: Option<usize> = None;
    for _ in 0..rounds {
        let frames = frame_indices(&pieces);
        match rng.random_range(0..13) {
            0 => {
                if let Some(i) = pick(rng, &frames)
                    && let Some(Piece::Frame { flags, .. }) = pieces.get_mut(i)
                {
                    let bit = 1u8 << rng.random_range(0..8);
                    *flags ^= bit;
                    notes.push(format!("item {i}: flags ^= {bit:#04x}"));
                }
            }
            1 => {
                if let (Some(i), Some(size)) = (pick(rng, &frames), pick(rng, &SIZES))
                    && let Some(Piece::Frame { flags, size: s, .. }) = pieces.get_mut(i)
                {
                    *flags |= zmtp_codec::Flags::LONG;
                    *s = SizeField::Long(size);
                    notes.push(format!("item {i}: declared size {size}"));
                }
            }
            2 => {
                if let Some(i) = pick(rng, &frames)
                    && let Some(Piece::Frame { flags, size, body }) = pieces.get_mut(i)
                {
                    let delta: i64 = if rng.random_bool(0.5) { 1 } else { -1 };
                    let n = (body.len() as i64 + delta).max(0) as u64;
                    *size = if *flags & zmtp_codec::Flags::LONG != 0 {
                        SizeField::Long(n)
                    } else {
                        SizeField::Short(n as u8)
                    };
                    notes.push(format!("item {i}: size off by {delta}"));
                }
            }
            3 => {
                if let Some(i) = pick(rng, &frames)
                    && let Some(Piece::Frame { flags, size, body }) = pieces.get_mut(i)
                {
                    *flags |= zmtp_codec::Flags::LONG;
                    *size = SizeField::Long(body.len() as u64);
                    notes.push(format!("item {i}: long size form"));
                }
            }
            4 => {
                // Replace a command's name.
                let cmds: Vec<usize> = frames
                    .iter()
                    .copied()
                    .filter(|&i| matches!(pieces.get(i), Some(Piece::Frame { flags, .. }) if flags & 4 != 0))
                    .collect();
                if let Some(i) = pick(rng, &cmds) {
                    let name: Vec<u8> = if rng.random_bool(0.5) {
                        pick(rng, &NAMES).unwrap_or(b"X").to_vec()
                    } else {
                        let n = rng.random_range(0..300);
                        (0..n).map(|_| rng.random_range(b'A'..=b'z')).collect()
                    };
                    if let Some(Piece::Frame { size, body, flags }) = pieces.get_mut(i) {
                        let old = usize::from(body.first().copied().unwrap_or(0));
                        let data = body.get(1 + old..).unwrap_or_default().to_vec();
                        let mut nb = vec![name.len().min(255) as u8];
                        nb.extend_from_slice(&name);
                        nb.extend_from_slice(&data);
                        *size = if nb.len() > 255 || *flags & 2 != 0 {
                            *flags |= 2;
                            SizeField::Long(nb.len() as u64)
                        } else {
                            SizeField::Short(nb.len() as u8)
                        };
                        *body = nb;
                        notes.push(format!(
                            "item {i}: command name {:?}",
                            String::from_utf8_lossy(&name[..name.len().min(20)])
                        ));
                    }
                }
            }
            5 => {
                // Lie in a length field inside a body: the name length, a property length.
                if let Some(i) = pick(rng, &frames)
                    && let Some(Piece::Frame { body, .. }) = pieces.get_mut(i)
                    && !body.is_empty()
                {
                    let at = rng.random_range(0..body.len());
                    let v: u8 = rng.random();
                    body[at] = v;
                    notes.push(format!("item {i}: body octet {at} = {v:#04x}"));
                }
            }
            6 => {
                // Greeting fields.
                if let Some(Piece::Greeting(g)) =
                    pieces.iter_mut().find(|p| matches!(p, Piece::Greeting(_)))
                {
                    let field = rng.random_range(0..6);
                    let (at, what) = match field {
                        0 => (10, "major"),
                        1 => (11, "minor"),
                        2 => (12 + rng.random_range(0..20), "mechanism"),
                        3 => (32, "as-server"),
                        4 => (33 + rng.random_range(0..31), "filler"),
                        _ => (rng.random_range(0..10), "signature"),
                    };
                    let v: u8 = rng.random();
                    if let Some(b) = g.get_mut(at) {
                        *b = v;
                    }
                    notes.push(format!("greeting {what} octet {at} = {v:#04x}"));
                }
            }
            7 => {
                // Swap two items (e.g. a message before READY).
                if pieces.len() >= 2 {
                    let a = rng.random_range(0..pieces.len());
                    let b = rng.random_range(0..pieces.len());
                    pieces.swap(a, b);
                    notes.push(format!("swap items {a} and {b}"));
                }
            }
            8 => {
                // Duplicate or drop an item.
                if !pieces.is_empty() {
                    let i = rng.random_range(0..pieces.len());
                    if rng.random_bool(0.5) {
                        let p = pieces[i].clone();
                        pieces.insert(i, p);
                        notes.push(format!("duplicate item {i}"));
                    } else {
                        pieces.remove(i);
                        notes.push(format!("drop item {i}"));
                    }
                }
            }
            9 => {
                // Insert a random frame.
                let flags: u8 = pick(rng, &[0u8, 1, 2, 3, 4, 5, 6, 7, 0x80, 0xff]).unwrap_or(0);
                let len = rng.random_range(0..300);
                let body: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                let at = rng.random_range(0..=pieces.len());
                let size = if flags & 2 != 0 || len > 255 {
                    SizeField::Long(len as u64)
                } else {
                    SizeField::Short(len as u8)
                };
                pieces.insert(at, Piece::Frame { flags, size, body });
                notes.push(format!(
                    "insert a random frame (flags {flags:#04x}, {len} octets) at {at}"
                ));
            }
            10 => {
                truncate_at = Some(rng.random_range(0..encode(&pieces).len().max(1)));
                notes.push(format!("truncate at {}", truncate_at.unwrap_or(0)));
            }
            11 => {
                let n = rng.random_range(1..64);
                post.extend((0..n).map(|_| rng.random::<u8>()));
                notes.push(format!("append {n} random octets"));
            }
            _ => {
                // Replace the whole session with non-ZMTP text.
                pieces = vec![Piece::Raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())];
                notes.push("an HTTP request".into());
            }
        }
    }
    let mut out = encode(&pieces);
    out.extend_from_slice(&post);
    if let Some(n) = truncate_at {
        out.truncate(n);
    }
    (out, notes)
}

/// Cuts `len` octets into TCP writes: whole, byte by byte, or random pieces.
pub fn chunking(len: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    match rng.random_range(0..4) {
        0 => vec![len],
        1 if len <= 128 => vec![1; len],
        _ => {
            let mut sizes = Vec::new();
            let mut left = len;
            while left > 0 {
                let n = rng.random_range(1..=left.min(80));
                sizes.push(n);
                left -= n;
            }
            sizes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parse_and_encode_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for t in ["PUSH", "SUB", "DEALER"] {
            let s = valid_session(t, 1, &mut rng);
            assert_eq!(encode(&parse(&s)), s);
        }
    }

    #[test]
    fn mutations_are_reproducible() {
        let base = valid_session("PUSH", 1, &mut ChaCha8Rng::seed_from_u64(1));
        let a = mutate(&base, &mut ChaCha8Rng::seed_from_u64(42));
        let b = mutate(&base, &mut ChaCha8Rng::seed_from_u64(42));
        assert_eq!(a, b);
        let sizes = chunking(a.0.len(), &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(sizes.iter().sum::<usize>(), a.0.len());
    }
}
