//! Frames: everything after the greeting (spec/zmtp.md §4, `FRAME-*`).
//!
//! ```text
//! short frame:  flags(1) size(1)          body(size)    body 0..=255 octets
//! long frame:   flags(1) size(8, u64 BE)  body(size)    body 0..=2^63-1 octets
//!
//! flags: bit 0 MORE, bit 1 LONG, bit 2 COMMAND, bits 7..3 reserved (zero)
//! ```

use crate::parse::Status;
use crate::{Config, DecodeError};
use bytes::BufMut;
use std::fmt;

/// The flags octet of a frame, kept whole (reserved bits included).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Flags(pub u8);

impl Flags {
    /// Bit 0: more frames of this message follow.
    pub const MORE: u8 = 0x01;
    /// Bit 1: the size is 8 octets.
    pub const LONG: u8 = 0x02;
    /// Bit 2: a command frame.
    pub const COMMAND: u8 = 0x04;
    /// Bits 7..3: reserved, zero on the wire (FRAME-02).
    pub const RESERVED: u8 = 0xF8;

    /// MORE is set.
    pub fn more(self) -> bool {
        self.0 & Self::MORE != 0
    }
    /// LONG is set.
    pub fn long(self) -> bool {
        self.0 & Self::LONG != 0
    }
    /// COMMAND is set.
    pub fn command(self) -> bool {
        self.0 & Self::COMMAND != 0
    }
    /// The reserved bits that are set (zero in a valid frame).
    pub fn reserved(self) -> u8 {
        self.0 & Self::RESERVED
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({:#04x}", self.0)?;
        for (bit, name) in [
            (Self::MORE, " MORE"),
            (Self::LONG, " LONG"),
            (Self::COMMAND, " COMMAND"),
        ] {
            if self.0 & bit != 0 {
                f.write_str(name)?;
            }
        }
        if self.reserved() != 0 {
            write!(f, " reserved={:#04x}", self.reserved())?;
        }
        f.write_str(")")
    }
}

/// Largest body a short frame can carry.
pub const MAX_SHORT_SIZE: usize = 255;
/// Largest body a long frame can declare (FRAME-05).
pub const MAX_LONG_SIZE: u64 = (1 << 63) - 1;

/// One frame, borrowing its body from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Frame<'a> {
    /// The flags octet as received (or as it will be sent).
    pub flags: Flags,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// A message frame with the minimal size encoding.
    pub fn message(body: &'a [u8], more: bool) -> Self {
        let mut flags = if more { Flags::MORE } else { 0 };
        if body.len() > MAX_SHORT_SIZE {
            flags |= Flags::LONG;
        }
        Frame {
            flags: Flags(flags),
            body,
        }
    }

    /// A command frame (body = name length, name, data) with the minimal size encoding.
    pub fn command(body: &'a [u8]) -> Self {
        let mut flags = Flags::COMMAND;
        if body.len() > MAX_SHORT_SIZE {
            flags |= Flags::LONG;
        }
        Frame {
            flags: Flags(flags),
            body,
        }
    }

    /// The same frame with the 8-octet size encoding (legal for any body, FRAME-08).
    pub fn with_long_size(mut self) -> Self {
        self.flags.0 |= Flags::LONG;
        self
    }

    /// Whether this is a command frame.
    pub fn is_command(&self) -> bool {
        self.flags.command()
    }

    /// Whether more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.flags.more()
    }

    /// Whether the encoding uses an 8-octet size. A body over 255 octets always does.
    pub fn is_long(&self) -> bool {
        self.flags.long() || self.body.len() > MAX_SHORT_SIZE
    }

    /// Octets of flags and size before the body.
    pub fn header_len(&self) -> usize {
        if self.is_long() { 9 } else { 2 }
    }

    /// Octets this frame occupies on the wire.
    pub fn encoded_len(&self) -> usize {
        self.header_len().saturating_add(self.body.len())
    }

