//! A recording proxy between two real implementations: it accepts a connection, opens one to
//! the upstream endpoint, passes every octet through at once, and records and interprets both
//! directions — so a scenario can check what two implementations say to each other (a CURVE
//! handshake it could not complete itself, for instance).
//!
//! An impairing proxy ([`PeerProxy::start_impairing`]) records the same way, but every
//! direction goes through a forwarding task that carries out the [`Impairments`] in force
//! (delay, slicing, stall, cut with FIN or RST, blackhole), changeable while it runs.

use super::impair::{ClosePlan, Impairment, Impairments, Relayed, Shaper, Way};
use super::{Clock, CloseHow, PeerConn, PeerError, PeerSettings};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Both halves of one proxied connection: `client` records what the connecting side sent,
/// `server` what the upstream side sent.
pub type ProxiedPair = (Arc<PeerConn>, Arc<PeerConn>);

/// Accepted connections (time, halves) and a signal when one is added.
type Pairs = Arc<(Mutex<Vec<(u64, ProxiedPair)>>, Notify)>;

/// A listening recording proxy.
pub struct PeerProxy {
    name: String,
    addr: SocketAddr,
    pairs: Pairs,
    task: Mutex<Option<JoinHandle<()>>>,
    /// An impairing proxy's settings for new connections, and its connections' links.
    impairing: Option<(Arc<Impairments>, Links)>,
}

/// The links of an impairing proxy's connections.
type Links = Arc<Mutex<Vec<Arc<Link>>>>;

/// Chunks a half's reader may hand its forwarder ahead of it: beyond, the reader waits and the
/// sender's window fills (the relay adds at most this many reads of buffering).
const RELAY_QUEUE: usize = 4;

/// How long one write of a forwarder holds the receiver's writer before letting go (so a close
/// is never held up behind a receiver that stopped reading).
const WRITE_SLICE: Duration = Duration::from_millis(200);

/// One impaired connection: its halves and its two forwarders.
struct Link {
    /// The impairments of this connection (a copy of the proxy's when it was accepted, then
    /// changed by every `proxy.impair`).
    imps: Impairments,
    a: Arc<PeerConn>,
    b: Arc<PeerConn>,
    forwarders: Mutex<Vec<JoinHandle<()>>>,
    cut: AtomicBool,
}

impl Link {
    /// The sender's and the receiver's half of a direction.
    fn halves(&self, way: Way) -> (&Arc<PeerConn>, &Arc<PeerConn>) {
        match way {
            Way::AtoB => (&self.a, &self.b),
            Way::BtoA => (&self.b, &self.a),
        }
    }

    /// Leaves a direction's sender unread (stall) or reads it again.
    fn apply_stall(&self, way: Way, stall: bool) {
        let (from, _) = self.halves(way);
        if stall {
            from.stop_reading();
        } else {
            from.resume_reading();
        }
    }

    /// Cuts the connection, both sides, once: the other forwarder stops, then both halves
    /// close with FIN (their readers go on recording until the implementations close) or RST.
    async fn cut(&self, how: CloseHow, me: usize) {
        if self.cut.swap(true, Ordering::SeqCst) {
            return;
        }
        for (i, h) in self
            .forwarders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .enumerate()
        {
            if i != me {
                h.abort();
            }
        }
        // Both sides read again, so that a FIN cut sees the implementations' own closes.
        self.a.resume_reading();
        self.b.resume_reading();
        tokio::join!(self.a.close(how), self.b.close(how));
    }

    fn abort(&self) {
        for h in self
            .forwarders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            h.abort();
        }
    }
}

/// Writes all of `bytes` to `to`, however long the receiver takes (the forwarder is aborted
/// when the case ends); fails when the receiver's connection is gone.
async fn write_all(to: &PeerConn, bytes: &[u8]) -> Result<(), PeerError> {
    let mut done = 0;
    while done < bytes.len() {
        done += to.write_partial(&bytes[done..], WRITE_SLICE).await?;
    }
    Ok(())
}

