//! A zero-copy, sans-IO codec for the ZeroMQ Message Transport Protocol (ZMTP 3.x).
//!
//! Every decoded value borrows from the input; nothing is allocated for a frame body, however
//! large its declared size. No input makes this crate panic. Each decode error names the
//! requirement of `spec/zmtp.md` it enforces.
//!
//! | wire item | type | spec |
//! |---|---|---|
//! | first octets of a peer | [`detect_peer`], [`PeerVersion`] | §3 `COMPAT-*` |
//! | 64-octet greeting | [`Greeting`], [`Version`], [`Mechanism`] | §2 `GREET-*` |
//! | frame | [`Frame`], [`Flags`] | §4 `FRAME-*` |
//! | command | [`Command`] and one type per command in [`command`] | §5 `CMD-*` ... |
//! | metadata | [`Metadata`], [`Property`] | §6 `META-*` |
//! | subscription (3.0 message / 3.1 command) | [`Subscription`] | §12 `SUBW-*` |
//! | a stream of the above | [`Decoder`], [`StreamDecoder`] | |
//! | deliberate misbehaviour | [`RawFrame`] | |
//!
//! Receivers differ where the spec leaves the choice open; [`Profile::Strict`] reads the
//! spec as written, [`Profile::Lenient`] accepts what libzmq accepts.
//!
//! ```
//! use zmtp_codec::{Command, Config, Decoder, Item, MechanismKind, Profile, Status};
//!
//! let wire = b"\x04\x09\x04PONGctx1";
//! let mut decoder = Decoder::frames(Config::new(Profile::Strict));
//! let Ok(Status::Done(Item::Frame(frame), used)) = decoder.decode(wire) else { panic!() };
//! assert_eq!(used, wire.len());
//! let cmd = Command::from_frame(&frame, MechanismKind::Null, &Profile::Strict.strictness());
//! assert!(matches!(cmd, Ok(Command::Pong(p)) if p.context == b"ctx1"));
//! ```

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

#[cfg(feature = "arbitrary")]
mod arbitrary_impls;
pub mod command;
mod decoder;
mod detect;
mod encoder;
mod error;
mod frame;
mod greeting;
#[cfg(feature = "serde")]
pub mod json;
mod metadata;
mod parse;
mod profile;
pub mod session;
mod subscription;
pub mod text;

pub use command::Command;
pub use decoder::{Decoder, Item, StreamDecoder};
pub use detect::{PeerVersion, detect_peer};
pub use encoder::{RawFrame, SizeField};
pub use error::{CurveCommandKind, DecodeError, StreamError};
pub use frame::{Flags, Frame, MAX_LONG_SIZE, MAX_SHORT_SIZE};
pub use greeting::{
    GREETING_LEN, Greeting, Mechanism, MechanismKind, SIGNATURE_LEN, Version, ZERO_FILLER,
    ZERO_PADDING, pad_mechanism,
};
pub use metadata::{
    IDENTITY, MAX_VALUE_LEN, Metadata, Properties, Property, RESOURCE, SOCKET_TYPE,
};
pub use parse::Status;
pub use profile::{Config, Profile, Strictness};
pub use subscription::{Subscription, SubscriptionAction, SubscriptionForm};
