//! READY (NULL and PLAIN): the sender's metadata (spec/zmtp.md §8, `NULL-*`, `PLAIN-*`).
//!
//! ```text
//! ready = command-size %d5 "READY" metadata
//! ```

use crate::{DecodeError, Metadata, Strictness};
use bytes::BufMut;

/// READY carrying metadata in clear text (NULL, PLAIN). CURVE's READY is
/// [`super::CurveReady`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ready<'a> {
    /// The sender's properties.
    pub metadata: Metadata<'a>,
}

impl<'a> Ready<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"READY";

    /// Reads the command data (everything after the name).
    pub fn load(data: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        Ok(Ready {
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
