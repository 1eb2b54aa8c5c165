//! `zmtp-codec` side by side with a hand-written loop, zmq.rs 0.7's codec and memcpy, all
//! measured in the same run, printed as ns per frame and ratios.
//!
//! ```sh
//! taskset -c 1 cargo bench -p zmtp-codec --bench compare            # every case, 15 rounds
//! taskset -c 1 cargo bench -p zmtp-codec --bench compare -- 64B mixed --rounds 31
//! ```
//!
//! Each decode workload is one direction of a NULL connection, about 4 MiB: greeting, READY,
//! then single-frame messages of 1, 16, 64, 256 octets, 1 KiB or 8 KiB, 2-, 3- or 8-frame
//! messages of 64-octet parts, or a mixed PUB-like stream (topic, sometimes a second part, a
//! payload of 16 octets to 8 KiB, a PING after every 50th message). Each row times, one after
//! another in each of N interleaved rounds (in reverse order every other round), and keeps
//! each one's fastest round:
//!
//! - `hand`: the loop a user would write by hand (flags, 1- or 8-octet size, borrowed body; no
//!   validation beyond bounds), `common::hand_decode`;
//! - `strict`, `lenient`: the same loop over `zmtp_codec::Decoder` with each profile;
//! - `zmq.rs`: `zeromq` 0.7's `ZmqCodec` (feature `bench-internals`) over a `BytesMut` holding
//!   the same octets; filling the `BytesMut` is not timed. It yields whole multipart messages
//!   (each frame a refcounted `Bytes`), and rejects PING (it knows only READY), so the mixed
//!   stream's PINGs count as frames and decoding goes on after them, as its state allows;
//! - `memcpy`: `copy_from_slice` of the whole buffer, the throughput yardstick.
//!
//! The encode rows write the same frames into a reused `Vec` (bodies copied): `hand` writes the
//! header octets itself, `codec` uses `Frame::message(..).encode`, `zmq.rs` its `Encoder` over
//! `ZmqMessage`s built before the clock starts (their drop is timed, being part of encoding),
//! `memcpy` copies a buffer of the encoded size.
//!
//! Columns: ns per frame for each; `S/hand` and `L/hand` = strict and lenient over hand (goal
//! ≤ 1.3); `zmq/S` = zmq.rs over strict (goal ≥ 10); `S thr` = strict's throughput as a
//! fraction of memcpy's (goal ≥ 0.5 at 64 octets). Ratios are of times measured in the same
//! rounds, so they hold on a busy machine better than the absolute numbers do. Every loop's
//! frame count is checked against the others before anything is printed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use asynchronous_codec::{Decoder as _, Encoder as _};
use bytes::{Bytes, BytesMut};
use common::{Frames, Sink, Wire};
use std::hint::black_box;
use std::time::{Duration, Instant};
use zeromq::__bench::{CodecError, Message, ZmqCodec};
use zeromq::ZmqMessage;
use zmtp_codec::Profile;

const TARGET: usize = 4 << 20;

struct Case {
    name: &'static str,
    frames: Frames,
    pings: bool,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (name, size) in [
        ("1B", 1),
        ("16B", 16),
        ("64B", 64),
        ("256B", 256),
        ("1KiB", 1024),
        ("8KiB", 8192),
    ] {
        cases.push(Case {
            name,
            frames: Frames::uniform(size, 1, TARGET),
            pings: false,
        });
    }
    for (name, parts) in [("2x64B", 2), ("3x64B", 3), ("8x64B", 8)] {
        cases.push(Case {
            name,
            frames: Frames::uniform(64, parts, TARGET),
            pings: false,
        });
    }
    cases.push(Case {
        name: "mixed",
        frames: Frames::mixed(TARGET),
        pings: true,
    });
    cases
}

/// zmq.rs's codec over `src`: frames decoded (commands included), message octets.
fn zmqrs_decode(src: &mut BytesMut) -> Sink {
    let mut codec = ZmqCodec::new();
    let mut sink = Sink::default();
    loop {
        match codec.decode(src) {
            Ok(Some(Message::Message(m))) => {
                sink.frames += m.len();
                for part in m.iter() {
                    sink.octets += part.len();
                }
            }
            Ok(Some(Message::Command(_))) => sink.frames += 1,
            Ok(Some(Message::Greeting(_))) => {}
            // A command zmq.rs does not know (PING): the frame is consumed, decoding can go on.
            Err(CodecError::Command(_)) => sink.frames += 1,
            Ok(None) => return sink,
            Err(e) => panic!("zmq.rs codec: {e:?}"),
        }
    }
}

