//! The whole RTP path of one video call on one core, in packets per second of CPU:
//! a sending `Session` writes VP8 frames (25 fps, 7.5 KB each: 1.5 Mbit/s) and releases
//! the packets as its pacer asks, on a virtual clock; each datagram is protected with
//! SRTP, unprotected, and handed to a receiving `Session`, whose jitter buffer gives the
//! frames back; the receiver's RTCP (transport-wide feedback, reports, REMB) goes back
//! through SRTCP to the sender. A one-way delay of 20 ms each way, no loss.
//!
//! Both sides run on this thread; the CPU time is the thread's (`CLOCK_THREAD_CPUTIME_ID`),
//! the session set-up and key derivation excluded. A pass is 10 s of call (250 frames);
//! each profile runs [`support::RUNS`] times, each run at least 0.5 s of CPU, and the
//! median is printed. A second, instrumented pass splits the time by stage (with
//! `Instant` around each stage, which adds its own cost). Run:
//! `cargo bench -p oxrtc-rtp --bench whole_path`.

mod support;

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtp::extension::ExtensionMap;
use rtp::session::rtc::{CodecConfig, MediaConfig, Outgoing, SendConfig, Session, SessionConfig, SessionEvent};
use rtp::session::send::MediaKind;
use srtp::{Config, Profile, SrtpContext};
use support::{Sample, Timer};

const VP8_PT: u8 = 96;
const RTX_PT: u8 = 97;
const FRAME_INTERVAL: Duration = Duration::from_millis(40);
const FRAME_SIZE: usize = 7_500;
const FRAMES_PER_PASS: u64 = 250;
const ONE_WAY: Duration = Duration::from_millis(20);

