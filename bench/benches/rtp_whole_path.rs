//! The whole RTP path of one video call on one core, oxrtc next to webrtc-rs and str0m in
//! the same run, in packets per second of CPU. The call is the one of
//! `crates/rtp/benches/whole_path.rs`: 250 VP8 frames of 7.5 KB at 25 fps (1.5 Mbit/s),
//! 1,100-byte payloads, a virtual clock, 20 ms one way and no loss, the sender's estimate
//! starting at 2 Mbit/s, SRTP both ways, the receiver's RTCP back to the sender. Our
//! bandwidth probing is off here (webrtc-rs's chain has none), so both carry the 1,750
//! media packets and no others.
//!
//! - oxrtc: a sending `Session` (packetizer, transport-wide sequence numbers, pacer,
//!   congestion controller, send history for NACK, reports), `oxrtc-srtp`, a receiving
//!   `Session` (routing, statistics, NACK and transport-wide feedback, depacketizer,
//!   jitter buffer, reports).
//! - webrtc-rs (`rtc-rtp`, `rtc-rtcp`, `rtc-srtp`, `rtc-interceptor` 0.21): `rtc-rtp`'s
//!   packetizer with its VP8 payloader and abs-send-time, then a sending interceptor chain
//!   (congestion control with its `Gcc`, TWCC sender, pacer, NACK responder, sender
//!   reports), marshal, `rtc-srtp`; unmarshal, a receiving chain (TWCC receiver, NACK
//!   generator, receiver reports, jitter buffer), and what the chain releases depacketized
//!   with `rtc-rtp`'s VP8 depacketizer and joined into frames at the marker bit (the
//!   chains leave that to the application).
//!
//! CPU time of the thread (`CLOCK_THREAD_CPUTIME_ID`), set-up and key derivation
//! excluded; 5 runs of at least 0.5 s of CPU each, medians. Run:
//! `cargo bench -p oxrtc-bench --bench rtp_whole_path`.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc_interceptor::{
    AttributedPacket, CongestionControlBuilder, Gcc, Interceptor, JitterBufferBuilder, NackGeneratorBuilder,
    NackResponderBuilder, PacerBuilder, Packet, RTCPFeedback, RTPHeaderExtension, ReceiverReportBuilder, Registry,
    SenderReportBuilder, Slot, StreamInfo, TaggedPacket, TwccReceiverBuilder, TwccSenderBuilder,
};
use rtc_rtp::packetizer::{Depacketizer, Packetizer};
use rtc_shared::marshal::{Marshal, Unmarshal};
use rtc_shared::TransportContext;
use sansio::Protocol;

const SSRC: u32 = 0x1111;
const FRAMES_PER_PASS: u64 = 250;
const MAX_PAYLOAD: usize = 1_100;
const START_BPS: u64 = 2_000_000;
const TWCC_URI: &str = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
const ABS_SEND_TIME_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
const RUNS: usize = 5;
const MIN_RUN: Duration = Duration::from_millis(500);

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Crypto {
    AesCmHmacSha1_80,
    AesGcm128,
}

impl Crypto {
    fn profile(self) -> srtp::Profile {
        match self {
            Crypto::AesCmHmacSha1_80 => srtp::Profile::Aes128CmHmacSha1_80,
            Crypto::AesGcm128 => srtp::Profile::AeadAes128Gcm,
        }
    }
}

/// A datagram in flight: when it arrives, its bytes, whether it is RTCP.
type Wire = VecDeque<(Instant, Vec<u8>, bool)>;

// ---- oxrtc: the driver of crates/rtp/benches/whole_path.rs ----

#[path = "../../crates/rtp/benches/path/mod.rs"]
mod path;

use path::{Counts, FRAME_INTERVAL, FRAME_SIZE, ONE_WAY, VP8_PT};

fn ours_pass(crypto: Crypto, frames: &[Bytes], counts: &mut Counts) -> Duration {
    // webrtc-rs's chain sends no probes: neither does ours here, so both carry the same packets.
    let options = path::Options { probing: false, max_payload: Some(MAX_PAYLOAD) };
    path::pass(crypto.profile(), options, frames, None, counts, thread_cpu, |t0| thread_cpu() - t0)
}