fn zmqrs_messages(frames: &Frames) -> Vec<ZmqMessage> {
    let body = Bytes::copy_from_slice(&frames.payload);
    let mut messages = Vec::new();
    let mut parts = Vec::new();
    for &(len, more) in &frames.parts {
        parts.push(body.slice(..len));
        if !more {
            messages.push(ZmqMessage::try_from(std::mem::take(&mut parts)).unwrap());
        }
    }
    messages
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// The fastest of `rounds` runs of each column, interleaved.
struct Timings<const N: usize>([Duration; N]);

impl<const N: usize> Timings<N> {
    fn new() -> Self {
        Timings([Duration::MAX; N])
    }
    fn keep(&mut self, i: usize, d: Duration) {
        self.0[i] = self.0[i].min(d);
    }
    fn per(&self, i: usize, frames: usize) -> f64 {
        self.0[i].as_secs_f64() * 1e9 / frames as f64
    }
}

/// The order of the columns in round `round`: forwards, then backwards, so that no column
/// always runs right after the same other one (and finds its caches as that one left them).
fn order<const N: usize>(round: usize) -> [usize; N] {
    let mut order: [usize; N] = std::array::from_fn(|i| i);
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

fn decode_row(case: &Case, rounds: usize) -> String {
    let Wire { octets, frames } = case.frames.wire(case.pings);
    // Check once that every loop sees the same frames.
    let hand = common::hand_decode(&octets);
    assert_eq!(hand.frames, frames, "{}: hand", case.name);
    for profile in [Profile::Strict, Profile::Lenient] {
        assert_eq!(
            common::codec_decode(&octets, profile),
            hand,
            "{}",
            case.name
        );
    }
    let mut src = BytesMut::from(&octets[..]);
    assert_eq!(
        zmqrs_decode(&mut src).frames,
        frames,
        "{}: zmq.rs",
        case.name
    );

    let mut dst = vec![0u8; octets.len()];
    let mut t = Timings::<5>::new();
    for round in 0..rounds {
        for i in order::<5>(round) {
            let d = match i {
                0 => time(|| {
                    black_box(common::hand_decode(black_box(&octets)));
                }),
                1 => time(|| {
                    black_box(common::codec_decode(black_box(&octets), Profile::Strict));
                }),
                2 => time(|| {
                    black_box(common::codec_decode(black_box(&octets), Profile::Lenient));
                }),
                3 => {
                    let mut src = BytesMut::from(&octets[..]);
                    time(|| {
                        black_box(zmqrs_decode(black_box(&mut src)));
                    })
                }
                _ => time(|| {
                    dst.copy_from_slice(black_box(&octets));
                    black_box(&dst);
                }),
            };
            t.keep(i, d);
        }
    }
    let ns = |i| t.per(i, frames);
    format!(
        "{:<7} {:>8} {:>7.2} {:>7.2} {:>7.2} {:>8.2} {:>7.2} | {:>6.2} {:>6.2} {:>6.1} {:>6.2}",
        case.name,
        frames,
        ns(0),
        ns(1),
        ns(2),
        ns(3),
        ns(4),
        ns(1) / ns(0),
        ns(2) / ns(0),
        ns(3) / ns(1),
        ns(4) / ns(1),
    )
}

fn encode_row(case: &Case, rounds: usize) -> String {
    let frames = &case.frames;
    let n = frames.parts.len();
    let wire_len = frames.wire_len();
    // One output buffer for the hand-written loop and the codec, so that neither gets the
    // luckier pages (huge or not, cached or not).
    let mut out = Vec::with_capacity(wire_len);
    common::hand_encode(frames, &mut out);
    let hand = out.clone();
    out.clear();
    common::codec_encode(frames, &mut out);
    assert_eq!(hand, out, "{}", case.name);
    assert_eq!(hand.len(), wire_len, "{}", case.name);
    let mut zmq_codec = ZmqCodec::new();
    let mut theirs = BytesMut::with_capacity(wire_len);
    for m in zmqrs_messages(frames) {
        zmq_codec.encode(Message::Message(m), &mut theirs).unwrap();
    }
    assert_eq!(&theirs[..], &hand[..], "{}: zmq.rs", case.name);

    // memcpy copies its own buffer (not `out`, which would then be warm for the next loop).
    let source = hand;
    let mut copy = vec![0u8; wire_len];
    let mut t = Timings::<4>::new();
    for round in 0..rounds {
        for i in order::<4>(round) {
            let d = match i {
                0 => {
                    out.clear();
                    time(|| common::hand_encode(black_box(frames), &mut out))
                }
                1 => {
                    out.clear();
                    time(|| common::codec_encode(black_box(frames), &mut out))
                }
                2 => {
                    let messages = zmqrs_messages(frames);
                    theirs.clear();
                    time(|| {
                        for m in messages {
                            zmq_codec.encode(Message::Message(m), &mut theirs).unwrap();
                        }
                    })
                }
                _ => time(|| {
                    copy.copy_from_slice(black_box(&source));
                    black_box(&copy);
                }),
            };
            t.keep(i, d);
        }
        black_box((&out, &theirs));
    }
    let ns = |i| t.per(i, n);
    format!(
        "{:<7} {:>8} {:>7.2} {:>7.2} {:>8.2} {:>7.2} | {:>6.2} {:>6.1} {:>6.2}",
        case.name,
        n,
        ns(0),
        ns(1),
        ns(2),
        ns(3),
        ns(1) / ns(0),
        ns(2) / ns(1),
        ns(3) / ns(1),
    )
}

fn main() {
    let mut rounds = 15;
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(rounds),
            a if a.starts_with("--") => {} // `cargo bench` passes --bench
            _ => filters.push(arg),
        }
    }
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.name == f))
        .collect();

    println!("decode, ns per frame (fastest of {rounds} interleaved rounds)");
    println!(
        "{:<7} {:>8} {:>7} {:>7} {:>7} {:>8} {:>7} | {:>6} {:>6} {:>6} {:>6}",
        "case",
        "frames",
        "hand",
        "strict",
        "lenient",
        "zmq.rs",
        "memcpy",
        "S/hand",
        "L/hand",
        "zmq/S",
        "S thr"
    );
    for case in &cases {
        println!("{}", decode_row(case, rounds));
    }
    println!();
    println!("encode, ns per frame (fastest of {rounds} interleaved rounds)");
    println!(
        "{:<7} {:>8} {:>7} {:>7} {:>8} {:>7} | {:>6} {:>6} {:>6}",
        "case", "frames", "hand", "codec", "zmq.rs", "memcpy", "C/hand", "zmq/C", "C thr"
    );
    for case in &cases {
        println!("{}", encode_row(case, rounds));
    }
}
