//! Command bodies, property lists and subscriptions from arbitrary octets.
//!
//! The whole input is read as a command body (`Command::load`, every mechanism kind, both
//! profiles) and as a property list (`Metadata::load`); it is also read as a frame, whose
//! command and subscription (`Subscription::from_frame`) are then checked.
//!
//! Invariants (each a crash if broken):
//! - a decoded command re-encoded with `encode_body` (and as a whole frame) decodes again to
//!   an equal command; `body_len` is the encoded length; under Strict the re-encoding is the
//!   input itself;
//! - a property list re-encodes to its own octets and lookups find the first match in any case;
//! - a subscription re-encoded decodes again (Strict) to an equal subscription;
//! - `Frame::load_exact` agrees with `Frame::load`;
//! - `Command::from_frame` agrees with `Command::load` on the body of a command frame;
//! - whatever Strict accepts, Lenient accepts as the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmtp_codec::command::split_name;
use zmtp_codec::{
    Command, Config, DecodeError, Frame, MechanismKind, Metadata, Profile, Property, Status,
    Strictness, Subscription, SubscriptionForm,
};

const MECHANISMS: [MechanismKind; 4] = [
    MechanismKind::Null,
    MechanismKind::Plain,
    MechanismKind::Curve,
    MechanismKind::Other,
];

fuzz_target!(|data: &[u8]| {
    check_commands(data);
    check_metadata(data);
    for profile in [Profile::Strict, Profile::Lenient] {
        check_frame(data, profile);
    }
});

fn check_commands(data: &[u8]) {
    for mech in MECHANISMS {
        let strict = check_command(data, mech, &Strictness::STRICT);
        let lenient = check_command(data, mech, &Strictness::LENIENT);
        if let Ok(cmd) = strict {
            assert_eq!(
                lenient,
                Ok(cmd),
                "Strict accepts, Lenient differs ({mech:?})"
            );
        }
    }
}

fn check_command<'a>(
    data: &'a [u8],
    mech: MechanismKind,
    s: &Strictness,
) -> Result<Command<'a>, DecodeError> {
    let result = Command::load(data, mech, s);
    let Ok(cmd) = &result else {
        return result;
    };
    let body = cmd.body_to_vec();
    assert_eq!(body.len(), cmd.body_len());
    let mut via = Vec::new();
    cmd.encode_body(&mut via);
    assert_eq!(via, body);
    if let Ok((name, _)) = split_name(data, s) {
        assert_eq!(cmd.name(), name);
    } else {
        panic!("decoded a command whose name does not split");
    }
    let again = Command::load(&body, mech, s);
    assert_eq!(
        again.as_ref(),
        Ok(cmd),
        "re-encoded command decodes differently"
    );
    if *s == Strictness::STRICT {
        assert_eq!(body, data, "Strict re-encoding is not the input");
    }
    // As a whole frame (minimal size encoding).
    let wire = cmd.to_vec();
    let profile = if *s == Strictness::STRICT {
        Profile::Strict
    } else {
        Profile::Lenient
    };
    let frame = Frame::load_exact(&wire, &Config::new(profile));
    let Ok(frame) = frame else {
        panic!("command frame does not decode: {frame:?}");
    };
    assert!(frame.is_command() && !frame.more());
    assert_eq!(frame.is_long(), cmd.body_len() > 255);
    assert_eq!(Command::from_frame(&frame, mech, s).as_ref(), Ok(cmd));
    result
}

fn check_metadata(data: &[u8]) {
    let strict = check_properties(data, &Strictness::STRICT);
    let lenient = check_properties(data, &Strictness::LENIENT);
    if let Ok(md) = strict {
        assert_eq!(lenient, Ok(md), "Strict accepts, Lenient differs");
    }
}

fn check_properties<'a>(data: &'a [u8], s: &Strictness) -> Result<Metadata<'a>, DecodeError> {
    let result = Metadata::load(data, s);
    let Ok(md) = &result else {
        return result;
    };
    assert_eq!(md.raw(), data);
    assert_eq!(md.is_empty(), data.is_empty());
    let props: Vec<Property<'_>> = md.iter().collect();
    assert_eq!(Metadata::encoded_len(props.iter().copied()), data.len());
    let mut again = Vec::new();
    Metadata::encode(props.iter().copied(), &mut again);
    assert_eq!(again, data, "property list re-encodes differently");
    for p in &props {
        if *s == Strictness::STRICT {
            assert!(!p.name.is_empty());
        }
        let first = props
            .iter()
            .find(|q| q.name.eq_ignore_ascii_case(p.name))
            .map(|q| q.value);
        assert_eq!(md.get(&p.name.to_ascii_uppercase()), first);
        let exact = props.iter().find(|q| q.name == p.name).map(|q| q.value);
        assert_eq!(md.get_exact(p.name), exact);
    }
    result
}

fn check_frame(data: &[u8], profile: Profile) {
    let config = Config::new(profile);
    let s = config.strictness;
    let loaded = Frame::load(data, &config);
    // One-shot agrees with streaming.
    match (Frame::load_exact(data, &config), &loaded) {
        (Ok(f), Ok(Status::Done(g, used))) => assert!(f == *g && *used == data.len()),
        (Err(DecodeError::TrailingData { count }), Ok(Status::Done(_, used))) => {
            assert_eq!(count, data.len() - used);
        }
        (Err(DecodeError::TruncatedFrame { needed }), Ok(Status::NeedMore(n))) => {
            assert_eq!(needed, *n as u64);
        }
        (Err(e), Err(l)) => assert_eq!(&e, l),
        (exact, loaded) => panic!("load_exact {exact:?} disagrees with load {loaded:?}"),
    }
    let Ok(Status::Done(frame, used)) = loaded else {
        return;
    };
    assert_eq!(frame.to_vec(), &data[..used]);
    for mech in MECHANISMS {
        let from_frame = Command::from_frame(&frame, mech, &s);
        if frame.is_command() {
            assert_eq!(from_frame, Command::load(frame.body, mech, &s));
        } else {
            assert_eq!(
                from_frame,
                Err(DecodeError::NotACommand {
                    flags: frame.flags.0
                })
            );
        }
    }
    let sub = Subscription::from_frame(&frame, &s);
    if profile == Profile::Strict
        && let Ok(sub) = sub
    {
        assert_eq!(
            Subscription::from_frame(&frame, &Strictness::LENIENT),
            Ok(sub),
            "Strict accepts, Lenient differs"
        );
    }
    let Ok(sub) = sub else {
        return;
    };
    assert_eq!(
        sub.form == SubscriptionForm::Command,
        frame.is_command(),
        "wrong form"
    );
    let wire = sub.to_vec();
    let strict = Config::new(Profile::Strict);
    let again = Frame::load_exact(&wire, &strict);
    let Ok(again) = again else {
        panic!("subscription frame does not decode: {again:?}");
    };
    assert_eq!(
        Subscription::from_frame(&again, &strict.strictness),
        Ok(sub),
        "re-encoded subscription decodes differently"
    );
}
