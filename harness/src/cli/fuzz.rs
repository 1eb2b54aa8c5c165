//! `fuzz`: fuzz a live implementation over the network with ZMTP-aware mutations.

use super::{Error, outln};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use zmtp_harness::netfuzz;

/// Options of `fuzz`.
#[derive(Args)]
pub struct FuzzArgs {
    /// Implementation under test: libzmq, zmqrs, pyzmq, or a driver command line.
    #[arg(long, default_value = "libzmq")]
    iut: String,
    /// How long, e.g. 60s, 5m.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    time: Duration,
    /// The seed: the same seed sends the same sessions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Socket types to fuzz (default: PULL, SUB, ROUTER, DEALER, PUB); repeatable.
    #[arg(long = "socket-type")]
    socket_types: Vec<String>,
    /// Where findings and report.json go.
    #[arg(long, default_value = "target/netfuzz")]
    out: PathBuf,
    /// Stretch every bound.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// Allowed growth of the driver's resident memory, MiB.
    #[arg(long, default_value_t = 256)]
    max_rss_growth: u64,
    /// Do not minimise findings.
    #[arg(long)]
    no_minimise: bool,
}

/// `60s`, `5m`, `1h`, `250ms`, or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    Ok(Duration::from_secs_f64(v * mult))
}

/// Fuzzes for the given time and prints the findings; a finding is a result about the
/// implementation, not a failure of this command (exit 0).
pub async fn execute(args: FuzzArgs) -> Result<ExitCode, Error> {
    let opts = netfuzz::FuzzOptions {
        iut: args.iut,
        time: args.time,
        seed: args.seed,
        socket_types: args
            .socket_types
            .iter()
            .map(|t| t.to_ascii_uppercase())
            .collect(),
        out: args.out.clone(),
        timeout_scale: args.timeout_scale,
        max_rss_growth_mib: args.max_rss_growth,
        minimise: !args.no_minimise,
    };
    let r = netfuzz::run(&opts).await.map_err(Error::Failed)?;
    outln!(
        "fuzzed {} for {:.1} s: {} sessions ({:.1}/s), {} restart(s), seed {}",
        r.iut,
        r.seconds,
        r.iterations,
        r.per_second,
        r.restarts,
        r.seed
    );
    for (t, n) in &r.per_type {
        outln!("  {t:<7} {n} sessions");
    }
    if r.findings.is_empty() {
        outln!("no findings");
    }
    for line in &r.summary {
        outln!("  finding: {line}");
    }
    for f in &r.findings {
        outln!("  saved: {f}  (replay: zmtp-harness replay {f})");
    }
    outln!("report: {}", args.out.join("report.json").display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("x").is_err());
    }
}
