//! Test hosts in network namespaces, and where the implementation and the raw peer live.
//!
//! A [`TestNet`] is one network namespace for the implementation (its driver is started with
//! `ip netns exec NS <driver command>`; the driver protocol is stdin/stdout, so nothing else
//! changes) joined to the root namespace by a veth pair. The raw peer stays in the harness
//! process, in the root namespace, and listens on the root end's address; the implementation
//! binds on, and is reached at, the namespace end's address. Traffic between them crosses a
//! real (virtual) link that the harness can cut silently, heal, and impair:
//!
//! - **cut**: an nftables `netdev` ingress chain with policy `drop` on *both* veth ends, so every
//!   packet in either direction is dropped after it left its sender: no FIN, no RST, no ICMP,
//!   and no error for either sender (a drop on the output hook would fail the sender's
//!   `connect` with `EPERM`, which a powered-off host never does);
//! - **heal**: the chains are deleted, the connections that survived carry on;
//! - **impair**: random loss with an nftables `numgen` rule on both ingress hooks; delay needs
//!   `sch_netem` (`tc qdisc ... netem`), and a kernel without it makes the step UNSUPPORTED.
//!
//! Names are unique per process and namespace (`zmtp-<pid>-<n>`, veth `zh<pid>n<n>a`/`b`), so
//! parallel runs never collide; addresses are a /30 in 10.192.0.0/10 chosen from the same
//! numbers and checked against the addresses in use. Everything is torn down on drop, and
//! [`cleanup_stale`] removes what a killed run left behind (namespaces whose pid is dead).
//!
//! The same addressing serves implementations on other hosts (`--iut-host`, `--peer-host`,
//! see [`Hosts`]): the driver is started through whatever the user trusts (`ssh`, `docker
//! exec`, `ip netns exec`), and only the addresses change.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use thiserror::Error;

use crate::driver::DriverCommand;

/// Where each side lives: the address the implementation binds on and is reached at, per
/// role, and the address the raw peer listens on. `None` is 127.0.0.1 (everything local).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts {
    /// `--iut-host`: the first implementation's host address.
    pub iut: Option<IpAddr>,
    /// `--iut2-host`: the second implementation's (default: `iut`'s).
    pub iut2: Option<IpAddr>,
    /// `--peer-host`: where the raw peer listens (an address of this machine that the
    /// implementation can reach).
    pub peer: Option<IpAddr>,
}

impl Hosts {
    /// The loopback address every side uses by default.
    pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// The raw peer's listening address.
    pub fn peer_addr(&self) -> IpAddr {
        self.peer.unwrap_or(Self::LOCAL)
    }

    /// The implementation's address for the first (`second == false`) or second role.
    pub fn iut_addr(&self, second: bool) -> IpAddr {
        let first = self.iut.unwrap_or(Self::LOCAL);
        if second {
            self.iut2.unwrap_or(first)
        } else {
            first
        }
    }

    /// Whether every side is on this machine's loopback.
    pub fn is_local(&self) -> bool {
        self.iut.is_none() && self.iut2.is_none() && self.peer.is_none()
    }
}

/// Moves a scenario endpoint onto a host: `tcp://127.0.0.1:PORT` becomes `tcp://HOST:PORT`
/// when `host` is not the loopback; any other endpoint is returned unchanged.
pub fn rehost(endpoint: &str, host: IpAddr) -> String {
    if host == Hosts::LOCAL {
        return endpoint.to_string();
    }
    match endpoint.strip_prefix("tcp://127.0.0.1:") {
        Some(port) => match host {
            IpAddr::V4(a) => format!("tcp://{a}:{port}"),
            IpAddr::V6(a) => format!("tcp://[{a}]:{port}"),
        },
        None => endpoint.to_string(),
    }
}

