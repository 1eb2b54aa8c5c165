//! The burst payload format (`spec/driver-protocol.md`, section "Burst payload").
//!
//! Every frame of burst message `seq` carries a 24-octet header with the sequence number, the
//! frame's index, the frame count, the topic length and the frame's total length, followed by
//! deterministic padding. Frame 0 starts with the topic, so PUB/SUB prefix matching works.
//!
//! ```text
//! frame 0:  topic (topic_len octets) | header (24) | padding
//! frame i:  header (24) | padding                      (i >= 1, topic_len = 0)
//!
//! header:   magic "ZTB1" (4) | seq u64 (8) | index u16 (2) | count u16 (2)
//!           | topic_len u16 (2) | reserved u16 = 0 (2) | frame_len u32 (4)      all big-endian
//! padding:  the octet at frame offset k is (k + seq) mod 256
//! ```

/// The four magic octets that open every burst header.
pub const BURST_MAGIC: [u8; 4] = *b"ZTB1";
/// Length of the burst header in octets.
pub const BURST_HEADER_LEN: usize = 24;
/// The longest topic a burst frame may carry (the receiver searches this far for the header).
pub const MAX_TOPIC_LEN: usize = 1024;
/// The largest frame count a burst message may have.
pub const MAX_PARTS: u16 = 1024;
/// The largest frame size a burst may request (16 MiB).
pub const MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;

/// A decoded burst header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurstHeader {
    /// The message's sequence number.
    pub seq: u64,
    /// This frame's index within the message (0-based).
    pub index: u16,
    /// The number of frames in the message.
    pub count: u16,
    /// Length of the topic in front of the header (non-zero only in frame 0).
    pub topic_len: u16,
    /// Total length of this frame in octets.
    pub frame_len: u32,
}

/// Why a burst request's parameters are invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BurstParamError {
    /// `parts` is 0 or above [`MAX_PARTS`].
    Parts(u64),
    /// The topic is longer than [`MAX_TOPIC_LEN`] or contains the magic.
    Topic(String),
    /// `size` is above [`MAX_FRAME_SIZE`].
    Size(u64),
}

impl std::fmt::Display for BurstParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Parts(p) => write!(f, "parts must be 1..={MAX_PARTS}, got {p}"),
            Self::Topic(why) => write!(f, "invalid burst topic: {why}"),
            Self::Size(s) => write!(f, "size must be at most {MAX_FRAME_SIZE}, got {s}"),
        }
    }
}

impl std::error::Error for BurstParamError {}

/// Checks burst parameters as a driver must before sending anything (`[DRV-41]`).
pub fn check_burst_params(topic: &[u8], size: u64, parts: u64) -> Result<(), BurstParamError> {
    if parts == 0 || parts > u64::from(MAX_PARTS) {
        return Err(BurstParamError::Parts(parts));
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(BurstParamError::Topic(format!(
            "{} octets, at most {MAX_TOPIC_LEN} allowed",
            topic.len()
        )));
    }
    if topic.windows(4).any(|w| w == BURST_MAGIC) {
        return Err(BurstParamError::Topic(
            "it contains the magic \"ZTB1\"".into(),
        ));
    }
    if size > MAX_FRAME_SIZE as u64 {
        return Err(BurstParamError::Size(size));
    }
    Ok(())
}

/// The padding octet at frame offset `k` of message `seq`.
#[inline]
pub fn pad_octet(k: usize, seq: u64) -> u8 {
    (k as u64).wrapping_add(seq) as u8
}

/// A 512-octet table of `i mod 256`; padding of any length is compared against slices of it.
fn pattern() -> &'static [u8; 512] {
    static PATTERN: std::sync::OnceLock<[u8; 512]> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut p = [0u8; 512];
        for (i, b) in p.iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    })
}

/// Fills `out` with padding for frame offsets `start..start + out.len()` of message `seq`.
fn fill_padding(out: &mut Vec<u8>, start: usize, len: usize, seq: u64) {
    let pat = pattern();
    let mut k = start;
    let end = start + len;
    while k < end {
        let phase = pad_octet(k, seq) as usize;
        let n = (end - k).min(256);
        out.extend_from_slice(&pat[phase..phase + n]);
        k += n;
    }
}

/// True if `data` is the correct padding for frame offsets starting at `start` of message `seq`.
fn padding_ok(data: &[u8], start: usize, seq: u64) -> bool {
    let pat = pattern();
    let mut k = start;
    for chunk in data.chunks(256) {
        let phase = pad_octet(k, seq) as usize;
        if chunk != &pat[phase..phase + chunk.len()] {
            return false;
        }
        k += chunk.len();
    }
    true
}

/// Encodes frame `index` of burst message `seq` with `count` frames.
///
/// `topic` is used only for frame 0. The frame is padded to `size` octets; if `size` is smaller
/// than the topic plus the header, the frame is exactly topic plus header (never truncated).
pub fn encode_frame(topic: &[u8], seq: u64, index: u16, count: u16, size: usize) -> Vec<u8> {
    let topic: &[u8] = if index == 0 { topic } else { &[] };
    let min = topic.len() + BURST_HEADER_LEN;
    let len = size.max(min);
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(topic);
    out.extend_from_slice(&BURST_MAGIC);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    fill_padding(&mut out, min, len - min, seq);
    out
}

/// Encodes every frame of burst message `seq` (`parts` frames of `size` octets each).
pub fn encode_message(topic: &[u8], seq: u64, parts: u16, size: usize) -> Vec<Vec<u8>> {
    (0..parts)
        .map(|i| encode_frame(topic, seq, i, parts, size))
        .collect()
}

