//! Driver manifests: `drivers/<name>/driver.toml` says how to build and start one driver.
//!
//! The format is specified in `spec/driver-protocol.md` ("Manifests"). A manifest names the
//! toolchain the driver needs (programs on `PATH`), an optional build command with the inputs
//! whose change calls for a rebuild, and the command line that starts the driver. Builds write
//! into `target/drivers/<name>/` (`{out}`), run under a lock so two harness processes never build
//! the same driver at once, and leave a stamp (a fingerprint of the command and the inputs), so
//! a driver is built once and again only when its sources change.

use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The manifest's file name inside a driver directory.
pub const MANIFEST_FILE: &str = "driver.toml";

/// Directories never searched for build inputs (build outputs and tool caches).
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", ".git", "build", "__pycache__"];

/// One driver's `driver.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The `--iut` name; equals the directory name.
    pub name: String,
    /// The driver's language ("Rust", "Python", "Java", "Go", "JavaScript").
    pub language: String,
    /// The library under test.
    pub library: String,
    /// The library version the lock file pins.
    pub version: String,
    /// One line for listings.
    #[serde(default)]
    pub summary: String,
    /// What must be installed to build and run the driver.
    #[serde(default)]
    pub toolchain: Toolchain,
    /// How to build it; absent for drivers built into the harness.
    pub build: Option<Build>,
    /// How to start it.
    pub run: Run,
}

/// The programs a driver needs on `PATH`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    /// Each must be found on `PATH`.
    #[serde(default)]
    pub programs: Vec<String>,
    /// What to install when one is missing.
    #[serde(default)]
    pub hint: String,
}

/// The build step.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Run with `sh -c` in the driver directory, after placeholder substitution.
    pub command: String,
    /// Globs relative to the driver directory; a change to a matching file calls for a rebuild.
    #[serde(default)]
    pub inputs: Vec<String>,
}

/// The start command.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// Split on whitespace (with quoting, no shell) after placeholder substitution.
    pub command: String,
}

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The manifest.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid manifest.
    #[error("{path} is not a valid driver manifest: {message}")]
    Parse {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A program the toolchain needs is not on `PATH`.
    #[error("driver {driver} needs `{program}`, which is not on PATH: {hint}")]
    ToolchainMissing {
        /// The driver.
        driver: String,
        /// The missing program.
        program: String,
        /// What to install.
        hint: String,
    },
    /// The build command could not be started or its log written.
    #[error("cannot build driver {driver}: {message}")]
    BuildIo {
        /// The driver.
        driver: String,
        /// What failed.
        message: String,
    },
    /// The build command failed.
    #[error("{0}")]
    BuildFailed(Box<BuildFailure>),
}

/// A failed build: what ran, where, how it ended, and the end of its output.
#[derive(Debug, thiserror::Error)]
#[error(
    "building driver {driver} failed ({status}): `{command}` in {dir}\n{output}\nfull log: {log}"
)]
pub struct BuildFailure {
    /// The driver.
    pub driver: String,
    /// The command as run.
    pub command: String,
    /// Its working directory.
    pub dir: String,
    /// Its exit status.
    pub status: String,
    /// The last lines of its output.
    pub output: String,
    /// Where the whole output is.
    pub log: String,
}

/// Where a driver stands on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// It can be started now.
    Ready,
    /// Its toolchain is here, but it must be built first (never built, or its inputs changed).
    NeedsBuild(String),
    /// A program it needs is missing.
    ToolchainMissing {
        /// The missing program.
        program: String,
        /// What to install.
        hint: String,
    },
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Ready => f.write_str("ready"),
            State::NeedsBuild(why) => write!(f, "needs build ({why})"),
            State::ToolchainMissing { program, hint } => {
                write!(f, "toolchain missing: `{program}` not on PATH; {hint}")
            }
        }
    }
}

/// A manifest with the paths it is resolved against.
#[derive(Clone, Debug)]
pub struct DriverDir {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The driver's directory (absolute when the repository root is).
    pub dir: PathBuf,
    /// Its build output directory, `<root>/target/drivers/<name>`.
    pub out: PathBuf,
    /// The repository root.
    pub root: PathBuf,
}

