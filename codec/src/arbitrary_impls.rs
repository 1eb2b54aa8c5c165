//! `arbitrary::Arbitrary` for the borrowed value types (feature `arbitrary`), for
//! structure-aware fuzzing (`fuzz/fuzz_targets/roundtrip.rs`).
//!
//! Every value generated here is one the Strict profile decodes back to itself after
//! encoding: greetings with a valid signature, mechanism, as-server octet and filler; commands
//! whose fields fit their grammar; property lists with valid names. Slices borrow from the
//! fuzzer's input, so a field with a grammar takes the longest prefix of the input that fits
//! it (nothing is copied or repaired), and falls back to a fixed valid value when that prefix
//! is empty. Fixed-size fields that must be zero (greeting filler, CURVE HELLO padding) are
//! static zeros. The plain derives (`Frame`, `Flags`, `Version`, `Subscription`, ...) sit on
//! the types themselves and generate any value, valid or not.

use crate::command::{
    Cancel, Command, CurveHello, CurveInitiate, CurveMessage, CurveReady, CurveWelcome,
    ErrorCommand, Join, Leave, MAX_CONTEXT_LEN, Ping, PlainHello, PlainInitiate, PlainWelcome,
    Pong, Ready, Subscribe, Unknown,
};
use crate::{
    Greeting, Mechanism, Metadata, Property, Strictness, Version, ZERO_FILLER, pad_mechanism,
};
use arbitrary::{Arbitrary, Error, Result, Unstructured};

/// Valid mechanism fields to fall back on (the last one is the longest name allowed).
static MECHANISMS: [[u8; 20]; 6] = [
    pad_mechanism(b"NULL"),
    pad_mechanism(b"PLAIN"),
    pad_mechanism(b"CURVE"),
    pad_mechanism(b"GSSAPI"),
    pad_mechanism(b"X-PRIVATE.1+2_3"),
    pad_mechanism(b"ABCDEFGHIJKLMNOPQRST"),
];

/// Valid property names to fall back on.
static PROPERTY_NAMES: [&[u8]; 5] = [
    crate::SOCKET_TYPE,
    crate::IDENTITY,
    crate::RESOURCE,
    b"X-Custom",
    b"User-Id",
];

/// Command names outside every mechanism's dispatch table, for [`Unknown`].
static UNKNOWN_NAMES: [&[u8]; 4] = [b"X", b"NOOP", b"REQUEST", b"Zz"];

/// Every name [`Command::load`] reads as a known command under some mechanism.
const KNOWN_NAMES: [&[u8]; 12] = [
    b"READY",
    b"ERROR",
    b"SUBSCRIBE",
    b"CANCEL",
    b"PING",
    b"PONG",
    b"JOIN",
    b"LEAVE",
    b"HELLO",
    b"WELCOME",
    b"INITIATE",
    b"MESSAGE",
];

static CURVE_HELLO_PADDING: [u8; 72] = [0; 72];

/// The next `N` octets as an array reference.
fn array<'a, const N: usize>(u: &mut Unstructured<'a>) -> Result<&'a [u8; N]> {
    <&[u8; N]>::try_from(u.bytes(N)?).map_err(|_| Error::NotEnoughData)
}

/// Octets of an arbitrary length (at most `max`).
fn slice<'a>(u: &mut Unstructured<'a>, max: usize) -> Result<&'a [u8]> {
    let len = u.arbitrary_len::<u8>()?.min(max);
    u.bytes(len)
}

/// The longest prefix (up to an arbitrary length, at most `max`) whose octets all satisfy `ok`.
fn prefix_while<'a>(
    u: &mut Unstructured<'a>,
    max: usize,
    ok: impl Fn(u8) -> bool,
) -> Result<&'a [u8]> {
    let want = u.arbitrary_len::<u8>()?.min(max);
    let len = u
        .peek_bytes(want)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| ok(b))
        .count();
    u.bytes(len)
}

fn is_property_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+')
}