fn read_header(h: &[u8]) -> BurstHeader {
    let u16_at = |o: usize| u16::from_be_bytes([h[o], h[o + 1]]);
    BurstHeader {
        seq: u64::from_be_bytes([h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11]]),
        index: u16_at(12),
        count: u16_at(14),
        topic_len: u16_at(16),
        frame_len: u32::from_be_bytes([h[20], h[21], h[22], h[23]]),
    }
}

/// Finds the header of a frame 0: the smallest offset `t` (at most [`MAX_TOPIC_LEN`]) where the
/// magic starts and the header's `topic_len` equals `t`. Returns `None` if there is none.
pub fn find_first_header(frame: &[u8]) -> Option<BurstHeader> {
    if frame.len() < BURST_HEADER_LEN {
        return None;
    }
    let last = (frame.len() - BURST_HEADER_LEN).min(MAX_TOPIC_LEN);
    (0..=last).find_map(|t| {
        let h = &frame[t..t + BURST_HEADER_LEN];
        if h[..4] != BURST_MAGIC {
            return None;
        }
        let hdr = read_header(h);
        (usize::from(hdr.topic_len) == t).then_some(hdr)
    })
}

/// Verifies frame `index` (the header at `topic_len`, reserved octets, the length and padding)
/// against the expected sequence number and frame count. True if the frame is valid.
pub fn check_frame(frame: &[u8], topic_len: usize, seq: u64, index: u16, count: u16) -> bool {
    if frame.len() < topic_len + BURST_HEADER_LEN {
        return false;
    }
    let h = &frame[topic_len..topic_len + BURST_HEADER_LEN];
    if h[..4] != BURST_MAGIC || h[18] != 0 || h[19] != 0 {
        return false;
    }
    let hdr = read_header(h);
    hdr.seq == seq
        && hdr.index == index
        && hdr.count == count
        && usize::from(hdr.topic_len) == topic_len
        && hdr.frame_len as usize == frame.len()
        && padding_ok(
            &frame[topic_len + BURST_HEADER_LEN..],
            topic_len + BURST_HEADER_LEN,
            seq,
        )
}

/// How one received message (after prefix stripping) classifies against the burst format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified<'a> {
    /// A complete, valid burst message.
    Burst {
        /// Its sequence number.
        seq: u64,
        /// The topic in front of frame 0's header.
        topic: &'a [u8],
    },
    /// Frame 0 carries a burst header but the message does not have `count` frames.
    Partial {
        /// The sequence number in frame 0.
        seq: u64,
    },
    /// The frame count matches, but some frame is inconsistent (seq, index, count, length,
    /// reserved octets or padding).
    Malformed {
        /// The sequence number in frame 0.
        seq: u64,
    },
    /// Frame 0 carries no burst header: not a burst message.
    Other,
}

/// Classifies a message per the rules of `[DRV-53]`.
pub fn classify<'a, F: AsRef<[u8]>>(parts: &'a [F]) -> Classified<'a> {
    let Some(first) = parts.first() else {
        return Classified::Other;
    };
    let first = first.as_ref();
    let Some(h0) = find_first_header(first) else {
        return Classified::Other;
    };
    if parts.len() != usize::from(h0.count) {
        return Classified::Partial { seq: h0.seq };
    }
    let tl = usize::from(h0.topic_len);
    let ok = parts.iter().enumerate().all(|(i, f)| {
        let t = if i == 0 { tl } else { 0 };
        check_frame(f.as_ref(), t, h0.seq, i as u16, h0.count)
    });
    if ok {
        Classified::Burst {
            seq: h0.seq,
            topic: &first[..tl],
        }
    } else {
        Classified::Malformed { seq: h0.seq }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_is_byte_exact() {
        let f = encode_frame(b"ab", 0x0102, 0, 3, 30);
        let mut want = b"ab".to_vec();
        want.extend_from_slice(b"ZTB1");
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        want.extend_from_slice(&[0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0, 30]);
        // offsets 26..30, seq 0x0102: (26 + 0x102) mod 256 = 0x1c
        want.extend_from_slice(&[0x1c, 0x1d, 0x1e, 0x1f]);
        assert_eq!(f, want);
    }

    #[test]
    fn small_size_means_minimal_frame() {
        assert_eq!(
            encode_frame(b"topic", 1, 0, 1, 0).len(),
            5 + BURST_HEADER_LEN
        );
        assert_eq!(encode_frame(b"topic", 1, 1, 2, 3).len(), BURST_HEADER_LEN);
    }

    #[test]
    fn round_trip_and_classification() {
        for size in [0usize, 24, 25, 100, 700] {
            for parts in [1u16, 3] {
                let m = encode_message(b"t", 77, parts, size);
                assert_eq!(
                    classify(&m),
                    Classified::Burst {
                        seq: 77,
                        topic: b"t"
                    }
                );
            }
        }
        let m = encode_message(b"", 5, 3, 40);
        assert_eq!(classify(&m[..2]), Classified::Partial { seq: 5 });
        let mut bad = m.clone();
        bad[2][30] ^= 1;
        assert_eq!(classify(&bad), Classified::Malformed { seq: 5 });
        let mut mixed = m.clone();
        mixed[1] = encode_frame(b"", 6, 1, 3, 40);
        assert_eq!(classify(&mixed), Classified::Malformed { seq: 5 });
        assert_eq!(classify(&[b"hello".to_vec()]), Classified::Other);
        let empty: [Vec<u8>; 0] = [];
        assert_eq!(classify(&empty), Classified::Other);
    }

    #[test]
    fn params() {
        assert!(check_burst_params(b"x", 10, 1).is_ok());
        assert!(check_burst_params(b"x", 10, 0).is_err());
        assert!(check_burst_params(b"aZTB1", 10, 1).is_err());
        assert!(check_burst_params(&[0; 1025], 10, 1).is_err());
    }
}
