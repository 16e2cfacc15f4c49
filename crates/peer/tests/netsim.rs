//! Two peer connections over the simulated network: connecting, data under
//! loss and latency, a vanished peer, ICE restart, close.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Sim, SEC};
use datachannel::ChannelEvent;
use netsim::LinkConfig;
use peer::{PeerConnectionState, PeerEvent};

#[test]
fn smoke_connect_and_exchange() {
    let mut s = Sim::perfect(1);
    assert_eq!(s.pc[0].connection_state(), PeerConnectionState::New);
    let (a, b) = s.connect_with_channel("chat");
    assert!(s.connected());
    for i in 0..2 {
        assert_eq!(s.connection_states(i), vec![PeerConnectionState::Connecting, PeerConnectionState::Connected]);
        assert!(s.pc[i].remote_certificate().is_some());
        let gathering: Vec<ice::GatheringState> = s.events[i]
            .iter()
            .filter_map(|e| match e {
                PeerEvent::IceGatheringStateChange(g) => Some(*g),
                _ => None,
            })
            .collect();
        assert_eq!(gathering, vec![ice::GatheringState::Gathering, ice::GatheringState::Complete], "node {i}");
        assert_eq!(s.count(i, &PeerEvent::IceCandidate(None)), 1);
        let first_candidate = s.events[i].iter().position(|e| matches!(e, PeerEvent::IceCandidate(Some(_))));
        let gathering_at =
            s.events[i].iter().position(|e| *e == PeerEvent::IceGatheringStateChange(ice::GatheringState::Gathering));
        assert!(gathering_at < first_candidate, "node {i}: candidate before gathering");
    }
    assert_eq!(s.pc[0].remote_certificate(), Some(s.pc[1].certificate().der()));
    s.send(0, a, b"hello");
    s.send(1, b, b"world");
    assert!(s.run(10 * SEC, |s| !s.messages(1, b).is_empty() && !s.messages(0, a).is_empty()));
    assert_eq!(s.messages(1, b), vec![Bytes::from_static(b"hello")]);
    assert_eq!(s.messages(0, a), vec![Bytes::from_static(b"world")]);
}

fn lossy_link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(50), loss: 0.05, ..LinkConfig::default() }
}

#[test]
fn thousand_reliable_messages_exactly_once_in_order_under_loss() {
    let mut s = Sim::new(21, lossy_link());
    let (a, b) = s.connect_with_channel("bulk");
    assert!(s.connected());
    let mut sent = 0u32;
    for _ in 0..10_000 {
        if sent == 1000 {
            break;
        }
        // Send as the buffer allows, then let time pass.
        while sent < 1000 {
            let now = s.now();
            match s.pc[0].send(now, a, Bytes::from(format!("message {sent:04}")), false) {
                Ok(()) => sent += 1,
                Err(e) => panic!("send {sent}: {e}"),
            }
            if sent.is_multiple_of(50) {
                break;
            }
        }
        s.flush(0);
        s.settle(Duration::from_millis(20));
    }
    assert!(s.run(300 * SEC, |s| s.messages(1, b).len() >= 1000), "only {} arrived", s.messages(1, b).len());
    s.settle(2 * SEC);
    let got = s.messages(1, b);
    let want: Vec<Bytes> = (0..1000).map(|n| Bytes::from(format!("message {n:04}"))).collect();
    assert_eq!(got.len(), 1000, "duplicates");
    assert!(got == want, "out of order or corrupted");
    assert!(s.net.stats().lost > 0, "the loss did not bite");
    assert!(s.connected());
}

#[test]
fn a_vanished_peer_goes_disconnected_then_failed() {
    let mut s = Sim::perfect(22);
    let (_a, _b) = s.connect_with_channel("x");
    s.events = [Vec::new(), Vec::new()];
    s.signal_candidates = false;
    s.net.set_host_down(s.addr[1].ip(), true);
    assert!(
        s.run(120 * SEC, |s| s.pc[0].connection_state() == PeerConnectionState::Failed),
        "{:?}",
        s.connection_states(0)
    );
    assert_eq!(s.connection_states(0), vec![PeerConnectionState::Disconnected, PeerConnectionState::Failed]);
}

