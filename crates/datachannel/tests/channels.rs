//! Data channel scenarios on a perfect simulated link: opening in band and
//! negotiated, message kinds, closing and id reuse, buffering and
//! back-pressure, and hostile input.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Pair, Simulation};
use datachannel::{
    ppid, ChannelEvent, ChannelInit, ChannelLimits, DataChannelError, DataChannelEvent, ReadyState, Reliability,
};
use sctp::{SctpConfig, SendError};

const SEC: Duration = Duration::from_secs(1);

fn open_in_band(p: &mut Pair, from: usize, init: ChannelInit) -> u16 {
    let now = p.now();
    let id = p.dc[from].create(now, init).unwrap();
    assert!(p.run_until(5 * SEC, |p| p.incoming(1 - from, id).is_some()), "channel {id} never reached the peer");
    id
}

#[test]
fn in_band_open_both_directions_with_id_parity() {
    let mut p = Pair::connected(1);
    let a = open_in_band(&mut p, 0, ChannelInit::new("from-client"));
    let b = open_in_band(&mut p, 1, ChannelInit::new("from-server"));
    let a2 = open_in_band(&mut p, 0, ChannelInit::new("second"));
    let b2 = open_in_band(&mut p, 1, ChannelInit::new("second"));
    // DTLS client even ids, server odd, lowest free first.
    assert_eq!((a, a2), (0, 2));
    assert_eq!((b, b2), (1, 3));
    assert!(p.has(0, &DataChannelEvent::Channel(a, ChannelEvent::Open)));
    assert!(p.has(1, &DataChannelEvent::Channel(b, ChannelEvent::Open)));
    assert_eq!(p.incoming(1, a).unwrap().label, "from-client");
    assert_eq!(p.incoming(0, b).unwrap().label, "from-server");
    for (i, id) in [(0, a), (1, a), (0, b), (1, b)] {
        assert_eq!(p.dc[i].ready_state(id), Some(ReadyState::Open), "node {i} channel {id}");
    }
    // Both directions carry messages on both channels.
    p.send(0, a, b"c->s on a", false);
    p.send(1, a, b"s->c on a", false);
    p.send(0, b, b"c->s on b", true);
    p.send(1, b, b"s->c on b", true);
    p.settle(SEC);
    assert_eq!(p.messages(1, a), vec![(Bytes::from_static(b"c->s on a"), false)]);
    assert_eq!(p.messages(0, a), vec![(Bytes::from_static(b"s->c on a"), false)]);
    assert_eq!(p.messages(1, b), vec![(Bytes::from_static(b"c->s on b"), true)]);
    assert_eq!(p.messages(0, b), vec![(Bytes::from_static(b"s->c on b"), true)]);
    assert_eq!(p.dc[0].stats(), &Default::default());
    assert_eq!(p.dc[1].stats(), &Default::default());
}

#[test]
fn dcep_carries_every_channel_parameter() {
    let mut p = Pair::connected(2);
    let cases = [
        (true, Reliability::Reliable, 256u16),
        (false, Reliability::Reliable, 128),
        (true, Reliability::MaxRetransmits(0), 512),
        (false, Reliability::MaxRetransmits(5), 1024),
        (true, Reliability::MaxLifetime(Duration::from_millis(150)), 256),
        (false, Reliability::MaxLifetime(Duration::from_millis(3000)), 300),
    ];
    for (n, (ordered, reliability, priority)) in cases.into_iter().enumerate() {
        let init = ChannelInit {
            label: format!("läbel {n}"),
            protocol: format!("proto/{n}"),
            ordered,
            reliability,
            priority,
            negotiated: None,
        };
        let id = open_in_band(&mut p, 0, init.clone());
        let got = p.incoming(1, id).unwrap();
        assert_eq!(got.label, init.label);
        assert_eq!(got.protocol, init.protocol);
        assert_eq!(got.ordered, ordered, "case {n}");
        assert_eq!(got.reliability, reliability, "case {n}");
        assert_eq!(got.priority, priority, "case {n}");
        assert!(!got.negotiated);
        assert_eq!(p.dc[1].info(id), Some(&got));
        assert_eq!(p.dc[0].info(id).unwrap().reliability, reliability);
    }
}

