//! The harness side of the driver protocol: one [`DriverProcess`] per driver process.
//!
//! Every wait is bounded: a driver that does not answer a request within its bound is killed
//! and reported as a driver fault ([`DriverError::Timeout`]); later requests fail with
//! [`DriverError::Faulted`]. stderr is kept in a bounded ring buffer and every request and reply
//! is recorded with a timestamp ([`DriverProcess::transcript`]) for reports.

use std::collections::VecDeque;
use std::io::Write;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use zmtp_driver_protocol::{
    BurstArgs, BurstReport, CloseArgs, DrainArgs, DrainReport, EchoArgs, EchoReport, EndpointArgs,
    EventsArgs, EventsReport, GetsockoptArgs, HelloInfo, Outcome, PROTOCOL_VERSION, PingPongArgs,
    PingPongReport, RecvArgs, Reply, Request, SendArgs, SetsockoptArgs, SocketArgs, encode_parts,
};

use super::registry::DriverCommand;

/// How much stderr is kept (the most recent octets).
pub const STDERR_CAP: usize = 64 * 1024;
/// How many transcript entries are kept (the most recent).
pub const TRANSCRIPT_CAP: usize = 20_000;
/// Transcript lines are cut to this many characters.
pub const TRANSCRIPT_LINE_CAP: usize = 4096;
/// The default bound for ops without a deadline of their own, and the slack added to the
/// deadline of ops that have one (`recv`, `drain`, `send_burst`, `events`, blocking `send`).
pub const DEFAULT_SLACK: Duration = Duration::from_secs(5);
/// The bound for a new process's first reply (`hello`), when the slack is shorter: a JVM or
/// Node starting on a loaded machine (or several starting at once under `--jobs`) can take
/// seconds before it reads a line. No verdict depends on how fast a driver starts.
pub const STARTUP_BOUND: Duration = Duration::from_secs(30);
/// The longest reply line accepted from a driver (a `recv` of a 32 MiB message is 64 MiB of
/// hex). A longer line is a driver fault: the driver is killed rather than buffered without end.
pub const MAX_LINE: usize = 64 << 20;
/// How long a process is waited for after SIGKILL before the harness gives up on reaping it
/// (and reports it) rather than wait without a bound.
pub const REAP_BOUND: Duration = Duration::from_secs(5);
/// Environment variable naming a file to which every request and reply line of every driver
/// process is appended whole, one JSON object per line: `{"driver", "pid", "dir", "line"}`
/// (the schema test validates them against `spec/driver-protocol.schema.json`).
pub const RECORD_ENV: &str = "ZMTP_DRIVER_RECORD";

/// The file named by [`RECORD_ENV`], opened for appending on first use.
fn recorder() -> Option<&'static Mutex<std::fs::File>> {
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::var_os(RECORD_ENV).filter(|p| !p.is_empty())?;
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(f) => Some(Mutex::new(f)),
            Err(e) => {
                tracing::warn!("{RECORD_ENV}: cannot open {}: {e}", path.to_string_lossy());
                None
            }
        }
    })
    .as_ref()
}

/// What went wrong talking to a driver.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The process could not be started.
    #[error("cannot start driver `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The driver did not answer within the bound; it has been killed (a driver fault).
    #[error(
        "driver {label} did not answer `{op}` within {after:?}; killed. stderr tail:\n{stderr_tail}"
    )]
    Timeout {
        /// Driver label.
        label: String,
        /// The op.
        op: String,
        /// The bound.
        after: Duration,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// The driver closed stdout (it exited) instead of answering.
    #[error("driver {label} exited during `{op}` (status {status:?}). stderr tail:\n{stderr_tail}")]
    Exited {
        /// Driver label.
        label: String,
        /// The op.
        op: String,
        /// Its exit status, if it could be collected.
        status: Option<ExitStatus>,
        /// The end of its stderr.
        stderr_tail: String,
    },
    /// The driver wrote something that is not a valid reply to the request (a driver fault).
    #[error("driver {label} broke the protocol during `{op}`: {detail}")]
    Protocol {
        /// Driver label.
        label: String,
        /// The op.
        op: String,
        /// What is wrong.
        detail: String,
    },
    /// Writing to or reading from the driver failed.
    #[error("I/O with driver {label} failed during `{op}`: {source}")]
    Io {
        /// Driver label.
        label: String,
        /// The op.
        op: String,
        /// The error.
        source: std::io::Error,
    },
    /// An earlier fault ended this driver; no more requests are sent.
    #[error("driver {label} is unusable after an earlier fault: {reason}")]
    Faulted {
        /// Driver label.
        label: String,
        /// The earlier fault.
        reason: String,
    },
    /// A typed helper needed `ok` and got another result.
    #[error(
        "driver {label}: `{op}` answered {result}{}: {message}",
        code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
    )]
    Refused {
        /// Driver label.
        label: String,
        /// The op.
        op: String,
        /// The result.
        result: Outcome,
        /// `code` of an `error` reply.
        code: Option<String>,
        /// `message` of the reply.
        message: String,
    },
    /// The driver failed the contract check (`hello` and the unknown-op probe).
    #[error("driver {label} fails the driver contract: {detail}")]
    Contract {
        /// Driver label.
        label: String,
        /// What is wrong.
        detail: String,
    },
}

