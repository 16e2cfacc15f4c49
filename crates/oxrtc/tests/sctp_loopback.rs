//! The ORTC stack on its own, oxrtc with oxrtc on loopback sockets:
//! IceTransport, DtlsTransport and SctpTransport, with a reader that falls
//! behind. Its messages wait inside SCTP's receive window (pull-style
//! delivery), so nothing is dropped however far behind it is.

use std::time::Duration;

mod common;

use bytes::Bytes;
use oxrtc::datachannel::{ChannelEvent, ChannelInit, DataChannelEvent};
use oxrtc::ice::IceEvent;
use oxrtc::{SctpTransport, SctpTransportEvent};

async fn pair() -> [SctpTransport; 2] {
    let [a, b] = common::loopback_dtls_pair(None, |_| {}).await;
    let sctp = oxrtc::sctp::SctpConfig::default;
    [SctpTransport::start(a, sctp()).await.unwrap(), SctpTransport::start(b, sctp()).await.unwrap()]
}

/// Runs both until `done` says stop, trickling candidates; other events go to `seen`.
async fn run(t: &mut [SctpTransport; 2], mut done: impl FnMut(usize, SctpTransportEvent) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let [a, b] = t;
        let (side, e) = tokio::select! {
            e = a.next_event() => (0, e.expect("A closed")),
            e = b.next_event() => (1, e.expect("B closed")),
            _ = tokio::time::sleep_until(deadline) => panic!("scenario did not finish in 20 s"),
        };
        let peer = t[1 - side].dtls().ice();
        match e {
            SctpTransportEvent::Ice(IceEvent::LocalCandidate(c)) => peer.add_remote_candidate(c).await,
            SctpTransportEvent::Ice(IceEvent::GatheringComplete) => peer.end_of_remote_candidates().await,
            SctpTransportEvent::Ice(_) => {}
            e => {
                if done(side, e) {
                    return;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_falls_behind_loses_nothing() {
    let mut t = pair().await;
    let mut connected = [false; 2];
    run(&mut t, |side, e| {
        if let SctpTransportEvent::Channel(DataChannelEvent::Connected) = e {
            connected[side] = true;
        }
        connected == [true, true]
    })
    .await;
    let id = t[0].create_data_channel(ChannelInit::new("flood")).await.unwrap();
    // 6,000 messages of 1 KiB: six times the ICE transport's packet queue,
    // which used to drop what did not fit.
    const N: u32 = 6000;
    let [a, mut b] = t;
    let sender = tokio::spawn(async move {
        for seq in 0..N {
            let mut msg = seq.to_be_bytes().to_vec();
            msg.resize(1024, 3);
            let msg = Bytes::from(msg);
            loop {
                match a.send(id, msg.clone(), true).await {
                    Ok(()) => break,
                    Err(e) if e.to_string().contains("buffer") => tokio::time::sleep(Duration::from_millis(5)).await,
                    Err(e) => panic!("send: {e}"),
                }
            }
        }
        a
    });
    // Fall behind: read nothing for two seconds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut next = 0u32;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while next < N {
        let e = tokio::time::timeout_at(deadline, b.next_event()).await.expect("all messages in 30 s");
        if let SctpTransportEvent::Channel(DataChannelEvent::Channel(_, ChannelEvent::Message { data, .. })) =
            e.expect("B closed")
        {
            assert_eq!(u32::from_be_bytes(data[..4].try_into().unwrap()), next, "in order, none lost");
            assert_eq!(data.len(), 1024);
            next += 1;
        }
    }
    let a = sender.await.unwrap();
    a.close().await;
    b.close().await;
}
