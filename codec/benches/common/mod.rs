//! Workloads and decode/encode loops shared by `benches/compare.rs` (timed) and
//! `examples/perf_gate.rs` (counted under callgrind): the same buffers and the same consumer
//! work for the hand-written loops and for `zmtp-codec`, so the numbers compare like for like.
#![allow(dead_code)]

use zmtp_codec::{
    Command, Config, Decoder, Frame, Greeting, Item, Mechanism, MechanismKind, Profile, Status,
    StreamDecoder, Version,
};

/// The READY a NULL client sends after its greeting.
pub const READY: &[u8] = b"\x04\x1a\x05READY\x0bSocket-Type\0\0\0\x04PUSH";
/// A PING with a TTL and a 4-octet context.
pub const PING: &[u8] = b"\x04\x0b\x04PING\x00\x0fctx1";

/// One decode workload: the octets of one direction of a connection, and how many frames
/// (commands included, the greeting not) it holds.
pub struct Wire {
    /// Greeting, READY, then the frames.
    pub octets: Vec<u8>,
    /// Frames after the greeting.
    pub frames: usize,
}

/// A greeting and READY, the start of every workload.
pub fn preamble() -> Vec<u8> {
    let mut wire = Greeting::new(Version::V3_1, Mechanism::NULL)
        .to_bytes()
        .to_vec();
    wire.extend_from_slice(READY);
    wire
}

/// The frames of an encode workload: `(body, more)` pairs borrowing from one payload.
pub struct Frames {
    /// Every body is a prefix of this.
    pub payload: Vec<u8>,
    /// Body length and MORE, in wire order.
    pub parts: Vec<(usize, bool)>,
}

impl Frames {
    /// Messages of `parts` frames of `size` octets each, about `target` octets in all.
    pub fn uniform(size: usize, parts: usize, target: usize) -> Self {
        let per_message = parts * (size + if size > 255 { 9 } else { 2 });
        let messages = target.div_ceil(per_message).max(1);
        let mut list = Vec::with_capacity(messages * parts);
        for _ in 0..messages {
            for i in 0..parts {
                list.push((size, i + 1 < parts));
            }
        }
        Frames {
            payload: vec![0xA5; size],
            parts: list,
        }
    }

    /// A PUB-like stream of about `target` octets: a 20-octet topic, sometimes an 8-octet
    /// second part, then a payload of 16..256 octets (90 %), 1..2 KiB (9 %) or 8 KiB (1 %).
    pub fn mixed(target: usize) -> Self {
        let mut list = Vec::new();
        let mut total = 0;
        let mut x: u32 = 0x1234_5678;
        while total < target {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let size = match x % 100 {
                0 => 8192,
                1..=9 => 1024 + (x as usize % 1024),
                _ => 16 + (x as usize % 240),
            };
            list.push((20, true));
            if x.is_multiple_of(10) {
                list.push((8, true));
            }
            list.push((size, false));
            total += 22 + size + if size > 255 { 9 } else { 2 };
        }
        Frames {
            payload: vec![0x5A; 8192],
            parts: list,
        }
    }

    /// The `(body, more)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], bool)> {
        self.parts
            .iter()
            .map(|&(len, more)| (&self.payload[..len], more))
    }

    /// Octets these frames take on the wire.
    pub fn wire_len(&self) -> usize {
        self.parts
            .iter()
            .map(|&(len, _)| len + if len > 255 { 9 } else { 2 })
            .sum()
    }

    /// The decode workload: greeting, READY, these frames; with `pings`, a PING after every
    /// 50th message.
    pub fn wire(&self, pings: bool) -> Wire {
        let mut octets = preamble();
        octets.reserve(self.wire_len() + 1024);
        let mut frames = 1;
        let mut messages = 0usize;
        for (body, more) in self.iter() {
            Frame::message(body, more).encode(&mut octets);
            frames += 1;
            if !more {
                messages += 1;
                if pings && messages.is_multiple_of(50) {
                    octets.extend_from_slice(PING);
                    frames += 1;
                }
            }
        }
        Wire { octets, frames }
    }
}

/// Greeting, READY, then `n` commands: PING, PONG, SUBSCRIBE, CANCEL in turn.
pub fn commands(n: usize) -> Wire {
    let mut octets = preamble();
    let all: [&[u8]; 4] = [
        PING,
        b"\x04\x09\x04PONGctx1",
        b"\x04\x0f\x09SUBSCRIBEtopic",
        b"\x04\x0c\x06CANCELtopic",
    ];
    for i in 0..n {
        octets.extend_from_slice(all[i % all.len()]);
    }
    Wire {
        octets,
        frames: n + 1,
    }
}

