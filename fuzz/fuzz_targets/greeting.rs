//! `detect_peer` and `Greeting::load` / `load_exact` under both profiles on arbitrary octets.
//!
//! Invariants (each a crash if broken):
//! - `detect_peer` reads at most 11 octets, and a verdict on a prefix is the verdict on the
//!   whole input;
//! - a decoded greeting used exactly 64 octets and `to_bytes` gives those 64 octets back;
//!   `load_exact` agrees with `load`; the Strict profile only returns grammatical greetings;
//! - on every prefix, `load` asks for exactly the missing octets or fails with the error the
//!   whole input fails with (errors are reported as early as the octets allow, and never
//!   change as more arrive);
//! - `load` and `detect_peer` agree on legacy peers;
//! - whatever Strict accepts, Lenient accepts as the same greeting.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmtp_codec::{
    DecodeError, GREETING_LEN, Greeting, PeerVersion, Profile, Status, Strictness, detect_peer,
};

fuzz_target!(|data: &[u8]| {
    let detected = check_detect(data);
    let strict = check_profile(data, Profile::Strict, detected);
    let lenient = check_profile(data, Profile::Lenient, detected);
    if let Ok(Status::Done(g, used)) = strict {
        assert_eq!(
            lenient,
            Ok(Status::Done(g, used)),
            "Strict accepts, Lenient differs"
        );
    }
});

fn check_detect(data: &[u8]) -> Status<PeerVersion> {
    let whole = detect_peer(data);
    match whole {
        Status::Done(peer, used) => {
            assert!(
                matches!(used, 1 | 10 | 11) && used <= data.len(),
                "{whole:?}"
            );
            match peer {
                PeerVersion::Zmtp10 => assert!(used == 1 || used == 10),
                PeerVersion::Zmtp20 { revision } => assert!(used == 11 && revision < 3),
                PeerVersion::Zmtp3 { major } => assert!(used == 11 && major >= 3),
            }
        }
        Status::NeedMore(n) => assert!(n >= 1 && data.len() + n <= 11, "{whole:?}"),
    }
    for p in 0..=data.len().min(11) {
        match detect_peer(&data[..p]) {
            done @ Status::Done(..) => assert_eq!(done, whole, "prefix {p} decided differently"),
            Status::NeedMore(n) => assert!(n >= 1 && p + n <= 11),
        }
    }
    whole
}

fn check_profile<'a>(
    data: &'a [u8],
    profile: Profile,
    detected: Status<PeerVersion>,
) -> Result<Status<Greeting<'a>>, DecodeError> {
    let s = profile.strictness();
    let whole = Greeting::load(data, &s);
    match &whole {
        Ok(Status::Done(g, used)) => {
            assert_eq!(*used, GREETING_LEN);
            assert_eq!(
                &g.to_bytes()[..],
                &data[..GREETING_LEN],
                "re-encoding differs"
            );
            let mut encoded = Vec::new();
            g.encode(&mut encoded);
            assert_eq!(encoded, g.to_bytes());
            assert_eq!(
                detected,
                Status::Done(
                    PeerVersion::Zmtp3 {
                        major: g.version.major
                    },
                    11
                )
            );
            assert_eq!(Greeting::load_exact(&data[..GREETING_LEN], &s), Ok(*g));
            if s == Strictness::STRICT {
                assert_eq!(g.signature_end, 0x7F);
                assert!(g.mechanism.validate().is_ok());
                assert!(g.as_server <= 1);
                assert!(g.filler.iter().all(|&b| b == 0));
            }
        }
        Ok(Status::NeedMore(n)) => assert_eq!(data.len() + n, GREETING_LEN),
        Err(DecodeError::LegacyPeer { peer }) => {
            assert!(
                matches!(detected, Status::Done(p, _) if p == *peer),
                "{detected:?}"
            );
        }
        Err(DecodeError::BadSignatureStart { found }) => {
            assert_eq!(data.first(), Some(found));
            assert_eq!(detected, Status::Done(PeerVersion::Zmtp10, 1));
        }
        Err(_) => {}
    }
    // What detection decides, the greeting parser must not contradict.
    match detected {
        Status::Done(PeerVersion::Zmtp10, _) => assert!(
            matches!(
                whole,
                Err(DecodeError::BadSignatureStart { .. }
                    | DecodeError::LegacyPeer {
                        peer: PeerVersion::Zmtp10
                    })
            ),
            "{whole:?}"
        ),
        Status::Done(PeerVersion::Zmtp20 { revision }, _) => {
            let legacy = Err(DecodeError::LegacyPeer {
                peer: PeerVersion::Zmtp20 { revision },
            });
            if s.signature_end {
                assert!(
                    whole == legacy || matches!(whole, Err(DecodeError::BadSignatureEnd { .. })),
                    "{whole:?}"
                );
            } else {
                assert_eq!(whole, legacy);
            }
        }
        _ => {}
    }
    // Streaming: every prefix needs exactly the rest, or already fails the same way.
    for p in 0..data.len().min(GREETING_LEN) {
        match Greeting::load(&data[..p], &s) {
            Ok(Status::Done(..)) => panic!("greeting decoded from {p} octets"),
            Ok(Status::NeedMore(n)) => assert_eq!(p + n, GREETING_LEN),
            Err(e) => assert_eq!(whole, Err(e), "prefix {p} fails differently"),
        }
    }
    // One-shot.
    match (Greeting::load_exact(data, &s), &whole) {
        (Ok(g), Ok(Status::Done(w, _))) => {
            assert_eq!(data.len(), GREETING_LEN);
            assert_eq!(g, *w);
        }
        (Err(DecodeError::TrailingData { count }), Ok(Status::Done(..))) => {
            assert_eq!(count, data.len() - GREETING_LEN);
        }
        (Err(DecodeError::TruncatedGreeting { found }), Ok(Status::NeedMore(_))) => {
            assert_eq!(found, data.len());
        }
        (Err(e), Err(w)) => assert_eq!(&e, w),
        (exact, whole) => panic!("load_exact {exact:?} disagrees with load {whole:?}"),
    }
    whole
}
