//! CurveZMQ (RFC 26, ZMTP-CURVE) for the raw peer, sans-IO: the boxes of every command, built
//! and opened from `spec/zmtp.md` appendix C (CURVE-16, CURVE-24..CURVE-43), with the
//! cryptography of `dryoc` (libsodium-compatible `crypto_box` and `crypto_secretbox`, pinned in
//! `harness/Cargo.toml`). Nothing here does I/O: a [`CurveClient`] or [`CurveServer`] turns
//! received command data into checked values and produces the octets of the next command, each
//! with an optional [`Fault`] so that a case can send one thing wrong.
//!
//! Every long nonce and transient key can be fixed ([`Fixed`]) so that the golden vectors of
//! `vectors/curve/boxes.json` come out octet for octet; otherwise they are random.

use dryoc::classic::crypto_box::{crypto_box_easy, crypto_box_open_easy};
use dryoc::classic::crypto_core::crypto_scalarmult_base;
use dryoc::classic::crypto_secretbox::{crypto_secretbox_easy, crypto_secretbox_open_easy};
use thiserror::Error;

/// A Curve25519 key (public or secret).
pub type Key = [u8; 32];

/// The Poly1305 tag in front of every box.
const MAC: usize = 16;

/// Errors of opening or checking a CURVE command.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CurveError {
    /// A command's data has the wrong length.
    #[error("[{requirement}] {what}: {got} octet(s) of data, expected {expected}")]
    Length {
        /// Which command or box.
        what: &'static str,
        /// Octets seen.
        got: usize,
        /// What the layout needs.
        expected: String,
        /// Requirement ID.
        requirement: &'static str,
    },
    /// A box does not open with the keys it must open with.
    #[error("[{requirement}] the {what} box does not open")]
    Open {
        /// Which box.
        what: &'static str,
        /// Requirement ID.
        requirement: &'static str,
    },
    /// A field has a value other than the spec's.
    #[error("[{requirement}] {what}: expected {expected}, got {got}")]
    Field {
        /// Which field.
        what: &'static str,
        /// Expected value, hex.
        expected: String,
        /// Seen value, hex.
        got: String,
        /// Requirement ID.
        requirement: &'static str,
    },
    /// A short nonce that does not increase.
    #[error("[CURVE-18] short nonce {got} is not greater than the last one accepted, {last}")]
    Nonce {
        /// The nonce seen.
        got: u64,
        /// The last nonce accepted.
        last: u64,
    },
    /// A step taken out of order (no WELCOME yet, for instance).
    #[error("CURVE state: {0}")]
    State(&'static str),
}

impl CurveError {
    /// The requirement the error concerns.
    pub fn requirement(&self) -> &'static str {
        match self {
            CurveError::Length { requirement, .. }
            | CurveError::Open { requirement, .. }
            | CurveError::Field { requirement, .. } => requirement,
            CurveError::Nonce { .. } => "CURVE-18",
            CurveError::State(_) => "CURVE-08",
        }
    }
}

/// One thing wrong in a command the raw peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// HELLO, WELCOME, INITIATE, READY or MESSAGE: one octet of the box flipped (its last).
    FlippedBox,
    /// HELLO: version 01 01 instead of 01 00 (CURVE-02).
    HelloVersion,
    /// HELLO: one padding octet 0x01 (CURVE-03).
    HelloPadding,
    /// HELLO: a box that opens but holds 64 octets of 0x01 (CURVE-34).
    HelloContent,
    /// WELCOME: sealed with another server permanent key (CURVE-35).
    WelcomeWrongKey,
    /// INITIATE: one octet of the cookie flipped (CURVE-36).
    ForgedCookie,
    /// INITIATE: the vouch box sealed with another client permanent key than the C it names
    /// (CURVE-38).
    VouchWrongClientKey,
    /// INITIATE: the vouch names another client transient key C' (CURVE-39).
    VouchWrongTransient,
    /// INITIATE: the vouch names another server permanent key S (CURVE-39).
    VouchWrongServerKey,
    /// INITIATE or MESSAGE: the short nonce of the previous command again (CURVE-17, CURVE-18).
    NonceReplay,
    /// INITIATE: 256 octets (its box one octet short, CURVE-05, CURVE-13); READY: 29 octets;
    /// MESSAGE: 32 octets (CURVE-14).
    Short,
    /// INITIATE or READY: metadata in the box that breaks section 6 (a property whose value
    /// length runs past the end, CURVE-40).
    BadMetadata,
    /// MESSAGE: bit 2 set in the flags octet inside the box (CURVE-43).
    ReservedFlag,
}

