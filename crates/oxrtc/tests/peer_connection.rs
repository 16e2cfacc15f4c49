//! Two RTCPeerConnections over real loopback sockets: offer/answer with
//! trickle, data channels both ways, large messages, renegotiation, close.

use std::sync::Arc;
use std::time::Duration;

use oxrtc::{
    DataChannelEvent, InterfaceFilter, PeerError, RTCConfiguration, RTCDataChannel, RTCDataChannelInit,
    RTCDataChannelState, RTCPeerConnection, RTCPeerConnectionEvent, RTCPeerConnectionState,
};
use tokio::sync::mpsc;

fn config() -> RTCConfiguration {
    RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() }
}

/// Forwards each side's candidates to the other and reports the rest.
fn pump(me: Arc<RTCPeerConnection>, peer: Arc<RTCPeerConnection>) -> mpsc::UnboundedReceiver<RTCPeerConnectionEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(e) = me.next_event().await {
            match e {
                RTCPeerConnectionEvent::IceCandidate(c) => {
                    // Signaling may deliver a candidate before the
                    // description it belongs to is applied: retry a while.
                    for _ in 0..100 {
                        if peer.add_ice_candidate(c.clone()).await.is_ok() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                e => {
                    if tx.send(e).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f).await.unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// The next event other than bufferedamountlow (which fires whenever the
/// buffer drains to the default threshold of 0).
async fn next_channel_event(ch: &RTCDataChannel) -> DataChannelEvent {
    loop {
        match within("channel event", ch.next_event()).await.expect("channel ended") {
            DataChannelEvent::BufferedAmountLow => continue,
            e => return e,
        }
    }
}

async fn wait_connected(rx: &mut mpsc::UnboundedReceiver<RTCPeerConnectionEvent>) {
    loop {
        match within("connected", rx.recv()).await.expect("events ended") {
            RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Connected) => return,
            RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Failed) => panic!("failed"),
            _ => {}
        }
    }
}

async fn incoming_channel(rx: &mut mpsc::UnboundedReceiver<RTCPeerConnectionEvent>) -> RTCDataChannel {
    loop {
        if let RTCPeerConnectionEvent::DataChannel(ch) = within("datachannel", rx.recv()).await.expect("events ended") {
            return ch;
        }
    }
}

#[tokio::test]
async fn data_channel_echo_large_message_renegotiation_and_close() {
    let a = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let b = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let mut a_events = pump(a.clone(), b.clone());
    let mut b_events = pump(b.clone(), a.clone());

    let chat = a.create_data_channel("chat", None).await.unwrap();
    assert_eq!(chat.ready_state(), RTCDataChannelState::Connecting);
    let offer = a.set_local_description(None).await.unwrap();
    assert!(offer.sdp.contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel"), "{}", offer.sdp);
    b.set_remote_description(offer).await.unwrap();
    let answer = b.set_local_description(None).await.unwrap();
    assert!(answer.sdp.contains("a=setup:active"), "{}", answer.sdp);
    a.set_remote_description(answer).await.unwrap();

    wait_connected(&mut a_events).await;
    wait_connected(&mut b_events).await;
    assert_eq!(next_channel_event(&chat).await, DataChannelEvent::Open);
    let remote_chat = incoming_channel(&mut b_events).await;
    assert_eq!(remote_chat.label(), "chat");
    // The offerer is the DTLS server (the answer said active): odd ids.
    assert_eq!(chat.id(), Some(1));
    assert_eq!(remote_chat.id(), Some(1));

    chat.send_text("ping 1").await.unwrap();
    match next_channel_event(&remote_chat).await {
        DataChannelEvent::Message { data, binary } => {
            assert!(!binary);
            assert_eq!(&data[..], b"ping 1");
        }
        e => panic!("{e:?}"),
    }
    remote_chat.send(vec![]).await.unwrap(); // an empty binary message
    let big: Vec<u8> = (0..256 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    remote_chat.send(big.clone()).await.unwrap();
    assert_eq!(next_channel_event(&chat).await, DataChannelEvent::Message { data: vec![].into(), binary: true });
    match next_channel_event(&chat).await {
        DataChannelEvent::Message { data, binary } => {
            assert!(binary);
            assert!(data[..] == big[..], "256 KiB message intact");
        }
        e => panic!("{e:?}"),
    }
    // Larger than the peer's max-message-size (256 KiB): refused, not cut.
    let err = chat.send(vec![0u8; 256 * 1024 + 1]).await.unwrap_err();
    assert!(err.to_string().contains("max-message-size"), "{err}");

    // A second channel after the first exchange needs no renegotiation.
    let second = b.create_data_channel("second", None).await.unwrap();
    assert_eq!(next_channel_event(&second).await, DataChannelEvent::Open);
    let second_remote = incoming_channel(&mut a_events).await;
    assert_eq!(second_remote.label(), "second");
    assert_eq!(second.id(), Some(0), "the answerer is the DTLS client: even ids");
    second.send_text("hello").await.unwrap();
    assert!(matches!(next_channel_event(&second_remote).await, DataChannelEvent::Message { .. }));

    // Renegotiation with nothing new keeps the connection.
    let offer = b.set_local_description(None).await.unwrap();
    a.set_remote_description(offer).await.unwrap();
    let answer = a.set_local_description(None).await.unwrap();
    b.set_remote_description(answer).await.unwrap();
    chat.send_text("after renegotiation").await.unwrap();
    assert!(matches!(next_channel_event(&remote_chat).await, DataChannelEvent::Message { .. }));

    // getStats: W3C shapes, linked by ids, with what went through.
    let report = a.get_stats().await;
    let t = report.transport().expect("a transport entry");
    assert_eq!(t.dtls_state, "connected");
    assert_eq!(t.ice_role, "controlling");
    let pair = report.selected_candidate_pair().expect("a selected pair");
    assert!(pair.bytes_sent > 0 && pair.bytes_received > 256 * 1024, "{pair:?}");
    assert!(pair.requests_sent >= 1 && pair.responses_received >= 1, "{pair:?}");
    assert!(pair.current_round_trip_time.is_some());
    let kinds: Vec<_> = report.candidates().map(|(k, c)| (k, c.candidate_type, c.address.ip())).collect();
    assert!(kinds.contains(&("local-candidate", "host", "127.0.0.1".parse().unwrap())), "{kinds:?}");
    assert_eq!(report.certificates().count(), 2);
    let chat_stats = report.data_channels().find(|d| d.label == "chat").expect("chat stats");
    assert_eq!((chat_stats.messages_received, chat_stats.bytes_received), (2, 256 * 1024));
    assert_eq!(chat_stats.data_channel_identifier, Some(1));
    assert_eq!(report.peer_connection().unwrap().data_channels_opened, 2);

    // Closing a channel closes both ends.
    chat.close().await;
    assert_eq!(next_channel_event(&chat).await, DataChannelEvent::Closing);
    assert_eq!(next_channel_event(&chat).await, DataChannelEvent::Closed);
    loop {
        if next_channel_event(&remote_chat).await == DataChannelEvent::Closed {
            break;
        }
    }
    assert_eq!(remote_chat.ready_state(), RTCDataChannelState::Closed);

    a.close().await;
    assert_eq!(a.connection_state(), RTCPeerConnectionState::Closed);
    b.close().await;
}

/// Both sides advertise `a=max-message-size:2097152`: a 1 MiB message goes
/// through both ways; 3 MiB is refused, never cut. Also a negotiated
/// channel (same id on both sides, no DCEP) with a priority.
#[tokio::test]
async fn one_mib_messages_with_max_message_size_negotiated_and_a_negotiated_channel() {
    let big_config = || RTCConfiguration { max_message_size: Some(2 * 1024 * 1024), ..config() };
    let a = Arc::new(RTCPeerConnection::new(big_config()).await.unwrap());
    let b = Arc::new(RTCPeerConnection::new(big_config()).await.unwrap());
    let mut a_events = pump(a.clone(), b.clone());
    let mut b_events = pump(b.clone(), a.clone());
    let init = || RTCDataChannelInit {
        negotiated: true,
        id: Some(7),
        priority: oxrtc::RTCPriorityType::High,
        ..Default::default()
    };
    let ours = a.create_data_channel("pre", Some(init())).await.unwrap();
    let theirs = b.create_data_channel("pre", Some(init())).await.unwrap();
    let offer = a.set_local_description(None).await.unwrap();
    assert!(offer.sdp.contains("a=max-message-size:2097152"), "{}", offer.sdp);
    b.set_remote_description(offer).await.unwrap();
    let answer = b.set_local_description(None).await.unwrap();
    a.set_remote_description(answer).await.unwrap();
    wait_connected(&mut a_events).await;
    wait_connected(&mut b_events).await;
    assert_eq!(next_channel_event(&ours).await, DataChannelEvent::Open);
    assert_eq!(next_channel_event(&theirs).await, DataChannelEvent::Open);
    assert_eq!((ours.id(), theirs.id()), (Some(7), Some(7)));
    assert!(ours.negotiated());

    let mib: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 249) as u8).collect();
    ours.send(mib.clone()).await.unwrap();
    theirs.send(mib.clone()).await.unwrap();
    for ch in [&ours, &theirs] {
        match next_channel_event(ch).await {
            DataChannelEvent::Message { data, binary: true } => assert!(data[..] == mib[..], "1 MiB intact"),
            e => panic!("{e:?}"),
        }
    }
    let err = ours.send(vec![0u8; 3 * 1024 * 1024]).await.unwrap_err();
    assert!(err.to_string().contains("max-message-size of 2097152"), "{err}");
    a.close().await;
    b.close().await;
}

/// Sends do not wait for the connection's task; the budget check refuses
/// at once when the (small) buffer is full, and nothing accepted is lost or
/// reordered, even with three channels racing for the same buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_pressure_with_three_channels_loses_and_reorders_nothing() {
    let small = || RTCConfiguration { send_buffer_limit: Some(64 * 1024), ..config() };
    let a = Arc::new(RTCPeerConnection::new(small()).await.unwrap());
    let b = Arc::new(RTCPeerConnection::new(small()).await.unwrap());
    let mut a_events = pump(a.clone(), b.clone());
    let mut b_events = pump(b.clone(), a.clone());
    let mut ours = Vec::new();
    for i in 0..3 {
        ours.push(Arc::new(a.create_data_channel(&format!("c{i}"), None).await.unwrap()));
    }
    let offer = a.set_local_description(None).await.unwrap();
    b.set_remote_description(offer).await.unwrap();
    let answer = b.set_local_description(None).await.unwrap();
    a.set_remote_description(answer).await.unwrap();
    wait_connected(&mut a_events).await;
    let mut theirs = Vec::new();
    for _ in 0..3 {
        theirs.push(incoming_channel(&mut b_events).await);
    }
    const N: u32 = 3000;
    let mut senders = Vec::new();
    for ch in ours.clone() {
        senders.push(tokio::spawn(async move {
            assert_eq!(next_channel_event(&ch).await, DataChannelEvent::Open);
            ch.set_buffered_amount_low_threshold(16 * 1024).await;
            let mut refused = 0u32;
            for seq in 0..N {
                let mut msg = seq.to_be_bytes().to_vec();
                msg.resize(1024, seq as u8);
                loop {
                    match ch.send(msg.clone()).await {
                        Ok(()) => break,
                        Err(e) if e.to_string().contains("buffer full") => {
                            refused += 1;
                            // Wait for room (or a moment, if the event came first).
                            let _ = tokio::time::timeout(Duration::from_millis(20), ch.next_event()).await;
                        }
                        Err(e) => panic!("send failed: {e}"),
                    }
                }
            }
            refused
        }));
    }
    // Read while sending: an unread channel stops its connection's reads.
    let mut readers = Vec::new();
    for ch in theirs {
        readers.push(tokio::spawn(async move {
            for seq in 0..N {
                match next_channel_event(&ch).await {
                    DataChannelEvent::Message { data, .. } => {
                        assert_eq!(data.len(), 1024);
                        assert_eq!(u32::from_be_bytes(data[..4].try_into().unwrap()), seq, "in order, none lost");
                    }
                    e => panic!("{e:?}"),
                }
            }
        }));
    }
    let mut refused = 0;
    for s in senders {
        refused += tokio::time::timeout(Duration::from_secs(60), s).await.expect("sends in time").unwrap();
    }
    for r in readers {
        tokio::time::timeout(Duration::from_secs(60), r).await.expect("reads in time").unwrap();
    }
    assert!(refused > 0, "a 64 KiB buffer must push back on 9 MB of sends");
    a.close().await;
    b.close().await;
}

/// A slow reader stops only its own channel: while one channel's reader
/// sleeps 30 s, another carries 50 MB at full speed, the connection stays
/// connected, and what waits for the sleeper stays within SCTP's receive
/// window (pull-style delivery); then the sleeper gets everything, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_reader_stalls_only_its_own_channel() {
    let a = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let b = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let mut a_events = pump(a.clone(), b.clone());
    let mut b_events = pump(b.clone(), a.clone());
    let slow = a.create_data_channel("slow", None).await.unwrap();
    let fast = a.create_data_channel("fast", None).await.unwrap();
    let offer = a.set_local_description(None).await.unwrap();
    b.set_remote_description(offer).await.unwrap();
    let answer = b.set_local_description(None).await.unwrap();
    a.set_remote_description(answer).await.unwrap();
    wait_connected(&mut a_events).await;
    let mut theirs = std::collections::HashMap::new();
    for _ in 0..2 {
        let ch = incoming_channel(&mut b_events).await;
        theirs.insert(ch.label().to_string(), ch);
    }
    assert_eq!(next_channel_event(&slow).await, DataChannelEvent::Open);
    assert_eq!(next_channel_event(&fast).await, DataChannelEvent::Open);
    // 2,048 messages of 256 bytes for the sleeper: more than a per-channel
    // queue of a push design holds (1,024 before), 60% of the window with
    // the per-message charge.
    const SLOW_N: u32 = 2048;
    for seq in 0..SLOW_N {
        let mut msg = seq.to_be_bytes().to_vec();
        msg.resize(256, 7);
        slow.send(msg).await.unwrap();
    }
    let sleeper = theirs.remove("slow").unwrap();
    let started = tokio::time::Instant::now();
    let reader = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        for seq in 0..SLOW_N {
            match next_channel_event(&sleeper).await {
                DataChannelEvent::Message { data, .. } => {
                    assert_eq!(u32::from_be_bytes(data[..4].try_into().unwrap()), seq, "in order, none lost");
                }
                e => panic!("{e:?}"),
            }
        }
    });
    // 50 MB on the other channel, read as it comes.
    const FAST_BYTES: usize = 50 * 1024 * 1024;
    let fast_rx = theirs.remove("fast").unwrap();
    let receiver = tokio::spawn(async move {
        let mut got = 0;
        while got < FAST_BYTES {
            match next_channel_event(&fast_rx).await {
                DataChannelEvent::Message { data, .. } => got += data.len(),
                e => panic!("{e:?}"),
            }
        }
        got
    });
    let chunk = vec![0x5a; 64 * 1024];
    let mut sent = 0;
    while sent < FAST_BYTES {
        match fast.send(chunk.clone()).await {
            Ok(()) => sent += chunk.len(),
            Err(PeerError::SendBufferFull) => tokio::time::sleep(Duration::from_millis(2)).await,
            Err(e) => panic!("send failed: {e}"),
        }
    }
    let got = tokio::time::timeout(Duration::from_secs(25), receiver).await.expect("50 MB while the reader sleeps");
    assert_eq!(got.unwrap(), FAST_BYTES);
    assert!(started.elapsed() < Duration::from_secs(30), "the fast channel waited for the sleeper");
    // Meanwhile the sleeper's messages wait inside the receive window.
    let report = b.get_stats().await;
    let sctp = report.sctp_transport().expect("an association");
    assert!(sctp.association.receive_unconsumed >= SLOW_N as usize * 256, "{:?}", sctp.association);
    // The bound: the 1 MiB window (admission counts payload), the slack of
    // 4 MTUs kept for the next in-order chunk, and the 64 B charged per
    // message held (the sleeper's, plus at most 32 of the fast channel's).
    let bound = 1024 * 1024 + 4 * 1200 + 64 * (SLOW_N as usize + 32);
    assert!(sctp.association.receive_unconsumed <= bound, "{:?}", sctp.association);
    assert_eq!(a.connection_state(), RTCPeerConnectionState::Connected);
    assert_eq!(b.connection_state(), RTCPeerConnectionState::Connected);
    tokio::time::timeout(Duration::from_secs(40), reader).await.expect("the sleeper reads everything").unwrap();
    assert_eq!(b.connection_state(), RTCPeerConnectionState::Connected);
    a.close().await;
    b.close().await;
}
