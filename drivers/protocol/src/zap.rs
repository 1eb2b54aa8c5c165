//! The `zap` op (`spec/driver-protocol.md`, DRV-48): the policy of a ZAP handler (RFC 27) and
//! the answer it gives to one ZAP request.
//!
//! libzmq asks a ZAP handler before it lets a PLAIN or CURVE client in (and a NULL peer when the
//! socket has a `zap_domain`). It sends the request from its I/O thread to the REP socket bound
//! at [`ZAP_ENDPOINT`] in the same context, and the handshake waits for the reply. A driver that
//! implements `zap` binds that REP socket, polls it with its other sockets, and answers each
//! request with [`ZapPolicy::answer`].
//!
//! Request frames (after the REP envelope): version `1.0`, request id, domain, address,
//! identity, mechanism, then the credentials (PLAIN: user name and password; CURVE: the
//! client's 32-octet long-term public key; NULL: none). Reply frames: version `1.0`, the
//! request id, status code (`200`, `400` or `500`), status text, user id, metadata (empty).

use serde::{Deserialize, Serialize};

/// The inproc endpoint libzmq sends ZAP requests to.
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// One accepted PLAIN user: text fields (UTF-8), or hex fields for arbitrary octets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlainCredential {
    /// The user name as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The user name as hex (takes precedence over `username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_hex: Option<String>,
    /// The password as hex (takes precedence over `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hex: Option<String>,
}

/// Which CURVE clients the handler lets in: `"any"`, or a list of public keys (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CurveAccept {
    /// Client long-term public keys, 32 octets each, hex.
    Keys(Vec<String>),
    /// `"any"`: every client key.
    Word(String),
}

/// `zap` request fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZapArgs {
    /// Accepted PLAIN credentials; every other user gets 400.
    #[serde(default)]
    pub plain: Vec<PlainCredential>,
    /// Accepted CURVE clients; absent: every CURVE client gets 400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<CurveAccept>,
    /// Accept NULL peers (asked only for sockets with a `zap_domain`).
    #[serde(default)]
    pub null: bool,
    /// Remove the handler instead of installing one (the other fields are ignored).
    #[serde(default)]
    pub remove: bool,
    /// The status code of every refusal: `"300"` (temporary failure), `"400"` (the default,
    /// authentication failure) or `"500"` (internal error), for ZAP-02 to ZAP-04.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refuse_status: Option<String>,
}

/// What a handler accepts, decoded from [`ZapArgs`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZapPolicy {
    plain: Vec<(Vec<u8>, Vec<u8>)>,
    curve_any: bool,
    curve_keys: Vec<Vec<u8>>,
    null: bool,
    refuse: (&'static str, &'static str),
}

/// How many requests a handler answered, and how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZapStats {
    /// Requests answered.
    pub requests: u64,
    /// Answered 200.
    pub accepted: u64,
    /// Answered 400 or 500.
    pub refused: u64,
}

fn text_or_hex(
    text: &Option<String>,
    hex_text: &Option<String>,
    what: &str,
) -> Result<Vec<u8>, String> {
    match (hex_text, text) {
        (Some(h), _) => hex::decode(h).map_err(|e| format!("{what}_hex: {e}")),
        (None, Some(t)) => Ok(t.as_bytes().to_vec()),
        (None, None) => Err(format!("a plain credential needs {what} or {what}_hex")),
    }
}

