//! `REPORT.md`: the bug report — title, versions, the requirements with their text, expected
//! against actual, the octets both ways in hex and decoded, and how to run the reproducer.

use super::Inputs;
use super::app::{App, Binding};
use super::plan::{Mode, ReproPlan, check_name};
use crate::dissect::{self, Start};
use crate::replay_case::Connection;
use std::fmt::Write as _;
use zmtp_codec::Profile;

/// Octets of one direction shown in full; the rest is counted.
const SHOWN: usize = 2048;

/// The library under test as the driver's `hello` names it: `libzmq 4.3.4`.
pub fn library(inputs: &Inputs<'_>) -> String {
    match inputs.hello {
        Some(h) => format!("{} {}", h.library, h.library_version),
        None => inputs.iut.to_string(),
    }
}

/// Hex, 32 octets a line, at most [`SHOWN`] octets.
fn hex_block(octets: &[u8]) -> String {
    let mut out = String::new();
    for line in octets[..octets.len().min(SHOWN)].chunks(32) {
        let _ = writeln!(out, "{}", hex::encode(line));
    }
    if octets.len() > SHOWN {
        let _ = writeln!(out, "… {} more octets", octets.len() - SHOWN);
    }
    out
}

/// One direction: hex, then the dissector's reading (strict, so a violation is named).
fn direction(out: &mut String, title: &str, octets: &[u8]) {
    let _ = writeln!(out, "{title} ({} octets):\n", octets.len());
    if octets.is_empty() {
        let _ = writeln!(out, "(nothing)\n");
        return;
    }
    let _ = writeln!(out, "```\n{}```\n", hex_block(octets));
    let d = dissect::dissect(
        octets,
        dissect::Options {
            profile: Profile::Strict,
            start: Start::Auto,
            mechanism: None,
            max_frame_size: None,
        },
    );
    let _ = writeln!(
        out,
        "decoded (`zmtp-harness decode`, strict):\n\n```\n{}```\n",
        dissect::render_text(&d, octets)
    );
}

/// The octets of one connection, both ways.
fn connection(out: &mut String, c: &Connection) {
    let sent: Vec<u8> = c.writes.iter().flat_map(|(_, o)| o.clone()).collect();
    let _ = writeln!(
        out,
        "### Connection `{}` ({} write(s) by the raw peer; the implementation {} it)\n",
        c.name,
        c.writes.len(),
        if c.recorded.closed {
            "closed"
        } else {
            "did not close"
        }
    );
    direction(out, "Sent by the raw peer (repro.py)", &sent);
    direction(out, "Sent by the implementation", &c.received);
}

/// The versions section.
fn versions(out: &mut String, inputs: &Inputs<'_>) {
    let _ = writeln!(out, "## Versions\n");
    let _ = writeln!(out, "- library: **{}**", library(inputs));
    if let Some(h) = inputs.hello {
        let binding = if h.binding.is_empty() {
            String::new()
        } else {
            format!(", binding {} {}", h.binding, h.binding_version)
        };
        let _ = writeln!(
            out,
            "- reached through: the zmtp-harness driver `{}` {}{binding}",
            h.implementation, h.version
        );
    }
    let _ = writeln!(
        out,
        "- found with: zmtp-harness {} (a ZMTP 3.x conformance harness), case `{}`",
        inputs.harness_version, inputs.result.id
    );
    let _ = writeln!(
        out,
        "- transport: TCP on 127.0.0.1, mechanism NULL unless the octets say otherwise\n"
    );
}

/// The requirements the case checks, those that failed first.
fn requirements(out: &mut String, plan: &ReproPlan, inputs: &Inputs<'_>) {
    let _ = writeln!(out, "## Requirements\n");
    let failed: Vec<&str> = plan
        .failed
        .iter()
        .filter_map(|c| c.requirement.as_deref())
        .collect();
    let mut ids: Vec<&str> = failed.clone();
    for r in &inputs.case.requirements {
        if !ids.contains(&r.as_str()) {
            ids.push(r);
        }
    }
    for id in ids {
        let mark = if failed.contains(&id) {
            " — **broken**"
        } else {
            ""
        };
        match inputs.registry.get(id) {
            Some(r) => {
                let _ = writeln!(
                    out,
                    "- **{id}** ({}){mark}: {} _(source: {}, {})_",
                    r.level.keyword(),
                    r.statement,
                    r.source,
                    r.doc
                );
            }
            None => {
                let _ = writeln!(out, "- **{id}**{mark}");
            }
        }
    }
    out.push('\n');
}