// ---- webrtc-rs ----

fn stream_info() -> StreamInfo {
    let fb = |typ: &str, parameter: &str| RTCPFeedback { typ: typ.into(), parameter: parameter.into() };
    StreamInfo {
        ssrc: SSRC,
        clock_rate: 90_000,
        mime_type: "video/VP8".into(),
        payload_type: VP8_PT,
        rtcp_feedback: vec![fb("nack", ""), fb("nack", "pli"), fb("transport-cc", "")],
        rtp_header_extensions: vec![
            RTPHeaderExtension { uri: ABS_SEND_TIME_URI.into(), id: 2 },
            RTPHeaderExtension { uri: TWCC_URI.into(), id: 3 },
        ],
        ..Default::default()
    }
}

fn their_context(crypto: Crypto, byte: u8) -> rtc_srtp::context::Context {
    let profile = match crypto {
        Crypto::AesCmHmacSha1_80 => rtc_srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_80,
        Crypto::AesGcm128 => rtc_srtp::protection_profile::ProtectionProfile::AeadAes128Gcm,
    };
    let key = vec![byte; profile.key_len()];
    let salt = vec![byte ^ 0x5a; profile.salt_len()];
    let provider = rtc_srtp::crypto::default_provider().expect("a crypto provider");
    rtc_srtp::context::Context::new(&key, &salt, profile, None, None, provider.crypto()).unwrap()
}

fn tagged(now: Instant, packet: Packet) -> TaggedPacket {
    TaggedPacket { now, transport: TransportContext::default(), message: AttributedPacket::new(packet) }
}

