//! What a check works with: a fresh driver process, the driver's `hello`, and small helpers to
//! judge replies; and the runner that gives each check its own process and records it.

use std::time::Duration;

use serde_json::Value;

use super::{CheckRecord, Verdict};
use crate::driver::client::Direction;
use crate::driver::protocol::{HelloInfo, Outcome, Reply};
use crate::driver::{DriverCommand, DriverError, DriverProcess};

/// How a check that did not fail ended.
pub(crate) enum Passed {
    /// The requirement holds; the text says what was seen.
    Yes(String),
    /// The driver left out something optional and said so with `unsupported`.
    Unsupported(String),
}

/// Why a check failed.
#[derive(Debug)]
pub(crate) struct Failure(pub String);

impl From<DriverError> for Failure {
    fn from(e: DriverError) -> Self {
        Self(e.to_string())
    }
}

/// What a check returns.
pub(crate) type Checked = Result<Passed, Failure>;

/// Fails with `what` unless `cond` holds.
pub(crate) fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), Failure> {
    if cond { Ok(()) } else { Err(Failure(what())) }
}

/// A reply in a few words, for failure texts.
pub(crate) fn brief(r: &Reply) -> String {
    match (r.code(), r.message()) {
        (Some(c), Some(m)) => format!("{} {c} ({m})", r.result),
        (None, Some(m)) => format!("{} ({m})", r.result),
        _ => r.result.to_string(),
    }
}

/// Fails unless the reply has this result (and, for `error`, this code).
pub(crate) fn expect(r: &Reply, result: Outcome, code: Option<&str>) -> Result<(), Failure> {
    let want = match code {
        Some(c) => format!("{result} {c}"),
        None => result.to_string(),
    };
    ensure(
        r.result == result && (code.is_none() || r.code() == code),
        || format!("expected {want}, got {}", brief(r)),
    )
}

/// What every check may read: the driver's `hello` and the time scale.
pub(crate) struct Cx {
    /// The driver's `hello`, taken once before the checks.
    pub hello: HelloInfo,
    scale: f64,
}

impl Cx {
    /// `ms` stretched by `--timeout-scale` (never shrunk).
    pub fn bound(&self, ms: u64) -> Duration {
        Duration::from_millis((ms as f64 * self.scale.max(1.0)) as u64)
    }

    /// Whether `hello.ops` lists the op.
    pub fn has_op(&self, op: &str) -> bool {
        self.hello.ops.iter().any(|o| o == op)
    }

    /// Whether `hello.socket_types` lists the type.
    pub fn has_type(&self, ty: &str) -> bool {
        self.hello.socket_types.iter().any(|t| t == ty)
    }

    /// Whether `hello.options` lists the option.
    pub fn has_option(&self, name: &str) -> bool {
        self.hello.options.iter().any(|o| o == name)
    }

    /// The verdict for a reply to an optional op: `unsupported` is fine (and must match
    /// `hello.ops`); anything else goes on to the check proper (`None`).
    pub fn optional(&self, op: &str, r: &Reply) -> Option<Checked> {
        match (r.result == Outcome::Unsupported, self.has_op(op)) {
            (true, false) => Some(Ok(Passed::Unsupported(format!(
                "`{op}` is not in hello.ops and answers unsupported"
            )))),
            (true, true) => Some(Err(Failure(format!(
                "hello.ops lists `{op}`, but it answered {}",
                brief(r)
            )))),
            (false, false) => Some(Err(Failure(format!(
                "hello.ops does not list `{op}`, but it answered {} (DRV-31: all others answer unsupported)",
                brief(r)
            )))),
            (false, true) => None,
        }
    }
}

/// A request line and the reply line it got, as exchanged.
pub(crate) struct Exchanged {
    pub request: String,
    pub reply: String,
}

/// Runs checks, each against a fresh driver process, and keeps their records.
pub(crate) struct Session {
    command: DriverCommand,
    pub cx: Cx,
    pub records: Vec<CheckRecord>,
    /// Every request and reply of every check, for the checks over all replies.
    pub exchanged: Vec<Exchanged>,
}

impl Session {
    pub fn new(command: &DriverCommand, hello: HelloInfo, scale: f64) -> Self {
        Self {
            command: command.clone(),
            cx: Cx { hello, scale },
            records: Vec::new(),
            exchanged: Vec::new(),
        }
    }

    /// Runs one check against a fresh driver process, then stops that process.
    pub async fn check<F>(
        &mut self,
        name: &'static str,
        requirements: &'static [&'static str],
        title: &'static str,
        f: F,
    ) where
        F: AsyncFnOnce(&mut DriverProcess, &Cx) -> Checked,
    {
        let (result, exchange) = match DriverProcess::spawn(&self.command).await {
            Err(e) => (Err(Failure::from(e)), Vec::new()),
            Ok(mut d) => {
                let result = f(&mut d, &self.cx).await;
                let exchange = d
                    .transcript()
                    .map(|e| {
                        let arrow = match e.dir {
                            Direction::Request => "->",
                            Direction::Reply => "<-",
                            Direction::Note => "##",
                        };
                        format!("{arrow} {}", e.line)
                    })
                    .collect();
                if d.is_running() && d.exit(Duration::from_secs(5)).await.is_err() {
                    let _ = d.kill().await;
                }
                self.keep_exchanged(&d);
                (result, exchange)
            }
        };
        let (verdict, detail) = match result {
            Ok(Passed::Yes(d)) => (Verdict::Pass, d),
            Ok(Passed::Unsupported(d)) => (Verdict::Unsupported, d),
            Err(Failure(d)) => (Verdict::Fail, d),
        };
        self.records.push(CheckRecord {
            name,
            requirements,
            title,
            verdict,
            detail,
            exchange,
        });
    }

    /// Adds a finished check (one judged from earlier exchanges).
    pub fn record(
        &mut self,
        name: &'static str,
        requirements: &'static [&'static str],
        title: &'static str,
        result: Checked,
    ) {
        let (verdict, detail) = match result {
            Ok(Passed::Yes(d)) => (Verdict::Pass, d),
            Ok(Passed::Unsupported(d)) => (Verdict::Unsupported, d),
            Err(Failure(d)) => (Verdict::Fail, d),
        };
        self.records.push(CheckRecord {
            name,
            requirements,
            title,
            verdict,
            detail,
            exchange: Vec::new(),
        });
    }

    fn keep_exchanged(&mut self, d: &DriverProcess) {
        let mut request: Option<&str> = None;
        for e in d.transcript() {
            match e.dir {
                Direction::Request => request = Some(&e.line),
                Direction::Reply => {
                    if let Some(req) = request.take() {
                        self.exchanged.push(Exchanged {
                            request: req.to_owned(),
                            reply: e.line.clone(),
                        });
                    }
                }
                Direction::Note => {}
            }
        }
    }
}

/// The op of a request line, if it has one.
pub(crate) fn op_of(line: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line).ok()?;
    v.get("op")?.as_str().map(str::to_owned)
}
