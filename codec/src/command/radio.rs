//! JOIN and LEAVE: RADIO/DISH group membership (ZMTP 3.1 draft, spec/zmtp.md §12,
//! `RADIO-*`).
//!
//! ```text
//! join  = command-size %d4 "JOIN" group
//! leave = command-size %d5 "LEAVE" group
//! group = 0*255group-char                   ; group-char = %d1-255
//! ```

use crate::{DecodeError, Strictness};
use bytes::BufMut;

/// JOIN: a DISH asks to receive a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Join<'a> {
    /// The group name.
    pub group: &'a [u8],
}

/// LEAVE: a DISH stops receiving a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leave<'a> {
    /// The group name.
    pub group: &'a [u8],
}

fn check_group(leave: bool, group: &[u8], strictness: &Strictness) -> Result<(), DecodeError> {
    if !strictness.group_grammar {
        return Ok(());
    }
    if group.len() > 255 {
        return Err(DecodeError::InvalidGroup {
            leave,
            reason: "longer than 255 octets",
        });
    }
    if group.contains(&0) {
        return Err(DecodeError::InvalidGroup {
            leave,
            reason: "contains a zero octet",
        });
    }
    Ok(())
}

impl<'a> Join<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"JOIN";

    /// Reads the command data: all of it is the group.
    pub fn load(data: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        check_group(false, data, strictness)?;
        Ok(Join { group: data })
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        self.group.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.group);
    }
}

impl<'a> Leave<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"LEAVE";

    /// Reads the command data: all of it is the group.
    pub fn load(data: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        check_group(true, data, strictness)?;
        Ok(Leave { group: data })
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        self.group.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.group);
    }
}
