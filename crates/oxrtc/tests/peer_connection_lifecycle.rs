//! RTCPeerConnection lifecycle on real loopback sockets: 1,000 connections
//! opened, used and closed (or dropped) release every task and socket; two
//! connections relay-only through coturn.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::env;
use oxrtc::ice::TransportPolicy;
use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCDataChannel, RTCIceServer, RTCPeerConnection,
    RTCPeerConnectionEvent, RTCSessionDescription,
};

fn config() -> RTCConfiguration {
    RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() }
}

/// The local description once gathering is complete (non-trickle).
async fn gathered(pc: &RTCPeerConnection, desc: Option<RTCSessionDescription>) -> RTCSessionDescription {
    pc.set_local_description(desc).await.unwrap();
    let wait =
        async { while !matches!(pc.next_event().await, Some(RTCPeerConnectionEvent::IceCandidate(None)) | None) {} };
    tokio::time::timeout(Duration::from_secs(20), wait).await.expect("gathering completes");
    pc.local_description().unwrap()
}

async fn until(ch: &RTCDataChannel, want: impl Fn(&DataChannelEvent) -> bool) -> DataChannelEvent {
    let wait = async {
        loop {
            let e = ch.next_event().await.expect("channel ended");
            if want(&e) {
                return e;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait).await.expect("channel event in time")
}

/// Connects `a` to `b` with a channel and one message each way.
async fn connect(a: &RTCPeerConnection, b: &RTCPeerConnection) {
    let ch = a.create_data_channel("x", None).await.unwrap();
    let offer = gathered(a, None).await;
    b.set_remote_description(offer).await.unwrap();
    let answer = gathered(b, None).await;
    a.set_remote_description(answer).await.unwrap();
    let theirs = loop {
        match tokio::time::timeout(Duration::from_secs(20), b.next_event()).await.expect("datachannel in time") {
            Some(RTCPeerConnectionEvent::DataChannel(ch)) => break ch,
            Some(_) => {}
            None => panic!("b closed"),
        }
    };
    until(&ch, |e| *e == DataChannelEvent::Open).await;
    ch.send_text("ping").await.unwrap();
    until(&theirs, |e| matches!(e, DataChannelEvent::Message { .. })).await;
    theirs.send_text("pong").await.unwrap();
    until(&ch, |e| matches!(e, DataChannelEvent::Message { .. })).await;
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_release_every_task_and_socket() {
    let metrics = tokio::runtime::Handle::current().metrics();
    // Warm up lazily created runtime resources before taking the baseline.
    {
        let (a, b) = (RTCPeerConnection::new(config()).await.unwrap(), RTCPeerConnection::new(config()).await.unwrap());
        connect(&a, &b).await;
        a.close().await;
        b.close().await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (tasks_before, fds_before) = (metrics.num_alive_tasks(), open_fds());

    // 500 pairs, 20 at a time; half closed with close(), half just dropped.
    for batch in 0..25 {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..20 {
            set.spawn(async move {
                let a = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
                let b = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
                connect(&a, &b).await;
                if (batch + i) % 2 == 0 {
                    a.close().await;
                    b.close().await;
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    }
    // Dropped connections close in the background (close_notify, then at
    // most a second for the last datagrams).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline
        && (metrics.num_alive_tasks() > tasks_before || open_fds() > fds_before)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Other tests of this binary run in parallel: nothing may be left above
    // the baseline (they can only lower it as they finish).
    assert!(
        metrics.num_alive_tasks() <= tasks_before,
        "tasks left behind: {} > {tasks_before}",
        metrics.num_alive_tasks()
    );
    assert!(open_fds() <= fds_before, "sockets left open: {} > {fds_before}", open_fds());
}

#[tokio::test]
#[ignore = "needs coturn: run scripts/test.sh"]
async fn relay_only_connections_through_coturn() {
    let relay_config = || RTCConfiguration {
        ice_servers: vec![RTCIceServer {
            urls: vec![format!("turn:{}", env("OXRTC_TURN_UDP"))],
            username: env("OXRTC_TURN_USER"),
            credential: env("OXRTC_TURN_PASS"),
        }],
        ice_transport_policy: TransportPolicy::Relay,
        ..config()
    };
    let a = RTCPeerConnection::new(relay_config()).await.unwrap();
    let b = RTCPeerConnection::new(relay_config()).await.unwrap();
    connect(&a, &b).await;
    for pc in [&a, &b] {
        let report = pc.get_stats().await;
        let local = report.candidates().find(|(k, _)| *k == "local-candidate").expect("a local candidate").1;
        let remote = report.candidates().find(|(k, _)| *k == "remote-candidate").expect("a remote candidate").1;
        assert_eq!((local.candidate_type, remote.candidate_type), ("relay", "relay"), "{report:?}");
    }
    let offer = a.current_local_description().unwrap().sdp;
    assert!(!offer.contains("typ host"), "relay policy: no host candidates in\n{offer}");
    a.close().await;
    b.close().await;
}