impl<'a> Arbitrary<'a> for Mechanism<'a> {
    /// A valid mechanism field: 20 octets of the input if they happen to be one, else one of
    /// a fixed set.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if u.ratio(1u8, 2u8)?
            && let Some(raw) = u.peek_bytes(20)
            && let Ok(field) = <&[u8; 20]>::try_from(raw)
            && Mechanism(field).validate().is_ok()
        {
            u.bytes(20)?;
            return Ok(Mechanism(field));
        }
        Ok(Mechanism(u.choose(&MECHANISMS)?))
    }
}

impl<'a> Arbitrary<'a> for Greeting<'a> {
    /// A greeting the Strict profile accepts: any padding, signature end 0x7F, major 3 or
    /// more, any minor, a valid mechanism, as-server 0 or 1, zero filler.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Greeting {
            padding: array::<8>(u)?,
            signature_end: 0x7F,
            version: Version {
                major: u.int_in_range(3..=u8::MAX)?,
                minor: u8::arbitrary(u)?,
            },
            mechanism: Mechanism::arbitrary(u)?,
            as_server: u.int_in_range(0..=1)?,
            filler: &ZERO_FILLER,
        })
    }
}

impl<'a> Arbitrary<'a> for Property<'a> {
    /// A property with a valid name (1..=255 octets of `A-Z a-z 0-9 - _ . +`) and any value.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut name = prefix_while(u, 255, is_property_name_char)?;
        if name.is_empty() {
            name = u.choose(&PROPERTY_NAMES)?;
        }
        Ok(Property {
            name,
            value: <&'a [u8]>::arbitrary(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Metadata<'a> {
    /// Up to 8 properties taken from the front of the input, as many as form a valid
    /// (Strict) property list there; possibly none.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let max = u.int_in_range(0..=8usize)?;
        let rest = u.peek_bytes(u.len()).unwrap_or_default();
        let mut len = 0usize;
        for _ in 0..max {
            match valid_property_len(rest.get(len..).unwrap_or_default()) {
                Some(n) => len += n,
                None => break,
            }
        }
        let raw = u.bytes(len)?;
        Ok(Metadata::load(raw, &Strictness::STRICT).unwrap_or_default())
    }
}

/// Length of the property at the front of `input` if it is valid under the Strict profile.
fn valid_property_len(input: &[u8]) -> Option<usize> {
    let (&name_len, rest) = input.split_first()?;
    let name = rest.get(..usize::from(name_len))?;
    if name.is_empty() || !name.iter().all(|&b| is_property_name_char(b)) {
        return None;
    }
    let rest = rest.get(name.len()..)?;
    let (value_len, rest) = rest.split_first_chunk::<4>()?;
    let value_len = usize::try_from(u32::from_be_bytes(*value_len)).ok()?;
    if value_len > rest.len() {
        return None;
    }
    Some(1 + name.len() + 4 + value_len)
}

impl<'a> Arbitrary<'a> for Ready<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Ready {
            metadata: Metadata::arbitrary(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for ErrorCommand<'a> {
    /// A reason of 0..=255 printable octets.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(ErrorCommand {
            reason: prefix_while(u, 255, |b| (0x20..=0x7E).contains(&b))?,
        })
    }
}

impl<'a> Arbitrary<'a> for Subscribe<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Subscribe {
            topic: <&'a [u8]>::arbitrary(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Cancel<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Cancel {
            topic: <&'a [u8]>::arbitrary(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Ping<'a> {
    /// Any TTL, a context of at most 16 octets.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Ping {
            ttl: u16::arbitrary(u)?,
            context: slice(u, MAX_CONTEXT_LEN)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Pong<'a> {
    /// A context of at most 16 octets.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Pong {
            context: slice(u, MAX_CONTEXT_LEN)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Join<'a> {
    /// A group of 0..=255 non-zero octets.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Join {
            group: prefix_while(u, 255, |b| b != 0)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Leave<'a> {
    /// A group of 0..=255 non-zero octets.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Leave {
            group: prefix_while(u, 255, |b| b != 0)?,
        })
    }
}

