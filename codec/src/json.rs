//! The language-neutral JSON form of decoded values (feature `serde`).
//!
//! This is the form `vectors/` uses for expected results and `zmtp-harness decode --json`
//! prints; `vectors/schema.json` describes it. Rules:
//! - opaque octets (bodies, values, topics, contexts, keys, boxes) are lowercase hex strings;
//! - names (mechanism, command, property), ERROR reasons and PLAIN credentials are strings in
//!   which every octet outside `0x21..=0x7E`, and the backslash, is written `\xNN`
//!   (see [`crate::text::escape`]);
//! - small integers (version, as-server, ttl) are JSON numbers.

use crate::command::*;
use crate::text::{escape, hex};
use crate::{
    Command, Frame, Greeting, Metadata, PeerVersion, Property, Subscription, SubscriptionAction,
    SubscriptionForm,
};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// Octets as a lowercase hex string.
#[derive(Debug, Clone, Copy)]
pub struct Hex<'a>(pub &'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(self.0))
    }
}

/// Octets as a printable string (see [`crate::text::escape`]).
#[derive(Debug, Clone, Copy)]
pub struct Name<'a>(pub &'a [u8]);

impl Serialize for Name<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&escape(self.0))
    }
}

impl Serialize for Greeting<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("padding", &Hex(self.padding))?;
        m.serialize_entry("signature_end", &self.signature_end)?;
        m.serialize_entry("version", &[self.version.major, self.version.minor])?;
        m.serialize_entry("mechanism", &Name(trim_nul(self.mechanism.0)))?;
        m.serialize_entry("as_server", &self.as_server)?;
        m.serialize_entry("filler", &Hex(self.filler))?;
        m.end()
    }
}

/// The mechanism field without its trailing NUL padding (inner NULs are kept, escaped).
fn trim_nul(raw: &[u8]) -> &[u8] {
    let end = raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    raw.get(..end).unwrap_or(raw)
}

impl Serialize for PeerVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match *self {
            PeerVersion::Zmtp10 => m.serialize_entry("peer", "zmtp1.0")?,
            PeerVersion::Zmtp20 { revision } => {
                m.serialize_entry("peer", "zmtp2.0")?;
                m.serialize_entry("revision", &revision)?;
            }
            PeerVersion::Zmtp3 { major } => {
                m.serialize_entry("peer", "zmtp3")?;
                m.serialize_entry("major", &major)?;
            }
        }
        m.end()
    }
}

impl Serialize for Frame<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("more", &self.more())?;
        m.serialize_entry("command", &self.is_command())?;
        if self.flags.reserved() != 0 {
            m.serialize_entry("reserved", &self.flags.reserved())?;
        }
        m.serialize_entry("body", &Hex(self.body))?;
        m.end()
    }
}

impl Serialize for Property<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("name", &Name(self.name))?;
        m.serialize_entry("value", &Hex(self.value))?;
        m.end()
    }
}

/// The property list alone, as a JSON array.
struct PropertyList<'a>(Metadata<'a>);

impl Serialize for PropertyList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for p in self.0.iter() {
            seq.serialize_element(&p)?;
        }
        seq.end()
    }
}

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("properties", &PropertyList(*self))?;
        m.end()
    }
}

