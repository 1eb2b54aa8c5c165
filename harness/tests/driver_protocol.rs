//! The driver protocol against every driver that can run on this machine (the reference
//! drivers libzmq, zmqrs and pyzmq always, plus every `drivers/<name>/driver.toml` whose
//! toolchain is here: `--iut <name>` builds one that needs it, as `zmtp-harness drivers` shows):
//!
//! - `zmtp-harness driver-check` passes for each (exit 0);
//! - every request the harness sends and every reply a driver gives validates against
//!   `spec/driver-protocol.schema.json` (DRV-68): the lines of a representative part of the
//!   suite, recorded through `ZMTP_DRIVER_RECORD`, and the replies driver-check provokes.
//!
//! The two tests take turns (a lock), so driver-check's timing bounds do not compete with a
//! suite run for the machine's cores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::{Value, json};
use zmtp_harness::driver::client::RECORD_ENV;
use zmtp_harness::driver::manifest::{self, State};
use zmtp_harness::driver::protocol::OPS;
use zmtp_harness::driver::registry::repo_root;

static TURNS: Mutex<()> = Mutex::new(());

/// Checked on every machine (their toolchains are the workspace's own, and python3).
const REFERENCE: [&str; 3] = ["libzmq", "zmqrs", "pyzmq"];

/// The suite cases whose traffic is validated: together they use every op the scenarios use
/// (bursts and drains, `send_part`, `zap`, `join`/`leave`, `events`, `disconnect`/`unbind`,
/// exit, SIGTERM, `close` with linger, the ROUTER options, unsupported replies).
const CASES: &[&str] = &[
    "lifecycle",
    "plain",
    "hwm",
    "radio",
    "patterns/router/*",
    "patterns/*/multipart-held-back",
    "patterns/*/*s-and-exchanges",
    "patterns/push/disconnected-peer-queue-discarded",
    "patterns/rep/reply-to-departed-peer",
];

/// The reference drivers, then every other driver whose toolchain is here (ready, or built on
/// first use); those without it are skipped, named (conformance.rs fails CI on them).
fn drivers() -> Vec<String> {
    let mut names: Vec<String> = REFERENCE.iter().map(|s| s.to_string()).collect();
    for d in manifest::discover(&repo_root()).into_iter().flatten() {
        match d.state() {
            State::ToolchainMissing { .. } => println!("SKIPPED {}: {}", d.name(), d.state()),
            _ if names.contains(&d.manifest.name) => {}
            _ => names.push(d.manifest.name.clone()),
        }
    }
    names
}

fn record_path(kind: &str, driver: &str) -> PathBuf {
    let dir = repo_root().join("target").join("driver-protocol");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{kind}-{driver}.jsonl"));
    let _ = std::fs::remove_file(&path);
    path
}

fn harness(args: &[&str], record: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zmtp-harness"))
        .current_dir(repo_root())
        .env(RECORD_ENV, record)
        .args(args)
        .output()
        .expect("zmtp-harness runs")
}

/// One validator per schema definition, made on first use.
struct Schema {
    defs: Value,
    validators: HashMap<String, jsonschema::Validator>,
}

impl Schema {
    fn load() -> Self {
        let path = repo_root().join("spec/driver-protocol.schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        jsonschema::validator_for(&schema).expect("the schema itself is valid");
        Self {
            defs: schema["$defs"].clone(),
            validators: HashMap::new(),
        }
    }

    /// Validates `v` against `$defs/<def>`; the error names the first violation.
    fn check(&mut self, def: &str, v: &Value) -> Result<(), String> {
        let defs = &self.defs;
        let validator = self.validators.entry(def.to_owned()).or_insert_with(|| {
            let schema = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$ref": format!("#/$defs/{def}"),
                "$defs": defs,
            });
            jsonschema::validator_for(&schema).unwrap()
        });
        validator
            .validate(v)
            .map_err(|e| format!("{def}: {e} at {}", e.instance_path()))
    }
}