impl<'a> Arbitrary<'a> for PlainHello<'a> {
    /// User name and password of at most 255 octets each.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(PlainHello {
            username: slice(u, 255)?,
            password: slice(u, 255)?,
        })
    }
}

impl<'a> Arbitrary<'a> for PlainWelcome {
    fn arbitrary(_u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(PlainWelcome)
    }
}

impl<'a> Arbitrary<'a> for PlainInitiate<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(PlainInitiate {
            metadata: Metadata::arbitrary(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for CurveHello<'a> {
    /// Version 1.0, zero padding, any key, nonce and box.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(CurveHello {
            major: 1,
            minor: 0,
            padding: &CURVE_HELLO_PADDING,
            client_transient_key: array::<32>(u)?,
            nonce: array::<8>(u)?,
            signature_box: array::<80>(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for CurveWelcome<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(CurveWelcome {
            nonce: array::<16>(u)?,
            ciphertext: array::<144>(u)?,
        })
    }
}

/// At least `min` octets: `min` plus an arbitrary number more.
fn at_least<'a>(u: &mut Unstructured<'a>, min: usize) -> Result<&'a [u8]> {
    let extra = u.arbitrary_len::<u8>()?;
    let available = u.len();
    u.bytes(min.saturating_add(extra).min(available.max(min)))
}

impl<'a> Arbitrary<'a> for CurveInitiate<'a> {
    /// A box of at least 144 octets.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(CurveInitiate {
            cookie: array::<96>(u)?,
            nonce: array::<8>(u)?,
            ciphertext: at_least(u, 144)?,
        })
    }
}

impl<'a> Arbitrary<'a> for CurveReady<'a> {
    /// A box of at least 16 octets.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(CurveReady {
            nonce: array::<8>(u)?,
            ciphertext: at_least(u, 16)?,
        })
    }
}

impl<'a> Arbitrary<'a> for CurveMessage<'a> {
    /// A box of at least 17 octets.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(CurveMessage {
            nonce: array::<8>(u)?,
            ciphertext: at_least(u, 17)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Unknown<'a> {
    /// A name of 1..=255 ASCII letters that no mechanism knows, and any data.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut name = prefix_while(u, 255, |b| b.is_ascii_alphabetic())?;
        if name.is_empty() || KNOWN_NAMES.contains(&name) {
            name = u.choose(&UNKNOWN_NAMES)?;
        }
        Ok(Unknown {
            name,
            data: <&'a [u8]>::arbitrary(u)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Command<'a> {
    /// Any variant. Read it back with the mechanism it belongs to: PLAIN for the `Plain*`
    /// variants, CURVE for the `Curve*` ones, NULL for the rest.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.choose_index(17)? {
            0 => Command::Ready(Ready::arbitrary(u)?),
            1 => Command::Error(ErrorCommand::arbitrary(u)?),
            2 => Command::Subscribe(Subscribe::arbitrary(u)?),
            3 => Command::Cancel(Cancel::arbitrary(u)?),
            4 => Command::Ping(Ping::arbitrary(u)?),
            5 => Command::Pong(Pong::arbitrary(u)?),
            6 => Command::Join(Join::arbitrary(u)?),
            7 => Command::Leave(Leave::arbitrary(u)?),
            8 => Command::PlainHello(PlainHello::arbitrary(u)?),
            9 => Command::PlainWelcome(PlainWelcome::arbitrary(u)?),
            10 => Command::PlainInitiate(PlainInitiate::arbitrary(u)?),
            11 => Command::CurveHello(CurveHello::arbitrary(u)?),
            12 => Command::CurveWelcome(CurveWelcome::arbitrary(u)?),
            13 => Command::CurveInitiate(CurveInitiate::arbitrary(u)?),
            14 => Command::CurveReady(CurveReady::arbitrary(u)?),
            15 => Command::CurveMessage(CurveMessage::arbitrary(u)?),
            _ => Command::Unknown(Unknown::arbitrary(u)?),
        })
    }
}
