//! `replay`: replay a saved fuzz finding against an implementation, or the raw peer's side
//! of any recorded case from a JSON report (`--report FILE --case ID`).

use super::{Error, outln};
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use zmtp_harness::driver::{DriverProcess, registry as drivers};
use zmtp_harness::netfuzz;
use zmtp_harness::replay_case::{self, Answer, Plan};
use zmtp_harness::verdict::CaseResult;

/// Options of `replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// A finding file written by `fuzz` (not with --report).
    #[arg(required_unless_present = "report", conflicts_with = "report")]
    file: Option<PathBuf>,
    /// A JSON report (`run --json`): replay the raw peer's side of one of its cases.
    #[arg(long, value_name = "FILE", requires = "case")]
    report: Option<PathBuf>,
    /// With --report: the case to replay.
    #[arg(long, value_name = "ID")]
    case: Option<String>,
    /// With --report: an endpoint the implementation already listens on (`tcp://HOST:PORT`),
    /// instead of starting a driver.
    #[arg(long, value_name = "ENDPOINT", conflicts_with = "iut")]
    endpoint: Option<String>,
    /// Implementation to replay against (default: the one in the finding or the report).
    #[arg(long)]
    iut: Option<String>,
    /// Stretch every bound.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Replay this many times (races reproduce only sometimes); reports how often it failed.
    #[arg(long, default_value_t = 5)]
    times: u32,
}

