//! RFC behaviours checked packet by packet, with the test in charge of every packet.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sctp::chunk::{Chunk, Heartbeat, ReconfigParam, ReconfigResult, Sack};
use sctp::{Association, CommonHeader, Packet, SctpConfig, SctpEvent, SendParams};

struct Pair {
    now: Instant,
    a: Association,
    b: Association,
}

fn chunks(p: &[u8]) -> Vec<Chunk> {
    Packet::decode(p, true).unwrap().chunks
}

impl Pair {
    fn new(ca: SctpConfig, cb: SctpConfig) -> Pair {
        let now = Instant::now();
        let mut p = Pair { now, a: Association::new(now, ca), b: Association::new(now, cb) };
        p.a.connect(now);
        p.exchange();
        assert!(p.a.is_established() && p.b.is_established());
        while p.a.poll_event().is_some() {}
        while p.b.poll_event().is_some() {}
        p
    }

    fn default() -> Pair {
        Pair::new(SctpConfig { seed: 1, ..Default::default() }, SctpConfig { seed: 2, ..Default::default() })
    }

    fn exchange(&mut self) {
        for _ in 0..100 {
            let mut moved = false;
            while let Some(p) = self.a.poll_transmit(self.now) {
                self.b.handle_receive(self.now, &p);
                moved = true;
            }
            while let Some(p) = self.b.poll_transmit(self.now) {
                self.a.handle_receive(self.now, &p);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn a_out(&mut self) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| self.a.poll_transmit(self.now)).collect()
    }

    fn b_out(&mut self) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| self.b.poll_transmit(self.now)).collect()
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
    }

    fn send_a(&mut self, stream: u16, text: &str) {
        self.a.send(self.now, stream, 51, Bytes::copy_from_slice(text.as_bytes()), SendParams::default()).unwrap();
    }

    fn b_messages(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.b.poll_event())
            .filter_map(|e| match e {
                SctpEvent::Message { data, .. } => Some(String::from_utf8_lossy(&data).into_owned()),
                _ => None,
            })
            .collect()
    }
}

fn sack_of(packets: &[Vec<u8>]) -> Option<Sack> {
    packets.iter().flat_map(|p| chunks(p)).find_map(|c| if let Chunk::Sack(s) = c { Some(s) } else { None })
}

#[test]
fn sack_is_delayed_for_one_packet_and_immediate_for_the_second() {
    let mut p = Pair::default();
    p.send_a(1, "one");
    let one = p.a_out();
    p.b.handle_receive(p.now, &one[0]);
    assert!(p.b_out().is_empty(), "the first packet's SACK waits");
    assert!(p.b.poll_timeout().unwrap() <= p.now + Duration::from_millis(200));
    p.send_a(1, "two");
    let two = p.a_out();
    p.b.handle_receive(p.now, &two[0]);
    let s = sack_of(&p.b_out()).expect("the second packet is acked at once");
    assert!(s.gaps.is_empty() && s.dups.is_empty());
    p.send_a(1, "three");
    let three = p.a_out();
    p.b.handle_receive(p.now, &three[0]);
    p.advance(Duration::from_millis(200));
    assert!(sack_of(&p.b_out()).is_some(), "the delayed SACK goes out after 200 ms");
    assert_eq!(p.b_messages(), ["one", "two", "three"]);
}

#[test]
fn gaps_and_duplicates_are_reported_at_once() {
    let mut p = Pair::default();
    p.send_a(1, "m0");
    let first = p.a_out();
    p.send_a(1, "m1");
    let lost = p.a_out();
    p.send_a(1, "m2");
    let third = p.a_out();
    p.b.handle_receive(p.now, &first[0]);
    p.b.handle_receive(p.now, &third[0]);
    let s = sack_of(&p.b_out()).unwrap();
    assert_eq!(s.gaps, vec![(2, 2)]);
    p.b.handle_receive(p.now, &third[0]);
    let s = sack_of(&p.b_out()).unwrap();
    assert_eq!(s.dups.len(), 1);
    p.b.handle_receive(p.now, &lost[0]);
    let s = sack_of(&p.b_out()).unwrap();
    assert!(s.gaps.is_empty());
    assert_eq!(p.b_messages(), ["m0", "m1", "m2"]);
}

