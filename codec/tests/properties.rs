//! Property tests: every value survives encode → decode; chunking a valid stream never changes
//! what is decoded; arbitrary octets never panic any entry point.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use proptest::collection::vec;
use proptest::prelude::*;
use zmtp_codec::command::*;
use zmtp_codec::session::{InboundSession, Local, Role};
use zmtp_codec::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

fn mechanism_name() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            (b'A'..=b'Z'),
            (b'0'..=b'9'),
            Just(b'-'),
            Just(b'_'),
            Just(b'.'),
            Just(b'+')
        ],
        1..=20,
    )
}

fn property_name() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            (b'a'..=b'z'),
            (b'A'..=b'Z'),
            (b'0'..=b'9'),
            Just(b'-'),
            Just(b'.')
        ],
        1..=255,
    )
}

fn properties() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    vec((property_name(), bytes(300)), 0..6)
}

fn encode_props(props: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    Metadata::encode(
        props.iter().map(|(n, v)| Property { name: n, value: v }),
        &mut out,
    );
    out
}

/// An owned description of any command, for generating and then borrowing from.
#[derive(Debug, Clone)]
enum Spec {
    Ready(Vec<(Vec<u8>, Vec<u8>)>),
    Error(Vec<u8>),
    Subscribe(Vec<u8>),
    Cancel(Vec<u8>),
    Ping(u16, Vec<u8>),
    Pong(Vec<u8>),
    Join(Vec<u8>),
    Leave(Vec<u8>),
    PlainHello(Vec<u8>, Vec<u8>),
    PlainWelcome,
    PlainInitiate(Vec<(Vec<u8>, Vec<u8>)>),
    CurveHello(Vec<u8>),
    CurveWelcome(Vec<u8>),
    CurveInitiate(Vec<u8>),
    CurveReady(Vec<u8>),
    CurveMessage(Vec<u8>),
    Unknown(Vec<u8>, Vec<u8>),
}

fn spec() -> impl Strategy<Value = Spec> {
    let printable = vec(0x20u8..=0x7E, 0..=255);
    let group = vec(1u8..=255, 0..=255);
    prop_oneof![
        properties().prop_map(Spec::Ready),
        printable.prop_map(Spec::Error),
        bytes(400).prop_map(Spec::Subscribe),
        bytes(400).prop_map(Spec::Cancel),
        (any::<u16>(), bytes(16)).prop_map(|(t, c)| Spec::Ping(t, c)),
        bytes(16).prop_map(Spec::Pong),
        group.clone().prop_map(Spec::Join),
        group.prop_map(Spec::Leave),
        (bytes(255), bytes(255)).prop_map(|(u, p)| Spec::PlainHello(u, p)),
        Just(Spec::PlainWelcome),
        properties().prop_map(Spec::PlainInitiate),
        vec(any::<u8>(), 120)
            .prop_map(|r| Spec::CurveHello([&[1u8, 0][..], &[0; 72], &r].concat())),
        vec(any::<u8>(), 160).prop_map(Spec::CurveWelcome),
        vec(any::<u8>(), 248..400).prop_map(Spec::CurveInitiate),
        vec(any::<u8>(), 24..100).prop_map(Spec::CurveReady),
        vec(any::<u8>(), 25..100).prop_map(Spec::CurveMessage),
        (
            vec(b'a'..=b'z', 1..=255).prop_filter("not a known name", |n| !matches!(
                n.as_slice(),
                b"READY"
                    | b"ERROR"
                    | b"SUBSCRIBE"
                    | b"CANCEL"
                    | b"PING"
                    | b"PONG"
                    | b"JOIN"
                    | b"LEAVE"
            )),
            bytes(300)
        )
            .prop_map(|(n, d)| Spec::Unknown(n, d)),
    ]
}

