//! Known drivers by name, and how an `--iut` string becomes a command line.
//!
//! - A name with a manifest, `drivers/<name>/driver.toml` ([`manifest`](super::manifest)), is
//!   built on first use (and again when its sources change) and started with the manifest's
//!   command. `libzmq`, `zmqrs` and `rzmq` are built into the harness binary
//!   (`{harness} driver <name>`); the others are programs in their own languages. The repository
//!   is found through the environment variable `ZMTP_REPO_ROOT`, else the harness crate's parent
//!   directory.
//! - Anything else is a command line, split on whitespace with simple quoting
//!   (see [`split_command_line`]).

use super::manifest::{self, DriverDir, ManifestError, State};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to start one driver process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverCommand {
    /// Short name for reports (the registry name, or the program for a command line).
    pub label: String,
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl DriverCommand {
    /// The command line as one string, for reports.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Why an `--iut` string cannot be turned into a command.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The string is empty or only whitespace.
    #[error("empty driver command line")]
    Empty,
    /// A quote is not closed.
    #[error("unterminated {0} quote in driver command line")]
    UnterminatedQuote(char),
    /// The harness executable could not be located.
    #[error("cannot locate the harness executable: {0}")]
    NoExe(String),
    /// A named driver's manifest is broken, its toolchain is missing, or its build failed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// The repository root: `ZMTP_REPO_ROOT`, else the parent of the harness crate.
pub fn repo_root() -> PathBuf {
    match std::env::var_os("ZMTP_REPO_ROOT") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
    }
}

/// The drivers with a manifest in this repository, by name.
pub fn named_drivers() -> Vec<String> {
    manifest::discover(&repo_root())
        .into_iter()
        .filter_map(|d| d.ok().map(|d| d.manifest.name))
        .collect()
}

/// Whether `iut` names a driver with a manifest (rather than being a command line).
pub fn is_named(iut: &str) -> bool {
    named_dir(iut).is_some()
}

/// The manifest directory `iut` names, if it is a plain name with a `driver.toml`.
fn named_dir(iut: &str) -> Option<PathBuf> {
    let name = iut.trim();
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let dir = repo_root().join("drivers").join(name);
    (plain && dir.join(manifest::MANIFEST_FILE).is_file()).then_some(dir)
}

/// Resolves an `--iut` string with the running executable as the harness binary.
pub fn resolve(iut: &str) -> Result<DriverCommand, RegistryError> {
    let exe = std::env::current_exe().map_err(|e| RegistryError::NoExe(e.to_string()))?;
    resolve_with(iut, &exe)
}

/// Resolves an `--iut` string; `harness_exe` runs the built-in drivers (`<exe> driver NAME`).
/// Tests pass the `zmtp-harness` binary here, since their own executable is the test runner.
/// A named driver that needs a build is built first (progress on stderr).
pub fn resolve_with(iut: &str, harness_exe: &Path) -> Result<DriverCommand, RegistryError> {
    if named_dir(iut).is_some() {
        let driver = DriverDir::load(&repo_root(), iut.trim())?;
        build_with_progress(&driver)?;
        let mut words = split_command_line(&driver.run_command(harness_exe))?;
        if words.is_empty() {
            return Err(RegistryError::Empty);
        }
        let program = words.remove(0);
        return Ok(DriverCommand {
            label: driver.manifest.name,
            program,
            args: words,
        });
    }
    let mut words = split_command_line(iut)?;
    if words.is_empty() {
        return Err(RegistryError::Empty);
    }
    let program = words.remove(0);
    Ok(DriverCommand {
        label: Path::new(&program)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.clone()),
        program,
        args: words,
    })
}

/// Builds a driver if it needs it, with a spinner on a terminal and one line otherwise.
/// Returns whether a build ran.
pub fn build_with_progress(driver: &DriverDir) -> Result<bool, ManifestError> {
    let State::NeedsBuild(why) = driver.state() else {
        return driver.ensure_built();
    };
    let what = format!(
        "building driver {} ({} {}, {why}); log: {}",
        driver.name(),
        driver.manifest.library,
        driver.manifest.version,
        driver.log_path().display()
    );
    let started = std::time::Instant::now();
    let spinner = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner().with_message(what.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    if spinner.is_none() {
        eprintln!("{what}");
    }
    let result = driver.ensure_built();
    let took = started.elapsed().as_secs_f64();
    let line = match &result {
        Ok(_) => format!("built driver {} in {took:.1} s", driver.name()),
        Err(_) => format!("building driver {} failed after {took:.1} s", driver.name()),
    };
    match spinner {
        Some(bar) => bar.finish_with_message(line),
        None => eprintln!("{line}"),
    }
    result
}

/// Splits a command line on whitespace. Single quotes keep everything literally; double
/// quotes keep whitespace and allow `\"` and `\\`; outside quotes a backslash escapes the
/// next character.
pub fn split_command_line(s: &str) -> Result<Vec<String>, RegistryError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(RegistryError::UnterminatedQuote('\'')),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err(RegistryError::UnterminatedQuote('"')),
                        },
                        Some(x) => cur.push(x),
                        None => return Err(RegistryError::UnterminatedQuote('"')),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(
            split_command_line(r#"java -cp 'a b.jar' Main "x \"y\"" c\ d"#).unwrap(),
            vec!["java", "-cp", "a b.jar", "Main", "x \"y\"", "c d"]
        );
        assert_eq!(split_command_line("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_command_line("''").unwrap(), vec![""]);
        assert!(split_command_line("'open").is_err());
    }

    #[test]
    fn builtins() {
        let c = resolve_with("zmqrs", Path::new("/x/h")).unwrap();
        assert_eq!(c.program, "/x/h");
        assert_eq!(c.args, vec!["driver", "zmqrs"]);
        assert_eq!(c.label, "zmqrs");
        assert!(is_named("pyzmq") && is_named("libzmq"));
        assert!(!is_named("python3 x.py") && !is_named("../drivers/pyzmq"));
        let o = resolve_with("/opt/d --fast", Path::new("/x/h")).unwrap();
        assert_eq!((o.label.as_str(), o.args.len()), ("d", 1));
        assert!(matches!(
            resolve_with(" ", Path::new("/x")),
            Err(RegistryError::Empty)
        ));
    }
}
