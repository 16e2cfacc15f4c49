//! Interop with aiortc's standalone RTCSctpTransport (over its
//! RTCIceTransport and RTCDtlsTransport) in both DTLS roles: data channels
//! opened by each side, reliable and unreliable, text and binary, both
//! directions. Run by scripts/test.sh, which sets OXRTC_PYTHON.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use common::ortc::{connect, AiortcPeer};
use oxrtc::datachannel::{ChannelEvent, ChannelInit, DataChannelEvent, Reliability};
use oxrtc::{sctp, DtlsTransportEvent, SctpTransport, SctpTransportEvent};
use serde_json::json;

async fn next(t: &mut SctpTransport, what: &str) -> SctpTransportEvent {
    match tokio::time::timeout(Duration::from_secs(15), t.next_event()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("transport closed while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

async fn run(aiortc_controlling: bool) {
    let args: Vec<String> =
        ["--ice-role", if aiortc_controlling { "controlling" } else { "controlled" }, "--sctp", "--timeout", "40"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let mut peer = AiortcPeer::start(&args);
    let (dtls, _) = connect(&mut peer, aiortc_controlling).await;
    // aiortc advertises 65536 bytes; we accept 1 MiB.
    let config =
        sctp::SctpConfig { remote_max_message_size: 65536, max_message_size: 1 << 20, ..sctp::SctpConfig::default() };
    let mut t = SctpTransport::start(dtls, config).await.unwrap();
    let ours = t
        .create_data_channel(ChannelInit { protocol: "proto-x".into(), ..ChannelInit::new("from-oxrtc") })
        .await
        .unwrap();
    let lossy = t
        .create_data_channel(ChannelInit {
            ordered: false,
            reliability: Reliability::MaxRetransmits(0),
            ..ChannelInit::new("lossy-oxrtc")
        })
        .await
        .unwrap();
    // Our parity: the DTLS client (aiortc controlling => us) uses even ids.
    assert_eq!(ours % 2, if aiortc_controlling { 0 } else { 1 });

    let mut labels = std::collections::HashMap::new();
    let mut open = HashSet::new();
    let mut from_aiortc = Vec::new();
    let big: Vec<u8> = (0..60_000u32).map(|i| (i % 241) as u8).collect();
    let mut sent = false;
    let mut echoes = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(from_aiortc.len() == 4 && echoes.len() == 5) {
        assert!(tokio::time::Instant::now() < deadline, "exchange incomplete: {from_aiortc:?} {echoes:?}");
        match next(&mut t, "channel events").await {
            SctpTransportEvent::Channel(DataChannelEvent::Incoming(info)) => {
                labels.insert(info.id.expect("an incoming channel has its stream id"), info.label.clone());
                if info.label == "lossy-aiortc" {
                    assert!(!info.ordered);
                    assert_eq!(info.reliability, Reliability::MaxRetransmits(0));
                }
            }
            SctpTransportEvent::Channel(DataChannelEvent::Channel(id, ChannelEvent::Open)) => {
                open.insert(id);
            }
            SctpTransportEvent::Channel(DataChannelEvent::Channel(id, ChannelEvent::Message { data, binary })) => {
                let label = labels.get(&id).cloned().unwrap_or_default();
                if label.ends_with("aiortc") {
                    if data.starts_with(b"echo:") || from_aiortc.iter().any(|(l, d, _)| *l == label && *d == data) {
                        continue; // aiortc echoing our echo
                    }
                    from_aiortc.push((label.clone(), data.clone(), binary));
                    // Echo back on aiortc's channel.
                    t.send(id, data, binary).await.unwrap();
                } else {
                    echoes.push((id, data, binary));
                }
            }
            SctpTransportEvent::Dtls(DtlsTransportEvent::Failed(e)) => panic!("DTLS failed: {e}"),
            _ => {}
        }
        if !sent && open.contains(&ours) && open.contains(&lossy) {
            sent = true;
            t.send(ours, Bytes::from_static(b"text from oxrtc"), false).await.unwrap();
            t.send(ours, Bytes::from_static(&[9, 8, 7]), true).await.unwrap();
            t.send(ours, Bytes::from(big.clone()), true).await.unwrap();
            t.send(lossy, Bytes::from_static(b"lossy text"), false).await.unwrap();
            t.send(lossy, Bytes::from_static(&[1, 2, 3]), true).await.unwrap();
            // Over aiortc's max-message-size: refused here, never cut.
            assert!(t.send(ours, Bytes::from(vec![0u8; 65537]), true).await.is_err());
        }
    }
    // aiortc's greetings on both of its channels.
    for label in ["from-aiortc", "lossy-aiortc"] {
        assert!(from_aiortc.contains(&(label.to_string(), Bytes::from(format!("hello {label}")), false)));
        assert!(from_aiortc.contains(&(label.to_string(), Bytes::from_static(&[0, 1, 2, 0xff]), true)));
    }
    // Our messages came back: text with the echo: prefix, binary as sent
    // (loopback loses nothing, so even the unreliable channel delivers).
    let want = [
        (ours, Bytes::from_static(b"echo:text from oxrtc"), false),
        (ours, Bytes::from_static(&[9, 8, 7]), true),
        (ours, Bytes::from(big), true),
        (lossy, Bytes::from_static(b"echo:lossy text"), false),
        (lossy, Bytes::from_static(&[1, 2, 3]), true),
    ];
    for w in want {
        assert!(echoes.contains(&w), "missing echo on {}", w.0);
    }
    // aiortc saw our channels with their parameters.
    let mut seen = HashSet::new();
    while seen.len() < 2 {
        let l = peer.line().await;
        if l["type"] == "channel" {
            if l["label"] == "from-oxrtc" {
                assert_eq!(l["protocol"], "proto-x");
                assert_eq!(l["ordered"], true);
            } else {
                assert_eq!(l["label"], "lossy-oxrtc");
                assert_eq!(l["ordered"], false);
                assert_eq!(l["max_retransmits"], 0);
            }
            seen.insert(l["label"].as_str().unwrap().to_string());
        }
    }
    peer.send(&json!({"type": "close"})).await;
    t.close().await;
    peer.exits_cleanly().await;
}

#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn sctp_with_aiortc_we_are_dtls_client() {
    run(true).await;
}

#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn sctp_with_aiortc_we_are_dtls_server() {
    run(false).await;
}
