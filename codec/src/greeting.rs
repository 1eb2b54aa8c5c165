//! The 64-octet ZMTP 3.x greeting (spec/zmtp.md §2, `GREET-*`).
//!
//! ```text
//!  off len field
//!    0   1 signature start   0xFF
//!    1   8 padding           not significant (GREET-05)
//!    9   1 signature end     0x7F
//!   10   1 version-major     3
//!   11   1 version-minor     0 (3.0) or 1 (3.1)
//!   12  20 mechanism         "NULL", "PLAIN", "CURVE" ..., NUL-padded
//!   32   1 as-server         0 or 1
//!   33  31 filler            zero
//! ```

use crate::parse::{PResult, Status, fail, status};
use crate::{DecodeError, PeerVersion, Strictness};
use bytes::BufMut;
use nom::Parser;
use nom::bytes::{complete, streaming};
use nom::number::complete::be_u8;
use std::fmt;

/// Length of a full ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;
/// Length of the signature (octets 0..=9).
pub const SIGNATURE_LEN: usize = 10;

/// A protocol version as announced in the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Version {
    /// Major version (3 for ZMTP 3.x; higher values are valid, VER-01).
    pub major: u8,
    /// Minor version (0 for 3.0, 1 for 3.1).
    pub minor: u8,
}

impl Version {
    /// ZMTP 3.0 (RFC 23).
    pub const V3_0: Version = Version { major: 3, minor: 0 };
    /// ZMTP 3.1 (RFC 37).
    pub const V3_1: Version = Version { major: 3, minor: 1 };

    /// Whether a peer announcing this version expects ZMTP 3.1 commands (SUBSCRIBE, CANCEL)
    /// rather than ZMTP 3.0 subscription messages (SUBW-05).
    pub fn has_subscription_commands(self) -> bool {
        self >= Version::V3_1
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The 20-octet mechanism field, borrowed from the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mechanism<'a>(pub &'a [u8; 20]);

/// Pads a mechanism name with NUL octets to 20 octets (names over 20 octets are cut).
#[allow(clippy::indexing_slicing)] // `i` is bounded by both lengths; `get` is not const.
pub const fn pad_mechanism(name: &[u8]) -> [u8; 20] {
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < name.len() && i < 20 {
        out[i] = name[i];
        i += 1;
    }
    out
}

impl Mechanism<'static> {
    /// The NULL mechanism.
    pub const NULL: Mechanism<'static> = Mechanism(&pad_mechanism(b"NULL"));
    /// The PLAIN mechanism (RFC 24).
    pub const PLAIN: Mechanism<'static> = Mechanism(&pad_mechanism(b"PLAIN"));
    /// The CURVE mechanism (RFC 25/26).
    pub const CURVE: Mechanism<'static> = Mechanism(&pad_mechanism(b"CURVE"));
}

impl<'a> Mechanism<'a> {
    /// The name: the octets before the first NUL.
    pub fn name(&self) -> &'a [u8] {
        let raw: &'a [u8; 20] = self.0;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        raw.get(..end).unwrap_or(raw)
    }

    /// Which mechanism this is, for choosing how to read its commands.
    pub fn kind(&self) -> MechanismKind {
        MechanismKind::from_name(self.name())
    }

    /// Checks the field against the grammar: 1..=20 characters of `A-Z 0-9 - _ . +`, then
    /// only NUL octets (GREET-07).
    pub fn validate(&self) -> Result<(), DecodeError> {
        let name = self.name();
        if name.is_empty() {
            return Err(DecodeError::InvalidMechanism {
                reason: "empty name",
            });
        }
        if !name.iter().all(|&b| is_mechanism_char(b)) {
            return Err(DecodeError::InvalidMechanism {
                reason: "name has a character outside A-Z 0-9 - _ . +",
            });
        }
        if self.0.iter().skip(name.len()).any(|&b| b != 0) {
            return Err(DecodeError::InvalidMechanism {
                reason: "non-NUL octet after the NUL padding starts",
            });
        }
        Ok(())
    }
}

fn is_mechanism_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b'+')
}

/// The mechanisms whose commands this codec knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MechanismKind {
    /// NULL: READY and ERROR.
    Null,
    /// PLAIN: HELLO, WELCOME, INITIATE, READY, ERROR.
    Plain,
    /// CURVE: HELLO, WELCOME, INITIATE, READY, MESSAGE, ERROR.
    Curve,
    /// Anything else (GSSAPI, private mechanisms): commands are read as for NULL, with
    /// mechanism-specific names left as unknown commands.
    Other,
}

