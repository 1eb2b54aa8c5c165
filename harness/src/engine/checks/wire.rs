//! Checks over what a raw-peer connection recorded (its [`PeerSnapshot`]): greeting, READY,
//! commands, messages, subscriptions, raw octets and how the connection ended.

use super::Eval;
use crate::engine::analysis;
use crate::peer::{CloseHow, CloseKind, Direction, PeerEventKind, PeerSnapshot};
use crate::scenario::check;

/// `check.no-prefix`: no message whose first frame starts with `prefix`.
pub(super) fn no_prefix(prefix: &[u8], s: &PeerSnapshot) -> Eval {
    let total = s.messages().count();
    let hits: Vec<_> = s
        .messages()
        .filter(|m| m.first().is_some_and(|f| f.starts_with(prefix)))
        .collect();
    Eval::new(
        hits.is_empty(),
        format!(
            "no message starting with {:?} on the wire",
            String::from_utf8_lossy(prefix)
        ),
        if hits.is_empty() {
            format!("none among {total} message(s)")
        } else {
            format!(
                "{} of {total} did, first: {}",
                hits.len(),
                hits.first()
                    .map(|m| m.iter().map(hex::encode).collect::<Vec<_>>().join(" | "))
                    .unwrap_or_default()
            )
        },
    )
}

/// `check.subscriptions`: the subscriptions and cancellations, as multisets, and their form.
/// `ours_has_commands`: the raw peer announced a version with subscription commands.
pub(super) fn subscriptions(
    c: &check::Subscriptions,
    ours_has_commands: bool,
    s: &PeerSnapshot,
) -> Eval {
    let events: Vec<(bool, String, String)> = s
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            PeerEventKind::Subscription {
                subscribe,
                topic,
                form,
            } => Some((
                *subscribe,
                String::from_utf8_lossy(&hex::decode(topic).unwrap_or_default()).into_owned(),
                form.clone(),
            )),
            _ => None,
        })
        .collect();
    let subs: Vec<String> = events.iter().filter(|e| e.0).map(|e| e.1.clone()).collect();
    let cans: Vec<String> = events
        .iter()
        .filter(|e| !e.0)
        .map(|e| e.1.clone())
        .collect();
    let (m1, x1) = analysis::multiset_diff(&c.topics, &subs);
    let (m2, x2) = analysis::multiset_diff(&c.cancels, &cans);
    // `negotiated`: commands if both sides announced 3.1 or later (SUBW-05).
    let form = c.form.as_ref().map(|f| {
        if f == "negotiated" {
            let theirs = s
                .peer_version
                .is_some_and(|v| v.has_subscription_commands());
            if ours_has_commands && theirs {
                "command".to_string()
            } else {
                "message".to_string()
            }
        } else {
            f.clone()
        }
    });
    let wrong_form: Vec<_> = form
        .as_ref()
        .map(|f| events.iter().filter(|e| &e.2 != f).collect())
        .unwrap_or_default();
    let holds =
        m1.is_empty() && x1.is_empty() && m2.is_empty() && x2.is_empty() && wrong_form.is_empty();
    Eval::new(
        holds,
        format!(
            "subscriptions {:?}, cancellations {:?}{}",
            c.topics,
            c.cancels,
            form.as_ref()
                .map(|f| format!(", all as {f}s"))
                .unwrap_or_default()
        ),
        format!(
            "subscriptions {subs:?}, cancellations {cans:?}, forms {:?}",
            events.iter().map(|e| e.2.as_str()).collect::<Vec<_>>()
        ),
    )
}

