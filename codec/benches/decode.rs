//! Decode throughput against a memcpy of the same octets, measured in the same run.
//!
//! Each group decodes a buffer of about 4 MiB made of frames of one size (1 octet, 64 octets,
//! 8 KiB, 1 MiB) or of a mixed, realistic stream, and copies the same buffer with
//! `copy_from_slice` as the baseline. Criterion reports both as bytes/second; the ratio
//! memcpy-time / decode-time is the codec's cost in "memcpys".
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use zmtp_codec::{
    Command, Config, Decoder, Frame, Greeting, Item, Mechanism, MechanismKind, Profile, Status,
    Version,
};

const TARGET: usize = 4 << 20;

fn frames_of(size: usize) -> Vec<u8> {
    let body = vec![0xA5u8; size];
    let mut wire = Vec::with_capacity(TARGET + 16);
    let mut more = true;
    while wire.len() < TARGET {
        Frame::message(&body, more).encode(&mut wire);
        more = !more;
    }
    wire
}

/// A PUB-like stream: greeting, READY, then topic + payload messages of varied sizes, some
/// three-part messages, an occasional PING and 8 KiB payload.
fn mixed() -> Vec<u8> {
    let mut wire = Greeting::new(Version::V3_1, Mechanism::NULL)
        .to_bytes()
        .to_vec();
    wire.extend_from_slice(b"\x04\x19\x05READY\x0bSocket-Type\0\0\0\x03PUB");
    let payload = vec![0x5Au8; 8192];
    let mut x: u32 = 0x1234_5678;
    while wire.len() < TARGET {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        Frame::message(b"market.quotes.EURUSD", true).encode(&mut wire);
        let size = match x % 100 {
            0 => 8192,
            1..=9 => 1024 + (x as usize % 1024),
            _ => 16 + (x as usize % 240),
        };
        if x.is_multiple_of(10) {
            Frame::message(&payload[..8], true).encode(&mut wire);
        }
        Frame::message(&payload[..size], false).encode(&mut wire);
        if x.is_multiple_of(50) {
            wire.extend_from_slice(b"\x04\x07\x04PING\x00\x0f");
        }
    }
    wire
}

/// Decodes everything, reading each command; returns the body octets seen.
fn decode(wire: &[u8], start_with_greeting: bool) -> usize {
    let cfg = Config::new(Profile::Strict);
    let mut decoder = if start_with_greeting {
        Decoder::new(cfg)
    } else {
        Decoder::frames(cfg)
    };
    let mut rest = wire;
    let mut seen = 0;
    loop {
        match decoder.decode(rest).unwrap() {
            Status::Done(item, used) => {
                if let Item::Frame(f) = item {
                    seen += f.body.len();
                    if f.is_command() {
                        black_box(
                            Command::from_frame(&f, MechanismKind::Null, &cfg.strictness).unwrap(),
                        );
                    }
                }
                rest = &rest[used..];
            }
            Status::NeedMore(_) => return seen,
        }
    }
}

fn bench(c: &mut Criterion) {
    let cases: Vec<(String, Vec<u8>, bool)> = vec![
        ("1B".into(), frames_of(1), false),
        ("64B".into(), frames_of(64), false),
        ("8KiB".into(), frames_of(8192), false),
        ("1MiB".into(), frames_of(1 << 20), false),
        ("mixed".into(), mixed(), true),
    ];
    for (name, wire, greeting) in &cases {
        let mut group = c.benchmark_group(format!("decode/{name}"));
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::new("codec", wire.len()), wire, |b, w| {
            b.iter(|| decode(black_box(w), *greeting))
        });
        let mut dst = vec![0u8; wire.len()];
        group.bench_with_input(BenchmarkId::new("memcpy", wire.len()), wire, |b, w| {
            b.iter(|| {
                dst.copy_from_slice(black_box(w));
                black_box(&dst);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
