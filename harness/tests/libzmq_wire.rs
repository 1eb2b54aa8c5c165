//! Cross-check of the golden vectors against real libzmq (the `zmq` crate's bundled build).
//!
//! A raw `std::net::TcpStream` plays the ZMTP peer, with the codec encoding what it sends and
//! delimiting what it receives; the octets libzmq sends must equal the vectors:
//!
//! - for every socket type bound by libzmq: its greeting (`greeting-libzmq-null-3-1`), sent in
//!   two stages (10 octets, the rest only after ours arrived), and its READY
//!   (`command-ready-libzmq-<type>`);
//! - for a libzmq SUB that connects to a raw PUB and subscribes to "AB": a SUBSCRIBE command
//!   toward a 3.1 peer (`subscription-3-1-subscribe-ab`) and a 3.0 subscription message
//!   toward a 3.0 peer (`subscription-3-0-subscribe-ab`).
//!
//! Every read has a deadline; waiting is bounded polling, never a bare sleep.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use zmtp_codec::command::Ready;
use zmtp_codec::{
    Command, Config, Frame, GREETING_LEN, Greeting, Mechanism, Metadata, Profile, Property,
    SIGNATURE_LEN, Status, Strictness, Version,
};
use zmtp_harness::vectors::{self, Vector};

const DEADLINE: Duration = Duration::from_secs(5);
const SLICE: Duration = Duration::from_millis(20);

/// The octets of vector `id`.
fn vector_octets(id: &str) -> Vec<u8> {
    let vector: Vector = match vectors::find(&vectors::default_dir(), id) {
        Ok(Some(v)) => v,
        Ok(None) => panic!("no vector {id}"),
        Err(e) => panic!("loading vectors: {e}"),
    };
    vector.octets().unwrap_or_else(|e| panic!("{e}"))
}

