//! How strictly the decoder reads its input, and the limits it enforces.
//!
//! The spec leaves the receiver's action open in several places (see "Errata and decisions" in
//! `spec/zmtp.md`). Each such choice is a [`Strictness`] knob; the two named [`Profile`]s set
//! them all at once: [`Profile::Strict`] reads the spec as written, [`Profile::Lenient`] accepts
//! what libzmq 4.3 accepts.

/// A named preset of [`Strictness`] knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Profile {
    /// The spec as written: anything outside the grammar is rejected.
    #[default]
    Strict,
    /// What libzmq 4.3 accepts on the wire.
    Lenient,
}

impl Profile {
    /// The knobs of this profile.
    pub const fn strictness(self) -> Strictness {
        match self {
            Profile::Strict => Strictness::STRICT,
            Profile::Lenient => Strictness::LENIENT,
        }
    }
}

/// Individual receiver choices the spec leaves open. `true` means "reject".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Strictness {
    /// Reject a frame with any of flag bits 7..3 set (FRAME-03).
    pub reserved_flags: bool,
    /// Reject a command frame with MORE set (FRAME-07).
    pub more_on_command: bool,
    /// Reject a signature whose octet 9 is not exactly 0x7F; otherwise only its low bit is
    /// read (GREET-03, COMPAT-02).
    pub signature_end: bool,
    /// Reject a mechanism field outside the grammar: lower case, punctuation, text after NUL
    /// (GREET-07).
    pub mechanism_grammar: bool,
    /// Reject an as-server octet other than 0 or 1 (GREET-08).
    pub as_server_grammar: bool,
    /// Reject a greeting whose filler is not all zero (GREET-09).
    pub filler_zero: bool,
    /// Reject a command name containing non-letters (CMD-03).
    pub command_name_grammar: bool,
    /// Reject a property name of length zero (META-02).
    pub empty_property_name: bool,
    /// Reject a property name outside ALPHA / DIGIT / `-_.+` (META-03).
    pub property_name_grammar: bool,
    /// Reject an ERROR reason containing non-printable octets (ERR-02).
    pub error_reason_grammar: bool,
    /// Reject a PING or PONG context over 16 octets; otherwise it is kept and a reply
    /// echoes only its first 16 octets (HB-02, HB-03).
    pub context_over_16: bool,
    /// Reject a JOIN/LEAVE group with a zero octet (RADIO-01).
    pub group_grammar: bool,
    /// Reject a CURVE HELLO whose padding is not all zero (CURVE-03).
    pub curve_padding: bool,
    /// Reject a ZMTP 3.0 subscription message with MORE set (SUBW-07).
    pub subscription_more: bool,
    /// Reject a handshake command carried in a message frame (COMMAND bit clear, NULL-07); libzmq
    /// reads READY without looking at the bit (NULL-07).
    pub command_bit_in_handshake: bool,
    /// After the handshake, close on a command whose body is malformed (CMD-09); otherwise it
    /// is ignored, as libzmq does.
    pub malformed_command: bool,
    /// Reject a greeting whose as-server octet does not fit the mechanism's roles: 0 for
    /// NULL, 1 from a PLAIN or CURVE server, 0 from a client (NULL-01, MECH-06); libzmq
    /// never reads it.
    pub as_server_role: bool,
}

impl Strictness {
    /// The spec as written.
    pub const STRICT: Strictness = Strictness {
        reserved_flags: true,
        more_on_command: true,
        signature_end: true,
        mechanism_grammar: true,
        as_server_grammar: true,
        filler_zero: true,
        command_name_grammar: true,
        empty_property_name: true,
        property_name_grammar: true,
        error_reason_grammar: true,
        context_over_16: true,
        group_grammar: true,
        curve_padding: true,
        subscription_more: true,
        command_bit_in_handshake: true,
        malformed_command: true,
        as_server_role: true,
    };

    /// What libzmq 4.3 accepts.
    pub const LENIENT: Strictness = Strictness {
        reserved_flags: false,
        more_on_command: false,
        signature_end: false,
        mechanism_grammar: false,
        as_server_grammar: false,
        filler_zero: false,
        command_name_grammar: false,
        empty_property_name: false,
        property_name_grammar: false,
        error_reason_grammar: false,
        context_over_16: false,
        group_grammar: false,
        curve_padding: false,
        subscription_more: false,
        command_bit_in_handshake: false,
        malformed_command: false,
        as_server_role: false,
    };
}

impl Default for Strictness {
    fn default() -> Self {
        Self::STRICT
    }
}

impl From<Profile> for Strictness {
    fn from(profile: Profile) -> Self {
        profile.strictness()
    }
}

/// Everything that parameterises decoding: the strictness knobs and the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Config {
    /// Which inputs to reject.
    pub strictness: Strictness,
    /// The largest frame body accepted, in octets; checked on the declared size, before any
    /// body octet is read (FRAME-10). `None` means no limit beyond 2^63-1.
    pub max_frame_size: Option<u64>,
}

impl Config {
    /// A configuration with the knobs of `profile` and no size limit.
    pub const fn new(profile: Profile) -> Self {
        Config {
            strictness: profile.strictness(),
            max_frame_size: None,
        }
    }

    /// The same configuration with a maximum frame size.
    pub const fn with_max_frame_size(mut self, max: u64) -> Self {
        self.max_frame_size = Some(max);
        self
    }
}

impl From<Profile> for Config {
    fn from(profile: Profile) -> Self {
        Config::new(profile)
    }
}
