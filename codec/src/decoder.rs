//! The streaming decoder: a state machine over one direction of a connection
//! (greeting, then frames), fed however the octets happen to arrive.
//!
//! [`Decoder`] is the zero-copy core: it looks at the caller's buffer, returns the next
//! complete item borrowing from it and how many octets that item used, or says how many more
//! octets it needs. [`StreamDecoder`] adds the buffer, for callers that receive chunks.

use crate::frame::HeaderRules;
use crate::parse::Status;
use crate::{Config, DecodeError, Frame, GREETING_LEN, Greeting, StreamError};
use bytes::{Buf, BytesMut};

/// One decoded item of a ZMTP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// The 64-octet greeting (always first unless the decoder starts at frames).
    Greeting(Greeting<'a>),
    /// A frame (message or command). Commands are read with [`crate::Command::from_frame`]
    /// using the mechanism from the greeting.
    Frame(Frame<'a>),
}

/// What [`Decoder::decode_slow`] found, small enough to come back in registers.
enum Slow {
    NeedMore(usize),
    /// A greeting, accepted: the first 64 octets of the input.
    Greeting,
    Failed(Box<StreamError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Frames,
    /// The error is in `failed`.
    Failed,
}

/// A sans-IO decoder for one direction of a ZMTP 3.x connection.
#[derive(Debug, Clone)]
pub struct Decoder {
    config: Config,
    /// `config`'s frame header rules, worked out once.
    rules: HeaderRules,
    /// `rules.short_bound` while reading frames, else 0: the fast path's size bound, which
    /// thereby also stands for the state (one comparison where there would be two).
    fast_bound: usize,
    state: State,
    /// The last message frame had MORE set (kept when the decoder fails).
    in_message: bool,
    offset: u64,
    failed: Option<Box<StreamError>>,
}

impl Decoder {
    /// A decoder expecting a greeting first.
    pub fn new(config: Config) -> Self {
        Decoder {
            config,
            rules: HeaderRules::new(&config),
            fast_bound: 0,
            state: State::Greeting,
            in_message: false,
            offset: 0,
            failed: None,
        }
    }

    /// A decoder that starts after the greeting, at the first frame.
    pub fn frames(config: Config) -> Self {
        let rules = HeaderRules::new(&config);
        Decoder {
            config,
            rules,
            fast_bound: rules.short_bound,
            state: State::Frames,
            in_message: false,
            offset: 0,
            failed: None,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Stream offset of the next octet to decode.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the last frame decoded had MORE set, i.e. the stream is inside a multipart
    /// message. A stream that ends here ends mid-message (FRAME-11).
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Decodes the next item from the front of `input`, the octets not yet consumed.
    ///
    /// On [`Status::Done`] the caller must drop that many octets from the front before the
    /// next call. After an error the decoder stays failed and returns the same error.
    #[inline(always)]
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Status<Item<'a>>, StreamError> {
        // The frame path is small enough to inline into the caller's loop. Everything else
        // (greeting, errors, a failed decoder) is out of line and answers in a register-sized
        // `Slow`, never by writing the result through a pointer: a result that some call
        // writes in memory stays in memory on every path, and the frame path then pays a
        // store and a load on the chain from one frame to the next.
        if let Some((frame, used)) = Frame::load_short_message(input, self.fast_bound) {
            self.offset = self.offset.wrapping_add(used as u64);
            self.in_message = frame.more();
            return Ok(Status::Done(Item::Frame(frame), used));
        }
        if self.state == State::Frames {
            match Frame::load_general(input, &self.rules) {
                Ok(Status::Done(frame, used)) => {
                    // Cannot wrap: no stream carries 2^64 octets.
                    self.offset = self.offset.wrapping_add(used as u64);
                    // A command between the frames of a message does not end the message.
                    if !frame.is_command() {
                        self.in_message = frame.more();
                    }
                    return Ok(Status::Done(Item::Frame(frame), used));
                }
                Ok(Status::NeedMore(n)) => return Ok(Status::NeedMore(n)),
                Err(error) => return Err(*self.fail(error)),
            }
        }
        match self.decode_slow(input) {
            Slow::NeedMore(n) => Ok(Status::NeedMore(n)),
            Slow::Greeting => match input.first_chunk().and_then(Greeting::from_accepted) {
                Some(greeting) => Ok(Status::Done(Item::Greeting(greeting), GREETING_LEN)),
                None => Err(*self.fail(DecodeError::TruncatedGreeting { found: input.len() })),
            },
            Slow::Failed(error) => Err(*error),
        }
    }

    /// [`Decoder::decode`] of the greeting, or after a failure.
    #[inline(never)]
    fn decode_slow(&mut self, input: &[u8]) -> Slow {
        let error = match self.state {
            State::Failed => {
                return Slow::Failed(self.failed.clone().unwrap_or_else(|| {
                    Box::new(StreamError {
                        offset: self.offset,
                        error: DecodeError::TruncatedFrame { needed: 1 },
                    })
                }));
            }
            // Not reached: `decode` reads frames itself.
            State::Frames => return Slow::NeedMore(1),
            State::Greeting => match Greeting::load(input, &self.config.strictness) {
                Ok(Status::Done(_, used)) => {
                    self.offset = self.offset.saturating_add(used as u64);
                    self.state = State::Frames;
                    self.fast_bound = self.rules.short_bound;
                    return Slow::Greeting;
                }
                Ok(Status::NeedMore(n)) => return Slow::NeedMore(n),
                Err(error) => error,
            },
        };
        Slow::Failed(self.fail(error))
    }

    /// Records `error` at the current offset; the decoder stays failed. Boxed so that it
    /// reaches the caller in a register.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, error: DecodeError) -> Box<StreamError> {
        let e = Box::new(StreamError {
            offset: self.offset,
            error,
        });
        self.failed = Some(e.clone());
        self.state = State::Failed;
        self.fast_bound = 0;
        e
    }

    /// Checks that a stream may end here: not inside a frame (`pending` octets undecoded)
    /// nor inside a multipart message.
    pub fn finish(&self, pending: usize) -> Result<(), StreamError> {
        if let Some(e) = &self.failed {
            return Err((**e).clone());
        }
        let error = match self.state {
            State::Greeting if pending > 0 || self.offset == 0 => {
                DecodeError::TruncatedGreeting { found: pending }
            }
            _ if pending > 0 => DecodeError::TruncatedFrame { needed: 1 },
            _ if self.in_message => DecodeError::TruncatedMessage,
            _ => return Ok(()),
        };
        Err(StreamError {
            offset: self.offset,
            error,
        })
    }
}

/// A [`Decoder`] with its own buffer: feed chunks as they arrive, take items as they complete.
///
/// The buffer only ever holds octets that were fed; a frame header declaring a huge size is
/// rejected (or waited on) without reserving memory for it.
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    decoder: Decoder,
    buf: BytesMut,
    consumed: usize,
    needed: usize,
}

impl StreamDecoder {
    /// A buffered decoder expecting a greeting first.
    pub fn new(config: Config) -> Self {
        Self::with_decoder(Decoder::new(config))
    }

    /// A buffered decoder around `decoder`.
    pub fn with_decoder(decoder: Decoder) -> Self {
        StreamDecoder {
            decoder,
            buf: BytesMut::new(),
            consumed: 0,
            needed: 1,
        }
    }

    /// Appends received octets.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.release();
        self.buf.extend_from_slice(chunk);
    }

    fn release(&mut self) {
        if self.consumed > 0 {
            self.buf.advance(self.consumed.min(self.buf.len()));
            self.consumed = 0;
        }
    }

    /// The next complete item, or `None` until more octets are fed.
    ///
    /// Decoded octets are dropped from the buffer at the next [`StreamDecoder::feed`], not
    /// item by item: each item costs only the decoder's work.
    #[inline]
    pub fn next_item(&mut self) -> Result<Option<Item<'_>>, StreamError> {
        let pending = self.buf.get(self.consumed..).unwrap_or_default();
        match self.decoder.decode(pending)? {
            Status::Done(item, used) => {
                self.consumed = self.consumed.saturating_add(used);
                self.needed = 0;
                Ok(Some(item))
            }
            Status::NeedMore(n) => {
                self.needed = n;
                Ok(None)
            }
        }
    }

    /// After `next_item` returned `None`: at least how many more octets are needed.
    pub fn needed(&self) -> usize {
        self.needed
    }

    /// Octets fed but not yet decoded into an item.
    pub fn pending(&self) -> usize {
        self.buf.len().saturating_sub(self.consumed)
    }

    /// The undecoded octets.
    pub fn pending_bytes(&self) -> &[u8] {
        self.buf.get(self.consumed..).unwrap_or_default()
    }

    /// The inner decoder.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Checks that the stream may end here (see [`Decoder::finish`]).
    pub fn finish(&self) -> Result<(), StreamError> {
        self.decoder.finish(self.pending())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mechanism, Profile, Version};

    /// The short-frame fast path is taken only while reading frames, within the limit.
    #[test]
    fn fast_path_respects_state_and_limit() {
        let cfg = Config::new(Profile::Strict);
        // Before the greeting, a short frame's octets are a bad greeting.
        let mut dec = Decoder::new(cfg);
        let e = dec.decode(b"\x00\x01a").unwrap_err();
        assert_eq!(e.error, DecodeError::BadSignatureStart { found: 0 });
        // After a failure, the same error, whatever follows.
        assert_eq!(dec.decode(b"\x00\x01a").unwrap_err(), e);
        assert!(!dec.in_message());
        // Over the configured maximum, even in a short frame.
        let mut dec = Decoder::frames(cfg.with_max_frame_size(2));
        assert!(matches!(dec.decode(b"\x01\x02ab"), Ok(Status::Done(..))));
        assert!(dec.in_message());
        let e = dec.decode(b"\x00\x03abc").unwrap_err();
        assert_eq!(e.error, DecodeError::FrameTooLarge { size: 3, max: 2 });
        assert_eq!(e.offset, 4);
        assert!(dec.in_message(), "a failure keeps the message state");
        let mut dec = Decoder::frames(cfg.with_max_frame_size(0));
        assert!(matches!(dec.decode(b"\x00\x00"), Ok(Status::Done(_, 2))));
        assert!(dec.decode(b"\x00\x01a").is_err());
    }

    #[test]
    fn byte_at_a_time() {
        let mut stream = Greeting::new(Version::V3_1, Mechanism::NULL)
            .to_bytes()
            .to_vec();
        stream.extend_from_slice(b"\x04\x19\x05READY\x0bSocket-Type\0\0\0\x03PUB");
        stream.extend_from_slice(b"\x01\x00\x00\x02hi");
        let mut dec = StreamDecoder::new(Config::new(Profile::Strict));
        let mut kinds = Vec::new();
        for b in &stream {
            dec.feed(std::slice::from_ref(b));
            while let Some(item) = dec.next_item().unwrap() {
                kinds.push(match item {
                    Item::Greeting(_) => "greeting".to_string(),
                    Item::Frame(f) => format!("{:?}:{}", f.flags, f.body.len()),
                });
            }
        }
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        dec.finish().unwrap();
    }
}
