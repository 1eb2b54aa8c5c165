//! What the raw peer announces and how it behaves.

use serde::{Deserialize, Serialize};
use zmtp_codec::{Mechanism, Profile, Version, pad_mechanism};

/// How the greeting is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GreetingMode {
    /// All 64 octets in one write.
    #[default]
    Whole,
    /// Like libzmq: the 10-octet signature, then octet 10 once the peer's signature arrived,
    /// then the rest once the peer's octet 10 arrived.
    Staged,
    /// One octet per write.
    Bytewise,
    /// Nothing; a step writes the greeting (or not) itself.
    Manual,
}

/// Credentials for the PLAIN mechanism.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PlainSettings {
    /// As client: the user name sent; as server: the only user accepted.
    #[serde(default)]
    pub username: String,
    /// As client: the password sent; as server: the only password accepted.
    #[serde(default)]
    pub password: String,
}

/// Everything the raw peer announces, and how it reads the other side.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeerSettings {
    /// ZMTP version in the greeting, `[major, minor]`.
    pub version: [u8; 2],
    /// Mechanism name (padded with NUL to 20 octets; any octets allowed, to misbehave).
    pub mechanism: String,
    /// The as-server octet.
    pub as_server: Option<u8>,
    /// The 8 padding octets, hex (default zero).
    pub padding_hex: Option<String>,
    /// Octet 9 of the signature (default 0x7F).
    pub signature_end: u8,
    /// The 31 filler octets, hex (default zero).
    pub filler_hex: Option<String>,
    /// How the greeting is written.
    pub greeting: GreetingMode,
    /// The Socket-Type property; empty = do not send one.
    pub socket_type: String,
    /// The Identity property, as text; absent = do not send one.
    pub identity: Option<String>,
    /// The Identity property, hex (takes precedence over `identity`).
    pub identity_hex: Option<String>,
    /// Extra properties, name → value text, in this order.
    pub properties: Vec<(String, String)>,
    /// Send READY right after the greeting, without waiting for the peer's (NULL).
    pub send_ready: bool,
    /// Answer PING with PONG.
    pub auto_pong: bool,
    /// Read the other side with the lenient profile (else strict).
    pub lenient: bool,
    /// Largest frame accepted from the other side.
    pub max_frame_size: u64,
    /// SO_RCVBUF for the socket, to make back-pressure come sooner.
    pub rcvbuf: Option<u32>,
    /// SO_SNDBUF for the socket.
    pub sndbuf: Option<u32>,
    /// PLAIN credentials (mechanism "PLAIN").
    pub plain: Option<PlainSettings>,
    /// For PLAIN/CURVE: act as the server of the security handshake (default: the side that
    /// listens).
    pub server: Option<bool>,
    /// `peer.connect` only: greet and complete the handshake in the background right after the
    /// TCP connection is up, so the next steps race with it (a real application's connect).
    pub auto_handshake: bool,
    /// Topics (text) to subscribe to as soon as the handshake completes, in the form the
    /// implementation's version calls for.
    pub subscribe: Vec<String>,
}

impl Default for PeerSettings {
    fn default() -> Self {
        PeerSettings {
            version: [3, 1],
            mechanism: "NULL".into(),
            as_server: None,
            padding_hex: None,
            signature_end: 0x7F,
            filler_hex: None,
            greeting: GreetingMode::Whole,
            socket_type: String::new(),
            identity: None,
            identity_hex: None,
            properties: Vec::new(),
            send_ready: true,
            auto_pong: true,
            lenient: true,
            max_frame_size: 64 << 20,
            rcvbuf: None,
            sndbuf: None,
            plain: None,
            server: None,
            auto_handshake: false,
            subscribe: Vec::new(),
        }
    }
}

fn hex_array<const N: usize>(hex_text: Option<&str>, what: &str) -> Result<[u8; N], String> {
    let Some(text) = hex_text else {
        return Ok([0; N]);
    };
    let bytes = hex::decode(text).map_err(|e| format!("{what}: {e}"))?;
    let mut out = [0u8; N];
    if bytes.len() != N {
        return Err(format!("{what}: need {N} octets, got {}", bytes.len()));
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

impl PeerSettings {
    /// A well-behaved peer of the given socket type.
    pub fn of_type(socket_type: &str) -> Self {
        PeerSettings {
            socket_type: socket_type.to_string(),
            ..PeerSettings::default()
        }
    }

    /// The announced version.
    pub fn version(&self) -> Version {
        Version {
            major: self.version[0],
            minor: self.version[1],
        }
    }

    /// The 20-octet mechanism field.
    pub fn mechanism_field(&self) -> [u8; 20] {
        pad_mechanism(self.mechanism.as_bytes())
    }

    /// Whether this peer plays the server in the security handshake, given which side of the
    /// TCP connection it is on.
    pub fn is_server(&self, listening: bool) -> bool {
        self.server.unwrap_or(listening)
    }

    /// The 64-octet greeting this peer sends.
    pub fn greeting_bytes(&self, listening: bool) -> Result<[u8; 64], String> {
        let padding: [u8; 8] = hex_array(self.padding_hex.as_deref(), "padding_hex")?;
        let filler: [u8; 31] = hex_array(self.filler_hex.as_deref(), "filler_hex")?;
        let mechanism = self.mechanism_field();
        let default_as_server = match Mechanism(&mechanism).kind() {
            zmtp_codec::MechanismKind::Null | zmtp_codec::MechanismKind::Other => 0,
            _ => u8::from(self.is_server(listening)),
        };
        let g = zmtp_codec::Greeting {
            padding: &padding,
            signature_end: self.signature_end,
            version: self.version(),
            mechanism: Mechanism(&mechanism),
            as_server: self.as_server.unwrap_or(default_as_server),
            filler: &filler,
        };
        Ok(g.to_bytes())
    }

    /// The identity octets, if any.
    pub fn identity_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        if let Some(h) = &self.identity_hex {
            return hex::decode(h)
                .map(Some)
                .map_err(|e| format!("identity_hex: {e}"));
        }
        Ok(self.identity.as_ref().map(|s| s.as_bytes().to_vec()))
    }

    /// The metadata this peer announces (Socket-Type, Identity, extras), encoded.
    pub fn metadata_bytes(&self) -> Result<Vec<u8>, String> {
        let identity = self.identity_bytes()?;
        let mut props: Vec<(&[u8], &[u8])> = Vec::new();
        if !self.socket_type.is_empty() {
            props.push((b"Socket-Type", self.socket_type.as_bytes()));
        }
        if let Some(id) = &identity {
            props.push((b"Identity", id));
        }
        for (n, v) in &self.properties {
            props.push((n.as_bytes(), v.as_bytes()));
        }
        let mut out = Vec::new();
        zmtp_codec::Metadata::encode(
            props
                .into_iter()
                .map(|(name, value)| zmtp_codec::Property { name, value }),
            &mut out,
        );
        Ok(out)
    }

    /// The codec profile used to read the other side.
    pub fn profile(&self) -> Profile {
        if self.lenient {
            Profile::Lenient
        } else {
            Profile::Strict
        }
    }
}
