//! One direction of a connection, decoded whole with `Decoder` and in chunks with
//! `StreamDecoder`. The control header (see `src/lib.rs`) picks the profile, whether the
//! stream starts at the greeting or at the frames, the maximum frame size and the chunking.
//!
//! Invariants (each a crash if broken):
//! - both ways give the same items, the same first error (kind and offset) and the same
//!   `finish` verdict;
//! - every item re-encodes to exactly the octets it used; the offset counts them;
//! - after an error, every call returns that error again;
//! - the stream decoder holds exactly the octets fed and not yet decoded, and no allocation
//!   during `feed` / `next_item` is larger than twice the octets fed (plus a little): a
//!   declared frame size never drives an allocation;
//! - an item never completes before the number of octets `needed()` promised has been fed;
//! - the Strict profile's items satisfy its header rules and the size limit; whatever Strict
//!   decodes, Lenient decodes the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use zmtp_codec::{
    Config, Decoder, GREETING_LEN, Item, Profile, Status, StreamDecoder, StreamError,
};
use zmtp_codec_fuzz::Header;

/// Records the largest single allocation made while `TRACK` is set.
struct Watch;

static TRACK: AtomicBool = AtomicBool::new(false);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn note(size: usize) {
    if TRACK.load(Ordering::Relaxed) {
        PEAK.fetch_max(size, Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Watch = Watch;

/// Runs `f` and returns its result with the largest allocation it made.
fn watched<T>(f: impl FnOnce() -> T) -> (T, usize) {
    PEAK.store(0, Ordering::Relaxed);
    TRACK.store(true, Ordering::Relaxed);
    let out = f();
    TRACK.store(false, Ordering::Relaxed);
    (out, PEAK.load(Ordering::Relaxed))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Greeting(Vec<u8>),
    Frame(u8, Vec<u8>),
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    items: Vec<Owned>,
    error: Option<StreamError>,
    finish: Result<(), StreamError>,
}

/// Checks an item against the octets it was decoded from and makes it owned.
fn own(item: &Item<'_>, octets: &[u8], config: &Config) -> Owned {
    match item {
        Item::Greeting(g) => {
            assert_eq!(&g.to_bytes()[..], octets, "greeting re-encodes differently");
            Owned::Greeting(octets.to_vec())
        }
        Item::Frame(f) => {
            assert_eq!(f.to_vec(), octets, "frame re-encodes differently");
            assert_eq!(f.header_len(), if f.flags.long() { 9 } else { 2 });
            if let Some(max) = config.max_frame_size {
                assert!(f.body.len() as u64 <= max, "frame over the limit");
            }
            let s = &config.strictness;
            if s.reserved_flags {
                assert_eq!(f.flags.reserved(), 0);
            }
            if s.more_on_command {
                assert!(!(f.is_command() && f.more()));
            }
            Owned::Frame(f.flags.0, f.body.to_vec())
        }
    }
}

fn decoder(config: Config, frames: bool) -> Decoder {
    if frames {
        Decoder::frames(config)
    } else {
        Decoder::new(config)
    }
}

/// The whole input at once, with the zero-copy `Decoder`.
fn whole(data: &[u8], config: Config, frames: bool) -> Outcome {
    let mut dec = decoder(config, frames);
    let mut pos = 0usize;
    let mut items = Vec::new();
    let mut error = None;
    loop {
        let rest = &data[pos..];
        match dec.decode(rest) {
            Ok(Status::Done(item, used)) => {
                assert!(used > 0 && used <= rest.len());
                items.push(own(&item, &rest[..used], &config));
                pos += used;
                assert_eq!(dec.offset(), pos as u64);
            }
            Ok(Status::NeedMore(n)) => {
                assert!(n >= 1);
                break;
            }
            Err(e) => {
                assert_eq!(e.offset, pos as u64, "error offset is not the item's start");
                assert_eq!(dec.decode(rest), Err(e.clone()), "error not sticky");
                assert_eq!(dec.decode(&[]), Err(e.clone()), "error not sticky");
                error = Some(e);
                break;
            }
        }
    }
    let finish = dec.finish(data.len() - pos);
    if let Some(e) = &error {
        assert_eq!(finish, Err(e.clone()));
    }
    Outcome {
        items,
        error,
        finish,
    }
}

/// The input in chunks, with the buffering `StreamDecoder`.
/// `chunks` concatenated are `data`.
fn chunked(data: &[u8], chunks: &[&[u8]], config: Config, frames: bool) -> Outcome {
    let mut sd = StreamDecoder::with_decoder(decoder(config, frames));
    let mut fed = 0usize;
    let mut items = Vec::new();
    let mut error: Option<StreamError> = None;
    // (octets promised still needed, octets fed when that was said)
    let mut waiting: Option<(usize, usize)> = None;
    for chunk in chunks {
        let ((), peak) = watched(|| sd.feed(chunk));
        fed += chunk.len();
        assert!(
            peak <= 2 * fed + 1024,
            "feed allocated {peak} for {fed} octets"
        );
        loop {
            let before = sd.decoder().offset();
            TRACK.store(true, Ordering::Relaxed);
            PEAK.store(0, Ordering::Relaxed);
            let next = sd.next_item();
            TRACK.store(false, Ordering::Relaxed);
            let peak = PEAK.load(Ordering::Relaxed);
            assert!(
                peak <= 2 * fed + 1024,
                "next_item allocated {peak} for {fed} octets"
            );
            match next {
                Ok(Some(item)) => {
                    let len = match &item {
                        Item::Greeting(_) => GREETING_LEN,
                        Item::Frame(f) => f.encoded_len(),
                    };
                    let start = before as usize;
                    let owned = own(&item, &data[start..start + len], &config);
                    if let Some((need, at)) = waiting.take() {
                        assert!(fed - at >= need, "item after {} of {need} octets", fed - at);
                    }
                    items.push(owned);
                    assert_eq!(sd.decoder().offset(), (start + len) as u64);
                }
                Ok(None) => {
                    assert!(sd.needed() >= 1);
                    waiting = Some((sd.needed(), fed));
                    break;
                }
                Err(e) => {
                    if let Some(first) = &error {
                        assert_eq!(&e, first, "a later call returned another error");
                    }
                    error = Some(e);
                    break;
                }
            }
        }
        assert_eq!(
            sd.decoder().offset() as usize + sd.pending(),
            fed,
            "buffer holds other than the undecoded octets"
        );
        assert_eq!(sd.pending_bytes().len(), sd.pending());
    }
    if let Some(e) = &error {
        assert_eq!(sd.next_item().err().as_ref(), Some(e), "error not sticky");
    }
    let finish = sd.finish();
    if let Some(e) = &error {
        assert_eq!(finish, Err(e.clone()));
    }
    Outcome {
        items,
        error,
        finish,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some(header) = Header::split(input) else {
        return;
    };
    let profile = if header.config & 1 == 0 {
        Profile::Strict
    } else {
        Profile::Lenient
    };
    let frames = header.config & 2 != 0;
    let with_limit = |c: Config| match header.max_frame_size() {
        Some(max) => c.with_max_frame_size(max),
        None => c,
    };
    let config = with_limit(Config::new(profile));
    let data = header.data;

    let one = whole(data, config, frames);
    let many = chunked(data, &header.chunks(), config, frames);
    assert_eq!(one, many, "chunking changed the result");

    // Strict accepts a subset of what Lenient accepts, with the same values.
    let (strict, lenient) = match profile {
        Profile::Strict => (
            one,
            whole(data, with_limit(Config::new(Profile::Lenient)), frames),
        ),
        Profile::Lenient => (
            whole(data, with_limit(Config::new(Profile::Strict)), frames),
            one,
        ),
    };
    assert!(
        lenient.items.starts_with(&strict.items),
        "Lenient decodes differently from Strict"
    );
    if strict.error.is_none() {
        assert_eq!(strict, lenient, "Lenient rejects what Strict accepts");
    }
});
