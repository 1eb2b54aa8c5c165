//! Typed decode errors. Every error names the requirement of `spec/zmtp.md` it enforces.

use thiserror::Error;

/// Why a sequence of octets is not valid ZMTP.
///
/// Each variant's message starts with the bracketed requirement ID it enforces, e.g.
/// `[FRAME-05]`, so a log line can be traced back to the spec sentence. [`DecodeError::kind`]
/// gives the stable, language-neutral name used by the golden vectors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    // ---- greeting -------------------------------------------------------------------------
    /// The input ended before the 64-octet greeting was complete (one-shot parsing only).
    #[error("[GREET-01] greeting truncated: {found} of 64 octets")]
    TruncatedGreeting {
        /// How many octets were present.
        found: usize,
    },
    /// Octet 0 of the signature is not 0xFF.
    #[error("[GREET-02] signature octet 0 is {found:#04x}, expected 0xff")]
    BadSignatureStart {
        /// The octet seen.
        found: u8,
    },
    /// Octet 9 of the signature is not 0x7F.
    #[error("[GREET-03] signature octet 9 is {found:#04x}, expected 0x7f")]
    BadSignatureEnd {
        /// The octet seen.
        found: u8,
    },
    /// The peer announced ZMTP 1.0 or 2.0 where a 3.x greeting was required.
    #[error("[COMPAT-03] peer speaks {peer}, not ZMTP 3.x")]
    LegacyPeer {
        /// Which legacy protocol was detected.
        peer: crate::PeerVersion,
    },
    /// The mechanism field is not an upper-case name padded with NUL octets.
    #[error("[GREET-07] invalid mechanism field: {reason}")]
    InvalidMechanism {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The as-server octet is neither 0 nor 1.
    #[error("[GREET-08] as-server octet is {found:#04x}, expected 0x00 or 0x01")]
    InvalidAsServer {
        /// The octet seen.
        found: u8,
    },
    /// A filler octet is not zero.
    #[error("[GREET-09] filler octet {index} is {found:#04x}, expected 0x00")]
    NonZeroFiller {
        /// Index within the 31-octet filler.
        index: usize,
        /// The octet seen.
        found: u8,
    },

    // ---- framing --------------------------------------------------------------------------
    /// The input ended inside a frame (one-shot parsing only).
    #[error("[FRAME-01] frame truncated: {needed} more octet(s) needed")]
    TruncatedFrame {
        /// How many more octets the frame declares.
        needed: u64,
    },
    /// Octets follow a complete item where nothing may follow (one-shot parsing only).
    #[error("[FRAME-01] {count} unexpected octet(s) after the end of the item")]
    TrailingData {
        /// How many octets were left over.
        count: usize,
    },
    /// A reserved flag bit (7..3) is set.
    #[error("[FRAME-03] reserved flag bits set: flags {flags:#04x}")]
    ReservedFlags {
        /// The whole flags octet.
        flags: u8,
    },
    /// A command frame has the MORE bit set.
    #[error("[FRAME-07] command frame with MORE set: flags {flags:#04x}")]
    CommandWithMore {
        /// The whole flags octet.
        flags: u8,
    },
    /// A long size has its most significant bit set (2^63 or more).
    #[error("[FRAME-05] long size {size} is 2^63 or more")]
    SizeOverflow {
        /// The declared size.
        size: u64,
    },
    /// The declared size exceeds the configured maximum frame size.
    #[error("[FRAME-10] frame of {size} octets exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The declared size.
        size: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The stream ended in the middle of a multipart message (its last frame had MORE set).
    #[error("[FRAME-11] stream ended inside a multipart message")]
    TruncatedMessage,

    // ---- commands -------------------------------------------------------------------------
    /// A command was expected but the frame has no COMMAND bit.
    #[error("[FRAME-04] expected a command frame, found a message frame (flags {flags:#04x})")]
    NotACommand {
        /// The whole flags octet.
        flags: u8,
    },
    /// The command body is empty: there is not even a name length.
    #[error("[CMD-01] empty command body")]
    EmptyCommand,
    /// The command name length is zero.
    #[error("[CMD-02] command name length is zero")]
    CommandNameEmpty,
    /// The command name length runs past the end of the body.
    #[error("[CMD-02] command name length {declared} exceeds the {available} octet(s) left")]
    CommandNameOverrun {
        /// The declared name length.
        declared: usize,
        /// Octets left in the body after the length octet.
        available: usize,
    },
    /// The command name contains an octet that is not an ASCII letter.
    #[error("[CMD-03] command name contains a non-letter octet {found:#04x}")]
    InvalidCommandName {
        /// The offending octet.
        found: u8,
    },
    /// ERROR: the reason length does not match the rest of the body.
    #[error("[ERR-01] ERROR reason length {declared} does not match the {available} octet(s) left")]
    ErrorReasonLength {
        /// The declared reason length.
        declared: usize,
        /// Octets left after the length octet.
        available: usize,
    },
    /// ERROR: the reason contains an octet outside 0x20..=0x7E.
    #[error("[ERR-02] ERROR reason contains a non-printable octet {found:#04x}")]
    InvalidErrorReason {
        /// The offending octet.
        found: u8,
    },
    /// PING: fewer than the two TTL octets.
    #[error("[HB-06] PING body has {found} octet(s) of data, at least 2 (the TTL) are required")]
    PingTooShort {
        /// Octets of command data present.
        found: usize,
    },
    /// PING or PONG: the context is longer than 16 octets.
    #[error("[HB-02] {} context of {found} octets exceeds 16", if *.pong { "PONG" } else { "PING" })]
    ContextTooLong {
        /// In a PONG (else a PING).
        pong: bool,
        /// Context length.
        found: usize,
    },
    /// JOIN or LEAVE: the group is over 255 octets or contains a zero octet.
    #[error("[RADIO-01] {} group is invalid: {reason}", if *.leave { "LEAVE" } else { "JOIN" })]
    InvalidGroup {
        /// In a LEAVE (else a JOIN).
        leave: bool,
        /// What is wrong.
        reason: &'static str,
    },
    /// PLAIN HELLO: the username and password lengths do not add up to the body.
    #[error("[PLAIN-01] malformed PLAIN HELLO: {reason}")]
    PlainHelloMalformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// PLAIN WELCOME carries data.
    #[error("[PLAIN-02] PLAIN WELCOME carries {found} octet(s) of data, expected none")]
    PlainWelcomeNotEmpty {
        /// Octets of data present.
        found: usize,
    },
    /// A CURVE command has the wrong size.
    #[error("[{}] CURVE {} body is {found} octets, expected {}", .command.requirement(), .command.name(), .command.expected_size())]
    CurveCommandSize {
        /// Which command.
        command: CurveCommandKind,
        /// Size of the whole command body.
        found: usize,
    },
    /// CURVE HELLO: the version is not 1.0.
    #[error("[CURVE-02] CURVE HELLO version is {major}.{minor}, expected 1.0")]
    CurveHelloVersion {
        /// Major version octet.
        major: u8,
        /// Minor version octet.
        minor: u8,
    },
    /// CURVE HELLO: the 72-octet padding is not all zero.
    #[error("[CURVE-03] CURVE HELLO padding is not all zero")]
    CurveHelloPadding,

    // ---- metadata -------------------------------------------------------------------------
    /// A property name has length zero.
    #[error("[META-02] property with a zero-length name at metadata offset {offset}")]
    PropertyNameEmpty {
        /// Offset of the property within the metadata.
        offset: usize,
    },
    /// A property name runs past the end of the metadata.
    #[error("[META-05] property name at metadata offset {offset} overruns the command")]
    PropertyNameOverrun {
        /// Offset of the property within the metadata.
        offset: usize,
    },
    /// A property name contains an octet outside ALPHA / DIGIT / `-_.+`.
    #[error(
        "[META-03] property name contains invalid octet {found:#04x} at metadata offset {offset}"
    )]
    InvalidPropertyName {
        /// Offset of the property within the metadata.
        offset: usize,
        /// The offending octet.
        found: u8,
    },
    /// A property value (or its 4-octet length) runs past the end of the metadata.
    #[error("[META-05] property value at metadata offset {offset} overruns the command")]
    PropertyValueOverrun {
        /// Offset of the property within the metadata.
        offset: usize,
    },
    /// A property value length has its most significant bit set.
    #[error("[META-04] property value length {length} exceeds 2^31-1")]
    PropertyValueTooLarge {
        /// The declared length.
        length: u32,
    },

    // ---- handshake (see `session`) ------------------------------------------------------
    /// The peer's mechanism field differs from the local one.
    #[error("[MECH-02] the peer's mechanism {:?} differs from the local one", crate::text::escape(.peer))]
    MechanismMismatch {
        /// The peer's mechanism field.
        peer: [u8; 20],
    },
    /// The peer's as-server octet does not fit the mechanism's roles.
    #[error(
        "[{}] as-server octet is {found}, expected {expected} for this mechanism and role",
        if *.null { "NULL-01" } else { "MECH-06" }
    )]
    AsServerMismatch {
        /// The octet seen.
        found: u8,
        /// The octet required.
        expected: u8,
        /// Whether the mechanism is NULL (else PLAIN or CURVE).
        null: bool,
    },
    /// A message frame arrived before the handshake completed.
    #[error("[{}] message frame during the {phase}", if *.null { "NULL-06" } else { "FRAME-04" })]
    UnexpectedMessage {
        /// Where in the connection.
        phase: &'static str,
        /// Whether the mechanism is NULL (else PLAIN, CURVE or another).
        null: bool,
    },
    /// A command arrived out of the mechanism's handshake order.
    #[error("[CMD-08] unexpected command {name:?} during the handshake")]
    UnexpectedCommand {
        /// The command name, escaped.
        name: Box<str>,
    },
    /// The stream ended before the handshake completed.
    #[error("[WIRE-01] stream ended before the handshake completed")]
    HandshakeIncomplete,
    /// ERROR arrived after the peer had sent a message frame on the connection.
    #[error("[ERR-04] ERROR arrived after a message frame")]
    ErrorAfterMessage,

    // ---- subscriptions --------------------------------------------------------------------
    /// Neither a ZMTP 3.0 subscription message nor a SUBSCRIBE/CANCEL command.
    #[error("[SUBW-03] not a subscription: {reason}")]
    NotASubscription {
        /// What it is instead.
        reason: &'static str,
    },
    /// A ZMTP 3.0 subscription message with MORE set (it must be a single frame).
    #[error("[SUBW-07] subscription message has MORE set")]
    SubscriptionWithMore,
}

