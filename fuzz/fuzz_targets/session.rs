//! `InboundSession`, the sans-IO handshake state machine, fed arbitrary octets whole and in
//! chunks. The control header (see `src/lib.rs`) picks the local mechanism (NULL, PLAIN,
//! CURVE, or a copy of the peer's own mechanism field, octets 12..32 of the data, so that
//! unknown mechanisms get past the greeting), the local role, the profile, the maximum frame
//! size and the chunking.
//!
//! Invariants (each a crash if broken):
//! - the events, the error and the `finish` verdict do not depend on the chunking;
//! - after an error, every further `poll` (and `finish`) returns the same error, whatever is
//!   fed; the phase is `Failed`;
//! - `finish` never panics; the session holds exactly the octets fed and not yet decoded;
//! - events come in handshake order: the greeting first (one that decodes under the profile
//!   and carries the local mechanism), then the mechanism's handshake commands, `Ready` at
//!   most once, then commands and messages; nothing after ERROR; every command event
//!   re-reads as a valid command; a message has at least one part;
//! - whatever a Strict session accepts, a Lenient one accepts as the same events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmtp_codec::session::{Event, InboundSession, Local, Phase, Role};
use zmtp_codec::{Config, Greeting, Mechanism, MechanismKind, Profile, StreamError, Strictness};
use zmtp_codec_fuzz::Header;

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    events: Vec<Event>,
    error: Option<StreamError>,
    finish: Result<(), StreamError>,
}

/// Tracks the order of events and checks each one.
struct Order {
    local: Local,
    kind: MechanismKind,
    greeting: bool,
    handshake: usize,
    ready: bool,
    refused: bool,
}

impl Order {
    fn check(&mut self, event: &Event, phase: Phase) {
        assert!(!self.refused, "event after ERROR: {event:?}");
        let s = &self.local.config.strictness;
        match event {
            Event::Greeting(raw) => {
                assert!(!self.greeting, "second greeting");
                self.greeting = true;
                let g = Greeting::load_exact(&raw[..], s);
                let Ok(g) = g else {
                    panic!("greeting event does not decode: {g:?}");
                };
                assert_eq!(g.mechanism.0, &self.local.mechanism);
                assert_eq!(phase, Phase::Handshake);
            }
            Event::Handshake(cmd) => {
                assert!(
                    self.greeting && !self.ready,
                    "handshake command out of order"
                );
                assert!(cmd.command().is_ok());
                self.handshake += 1;
                match self.kind {
                    MechanismKind::Null => panic!("NULL has no handshake command before READY"),
                    MechanismKind::Plain | MechanismKind::Curve => {
                        assert_eq!(self.handshake, 1);
                        let expected: &[u8] = match self.local.role {
                            Role::Server => b"HELLO",
                            Role::Client => b"WELCOME",
                        };
                        assert_eq!(cmd.name(), expected);
                    }
                    MechanismKind::Other => {}
                }
                assert_eq!(phase, Phase::Handshake);
            }
            Event::Ready(cmd) => {
                assert!(self.greeting && !self.ready, "READY out of order");
                assert!(cmd.command().is_ok());
                self.ready = true;
                match self.kind {
                    MechanismKind::Null => assert_eq!(cmd.name(), b"READY"),
                    MechanismKind::Plain | MechanismKind::Curve => {
                        assert_eq!(self.handshake, 1);
                        let expected: &[u8] = match self.local.role {
                            Role::Server => b"INITIATE",
                            Role::Client => b"READY",
                        };
                        assert_eq!(cmd.name(), expected);
                    }
                    MechanismKind::Other => assert_eq!(cmd.name(), b"READY"),
                }
                assert_eq!(phase, Phase::Traffic);
            }
            Event::Error(cmd) => {
                assert!(self.greeting, "ERROR before the greeting");
                assert!(cmd.command().is_ok());
                assert_eq!(cmd.name(), b"ERROR");
                self.refused = true;
                assert_eq!(phase, Phase::Refused);
            }
            Event::Command(cmd) => {
                assert!(self.ready, "traffic command before READY");
                assert!(cmd.command().is_ok());
                assert_ne!(cmd.name(), b"ERROR");
                assert_eq!(phase, Phase::Traffic);
            }
            Event::Message(parts) => {
                assert!(self.ready, "message before READY");
                assert!(!parts.is_empty());
                if let Some(max) = self.local.config.max_frame_size {
                    assert!(parts.iter().all(|p| p.len() as u64 <= max));
                }
                assert_eq!(phase, Phase::Traffic);
            }
        }
    }
}