impl DriverDir {
    /// Loads `<root>/drivers/<name>/driver.toml`.
    pub fn load(root: &Path, name: &str) -> Result<Self, ManifestError> {
        let dir = root.join("drivers").join(name);
        let path = dir.join(MANIFEST_FILE);
        let text = fs::read_to_string(&path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| ManifestError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if manifest.name != name {
            return Err(ManifestError::Parse {
                path,
                message: format!("name = {:?} but the directory is {name:?}", manifest.name),
            });
        }
        Ok(DriverDir {
            out: root.join("target").join("drivers").join(name),
            root: root.to_path_buf(),
            dir,
            manifest,
        })
    }

    /// The driver's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// Replaces `{dir}`, `{out}`, `{root}` and `{harness}` in a manifest command, each path
    /// single-quoted, so the result means the same to `sh` and to
    /// [`split_command_line`](super::registry::split_command_line) whatever the path holds.
    pub fn substitute(&self, command: &str, harness_exe: &Path) -> String {
        command
            .replace("{dir}", &quote(&self.dir))
            .replace("{out}", &quote(&self.out))
            .replace("{root}", &quote(&self.root))
            .replace("{harness}", &quote(harness_exe))
    }

    /// The first toolchain program missing from `PATH`, if any.
    pub fn missing_program(&self) -> Option<&str> {
        self.manifest
            .toolchain
            .programs
            .iter()
            .find(|p| find_on_path(p).is_none())
            .map(String::as_str)
    }

    /// Where the driver stands: toolchain, then the build stamp.
    pub fn state(&self) -> State {
        if let Some(program) = self.missing_program() {
            return State::ToolchainMissing {
                program: program.to_owned(),
                hint: self.manifest.toolchain.hint.clone(),
            };
        }
        let Some(build) = &self.manifest.build else {
            return State::Ready;
        };
        match fs::read_to_string(self.stamp_path()) {
            Err(_) => State::NeedsBuild("never built".into()),
            Ok(stamp) if stamp.trim() == self.fingerprint(build) => State::Ready,
            Ok(_) => State::NeedsBuild("sources changed since the last build".into()),
        }
    }

    /// Builds the driver if its state asks for it; `Ok(true)` when a build ran.
    ///
    /// Holds an exclusive lock on `{out}/.build.lock` while checking and building, so two
    /// processes (e.g. two test binaries) build a driver once between them.
    pub fn ensure_built(&self) -> Result<bool, ManifestError> {
        if let Some(program) = self.missing_program() {
            return Err(self.toolchain_error(program));
        }
        let Some(build) = &self.manifest.build else {
            return Ok(false);
        };
        let io = |e: std::io::Error| ManifestError::BuildIo {
            driver: self.name().to_owned(),
            message: e.to_string(),
        };
        fs::create_dir_all(&self.out).map_err(io)?;
        let lock = File::create(self.out.join(".build.lock")).map_err(io)?;
        lock.lock().map_err(io)?;
        if self.state() == State::Ready {
            return Ok(false);
        }
        let _ = fs::remove_file(self.stamp_path());
        self.run_build(build)?;
        fs::write(self.stamp_path(), self.fingerprint(build)).map_err(io)?;
        Ok(true)
    }

    /// The start command, split into program and arguments.
    pub fn run_command(&self, harness_exe: &Path) -> String {
        self.substitute(&self.manifest.run.command, harness_exe)
    }

    /// The build log of the last build.
    pub fn log_path(&self) -> PathBuf {
        self.out.join("build.log")
    }

    fn stamp_path(&self) -> PathBuf {
        self.out.join(".build-stamp")
    }

    fn toolchain_error(&self, program: &str) -> ManifestError {
        ManifestError::ToolchainMissing {
            driver: self.name().to_owned(),
            program: program.to_owned(),
            hint: self.manifest.toolchain.hint.clone(),
        }
    }

    fn run_build(&self, build: &Build) -> Result<(), ManifestError> {
        let command = self.substitute(&build.command, Path::new("zmtp-harness"));
        let log_path = self.log_path();
        let io = |e: std::io::Error| ManifestError::BuildIo {
            driver: self.name().to_owned(),
            message: format!("{e} (log {})", log_path.display()),
        };
        let mut log = File::create(&log_path).map_err(io)?;
        writeln!(log, "$ cd {} && {command}", self.dir.display()).map_err(io)?;
        let status = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io)?)
            .stderr(log.try_clone().map_err(io)?)
            .status()
            .map_err(io)?;
        if status.success() {
            return Ok(());
        }
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        Err(ManifestError::BuildFailed(Box::new(BuildFailure {
            driver: self.name().to_owned(),
            command,
            dir: self.dir.display().to_string(),
            status: status.to_string(),
            output: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            log: log_path.display().to_string(),
        })))
    }

    /// A fingerprint of the build command and the contents of every input file.
    fn fingerprint(&self, build: &Build) -> String {
        let mut hasher = DefaultHasher::new();
        build.command.hash(&mut hasher);
        for path in self.input_files(build) {
            path.hash(&mut hasher);
            fs::read(self.dir.join(&path))
                .unwrap_or_default()
                .hash(&mut hasher);
        }
        format!("{:016x}", hasher.finish())
    }

    /// The input files, relative to the driver directory, in a stable order.
    fn input_files(&self, build: &Build) -> BTreeSet<PathBuf> {
        let mut set = globset::GlobSetBuilder::new();
        for pattern in &build.inputs {
            if let Ok(glob) = globset::Glob::new(pattern) {
                set.add(glob);
            }
        }
        let Ok(set) = set.build() else {
            return BTreeSet::new();
        };
        let mut found = BTreeSet::new();
        let mut pending = vec![PathBuf::new()];
        while let Some(rel) = pending.pop() {
            let Ok(entries) = fs::read_dir(self.dir.join(&rel)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let path = rel.join(&name);
                match entry.file_type() {
                    Ok(t) if t.is_dir() && !SKIPPED_DIRS.iter().any(|s| name == *s) => {
                        pending.push(path);
                    }
                    Ok(t) if t.is_dir() => {}
                    Ok(_) if set.is_match(&path) => {
                        found.insert(path);
                    }
                    _ => {}
                }
            }
        }
        found
    }
}

