//! The oxrtc side of the whole RTP path of one video call, shared by
//! `crates/rtp/benches/whole_path.rs` and `bench/benches/rtp_whole_path.rs`
//! (which includes this file by path): a sending `Session` writes VP8
//! frames on a virtual clock and releases packets as its pacer asks; each
//! datagram is protected with SRTP, unprotected and handed to a receiving
//! `Session`, whose jitter buffer gives the frames back; the receiver's RTCP
//! goes back through SRTCP. 20 ms one way, no loss.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtp::extension::ExtensionMap;
use rtp::session::rtc::{CodecConfig, MediaConfig, Outgoing, SendConfig, Session, SessionConfig, SessionEvent};
use rtp::session::send::MediaKind;
use srtp::{Config, Profile, SrtpContext};

/// VP8's payload type.
pub const VP8_PT: u8 = 96;
const RTX_PT: u8 = 97;
/// 25 frames a second.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(40);
/// 7.5 KB a frame: 1.5 Mbit/s.
pub const FRAME_SIZE: usize = 7_500;
/// The delay each way.
pub const ONE_WAY: Duration = Duration::from_millis(20);

fn extensions() -> ExtensionMap {
    let mut map = ExtensionMap::new();
    map.insert(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time").unwrap();
    map.insert(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01").unwrap();
    map.insert(4, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
    map
}

fn video_section(send: Vec<SendConfig>, receive: bool) -> MediaConfig {
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
pub fn frame(n: u64) -> Bytes {
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
pub struct Stages {
    pub send: Duration,
    pub protect: Duration,
    pub unprotect: Duration,
    pub receive: Duration,
    pub feedback: Duration,
}

/// What a pass did.
#[derive(Default, Debug)]
pub struct Counts {
    /// RTP datagrams through the whole path (media, RTX and padding probes).
    pub rtp: u64,
    /// Of which on the media SSRC (the rest RTX: retransmissions and probes).
    pub media: u64,
    pub rtp_bytes: u64,
    pub rtcp: u64,
    pub frames_out: u64,
}

/// How the sender is set up.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Bandwidth probing (initial and in ALR) on or off.
    pub probing: bool,
    /// Largest RTP payload (`None`: the session's default).
    pub max_payload: Option<usize>,
}

/// Runs one pass of the call. `start` is called once the sessions and SRTP
/// contexts are set up and `stop` with what it gave once the call is over
/// (before anything is dropped): the pass returns what `stop` returns. If
/// `stages` is Some, the stage costs are added to it (with `Instant` calls
/// around each stage).
pub fn pass<T, R>(
    profile: Profile,
    options: Options,
    frames: &[Bytes],
    mut stages: Option<&mut Stages>,
    counts: &mut Counts,
    start: impl FnOnce() -> T,
    stop: impl FnOnce(T) -> R,
) -> R {
    let t0 = Instant::now();
    let mut sender_config = SessionConfig::new("sender", 1);
    // A call that has ramped up: the estimate starts above the 1.5 Mbit/s sent.
    sender_config.cc.start_bitrate = cc::Bitrate::mbps(2);
    if let Some(max) = options.max_payload {
        sender_config.max_payload = max;
    }
    sender_config.cc.initial_probing = options.probing;
    sender_config.cc.alr_probing = options.probing;
    let mut sender = Session::new(t0, sender_config);
    sender.set_media(t0, vec![video_section(vec![SendConfig::new(0x1111, Some(0x2222))], false)]);
    let mut receiver = Session::new(t0, SessionConfig::new("receiver", 2));
    receiver.set_media(t0, vec![video_section(Vec::new(), true)]);
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
    let timer = start();
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
    stop(timer)
}

fn drain_frames(receiver: &mut Session, counts: &mut Counts) {
    while let Some(e) = receiver.poll_event() {
        if let SessionEvent::Frame { data, .. } = e {
            counts.frames_out += 1;
            black_box(data);
        }
    }
}
