//! The request loop every Rust driver runs on: read request lines from stdin, [`dispatch`] each
//! to the [`Driver`], write one reply line per request and flush (DRV-01..05); between requests
//! keep the library serviced (DRV-21); on SIGINT/SIGTERM, EOF or `exit` close everything and end
//! with status 0 (DRV-22/23).
//!
//! Two front ends share [`dispatch`]: [`serve_blocking`] for a blocking library whose poll can
//! watch stdin's fd together with its sockets (libzmq: `zmq_poll`), and `serve_tokio` (feature
//! `tokio`) for a library on tokio (zmq.rs, rzmq).

use std::future::Future;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::Reply;
use crate::driver::{Driver, Flow, dispatch};

/// The idle bound of DRV-21: the library is serviced at least this often.
pub const TICK: Duration = Duration::from_millis(20);

/// The stop flag SIGINT and SIGTERM set (DRV-22). Cloned into the driver, which checks it inside
/// its own waits (a blocked send or receive stops waiting and answers first).
#[derive(Clone, Debug, Default)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    #[cfg(feature = "tokio")]
    rx: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Stop {
    /// A flag no signal sets (for tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a signal asked the driver to stop.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sets the flag, as a signal would.
    pub fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// A flag SIGINT and SIGTERM set through `signal-hook` (for a blocking driver).
    fn on_signals(name: &str) -> Self {
        let stop = Self::new();
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop.flag)) {
                eprintln!("{name}: cannot register signal {sig}: {e}");
            }
        }
        stop
    }

    /// A flag SIGINT and SIGTERM set through tokio's signal streams; [`Stop::signalled`] also
    /// wakes on it. Call inside the runtime.
    #[cfg(feature = "tokio")]
    fn on_tokio_signals(name: &str) -> Self {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stop = Self {
            flag: Arc::new(AtomicBool::new(false)),
            rx: Some(rx),
        };
        let flag = Arc::clone(&stop.flag);
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::spawn(async move {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                    flag.store(true, Ordering::SeqCst);
                    let _ = tx.send(true);
                });
            }
            Err(e) => eprintln!("{name}: cannot install signal handlers: {e}"),
        }
        stop
    }

    /// Resolves once a signal asked the driver to stop; never where no signal can come.
    #[cfg(feature = "tokio")]
    pub async fn signalled(&self) {
        let Some(mut rx) = self.rx.clone() else {
            return std::future::pending().await;
        };
        // An error means the sender is gone: no signal can come any more.
        if rx.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A blocking driver's wait for input (DRV-21): its library's poll over stdin's fd and every
/// socket.
pub trait WaitStdin {
    /// Waits at most `tick` for fd 0 to be readable, calling into every socket meanwhile; true
    /// when stdin is readable (or failed: the read will tell).
    fn wait_stdin(&mut self, tick: Duration) -> bool;
}

/// Writes one reply line and flushes (DRV-02).
fn write_reply(out: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    let mut line = reply.to_line();
    line.push('\n');
    out.write_all(line.as_bytes())?;
    out.flush()
}

/// Runs a future of a blocking driver to completion. A blocking driver's futures never wait
/// (its methods contain no `.await` on anything that can be pending), so the first poll
/// completes; a pending one is polled again.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// Runs a blocking driver on this process's stdin/stdout until `exit`, EOF or SIGINT/SIGTERM.
/// `make` builds the driver with the stop flag (and logs the library version). Returns status 0
/// after an orderly shutdown, 1 if the driver could not start or stdin/stdout failed.
pub fn serve_blocking<D, F>(make: F) -> ExitCode
where
    D: Driver + WaitStdin,
    F: FnOnce(Stop) -> Result<D, String>,
{
    let stop = Stop::on_signals(D::NAME);
    let mut d = match make(stop.clone()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{}: cannot start: {e}", D::NAME);
            return ExitCode::from(1);
        }
    };
    let stopped = || stop.is_set();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    let mut inbuf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut status = ExitCode::SUCCESS;
    'outer: loop {
        // Handle every complete line already buffered.
        while let Some(nl) = inbuf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = inbuf.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let (reply, flow) = block_on(dispatch(&mut d, text, &stopped));
            if let Err(e) = write_reply(&mut stdout, &reply) {
                eprintln!("{}: stdout failed: {e}", D::NAME);
                status = ExitCode::from(1);
                break 'outer;
            }
            if flow == Flow::Exit {
                break 'outer;
            }
        }
        if stop.is_set() {
            eprintln!("{}: signal received, shutting down", D::NAME);
            break;
        }
        block_on(d.service());
        if d.wait_stdin(TICK) {
            // `chunk` is larger than stdin's internal buffer, so this is one read(2) on fd 0.
            match stdin.lock().read(&mut chunk) {
                Ok(0) => {
                    eprintln!("{}: EOF on stdin, shutting down", D::NAME);
                    break;
                }
                Ok(n) => inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    eprintln!("{}: stdin failed: {e}", D::NAME);
                    status = ExitCode::from(1);
                    break;
                }
            }
        }
    }
    block_on(d.shutdown());
    status
}

/// Runs a driver on a tokio library on this process's stdin/stdout until `exit`, EOF or
/// SIGINT/SIGTERM, on a two-thread runtime. `make` builds the driver inside the runtime.
/// Returns status 0 after an orderly shutdown, 1 if the driver could not start or stdin/stdout
/// failed.
#[cfg(feature = "tokio")]
pub fn serve_tokio<D, F>(make: F) -> ExitCode
where
    D: Driver,
    F: FnOnce(Stop) -> Result<D, String>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: cannot start tokio: {e}", D::NAME);
            return ExitCode::from(1);
        }
    };
    let status = rt.block_on(async move {
        let stop = Stop::on_tokio_signals(D::NAME);
        match make(stop.clone()) {
            Ok(mut d) => tokio_loop(&mut d, &stop).await,
            Err(e) => {
                eprintln!("{}: cannot start: {e}", D::NAME);
                ExitCode::from(1)
            }
        }
    });
    // The stdin reader sits in a blocking read; do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(200));
    status
}

/// The request loop of [`serve_tokio`].
#[cfg(feature = "tokio")]
async fn tokio_loop<D: Driver>(d: &mut D, stop: &Stop) -> ExitCode {
    use tokio::io::AsyncBufReadExt;
    let stopped = || stop.is_set();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status = ExitCode::SUCCESS;
    loop {
        if stop.is_set() {
            eprintln!("{}: signal received, shutting down", D::NAME);
            break;
        }
        tokio::select! {
            _ = stop.signalled() => {}
            line = lines.next_line() => match line {
                Ok(Some(l)) => {
                    let l = l.trim();
                    if l.is_empty() {
                        continue;
                    }
                    let (reply, flow) = dispatch(d, l, &stopped).await;
                    if let Err(e) = write_reply(&mut std::io::stdout().lock(), &reply) {
                        eprintln!("{}: stdout failed: {e}", D::NAME);
                        status = ExitCode::from(1);
                        break;
                    }
                    if flow == Flow::Exit {
                        break;
                    }
                }
                Ok(None) => {
                    eprintln!("{}: EOF on stdin, shutting down", D::NAME);
                    break;
                }
                Err(e) => {
                    eprintln!("{}: stdin failed: {e}", D::NAME);
                    status = ExitCode::from(1);
                    break;
                }
            },
            _ = tick.tick() => d.service().await,
        }
    }
    d.shutdown().await;
    status
}