fn run(local: Local, chunks: &[&[u8]]) -> Outcome {
    let mut s = InboundSession::new(local);
    let mut order = Order {
        local,
        kind: MechanismKind::from_name(Mechanism(&local.mechanism).name()),
        greeting: false,
        handshake: 0,
        ready: false,
        refused: false,
    };
    let mut fed = 0usize;
    let mut events = Vec::new();
    let mut error: Option<StreamError> = None;
    let trailer: &[&[u8]] = &[b"\x00\x00", b"\x04\x05\x05READY"];
    for (i, chunk) in chunks.iter().chain(trailer).enumerate() {
        if i >= chunks.len() && error.is_none() {
            break; // the trailer only pokes a failed session
        }
        s.feed(chunk);
        fed += chunk.len();
        loop {
            match s.poll() {
                Ok(Some(event)) => {
                    assert!(error.is_none(), "event after an error");
                    order.check(&event, s.phase());
                    events.push(event);
                }
                Ok(None) => {
                    assert!(error.is_none(), "Ok(None) after an error");
                    break;
                }
                Err(e) => {
                    if let Some(first) = &error {
                        assert_eq!(&e, first, "poll returned another error");
                    }
                    assert_eq!(s.phase(), Phase::Failed);
                    assert_eq!(s.poll().as_ref(), Err(&e), "error not sticky");
                    assert_eq!(s.finish().as_ref(), Err(&e), "finish forgot the error");
                    error = Some(e);
                    break;
                }
            }
        }
        assert!(s.offset() <= fed as u64);
        assert_eq!(
            s.offset() as usize + s.pending().len(),
            fed,
            "session holds other than the undecoded octets"
        );
    }
    let finish = s.finish();
    if let Some(e) = &error {
        assert_eq!(finish.as_ref(), Err(e));
    }
    if finish.is_ok() {
        assert!(matches!(s.phase(), Phase::Traffic | Phase::Refused));
        assert!(!s.in_message());
    }
    Outcome {
        events,
        error,
        finish,
    }
}

/// Events without the configuration they carry, to compare two profiles.
fn shape(events: &[Event]) -> Vec<(u8, Vec<Vec<u8>>)> {
    events
        .iter()
        .map(|e| match e {
            Event::Greeting(raw) => (0, vec![raw.to_vec()]),
            Event::Handshake(c) => (1, vec![vec![c.flags], c.body.to_vec()]),
            Event::Ready(c) => (2, vec![vec![c.flags], c.body.to_vec()]),
            Event::Error(c) => (3, vec![vec![c.flags], c.body.to_vec()]),
            Event::Command(c) => (4, vec![vec![c.flags], c.body.to_vec()]),
            Event::Message(parts) => (5, parts.iter().map(|p| p.to_vec()).collect()),
        })
        .collect()
}

fuzz_target!(|input: &[u8]| {
    let Some(header) = Header::split(input) else {
        return;
    };
    let data = header.data;
    let mechanism = match header.config & 3 {
        0 => *Mechanism::NULL.0,
        1 => *Mechanism::PLAIN.0,
        2 => *Mechanism::CURVE.0,
        _ => {
            let mut field = [0u8; 20];
            for (dst, src) in field.iter_mut().zip(data.iter().skip(12)) {
                *dst = *src;
            }
            field
        }
    };
    let role = if header.config & 0x20 == 0 {
        Role::Client
    } else {
        Role::Server
    };
    let config_for = |profile| {
        let c = Config::new(profile);
        match header.max_frame_size() {
            Some(max) => c.with_max_frame_size(max),
            None => c,
        }
    };
    let profile = if header.config & 0x40 == 0 {
        Profile::Strict
    } else {
        Profile::Lenient
    };
    let local = Local {
        mechanism,
        role,
        config: config_for(profile),
    };

    let one = run(local, &[data]);
    let many = run(local, &header.chunks());
    assert_eq!(one, many, "chunking changed the result");

    let other = Local {
        config: config_for(match profile {
            Profile::Strict => Profile::Lenient,
            Profile::Lenient => Profile::Strict,
        }),
        ..local
    };
    let other = run(other, &[data]);
    let (strict, lenient) = if local.config.strictness == Strictness::STRICT {
        (&one, &other)
    } else {
        (&other, &one)
    };
    let (strict_shape, lenient_shape) = (shape(&strict.events), shape(&lenient.events));
    assert!(
        lenient_shape.starts_with(&strict_shape),
        "Lenient session reads differently from Strict"
    );
    if strict.error.is_none() {
        assert_eq!(
            strict_shape, lenient_shape,
            "Lenient rejects what Strict accepts"
        );
        assert!(lenient.error.is_none());
        assert_eq!(strict.finish.is_ok(), lenient.finish.is_ok());
    }
});
