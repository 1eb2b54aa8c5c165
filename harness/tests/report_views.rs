//! The report views of a real run against libzmq (greeting and command cases, known FAILs
//! among them): the HTML page in headless Chromium, the pcapng captures in tshark with the
//! shipped ZMTP dissector, the Markdown summary, and what the JSON keeps.
//!
//! Chromium, tshark and tools/report-check/node_modules are needed; without them a test says
//! so and passes, except under CI (`CI` set), where a missing tool fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{have, repo};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Runs the harness once for all tests; returns the output directory.
fn report_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo().join("target").join("report-views");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
            .args(["run", "--iut", "libzmq", "--brief"])
            .args(["--case", "commands/not-for-this-socket/*"])
            .args(["--case", "commands/malformed/ping-*"])
            .args(["--case", "greeting/legacy/*"])
            .args(["--case", "greeting/glued-before-peer-ready"])
            .arg("--json")
            .arg(dir.join("run.json"))
            .arg("--html")
            .arg(dir.join("html"))
            .arg("--markdown")
            .arg(dir.join("summary.md"))
            .arg("--pcap")
            .arg(dir.join("pcap"))
            .output()
            .unwrap();
        assert!(
            out.status.code() == Some(0),
            "run failed ({:?}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

#[test]
fn html_report_in_headless_chromium() {
    let Some(check) = common::report_checker() else {
        return;
    };
    let dir = report_dir();
    let html = dir.join("html/index.html");
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: nothing is fetched from elsewhere. The report data (which may quote
    // addresses) is all base64 of gzip, so none of these can be in it: the whole page is read.
    assert!(
        page.contains("<script type=\"application/gzip+base64\" id=\"data\">"),
        "the summary is not stored compressed"
    );
    for external in [
        "<script src",
        "<link",
        "@import",
        "url(",
        "http://",
        "https://",
    ] {
        assert!(
            !page.contains(external),
            "the page refers to something external: {external}"
        );
    }
    let shot = repo().join("target/report-views/failing-case.png");
    let v = common::run_checker(&check, "check.mjs", &[html.as_os_str(), shot.as_os_str()]);
    eprintln!("{v:#}");
    assert!(
        v["case"]
            .as_str()
            .unwrap()
            .starts_with("commands/not-for-this-socket/"),
        "{v}"
    );
    assert!(v["timeline_rows"].as_u64().unwrap() > 0);
    assert!(shot.metadata().unwrap().len() > 10_000, "no screenshot");
}

#[test]
fn pcap_in_tshark_with_the_zmtp_dissector() {
    if !have("tshark", &["--version"]) {
        return;
    }
    let dir = report_dir();
    let capture = dir
        .join("pcap")
        .join("commands__not-for-this-socket__subscribe-to-sub.pcapng");
    let lua = repo().join("tools/wireshark/zmtp.lua");
    let tshark = |extra: &[&str]| {
        let out = Command::new("tshark")
            .arg("-X")
            .arg(format!("lua_script:{}", lua.display()))
            .arg("-r")
            .arg(&capture)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tshark failed: {stderr}");
        assert!(!stderr.contains("Lua: Error"), "{stderr}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let verbose = tshark(&["-V"]);
    for field in [
        "ZMTP",
        "Greeting",
        "Mechanism: NULL",
        "Command name: READY",
        "Property name: Socket-Type",
        "Property value (text): SUB",
        "Command name: SUBSCRIBE",
        "Subscription action: subscribe",
    ] {
        assert!(verbose.contains(field), "no {field:?} in:\n{verbose}");
    }
    // TCP is consistent: no retransmissions or unseen segments from the synthesised headers.
    for problem in [
        "Retransmission",
        "ACKed unseen",
        "Previous segment not captured",
    ] {
        assert!(!verbose.contains(problem), "{problem} in:\n{verbose}");
    }
    // The fields are real display-filter fields.
    let topics = tshark(&[
        "-Y",
        "zmtp.command.name == \"SUBSCRIBE\"",
        "-T",
        "fields",
        "-e",
        "zmtp.command.name",
    ]);
    assert!(topics.contains("SUBSCRIBE"), "{topics}");
    // Decode-as by port works as well as the heuristic.
    let by_port = tshark(&["-d", "tcp.port==1,zmtp", "-Y", "zmtp.greeting.mechanism"]);
    assert!(by_port.lines().count() >= 2, "{by_port}");
}

#[test]
fn markdown_summary_and_bounded_json() {
    let dir = report_dir();
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("| run | cases | PASS |"), "{md}");
    assert!(md.contains("| libzmq |"), "{md}");
    assert!(md.contains("(html/index.html)"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let results = json["results"].as_array().unwrap();
    let mut failing_with_octets = 0;
    for r in results {
        let peers = r["peers"].as_array().cloned().unwrap_or_default();
        let chunks: usize = peers
            .iter()
            .map(|p| p["chunks"].as_array().map_or(0, Vec::len))
            .sum();
        if r["verdict"] == "PASS" {
            assert_eq!(chunks, 0, "a PASS case keeps only a summary: {}", r["id"]);
        } else if !peers.is_empty() {
            assert!(
                chunks > 0,
                "a {} case keeps its octets: {}",
                r["verdict"],
                r["id"]
            );
            failing_with_octets += 1;
        }
    }
    assert!(failing_with_octets >= 4);
}