fn extensions() -> ExtensionMap {
    let mut map = ExtensionMap::new();
    map.insert(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time").unwrap();
    map.insert(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01").unwrap();
    map.insert(4, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
    map
}

fn video_section(send: Option<SendConfig>, receive: bool) -> MediaConfig {
    let vp8 = CodecConfig {
        rtx_payload_type: Some(RTX_PT),
        nack: true,
        pli: true,
        fir: true,
        transport_cc: true,
        ..CodecConfig::new(VP8_PT, "VP8", 90_000)
    };
    MediaConfig {
        mid: "0".into(),
        kind: MediaKind::Video,
        codecs: vec![vp8],
        extensions: extensions(),
        send,
        receive,
        remote_ssrcs: Vec::new(),
        jitter_buffer: true,
        xr_rtt: false,
    }
}

/// A VP8 frame: byte 0 the frame tag (a keyframe first, then delta frames), then a pattern.
fn frame(n: u64) -> Bytes {
    let mut data: Vec<u8> = (0..FRAME_SIZE).map(|i| (n as usize * 31 + i * 7) as u8).collect();
    data[0] = if n == 0 { 0x10 } else { 0x11 };
    Bytes::from(data)
}

fn context(profile: Profile, byte: u8) -> SrtpContext {
    let key = vec![byte; profile.master_key_len()];
    let salt = vec![byte ^ 0x5a; profile.master_salt_len()];
    SrtpContext::new(profile, &key, &salt, Config::default()).unwrap()
}

/// Where the time of an instrumented pass went.
#[derive(Default, Debug)]
struct Stages {
    send: Duration,
    protect: Duration,
    unprotect: Duration,
    receive: Duration,
    feedback: Duration,
}

/// What a pass did.
#[derive(Default, Debug)]
struct Counts {
    /// RTP datagrams through the whole path (media, RTX and padding probes).
    rtp: u64,
    /// Of which on the media SSRC (the rest RTX: retransmissions and probes).
    media: u64,
    rtp_bytes: u64,
    rtcp: u64,
    frames_out: u64,
}

/// Runs if `stages` is Some, the stage costs are added to it (with `Instant` calls around
/// each stage). Returns the CPU and wall time of the pass, set-up excluded.
fn pass(profile: Profile, frames: &[Bytes], mut stages: Option<&mut Stages>, counts: &mut Counts) -> Sample {
    let t0 = Instant::now();
    let mut sender_config = SessionConfig::new("sender", 1);
    // A call that has ramped up: the estimate starts above the 1.5 Mbit/s sent.
    sender_config.cc.start_bitrate = cc::Bitrate::mbps(2);
    let mut sender = Session::new(t0, sender_config);
    sender.set_media(t0, vec![video_section(Some(SendConfig { ssrc: 0x1111, rtx_ssrc: Some(0x2222) }), false)]);
    let mut receiver = Session::new(t0, SessionConfig::new("receiver", 2));
    receiver.set_media(t0, vec![video_section(None, true)]);
    let (mut protect, mut unprotect) = (context(profile, 0x11), context(profile, 0x11));
    let (mut protect_back, mut unprotect_back) = (context(profile, 0x22), context(profile, 0x22));
    // Datagrams on the wire, protected: (arrival, bytes, is RTCP).
    let mut forward: VecDeque<(Instant, Vec<u8>, bool)> = VecDeque::new();
    let mut back: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut plain = Vec::with_capacity(1500);
    let end = t0 + FRAME_INTERVAL * frames.len() as u32 + Duration::from_secs(1);

    // With stages, `lap` charges the time since the last lap to a stage.
    let mut mark = stages.as_ref().map(|_| Instant::now());
    let mut lap = |stages: &mut Option<&mut Stages>, stage: fn(&mut Stages) -> &mut Duration| {
        if let (Some(s), Some(m)) = (stages.as_deref_mut(), mark.as_mut()) {
            let t = Instant::now();
            *stage(s) += t - *m;
            *m = t;
        }
    };
    let timer = Timer::start();
    let mut now = t0;
    let mut next_frame = 0usize;
    loop {
        // The encoder's frames, on time; the pacer's packets, protected onto the wire.
        while next_frame < frames.len() && t0 + FRAME_INTERVAL * next_frame as u32 <= now {
            let ts = (next_frame as u32).wrapping_mul(3_600);
            sender.write_frame(now, "0", VP8_PT, ts, frames[next_frame].clone()).unwrap();
            next_frame += 1;
        }
        if sender.poll_timeout().is_some_and(|t| t <= now) {
            sender.handle_timeout(now);
        }
        while let Some(out) = sender.poll_transmit(now) {
            lap(&mut stages, |s| &mut s.send);
            let mut wire = Vec::with_capacity(1500);
            let rtcp = match out {
                Outgoing::Rtp(b) => {
                    protect.protect_rtp(&b, &mut wire).unwrap();
                    false
                }
                Outgoing::Rtcp(b) => {
                    protect.protect_rtcp(&b, &mut wire).unwrap();
                    true
                }
            };
            forward.push_back((now + ONE_WAY, wire, rtcp));
            lap(&mut stages, |s| &mut s.protect);
        }
        while sender.poll_event().is_some() {}
        lap(&mut stages, |s| &mut s.send);

        // Arrivals at the receiver: unprotected, handled, frames out of the jitter buffer.
        while forward.front().is_some_and(|(at, _, _)| *at <= now) {
            let (_, wire, rtcp) = forward.pop_front().unwrap();
            plain.clear();
            if rtcp {
                unprotect.unprotect_rtcp(&wire, &mut plain).unwrap();
            } else {
                unprotect.unprotect_rtp(&wire, &mut plain).unwrap();
            }
            let data = Bytes::from(std::mem::replace(&mut plain, Vec::with_capacity(1500)));
            lap(&mut stages, |s| &mut s.unprotect);
            if rtcp {
                receiver.handle_rtcp(now, data);
            } else {
                counts.rtp += 1;
                counts.media += (data[8..12] == 0x1111u32.to_be_bytes()) as u64;
                counts.rtp_bytes += wire.len() as u64;
                receiver.handle_rtp(now, data);
            }
            drain_frames(&mut receiver, counts);
            lap(&mut stages, |s| &mut s.receive);
        }
        if receiver.poll_timeout().is_some_and(|t| t <= now) {
            receiver.handle_timeout(now);
            drain_frames(&mut receiver, counts);
        }
        lap(&mut stages, |s| &mut s.receive);

        // The receiver's RTCP back to the sender.
        while let Some(out) = receiver.poll_transmit(now) {
            let Outgoing::Rtcp(b) = out else { panic!("the receiver sends no RTP") };
            let mut wire = Vec::with_capacity(b.len() + 32);
            protect_back.protect_rtcp(&b, &mut wire).unwrap();
            back.push_back((now + ONE_WAY, wire));
        }
        while back.front().is_some_and(|(at, _)| *at <= now) {
            let (_, wire) = back.pop_front().unwrap();
            plain.clear();
            unprotect_back.unprotect_rtcp(&wire, &mut plain).unwrap();
            counts.rtcp += 1;
            sender.handle_rtcp(now, Bytes::from(std::mem::replace(&mut plain, Vec::with_capacity(1500))));
        }
        lap(&mut stages, |s| &mut s.feedback);

        // On to the next thing due.
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
    timer.stop()
}

fn drain_frames(receiver: &mut Session, counts: &mut Counts) {
    while let Some(e) = receiver.poll_event() {
        if let SessionEvent::Frame { data, .. } = e {
            counts.frames_out += 1;
            black_box(data);
        }
    }
}

fn main() {
    let frames: Vec<Bytes> = (0..FRAMES_PER_PASS).map(frame).collect();
    println!(
        "{FRAMES_PER_PASS} VP8 frames of {FRAME_SIZE} bytes at 25 fps per pass, {} ms one way; median of {} runs",
        ONE_WAY.as_millis(),
        support::RUNS
    );
    println!("| SRTP profile | RTP packets per pass (media) | frames out | RTCP back | packets/s per core (CPU) | ns CPU per packet | wall ns per packet |");
    println!("|---|---|---|---|---|---|---|");
    for profile in [Profile::Aes128CmHmacSha1_80, Profile::AeadAes128Gcm] {
        let mut counts = Counts::default();
        pass(profile, &frames, None, &mut counts);
        assert_eq!(counts.frames_out, FRAMES_PER_PASS, "{counts:?}");
        let per_pass = counts.rtp as usize;
        let (cpu, wall) = support::measure(per_pass, || pass(profile, &frames, None, &mut Counts::default()));
        println!(
            "| {profile:?} | {per_pass} ({}; {:.2} Mbit/s) | {} | {} | {:.0} | {cpu:.0} | {wall:.0} |",
            counts.media,
            counts.rtp_bytes as f64 * 8.0 / (FRAMES_PER_PASS as f64 * FRAME_INTERVAL.as_secs_f64()) / 1e6,
            counts.frames_out,
            counts.rtcp,
            1e9 / cpu
        );
    }
    for profile in [Profile::Aes128CmHmacSha1_80, Profile::AeadAes128Gcm] {
        let mut stages = Stages::default();
        let mut counts = Counts::default();
        let mut total = Sample::default();
        for _ in 0..20 {
            total += pass(profile, &frames, Some(&mut stages), &mut counts);
        }
        let n = counts.rtp as f64;
        let ns = |d: Duration| d.as_nanos() as f64 / n;
        println!(
            "{profile:?} by stage, wall ns per RTP packet (instrumented, total {:.0}): send (write_frame, pacer, poll_transmit) {:.0}, protect {:.0}, unprotect {:.0}, receive (handle_rtp, jitter buffer, events, timers) {:.0}, RTCP back {:.0}",
            ns(total.wall),
            ns(stages.send),
            ns(stages.protect),
            ns(stages.unprotect),
            ns(stages.receive),
            ns(stages.feedback)
        );
    }
}
