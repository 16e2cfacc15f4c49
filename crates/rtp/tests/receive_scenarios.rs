//! The receive side of an RTP session on virtual time: a video stream over a lossy,
//! reordering link whose losses the NACK generator recovers; a long outage that becomes one
//! keyframe request; and a flood of random sequence numbers that cannot grow memory.
//!
//! Time is a virtual millisecond counter over one `Instant`; randomness a seeded xorshift (testkit).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rtp::session::receive::{
    KeyframeMethod, KeyframeRequest, KeyframeRequester, NackGenerator, NackOutput, ReceiveStats, MAX_NACK_PACKETS,
    MIN_KEYFRAME_INTERVAL,
};
use testkit::Rng;

const MS: Duration = Duration::from_millis(1);

/// A packet on the wire to the receiver.
#[derive(Clone, Copy, Debug)]
struct Sent {
    seq: u16,
    timestamp: u32,
    keyframe: bool,
    rtx: bool,
}

/// A one-way link: fixed delay, random loss, and a share of packets held 1–2 ms longer
/// (so they arrive after up to two later ones).
struct Link {
    rng: Rng,
    delay_ms: u64,
    loss: f64,
    reorder: f64,
    /// Packets by arrival millisecond.
    in_flight: BTreeMap<u64, Vec<Sent>>,
}

impl Link {
    /// Sends `packet` at millisecond `now`; false when the link loses it.
    fn send(&mut self, now: u64, packet: Sent) -> bool {
        if self.rng.chance(self.loss) {
            return false;
        }
        let extra = if self.rng.chance(self.reorder) { 1 + self.rng.next_u64() % 2 } else { 0 };
        self.in_flight.entry(now + self.delay_ms + extra).or_default().push(packet);
        true
    }

    fn arrivals(&mut self, now: u64) -> Vec<Sent> {
        self.in_flight.remove(&now).unwrap_or_default()
    }
}

#[test]
fn five_percent_loss_with_reordering_is_recovered_by_nacks_paced_by_the_rtt() {
    const RTT_MS: u64 = 50;
    const SECONDS: u64 = 60;
    const PACKETS_PER_FRAME: u64 = 6; // 25 fps at about 1.5 Mbit/s, 1,200-byte packets
    const FIRST_SEQ: u16 = 60_000; // wraps during the run
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut link =
        Link { rng: Rng::new(0x5eed), delay_ms: RTT_MS / 2, loss: 0.05, reorder: 0.02, in_flight: BTreeMap::new() };
    let mut nack = NackGenerator::default();
    nack.set_rtt(Duration::from_millis(RTT_MS));
    let mut stats = ReceiveStats::new(0x1234, 90_000);

    let total = (SECONDS * 25 * PACKETS_PER_FRAME) as usize;
    let index = |seq: u16| seq.wrapping_sub(FIRST_SEQ) as usize;
    let mut original_lost = vec![false; total];
    let mut received = vec![false; total];
    let mut nacked_at: Vec<Vec<u64>> = vec![Vec::new(); total];
    let mut keyframe_requests = 0;
    let mut next_seq = FIRST_SEQ;

    for now in 0..(SECONDS + 1) * 1000 {
        // The sender: a frame every 40 ms, its packets 1 ms apart.
        if now < SECONDS * 1000 && now % 40 < PACKETS_PER_FRAME {
            let frame = now / 40;
            let packet = Sent {
                seq: next_seq,
                timestamp: frame as u32 * 3600,
                keyframe: frame == 0 && now % 40 == 0,
                rtx: false,
            };
            original_lost[index(next_seq)] = !link.send(now, packet);
            next_seq = next_seq.wrapping_add(1);
        }
        // The receiver.
        for p in link.arrivals(now) {
            received[index(p.seq)] = true;
            if p.rtx {
                nack.on_recovered(at(now), p.seq);
            } else {
                stats.on_packet(at(now), p.seq, p.timestamp, 1200);
                nack.on_packet(at(now), p.seq, p.keyframe);
            }
        }
        if nack.poll_timeout().is_some_and(|t| t <= at(now)) {
            nack.handle_timeout(at(now));
        }
        while let Some(out) = nack.poll_output() {
            match out {
                NackOutput::RequestKeyframe => keyframe_requests += 1,
                NackOutput::Nack(seqs) => {
                    for seq in seqs {
                        nacked_at[index(seq)].push(now);
                        // The sender answers half an RTT later with an RTX copy, over the
                        // same lossy link.
                        let rtx = Sent { seq, timestamp: 0, keyframe: false, rtx: true };
                        link.send(now + RTT_MS / 2, rtx);
                    }
                }
            }
        }
    }

    let lost: Vec<usize> = (0..total).filter(|&i| original_lost[i]).collect();
    assert!((total / 25..total / 15).contains(&lost.len()), "{} of {total} lost: about 5%", lost.len());
    for &i in &lost {
        assert!(!nacked_at[i].is_empty(), "packet {i} was lost and never NACKed");
    }
    for (i, times) in nacked_at.iter().enumerate() {
        assert!(original_lost[i] || times.is_empty(), "packet {i} arrived (reordered) yet was NACKed");
        assert!(times.windows(2).all(|w| w[1] - w[0] >= RTT_MS), "packet {i} NACKed twice within an RTT: {times:?}");
    }
    assert!(received.iter().all(|r| *r), "every packet arrived, in the end");
    assert_eq!(keyframe_requests, 0);
    assert_eq!((nack.stats().given_up, nack.len()), (0, 0));
    let repeats = nack.stats().requested - lost.len() as u64;
    assert!(repeats < lost.len() as u64 / 5, "{repeats} repeats for {} losses: about 5% of RTX lost", lost.len());

    // The RFC 3550 statistics of the media stream saw the same losses, between the first
    // and the last packet that arrived.
    let first = (0..total).find(|&i| !original_lost[i]).unwrap();
    let last = (0..total).rev().find(|&i| !original_lost[i]).unwrap();
    assert_eq!(stats.expected(), (last - first + 1) as u64);
    assert_eq!(stats.cumulative_lost(), lost.iter().filter(|&&i| i > first && i < last).count() as i64);
    assert_eq!(stats.extended_highest_seq(), Some(FIRST_SEQ as u64 + last as u64), "one cycle up, past the wrap");
    assert!(stats.jitter_duration() < 2 * MS, "jitter {:?}", stats.jitter_duration());
}

