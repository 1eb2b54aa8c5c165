//! Golden vectors (`vectors/`): their model, loading them, and checking them against the codec.
//!
//! This crate lives next to the vector files it reads. `cargo test -p zmtp-codec` runs every
//! vector through it (`codec/tests/vectors.rs`); the harness uses it to seed the network fuzzer
//! and to count requirement coverage.
//!
//! A vector file (`vectors/<family>.json`, described by `vectors/schema.json` and
//! `vectors/README.md`) holds octets, the context in which to decode them, and what a decoder
//! must make of them:
//!
//! - `valid`: both [`Profile`]s decode the octets to `expected`;
//! - `invalid`: both profiles fail with the error kind `error` ([`DecodeError::kind`]);
//! - `acceptable`: [`Profile::Strict`] fails with `error`, [`Profile::Lenient`] decodes to
//!   `expected` (the spec leaves the receiver the choice).
//!
//! [`Vector::decode`] runs one vector through the codec in one profile and returns an
//! [`Outcome`] in the same JSON form as the files; [`Vector::check`] applies the result
//! semantics above, and for stream contexts also feeds the octets in several chunkings (whole,
//! byte by byte, pseudo-random) that must all agree. Transcripts are additionally judged as
//! handshakes by [`zmtp_codec::session::InboundSession`] (see [`Vector::judge_transcript`]).
//!
//! ```no_run
//! use zmtp_vectors as vectors;
//! for (path, file) in vectors::load_dir(&vectors::default_dir())? {
//!     for vector in &file.vectors {
//!         if let Err(mismatches) = vector.check()? {
//!             eprintln!("{}: {}: {mismatches:?}", path.display(), vector.id);
//!         }
//!     }
//! }
//! # Ok::<(), vectors::VectorError>(())
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt;
use std::path::{Path, PathBuf};
use zmtp_codec::session::{Event, InboundSession, Local, Role};
use zmtp_codec::{
    Command, Config, DecodeError, Frame, GREETING_LEN, Greeting, Item, MechanismKind, Metadata,
    Profile, Status, StreamDecoder, StreamError, Strictness, Subscription, detect_peer,
};

/// The `schema_version` this module reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Both profiles, in the order results are reported.
pub const PROFILES: [Profile; 2] = [Profile::Strict, Profile::Lenient];

/// Why vectors could not be loaded or run (as opposed to a vector that fails its check).
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not a well-formed vector file.
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A vector is missing something its context needs, or has bad hex.
    #[error("vector {id}: {reason}")]
    Malformed {
        /// The vector id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// One `vectors/<family>.json` file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// The family name (the file stem).
    pub family: String,
    /// What the family covers.
    pub description: String,
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Must equal `vectors.len()`.
    pub number_of_vectors: usize,
    /// The vectors.
    pub vectors: Vec<Vector>,
}

/// How to decode a vector's octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    /// Classify the first octets of a peer ([`detect_peer`]).
    Detect,
    /// Exactly one 64-octet greeting ([`Greeting::load_exact`]).
    Greeting,
    /// Exactly one frame ([`Frame::load_exact`]).
    Frame,
    /// Exactly one command frame ([`Command::from_frame`] with the vector's mechanism).
    Command,
    /// A property list ([`Metadata::load`]).
    Metadata,
    /// Exactly one frame read as a subscription ([`Subscription::from_frame`]).
    Subscription,
    /// One direction of a connection ([`StreamDecoder`]).
    Stream,
    /// Both directions of a connection.
    Transcript,
}

impl Context {
    /// Whether the octets are fed as a stream (and so must decode the same in any chunking).
    pub fn is_streamed(self) -> bool {
        matches!(self, Context::Stream | Context::Transcript)
    }
}

/// The result class of a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    /// Both profiles decode to `expected`.
    Valid,
    /// Both profiles fail with `error`.
    Invalid,
    /// Strict fails with `error`, Lenient decodes to `expected`.
    Acceptable,
}

