//! The scenario file format (serde). `harness/scenarios/README.md` documents it for authors.
//!
//! A file holds one family of cases. A case names the requirements it checks, then lists
//! steps: things the implementation does through its driver (`socket`, `bind`, `send` ...),
//! things the raw peer does (`peer.connect`, `peer.handshake`, `peer.send` ...), bounded waits
//! for observable events (`peer.wait`, `peer.accept`), and checks (`check.*`, the named
//! assertion primitives, implemented once in `engine::checks`).
//!
//! Every step also takes `requirement` (a failure of this step is a failure of that
//! requirement; without one, a failed step is a harness ERROR), `optional` (a failure does
//! not end the case), `note`, `label` and `level` (checks: force `MUST` / `SHOULD` / `MAY` /
//! `INFO`). Unknown fields are errors, so a typo never silently weakens a case.

use crate::peer::{CloseHow, GreetingMode, PeerSettings};
use serde::{Deserialize, Serialize};

/// One scenario file: a family of cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The family, e.g. `slow-joiner`; every case id starts with `family/`.
    pub family: String,
    /// What the family is about.
    #[serde(default)]
    pub description: String,
    /// The cases.
    #[serde(rename = "case")]
    pub cases: Vec<Case>,
}

/// One case: a description, the requirements it checks, and its steps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Stable id, `family/name`.
    pub id: String,
    /// One line.
    pub title: String,
    /// What is done and why, for `explain`.
    #[serde(default)]
    pub description: String,
    /// Every requirement the case checks.
    pub requirements: Vec<String>,
    /// Tags for selection, e.g. `seed`, `wire`, `slow`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Socket types each role must support, e.g. `["PUB"]`; checked against `hello` first.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Start processes of its own instead of reusing one an earlier case left clean: for
    /// verdicts that must not depend on what earlier cases did in the process.
    #[serde(default)]
    pub fresh: bool,
    /// Run with no other case at the same time under `--jobs`: the case measures time or
    /// loads the machine. Cases with time bounds or large bursts run alone without it
    /// (`crate::schedule::runs_alone`).
    #[serde(default)]
    pub alone: bool,
    /// The steps, in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

/// Which implementation process a driver step addresses.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The implementation under test (`--iut`).
    #[default]
    Iut,
    /// A second process (`--iut2`, by default the same implementation).
    Iut2,
}

impl Role {
    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Iut => "iut",
            Role::Iut2 => "iut2",
        }
    }
}

/// A condition on what a raw-peer connection has seen; every field given must hold.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Until {
    /// The implementation's greeting arrived.
    #[serde(default)]
    pub greeting: bool,
    /// The implementation's READY (the end of its handshake) arrived.
    #[serde(default)]
    pub ready: bool,
    /// At least this many messages arrived.
    #[serde(default)]
    pub messages: Option<usize>,
    /// At least this many subscriptions or cancellations arrived.
    #[serde(default)]
    pub subscriptions: Option<usize>,
    /// A subscription to this topic (text) arrived.
    #[serde(default)]
    pub subscription: Option<String>,
    /// A command with this name arrived.
    #[serde(default)]
    pub command: Option<String>,
    /// The connection ended.
    #[serde(default)]
    pub closed: bool,
    /// The connection ended, or the implementation sent ERROR or broke the protocol.
    #[serde(default)]
    pub ended: bool,
    /// At least this many octets arrived.
    #[serde(default)]
    pub received: Option<u64>,
    /// A burst message with this sequence number arrived.
    #[serde(default)]
    pub burst_seq: Option<u64>,
    /// At least one of these conditions holds (each a table like `until` itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<Until>,
}

/// One allowed outcome of `check.one-of`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// What this outcome is, e.g. "ERROR then close".
    pub label: String,
    /// The verdict when it holds: `PASS`, `WARN`, `INFO` or `FAIL` (a known-bad shape).
    #[serde(default = "pass")]
    pub verdict: String,
    /// The requirement this outcome concerns.
    #[serde(default)]
    pub requirement: Option<String>,
    /// Checks that must all hold.
    pub checks: Vec<Check>,
}

/// The fields every step has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta<'a> {
    /// A failure of this step is a failure of this requirement.
    pub requirement: Option<&'a str>,
    /// A failure does not end the case.
    pub optional: bool,
    /// Shown in reports.
    pub note: Option<&'a str>,
    /// Short name.
    pub label: Option<&'a str>,
    /// Forced level of a check.
    pub level: Option<&'a str>,
}