fn their_pass(crypto: Crypto, frames: &[Bytes], counts: &mut Counts) -> Duration {
    let t0 = Instant::now();
    let info = stream_info();
    let start = START_BPS as f64;
    let mut sender = Registry::new()
        .with(Slot::CongestionControl, CongestionControlBuilder::new(Gcc::new(start, 30_000.0, 10_000_000.0)).build())
        .with(Slot::TwccSender, TwccSenderBuilder::new().build())
        .with(Slot::Pacer, PacerBuilder::new().with_target_bitrate(start).build())
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(Slot::SenderReport, SenderReportBuilder::new().build())
        .build();
    sender.bind_local_stream(&info);
    let mut receiver = Registry::new()
        .with(Slot::TwccReceiver, TwccReceiverBuilder::new().build())
        .with(Slot::NackGenerator, NackGeneratorBuilder::new().build())
        .with(Slot::ReceiverReport, ReceiverReportBuilder::new().build())
        .with(Slot::JitterBuffer, JitterBufferBuilder::new().build())
        .build();
    receiver.bind_remote_stream(&info);
    let mut payloader = rtc_rtp::codec::vp8::Vp8Payloader::default();
    payloader.enable_picture_id = true;
    let mut packetizer = rtc_rtp::packetizer::new_packetizer(
        t0,
        MAX_PAYLOAD + 12,
        VP8_PT,
        SSRC,
        Box::new(payloader),
        Box::new(rtc_rtp::sequence::new_fixed_sequencer(1)),
        90_000,
    );
    packetizer.enable_abs_send_time(2);
    let mut depacketizer = rtc_rtp::codec::vp8::Vp8Packet::default();
    let mut assembling: Vec<u8> = Vec::new();
    let (mut protect, mut unprotect) = (their_context(crypto, 0x11), their_context(crypto, 0x11));
    let (mut protect_back, mut unprotect_back) = (their_context(crypto, 0x22), their_context(crypto, 0x22));
    let (mut forward, mut back): (Wire, Wire) = (VecDeque::new(), VecDeque::new());
    let end = t0 + FRAME_INTERVAL * frames.len() as u32 + Duration::from_secs(1);

    let cpu = thread_cpu();
    let mut now = t0;
    let mut next_frame = 0usize;
    loop {
        while next_frame < frames.len() && t0 + FRAME_INTERVAL * next_frame as u32 <= now {
            for packet in packetizer.packetize(now, &frames[next_frame], 3_600).unwrap() {
                sender.handle_write(tagged(now, Packet::Rtp(packet))).unwrap();
            }
            next_frame += 1;
        }
        if sender.poll_timeout().is_some_and(|t| t <= now) {
            sender.handle_timeout(now).unwrap();
        }
        while let Some(out) = sender.poll_write() {
            let (wire, rtcp) = match &out.message.packet {
                Packet::Rtp(p) => (protect.encrypt_rtp(&p.marshal().unwrap()).unwrap(), false),
                Packet::Rtcp(p) if p.is_empty() => continue,
                Packet::Rtcp(p) => (protect.encrypt_rtcp(&rtc_rtcp::packet::marshal(p).unwrap()).unwrap(), true),
                _ => continue,
            };
            forward.push_back((now + ONE_WAY, wire.to_vec(), rtcp));
        }
        while sender.poll_read().is_some() {}

        while forward.front().is_some_and(|d| d.0 <= now) {
            let (_, wire, rtcp) = forward.pop_front().unwrap();
            let packet = if rtcp {
                let mut plain = unprotect.decrypt_rtcp(&wire).unwrap().freeze();
                Packet::Rtcp(rtc_rtcp::packet::unmarshal(&mut plain).unwrap())
            } else {
                counts.rtp += 1;
                let mut plain = unprotect.decrypt_rtp(&wire).unwrap().freeze();
                Packet::Rtp(rtc_rtp::Packet::unmarshal(&mut plain).unwrap())
            };
            receiver.handle_read(tagged(now, packet)).unwrap();
            their_frames(&mut receiver, &mut depacketizer, &mut assembling, counts);
        }
        if receiver.poll_timeout().is_some_and(|t| t <= now) {
            receiver.handle_timeout(now).unwrap();
            their_frames(&mut receiver, &mut depacketizer, &mut assembling, counts);
        }
        while let Some(out) = receiver.poll_write() {
            match &out.message.packet {
                Packet::Rtcp(p) if !p.is_empty() => {
                    let wire = protect_back.encrypt_rtcp(&rtc_rtcp::packet::marshal(p).unwrap()).unwrap();
                    back.push_back((now + ONE_WAY, wire.to_vec(), true));
                }
                _ => {}
            }
        }
        while back.front().is_some_and(|d| d.0 <= now) {
            let (_, wire, _) = back.pop_front().unwrap();
            let mut plain = unprotect_back.decrypt_rtcp(&wire).unwrap().freeze();
            counts.rtcp += 1;
            let packets = rtc_rtcp::packet::unmarshal(&mut plain).unwrap();
            sender.handle_read(tagged(now, Packet::Rtcp(packets))).unwrap();
            while sender.poll_read().is_some() {}
        }

        let next = [
            (next_frame < frames.len()).then(|| t0 + FRAME_INTERVAL * next_frame as u32),
            sender.poll_timeout(),
            receiver.poll_timeout(),
            forward.front().map(|d| d.0),
            back.front().map(|d| d.0),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) if t <= end => now = now.max(t),
            _ => break,
        }
        if next_frame == frames.len() && forward.is_empty() && now >= end - Duration::from_millis(500) {
            break;
        }
    }
    thread_cpu() - cpu
}

/// What the receiving chain released: depacketized, joined into frames at the marker bit.
fn their_frames(
    receiver: &mut impl Protocol<TaggedPacket, TaggedPacket, (), Rout = TaggedPacket>,
    depacketizer: &mut rtc_rtp::codec::vp8::Vp8Packet,
    assembling: &mut Vec<u8>,
    counts: &mut Counts,
) {
    while let Some(out) = receiver.poll_read() {
        if let Packet::Rtp(p) = &out.message.packet {
            let data = depacketizer.depacketize(&p.payload).unwrap();
            assembling.extend_from_slice(&data);
            if p.header.marker {
                counts.frames_out += 1;
                black_box(std::mem::take(assembling));
            }
        }
    }
}

// ---- str0m ----