/// The raw peer's side of a TCP connection: reads with a deadline, calling `pump` between
/// read slices so a libzmq socket on this thread gets a chance to run its commands.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    fn new(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(SLICE))
            .expect("set_read_timeout");
        stream.set_nodelay(true).expect("set_nodelay");
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, octets: &[u8]) {
        self.stream.write_all(octets).expect("write to libzmq");
    }

    /// Reads until `complete(&buf)` says how many octets make up the next item, and takes them.
    fn take_until(
        &mut self,
        what: &str,
        pump: &mut dyn FnMut(),
        complete: impl Fn(&[u8]) -> Option<usize>,
    ) -> Vec<u8> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(n) = complete(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; have {}",
                hex::encode(&self.buf)
            );
            let mut chunk = [0u8; 512];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "libzmq closed the connection while we waited for {what}; have {}",
                    hex::encode(&self.buf)
                ),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => pump(),
                Err(e) => panic!("reading {what}: {e}"),
            }
        }
    }

    fn take_exact(&mut self, n: usize, what: &str, pump: &mut dyn FnMut()) -> Vec<u8> {
        self.take_until(what, pump, |buf| (buf.len() >= n).then_some(n))
    }

    /// The next whole frame, delimited by the codec.
    fn take_frame(&mut self, what: &str, pump: &mut dyn FnMut()) -> Vec<u8> {
        let config = Config::new(Profile::Lenient);
        self.take_until(what, pump, |buf| match Frame::load(buf, &config) {
            Ok(Status::Done(_, used)) => Some(used),
            Ok(Status::NeedMore(_)) => None,
            Err(e) => panic!(
                "libzmq sent a frame the codec rejects ({e}): {}",
                hex::encode(buf)
            ),
        })
    }

    /// Asserts that nothing more has arrived (libzmq waits for us before it goes on).
    fn assert_nothing_pending(&mut self, what: &str) {
        self.stream.set_nonblocking(true).expect("set_nonblocking");
        let mut probe = [0u8; 64];
        let r = self.stream.read(&mut probe);
        self.stream.set_nonblocking(false).expect("set_nonblocking");
        match r {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Ok(n) => panic!(
                "{what}: libzmq sent {} more octet(s) before hearing from us",
                hex::encode(&probe[..n])
            ),
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Our greeting: NULL, the given version, zero padding.
fn our_greeting(minor: u8) -> Vec<u8> {
    Greeting::new(Version { major: 3, minor }, Mechanism::NULL)
        .to_bytes()
        .to_vec()
}

/// Our READY announcing `socket_type`.
fn our_ready(socket_type: &str) -> Vec<u8> {
    let mut md = Vec::new();
    Metadata::encode(
        [Property {
            name: b"Socket-Type",
            value: socket_type.as_bytes(),
        }],
        &mut md,
    );
    let metadata = Metadata::load(&md, &Strictness::STRICT).expect("our metadata");
    Command::Ready(Ready { metadata }).to_vec()
}

/// Every socket type, with a type the raw peer can validly announce to it.
const TYPES: [(zmq::SocketType, &str, &str); 11] = [
    (zmq::PAIR, "PAIR", "PAIR"),
    (zmq::PUB, "PUB", "SUB"),
    (zmq::SUB, "SUB", "PUB"),
    (zmq::REQ, "REQ", "REP"),
    (zmq::REP, "REP", "REQ"),
    (zmq::DEALER, "DEALER", "DEALER"),
    (zmq::ROUTER, "ROUTER", "DEALER"),
    (zmq::PULL, "PULL", "PUSH"),
    (zmq::PUSH, "PUSH", "PULL"),
    (zmq::XPUB, "XPUB", "SUB"),
    (zmq::XSUB, "XSUB", "PUB"),
];

#[test]
fn libzmq_is_the_bundled_version() {
    let (major, minor, patch) = zmq::version();
    assert!(
        (major, minor) == (4, 3) && patch >= 3,
        "these vectors were checked against libzmq 4.3.3+ (minor 1 in the greeting); this is \
         {major}.{minor}.{patch}"
    );
}

#[test]
fn greeting_and_ready_match_the_vectors_for_every_socket_type() {
    let greeting_vector = vector_octets("greeting-libzmq-null-3-1");
    let ctx = zmq::Context::new();
    for (kind, name, peer) in TYPES {
        let socket = ctx.socket(kind).expect("socket");
        socket.set_linger(0).expect("linger");
        socket.bind("tcp://127.0.0.1:*").expect("bind");
        let endpoint = socket
            .get_last_endpoint()
            .expect("endpoint")
            .expect("utf-8 endpoint");
        let address = endpoint.trim_start_matches("tcp://");
        let mut raw = Raw::new(TcpStream::connect(address).expect("connect"));
        let mut pump = || {
            let _ = socket.poll(zmq::POLLIN, 1);
        };

        // Stage 1: the 10-octet signature, then nothing until ours arrives.
        let signature = raw.take_exact(SIGNATURE_LEN, "libzmq's signature", &mut pump);
        assert_eq!(
            hex::encode(&signature),
            hex::encode(&greeting_vector[..SIGNATURE_LEN]),
            "{name}: first 10 octets"
        );
        raw.assert_nothing_pending(name);

        // Stage 2: our whole greeting and READY; then the rest of libzmq's greeting.
        raw.send(&our_greeting(1));
        raw.send(&our_ready(peer));
        let rest = raw.take_exact(
            GREETING_LEN - SIGNATURE_LEN,
            "the rest of libzmq's greeting",
            &mut pump,
        );
        let greeting = [signature, rest].concat();
        assert_eq!(
            hex::encode(&greeting),
            hex::encode(&greeting_vector),
            "{name}: greeting differs from vector greeting-libzmq-null-3-1"
        );

        let ready = raw.take_frame("libzmq's READY", &mut pump);
        let id = format!("command-ready-libzmq-{}", name.to_ascii_lowercase());
        assert_eq!(
            hex::encode(&ready),
            hex::encode(vector_octets(&id)),
            "{name}: READY differs from vector {id}"
        );
    }
}

/// A libzmq SUB connects to a raw PUB announcing `minor` and subscribes to "AB"; returns the
/// frame that carries the subscription.
fn subscription_from_libzmq_sub(minor: u8) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("local addr").port();
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::SUB).expect("socket");
    sub.set_linger(0).expect("linger");
    sub.set_subscribe(b"AB").expect("subscribe");
    sub.connect(&format!("tcp://127.0.0.1:{port}"))
        .expect("connect");
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + DEADLINE;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "libzmq SUB never connected");
                let _ = sub.poll(zmq::POLLIN, 10);
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    stream.set_nonblocking(false).expect("blocking");
    let mut raw = Raw::new(stream);
    let mut pump = || {
        let _ = sub.poll(zmq::POLLIN, 1);
    };
    let signature = raw.take_exact(SIGNATURE_LEN, "libzmq's signature", &mut pump);
    raw.send(&our_greeting(minor));
    raw.send(&our_ready("PUB"));
    let rest = raw.take_exact(
        GREETING_LEN - SIGNATURE_LEN,
        "the rest of libzmq's greeting",
        &mut pump,
    );
    assert_eq!(
        hex::encode([signature, rest].concat()),
        hex::encode(vector_octets("greeting-libzmq-null-3-1")),
        "SUB greeting toward a 3.{minor} peer"
    );
    let ready = raw.take_frame("libzmq's READY", &mut pump);
    assert_eq!(
        hex::encode(&ready),
        hex::encode(vector_octets("command-ready-libzmq-sub")),
        "SUB READY toward a 3.{minor} peer"
    );
    raw.take_frame("the subscription", &mut pump)
}

#[test]
fn sub_sends_a_subscribe_command_to_a_3_1_peer() {
    assert_eq!(
        hex::encode(subscription_from_libzmq_sub(1)),
        hex::encode(vector_octets("subscription-3-1-subscribe-ab"))
    );
}

#[test]
fn sub_sends_a_subscription_message_to_a_3_0_peer() {
    assert_eq!(
        hex::encode(subscription_from_libzmq_sub(0)),
        hex::encode(vector_octets("subscription-3-0-subscribe-ab"))
    );
}
