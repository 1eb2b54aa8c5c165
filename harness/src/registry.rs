//! The requirement registry (`spec/requirements.toml`).
//!
//! Every normative sentence of `spec/zmtp.md` and `spec/semantics.md` ends with a bracketed
//! identifier such as `FRAME-03`; the registry lists each identifier once, with its level, its
//! source, who it binds and how the harness can check it. Test cases and verdicts cite these
//! identifiers, and the traceability tests (`harness/tests/registry.rs`) keep the documents and
//! the registry in step.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use thiserror::Error;

/// The text of `spec/requirements.toml`, embedded at build time.
pub const BUNDLED_TOML: &str = include_str!("../../spec/requirements.toml");

/// How strongly a requirement binds (RFC 2119).
///
/// `MUST NOT` and `SHALL` count as [`Level::Must`], `SHOULD NOT` as [`Level::Should`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// An absolute requirement; a violation is a failure.
    Must,
    /// A recommendation; a violation is a non-strict result.
    Should,
    /// A permission; the harness records which choice was made.
    May,
}

impl Level {
    /// All levels, strongest first.
    pub const ALL: [Level; 3] = [Level::Must, Level::Should, Level::May];

    /// The keyword as written in the registry and the documents: `MUST`, `SHOULD` or `MAY`.
    pub fn keyword(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.keyword())
    }
}

/// How the harness can check a requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Testability {
    /// Judged from what a raw ZMTP peer played by the harness sees on the connection.
    Wire,
    /// Needs the implementation's own API, reached through a driver.
    Driver,
    /// Cannot be checked by the harness; [`Requirement::reason`] says why.
    Untestable,
}

impl Testability {
    /// All values, in registry order.
    pub const ALL: [Testability; 3] = [
        Testability::Wire,
        Testability::Driver,
        Testability::Untestable,
    ];

    /// The name as written in the registry: `wire`, `driver` or `untestable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Testability::Wire => "wire",
            Testability::Driver => "driver",
            Testability::Untestable => "untestable",
        }
    }
}

impl fmt::Display for Testability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One requirement of the specification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// The identifier, e.g. `FRAME-03`, as it appears in brackets in the document.
    pub id: String,
    /// How strongly it binds.
    pub level: Level,
    /// The rule in one sentence, the same rule as the tagged sentence of the document.
    pub statement: String,
    /// Where it comes from: RFC sections, `decision: ...` or `behaviour`.
    pub source: String,
    /// Who is bound: `sender`, `receiver`, `peer`, `client`, `server`, a socket type, `any`, ...
    pub role: String,
    /// How the harness can check it.
    pub testability: Testability,
    /// Why it cannot be checked; present exactly when `testability` is `untestable`.
    #[serde(default)]
    pub reason: Option<String>,
    /// The document that defines it: `zmtp.md` or `semantics.md`.
    pub doc: String,
}

/// The parsed registry: every requirement, in file order (by document, then section).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registry {
    /// The requirements in the order of the file.
    pub requirements: Vec<Requirement>,
}

/// Why the registry could not be loaded.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// The file could not be read.
    #[error("cannot read requirement registry {path}: {source}")]
    Io {
        /// The path that was being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a valid registry.
    #[error("invalid requirement registry: {0}")]
    Parse(#[from] toml::de::Error),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    requirement: Vec<Requirement>,
}

impl Registry {
    /// Reads and parses a registry file.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Io`] if the file cannot be read, [`RegistryError::Parse`] if it is not
    /// a valid registry.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RegistryError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_str(&text)
    }

    /// Parses registry text (the contents of a `requirements.toml`).
    ///
    /// # Errors
    ///
    /// [`RegistryError::Parse`] if the text is not valid TOML, has unknown fields, or has a
    /// level or testability outside the allowed values.
    #[allow(clippy::should_implement_trait)] // also implemented as `FromStr`, which calls this
    pub fn from_str(text: &str) -> Result<Self, RegistryError> {
        let file: RegistryFile = toml::from_str(text)?;
        Ok(Registry {
            requirements: file.requirement,
        })
    }

    /// The registry embedded in the binary at build time ([`BUNDLED_TOML`]).
    ///
    /// # Errors
    ///
    /// [`RegistryError::Parse`] if the embedded file is not a valid registry (the traceability
    /// tests rule this out).
    pub fn bundled() -> Result<Self, RegistryError> {
        Self::from_str(BUNDLED_TOML)
    }

    /// The requirement with this identifier, if any.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// Iterates over the requirements in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Requirement> {
        self.requirements.iter()
    }

    /// How many requirements there are.
    pub fn len(&self) -> usize {
        self.requirements.len()
    }

    /// Whether the registry has no requirements.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// How many requirements have the given level.
    pub fn count_level(&self, level: Level) -> usize {
        self.iter().filter(|r| r.level == level).count()
    }

    /// How many requirements have the given testability.
    pub fn count_testability(&self, testability: Testability) -> usize {
        self.iter().filter(|r| r.testability == testability).count()
    }
}

impl FromStr for Registry {
    type Err = RegistryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Registry::from_str(text)
    }
}

