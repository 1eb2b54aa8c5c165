//! The CURVE golden vectors (`vectors/curve/boxes.json`, computed by PyNaCl in
//! `tools/curve-vectors/generate.py`) against the raw peer's CurveZMQ (`harness/src/peer/curve.rs`,
//! dryoc): with the same fixed keys and nonces it must build every command octet for octet,
//! open every valid box to the same plaintext, and refuse every invalid one for the stated
//! requirement. Two independent implementations of appendix C agree, or this test fails.

use serde_json::Value;
use std::collections::BTreeMap;
use zmtp_harness::peer::curve::{CurveClient, CurveServer, Fixed, Key, Keypair};

fn load() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors/curve/boxes.json");
    let text = std::fs::read_to_string(path).expect("vectors/curve/boxes.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn bytes(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap_or_else(|| panic!("no {field}"))).expect("hex")
}

fn key(v: &Value, field: &str) -> Key {
    bytes(v, field).try_into().expect("32 octets")
}

fn nonce16(v: &Value, field: &str) -> [u8; 16] {
    bytes(v, field).try_into().expect("16 octets")
}

/// The data of a command frame after its name.
fn data_of(frame: &[u8]) -> Vec<u8> {
    let header = if frame[0] & 0x02 != 0 { 9 } else { 2 };
    let body = &frame[header..];
    body[1 + body[0] as usize..].to_vec()
}

struct Sides {
    client: CurveClient,
    server: CurveServer,
}

fn sides(doc: &Value) -> Sides {
    let k = &doc["keys"];
    let n = &doc["nonces"];
    let client = CurveClient::new(
        Keypair::from_secret(key(k, "client_secret")),
        key(k, "server_public"),
        Fixed {
            transient: Some(Keypair::from_secret(key(k, "client_transient_secret"))),
            long_nonces: vec![nonce16(n, "vouch")],
            cookie_key: None,
        },
    );
    let server = CurveServer::new(
        Keypair::from_secret(key(k, "server_secret")),
        Fixed {
            transient: Some(Keypair::from_secret(key(k, "server_transient_secret"))),
            long_nonces: vec![nonce16(n, "welcome"), nonce16(n, "cookie")],
            cookie_key: Some(key(k, "cookie_key")),
        },
    );
    Sides { client, server }
}

fn vectors(doc: &Value) -> BTreeMap<String, Value> {
    doc["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| (v["id"].as_str().expect("id").to_string(), v.clone()))
        .collect()
}

#[test]
fn the_handshake_and_messages_are_rebuilt_octet_for_octet_and_open() {
    let doc = load();
    let v = vectors(&doc);
    let md = &doc["metadata"];
    let Sides {
        mut client,
        mut server,
    } = sides(&doc);
    let hello = client.hello(None);
    assert_eq!(
        hex::encode(&hello),
        v["curve-hello"]["hex"].as_str().unwrap()
    );
    server.open_hello(&data_of(&hello)).expect("HELLO opens");
    let welcome = server.welcome(None).unwrap();
    assert_eq!(
        hex::encode(&welcome),
        v["curve-welcome"]["hex"].as_str().unwrap()
    );
    client
        .open_welcome(&data_of(&welcome))
        .expect("WELCOME opens");
    let initiate = client.initiate(&bytes(md, "client"), None).unwrap();
    assert_eq!(
        hex::encode(&initiate),
        v["curve-initiate"]["hex"].as_str().unwrap()
    );
    let got = server
        .open_initiate(&data_of(&initiate))
        .expect("INITIATE opens");
    assert_eq!(got, bytes(md, "client"));
    assert_eq!(
        server.client_permanent(),
        Some(key(&doc["keys"], "client_public"))
    );
    let ready = server.ready(&bytes(md, "server"), None).unwrap();
    assert_eq!(
        hex::encode(&ready),
        v["curve-ready"]["hex"].as_str().unwrap()
    );
    assert_eq!(
        client.open_ready(&data_of(&ready)).unwrap(),
        bytes(md, "server")
    );
    for (id, payload, more) in [
        ("curve-message-client-more", &b"part one"[..], true),
        ("curve-message-client-last", &b"part two"[..], false),
    ] {
        let m = client.traffic().message(payload, more, None);
        assert_eq!(hex::encode(&m), v[id]["hex"].as_str().unwrap(), "{id}");
        let (flags, data) = server.traffic().open_message(&data_of(&m)).expect(id);
        let mut plain = vec![flags];
        plain.extend_from_slice(&data);
        assert_eq!(plain, bytes(&v[id], "plaintext"), "{id}");
    }
    let m = server.traffic().message(b"", false, None);
    let id = "curve-message-server-empty";
    assert_eq!(hex::encode(&m), v[id]["hex"].as_str().unwrap());
    assert_eq!(
        client.traffic().open_message(&data_of(&m)).unwrap(),
        (0, vec![])
    );
}

#[test]
fn the_invalid_vectors_are_refused_for_their_requirement() {
    let doc = load();
    let v = vectors(&doc);
    let md = &doc["metadata"];
    let octets = |id: &str| hex::decode(v[id]["hex"].as_str().unwrap()).unwrap();
    let error = |id: &str| v[id]["error"].as_str().unwrap().to_string();

    let mut s = sides(&doc);
    let e = s
        .server
        .open_hello(&data_of(&octets("curve-hello-flipped-box")));
    assert_eq!(
        e.unwrap_err().requirement(),
        error("curve-hello-flipped-box")
    );

    let mut s = sides(&doc);
    let hello = s.client.hello(None);
    s.server.open_hello(&data_of(&hello)).unwrap();
    let e = s
        .client
        .open_welcome(&data_of(&octets("curve-welcome-other-server")));
    assert_eq!(
        e.unwrap_err().requirement(),
        error("curve-welcome-other-server")
    );

    let welcome = s.server.welcome(None).unwrap();
    s.client.open_welcome(&data_of(&welcome)).unwrap();
    let e = s
        .server
        .open_initiate(&data_of(&octets("curve-initiate-vouch-other-server")));
    assert_eq!(
        e.unwrap_err().requirement(),
        error("curve-initiate-vouch-other-server")
    );

    let mut s = sides(&doc);
    s.server
        .open_hello(&data_of(&s.client.hello(None)))
        .unwrap();
    let welcome = s.server.welcome(None).unwrap();
    s.client.open_welcome(&data_of(&welcome)).unwrap();
    let initiate = s.client.initiate(&bytes(md, "client"), None).unwrap();
    s.server.open_initiate(&data_of(&initiate)).unwrap();
    let id = "curve-message-nonce-not-increasing";
    let e = s.server.traffic().open_message(&data_of(&octets(id)));
    assert_eq!(e.unwrap_err().requirement(), error(id));
}

#[test]
fn the_file_says_how_many_vectors_it_holds_and_cites_known_requirements() {
    let doc = load();
    let list = doc["vectors"].as_array().unwrap();
    assert_eq!(doc["number_of_vectors"].as_u64(), Some(list.len() as u64));
    for vec in list {
        for r in vec["requirements"].as_array().unwrap() {
            assert!(r.as_str().unwrap().starts_with("CURVE-"), "{r}");
        }
    }
}