/// A key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keypair {
    /// Public key.
    pub public: Key,
    /// Secret key.
    pub secret: Key,
}

impl Keypair {
    /// The pair of a secret key (the public key is computed).
    pub fn from_secret(secret: Key) -> Self {
        let mut public = [0u8; 32];
        crypto_scalarmult_base(&mut public, &secret);
        Self { public, secret }
    }

    /// A fresh random pair.
    pub fn generate() -> Self {
        let mut secret = [0u8; 32];
        dryoc::rng::copy_randombytes(&mut secret);
        Self::from_secret(secret)
    }
}

/// What would otherwise be random: transient keys, long nonces, the cookie key.
#[derive(Debug, Clone, Default)]
pub struct Fixed {
    /// The transient key pair (client: c'; server: s').
    pub transient: Option<Keypair>,
    /// Long nonces, used in order (server: WELCOME, then cookie; client: vouch).
    pub long_nonces: Vec<[u8; 16]>,
    /// The server's cookie key K.
    pub cookie_key: Option<Key>,
}

impl Fixed {
    fn transient(&mut self) -> Keypair {
        self.transient.take().unwrap_or_else(Keypair::generate)
    }

    fn long_nonce(&mut self) -> [u8; 16] {
        if self.long_nonces.is_empty() {
            let mut n = [0u8; 16];
            dryoc::rng::copy_randombytes(&mut n);
            n
        } else {
            self.long_nonces.remove(0)
        }
    }
}

/// The 24-octet nonce of a box: its prefix (CURVE-16), then the transmitted part.
fn nonce(prefix: &[u8], tail: &[u8]) -> [u8; 24] {
    let mut n = [0u8; 24];
    n[..prefix.len()].copy_from_slice(prefix);
    n[prefix.len()..].copy_from_slice(tail);
    n
}

/// `crypto_box` from `from` (secret) to `to` (public): tag then ciphertext.
pub fn seal(message: &[u8], prefix: &[u8], tail: &[u8], to: &Key, from: &Key) -> Vec<u8> {
    let mut out = vec![0u8; message.len() + MAC];
    // Only fails on a too-short output buffer or a message over 2^64 octets.
    let _ = crypto_box_easy(&mut out, message, &nonce(prefix, tail), to, from);
    out
}

/// Opens a `crypto_box` sealed from `from` (public) to `to` (secret).
pub fn open(boxed: &[u8], prefix: &[u8], tail: &[u8], from: &Key, to: &Key) -> Option<Vec<u8>> {
    if boxed.len() < MAC {
        return None;
    }
    let mut out = vec![0u8; boxed.len() - MAC];
    crypto_box_open_easy(&mut out, boxed, &nonce(prefix, tail), from, to).ok()?;
    Some(out)
}

fn secretbox(message: &[u8], prefix: &[u8], tail: &[u8], key: &Key) -> Vec<u8> {
    let mut out = vec![0u8; message.len() + MAC];
    let _ = crypto_secretbox_easy(&mut out, message, &nonce(prefix, tail), key);
    out
}

fn secretbox_open(boxed: &[u8], prefix: &[u8], tail: &[u8], key: &Key) -> Option<Vec<u8>> {
    if boxed.len() < MAC {
        return None;
    }
    let mut out = vec![0u8; boxed.len() - MAC];
    crypto_secretbox_open_easy(&mut out, boxed, &nonce(prefix, tail), key).ok()?;
    Some(out)
}

/// A command frame (flags 0x04 or 0x06) holding `name` then `data`.
pub fn command_frame(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(1 + name.len() + data.len());
    body.push(name.len() as u8);
    body.extend_from_slice(name);
    body.extend_from_slice(data);
    zmtp_codec::Frame::command(&body).to_vec()
}

fn key_at(data: &[u8], at: usize) -> Key {
    let mut k = [0u8; 32];
    k.copy_from_slice(&data[at..at + 32]);
    k
}

fn need(
    what: &'static str,
    data: &[u8],
    ok: bool,
    expected: &str,
    requirement: &'static str,
) -> Result<(), CurveError> {
    if ok {
        Ok(())
    } else {
        Err(CurveError::Length {
            what,
            got: data.len(),
            expected: expected.to_string(),
            requirement,
        })
    }
}

fn flip_last(v: &mut [u8]) {
    if let Some(b) = v.last_mut() {
        *b ^= 0x01;
    }
}

/// Metadata that breaks section 6: a property `Socket-Type` whose value length (255) runs past
/// the end.
const BAD_METADATA: &[u8] = b"\x0bSocket-Type\x00\x00\x00\xffDEALER";