/// Expected against actual.
fn expected_actual(out: &mut String, plan: &ReproPlan) {
    let _ = writeln!(out, "## Expected and actual\n");
    if plan.mode == Mode::Conforming {
        let _ = writeln!(
            out,
            "The recorded run **passed**: the octets below are the conforming answer, and repro.py says NOT REPRODUCED while the implementation still gives it.\n"
        );
        return;
    }
    let _ = writeln!(out, "| requirement | level | check | expected | actual |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    for c in &plan.failed {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            c.requirement.as_deref().unwrap_or("-"),
            c.level,
            cell(&check_name(c)),
            cell(&c.expected),
            cell(&c.actual)
        );
    }
    out.push('\n');
}

/// How to run the reproducer.
fn how_to_run(out: &mut String, plan: &ReproPlan, app: &App) {
    let _ = writeln!(out, "## How to reproduce\n");
    let _ = writeln!(
        out,
        "`repro.py` plays the raw peer's octets above (Python 3, standard library only); `{}` is the application side ({}{}).\n",
        app.file_name(),
        app.needs,
        if app.complete {
            ""
        } else {
            "; a template: fill in its `TODO` lines first"
        }
    );
    let run_app = app.run.replace("ENDPOINT", "tcp://127.0.0.1:5555");
    let (first, second) = if plan.peer_listens() {
        (
            "python3 repro.py --listen 5555      # the raw peer listens first".to_string(),
            format!("{run_app}      # then the application connects to it"),
        )
    } else {
        (
            format!("{run_app}      # the application binds first"),
            "python3 repro.py --connect 127.0.0.1:5555".to_string(),
        )
    };
    let _ = writeln!(
        out,
        "In two terminals:\n\n```sh\n# terminal 1\n{first}\n# terminal 2\n{second}\n```\n"
    );
    if app.binding == Binding::Pyzmq {
        let _ = writeln!(
            out,
            "pyzmq's wheel bundles its own libzmq, which may be newer than the one recorded above: app.py prints both versions when it starts.\n"
        );
    }
    let _ = writeln!(
        out,
        "repro.py compares the implementation's greeting (version, mechanism, as-server), its commands (READY's Identity and PING's context left out){} and whether it closed the connection with the recording. Exit status 0: reproduced (it answered as in the recorded {} run), 1: not reproduced, 2: could not run.\n",
        if plan.compare_messages {
            ", its messages"
        } else {
            ""
        },
        plan.verdict
    );
}

/// The text of `REPORT.md`.
pub fn write(plan: &ReproPlan, inputs: &Inputs<'_>, app: &App) -> String {
    let mut out = String::new();
    let summary = match plan.mode {
        Mode::Divergence => plan
            .failed
            .iter()
            .filter_map(|c| c.requirement.clone())
            .collect::<Vec<_>>()
            .join(", "),
        Mode::Conforming => "passes".into(),
    };
    let _ = writeln!(out, "# {}: {} ({summary})\n", library(inputs), plan.title);
    let _ = writeln!(
        out,
        "Found by the ZMTP conformance case `{}` ({} against {}). A {} socket of the implementation {} a peer that speaks ZMTP directly (the raw peer).\n",
        plan.case,
        plan.verdict,
        inputs.iut,
        plan.socket.socket_type,
        if plan.peer_listens() {
            "connects to"
        } else {
            "binds and is connected to by"
        }
    );
    if !plan.description.is_empty() {
        let _ = writeln!(out, "{}\n", plan.description.trim());
    }
    versions(&mut out, inputs);
    requirements(&mut out, plan, inputs);
    expected_actual(&mut out, plan);
    let _ = writeln!(out, "## The octets\n");
    let _ = writeln!(
        out,
        "As recorded by the harness, per TCP connection in the order they opened.\n"
    );
    for c in &plan.connections {
        connection(&mut out, c);
    }
    how_to_run(&mut out, plan, app);
    out
}