    /// Parses one frame from the start of `input`.
    ///
    /// Streaming: [`Status::NeedMore`] while the header or body is incomplete. All header
    /// checks (reserved bits, MORE on a command, size limits) run as soon as the header has
    /// arrived, before any body octet is needed, and nothing is allocated for the body.
    #[inline]
    pub fn load(input: &'a [u8], config: &Config) -> Result<Status<Self>, DecodeError> {
        Self::load_with(input, &HeaderRules::new(config))
    }

    /// [`Frame::load`] with the rules worked out beforehand, always inlined: the body of
    /// [`crate::Decoder`]'s loop.
    ///
    /// Written out with slice operations rather than nom combinators (a frame took ~100
    /// instructions more through nom's streaming `be_u8`, `be_u64` and `take`); the nom
    /// grammar it must agree with is kept as `tests::nom_frame`, and a property test holds
    /// the two together. The common case (a message frame, no reserved bit, size under the
    /// limit) costs one comparison per rule.
    #[inline(always)]
    pub(crate) fn load_with(
        input: &'a [u8],
        rules: &HeaderRules,
    ) -> Result<Status<Self>, DecodeError> {
        match Self::load_short_message(input, rules.short_bound) {
            Some((frame, used)) => Ok(Status::Done(frame, used)),
            None => Self::load_general(input, rules),
        }
    }

    /// The common case: a complete short message frame (flags 0 or MORE, so no LONG, no
    /// COMMAND and no reserved bit, and no flags rule applies) of fewer than `bound` octets
    /// ([`HeaderRules::short_bound`], or 0 to take nothing); `None` for anything else, which
    /// [`Frame::load_general`] reads.
    #[inline(always)]
    pub(crate) fn load_short_message(input: &'a [u8], bound: usize) -> Option<(Self, usize)> {
        if let [flags, size, rest @ ..] = input
            && *flags <= Flags::MORE
        {
            let size = usize::from(*size);
            if size < bound
                && let Some(body) = rest.get(..size)
            {
                let flags = Flags(*flags);
                return Some((Frame { flags, body }, 2 + size));
            }
        }
        None
    }

    /// Any frame, or what it lacks, or why it is invalid.
    #[inline(always)]
    pub(crate) fn load_general(
        input: &'a [u8],
        rules: &HeaderRules,
    ) -> Result<Status<Self>, DecodeError> {
        let Some((&flags, rest)) = input.split_first() else {
            return Ok(Status::NeedMore(1));
        };
        let flags = Flags(flags);
        // Only a command or a reserved bit can break a flags rule.
        if flags.0 > Flags::MORE | Flags::LONG
            && ((rules.reserved_flags && flags.reserved() != 0)
                || (rules.more_on_command && flags.command() && flags.more()))
        {
            return Err(header_error(flags, rules));
        }
        let (size, header, rest) = if flags.long() {
            let Some((size, rest)) = rest.split_first_chunk::<8>() else {
                return Ok(Status::NeedMore(8 - rest.len()));
            };
            (u64::from_be_bytes(*size), 9, rest)
        } else {
            let Some((&size, rest)) = rest.split_first() else {
                return Ok(Status::NeedMore(1));
            };
            (u64::from(size), 2, rest)
        };
        if size > rules.limit {
            return Err(size_error(size, rules));
        }
        let Ok(size) = usize::try_from(size) else {
            return Err(DecodeError::FrameTooLarge {
                size,
                max: usize::MAX as u64,
            });
        };
        match rest.get(..size) {
            // `header + size` rather than `input.len() - after.len()`: the next frame's
            // address depends on it, and this is one addition after the size is loaded.
            // No overflow: `size` octets are in `input`.
            Some(body) => Ok(Status::Done(Frame { flags, body }, header + size)),
            None => Ok(Status::NeedMore(size - rest.len())),
        }
    }