/// What both sides keep once the handshake is through: transient keys and nonce counters.
#[derive(Debug, Clone)]
pub struct Traffic {
    ours: Keypair,
    theirs: Key,
    client: bool,
    /// Our last short nonce sent.
    sent: u64,
    /// The last short nonce accepted from the peer.
    accepted: u64,
}

impl Traffic {
    fn next_nonce(&mut self, fault: Option<Fault>) -> [u8; 8] {
        if fault != Some(Fault::NonceReplay) {
            self.sent += 1;
        }
        self.sent.to_be_bytes()
    }

    fn accept_nonce(&mut self, tail: &[u8]) -> Result<(), CurveError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(tail);
        let got = u64::from_be_bytes(b);
        if got <= self.accepted {
            return Err(CurveError::Nonce {
                got,
                last: self.accepted,
            });
        }
        self.accepted = got;
        Ok(())
    }

    /// The frame of a MESSAGE carrying one frame `payload` (MORE per `more`), CURVE-31.
    pub fn message(&mut self, payload: &[u8], more: bool, fault: Option<Fault>) -> Vec<u8> {
        let prefix: &[u8] = if self.client {
            b"CurveZMQMESSAGEC"
        } else {
            b"CurveZMQMESSAGES"
        };
        let tail = self.next_nonce(fault);
        let mut plain = Vec::with_capacity(1 + payload.len());
        let flags = u8::from(more)
            | if fault == Some(Fault::ReservedFlag) {
                0x04
            } else {
                0
            };
        plain.push(flags);
        plain.extend_from_slice(payload);
        let mut boxed = seal(&plain, prefix, &tail, &self.theirs, &self.ours.secret);
        if fault == Some(Fault::FlippedBox) {
            flip_last(&mut boxed);
        }
        let mut data = tail.to_vec();
        data.extend_from_slice(&boxed);
        if fault == Some(Fault::Short) {
            data.truncate(24); // 8 + 1 + 7 + name 8 = 32 octets of command body, CURVE-14
        }
        command_frame(b"MESSAGE", &data)
    }

    /// Opens the data of a MESSAGE from the peer: the flags octet and the frame's data.
    pub fn open_message(&mut self, data: &[u8]) -> Result<(u8, Vec<u8>), CurveError> {
        need(
            "MESSAGE",
            data,
            data.len() >= 8 + 17,
            "at least 25",
            "CURVE-07",
        )?;
        let prefix: &[u8] = if self.client {
            b"CurveZMQMESSAGES"
        } else {
            b"CurveZMQMESSAGEC"
        };
        let (tail, boxed) = data.split_at(8);
        let plain =
            open(boxed, prefix, tail, &self.theirs, &self.ours.secret).ok_or(CurveError::Open {
                what: "MESSAGE",
                requirement: "CURVE-31",
            })?;
        self.accept_nonce(tail)?;
        let (&flags, rest) = plain.split_first().ok_or(CurveError::Open {
            what: "MESSAGE",
            requirement: "CURVE-22",
        })?;
        Ok((flags, rest.to_vec()))
    }
}

/// The client side of a CURVE handshake (the raw peer connects to a CURVE server).
#[derive(Debug, Clone)]
pub struct CurveClient {
    perm: Keypair,
    server: Key,
    fixed: Fixed,
    traffic: Traffic,
    /// S' once WELCOME is opened.
    server_transient: Option<Key>,
    /// The cookie of the WELCOME.
    cookie: Option<Vec<u8>>,
    /// The long nonce of the WELCOME.
    welcome_nonce: Option<[u8; 16]>,
}

/// What a client learnt from one WELCOME: its long nonce and the contents of its box, for
/// comparing the WELCOMEs of several connections (CURVE-27, CURVE-32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeSeen {
    /// The WELCOME's long nonce (sent in clear).
    pub long_nonce: [u8; 16],
    /// The server transient public key S' from the box.
    pub server_transient: Key,
    /// The 96-octet cookie from the box.
    pub cookie: Vec<u8>,
}

impl WelcomeSeen {
    /// The cookie's long nonce, its first 16 octets.
    pub fn cookie_nonce(&self) -> &[u8] {
        &self.cookie[..16]
    }
}

impl CurveClient {
    /// A client with permanent pair `perm` that knows the server's permanent key `server`.
    pub fn new(perm: Keypair, server: Key, mut fixed: Fixed) -> Self {
        let ours = fixed.transient();
        Self {
            perm,
            server,
            fixed,
            traffic: Traffic {
                ours,
                theirs: [0; 32],
                client: true,
                sent: 0,
                accepted: 0,
            },
            server_transient: None,
            cookie: None,
            welcome_nonce: None,
        }
    }