/// `check.closed`: the implementation closed the connection (as `how`, between messages if
/// `whole`), within `within_ms` (times `scale`) of `start_us`.
pub(super) fn closed(c: &check::Closed, start_us: u64, scale: f64, s: &PeerSnapshot) -> Eval {
    let mut wanted = String::from("the implementation closes the connection");
    match c.how {
        Some(CloseHow::Fin) => wanted += " with FIN",
        Some(CloseHow::Rst) => wanted += " with RST",
        None => {}
    }
    if c.whole {
        wanted += " between messages";
    }
    match &s.closed {
        Some((t, CloseKind::Local(how))) => Eval::new(
            false,
            wanted,
            format!(
                "still open when the harness closed it ({how:?}) at {:.1} ms",
                *t as f64 / 1000.0
            ),
        ),
        Some((t, how)) => {
            let after = (*t as f64 - start_us as f64) / 1000.0;
            let bound = c.within_ms.map(|w| w as f64 * scale);
            let how_ok = match c.how {
                Some(CloseHow::Fin) => *how == CloseKind::Eof,
                Some(CloseHow::Rst) => *how == CloseKind::Reset,
                None => true,
            };
            let whole_ok = !c.whole || s.cut.is_none();
            Eval::new(
                bound.is_none_or(|b| after <= b) && how_ok && whole_ok,
                format!(
                    "{wanted}{}",
                    bound
                        .map(|b| format!(" within {b:.0} ms"))
                        .unwrap_or_default()
                ),
                format!(
                    "closed ({how:?}) after {after:.1} ms{}",
                    s.cut
                        .as_ref()
                        .map(|c| format!(", cut {c}"))
                        .unwrap_or_default()
                ),
            )
        }
        None => Eval::new(
            false,
            wanted,
            format!(
                "still open ({} events, {} octets received)",
                s.events.len(),
                s.transcript.received
            ),
        ),
    }
}

/// `check.open`: the connection is still open.
pub(super) fn open(s: &PeerSnapshot) -> Eval {
    match &s.closed {
        None => Eval::new(true, "the connection stays open", "open"),
        Some((t, how)) => Eval::new(
            false,
            "the connection stays open",
            format!("closed ({how:?}) at {:.1} ms", *t as f64 / 1000.0),
        ),
    }
}

/// `check.command` with its hex arguments resolved (`${...}` replaced, lower case).
pub(super) fn command(c: &check::Command, s: &PeerSnapshot) -> Eval {
    let want_data = c.data_hex.as_deref();
    let want_prefix = c.data_prefix_hex.as_deref();
    let constrained = want_data.is_some()
        || c.data_printable
        || c.data_counted
        || want_prefix.is_some()
        || c.data_len.is_some()
        || c.data_min_len.is_some();
    let from = 2 * c.data_offset.unwrap_or(0);
    // (name, data after the name as hex) of every command seen.
    let seen: Vec<(String, Option<String>)> = s
        .commands()
        .into_iter()
        .map(|(n, d)| (n, d.map(hex::encode)))
        .collect();
    let at = |d: &str| d.get(from..).unwrap_or_default().to_string();
    let fits = |d: &Option<String>| {
        want_data.is_none_or(|w| d.as_deref().map(at).as_deref() == Some(w))
            && want_prefix.is_none_or(|w| d.as_deref().is_some_and(|d| at(d).starts_with(w)))
            && c.data_len
                .is_none_or(|l| d.as_ref().is_some_and(|d| d.len() == 2 * l))
            && c.data_min_len
                .is_none_or(|l| d.as_ref().is_some_and(|d| d.len() >= 2 * l))
            && (!c.data_counted
                || d.as_deref().is_some_and(|d| {
                    hex::decode(d)
                        .is_ok_and(|b| b.first().is_some_and(|&n| usize::from(n) + 1 == b.len()))
                }))
            && (!c.data_printable
                || d.as_deref().is_some_and(|d| {
                    hex::decode(at(d)).is_ok_and(|b| b.iter().all(|&o| (0x20..=0x7e).contains(&o)))
                }))
    };
    let count = seen.iter().filter(|(n, d)| *n == c.name && fits(d)).count();
    let found = count > 0;
    let within = c.max_count.is_none_or(|m| count <= m);
    let shown: Vec<String> = seen
        .iter()
        .map(|(n, d)| match d {
            Some(d) if constrained => {
                let cut = &d[..d.len().min(96)];
                let more = if d.len() > 96 { "…" } else { "" };
                format!("{n}({} octets: {cut}{more})", d.len() / 2)
            }
            _ => n.clone(),
        })
        .collect();
    let mut want = String::new();
    let whence = match c.data_offset {
        Some(o) if o > 0 => format!(" from octet {o}"),
        _ => String::new(),
    };
    if let Some(d) = want_data {
        want += &format!(" with data{whence} {d}");
    }
    if let Some(p) = want_prefix {
        want += &format!(" with data{whence} starting {p}");
    }
    if let Some(l) = c.data_len {
        want += &format!(" with {l} octets of data");
    }
    if let Some(l) = c.data_min_len {
        want += &format!(" with at least {l} octets of data");
    }
    if c.data_printable {
        want += &format!(" with printable data{whence}");
    }
    if c.data_counted {
        want += " whose first data octet counts the rest exactly";
    }
    if let Some(m) = c.max_count {
        want += &format!(", at most {m} of them");
    }
    Eval::new(
        found == c.present && within,
        format!(
            "{} {}{want}",
            if c.present { "a command" } else { "no command" },
            c.name
        ),
        if c.max_count.is_some() {
            format!("{count} {}; commands seen: {shown:?}", c.name)
        } else {
            format!("commands seen: {shown:?}")
        },
    )
}