    /// Parses exactly one frame that must fill `input` (one-shot).
    pub fn load_exact(input: &'a [u8], config: &Config) -> Result<Self, DecodeError> {
        match Self::load(input, config)? {
            Status::Done(frame, used) if used == input.len() => Ok(frame),
            Status::Done(_, used) => Err(DecodeError::TrailingData {
                count: input.len().saturating_sub(used),
            }),
            Status::NeedMore(n) => Err(DecodeError::TruncatedFrame { needed: n as u64 }),
        }
    }

    /// Writes this frame. The size is 8 octets if LONG is set or the body needs it, else 1.
    ///
    /// The header goes out in one `put_slice` (one capacity check), as a hand-written
    /// encoder would write it.
    #[inline]
    pub fn encode(&self, dst: &mut impl BufMut) {
        let len = self.body.len();
        if self.flags.long() || len > MAX_SHORT_SIZE {
            let [a, b, c, d, e, f, g, h] = (len as u64).to_be_bytes();
            dst.put_slice(&[self.flags.0 | Flags::LONG, a, b, c, d, e, f, g, h]);
        } else {
            dst.put_slice(&[self.flags.0, len as u8]);
        }
        dst.put_slice(self.body);
    }

    /// This frame's octets in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }
}

/// The header rules of a [`Config`] in the form the frame parser tests them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderRules {
    /// Reject reserved flag bits (FRAME-03).
    reserved_flags: bool,
    /// Reject MORE on a command (FRAME-07).
    more_on_command: bool,
    /// The largest size accepted: the configured maximum, and never over 2^63-1 (FRAME-05,
    /// FRAME-10).
    limit: u64,
    /// The configured maximum, for the error.
    max: Option<u64>,
    /// One more than the largest short size accepted (`limit` + 1, at most 256).
    pub(crate) short_bound: usize,
}

impl HeaderRules {
    /// The rules of `config`.
    #[inline]
    pub(crate) const fn new(config: &Config) -> Self {
        let limit = match config.max_frame_size {
            Some(max) if max < MAX_LONG_SIZE => max,
            _ => MAX_LONG_SIZE,
        };
        HeaderRules {
            reserved_flags: config.strictness.reserved_flags,
            more_on_command: config.strictness.more_on_command,
            limit,
            max: config.max_frame_size,
            short_bound: if limit < MAX_SHORT_SIZE as u64 {
                limit as usize + 1
            } else {
                MAX_SHORT_SIZE + 1
            },
        }
    }
}

/// The error for a flags octet that breaks a header rule (off the hot path).
#[cold]
#[inline(never)]
fn header_error(flags: Flags, rules: &HeaderRules) -> DecodeError {
    if rules.reserved_flags && flags.reserved() != 0 {
        DecodeError::ReservedFlags { flags: flags.0 }
    } else {
        DecodeError::CommandWithMore { flags: flags.0 }
    }
}