impl<'a> IntoIterator for &'a Registry {
    type Item = &'a Requirement;
    type IntoIter = std::slice::Iter<'a, Requirement>;

    fn into_iter(self) -> Self::IntoIter {
        self.requirements.iter()
    }
}

/// Finds the bracketed requirement identifiers in a Markdown text, with 1-based line numbers,
/// in order of appearance.
///
/// An identifier is `[`, an upper-case letter, any upper-case letters or digits, `-`, two or
/// three digits, then `]`: the pattern `\[([A-Z][A-Z0-9]*-[0-9]{2,3})\]`. The returned strings
/// are the identifiers without brackets.
pub fn extract_ids(markdown: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut start = 0;
        while let Some(offset) = bytes[start..].iter().position(|&b| b == b'[') {
            let open = start + offset;
            match match_id(&bytes[open + 1..]) {
                Some(len) => {
                    // The identifier is ASCII, so these byte offsets are character boundaries.
                    found.push((line[open + 1..open + 1 + len].to_owned(), index + 1));
                    start = open + 2 + len;
                }
                None => start = open + 1,
            }
        }
    }
    found
}

/// If `rest` starts with an identifier followed by `]`, the identifier's length.
fn match_id(rest: &[u8]) -> Option<usize> {
    let mut i = 0;
    if !rest.first()?.is_ascii_uppercase() {
        return None;
    }
    i += 1;
    while rest
        .get(i)
        .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        i += 1;
    }
    if rest.get(i) != Some(&b'-') {
        return None;
    }
    i += 1;
    let digits_start = i;
    while rest.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let digits = i - digits_start;
    if !(2..=3).contains(&digits) || rest.get(i) != Some(&b']') {
        return None;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<(String, usize)> {
        extract_ids(text)
    }

    #[test]
    fn finds_ids_with_line_numbers() {
        let text = "intro\n- A MUST B [FRAME-02].\nx [GREET-10] and [HB-123].\n";
        assert_eq!(
            ids(text),
            vec![
                ("FRAME-02".to_owned(), 2),
                ("GREET-10".to_owned(), 3),
                ("HB-123".to_owned(), 3),
            ]
        );
    }

    #[test]
    fn rejects_near_misses() {
        for text in [
            "[frame-02]",
            "[FRAME-2]",
            "[FRAME-1234]",
            "[FRAME02]",
            "[-02]",
            "[1A-02]",
            "[FRAME-02",
            "FRAME-02]",
            "`FRAME-02`",
            "[FRAME-02 ]",
            "[PREFIX-nn]",
            "[]",
            "[",
        ] {
            assert_eq!(ids(text), vec![], "{text}");
        }
    }

    #[test]
    fn digits_in_prefix_and_nested_brackets() {
        assert_eq!(ids("[[A1B2-07]]"), vec![("A1B2-07".to_owned(), 1)]);
        assert_eq!(
            ids("[x][Y-01][Z-02]"),
            vec![("Y-01".to_owned(), 1), ("Z-02".to_owned(), 1)]
        );
        assert_eq!(ids("é [É-01] [E-01] ü"), vec![("E-01".to_owned(), 1)]);
    }

    #[test]
    fn parses_a_small_registry() {
        let text = r#"
[[requirement]]
id = "FRAME-02"
level = "MUST"
statement = "A sender MUST set flag bits 7..3 to zero."
source = "RFC 23 §Framing"
role = "sender"
testability = "wire"
doc = "zmtp.md"

[[requirement]]
id = "SEC-02"
level = "SHOULD"
statement = "A receiver SHOULD bound memory."
source = "decision"
role = "receiver"
testability = "untestable"
reason = "not observable"
doc = "zmtp.md"
"#;
        let registry = Registry::from_str(text).expect("valid registry");
        assert_eq!(registry.len(), 2);
        let r = registry.get("SEC-02").expect("present");
        assert_eq!(r.level, Level::Should);
        assert_eq!(r.testability, Testability::Untestable);
        assert_eq!(r.reason.as_deref(), Some("not observable"));
        assert_eq!(registry.get("FRAME-02").map(|r| r.level), Some(Level::Must));
        assert!(registry.get("FRAME-99").is_none());
        let parsed: Registry = text.parse().expect("FromStr");
        assert_eq!(parsed, registry);
    }

    #[test]
    fn rejects_bad_values() {
        let bad_level = "[[requirement]]\nid = \"A-01\"\nlevel = \"must\"\nstatement = \"s\"\n\
                         source = \"s\"\nrole = \"any\"\ntestability = \"wire\"\ndoc = \"zmtp.md\"\n";
        assert!(matches!(
            Registry::from_str(bad_level),
            Err(RegistryError::Parse(_))
        ));
        let unknown_field = bad_level.replace("\"must\"", "\"MUST\"") + "extra = 1\n";
        assert!(Registry::from_str(&unknown_field).is_err());
        assert!(matches!(
            Registry::load("/nonexistent/requirements.toml"),
            Err(RegistryError::Io { .. })
        ));
    }

    #[test]
    fn bundled_registry_parses() {
        let registry = Registry::bundled().expect("bundled registry parses");
        assert!(!registry.is_empty());
        assert!(registry.get("GREET-01").is_some());
    }
}