/// Builds the command (borrowing from `spec` and `scratch`) and the mechanism to read it with.
fn build<'a>(spec: &'a Spec, scratch: &'a [u8]) -> (Command<'a>, MechanismKind) {
    let s = &Strictness::STRICT;
    let md = || Metadata::load(scratch, s).unwrap();
    match spec {
        Spec::Ready(_) => (
            Command::Ready(Ready { metadata: md() }),
            MechanismKind::Null,
        ),
        Spec::Error(r) => (
            Command::Error(ErrorCommand { reason: r }),
            MechanismKind::Null,
        ),
        Spec::Subscribe(t) => (
            Command::Subscribe(Subscribe { topic: t }),
            MechanismKind::Null,
        ),
        Spec::Cancel(t) => (Command::Cancel(Cancel { topic: t }), MechanismKind::Null),
        Spec::Ping(ttl, c) => (
            Command::Ping(Ping {
                ttl: *ttl,
                context: c,
            }),
            MechanismKind::Null,
        ),
        Spec::Pong(c) => (Command::Pong(Pong { context: c }), MechanismKind::Null),
        Spec::Join(g) => (Command::Join(Join { group: g }), MechanismKind::Null),
        Spec::Leave(g) => (Command::Leave(Leave { group: g }), MechanismKind::Null),
        Spec::PlainHello(u, p) => (
            Command::PlainHello(PlainHello {
                username: u,
                password: p,
            }),
            MechanismKind::Plain,
        ),
        Spec::PlainWelcome => (Command::PlainWelcome(PlainWelcome), MechanismKind::Plain),
        Spec::PlainInitiate(_) => (
            Command::PlainInitiate(PlainInitiate { metadata: md() }),
            MechanismKind::Plain,
        ),
        Spec::CurveHello(d) => (
            Command::CurveHello(CurveHello {
                major: d[0],
                minor: d[1],
                padding: d[2..74].try_into().unwrap(),
                client_transient_key: d[74..106].try_into().unwrap(),
                nonce: d[106..114].try_into().unwrap(),
                signature_box: d[114..194].try_into().unwrap(),
            }),
            MechanismKind::Curve,
        ),
        Spec::CurveWelcome(d) => (
            Command::CurveWelcome(CurveWelcome {
                nonce: d[..16].try_into().unwrap(),
                ciphertext: d[16..160].try_into().unwrap(),
            }),
            MechanismKind::Curve,
        ),
        Spec::CurveInitiate(d) => (
            Command::CurveInitiate(CurveInitiate {
                cookie: d[..96].try_into().unwrap(),
                nonce: d[96..104].try_into().unwrap(),
                ciphertext: &d[104..],
            }),
            MechanismKind::Curve,
        ),
        Spec::CurveReady(d) => (
            Command::CurveReady(CurveReady {
                nonce: d[..8].try_into().unwrap(),
                ciphertext: &d[8..],
            }),
            MechanismKind::Curve,
        ),
        Spec::CurveMessage(d) => (
            Command::CurveMessage(CurveMessage {
                nonce: d[..8].try_into().unwrap(),
                ciphertext: &d[8..],
            }),
            MechanismKind::Curve,
        ),
        Spec::Unknown(n, d) => (
            Command::Unknown(Unknown { name: n, data: d }),
            MechanismKind::Null,
        ),
    }
}