    /// The client transient public key C'.
    pub fn transient_public(&self) -> Key {
        self.traffic.ours.public
    }

    /// The HELLO frame (CURVE-01..03, CURVE-24).
    pub fn hello(&mut self, fault: Option<Fault>) -> Vec<u8> {
        let tail = self.traffic.next_nonce(None);
        let zeros = if fault == Some(Fault::HelloContent) {
            [1u8; 64]
        } else {
            [0u8; 64]
        };
        let mut boxed = seal(
            &zeros,
            b"CurveZMQHELLO---",
            &tail,
            &self.server,
            &self.traffic.ours.secret,
        );
        if fault == Some(Fault::FlippedBox) {
            flip_last(&mut boxed);
        }
        let mut data = Vec::with_capacity(194);
        data.extend_from_slice(if fault == Some(Fault::HelloVersion) {
            &[1, 1]
        } else {
            &[1, 0]
        });
        let mut padding = [0u8; 72];
        if fault == Some(Fault::HelloPadding) {
            padding[71] = 1;
        }
        data.extend_from_slice(&padding);
        data.extend_from_slice(&self.traffic.ours.public);
        data.extend_from_slice(&tail);
        data.extend_from_slice(&boxed);
        command_frame(b"HELLO", &data)
    }

    /// Opens the data of a WELCOME (CURVE-04, CURVE-25, CURVE-35): keeps S' and the cookie.
    pub fn open_welcome(&mut self, data: &[u8]) -> Result<(), CurveError> {
        need("WELCOME", data, data.len() == 160, "160", "CURVE-04")?;
        let (tail, boxed) = data.split_at(16);
        let plain = open(
            boxed,
            b"WELCOME-",
            tail,
            &self.server,
            &self.traffic.ours.secret,
        )
        .ok_or(CurveError::Open {
            what: "WELCOME",
            requirement: "CURVE-35",
        })?;
        let s_prime = key_at(&plain, 0);
        self.server_transient = Some(s_prime);
        self.traffic.theirs = s_prime;
        self.cookie = Some(plain[32..].to_vec());
        let mut n = [0u8; 16];
        n.copy_from_slice(tail);
        self.welcome_nonce = Some(n);
        Ok(())
    }

    /// The cookie of the WELCOME opened last.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.cookie.as_deref()
    }

    /// The WELCOME opened last: its long nonce, S' and the cookie (None before one).
    pub fn welcome_seen(&self) -> Option<WelcomeSeen> {
        Some(WelcomeSeen {
            long_nonce: self.welcome_nonce?,
            server_transient: self.server_transient?,
            cookie: self.cookie.clone()?,
        })
    }

    /// Carries `cookie` (96 octets, e.g. another connection's) in the INITIATE instead of the
    /// one this connection's WELCOME gave; the initiate box and the vouch stay this
    /// connection's (C' to S'), so only the cookie is foreign (CURVE-36).
    pub fn use_cookie(&mut self, cookie: &[u8]) -> Result<(), CurveError> {
        if self.cookie.is_none() {
            return Err(CurveError::State("a cookie swapped in before WELCOME"));
        }
        need("cookie", cookie, cookie.len() == 96, "96", "CURVE-28")?;
        self.cookie = Some(cookie.to_vec());
        Ok(())
    }

    /// The INITIATE frame (CURVE-05, CURVE-28, CURVE-29) carrying `metadata`.
    pub fn initiate(
        &mut self,
        metadata: &[u8],
        fault: Option<Fault>,
    ) -> Result<Vec<u8>, CurveError> {
        let s_prime = self
            .server_transient
            .ok_or(CurveError::State("INITIATE before WELCOME"))?;
        let mut cookie = self
            .cookie
            .clone()
            .ok_or(CurveError::State("INITIATE before WELCOME"))?;
        if fault == Some(Fault::ForgedCookie) {
            flip_last(&mut cookie);
        }
        let vouch_nonce = self.fixed.long_nonce();
        let mut vouched = Vec::with_capacity(64);
        if fault == Some(Fault::VouchWrongTransient) {
            vouched.extend_from_slice(&Keypair::generate().public);
        } else {
            vouched.extend_from_slice(&self.traffic.ours.public);
        }
        if fault == Some(Fault::VouchWrongServerKey) {
            vouched.extend_from_slice(&Keypair::generate().public);
        } else {
            vouched.extend_from_slice(&self.server);
        }
        let voucher = if fault == Some(Fault::VouchWrongClientKey) {
            Keypair::generate().secret
        } else {
            self.perm.secret
        };
        let vouch_box = seal(&vouched, b"VOUCH---", &vouch_nonce, &s_prime, &voucher);
        let mut plain = Vec::with_capacity(128 + metadata.len());
        plain.extend_from_slice(&self.perm.public);
        plain.extend_from_slice(&vouch_nonce);
        plain.extend_from_slice(&vouch_box);
        if fault == Some(Fault::BadMetadata) {
            plain.extend_from_slice(BAD_METADATA);
        } else {
            plain.extend_from_slice(metadata);
        }
        let tail = self.traffic.next_nonce(fault);
        let mut boxed = seal(
            &plain,
            b"CurveZMQINITIATE",
            &tail,
            &s_prime,
            &self.traffic.ours.secret,
        );
        if fault == Some(Fault::FlippedBox) {
            flip_last(&mut boxed);
        }
        let mut data = cookie;
        data.extend_from_slice(&tail);
        data.extend_from_slice(&boxed);
        if fault == Some(Fault::Short) {
            // 96 + 8 + 143: the body is 256 octets, one short of CURVE-05.
            data.truncate(96 + 8 + 143);
        }
        Ok(command_frame(b"INITIATE", &data))
    }

    /// Opens the data of a READY (CURVE-06, CURVE-30, CURVE-41): the server's metadata.
    pub fn open_ready(&mut self, data: &[u8]) -> Result<Vec<u8>, CurveError> {
        need(
            "READY",
            data,
            data.len() >= 8 + 16,
            "at least 24",
            "CURVE-06",
        )?;
        let s_prime = self
            .server_transient
            .ok_or(CurveError::State("READY before WELCOME"))?;
        let (tail, boxed) = data.split_at(8);
        let plain = open(
            boxed,
            b"CurveZMQREADY---",
            tail,
            &s_prime,
            &self.traffic.ours.secret,
        )
        .ok_or(CurveError::Open {
            what: "READY",
            requirement: "CURVE-41",
        })?;
        self.traffic.accept_nonce(tail)?;
        Ok(plain)
    }

    /// Traffic keys and counters after the handshake.
    pub fn traffic(&mut self) -> &mut Traffic {
        &mut self.traffic
    }
}

