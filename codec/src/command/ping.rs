//! PING and PONG: ZMTP 3.1 heartbeats (spec/zmtp.md §13, `HB-*`).
//!
//! ```text
//! ping = command-size %d4 "PING" ping-ttl ping-context
//! ping-ttl = 2OCTET                         ; deciseconds, u16 BE, 0 = none
//! ping-context = 0*16OCTET
//! pong = command-size %d4 "PONG" ping-context
//! ```

use crate::{DecodeError, Strictness};
use bytes::BufMut;
use nom::number::complete::be_u16;

/// Longest context a PING or PONG may carry (HB-02).
pub const MAX_CONTEXT_LEN: usize = 16;

/// PING: asks the peer for a PONG echoing `context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ping<'a> {
    /// Time-to-live hint in deciseconds: close if nothing arrives within it (0 = none).
    pub ttl: u16,
    /// Opaque context to echo.
    pub context: &'a [u8],
}

/// PONG: the answer to a PING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pong<'a> {
    /// The PING's context, echoed.
    pub context: &'a [u8],
}

fn check_context(pong: bool, context: &[u8], strictness: &Strictness) -> Result<(), DecodeError> {
    if strictness.context_over_16 && context.len() > MAX_CONTEXT_LEN {
        return Err(DecodeError::ContextTooLong {
            pong,
            found: context.len(),
        });
    }
    Ok(())
}

impl<'a> Ping<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"PING";

    /// Reads the command data: a 2-octet TTL, then the context.
    pub fn load(data: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        let Ok((context, ttl)) = be_u16::<_, ()>(data) else {
            return Err(DecodeError::PingTooShort { found: data.len() });
        };
        check_context(false, context, strictness)?;
        Ok(Ping { ttl, context })
    }

    /// The TTL in milliseconds.
    pub fn ttl_millis(&self) -> u32 {
        u32::from(self.ttl) * 100
    }

    /// The PONG that answers this PING: the context, cut to 16 octets (HB-03).
    pub fn pong(&self) -> Pong<'a> {
        Pong {
            context: self.context.get(..MAX_CONTEXT_LEN).unwrap_or(self.context),
        }
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        2 + self.context.len()
    }

    /// Writes the command data (the context as given, even over 16 octets).
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_u16(self.ttl);
        dst.put_slice(self.context);
    }
}

impl<'a> Pong<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"PONG";

    /// Reads the command data: all of it is the context.
    pub fn load(data: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        check_context(true, data, strictness)?;
        Ok(Pong { context: data })
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        self.context.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.context);
    }
}
