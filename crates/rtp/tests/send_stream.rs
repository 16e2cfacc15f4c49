//! Scenarios for the send side of the RTP session on virtual time: a sender and a simulated
//! receiver, packets serialized and parsed on the way, a seeded xorshift (testkit) for loss.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtp::extension::ExtensionMap;
use rtp::packet::{seq_diff, RtpPacket};
use rtp::payload::rtx;
use rtp::rtcp::{compact_ntp, parse_compound, write_compound, Nack, ReceiverReport, ReportBlock, RtcpPacket};
use rtp::session::send::ntp::duration_to_compact;
use rtp::session::send::{
    MediaKind, MediaPacket, NtpClock, RtxConfig, SendEvent, SendStream, SendStreamConfig, TransportSequence,
};
use testkit::Rng;

const SSRC: u32 = 0xA1B2_C3D4;
const RTX_SSRC: u32 = 0x0BAD_F00D;
const RECEIVER_SSRC: u32 = 0x1234;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn video_stream(t0: Instant, seed: u64) -> SendStream {
    let mut config = SendStreamConfig::new(SSRC, MediaKind::Video, 90_000, "scenario", NtpClock::new(t0, 0xE000 << 32));
    let mut map = ExtensionMap::new();
    map.insert(1, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
    map.insert(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01").unwrap();
    config.extensions = map;
    config.mid = Some("v".into());
    config.rtx = Some(RtxConfig { ssrc: RTX_SSRC, payload_types: vec![(96, 97)] });
    config.seed = seed;
    SendStream::new(config).unwrap()
}

/// Over the wire and back: what the receiver gets is what it parses.
fn rtp_wire(packet: &RtpPacket) -> RtpPacket {
    let mut out = Vec::new();
    packet.write(&mut out).unwrap();
    RtpPacket::parse(Bytes::from(out)).unwrap()
}

fn rtcp_wire(packets: &[RtcpPacket]) -> Vec<RtcpPacket> {
    let mut out = Vec::new();
    write_compound(packets, &mut out).unwrap();
    parse_compound(&out).unwrap()
}

/// 1.5 Mbit/s of video at 25 fps: 7500 bytes a frame in 1100-byte packets, one every 40 ms.
struct Camera {
    frame: u64,
}

impl Camera {
    const FRAME_INTERVAL: Duration = Duration::from_millis(40);

    fn frame_payloads(&mut self) -> Vec<Bytes> {
        let id = self.frame;
        self.frame += 1;
        let mut left = 7500usize;
        let mut out = Vec::new();
        while left > 0 {
            let len = left.min(1100);
            let fill = (id as u8).wrapping_add(out.len() as u8);
            out.push(Bytes::from(vec![fill; len]));
            left -= len;
        }
        out
    }

    /// Sends one frame at `now`; returns its packets.
    fn send(&mut self, now: Instant, stream: &mut SendStream, tw: &mut TransportSequence) -> Vec<RtpPacket> {
        let media_time = self.frame * 3600;
        let payloads = self.frame_payloads();
        let last = payloads.len() - 1;
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                let mut media = MediaPacket::new(96, media_time, now, payload);
                media.marker = i == last;
                stream.write_rtp(now, media, tw).unwrap()
            })
            .collect()
    }
}

/// The receiving end: notes what is missing, NACKs it on a 20 ms tick (libwebrtc's NACK
/// module period) at most once per its RTT, answers SRs with RRs.
struct Receiver {
    rtt: Duration,
    highest: Option<u16>,
    /// Missing sequence number → when last NACKed.
    missing: HashMap<u16, Option<Instant>>,
    last_sr: Option<(u32, Instant)>,
    recovered: u64,
}

impl Receiver {
    fn new(rtt: Duration) -> Self {
        Receiver { rtt, highest: None, missing: HashMap::new(), last_sr: None, recovered: 0 }
    }

    /// Receives a media sequence number (from the media SSRC or unwrapped from RTX).
    fn on_media(&mut self, seq: u16) {
        if self.missing.remove(&seq).is_some() {
            self.recovered += 1;
            return;
        }
        match self.highest {
            None => self.highest = Some(seq),
            Some(high) if seq_diff(seq, high) > 0 => {
                let mut s = high.wrapping_add(1);
                while s != seq {
                    self.missing.insert(s, None);
                    s = s.wrapping_add(1);
                }
                self.highest = Some(seq);
            }
            Some(_) => {}
        }
    }