/// The mechanism whose command layouts apply (context `command`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
pub enum VectorMechanism {
    /// NULL (the default).
    #[default]
    #[serde(rename = "NULL")]
    Null,
    /// PLAIN.
    #[serde(rename = "PLAIN")]
    Plain,
    /// CURVE.
    #[serde(rename = "CURVE")]
    Curve,
}

impl From<VectorMechanism> for MechanismKind {
    fn from(m: VectorMechanism) -> Self {
        match m {
            VectorMechanism::Null => MechanismKind::Null,
            VectorMechanism::Plain => MechanismKind::Plain,
            VectorMechanism::Curve => MechanismKind::Curve,
        }
    }
}

/// A side of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The connecting peer, and the client of the security handshake.
    Client,
    /// The binding peer, and the server of the security handshake.
    Server,
}

impl Side {
    /// Both sides.
    pub const BOTH: [Side; 2] = [Side::Client, Side::Server];

    /// The other side.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// The JSON key of this side.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    fn role(self) -> Role {
        match self {
            Side::Client => Role::Client,
            Side::Server => Role::Server,
        }
    }
}

/// Octets one side sent, in transcript order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Who sent them.
    pub from: Side,
    /// The octets, lowercase hex.
    pub hex: String,
}

/// One golden vector.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// Stable kebab-case id, unique across all files.
    pub id: String,
    /// What the vector is.
    pub description: String,
    /// Requirement IDs of `spec/requirements.toml` it exercises.
    pub requirements: Vec<String>,
    /// How to decode it.
    pub context: Context,
    /// Mechanism for context `command` (default NULL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<VectorMechanism>,
    /// Maximum frame size (frame, command, subscription, stream); absent means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_frame_size: Option<u64>,
    /// The octets (every context but `transcript`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Both directions (context `transcript`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<Segment>>,
    /// The result class.
    pub result: Expectation,
    /// The decoded form (valid and acceptable; for transcripts always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// The error kind (invalid and acceptable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Transcripts: the sides whose inbound session reports `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_by: Option<Vec<Side>>,
    /// Free text, e.g. what libzmq does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Where the octets were captured from a real implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
}

/// A decode failure, in the language-neutral form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// [`DecodeError::kind`].
    pub kind: String,
    /// [`DecodeError::requirement`].
    pub requirement: String,
    /// The error's message.
    pub message: String,
}

impl Failure {
    fn of(error: &DecodeError) -> Self {
        Failure {
            kind: error.kind().to_string(),
            requirement: error.requirement().to_string(),
            message: error.to_string(),
        }
    }

    fn of_stream(error: &StreamError) -> Self {
        Failure {
            kind: error.error.kind().to_string(),
            requirement: error.error.requirement().to_string(),
            message: error.to_string(),
        }
    }
}

/// What decoding one vector in one profile produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The decoded value, in the form of `expected`.
    Decoded(Value),
    /// The first error. For streams, `partial` lists the items decoded before it.
    Failed {
        /// The error.
        failure: Failure,
        /// Items decoded before the error (streams only).
        #[serde(skip_serializing_if = "Option::is_none")]
        partial: Option<Value>,
    },
}

impl Outcome {
    fn failed(error: &DecodeError) -> Self {
        Outcome::Failed {
            failure: Failure::of(error),
            partial: None,
        }
    }

    /// The error kind, if decoding failed.
    pub fn error_kind(&self) -> Option<&str> {
        match self {
            Outcome::Decoded(_) => None,
            Outcome::Failed { failure, .. } => Some(&failure.kind),
        }
    }
}

/// How stream octets are split into the chunks fed to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chunking {
    /// All at once.
    Whole,
    /// One octet at a time.
    ByteByByte,
    /// Pseudo-random chunk sizes (1 to 70 octets) from this seed; deterministic.
    Seeded(u64),
}

