//! Structure-aware: values generated with `arbitrary` (the codec's `arbitrary` feature) are
//! encoded and decoded back under the Strict profile.
//!
//! The first input octet picks the case (mod 8); the rest feeds `arbitrary::Unstructured`:
//! 0 greeting, 1 frame, 2 command, 3 metadata, 4 list of properties, 5 subscription,
//! 6 stream (a greeting and frames), 7 `RawFrame`.
//!
//! Invariants (each a crash if broken):
//! - greetings, commands (each read with its own mechanism), metadata, property lists and
//!   subscriptions decode back equal, and their encoded lengths are what they say;
//! - a frame with any flags decodes back equal under Lenient; under Strict exactly when its
//!   flags are legal, else with the error its flags call for;
//! - a stream of a greeting and legal frames decodes to those items, and ends mid-message
//!   exactly when its last message frame has MORE;
//! - a `RawFrame` writes `encoded_len` octets: its flags, the size it was told, its body; with
//!   an honest size it writes what `Frame` writes.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use zmtp_codec::{
    Command, Config, DecodeError, Decoder, Flags, Frame, Greeting, Item, MechanismKind, Metadata,
    PeerVersion, Profile, Property, RawFrame, SizeField, Status, Strictness, Subscription,
    detect_peer,
};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(case) = u8::arbitrary(&mut u) else {
        return;
    };
    let _ = match case % 8 {
        0 => Greeting::arbitrary(&mut u).map(greeting),
        1 => Frame::arbitrary(&mut u).map(frame),
        2 => Command::arbitrary(&mut u).map(command),
        3 => Metadata::arbitrary(&mut u).map(metadata),
        4 => Vec::<Property>::arbitrary(&mut u).map(|p| properties(&p)),
        5 => Subscription::arbitrary(&mut u).map(subscription),
        6 => stream(&mut u),
        _ => raw_frame(&mut u),
    };
});

const STRICT: Strictness = Strictness::STRICT;

fn strict() -> Config {
    Config::new(Profile::Strict)
}

fn greeting(g: Greeting<'_>) {
    let bytes = g.to_bytes();
    assert_eq!(Greeting::load_exact(&bytes, &STRICT), Ok(g));
    assert_eq!(
        detect_peer(&bytes),
        Status::Done(
            PeerVersion::Zmtp3 {
                major: g.version.major
            },
            11
        )
    );
}

fn frame(f: Frame<'_>) {
    let wire = f.to_vec();
    assert_eq!(wire.len(), f.encoded_len());
    let flags = if f.is_long() {
        f.flags.0 | Flags::LONG
    } else {
        f.flags.0
    };
    let back = Frame {
        flags: Flags(flags),
        body: f.body,
    };
    let expected = if f.flags.reserved() != 0 {
        Err(DecodeError::ReservedFlags { flags })
    } else if f.is_command() && f.more() {
        Err(DecodeError::CommandWithMore { flags })
    } else {
        Ok(back)
    };
    assert_eq!(Frame::load_exact(&wire, &strict()), expected);
    assert_eq!(
        Frame::load_exact(&wire, &Config::new(Profile::Lenient)),
        Ok(back)
    );
}

fn mechanism_of(cmd: &Command<'_>) -> MechanismKind {
    match cmd {
        Command::PlainHello(_) | Command::PlainWelcome(_) | Command::PlainInitiate(_) => {
            MechanismKind::Plain
        }
        Command::CurveHello(_)
        | Command::CurveWelcome(_)
        | Command::CurveInitiate(_)
        | Command::CurveReady(_)
        | Command::CurveMessage(_) => MechanismKind::Curve,
        _ => MechanismKind::Null,
    }
}

fn command(cmd: Command<'_>) {
    let wire = cmd.to_vec();
    let f = Frame::load_exact(&wire, &strict());
    let Ok(f) = f else {
        panic!("command frame does not decode: {f:?} for {cmd:?}");
    };
    assert!(f.is_command() && !f.more());
    assert_eq!(f.is_long(), cmd.body_len() > 255);
    assert_eq!(f.body, cmd.body_to_vec());
    assert_eq!(f.body.len(), cmd.body_len());
    assert_eq!(
        Command::from_frame(&f, mechanism_of(&cmd), &STRICT),
        Ok(cmd)
    );
}