impl DecodeError {
    /// The stable name of this error, as used by `vectors/` (the variant name).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TruncatedGreeting { .. } => "TruncatedGreeting",
            Self::BadSignatureStart { .. } => "BadSignatureStart",
            Self::BadSignatureEnd { .. } => "BadSignatureEnd",
            Self::LegacyPeer { .. } => "LegacyPeer",
            Self::InvalidMechanism { .. } => "InvalidMechanism",
            Self::InvalidAsServer { .. } => "InvalidAsServer",
            Self::NonZeroFiller { .. } => "NonZeroFiller",
            Self::TruncatedFrame { .. } => "TruncatedFrame",
            Self::TrailingData { .. } => "TrailingData",
            Self::ReservedFlags { .. } => "ReservedFlags",
            Self::CommandWithMore { .. } => "CommandWithMore",
            Self::SizeOverflow { .. } => "SizeOverflow",
            Self::FrameTooLarge { .. } => "FrameTooLarge",
            Self::TruncatedMessage => "TruncatedMessage",
            Self::NotACommand { .. } => "NotACommand",
            Self::EmptyCommand => "EmptyCommand",
            Self::CommandNameEmpty => "CommandNameEmpty",
            Self::CommandNameOverrun { .. } => "CommandNameOverrun",
            Self::InvalidCommandName { .. } => "InvalidCommandName",
            Self::ErrorReasonLength { .. } => "ErrorReasonLength",
            Self::InvalidErrorReason { .. } => "InvalidErrorReason",
            Self::PingTooShort { .. } => "PingTooShort",
            Self::ContextTooLong { .. } => "ContextTooLong",
            Self::InvalidGroup { .. } => "InvalidGroup",
            Self::PlainHelloMalformed { .. } => "PlainHelloMalformed",
            Self::PlainWelcomeNotEmpty { .. } => "PlainWelcomeNotEmpty",
            Self::CurveCommandSize { .. } => "CurveCommandSize",
            Self::CurveHelloVersion { .. } => "CurveHelloVersion",
            Self::CurveHelloPadding => "CurveHelloPadding",
            Self::PropertyNameEmpty { .. } => "PropertyNameEmpty",
            Self::PropertyNameOverrun { .. } => "PropertyNameOverrun",
            Self::InvalidPropertyName { .. } => "InvalidPropertyName",
            Self::PropertyValueOverrun { .. } => "PropertyValueOverrun",
            Self::PropertyValueTooLarge { .. } => "PropertyValueTooLarge",
            Self::MechanismMismatch { .. } => "MechanismMismatch",
            Self::AsServerMismatch { .. } => "AsServerMismatch",
            Self::UnexpectedMessage { .. } => "UnexpectedMessage",
            Self::UnexpectedCommand { .. } => "UnexpectedCommand",
            Self::HandshakeIncomplete => "HandshakeIncomplete",
            Self::ErrorAfterMessage => "ErrorAfterMessage",
            Self::NotASubscription { .. } => "NotASubscription",
            Self::SubscriptionWithMore => "SubscriptionWithMore",
        }
    }

    /// The requirement ID (from `spec/requirements.toml`) this error enforces.
    pub fn requirement(&self) -> &'static str {
        match self {
            Self::TruncatedGreeting { .. } => "GREET-01",
            Self::BadSignatureStart { .. } => "GREET-02",
            Self::BadSignatureEnd { .. } => "GREET-03",
            Self::LegacyPeer { .. } => "COMPAT-03",
            Self::InvalidMechanism { .. } => "GREET-07",
            Self::InvalidAsServer { .. } => "GREET-08",
            Self::NonZeroFiller { .. } => "GREET-09",
            Self::TruncatedFrame { .. } | Self::TrailingData { .. } => "FRAME-01",
            Self::ReservedFlags { .. } => "FRAME-03",
            Self::CommandWithMore { .. } => "FRAME-07",
            Self::SizeOverflow { .. } => "FRAME-05",
            Self::FrameTooLarge { .. } => "FRAME-10",
            Self::TruncatedMessage => "FRAME-11",
            Self::NotACommand { .. } => "FRAME-04",
            Self::EmptyCommand => "CMD-01",
            Self::CommandNameEmpty | Self::CommandNameOverrun { .. } => "CMD-02",
            Self::InvalidCommandName { .. } => "CMD-03",
            Self::ErrorReasonLength { .. } => "ERR-01",
            Self::InvalidErrorReason { .. } => "ERR-02",
            Self::PingTooShort { .. } => "HB-06",
            Self::ContextTooLong { .. } => "HB-02",
            Self::InvalidGroup { .. } => "RADIO-01",
            Self::PlainHelloMalformed { .. } => "PLAIN-01",
            Self::PlainWelcomeNotEmpty { .. } => "PLAIN-02",
            Self::CurveCommandSize { command, .. } => command.requirement(),
            Self::CurveHelloVersion { .. } => "CURVE-02",
            Self::CurveHelloPadding => "CURVE-03",
            Self::PropertyNameEmpty { .. } => "META-02",
            Self::PropertyNameOverrun { .. } | Self::PropertyValueOverrun { .. } => "META-05",
            Self::InvalidPropertyName { .. } => "META-03",
            Self::PropertyValueTooLarge { .. } => "META-04",
            Self::MechanismMismatch { .. } => "MECH-02",
            Self::AsServerMismatch { null: true, .. } => "NULL-01",
            Self::AsServerMismatch { null: false, .. } => "MECH-06",
            Self::UnexpectedMessage { null: true, .. } => "NULL-06",
            Self::UnexpectedMessage { null: false, .. } => "FRAME-04",
            Self::UnexpectedCommand { .. } => "CMD-08",
            Self::HandshakeIncomplete => "WIRE-01",
            Self::ErrorAfterMessage => "ERR-04",
            Self::NotASubscription { .. } => "SUBW-03",
            Self::SubscriptionWithMore => "SUBW-07",
        }
    }

    /// Every requirement ID any decode error can cite (for traceability tests).
    pub const REQUIREMENTS: &'static [&'static str] = &[
        "GREET-01",
        "GREET-02",
        "GREET-03",
        "COMPAT-03",
        "GREET-07",
        "GREET-08",
        "GREET-09",
        "FRAME-01",
        "FRAME-03",
        "FRAME-04",
        "FRAME-05",
        "FRAME-07",
        "FRAME-10",
        "FRAME-11",
        "CMD-01",
        "CMD-02",
        "CMD-03",
        "ERR-01",
        "ERR-02",
        "HB-02",
        "HB-06",
        "RADIO-01",
        "PLAIN-01",
        "PLAIN-02",
        "CURVE-01",
        "CURVE-02",
        "CURVE-03",
        "CURVE-04",
        "CURVE-05",
        "CURVE-06",
        "CURVE-07",
        "META-02",
        "META-03",
        "META-04",
        "META-05",
        "MECH-02",
        "MECH-06",
        "CMD-08",
        "WIRE-01",
        "NULL-01",
        "NULL-06",
        "SUBW-03",
        "SUBW-07",
        "ERR-04",
    ];
}

