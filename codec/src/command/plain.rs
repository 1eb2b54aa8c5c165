//! PLAIN mechanism commands (RFC 24; spec/zmtp.md §10, `PLAIN-*`).
//!
//! ```text
//! hello    = command-size %d5 "HELLO" username password
//! username = OCTET *OCTET                   ; length, then that many octets
//! password = OCTET *OCTET
//! welcome  = command-size %d7 "WELCOME"     ; no data
//! initiate = command-size %d8 "INITIATE" metadata
//! ready    = command-size %d5 "READY" metadata (see `Ready`)
//! ```

use crate::{DecodeError, Metadata, Strictness};
use bytes::BufMut;

/// PLAIN HELLO: the client's credentials, in clear text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlainHello<'a> {
    /// User name (0..=255 octets).
    pub username: &'a [u8],
    /// Password (0..=255 octets).
    pub password: &'a [u8],
}

/// PLAIN WELCOME: the server accepts the credentials. It carries no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlainWelcome;

/// PLAIN INITIATE: the client's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlainInitiate<'a> {
    /// The client's properties.
    pub metadata: Metadata<'a>,
}

impl<'a> PlainHello<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"HELLO";

    /// Reads the command data; the two length-prefixed fields must fill it exactly.
    pub fn load(data: &'a [u8]) -> Result<Self, DecodeError> {
        let malformed = |reason| DecodeError::PlainHelloMalformed { reason };
        let (&ulen, rest) = data.split_first().ok_or(malformed("no username length"))?;
        let (username, rest) = rest
            .split_at_checked(usize::from(ulen))
            .ok_or(malformed("username length overruns the body"))?;
        let (&plen, rest) = rest.split_first().ok_or(malformed("no password length"))?;
        let (password, rest) = rest
            .split_at_checked(usize::from(plen))
            .ok_or(malformed("password length overruns the body"))?;
        if !rest.is_empty() {
            return Err(malformed("octets after the password"));
        }
        Ok(PlainHello { username, password })
    }

    /// Octets of command data (fields over 255 octets are cut to 255).
    pub fn data_len(&self) -> usize {
        2 + self.username.len().min(255) + self.password.len().min(255)
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        for field in [self.username, self.password] {
            let field = field.get(..255).unwrap_or(field);
            dst.put_u8(field.len() as u8);
            dst.put_slice(field);
        }
    }
}

impl PlainWelcome {
    /// The command name.
    pub const NAME: &'static [u8] = b"WELCOME";

    /// Reads the command data, which must be empty.
    pub fn load(data: &[u8]) -> Result<Self, DecodeError> {
        if data.is_empty() {
            Ok(PlainWelcome)
        } else {
            Err(DecodeError::PlainWelcomeNotEmpty { found: data.len() })
        }
    }

    /// Octets of command data: none.
    pub fn data_len(&self) -> usize {
        0
    }

    /// Writes the command data: nothing.
    pub fn encode_data(&self, _dst: &mut impl BufMut) {}
}

impl<'a> PlainInitiate<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"INITIATE";

    /// Reads the command data: a property list.
    pub fn load(data: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        Ok(PlainInitiate {
            metadata: Metadata::load(data, strictness)?,
        })
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        self.metadata.raw().len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.metadata.raw());
    }
}