impl Chunking {
    /// The chunkings [`Vector::check`] compares.
    pub const CHECKED: [Chunking; 5] = [
        Chunking::Whole,
        Chunking::ByteByByte,
        Chunking::Seeded(1),
        Chunking::Seeded(2),
        Chunking::Seeded(0x5EED),
    ];

    fn split(self, octets: &[u8]) -> Vec<&[u8]> {
        match self {
            Chunking::Whole => vec![octets],
            Chunking::ByteByByte => octets.chunks(1).collect(),
            Chunking::Seeded(seed) => {
                let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut out = Vec::new();
                let mut rest = octets;
                while !rest.is_empty() {
                    // xorshift64
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let n = usize::try_from(1 + state % 70).unwrap_or(1).min(rest.len());
                    let (head, tail) = rest.split_at(n);
                    out.push(head);
                    rest = tail;
                }
                out
            }
        }
    }
}

/// What one side's inbound session made of the peer's octets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionReport {
    /// Events before any failure, as stream items.
    pub events: Vec<Value>,
    /// The first error raised while polling, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The error `finish()` raised at the end of the octets (only if polling did not fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish: Option<Failure>,
}

impl SessionReport {
    /// The error this session reported, while polling or at the end.
    pub fn error(&self) -> Option<&Failure> {
        self.failure.as_ref().or(self.finish.as_ref())
    }
}

/// The inbound sessions of both sides of a transcript: the client's reads the server's octets
/// and vice versa.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptVerdict {
    /// The client's inbound session.
    pub client: SessionReport,
    /// The server's inbound session.
    pub server: SessionReport,
}

impl TranscriptVerdict {
    /// The report of `side`'s inbound session.
    pub fn side(&self, side: Side) -> &SessionReport {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
}

/// One way a vector's check failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The profile concerned, if the mismatch is specific to one.
    pub profile: Option<Profile>,
    /// What differs.
    pub detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.profile {
            Some(p) => write!(f, "[{p:?}] {}", self.detail),
            None => f.write_str(&self.detail),
        }
    }
}

