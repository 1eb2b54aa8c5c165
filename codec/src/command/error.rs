//! ERROR: a fatal refusal with a reason (spec/zmtp.md §9, `ERR-*`).
//!
//! ```text
//! error = command-size %d5 "ERROR" error-reason
//! error-reason = OCTET 0*255reason-char      ; length, then printable ASCII
//! ```

use crate::{DecodeError, Strictness};
use bytes::BufMut;

/// An ERROR command. Receiving one is fatal for the connection (ERR-03).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCommand<'a> {
    /// The reason text, for logging only (it carries no defined meaning).
    pub reason: &'a [u8],
}

impl<'a> ErrorCommand<'a> {
    /// The command name.
    pub const NAME: &'static [u8] = b"ERROR";

    /// Reads the command data.
    ///
    /// The reason length must match the rest of the body exactly; with a lenient
    /// [`Strictness`] octets after the reason are ignored, and any octet is allowed in it.
    pub fn load(data: &'a [u8], strictness: &Strictness) -> Result<Self, DecodeError> {
        let Some((&len, rest)) = data.split_first() else {
            return Err(DecodeError::ErrorReasonLength {
                declared: 0,
                available: 0,
            });
        };
        let declared = usize::from(len);
        let exact = rest.len() == declared;
        let Some(reason) = rest
            .get(..declared)
            .filter(|_| exact || !strictness.error_reason_grammar)
        else {
            return Err(DecodeError::ErrorReasonLength {
                declared,
                available: rest.len(),
            });
        };
        if strictness.error_reason_grammar
            && let Some(&found) = reason.iter().find(|&&b| !(0x20..=0x7E).contains(&b))
        {
            return Err(DecodeError::InvalidErrorReason { found });
        }
        Ok(ErrorCommand { reason })
    }

    /// Octets of command data (reasons over 255 octets are cut to 255).
    pub fn data_len(&self) -> usize {
        1 + self.reason.len().min(255)
    }

    /// Writes the command data.
    pub fn encode_data(&self, dst: &mut impl BufMut) {
        let reason = self.reason.get(..255).unwrap_or(self.reason);
        dst.put_u8(reason.len() as u8);
        dst.put_slice(reason);
    }
}
