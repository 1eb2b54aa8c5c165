//! The GitHub composite action in `ci/action.yml`: well-formed YAML (read with PyYAML), every
//! action it uses pinned to a commit, every input and step output it reads declared, every
//! harness option it passes known to `zmtp-harness run --help`, the README's usage example
//! valid against it, and its own run and fail steps executed with bash against the libzmq
//! driver, once matching a baseline and once deviating from one.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn harness() -> &'static str {
    env!("CARGO_BIN_EXE_zmtp-harness")
}

/// A Python with PyYAML: the system's if it has it, else a venv under target/ with PyYAML from
/// PyPI (pinned).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let has_yaml = |py: &Path| {
            Command::new(py)
                .args(["-c", "import yaml"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let system = PathBuf::from("python3");
        if has_yaml(&system) {
            return system;
        }
        let venv = root().join("target").join("ci-action").join("venv");
        let py = venv.join("bin").join("python");
        if !has_yaml(&py) {
            let st = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 -m venv");
            assert!(st.success(), "python3 -m venv failed");
            let st = Command::new(&py)
                .args(["-m", "pip", "install", "--quiet", "PyYAML==6.0.3"])
                .status()
                .expect("pip");
            assert!(st.success(), "pip install PyYAML failed");
        }
        py
    })
}

/// YAML text as JSON, through PyYAML's safe loader (fails on malformed YAML).
fn yaml(text: &str) -> Value {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("python");
    assert!(
        out.status.success(),
        "not valid YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn action_text() -> String {
    std::fs::read_to_string(root().join("ci").join("action.yml")).unwrap()
}

fn action() -> Value {
    yaml(&action_text())
}

fn steps(action: &Value) -> &Vec<Value> {
    action["runs"]["steps"].as_array().expect("runs.steps")
}

/// The step whose `name` starts with `prefix`.
fn step<'a>(action: &'a Value, prefix: &str) -> &'a Value {
    steps(action)
        .iter()
        .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .unwrap_or_else(|| panic!("no step named {prefix}…"))
}