/// The server side of a CURVE handshake (the implementation connects to the raw peer).
#[derive(Debug, Clone)]
pub struct CurveServer {
    perm: Keypair,
    fixed: Fixed,
    cookie_key: Key,
    traffic: Traffic,
    /// C' from HELLO.
    client_transient: Option<Key>,
    /// The client's permanent key C, from INITIATE.
    client_permanent: Option<Key>,
}

impl CurveServer {
    /// A server with permanent pair `perm`.
    pub fn new(perm: Keypair, mut fixed: Fixed) -> Self {
        let ours = fixed.transient();
        let cookie_key = fixed
            .cookie_key
            .unwrap_or_else(|| Keypair::generate().secret);
        Self {
            perm,
            fixed,
            cookie_key,
            traffic: Traffic {
                ours,
                theirs: [0; 32],
                client: false,
                sent: 0,
                accepted: 0,
            },
            client_transient: None,
            client_permanent: None,
        }
    }

    /// The client's permanent key, once INITIATE is opened.
    pub fn client_permanent(&self) -> Option<Key> {
        self.client_permanent
    }

    /// Opens the data of a HELLO (CURVE-01..03, CURVE-24, CURVE-34).
    pub fn open_hello(&mut self, data: &[u8]) -> Result<(), CurveError> {
        need("HELLO", data, data.len() == 194, "194", "CURVE-01")?;
        if data[..2] != [1, 0] {
            return Err(CurveError::Field {
                what: "HELLO version",
                expected: "0100".into(),
                got: hex::encode(&data[..2]),
                requirement: "CURVE-02",
            });
        }
        if data[2..74].iter().any(|&b| b != 0) {
            return Err(CurveError::Field {
                what: "HELLO padding",
                expected: "72 zero octets".into(),
                got: hex::encode(&data[2..74]),
                requirement: "CURVE-03",
            });
        }
        let c_prime = key_at(data, 74);
        let tail = &data[106..114];
        let plain = open(
            &data[114..],
            b"CurveZMQHELLO---",
            tail,
            &c_prime,
            &self.perm.secret,
        )
        .ok_or(CurveError::Open {
            what: "HELLO",
            requirement: "CURVE-24",
        })?;
        if plain.iter().any(|&b| b != 0) {
            return Err(CurveError::Field {
                what: "HELLO box content",
                expected: "64 zero octets".into(),
                got: hex::encode(&plain),
                requirement: "CURVE-34",
            });
        }
        self.traffic.accept_nonce(tail)?;
        self.client_transient = Some(c_prime);
        self.traffic.theirs = c_prime;
        Ok(())
    }

