//! `app.py`: the application side in pyzmq (libzmq), complete and runnable.

use super::{App, Binding, binds, receives};
use crate::repro::plan::ReproPlan;
use std::fmt::Write as _;
use zmtp_driver_protocol::OptionValue;

/// A Python `bytes` literal.
fn py_bytes(b: &[u8]) -> String {
    let mut s = String::from("b\"");
    for &c in b {
        match c {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(char::from(c));
            }
            0x20..=0x7e => s.push(char::from(c)),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s.push('"');
    s
}

/// One `setsockopt` line: the driver protocol's option names are libzmq's without `ZMQ_`.
fn option_line(name: &str, v: &OptionValue) -> String {
    let value = match v {
        OptionValue::Int(i) => i.to_string(),
        OptionValue::Bool(b) => u8::from(*b).to_string(),
        OptionValue::Bytes(b) => py_bytes(b),
    };
    format!("s.setsockopt(zmq.{}, {value})", name.to_ascii_uppercase())
}

/// The text of `app.py`.
pub fn write(plan: &ReproPlan) -> App {
    let binds = binds(plan);
    let (flag, default, verb) = if binds {
        ("--bind", "tcp://127.0.0.1:5555", "bind")
    } else {
        ("--connect", "tcp://127.0.0.1:5555", "connect")
    };
    let mut options = String::new();
    for (name, v) in &plan.options {
        let _ = writeln!(options, "    {}", option_line(name, v));
    }
    let receive = if receives(&plan.socket.socket_type) {
        "            if s.poll(100):\n                parts = s.recv_multipart()\n                print(\"received [%s]\" % \", \".join(p.hex() for p in parts), flush=True)\n"
    } else {
        "            time.sleep(0.1)  # this socket type only sends\n"
    };
    let text = format!(
        r#"#!/usr/bin/env python3
"""The application side of {case}: a {ty} socket of libzmq (pyzmq) that {verb}s with the
case's options, then prints every message it receives until --seconds pass.
{order}
"""
import argparse
import time

import zmq


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("{flag}", default="{default}", help="the endpoint to {verb}")
    ap.add_argument("--seconds", type=float, default=30.0, help="how long to run")
    args = ap.parse_args()
    print("pyzmq %s, libzmq %s" % (zmq.__version__, zmq.zmq_version()), flush=True)
    ctx = zmq.Context()
    s = ctx.socket(zmq.{ty})
{options}    s.{verb}(args.{attr})
    print("{verb_past} %s" % s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
    end = time.monotonic() + args.seconds
    try:
        while time.monotonic() < end:
{receive}    except KeyboardInterrupt:
        pass
    finally:
        s.close(linger=0)
        ctx.term()


if __name__ == "__main__":
    main()
"#,
        case = plan.case,
        ty = plan.socket.socket_type.to_ascii_uppercase(),
        order = if binds {
            "Start it first, then repro.py --connect HOST:PORT."
        } else {
            "Start repro.py --listen PORT first, then this with --connect tcp://HOST:PORT."
        },
        attr = &flag[2..],
        verb_past = if binds { "bound" } else { "connecting to" },
    );
    App {
        binding: Binding::Pyzmq,
        text,
        complete: true,
        run: format!("python3 app.py {flag} ENDPOINT"),
        needs: "Python 3 and pyzmq (`pip install pyzmq`)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_libzmq_names_and_python_values() {
        assert_eq!(
            option_line("reconnect_ivl", &OptionValue::Int(100)),
            "s.setsockopt(zmq.RECONNECT_IVL, 100)"
        );
        assert_eq!(
            option_line("subscribe", &OptionValue::Bytes(b"A\"\x00".to_vec())),
            "s.setsockopt(zmq.SUBSCRIBE, b\"A\\\"\\x00\")"
        );
        assert_eq!(
            option_line("immediate", &OptionValue::Bool(true)),
            "s.setsockopt(zmq.IMMEDIATE, 1)"
        );
    }
}
