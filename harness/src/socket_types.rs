//! The socket types of ZMTP 3.x and which pairs may talk (spec/zmtp.md §7, `STYPE-*`).

/// The eleven classic socket types (ZMTP 3.0).
pub const CLASSIC: [&str; 11] = [
    "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB",
];

/// The types a socket of type `a` may be connected to (symmetric; ZMTP 3.1 drafts included).
pub fn peers_of(a: &str) -> &'static [&'static str] {
    match a {
        "REQ" => &["REP", "ROUTER"],
        "REP" => &["REQ", "DEALER"],
        "DEALER" => &["REP", "DEALER", "ROUTER"],
        "ROUTER" => &["REQ", "DEALER", "ROUTER"],
        "PUB" | "XPUB" => &["SUB", "XSUB"],
        "SUB" | "XSUB" => &["PUB", "XPUB"],
        "PUSH" => &["PULL"],
        "PULL" => &["PUSH"],
        "PAIR" => &["PAIR"],
        "CLIENT" => &["SERVER"],
        "SERVER" => &["CLIENT"],
        "RADIO" => &["DISH"],
        "DISH" => &["RADIO"],
        "SCATTER" => &["GATHER"],
        "GATHER" => &["SCATTER"],
        "PEER" => &["PEER"],
        "CHANNEL" => &["CHANNEL"],
        _ => &[],
    }
}

/// Whether sockets of types `a` and `b` may be connected.
pub fn compatible(a: &str, b: &str) -> bool {
    peers_of(a).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_symmetric() {
        for a in CLASSIC {
            for b in CLASSIC {
                assert_eq!(compatible(a, b), compatible(b, a), "{a} {b}");
            }
        }
        let pairs = CLASSIC
            .iter()
            .flat_map(|a| CLASSIC.iter().map(move |b| (a, b)))
            .filter(|(a, b)| compatible(a, b))
            .count();
        // REQ 2, REP 2, DEALER 3, ROUTER 3, PUB 2, XPUB 2, SUB 2, XSUB 2, PUSH 1, PULL 1, PAIR 1.
        assert_eq!(pairs, 21);
    }
}