/// The CURVE commands, for size errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurveCommandKind {
    /// HELLO, 200 octets.
    Hello,
    /// WELCOME, 168 octets.
    Welcome,
    /// INITIATE, at least 257 octets.
    Initiate,
    /// READY, at least 30 octets.
    Ready,
    /// MESSAGE, at least 33 octets.
    Message,
}

impl CurveCommandKind {
    /// The command name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hello => "HELLO",
            Self::Welcome => "WELCOME",
            Self::Initiate => "INITIATE",
            Self::Ready => "READY",
            Self::Message => "MESSAGE",
        }
    }

    /// The size rule, in words.
    pub fn expected_size(self) -> &'static str {
        match self {
            Self::Hello => "200",
            Self::Welcome => "168",
            Self::Initiate => "at least 257",
            Self::Ready => "at least 30",
            Self::Message => "at least 33",
        }
    }

    /// The requirement giving the size.
    pub fn requirement(self) -> &'static str {
        match self {
            Self::Hello => "CURVE-01",
            Self::Welcome => "CURVE-04",
            Self::Initiate => "CURVE-05",
            Self::Ready => "CURVE-06",
            Self::Message => "CURVE-07",
        }
    }
}

/// A [`DecodeError`] located in a stream: the offset is that of the first octet of the item
/// (greeting, frame) that failed to decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at stream offset {offset}: {error}")]
pub struct StreamError {
    /// Offset from the start of the stream of the item that failed.
    pub offset: u64,
    /// What was wrong.
    #[source]
    pub error: DecodeError,
}

