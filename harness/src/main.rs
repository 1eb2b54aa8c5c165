//! `zmtp-harness`: the command-line front end.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use zmtp_harness::dissect::{self, Options, Start};

#[derive(Parser)]
#[command(name = "zmtp-harness", version, about = "ZMTP 3.x conformance harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode ZMTP octets: greeting, frames and commands, or the first rule they break.
    Decode(DecodeArgs),
    /// Run a built-in driver (used by the harness itself to start `libzmq` and `zmqrs`).
    #[command(hide = true)]
    Driver {
        /// Which built-in driver.
        name: String,
    },
}

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

#[derive(Args)]
struct DecodeArgs {
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

fn decode(args: DecodeArgs) -> ExitCode {
    let input = match read_input(&args) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        profile: match args.profile {
            ProfileArg::Strict => zmtp_codec::Profile::Strict,
            ProfileArg::Lenient => zmtp_codec::Profile::Lenient,
        },
        start: match args.start {
            StartArg::Auto => Start::Auto,
            StartArg::Greeting => Start::Greeting,
            StartArg::Frames => Start::Frames,
        },
        mechanism: args.mechanism.map(|m| match m {
            MechanismArg::Null => zmtp_codec::MechanismKind::Null,
            MechanismArg::Plain => zmtp_codec::MechanismKind::Plain,
            MechanismArg::Curve => zmtp_codec::MechanismKind::Curve,
        }),
        max_frame_size: args.max_frame_size,
    };
    let d = dissect::dissect(&input, options);
    if args.json {
        match serde_json::to_string_pretty(&d) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", dissect::render_text(&d, &input));
    }
    if d.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read_input(args: &DecodeArgs) -> Result<Vec<u8>, String> {
    if let Some(hex) = &args.hex {
        return dissect::parse_hex(hex);
    }
    let bytes = match &args.file {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("stdin: {e}"))?;
            buf
        }
    };
    if !args.raw && dissect::looks_like_hex(&bytes) {
        dissect::parse_hex(&String::from_utf8_lossy(&bytes))
    } else {
        Ok(bytes)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode(args) => decode(args),
        Command::Driver { name } => zmtp_harness::driver::run_builtin(&name),
    }
}