#[test]
fn negotiated_channels_use_the_same_id_without_dcep() {
    let mut p = Pair::connected(3);
    let now = p.now();
    let init = ChannelInit { negotiated: Some(7), ..ChannelInit::new("negotiated") };
    assert_eq!(p.dc[0].create(now, init.clone()).unwrap(), 7);
    assert_eq!(p.dc[1].create(now, init.clone()).unwrap(), 7);
    p.flush_all();
    // Open at once, no Incoming on either side.
    assert!(p.has(0, &DataChannelEvent::Channel(7, ChannelEvent::Open)));
    assert!(p.has(1, &DataChannelEvent::Channel(7, ChannelEvent::Open)));
    assert_eq!(p.dc[0].create(now, init), Err(DataChannelError::IdInUse(7)));
    let sent_before = p.dc[0].association().stats().messages_sent;
    p.send(0, 7, b"one", false);
    p.send(1, 7, b"two", true);
    p.settle(SEC);
    assert_eq!(p.messages(1, 7), vec![(Bytes::from_static(b"one"), false)]);
    assert_eq!(p.messages(0, 7), vec![(Bytes::from_static(b"two"), true)]);
    assert!(p.incoming(0, 7).is_none() && p.incoming(1, 7).is_none());
    // Exactly one SCTP message went out: no DATA_CHANNEL_OPEN.
    assert_eq!(p.dc[0].association().stats().messages_sent, sent_before + 1);
    assert!(p.dc[1].info(7).unwrap().negotiated);
}

#[test]
fn channel_created_before_the_association_opens_on_connect() {
    let mut p = Pair::new(4);
    let now = p.now();
    let id = p.dc[0].create(now, ChannelInit::new("early")).unwrap();
    let neg = p.dc[1].create(now, ChannelInit { negotiated: Some(4), ..ChannelInit::new("neg") }).unwrap();
    assert_eq!(p.dc[0].ready_state(id), Some(ReadyState::Connecting));
    assert!(matches!(
        p.dc[0].send(now, id, Bytes::from_static(b"x"), false),
        Err(DataChannelError::NotOpen { state: ReadyState::Connecting, .. })
    ));
    p.flush_all();
    assert!(!p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Open)));
    p.connect();
    assert!(p.run_until(5 * SEC, |p| p.incoming(1, id).is_some()));
    assert!(p.has(0, &DataChannelEvent::Connected));
    assert!(p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Open)));
    assert!(p.has(1, &DataChannelEvent::Channel(neg, ChannelEvent::Open)));
    let now = p.now();
    p.dc[0].create(now, ChannelInit { negotiated: Some(4), ..ChannelInit::new("neg") }).unwrap();
    p.send(0, id, b"after connect", false);
    p.send(0, 4, b"negotiated", false);
    p.settle(SEC);
    assert_eq!(p.messages(1, id), vec![(Bytes::from_static(b"after connect"), false)]);
    assert_eq!(p.messages(1, 4), vec![(Bytes::from_static(b"negotiated"), false)]);
}

#[test]
fn string_binary_and_empty_messages_keep_their_kind() {
    let mut p = Pair::connected(5);
    let id = open_in_band(&mut p, 0, ChannelInit::new("kinds"));
    let sent_ppids = [(b"text".as_slice(), false), (b"\x00\x01bin", true), (b"", false), (b"", true)];
    for (d, bin) in sent_ppids {
        p.send(0, id, d, bin);
    }
    p.settle(SEC);
    assert_eq!(
        p.messages(1, id),
        vec![
            (Bytes::from_static(b"text"), false),
            (Bytes::from_static(b"\x00\x01bin"), true),
            (Bytes::new(), false),
            (Bytes::new(), true),
        ]
    );
    // On the wire those are PPIDs 51, 53, 56 and 57: play them raw through
    // the association, plus the deprecated partial PPIDs 52 and 54.
    let now = p.now();
    let raw = [
        (ppid::STRING, &b"s"[..]),
        (ppid::BINARY, b"b"),
        (ppid::STRING_EMPTY, b"\0"),
        (ppid::BINARY_EMPTY, b"\0"),
        (ppid::BINARY_PARTIAL, b"old binary"),
        (ppid::STRING_PARTIAL, b"old string"),
    ];
    for (pp, d) in raw {
        p.dc[0].send_raw(now, id, pp, Bytes::from_static(d)).unwrap();
    }
    p.flush_all();
    p.settle(SEC);
    let got = p.messages(1, id);
    assert_eq!(
        got[4..],
        [
            (Bytes::from_static(b"s"), false),
            (Bytes::from_static(b"b"), true),
            (Bytes::new(), false),
            (Bytes::new(), true),
            (Bytes::from_static(b"old binary"), true),
            (Bytes::from_static(b"old string"), false),
        ]
    );
    assert_eq!(p.dc[1].stats().unknown_ppid, 0);
    // An unknown PPID is dropped and counted.
    let now = p.now();
    p.dc[0].send_raw(now, id, 99, Bytes::from_static(b"?")).unwrap();
    p.settle(SEC);
    assert_eq!(p.dc[1].stats().unknown_ppid, 1);
    assert_eq!(p.messages(1, id).len(), 10);
}