    fn nack(&mut self, now: Instant) -> Option<Nack> {
        let mut due: Vec<u16> = Vec::new();
        for (seq, last) in self.missing.iter_mut() {
            if last.is_none_or(|at| now - at >= self.rtt) {
                *last = Some(now);
                due.push(*seq);
            }
        }
        let high = self.highest?;
        due.sort_by_key(|s| seq_diff(*s, high));
        (!due.is_empty()).then(|| Nack::from_lost(RECEIVER_SSRC, SSRC, due))
    }

    /// Keeps the LSR of each SR, with its arrival time.
    fn on_rtcp(&mut self, now: Instant, compound: &[RtcpPacket]) {
        for p in compound {
            if let RtcpPacket::SenderReport(sr) = p {
                self.last_sr = Some((compact_ntp(sr.ntp_time), now));
            }
        }
    }

    fn rr(&self, now: Instant) -> ReceiverReport {
        let (last_sr, delay) = match self.last_sr {
            Some((lsr, at)) => (lsr, duration_to_compact(now - at)),
            None => (0, 0),
        };
        let block = ReportBlock { ssrc: SSRC, last_sr, delay_since_last_sr: delay, ..Default::default() };
        ReceiverReport { ssrc: RECEIVER_SSRC, reports: vec![block], profile_extensions: Vec::new() }
    }
}

#[test]
fn five_percent_loss_for_a_minute_every_nack_answered_once_per_rtt() {
    let t0 = Instant::now();
    let rtt = ms(50);
    let one_way = rtt / 2;
    let mut stream = video_stream(t0, 1);
    let mut tw = TransportSequence::new(1);
    let mut camera = Camera { frame: 0 };
    let mut receiver = Receiver::new(rtt);
    let mut loss = Rng::xorshift64(0x5EED);
    let mut to_receiver: VecDeque<(Instant, RtpPacket)> = VecDeque::new();
    let mut to_sender: VecDeque<(Instant, Vec<RtcpPacket>)> = VecDeque::new();
    let mut reports: VecDeque<(Instant, Vec<RtcpPacket>)> = VecDeque::new();
    let mut originals: HashMap<u16, Bytes> = HashMap::new();
    let mut resent_at: HashMap<u16, Vec<Instant>> = HashMap::new();
    let (mut lost, mut lost_media, mut rtx_checked, mut rtts) = (0u64, 0u64, 0u64, Vec::new());
    let mut next_frame = t0;
    let mut next_rr = t0 + ms(1000);
    let end = t0 + Duration::from_secs(60);
    let mut now = t0;
    while now < end {
        // Sender: frames, feedback, timers; everything it emits goes on the wire.
        let mut sent = Vec::new();
        if now >= next_frame {
            for p in camera.send(now, &mut stream, &mut tw) {
                originals.insert(p.header.sequence_number, p.payload.clone());
                sent.push(p);
            }
            next_frame += Camera::FRAME_INTERVAL;
        }
        while to_sender.front().is_some_and(|(at, _)| *at <= now) {
            let (_, compound) = to_sender.pop_front().unwrap();
            compound.iter().for_each(|p| stream.handle_rtcp(now, p));
        }
        if stream.poll_timeout().is_some_and(|at| at <= now) {
            stream.handle_timeout(now);
        }
        while let Some(p) = stream.poll_rtp(now, &mut tw) {
            assert_eq!((p.header.ssrc, p.header.payload_type), (RTX_SSRC, 97));
            let (osn, payload) = rtx::unwrap(&p.payload).unwrap();
            assert_eq!(payload, &originals[&osn][..], "RTX for {osn} carries its payload");
            rtx_checked += 1;
            resent_at.entry(osn).or_default().push(now);
            sent.push(p);
        }
        while let Some(event) = stream.poll_event() {
            if let SendEvent::RoundTripTime(rtt) = event {
                rtts.push(rtt);
            }
        }
        for p in sent {
            if loss.below(100) < 5 {
                lost += 1;
                lost_media += (p.header.ssrc == SSRC) as u64;
            } else {
                to_receiver.push_back((now + one_way, rtp_wire(&p)));
            }
        }
        while let Some(compound) = stream.poll_rtcp() {
            reports.push_back((now + one_way, rtcp_wire(&compound)));
        }
        // Receiver: media and reports, then its 20 ms NACK tick and a 1 s RR.
        while reports.front().is_some_and(|(at, _)| *at <= now) {
            let (_, compound) = reports.pop_front().unwrap();
            receiver.on_rtcp(now, &compound);
        }
        while to_receiver.front().is_some_and(|(at, _)| *at <= now) {
            let (_, p) = to_receiver.pop_front().unwrap();
            if p.header.ssrc == RTX_SSRC {
                receiver.on_media(rtx::unwrap(&p.payload).unwrap().0);
            } else {
                receiver.on_media(p.header.sequence_number);
            }
        }
        if (now - t0).as_millis().is_multiple_of(20) {
            if let Some(nack) = receiver.nack(now) {
                to_sender.push_back((now + one_way, rtcp_wire(&[nack.into()])));
            }
        }
        if now >= next_rr {
            to_sender.push_back((now + one_way, rtcp_wire(&[receiver.rr(now).into()])));
            next_rr += ms(1000);
        }
        now += ms(1);
    }

    let stats = stream.stats();
    assert_eq!(stats.packets, 60 * 25 * 7);
    assert!((450..700).contains(&lost), "5% of 10,500 packets and their RTX: {lost}");
    // Every sequence number NACKed was in the history and answered: none too soon, none over
    // the cap, none unknown.
    assert!(stats.nack.requested > 500, "{:?}", stats.nack);
    assert_eq!(stats.nack.queued, stats.nack.requested, "{:?}", stats.nack);
    assert_eq!(stats.retransmitted_packets, rtx_checked);
    assert_eq!(rtx_checked, stats.nack.queued);
    // Never twice within one RTT.
    for times in resent_at.values() {
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= rtt, "resent {:?} apart", pair[1] - pair[0]);
        }
    }
    assert!(resent_at.values().any(|t| t.len() > 1), "some RTX were lost and asked for again");
    // Everything lost was recovered but what was lost in the last round trips.
    assert!(receiver.missing.len() <= 3, "still missing: {:?}", receiver.missing.keys());
    assert_eq!(receiver.recovered + receiver.missing.len() as u64, lost_media);
    // The round trip the SR/RR exchange measured.
    assert!(rtts.len() >= 50, "{}", rtts.len());
    assert!(rtts.iter().all(|r| r.abs_diff(rtt) <= ms(1)), "{rtts:?}");
}

