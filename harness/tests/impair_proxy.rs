//! The impairing proxy over real loopback TCP: plain tokio sockets on both sides of a
//! [`PeerProxy::start_impairing`] (the decisions alone are unit-tested in `src/peer/impair.rs`).
//! Each test sets an impairment, moves octets through the proxy and checks what the other side's
//! socket sees: a delay (never earlier than the latency, order kept, the close delayed too),
//! N-octet segments (the receiver's kernel counts at least one data segment per piece, and every
//! read ends on a piece boundary), a stall (the sender's writes block while the receiver has nothing; after
//! the heal every octet arrives once, in order), a cut after N octets with FIN (both sides read
//! end of file) or RST (both read ECONNRESET), once, and a blackhole (octets dropped, the
//! connection stays open, what is sent after the heal arrives first).
//!
//! Every wait is bounded ([`BOUND`]) and the tests synchronise on events (an accepted connection,
//! octets recorded by the proxy, a read, a write that would block), not on sleeps. Segment counts
//! come from `ss -ti` (iproute2's `data_segs_in`), the kernel's own count for the socket.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zmtp_harness::peer::{
    Clock, CloseHow, Direction, Impairment, PeerProxy, PeerSettings, ProxiedPair, Way,
};

/// The bound of every wait.
const BOUND: Duration = Duration::from_secs(10);
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A client connected through an impairing proxy to a plain upstream socket.
struct Through {
    proxy: PeerProxy,
    upstream: TcpListener,
    client: TcpStream,
    server: TcpStream,
    halves: ProxiedPair,
}

impl Through {
    /// Starts a proxy to a fresh listener, sets `imps` (for every connection, before the first
    /// is accepted, so a stall is in force before the client can write), connects a client and
    /// waits until the proxy has accepted it and connected upstream.
    async fn new(imps: &[(Way, Impairment)]) -> Self {
        let upstream = TcpListener::bind(SocketAddr::new(LOCAL, 0)).await.unwrap();
        let proxy = PeerProxy::start_impairing(
            "px",
            LOCAL,
            upstream.local_addr().unwrap(),
            PeerSettings::default(),
            Clock::start(),
        )
        .await
        .unwrap();
        for (way, imp) in imps {
            proxy.impair(*way, imp.clone(), false).unwrap();
        }
        let (client, server, halves) = Self::connect(&proxy, &upstream, 1).await;
        Through {
            proxy,
            upstream,
            client,
            server,
            halves,
        }
    }

    /// Connects client number `n` through the proxy; its upstream socket and the proxy's halves.
    async fn connect(
        proxy: &PeerProxy,
        upstream: &TcpListener,
        n: usize,
    ) -> (TcpStream, TcpStream, ProxiedPair) {
        let addr: SocketAddr = proxy.endpoint()["tcp://".len()..].parse().unwrap();
        let client = bounded("connect to the proxy", TcpStream::connect(addr))
            .await
            .unwrap();
        let (server, _) = bounded("the proxy's upstream connection", upstream.accept())
            .await
            .unwrap();
        let halves = proxy.wait_for(n, BOUND).await.unwrap();
        client.set_nodelay(true).unwrap();
        server.set_nodelay(true).unwrap();
        (client, server, halves)
    }
}

/// Awaits `f` at most [`BOUND`], panicking with `what` when it takes longer.
async fn bounded<F: std::future::IntoFuture>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(BOUND, f.into_future())
        .await
        .unwrap_or_else(|_| panic!("timed out after {BOUND:?}: {what}"))
}

/// Reads exactly `n` octets; the length of every read, in order.
async fn read_n(s: &mut TcpStream, n: usize, what: &str) -> (Vec<u8>, Vec<usize>) {
    let mut got = Vec::with_capacity(n);
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while got.len() < n {
        let want = (n - got.len()).min(buf.len());
        let k = bounded(what, s.read(&mut buf[..want]))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e} after {} octet(s)", got.len()));
        assert!(
            k > 0,
            "{what}: end of file after {} of {n} octet(s)",
            got.len()
        );
        got.extend_from_slice(&buf[..k]);
        reads.push(k);
    }
    (got, reads)
}

