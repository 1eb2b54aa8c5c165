//! Commands: the body of a frame with the COMMAND bit (spec/zmtp.md §5, `CMD-*`).
//!
//! ```text
//! command-body = command-name command-data
//! command-name = OCTET 1*255command-name-char     ; length (1..=255), then ALPHA
//! command-data = *OCTET                           ; to the end of the frame
//! ```
//!
//! One file per command, each with a `load` (from the command data) and an `encode_data`;
//! [`Command`] dispatches on the name and, where mechanisms reuse a name (HELLO, WELCOME,
//! INITIATE, READY), on the mechanism.

mod curve;
mod error;
mod ping;
mod plain;
mod radio;
mod ready;
mod subscribe;

pub use curve::{CurveHello, CurveInitiate, CurveMessage, CurveReady, CurveWelcome};
pub use error::ErrorCommand;
pub use ping::{MAX_CONTEXT_LEN, Ping, Pong};
pub use plain::{PlainHello, PlainInitiate, PlainWelcome};
pub use radio::{Join, Leave};
pub use ready::Ready;
pub use subscribe::{Cancel, Subscribe};

use crate::frame::{Flags, MAX_SHORT_SIZE};
use crate::{DecodeError, Frame, MechanismKind, Strictness};
use bytes::BufMut;

/// A command this codec does not know (or not for the current mechanism): kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unknown<'a> {
    /// The name octets.
    pub name: &'a [u8],
    /// The command data.
    pub data: &'a [u8],
}