impl Serialize for Command<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("command", &Name(self.name()))?;
        match self {
            Command::Ready(Ready { metadata }) => {
                m.serialize_entry("properties", &PropertyList(*metadata))?;
            }
            Command::Error(ErrorCommand { reason }) => {
                m.serialize_entry("reason", &Name(reason))?;
            }
            Command::Subscribe(Subscribe { topic }) | Command::Cancel(Cancel { topic }) => {
                m.serialize_entry("topic", &Hex(topic))?;
            }
            Command::Ping(Ping { ttl, context }) => {
                m.serialize_entry("ttl", ttl)?;
                m.serialize_entry("context", &Hex(context))?;
            }
            Command::Pong(Pong { context }) => m.serialize_entry("context", &Hex(context))?,
            Command::Join(Join { group }) | Command::Leave(Leave { group }) => {
                m.serialize_entry("group", &Hex(group))?;
            }
            Command::PlainHello(PlainHello { username, password }) => {
                m.serialize_entry("mechanism", "PLAIN")?;
                m.serialize_entry("username", &Name(username))?;
                m.serialize_entry("password", &Name(password))?;
            }
            Command::PlainWelcome(_) => m.serialize_entry("mechanism", "PLAIN")?,
            Command::PlainInitiate(PlainInitiate { metadata }) => {
                m.serialize_entry("mechanism", "PLAIN")?;
                m.serialize_entry("properties", &PropertyList(*metadata))?;
            }
            Command::CurveHello(h) => {
                m.serialize_entry("mechanism", "CURVE")?;
                m.serialize_entry("version", &[h.major, h.minor])?;
                m.serialize_entry("padding", &Hex(h.padding))?;
                m.serialize_entry("client_transient_key", &Hex(h.client_transient_key))?;
                m.serialize_entry("nonce", &Hex(h.nonce))?;
                m.serialize_entry("signature_box", &Hex(h.signature_box))?;
            }
            Command::CurveWelcome(w) => {
                m.serialize_entry("mechanism", "CURVE")?;
                m.serialize_entry("nonce", &Hex(w.nonce))?;
                m.serialize_entry("ciphertext", &Hex(w.ciphertext))?;
            }
            Command::CurveInitiate(i) => {
                m.serialize_entry("mechanism", "CURVE")?;
                m.serialize_entry("cookie", &Hex(i.cookie))?;
                m.serialize_entry("nonce", &Hex(i.nonce))?;
                m.serialize_entry("ciphertext", &Hex(i.ciphertext))?;
            }
            Command::CurveReady(CurveReady { nonce, ciphertext })
            | Command::CurveMessage(CurveMessage { nonce, ciphertext }) => {
                m.serialize_entry("mechanism", "CURVE")?;
                m.serialize_entry("nonce", &Hex(*nonce))?;
                m.serialize_entry("ciphertext", &Hex(ciphertext))?;
            }
            Command::Unknown(Unknown { data, .. }) => {
                m.serialize_entry("unknown", &true)?;
                m.serialize_entry("data", &Hex(data))?;
            }
        }
        m.end()
    }
}

impl Serialize for Subscription<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry(
            "action",
            match self.action {
                SubscriptionAction::Subscribe => "subscribe",
                SubscriptionAction::Cancel => "cancel",
            },
        )?;
        m.serialize_entry(
            "form",
            match self.form {
                SubscriptionForm::Message => "message",
                SubscriptionForm::Command => "command",
            },
        )?;
        m.serialize_entry("topic", &Hex(self.topic))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mechanism, MechanismKind, Strictness, Version};
    use serde_json::json;

    #[test]
    fn forms() {
        let g = Greeting::new(Version::V3_1, Mechanism::NULL);
        assert_eq!(
            serde_json::to_value(g).unwrap(),
            json!({"padding":"0000000000000000","signature_end":127,"version":[3,1],
                   "mechanism":"NULL","as_server":0,"filler":"00".repeat(31)})
        );
        let body = b"\x05ERROR\x0abad\\type 1";
        let cmd = Command::load(body, MechanismKind::Null, &Strictness::LENIENT).unwrap();
        assert_eq!(
            serde_json::to_value(cmd).unwrap(),
            json!({"command":"ERROR","reason":"bad\\x5ctype\\x201"})
        );
        let unknown = Command::load(b"\x03FOO\x01", MechanismKind::Null, &Strictness::STRICT);
        assert_eq!(
            serde_json::to_value(unknown.unwrap()).unwrap(),
            json!({"command":"FOO","unknown":true,"data":"01"})
        );
    }
}