/// One direction's forwarder: takes what the sender's half read, in order, and carries out the
/// plan the direction's shaper makes for it.
async fn forward(
    way: Way,
    mut rx: mpsc::Receiver<Relayed>,
    link: Arc<Link>,
    defaults: Arc<Impairments>,
    clock: Clock,
) {
    let (_, to) = link.halves(way);
    let to = to.clone();
    let mut shaper = Shaper::default();
    let at = |us: u64| tokio::time::Instant::from_std(clock.epoch()) + Duration::from_micros(us);
    let mut broken = false;
    while let Some(item) = rx.recv().await {
        link.imps.refresh(way, &mut shaper);
        if link.cut.load(Ordering::SeqCst) {
            shaper.mark_cut();
        }
        match item {
            Relayed::Data { at_us, bytes } => {
                let plan = shaper.plan(bytes.len(), at_us);
                if !plan.pieces.is_empty() {
                    tokio::time::sleep_until(at(plan.due_us)).await;
                }
                for (i, range) in plan.pieces.iter().enumerate() {
                    if broken {
                        break;
                    }
                    if i > 0 && plan.gap_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(plan.gap_ms)).await;
                    }
                    broken = write_all(&to, &bytes[range.clone()]).await.is_err();
                }
                if let Some(how) = plan.cut {
                    // One-shot: neither this connection nor the next one is cut again.
                    link.imps.clear_cut(way);
                    defaults.clear_cut(way);
                    link.cut(how, way.index()).await;
                    return;
                }
            }
            Relayed::Closed { at_us, reset } => {
                if let ClosePlan::PassOn { due_us } = shaper.plan_close(at_us) {
                    tokio::time::sleep_until(at(due_us)).await;
                    to.close(if reset { CloseHow::Rst } else { CloseHow::Fin })
                        .await;
                }
            }
        }
    }
}

impl std::fmt::Debug for PeerProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerProxy")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for PeerProxy {
    fn drop(&mut self) {
        if let Some(t) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
        if let Some((_, links)) = &self.impairing {
            for l in links.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                l.abort();
            }
        }
    }
}

impl PeerProxy {
    /// Listens on a new port of `host` (the raw peer's address: 127.0.0.1, `--peer-host`, or
    /// the root end of a case's test network) and proxies every accepted connection to
    /// `upstream`. `settings` say how to read the octets (mechanism, profile); the client side
    /// is read as a server reads it, the upstream side as a client reads it.
    pub async fn start(
        name: &str,
        host: IpAddr,
        upstream: SocketAddr,
        settings: PeerSettings,
        clock: Clock,
    ) -> Result<Self, PeerError> {
        Self::start_with(name, host, upstream, settings, clock, None).await
    }

    /// Like [`start`](Self::start), but every direction passes through a forwarder that
    /// carries out the impairments set with [`impair`](Self::impair) (none at first).
    pub async fn start_impairing(
        name: &str,
        host: IpAddr,
        upstream: SocketAddr,
        settings: PeerSettings,
        clock: Clock,
    ) -> Result<Self, PeerError> {
        let impairing = (Arc::new(Impairments::default()), Links::default());
        Self::start_with(name, host, upstream, settings, clock, Some(impairing)).await
    }