fn metadata(md: Metadata<'_>) {
    assert_eq!(Metadata::load(md.raw(), &STRICT), Ok(md));
    let props: Vec<Property<'_>> = md.iter().collect();
    let mut wire = Vec::new();
    Metadata::encode(props.iter().copied(), &mut wire);
    assert_eq!(wire, md.raw());
}

fn properties(props: &[Property<'_>]) {
    let mut wire = Vec::new();
    Metadata::encode(props.iter().copied(), &mut wire);
    assert_eq!(wire.len(), Metadata::encoded_len(props.iter().copied()));
    let md = Metadata::load(&wire, &STRICT);
    let Ok(md) = md else {
        panic!("property list does not decode: {md:?} for {props:?}");
    };
    assert_eq!(md.iter().collect::<Vec<_>>(), props);
    for p in props {
        let first = props.iter().find(|q| q.name.eq_ignore_ascii_case(p.name));
        assert_eq!(md.get(p.name), first.map(|q| q.value));
    }
}

fn subscription(sub: Subscription<'_>) {
    let wire = sub.to_vec();
    let f = Frame::load_exact(&wire, &strict());
    let Ok(f) = f else {
        panic!("subscription frame does not decode: {f:?} for {sub:?}");
    };
    assert_eq!(Subscription::from_frame(&f, &STRICT), Ok(sub));
}

fn stream(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let g = Greeting::arbitrary(u)?;
    let frames: Vec<Frame<'_>> = Vec::<Frame>::arbitrary(u)?
        .into_iter()
        .map(|mut f| {
            f.flags.0 &= Flags::MORE | Flags::LONG | Flags::COMMAND;
            if f.is_command() {
                f.flags.0 &= !Flags::MORE;
            }
            f
        })
        .collect();
    let mut wire = g.to_bytes().to_vec();
    for f in &frames {
        f.encode(&mut wire);
    }
    let mut dec = Decoder::new(strict());
    let mut pos = 0;
    let mut items = Vec::new();
    while pos < wire.len() {
        match dec.decode(&wire[pos..]) {
            Ok(Status::Done(item, used)) => {
                items.push(item);
                pos += used;
            }
            other => panic!("stream stopped at {pos}: {other:?}"),
        }
    }
    assert_eq!(items.first(), Some(&Item::Greeting(g)));
    let expected: Vec<Item<'_>> = frames
        .iter()
        .map(|f| {
            let mut f = *f;
            if f.is_long() {
                f.flags.0 |= Flags::LONG;
            }
            Item::Frame(f)
        })
        .collect();
    assert_eq!(items.get(1..), Some(&expected[..]));
    let mid_message = frames
        .iter()
        .rev()
        .find(|f| !f.is_command())
        .is_some_and(|f| f.more());
    assert_eq!(dec.in_message(), mid_message);
    match dec.finish(0) {
        Ok(()) => assert!(!mid_message),
        Err(e) => assert!(mid_message && e.error == DecodeError::TruncatedMessage),
    }
    Ok(())
}

fn raw_frame(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let flags = u8::arbitrary(u)?;
    let size = SizeField::arbitrary(u)?;
    let body = <&[u8]>::arbitrary(u)?;
    let raw = RawFrame::new(flags, body).with_size(size);
    let wire = raw.to_vec();
    assert_eq!(wire.len(), raw.encoded_len());
    assert_eq!(wire.first(), Some(&flags));
    assert!(wire.ends_with(body));
    let size_octets = &wire[1..wire.len() - body.len()];
    match size {
        SizeField::Short(n) => assert_eq!(size_octets, [n]),
        SizeField::Long(n) => assert_eq!(size_octets, n.to_be_bytes()),
        SizeField::Honest if flags & Flags::LONG != 0 => {
            assert_eq!(size_octets, (body.len() as u64).to_be_bytes());
        }
        SizeField::Honest => assert_eq!(size_octets, [body.len().min(255) as u8]),
    }
    let honest = size == SizeField::Honest
        || size == SizeField::Long(body.len() as u64) && flags & Flags::LONG != 0;
    if honest && (flags & Flags::LONG != 0 || body.len() <= 255) {
        let frame = Frame {
            flags: Flags(flags),
            body,
        };
        assert_eq!(wire, frame.to_vec());
        let back = Frame::load_exact(&wire, &Config::new(Profile::Lenient));
        assert_eq!(back, Ok(frame));
    }
    Ok(())
}
