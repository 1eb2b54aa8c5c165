//! SUBSCRIBE and CANCEL: ZMTP 3.1 subscription commands (spec/zmtp.md §12, `SUBW-*`).
//!
//! ```text
//! subscribe = command-size %d9 "SUBSCRIBE" subscription
//! cancel    = command-size %d6 "CANCEL" subscription
//! subscription = *OCTET                     ; the topic prefix, to the end of the body
//! ```

use crate::DecodeError;
use bytes::BufMut;

/// SUBSCRIBE: start receiving messages whose first frame starts with `topic` (SUBW-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subscribe<'a> {
    /// The prefix; empty matches every message.
    pub topic: &'a [u8],
}

/// CANCEL: undo one earlier SUBSCRIBE of the same topic (SUBW-02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cancel<'a> {
    /// The prefix to cancel.
    pub topic: &'a [u8],
}

impl<'a> Subscribe<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"SUBSCRIBE";

    /// Reads the command data: all of it is the topic.
    pub fn load(data: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(Subscribe { topic: data })
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        self.topic.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.topic);
    }
}

impl<'a> Cancel<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"CANCEL";

    /// Reads the command data: all of it is the topic.
    pub fn load(data: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(Cancel { topic: data })
    }

    /// Octets of command data.
    pub fn data_len(&self) -> usize {
        self.topic.len()
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.topic);
    }
}