    async fn start_with(
        name: &str,
        host: IpAddr,
        upstream: SocketAddr,
        settings: PeerSettings,
        clock: Clock,
        impairing: Option<(Arc<Impairments>, Links)>,
    ) -> Result<Self, PeerError> {
        let listener = TcpListener::bind(SocketAddr::new(host, 0))
            .await
            .map_err(|source| PeerError::Io {
                context: format!("bind the proxy on {host}"),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| PeerError::Io {
            context: "local_addr".into(),
            source,
        })?;
        let pairs: Pairs = Arc::new((Mutex::new(Vec::new()), Notify::new()));
        let shared = pairs.clone();
        let base = name.to_string();
        let relaying = impairing.clone();
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                n += 1;
                let connect = TcpStream::connect(upstream);
                let Ok(Ok(server)) = tokio::time::timeout(Duration::from_secs(5), connect).await
                else {
                    // The upstream is gone: the client sees its connection closed.
                    continue;
                };
                let channels = relaying.as_ref().map(|_| {
                    let (to_b, from_a) = mpsc::channel(RELAY_QUEUE);
                    let (to_a, from_b) = mpsc::channel(RELAY_QUEUE);
                    ((to_b, to_a), (from_a, from_b))
                });
                let (txs, rxs) = match channels {
                    Some((t, r)) => (Some(t), Some(r)),
                    None => (None, None),
                };
                let (a, b) = PeerConn::forwarding_pair(
                    (&format!("{base}#{n}.client"), &format!("{base}#{n}.server")),
                    (client, server),
                    (
                        PeerSettings {
                            server: Some(true),
                            ..settings.clone()
                        },
                        PeerSettings {
                            server: Some(false),
                            ..settings.clone()
                        },
                    ),
                    clock,
                    txs,
                );
                let (a, b) = (Arc::new(a), Arc::new(b));
                if let (Some((imps, links)), Some((from_a, from_b))) = (&relaying, rxs) {
                    let own = Impairments::default();
                    for way in Way::BOTH {
                        own.set(way, imps.get(way).0);
                    }
                    let link = Arc::new(Link {
                        imps: own,
                        a: a.clone(),
                        b: b.clone(),
                        forwarders: Mutex::new(Vec::new()),
                        cut: AtomicBool::new(false),
                    });
                    for way in Way::BOTH {
                        link.apply_stall(way, imps.get(way).0.stall);
                    }
                    let handles = vec![
                        tokio::spawn(forward(
                            Way::AtoB,
                            from_a,
                            link.clone(),
                            imps.clone(),
                            clock,
                        )),
                        tokio::spawn(forward(
                            Way::BtoA,
                            from_b,
                            link.clone(),
                            imps.clone(),
                            clock,
                        )),
                    ];
                    *link.forwarders.lock().unwrap_or_else(|p| p.into_inner()) = handles;
                    links.lock().unwrap_or_else(|p| p.into_inner()).push(link);
                }
                shared
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((clock.now_us(), (a, b)));
                shared.1.notify_waiters();
            }
        });
        Ok(PeerProxy {
            name: name.to_string(),
            addr,
            pairs,
            task: Mutex::new(Some(task)),
            impairing,
        })
    }

    /// Whether this proxy can impair (it was started with
    /// [`start_impairing`](Self::start_impairing)).
    pub fn is_impairing(&self) -> bool {
        self.impairing.is_some()
    }

    /// Sets the impairment of a direction on every open connection and (unless `open_only`)
    /// on every future one, replacing the one in force; a stall starts or ends at once.
    /// `None` when the proxy does not impair.
    pub fn impair(&self, way: Way, impairment: Impairment, open_only: bool) -> Option<()> {
        let (defaults, links) = self.impairing.as_ref()?;
        let stall = impairment.stall;
        if !open_only {
            defaults.set(way, impairment.clone());
        }
        for l in links.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            l.imps.set(way, impairment.clone());
            if !l.cut.load(Ordering::SeqCst) {
                l.apply_stall(way, stall);
            }
        }
        Some(())
    }

    /// The `tcp://` endpoint to connect to.
    pub fn endpoint(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    /// Connection number `n` (1-based): when it was accepted and its two halves.
    pub fn get(&self, n: usize) -> Option<(u64, ProxiedPair)> {
        self.pairs
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(n.checked_sub(1)?)
            .cloned()
    }

    /// Every proxied connection's halves.
    pub fn all(&self) -> Vec<Arc<PeerConn>> {
        self.pairs
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .flat_map(|(_, (a, b))| [a.clone(), b.clone()])
            .collect()
    }

    /// Waits until connection number `n` has been accepted and connected upstream.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Result<ProxiedPair, PeerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.pairs.1.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some((_, p)) = self.get(n) {
                return Ok(p);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.get(n).map(|(_, p)| p).ok_or(PeerError::Timeout {
                    what: format!("connection #{n} through proxy {}", self.name),
                    waited_ms: timeout.as_millis() as u64,
                });
            }
        }
    }
}