/// Generates, from one list of `"do-name" => Name { fields }`, a module with one struct per
/// kind (its fields plus the [`Meta`] fields every step has) and an enum over them, tagged
/// by `do`, with [`kind`](Action::kind) and [`meta`](Action::meta).
macro_rules! step_kinds {
    (
        $(#[$em:meta])* enum $enum:ident in $module:ident {
            $( $(#[$vm:meta])* $name:literal => $variant:ident {
                $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)?
            } ),* $(,)?
        }
    ) => {
        #[doc = concat!("The parameters of each [`", stringify!($enum), "`], one struct per `do` name.")]
        pub mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$vm])*
                #[derive(Debug, Clone, Deserialize, Serialize)]
                #[serde(deny_unknown_fields)]
                pub struct $variant {
                    $( $(#[$fm])* pub $field: $ty, )*
                    /// A failure of this step is a failure of this requirement.
                    #[serde(default)]
                    pub requirement: Option<String>,
                    /// A failure does not end the case.
                    #[serde(default)]
                    pub optional: bool,
                    /// Shown in reports.
                    #[serde(default)]
                    pub note: Option<String>,
                    /// Short name in reports.
                    #[serde(default)]
                    pub label: Option<String>,
                    /// Checks: force the level (`MUST`, `SHOULD`, `MAY`, `INFO`).
                    #[serde(default)]
                    pub level: Option<String>,
                }
            )*
        }

        $(#[$em])*
        #[derive(Debug, Clone, Deserialize, Serialize)]
        #[serde(tag = "do")]
        pub enum $enum {
            $(
                $(#[$vm])*
                #[serde(rename = $name)]
                $variant($module::$variant),
            )*
        }

        impl $enum {
            /// Every `do` name of this kind of step.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The `do` name of this step.
            pub fn kind(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => $name, )*
                }
            }

            /// The common fields: requirement, optional, note, label, level.
            pub fn meta(&self) -> Meta<'_> {
                match self {
                    $( Self::$variant(s) => Meta {
                        requirement: s.requirement.as_deref(),
                        optional: s.optional,
                        note: s.note.as_deref(),
                        label: s.label.as_deref(),
                        level: s.level.as_deref(),
                    }, )*
                }
            }
        }
    };
}