/// Replays the finding; exit 1 when it reproduced at least once. With `--report`: replays the
/// case; exit 1 when the implementation's answer differs from the recorded one.
pub async fn execute(args: ReplayArgs) -> Result<ExitCode, Error> {
    if let Some(report) = &args.report {
        return replay_report(&args, report).await;
    }
    let file = args.file.clone().unwrap_or_default();
    let finding = netfuzz::load_finding(&file).map_err(Error::Failed)?;
    let iut = args.iut.unwrap_or_else(|| finding.iut.clone());
    let cmd = drivers::resolve(&iut)?;
    outln!(
        "replaying {} ({} on a {} socket, {} octets, close {}) against {iut}",
        file.display(),
        finding.oracle,
        finding.socket_type,
        finding
            .chunks_hex
            .iter()
            .map(|h| h.len() / 2)
            .sum::<usize>(),
        finding.close
    );
    for m in &finding.mutations {
        outln!("  mutation: {m}");
    }
    let times = args.times.max(1);
    let mut failed = 0;
    let mut last = None;
    for _ in 0..times {
        if let Some(f) = netfuzz::reproduce(&finding, &cmd, args.timeout_scale, 256 * 1024)
            .await
            .map_err(Error::Failed)?
        {
            failed += 1;
            last = Some(f);
        }
    }
    match last {
        Some((oracle, detail)) => {
            outln!("reproduced in {failed} of {times} replays: {oracle}: {detail}");
            Ok(ExitCode::from(1))
        }
        None => {
            outln!("not reproduced in {times} replays: every oracle held");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The case `id` of a JSON report, and the `--iut` the report was made with.
pub fn load_case(report: &Path, id: &str) -> Result<(CaseResult, String), Error> {
    let text = std::fs::read_to_string(report).map_err(|source| Error::Io {
        path: report.to_path_buf(),
        source,
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let iut = json["iut"]["name"].as_str().unwrap_or("libzmq").to_string();
    let result = json["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["id"] == id))
        .ok_or_else(|| Error::NoCase(format!("{}: no case {id}", report.display())))?;
    Ok((serde_json::from_value(result.clone())?, iut))
}

/// The plan to replay case `id` of the report: its octets, and its scenario's socket.
pub fn plan_of(result: &CaseResult) -> Result<Plan, Error> {
    let registry = super::registry()?;
    let cases = zmtp_harness::scenario::builtin(&registry)?;
    let case = cases
        .iter()
        .find(|c| c.case.id == result.id)
        .ok_or_else(|| Error::NoCase(format!("no scenario case {}", result.id)))?;
    replay_case::plan(result, &case.case).map_err(|e| Error::Failed(e.to_string()))
}

/// A driver with the plan's socket bound on 127.0.0.1; its address.
pub async fn start_driver(iut: &str, plan: &Plan) -> Result<(DriverProcess, SocketAddr), Error> {
    let failed = |e: zmtp_harness::driver::DriverError| Error::Failed(format!("driver {iut}: {e}"));
    let cmd = drivers::resolve(iut)?;
    let mut d = DriverProcess::spawn(&cmd).await.map_err(failed)?;
    d.hello().await.map_err(failed)?;
    let socket = d.socket(&plan.socket.socket_type).await.map_err(failed)?;
    for (option, value) in &plan.socket.options {
        let r = d
            .setsockopt(&socket, option, value.clone())
            .await
            .map_err(failed)?;
        d.require_ok("setsockopt", r).map_err(failed)?;
    }
    let ep = d.bind(&socket, "tcp://127.0.0.1:0").await.map_err(failed)?;
    let addr = endpoint_addr(&ep)?;
    Ok((d, addr))
}

/// `tcp://HOST:PORT` as an address.
pub fn endpoint_addr(ep: &str) -> Result<SocketAddr, Error> {
    ep.trim_start_matches("tcp://")
        .parse()
        .map_err(|e| Error::Failed(format!("endpoint {ep}: {e}")))
}

fn print_answer(title: &str, a: &Answer) {
    outln!("    {title}:");
    for l in a.lines() {
        outln!("      {l}");
    }
    if !a.messages.is_empty() {
        outln!("      ({} message(s), not compared)", a.messages.len());
    }
}

/// `replay --report FILE --case ID`.
async fn replay_report(args: &ReplayArgs, report: &Path) -> Result<ExitCode, Error> {
    let id = args.case.clone().unwrap_or_default();
    let (result, recorded_iut) = load_case(report, &id)?;
    let plan = plan_of(&result)?;
    let (driver, addr, against) = match &args.endpoint {
        Some(ep) => (None, endpoint_addr(ep)?, ep.clone()),
        None => {
            let iut = args.iut.clone().unwrap_or(recorded_iut);
            let (d, addr) = start_driver(&iut, &plan).await?;
            (Some(d), addr, iut)
        }
    };
    outln!(
        "replaying the raw peer's side of {id} ({}, recorded {}) against {against}: a {} socket, {} connection(s)",
        report.display(),
        result.verdict,
        plan.socket.socket_type,
        plan.connections.len()
    );
    outln!(
        "compared: the greeting (version, mechanism, as-server), every command (READY's Identity and PING's context left out) and whether the implementation closed the connection; messages are not (the case's application steps are not replayed); pauses at most {} ms",
        replay_case::MAX_PAUSE.as_millis()
    );
    let replayed = replay_case::replay(&plan, addr, args.timeout_scale).await;
    if let Some(mut d) = driver
        && d.exit(Duration::from_secs(5)).await.is_err()
    {
        let _ = d.kill().await;
    }
    let replayed = replayed.map_err(|e| Error::Failed(e.to_string()))?;
    let mut differing = 0;
    for (c, got) in plan.connections.iter().zip(&replayed) {
        let diffs = replay_case::differences(&c.recorded, got);
        let octets: usize = c.writes.iter().map(|(_, o)| o.len()).sum();
        outln!(
            "  connection {} ({} write(s), {octets} octets): {}",
            c.name,
            c.writes.len(),
            if diffs.is_empty() {
                "same answer"
            } else {
                "different answer"
            }
        );
        if diffs.is_empty() {
            print_answer("answer", got);
        } else {
            differing += 1;
            print_answer("recorded", &c.recorded);
            print_answer("replayed", got);
            for d in diffs {
                outln!("    differs: {d}");
            }
        }
    }
    for s in &plan.skipped {
        outln!("  connection {s}: not replayed (a proxied half, or no octets kept)");
    }
    if differing == 0 {
        outln!("the implementation answered as recorded");
        Ok(ExitCode::SUCCESS)
    } else {
        outln!("{differing} connection(s) answered differently from the recording");
        Ok(ExitCode::from(1))
    }
}
