//! The implementation on another host: the seed suite with libzmq's driver started through
//! `ip netns exec` in a network namespace of its own (reached over a veth pair, not loopback:
//! `--iut-host` is the namespace's address, `--peer-host` the root end's), compared case by
//! case with the same suite run locally. Every verdict must be the same.
//!
//! The `partition` family is left out: its cases make a namespace of their own for the
//! implementation, and a driver already inside one cannot be moved into another by `ip netns
//! exec` (they run in namespaces in every run anyway). What remains is the other 40 seed cases.
//!
//! The `impairment` family runs the same way, with both implementation processes in the
//! namespace: the impairing proxy listens on `--peer-host`, so every proxied connection crosses
//! the link twice (namespace → proxy, proxy → namespace), which the test checks in the report.
//!
//! Needs root, `ip` and `nft`; without them the test prints why and passes, except under CI
//! (`CI` set), which runs as root and must run it. A case whose verdict differs is run again on
//! both sides, alone, up to twice more (timing-bound cases race on a loaded machine); only a case
//! that differs every time fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use zmtp_harness::netns::{self, TestNet};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs the harness and returns case id → verdict from its JSON report.
fn verdicts(out: &Path, label: &str, args: &[String]) -> BTreeMap<String, String> {
    let json = out.join(format!("{label}.json"));
    let status = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
        .current_dir(workspace())
        .arg("run")
        .args(args)
        .args(["--no-baseline", "--brief", "--json"])
        .arg(&json)
        .status()
        .expect("start the harness");
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("{label}: no report ({e}); harness exit {status}"));
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let verdict = r["verdict"].as_str().unwrap();
            let reason = r["reason"].as_str().unwrap_or_default();
            // A case that takes over the dead implementation's endpoint cannot run when the
            // implementation is on another host: its UNSUPPORTED says so, and is no difference.
            let verdict = if verdict == "UNSUPPORTED" && reason.contains(ONE_HOST) {
                ONE_HOST.to_string()
            } else {
                verdict.to_string()
            };
            (r["id"].as_str().unwrap().to_string(), verdict)
        })
        .collect()
}

/// What a case that needs the raw peer on the implementation's host answers when it is not.
const ONE_HOST: &str = "needs the raw peer on the implementation's host";

/// The cases whose verdicts differ (or that only one side ran); a case that cannot run across
/// hosts (`ONE_HOST`) is not a difference.
fn differing(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|id| b.get(*id).is_none_or(|v| v != ONE_HOST))
        .filter(|id| a.get(*id) != b.get(*id))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Skips (prints why, returns false) where namespaces cannot be made, except under CI.
fn namespaces_available() -> bool {
    if let Err(e) = netns::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the namespace test (as root, with iproute2 and nftables): {e}"
        );
        println!("skipped: {e}");
        return false;
    }
    true
}