#[test]
fn close_goes_closing_then_closed_on_both_sides_and_the_id_is_reused() {
    let mut p = Pair::connected(6);
    let id = open_in_band(&mut p, 0, ChannelInit::new("first"));
    let other = open_in_band(&mut p, 0, ChannelInit::new("stays"));
    p.send(0, id, b"before close", false);
    let now = p.now();
    p.dc[0].close(now, id);
    assert_eq!(p.dc[0].ready_state(id), Some(ReadyState::Closing));
    assert!(matches!(p.dc[0].send(now, id, Bytes::from_static(b"x"), false), Err(DataChannelError::NotOpen { .. })));
    assert!(p.run_until(5 * SEC, |p| p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed))
        && p.has(1, &DataChannelEvent::Channel(id, ChannelEvent::Closed))));
    for i in 0..2 {
        let closing = p.position(i, &DataChannelEvent::Channel(id, ChannelEvent::Closing)).expect("Closing");
        let closed = p.position(i, &DataChannelEvent::Channel(id, ChannelEvent::Closed)).expect("Closed");
        assert!(closing < closed, "node {i}: Closing after Closed");
        assert_eq!(
            p.events[i].iter().filter(|e| **e == DataChannelEvent::Channel(id, ChannelEvent::Closed)).count(),
            1
        );
        assert_eq!(p.dc[i].ready_state(id), None);
    }
    // The message sent before close still arrived.
    assert_eq!(p.messages(1, id), vec![(Bytes::from_static(b"before close"), false)]);
    // The id is reused and the new channel works in both directions.
    p.take_events(0);
    p.take_events(1);
    let again = open_in_band(&mut p, 0, ChannelInit::new("second"));
    assert_eq!(again, id);
    assert_eq!(p.incoming(1, id).unwrap().label, "second");
    p.send(0, id, b"new life", false);
    p.send(1, id, b"reply", false);
    p.send(0, other, b"other", false);
    p.settle(SEC);
    assert_eq!(p.messages(1, id), vec![(Bytes::from_static(b"new life"), false)]);
    assert_eq!(p.messages(0, id), vec![(Bytes::from_static(b"reply"), false)]);
    assert_eq!(p.messages(1, other), vec![(Bytes::from_static(b"other"), false)]);
    assert_eq!(p.dc[1].stats(), &Default::default());
}

#[test]
fn the_peer_closing_closes_our_side() {
    let mut p = Pair::connected(7);
    let id = open_in_band(&mut p, 0, ChannelInit::new("closed by server"));
    let now = p.now();
    p.dc[1].close(now, id);
    assert!(p.run_until(5 * SEC, |p| p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed))
        && p.has(1, &DataChannelEvent::Channel(id, ChannelEvent::Closed))));
    assert!(
        p.position(0, &DataChannelEvent::Channel(id, ChannelEvent::Closing)).unwrap()
            < p.position(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed)).unwrap()
    );
    // Both sides close at the same time.
    let id = open_in_band(&mut p, 1, ChannelInit::new("both close"));
    let now = p.now();
    p.dc[0].close(now, id);
    p.dc[1].close(now, id);
    assert!(p.run_until(5 * SEC, |p| p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed))
        && p.has(1, &DataChannelEvent::Channel(id, ChannelEvent::Closed))));
}