impl DriverError {
    /// True for a [`DriverError::Refused`] with result `unsupported`.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            Self::Refused {
                result: Outcome::Unsupported,
                ..
            }
        )
    }

    /// True if the error is the driver's fault (timeout, crash, protocol breach, contract).
    pub fn is_driver_fault(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Exited { .. }
                | Self::Protocol { .. }
                | Self::Faulted { .. }
                | Self::Contract { .. }
        )
    }
}

/// Direction of a transcript entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Harness → driver.
    Request,
    /// Driver → harness.
    Reply,
    /// Something the harness did (signal, kill, fault).
    Note,
}

/// One line of the transcript.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TranscriptEntry {
    /// Milliseconds since the driver was started.
    pub at_ms: f64,
    /// Which way.
    pub dir: Direction,
    /// The line (cut to [`TRANSCRIPT_LINE_CAP`] characters).
    pub line: String,
}

#[derive(Default)]
struct StderrLog {
    buf: VecDeque<String>,
    bytes: usize,
    dropped_lines: u64,
}

impl StderrLog {
    fn push(&mut self, line: String) {
        self.bytes += line.len() + 1;
        self.buf.push_back(line);
        while self.bytes > STDERR_CAP {
            match self.buf.pop_front() {
                Some(l) => {
                    self.bytes -= l.len() + 1;
                    self.dropped_lines += 1;
                }
                None => break,
            }
        }
    }
}

/// One read from the driver's stdout.
enum LineRead {
    /// A whole line (without its end of line; invalid UTF-8 replaced).
    Line(String),
    /// End of file.
    Eof,
    /// More than [`MAX_LINE`] octets without an end of line.
    TooLong(usize),
}

/// Sends SIGKILL to the process group `pgid` (the driver and every process it started that
/// did not leave the group); a group that is already gone is not an error.
fn kill_group(pgid: Option<u32>) {
    if let Some(pgid) = pgid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// A running driver process.
///
/// It leads a process group of its own, so a driver that starts helper processes (a shell
/// wrapper, a forked child that outlives it) is stopped whole: when the driver ends, is
/// killed or is dropped, whatever is left of its group is SIGKILLed.
pub struct DriverProcess {
    label: String,
    command: DriverCommand,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// A reply line read in part (kept across a cancelled read).
    partial: Vec<u8>,
    stderr: Arc<Mutex<StderrLog>>,
    /// The task copying stderr into [`Self::stderr`]; it ends at the pipe's end of file.
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
    pid: Option<u32>,
    started: Instant,
    next_id: u64,
    transcript: VecDeque<TranscriptEntry>,
    transcript_dropped: u64,
    status: Option<ExitStatus>,
    fault: Option<String>,
    hello: Option<HelloInfo>,
    slack: Duration,
}

impl Drop for DriverProcess {
    /// A process dropped unreaped takes its group with it (`kill_on_drop` ends only the
    /// driver itself). A reaped one's group was ended when it was reaped: its number may
    /// belong to someone else by now.
    fn drop(&mut self) {
        if self.status.is_none() {
            kill_group(self.pid);
        }
    }
}

impl std::fmt::Debug for DriverProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverProcess")
            .field("label", &self.label)
            .field("pid", &self.pid)
            .field("status", &self.status)
            .field("fault", &self.fault)
            .finish()
    }
}

fn cut(s: &str) -> String {
    if s.len() <= TRANSCRIPT_LINE_CAP {
        return s.to_owned();
    }
    let mut end = TRANSCRIPT_LINE_CAP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} more octets]", &s[..end], s.len() - end)
}

