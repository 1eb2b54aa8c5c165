//! `zmtp-harness drivers` and `zmtp-harness drivers build`: every driver with a manifest, its
//! state on this machine, and building them.

use super::manifest::{self, DriverDir, ManifestError, State};
use super::registry::{self, DriverCommand};
use comfy_table::Table;
use std::path::Path;
use std::time::Duration;

/// One row of the listing.
#[derive(Clone, Debug)]
pub struct Row {
    /// The driver's name (or the directory, for a broken manifest).
    pub name: String,
    /// Language, library and version from the manifest.
    pub what: String,
    /// The state, or the manifest error.
    pub state: String,
    /// For a ready driver: what its `hello` says, or why it did not answer.
    pub hello: Option<String>,
}

/// Lists every driver; with `check`, starts each ready one and asks for its `hello`.
pub async fn list(harness_exe: &Path, check: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for entry in manifest::discover(&registry::repo_root()) {
        let driver = match entry {
            Ok(d) => d,
            Err(e) => {
                rows.push(Row {
                    name: "?".into(),
                    what: String::new(),
                    state: format!("broken manifest: {e}"),
                    hello: None,
                });
                continue;
            }
        };
        let state = driver.state();
        let hello = match (&state, check) {
            (State::Ready, true) => Some(hello_line(&driver, harness_exe).await),
            _ => None,
        };
        rows.push(Row {
            name: driver.manifest.name.clone(),
            what: format!(
                "{} · {} {}",
                driver.manifest.language, driver.manifest.library, driver.manifest.version
            ),
            state: state.to_string(),
            hello,
        });
    }
    rows
}

/// The rows as a table for the terminal.
pub fn table(rows: &[Row]) -> Table {
    let mut table = Table::new();
    *table.style_mut() = comfy_table::presets::UTF8_BORDERS_ONLY;
    table.set_header(["driver", "language · library version", "state", "hello"]);
    for r in rows {
        table.add_row([
            r.name.as_str(),
            r.what.as_str(),
            r.state.as_str(),
            r.hello.as_deref().unwrap_or("·"),
        ]);
    }
    table
}

async fn hello_line(driver: &DriverDir, harness_exe: &Path) -> String {
    let command = match registry::split_command_line(&driver.run_command(harness_exe)) {
        Ok(mut words) if !words.is_empty() => DriverCommand {
            label: driver.manifest.name.clone(),
            program: words.remove(0),
            args: words,
        },
        Ok(_) => return "empty run command".into(),
        Err(e) => return e.to_string(),
    };
    match tokio::time::timeout(
        Duration::from_secs(20),
        crate::run::contract_check(&command),
    )
    .await
    {
        Ok(Ok(h)) => format!(
            "ok: {} {} · {} socket types · {} options · {}",
            h.library,
            h.library_version,
            h.socket_types.len(),
            h.options.len(),
            h.mechanisms.join(",")
        ),
        Ok(Err(e)) => format!("no: {e}"),
        Err(_) => "no answer within 20 s".into(),
    }
}

/// What happened to one driver in `drivers build`.
#[derive(Debug)]
pub enum BuildOutcome {
    /// Built now.
    Built,
    /// Already up to date, or nothing to build.
    UpToDate,
    /// Its toolchain is missing; nothing was tried.
    Skipped(String),
    /// The build failed, or the manifest is broken.
    Failed(ManifestError),
}

/// Builds the named driver, or every driver for `None`; each with progress on stderr.
pub fn build(name: Option<&str>) -> Vec<(String, BuildOutcome)> {
    let root = registry::repo_root();
    let drivers: Vec<Result<DriverDir, ManifestError>> = match name {
        Some(n) => vec![DriverDir::load(&root, n)],
        None => manifest::discover(&root),
    };
    drivers
        .into_iter()
        .map(|entry| match entry {
            Err(e) => (name.unwrap_or("?").to_owned(), BuildOutcome::Failed(e)),
            Ok(d) => {
                let outcome = match d.state() {
                    State::ToolchainMissing { .. } if name.is_none() => {
                        BuildOutcome::Skipped(d.state().to_string())
                    }
                    _ => match registry::build_with_progress(&d) {
                        Ok(true) => BuildOutcome::Built,
                        Ok(false) => BuildOutcome::UpToDate,
                        Err(e) => BuildOutcome::Failed(e),
                    },
                };
                (d.manifest.name, outcome)
            }
        })
        .collect()
}
