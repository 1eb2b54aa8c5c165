//! `zmtp-harness repro`: a standalone reproducer of one case, for an implementation's issue
//! tracker. From a run of the case it writes
//!
//! - `repro.py` ([`python`]): a Python 3 script, standard library only, that plays the raw
//!   peer's octets of the case against an endpoint and says whether what comes back is the
//!   divergence again (exit 0 reproduced, 1 not reproduced, 2 could not run);
//! - `app.<ext>` ([`app`]): the application side in the implementation's own binding (its
//!   socket type, options, bind or connect), complete for pyzmq, a template for the others;
//! - `REPORT.md` ([`markdown`]): a bug report with the versions, the requirements with their
//!   text, expected against actual, and the octets both ways, decoded.
//!
//! The octets come from the recorded run through [`crate::replay_case`]'s model of a
//! transcript ([`plan`]). Only cases where the raw peer is one side of the connection make
//! sense; the others are a [`ReproError`].

pub mod app;
pub mod markdown;
pub mod plan;
pub mod python;

use crate::registry::Registry;
use crate::scenario::Case;
use crate::verdict::CaseResult;
use thiserror::Error;
use zmtp_driver_protocol::HelloInfo;

pub use plan::{Mode, ReproPlan};

/// Why no reproducer can be written for a case.
#[derive(Debug, Error)]
pub enum ReproError {
    /// The case has no raw peer on one side of the implementation's socket.
    #[error("case {case} has no raw peer: nothing to replay standalone ({why})")]
    NoRawPeer {
        /// Case id.
        case: String,
        /// What was looked for.
        why: String,
    },
    /// The run kept no octets of a raw-peer connection.
    #[error(
        "case {0} kept no octets of a raw-peer connection on the implementation's socket: nothing to replay standalone"
    )]
    NoOctets(String),
    /// The divergence is not visible to the raw peer (it is in what the application got).
    #[error(
        "case {case}: what failed ({checks}) is seen by the application, not on the raw peer's connection: a script playing the raw peer cannot tell it (use `zmtp-harness run`)"
    )]
    NotOnTheWire {
        /// Case id.
        case: String,
        /// The failed checks.
        checks: String,
    },
    /// The run's verdict shows nothing to reproduce (ERROR, UNSUPPORTED, INFO, NOT-RUN).
    #[error(
        "case {case} was {verdict} in this run, not FAIL, WARN or PASS: nothing to reproduce ({reason})"
    )]
    Verdict {
        /// Case id.
        case: String,
        /// The verdict.
        verdict: String,
        /// The run's reason.
        reason: String,
    },
    /// An option of the case cannot be written as application code.
    #[error("option {option}: {why}")]
    Option {
        /// The option.
        option: String,
        /// Why.
        why: String,
    },
}

/// What the reproducer is made from.
pub struct Inputs<'a> {
    /// The case's recorded result (run with its transcripts kept).
    pub result: &'a CaseResult,
    /// The case.
    pub case: &'a Case,
    /// The implementation's name (`--iut`).
    pub iut: &'a str,
    /// The driver's `hello` (library and binding versions).
    pub hello: Option<&'a HelloInfo>,
    /// The harness's version.
    pub harness_version: &'a str,
    /// The requirement registry (the requirements' text).
    pub registry: &'a Registry,
}

/// The files of a reproducer: name and text.
#[derive(Debug, Clone)]
pub struct Files {
    /// The plan they were written from.
    pub plan: ReproPlan,
    /// `repro.py`.
    pub repro_py: String,
    /// The application's file name (`app.py`, `app.go` …) and text.
    pub app: (String, String),
    /// `REPORT.md`.
    pub report_md: String,
}

/// Writes the reproducer of `inputs` (nothing touches the disk).
pub fn generate(inputs: &Inputs<'_>) -> Result<Files, ReproError> {
    let plan = plan::plan(inputs.result, inputs.case)?;
    let app = app::write(&plan, inputs.iut);
    let repro_py = python::write(&plan, inputs);
    let report_md = markdown::write(&plan, inputs, &app);
    Ok(Files {
        app: (app.file_name(), app.text),
        plan,
        repro_py,
        report_md,
    })
}