/// The `vectors/` directory of this repository (where this crate lives).
pub fn default_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reads one vector file.
pub fn load_file(path: &Path) -> Result<VectorFile, VectorError> {
    let text = std::fs::read_to_string(path).map_err(|source| VectorError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| VectorError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads every `*.json` file of `dir` except `schema.json`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, VectorFile)>, VectorError> {
    let entries = std::fs::read_dir(dir).map_err(|source| VectorError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| VectorError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        let is_json = path.extension().is_some_and(|e| e == "json");
        let is_schema = path.file_name().is_some_and(|n| n == "schema.json");
        if is_json && !is_schema {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| load_file(&p).map(|f| (p, f)))
        .collect()
}

/// Finds a vector by id in the files of `dir`.
pub fn find(dir: &Path, id: &str) -> Result<Option<Vector>, VectorError> {
    Ok(load_dir(dir)?
        .into_iter()
        .flat_map(|(_, f)| f.vectors)
        .find(|v| v.id == id))
}

impl VectorFile {
    /// Problems with the file as a whole and with each vector's structure (see
    /// [`Vector::structural_problems`]); empty if it follows `vectors/schema.json`.
    pub fn structural_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.schema_version != SCHEMA_VERSION {
            out.push(format!("schema_version is {}", self.schema_version));
        }
        if self.number_of_vectors != self.vectors.len() {
            out.push(format!(
                "number_of_vectors is {} but there are {} vectors",
                self.number_of_vectors,
                self.vectors.len()
            ));
        }
        for v in &self.vectors {
            out.extend(
                v.structural_problems()
                    .into_iter()
                    .map(|p| format!("{}: {p}", v.id)),
            );
        }
        out
    }
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_requirement_id(s: &str) -> bool {
    let Some((prefix, number)) = s.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

fn is_hex(s: &str) -> bool {
    s.len().is_multiple_of(2)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Vector {
    /// Problems with this vector's structure per `vectors/schema.json` (which fields each
    /// result and context requires or forbids); empty if none.
    pub fn structural_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut problem = |cond: bool, what: &str| {
            if cond {
                out.push(what.to_string());
            }
        };
        problem(!is_kebab(&self.id), "id is not kebab-case");
        problem(self.description.is_empty(), "empty description");
        problem(self.requirements.is_empty(), "no requirements");
        problem(
            !self.requirements.iter().all(|r| is_requirement_id(r)),
            "a requirement is not of the form ABC-01",
        );
        let needs_expected = matches!(self.result, Expectation::Valid | Expectation::Acceptable)
            || self.context == Context::Transcript;
        problem(
            needs_expected && self.expected.is_none(),
            "expected is missing",
        );
        let needs_error = matches!(self.result, Expectation::Invalid | Expectation::Acceptable);
        problem(needs_error && self.error.is_none(), "error is missing");
        problem(
            self.result == Expectation::Valid && self.error.is_some(),
            "a valid vector has an error",
        );
        problem(
            self.error
                .as_deref()
                .is_some_and(|e| e.is_empty() || !e.bytes().all(|b| b.is_ascii_alphanumeric())),
            "error is not an error kind",
        );
        let transcript = self.context == Context::Transcript;
        problem(
            transcript && self.transcript.is_none(),
            "transcript is missing",
        );
        problem(transcript && self.hex.is_some(), "a transcript has hex");
        problem(!transcript && self.hex.is_none(), "hex is missing");
        problem(
            !transcript && self.transcript.is_some(),
            "transcript outside context transcript",
        );
        problem(
            self.hex.as_deref().is_some_and(|h| !is_hex(h)),
            "hex is not lowercase hex",
        );
        problem(
            self.transcript
                .as_ref()
                .is_some_and(|t| t.is_empty() || t.iter().any(|s| !is_hex(&s.hex))),
            "transcript is empty or has bad hex",
        );
        problem(
            self.mechanism.is_some() && self.context != Context::Command,
            "mechanism outside context command",
        );
        problem(
            self.max_frame_size.is_some()
                && !matches!(
                    self.context,
                    Context::Frame | Context::Command | Context::Subscription | Context::Stream
                ),
            "max_frame_size outside a framed context",
        );
        let detected = self.detected_by.as_ref();
        problem(
            detected.is_some() && !(transcript && needs_error),
            "detected_by outside an invalid or acceptable transcript",
        );
        problem(
            transcript && needs_error && detected.is_none_or(|d| d.is_empty()),
            "detected_by is missing",
        );
        out
    }

    fn malformed(&self, reason: impl Into<String>) -> VectorError {
        VectorError::Malformed {
            id: self.id.clone(),
            reason: reason.into(),
        }
    }

    /// The octets of a non-transcript vector.
    pub fn octets(&self) -> Result<Vec<u8>, VectorError> {
        let text = self
            .hex
            .as_deref()
            .ok_or_else(|| self.malformed("no hex"))?;
        hex::decode(text).map_err(|e| self.malformed(format!("bad hex: {e}")))
    }

    /// The octets each side of a transcript sent, concatenated in order.
    pub fn directions(&self) -> Result<[(Side, Vec<u8>); 2], VectorError> {
        let segments = self
            .transcript
            .as_ref()
            .ok_or_else(|| self.malformed("no transcript"))?;
        let mut client = Vec::new();
        let mut server = Vec::new();
        for s in segments {
            let octets =
                hex::decode(&s.hex).map_err(|e| self.malformed(format!("bad hex: {e}")))?;
            match s.from {
                Side::Client => client.extend_from_slice(&octets),
                Side::Server => server.extend_from_slice(&octets),
            }
        }
        Ok([(Side::Client, client), (Side::Server, server)])
    }

    fn config(&self, profile: Profile) -> Config {
        let config = Config::new(profile);
        match self.max_frame_size {
            Some(max) => config.with_max_frame_size(max),
            None => config,
        }
    }

    /// Decodes the vector in `profile`, streams fed whole.
    pub fn decode(&self, profile: Profile) -> Result<Outcome, VectorError> {
        self.decode_chunked(profile, Chunking::Whole)
    }

    /// Decodes the vector in `profile`; stream and transcript octets are fed in `chunking`
    /// (other contexts are one-shot and ignore it).
    pub fn decode_chunked(
        &self,
        profile: Profile,
        chunking: Chunking,
    ) -> Result<Outcome, VectorError> {
        let config = self.config(profile);
        let strictness = config.strictness;
        if self.context == Context::Transcript {
            let mut sides = Map::new();
            for (side, octets) in self.directions()? {
                match decode_stream(&octets, &config, chunking)? {
                    Outcome::Decoded(items) => {
                        sides.insert(side.name().to_string(), items);
                    }
                    Outcome::Failed { failure, partial } => {
                        let mut failure = failure;
                        failure.message = format!("{} stream: {}", side.name(), failure.message);
                        return Ok(Outcome::Failed { failure, partial });
                    }
                }
            }
            return Ok(Outcome::Decoded(Value::Object(sides)));
        }
        let octets = self.octets()?;
        let input = octets.as_slice();
        let mechanism = MechanismKind::from(self.mechanism.unwrap_or_default());
        let result: Result<Value, DecodeError> = match self.context {
            Context::Stream => return decode_stream(input, &config, chunking),
            Context::Transcript => return Err(self.malformed("unreachable")),
            Context::Detect => match detect_peer(input) {
                Status::Done(peer, _) => to_json(&peer),
                Status::NeedMore(_) => Err(DecodeError::TruncatedGreeting { found: input.len() }),
            },
            Context::Greeting => Greeting::load_exact(input, &strictness).and_then(|g| to_json(&g)),
            Context::Frame => Frame::load_exact(input, &config).and_then(|f| to_json(&f)),
            Context::Command => Frame::load_exact(input, &config)
                .and_then(|f| Command::from_frame(&f, mechanism, &strictness))
                .and_then(|c| to_json(&c)),
            Context::Metadata => Metadata::load(input, &strictness).and_then(|m| to_json(&m)),
            Context::Subscription => Frame::load_exact(input, &config)
                .and_then(|f| Subscription::from_frame(&f, &strictness))
                .and_then(|s| to_json(&s)),
        };
        Ok(match result {
            Ok(value) => Outcome::Decoded(value),
            Err(e) => Outcome::failed(&e),
        })
    }

    /// Judges a transcript as a handshake: each side's inbound session
    /// ([`InboundSession`], configured with that side's own mechanism field and role) is fed
    /// the other side's octets in `chunking`.
    pub fn judge_transcript(
        &self,
        profile: Profile,
        chunking: Chunking,
    ) -> Result<TranscriptVerdict, VectorError> {
        let [(_, client), (_, server)] = self.directions()?;
        let config = self.config(profile);
        let local = |side: Side, own: &[u8]| -> Result<Local, VectorError> {
            let mechanism = own
                .get(12..32)
                .and_then(|m| <[u8; 20]>::try_from(m).ok())
                .ok_or_else(|| self.malformed(format!("{} sent no greeting", side.name())))?;
            Ok(Local {
                mechanism,
                role: side.role(),
                config,
            })
        };
        Ok(TranscriptVerdict {
            client: run_session(local(Side::Client, &client)?, &server, chunking)?,
            server: run_session(local(Side::Server, &server)?, &client, chunking)?,
        })
    }

    /// Checks the vector against its result semantics in both profiles (and, for stream
    /// contexts, that every [`Chunking::CHECKED`] chunking agrees). `Ok(Err(..))` lists what
    /// does not match.
    pub fn check(&self) -> Result<Result<(), Vec<Mismatch>>, VectorError> {
        let mut out = Vec::new();
        for profile in PROFILES {
            let outcome = self.decode(profile)?;
            if self.context.is_streamed() {
                for chunking in Chunking::CHECKED.into_iter().skip(1) {
                    let other = self.decode_chunked(profile, chunking)?;
                    if other != outcome {
                        out.push(Mismatch {
                            profile: Some(profile),
                            detail: format!(
                                "{chunking:?} decodes differently from Whole: {} vs {}",
                                brief(&other),
                                brief(&outcome)
                            ),
                        });
                    }
                }
            }
            if self.context == Context::Transcript {
                self.check_transcript(profile, &outcome, &mut out)?;
                continue;
            }
            let wants_value = match (self.result, profile) {
                (Expectation::Valid, _) | (Expectation::Acceptable, Profile::Lenient) => true,
                (Expectation::Invalid, _) | (Expectation::Acceptable, Profile::Strict) => false,
            };
            self.compare(profile, wants_value, &outcome, &mut out);
        }
        Ok(if out.is_empty() { Ok(()) } else { Err(out) })
    }

    fn compare(&self, profile: Profile, wants_value: bool, got: &Outcome, out: &mut Vec<Mismatch>) {
        let mut fail = |detail: String| {
            out.push(Mismatch {
                profile: Some(profile),
                detail,
            })
        };
        match (wants_value, got) {
            (true, Outcome::Decoded(value)) => {
                if Some(value) != self.expected.as_ref() {
                    fail(format!(
                        "decoded {} but expected {}",
                        value,
                        self.expected.as_ref().unwrap_or(&Value::Null)
                    ));
                }
            }
            (true, Outcome::Failed { failure, .. }) => fail(format!(
                "failed with {} ({}) but should decode",
                failure.kind, failure.message
            )),
            (false, Outcome::Decoded(value)) => fail(format!(
                "decoded {value} but should fail with {}",
                self.error.as_deref().unwrap_or("?")
            )),
            (false, Outcome::Failed { failure, .. }) => {
                if Some(failure.kind.as_str()) != self.error.as_deref() {
                    fail(format!(
                        "failed with {} ({}) but expected {}",
                        failure.kind,
                        failure.message,
                        self.error.as_deref().unwrap_or("?")
                    ));
                }
            }
        }
    }

    fn check_transcript(
        &self,
        profile: Profile,
        streams: &Outcome,
        out: &mut Vec<Mismatch>,
    ) -> Result<(), VectorError> {
        // The streams themselves are always well-formed: the verdict is the sessions'.
        self.compare(profile, true, streams, out);
        let violation = match (self.result, profile) {
            (Expectation::Valid, _) | (Expectation::Acceptable, Profile::Lenient) => None,
            (Expectation::Invalid, _) | (Expectation::Acceptable, Profile::Strict) => {
                self.error.as_deref()
            }
        };
        let detected: &[Side] = match violation {
            Some(_) => self.detected_by.as_deref().unwrap_or_default(),
            None => &[],
        };
        let directions = self.directions()?;
        let verdicts: Vec<TranscriptVerdict> = Chunking::CHECKED
            .into_iter()
            .map(|c| self.judge_transcript(profile, c))
            .collect::<Result<_, _>>()?;
        let Some((verdict, others)) = verdicts.split_first() else {
            return Ok(());
        };
        let mut fail = |detail: String| {
            out.push(Mismatch {
                profile: Some(profile),
                detail,
            })
        };
        if others.iter().any(|v| v != verdict) {
            fail("session verdicts differ between chunkings".to_string());
        }
        for side in Side::BOTH {
            let report = verdict.side(side);
            let name = side.name();
            if detected.contains(&side) {
                match report.error() {
                    Some(f) if Some(f.kind.as_str()) == violation => {}
                    Some(f) => fail(format!(
                        "{name} session failed with {} ({}) but expected {}",
                        f.kind,
                        f.message,
                        violation.unwrap_or("?")
                    )),
                    None => fail(format!(
                        "{name} session accepted the peer but should fail with {}",
                        violation.unwrap_or("?")
                    )),
                }
                continue;
            }
            if let Some(f) = &report.failure {
                fail(format!(
                    "{name} session failed with {} ({})",
                    f.kind, f.message
                ));
                continue;
            }
            // A side that refused (sent ERROR) or whose peer gave up on a violation need not
            // have seen a complete handshake.
            let own = directions
                .iter()
                .find(|(s, _)| *s == side)
                .map(|(_, o)| o.as_slice())
                .unwrap_or_default();
            let excused =
                ends_with_error(own, &self.config(profile)) || detected.contains(&side.peer());
            if let (Some(f), false) = (&report.finish, excused) {
                fail(format!(
                    "{name} session did not finish: {} ({})",
                    f.kind, f.message
                ));
            }
            // With nothing to forgive, the session sees exactly what the stream decoder sees.
            if violation.is_none()
                && self.result == Expectation::Valid
                && let Outcome::Decoded(Value::Object(sides)) = streams
            {
                let stream_items = sides.get(side.peer().name());
                if stream_items != Some(&Value::Array(report.events.clone())) {
                    fail(format!(
                        "{name} session events differ from the {} stream items",
                        side.peer().name()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The decoded forms for a snapshot: both profiles (merged when equal), plus the
    /// session verdicts of a transcript.
    pub fn snapshot(&self) -> Result<Value, VectorError> {
        let strict = self.decode(Profile::Strict)?;
        let lenient = self.decode(Profile::Lenient)?;
        let mut out = Map::new();
        if strict == lenient {
            out.insert("both".into(), to_value(&strict)?);
        } else {
            out.insert("strict".into(), to_value(&strict)?);
            out.insert("lenient".into(), to_value(&lenient)?);
        }
        if self.context == Context::Transcript {
            let s = self.judge_transcript(Profile::Strict, Chunking::Whole)?;
            let l = self.judge_transcript(Profile::Lenient, Chunking::Whole)?;
            let brief = |v: &TranscriptVerdict| {
                let side = |r: &SessionReport| match (&r.failure, &r.finish) {
                    (Some(f), _) => json!({"failed": f}),
                    (None, Some(f)) => json!({"unfinished": f}),
                    (None, None) => json!("ok"),
                };
                json!({"client": side(&v.client), "server": side(&v.server)})
            };
            if s == l {
                out.insert("sessions".into(), brief(&s));
            } else {
                out.insert("sessions_strict".into(), brief(&s));
                out.insert("sessions_lenient".into(), brief(&l));
            }
        }
        Ok(Value::Object(out))
    }
}

fn to_value(outcome: &Outcome) -> Result<Value, VectorError> {
    serde_json::to_value(outcome).map_err(|e| VectorError::Malformed {
        id: String::new(),
        reason: format!("serialising an outcome: {e}"),
    })
}

fn brief(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Decoded(v) => {
            let s = v.to_string();
            match s.char_indices().nth(200) {
                Some((i, _)) => format!("{}...", s.get(..i).unwrap_or_default()),
                None => s,
            }
        }
        Outcome::Failed { failure, .. } => format!("{} ({})", failure.kind, failure.message),
    }
}

/// Serialises a decoded value; the JSON form never fails, but the error is typed anyway.
fn to_json<T: Serialize>(value: &T) -> Result<Value, DecodeError> {
    Ok(serde_json::to_value(value).unwrap_or(Value::Null))
}

fn message_item(parts: &[Vec<u8>]) -> Value {
    json!({"message": parts.iter().map(hex::encode).collect::<Vec<_>>()})
}

/// Decodes one direction (greeting, then frames) into stream items.
fn decode_stream(
    octets: &[u8],
    config: &Config,
    chunking: Chunking,
) -> Result<Outcome, VectorError> {
    let mut decoder = StreamDecoder::new(*config);
    let mut items = Vec::new();
    let mut mechanism = MechanismKind::Null;
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let fail = |items: Vec<Value>, failure: Failure| Outcome::Failed {
        failure,
        partial: Some(Value::Array(items)),
    };
    for chunk in chunking.split(octets) {
        decoder.feed(chunk);
        loop {
            let item = match decoder.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => return Ok(fail(items, Failure::of_stream(&e))),
            };
            match item {
                Item::Greeting(g) => {
                    mechanism = g.mechanism.kind();
                    items.push(json!({"greeting": to_json(&g).unwrap_or(Value::Null)}));
                }
                Item::Frame(f) if f.is_command() => {
                    match Command::from_frame(&f, mechanism, &config.strictness) {
                        Ok(c) => items.push(json!({"command": to_json(&c).unwrap_or(Value::Null)})),
                        Err(e) => return Ok(fail(items, Failure::of(&e))),
                    }
                }
                Item::Frame(f) => {
                    parts.push(f.body.to_vec());
                    if !f.more() {
                        items.push(message_item(&parts));
                        parts.clear();
                    }
                }
            }
        }
    }
    if let Err(e) = decoder.finish() {
        return Ok(fail(items, Failure::of_stream(&e)));
    }
    if !parts.is_empty() {
        // The decoder accepted the end of the stream although the last message frame had
        // MORE set: report it as the decoder should have.
        return Ok(fail(
            items,
            Failure {
                kind: "UnreportedTruncatedMessage".into(),
                requirement: "FRAME-11".into(),
                message: format!(
                    "the decoder's finish() accepted a stream that ends inside a {}-frame \
                     message (a command frame came in between)",
                    parts.len()
                ),
            },
        ));
    }
    Ok(Outcome::Decoded(Value::Array(items)))
}

/// Whether `octets` (greeting and frames) end with an ERROR command.
fn ends_with_error(octets: &[u8], config: &Config) -> bool {
    let lenient = Config {
        strictness: Strictness::LENIENT,
        ..*config
    };
    let mut rest = octets.get(GREETING_LEN..).unwrap_or_default();
    let mut last_error = false;
    while !rest.is_empty() {
        let Ok(Status::Done(frame, used)) = Frame::load(rest, &lenient) else {
            return false;
        };
        last_error = frame.is_command()
            && zmtp_codec::command::split_name(frame.body, &Strictness::LENIENT)
                .is_ok_and(|(name, _)| name == b"ERROR");
        rest = rest.get(used..).unwrap_or_default();
    }
    last_error
}

fn event_item(event: &Event) -> Value {
    match event {
        Event::Greeting(raw) => match Greeting::load_exact(&raw[..], &Strictness::LENIENT) {
            Ok(g) => json!({"greeting": to_json(&g).unwrap_or(Value::Null)}),
            Err(e) => json!({"greeting_error": e.to_string()}),
        },
        Event::Handshake(c) | Event::Ready(c) | Event::Error(c) | Event::Command(c) => {
            match c.command() {
                Ok(cmd) => json!({"command": to_json(&cmd).unwrap_or(Value::Null)}),
                Err(e) => json!({"command_error": e.to_string()}),
            }
        }
        Event::Message(parts) => {
            json!({"message": parts.iter().map(hex::encode).collect::<Vec<_>>()})
        }
    }
}

fn run_session(
    local: Local,
    peer: &[u8],
    chunking: Chunking,
) -> Result<SessionReport, VectorError> {
    let mut session = InboundSession::new(local);
    let mut report = SessionReport {
        events: Vec::new(),
        failure: None,
        finish: None,
    };
    for chunk in chunking.split(peer) {
        session.feed(chunk);
        loop {
            match session.poll() {
                Ok(Some(event)) => report.events.push(event_item(&event)),
                Ok(None) => break,
                Err(e) => {
                    report.failure = Some(Failure::of_stream(&e));
                    return Ok(report);
                }
            }
        }
    }
    if let Err(e) = session.finish() {
        report.finish = Some(Failure::of_stream(&e));
    }
    Ok(report)
}