fn scratch_for(spec: &Spec) -> Vec<u8> {
    match spec {
        Spec::Ready(p) | Spec::PlainInitiate(p) => encode_props(p),
        _ => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn greeting_round_trips(
        major in 3u8.., minor in any::<u8>(), name in mechanism_name(),
        as_server in 0u8..=1, padding in any::<[u8; 8]>(),
    ) {
        let mech = pad_mechanism(&name);
        let g = Greeting {
            padding: &padding,
            signature_end: 0x7F,
            version: Version { major, minor },
            mechanism: Mechanism(&mech),
            as_server,
            filler: &ZERO_FILLER,
        };
        let bytes = g.to_bytes();
        prop_assert_eq!(Greeting::load_exact(&bytes, &Strictness::STRICT).unwrap(), g);
    }

    #[test]
    fn frame_round_trips(flags in 0u8..8, body in bytes(600)) {
        let frame = Frame { flags: Flags(flags), body: &body };
        let wire = frame.to_vec();
        prop_assert_eq!(wire.len(), frame.encoded_len());
        let cfg = Config::new(Profile::Lenient);
        let back = Frame::load_exact(&wire, &cfg).unwrap();
        prop_assert_eq!(back.body, &body[..]);
        prop_assert_eq!(back.flags.0 & !Flags::LONG, flags & !Flags::LONG);
        prop_assert_eq!(back.is_long(), body.len() > 255 || flags & Flags::LONG != 0);
    }

    #[test]
    fn command_round_trips(spec in spec()) {
        let scratch = scratch_for(&spec);
        let (cmd, mech) = build(&spec, &scratch);
        let wire = cmd.to_vec();
        let frame = Frame::load_exact(&wire, &Config::new(Profile::Strict)).unwrap();
        prop_assert!(frame.is_command());
        prop_assert_eq!(frame.is_long(), cmd.body_len() > 255);
        let back = Command::from_frame(&frame, mech, &Strictness::STRICT).unwrap();
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn metadata_round_trips(props in properties()) {
        let wire = encode_props(&props);
        let md = Metadata::load(&wire, &Strictness::STRICT).unwrap();
        let back: Vec<(Vec<u8>, Vec<u8>)> =
            md.iter().map(|p| (p.name.to_vec(), p.value.to_vec())).collect();
        prop_assert_eq!(back, props.clone());
        for (name, value) in &props {
            let upper = name.to_ascii_uppercase();
            // The first property with this name in any case wins.
            let first = props.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).unwrap();
            prop_assert_eq!(md.get(&upper), Some(&first.1[..]));
            let _ = value;
        }
    }

    #[test]
    fn subscription_round_trips(
        subscribe in any::<bool>(), minor in 0u8..3, topic in bytes(600),
    ) {
        let action = if subscribe { SubscriptionAction::Subscribe } else { SubscriptionAction::Cancel };
        let sub = Subscription::for_peer(action, &topic, Version { major: 3, minor });
        let wire = sub.to_vec();
        let frame = Frame::load_exact(&wire, &Config::new(Profile::Strict)).unwrap();
        prop_assert_eq!(Subscription::from_frame(&frame, &Strictness::STRICT).unwrap(), sub);
    }

    /// However a valid stream is cut into chunks, the decoder yields the same items.
    #[test]
    fn chunking_never_changes_the_result(
        frames in vec((prop::sample::select(vec![0u8, 1, 2, 3, 4, 6]), bytes(700)), 0..12),
        cuts in vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut wire = Greeting::new(Version::V3_1, Mechanism::NULL).to_bytes().to_vec();
        for (flags, body) in &frames {
            Frame { flags: Flags(*flags), body }.encode(&mut wire);
        }
        let whole = decode_all(&[&wire[..]]);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&wire[last..p]);
            last = p;
        }
        chunks.push(&wire[last..]);
        prop_assert_eq!(decode_all(&chunks), whole.clone());
        prop_assert_eq!(whole.len(), frames.len() + 1);
    }

    /// No input makes any entry point panic.
    #[test]
    fn arbitrary_octets_never_panic(input in bytes(600), cuts in vec(1usize..50, 0..10)) {
        let strict = Config::new(Profile::Strict).with_max_frame_size(1 << 20);
        let lenient = Config::new(Profile::Lenient);
        let _ = detect_peer(&input);
        for cfg in [strict, lenient] {
            let _ = Greeting::load(&input, &cfg.strictness);
            let _ = Frame::load(&input, &cfg);
            for mech in [MechanismKind::Null, MechanismKind::Plain, MechanismKind::Curve, MechanismKind::Other] {
                let _ = Command::load(&input, mech, &cfg.strictness);
            }
            let _ = Metadata::load(&input, &cfg.strictness);
            if let Ok(Status::Done(f, _)) = Frame::load(&input, &cfg) {
                let _ = Subscription::from_frame(&f, &cfg.strictness);
            }
            let mut dec = StreamDecoder::with_decoder(Decoder::frames(cfg));
            let mut session = InboundSession::new(Local {
                mechanism: *Mechanism::NULL.0, role: Role::Server, config: cfg,
            });
            let mut rest = &input[..];
            for c in cuts.iter().chain(std::iter::once(&usize::MAX)) {
                let (head, tail) = rest.split_at((*c).min(rest.len()));
                rest = tail;
                dec.feed(head);
                while let Ok(Some(_)) = dec.next_item() {}
                session.feed(head);
                while let Ok(Some(_)) = session.poll() {}
            }
            let _ = dec.finish();
            let _ = session.finish();
        }
    }
}

/// Decodes chunks into a comparable list of items (flags and body octets for frames).
fn decode_all(chunks: &[&[u8]]) -> Vec<(Option<u8>, Vec<u8>)> {
    let mut dec = StreamDecoder::new(Config::new(Profile::Strict));
    let mut out = Vec::new();
    for chunk in chunks {
        dec.feed(chunk);
        while let Some(item) = dec.next_item().unwrap() {
            out.push(match item {
                Item::Greeting(g) => (None, g.to_bytes().to_vec()),
                Item::Frame(f) => (Some(f.flags.0), f.body.to_vec()),
            });
        }
    }
    dec.finish().unwrap_or_else(|e| {
        // A stream whose last frame had MORE ends mid-message; that is the only allowed error.
        assert_eq!(e.error, DecodeError::TruncatedMessage);
    });
    out
}

#[test]
fn hostile_length_allocates_nothing() {
    // A 9-octet header declaring 2^62 octets: the decoder waits, holding only what was fed.
    let mut dec = StreamDecoder::with_decoder(Decoder::frames(Config::new(Profile::Lenient)));
    dec.feed(b"\x02\x40\0\0\0\0\0\0\0abc");
    assert!(dec.next_item().unwrap().is_none());
    assert_eq!(dec.needed() as u64, (1u64 << 62) - 3);
    assert_eq!(dec.pending(), 12);
}