#[test]
fn closing_many_channels_at_once() {
    let mut p = Pair::connected(8);
    let now = p.now();
    let ids: Vec<u16> =
        (0..40).map(|n| p.dc[(n % 2) as usize].create(now, ChannelInit::new(format!("c{n}"))).unwrap()).collect();
    assert!(p
        .run_until(5 * SEC, |p| ids.iter().all(|&id| p.dc[0].ready_state(id) == Some(ReadyState::Open)
            && p.dc[1].ready_state(id) == Some(ReadyState::Open))));
    let now = p.now();
    for (n, &id) in ids.iter().enumerate() {
        if n < 30 {
            p.dc[n % 2].close(now, id);
        }
    }
    assert!(p.run_until(10 * SEC, |p| ids[..30]
        .iter()
        .all(|id| p.has(0, &DataChannelEvent::Channel(*id, ChannelEvent::Closed))
            && p.has(1, &DataChannelEvent::Channel(*id, ChannelEvent::Closed)))));
    for &id in &ids[30..] {
        assert_eq!(p.dc[0].ready_state(id), Some(ReadyState::Open));
        p.send(0, id, b"still here", false);
    }
    p.settle(SEC);
    for &id in &ids[30..] {
        assert_eq!(p.messages(1, id).len(), 1, "channel {id}");
    }
    // The closed ids are handed out again, lowest first.
    let now = p.now();
    assert_eq!(p.dc[0].create(now, ChannelInit::new("reuse")).unwrap(), 0);
}

#[test]
fn buffered_amount_grows_and_falls_with_a_low_threshold_event() {
    let mut p = Pair::connected(9);
    let id = open_in_band(&mut p, 0, ChannelInit::new("buffered"));
    p.settle(SEC);
    p.dc[0].set_buffered_amount_low_threshold(id, 10_000);
    let now = p.now();
    let mut last = p.dc[0].buffered_amount(id);
    assert_eq!(last, 0);
    for _ in 0..100 {
        p.dc[0].send(now, id, Bytes::from(vec![7u8; 1000]), true).unwrap();
        let b = p.dc[0].buffered_amount(id);
        assert!(b > last, "buffered amount did not grow: {b} after {last}");
        last = b;
    }
    assert_eq!(last, 100_000);
    p.take_events(0);
    // The buffered amount counts bytes not yet handed to the network (W3C
    // `bufferedAmount`); it falls as acks open the congestion window.
    assert!(p.run_until(10 * SEC, |p| p.dc[0].buffered_amount(id) == 0 && p.messages(1, id).len() == 100));
    let lows =
        p.events[0].iter().filter(|e| **e == DataChannelEvent::Channel(id, ChannelEvent::BufferedAmountLow)).count();
    assert_eq!(lows, 1, "BufferedAmountLow fires once when crossing the threshold");
    assert_eq!(p.messages(1, id).len(), 100);
}

#[test]
fn send_buffer_limit_gives_back_pressure_while_the_link_is_down() {
    let limit = 64 * 1024;
    let configs = [
        SctpConfig { send_buffer_limit: limit, ..common::sctp_config(0) },
        SctpConfig { send_buffer_limit: limit, ..common::sctp_config(1) },
    ];
    let link = netsim::LinkConfig { latency: Duration::from_millis(10), ..Default::default() };
    let mut p = Pair::with(10, link, configs);
    p.connect();
    let id = open_in_band(&mut p, 0, ChannelInit::new("pressure"));
    p.settle(SEC);
    p.net.set_host_down(common::ADDR[1].parse::<std::net::SocketAddr>().unwrap().ip(), true);
    let mut accepted = 0usize;
    let mut full = None;
    for n in 0..1000 {
        let now = p.now();
        match p.dc[0].send(now, id, Bytes::from(vec![n as u8; 1000]), true) {
            Ok(()) => accepted += 1,
            Err(e) => {
                full = Some(e);
                break;
            }
        }
        p.flush(0);
        if n % 10 == 0 {
            p.settle(Duration::from_millis(50));
        }
    }
    assert!(
        matches!(full, Some(DataChannelError::Send(SendError::BufferFull { limit: l, .. })) if l == limit),
        "{full:?}"
    );
    // Queued bytes stay under the limit; what went out before the link died
    // is bounded by the initial congestion window (10 packets of 1200 bytes),
    // which does not grow while nothing is acked.
    let cwnd0 = 10 * 1200;
    let in_flight = p.dc[0].association().stats().flight_size;
    assert!(in_flight <= cwnd0, "{in_flight} bytes in flight");
    assert!(accepted * 1000 <= limit + cwnd0, "{accepted} messages accepted over a {limit} byte limit");
    assert!(p.dc[0].buffered_amount(id) <= limit);
    // Still full later (nothing drains while the peer is unreachable), and no growth.
    p.settle(2 * SEC);
    let now = p.now();
    assert!(matches!(
        p.dc[0].send(now, id, Bytes::from(vec![0u8; 1000]), true),
        Err(DataChannelError::Send(SendError::BufferFull { .. }))
    ));
    assert!(p.dc[0].buffered_amount(id) <= limit);
    assert!(p.dc[0].association().stats().flight_size <= cwnd0);
    // The link comes back: everything accepted arrives, in order, and the buffer drains.
    p.net.set_host_down(common::ADDR[1].parse::<std::net::SocketAddr>().unwrap().ip(), false);
    p.dc[0].set_buffered_amount_low_threshold(id, 0);
    assert!(
        p.run_until(60 * SEC, |p| p.messages(1, id).len() == accepted),
        "only {} of {accepted}",
        p.messages(1, id).len()
    );
    assert!(p.run_until(10 * SEC, |p| p.dc[0].buffered_amount(id) == 0));
    let got = p.messages(1, id);
    for (n, (d, _)) in got.iter().enumerate() {
        assert_eq!(d[..], vec![n as u8; 1000][..]);
    }
    assert!(p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::BufferedAmountLow)));
    let now = p.now();
    p.dc[0].send(now, id, Bytes::from_static(b"room again"), false).unwrap();
}