/// `check.violation`: the implementation did (or did not) break a protocol rule.
pub(super) fn violation(c: &check::Violation, s: &PeerSnapshot) -> Eval {
    let v = s.violation().map(|e| format!("{:?}", e.kind));
    Eval::new(
        v.is_some() == c.present,
        if c.present {
            "a protocol violation by the implementation"
        } else {
            "no protocol violation by the implementation"
        },
        v.unwrap_or_else(|| "none".into()),
    )
}

/// `check.received`: message number `index` is exactly `want`.
pub(super) fn received(want: &[Vec<u8>], index: usize, s: &PeerSnapshot) -> Eval {
    let got = s
        .messages()
        .nth(index)
        .map(|m| m.iter().map(|b| b.to_vec()).collect::<Vec<_>>());
    Eval::new(
        got.as_deref() == Some(want),
        format!("message #{index} = {}", super::show(want)),
        got.map(|g| super::show(&g))
            .unwrap_or_else(|| format!("only {} message(s)", s.messages().count())),
    )
}

/// `check.greeting`: the implementation's greeting announced these.
pub(super) fn greeting(c: &check::GreetingIs, s: &PeerSnapshot) -> Eval {
    let Some((version, mechanism, as_server)) = s.events.iter().find_map(|e| match &e.kind {
        PeerEventKind::Greeting {
            version,
            mechanism,
            as_server,
            ..
        } => Some((*version, mechanism.clone(), *as_server)),
        _ => None,
    }) else {
        return Eval::new(
            false,
            "the implementation's greeting",
            "no greeting received",
        );
    };
    let holds = c.version.is_none_or(|v| version == v)
        && c.min_version.is_none_or(|v| version >= v)
        && c.mechanism.as_ref().is_none_or(|m| &mechanism == m)
        && c.as_server.is_none_or(|a| as_server == a);
    let mut want = Vec::new();
    if let Some(v) = c.version {
        want.push(format!("version {}.{}", v[0], v[1]));
    }
    if let Some(v) = c.min_version {
        want.push(format!("version ≥ {}.{}", v[0], v[1]));
    }
    if let Some(m) = &c.mechanism {
        want.push(format!("mechanism {m}"));
    }
    if let Some(a) = c.as_server {
        want.push(format!("as-server {a}"));
    }
    Eval::new(
        holds,
        format!("a greeting with {}", want.join(", ")),
        format!(
            "version {}.{}, mechanism {mechanism}, as-server {as_server}",
            version[0], version[1]
        ),
    )
}

/// `check.ready-property`: the implementation's READY had (or lacked) a property.
pub(super) fn ready_property(c: &check::ReadyProperty, s: &PeerSnapshot) -> Eval {
    let Some(props) = s.ready_properties() else {
        return Eval::new(false, "the implementation's READY", "no READY received");
    };
    let found = props.iter().find(|(n, _)| {
        let (n, name) = if c.any_case {
            (n.to_ascii_lowercase(), c.name.to_ascii_lowercase())
        } else {
            (n.clone(), c.name.clone())
        };
        if c.prefix {
            n.starts_with(&name)
        } else {
            n == name
        }
    });
    let holds = match (found, c.absent) {
        (Some(_), true) | (None, false) => false,
        (None, true) => true,
        (Some((_, v)), false) => c.value.as_ref().is_none_or(|w| v == w),
    };
    Eval::new(
        holds,
        if c.absent {
            format!("no property {}", c.name)
        } else {
            format!(
                "property {}{}",
                c.name,
                c.value
                    .as_ref()
                    .map(|v| format!(" = {v:?}"))
                    .unwrap_or_default()
            )
        },
        format!("properties {props:?}"),
    )
}

