//! The receiving side of a connection as a sans-IO state machine: feed it the octets a peer
//! sends, take out what they mean (greeting, handshake commands, messages, traffic commands)
//! or the first rule they break.
//!
//! It knows the order each mechanism's handshake must follow (NULL: READY; PLAIN: HELLO then
//! INITIATE from a client, WELCOME then READY from a server; CURVE likewise with its own
//! layouts) and checks the greeting against the local side (the mechanism must match exactly,
//! the as-server octet must fit the roles). It does no cryptography: after a CURVE handshake,
//! MESSAGE commands are passed on as commands.
//!
//! Items are owned ([`Bytes`] slices of the receive buffer, so still no copy of bodies).

use crate::decoder::{Decoder, Item};
use crate::parse::Status;
use crate::{
    Command, Config, DecodeError, Frame, GREETING_LEN, Greeting, MechanismKind, StreamError,
};
use bytes::{Buf, Bytes, BytesMut};

/// Which side of the security handshake a peer plays (ZMTP "as-server").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends HELLO first (PLAIN, CURVE). For NULL, the connecting side by convention.
    Client,
    /// Answers HELLO. For NULL, the binding side by convention.
    Server,
}

impl Role {
    /// The other role.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

/// The local side that receives: what it announced and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    /// The local mechanism field (the peer's must match it exactly, MECH-02).
    pub mechanism: [u8; 20],
    /// The local role; the peer is expected to play the other one.
    pub role: Role,
    /// Decoder configuration.
    pub config: Config,
}

/// How far the peer's stream has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for (the rest of) the greeting.
    Greeting,
    /// Greeting done; mechanism handshake under way.
    Handshake,
    /// Handshake done: messages and commands.
    Traffic,
    /// The peer sent ERROR; nothing more is expected.
    Refused,
    /// A rule was broken; see the error.
    Failed,
}

/// A command frame, owned, re-read on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFrame {
    /// The frame's flags octet.
    pub flags: u8,
    /// The command body.
    pub body: Bytes,
    mechanism: MechanismKind,
    config: Config,
}

impl CommandFrame {
    /// The command (already validated when it was received).
    pub fn command(&self) -> Result<Command<'_>, DecodeError> {
        Command::load(&self.body, self.mechanism, &self.config.strictness)
    }

    /// The command name octets.
    pub fn name(&self) -> &[u8] {
        crate::command::split_name(&self.body, &crate::Strictness::LENIENT)
            .map(|(name, _)| name)
            .unwrap_or_default()
    }
}

/// What the peer's octets amounted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The peer's 64-octet greeting (re-read it with [`Greeting::load_exact`]).
    Greeting(Box<[u8; GREETING_LEN]>),
    /// A command of the mechanism handshake (HELLO, WELCOME, INITIATE), not the last.
    Handshake(CommandFrame),
    /// The command that completes the handshake (READY), with the peer's metadata.
    Ready(CommandFrame),
    /// ERROR: the peer refuses; the connection is over (ERR-03).
    Error(CommandFrame),
    /// A command after the handshake (SUBSCRIBE, PING, MESSAGE, unknown ...).
    Command(CommandFrame),
    /// A complete message after the handshake, one [`Bytes`] per frame.
    Message(Vec<Bytes>),
}

/// The receiving state machine for one direction of a connection.
#[derive(Debug)]
pub struct InboundSession {
    local: Local,
    decoder: Decoder,
    buf: BytesMut,
    phase: Phase,
    mechanism: MechanismKind,
    /// Handshake commands seen so far.
    steps: u8,
    parts: Vec<Bytes>,
    /// A message frame has arrived after the handshake (ERROR is no longer allowed, ERR-04).
    sent_message: bool,
    offset: u64,
    error: Option<StreamError>,
}

impl InboundSession {
    /// A session expecting the peer's greeting first.
    pub fn new(local: Local) -> Self {
        InboundSession {
            decoder: Decoder::new(local.config),
            local,
            buf: BytesMut::new(),
            phase: Phase::Greeting,
            mechanism: MechanismKind::from_name(crate::Mechanism(&local.mechanism).name()),
            steps: 0,
            parts: Vec::new(),
            sent_message: false,
            offset: 0,
            error: None,
        }
    }

    /// Appends received octets.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The octets received but not yet decoded (while in the greeting: the peer's greeting
    /// prefix, for staging a reply with [`crate::detect_peer`]).
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Stream offset of the next undecoded octet.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether a multipart message is partly received.
    pub fn in_message(&self) -> bool {
        !self.parts.is_empty()
    }

    fn fail(&mut self, offset: u64, error: DecodeError) -> StreamError {
        let e = StreamError { offset, error };
        self.phase = Phase::Failed;
        self.error = Some(e.clone());
        e
    }

