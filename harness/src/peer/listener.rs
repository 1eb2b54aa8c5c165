//! Accepting connections as the raw peer.

use super::{Clock, PeerConn, PeerError, PeerSettings};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

struct Accepted {
    conns: Vec<(u64, Arc<PeerConn>)>,
}

/// A listening socket of the raw peer. Every accepted connection is kept, in order, so a
/// scenario can see an implementation reconnect (connection #2 after #1 closed).
pub struct PeerListener {
    name: String,
    addr: SocketAddr,
    accepted: Arc<(Mutex<Accepted>, Notify)>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for PeerListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerListener")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for PeerListener {
    fn drop(&mut self) {
        if let Some(t) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
    }
}

impl PeerListener {
    /// Listens on `addr` (port 0 picks one). With `auto_handshake`, every accepted connection
    /// greets and completes the handshake on its own, within `handshake_timeout`.
    pub async fn bind(
        name: &str,
        addr: SocketAddr,
        settings: PeerSettings,
        clock: Clock,
        auto_handshake: bool,
        handshake_timeout: Duration,
    ) -> Result<Self, PeerError> {
        let io = |context: &str| {
            let context = format!("{context} {addr}");
            move |source| PeerError::Io { context, source }
        };
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .map_err(io("socket"))?;
        socket.set_reuseaddr(true).map_err(io("SO_REUSEADDR"))?;
        // Accepted sockets inherit the listener's buffer sizes.
        if let Some(n) = settings.rcvbuf {
            socket.set_recv_buffer_size(n).map_err(io("SO_RCVBUF"))?;
        }
        if let Some(n) = settings.sndbuf {
            socket.set_send_buffer_size(n).map_err(io("SO_SNDBUF"))?;
        }
        socket.bind(addr).map_err(io("bind"))?;
        let listener: TcpListener = socket.listen(128).map_err(io("listen"))?;
        let addr = listener.local_addr().map_err(|source| PeerError::Io {
            context: "local_addr".into(),
            source,
        })?;
        let accepted = Arc::new((Mutex::new(Accepted { conns: Vec::new() }), Notify::new()));
        let shared = accepted.clone();
        let base = name.to_string();
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            while let Ok((stream, _)) = listener.accept().await {
                n += 1;
                let conn = Arc::new(PeerConn::from_stream(
                    &format!("{base}#{n}"),
                    stream,
                    settings.clone(),
                    clock,
                    true,
                ));
                if auto_handshake {
                    conn.mark_handshake_pending();
                    let c = conn.clone();
                    tokio::spawn(async move {
                        let _ = c.handshake(handshake_timeout).await;
                    });
                }
                shared
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .conns
                    .push((clock.now_us(), conn));
                shared.1.notify_waiters();
            }
        });
        Ok(PeerListener {
            name: name.to_string(),
            addr,
            accepted,
            task: Mutex::new(Some(task)),
        })
    }

    /// Stops accepting and closes the listening socket (accepted connections stay); the port
    /// is free when this returns.
    pub async fn stop(&self) {
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = task {
            t.abort();
            let _ = t.await;
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `tcp://` endpoint for implementations to connect to.
    pub fn endpoint(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    /// How many connections were accepted so far.
    pub fn count(&self) -> usize {
        self.lock().conns.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Accepted> {
        self.accepted.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connection number `n` (1-based) and when it was accepted (µs since the case start).
    pub fn get(&self, n: usize) -> Option<(u64, Arc<PeerConn>)> {
        self.lock().conns.get(n.checked_sub(1)?).cloned()
    }

    /// Every accepted connection.
    pub fn all(&self) -> Vec<(u64, Arc<PeerConn>)> {
        self.lock().conns.clone()
    }

    /// Waits until connection number `n` (1-based) has been accepted.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Result<Arc<PeerConn>, PeerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.accepted.1.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some((_, c)) = self.get(n) {
                return Ok(c);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.get(n).map(|(_, c)| c).ok_or(PeerError::Timeout {
                    what: format!("connection #{n} on {}", self.name),
                    waited_ms: timeout.as_millis() as u64,
                });
            }
        }
    }
}
