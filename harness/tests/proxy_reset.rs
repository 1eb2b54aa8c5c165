//! A reset passes through the recording proxy (`peer.proxy`, [`PeerProxy::start`]) and the
//! impairing proxy ([`PeerProxy::start_impairing`]) as a reset alone, over real loopback TCP:
//! one side's socket closes with SO_LINGER 0 (an RST), and the far side's next read fails with
//! ECONNRESET, without reading end of file (a FIN) first. Before, the recording proxy shut the
//! far side's write half down (FIN) and reset it only at the end of the case.
//!
//! Every wait is bounded ([`BOUND`]); the tests synchronise on octets read through the proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zmtp_harness::peer::{Clock, PeerProxy, PeerSettings};

/// The bound of every wait.
const BOUND: Duration = Duration::from_secs(10);
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn bounded<F: std::future::IntoFuture>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(BOUND, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {BOUND:?}"))
}

/// A proxy (recording, or impairing with no impairment) to a fresh listener, a client connected
/// through it, and the upstream socket the proxy opened; octets have gone through both ways, so
/// both of the proxy's halves are reading.
async fn through(impairing: bool) -> (PeerProxy, TcpStream, TcpStream) {
    let upstream = TcpListener::bind(SocketAddr::new(LOCAL, 0)).await.unwrap();
    let up = upstream.local_addr().unwrap();
    let (settings, clock) = (PeerSettings::default(), Clock::start());
    let proxy = if impairing {
        PeerProxy::start_impairing("px", LOCAL, up, settings, clock).await
    } else {
        PeerProxy::start("px", LOCAL, up, settings, clock).await
    }
    .unwrap();
    let addr: SocketAddr = proxy.endpoint()["tcp://".len()..].parse().unwrap();
    let mut client = bounded("connect", TcpStream::connect(addr)).await.unwrap();
    let (mut server, _) = bounded("accept", upstream.accept()).await.unwrap();
    bounded("the proxy's halves", proxy.wait_for(1, BOUND))
        .await
        .unwrap();
    ping(&mut client, &mut server).await;
    ping(&mut server, &mut client).await;
    (proxy, client, server)
}

/// Four octets from `from` read by `to` through the proxy.
async fn ping(from: &mut TcpStream, to: &mut TcpStream) {
    from.write_all(b"ping").await.unwrap();
    let mut got = [0u8; 4];
    bounded("octets through the proxy", to.read_exact(&mut got))
        .await
        .unwrap();
    assert_eq!(&got, b"ping");
}

/// Resets `from` (SO_LINGER 0, then close) and returns the far side's next read.
async fn reset_and_read(from: TcpStream, far: &mut TcpStream) -> std::io::Result<usize> {
    from.set_zero_linger().unwrap();
    drop(from);
    let mut buf = [0u8; 16];
    bounded("the far side's read after the reset", far.read(&mut buf)).await
}

fn assert_reset(read: std::io::Result<usize>, what: &str) {
    match read {
        Err(e) => assert_eq!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset,
            "{what}: ECONNRESET, got {e}"
        ),
        Ok(0) => panic!("{what}: read end of file (a FIN) before the reset"),
        Ok(n) => panic!("{what}: read {n} octet(s) instead of the reset"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recording_proxy_passes_a_client_reset_on_as_a_reset() {
    let (_proxy, client, mut server) = through(false).await;
    assert_reset(
        reset_and_read(client, &mut server).await,
        "upstream, after the client's RST",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recording_proxy_passes_an_upstream_reset_on_as_a_reset() {
    let (_proxy, mut client, server) = through(false).await;
    assert_reset(
        reset_and_read(server, &mut client).await,
        "the client, after the upstream's RST",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_impairing_proxy_passes_a_reset_on_as_a_reset() {
    let (_proxy, client, mut server) = through(true).await;
    assert_reset(
        reset_and_read(client, &mut server).await,
        "upstream, after the client's RST",
    );
}