impl DriverProcess {
    /// Starts a driver. stdin and stdout are pipes for the protocol; stderr is captured.
    /// The process is killed if this value is dropped.
    pub async fn spawn(command: &DriverCommand) -> Result<Self, DriverError> {
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .map_err(|source| DriverError::Spawn {
                command: command.display(),
                source,
            })?;
        let pid = child.id();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        let (Some(stdout), Some(stdin)) = (stdout, stdin) else {
            return Err(DriverError::Spawn {
                command: command.display(),
                source: std::io::Error::other("stdio pipes missing"),
            });
        };
        let stderr = Arc::new(Mutex::new(StderrLog::default()));
        let stderr_reader = stderr_pipe.map(|pipe| {
            let log = Arc::clone(&stderr);
            tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut l) = log.lock() {
                        l.push(line);
                    }
                }
            })
        });
        Ok(Self {
            label: command.label.clone(),
            command: command.clone(),
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            partial: Vec::new(),
            stderr,
            stderr_reader,
            pid,
            started: Instant::now(),
            next_id: 0,
            transcript: VecDeque::new(),
            transcript_dropped: 0,
            status: None,
            fault: None,
            hello: None,
            slack: DEFAULT_SLACK,
        })
    }

    /// The driver's label (registry name or program name).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The command it was started with.
    pub fn command(&self) -> &DriverCommand {
        &self.command
    }

    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The `hello` reply, once [`Self::hello`] or [`Self::contract_check`] ran.
    pub fn info(&self) -> Option<&HelloInfo> {
        self.hello.as_ref()
    }

    /// Sets the bound for ops without a deadline and the slack for ops with one.
    pub fn set_slack(&mut self, slack: Duration) {
        self.slack = slack;
    }

    /// Every request and reply so far (the most recent [`TRANSCRIPT_CAP`]), with timestamps.
    pub fn transcript(&self) -> impl Iterator<Item = &TranscriptEntry> {
        self.transcript.iter()
    }

    /// How many old transcript entries were dropped.
    pub fn transcript_dropped(&self) -> u64 {
        self.transcript_dropped
    }

    /// Waits, at most `bound`, until everything the process wrote to stderr has been read
    /// (its end of file): a process that writes its last words and dies at once (an abort
    /// message) is quoted whole rather than racing the reader.
    pub async fn stderr_read_to_end(&mut self, bound: Duration) {
        if let Some(reader) = self.stderr_reader.as_mut()
            && tokio::time::timeout(bound, reader).await.is_ok()
        {
            self.stderr_reader = None;
        }
    }

    /// The captured stderr (the most recent [`STDERR_CAP`] octets).
    pub fn stderr_tail(&self) -> String {
        match self.stderr.lock() {
            Ok(l) => {
                let mut s = String::new();
                if l.dropped_lines > 0 {
                    s.push_str(&format!("[{} earlier lines dropped]\n", l.dropped_lines));
                }
                for line in &l.buf {
                    s.push_str(line);
                    s.push('\n');
                }
                s
            }
            Err(_) => String::new(),
        }
    }

    /// Adds a harness note to the transcript (e.g. why the process is retired after a case).
    pub fn annotate(&mut self, line: &str) {
        self.note(Direction::Note, line);
    }

    fn note(&mut self, dir: Direction, line: &str) {
        if let (Some(file), Direction::Request | Direction::Reply) = (recorder(), dir) {
            let record = serde_json::json!({
                "driver": self.label, "pid": self.pid, "dir": dir, "line": line,
            });
            if let Ok(mut f) = file.lock() {
                let _ = writeln!(f, "{record}");
            }
        }
        if self.transcript.len() >= TRANSCRIPT_CAP {
            self.transcript.pop_front();
            self.transcript_dropped += 1;
        }
        self.transcript.push_back(TranscriptEntry {
            at_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            dir,
            line: cut(line),
        });
    }

    /// Kills the process after a fault and remembers why.
    async fn fault(&mut self, reason: String) {
        self.note(Direction::Note, &format!("fault: {reason}"));
        self.fault = Some(reason);
        if self.status.is_none() {
            kill_group(self.pid);
            let _ = self.child.start_kill();
            if let Ok(Ok(st)) =
                tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await
            {
                self.status = Some(st);
                kill_group(self.pid);
            }
        }
        kill_group(self.pid);
    }

    /// Reads one line from the driver's stdout, at most [`MAX_LINE`] octets.
    async fn read_line(&mut self) -> std::io::Result<LineRead> {
        loop {
            let avail = self.stdout.fill_buf().await?;
            if avail.is_empty() {
                if self.partial.is_empty() {
                    return Ok(LineRead::Eof);
                }
                let line = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                return Ok(LineRead::Line(line));
            }
            if let Some(i) = avail.iter().position(|b| *b == b'\n') {
                self.partial.extend_from_slice(&avail[..i]);
                self.stdout.consume(i + 1);
                if self.partial.last() == Some(&b'\r') {
                    self.partial.pop();
                }
                let line = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                return Ok(LineRead::Line(line));
            }
            let n = avail.len();
            self.partial.extend_from_slice(avail);
            self.stdout.consume(n);
            if self.partial.len() > MAX_LINE {
                let len = self.partial.len();
                self.partial = Vec::new();
                return Ok(LineRead::TooLong(len));
            }
        }
    }

    /// Sends one raw line and waits up to `timeout` for one reply line, which must carry
    /// `expect_id`. For contract tests (malformed lines); use [`Self::request`] otherwise.
    pub async fn send_line(
        &mut self,
        op: &str,
        line: &str,
        expect_id: Option<u64>,
        timeout: Duration,
    ) -> Result<Reply, DriverError> {
        if let Some(reason) = &self.fault {
            return Err(DriverError::Faulted {
                label: self.label.clone(),
                reason: reason.clone(),
            });
        }
        self.note(Direction::Request, line);
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(DriverError::Faulted {
                label: self.label.clone(),
                reason: "stdin already closed".into(),
            });
        };
        let mut buf = line.as_bytes().to_vec();
        buf.push(b'\n');
        let written = async {
            stdin.write_all(&buf).await?;
            stdin.flush().await
        }
        .await;
        if let Err(source) = written {
            if source.kind() == std::io::ErrorKind::BrokenPipe {
                return Err(self.exited(op).await);
            }
            self.fault(format!("write failed: {source}")).await;
            return Err(DriverError::Io {
                label: self.label.clone(),
                op: op.into(),
                source,
            });
        }
        let read = tokio::time::timeout(timeout, self.read_line()).await;
        match read {
            Err(_) => {
                self.fault(format!("no reply to `{op}` within {timeout:?}"))
                    .await;
                Err(DriverError::Timeout {
                    label: self.label.clone(),
                    op: op.into(),
                    after: timeout,
                    stderr_tail: self.stderr_tail(),
                })
            }
            Ok(Ok(LineRead::Eof)) => Err(self.exited(op).await),
            Ok(Ok(LineRead::TooLong(len))) => {
                let detail = format!(
                    "a reply line of more than {MAX_LINE} octets ({len} read, no end of line yet)"
                );
                self.note(Direction::Note, &detail);
                self.fault(detail.clone()).await;
                Err(DriverError::Protocol {
                    label: self.label.clone(),
                    op: op.into(),
                    detail,
                })
            }
            Ok(Err(source)) => {
                self.fault(format!("read failed: {source}")).await;
                Err(DriverError::Io {
                    label: self.label.clone(),
                    op: op.into(),
                    source,
                })
            }
            Ok(Ok(LineRead::Line(text))) => {
                self.note(Direction::Reply, &text);
                let reply: Reply = match serde_json::from_str(&text) {
                    Ok(r) => r,
                    Err(e) => {
                        let detail = format!("not a reply line ({e}): {}", cut(&text));
                        self.fault(detail.clone()).await;
                        return Err(DriverError::Protocol {
                            label: self.label.clone(),
                            op: op.into(),
                            detail,
                        });
                    }
                };
                if reply.id != expect_id {
                    let detail = format!("reply id {:?}, expected {expect_id:?}", reply.id);
                    self.fault(detail.clone()).await;
                    return Err(DriverError::Protocol {
                        label: self.label.clone(),
                        op: op.into(),
                        detail,
                    });
                }
                Ok(reply)
            }
        }
    }

    async fn exited(&mut self, op: &str) -> DriverError {
        let status = match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(st)) => Some(st),
            _ => {
                let _ = self.child.start_kill();
                tokio::time::timeout(REAP_BOUND, self.child.wait())
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
        };
        self.status = status;
        kill_group(self.pid);
        let reason = format!("exited during `{op}` with {status:?}");
        self.note(Direction::Note, &reason);
        self.fault = Some(reason);
        DriverError::Exited {
            label: self.label.clone(),
            op: op.into(),
            status,
            stderr_tail: self.stderr_tail(),
        }
    }

    /// Sends a typed request and waits up to `timeout` for its reply.
    pub async fn request(
        &mut self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Reply, DriverError> {
        self.next_id += 1;
        let id = self.next_id;
        self.send_line(request.op(), &request.to_line(id), Some(id), timeout)
            .await
    }

    /// Sends a request by op name with arbitrary fields (e.g. an op this crate does not know).
    pub async fn request_op(
        &mut self,
        op: &str,
        mut fields: Map<String, Value>,
        timeout: Duration,
    ) -> Result<Reply, DriverError> {
        self.next_id += 1;
        let id = self.next_id;
        fields.insert("id".into(), id.into());
        fields.insert("op".into(), op.into());
        let line = Value::Object(fields).to_string();
        self.send_line(op, &line, Some(id), timeout).await
    }

    /// Turns a non-`ok` reply into [`DriverError::Refused`].
    pub fn require_ok(&self, op: &str, reply: Reply) -> Result<Reply, DriverError> {
        if reply.result == Outcome::Ok {
            Ok(reply)
        } else {
            Err(DriverError::Refused {
                label: self.label.clone(),
                op: op.into(),
                result: reply.result,
                code: reply.code().map(str::to_owned),
                message: reply.message().unwrap_or_default().to_owned(),
            })
        }
    }

    fn payload<T: serde::de::DeserializeOwned>(
        &self,
        op: &str,
        r: &Reply,
    ) -> Result<T, DriverError> {
        r.payload().map_err(|e| DriverError::Protocol {
            label: self.label.clone(),
            op: op.into(),
            detail: format!("bad reply fields: {e}"),
        })
    }

    fn ms(&self, ms: u64) -> Duration {
        Duration::from_millis(ms) + self.slack
    }

    /// `hello`: the driver's capabilities.
    pub async fn hello(&mut self) -> Result<HelloInfo, DriverError> {
        let r = self
            .request(&Request::Hello, self.slack.max(STARTUP_BOUND))
            .await?;
        let r = self.require_ok("hello", r)?;
        let info: HelloInfo = self.payload("hello", &r)?;
        self.hello = Some(info.clone());
        Ok(info)
    }

    /// The contract check run before every use of a driver: `hello` must answer `ok` with
    /// protocol version 1, and an unknown (random) op must answer `unsupported`.
    pub async fn contract_check(&mut self) -> Result<HelloInfo, DriverError> {
        let label = self.label.clone();
        let contract = |detail: String| DriverError::Contract {
            label: label.clone(),
            detail,
        };
        let info = match self.hello().await {
            Ok(i) => i,
            Err(DriverError::Refused {
                result, message, ..
            }) => {
                return Err(contract(format!("hello answered {result}: {message}")));
            }
            Err(e) => return Err(e),
        };
        if info.protocol_version != PROTOCOL_VERSION {
            return Err(contract(format!(
                "protocol_version {} (expected {PROTOCOL_VERSION})",
                info.protocol_version
            )));
        }
        if info.implementation.is_empty() || info.library.is_empty() {
            return Err(contract("hello lacks implementation or library".into()));
        }
        let probe = format!(
            "zmtp-probe-{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
                ^ u128::from(std::process::id())
        );
        let r = self.request_op(&probe, Map::new(), self.slack).await?;
        if r.result != Outcome::Unsupported {
            return Err(DriverError::Contract {
                label: self.label.clone(),
                detail: format!(
                    "unknown op {probe:?} answered {} instead of unsupported",
                    r.result
                ),
            });
        }
        Ok(info)
    }

    /// `socket`: returns the handle.
    pub async fn socket(&mut self, socket_type: &str) -> Result<String, DriverError> {
        let req = Request::Socket(SocketArgs {
            socket_type: socket_type.into(),
        });
        let r = self.request(&req, self.slack).await?;
        let r = self.require_ok("socket", r)?;
        r.str_field("socket")
            .map(str::to_owned)
            .ok_or_else(|| DriverError::Protocol {
                label: self.label.clone(),
                op: "socket".into(),
                detail: "ok reply without \"socket\"".into(),
            })
    }

    /// `setsockopt` (the reply may be `unsupported` or `error`).
    pub async fn setsockopt(
        &mut self,
        socket: &str,
        option: &str,
        value: impl Into<Value>,
    ) -> Result<Reply, DriverError> {
        let req = Request::Setsockopt(SetsockoptArgs {
            socket: socket.into(),
            option: option.into(),
            value: value.into(),
        });
        self.request(&req, self.slack).await
    }

    /// `getsockopt` (the reply may be `unsupported` or `error`).
    pub async fn getsockopt(&mut self, socket: &str, option: &str) -> Result<Reply, DriverError> {
        let req = Request::Getsockopt(GetsockoptArgs {
            socket: socket.into(),
            option: option.into(),
        });
        self.request(&req, self.slack).await
    }

    fn ep(socket: &str, endpoint: &str) -> EndpointArgs {
        EndpointArgs {
            socket: socket.into(),
            endpoint: endpoint.into(),
        }
    }

    /// `bind`: returns the concrete endpoint.
    pub async fn bind(&mut self, socket: &str, endpoint: &str) -> Result<String, DriverError> {
        let r = self
            .request(&Request::Bind(Self::ep(socket, endpoint)), self.slack)
            .await?;
        let r = self.require_ok("bind", r)?;
        Ok(r.str_field("endpoint").unwrap_or(endpoint).to_owned())
    }

    /// `connect`.
    pub async fn connect(&mut self, socket: &str, endpoint: &str) -> Result<Reply, DriverError> {
        self.request(&Request::Connect(Self::ep(socket, endpoint)), self.slack)
            .await
    }

    /// `disconnect`.
    pub async fn disconnect(&mut self, socket: &str, endpoint: &str) -> Result<Reply, DriverError> {
        self.request(&Request::Disconnect(Self::ep(socket, endpoint)), self.slack)
            .await
    }

    /// `unbind`.
    pub async fn unbind(&mut self, socket: &str, endpoint: &str) -> Result<Reply, DriverError> {
        self.request(&Request::Unbind(Self::ep(socket, endpoint)), self.slack)
            .await
    }

    /// `send` of one message (`ok`, `would_block`, `timeout` or `error`).
    pub async fn send<F: AsRef<[u8]>>(
        &mut self,
        socket: &str,
        parts: &[F],
        dontwait: bool,
        timeout_ms: u64,
    ) -> Result<Reply, DriverError> {
        let req = Request::Send(SendArgs {
            socket: socket.into(),
            parts_hex: encode_parts(parts),
            dontwait,
            timeout_ms,
        });
        let bound = self.ms(timeout_ms);
        self.request(&req, bound).await
    }

    /// `send_burst`: the burst report.
    pub async fn send_burst(&mut self, args: &BurstArgs) -> Result<BurstReport, DriverError> {
        let bound = self.ms(args.timeout_ms);
        let r = self
            .request(&Request::SendBurst(args.clone()), bound)
            .await?;
        let r = self.require_ok("send_burst", r)?;
        self.payload("send_burst", &r)
    }

    /// `recv` (`ok` with `parts_hex`, or `timeout`, or `error`).
    pub async fn recv(&mut self, socket: &str, timeout_ms: u64) -> Result<Reply, DriverError> {
        let req = Request::Recv(RecvArgs {
            socket: socket.into(),
            timeout_ms,
        });
        let bound = self.ms(timeout_ms);
        self.request(&req, bound).await
    }

    /// `drain`: the outcome (`ok`, or `timeout` when nothing came) and the report.
    pub async fn drain(&mut self, args: &DrainArgs) -> Result<(Outcome, DrainReport), DriverError> {
        let bound = self.ms(args.timeout_ms);
        let r = self.request(&Request::Drain(args.clone()), bound).await?;
        if !matches!(r.result, Outcome::Ok | Outcome::Timeout) {
            return Err(self.require_ok("drain", r).err().unwrap_or_else(|| {
                DriverError::Protocol {
                    label: self.label.clone(),
                    op: "drain".into(),
                    detail: "unreachable".into(),
                }
            }));
        }
        let report = self.payload("drain", &r)?;
        Ok((r.result, report))
    }

    /// Turns an `ok` or `timeout` reply of a reporting op into its outcome and report, and any
    /// other reply into [`DriverError::Refused`].
    fn report<T: serde::de::DeserializeOwned>(
        &self,
        op: &str,
        r: Reply,
    ) -> Result<(Outcome, T), DriverError> {
        if r.result != Outcome::Timeout {
            self.require_ok(op, r.clone())?;
        }
        Ok((r.result, self.payload(op, &r)?))
    }

    /// `echo` (DRV-69): the outcome (`ok`, or `timeout` when no request came) and the report.
    pub async fn echo(&mut self, args: &EchoArgs) -> Result<(Outcome, EchoReport), DriverError> {
        let bound = self.ms(args.timeout_ms);
        let r = self.request(&Request::Echo(args.clone()), bound).await?;
        self.report("echo", r)
    }

    /// `ping_pong` (DRV-70): the outcome (`ok`, or `timeout` when no round trip completed) and
    /// the report with every round-trip time.
    pub async fn ping_pong(
        &mut self,
        args: &PingPongArgs,
    ) -> Result<(Outcome, PingPongReport), DriverError> {
        let bound = self.ms(args.timeout_ms);
        let r = self
            .request(&Request::PingPong(args.clone()), bound)
            .await?;
        self.report("ping_pong", r)
    }

    /// `events`: the outcome (`ok`, or `timeout` when none came) and the events.
    pub async fn events(
        &mut self,
        socket: &str,
        timeout_ms: u64,
    ) -> Result<(Outcome, EventsReport), DriverError> {
        let req = Request::Events(EventsArgs {
            socket: socket.into(),
            timeout_ms,
        });
        let bound = self.ms(timeout_ms);
        let r = self.request(&req, bound).await?;
        if r.result != Outcome::Timeout {
            self.require_ok("events", r.clone())?;
        }
        let report = self.payload("events", &r)?;
        Ok((r.result, report))
    }

    /// `close` (the reply may be `unsupported` if `linger_ms` is given and not supported).
    pub async fn close(
        &mut self,
        socket: &str,
        linger_ms: Option<i64>,
    ) -> Result<Reply, DriverError> {
        let req = Request::Close(CloseArgs {
            socket: socket.into(),
            linger_ms,
        });
        self.request(&req, self.slack).await
    }

    /// `exit`: expects `ok`, closes stdin, and waits up to `grace` for the process to end
    /// (killing it after that, which is reported as a driver fault). Returns the exit status.
    pub async fn exit(&mut self, grace: Duration) -> Result<ExitStatus, DriverError> {
        let r = self.request(&Request::Exit, self.slack).await?;
        self.require_ok("exit", r)?;
        self.stdin = None;
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(st)) => {
                self.status = Some(st);
                kill_group(self.pid);
                self.note(Direction::Note, &format!("exited: {st}"));
                Ok(st)
            }
            Ok(Err(source)) => Err(DriverError::Io {
                label: self.label.clone(),
                op: "exit".into(),
                source,
            }),
            Err(_) => {
                self.fault(format!("still running {grace:?} after exit"))
                    .await;
                Err(DriverError::Timeout {
                    label: self.label.clone(),
                    op: "exit".into(),
                    after: grace,
                    stderr_tail: self.stderr_tail(),
                })
            }
        }
    }

    /// Sends SIGTERM, waits up to `grace`, then SIGKILLs. Returns the exit status (check
    /// `code()`: `Some(0)` is an orderly shutdown, `None` means it died of a signal).
    pub async fn terminate(&mut self, grace: Duration) -> Result<ExitStatus, DriverError> {
        if let Some(st) = self.status {
            return Ok(st);
        }
        if let Some(pid) = self.pid {
            self.note(Direction::Note, "SIGTERM");
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(st)) => {
                self.status = Some(st);
                kill_group(self.pid);
                self.note(Direction::Note, &format!("exited: {st}"));
                Ok(st)
            }
            Ok(Err(source)) => Err(DriverError::Io {
                label: self.label.clone(),
                op: "terminate".into(),
                source,
            }),
            Err(_) => {
                self.note(Direction::Note, &format!("no exit {grace:?} after SIGTERM"));
                self.kill().await
            }
        }
    }

    /// Sends SIGKILL now (e.g. "peer process dies mid-stream") and reaps the process.
    pub async fn kill(&mut self) -> Result<ExitStatus, DriverError> {
        if let Some(st) = self.status {
            return Ok(st);
        }
        self.note(Direction::Note, "SIGKILL");
        kill_group(self.pid);
        let _ = self.child.start_kill();
        // SIGKILL cannot be caught, but a process in uninterruptible sleep (or a pid that is
        // not ours any more) would make an unbounded wait hang the whole run.
        match tokio::time::timeout(REAP_BOUND, self.child.wait()).await {
            Ok(Ok(st)) => {
                self.status = Some(st);
                kill_group(self.pid);
                self.fault.get_or_insert_with(|| "killed".into());
                Ok(st)
            }
            Ok(Err(source)) => Err(DriverError::Io {
                label: self.label.clone(),
                op: "kill".into(),
                source,
            }),
            Err(_) => {
                let reason = format!("not reaped {REAP_BOUND:?} after SIGKILL");
                self.note(Direction::Note, &reason);
                self.fault.get_or_insert(reason);
                Err(DriverError::Timeout {
                    label: self.label.clone(),
                    op: "kill".into(),
                    after: REAP_BOUND,
                    stderr_tail: self.stderr_tail(),
                })
            }
        }
    }

    /// Whether a request already ended in a fault (a crash, a timeout, a protocol breach): the
    /// step that saw it has reported it.
    pub fn faulted(&self) -> bool {
        self.fault.is_some()
    }

    /// The last `n` lines of its stderr.
    pub fn stderr_last_lines(&self, n: usize) -> String {
        let tail = self.stderr_tail();
        let lines: Vec<&str> = tail.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The exit status, if the process has been reaped.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// Sends the `exit` request and closes stdin without waiting for the process to end
    /// (use [`Self::wait_exit`]); a scenario can then watch the shutdown from the wire.
    pub async fn request_exit(&mut self) -> Result<(), DriverError> {
        let r = self.request(&Request::Exit, self.slack).await?;
        self.require_ok("exit", r)?;
        self.stdin = None;
        Ok(())
    }

    /// Closes the driver's stdin without a request: end of file, which a driver handles like
    /// a signal (DRV-23). Use [`Self::wait_exit`] to see it end.
    pub fn close_stdin(&mut self) {
        if self.stdin.take().is_some() {
            self.note(Direction::Note, "stdin closed (EOF)");
        }
    }

    /// Reads what the driver writes to stdout after its last reply, until end of file or
    /// `timeout`: lines a driver must not write (DRV-02). Call after the process has exited.
    pub async fn unsolicited_lines(&mut self, timeout: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        let deadline = Instant::now() + timeout;
        while let Ok(Ok(LineRead::Line(line))) =
            tokio::time::timeout_at(deadline.into(), self.read_line()).await
        {
            self.note(Direction::Note, &format!("unsolicited stdout: {line}"));
            lines.push(line);
        }
        lines
    }

    /// Sends SIGTERM without waiting (use [`Self::wait_exit`]).
    pub fn signal_term(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Some(pid) = self.pid {
            self.note(Direction::Note, "SIGTERM");
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
    }

    /// Sends SIGTERM after `delay` from a background task, so the signal can arrive while the
    /// next request is pending; the task yields when it was sent (`None`: the process had no
    /// pid or had already been reaped).
    pub fn signal_term_after(
        &mut self,
        delay: Duration,
    ) -> tokio::task::JoinHandle<Option<Instant>> {
        let pid = if self.status.is_none() {
            self.pid
        } else {
            None
        };
        self.note(
            Direction::Note,
            &format!(
                "SIGTERM in {} ms, while the next request is pending",
                delay.as_millis()
            ),
        );
        tokio::spawn(async move {
            let pid = pid?;
            tokio::time::sleep(delay).await;
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).ok()?;
            Some(Instant::now())
        })
    }

    /// Waits up to `timeout` for the process to end; `Ok(None)` if it is still running (it is
    /// left running: the caller decides whether to kill it).
    pub async fn wait_exit(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<ExitStatus>, DriverError> {
        if let Some(st) = self.status {
            return Ok(Some(st));
        }
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(Ok(st)) => {
                self.status = Some(st);
                kill_group(self.pid);
                self.note(Direction::Note, &format!("exited: {st}"));
                Ok(Some(st))
            }
            Ok(Err(source)) => Err(DriverError::Io {
                label: self.label.clone(),
                op: "wait".into(),
                source,
            }),
            Err(_) => Ok(None),
        }
    }

    /// Whether the process is still running (reaps it if it has ended).
    pub fn is_running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(st)) => {
                self.status = Some(st);
                kill_group(self.pid);
                self.note(Direction::Note, &format!("exited: {st}"));
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// The number of open file descriptors of the process (Linux `/proc/<pid>/fd`).
    pub fn open_fds(&self) -> Option<usize> {
        let pid = self.pid?;
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .ok()
            .map(|d| d.count())
    }

    /// Lines ever added to the transcript (kept or dropped): a position for
    /// [`Self::render_transcript_from`].
    pub fn transcript_position(&self) -> u64 {
        self.transcript_dropped + self.transcript.len() as u64
    }

    /// The request/reply transcript rendered as text, one line per entry.
    pub fn render_transcript(&self) -> String {
        self.render_transcript_from(0)
    }

    /// The transcript from `position` on (lines before it are left out).
    pub fn render_transcript_from(&self, position: u64) -> String {
        let skip = position.saturating_sub(self.transcript_dropped) as usize;
        let mut out = String::new();
        for e in self.transcript.iter().skip(skip) {
            let arrow = match e.dir {
                Direction::Request => "->",
                Direction::Reply => "<-",
                Direction::Note => "##",
            };
            out.push_str(&format!("{:>10.3} ms {arrow} {}\n", e.at_ms, e.line));
        }
        out
    }
}