/// `check.ready-names-distinct`: no two READY properties whose names are equal ignoring case.
pub(super) fn ready_names_distinct(s: &PeerSnapshot) -> Eval {
    let Some(props) = s.ready_properties() else {
        return Eval::new(false, "the implementation's READY", "no READY received");
    };
    let names: Vec<&str> = props.iter().map(|(n, _)| n.as_str()).collect();
    let clashes: Vec<(&str, &str)> = names
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            names[i + 1..]
                .iter()
                .filter(|b| a.eq_ignore_ascii_case(b))
                .map(move |b| (*a, *b))
        })
        .collect();
    Eval::new(
        clashes.is_empty(),
        "no two property names equal when letter case is ignored",
        if clashes.is_empty() {
            format!("names {names:?}")
        } else {
            format!("names {names:?}; equal ignoring case: {clashes:?}")
        },
    )
}

/// The octet patterns of `check.octets`, decoded.
#[derive(Debug, Default)]
pub(super) struct OctetPatterns {
    pub prefix: Option<Vec<u8>>,
    pub contains: Option<Vec<u8>>,
    pub equals: Option<Vec<u8>>,
    pub absent: Option<Vec<u8>>,
}

/// `check.octets`: the octets received from `offset` on match the patterns.
pub(super) fn octets(offset: usize, p: &OctetPatterns, s: &PeerSnapshot) -> Eval {
    let all = s.transcript.stream(Direction::In);
    let got = all.get(offset..).unwrap_or_default();
    let holds = p.prefix.as_ref().is_none_or(|p| got.starts_with(p))
        && p.contains
            .as_ref()
            .is_none_or(|p| !p.is_empty() && got.windows(p.len()).any(|w| w == &p[..]))
        && p.equals.as_ref().is_none_or(|p| got == &p[..])
        && p.absent
            .as_ref()
            .is_none_or(|p| p.is_empty() || !got.windows(p.len()).any(|w| w == &p[..]));
    let mut expected = format!("received octets from {offset}");
    if let Some(p) = &p.prefix {
        expected += &format!(" starting {}", hex::encode(p));
    }
    if let Some(p) = &p.contains {
        expected += &format!(" containing {}", hex::encode(p));
    }
    if let Some(p) = &p.equals {
        expected += &format!(" equal to {}", hex::encode(p));
    }
    if let Some(p) = &p.absent {
        expected += &format!(" never containing {}", hex::encode(p));
    }
    let shown = &got[..got.len().min(96)];
    Eval::new(
        holds,
        expected,
        format!(
            "{} octets: {}{}",
            got.len(),
            hex::encode(shown),
            if got.len() > 96 { "…" } else { "" }
        ),
    )
}

/// One CURVE command seen on a connection: its name, its data (after the name), and how many
/// frames carried it (a MESSAGE box in a multipart message would show more than one).
struct CurveItem {
    name: String,
    data: Vec<u8>,
    frames: usize,
}

fn curve_items(s: &PeerSnapshot) -> Vec<CurveItem> {
    let split = |body: &[u8]| -> Option<(String, Vec<u8>)> {
        let (&len, rest) = body.split_first()?;
        let (name, data) = rest.split_at_checked(usize::from(len))?;
        Some((String::from_utf8_lossy(name).into_owned(), data.to_vec()))
    };
    s.events
        .iter()
        .filter_map(|e| match &e.kind {
            PeerEventKind::Handshake { body, .. }
            | PeerEventKind::Ready { body, .. }
            | PeerEventKind::Command { body, .. } => {
                let (name, data) = split(&hex::decode(body).ok()?)?;
                Some(CurveItem {
                    name,
                    data,
                    frames: 1,
                })
            }
            // Deployed implementations send MESSAGE in frames without the COMMAND bit.
            PeerEventKind::Message { parts } => {
                let first = parts.first()?;
                let (name, data) = split(first)?;
                (name == "MESSAGE").then_some(CurveItem {
                    name,
                    data,
                    frames: parts.len(),
                })
            }
            _ => None,
        })
        .collect()
}