/// A decoded command, borrowing from the frame body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command<'a> {
    /// READY with clear-text metadata (NULL, PLAIN).
    Ready(Ready<'a>),
    /// ERROR (any mechanism).
    Error(ErrorCommand<'a>),
    /// SUBSCRIBE (ZMTP 3.1).
    Subscribe(Subscribe<'a>),
    /// CANCEL (ZMTP 3.1).
    Cancel(Cancel<'a>),
    /// PING (ZMTP 3.1).
    Ping(Ping<'a>),
    /// PONG (ZMTP 3.1).
    Pong(Pong<'a>),
    /// JOIN (RADIO/DISH, draft).
    Join(Join<'a>),
    /// LEAVE (RADIO/DISH, draft).
    Leave(Leave<'a>),
    /// PLAIN HELLO.
    PlainHello(PlainHello<'a>),
    /// PLAIN WELCOME.
    PlainWelcome(PlainWelcome),
    /// PLAIN INITIATE.
    PlainInitiate(PlainInitiate<'a>),
    /// CURVE HELLO.
    CurveHello(CurveHello<'a>),
    /// CURVE WELCOME.
    CurveWelcome(CurveWelcome<'a>),
    /// CURVE INITIATE.
    CurveInitiate(CurveInitiate<'a>),
    /// CURVE READY.
    CurveReady(CurveReady<'a>),
    /// CURVE MESSAGE.
    CurveMessage(CurveMessage<'a>),
    /// Any other name.
    Unknown(Unknown<'a>),
}

/// Splits a command body into name and data (CMD-01, CMD-02, CMD-03).
pub fn split_name<'a>(
    body: &'a [u8],
    strictness: &Strictness,
) -> Result<(&'a [u8], &'a [u8]), DecodeError> {
    let (&name_len, rest) = body.split_first().ok_or(DecodeError::EmptyCommand)?;
    if name_len == 0 {
        return Err(DecodeError::CommandNameEmpty);
    }
    let (name, data) =
        rest.split_at_checked(usize::from(name_len))
            .ok_or(DecodeError::CommandNameOverrun {
                declared: usize::from(name_len),
                available: rest.len(),
            })?;
    if strictness.command_name_grammar
        && let Some(&found) = name.iter().find(|b| !b.is_ascii_alphabetic())
    {
        return Err(DecodeError::InvalidCommandName { found });
    }
    Ok((name, data))
}

impl<'a> Command<'a> {
    /// Reads a command from a frame body. Names compare case-sensitively (CMD-06).
    pub fn load(
        body: &'a [u8],
        mechanism: MechanismKind,
        strictness: &Strictness,
    ) -> Result<Self, DecodeError> {
        use MechanismKind::{Curve, Plain};
        let (name, data) = split_name(body, strictness)?;
        let s = strictness;
        Ok(match (name, mechanism) {
            (b"READY", Curve) => Command::CurveReady(CurveReady::load(data)?),
            (b"READY", _) => Command::Ready(Ready::load(data, s)?),
            (b"ERROR", _) => Command::Error(ErrorCommand::load(data, s)?),
            (b"SUBSCRIBE", _) => Command::Subscribe(Subscribe::load(data)?),
            (b"CANCEL", _) => Command::Cancel(Cancel::load(data)?),
            (b"PING", _) => Command::Ping(Ping::load(data, s)?),
            (b"PONG", _) => Command::Pong(Pong::load(data, s)?),
            (b"JOIN", _) => Command::Join(Join::load(data, s)?),
            (b"LEAVE", _) => Command::Leave(Leave::load(data, s)?),
            (b"HELLO", Plain) => Command::PlainHello(PlainHello::load(data)?),
            (b"WELCOME", Plain) => Command::PlainWelcome(PlainWelcome::load(data)?),
            (b"INITIATE", Plain) => Command::PlainInitiate(PlainInitiate::load(data, s)?),
            (b"HELLO", Curve) => Command::CurveHello(CurveHello::load(data, s)?),
            (b"WELCOME", Curve) => Command::CurveWelcome(CurveWelcome::load(data)?),
            (b"INITIATE", Curve) => Command::CurveInitiate(CurveInitiate::load(data)?),
            (b"MESSAGE", Curve) => Command::CurveMessage(CurveMessage::load(data)?),
            _ => Command::Unknown(Unknown { name, data }),
        })
    }

    /// Reads the command carried by `frame`, which must have the COMMAND bit.
    pub fn from_frame(
        frame: &Frame<'a>,
        mechanism: MechanismKind,
        strictness: &Strictness,
    ) -> Result<Self, DecodeError> {
        if !frame.is_command() {
            return Err(DecodeError::NotACommand {
                flags: frame.flags.0,
            });
        }
        Self::load(frame.body, mechanism, strictness)
    }

    /// The command name.
    pub fn name(&self) -> &'a [u8] {
        match self {
            Command::Ready(_) => Ready::NAME,
            Command::Error(_) => ErrorCommand::NAME,
            Command::Subscribe(_) => Subscribe::NAME,
            Command::Cancel(_) => Cancel::NAME,
            Command::Ping(_) => Ping::NAME,
            Command::Pong(_) => Pong::NAME,
            Command::Join(_) => Join::NAME,
            Command::Leave(_) => Leave::NAME,
            Command::PlainHello(_) => PlainHello::NAME,
            Command::PlainWelcome(_) => PlainWelcome::NAME,
            Command::PlainInitiate(_) => PlainInitiate::NAME,
            Command::CurveHello(_) => CurveHello::NAME,
            Command::CurveWelcome(_) => CurveWelcome::NAME,
            Command::CurveInitiate(_) => CurveInitiate::NAME,
            Command::CurveReady(_) => CurveReady::NAME,
            Command::CurveMessage(_) => CurveMessage::NAME,
            Command::Unknown(u) => u.name,
        }
    }

    /// Octets of command data (after the name).
    pub fn data_len(&self) -> usize {
        match self {
            Command::Ready(c) => c.data_len(),
            Command::Error(c) => c.data_len(),
            Command::Subscribe(c) => c.data_len(),
            Command::Cancel(c) => c.data_len(),
            Command::Ping(c) => c.data_len(),
            Command::Pong(c) => c.data_len(),
            Command::Join(c) => c.data_len(),
            Command::Leave(c) => c.data_len(),
            Command::PlainHello(c) => c.data_len(),
            Command::PlainWelcome(c) => c.data_len(),
            Command::PlainInitiate(c) => c.data_len(),
            Command::CurveHello(c) => c.data_len(),
            Command::CurveWelcome(c) => c.data_len(),
            Command::CurveInitiate(c) => c.data_len(),
            Command::CurveReady(c) => c.data_len(),
            Command::CurveMessage(c) => c.data_len(),
            Command::Unknown(u) => u.data.len(),
        }
    }

    /// Writes the command data (after the name).
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        match self {
            Command::Ready(c) => c.encode_data(dst),
            Command::Error(c) => c.encode_data(dst),
            Command::Subscribe(c) => c.encode_data(dst),
            Command::Cancel(c) => c.encode_data(dst),
            Command::Ping(c) => c.encode_data(dst),
            Command::Pong(c) => c.encode_data(dst),
            Command::Join(c) => c.encode_data(dst),
            Command::Leave(c) => c.encode_data(dst),
            Command::PlainHello(c) => c.encode_data(dst),
            Command::PlainWelcome(c) => c.encode_data(dst),
            Command::PlainInitiate(c) => c.encode_data(dst),
            Command::CurveHello(c) => c.encode_data(dst),
            Command::CurveWelcome(c) => c.encode_data(dst),
            Command::CurveInitiate(c) => c.encode_data(dst),
            Command::CurveReady(c) => c.encode_data(dst),
            Command::CurveMessage(c) => c.encode_data(dst),
            Command::Unknown(u) => dst.put_slice(u.data),
        }
    }

    /// Octets of the command body: name length, name, data. Names over 255 octets are cut.
    pub fn body_len(&self) -> usize {
        1 + self.name().len().min(255) + self.data_len()
    }

    /// Writes the command body: name length, name, data.
    pub fn encode_body(&self, dst: &mut impl BufMut) {
        let name = self.name();
        let name = name.get(..255).unwrap_or(name);
        dst.put_u8(name.len() as u8);
        dst.put_slice(name);
        self.encode_data(dst);
    }

    /// Writes the whole command frame with the minimal size encoding (CMD-04).
    pub fn encode(&self, dst: &mut impl BufMut) {
        let len = self.body_len();
        if len > MAX_SHORT_SIZE {
            dst.put_u8(Flags::COMMAND | Flags::LONG);
            dst.put_u64(len as u64);
        } else {
            dst.put_u8(Flags::COMMAND);
            dst.put_u8(len as u8);
        }
        self.encode_body(dst);
    }

    /// The whole command frame in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body_len() + 9);
        self.encode(&mut out);
        out
    }

    /// The command body in a new vector (to wrap in a hand-built frame).
    pub fn body_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body_len());
        self.encode_body(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metadata;

    const S: Strictness = Strictness::STRICT;

    #[test]
    fn ready_matches_the_rfc_example() {
        // DEALER READY as libzmq sends it (Socket-Type and an empty Identity).
        let wire = b"\x04\x29\x05READY\x0bSocket-Type\0\0\0\x06DEALER\x08Identity\0\0\0\0";
        let mut md = Vec::new();
        Metadata::encode(
            [
                crate::Property {
                    name: b"Socket-Type",
                    value: b"DEALER",
                },
                crate::Property {
                    name: b"Identity",
                    value: b"",
                },
            ],
            &mut md,
        );
        let ready = Command::Ready(Ready {
            metadata: Metadata::load(&md, &S).unwrap(),
        });
        assert_eq!(ready.to_vec(), wire);
        let back = Command::load(&wire[2..], MechanismKind::Null, &S).unwrap();
        assert_eq!(back, ready);
    }

    #[test]
    fn mechanism_selects_the_layout() {
        let body = b"\x05HELLO\x05admin\x06secret";
        assert_eq!(
            Command::load(body, MechanismKind::Plain, &S).unwrap(),
            Command::PlainHello(PlainHello {
                username: b"admin",
                password: b"secret"
            })
        );
        assert!(matches!(
            Command::load(body, MechanismKind::Null, &S).unwrap(),
            Command::Unknown(_)
        ));
        assert_eq!(
            Command::load(body, MechanismKind::Curve, &S),
            Err(DecodeError::CurveCommandSize {
                command: crate::CurveCommandKind::Hello,
                found: 19
            })
        );
    }

    #[test]
    fn name_length_lies() {
        assert_eq!(
            Command::load(b"", MechanismKind::Null, &S),
            Err(DecodeError::EmptyCommand)
        );
        assert_eq!(
            Command::load(b"\x09PING", MechanismKind::Null, &S),
            Err(DecodeError::CommandNameOverrun {
                declared: 9,
                available: 4
            })
        );
    }
}