/// One end of the str0m call: its `Rtc`, the datagrams on the way to it, when it wants a timeout.
struct Peer {
    rtc: str0m::Rtc,
    /// Datagrams on the way to this peer: arrival, from, to, bytes.
    inbox: VecDeque<(Instant, std::net::SocketAddr, std::net::SocketAddr, Vec<u8>)>,
    timeout: Instant,
    connected: bool,
    sender: bool,
}

/// What a str0m pass counted at the receiving end.
#[derive(Default, Debug)]
struct Str0mCounts {
    /// RTP datagrams that reached the receiver (VP8 and RTX payload types).
    rtp: u64,
    /// Of which VP8 (the rest RTX: retransmissions, padding and probes).
    media: u64,
    /// RTCP datagrams that reached the sender.
    rtcp: u64,
    /// `Event::MediaData` at the receiver: whole frames.
    frames_out: u64,
}

/// Lets `peer` handle what is due at `now` and polls it until it asks for a timeout: its
/// datagrams go to `other`'s inbox (20 ms later), its events are counted.
fn str0m_drive(peer: &mut Peer, other: &mut Peer, now: Instant, vp8_pt: u8, counts: &mut Str0mCounts) {
    use str0m::net::Receive;
    use str0m::{Event, Input, Output};
    while peer.inbox.front().is_some_and(|d| d.0 <= now) {
        let (_, source, destination, bytes) = peer.inbox.pop_front().unwrap();
        // RTP (RFC 5761 demultiplexing: version 2, not an RTCP packet type) and which payload type.
        if (128..192).contains(&bytes[0]) && !(64..96).contains(&(bytes[1] & 0x7f)) {
            counts.rtp += 1;
            counts.media += (bytes[1] & 0x7f == vp8_pt) as u64;
        } else if (128..192).contains(&bytes[0]) && peer.sender {
            counts.rtcp += 1;
        }
        let contents = bytes.as_slice().try_into().unwrap();
        let input = Input::Receive(now, Receive { proto: str0m::net::Protocol::Udp, source, destination, contents });
        peer.rtc.handle_input(input).unwrap();
        str0m_poll(peer, other, now, counts);
    }
    if peer.timeout <= now {
        peer.rtc.handle_input(Input::Timeout(now)).unwrap();
        str0m_poll(peer, other, now, counts);
    }

    fn str0m_poll(peer: &mut Peer, other: &mut Peer, now: Instant, counts: &mut Str0mCounts) {
        loop {
            match peer.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    peer.timeout = t;
                    break;
                }
                Output::Transmit(t) => {
                    other.inbox.push_back((now + ONE_WAY, t.source, t.destination, t.contents.to_vec()))
                }
                Output::Event(Event::Connected) => peer.connected = true,
                Output::Event(Event::MediaData(data)) => {
                    assert_eq!(data.data.len(), FRAME_SIZE, "str0m: a whole frame");
                    counts.frames_out += 1;
                    black_box(data);
                }
                Output::Event(_) => {}
            }
        }
    }
}

/// The next time either peer needs to run, and that time for the pass's loop.
fn str0m_next(a: &Peer, b: &Peer) -> Instant {
    [Some(a.timeout), Some(b.timeout), a.inbox.front().map(|d| d.0), b.inbox.front().map(|d| d.0)]
        .into_iter()
        .flatten()
        .min()
        .unwrap()
}

fn str0m_peer(start: Instant, port: u16, sender: bool, bwe: bool) -> Peer {
    let mut config = str0m::Rtc::builder().clear_codecs().enable_vp8(true);
    // Datagrams of up to 1,200 bytes: 1,100-byte payloads or a little more, 7 packets a 7.5 KB frame.
    config = config.set_mtu(1_200..=1_500);
    if sender && bwe {
        // Its congestion controller and pacer, the estimate starting at 2 Mbit/s as ours.
        config = config.enable_bwe(Some(str0m::bwe::Bitrate::mbps(2)));
    }
    let mut rtc = config.build(start);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    rtc.add_local_candidate(str0m::Candidate::host(addr, "udp").unwrap()).unwrap();
    Peer { rtc, inbox: VecDeque::new(), timeout: start, connected: false, sender }
}