/// `check.curve`: a CURVE property (`nonces`, `single-frame`, `sizes`) of the traffic, with at
/// least `min_messages` MESSAGEs.
pub(super) fn curve(c: &check::Curve, s: &PeerSnapshot) -> Eval {
    let items = curve_items(s);
    let messages: Vec<&CurveItem> = items.iter().filter(|i| i.name == "MESSAGE").collect();
    if messages.len() < c.min_messages {
        return Eval::new(
            false,
            format!("at least {} CURVE MESSAGE(s)", c.min_messages),
            format!(
                "{} MESSAGE(s) among {} CURVE commands",
                messages.len(),
                items.len()
            ),
        );
    }
    match c.property.as_str() {
        "nonces" => curve_nonces(&items),
        "single-frame" => {
            let bad = messages.iter().filter(|m| m.frames != 1).count();
            Eval::new(
                bad == 0,
                "every MESSAGE in a single frame with MORE clear",
                format!(
                    "{bad} of {} MESSAGE(s) spread over several frames",
                    messages.len()
                ),
            )
        }
        "sizes" => {
            // Body = 1 + 7 (name) + data; at least 33 octets.
            let bad: Vec<usize> = messages
                .iter()
                .map(|m| 8 + m.data.len())
                .filter(|&n| n < 33)
                .collect();
            Eval::new(
                bad.is_empty(),
                "every MESSAGE body at least 33 octets",
                if bad.is_empty() {
                    format!(
                        "{} MESSAGE(s), smallest {} octets",
                        messages.len(),
                        messages.iter().map(|m| 8 + m.data.len()).min().unwrap_or(0)
                    )
                } else {
                    format!("bodies of {bad:?} octets")
                },
            )
        }
        other => Eval::broken(format!("unknown CURVE property {other:?}")),
    }
}

