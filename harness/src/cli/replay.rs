//! `replay`: replay a saved fuzz finding against an implementation.

use super::{Error, outln};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use zmtp_harness::driver::registry as drivers;
use zmtp_harness::netfuzz;

/// Options of `replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// A finding file written by `fuzz`.
    file: PathBuf,
    /// Implementation to replay against (default: the one in the finding).
    #[arg(long)]
    iut: Option<String>,
    /// Stretch every bound.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Replay this many times (races reproduce only sometimes); reports how often it failed.
    #[arg(long, default_value_t = 5)]
    times: u32,
}

/// Replays the finding; exit 1 when it reproduced at least once.
pub async fn execute(args: ReplayArgs) -> Result<ExitCode, Error> {
    let finding = netfuzz::load_finding(&args.file).map_err(Error::Failed)?;
    let iut = args.iut.unwrap_or_else(|| finding.iut.clone());
    let cmd = drivers::resolve(&iut)?;
    outln!(
        "replaying {} ({} on a {} socket, {} octets, close {}) against {iut}",
        args.file.display(),
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