#[test]
fn three_miss_indications_trigger_one_fast_retransmit() {
    let mut p = Pair::default();
    p.send_a(1, "lost");
    let _lost = p.a_out();
    for i in 0..4 {
        p.send_a(1, &format!("after {i}"));
        for pkt in p.a_out() {
            p.b.handle_receive(p.now, &pkt);
        }
        for pkt in p.b_out() {
            p.a.handle_receive(p.now, &pkt);
        }
        let st = p.a.stats();
        assert_eq!(st.fast_retransmits, if i < 2 { 0 } else { 1 }, "after SACK {i}");
    }
    assert_eq!(p.a.stats().retransmissions, 1);
    assert!(p.a.stats().cwnd >= 4 * 1200);
    p.exchange();
    let got = p.b_messages();
    assert_eq!(got.first().map(String::as_str), Some("lost"));
    assert_eq!(got.len(), 5);
}

#[test]
fn sacks_for_unsent_tsns_and_stale_sacks_are_ignored() {
    let mut p = Pair::default();
    p.send_a(1, "x");
    let x = p.a_out();
    let vtag = u32::from_be_bytes(x[0][4..8].try_into().unwrap());
    let tsn = chunks(&x[0]).into_iter().find_map(|c| if let Chunk::Data(d) = c { Some(d.tsn) } else { None }).unwrap();
    let a_tag = p.a.local_tag_for_fuzzing().unwrap();
    let _ = vtag;
    for cum in [tsn.wrapping_add(5), tsn.wrapping_sub(100)] {
        let forged = Packet {
            header: sctp::CommonHeader { src_port: 5000, dst_port: 5000, vtag: a_tag, checksum: 0 },
            chunks: vec![Chunk::Sack(Sack { cum_tsn_ack: cum, a_rwnd: 100000, gaps: vec![(1, 9)], dups: vec![] })],
        }
        .encode(false);
        p.a.handle_receive(p.now, &forged);
        assert_eq!(p.a.stats().outstanding_chunks, 1, "cum {cum}");
    }
    p.b.handle_receive(p.now, &x[0]);
    p.advance(Duration::from_millis(200));
    p.exchange();
    assert_eq!(p.a.stats().outstanding_chunks, 0);
}

#[test]
fn a_reset_ahead_of_the_data_is_deferred_then_performed() {
    let mut p = Pair::default();
    p.send_a(3, "late data");
    let data = p.a_out();
    p.a.reset_streams(p.now, &[3]).unwrap();
    let request = p.a_out();
    p.b.handle_receive(p.now, &request[0]);
    let answer = p.b_out();
    let in_progress = answer.iter().flat_map(|x| chunks(x)).any(|c| {
        matches!(c, Chunk::ReConfig(r) if r.params.iter().any(|q| matches!(q, ReconfigParam::Response { result: ReconfigResult::InProgress, .. })))
    });
    assert!(in_progress, "the request is ahead of TSN data: in progress");
    assert!(p.b_messages().is_empty());
    for x in &answer {
        p.a.handle_receive(p.now, x);
    }
    // The data arrives; B delivers it, then performs the reset.
    p.b.handle_receive(p.now, &data[0]);
    let events: Vec<_> = std::iter::from_fn(|| p.b.poll_event()).collect();
    assert!(matches!(&events[0], SctpEvent::Message { data, .. } if &data[..] == b"late data"));
    assert!(matches!(&events[1], SctpEvent::IncomingStreamsReset { streams } if streams == &[3]));
    for _ in 0..5 {
        p.advance(Duration::from_secs(2));
        p.exchange();
    }
    let a_events: Vec<_> = std::iter::from_fn(|| p.a.poll_event()).collect();
    assert!(a_events.iter().any(|e| matches!(e, SctpEvent::OutgoingStreamsReset { streams } if streams == &[3])));
    let again: Vec<_> = std::iter::from_fn(|| p.b.poll_event()).collect();
    assert!(!again.iter().any(|e| matches!(e, SctpEvent::IncomingStreamsReset { .. })), "reset reported twice");
    // A peer that re-asks with a new sequence number gets "performed", and no second reset.
    let (req_seq, last_tsn) = request
        .iter()
        .flat_map(|x| chunks(x))
        .find_map(|c| match c {
            Chunk::ReConfig(r) => match &r.params[0] {
                ReconfigParam::OutgoingReset { req_seq, last_tsn, .. } => Some((*req_seq, *last_tsn)),
                _ => None,
            },
            _ => None,
        })
        .unwrap();
    let b_tag = p.b.local_tag_for_fuzzing().unwrap();
    let retry = Packet {
        header: sctp::CommonHeader { src_port: 5000, dst_port: 5000, vtag: b_tag, checksum: 0 },
        chunks: vec![Chunk::ReConfig(sctp::chunk::ReConfig {
            params: vec![ReconfigParam::OutgoingReset {
                req_seq: req_seq + 1,
                resp_seq: 0,
                last_tsn,
                streams: vec![3],
            }],
        })],
    }
    .encode(false);
    p.b.handle_receive(p.now, &retry);
    let answer = p.b_out();
    assert!(answer.iter().flat_map(|x| chunks(x)).any(|c| matches!(c, Chunk::ReConfig(r) if r.params.iter().any(|q| matches!(q, ReconfigParam::Response { result: ReconfigResult::SuccessPerformed, .. })))));
    assert!(!std::iter::from_fn(|| p.b.poll_event()).any(|e| matches!(e, SctpEvent::IncomingStreamsReset { .. })));
    p.send_a(3, "new life");
    p.exchange();
    assert_eq!(p.b_messages(), ["new life"]);
}

