//! Classifying a peer from the first octets it sends (spec/zmtp.md §3, `COMPAT-01..03`).
//!
//! A ZMTP 1.0 peer has no greeting: its first octets are an identity frame. A ZMTP 2.0 peer
//! sends a 10-octet signature, then a revision octet of 1 (or 0, an early draft). A ZMTP 3.x
//! peer sends the signature and a major version of 3 or more.

use crate::parse::Status;
use std::fmt;

/// Which protocol generation a peer speaks, as far as its first octets tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum PeerVersion {
    /// ZMTP 1.0 (RFC 13): no signature, or a signature whose octet 9 has its low bit clear.
    Zmtp10,
    /// ZMTP 2.0 (RFC 15): signature, then revision 1 (or 0, or 2).
    Zmtp20 {
        /// The revision octet (octet 10).
        revision: u8,
    },
    /// ZMTP 3.x or later: signature, then a major version of 3 or more.
    Zmtp3 {
        /// The major version octet (octet 10).
        major: u8,
    },
}

impl fmt::Display for PeerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerVersion::Zmtp10 => f.write_str("ZMTP/1.0"),
            PeerVersion::Zmtp20 { revision } => write!(f, "ZMTP/2.0 (revision {revision})"),
            PeerVersion::Zmtp3 { major } => write!(f, "ZMTP {major}.x"),
        }
    }
}

/// Classifies a peer from the start of what it sent, reading as few octets as the detection
/// algorithm allows: 1 octet for a ZMTP 1.0 short identity, 10 for a 1.0 long identity, 11
/// otherwise. [`Status::Done`] carries how many octets were examined (none are consumed: the
/// caller goes on to parse the greeting or the identity frame from the same octets).
pub fn detect_peer(input: &[u8]) -> Status<PeerVersion> {
    // COMPAT-01: a first octet other than 0xFF is the length of a ZMTP 1.0 identity frame.
    match input.first() {
        None => return Status::NeedMore(1),
        Some(&first) if first != 0xFF => return Status::Done(PeerVersion::Zmtp10, 1),
        Some(_) => {}
    }
    // COMPAT-02: octet 9 with its low bit clear is the flags octet of a 1.0 identity frame.
    match input.get(9) {
        None => return Status::NeedMore(10 - input.len()),
        Some(&end) if end & 1 == 0 => return Status::Done(PeerVersion::Zmtp10, 10),
        Some(_) => {}
    }
    // COMPAT-03: octet 10 is the revision (2.0) or the major version (3.x).
    match input.get(10) {
        None => Status::NeedMore(1),
        Some(&v) if v < 3 => Status::Done(PeerVersion::Zmtp20 { revision: v }, 11),
        Some(&major) => Status::Done(PeerVersion::Zmtp3 { major }, 11),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(detect_peer(b""), Status::NeedMore(1));
        assert_eq!(
            detect_peer(b"\x01\x00"),
            Status::Done(PeerVersion::Zmtp10, 1)
        );
        assert_eq!(detect_peer(b"\xff\0\0"), Status::NeedMore(7));
        assert_eq!(
            detect_peer(b"\xff\0\0\0\0\0\0\0\x01\x00"),
            Status::Done(PeerVersion::Zmtp10, 10)
        );
        assert_eq!(
            detect_peer(b"\xff\0\0\0\0\0\0\0\x01\x7f"),
            Status::NeedMore(1)
        );
        assert_eq!(
            detect_peer(b"\xff\0\0\0\0\0\0\0\x01\x7f\x01"),
            Status::Done(PeerVersion::Zmtp20 { revision: 1 }, 11)
        );
        assert_eq!(
            detect_peer(b"\xff\0\0\0\0\0\0\0\x01\x7f\x04\x00"),
            Status::Done(PeerVersion::Zmtp3 { major: 4 }, 11)
        );
    }
}