impl MechanismKind {
    /// Classifies a mechanism name (exact, case-sensitive match, MECH-02).
    pub fn from_name(name: &[u8]) -> Self {
        match name {
            b"NULL" => MechanismKind::Null,
            b"PLAIN" => MechanismKind::Plain,
            b"CURVE" => MechanismKind::Curve,
            _ => MechanismKind::Other,
        }
    }
}

/// A decoded ZMTP 3.x greeting. Every field borrows from the input, including the parts that
/// carry no meaning (padding, filler), so a dissector can show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Greeting<'a> {
    /// Octets 1..=8: padding, or the ZMTP 1.0 pseudo-length (GREET-04, GREET-05).
    pub padding: &'a [u8; 8],
    /// Octet 9: 0x7F in a valid greeting.
    pub signature_end: u8,
    /// Octets 10..=11.
    pub version: Version,
    /// Octets 12..=31.
    pub mechanism: Mechanism<'a>,
    /// Octet 32: 1 if the peer acts as the server of the security handshake.
    pub as_server: u8,
    /// Octets 33..=63: zero in a valid greeting.
    pub filler: &'a [u8; 31],
}

/// Zero padding, for building greetings.
pub const ZERO_PADDING: [u8; 8] = [0; 8];
/// Zero filler, for building greetings.
pub const ZERO_FILLER: [u8; 31] = [0; 31];

impl Greeting<'static> {
    /// A well-formed greeting: zero padding and filler, as-server 0.
    pub const fn new(version: Version, mechanism: Mechanism<'static>) -> Self {
        Greeting {
            padding: &ZERO_PADDING,
            signature_end: 0x7F,
            version,
            mechanism,
            as_server: 0,
            filler: &ZERO_FILLER,
        }
    }
}

impl<'a> Greeting<'a> {
    /// Whether the as-server octet says "server" (only its value 1 does).
    pub fn is_server(&self) -> bool {
        self.as_server == 1
    }

    /// Parses a greeting from the start of `input`.
    ///
    /// Streaming: returns [`Status::NeedMore`] while the input is a valid prefix, and fails as
    /// early as the octets allow (a bad first octet fails after one octet). A ZMTP 1.0 or 2.0
    /// peer is reported as [`DecodeError::LegacyPeer`]; use [`crate::detect_peer`] to classify
    /// peers without failing.
    pub fn load(input: &'a [u8], strictness: &Strictness) -> Result<Status<Self>, DecodeError> {
        check_prefix(input, strictness)?;
        status(input, parse_greeting(input, strictness), || {
            DecodeError::TruncatedGreeting { found: input.len() }
        })
    }

    /// Parses exactly one greeting that must fill `input` (one-shot).
    pub fn load_exact(input: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        match Self::load(input, strictness)? {
            Status::Done(greeting, used) if used == input.len() => Ok(greeting),
            Status::Done(_, used) => Err(DecodeError::TrailingData {
                count: input.len().saturating_sub(used),
            }),
            Status::NeedMore(_) => Err(DecodeError::TruncatedGreeting { found: input.len() }),
        }
    }

    /// The fields of 64 octets, unchecked: only for octets [`Greeting::load`] has accepted
    /// (the decoder re-reads them so that its result never passes through memory written by
    /// an out-of-line call). `None` cannot happen for a 64-octet array.
    #[inline]
    pub(crate) fn from_accepted(raw: &'a [u8; GREETING_LEN]) -> Option<Self> {
        Some(Greeting {
            padding: raw.get(1..9)?.try_into().ok()?,
            signature_end: *raw.get(9)?,
            version: Version {
                major: *raw.get(10)?,
                minor: *raw.get(11)?,
            },
            mechanism: Mechanism(raw.get(12..32)?.try_into().ok()?),
            as_server: *raw.get(32)?,
            filler: raw.get(33..64)?.try_into().ok()?,
        })
    }

    /// The 64 octets of this greeting.
    pub fn to_bytes(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        let mut dst: &mut [u8] = &mut out;
        self.encode(&mut dst);
        out
    }

    /// Writes the 64 octets of this greeting.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_u8(0xFF);
        dst.put_slice(self.padding);
        dst.put_u8(self.signature_end);
        dst.put_u8(self.version.major);
        dst.put_u8(self.version.minor);
        dst.put_slice(self.mechanism.0);
        dst.put_u8(self.as_server);
        dst.put_slice(self.filler);
    }
}

