//! Case fixtures: a case-level `setup` that stands for the opening most cases share.
//!
//! ```toml
//! [case.setup]
//! socket = { type = "DEALER", name = "d" }        # the implementation's socket (a `socket` step)
//! peer = { name = "p", settings = { socket_type = "DEALER" } }   # the raw peer
//! handshake = { requirement = "NULL-03" }          # optional: a `peer.handshake` step's fields
//! ```
//!
//! stands for the steps `socket`, `bind` (the implementation binds; its endpoint is saved as
//! `<name>_ep`), `peer.connect` (the raw peer connects to it) and, with `handshake`,
//! `peer.handshake`, in front of the case's own steps. With `connect = { listener = "l" }`
//! the implementation connects instead: `peer.listen` (listener `l`, the peer's fields),
//! `connect` to `${l_ep}`, and `peer.accept` naming the connection after the peer (any other
//! field of `connect`, e.g. `requirement`, goes to `peer.accept`). Expansion happens when the file is loaded,
//! after templates, so the case runs (and reports) exactly as if the steps were written out.

use toml::{Table, Value};

/// Replaces a case's `setup` (if any) by the steps it stands for.
pub fn expand(case: &mut Table) -> Result<(), String> {
    let Some(setup) = case.remove("setup") else {
        return Ok(());
    };
    let Value::Table(mut setup) = setup else {
        return Err("`setup` must be a table".into());
    };
    let socket = take_table(&mut setup, "socket")?
        .ok_or("`setup` needs `socket` (its `type` and `name`)")?;
    let peer = take_table(&mut setup, "peer")?.ok_or("`setup` needs `peer` (its `name`)")?;
    let handshake = take_table(&mut setup, "handshake")?;
    let connect = take_table(&mut setup, "connect")?;
    if let Some(key) = setup.keys().next() {
        return Err(format!(
            "`setup` has an unknown key `{key}` (socket, peer, connect, handshake)"
        ));
    }
    let name = text(&socket, "name", "setup.socket")?;
    let mut peer = peer;
    let peer_name = text(&peer, "name", "setup.peer")?;
    peer.remove("name");

    let mut steps = vec![step("socket", socket)];
    match connect {
        None => steps.extend(bind_opening(&name, &peer_name, peer)),
        Some(connect) => steps.extend(connect_opening(&name, &peer_name, peer, connect)?),
    }
    if let Some(mut handshake) = handshake {
        handshake.insert("peer".into(), peer_name.into());
        steps.push(step("peer.handshake", handshake));
    }
    if let Some(Value::Array(own)) = case.remove("step") {
        steps.extend(own);
    }
    case.insert("step".into(), Value::Array(steps));
    Ok(())
}

/// The implementation binds and the raw peer connects: `bind`, `peer.connect`.
fn bind_opening(socket: &str, peer_name: &str, peer: Table) -> Vec<Value> {
    let mut connect = Table::from_iter([
        ("peer".to_string(), Value::from(peer_name)),
        ("to".to_string(), Value::from(format!("${{{socket}_ep}}"))),
    ]);
    connect.extend(peer);
    vec![
        step("bind", Table::from_iter([("socket".into(), socket.into())])),
        step("peer.connect", connect),
    ]
}

/// The implementation connects to a listening raw peer (`setup.connect = { listener = "l" }`,
/// plus any `peer.accept` field such as `requirement`): `peer.listen` (with the peer's
/// fields), `connect` to `${l_ep}`, `peer.accept` naming the connection after the peer.
fn connect_opening(
    socket: &str,
    peer_name: &str,
    peer: Table,
    mut connect: Table,
) -> Result<Vec<Value>, String> {
    let listener = text(&connect, "listener", "setup.connect")?;
    connect.remove("listener");
    let mut listen = Table::from_iter([("listener".to_string(), Value::from(listener.clone()))]);
    listen.extend(peer);
    let mut accept = Table::from_iter([
        ("listener".to_string(), Value::from(listener.clone())),
        ("name".to_string(), Value::from(peer_name)),
    ]);
    accept.extend(connect);
    Ok(vec![
        step("peer.listen", listen),
        step(
            "connect",
            Table::from_iter([
                ("socket".to_string(), Value::from(socket)),
                (
                    "endpoint".to_string(),
                    Value::from(format!("${{{listener}_ep}}")),
                ),
            ]),
        ),
        step("peer.accept", accept),
    ])
}

