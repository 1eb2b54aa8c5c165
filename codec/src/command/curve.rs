//! CURVE mechanism command layouts (RFC 25/26; spec/zmtp.md §11, `CURVE-*`).
//!
//! Layout only: the boxes are carried as opaque octets; nothing here does cryptography.
//!
//! ```text
//! HELLO    (200)  version(2)=1,0  padding(72)=0  C'(32)  nonce(8)  box(80)
//! WELCOME  (168)  nonce(16)  box(144)
//! INITIATE (>=257) cookie(96)  nonce(8)  box(>=144)
//! READY    (>=30) nonce(8)  box(>=16)
//! MESSAGE  (>=33) nonce(8)  box(>=17)
//! ```
//! Sizes are of the whole command body, name included.

use crate::error::CurveCommandKind;
use crate::{DecodeError, Strictness};
use bytes::BufMut;

/// Takes a fixed-size array reference off the front of `input`.
fn take_array<'a, const N: usize>(input: &mut &'a [u8]) -> Option<&'a [u8; N]> {
    let (head, rest) = input.split_first_chunk::<N>()?;
    *input = rest;
    Some(head)
}

fn size_error(command: CurveCommandKind, data: &[u8]) -> DecodeError {
    DecodeError::CurveCommandSize {
        command,
        found: 1 + command.name().len() + data.len(),
    }
}

/// CURVE HELLO: the client's transient public key and a proof it knows the server's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurveHello<'a> {
    /// Major version (1).
    pub major: u8,
    /// Minor version (0).
    pub minor: u8,
    /// Anti-amplification padding, zero.
    pub padding: &'a [u8; 72],
    /// The client's transient public key C'.
    pub client_transient_key: &'a [u8; 32],
    /// Short nonce.
    pub nonce: &'a [u8; 8],
    /// Box[64 zero octets](C' -> S).
    pub signature_box: &'a [u8; 80],
}

impl<'a> CurveHello<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"HELLO";
    /// Size of the whole command body.
    pub const BODY_LEN: usize = 200;

    /// Reads the command data.
    pub fn load(mut data: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        let err = size_error(CurveCommandKind::Hello, data);
        if data.len() != Self::BODY_LEN - 1 - Self::NAME.len() {
            return Err(err);
        }
        let input = &mut data;
        let (Some(&[major, minor]), Some(padding), Some(key), Some(nonce), Some(signature_box)) = (
            take_array::<2>(input),
            take_array::<72>(input),
            take_array::<32>(input),
            take_array::<8>(input),
            take_array::<80>(input),
        ) else {
            return Err(err);
        };
        if (major, minor) != (1, 0) {
            return Err(DecodeError::CurveHelloVersion { major, minor });
        }
        if strictness.curve_padding && padding.iter().any(|&b| b != 0) {
            return Err(DecodeError::CurveHelloPadding);
        }
        Ok(CurveHello {
            major,
            minor,
            padding,
            client_transient_key: key,
            nonce,
            signature_box,
        })
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        Self::BODY_LEN - 1 - Self::NAME.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_u8(self.major);
        dst.put_u8(self.minor);
        dst.put_slice(self.padding);
        dst.put_slice(self.client_transient_key);
        dst.put_slice(self.nonce);
        dst.put_slice(self.signature_box);
    }
}

/// CURVE WELCOME: the server's transient key and cookie, boxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurveWelcome<'a> {
    /// Long nonce.
    pub nonce: &'a [u8; 16],
    /// Box[S' + cookie](S -> C').
    pub ciphertext: &'a [u8; 144],
}

impl<'a> CurveWelcome<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"WELCOME";
    /// Size of the whole command body.
    pub const BODY_LEN: usize = 168;

    /// Reads the command data.
    pub fn load(mut data: &'a [u8]) -> Result<Self, DecodeError> {
        let err = size_error(CurveCommandKind::Welcome, data);
        if data.len() != Self::BODY_LEN - 1 - Self::NAME.len() {
            return Err(err);
        }
        let input = &mut data;
        match (take_array::<16>(input), take_array::<144>(input)) {
            (Some(nonce), Some(ciphertext)) => Ok(CurveWelcome { nonce, ciphertext }),
            _ => Err(err),
        }
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        Self::BODY_LEN - 1 - Self::NAME.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.nonce);
        dst.put_slice(self.ciphertext);
    }
}

/// CURVE INITIATE: the cookie back, and the client's vouch and metadata, boxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurveInitiate<'a> {
    /// The server's cookie, returned.
    pub cookie: &'a [u8; 96],
    /// Short nonce.
    pub nonce: &'a [u8; 8],
    /// Box[C + vouch + metadata](C' -> S'), at least 144 octets.
    pub ciphertext: &'a [u8],
}

impl<'a> CurveInitiate<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"INITIATE";
    /// Smallest size of the whole command body.
    pub const MIN_BODY_LEN: usize = 257;

    /// Reads the command data.
    pub fn load(mut data: &'a [u8]) -> Result<Self, DecodeError> {
        let err = size_error(CurveCommandKind::Initiate, data);
        if data.len() < Self::MIN_BODY_LEN - 1 - Self::NAME.len() {
            return Err(err);
        }
        let input = &mut data;
        match (take_array::<96>(input), take_array::<8>(input)) {
            (Some(cookie), Some(nonce)) => Ok(CurveInitiate {
                cookie,
                nonce,
                ciphertext: input,
            }),
            _ => Err(err),
        }
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        96 + 8 + self.ciphertext.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.cookie);
        dst.put_slice(self.nonce);
        dst.put_slice(self.ciphertext);
    }
}

/// CURVE READY: the server's metadata, boxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurveReady<'a> {
    /// Short nonce.
    pub nonce: &'a [u8; 8],
    /// Box[metadata](S' -> C'), at least 16 octets.
    pub ciphertext: &'a [u8],
}

impl<'a> CurveReady<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"READY";
    /// Smallest size of the whole command body.
    pub const MIN_BODY_LEN: usize = 30;

    /// Reads the command data.
    pub fn load(mut data: &'a [u8]) -> Result<Self, DecodeError> {
        let err = size_error(CurveCommandKind::Ready, data);
        if data.len() < Self::MIN_BODY_LEN - 1 - Self::NAME.len() {
            return Err(err);
        }
        let input = &mut data;
        match take_array::<8>(input) {
            Some(nonce) => Ok(CurveReady {
                nonce,
                ciphertext: input,
            }),
            None => Err(err),
        }
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        8 + self.ciphertext.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.nonce);
        dst.put_slice(self.ciphertext);
    }
}

/// CURVE MESSAGE: one encrypted message frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurveMessage<'a> {
    /// Short nonce.
    pub nonce: &'a [u8; 8],
    /// Box[flags + payload], at least 17 octets.
    pub ciphertext: &'a [u8],
}

impl<'a> CurveMessage<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"MESSAGE";
    /// Smallest size of the whole command body.
    pub const MIN_BODY_LEN: usize = 33;

    /// Reads the command data.
    pub fn load(mut data: &'a [u8]) -> Result<Self, DecodeError> {
        let err = size_error(CurveCommandKind::Message, data);
        if data.len() < Self::MIN_BODY_LEN - 1 - Self::NAME.len() {
            return Err(err);
        }
        let input = &mut data;
        match take_array::<8>(input) {
            Some(nonce) => Ok(CurveMessage {
                nonce,
                ciphertext: input,
            }),
            None => Err(err),
        }
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        8 + self.ciphertext.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.nonce);
        dst.put_slice(self.ciphertext);
    }
}