#[test]
fn hostile_dcep_and_unknown_streams_are_dropped_and_counted() {
    let mut p = Pair::connected(11);
    let id = open_in_band(&mut p, 0, ChannelInit::new("victim"));
    let open = |label: &str| {
        datachannel::dcep::Message::Open(datachannel::dcep::Open {
            unordered: false,
            reliability: Reliability::Reliable,
            priority: 256,
            label: label.into(),
            protocol: String::new(),
        })
        .encode()
        .unwrap()
    };
    let now = p.now();
    let server = &mut p.dc[1];
    // The server opens an even id (the client's parity).
    server.send_raw(now, 2, ppid::DCEP, Bytes::from(open("wrong parity"))).unwrap();
    // The client opens an odd id.
    let client_side = open("wrong parity too");
    // An OPEN for the id already in use (sent by the client on its own channel).
    let in_use = open("in use");
    // Garbage DCEP: unknown type, truncated OPEN, bad channel type, empty.
    server.send_raw(now, 5, ppid::DCEP, Bytes::from_static(&[0x09, 1, 2])).unwrap();
    server.send_raw(now, 5, ppid::DCEP, Bytes::from_static(&[0x03, 0, 1])).unwrap();
    server.send_raw(now, 5, ppid::DCEP, Bytes::from_static(&[3, 0x7f, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])).unwrap();
    // An ACK for a channel that does not exist.
    server.send_raw(now, 9, ppid::DCEP, Bytes::from_static(&[0x02])).unwrap();
    // Messages on streams without a channel.
    server.send_raw(now, 11, ppid::STRING, Bytes::from_static(b"nobody")).unwrap();
    server.send_raw(now, 13, ppid::BINARY, Bytes::from_static(b"nobody")).unwrap();
    p.flush(1);
    let client = &mut p.dc[0];
    client.send_raw(now, 3, ppid::DCEP, Bytes::from(client_side)).unwrap();
    client.send_raw(now, id, ppid::DCEP, Bytes::from(in_use)).unwrap();
    p.flush(0);
    p.settle(SEC);
    assert_eq!(p.dc[0].stats().bad_dcep, 5, "{:?}", p.dc[0].stats());
    assert_eq!(p.dc[0].stats().unknown_stream, 2);
    assert_eq!(p.dc[1].stats().bad_dcep, 2, "{:?}", p.dc[1].stats());
    assert!(p.incoming(0, 2).is_none() && p.incoming(1, 3).is_none());
    assert!(p.dc[0].ready_state(2).is_none() && p.dc[1].ready_state(3).is_none());
    assert_eq!(p.dc[1].info(id).unwrap().label, "victim", "the channel in use was not replaced");
    // Everything keeps working.
    p.send(0, id, b"still fine", false);
    p.send(1, id, b"and back", false);
    let fresh = open_in_band(&mut p, 1, ChannelInit::new("fresh"));
    p.send(1, fresh, b"new channel", false);
    p.settle(SEC);
    assert_eq!(p.messages(1, id).last().unwrap().0, Bytes::from_static(b"still fine"));
    assert_eq!(p.messages(0, id), vec![(Bytes::from_static(b"and back"), false)]);
    assert_eq!(p.messages(0, fresh), vec![(Bytes::from_static(b"new channel"), false)]);
}

