//! `app.go`: the application side in Go with zmq4 (go-zeromq). A template: the socket, the
//! subscription, bind or connect and the receive loop are written; other options are `TODO`.

use super::{App, Binding, binds, receives, shown};
use crate::repro::plan::ReproPlan;
use std::fmt::Write as _;
use zmtp_driver_protocol::OptionValue;

/// zmq4's constructor for a socket type (`NewDealer`, `NewXPub`).
fn constructor(socket_type: &str) -> String {
    let t = socket_type.to_ascii_uppercase();
    let name = match t.as_str() {
        "XPUB" => "XPub".to_string(),
        "XSUB" => "XSub".to_string(),
        _ => t[..1].to_string() + &t[1..].to_ascii_lowercase(),
    };
    format!("zmq4.New{name}")
}

/// The text of `app.go`.
pub fn write(plan: &ReproPlan) -> App {
    let mut options = String::new();
    let mut complete = true;
    for (name, v) in &plan.options {
        match (name.as_str(), v) {
            ("subscribe", OptionValue::Bytes(b)) => {
                let _ = writeln!(
                    options,
                    "\tif err := s.SetOption(zmq4.OptionSubscribe, {:?}); err != nil {{\n\t\tpanic(err)\n\t}}",
                    String::from_utf8_lossy(b)
                );
            }
            _ => {
                complete = false;
                let _ = writeln!(
                    options,
                    "\t// TODO: set option {name} = {} (the case sets it; zmq4 takes few options, see zmq4.Option*)",
                    shown(v)
                );
            }
        }
    }
    let (verb, call) = if binds(plan) {
        ("bind", "Listen")
    } else {
        ("connect", "Dial")
    };
    let recv = if receives(&plan.socket.socket_type) {
        "\tfor {\n\t\tmsg, err := s.Recv()\n\t\tif err != nil {\n\t\t\treturn // the deadline, or the socket closed\n\t\t}\n\t\tfmt.Printf(\"received %x\\n\", msg.Frames)\n\t}"
    } else {
        "\t<-ctx.Done() // this socket type only sends"
    };
    let text = format!(
        r#"// The application side of {case} in Go with zmq4: a {ty} socket that {verb}s.
// go mod init app && go get github.com/go-zeromq/zmq4 && go run app.go tcp://127.0.0.1:5555
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-zeromq/zmq4"
)

func main() {{
	endpoint := "tcp://127.0.0.1:5555"
	if len(os.Args) > 1 {{
		endpoint = os.Args[1]
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := {ctor}(ctx)
	defer s.Close()
{options}	if err := s.{call}(endpoint); err != nil {{
		panic(err)
	}}
	fmt.Println("{verb}", endpoint)
{recv}
}}
"#,
        case = plan.case,
        ty = plan.socket.socket_type,
        ctor = constructor(&plan.socket.socket_type),
    );
    App {
        binding: Binding::Zmq4,
        text,
        complete,
        run: "go run app.go ENDPOINT".into(),
        needs: "Go with github.com/go-zeromq/zmq4".into(),
    }
}
