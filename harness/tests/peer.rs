//! The raw peer against real libzmq sockets over real TCP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;
use zmtp_harness::peer::{
    Clock, CloseHow, CloseKind, GreetingMode, PeerConn, PeerEventKind, PeerListener, PeerSettings,
};

const T: Duration = Duration::from_secs(5);

fn libzmq_bind(ctx: &zmq::Context, kind: zmq::SocketType) -> (zmq::Socket, std::net::SocketAddr) {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.get_last_endpoint().unwrap().unwrap();
    (s, ep.trim_start_matches("tcp://").parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_to_libzmq_pull_with_each_greeting_mode() {
    let ctx = zmq::Context::new();
    let (pull, addr) = libzmq_bind(&ctx, zmq::PULL);
    pull.set_rcvtimeo(5000).unwrap();
    for mode in [
        GreetingMode::Whole,
        GreetingMode::Staged,
        GreetingMode::Bytewise,
    ] {
        let settings = PeerSettings {
            greeting: mode,
            ..PeerSettings::of_type("PUSH")
        };
        let peer = PeerConn::connect("push", addr, settings, Clock::start(), T)
            .await
            .unwrap();
        peer.handshake(T).await.unwrap();
        let props = peer.with(|s| s.ready_properties().cloned()).unwrap();
        assert!(
            props.contains(&("Socket-Type".into(), "PULL".into())),
            "{props:?}"
        );
        peer.send_message(&[b"hello".to_vec(), format!("{mode:?}").into_bytes()], T)
            .await
            .unwrap();
        let got = tokio::task::block_in_place(|| pull.recv_multipart(0)).unwrap();
        assert_eq!(
            got,
            vec![b"hello".to_vec(), format!("{mode:?}").into_bytes()]
        );
        peer.close(CloseHow::Rst).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_pub_sees_libzmq_sub_subscribe_in_both_forms() {
    let ctx = zmq::Context::new();
    for (minor, form) in [(1u8, "command"), (0, "message")] {
        let settings = PeerSettings {
            version: [3, minor],
            ..PeerSettings::of_type("PUB")
        };
        let listener = PeerListener::bind(
            "pub",
            "127.0.0.1:0".parse().unwrap(),
            settings,
            Clock::start(),
            true,
            T,
        )
        .await
        .unwrap();
        let sub = ctx.socket(zmq::SUB).unwrap();
        sub.set_linger(0).unwrap();
        sub.set_subscribe(b"AB").unwrap();
        sub.connect(&listener.endpoint()).unwrap();
        let conn = listener.wait_for(1, T).await.unwrap();
        // libzmq's SUB only processes its command queue when called into: poll it meanwhile.
        let waiting = conn.wait_until("SUBSCRIBE", T, |s| !s.subscriptions().is_empty());
        tokio::pin!(waiting);
        loop {
            tokio::select! {
                r = &mut waiting => { r.unwrap(); break; }
                _ = tokio::time::sleep(Duration::from_millis(5)) => {
                    let _ = sub.poll(zmq::POLLIN, 0);
                }
            }
        }
        let event = conn.with(|s| {
            s.events
                .iter()
                .find_map(|e| match &e.kind {
                    PeerEventKind::Subscription { form, topic, .. } => {
                        Some((form.clone(), topic.clone()))
                    }
                    _ => None,
                })
                .unwrap()
        });
        assert_eq!(event, (form.to_string(), hex::encode("AB")));
        // Publish one message; the SUB receives it.
        conn.send_message(&[b"ABC".to_vec()], T).await.unwrap();
        sub.set_rcvtimeo(5000).unwrap();
        let got = tokio::task::block_in_place(|| sub.recv_bytes(0)).unwrap();
        assert_eq!(got, b"ABC");
    }
}

#[tokio::test]
async fn mechanism_mismatch_is_closed_by_libzmq() {
    let ctx = zmq::Context::new();
    let (_pull, addr) = libzmq_bind(&ctx, zmq::PULL);
    let settings = PeerSettings {
        mechanism: "PLAIN".into(),
        ..PeerSettings::of_type("PUSH")
    };
    let peer = PeerConn::connect("push", addr, settings, Clock::start(), T)
        .await
        .unwrap();
    let _ = peer.send_greeting(GreetingMode::Whole, T).await;
    peer.wait_until("close", T, |s| s.closed.is_some())
        .await
        .unwrap();
    let how = peer.with(|s| s.closed.clone()).unwrap().1;
    assert!(matches!(how, CloseKind::Eof | CloseKind::Reset), "{how:?}");
}
