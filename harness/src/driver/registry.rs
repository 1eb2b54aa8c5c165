//! Known drivers by name, and how an `--iut` string becomes a command line.
//!
//! - `libzmq` and `zmqrs` are built into the harness binary: `<harness exe> driver <name>`.
//! - `pyzmq` is `python3 <repo>/drivers/pyzmq/driver.py`; the repository is found through the
//!   environment variable `ZMTP_REPO_ROOT`, else the harness crate's parent directory.
//! - Anything else is a command line, split on whitespace with simple quoting
//!   (see [`split_command_line`]).

use std::path::{Path, PathBuf};

/// The names [`resolve`] knows.
pub const KNOWN_DRIVERS: &[&str] = &["libzmq", "zmqrs", "pyzmq"];

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
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
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

/// Resolves an `--iut` string with the running executable as the harness binary.
pub fn resolve(iut: &str) -> Result<DriverCommand, RegistryError> {
    let exe = std::env::current_exe().map_err(|e| RegistryError::NoExe(e.to_string()))?;
    resolve_with(iut, &exe)
}

/// Resolves an `--iut` string; `harness_exe` runs the built-in drivers (`<exe> driver NAME`).
/// Tests pass the `zmtp-harness` binary here, since their own executable is the test runner.
pub fn resolve_with(iut: &str, harness_exe: &Path) -> Result<DriverCommand, RegistryError> {
    let exe = harness_exe.to_string_lossy().into_owned();
    match iut.trim() {
        name @ ("libzmq" | "zmqrs") => Ok(DriverCommand {
            label: name.to_owned(),
            program: exe,
            args: vec!["driver".into(), name.into()],
        }),
        "pyzmq" => Ok(DriverCommand {
            label: "pyzmq".into(),
            program: "python3".into(),
            args: vec![
                repo_root()
                    .join("drivers/pyzmq/driver.py")
                    .to_string_lossy()
                    .into_owned(),
            ],
        }),
        other => {
            let mut words = split_command_line(other)?;
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
    }
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
        let p = resolve_with("pyzmq", Path::new("/x/h")).unwrap();
        assert_eq!(p.program, "python3");
        assert!(p.args[0].ends_with("drivers/pyzmq/driver.py"));
        let o = resolve_with("/opt/d --fast", Path::new("/x/h")).unwrap();
        assert_eq!((o.label.as_str(), o.args.len()), ("d", 1));
        assert_eq!(
            resolve_with(" ", Path::new("/x")),
            Err(RegistryError::Empty)
        );
    }
}