/// A path in single quotes (a quote inside becomes `'\\''`).
fn quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

/// Every `drivers/*/driver.toml` under `root`, sorted by name, each loaded or with its error.
pub fn discover(root: &Path) -> Vec<Result<DriverDir, ManifestError>> {
    let Ok(entries) = fs::read_dir(root.join("drivers")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join(MANIFEST_FILE).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.iter().map(|n| DriverDir::load(root, n)).collect()
}

/// The full path of `program` if `PATH` has it (or it is a path to an existing file).
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(tag: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "zmtp-manifest-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("drivers/demo")).unwrap();
        root
    }

    fn write_manifest(root: &Path, build: &str) {
        fs::write(
            root.join("drivers/demo/driver.toml"),
            format!(
                "name = \"demo\"\nlanguage = \"sh\"\nlibrary = \"none\"\nversion = \"1\"\n\
                 [toolchain]\nprograms = [\"sh\"]\n{build}\n[run]\ncommand = \"{{out}}/run {{dir}}\"\n"
            ),
        )
        .unwrap();
    }

    #[test]
    fn builds_once_and_again_when_an_input_changes() {
        let root = temp_root("build");
        fs::write(root.join("drivers/demo/src.txt"), "v1").unwrap();
        write_manifest(
            &root,
            "[build]\ncommand = \"echo built >> {out}/count\"\ninputs = [\"*.txt\"]",
        );
        let d = DriverDir::load(&root, "demo").unwrap();
        assert_eq!(d.state(), State::NeedsBuild("never built".into()));
        assert!(d.ensure_built().unwrap());
        assert_eq!(d.state(), State::Ready);
        assert!(!d.ensure_built().unwrap());
        fs::write(root.join("drivers/demo/src.txt"), "v2").unwrap();
        assert!(matches!(d.state(), State::NeedsBuild(_)));
        assert!(d.ensure_built().unwrap());
        let count = fs::read_to_string(d.out.join("count")).unwrap();
        assert_eq!(count.lines().count(), 2);
        let run =
            super::super::registry::split_command_line(&d.run_command(Path::new("/h"))).unwrap();
        assert_eq!(
            run,
            vec![
                format!("{}/run", d.out.display()),
                d.dir.display().to_string()
            ]
        );
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_failed_build_shows_its_output_and_leaves_no_stamp() {
        let root = temp_root("fail");
        write_manifest(
            &root,
            "[build]\ncommand = \"echo no compiler here >&2; exit 3\"",
        );
        let d = DriverDir::load(&root, "demo").unwrap();
        let err = d.ensure_built().unwrap_err().to_string();
        assert!(err.contains("no compiler here"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(matches!(d.state(), State::NeedsBuild(_)));
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_missing_program_names_what_to_install() {
        let root = temp_root("tool");
        fs::write(
            root.join("drivers/demo/driver.toml"),
            "name = \"demo\"\nlanguage = \"x\"\nlibrary = \"x\"\nversion = \"1\"\n\
             [toolchain]\nprograms = [\"no-such-compiler-zmtp\"]\nhint = \"install it\"\n\
             [run]\ncommand = \"x\"\n",
        )
        .unwrap();
        let d = DriverDir::load(&root, "demo").unwrap();
        assert!(matches!(d.state(), State::ToolchainMissing { .. }));
        let err = d.ensure_built().unwrap_err().to_string();
        assert!(err.contains("no-such-compiler-zmtp") && err.contains("install it"));
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_name_that_differs_from_the_directory_is_refused() {
        let root = temp_root("name");
        fs::write(
            root.join("drivers/demo/driver.toml"),
            "name = \"other\"\nlanguage = \"x\"\nlibrary = \"x\"\nversion = \"1\"\n[run]\ncommand = \"x\"\n",
        )
        .unwrap();
        assert!(matches!(
            DriverDir::load(&root, "demo"),
            Err(ManifestError::Parse { .. })
        ));
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn every_shipped_manifest_loads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let all = discover(root);
        assert!(all.len() >= 3, "drivers/*/driver.toml");
        for d in all {
            let d = d.unwrap();
            assert!(!d.manifest.run.command.is_empty(), "{}", d.name());
        }
    }
}