/// Why a test network cannot be set up or changed.
#[derive(Debug, Error)]
pub enum NetnsError {
    /// Namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN).
    #[error("network namespaces need root (running as uid {0})")]
    NotRoot(u32),
    /// A tool is not installed.
    #[error("`{tool}` is not installed ({package})")]
    Missing {
        /// The program.
        tool: &'static str,
        /// What provides it.
        package: &'static str,
    },
    /// A command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its standard error.
        stderr: String,
    },
    /// The kernel cannot do what was asked (e.g. no `sch_netem` for delay).
    #[error("{0}")]
    Kernel(String),
}

impl NetnsError {
    /// Whether the machine cannot do this at all (the case is UNSUPPORTED), rather than a
    /// command failing where it should have worked (a harness ERROR).
    pub fn is_unavailable(&self) -> bool {
        !matches!(self, NetnsError::Command { .. })
    }
}

fn run(program: &str, args: &[&str]) -> Result<String, NetnsError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => NetnsError::Missing {
                tool: tool_name(program),
                package: package_of(program),
            },
            _ => NetnsError::Command {
                command: format!("{program} {}", args.join(" ")),
                stderr: e.to_string(),
            },
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(NetnsError::Command {
            command: format!("{program} {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn tool_name(program: &str) -> &'static str {
    match program {
        "nft" => "nft",
        "tc" => "tc",
        _ => "ip",
    }
}

fn package_of(program: &str) -> &'static str {
    match program {
        "nft" => "Debian: apt-get install nftables",
        _ => "Debian: apt-get install iproute2",
    }
}

/// Whether this machine can make test networks: root, `ip` and `nft` present, and a namespace
/// can really be created. The error says why not.
pub fn available() -> Result<(), NetnsError> {
    // /proc/self belongs to the process's effective uid.
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid());
    if uid != 0 {
        return Err(NetnsError::NotRoot(uid));
    }
    run("ip", &["-V"])?;
    run("nft", &["--version"])?;
    Ok(())
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The namespace prefix of this harness's networks: `zmtp-<pid>-<n>`.
const NS_PREFIX: &str = "zmtp-";

/// One namespace for the implementation, joined to the root namespace by a veth pair.
#[derive(Debug)]
pub struct TestNet {
    ns: String,
    /// The veth end in the root namespace (the raw peer's side).
    root_if: String,
    /// The veth end inside the namespace (the implementation's side).
    ns_if: String,
    root_addr: Ipv4Addr,
    ns_addr: Ipv4Addr,
    cut: bool,
    impaired: bool,
}

impl TestNet {
    /// Creates the namespace and the link, with addresses, both ends up and `lo` up inside.
    /// Stale networks of dead runs are removed first.
    pub fn create() -> Result<Self, NetnsError> {
        available()?;
        cleanup_stale();
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let ns = format!("{NS_PREFIX}{pid}-{n}");
        let root_if = format!("zh{pid}n{n}a");
        let ns_if = format!("zh{pid}n{n}b");
        let (root_addr, ns_addr) = pick_subnet(pid, n)?;
        let mut net = TestNet {
            ns,
            root_if,
            ns_if,
            root_addr,
            ns_addr,
            cut: false,
            impaired: false,
        };
        net.build()?;
        Ok(net)
    }

    fn build(&mut self) -> Result<(), NetnsError> {
        let (ns, a, b) = (self.ns.as_str(), self.root_if.as_str(), self.ns_if.as_str());
        run("ip", &["netns", "add", ns])?;
        run(
            "ip",
            &[
                "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns,
            ],
        )?;
        run(
            "ip",
            &["addr", "add", &format!("{}/30", self.root_addr), "dev", a],
        )?;
        run("ip", &["link", "set", a, "up"])?;
        run(
            "ip",
            &[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/30", self.ns_addr),
                "dev",
                b,
            ],
        )?;
        run("ip", &["-n", ns, "link", "set", b, "up"])?;
        run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.ns
    }

    /// The implementation's address (inside the namespace).
    pub fn iut_addr(&self) -> IpAddr {
        IpAddr::V4(self.ns_addr)
    }

    /// The raw peer's address (the root end of the link).
    pub fn peer_addr(&self) -> IpAddr {
        IpAddr::V4(self.root_addr)
    }

    /// The driver command, started inside the namespace (`ip netns exec NS ...`, which
    /// `exec`s the driver, so its pid and signals are the driver's).
    pub fn wrap(&self, command: &DriverCommand) -> DriverCommand {
        let mut args = vec!["netns".into(), "exec".into(), self.ns.clone()];
        args.push(command.program.clone());
        args.extend(command.args.iter().cloned());
        DriverCommand {
            label: command.label.clone(),
            program: "ip".into(),
            args,
        }
    }

    /// The nftables table holding this link's rules, in the root namespace or the test one.
    fn table(&self) -> String {
        format!("zmtp_{}", self.root_if)
    }

    /// Installs an ingress chain on one veth end: `policy` for everything, after `rules`.
    fn ingress(&self, inside: bool, policy: &str, rules: &str) -> Result<(), NetnsError> {
        let (dev, table) = (
            if inside { &self.ns_if } else { &self.root_if },
            self.table(),
        );
        let script = format!(
            "table netdev {table} {{\n chain ingress {{\n  type filter hook ingress device \"{dev}\" priority -500; policy {policy};\n{rules}\n }}\n}}\n"
        );
        self.nft(inside, &["delete", "table", "netdev", &table])
            .ok();
        let path = std::env::temp_dir().join(format!("{table}-{}.nft", u8::from(inside)));
        std::fs::write(&path, script).map_err(|e| NetnsError::Command {
            command: format!("write {}", path.display()),
            stderr: e.to_string(),
        })?;
        let r = self.nft(inside, &["-f", &path.to_string_lossy()]);
        let _ = std::fs::remove_file(&path);
        r.map(|_| ())
    }

    fn nft(&self, inside: bool, args: &[&str]) -> Result<String, NetnsError> {
        if inside {
            let mut all = vec!["netns", "exec", self.ns.as_str(), "nft"];
            all.extend_from_slice(args);
            // `ip netns exec` runs nft; a missing nft shows as a failed exec.
            run("nft", &["--version"])?;
            run("ip", &all)
        } else {
            run("nft", args)
        }
    }

    /// Cuts the link silently: every packet in both directions is dropped on arrival.
    pub fn cut(&mut self) -> Result<(), NetnsError> {
        self.ingress(false, "drop", "")?;
        self.ingress(true, "drop", "")?;
        self.cut = true;
        Ok(())
    }

    /// Heals the link: removes the cut and any impairment.
    pub fn heal(&mut self) -> Result<(), NetnsError> {
        let table = self.table();
        for inside in [false, true] {
            self.nft(inside, &["delete", "table", "netdev", &table])
                .ok();
        }
        if self.impaired {
            let _ = run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &self.ns,
                    "tc",
                    "qdisc",
                    "del",
                    "dev",
                    &self.ns_if,
                    "root",
                ],
            );
            let _ = run("tc", &["qdisc", "del", "dev", &self.root_if, "root"]);
        }
        self.cut = false;
        self.impaired = false;
        Ok(())
    }

    /// Impairs the link: `loss_percent` of the packets in each direction dropped at random
    /// (nftables), and `delay_ms` added in each direction (netem; a kernel without
    /// `sch_netem` gives [`NetnsError::Kernel`]).
    pub fn impair(&mut self, loss_percent: u32, delay_ms: u64) -> Result<(), NetnsError> {
        if delay_ms > 0 {
            let delay = format!("{delay_ms}ms");
            let inside = run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &self.ns,
                    "tc",
                    "qdisc",
                    "replace",
                    "dev",
                    &self.ns_if,
                    "root",
                    "netem",
                    "delay",
                    &delay,
                ],
            );
            match inside {
                Err(NetnsError::Command { stderr, .. })
                    if stderr.contains("unknown") || stderr.contains("No such file") =>
                {
                    return Err(NetnsError::Kernel(format!(
                        "no delay: this kernel has no sch_netem (tc: {stderr})"
                    )));
                }
                r => {
                    r?;
                }
            }
            run(
                "tc",
                &[
                    "qdisc",
                    "replace",
                    "dev",
                    &self.root_if,
                    "root",
                    "netem",
                    "delay",
                    &delay,
                ],
            )?;
            self.impaired = true;
        }
        if loss_percent > 0 {
            let rule = format!("  numgen random mod 100 < {} drop", loss_percent.min(100));
            self.ingress(false, "accept", &rule)?;
            self.ingress(true, "accept", &rule)?;
        }
        Ok(())
    }

    /// Whether the link is cut now.
    pub fn is_cut(&self) -> bool {
        self.cut
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        // Deleting one veth end deletes both; the rules in the namespace go with it, the
        // root namespace's table explicitly.
        let _ = run("nft", &["delete", "table", "netdev", &self.table()]);
        let _ = run("ip", &["link", "del", &self.root_if]);
        let _ = run("ip", &["netns", "del", &self.ns]);
    }
}