#[test]
fn a_flood_of_nacks_stays_within_the_cap_and_the_bounds() {
    let t0 = Instant::now();
    let mut stream = video_stream(t0, 2);
    let history = stream.history().config();
    let max_pending = rtp::session::send::RetransmitConfig::default().max_pending;
    let mut tw = TransportSequence::new(1);
    let mut camera = Camera { frame: 0 };
    let mut rng = Rng::xorshift64(0xF100D);
    let mut originals: HashMap<u16, Bytes> = HashMap::new();
    let mut resent_at: HashMap<u16, Instant> = HashMap::new();
    // Bytes per millisecond, media and resent.
    let (mut media, mut resent) = (vec![0u64; 10_000], vec![0u64; 10_000]);
    let mut newest = 0u16;
    // 10 s of 1.5 Mbit/s video under 10 NACKs a millisecond: 100,000 NACKs of 1 to 4
    // entries, half near the newest packets, half anywhere.
    for i in 0..10_000usize {
        let now = t0 + ms(i as u64);
        if i % 40 == 0 {
            for p in camera.send(now, &mut stream, &mut tw) {
                media[i] += p.encoded_len() as u64;
                newest = p.header.sequence_number;
                originals.insert(newest, p.payload.clone());
            }
        }
        for _ in 0..10 {
            let entries = 1 + rng.next_u64() % 4;
            let lost = (0..entries).flat_map(|_| {
                let pid = if rng.below(100) < 50 {
                    newest.wrapping_sub((rng.next_u64() % 3000) as u16)
                } else {
                    rng.next_u64() as u16
                };
                let blp = rng.next_u64() as u16;
                rtp::rtcp::NackPair { pid, blp }.lost().collect::<Vec<_>>()
            });
            stream.handle_rtcp(now, &Nack::from_lost(RECEIVER_SSRC, SSRC, lost).into());
        }
        while let Some(p) = stream.poll_rtp(now, &mut tw) {
            let (osn, payload) = rtx::unwrap(&p.payload).unwrap();
            assert_eq!(payload, &originals[&osn][..]);
            if let Some(last) = resent_at.insert(osn, now) {
                assert!(now - last >= ms(100), "{osn} resent twice within the default RTT");
            }
            resent[i] += p.encoded_len() as u64;
        }
        assert!(stream.history().bytes() <= history.max_bytes);
        assert!(stream.history().len() <= history.max_packets);
        assert!(stream.pending_resends() <= max_pending);
    }
    let stats = stream.stats();
    assert_eq!(stats.nack.nacks, 100_000);
    assert!(stats.nack.requested > 500_000, "{:?}", stats.nack);
    assert!(stats.nack.unknown > stats.nack.requested / 2, "{:?}", stats.nack);
    assert!(stats.nack.rate_limited > 100_000, "{:?}", stats.nack);
    // The history holds about its 3 s, not what the flood asked for.
    assert!(stream.history().len() <= 3 * 25 * 7 + 7, "{}", stream.history().len());
    // Resends within every 500 ms stay under half the media of that window (its 25 ms
    // buckets let a window reach back a little further, hence 55%).
    let total_media: u64 = media.iter().sum();
    let total_resent: u64 = resent.iter().sum();
    assert!(total_resent <= total_media / 2 + 1500, "{total_resent} of {total_media}");
    assert!(total_resent > total_media * 4 / 10, "the flood used the cap: {total_resent} of {total_media}");
    for start in (500..10_000).step_by(100) {
        let window_media: u64 = media[start - 25..start + 500.min(10_000 - start)].iter().sum();
        let window_resent: u64 = resent[start..start + 500.min(10_000 - start)].iter().sum();
        assert!(window_resent <= window_media * 55 / 100 + 1500, "at {start} ms: {window_resent} of {window_media}");
    }
}

