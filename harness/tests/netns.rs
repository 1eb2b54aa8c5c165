//! The implementation on another host: the seed suite with libzmq's driver started through
//! `ip netns exec` in a network namespace of its own (reached over a veth pair, not loopback:
//! `--iut-host` is the namespace's address, `--peer-host` the root end's), compared case by
//! case with the same suite run locally. Every verdict must be the same.
//!
//! The `partition` family is left out: its cases make a namespace of their own for the
//! implementation, and a driver already inside one cannot be moved into another by `ip netns
//! exec` (they run in namespaces in every run anyway). What remains is the other 40 seed cases.
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

#[test]
fn seed_suite_gives_the_same_verdicts_with_the_implementation_in_another_namespace() {
    if let Err(e) = netns::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the namespace test (as root, with iproute2 and nftables): {e}"
        );
        println!("skipped: {e}");
        return;
    }
    let net = TestNet::create().expect("create the test namespace");
    let out = workspace().join("target").join("netns-test");
    std::fs::create_dir_all(&out).unwrap();
    let exe = env!("CARGO_BIN_EXE_zmtp-harness");
    let remote_iut = format!("ip netns exec {} {exe} driver libzmq", net.name());
    let selection = |cases: &[String]| -> Vec<String> {
        let mut a: Vec<String> = vec!["--tag".into(), "seed".into()];
        a.extend(["--exclude".into(), "partition/**".into()]);
        for c in cases {
            a.extend(["--case".into(), c.clone()]);
        }
        a
    };
    let local_args = |cases: &[String]| -> Vec<String> {
        let mut a: Vec<String> = vec!["--iut".into(), "libzmq".into()];
        a.extend(selection(cases));
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
        a.extend(selection(cases));
        a
    };

    let t = Instant::now();
    let local = verdicts(&out, "local", &local_args(&[]));
    let t_local = t.elapsed();
    let t = Instant::now();
    let remote = verdicts(&out, "remote", &remote_args(&[]));
    let t_remote = t.elapsed();
    println!(
        "{} case(s): local {:.1} s, in namespace {} ({} → {}) {:.1} s",
        local.len(),
        t_local.as_secs_f64(),
        net.name(),
        net.peer_addr(),
        net.iut_addr(),
        t_remote.as_secs_f64()
    );
    assert!(local.len() >= 30, "the seed suite is too small: {local:?}");
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
        let l = verdicts(&out, &format!("local.retry{attempt}"), &local_args(&diff));
        let r = verdicts(&out, &format!("remote.retry{attempt}"), &remote_args(&diff));
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
}

#[test]
fn a_cut_link_is_silent_and_heals() {
    if let Err(e) = netns::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must run this: {e}");
        println!("skipped: {e}");
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
