//! `drivers`: which drivers are available here.

use super::{Error, outln};
use std::process::ExitCode;
use std::time::Duration;
use zmtp_harness::driver::registry as drivers;
use zmtp_harness::run;

/// Resolves and contract-checks every known driver, one line each.
pub async fn execute() -> Result<ExitCode, Error> {
    for name in drivers::KNOWN_DRIVERS {
        let line = match drivers::resolve(name) {
            Err(e) => format!("unavailable: {e}"),
            Ok(cmd) => {
                match tokio::time::timeout(Duration::from_secs(20), run::contract_check(&cmd)).await
                {
                    Ok(Ok(h)) => format!(
                        "ok: {} {} via {} · {} socket types · {} options · mechanisms {}",
                        h.library,
                        h.library_version,
                        cmd.display(),
                        h.socket_types.len(),
                        h.options.len(),
                        h.mechanisms.join(",")
                    ),
                    Ok(Err(e)) => format!("unavailable: {e}"),
                    Err(_) => "unavailable: no answer within 20 s".to_string(),
                }
            }
        };
        outln!("{name:<8} {line}");
    }
    Ok(ExitCode::SUCCESS)
}