/// One str0m call: two `Rtc`s negotiated (one VP8 m-line, send-only to receive-only), ICE
/// and DTLS done in memory on a virtual clock, the SRTP keys then set to `crypto`'s profile
/// (str0m's DTLS would pick AES-256-GCM), and the measured part: the frames written with
/// `Writer::write` at 25 fps, the datagrams carried 20 ms each way, the frames counted as
/// `Event::MediaData` at the receiver. CPU time of the measured part. Without `bwe` the
/// sender has no estimator, so no pacing and no probes.
fn str0m_pass(crypto: Crypto, bwe: bool, frames: &[std::sync::Arc<[u8]>], counts: &mut Str0mCounts) -> Duration {
    use str0m::media::{Direction, Frequency, MediaKind, MediaTime};
    let start = Instant::now();
    let (mut left, mut right) = (str0m_peer(start, 10_000, true, bwe), str0m_peer(start, 20_000, false, bwe));
    let mut change = left.rtc.sdp_api();
    let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().unwrap();
    let answer = right.rtc.sdp_api().accept_offer(offer).unwrap();
    left.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    let vp8_pt = left.rtc.codec_config().find(|p| p.spec().codec == str0m::format::Codec::Vp8).unwrap().pt();
    let mut setup = Str0mCounts::default();

    // ICE and DTLS, then a second of the call settling.
    let mut now = start;
    let mut settled = None;
    let mut stuck = 0;
    loop {
        str0m_drive(&mut left, &mut right, now, *vp8_pt, &mut setup);
        str0m_drive(&mut right, &mut left, now, *vp8_pt, &mut setup);
        if settled.is_none() && left.connected && right.connected {
            settled = Some(now + Duration::from_secs(1));
        }
        if settled.is_some_and(|s| now >= s) {
            break;
        }
        assert!(now < start + Duration::from_secs(30), "str0m: no connection");
        let next = str0m_next(&left, &right);
        assert!(next > now || stuck < 1_000, "str0m: time does not move");
        stuck = if next > now { 0 } else { stuck + 1 };
        now = now.max(next);
    }
    // Keying material as DTLS-SRTP exports it: both keys, then both salts.
    use str0m::crypto::dtls::{KeyingMaterial, SrtpProfile};
    let (profile, len) = match crypto {
        Crypto::AesCmHmacSha1_80 => (SrtpProfile::AES128_CM_SHA1_80, 2 * 16 + 2 * 14),
        Crypto::AesGcm128 => (SrtpProfile::AEAD_AES_128_GCM, 2 * 16 + 2 * 12),
    };
    let material: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    left.rtc._set_srtp_keys(KeyingMaterial::new(&material), profile, true);
    right.rtc._set_srtp_keys(KeyingMaterial::new(&material), profile, false);

    let cpu = thread_cpu();
    let t0 = now;
    let end = t0 + FRAME_INTERVAL * frames.len() as u32 + Duration::from_secs(1);
    let mut next_frame = 0usize;
    loop {
        while next_frame < frames.len() && t0 + FRAME_INTERVAL * next_frame as u32 <= now {
            let ts = MediaTime::new(next_frame as u64 * 3_600, Frequency::NINETY_KHZ);
            left.rtc.writer(mid).unwrap().write(vp8_pt, now, ts, frames[next_frame].clone()).unwrap();
            // What the write made ready is polled out with the next timeout.
            left.timeout = now;
            next_frame += 1;
        }
        str0m_drive(&mut left, &mut right, now, *vp8_pt, counts);
        str0m_drive(&mut right, &mut left, now, *vp8_pt, counts);
        let mut next = str0m_next(&left, &right);
        if next_frame < frames.len() {
            next = next.min(t0 + FRAME_INTERVAL * next_frame as u32);
        }
        if next > end
            || (next_frame == frames.len() && right.inbox.is_empty() && now >= end - Duration::from_millis(500))
        {
            break;
        }
        now = now.max(next);
    }
    thread_cpu() - cpu
}