fn step(kind: &str, fields: Table) -> Value {
    let mut t = Table::from_iter([("do".to_string(), Value::from(kind))]);
    t.extend(fields);
    Value::Table(t)
}

fn take_table(setup: &mut Table, key: &str) -> Result<Option<Table>, String> {
    match setup.remove(key) {
        None => Ok(None),
        Some(Value::Table(t)) => Ok(Some(t)),
        Some(_) => Err(format!("`setup.{key}` must be a table")),
    }
}

fn text(t: &Table, key: &str, what: &str) -> Result<String, String> {
    t.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("`{what}` needs `{key}` (text)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_stands_for_the_opening_steps() {
        let mut case: Table = toml::from_str(
            r#"
            id = "f/x"
            setup = { socket = { type = "DEALER", name = "d" }, peer = { name = "p", settings = { socket_type = "DEALER" } }, handshake = { requirement = "NULL-03" } }
            step = [{ do = "peer.send", peer = "p", parts = ["x"] }]
            "#,
        )
        .unwrap();
        expand(&mut case).unwrap();
        let written: Table = toml::from_str(
            r#"
            id = "f/x"
            [[step]]
            do = "socket"
            type = "DEALER"
            name = "d"
            [[step]]
            do = "bind"
            socket = "d"
            [[step]]
            do = "peer.connect"
            peer = "p"
            to = "${d_ep}"
            settings = { socket_type = "DEALER" }
            [[step]]
            do = "peer.handshake"
            peer = "p"
            requirement = "NULL-03"
            [[step]]
            do = "peer.send"
            peer = "p"
            parts = ["x"]
            "#,
        )
        .unwrap();
        assert_eq!(case, written);
    }

    #[test]
    fn a_connecting_setup_stands_for_listen_connect_accept() {
        let mut case: Table = toml::from_str(
            r#"
            id = "f/y"
            setup = { socket = { type = "SUB", name = "s" }, peer = { name = "p", settings = { socket_type = "PUB" } }, connect = { listener = "l", requirement = "SOCK-02" }, handshake = {} }
            "#,
        )
        .unwrap();
        expand(&mut case).unwrap();
        let written: Table = toml::from_str(
            r#"
            id = "f/y"
            [[step]]
            do = "socket"
            type = "SUB"
            name = "s"
            [[step]]
            do = "peer.listen"
            listener = "l"
            settings = { socket_type = "PUB" }
            [[step]]
            do = "connect"
            socket = "s"
            endpoint = "${l_ep}"
            [[step]]
            do = "peer.accept"
            listener = "l"
            name = "p"
            requirement = "SOCK-02"
            [[step]]
            do = "peer.handshake"
            peer = "p"
            "#,
        )
        .unwrap();
        assert_eq!(case, written);
    }

    #[test]
    fn setup_errors_name_the_problem() {
        let mut case: Table =
            toml::from_str(r#"setup = { socket = { type = "PUB", name = "s" } }"#).unwrap();
        assert!(expand(&mut case).unwrap_err().contains("needs `peer`"));
        let mut case: Table = toml::from_str(
            r#"setup = { socket = { type = "PUB", name = "s" }, peer = { name = "p" }, role = "x" }"#,
        )
        .unwrap();
        assert!(
            expand(&mut case)
                .unwrap_err()
                .contains("unknown key `role`")
        );
    }
}