impl ZapArgs {
    /// The policy, or why the fields are invalid (answer `error` `EINVAL`).
    pub fn policy(&self) -> Result<ZapPolicy, String> {
        let plain = self
            .plain
            .iter()
            .map(|c| {
                Ok((
                    text_or_hex(&c.username, &c.username_hex, "username")?,
                    text_or_hex(&c.password, &c.password_hex, "password")?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let (curve_any, curve_keys) = match &self.curve {
            None => (false, Vec::new()),
            Some(CurveAccept::Word(w)) if w == "any" => (true, Vec::new()),
            Some(CurveAccept::Word(w)) => {
                return Err(format!(
                    "curve must be \"any\" or a list of keys, not {w:?}"
                ));
            }
            Some(CurveAccept::Keys(keys)) => {
                let keys = keys
                    .iter()
                    .map(|k| match hex::decode(k) {
                        Ok(b) if b.len() == 32 => Ok(b),
                        Ok(b) => Err(format!("curve key {k:?}: {} octets, not 32", b.len())),
                        Err(e) => Err(format!("curve key {k:?}: {e}")),
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                (false, keys)
            }
        };
        let refuse = match self.refuse_status.as_deref() {
            None | Some("400") => ("400", "Invalid credentials"),
            Some("300") => ("300", "Temporary failure"),
            Some("500") => ("500", "Internal error"),
            Some(other) => {
                return Err(format!(
                    "refuse_status must be \"300\", \"400\" or \"500\", not {other:?}"
                ));
            }
        };
        Ok(ZapPolicy {
            plain,
            curve_any,
            curve_keys,
            null: self.null,
            refuse,
        })
    }
}

impl ZapPolicy {
    /// Status code, status text and user id for one mechanism and its credential frames.
    pub fn decide(
        &self,
        mechanism: &[u8],
        credentials: &[Vec<u8>],
    ) -> (&'static str, &'static str, Vec<u8>) {
        match (mechanism, credentials) {
            (b"NULL", []) if self.null => ("200", "OK", Vec::new()),
            (b"PLAIN", [user, pass]) if self.plain.iter().any(|(u, p)| u == user && p == pass) => {
                ("200", "OK", user.clone())
            }
            (b"CURVE", [key])
                if key.len() == 32 && (self.curve_any || self.curve_keys.contains(key)) =>
            {
                ("200", "OK", hex::encode(key).into_bytes())
            }
            (b"NULL" | b"PLAIN" | b"CURVE", _) => (self.refuse.0, self.refuse.1, Vec::new()),
            _ => ("400", "Unsupported mechanism", Vec::new()),
        }
    }

    /// The reply frames for one request (frames as the REP socket delivers them), and a line
    /// for the driver's log.
    pub fn answer(&self, request: &[Vec<u8>], stats: &mut ZapStats) -> (Vec<Vec<u8>>, String) {
        stats.requests += 1;
        let id = request.get(1).cloned().unwrap_or_default();
        let (status, text, user) = match request {
            [
                version,
                _id,
                _domain,
                _address,
                _identity,
                mechanism,
                credentials @ ..,
            ] if version.as_slice() == b"1.0" => self.decide(mechanism, credentials),
            _ => ("500", "Malformed ZAP request", Vec::new()),
        };
        if status == "200" {
            stats.accepted += 1;
        } else {
            stats.refused += 1;
        }
        let log = format!(
            "ZAP request {} mechanism {:?} domain {:?} ({} credential frame(s)) -> {status} {text}",
            hex::encode(&id),
            String::from_utf8_lossy(request.get(5).map(Vec::as_slice).unwrap_or_default()),
            String::from_utf8_lossy(request.get(2).map(Vec::as_slice).unwrap_or_default()),
            request.len().saturating_sub(6),
        );
        let reply = vec![
            b"1.0".to_vec(),
            id,
            status.as_bytes().to_vec(),
            text.as_bytes().to_vec(),
            user,
            Vec::new(),
        ];
        (reply, log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: serde_json::Value) -> ZapArgs {
        serde_json::from_value(v).unwrap()
    }

    fn req(mech: &str, creds: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut r: Vec<Vec<u8>> = [&b"1.0"[..], b"7", b"", b"127.0.0.1", b"", mech.as_bytes()]
            .iter()
            .map(|f| f.to_vec())
            .collect();
        r.extend(creds.iter().map(|c| c.to_vec()));
        r
    }

    #[test]
    fn plain_curve_null_decisions() {
        let key = [7u8; 32];
        let p = args(json!({
            "plain": [{"username": "admin", "password": "secret"}, {"username_hex": "00ff", "password": "x"}],
            "curve": [hex::encode(key)],
        }))
        .policy()
        .unwrap();
        let mut st = ZapStats::default();
        let (r, _) = p.answer(&req("PLAIN", &[b"admin", b"secret"]), &mut st);
        assert_eq!(r[0], b"1.0");
        assert_eq!(r[1], b"7");
        assert_eq!(r[2], b"200");
        assert_eq!(r[4], b"admin");
        assert_eq!(r.len(), 6);
        assert_eq!(
            p.answer(&req("PLAIN", &[b"admin", b"wrong"]), &mut st).0[2],
            b"400"
        );
        assert_eq!(
            p.answer(&req("PLAIN", &[b"\x00\xff", b"x"]), &mut st).0[2],
            b"200"
        );
        assert_eq!(p.answer(&req("CURVE", &[&key]), &mut st).0[2], b"200");
        assert_eq!(p.answer(&req("CURVE", &[&[8u8; 32]]), &mut st).0[2], b"400");
        assert_eq!(p.answer(&req("NULL", &[]), &mut st).0[2], b"400");
        assert_eq!(p.answer(&[b"2.0".to_vec()], &mut st).0[2], b"500");
        assert_eq!(
            st,
            ZapStats {
                requests: 7,
                accepted: 3,
                refused: 4
            }
        );
        let any = args(json!({"curve": "any", "null": true}))
            .policy()
            .unwrap();
        assert_eq!(
            any.answer(&req("CURVE", &[&[9u8; 32]]), &mut st).0[2],
            b"200"
        );
        assert_eq!(any.answer(&req("NULL", &[]), &mut st).0[2], b"200");
        assert_eq!(
            any.answer(&req("PLAIN", &[b"a", b"b"]), &mut st).0[2],
            b"400"
        );
    }

    #[test]
    fn invalid_fields() {
        assert!(args(json!({"curve": "some"})).policy().is_err());
        assert!(args(json!({"curve": ["00"]})).policy().is_err());
        assert!(
            args(json!({"plain": [{"username": "a"}]}))
                .policy()
                .is_err()
        );
        assert!(
            args(json!({"plain": [{"username_hex": "zz", "password": "b"}]}))
                .policy()
                .is_err()
        );
        assert!(args(json!({"remove": true})).remove);
    }
}