/// The short nonces of HELLO, INITIATE, READY and MESSAGE strictly increase (CURVE-17).
fn curve_nonces(items: &[CurveItem]) -> Eval {
    // The short nonce of each command, where its layout has one.
    let nonces: Vec<(String, u64)> = items
        .iter()
        .filter_map(|i| {
            let at = match i.name.as_str() {
                "HELLO" => 2 + 72 + 32,
                "INITIATE" => 96,
                "READY" | "MESSAGE" => 0,
                _ => return None,
            };
            let n = i.data.get(at..at + 8)?;
            Some((i.name.clone(), u64::from_be_bytes(n.try_into().ok()?)))
        })
        .collect();
    let bad = nonces.windows(2).find(|w| w[1].1 <= w[0].1);
    Eval::new(
        bad.is_none(),
        "short nonces that strictly increase, command after command",
        match bad {
            None => format!(
                "{} nonces, increasing: {:?}",
                nonces.len(),
                nonces.iter().map(|n| n.1).take(12).collect::<Vec<_>>()
            ),
            Some(w) => format!(
                "{} nonce {} followed by {} nonce {}",
                w[0].0, w[0].1, w[1].0, w[1].1
            ),
        },
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::peer::PeerEvent;
    use bytes::Bytes;

    /// A hand-made record: these events, and these octets received.
    pub(crate) fn snapshot(events: Vec<PeerEventKind>, received: &[u8]) -> PeerSnapshot {
        let mut s = PeerSnapshot::new(1 << 20);
        for (i, kind) in events.into_iter().enumerate() {
            s.push(PeerEvent {
                t_us: 1000 * i as u64,
                kind,
            });
        }
        s.transcript.record(0, Direction::In, received);
        s
    }

    pub(crate) fn message(parts: &[&[u8]]) -> PeerEventKind {
        PeerEventKind::Message {
            parts: parts.iter().map(|p| Bytes::copy_from_slice(p)).collect(),
        }
    }

    fn command_event(name: &str, data: &[u8]) -> PeerEventKind {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        PeerEventKind::Command {
            name: name.into(),
            body: hex::encode(body),
        }
    }

    fn sub(subscribe: bool, topic: &str, form: &str) -> PeerEventKind {
        PeerEventKind::Subscription {
            subscribe,
            topic: hex::encode(topic),
            form: form.into(),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn no_prefix_finds_a_leak() {
        let s = snapshot(vec![message(&[b"news.1"]), message(&[b"sport.1"])], b"");
        assert!(no_prefix(b"weather", &s).holds);
        let e = no_prefix(b"sport", &s);
        assert!(!e.holds);
        assert!(e.actual.starts_with("1 of 2 did"), "{}", e.actual);
    }

    #[test]
    fn subscriptions_as_multisets_and_forms() {
        let s = snapshot(
            vec![
                sub(true, "a", "message"),
                sub(true, "a", "message"),
                sub(false, "a", "message"),
            ],
            b"",
        );
        let c: check::Subscriptions =
            parse("peer = \"p\"\ntopics = [\"a\", \"a\"]\ncancels = [\"a\"]");
        assert!(subscriptions(&c, true, &s).holds);
        let c: check::Subscriptions = parse("peer = \"p\"\ntopics = [\"a\"]\ncancels = [\"a\"]");
        assert!(!subscriptions(&c, true, &s).holds);
        let c: check::Subscriptions =
            parse("peer = \"p\"\ntopics = [\"a\", \"a\"]\ncancels = [\"a\"]\nform = \"command\"");
        assert!(!subscriptions(&c, true, &s).holds);
        // The implementation's version is unknown here: `negotiated` means messages.
        let c: check::Subscriptions = parse(
            "peer = \"p\"\ntopics = [\"a\", \"a\"]\ncancels = [\"a\"]\nform = \"negotiated\"",
        );
        assert!(subscriptions(&c, true, &s).holds);
    }

    fn closed_at(t_us: u64, how: CloseKind, cut: Option<&str>) -> PeerSnapshot {
        let mut s = snapshot(vec![], b"");
        s.closed = Some((t_us, how));
        s.cut = cut.map(str::to_string);
        s
    }

    #[test]
    fn open_until_closed() {
        assert!(open(&snapshot(vec![], b"")).holds);
        let e = open(&closed_at(2_500, CloseKind::Reset, None));
        assert!(!e.holds);
        assert!(
            e.actual.starts_with("closed (Reset) at 2.5 ms"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn closed_by_how_when_and_whether_whole() {
        let c: check::Closed = parse("peer = \"p\"\nwithin_ms = 100\nhow = \"fin\"\nwhole = true");
        assert!(closed(&c, 0, 1.0, &closed_at(50_000, CloseKind::Eof, None)).holds);
        assert!(!closed(&c, 0, 1.0, &closed_at(150_000, CloseKind::Eof, None)).holds);
        assert!(closed(&c, 100_000, 1.0, &closed_at(150_000, CloseKind::Eof, None)).holds);
        assert!(!closed(&c, 0, 1.0, &closed_at(50_000, CloseKind::Reset, None)).holds);
        assert!(
            !closed(
                &c,
                0,
                1.0,
                &closed_at(50_000, CloseKind::Eof, Some("in a frame"))
            )
            .holds
        );
        let e = closed(
            &c,
            0,
            1.0,
            &closed_at(1, CloseKind::Local(CloseHow::Rst), None),
        );
        assert!(!e.holds);
        assert!(
            e.actual
                .starts_with("still open when the harness closed it")
        );
        assert!(!closed(&c, 0, 1.0, &snapshot(vec![], b"")).holds);
        assert!(open(&snapshot(vec![], b"")).holds);
        assert!(!open(&closed_at(1, CloseKind::Eof, None)).holds);
    }

    #[test]
    fn command_presence_and_data() {
        let s = snapshot(vec![command_event("ERROR", b"\x05Hello")], b"");
        assert!(command(&parse("peer = \"p\"\nname = \"ERROR\""), &s).holds);
        assert!(!command(&parse("peer = \"p\"\nname = \"PING\""), &s).holds);
        assert!(command(&parse("peer = \"p\"\nname = \"PING\"\npresent = false"), &s).holds);
        let counted = "peer = \"p\"\nname = \"ERROR\"\ndata_counted = true";
        assert!(command(&parse(counted), &s).holds);
        let printable = "peer = \"p\"\nname = \"ERROR\"\ndata_printable = true\ndata_offset = 1";
        assert!(command(&parse(printable), &s).holds);
        let exact = "peer = \"p\"\nname = \"ERROR\"\ndata_hex = \"0548656c6c6f\"";
        assert!(command(&parse(exact), &s).holds);
        let prefix = "peer = \"p\"\nname = \"ERROR\"\ndata_prefix_hex = \"06\"";
        assert!(!command(&parse(prefix), &s).holds);
        assert!(command(&parse("peer = \"p\"\nname = \"ERROR\"\ndata_len = 6"), &s).holds);
        assert!(
            !command(
                &parse("peer = \"p\"\nname = \"ERROR\"\ndata_min_len = 7"),
                &s
            )
            .holds
        );
    }

    #[test]
    fn violation_present_or_not() {
        let bad = snapshot(
            vec![PeerEventKind::Violation {
                offset: 0,
                kind: "ReservedFlags".into(),
                requirement: "FRAME-03".into(),
                message: "m".into(),
            }],
            b"",
        );
        let present: check::Violation = parse("peer = \"p\"\npresent = true");
        let absent: check::Violation = parse("peer = \"p\"");
        assert!(violation(&present, &bad).holds);
        assert!(!violation(&absent, &bad).holds);
        assert!(violation(&absent, &snapshot(vec![], b"")).holds);
    }

    #[test]
    fn received_by_index() {
        let s = snapshot(vec![message(&[b"a"]), message(&[b"b", b"c"])], b"");
        assert!(received(&[b"b".to_vec(), b"c".to_vec()], 1, &s).holds);
        assert!(!received(&[b"b".to_vec()], 1, &s).holds);
        assert_eq!(
            received(&[b"x".to_vec()], 2, &s).actual,
            "only 2 message(s)"
        );
    }

    #[test]
    fn greeting_and_ready_properties() {
        let s = snapshot(
            vec![
                PeerEventKind::Greeting {
                    version: [3, 1],
                    mechanism: "NULL".into(),
                    as_server: 0,
                    hex: String::new(),
                },
                PeerEventKind::Ready {
                    name: "READY".into(),
                    properties: vec![("Socket-Type".into(), "DEALER".into())],
                    body: String::new(),
                },
            ],
            b"",
        );
        assert!(
            greeting(
                &parse("peer = \"p\"\nversion = [3, 1]\nmechanism = \"NULL\""),
                &s
            )
            .holds
        );
        assert!(greeting(&parse("peer = \"p\"\nmin_version = [3, 0]"), &s).holds);
        assert!(!greeting(&parse("peer = \"p\"\nas_server = 1"), &s).holds);
        assert!(!greeting(&parse("peer = \"p\""), &snapshot(vec![], b"")).holds);
        let exact = "peer = \"p\"\nname = \"Socket-Type\"\nvalue = \"DEALER\"";
        assert!(ready_property(&parse(exact), &s).holds);
        let case = "peer = \"p\"\nname = \"socket-type\"\nany_case = true";
        assert!(ready_property(&parse(case), &s).holds);
        assert!(!ready_property(&parse("peer = \"p\"\nname = \"socket-type\""), &s).holds);
        let absent = "peer = \"p\"\nname = \"Identity\"\nabsent = true";
        assert!(ready_property(&parse(absent), &s).holds);
        assert!(ready_property(&parse("peer = \"p\"\nname = \"Sock\"\nprefix = true"), &s).holds);
    }

    #[test]
    fn octets_patterns() {
        let s = snapshot(vec![], &[0xff, 0, 0, 0x7f, 3, 1]);
        let p = |prefix: &[u8]| OctetPatterns {
            prefix: Some(prefix.to_vec()),
            ..OctetPatterns::default()
        };
        assert!(octets(0, &p(&[0xff]), &s).holds);
        assert!(octets(4, &p(&[3, 1]), &s).holds);
        assert!(!octets(0, &p(&[0xfe]), &s).holds);
        let contains = OctetPatterns {
            contains: Some(vec![0x7f, 3]),
            absent: Some(vec![9]),
            ..OctetPatterns::default()
        };
        assert!(octets(0, &contains, &s).holds);
        let equals = OctetPatterns {
            equals: Some(vec![3, 1]),
            ..OctetPatterns::default()
        };
        assert!(octets(4, &equals, &s).holds);
        assert!(!octets(3, &equals, &s).holds);
    }

    #[test]
    fn curve_properties() {
        let msg = |nonce: u64, extra: usize| {
            let mut body = vec![7u8];
            body.extend_from_slice(b"MESSAGE");
            body.extend_from_slice(&nonce.to_be_bytes());
            body.extend(std::iter::repeat_n(0, extra));
            message(&[&body])
        };
        let s = snapshot(vec![msg(1, 17), msg(2, 17)], b"");
        let c = |property: &str| -> check::Curve {
            parse(&format!(
                "peer = \"p\"\nproperty = \"{property}\"\nmin_messages = 2"
            ))
        };
        assert!(curve(&c("nonces"), &s).holds);
        assert!(curve(&c("single-frame"), &s).holds);
        assert!(curve(&c("sizes"), &s).holds);
        let replayed = snapshot(vec![msg(2, 17), msg(2, 17)], b"");
        assert!(!curve(&c("nonces"), &replayed).holds);
        let short = snapshot(vec![msg(1, 0), msg(2, 0)], b"");
        assert!(!curve(&c("sizes"), &short).holds);
        assert!(!curve(&c("nonces"), &snapshot(vec![msg(1, 17)], b"")).holds);
    }
}
