//! The workload of the callgrind regression gate (`codec/perf/gate.sh`): runs one decode or
//! encode path of `zmtp-codec` over a fixed buffer, inside `measured`, the one function callgrind counts
//! (`--toggle-collect`), so the instruction count excludes start-up and building the input.
//!
//! ```sh
//! perf_gate --list        # every path and its frame count
//! perf_gate PATH          # builds PATH's input, runs it once, prints "PATH FRAMES"
//! ```
//!
//! A crate of its own (not an example of `zmtp-codec`) so that building it in release mode
//! builds only the codec, not the codec's dev-dependencies. The loops are those of the
//! codec's `compare` bench (`codec/benches/common`).
//!
//! Inputs are fixed (no clock, no randomness, no hashing), so the count is the same on every
//! run of the same binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "../../benches/common/mod.rs"]
mod common;

use common::{Frames, Sink, Wire};
use std::hint::black_box;
use zmtp_codec::Profile;

/// Frames per path: enough that the fixed cost of a run (a `Decoder`, the greeting, a `Vec`)
/// is a rounding error per frame, few enough to keep callgrind quick.
const FRAMES: usize = 8192;
/// Octets of the mixed stream (about 5 500 frames).
const MIXED: usize = 1 << 20;

/// [`FRAMES`] frames of `size` octets in messages of `parts` frames.
fn uniform(size: usize, parts: usize) -> Frames {
    let header = if size > 255 { 9 } else { 2 };
    Frames::uniform(size, parts, FRAMES * (size + header))
}

#[derive(Clone, Copy)]
enum Run {
    Hand,
    Decode(Profile),
    Commands,
    Stream(usize),
    HandEncode,
    Encode,
}

enum Input {
    Wire(Vec<u8>),
    Frames(Frames, Vec<u8>),
}

fn wire(frames: Frames, pings: bool) -> (Input, usize) {
    let Wire { octets, frames } = frames.wire(pings);
    (Input::Wire(octets), frames)
}

fn frames(frames: Frames) -> (Input, usize) {
    let n = frames.parts.len();
    let out = Vec::with_capacity(frames.wire_len());
    (Input::Frames(frames, out), n)
}

/// Every path: its name, what runs, and its input with the number of frames in it.
#[allow(clippy::type_complexity)]
fn paths() -> Vec<(&'static str, Run, fn() -> (Input, usize))> {
    use Profile::{Lenient, Strict};
    vec![
        ("decode/hand/64B", Run::Hand, || wire(uniform(64, 1), false)),
        ("decode/strict/1B", Run::Decode(Strict), || {
            wire(uniform(1, 1), false)
        }),
        ("decode/strict/64B", Run::Decode(Strict), || {
            wire(uniform(64, 1), false)
        }),
        ("decode/strict/1KiB", Run::Decode(Strict), || {
            wire(uniform(1024, 1), false)
        }),
        ("decode/strict/3x64B", Run::Decode(Strict), || {
            wire(uniform(64, 3), false)
        }),
        ("decode/strict/mixed", Run::Decode(Strict), || {
            wire(Frames::mixed(MIXED), true)
        }),
        ("decode/lenient/64B", Run::Decode(Lenient), || {
            wire(uniform(64, 1), false)
        }),
        ("decode/lenient/mixed", Run::Decode(Lenient), || {
            wire(Frames::mixed(MIXED), true)
        }),
        ("decode/commands", Run::Commands, || {
            let Wire { octets, frames } = common::commands(8192);
            (Input::Wire(octets), frames)
        }),
        ("decode/stream-4KiB/64B", Run::Stream(4096), || {
            wire(uniform(64, 1), false)
        }),
        ("decode/stream-4KiB/mixed", Run::Stream(4096), || {
            wire(Frames::mixed(MIXED), true)
        }),
        ("encode/hand/64B", Run::HandEncode, || {
            frames(uniform(64, 1))
        }),
        ("encode/codec/1B", Run::Encode, || frames(uniform(1, 1))),
        ("encode/codec/64B", Run::Encode, || frames(uniform(64, 1))),
        ("encode/codec/1KiB", Run::Encode, || {
            frames(uniform(1024, 1))
        }),
        ("encode/codec/mixed", Run::Encode, || {
            frames(Frames::mixed(MIXED))
        }),
    ]
}

/// The only function callgrind counts. It must not end in a tail call (callgrind would see it
/// return at the jump), hence the `black_box` after the call.
#[inline(never)]
fn measured(run: Run, input: &mut Input) -> Sink {
    let sink = match (run, input) {
        (Run::Hand, Input::Wire(w)) => common::hand_decode(w),
        (Run::Decode(profile), Input::Wire(w)) => common::codec_decode(w, profile),
        (Run::Commands, Input::Wire(w)) => common::codec_decode_commands(w, Profile::Strict),
        (Run::Stream(chunk), Input::Wire(w)) => common::stream_decode(w, chunk),
        (Run::HandEncode, Input::Frames(f, out)) => {
            common::hand_encode(f, out);
            Sink::default()
        }
        (Run::Encode, Input::Frames(f, out)) => {
            common::codec_encode(f, out);
            Sink::default()
        }
        _ => unreachable!(),
    };
    black_box(&sink);
    sink
}

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "--list".into());
    for (name, run, make) in paths() {
        if arg != "--list" && arg != name {
            continue;
        }
        let (mut input, count) = make();
        if arg == "--list" {
            println!("{name} {count}");
            continue;
        }
        let sink = measured(run, black_box(&mut input));
        match &input {
            Input::Wire(_) => {
                assert_eq!(sink.frames, count, "{name}");
                if matches!(run, Run::Commands) {
                    assert_eq!(sink.commands, count, "{name}: commands read");
                }
            }
            Input::Frames(f, out) => assert_eq!(out.len(), f.wire_len(), "{name}"),
        }
        println!("{name} {count}");
        return;
    }
    if arg != "--list" {
        eprintln!("unknown path {arg:?}; --list shows them");
        std::process::exit(2);
    }
}