/// A goodbye is acted on at once: when one side closes (SCTP ABORT, then DTLS
/// close_notify), the other sees its SCTP and DTLS transports closed and its channels
/// closed within a second, while its connection state stays `connected` as W3C says
/// (only ICE consent may fail it later); a server releases the connection on these events.
#[test]
fn a_peer_goodbye_closes_the_transports_within_a_second() {
    let mut s = Sim::perfect(24);
    let (_, b) = s.connect_with_channel("one");
    assert!(s.events[1].contains(&PeerEvent::DtlsStateChange(peer::DtlsTransportState::Connected)));
    assert!(s.events[1].contains(&PeerEvent::SctpStateChange(peer::SctpTransportState::Connected)));
    s.events = [Vec::new(), Vec::new()];
    let now = s.now();
    s.pc[0].close(now);
    s.flush_all();
    assert!(s.run(SEC, |s| {
        s.events[1].contains(&PeerEvent::SctpStateChange(peer::SctpTransportState::Closed))
            && s.events[1].contains(&PeerEvent::DtlsStateChange(peer::DtlsTransportState::Closed))
            && s.events[1].contains(&PeerEvent::Channel(b, ChannelEvent::Closed))
    }));
    assert_eq!(s.pc[1].connection_state(), PeerConnectionState::Connected);
    assert_eq!(s.count(1, &PeerEvent::SctpStateChange(peer::SctpTransportState::Closed)), 1);
}

#[test]
fn close_closes_channels_on_both_sides() {
    let mut s = Sim::perfect(23);
    let (a, b) = s.connect_with_channel("one");
    let now = s.now();
    let a2 = s.pc[0].create_data_channel(now, datachannel::ChannelInit::new("two")).unwrap();
    assert!(s.run(10 * SEC, |s| s.opened(0, a2) && s.incoming(1, "two").is_some()));
    let b2 = s.incoming(1, "two").unwrap();
    s.events = [Vec::new(), Vec::new()];
    let now = s.now();
    s.pc[0].close(now);
    s.flush_all();
    assert_eq!(s.pc[0].connection_state(), PeerConnectionState::Closed);
    assert_eq!(s.pc[0].signaling_state(), peer::SignalingState::Closed);
    assert!(
        s.events[0].contains(&PeerEvent::Channel(a, ChannelEvent::Closed))
            && s.events[0].contains(&PeerEvent::Channel(a2, ChannelEvent::Closed))
    );
    assert_eq!(s.pc[0].channel_state(a), None);
    // Calls after close fail cleanly.
    assert!(matches!(s.pc[0].set_local_description(now, None), Err(peer::PeerError::Closed)));
    assert!(s.pc[0].send(now, a, Bytes::from_static(b"x"), false).is_err());
    // The peer learns it (SCTP ABORT inside DTLS, then close_notify).
    assert!(s.run(10 * SEC, |s| s.events[1].contains(&PeerEvent::Channel(b, ChannelEvent::Closed))
        && s.events[1].contains(&PeerEvent::Channel(b2, ChannelEvent::Closed))));
    assert_eq!(s.count(1, &PeerEvent::Channel(b, ChannelEvent::Closed)), 1);
    // The closed side goes quiet: nothing more to send, its timer is gone or
    // wakes it for nothing.
    let now = s.now();
    let mut wakes = 0;
    while let Some(t) = s.pc[0].poll_timeout() {
        wakes += 1;
        assert!(wakes < 100, "closed connection keeps asking to be woken up");
        let t = t.max(now);
        s.pc[0].handle_timeout(t);
        assert!(s.pc[0].poll_transmit(t).is_none(), "closed connection still transmits");
        assert!(s.pc[0].poll_event().is_none());
        if s.pc[0].poll_timeout() == Some(t) {
            break;
        }
    }
    assert_ne!(
        s.pc[1].connection_state(),
        PeerConnectionState::Connecting,
        "the remote close must not look like connecting"
    );
    // Later, ICE consent tells the peer that nobody is there any more.
    assert!(
        s.run(120 * SEC, |s| s.pc[1].connection_state() == PeerConnectionState::Failed),
        "{:?}",
        s.connection_states(1)
    );
    assert!(!s.connection_states(1).contains(&PeerConnectionState::Connecting));
}