/// Every `${{ <what>.<name> ... }}` reference of the text, as `name` (e.g. inputs.driver →
/// driver, steps.run.outputs.x → run).
fn references(text: &str, what: &str) -> BTreeSet<String> {
    let needle = format!("{what}.");
    text.match_indices(&needle)
        .filter(|(i, _)| text[..*i].ends_with(' ') || text[..*i].ends_with('{'))
        .map(|(i, _)| {
            text[i + needle.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_action_is_a_well_formed_composite_action() {
    let a = action();
    assert_eq!(a["runs"]["using"], "composite");
    assert!(a["name"].is_string() && a["description"].is_string());
    for s in steps(&a) {
        let name = s["name"].as_str().expect("every step is named");
        match (s.get("uses"), s.get("run")) {
            (Some(uses), None) => {
                let uses = uses.as_str().unwrap();
                let (_, pin) = uses.split_once('@').expect("uses has a ref");
                assert!(
                    pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
                    "{name}: {uses} is not pinned to a commit"
                );
            }
            (None, Some(_)) => assert!(s["shell"].is_string(), "{name}: a run step needs shell"),
            _ => panic!("{name}: a step has either uses or run"),
        }
    }
    let uses: Vec<&str> = steps(&a)
        .iter()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    assert!(
        uses.iter()
            .any(|u| u.starts_with("actions/upload-artifact@"))
    );
    assert!(uses.iter().any(|u| u.starts_with("actions/cache@")));
    // every input and step output read is declared
    let text = action_text();
    let inputs: BTreeSet<String> = a["inputs"].as_object().unwrap().keys().cloned().collect();
    for used in references(&text, "inputs") {
        assert!(inputs.contains(&used), "inputs.{used} is not declared");
    }
    let ids: BTreeSet<String> = steps(&a)
        .iter()
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect();
    for used in references(&text, "steps") {
        assert!(ids.contains(&used), "steps.{used} has no step with that id");
    }
    assert!(a["inputs"]["driver"]["required"] == true);
}

#[test]
fn every_harness_option_it_passes_exists() {
    let a = action();
    let script = step(&a, "Run the conformance suite")["run"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(script.contains("\"$ZMTP_HARNESS\" \"${args[@]}\""));
    assert!(script.contains("args=(run "), "the suite is run with `run`");
    let help = Command::new(harness())
        .args(["run", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    let options: BTreeSet<&str> = script
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect();
    assert!(options.len() >= 8, "{options:?}");
    for o in options {
        assert!(
            help.contains(&format!("{o} ")),
            "`zmtp-harness run` has no option {o}"
        );
    }
    let build = step(&a, "Build the harness")["run"].as_str().unwrap();
    assert!(build.contains("-p zmtp-harness"));
    assert!(env!("CARGO_PKG_NAME") == "zmtp-harness");
}

#[test]
fn the_readme_example_uses_the_action_as_declared() {
    let a = action();
    let inputs = a["inputs"].as_object().unwrap();
    let readme = std::fs::read_to_string(root().join("ci").join("README.md")).unwrap();
    let block = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a yaml block in ci/README.md");
    let example = yaml(block);
    let step = example
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.contains("/ci@")))
        .expect("the example uses …/ci@REF");
    let with = step["with"].as_object().unwrap();
    for key in with.keys() {
        assert!(
            inputs.contains_key(key),
            "the example sets unknown input {key}"
        );
    }
    for (name, input) in inputs {
        if input["required"] == true {
            assert!(with.contains_key(name), "the example lacks required {name}");
        }
    }
    // the project README shows the same five lines
    let main = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        main.contains(block.trim()),
        "README.md shows the ci/README.md example"
    );
}

/// Runs a step's script with bash as the runner would, with `env`; returns its exit status
/// and what it wrote to $GITHUB_OUTPUT.
fn run_step(script: &str, env: &[(&str, &str)], dir: &Path) -> (i32, String) {
    std::fs::create_dir_all(dir).unwrap();
    let output = dir.join("github_output");
    let summary = dir.join("github_step_summary");
    std::fs::write(&output, "").unwrap();
    let st = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(root())
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("ZMTP_HARNESS", harness())
        .envs(env.iter().copied())
        .status()
        .unwrap();
    (
        st.code().unwrap_or(-1),
        std::fs::read_to_string(&output).unwrap(),
    )
}

#[test]
fn its_steps_pass_a_matching_run_and_fail_a_deviating_one() {
    let a = action();
    let run = step(&a, "Run the conformance suite")["run"]
        .as_str()
        .unwrap();
    let fail = step(&a, "Fail on a baseline deviation")["run"]
        .as_str()
        .unwrap();
    let dir = root().join("target").join("ci-action");
    let driver = format!("{} driver libzmq", harness());
    // libzmq answers a PING without its TTL with a PONG (a FAIL its baseline lists)
    let cases = "commands/malformed/ping-no-ttl commands/malformed/ping-one-ttl-octet";
    let matching = dir.join("matching");
    let out = matching.to_str().unwrap();
    let baseline = root().join("baselines").join("libzmq.toml");
    let (code, outputs) = run_step(
        run,
        &[
            ("DRIVER", &driver),
            ("BASELINE", baseline.to_str().unwrap()),
            ("CASES", cases),
            ("TIMEOUT_SCALE", "2"),
            ("EXTRA", "--jobs 1"),
            ("OUT", out),
        ],
        &matching,
    );
    assert_eq!(code, 0, "the run step itself never fails");
    assert!(outputs.contains("exit-code=0"), "{outputs}");
    for f in [
        "index.html",
        "junit.xml",
        "report.json",
        "summary.md",
        "run.txt",
    ] {
        assert!(matching.join(f).is_file(), "{f} not written");
    }
    assert_eq!(run_step(fail, &[("CODE", "0")], &matching).0, 0);

    let deviating = dir.join("deviating");
    let empty = deviating.join("empty-baseline.toml");
    std::fs::create_dir_all(&deviating).unwrap();
    std::fs::write(&empty, "implementation = \"mine\"\n").unwrap();
    let (code, outputs) = run_step(
        run,
        &[
            ("DRIVER", &driver),
            ("BASELINE", empty.to_str().unwrap()),
            ("CASES", cases),
            ("TIMEOUT_SCALE", "2"),
            ("EXTRA", ""),
            ("OUT", deviating.to_str().unwrap()),
        ],
        &deviating,
    );
    assert_eq!(code, 0);
    assert!(outputs.contains("exit-code=1"), "{outputs}");
    let summary = std::fs::read_to_string(deviating.join("github_step_summary")).unwrap();
    assert!(summary.contains("ping-no-ttl"), "{summary}");
    assert_eq!(run_step(fail, &[("CODE", "1")], &deviating).0, 1);
    assert_eq!(run_step(fail, &[("CODE", "2")], &deviating).0, 2);
}