/// Runs `selection` against libzmq locally and with every driver (`iut` and `iut2`) started
/// through `ip netns exec` in `net`'s namespace (`--iut-host`/`--peer-host` on the veth pair),
/// retries the cases that differ (twice, both sides, alone), and fails on a case that differs
/// every time. Returns the first remote run's report.
fn same_verdicts_in_namespace(
    net: &TestNet,
    label: &str,
    selection: &[String],
) -> serde_json::Value {
    let out = workspace().join("target").join("netns-test");
    std::fs::create_dir_all(&out).unwrap();
    let exe = env!("CARGO_BIN_EXE_zmtp-harness");
    let remote_iut = format!("ip netns exec {} {exe} driver libzmq", net.name());
    let select = |cases: &[String]| -> Vec<String> {
        let mut a = selection.to_vec();
        for c in cases {
            a.extend(["--case".into(), c.clone()]);
        }
        a
    };
    let local_args = |cases: &[String]| -> Vec<String> {
        let mut a: Vec<String> = vec!["--iut".into(), "libzmq".into()];
        a.extend(select(cases));
        a
    };
    let remote_args = |cases: &[String]| -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--iut".into(),
            remote_iut.clone(),
            "--iut-host".into(),
            net.iut_addr().to_string(),
            "--peer-host".into(),
            net.peer_addr().to_string(),
        ];
        a.extend(select(cases));
        a
    };

    let t = Instant::now();
    let local = verdicts(&out, &format!("{label}.local"), &local_args(&[]));
    let t_local = t.elapsed();
    let t = Instant::now();
    let remote = verdicts(&out, &format!("{label}.remote"), &remote_args(&[]));
    let t_remote = t.elapsed();
    println!(
        "{label}: {} case(s): local {:.1} s, in namespace {} ({} → {}) {:.1} s",
        local.len(),
        t_local.as_secs_f64(),
        net.name(),
        net.peer_addr(),
        net.iut_addr(),
        t_remote.as_secs_f64()
    );
    let one_host: Vec<&String> = remote
        .iter()
        .filter(|(_, v)| v.as_str() == ONE_HOST)
        .map(|(id, _)| id)
        .collect();
    println!("UNSUPPORTED across hosts ({ONE_HOST}): {one_host:?}");
    let mut diff = differing(&local, &remote);
    for attempt in 2..=3 {
        if diff.is_empty() {
            break;
        }
        println!("attempt {attempt}: retrying {diff:?}");
        let l = verdicts(
            &out,
            &format!("{label}.local.retry{attempt}"),
            &local_args(&diff),
        );
        let r = verdicts(
            &out,
            &format!("{label}.remote.retry{attempt}"),
            &remote_args(&diff),
        );
        diff.retain(|id| l.get(id) != r.get(id));
        for id in &diff {
            println!(
                "  {id}: local {:?}, in namespace {:?}",
                l.get(id),
                r.get(id)
            );
        }
    }
    assert!(
        diff.is_empty(),
        "verdicts differ with the implementation in a namespace (reports in {}): {}",
        out.display(),
        diff.iter()
            .map(|id| format!(
                "{id}: local {:?}, namespace {:?}",
                local.get(id),
                remote.get(id)
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let text = std::fs::read_to_string(out.join(format!("{label}.remote.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn seed_suite_gives_the_same_verdicts_with_the_implementation_in_another_namespace() {
    if !namespaces_available() {
        return;
    }
    let net = TestNet::create().expect("create the test namespace");
    let selection: Vec<String> = ["--tag", "seed", "--exclude", "partition/**"]
        .map(String::from)
        .to_vec();
    let remote = same_verdicts_in_namespace(&net, "seed", &selection);
    let n = remote["results"].as_array().unwrap().len();
    assert!(n >= 30, "the seed suite is too small: {n} case(s)");
}

/// The impairing proxy listens where the raw peer does (`--peer-host`): with both
/// implementations in the namespace, each `impairment` case's connections go from the namespace
/// to the proxy on the root end and from the proxy back into the namespace, and every verdict is
/// the local run's.
#[test]
fn impairment_cases_run_through_the_proxy_with_the_implementations_in_another_namespace() {
    if !namespaces_available() {
        return;
    }
    let net = TestNet::create().expect("create the test namespace");
    let selection: Vec<String> = ["--case", "impairment/**"].map(String::from).to_vec();
    let remote = same_verdicts_in_namespace(&net, "impairment", &selection);
    let results = remote["results"].as_array().unwrap();
    assert!(results.len() >= 9, "impairment cases: {}", results.len());
    let (peer, iut) = (net.peer_addr().to_string(), net.iut_addr().to_string());
    let mut halves = 0;
    for r in results {
        for p in r["peers"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default();
            if !(name.ends_with(".client") || name.ends_with(".server")) {
                continue;
            }
            let local = p["local_addr"].as_str().unwrap_or_default();
            let remote_end = p["peer_addr"].as_str().unwrap_or_default();
            assert!(
                local.starts_with(&format!("{peer}:"))
                    && remote_end.starts_with(&format!("{iut}:")),
                "{}: proxy half {name} is {local} ↔ {remote_end}, not {peer} ↔ {iut}",
                r["id"]
            );
            halves += 1;
        }
    }
    assert!(halves >= 18, "proxy halves seen in the report: {halves}");
}

#[test]
fn a_cut_link_is_silent_and_heals() {
    if !namespaces_available() {
        return;
    }
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener};
    use std::time::Duration;
    let mut net = TestNet::create().unwrap();
    // Listen in the root namespace; connect from the test namespace with bash's /dev/tcp.
    let listener = TcpListener::bind(SocketAddr::new(net.peer_addr(), 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "exec 3<>/dev/tcp/{}/{port}; echo hello >&3; read -r line <&3; echo \"$line\"",
        net.peer_addr()
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", net.name(), "bash", "-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    listener.set_nonblocking(false).unwrap();
    let (mut conn, from) = listener.accept().unwrap();
    assert_eq!(
        from.ip(),
        net.iut_addr(),
        "the connection crossed the veth link"
    );
    conn.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 6];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello\n");
    net.cut().unwrap();
    // Nothing arrives through the cut, and our write does not fail: the drop is silent.
    conn.write_all(b"cut\n").unwrap();
    let mut one = [0u8; 1];
    let r = conn.read(&mut one);
    assert!(
        matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
        "a cut link is silent (no FIN, no RST): {r:?}"
    );
    net.heal().unwrap();
    // TCP retransmits "cut\n" after the heal; the child echoes it and exits.
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(
        out.trim(),
        "cut",
        "the segment written during the cut arrives after the heal"
    );
    assert!(child.wait().unwrap().success());
    let name = net.name().to_string();
    drop(net);
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&name),
        "the namespace is gone after drop"
    );
}