/// `len` octets of a pattern that differs at every offset of a long stream, from `from`.
fn pattern(from: usize, len: usize) -> Vec<u8> {
    (from..from + len)
        .map(|i| (i % 251) as u8 ^ (i / 251) as u8)
        .collect()
}

/// The data segments the kernel received on `local` from `remote` (`ss -ti`,
/// `data_segs_in`; 0 when the socket shows none yet).
fn data_segs_in(local: SocketAddr, remote: SocketAddr) -> u64 {
    let out = Command::new("ss")
        .args(["-tinH", "state", "established", "src"])
        .arg(local.to_string())
        .arg("dst")
        .arg(remote.to_string())
        .output()
        .expect("run ss (iproute2)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(&local.port().to_string()),
        "ss shows no socket {local} ↔ {remote}: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("data_segs_in:"))
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_holds_every_chunk_and_the_close_back_by_the_latency_in_order() {
    let delay = Impairment {
        delay_ms: 200,
        ..Default::default()
    };
    let mut t = Through::new(&[(Way::AtoB, delay)]).await;
    let sent = pattern(0, 40 * 25);
    let started = Instant::now();
    for piece in sent.chunks(25) {
        t.client.write_all(piece).await.unwrap();
    }
    let (first, _) = read_n(&mut t.server, 25, "the first delayed chunk").await;
    let first_after = started.elapsed();
    let (rest, _) = read_n(&mut t.server, sent.len() - 25, "the other delayed chunks").await;
    assert!(
        first_after >= Duration::from_millis(200),
        "the first chunk arrived {first_after:?} after it was written; the link delays 200 ms"
    );
    assert_eq!([first, rest].concat(), sent, "every octet once, in order");
    // The close is delayed too: FIN arrives no earlier than 200 ms after the shutdown.
    let shut = Instant::now();
    t.client.shutdown().await.unwrap();
    let mut one = [0u8; 1];
    let n = bounded("the delayed FIN", t.server.read(&mut one))
        .await
        .unwrap();
    assert_eq!(n, 0, "end of file after the data");
    assert!(
        shut.elapsed() >= Duration::from_millis(200),
        "the FIN arrived {:?} after the shutdown",
        shut.elapsed()
    );
    // The other direction was never delayed, and passes.
    t.server.write_all(b"back").await.unwrap();
    let (back, _) = read_n(&mut t.client, 4, "the undelayed direction").await;
    assert_eq!(back, b"back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slicing_writes_n_octet_segments_that_the_receiver_reads_as_such() {
    const N: usize = 8;
    const CHUNK: usize = 30; // 8 + 8 + 8 + 6: the last piece of a chunk is shorter
    const CHUNKS: usize = 20;
    let slice = Impairment {
        slice: Some(N),
        ..Default::default()
    };
    let mut t = Through::new(&[(Way::AtoB, slice)]).await;
    let (server_local, server_remote) = (
        t.server.local_addr().unwrap(),
        t.server.peer_addr().unwrap(),
    );
    let (client_local, client_remote) = (
        t.client.local_addr().unwrap(),
        t.client.peer_addr().unwrap(),
    );
    let boundaries: Vec<usize> = (1..=CHUNK.div_ceil(N))
        .map(|k| (k * N).min(CHUNK))
        .collect();
    let pieces_per_chunk = boundaries.len() as u64;
    for c in 0..CHUNKS {
        // One chunk at a time: the next is written once the receiver has this one, so the
        // proxy reads each as one chunk and nothing queues behind it.
        let before = data_segs_in(server_local, server_remote);
        let sent = pattern(c * CHUNK, CHUNK);
        t.client.write_all(&sent).await.unwrap();
        let (got, reads) = read_n(&mut t.server, CHUNK, "a sliced chunk").await;
        assert_eq!(got, sent, "chunk {c}: the octets, in order");
        let mut end = 0;
        for r in &reads {
            end += r;
            assert!(
                boundaries.contains(&end),
                "chunk {c}: a read ended at octet {end}, inside an {N}-octet segment (reads {reads:?})"
            );
        }
        // One segment per piece at least: fewer means pieces were merged. More happens: a
        // tail loss probe retransmits the last piece when the receiver's ACK is delayed (seen
        // in 4 of 40 runs: 5 segments for 4 pieces).
        let segs = data_segs_in(server_local, server_remote) - before;
        assert!(
            segs >= pieces_per_chunk,
            "chunk {c}: the receiver's kernel counted {segs} data segment(s) for {CHUNK} octets \
             sliced into {N}-octet pieces {boundaries:?} (reads {reads:?})"
        );
    }
    // The control: the other direction is not sliced, a chunk is one segment.
    for c in 0..3 {
        let before = data_segs_in(client_local, client_remote);
        let sent = pattern(c * CHUNK, CHUNK);
        t.server.write_all(&sent).await.unwrap();
        let (got, _) = read_n(&mut t.client, CHUNK, "an unsliced chunk").await;
        assert_eq!(got, sent);
        let segs = data_segs_in(client_local, client_remote) - before;
        assert!(
            segs < pieces_per_chunk,
            "an unsliced {CHUNK}-octet chunk is one segment (two with a tail loss probe): {segs}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_direction_blocks_the_sender_then_delivers_everything_once_after_the_heal() {
    let stall = Impairment {
        stall: true,
        ..Default::default()
    };
    let mut t = Through::new(&[(Way::AtoB, stall)]).await;
    // Write without waiting until the kernel refuses: the proxy does not read, so the client's
    // send buffer and the proxy's receive buffer fill.
    const CAP: usize = 64 << 20;
    let block = pattern(0, 64 * 1024);
    let mut sent = 0usize;
    bounded("the client writable", t.client.writable())
        .await
        .unwrap();
    loop {
        assert!(
            sent < CAP,
            "{sent} octets accepted and the writes never blocked"
        );
        let from = sent % block.len();
        match t.client.try_write(&block[from..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("write into a stalled link: {e}"),
        }
    }
    // The proxy read at most the one read that was already waiting when the stall began (a
    // read in progress completes): never more than one buffer of 64 KiB, where a proxy that
    // kept reading would have taken megabytes before the sender blocked.
    let read_by_proxy = t
        .halves
        .0
        .with(|s| s.transcript.stream(Direction::In).len());
    assert!(
        read_by_proxy <= 64 * 1024,
        "the stalled proxy read {read_by_proxy} of the {sent} octets the sender wrote"
    );
    assert!(
        sent > 2 * 64 * 1024,
        "the sender blocked after {sent} octets: its buffers were not even full"
    );
    // Heal: every accepted octet arrives once, in order.
    t.proxy
        .impair(Way::AtoB, Impairment::default(), false)
        .unwrap();
    let (got, _) = read_n(&mut t.server, sent, "everything written into the stall").await;
    let expected: Vec<u8> = block.iter().copied().cycle().take(sent).collect();
    assert!(got == expected, "the {sent} octets arrive once, in order");
    let mut one = [0u8; 1];
    let r = t.server.try_read(&mut one);
    assert!(
        matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing more than was written: {r:?}"
    );
}

/// Cuts after `n` octets of the client's `2n` with `how`; what each side's next read gives.
async fn cut(how: CloseHow) -> (std::io::Result<usize>, std::io::Result<usize>, Through) {
    const N: usize = 100;
    let imp = Impairment {
        cut_after: Some(N as u64),
        cut: Some(how),
        ..Default::default()
    };
    let mut t = Through::new(&[(Way::AtoB, imp)]).await;
    let sent = pattern(0, 2 * N);
    t.client.write_all(&sent).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    let server_end = loop {
        match bounded("the upstream side of a cut", t.server.read(&mut buf)).await {
            Ok(0) => break Ok(0),
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) => break Err(e),
        }
    };
    match how {
        CloseHow::Fin => assert_eq!(got, sent[..N], "exactly the first {N} octets, then the cut"),
        // An RST may overtake octets not yet read: at most the first N, never more.
        CloseHow::Rst => assert!(
            got.len() <= N && got == sent[..got.len()],
            "at most the first {N} octets before the reset: {} octet(s)",
            got.len()
        ),
    }
    let client_end = bounded("the client side of a cut", t.client.read(&mut buf)).await;
    (server_end, client_end, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_with_fin_ends_both_sides_with_end_of_file_once() {
    let (server, client, t) = cut(CloseHow::Fin).await;
    assert!(matches!(server, Ok(0)), "upstream: {server:?}");
    assert!(
        matches!(client, Ok(0)),
        "client: end of file, not {client:?}"
    );
    // Once: the next connection passes everything.
    let (mut c2, mut s2, _) = Through::connect(&t.proxy, &t.upstream, 2).await;
    let sent = pattern(7, 300);
    c2.write_all(&sent).await.unwrap();
    let (got, _) = read_n(&mut s2, sent.len(), "the connection after the cut").await;
    assert_eq!(got, sent, "a fired cut is not fired again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_with_rst_resets_both_sides() {
    let (server, client, _t) = cut(CloseHow::Rst).await;
    let reset = |r: &std::io::Result<usize>| matches!(r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset);
    assert!(reset(&server), "upstream: ECONNRESET, not {server:?}");
    assert!(reset(&client), "client: ECONNRESET, not {client:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackhole_drops_octets_keeps_the_connection_and_heals() {
    let hole = Impairment {
        blackhole: true,
        ..Default::default()
    };
    let mut t = Through::new(&[(Way::AtoB, hole)]).await;
    // Ten distinguishable chunks, one at a time: each is written once the proxy has recorded
    // the one before, so each is one read of the proxy and one item for its forwarder.
    const CHUNKS: usize = 10;
    const LEN: usize = 100;
    let chunk = |i: usize| vec![0xA0 + i as u8; LEN];
    for i in 0..CHUNKS {
        t.client.write_all(&chunk(i)).await.unwrap();
        t.halves
            .0
            .wait_until("the proxy read the blackholed chunk", BOUND, |s| {
                s.transcript.stream(Direction::In).len() >= (i + 1) * LEN
            })
            .await
            .unwrap();
    }
    // The connection is open: the other direction still passes.
    t.server.write_all(b"still here").await.unwrap();
    let (back, _) = read_n(&mut t.client, 10, "the direction not blackholed").await;
    assert_eq!(back, b"still here");
    // Heal, then send. A reader records a chunk after its forwarder's queue (4 chunks) took
    // it, and the forwarder handles one chunk at a time: when the last chunk was recorded,
    // every chunk but the last five had been dropped. Those five may still be in the queue at
    // the heal and pass; nothing older may.
    t.proxy
        .impair(Way::AtoB, Impairment::default(), false)
        .unwrap();
    let after = pattern(0, 64);
    t.client.write_all(&after).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(&after) {
        let k = bounded("octets sent after the heal", t.server.read(&mut buf))
            .await
            .unwrap();
        assert!(k > 0, "end of file after {} octet(s)", got.len());
        got.extend_from_slice(&buf[..k]);
        assert!(
            got.len() <= CHUNKS * LEN + after.len(),
            "more than was sent"
        );
    }
    let passed = &got[..got.len() - after.len()];
    let late = passed.len() / LEN;
    let tail: Vec<u8> = (CHUNKS - late..CHUNKS).flat_map(chunk).collect();
    assert!(
        passed.len() % LEN == 0 && late <= 5 && passed == tail.as_slice(),
        "blackholed octets arrived: {} octet(s) before the ones sent after the heal (at most \
         the last five chunks, still queued at the heal, may)",
        passed.len()
    );
}