/// What every decode loop does with each frame: counts it and its octets, and folds in the
/// flags, so no loop can skip reading a header.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sink {
    /// Frames seen (the greeting not counted).
    pub frames: usize,
    /// Body octets seen.
    pub octets: usize,
    /// XOR of every flags octet.
    pub flags: u8,
    /// Commands read without error (by the loops that read them).
    pub commands: usize,
}

impl Sink {
    #[inline(always)]
    fn frame(&mut self, flags: u8, body: &[u8]) {
        self.frames += 1;
        self.octets += body.len();
        self.flags ^= flags;
    }
}

/// The decode loop a user would write by hand: skip the 64-octet greeting, then flags,
/// a 1- or 8-octet size, and the body borrowed from the buffer. No validation beyond what
/// memory safety needs.
#[inline(never)]
pub fn hand_decode(wire: &[u8]) -> Sink {
    let mut sink = Sink::default();
    let Some(mut rest) = wire.get(64..) else {
        return sink;
    };
    while let Some((&flags, after)) = rest.split_first() {
        let (size, after) = if flags & 0x02 != 0 {
            let Some((size, after)) = after.split_first_chunk::<8>() else {
                break;
            };
            (u64::from_be_bytes(*size), after)
        } else {
            let Some((&size, after)) = after.split_first() else {
                break;
            };
            (u64::from(size), after)
        };
        let Ok(size) = usize::try_from(size) else {
            break;
        };
        let Some((body, after)) = after.split_at_checked(size) else {
            break;
        };
        sink.frame(flags, body);
        rest = after;
    }
    sink
}

/// The same loop with `zmtp-codec`'s [`Decoder`]: greeting, then frames, every header rule
/// of `profile` enforced.
#[inline(never)]
pub fn codec_decode(wire: &[u8], profile: Profile) -> Sink {
    let mut sink = Sink::default();
    let mut decoder = Decoder::new(Config::new(profile));
    let mut rest = wire;
    while let Ok(Status::Done(item, used)) = decoder.decode(rest) {
        if let Item::Frame(f) = item {
            sink.frame(f.flags.0, f.body);
        }
        let Some(after) = rest.get(used..) else { break };
        rest = after;
    }
    sink
}

/// [`codec_decode`] that also reads every command with [`Command::from_frame`].
#[inline(never)]
pub fn codec_decode_commands(wire: &[u8], profile: Profile) -> Sink {
    let config = Config::new(profile);
    let mut sink = Sink::default();
    let mut decoder = Decoder::new(config);
    let mut rest = wire;
    while let Ok(Status::Done(item, used)) = decoder.decode(rest) {
        if let Item::Frame(f) = item {
            sink.frame(f.flags.0, f.body);
            if f.is_command()
                && let Ok(cmd) = Command::from_frame(&f, MechanismKind::Null, &config.strictness)
            {
                std::hint::black_box(&cmd);
                sink.commands += 1;
            }
        }
        let Some(after) = rest.get(used..) else { break };
        rest = after;
    }
    sink
}

/// [`StreamDecoder`] fed `chunk` octets at a time, as from a socket.
#[inline(never)]
pub fn stream_decode(wire: &[u8], chunk: usize) -> Sink {
    let mut sink = Sink::default();
    let mut decoder = StreamDecoder::new(Config::new(Profile::Strict));
    for piece in wire.chunks(chunk) {
        decoder.feed(piece);
        while let Ok(Some(item)) = decoder.next_item() {
            if let Item::Frame(f) = item {
                sink.frame(f.flags.0, f.body);
            }
        }
    }
    sink
}

/// Writing frames by hand: the flags octet, a 1- or 8-octet size, the body.
#[inline(never)]
pub fn hand_encode(frames: &Frames, out: &mut Vec<u8>) {
    for (body, more) in frames.iter() {
        let more = u8::from(more);
        if body.len() > 255 {
            out.push(more | 0x02);
            out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        } else {
            out.extend_from_slice(&[more, body.len() as u8]);
        }
        out.extend_from_slice(body);
    }
}

/// The same with `zmtp-codec`: [`Frame::message`] and [`Frame::encode`].
#[inline(never)]
pub fn codec_encode(frames: &Frames, out: &mut Vec<u8>) {
    for (body, more) in frames.iter() {
        Frame::message(body, more).encode(out);
    }
}