#[test]
fn sr_rr_exchange_measures_the_configured_rtt() {
    for (forward, back) in [(5, 5), (37, 83), (150, 350)] {
        let t0 = Instant::now();
        let mut stream = video_stream(t0, forward);
        let mut tw = TransportSequence::new(1);
        let mut rng = Rng::xorshift64(0xACE + forward);
        let mut receiver = Receiver::new(ms(100));
        // SRs on their way to the receiver, RRs on their way back.
        let mut srs: VecDeque<(Instant, Vec<RtcpPacket>)> = VecDeque::new();
        let mut rrs: VecDeque<(Instant, Vec<RtcpPacket>)> = VecDeque::new();
        let mut rr_due: Option<Instant> = None;
        let mut rtts = Vec::new();
        for i in 0..30_000u64 {
            let now = t0 + ms(i);
            if i % 20 == 0 {
                stream
                    .write_rtp(now, MediaPacket::new(96, i * 90, now, Bytes::from_static(&[0; 160])), &mut tw)
                    .unwrap();
            }
            if stream.poll_timeout().is_some_and(|at| at <= now) {
                stream.handle_timeout(now);
            }
            while let Some(compound) = stream.poll_rtcp() {
                srs.push_back((now + ms(forward), rtcp_wire(&compound)));
            }
            while srs.front().is_some_and(|(at, _)| *at <= now) {
                receiver.on_rtcp(now, &srs.pop_front().unwrap().1);
                // The receiver holds it 0 to 1 s before it reports.
                rr_due = Some(now + ms(rng.next_u64() % 1000));
            }
            if rr_due.is_some_and(|at| at <= now) {
                rr_due = None;
                rrs.push_back((now + ms(back), rtcp_wire(&[receiver.rr(now).into()])));
            }
            while rrs.front().is_some_and(|(at, _)| *at <= now) {
                rrs.pop_front().unwrap().1.iter().for_each(|p| stream.handle_rtcp(now, p));
            }
            while let Some(event) = stream.poll_event() {
                if let SendEvent::RoundTripTime(rtt) = event {
                    rtts.push(rtt);
                }
            }
        }
        let want = ms(forward + back);
        assert!(rtts.len() >= 10, "{forward}+{back} ms: {} RTTs", rtts.len());
        assert!(rtts.iter().all(|r| r.abs_diff(want) <= ms(1)), "{forward}+{back} ms: {rtts:?}");
        assert_eq!(stream.rtt().map(|r| r.abs_diff(want) <= ms(1)), Some(true));
        assert_eq!(stream.stats().rtt.unknown_lsr, 0);
    }
}