/// The error for a declared size over the limit (off the hot path): 2^63 or more is
/// FRAME-05 whatever the maximum, else it is over the configured maximum.
#[cold]
#[inline(never)]
fn size_error(size: u64, rules: &HeaderRules) -> DecodeError {
    match rules.max {
        Some(max) if size <= MAX_LONG_SIZE => DecodeError::FrameTooLarge { size, max },
        _ => DecodeError::SizeOverflow { size },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;
    use crate::parse::{PResult, fail, status};
    use nom::bytes::streaming::take;
    use nom::number::streaming::{be_u8, be_u64};
    use proptest::prelude::*;

    /// The frame grammar in nom's streaming combinators, as the codec read frames before the
    /// hand-written [`Frame::load`]: the reference it must agree with.
    fn nom_frame<'a>(input: &'a [u8], config: &Config) -> PResult<'a, Frame<'a>> {
        let (input, flags) = be_u8(input).map(|(i, f)| (i, Flags(f)))?;
        let strict = &config.strictness;
        if strict.reserved_flags && flags.reserved() != 0 {
            return fail(DecodeError::ReservedFlags { flags: flags.0 });
        }
        if strict.more_on_command && flags.command() && flags.more() {
            return fail(DecodeError::CommandWithMore { flags: flags.0 });
        }
        let (input, size) = if flags.long() {
            be_u64(input)?
        } else {
            be_u8(input).map(|(i, s)| (i, u64::from(s)))?
        };
        if size > MAX_LONG_SIZE {
            return fail(DecodeError::SizeOverflow { size });
        }
        if let Some(max) = config.max_frame_size
            && size > max
        {
            return fail(DecodeError::FrameTooLarge { size, max });
        }
        let Ok(size) = usize::try_from(size) else {
            return fail(DecodeError::FrameTooLarge {
                size,
                max: usize::MAX as u64,
            });
        };
        let (input, body) = take(size)(input)?;
        Ok((input, Frame { flags, body }))
    }

    fn nom_load<'a>(input: &'a [u8], config: &Config) -> Result<Status<Frame<'a>>, DecodeError> {
        status(input, nom_frame(input, config), || {
            DecodeError::TruncatedFrame { needed: 1 }
        })
    }

    /// Headers of every kind (short, long, huge, reserved bits, commands), then a few octets.
    fn frame_prefix() -> impl Strategy<Value = Vec<u8>> {
        let size = prop_oneof![
            Just(0u64),
            0u64..=300,
            Just(MAX_LONG_SIZE),
            Just(MAX_LONG_SIZE + 1),
            any::<u64>(),
        ];
        (
            any::<u8>(),
            size,
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(flags, size, long, body)| {
                let mut wire = vec![flags];
                if long || flags & Flags::LONG != 0 {
                    wire.extend_from_slice(&size.to_be_bytes());
                } else {
                    wire.push(size as u8);
                }
                wire.extend_from_slice(&body);
                wire
            })
    }

    proptest! {
        /// Every prefix of every input gives the same status, frame, need and error through
        /// the hand-written parser as through the nom grammar, for both profiles and limits.
        #[test]
        fn load_agrees_with_the_nom_grammar(
            wire in frame_prefix(),
            lenient in any::<bool>(),
            max in prop_oneof![Just(None), (0u64..=400).prop_map(Some), any::<u64>().prop_map(Some)],
        ) {
            let mut cfg = Config::new(if lenient { Profile::Lenient } else { Profile::Strict });
            cfg.max_frame_size = max;
            for end in 0..=wire.len() {
                let input = &wire[..end];
                prop_assert_eq!(Frame::load(input, &cfg), nom_load(input, &cfg), "{:02x?}", input);
            }
        }
    }

    #[test]
    fn short_and_long_decode_to_the_same_body() {
        let cfg = Config::new(Profile::Strict);
        let short = Frame::load_exact(b"\x00\x03abc", &cfg).unwrap();
        let long = Frame::load_exact(b"\x02\0\0\0\0\0\0\0\x03abc", &cfg).unwrap();
        assert_eq!(short.body, long.body);
        assert!(!short.is_long() && long.is_long());
    }

    #[test]
    fn body_need_is_reported_after_the_header() {
        let cfg = Config::new(Profile::Strict);
        assert_eq!(
            Frame::load(b"\x02\0\0\0\0\0\0\x01\x00ab", &cfg),
            Ok(Status::NeedMore(254))
        );
    }

    #[test]
    fn hostile_size_fails_before_the_body() {
        let cfg = Config::new(Profile::Lenient);
        assert_eq!(
            Frame::load(b"\x02\x80\0\0\0\0\0\0\0", &cfg),
            Err(DecodeError::SizeOverflow { size: 1 << 63 })
        );
        let cfg = cfg.with_max_frame_size(1024);
        assert_eq!(
            Frame::load(b"\x02\x40\0\0\0\0\0\0\0", &cfg),
            Err(DecodeError::FrameTooLarge {
                size: 1 << 62,
                max: 1024
            })
        );
    }
}