#[test]
fn closing_one_channel_and_opening_another() {
    let mut s = Sim::perfect(24);
    let (a, b) = s.connect_with_channel("first");
    // The offerer is the DTLS server (browsers answer active): odd ids.
    let first_id = s.pc[0].channel_info(a).unwrap().id;
    assert_eq!(first_id, Some(1));
    s.events = [Vec::new(), Vec::new()];
    let now = s.now();
    s.pc[0].close_channel(now, a);
    assert!(s.run(10 * SEC, |s| s.events[0].contains(&PeerEvent::Channel(a, ChannelEvent::Closed))
        && s.events[1].contains(&PeerEvent::Channel(b, ChannelEvent::Closed))));
    for (i, h) in [(0, a), (1, b)] {
        let closing =
            s.events[i].iter().position(|e| *e == PeerEvent::Channel(h, ChannelEvent::Closing)).expect("closing");
        let closed = s.events[i].iter().position(|e| *e == PeerEvent::Channel(h, ChannelEvent::Closed)).unwrap();
        assert!(closing < closed);
        assert_eq!(s.pc[i].channel_state(h), None);
    }
    // A new channel (the SCTP id is reused) gets a new handle and works.
    let now = s.now();
    let a2 = s.pc[0].create_data_channel(now, datachannel::ChannelInit::new("second")).unwrap();
    assert_ne!(a2, a);
    assert!(s.run(10 * SEC, |s| s.opened(0, a2) && s.incoming(1, "second").is_some()));
    let b2 = s.incoming(1, "second").unwrap();
    assert_ne!(b2, b);
    assert_eq!(s.pc[0].channel_info(a2).unwrap().id, first_id, "the id was reused");
    s.send(0, a2, b"again");
    assert!(s.run(5 * SEC, |s| s.messages(1, b2) == vec![Bytes::from_static(b"again")]));
    assert!(s.messages(1, b).is_empty());
    assert!(s.connected());
}

/// A burst larger than the DTLS queue kept before ICE has a pair must not
/// lose packets once the pair exists: on a perfect link SCTP never has to
/// retransmit.
#[test]
fn bursts_on_a_perfect_link_need_no_retransmission() {
    let mut s = Sim::perfect(25);
    let (a, b) = s.connect_with_channel("bulk");
    s.settle(SEC);
    let now = s.now();
    for n in 0..30u8 {
        s.pc[0].send(now, a, Bytes::from(vec![n; 60_000]), true).unwrap();
    }
    s.flush(0);
    assert!(s.run(60 * SEC, |s| s.messages(1, b).len() == 30), "only {}", s.messages(1, b).len());
    for (n, m) in s.messages(1, b).iter().enumerate() {
        assert_eq!(m.len(), 60_000);
        assert!(m.iter().all(|&x| x == n as u8));
    }
    // Again, now that the congestion window is wide open: one send releases
    // far more than 32 packets at once.
    let cwnd = s.pc[0].stats(s.now()).sctp.expect("an association").cwnd;
    assert!(cwnd > 40 * 1200, "cwnd {cwnd}");
    s.settle(Duration::from_millis(50));
    let now = s.now();
    s.pc[0].send(now, a, Bytes::from(vec![0xaa; 60_000]), true).unwrap();
    s.flush(0);
    assert!(s.run(60 * SEC, |s| s.messages(1, b).len() == 31));
    let stats = s.pc[0].stats(s.now()).sctp.expect("an association");
    assert_eq!(s.net.stats().lost, 0);
    assert_eq!(stats.retransmissions, 0, "packets were dropped inside the peer connection: {stats:?}");
}

#[test]
fn a_wrong_fingerprint_fails_the_connection() {
    let mut s = Sim::perfect(26);
    let now = s.now();
    s.pc[0].create_data_channel(now, datachannel::ChannelInit::new("x")).unwrap();
    let offer = s.pc[0].set_local_description(now, None).unwrap();
    // Another certificate's fingerprint in place of node 0's.
    let other = dtls::Certificate::generate().unwrap().fingerprint(dtls::Algorithm::Sha256);
    let line = common::lines(&offer.sdp, "a=fingerprint:sha-256 ")[0].to_string();
    let forged = offer.sdp.replace(&line, &format!("a=fingerprint:sha-256 {other}"));
    s.pc[1].set_remote_description(now, peer::SessionDescription::offer(forged)).unwrap();
    let answer = s.pc[1].set_local_description(now, None).unwrap();
    s.pc[0].set_remote_description(now, answer).unwrap();
    assert!(
        s.run(60 * SEC, |s| s.pc[1].connection_state() == PeerConnectionState::Failed),
        "{:?}",
        s.connection_states(1)
    );
    assert!(!s.connection_states(1).contains(&PeerConnectionState::Connected));
    assert!(s.events[1].iter().any(|e| matches!(e, PeerEvent::Warning(peer::PeerWarning::DtlsFailed(_)))));
}