step_kinds! {
    /// Something a step does: through a driver, with the raw peer, or to the flow of the case.
    enum Action in action {
    // ---- the implementation, through its driver -------------------------------------------
    /// Create a socket named `name` and set `options` (name → integer, text, or `hex:..`), in
    /// the order written.
        "socket" => Socket {
        #[serde(default)] on: Role,
        #[serde(rename = "type")] socket_type: String,
        name: String,
        #[serde(default)] options: toml::Table,
    },
    /// Set one option.
        "set" => Set { socket: String, option: String, value: toml::Value },
    /// Bind; the concrete endpoint is saved in `save` (default `<socket>_ep`).
        "bind" => Bind {
        socket: String,
        #[serde(default = "default_endpoint")] endpoint: String,
        #[serde(default)] save: Option<String>,
    },
    /// Connect (asynchronous, like libzmq).
        "connect" => Connect { socket: String, endpoint: String },
    /// Disconnect from an endpoint.
        "disconnect" => Disconnect { socket: String, endpoint: String },
    /// Unbind an endpoint.
        "unbind" => Unbind { socket: String, endpoint: String },
    /// Send one message; `expect` is the result required (default `ok`).
        "send" => Send {
        socket: String,
        #[serde(default)] parts: Option<Vec<String>>,
        #[serde(default)] parts_hex: Option<Vec<String>>,
        #[serde(default)] dontwait: bool,
        #[serde(default)] expect: Option<String>,
        #[serde(default)] save: Option<String>,
    },
    /// Send a numbered burst at full speed inside the driver; the report is saved.
        "burst" => Burst {
        socket: String,
        count: u64,
        #[serde(default)] first_seq: u64,
        #[serde(default)] topic: String,
        #[serde(default)] size: u64,
        #[serde(default = "one")] parts: u64,
        /// Routing frames in front of every message (ROUTER), text.
        #[serde(default)] prefix: Vec<String>,
        #[serde(default)] dontwait: bool,
        #[serde(default = "yes")] stop_on_would_block: bool,
        #[serde(default = "default_burst_ms")] timeout_ms: u64,
        /// Send SIGTERM this many ms after the request, while it is pending (LINGER-07);
        /// the signal's timing is saved as `signal` in the report.
        #[serde(default)] terminate_after_ms: Option<u64>,
        save: String,
    },
    /// Receive one message (saved as the driver's reply); `expect` is the result required.
        "recv" => Recv {
        socket: String,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
        #[serde(default)] expect: Option<String>,
        #[serde(default)] save: Option<String>,
    },
    /// Collect messages until `max`, a quiet period, or the deadline; the report is saved.
        "drain" => Drain {
        socket: String,
        #[serde(default = "default_max")] max: u64,
        #[serde(default = "default_quiet_ms")] quiet_ms: u64,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
        #[serde(default)] strip_prefix: u64,
        /// Send SIGTERM this many ms after the request, while it is pending (LINGER-07);
        /// the signal's timing is saved as `signal` in the report.
        #[serde(default)] terminate_after_ms: Option<u64>,
        save: String,
    },
    /// Close a socket, optionally setting its linger first; saves the driver's reply.
        "close" => Close {
        socket: String,
        #[serde(default)] linger_ms: Option<i64>,
        #[serde(default)] save: Option<String>,
    },
    /// Ask the driver to exit (it closes everything honouring linger); does not wait.
        "exit" => Exit { #[serde(default)] on: Role },
    /// Send SIGTERM; does not wait.
        "terminate" => Terminate { #[serde(default)] on: Role },
    /// SIGKILL the process now and reap it.
        "kill" => Kill { #[serde(default)] on: Role },
    /// Wait for the process to exit; saves `{code, signal, elapsed_ms}` measured from the
    /// `exit` or `terminate` step.
        "wait-exit" => WaitExit {
        #[serde(default)] on: Role,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
        #[serde(default)] save: Option<String>,
    },
    /// Start a fresh process for the role (after `kill` or `exit`); its sockets are gone.
        "restart" => Restart { #[serde(default)] on: Role },
    /// Send any driver op with these fields (for ops without a step of their own, e.g. `zap`);
    /// `expect` is the result required (default `ok`), the reply is saved in `save`. Strings
    /// in `fields` may use `${...}`; a socket handle is named by the field `socket`.
        "op" => Op {
        #[serde(default)] on: Role,
        op: String,
        #[serde(default)] fields: toml::Table,
        #[serde(default)] expect: Option<String>,
        #[serde(default)] save: Option<String>,
    },
    /// Save the process's open file descriptor count (from /proc).
        "count-fds" => CountFds { #[serde(default)] on: Role, save: String },
    /// Wait (bounded) for a monitor event of a socket (`connected`, `accepted`,
    /// `handshake_succeeded`, `disconnected` ...; several names separated by `|`); its time is
    /// saved as `mark`, the events seen as `save`.
        "wait-event" => WaitEvent {
        socket: String,
        event: String,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
        #[serde(default)] mark: Option<String>,
        #[serde(default)] save: Option<String>,
    },

    // ---- the raw peer ---------------------------------------------------------------------
    /// Listen on 127.0.0.1 (a new port, or the address saved in `address_of`); the endpoint is
    /// saved in `save` (default `<listener>_ep`). With `auto` (default), accepted connections
    /// greet and handshake on their own.
        "peer.listen" => Listen {
        listener: String,
        #[serde(default)] settings: PeerSettings,
        #[serde(default = "yes")] auto: bool,
        #[serde(default)] address_of: Option<String>,
        #[serde(default)] save: Option<String>,
    },
    /// A recording proxy: listens on 127.0.0.1 (endpoint saved in `save`, default
    /// `<proxy>_ep`) and passes every connection through to `to`, recording and interpreting
    /// both directions with `settings` (mechanism, profile). `peer.accept` names a proxied
    /// connection; its halves are `<name>.client` (what the connecting side sent) and
    /// `<name>.server` (what the upstream side sent).
        "peer.proxy" => Proxy {
        proxy: String,
        to: String,
        #[serde(default)] settings: PeerSettings,
        #[serde(default)] save: Option<String>,
    },
    /// An impairing proxy: a recording proxy (like `peer.proxy`: endpoint saved in `save`,
    /// default `<proxy>_ep`; halves `<name>.client` and `<name>.server` after `peer.accept`)
    /// whose two directions pass through forwarders that `proxy.impair` and `proxy.heal`
    /// change while the connections run. Nothing is impaired at first.
        "proxy.start" => ProxyStart {
        proxy: String,
        to: String,
        #[serde(default)] settings: PeerSettings,
        #[serde(default)] save: Option<String>,
    },
    /// Sets what an impairing proxy does to a direction (`a->b`: from the side that connected
    /// to the proxy to the upstream side; `b->a`; `both`), for its open and (unless
    /// `open_only`) future connections, replacing what was in force there. The time is saved
    /// as `mark`.
        "proxy.impair" => ProxyImpair {
        proxy: String,
        dir: String,
        /// Every chunk is passed on this long after it was read (order kept).
        #[serde(default)] delay_ms: u64,
        /// Passed on in segments of at most this many octets, one write each (TCP_NODELAY).
        #[serde(default)] slice: Option<usize>,
        /// A pause between two segments.
        #[serde(default)] gap_ms: u64,
        /// Stop reading the direction's sender (its TCP window fills) until healed.
        #[serde(default)] stall: bool,
        /// Cut the connection (both sides) after this many more octets of the direction;
        /// once: a reconnection passes.
        #[serde(default)] cut_after: Option<u64>,
        /// How the cut closes both sides: `fin` (default) or `rst` (SO_LINGER 0).
        #[serde(default)] cut: Option<CloseHow>,
        /// Read and drop everything of the direction, its close included; the connections stay
        /// open and the proxy sends nothing of its own.
        #[serde(default)] blackhole: bool,
        /// Only the connections open now (a NAT or firewall losing their state); later ones
        /// get what was in force before.
        #[serde(default)] open_only: bool,
        #[serde(default)] mark: Option<String>,
    },
    /// Ends every impairment of an impairing proxy's direction(s) (default `both`): a stalled
    /// sender is read again, and whatever the proxy holds is passed on in order. The time is
    /// saved as `mark`.
        "proxy.heal" => ProxyHeal {
        proxy: String,
        #[serde(default = "both")] dir: String,
        #[serde(default)] mark: Option<String>,
    },
    /// Stop listening (accepted connections stay).
        "peer.unlisten" => Unlisten { listener: String },
    /// Wait for connection number `n` (default: the next unnamed one) on a listener and call
    /// it `name`; the accept time is saved as mark `name`. With `until`, take the first
    /// connection from number `n` on on which `until` holds (connections that end first, e.g. a
    /// closed socket's leftover reconnect, are skipped and noted), all within `timeout_ms`.
        "peer.accept" => Accept {
        listener: String,
        name: String,
        #[serde(default)] n: Option<usize>,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
        #[serde(default)] until: Option<Until>,
    },
    /// Connect a raw peer named `peer` to an endpoint.
        "peer.connect" => PeerConnect {
        peer: String,
        to: String,
        #[serde(default)] settings: PeerSettings,
    },
    /// Send the greeting (or its first `octets`), in `mode` (default: the settings').
        "peer.greet" => Greet {
        peer: String,
        #[serde(default)] mode: Option<GreetingMode>,
        #[serde(default)] octets: Option<usize>,
    },
    /// Complete the greeting and the handshake; fails if the implementation does not.
        "peer.handshake" => Handshake {
        peer: String,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
    },
    /// Send a message.
        "peer.send" => PeerSend {
        peer: String,
        #[serde(default)] parts: Option<Vec<String>>,
        #[serde(default)] parts_hex: Option<Vec<String>>,
    },
    /// Send a numbered burst in the driver protocol's burst format.
        "peer.burst" => PeerBurst {
        peer: String,
        count: u64,
        #[serde(default)] first_seq: u64,
        #[serde(default)] topic: String,
        #[serde(default)] size: u64,
        #[serde(default = "one")] parts: u64,
        #[serde(default = "default_burst_ms")] timeout_ms: u64,
    },
    /// Subscribe (or cancel) in the form the implementation's version calls for, or `form`
    /// (`message` = ZMTP 3.0, `command` = 3.1).
        "peer.subscribe" => PeerSubscribe {
        peer: String,
        #[serde(default)] topic: String,
        #[serde(default)] topic_hex: Option<String>,
        #[serde(default)] cancel: bool,
        #[serde(default)] form: Option<String>,
    },
    /// Send PING.
        "peer.ping" => PeerPing {
        peer: String,
        #[serde(default)] ttl: u16,
        #[serde(default)] context_hex: String,
    },
    /// Send a well-formed command frame: `name` then data.
        "peer.command" => PeerCommand {
        peer: String,
        name: String,
        #[serde(default)] data_hex: String,
    },
    /// Send a frame exactly as described: any flags octet, any declared size (`size`),
    /// written in the form the LONG flag selects or `size_form` (`short` / `long`).
        "peer.frame" => PeerFrame {
        peer: String,
        flags: u8,
        #[serde(default)] size: Option<u64>,
        #[serde(default)] size_form: Option<String>,
        #[serde(default)] body_hex: String,
    },
    /// Send raw octets, in one write or in pieces of the given sizes (the last size repeats),
    /// then optionally close (`then = "fin"` or `"rst"`).
        "peer.raw" => PeerRaw {
        peer: String,
        hex: String,
        #[serde(default)] pieces: Vec<usize>,
        /// Write in pieces cut at these offsets (comma-separated, `${...}` allowed).
        #[serde(default)] split_at: Option<String>,
        #[serde(default)] then: Option<CloseHow>,
    },
    /// Stop reading (the TCP window fills).
        "peer.stop-reading" => StopReading { peer: String },
    /// Resume reading.
        "peer.resume-reading" => ResumeReading { peer: String },
    /// Close the connection: `fin` (default) or `rst`.
        "peer.close" => PeerClose { peer: String, #[serde(default = "fin")] how: CloseHow },
    /// Save the data (after the name, hex) of the first command named `name` that arrived on a
    /// connection, e.g. to compare a CURVE HELLO's key across connections; `offset` and `len`
    /// save only that slice of the data.
        "peer.save-command" => SaveCommand {
        peer: String,
        name: String,
        save: String,
        #[serde(default)] offset: Option<usize>,
        #[serde(default)] len: Option<usize>,
    },
    /// CURVE with real boxes (`harness/src/peer/curve.rs`): the greeting, then a CurveZMQ
    /// handshake as the client (with `server_key`, the server's permanent public key) or the
    /// server, with the permanent secret key `secret` (hex). `fault` sends one command with one
    /// thing wrong (`fault_in` = `HELLO`, `WELCOME`, `INITIATE` or `READY` when the fault fits
    /// several) and ends the step after it; `save_initiate` saves the INITIATE sent (hex) and
    /// `replay_initiate` sends a saved one instead of a fresh one (and ends the step).
    /// As client: `save_welcome` saves what the WELCOME held (`long_nonce`, `server_transient`,
    /// `cookie`, `cookie_nonce`, hex); `pause_after_welcome` ends the step after the WELCOME,
    /// and `resume` (no greeting, no HELLO) goes on from there with INITIATE and READY;
    /// `cookie_of` (a peer paused after its WELCOME) sends that connection's cookie in this
    /// connection's INITIATE, `initiate_of` sends the whole INITIATE that connection would send
    /// (its cookie, keys and vouch); both end the step after the INITIATE.
        "peer.curve-handshake" => CurveHandshake {
        peer: String,
        secret: String,
        #[serde(default)] server_key: Option<String>,
        #[serde(default)] fault: Option<crate::peer::curve::Fault>,
        #[serde(default)] fault_in: Option<String>,
        #[serde(default)] save_initiate: Option<String>,
        #[serde(default)] replay_initiate: Option<String>,
        #[serde(default)] save_welcome: Option<String>,
        #[serde(default)] pause_after_welcome: bool,
        #[serde(default)] resume: bool,
        #[serde(default)] cookie_of: Option<String>,
        #[serde(default)] initiate_of: Option<String>,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
    },
    /// Send one message after `peer.curve-handshake`, each frame in a CURVE MESSAGE (COMMAND bit
    /// clear as deployed implementations send it, set with `command_bit`); `fault` (e.g.
    /// `flipped-box`, `nonce-replay`, `short`, `reserved-flag`) spoils every MESSAGE.
        "peer.curve-send" => CurveSend {
        peer: String,
        #[serde(default)] parts: Option<Vec<String>>,
        #[serde(default)] parts_hex: Option<Vec<String>>,
        #[serde(default)] fault: Option<crate::peer::curve::Fault>,
        #[serde(default)] command_bit: bool,
    },
    /// Wait (bounded) for the implementation's next message in CURVE MESSAGEs, open every box,
    /// check nonces and flags, and compare the frames with `parts`.
        "peer.curve-recv" => CurveRecv {
        peer: String,
        #[serde(default)] parts: Option<Vec<String>>,
        #[serde(default)] parts_hex: Option<Vec<String>>,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
    },
    /// Wait (bounded) until a condition holds on a connection; its time is saved as `mark`.
        "peer.wait" => Wait {
        peer: String,
        until: Until,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
        #[serde(default)] mark: Option<String>,
    },

    // ---- the network between them (`crate::netns`) -------------------------------------------
    /// Cut the link between the implementation and the raw peer silently: every packet in
    /// both directions is dropped, no FIN, no RST. A case with a `net.*` step runs its
    /// implementation in a network namespace of its own (UNSUPPORTED where there is none).
        "net.cut" => NetCut {},
    /// Heal the link: remove the cut and any impairment; surviving connections carry on.
        "net.heal" => NetHeal {},
    /// Impair the link in both directions: random loss (percent of packets) and added delay
    /// (needs the kernel's netem; UNSUPPORTED without it).
        "net.impair" => NetImpair {
        #[serde(default)] loss_percent: u32,
        #[serde(default)] delay_ms: u64,
    },

    // ---- control --------------------------------------------------------------------------
    /// Record the current time under a name.
        "mark" => Mark { name: String },
    /// Wait a fixed time: only to hold a state (a peer not reading for a while), never to
    /// synchronise. Every pause says why.
        "pause" => Pause { ms: u64, why: String },
    /// Run `steps` `times` times; `${i}` is the iteration (from 1).
        "repeat" => Repeat { times: u64, steps: Vec<Step> },
    /// Publish probe messages on a PUB/XPUB socket until a subscriber (a driver socket, or a
    /// raw peer) receives one: the subscription has reached the publisher.
        "sync-pubsub" => SyncPubSub {
        publisher: String,
        #[serde(default)] subscriber: Option<String>,
        #[serde(default)] peer: Option<String>,
        #[serde(default)] topic: String,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
    },
    /// A fresh raw peer of a compatible type connects to `endpoint`, completes a handshake,
    /// and exchanges one message with the implementation's `socket`. `settings` changes the
    /// probe's settings (e.g. `mechanism = "PLAIN"` and `plain`), its socket type included.
        "liveness" => Liveness {
        socket: String,
        endpoint: String,
        #[serde(default = "default_wait_ms")] timeout_ms: u64,
        #[serde(default)] settings: Option<PeerSettings>,
    },
    }
}

step_kinds! {
    /// An assertion primitive (`check.*`): judges what was recorded, changes nothing.
    enum Check in check {
    // ---- checks (the assertion primitives) ------------------------------------------------
    /// Burst messages arrived in increasing order, without duplicates (`drain` = a saved
    /// drain report, or `peer` = a raw-peer connection).
        "check.in-order" => InOrder { #[serde(default)] drain: Option<String>, #[serde(default)] peer: Option<String> },
    /// No partial or malformed multipart message was delivered.
        "check.no-partial" => NoPartial { #[serde(default)] drain: Option<String>, #[serde(default)] peer: Option<String> },
    /// The number of burst messages delivered (of `topic`, if given) is within bounds.
        "check.count" => Count {
        #[serde(default)] drain: Option<String>,
        #[serde(default)] peer: Option<String>,
        #[serde(default)] min: Option<u64>,
        #[serde(default)] max: Option<u64>,
        #[serde(default)] topic: Option<String>,
    },
    /// Of a burst, what arrived is one run ending with its last accepted message: a dropped
    /// prefix, then everything (the slow-joiner shape).
        "check.suffix" => Suffix {
        #[serde(default)] drain: Option<String>,
        #[serde(default)] peer: Option<String>,
        burst: String,
        /// Nothing at all arriving also holds (the subscription came after the whole burst).
        #[serde(default)] allow_empty: bool,
    },
    /// Nothing of a burst arrived.
        "check.none-of" => NoneOf {
        #[serde(default)] drain: Option<String>,
        #[serde(default)] peer: Option<String>,
        burst: String,
    },
    /// Every message a burst accepted arrived exactly once.
        "check.all-of" => AllOf {
        #[serde(default)] drain: Option<String>,
        #[serde(default)] peer: Option<String>,
        burst: String,
    },
    /// A burst was never refused and no send waited: the driver's `waited` count is 0, or,
    /// from a driver that does not count, no single send took longer than `max_ms`.
        "check.not-blocked" => NotBlocked { burst: String, #[serde(default = "default_block_ms")] max_ms: u64 },
    /// A burst met back-pressure: a send would block (or timed out) before all were sent.
        "check.blocked" => Blocked { burst: String },
    /// Every send of a burst was accepted in the end, however long some waited: the exact
    /// complement of `check.blocked` (no bound stopped the sender).
        "check.all-taken" => AllTaken { burst: String },
    /// No message whose first frame starts with the prefix reached the raw peer.
        "check.no-prefix" => NoPrefix {
        peer: String,
        #[serde(default)] prefix: String,
        #[serde(default)] prefix_hex: Option<String>,
    },
    /// The subscriptions (and cancellations) received on a connection, as multisets, are
    /// exactly these; `form` also requires the wire form: `message`, `command`, or
    /// `negotiated` (commands if both sides announced ZMTP 3.1 or later, else messages).
        "check.subscriptions" => Subscriptions {
        peer: String,
        #[serde(default)] topics: Vec<String>,
        #[serde(default)] cancels: Vec<String>,
        #[serde(default)] form: Option<String>,
    },
    /// The implementation closed the connection (FIN or RST), within `within_ms` of mark
    /// `since` (default: the case start).
        "check.closed" => Closed {
        peer: String,
        #[serde(default)] within_ms: Option<u64>,
        #[serde(default)] since: Option<String>,
        /// Require this way of closing: `fin` (an orderly close) or `rst` (a reset).
        #[serde(default)] how: Option<CloseHow>,
        /// Require the stream to end between messages, not inside a frame or a multipart
        /// message.
        #[serde(default)] whole: bool,
    },
    /// The connection is still open.
        "check.open" => Open { peer: String },
    /// A command with this name did (or did not) arrive; with `data_hex` / `data_prefix_hex` /
    /// `data_len`, one whose data (after the name) is exactly this / starts so / is this long.
        "check.command" => Command {
        peer: String,
        name: String,
        #[serde(default = "yes")] present: bool,
        #[serde(default)] data_hex: Option<String>,
        /// The data (after the name) starts with these octets.
        #[serde(default)] data_prefix_hex: Option<String>,
        /// The data (after the name) is exactly this long.
        #[serde(default)] data_len: Option<usize>,
        /// The data (after the name) is at least this long.
        #[serde(default)] data_min_len: Option<usize>,
        /// Compare `data_hex` / `data_prefix_hex` from this octet of the data on (default 0).
        #[serde(default)] data_offset: Option<usize>,
        /// Every data octet from `data_offset` on is printable ASCII, 0x20..=0x7E (ERR-02).
        #[serde(default)] data_printable: bool,
        /// The first data octet counts exactly the octets after it (an ERROR's reason length).
        #[serde(default)] data_counted: bool,
        /// At most this many commands with this name (and data) arrived (with `present`, at
        /// least one): e.g. how many PINGs a peer sent without an answer (HB-13).
        #[serde(default)] max_count: Option<usize>,
    },
    /// CURVE traffic on a connection (typically a proxy half): `property` is `nonces` (the
    /// short nonces of HELLO, INITIATE, READY and MESSAGE strictly increase, CURVE-17),
    /// `single-frame` (every MESSAGE travels in one frame with MORE clear, CURVE-20) or `sizes`
    /// (every MESSAGE body is at least 33 octets, CURVE-07); at least `min_messages` MESSAGEs.
        "check.curve" => Curve {
        peer: String,
        property: String,
        #[serde(default)] min_messages: usize,
    },
    /// The implementation did (or did not) break a protocol rule on this connection.
        "check.violation" => Violation { peer: String, #[serde(default)] present: bool },
    /// The raw peer received exactly this message (`index`, 0-based) after the handshake.
        "check.received" => Received {
        peer: String,
        #[serde(default)] parts: Option<Vec<String>>,
        #[serde(default)] parts_hex: Option<Vec<String>>,
        #[serde(default)] index: usize,
    },
    /// A saved driver reply has this `result` (`ok`, `would_block`, `timeout`, `error`,
    /// `unsupported`), or (`is_not`) any other.
        "check.result" => Result {
        var: String,
        #[serde(default)] is: Option<String>,
        #[serde(default)] is_not: Option<String>,
    },
    /// The implementation's greeting announced these (each optional): `version = [3, 1]`,
    /// `min_version = [3, 0]`, `mechanism`, `as_server`.
        "check.greeting" => GreetingIs {
        peer: String,
        #[serde(default)] version: Option<[u8; 2]>,
        #[serde(default)] min_version: Option<[u8; 2]>,
        #[serde(default)] mechanism: Option<String>,
        #[serde(default)] as_server: Option<u8>,
    },
    /// The implementation's READY (or INITIATE) had a property `name` (compared exactly, or
    /// in any case with `any_case`) with this `value` (text), or (`absent`) had none.
        "check.ready-property" => ReadyProperty {
        peer: String,
        name: String,
        #[serde(default)] value: Option<String>,
        #[serde(default)] absent: bool,
        #[serde(default)] any_case: bool,
        /// `name` is a prefix: any property whose name starts with it.
        #[serde(default)] prefix: bool,
    },
    /// No two properties of the implementation's READY (or INITIATE) have names that are equal
    /// when letter case is ignored (META-14).
        "check.ready-names-distinct" => ReadyNamesDistinct { peer: String },
    /// The octets the implementation sent on a connection, raw: they start with `prefix_hex`,
    /// contain `contains_hex`, or equal `equals_hex` (from `offset`, default 0).
        "check.octets" => Octets {
        peer: String,
        #[serde(default)] offset: usize,
        #[serde(default)] prefix_hex: Option<String>,
        #[serde(default)] contains_hex: Option<String>,
        #[serde(default)] equals_hex: Option<String>,
        /// And do not contain these octets anywhere.
        #[serde(default)] absent_hex: Option<String>,
    },
    /// A field of a saved value (dotted path) equals a value or lies within bounds.
        "check.field" => Field {
        var: String,
        #[serde(default)] path: String,
        #[serde(default)] equals: Option<toml::Value>,
        #[serde(default)] min: Option<f64>,
        #[serde(default)] max: Option<f64>,
        /// At most another saved number (`var.path` form, e.g. `fds_before`) plus `slack`.
        #[serde(default)] max_var: Option<String>,
        /// What `max_var` may be exceeded by.
        #[serde(default)] slack: f64,
        /// Differs from another saved value (`var.path` form, e.g. `first.cookie`): what must
        /// not repeat across connections.
        #[serde(default)] differs_from: Option<String>,
    },
    /// A saved `recv` got exactly this message.
        "check.message" => Message {
        var: String,
        #[serde(default)] parts: Option<Vec<String>>,
        #[serde(default)] parts_hex: Option<Vec<String>>,
    },
    /// The process is alive (it did not crash).
        "check.alive" => Alive { #[serde(default)] on: Role },
    /// A process exited (saved by `wait-exit`) with this code, within this time.
        "check.exited" => Exited {
        var: String,
        #[serde(default)] code: Option<i32>,
        #[serde(default)] within_ms: Option<u64>,
    },
    /// The time between two marks (or connection events `peer:<name>:<event>`) is within bounds.
        "check.elapsed" => Elapsed {
        from: String,
        to: String,
        #[serde(default)] min_ms: Option<f64>,
        #[serde(default)] max_ms: Option<f64>,
        /// The interval is at least `factor` times another interval plus `plus_ms` (a back-off
        /// that lengthens, RECON-02); neither bound is scaled.
        #[serde(default)] longer_than: Option<LongerThan>,
    },
    /// Record a measurement (INFO): time between two marks, or a saved field.
        "check.measure" => Measure {
        name: String,
        #[serde(default)] from: Option<String>,
        #[serde(default)] to: Option<String>,
        #[serde(default)] var: Option<String>,
        #[serde(default)] path: Option<String>,
        #[serde(default)] unit: Option<String>,
    },
    /// The first alternative whose checks all hold decides the verdict; none holding is a
    /// failure of this step's requirement. For every place the spec allows several outcomes.
        "check.one-of" => OneOf { options: Vec<Alternative> },
    }
}

/// The other interval of `check.elapsed`'s `longer_than`, and how much longer it must be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongerThan {
    /// Where the other interval starts (a mark, a connection or a connection event).
    pub from: String,
    /// Where it ends.
    pub to: String,
    /// At least this many times the other interval (default 1).
    #[serde(default = "factor_one")]
    pub factor: f64,
    /// Plus this many milliseconds (default 0).
    #[serde(default)]
    pub plus_ms: f64,
}

fn factor_one() -> f64 {
    1.0
}

/// One step of a case: an action or a check (the `do` field selects the kind).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Step {
    /// Something done.
    Action(Action),
    /// Something judged.
    Check(Check),
}

impl Step {
    /// The `do` name of this step.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Action(a) => a.kind(),
            Step::Check(c) => c.kind(),
        }
    }

    /// The common fields: requirement, optional, note, label, level.
    pub fn meta(&self) -> Meta<'_> {
        match self {
            Step::Action(a) => a.meta(),
            Step::Check(c) => c.meta(),
        }
    }
}

impl<'de> Deserialize<'de> for Step {
    /// Reads the table once, then as an [`Action`] or a [`Check`] by its `do` name.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let table = toml::Value::deserialize(d)?;
        let kind = table
            .get("do")
            .ok_or_else(|| D::Error::missing_field("do"))?
            .as_str()
            .ok_or_else(|| D::Error::custom("`do` must be a string"))?;
        if Check::NAMES.contains(&kind) {
            Check::deserialize(table)
                .map(Step::Check)
                .map_err(D::Error::custom)
        } else if Action::NAMES.contains(&kind) {
            Action::deserialize(table)
                .map(Step::Action)
                .map_err(D::Error::custom)
        } else {
            let names: Vec<String> = Action::NAMES
                .iter()
                .chain(Check::NAMES)
                .map(|n| format!("`{n}`"))
                .collect();
            Err(D::Error::custom(format!(
                "unknown step `{kind}`, expected one of {}",
                names.join(", ")
            )))
        }
    }
}

fn default_endpoint() -> String {
    "tcp://127.0.0.1:0".into()
}
fn yes() -> bool {
    true
}
fn one() -> u64 {
    1
}
fn fin() -> CloseHow {
    CloseHow::Fin
}
fn pass() -> String {
    "PASS".into()
}
fn default_wait_ms() -> u64 {
    2000
}
fn default_burst_ms() -> u64 {
    10_000
}
fn default_quiet_ms() -> u64 {
    300
}
fn default_max() -> u64 {
    1_000_000
}
fn default_block_ms() -> u64 {
    500
}
fn both() -> String {
    "both".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(text: &str) -> Result<Step, toml::de::Error> {
        toml::from_str::<toml::Table>(text).and_then(|t| Step::deserialize(toml::Value::Table(t)))
    }

    #[test]
    fn proxy_steps_parse_with_their_defaults() {
        let Step::Action(Action::ProxyImpair(s)) = step(
            r#"
            do = "proxy.impair"
            proxy = "px"
            dir = "a->b"
            slice = 1
            delay_ms = 50
            cut_after = 12
            cut = "rst"
            mark = "cut"
            "#,
        )
        .unwrap() else {
            panic!("not proxy.impair")
        };
        assert_eq!((s.proxy.as_str(), s.dir.as_str()), ("px", "a->b"));
        assert_eq!((s.slice, s.delay_ms, s.cut_after), (Some(1), 50, Some(12)));
        assert_eq!(s.cut, Some(CloseHow::Rst));
        assert!(!s.stall && !s.blackhole && s.gap_ms == 0);
        assert_eq!(s.mark.as_deref(), Some("cut"));
        let Step::Action(Action::ProxyHeal(h)) =
            step("do = \"proxy.heal\"\nproxy = \"px\"").unwrap()
        else {
            panic!("not proxy.heal")
        };
        assert_eq!(h.dir, "both");
        let Step::Action(Action::ProxyStart(p)) =
            step("do = \"proxy.start\"\nproxy = \"px\"\nto = \"${s_ep}\"").unwrap()
        else {
            panic!("not proxy.start")
        };
        assert_eq!(
            (p.proxy.as_str(), p.to.as_str(), p.save),
            ("px", "${s_ep}", None)
        );
    }

    #[test]
    fn proxy_steps_refuse_typos_and_bad_values() {
        // a misspelt field never silently weakens an impairment
        let e = step("do = \"proxy.impair\"\nproxy = \"px\"\ndir = \"both\"\nstal = true")
            .unwrap_err()
            .to_string();
        assert!(e.contains("stal"), "{e}");
        let e = step("do = \"proxy.impair\"\nproxy = \"px\"\ndir = \"both\"\ncut = \"fn\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fn"), "{e}");
        // `dir` is required when impairing
        assert!(step("do = \"proxy.impair\"\nproxy = \"px\"\nstall = true").is_err());
    }
}