/// Median CPU ns per packet over [`RUNS`] runs of at least [`MIN_RUN`] of CPU each.
fn measure(packets_per_pass: u64, mut pass: impl FnMut() -> Duration) -> f64 {
    let mut run = |passes: u64| (0..passes).map(|_| pass()).sum::<Duration>();
    let mut passes = 1u64;
    let first = loop {
        let cpu = run(passes);
        if cpu >= MIN_RUN {
            break cpu;
        }
        passes = ((passes as f64 * MIN_RUN.as_secs_f64() * 1.2 / cpu.as_secs_f64().max(1e-9)) as u64).max(passes * 2);
    };
    let mut runs: Vec<f64> = std::iter::once(first)
        .chain((1..RUNS).map(|_| run(passes)))
        .map(|d| d.as_nanos() as f64 / (passes * packets_per_pass) as f64)
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    let frames: Vec<Bytes> = (0..FRAMES_PER_PASS).map(path::frame).collect();
    let str0m_frames: Vec<std::sync::Arc<[u8]>> = frames.iter().map(|f| std::sync::Arc::from(&f[..])).collect();
    println!(
        "{FRAMES_PER_PASS} VP8 frames of {FRAME_SIZE} bytes at 25 fps per pass, {} ms one way, CPU ns per RTP packet, median of {RUNS} runs",
        ONE_WAY.as_millis()
    );
    println!("| SRTP | stack | RTP packets per pass (media) | frames out | RTCP back | packets/s per core | ns per packet | oxrtc × |");
    println!("|---|---|---|---|---|---|---|---|");
    for crypto in [Crypto::AesCmHmacSha1_80, Crypto::AesGcm128] {
        let (mut ours, mut theirs) = (Counts::default(), Counts::default());
        let (mut str0m, mut str0m_plain) = (Str0mCounts::default(), Str0mCounts::default());
        ours_pass(crypto, &frames, &mut ours);
        their_pass(crypto, &frames, &mut theirs);
        str0m_pass(crypto, true, &str0m_frames, &mut str0m);
        str0m_pass(crypto, false, &str0m_frames, &mut str0m_plain);
        assert_eq!(ours.frames_out, FRAMES_PER_PASS, "oxrtc: {ours:?}");
        assert_eq!(theirs.frames_out, FRAMES_PER_PASS, "webrtc-rs: {theirs:?}");
        assert_eq!(str0m.frames_out, FRAMES_PER_PASS, "str0m: {str0m:?}");
        assert_eq!(str0m_plain.frames_out, FRAMES_PER_PASS, "str0m without BWE: {str0m_plain:?}");
        let ours_ns = measure(ours.rtp, || ours_pass(crypto, &frames, &mut Counts::default()));
        let theirs_ns = measure(theirs.rtp, || their_pass(crypto, &frames, &mut Counts::default()));
        let str0m_ns = measure(str0m.rtp, || str0m_pass(crypto, true, &str0m_frames, &mut Str0mCounts::default()));
        let plain_ns =
            measure(str0m_plain.rtp, || str0m_pass(crypto, false, &str0m_frames, &mut Str0mCounts::default()));
        let theirs_media = theirs.rtp;
        for (name, rtp, media, frames_out, rtcp, ns) in [
            ("oxrtc", ours.rtp, ours.media, ours.frames_out, ours.rtcp, ours_ns),
            ("webrtc-rs", theirs.rtp, theirs_media, theirs.frames_out, theirs.rtcp, theirs_ns),
            ("str0m", str0m.rtp, str0m.media, str0m.frames_out, str0m.rtcp, str0m_ns),
            ("str0m, no BWE", str0m_plain.rtp, str0m_plain.media, str0m_plain.frames_out, str0m_plain.rtcp, plain_ns),
        ] {
            println!(
                "| {crypto:?} | {name} | {rtp} ({media}) | {frames_out} | {rtcp} | {:.0} | {ns:.0} | {:.2} |",
                1e9 / ns,
                ns / ours_ns
            );
        }
    }
}