#[test]
fn an_outage_of_2000_packets_becomes_one_keyframe_request() {
    const DELAY_MS: u64 = 25;
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut nack = NackGenerator::default();
    nack.set_rtt(Duration::from_millis(2 * DELAY_MS));
    let mut keyframes = KeyframeRequester::new(KeyframeMethod::Pli);
    keyframes.set_rtt(Duration::from_millis(2 * DELAY_MS));
    let (mut nacked, mut overflows, mut plis) = (0, 0, Vec::new());
    // The sender sends a keyframe when a PLI reaches it (set below).
    let mut keyframe_at: Option<u64> = None;
    // One packet a millisecond; packets 100..2100 are lost in an outage.
    for now in 0..4000u64 {
        // The packet sent at `now - DELAY_MS` arrives now, unless the outage took it.
        let sent = now.wrapping_sub(DELAY_MS);
        if now >= DELAY_MS && !(100..2100).contains(&sent) {
            let is_keyframe = keyframe_at == Some(sent);
            nack.on_packet(at(now), sent as u16, is_keyframe);
            if is_keyframe {
                keyframes.on_keyframe(at(now));
            }
        }
        for t in [nack.poll_timeout(), keyframes.poll_timeout()].into_iter().flatten() {
            if t <= at(now) {
                nack.handle_timeout(at(now));
                keyframes.handle_timeout(at(now));
            }
        }
        while let Some(out) = nack.poll_output() {
            match out {
                NackOutput::Nack(seqs) => nacked += seqs.len(),
                NackOutput::RequestKeyframe => {
                    overflows += 1;
                    keyframes.request(at(now));
                }
            }
        }
        while let Some(request) = keyframes.poll_output() {
            assert_eq!(request, KeyframeRequest::Pli);
            plis.push(now);
            keyframe_at = Some(now + DELAY_MS);
        }
    }
    assert_eq!(overflows, 1);
    assert_eq!(nacked, 0, "no NACK for the 2,000 lost packets");
    assert_eq!(plis, [2100 + DELAY_MS], "one PLI as the first packet after the outage arrived");
    assert!(!keyframes.is_waiting(), "the keyframe came");
    assert!(nack.is_empty());
}

#[test]
fn a_flood_of_random_sequence_numbers_stays_bounded() {
    let t0 = Instant::now();
    let mut rng = Rng::new(0xf100d);
    let mut nack = NackGenerator::default();
    let mut keyframes = KeyframeRequester::new(KeyframeMethod::Fir);
    let mut stats = ReceiveStats::new(1, 90_000);
    let (mut longest_nack, mut firs, mut discarded_or_counted) = (0, 0u64, 0u64);
    let packets = 50_000u64;
    let mut now = t0;
    for _ in 0..packets {
        now += Duration::from_micros(100);
        let r = rng.next_u64();
        let seq = r as u16;
        match (r >> 16) & 0xff {
            0..=2 => nack.on_packet(now, seq, true),
            3..=20 => nack.on_recovered(now, seq),
            _ => nack.on_packet(now, seq, false),
        };
        stats.on_packet(now, seq, (r >> 32) as u32, ((r >> 24) & 0x7ff) as usize);
        discarded_or_counted += 1;
        if nack.poll_timeout().is_some_and(|t| t <= now) {
            nack.handle_timeout(now);
        }
        keyframes.handle_timeout(now);
        while let Some(out) = nack.poll_output() {
            match out {
                NackOutput::Nack(seqs) => longest_nack = longest_nack.max(seqs.len()),
                NackOutput::RequestKeyframe => keyframes.request(now),
            }
        }
        firs += keyframes.poll_output().is_some() as u64;
        assert!(nack.len() <= MAX_NACK_PACKETS);
    }
    let elapsed = now - t0;
    assert!(longest_nack <= MAX_NACK_PACKETS, "{longest_nack}");
    assert!(nack.stats().overflows > 0, "the flood did overflow the list");
    assert!(firs <= (elapsed.as_millis() / MIN_KEYFRAME_INTERVAL.as_millis()) as u64 + 1, "{firs} FIRs in {elapsed:?}");
    // The statistics hold no heap memory at all, and counted every packet one way or the
    // other.
    assert!(size_of::<ReceiveStats>() < 512);
    assert_eq!(stats.packets_received() + stats.discarded(), discarded_or_counted);
}