/// Rejects a bad prefix as soon as the offending octet has arrived, before the rest.
fn check_prefix(input: &[u8], strictness: &Strictness) -> Result<(), DecodeError> {
    if let Some(&first) = input.first()
        && first != 0xFF
    {
        return Err(DecodeError::BadSignatureStart { found: first });
    }
    if let Some(&end) = input.get(9) {
        if end & 1 == 0 {
            return Err(DecodeError::LegacyPeer {
                peer: PeerVersion::Zmtp10,
            });
        }
        if strictness.signature_end && end != 0x7F {
            return Err(DecodeError::BadSignatureEnd { found: end });
        }
    }
    if let Some(&major) = input.get(10)
        && major < 3
    {
        return Err(DecodeError::LegacyPeer {
            peer: PeerVersion::Zmtp20 { revision: major },
        });
    }
    Ok(())
}

fn parse_greeting<'a>(input: &'a [u8], strictness: &Strictness) -> PResult<'a, Greeting<'a>> {
    // Wait for all 64 octets (so NeedMore counts the whole rest), then split the fields.
    let (rest, raw) = streaming::take(GREETING_LEN)(input)?;
    let (_, (_start, padding, signature_end, major, minor, mechanism, as_server, filler)) = (
        be_u8,
        complete::take(8usize),
        be_u8,
        be_u8,
        be_u8,
        complete::take(20usize),
        be_u8,
        complete::take(31usize),
    )
        .parse_complete(raw)?;
    let (Ok(padding), Ok(mechanism), Ok(filler)) = (
        <&[u8; 8]>::try_from(padding),
        <&[u8; 20]>::try_from(mechanism),
        <&[u8; 31]>::try_from(filler),
    ) else {
        return fail(DecodeError::TruncatedGreeting { found: input.len() });
    };
    let greeting = Greeting {
        padding,
        signature_end,
        version: Version { major, minor },
        mechanism: Mechanism(mechanism),
        as_server,
        filler,
    };
    if strictness.mechanism_grammar
        && let Err(e) = greeting.mechanism.validate()
    {
        return fail(e);
    }
    if strictness.as_server_grammar && as_server > 1 {
        return fail(DecodeError::InvalidAsServer { found: as_server });
    }
    if strictness.filler_zero
        && let Some((index, &found)) = filler.iter().enumerate().find(|(_, b)| **b != 0)
    {
        return fail(DecodeError::NonZeroFiller { index, found });
    }
    Ok((rest, greeting))
}

#[cfg(test)]
mod tests {
    #[test]
    fn from_accepted_is_load() {
        use crate::Profile;
        let strict = Profile::Strict.strictness();
        let lenient = Profile::Lenient.strictness();
        let mut raw = Greeting::new(Version::V3_1, Mechanism::PLAIN).to_bytes();
        raw[1..9].copy_from_slice(b"padding!");
        raw[32] = 1;
        for (raw, strictness) in [(raw, &strict), (raw, &lenient)] {
            let loaded = Greeting::load_exact(&raw, strictness).unwrap();
            assert_eq!(Greeting::from_accepted(&raw), Some(loaded));
        }
        raw[40] = 7;
        raw[9] = 0x03;
        let loaded = Greeting::load_exact(&raw, &lenient).unwrap();
        assert_eq!(Greeting::from_accepted(&raw), Some(loaded));
    }

    use super::*;

    #[test]
    fn null_31_round_trips() {
        let g = Greeting::new(Version::V3_1, Mechanism::NULL);
        let bytes = g.to_bytes();
        assert_eq!(&bytes[..12], b"\xff\0\0\0\0\0\0\0\0\x7f\x03\x01");
        assert_eq!(&bytes[12..16], b"NULL");
        let back = Greeting::load_exact(&bytes, &Strictness::STRICT).unwrap();
        assert_eq!(back, g);
    }

    #[test]
    fn fails_on_first_octet() {
        assert_eq!(
            Greeting::load(b"G", &Strictness::STRICT),
            Err(DecodeError::BadSignatureStart { found: b'G' })
        );
    }

    #[test]
    fn asks_for_the_rest() {
        let g = Greeting::new(Version::V3_0, Mechanism::PLAIN).to_bytes();
        assert_eq!(
            Greeting::load(&g[..11], &Strictness::STRICT),
            Ok(Status::NeedMore(53))
        );
    }
}