#[test]
fn fragments_are_cut_to_the_mtu_and_bundled_with_sacks() {
    let cfg = |seed| SctpConfig { seed, mtu: 500, ..Default::default() };
    let mut p = Pair::new(cfg(1), cfg(2));
    p.a.send(p.now, 1, 53, Bytes::from(vec![9; 5000]), SendParams::default()).unwrap();
    p.b.send(p.now, 1, 53, Bytes::from(vec![8; 100]), SendParams::default()).unwrap();
    let pkts = p.a_out();
    assert!(pkts.iter().all(|x| x.len() <= 500));
    assert!(pkts.len() >= 10);
    for x in &pkts {
        p.b.handle_receive(p.now, x);
    }
    let back = p.b_out();
    let c = chunks(&back[0]);
    assert!(matches!(c[0], Chunk::Sack(_)) && matches!(c[1], Chunk::Data(_)), "SACK first, then DATA: {c:?}");
}

#[test]
fn a_closed_peer_window_allows_one_probe_at_a_time() {
    let mut p = Pair::default();
    for i in 0..10u8 {
        p.a.send(p.now, 1, 53, Bytes::from(vec![i; 1000]), SendParams::default()).unwrap();
    }
    let sent = p.a_out();
    let last_tsn = sent
        .iter()
        .flat_map(|x| chunks(x))
        .filter_map(|c| if let Chunk::Data(d) = c { Some(d.tsn) } else { None })
        .max()
        .unwrap();
    let a_tag = p.a.local_tag_for_fuzzing().unwrap();
    let sack = |cum: u32, a_rwnd: u32| {
        Packet {
            header: sctp::CommonHeader { src_port: 5000, dst_port: 5000, vtag: a_tag, checksum: 0 },
            chunks: vec![Chunk::Sack(Sack { cum_tsn_ack: cum, a_rwnd, gaps: vec![], dups: vec![] })],
        }
        .encode(false)
    };
    // Everything acked, but the window is closed: nothing more goes out...
    for i in 10..20u8 {
        p.a.send(p.now, 1, 53, Bytes::from(vec![i; 1000]), SendParams::default()).unwrap();
    }
    let mut cum = last_tsn;
    p.a.handle_receive(p.now, &sack(cum, 0));
    // ...except a single probe chunk while nothing is in flight.
    for round in 0..3 {
        let out = p.a_out();
        let data: Vec<_> = out
            .iter()
            .flat_map(|x| chunks(x))
            .filter_map(|c| if let Chunk::Data(d) = c { Some(d.tsn) } else { None })
            .collect();
        assert_eq!(data.len(), 1, "round {round}: one probe");
        cum = data[0];
        assert!(p.a.poll_transmit(p.now).is_none());
        p.a.handle_receive(p.now, &sack(cum, 0));
    }
    // The window opens: the rest flows.
    p.a.handle_receive(p.now, &sack(cum, 1 << 20));
    let rest = p.a_out().iter().flat_map(|x| chunks(x)).filter(|c| matches!(c, Chunk::Data(_))).count();
    assert_eq!(rest, 7);
}