#[cfg(test)]
mod tests {
    use super::{CurveCommandKind, DecodeError};
    use std::collections::BTreeSet;

    /// One value of every variant (and of every requirement-dependent shape).
    fn samples() -> Vec<DecodeError> {
        use CurveCommandKind as C;
        use DecodeError as E;
        let mut all = vec![
            E::TruncatedGreeting { found: 3 },
            E::BadSignatureStart { found: 0 },
            E::BadSignatureEnd { found: 0 },
            E::LegacyPeer {
                peer: crate::PeerVersion::Zmtp10,
            },
            E::InvalidMechanism { reason: "r" },
            E::InvalidAsServer { found: 2 },
            E::NonZeroFiller { index: 0, found: 1 },
            E::TruncatedFrame { needed: 1 },
            E::TrailingData { count: 1 },
            E::ReservedFlags { flags: 0x80 },
            E::CommandWithMore { flags: 0x05 },
            E::SizeOverflow { size: u64::MAX },
            E::FrameTooLarge { size: 2, max: 1 },
            E::TruncatedMessage,
            E::NotACommand { flags: 0 },
            E::EmptyCommand,
            E::CommandNameEmpty,
            E::CommandNameOverrun {
                declared: 2,
                available: 1,
            },
            E::InvalidCommandName { found: 0 },
            E::ErrorReasonLength {
                declared: 2,
                available: 1,
            },
            E::InvalidErrorReason { found: 0 },
            E::PingTooShort { found: 0 },
            E::ContextTooLong {
                pong: false,
                found: 17,
            },
            E::InvalidGroup {
                leave: false,
                reason: "r",
            },
            E::PlainHelloMalformed { reason: "r" },
            E::PlainWelcomeNotEmpty { found: 1 },
            E::CurveHelloVersion { major: 2, minor: 0 },
            E::CurveHelloPadding,
            E::PropertyNameEmpty { offset: 0 },
            E::PropertyNameOverrun { offset: 0 },
            E::InvalidPropertyName {
                offset: 0,
                found: 0,
            },
            E::PropertyValueOverrun { offset: 0 },
            E::PropertyValueTooLarge { length: u32::MAX },
            E::MechanismMismatch { peer: [0; 20] },
            E::UnexpectedCommand { name: "X".into() },
            E::HandshakeIncomplete,
            E::ErrorAfterMessage,
            E::NotASubscription { reason: "r" },
            E::SubscriptionWithMore,
        ];
        for null in [true, false] {
            all.push(E::AsServerMismatch {
                found: 0,
                expected: 1,
                null,
            });
            all.push(E::UnexpectedMessage { phase: "p", null });
        }
        for command in [C::Hello, C::Welcome, C::Initiate, C::Ready, C::Message] {
            all.push(E::CurveCommandSize { command, found: 0 });
        }
        all
    }

    /// Each requirement ID is written in three places: the message, [`DecodeError::requirement`]
    /// and [`DecodeError::REQUIREMENTS`]; they must agree.
    #[test]
    fn requirement_ids_agree() {
        let listed: BTreeSet<&str> = DecodeError::REQUIREMENTS.iter().copied().collect();
        assert_eq!(listed.len(), DecodeError::REQUIREMENTS.len(), "duplicates");
        let mut cited = BTreeSet::new();
        for e in samples() {
            let id = e.requirement();
            assert!(
                e.to_string().starts_with(&format!("[{id}] ")),
                "{}: message {e:?} does not start with [{id}]",
                e.kind()
            );
            assert!(
                listed.contains(id),
                "{}: {id} not in REQUIREMENTS",
                e.kind()
            );
            cited.insert(id);
        }
        assert_eq!(cited, listed, "REQUIREMENTS lists IDs no error cites");
    }

    /// Every decode result carries a `DecodeError`; keeping it small keeps results in
    /// registers (a 64-octet error made frame decoding 2.5x slower in `benches/decode.rs`).
    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<super::DecodeError>() <= 24);
    }
}