#[test]
fn errors_for_unknown_and_unopened_channels() {
    let mut p = Pair::connected(12);
    let now = p.now();
    assert_eq!(p.dc[0].send(now, 42, Bytes::from_static(b"x"), false), Err(DataChannelError::NoSuchChannel(42)));
    assert_eq!(p.dc[0].buffered_amount(42), 0);
    p.dc[0].close(now, 42); // no panic, no event
    p.flush_all();
    assert!(p.events[0]
        .iter()
        .all(|e| !matches!(e, DataChannelEvent::Channel(_, ChannelEvent::Closing | ChannelEvent::Closed))));
    // Too large for the peer: refused at once, channel unharmed.
    let id = open_in_band(&mut p, 0, ChannelInit::new("big"));
    let now = p.now();
    assert!(matches!(
        p.dc[0].send(now, id, Bytes::from(vec![0u8; 65537]), true),
        Err(DataChannelError::Send(SendError::TooLarge { .. }))
    ));
    p.send(0, id, &[1u8; 65536], true);
    p.settle(2 * SEC);
    assert_eq!(p.messages(1, id).len(), 1);
    assert_eq!(p.messages(1, id)[0].0.len(), 65536);
}

/// The peer reuses an id as soon as it has seen both resets, which can be
/// before the answer to our own reset reached us (here it is lost): its new
/// OPEN, and the message behind it, must open the new channel once our
/// side of the old one is closed, not be refused as "id in use".
#[test]
fn reopen_before_our_reset_completes_opens_the_new_channel() {
    let mut p = Pair::connected(13);
    let id = open_in_band(&mut p, 0, ChannelInit::new("old"));
    p.settle(SEC);
    // Drop node 0's first RE-CONFIG after the close: its answer to node 1's reset.
    let mut dropped = 0;
    let mut seen = 0;
    p.filter = Some(Box::new(move |i, pkt| {
        if i == 0 && common::has_chunk(pkt, common::RE_CONFIG) {
            seen += 1;
            // The first is node 0's own request; the second carries its answer.
            if seen == 2 && dropped == 0 {
                dropped += 1;
                return true;
            }
        }
        false
    }));
    let now = p.now();
    p.dc[0].close(now, id);
    assert!(p.run_until(5 * SEC, |p| p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed))));
    assert_eq!(p.dc[1].ready_state(id), Some(ReadyState::Closing), "the answer was not lost");
    p.take_events(0);
    p.take_events(1);
    let now = p.now();
    assert_eq!(p.dc[0].create(now, ChannelInit::new("new")).unwrap(), id);
    p.flush(0);
    p.send(0, id, b"first on new", false);
    assert!(p.run_until(10 * SEC, |p| p.incoming(1, id).is_some()), "{:?} {:?}", p.events[1], p.dc[1].stats());
    let closed = p.position(1, &DataChannelEvent::Channel(id, ChannelEvent::Closed)).expect("old channel closed");
    let incoming = p.events[1].iter().position(|e| matches!(e, DataChannelEvent::Incoming(_))).unwrap();
    assert!(closed < incoming);
    assert_eq!(p.incoming(1, id).unwrap().label, "new");
    p.settle(SEC);
    assert_eq!(p.messages(1, id), vec![(Bytes::from_static(b"first on new"), false)]);
    p.send(1, id, b"reply on new", false);
    p.settle(SEC);
    assert_eq!(p.messages(0, id), vec![(Bytes::from_static(b"reply on new"), false)]);
    assert_eq!(p.dc[1].stats().bad_dcep, 0);
    assert_eq!(p.dc[0].ready_state(id), Some(ReadyState::Open));
}

#[test]
fn shutdown_closes_every_channel_on_both_sides() {
    let mut p = Pair::connected(14);
    let a = open_in_band(&mut p, 0, ChannelInit::new("a"));
    let b = open_in_band(&mut p, 1, ChannelInit::new("b"));
    p.send(0, a, b"last", false);
    let now = p.now();
    p.dc[0].shutdown(now);
    assert!(p.run_until(10 * SEC, |p| (0..2)
        .all(|i| p.events[i].iter().any(|e| matches!(e, DataChannelEvent::AssociationClosed { .. })))));
    for i in 0..2 {
        assert!(
            p.has(i, &DataChannelEvent::Channel(a, ChannelEvent::Closed))
                && p.has(i, &DataChannelEvent::Channel(b, ChannelEvent::Closed)),
            "node {i}: {:?}",
            p.events[i]
        );
        assert!(p.has(i, &DataChannelEvent::AssociationClosed { reason: None }), "node {i}: {:?}", p.events[i]);
        assert_eq!(p.dc[i].ready_state(a), None);
    }
    assert_eq!(p.messages(1, a), vec![(Bytes::from_static(b"last"), false)]);
    let now = p.now();
    assert!(p.dc[0].send(now, a, Bytes::from_static(b"x"), false).is_err());
}

