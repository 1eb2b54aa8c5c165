//! Writing octets the spec forbids, on purpose.
//!
//! The value types ([`crate::Greeting`], [`crate::Frame`], [`crate::Command`],
//! [`crate::Metadata`], [`crate::Subscription`]) each encode themselves minimally and
//! correctly. A conformance harness must also misbehave: [`RawFrame`] writes any flags octet
//! with any declared size in any size form, so a test can send reserved bits, MORE on a
//! command, a long size for a tiny body, or a size that lies about the body that follows.

use bytes::BufMut;

/// How the size field of a [`RawFrame`] is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SizeField {
    /// 1 octet if the flags lack LONG, else 8; the value is the body length (cut to 255 in
    /// a short field).
    Honest,
    /// One octet with this value, whatever the body and flags say.
    Short(u8),
    /// Eight octets with this value, whatever the body and flags say.
    Long(u64),
}

/// A frame written exactly as described, legal or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawFrame<'a> {
    /// The flags octet, sent verbatim (LONG included or not, as given).
    pub flags: u8,
    /// The size field.
    pub size: SizeField,
    /// The body octets actually sent after the header.
    pub body: &'a [u8],
}

impl<'a> RawFrame<'a> {
    /// A frame with the given flags octet and an honest size in the form the flags select.
    pub fn new(flags: u8, body: &'a [u8]) -> Self {
        RawFrame {
            flags,
            size: SizeField::Honest,
            body,
        }
    }

    /// The same frame with a declared size that may lie.
    pub fn with_size(mut self, size: SizeField) -> Self {
        self.size = size;
        self
    }

    /// Octets written by [`RawFrame::encode`].
    pub fn encoded_len(&self) -> usize {
        let header = match self.size {
            SizeField::Honest if self.flags & crate::Flags::LONG != 0 => 9,
            SizeField::Honest | SizeField::Short(_) => 2,
            SizeField::Long(_) => 9,
        };
        header + self.body.len()
    }

    /// Writes the frame.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_u8(self.flags);
        match self.size {
            SizeField::Honest if self.flags & crate::Flags::LONG != 0 => {
                dst.put_u64(self.body.len() as u64)
            }
            SizeField::Honest => dst.put_u8(self.body.len().min(255) as u8),
            SizeField::Short(n) => dst.put_u8(n),
            SizeField::Long(n) => dst.put_u64(n),
        }
        dst.put_slice(self.body);
    }

    /// The frame's octets in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lies() {
        assert_eq!(
            RawFrame::new(0x05, b"\x04PING\0\0").to_vec(),
            b"\x05\x07\x04PING\0\0"
        );
        assert_eq!(
            RawFrame::new(0x02, b"abc").to_vec(),
            b"\x02\0\0\0\0\0\0\0\x03abc"
        );
        assert_eq!(
            RawFrame::new(0x02, b"")
                .with_size(SizeField::Long(u64::MAX))
                .to_vec(),
            b"\x02\xff\xff\xff\xff\xff\xff\xff\xff"
        );
    }
}