    /// The next event, `Ok(None)` until more octets arrive. After an error every call returns
    /// it again.
    pub fn poll(&mut self) -> Result<Option<Event>, StreamError> {
        loop {
            if let Some(e) = &self.error {
                return Err(e.clone());
            }
            let start = self.offset;
            let (used, header, flags) = match self.decoder.decode(&self.buf) {
                Err(e) => return Err(self.fail(e.offset, e.error)),
                Ok(Status::NeedMore(_)) => return Ok(None),
                Ok(Status::Done(Item::Greeting(g), used)) => {
                    if let Err(error) = self.check_greeting(&g) {
                        return Err(self.fail(start, error));
                    }
                    (used, 0, None)
                }
                Ok(Status::Done(Item::Frame(f), used)) => {
                    (used, used - f.body.len(), Some(f.flags.0))
                }
            };
            let chunk = self.buf.split_to(used).freeze();
            self.offset = self.offset.saturating_add(used as u64);
            let Some(flags) = flags else {
                self.phase = Phase::Handshake;
                let mut raw = Box::new([0u8; GREETING_LEN]);
                chunk.clone().copy_to_slice(&mut raw[..]);
                return Ok(Some(Event::Greeting(raw)));
            };
            let body = chunk.slice(header..);
            match self.on_frame(flags, body) {
                Ok(Some(event)) => return Ok(Some(event)),
                Ok(None) => continue,
                Err(error) => return Err(self.fail(start, error)),
            }
        }
    }

    fn check_greeting(&self, g: &Greeting<'_>) -> Result<(), DecodeError> {
        if g.mechanism.0 != &self.local.mechanism {
            return Err(DecodeError::MechanismMismatch {
                peer: *g.mechanism.0,
            });
        }
        if !self.local.config.strictness.as_server_role {
            return Ok(()); // libzmq never reads as-server (digest D-09)
        }
        let expected = match (self.mechanism, self.local.role.peer()) {
            (MechanismKind::Null, _) => 0,
            (MechanismKind::Other, _) => return Ok(()),
            (_, Role::Server) => 1,
            (_, Role::Client) => 0,
        };
        if g.as_server != expected {
            return Err(DecodeError::AsServerMismatch {
                found: g.as_server,
                expected,
                null: self.mechanism == MechanismKind::Null,
            });
        }
        Ok(())
    }

    fn command_frame(&self, flags: u8, body: Bytes) -> Result<CommandFrame, DecodeError> {
        let frame = CommandFrame {
            flags,
            body,
            mechanism: self.mechanism,
            config: self.local.config,
        };
        frame.command()?;
        Ok(frame)
    }

    fn on_frame(&mut self, flags: u8, body: Bytes) -> Result<Option<Event>, DecodeError> {
        let frame = Frame {
            flags: crate::Flags(flags),
            body: &body,
        };
        match self.phase {
            Phase::Handshake => {
                // libzmq reads handshake commands without looking at the COMMAND bit.
                let is_command =
                    frame.is_command() || !self.local.config.strictness.command_bit_in_handshake;
                let unexpected = DecodeError::UnexpectedMessage {
                    phase: "handshake",
                    null: self.mechanism == MechanismKind::Null,
                };
                if !is_command {
                    return Err(unexpected);
                }
                let carried_as_message = !frame.is_command();
                let cmd = match self.command_frame(flags, body) {
                    Err(_) if carried_as_message => return Err(unexpected),
                    other => other?,
                };
                self.on_handshake_command(cmd).map(Some)
            }
            Phase::Traffic if frame.is_command() => {
                let cmd = match self.command_frame(flags, body) {
                    // CMD-09: a receiver may ignore a malformed command after the handshake.
                    Err(_) if !self.local.config.strictness.malformed_command => return Ok(None),
                    other => other?,
                };
                if cmd.name() == b"ERROR" {
                    // ERR-04: "A peer MUST NOT send ERROR once it has sent a message frame."
                    if self.sent_message {
                        return Err(DecodeError::ErrorAfterMessage);
                    }
                    self.phase = Phase::Refused;
                    return Ok(Some(Event::Error(cmd)));
                }
                Ok(Some(Event::Command(cmd)))
            }
            Phase::Traffic => {
                self.sent_message = true;
                let more = frame.more();
                self.parts.push(body);
                if more {
                    Ok(None)
                } else {
                    Ok(Some(Event::Message(std::mem::take(&mut self.parts))))
                }
            }
            Phase::Refused => Err(DecodeError::UnexpectedCommand {
                name: "frame after ERROR".into(),
            }),
            Phase::Greeting | Phase::Failed => Ok(None),
        }
    }