#[test]
fn ids_stay_below_the_negotiated_stream_count() {
    let configs = [
        SctpConfig { max_inbound_streams: 4, max_outbound_streams: 4, ..common::sctp_config(0) },
        SctpConfig { max_inbound_streams: 4, max_outbound_streams: 4, ..common::sctp_config(1) },
    ];
    let link = netsim::LinkConfig { latency: Duration::from_millis(10), ..Default::default() };
    let mut p = Pair::with(15, link, configs);
    p.connect();
    let now = p.now();
    assert_eq!(p.dc[0].create(now, ChannelInit::new("0")).unwrap(), 0);
    assert_eq!(p.dc[0].create(now, ChannelInit::new("2")).unwrap(), 2);
    assert_eq!(p.dc[0].create(now, ChannelInit::new("4")), Err(DataChannelError::NoFreeId));
    assert_eq!(p.dc[1].create(now, ChannelInit::new("1")).unwrap(), 1);
    assert_eq!(p.dc[1].create(now, ChannelInit::new("3")).unwrap(), 3);
    assert_eq!(p.dc[1].create(now, ChannelInit::new("5")), Err(DataChannelError::NoFreeId));
    assert!(p.run_until(5 * SEC, |p| [0, 2].iter().all(|&id| p.incoming(1, id).is_some())
        && [1, 3].iter().all(|&id| p.incoming(0, id).is_some())));
}

#[test]
fn an_aborted_association_errors_then_closes_every_channel() {
    let mut p = Pair::connected(21);
    let a = open_in_band(&mut p, 0, ChannelInit::new("a"));
    let b = open_in_band(&mut p, 1, ChannelInit::new("b"));
    let now = p.now();
    p.dc[1].abort(now);
    p.flush_all();
    assert!(p.run_until(5 * SEC, |p| p.has(0, &DataChannelEvent::Channel(a, ChannelEvent::Closed))
        && p.has(0, &DataChannelEvent::Channel(b, ChannelEvent::Closed))));
    for id in [a, b] {
        let err = p.events[0]
            .iter()
            .position(|e| matches!(e, DataChannelEvent::Channel(i, ChannelEvent::Error(_)) if *i == id));
        let closed = p.position(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed));
        assert!(err.is_some() && err < closed, "error before close on channel {id}: {:?}", p.events[0]);
    }
    // The side that aborted closes its channels without an error.
    assert!(
        !p.events[1].iter().any(|e| matches!(e, DataChannelEvent::Channel(_, ChannelEvent::Error(_)))),
        "{:?}",
        p.events[1]
    );
}

/// A peer may have at most 1,024 channels open at once (each keeps a label and a
/// protocol): its further OPENs are refused by resetting their streams (so they close on
/// its side) and counted, and the open channels keep working.
#[test]
fn a_peer_opens_at_most_1024_channels() {
    let mut p = Pair::connected(15);
    let now = p.now();
    let ids: Vec<u16> = (0..1100).map(|i| p.dc[0].create(now, ChannelInit::new(format!("c{i}"))).unwrap()).collect();
    p.settle(5 * SEC);
    let incoming: Vec<u16> = p.events[1]
        .iter()
        .filter_map(|e| match e {
            DataChannelEvent::Incoming(info) => info.id,
            _ => None,
        })
        .collect();
    assert_eq!(incoming, ids[..1024], "the first 1,024 OPENs open channels");
    assert_eq!(p.dc[1].stats().refused_opens, 1100 - 1024, "the others are refused and counted");
    for &id in &ids[1024..] {
        assert!(p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed)), "refused channel {id} closes");
    }
    p.send(0, ids[1023], b"the last one open", false);
    p.settle(SEC);
    assert_eq!(p.messages(1, ids[1023]), vec![(Bytes::from_static(b"the last one open"), false)]);
}

