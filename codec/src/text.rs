//! Rendering octets as text: lowercase hex, and names with non-printable octets escaped.

use std::fmt::Write;

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// `bytes` as text: octets `0x21..=0x7E` other than `\\` as themselves, everything else
/// (space included) as `\\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x21..=0x7E).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders() {
        assert_eq!(super::hex(b"\x00\xab"), "00ab");
        assert_eq!(super::escape(b"A b\\\x00"), "A\\x20b\\x5c\\x00");
    }
}
