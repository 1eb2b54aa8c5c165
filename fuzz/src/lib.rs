//! Helpers shared by the fuzz targets: the control header that the byte-level targets
//! (`stream_chunks`, `session`) read before the octets they feed.
//!
//! ```text
//! octet 0   config: bits 2..=4 maximum frame size, an index into MAX_FRAME_SIZES;
//!           the other bits are the target's own:
//!             stream_chunks  bit 0 profile (0 Strict, 1 Lenient),
//!                            bit 1 start at the greeting (0) or at the frames (1)
//!             session        bits 0..=1 local mechanism (NULL, PLAIN, CURVE, the peer's own),
//!                            bit 5 local role (0 client, 1 server),
//!                            bit 6 profile (0 Strict, 1 Lenient)
//! octet 1   k = octet % 8: how many chunk-size octets follow
//! k octets  chunk sizes, used in a cycle; 0 feeds an empty chunk; k = 0 feeds one octet at a time
//! rest      the octets fed to the decoder
//! ```

/// The maximum frame sizes a config octet can select (bits 2..=4).
pub const MAX_FRAME_SIZES: [Option<u64>; 8] = [
    None,
    Some(0),
    Some(4),
    Some(10),
    Some(255),
    Some(256),
    Some(65_535),
    Some(1 << 20),
];

/// The control header and the octets after it.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// Octet 0.
    pub config: u8,
    /// Chunk sizes, used in a cycle (empty: one octet at a time).
    pub pattern: &'a [u8],
    /// The octets to feed.
    pub data: &'a [u8],
}

impl<'a> Header<'a> {
    /// Splits `input` into header and data; `None` if it is too short for a header.
    pub fn split(input: &'a [u8]) -> Option<Self> {
        let (&config, rest) = input.split_first()?;
        let (&k, rest) = rest.split_first()?;
        let (pattern, data) = rest.split_at_checked(usize::from(k % 8))?;
        Some(Header {
            config,
            pattern,
            data,
        })
    }

    /// The maximum frame size selected by bits 2..=4 of the config octet.
    pub fn max_frame_size(&self) -> Option<u64> {
        MAX_FRAME_SIZES[usize::from((self.config >> 2) & 7)]
    }

    /// The data cut into chunks by the pattern.
    pub fn chunks(&self) -> Vec<&'a [u8]> {
        chunks(self.data, self.pattern)
    }
}

/// Cuts `data` into chunks whose sizes cycle through `pattern` (0 = an empty chunk). An empty
/// pattern means one octet at a time; a pattern of zeros, one empty chunk then everything.
pub fn chunks<'a>(data: &'a [u8], pattern: &[u8]) -> Vec<&'a [u8]> {
    if pattern.is_empty() {
        return data.chunks(1).collect();
    }
    if pattern.iter().all(|&p| p == 0) {
        return vec![&data[..0], data];
    }
    let mut out = Vec::new();
    let mut rest = data;
    for &size in pattern.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (head, tail) = rest.split_at(usize::from(size).min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}
