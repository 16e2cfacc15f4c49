//! Helpers shared by the payload format tests: the send/receive loops that
//! run frames through a packetizer and a depacketizer. (Their seeded
//! generator is `testkit::Rng`.)

#![allow(dead_code)]

use rtp::payload::{Depacketized, Depacketizer, Dropped, Frame, Packetizer, PayloadFormat};

/// One RTP packet as far as payload formats care.
#[derive(Debug, Clone)]
pub struct Packet {
    pub payload: Vec<u8>,
    pub marker: bool,
    pub sequence: u16,
    pub timestamp: u32,
}

/// Packetizes each frame (timestamps 3000 apart, sequence numbers from
/// `first_sequence`, wrapping) and returns each frame's packets.
pub fn send<P: Packetizer>(p: &mut P, frames: &[Vec<u8>], mtu: usize, first_sequence: u16) -> Vec<Vec<Packet>> {
    let mut sequence = first_sequence;
    let mut out = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let payloads =
            p.packetize(frame, mtu).unwrap_or_else(|e| panic!("frame {i} ({} bytes), mtu {mtu}: {e}", frame.len()));
        let mut packets = Vec::new();
        for payload in payloads {
            assert!(payload.data.len() <= mtu, "a {}-byte payload over the {mtu}-byte budget", payload.data.len());
            packets.push(Packet {
                payload: payload.data.to_vec(),
                marker: payload.marker,
                sequence,
                timestamp: 3000 * i as u32,
            });
            sequence = sequence.wrapping_add(1);
        }
        out.push(packets);
    }
    out
}

/// Pushes the packets and drains the outputs: frames and drop reports.
pub fn receive<'a, F: PayloadFormat>(
    d: &mut Depacketizer<F>,
    packets: impl IntoIterator<Item = &'a Packet>,
) -> (Vec<Frame<F::Meta>>, Vec<Dropped>) {
    let (mut frames, mut drops) = (Vec::new(), Vec::new());
    for p in packets {
        let _ = d.push(&p.payload, p.marker, p.sequence, p.timestamp);
        while let Some(out) = d.poll() {
            match out {
                Depacketized::Frame(f) => frames.push(f),
                Depacketized::Dropped(l) => drops.push(l),
            }
        }
    }
    (frames, drops)
}

/// Every frame sent arrives, whole, in order, with nothing dropped;
/// `expected` maps a frame sent to the bytes the receiver should give back.
pub fn check_round_trip<P: Packetizer, F: PayloadFormat>(
    p: &mut P,
    d: &mut Depacketizer<F>,
    frames: &[Vec<u8>],
    mtu: usize,
    expected: impl Fn(&[u8]) -> Vec<u8>,
) -> Vec<Frame<F::Meta>> {
    let sent = send(p, frames, mtu, 65_530);
    let (got, drops) = receive(d, sent.iter().flatten());
    assert!(drops.is_empty(), "mtu {mtu}: {drops:?}");
    assert_eq!(got.len(), frames.len(), "mtu {mtu}: frames delivered");
    for (i, (f, frame)) in got.iter().zip(frames).enumerate() {
        assert_eq!(f.data, expected(frame), "mtu {mtu}: frame {i}");
        assert_eq!(f.timestamp, 3000 * i as u32);
        assert_eq!(f.marker, sent[i].last().unwrap().marker);
        assert!(!f.discontinuity);
    }
    got
}

/// For each position of the middle frame's packets, loses that one packet
/// and checks the frames around it arrive whole, the loss is reported, and
/// the middle frame is never delivered with its hole: only whole, or (when the
/// lost packet carried units before its first slice) with `discontinuity` set.
pub fn check_loss_each_position<P: Packetizer, F: PayloadFormat + Clone>(
    make: impl Fn() -> (P, Depacketizer<F>),
    frames: [Vec<u8>; 3],
    mtu: usize,
    expected: impl Fn(&[u8]) -> Vec<u8>,
) {
    let (mut p, _) = make();
    let sent = send(&mut p, &frames, mtu, 100);
    for lost in 0..sent[1].len() {
        let (_, mut d) = make();
        let packets = sent.iter().flatten().filter(|pk| pk.sequence != sent[1][lost].sequence);
        let (got, drops) = receive(&mut d, packets);
        let context = format!("packet {lost} of {} lost", sent[1].len());
        assert!(!drops.is_empty(), "{context}: no loss reported");
        assert_eq!(got.first().map(|f| f.timestamp), Some(0), "{context}: first frame");
        assert_eq!(got[0].data, expected(&frames[0]), "{context}");
        let last = got.last().unwrap();
        assert_eq!((last.timestamp, &last.data[..]), (6000, &expected(&frames[2])[..]), "{context}: last frame");
        assert!(last.discontinuity || got.len() == 3, "{context}");
        for middle in got.iter().filter(|f| f.timestamp == 3000) {
            assert!(middle.discontinuity, "{context}: a damaged frame delivered as whole");
            assert!(expected(&frames[1]).ends_with(&middle.data), "{context}: delivered with a hole");
        }
        assert!(got.len() <= 3);
        assert_eq!(d.stats().lost_packets, 1, "{context}");
    }
}