/// A /30 in 10.192.0.0/10 from the pid and the counter, not already in use on this machine.
fn pick_subnet(pid: u32, n: u32) -> Result<(Ipv4Addr, Ipv4Addr), NetnsError> {
    let in_use = run("ip", &["-o", "-4", "addr", "show"]).unwrap_or_default();
    for attempt in 0..64u32 {
        let mixed = pid
            .wrapping_mul(2_654_435_761)
            .wrapping_add(n.wrapping_mul(40_503))
            .wrapping_add(attempt.wrapping_mul(97));
        let index = mixed % (1 << 20); // 2^20 subnets of 4 addresses in a /10
        let base = (10u32 << 24) | (192u32 << 16) | (index << 2);
        let root = Ipv4Addr::from(base + 1);
        let ns = Ipv4Addr::from(base + 2);
        if !in_use.contains(&format!(" {root}/")) && !in_use.contains(&format!(" {ns}/")) {
            return Ok((root, ns));
        }
    }
    Err(NetnsError::Kernel(
        "no free /30 in 10.192.0.0/10 after 64 attempts".into(),
    ))
}

/// Removes the namespaces and links that runs which no longer exist left behind (a run
/// killed by SIGKILL or ctrl-c cannot run its `Drop`). Best effort, silent.
pub fn cleanup_stale() {
    let Ok(list) = run("ip", &["netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('-') else {
            continue;
        };
        let Ok(pid_n) = pid.parse::<i32>() else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid_n}")).exists() {
            continue;
        }
        let root_if = format!("zh{pid}n{n}a");
        let _ = run(
            "nft",
            &["delete", "table", "netdev", &format!("zmtp_{root_if}")],
        );
        let _ = run("ip", &["link", "del", &root_if]);
        let _ = run("ip", &["netns", "del", name]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rehost_moves_only_loopback_endpoints() {
        let h: IpAddr = "10.192.0.2".parse().unwrap();
        assert_eq!(rehost("tcp://127.0.0.1:0", h), "tcp://10.192.0.2:0");
        assert_eq!(rehost("tcp://127.0.0.1:*", h), "tcp://10.192.0.2:*");
        assert_eq!(
            rehost("tcp://127.0.0.1:0", Hosts::LOCAL),
            "tcp://127.0.0.1:0"
        );
        assert_eq!(rehost("ipc:///tmp/x", h), "ipc:///tmp/x");
        let v6: IpAddr = "fd00::2".parse().unwrap();
        assert_eq!(rehost("tcp://127.0.0.1:5", v6), "tcp://[fd00::2]:5");
    }

    #[test]
    fn hosts_default_to_loopback_and_iut2_follows_iut() {
        let mut h = Hosts::default();
        assert!(h.is_local());
        assert_eq!(h.iut_addr(true), Hosts::LOCAL);
        h.iut = Some("10.0.0.2".parse().unwrap());
        assert_eq!(h.iut_addr(true), h.iut_addr(false));
        h.iut2 = Some("10.0.0.3".parse().unwrap());
        assert_ne!(h.iut_addr(true), h.iut_addr(false));
    }

    #[test]
    fn subnets_differ_between_counters() {
        let a = pick_subnet(1234, 0).unwrap();
        let b = pick_subnet(1234, 1).unwrap();
        assert_ne!(a, b);
    }
}
