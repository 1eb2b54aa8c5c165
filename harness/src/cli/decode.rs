//! `decode`: ZMTP octets as greeting, frames and commands, or the first rule they break.
//!
//! Exit status: 0 when the input is clean, 1 when it breaks a rule, 2 when it cannot be read.

use super::{Error, out, outln};
use clap::{Args, ValueEnum};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use zmtp_harness::dissect::{self, Options, Start};

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// The spec as written.
    Strict,
    /// What libzmq accepts.
    Lenient,
}

#[derive(Clone, Copy, ValueEnum)]
enum StartArg {
    /// A greeting if the first octet is 0xff, else frames.
    Auto,
    /// A greeting first.
    Greeting,
    /// Frames only.
    Frames,
}

#[derive(Clone, Copy, ValueEnum)]
enum MechanismArg {
    Null,
    Plain,
    Curve,
}

/// Options of `decode`.
#[derive(Args)]
pub struct DecodeArgs {
    /// Octets as hex (whitespace, `:` and `0x` allowed). Without it, read stdin.
    hex: Option<String>,
    /// Read the octets from this file instead.
    #[arg(long, short, conflicts_with = "hex")]
    file: Option<PathBuf>,
    /// Treat file/stdin input as raw octets even if it looks like hex.
    #[arg(long)]
    raw: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// How strictly to read.
    #[arg(long, value_enum, default_value = "strict")]
    profile: ProfileArg,
    /// Where the input starts.
    #[arg(long, value_enum, default_value = "auto")]
    start: StartArg,
    /// Mechanism for reading commands (default: from the greeting, else NULL).
    #[arg(long, value_enum)]
    mechanism: Option<MechanismArg>,
    /// Reject frames larger than this many octets.
    #[arg(long)]
    max_frame_size: Option<u64>,
}

impl DecodeArgs {
    fn options(&self) -> Options {
        Options {
            profile: match self.profile {
                ProfileArg::Strict => zmtp_codec::Profile::Strict,
                ProfileArg::Lenient => zmtp_codec::Profile::Lenient,
            },
            start: match self.start {
                StartArg::Auto => Start::Auto,
                StartArg::Greeting => Start::Greeting,
                StartArg::Frames => Start::Frames,
            },
            mechanism: self.mechanism.map(|m| match m {
                MechanismArg::Null => zmtp_codec::MechanismKind::Null,
                MechanismArg::Plain => zmtp_codec::MechanismKind::Plain,
                MechanismArg::Curve => zmtp_codec::MechanismKind::Curve,
            }),
            max_frame_size: self.max_frame_size,
        }
    }

    /// The octets: the hex argument, else the file or stdin (hex if it looks like hex).
    fn input(&self) -> Result<Vec<u8>, Error> {
        if let Some(hex) = &self.hex {
            return dissect::parse_hex(hex).map_err(Error::Failed);
        }
        let bytes = match &self.file {
            Some(path) => std::fs::read(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?,
            None => {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .map_err(|source| Error::Io {
                        path: "stdin".into(),
                        source,
                    })?;
                buf
            }
        };
        if !self.raw && dissect::looks_like_hex(&bytes) {
            dissect::parse_hex(&String::from_utf8_lossy(&bytes)).map_err(Error::Failed)
        } else {
            Ok(bytes)
        }
    }
}

/// Dissects the input and prints it as text or JSON.
pub fn execute(args: DecodeArgs) -> Result<ExitCode, Error> {
    let input = args.input()?;
    let d = dissect::dissect(&input, args.options());
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        out!("{}", dissect::render_text(&d, &input));
    }
    Ok(if d.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
