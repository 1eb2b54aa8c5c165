//! The raw peer: the harness itself speaking ZMTP over real TCP, through the codec, on either
//! side of a connection — well-behaved by default, misbehaving on request.
//!
//! A [`PeerConn`] is one TCP connection. A background task reads it (unless told to stop, so
//! the TCP window fills), records every octet with a timestamp in its [`Transcript`], and runs
//! the octets through [`zmtp_codec::session::InboundSession`] to turn them into
//! [`PeerEvent`]s (greeting, READY, messages, commands, close). Steps write whatever they like:
//! a greeting in one write, staged like libzmq, or byte by byte; frames, commands, raw octets;
//! then FIN or RST, optionally at a chosen offset. [`PeerListener`] accepts connections and
//! can greet them automatically, so an implementation that reconnects finds a working server.

mod conn;
pub mod curve;
mod impair;
mod listener;
mod proxy;
mod settings;
mod transcript;

pub use conn::{CloseHow, CloseKind, PeerConn, PeerError, PeerEvent, PeerEventKind, PeerSnapshot};
pub use impair::{Impairment, Way, parse_dir};
pub use listener::PeerListener;
pub use proxy::{PeerProxy, ProxiedPair};
pub use settings::{GreetingMode, PeerSettings, PlainSettings};
pub use transcript::{Chunk, Direction, Transcript};

use std::time::Instant;

/// The time origin of one case: every timestamp in events and transcripts is relative to it.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// Microseconds since the epoch.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The epoch.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }
}