#[test]
fn unknown_init_parameters_are_reported_in_the_init_ack() {
    let now = Instant::now();
    let mut listener = Association::new(now, SctpConfig { seed: 3, ..Default::default() });
    let mut init = Vec::new();
    sctp::chunk::Chunk::Init(sctp::chunk::Init {
        initiate_tag: 42,
        a_rwnd: 65536,
        outbound_streams: 4,
        inbound_streams: 4,
        initial_tsn: 1,
        ..Default::default()
    })
    .write(&mut init);
    // Append an unknown "skip and report" parameter and fix the chunk length.
    init.extend_from_slice(&[0xc1, 0x23, 0, 6, 0xab, 0xcd, 0, 0]);
    let len = (init.len() - 2) as u16;
    init[2..4].copy_from_slice(&len.to_be_bytes());
    let mut pkt = vec![0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0];
    pkt.extend_from_slice(&init);
    let c = sctp::checksum(&pkt);
    pkt[8..12].copy_from_slice(&c.to_le_bytes());
    listener.handle_receive(now, &pkt);
    let ack = listener.poll_transmit(now).unwrap();
    assert_eq!(&ack[4..8], &42u32.to_be_bytes(), "INIT-ACK carries the INIT's tag");
    let Chunk::InitAck(a) = &chunks(&ack)[0] else { panic!("not an INIT-ACK") };
    assert_eq!(a.unrecognized.len(), 1);
    assert_eq!(&a.unrecognized[0][..], &[0xc1, 0x23, 0, 6, 0xab, 0xcd]);
    assert!(a.cookie.is_some());
}

/// A SACK that does not fit behind a large control chunk goes out in the next packet, with
/// its duplicate TSNs (RFC 9260 6.2): it used to be built, dropped for lack of room, and
/// its duplicates forgotten, so the sender never heard of them.
#[test]
fn a_sack_crowded_out_by_a_large_heartbeat_ack_follows_with_its_duplicates() {
    let mut p = Pair::default();
    p.send_a(1, "once");
    let first = p.a_out();
    let data = chunks(&first[0])
        .into_iter()
        .find_map(|c| match c {
            Chunk::Data(d) => Some(d),
            _ => None,
        })
        .expect("a DATA chunk");
    p.b.handle_receive(p.now, &first[0]);
    p.exchange();
    // The same DATA three times (duplicates to report) and a HEARTBEAT whose info, echoed
    // in the HEARTBEAT-ACK, leaves too little room in B's next packet for that SACK.
    let vtag = p.b.local_tag_for_fuzzing().unwrap();
    let mut forged = vec![Chunk::Data(data.clone()); 3];
    forged.push(Chunk::Heartbeat(Heartbeat { info: Bytes::from(vec![7; 1170]) }));
    let packet = Packet { header: CommonHeader { src_port: 5000, dst_port: 5000, vtag, checksum: 0 }, chunks: forged };
    p.b.handle_receive(p.now, &packet.encode(false));
    let out: Vec<Vec<Chunk>> = p.b_out().iter().map(|q| chunks(q)).collect();
    assert!(
        out.iter().flatten().any(|c| matches!(c, Chunk::HeartbeatAck(h) if h.info.len() == 1170)),
        "the heartbeat is answered"
    );
    let sacks: Vec<&Sack> = out
        .iter()
        .flatten()
        .filter_map(|c| match c {
            Chunk::Sack(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(sacks.len(), 1, "one SACK answers the duplicates ({} packets)", out.len());
    assert_eq!(sacks[0].dups, vec![data.tsn; 3], "it reports every duplicate");
    assert_eq!(sacks[0].cum_tsn_ack, data.tsn);
}