    /// Checks `cmd` against the mechanism's handshake order for a peer of the expected role.
    fn on_handshake_command(&mut self, cmd: CommandFrame) -> Result<Event, DecodeError> {
        let name = cmd.name().to_vec();
        if name == b"ERROR" {
            self.phase = Phase::Refused;
            return Ok(Event::Error(cmd));
        }
        // The names a peer of each role sends, in order; the last one completes the handshake.
        let order: &[&[u8]] = match (self.mechanism, self.local.role.peer()) {
            (MechanismKind::Null, _) => &[b"READY"],
            (MechanismKind::Plain | MechanismKind::Curve, Role::Client) => &[b"HELLO", b"INITIATE"],
            (MechanismKind::Plain | MechanismKind::Curve, Role::Server) => &[b"WELCOME", b"READY"],
            (MechanismKind::Other, _) => {
                // Unknown mechanism: pass commands through; READY completes it.
                if name == b"READY" {
                    self.phase = Phase::Traffic;
                    return Ok(Event::Ready(cmd));
                }
                return Ok(Event::Handshake(cmd));
            }
        };
        let step = usize::from(self.steps);
        if order.get(step).copied() != Some(name.as_slice()) {
            return Err(DecodeError::UnexpectedCommand {
                name: crate::text::escape(&name).into(),
            });
        }
        self.steps = self.steps.saturating_add(1);
        if usize::from(self.steps) == order.len() {
            self.phase = Phase::Traffic;
            Ok(Event::Ready(cmd))
        } else {
            Ok(Event::Handshake(cmd))
        }
    }

    /// Checks that the peer's stream may end here: the handshake finished (or ended with
    /// ERROR), and no frame or multipart message is cut short.
    pub fn finish(&self) -> Result<(), StreamError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let at = |error| StreamError {
            offset: self.offset,
            error,
        };
        if !self.buf.is_empty() {
            return Err(self
                .decoder
                .finish(self.buf.len())
                .err()
                .unwrap_or(at(DecodeError::TruncatedFrame { needed: 1 })));
        }
        match self.phase {
            Phase::Greeting | Phase::Handshake => Err(at(DecodeError::HandshakeIncomplete)),
            Phase::Traffic if self.in_message() => Err(at(DecodeError::TruncatedMessage)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mechanism, Profile, Version};

    fn null_local(profile: Profile, role: Role) -> Local {
        Local {
            mechanism: *Mechanism::NULL.0,
            role,
            config: Config::new(profile),
        }
    }

    fn greeting(mech: Mechanism<'static>) -> Vec<u8> {
        Greeting::new(Version::V3_1, mech).to_bytes().to_vec()
    }

    const READY_PUB: &[u8] = b"\x04\x19\x05READY\x0bSocket-Type\0\0\0\x03PUB";

    #[test]
    fn null_handshake_then_messages() {
        let mut s = InboundSession::new(null_local(Profile::Strict, Role::Client));
        let mut wire = greeting(Mechanism::NULL);
        wire.extend_from_slice(READY_PUB);
        wire.extend_from_slice(b"\x01\x01A\x00\x02hi");
        s.feed(&wire);
        assert!(matches!(s.poll(), Ok(Some(Event::Greeting(_)))));
        assert!(matches!(s.poll(), Ok(Some(Event::Ready(_)))));
        let Ok(Some(Event::Message(parts))) = s.poll() else {
            panic!()
        };
        assert_eq!(
            parts,
            vec![Bytes::from_static(b"A"), Bytes::from_static(b"hi")]
        );
        assert_eq!(s.poll(), Ok(None));
        s.finish().unwrap();
    }

    #[test]
    fn message_before_ready_is_refused() {
        let mut s = InboundSession::new(null_local(Profile::Lenient, Role::Server));
        let mut wire = greeting(Mechanism::NULL);
        wire.extend_from_slice(b"\x00\x02hi");
        s.feed(&wire);
        assert!(matches!(s.poll(), Ok(Some(Event::Greeting(_)))));
        assert_eq!(
            s.poll().unwrap_err().error,
            DecodeError::UnexpectedMessage {
                phase: "handshake",
                null: true
            }
        );
    }

    #[test]
    fn mechanism_must_match_exactly() {
        let mut s = InboundSession::new(null_local(Profile::Lenient, Role::Server));
        s.feed(&greeting(Mechanism::PLAIN));
        assert!(matches!(
            s.poll().unwrap_err().error,
            DecodeError::MechanismMismatch { .. }
        ));
    }

    #[test]
    fn plain_order() {
        let local = Local {
            mechanism: *Mechanism::PLAIN.0,
            role: Role::Server,
            config: Config::new(Profile::Strict),
        };
        let mut s = InboundSession::new(local);
        let mut g = Greeting::new(Version::V3_1, Mechanism::PLAIN);
        g.as_server = 0;
        let mut wire = g.to_bytes().to_vec();
        wire.extend_from_slice(b"\x04\x09\x08INITIATE");
        s.feed(&wire);
        assert!(matches!(s.poll(), Ok(Some(Event::Greeting(_)))));
        assert!(matches!(
            s.poll().unwrap_err().error,
            DecodeError::UnexpectedCommand { .. }
        ));
    }
}
