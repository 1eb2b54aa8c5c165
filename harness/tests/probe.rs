//! Probe mode against a live libzmq endpoint, with no driver.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use zmtp_harness::registry::Registry;
use zmtp_harness::verdict::Verdict;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_a_libzmq_router() {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_linger(0).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = router.get_last_endpoint().unwrap().unwrap();
    // The endpoint's application keeps reading, as a real server would.
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    let app = std::thread::spawn(move || {
        while !stopper.load(Ordering::Relaxed) {
            if router.poll(zmq::POLLIN, 20).unwrap_or(0) > 0 {
                let _ = router.recv_multipart(0);
            }
        }
    });
    let registry = Arc::new(Registry::bundled().unwrap());
    let report = zmtp_harness::probe::run(&endpoint, "ROUTER", &[], registry, 1.0, false)
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    app.join().unwrap();
    let verdict = |id: &str| {
        report
            .results
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no case {id}"))
            .verdict
    };
    // Every valid pair completes its handshake; libzmq refuses invalid ones without ERROR.
    for peer in ["REQ", "DEALER", "ROUTER"] {
        assert_eq!(
            verdict(&format!("probe/socket-type/{peer}")),
            Verdict::Pass,
            "{peer}"
        );
    }
    assert_eq!(verdict("probe/socket-type/PUB"), Verdict::Warn);
    assert_eq!(verdict("probe/ping-pong"), Verdict::Pass);
    assert_eq!(verdict("probe/mechanism-mismatch"), Verdict::Pass);
    let bad: Vec<_> = report
        .results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Error))
        .map(|r| format!("{} {}: {:?}", r.verdict, r.id, r.reason))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}