/// Messages for a channel the peer reopened before our side of the old one finished
/// closing wait outside SCTP's flow control, so at most 1 MiB of them (all channels
/// together) is kept; the rest are dropped and counted.
#[test]
fn reopen_backlogs_hold_at_most_1_mib() {
    let mut p = Pair::connected(16);
    let id = open_in_band(&mut p, 0, ChannelInit::new("old"));
    p.settle(SEC);
    // Node 0's answers to node 1's reset are lost while `hold` is set (its own request, the
    // first RE-CONFIG it sends, goes through): node 1 stays Closing meanwhile.
    let hold = std::rc::Rc::new(std::cell::Cell::new(true));
    let holding = hold.clone();
    let mut seen = 0;
    p.filter = Some(Box::new(move |i, pkt| {
        if i == 0 && common::has_chunk(pkt, common::RE_CONFIG) {
            seen += 1;
            return seen > 1 && holding.get();
        }
        false
    }));
    let now = p.now();
    p.dc[0].close(now, id);
    assert!(p.run_until(5 * SEC, |p| p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed))));
    assert_eq!(p.dc[1].ready_state(id), Some(ReadyState::Closing));
    let now = p.now();
    assert_eq!(p.dc[0].create(now, ChannelInit::new("new")).unwrap(), id);
    let message = |k: u8| vec![k; 60 * 1024];
    for k in 0..20 {
        p.send(0, id, &message(k), true);
    }
    p.settle(5 * SEC);
    assert_eq!(p.dc[1].ready_state(id), Some(ReadyState::Closing), "the reset answers were lost");
    assert_eq!(p.dc[1].stats().unknown_stream, 3, "1 MiB kept: 17 messages of 60 KiB, the other 3 dropped");
    hold.set(false);
    assert!(p.run_until(10 * SEC, |p| p.incoming(1, id).is_some()));
    p.settle(SEC);
    let got = p.messages(1, id);
    assert_eq!(got.len(), 17);
    assert!(got.iter().zip(0..).all(|((data, binary), k)| *binary && data[..] == message(k)[..]));
}

/// An OPEN over the limits (too many channels, a label or protocol too long) is refused as
/// RFC 8832 6 says: its stream is reset, so the peer's channel closes instead of staying
/// `connecting`; the channels within the limits keep working.
#[test]
fn opens_over_the_limits_are_refused_by_a_stream_reset() {
    let mut p = Pair::connected(31);
    p.dc[0].set_limits(ChannelLimits { max_channels: 2, max_label_len: 16, max_protocol_len: 8 });
    let a = open_in_band(&mut p, 1, ChannelInit::new("one"));
    let b = open_in_band(&mut p, 1, ChannelInit::new("two"));
    let now = p.now();
    let over_count = p.dc[1].create(now, ChannelInit::new("three")).unwrap();
    p.flush_all();
    assert!(p.run_until(5 * SEC, |p| p.has(1, &DataChannelEvent::Channel(over_count, ChannelEvent::Closed))));
    assert!(p.incoming(0, over_count).is_none());
    assert_eq!(p.dc[0].stats().refused_opens, 1);
    // Within the count again once a channel closed, but naming too much.
    let now = p.now();
    p.dc[1].close(now, b);
    assert!(p.run_until(5 * SEC, |p| p.has(0, &DataChannelEvent::Channel(b, ChannelEvent::Closed))));
    let long_label = p.dc[1].create(p.now(), ChannelInit::new("a label of 17 byt")).unwrap();
    let mut init = ChannelInit::new("ok");
    init.protocol = "protocol".into(); // 8 bytes: allowed
    let fits = p.dc[1].create(p.now(), init).unwrap();
    let mut init = ChannelInit::new("ok2");
    init.protocol = "protocol9".into();
    let long_protocol = p.dc[1].create(p.now(), init).unwrap();
    p.flush_all();
    assert!(p.run_until(5 * SEC, |p| [long_label, long_protocol]
        .iter()
        .all(|&id| p.has(1, &DataChannelEvent::Channel(id, ChannelEvent::Closed)))));
    // (Ids are reused: ask the channels, not the event log.)
    assert!(p.dc[0].info(fits).is_some() && p.dc[0].info(long_label).is_none());
    assert!(p.dc[0].info(long_protocol).is_none());
    assert_eq!(p.dc[0].stats().refused_opens, 3);
    // The accepted channels still carry messages both ways.
    p.send(1, a, b"still open", false);
    p.send(0, fits, b"and this one", true);
    p.settle(SEC);
    assert_eq!(p.messages(0, a), vec![(Bytes::from_static(b"still open"), false)]);
    assert_eq!(p.messages(1, fits), vec![(Bytes::from_static(b"and this one"), true)]);
}