    /// The WELCOME frame (CURVE-04, CURVE-25, CURVE-26).
    pub fn welcome(&mut self, fault: Option<Fault>) -> Result<Vec<u8>, CurveError> {
        let c_prime = self
            .client_transient
            .ok_or(CurveError::State("WELCOME before HELLO"))?;
        let welcome_nonce = self.fixed.long_nonce();
        let cookie_nonce = self.fixed.long_nonce();
        let mut cookie_plain = Vec::with_capacity(64);
        cookie_plain.extend_from_slice(&c_prime);
        cookie_plain.extend_from_slice(&self.traffic.ours.secret);
        let mut cookie = cookie_nonce.to_vec();
        cookie.extend_from_slice(&secretbox(
            &cookie_plain,
            b"COOKIE--",
            &cookie_nonce,
            &self.cookie_key,
        ));
        let mut plain = self.traffic.ours.public.to_vec();
        plain.extend_from_slice(&cookie);
        let signer = if fault == Some(Fault::WelcomeWrongKey) {
            Keypair::generate().secret
        } else {
            self.perm.secret
        };
        let mut boxed = seal(&plain, b"WELCOME-", &welcome_nonce, &c_prime, &signer);
        if fault == Some(Fault::FlippedBox) {
            flip_last(&mut boxed);
        }
        let mut data = welcome_nonce.to_vec();
        data.extend_from_slice(&boxed);
        Ok(command_frame(b"WELCOME", &data))
    }

    /// Opens the data of an INITIATE (CURVE-05, CURVE-28, CURVE-29, CURVE-36, CURVE-38,
    /// CURVE-39): returns the client's metadata.
    pub fn open_initiate(&mut self, data: &[u8]) -> Result<Vec<u8>, CurveError> {
        need(
            "INITIATE",
            data,
            data.len() >= 248,
            "at least 248",
            "CURVE-05",
        )?;
        let c_prime = self
            .client_transient
            .ok_or(CurveError::State("INITIATE before HELLO"))?;
        let cookie = secretbox_open(&data[16..96], b"COOKIE--", &data[..16], &self.cookie_key)
            .ok_or(CurveError::Open {
                what: "cookie",
                requirement: "CURVE-36",
            })?;
        if key_at(&cookie, 0) != c_prime || key_at(&cookie, 32) != self.traffic.ours.secret {
            return Err(CurveError::Field {
                what: "cookie contents",
                expected: "C' and s' of this connection".into(),
                got: hex::encode(&cookie),
                requirement: "CURVE-36",
            });
        }
        let tail = &data[96..104];
        let plain = open(
            &data[104..],
            b"CurveZMQINITIATE",
            tail,
            &c_prime,
            &self.traffic.ours.secret,
        )
        .ok_or(CurveError::Open {
            what: "INITIATE",
            requirement: "CURVE-38",
        })?;
        self.traffic.accept_nonce(tail)?;
        need(
            "initiate box",
            &plain,
            plain.len() >= 128,
            "at least 128",
            "CURVE-28",
        )?;
        let c = key_at(&plain, 0);
        let vouch = open(
            &plain[48..128],
            b"VOUCH---",
            &plain[32..48],
            &c,
            &self.traffic.ours.secret,
        )
        .ok_or(CurveError::Open {
            what: "vouch",
            requirement: "CURVE-38",
        })?;
        if key_at(&vouch, 0) != c_prime {
            return Err(CurveError::Field {
                what: "C' in the vouch",
                expected: hex::encode(c_prime),
                got: hex::encode(&vouch[..32]),
                requirement: "CURVE-39",
            });
        }
        if key_at(&vouch, 32) != self.perm.public {
            return Err(CurveError::Field {
                what: "S in the vouch",
                expected: hex::encode(self.perm.public),
                got: hex::encode(&vouch[32..]),
                requirement: "CURVE-39",
            });
        }
        self.client_permanent = Some(c);
        Ok(plain[128..].to_vec())
    }

    /// The READY frame (CURVE-06, CURVE-30) carrying `metadata`.
    pub fn ready(&mut self, metadata: &[u8], fault: Option<Fault>) -> Result<Vec<u8>, CurveError> {
        let c_prime = self
            .client_transient
            .ok_or(CurveError::State("READY before HELLO"))?;
        let tail = self.traffic.next_nonce(fault);
        let plain = if fault == Some(Fault::BadMetadata) {
            BAD_METADATA
        } else {
            metadata
        };
        let mut boxed = seal(
            plain,
            b"CurveZMQREADY---",
            &tail,
            &c_prime,
            &self.traffic.ours.secret,
        );
        if fault == Some(Fault::FlippedBox) {
            flip_last(&mut boxed);
        }
        let mut data = tail.to_vec();
        data.extend_from_slice(&boxed);
        if fault == Some(Fault::Short) {
            data.truncate(23); // a 29-octet body, one short of CURVE-06
        }
        Ok(command_frame(b"READY", &data))
    }