/// What the schema check of one recorded file found.
#[derive(Default)]
struct Tally {
    requests: usize,
    replies: usize,
    failures: Vec<String>,
}

/// Validates a file written through `ZMTP_DRIVER_RECORD`. With `requests_valid`, every request
/// must validate (the harness's own traffic); without it (driver-check's deliberately broken
/// lines) a request that does not may be answered by a `rejection_reply`.
fn validate(schema: &mut Schema, path: &Path, requests_valid: bool) -> Tally {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut tally = Tally::default();
    // pid -> (the op of the pending request, whether that request was valid)
    let mut pending: HashMap<u64, (Option<String>, bool)> = HashMap::new();
    for record in text.lines() {
        let r: Value = serde_json::from_str(record).unwrap();
        let pid = r["pid"].as_u64().unwrap_or(0);
        let line = r["line"].as_str().unwrap_or("");
        // A raw line may hold blank lines before the request (driver-check's DRV-01 check).
        let last = line.lines().map(str::trim).rfind(|l| !l.is_empty());
        let v: Option<Value> = last.and_then(|l| serde_json::from_str(l).ok());
        if r["dir"] == "request" {
            let valid = match &v {
                Some(v) => schema.check("request", v),
                None => Err("not JSON".into()),
            };
            if let (true, Err(e)) = (requests_valid, &valid) {
                tally.failures.push(format!("request {line}: {e}"));
            }
            let op = v
                .as_ref()
                .and_then(|v| v.get("op"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            pending.insert(pid, (op, valid.is_ok()));
            tally.requests += 1;
        } else {
            let (op, request_valid) = pending.remove(&pid).unwrap_or((None, false));
            let def = match op.as_deref() {
                Some(op) if OPS.contains(&op) || op == "join" || op == "leave" => {
                    format!("{op}_reply")
                }
                Some(_) if request_valid => "unknown_op_reply".into(),
                _ => "rejection_reply".into(),
            };
            let Some(v) = v else {
                tally.failures.push(format!("reply is not JSON: {line}"));
                continue;
            };
            let mut outcome = schema.check(&def, &v);
            if outcome.is_err() && !request_valid {
                outcome = schema.check("rejection_reply", &v);
            }
            if let Err(e) = outcome {
                let req = op.unwrap_or_default();
                tally.failures.push(format!("reply to {req}: {line}: {e}"));
            }
            tally.replies += 1;
        }
    }
    tally
}

#[test]
fn every_ready_driver_passes_driver_check() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let mut schema = Schema::load();
    let mut failures = Vec::new();
    for name in drivers() {
        let record = record_path("check", &name);
        let out = harness(&["driver-check", "--iut", &name, "--brief"], &record);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary = stdout
            .lines()
            .rfind(|l| l.contains(" checks: "))
            .unwrap_or("");
        let tally = validate(&mut schema, &record, false);
        println!(
            "{name}: exit {:?}: {summary}; {} replies validated against the schema",
            out.status.code(),
            tally.replies
        );
        if !out.status.success() {
            failures.push(format!(
                "driver-check --iut {name} (exit {:?}):\n{stdout}\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for f in tally.failures.iter().take(10) {
            failures.push(format!("{name}: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn driver_traffic_validates_against_the_schema() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let mut schema = Schema::load();
    let mut failures = Vec::new();
    for name in drivers() {
        let record = record_path("suite", &name);
        let mut args = vec!["run", "--iut", name.as_str(), "--no-baseline", "--brief"];
        for c in CASES {
            args.extend(["--case", c]);
        }
        let out = harness(&args, &record);
        let tally = validate(&mut schema, &record, true);
        println!(
            "{name}: run exit {:?}; {} requests and {} replies validated, {} invalid",
            out.status.code(),
            tally.requests,
            tally.replies,
            tally.failures.len()
        );
        if tally.requests == 0 {
            failures.push(format!(
                "{name}: nothing recorded (exit {:?}): {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for f in tally.failures.iter().take(10) {
            failures.push(format!("{name}: {f}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
