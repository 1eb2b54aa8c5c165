//! A recording proxy between two real implementations: it accepts a connection, opens one to
//! the upstream endpoint, passes every octet through at once, and records and interprets both
//! directions — so a scenario can check what two implementations say to each other (a CURVE
//! handshake it could not complete itself, for instance).

use super::{Clock, PeerConn, PeerError, PeerSettings};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
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
    }
}

impl PeerProxy {
    /// Listens on 127.0.0.1 and proxies every accepted connection to `upstream`. `settings`
    /// say how to read the octets (mechanism, profile); the client side is read as a server
    /// reads it, the upstream side as a client reads it.
    pub async fn start(
        name: &str,
        upstream: SocketAddr,
        settings: PeerSettings,
        clock: Clock,
    ) -> Result<Self, PeerError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| PeerError::Io {
                context: "bind the proxy".into(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| PeerError::Io {
            context: "local_addr".into(),
            source,
        })?;
        let pairs: Pairs = Arc::new((Mutex::new(Vec::new()), Notify::new()));
        let shared = pairs.clone();
        let base = name.to_string();
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
                );
                shared
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((clock.now_us(), (Arc::new(a), Arc::new(b))));
                shared.1.notify_waiters();
            }
        });
        Ok(PeerProxy {
            name: name.to_string(),
            addr,
            pairs,
            task: Mutex::new(Some(task)),
        })
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