    /// Traffic keys and counters after the handshake.
    pub fn traffic(&mut self) -> &mut Traffic {
        &mut self.traffic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_of(frame: &[u8], name: &[u8]) -> Vec<u8> {
        let header = if frame[0] & 0x02 != 0 { 9 } else { 2 };
        let body = &frame[header..];
        assert_eq!(&body[1..1 + body[0] as usize], name);
        body[1 + name.len()..].to_vec()
    }

    #[test]
    fn handshake_and_messages_between_our_own_client_and_server() {
        let s = Keypair::generate();
        let c = Keypair::generate();
        let mut server = CurveServer::new(s, Fixed::default());
        let mut client = CurveClient::new(c, s.public, Fixed::default());
        let hello = client.hello(None);
        assert_eq!(hello.len(), 202);
        server.open_hello(&data_of(&hello, b"HELLO")).unwrap();
        let welcome = server.welcome(None).unwrap();
        assert_eq!(welcome.len(), 170);
        client.open_welcome(&data_of(&welcome, b"WELCOME")).unwrap();
        let md = b"\x0bSocket-Type\x00\x00\x00\x06DEALER";
        let initiate = client.initiate(md, None).unwrap();
        assert_eq!(
            server
                .open_initiate(&data_of(&initiate, b"INITIATE"))
                .unwrap(),
            md
        );
        assert_eq!(server.client_permanent(), Some(c.public));
        let ready = server.ready(md, None).unwrap();
        assert_eq!(client.open_ready(&data_of(&ready, b"READY")).unwrap(), md);
        let m = client.traffic().message(b"hi", false, None);
        let got = server
            .traffic()
            .open_message(&data_of(&m, b"MESSAGE"))
            .unwrap();
        assert_eq!(got, (0, b"hi".to_vec()));
        let replay = client
            .traffic()
            .message(b"hi", false, Some(Fault::NonceReplay));
        assert!(matches!(
            server.traffic().open_message(&data_of(&replay, b"MESSAGE")),
            Err(CurveError::Nonce { .. })
        ));
    }

    #[test]
    fn every_server_side_fault_is_refused_by_our_own_server() {
        let s = Keypair::generate();
        let c = Keypair::generate();
        for fault in [
            Fault::FlippedBox,
            Fault::HelloVersion,
            Fault::HelloPadding,
            Fault::HelloContent,
        ] {
            let mut server = CurveServer::new(s, Fixed::default());
            let mut client = CurveClient::new(c, s.public, Fixed::default());
            let hello = client.hello(Some(fault));
            assert!(
                server.open_hello(&data_of(&hello, b"HELLO")).is_err(),
                "{fault:?}"
            );
        }
        for fault in [
            Fault::FlippedBox,
            Fault::ForgedCookie,
            Fault::VouchWrongClientKey,
            Fault::VouchWrongTransient,
            Fault::VouchWrongServerKey,
            Fault::NonceReplay,
            Fault::Short,
        ] {
            let mut server = CurveServer::new(s, Fixed::default());
            let mut client = CurveClient::new(c, s.public, Fixed::default());
            let hello = client.hello(None);
            server.open_hello(&data_of(&hello, b"HELLO")).unwrap();
            let welcome = server.welcome(None).unwrap();
            client.open_welcome(&data_of(&welcome, b"WELCOME")).unwrap();
            let initiate = client.initiate(b"", Some(fault)).unwrap();
            assert!(
                server
                    .open_initiate(&data_of(&initiate, b"INITIATE"))
                    .is_err(),
                "{fault:?}"
            );
        }
    }

    /// HELLO and WELCOME between `client` and `server`.
    fn hello_welcome(client: &mut CurveClient, server: &mut CurveServer) {
        server
            .open_hello(&data_of(&client.hello(None), b"HELLO"))
            .unwrap();
        let welcome = server.welcome(None).unwrap();
        client.open_welcome(&data_of(&welcome, b"WELCOME")).unwrap();
    }

    #[test]
    fn welcome_seen_is_what_the_server_put_in_the_box() {
        let s = Keypair::generate();
        let s_prime = Keypair::generate();
        let fixed = Fixed {
            transient: Some(s_prime),
            long_nonces: vec![[7u8; 16], [9u8; 16]],
            cookie_key: None,
        };
        let mut server = CurveServer::new(s, fixed);
        let mut client = CurveClient::new(Keypair::generate(), s.public, Fixed::default());
        assert_eq!(client.welcome_seen(), None);
        hello_welcome(&mut client, &mut server);
        let seen = client.welcome_seen().unwrap();
        assert_eq!(seen.long_nonce, [7u8; 16]);
        assert_eq!(seen.server_transient, s_prime.public);
        assert_eq!(seen.cookie.len(), 96);
        assert_eq!(seen.cookie_nonce(), &[9u8; 16]);
        // A second connection of our own server: fresh S', cookie and nonces.
        let mut server2 = CurveServer::new(s, Fixed::default());
        let mut client2 = CurveClient::new(Keypair::generate(), s.public, Fixed::default());
        hello_welcome(&mut client2, &mut server2);
        let seen2 = client2.welcome_seen().unwrap();
        assert_ne!(seen2.server_transient, seen.server_transient);
        assert_ne!(seen2.cookie, seen.cookie);
        assert_ne!(seen2.long_nonce, seen.long_nonce);
    }

    #[test]
    fn a_cookie_of_another_connection_is_refused_by_our_own_server() {
        let s = Keypair::generate();
        let c = Keypair::generate();
        let (mut server1, mut server2) = (
            CurveServer::new(s, Fixed::default()),
            CurveServer::new(s, Fixed::default()),
        );
        let (mut client1, mut client2) = (
            CurveClient::new(c, s.public, Fixed::default()),
            CurveClient::new(c, s.public, Fixed::default()),
        );
        hello_welcome(&mut client1, &mut server1);
        hello_welcome(&mut client2, &mut server2);
        // Connection 2's own keys, connection 1's cookie.
        let mut swapped = client2.clone();
        assert!(swapped.use_cookie(&[0u8; 95]).is_err());
        swapped.use_cookie(client1.cookie().unwrap()).unwrap();
        let initiate = swapped.initiate(b"", None).unwrap();
        let e = server2
            .clone()
            .open_initiate(&data_of(&initiate, b"INITIATE"))
            .unwrap_err();
        assert_eq!(e.requirement(), "CURVE-36");
        // Connection 1's whole INITIATE (its cookie, keys and vouch) on connection 2.
        let theirs = client1.clone().initiate(b"", None).unwrap();
        let e = server2
            .clone()
            .open_initiate(&data_of(&theirs, b"INITIATE"))
            .unwrap_err();
        assert_eq!(e.requirement(), "CURVE-36");
        // Both connections still complete with their own cookies.
        let own1 = client1.initiate(b"", None).unwrap();
        server1.open_initiate(&data_of(&own1, b"INITIATE")).unwrap();
        let own2 = client2.initiate(b"", None).unwrap();
        server2.open_initiate(&data_of(&own2, b"INITIATE")).unwrap();
        // No cookie can be swapped in before a WELCOME.
        let mut fresh = CurveClient::new(c, s.public, Fixed::default());
        assert!(fresh.use_cookie(&[0u8; 96]).is_err());
    }

    #[test]
    fn client_side_faults_are_refused_by_our_own_client() {
        let s = Keypair::generate();
        let c = Keypair::generate();
        for fault in [Fault::FlippedBox, Fault::WelcomeWrongKey] {
            let mut server = CurveServer::new(s, Fixed::default());
            let mut client = CurveClient::new(c, s.public, Fixed::default());
            server
                .open_hello(&data_of(&client.hello(None), b"HELLO"))
                .unwrap();
            let welcome = server.welcome(Some(fault)).unwrap();
            assert!(client.open_welcome(&data_of(&welcome, b"WELCOME")).is_err());
        }
        for fault in [Fault::FlippedBox, Fault::Short] {
            let mut server = CurveServer::new(s, Fixed::default());
            let mut client = CurveClient::new(c, s.public, Fixed::default());
            server
                .open_hello(&data_of(&client.hello(None), b"HELLO"))
                .unwrap();
            let welcome = server.welcome(None).unwrap();
            client.open_welcome(&data_of(&welcome, b"WELCOME")).unwrap();
            let initiate = client.initiate(b"", None).unwrap();
            server
                .open_initiate(&data_of(&initiate, b"INITIATE"))
                .unwrap();
            let ready = server.ready(b"", Some(fault)).unwrap();
            assert!(
                client.open_ready(&data_of(&ready, b"READY")).is_err(),
                "{fault:?}"
            );
        }
    }
}
