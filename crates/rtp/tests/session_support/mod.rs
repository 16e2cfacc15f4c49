//! The one harness of the `Session` scenario tests: two sessions on a netsim network in
//! virtual time, a sender that writes VP8-like video (25 fps, a keyframe every 2 s and on
//! request, sizes following the estimate within 1–30 KB, payload bytes a pattern that
//! names the frame) and Opus-like audio (20 ms), and logs of what each side saw.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use netsim::{Datagram, Endpoint, LinkConfig, Network, Simulation, VirtualClock};
use rtp::extension::ExtensionMap;
use rtp::session::rtc::{
    CodecConfig, KeyframeRequestKind, MediaConfig, Outgoing, SendConfig, Session, SessionConfig, SessionEvent,
};
use rtp::session::send::MediaKind;
use testkit::Rng;

pub const VIDEO_PT: u8 = 96;
pub const VIDEO_RTX_PT: u8 = 97;
pub const AUDIO_PT: u8 = 111;
pub const FRAME_INTERVAL: Duration = Duration::from_millis(40);
pub const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// Frames between periodic keyframes by default (2 s).
pub const KEYFRAME_EVERY: u64 = 50;

/// The header extensions both sides negotiated (Chromium's ids).
pub fn extensions() -> ExtensionMap {
    let mut map = ExtensionMap::new();
    map.insert(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01").unwrap();
    map.insert(4, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
    map.insert(10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id").unwrap();
    map.insert(11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id").unwrap();
    map
}

pub fn vp8() -> CodecConfig {
    CodecConfig {
        rtx_payload_type: Some(VIDEO_RTX_PT),
        nack: true,
        pli: true,
        fir: true,
        transport_cc: true,
        ..CodecConfig::new(VIDEO_PT, "VP8", 90_000)
    }
}

pub fn opus() -> CodecConfig {
    CodecConfig { channels: Some(2), transport_cc: true, ..CodecConfig::new(AUDIO_PT, "opus", 48_000) }
}

/// The sections of one side: video "0" and audio "1", sending with `ssrcs` (video, rtx,
/// audio) when given, receiving when `receive`.
pub fn sections(ssrcs: Option<(u32, u32, u32)>, receive: bool) -> Vec<MediaConfig> {
    let section = |mid: &str, kind, codec, send| MediaConfig {
        mid: mid.into(),
        kind,
        codecs: vec![codec],
        extensions: extensions(),
        send,
        receive,
        remote_ssrcs: Vec::new(),
        jitter_buffer: true,
        xr_rtt: false,
    };
    vec![
        section("0", MediaKind::Video, vp8(), ssrcs.map(|(v, r, _)| SendConfig::new(v, Some(r))).into_iter().collect()),
        section("1", MediaKind::Audio, opus(), ssrcs.map(|(_, _, a)| SendConfig::new(a, None)).into_iter().collect()),
    ]
}

/// A video frame: byte 0 is the VP8 frame tag (P bit clear on keyframes), bytes 1..9 the
/// frame number and size, the rest a pattern of both.
pub fn video_frame(n: u64, size: usize, keyframe: bool) -> Vec<u8> {
    let mut data: Vec<u8> = (0..size).map(|i| (n as usize * 31 + i * 7) as u8).collect();
    data[0] = if keyframe { 0x10 } else { 0x11 };
    data[1..5].copy_from_slice(&(n as u32).to_be_bytes());
    data[5..9].copy_from_slice(&(size as u32).to_be_bytes());
    data
}

/// The frame number and whether `data` is exactly the frame it says it is.
pub fn check_video_frame(data: &[u8]) -> (u64, bool) {
    if data.len() < 9 {
        return (u64::MAX, false);
    }
    let n = u32::from_be_bytes(data[1..5].try_into().unwrap()) as u64;
    let size = u32::from_be_bytes(data[5..9].try_into().unwrap()) as usize;
    let keyframe = data[0] & 1 == 0;
    (n, size == data.len() && video_frame(n, size, keyframe) == data)
}

/// Every video frame received is byte-identical to the one sent, and they came in order.
pub fn assert_intact_in_order(video: &[(u64, bool, bool, bool)]) {
    assert!(video.iter().all(|f| f.1), "a frame arrived altered");
    assert!(video.windows(2).all(|w| w[0].0 < w[1].0), "frames out of order");
}

/// What a peer saw.
#[derive(Debug, Default)]
pub struct Log {
    /// Video frames received: (frame number, intact, keyframe, lost before).
    pub video: Vec<(u64, bool, bool, bool)>,
    pub audio_frames: u64,
    pub streams_added: Vec<(String, u32)>,
    pub keyframe_requests: Vec<(Instant, KeyframeRequestKind)>,
    pub estimates: Vec<(Instant, u64)>,
    /// RTP datagrams sent: (time, bytes).
    pub rtp_sent: Vec<(Instant, usize)>,
    pub rtcp_sent: u64,
}

pub struct Peer {
    pub addr: SocketAddr,
    pub remote: SocketAddr,
    pub session: Session,
    pub log: Log,
}

impl Peer {
    fn drain_events(&mut self, now: Instant) {
        while let Some(e) = self.session.poll_event() {
            match e {
                SessionEvent::StreamAdded { mid, ssrc, .. } => self.log.streams_added.push((mid, ssrc)),
                SessionEvent::Frame { mid, data, keyframe, lost_before, .. } if mid == "0" => {
                    let (n, ok) = check_video_frame(&data);
                    self.log.video.push((n, ok, keyframe, lost_before));
                }
                SessionEvent::Frame { .. } => self.log.audio_frames += 1,
                SessionEvent::KeyframeRequested { kind, .. } => self.log.keyframe_requests.push((now, kind)),
                SessionEvent::EstimateChanged { bitrate_bps } => self.log.estimates.push((now, bitrate_bps)),
            }
        }
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, _local: SocketAddr, _source: SocketAddr, data: &[u8]) {
        // RFC 5761: RTCP packet types 192..=223 in the second byte.
        let data = Bytes::copy_from_slice(data);
        if data.len() > 1 && (192..=223).contains(&data[1]) {
            self.session.handle_rtcp(now, data);
        } else {
            self.session.handle_rtp(now, data);
        }
        self.drain_events(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.drain_events(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
        let out = self.session.poll_transmit(now);
        self.drain_events(now);
        let data = match out? {
            Outgoing::Rtp(b) => {
                self.log.rtp_sent.push((now, b.len()));
                b
            }
            Outgoing::Rtcp(b) => {
                self.log.rtcp_sent += 1;
                b
            }
        };
        Some(Datagram { from: self.addr, to: self.remote, data: data.to_vec() })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }
}

/// Peer 0 sends video and audio to peer 1, which only receives.
pub struct Call {
    pub net: Network,
    pub clock: VirtualClock,
    pub peers: [Peer; 2],
    rng: Rng,
    next_video: Instant,
    next_audio: Instant,
    pub video_sent: u64,
    pub audio_sent: u64,
    /// Keyframe requests answered (a keyframe written after one arrived).
    pub keyframes_forced: u64,
    answered_requests: usize,
    pub write_errors: u64,
    /// Frames between periodic keyframes.
    /// The video encoder's ceiling: frames are sized for the lower of it and the estimate.
    pub max_video_bps: u64,
    pub keyframe_every: u64,
    running_until: Option<Instant>,
}

impl Call {
    /// `forward` is the link from the sender, `back` the link from the receiver.
    pub fn new(seed: u64, forward: LinkConfig, back: LinkConfig) -> Self {
        Self::with_sender(seed, forward, back, SessionConfig::new("sender", seed))
    }

    /// [`Call::new`] with the sender's configuration given.
    pub fn with_sender(seed: u64, forward: LinkConfig, back: LinkConfig, sender: SessionConfig) -> Self {
        Self::with_sessions(seed, forward, back, sender, sections(None, true))
    }

    /// [`Call::new`] with the sender's configuration and the receiver's sections given.
    pub fn with_sessions(
        seed: u64,
        forward: LinkConfig,
        back: LinkConfig,
        sender: SessionConfig,
        receiver_media: Vec<MediaConfig>,
    ) -> Self {
        let sender_media = sections(Some((0x1111, 0x2222, 0x3333)), false);
        Self::with_media(seed, forward, back, sender, sender_media, receiver_media)
    }

    /// [`Call::new`] with the sender's configuration and both sides' sections given
    /// (the sender's must send on SSRCs 0x1111 (video, RTX 0x2222) and 0x3333 (audio)).
    pub fn with_media(
        seed: u64,
        forward: LinkConfig,
        back: LinkConfig,
        sender: SessionConfig,
        sender_media: Vec<MediaConfig>,
        receiver_media: Vec<MediaConfig>,
    ) -> Self {
        let t0 = Instant::now();
        let addr: [SocketAddr; 2] = ["198.51.100.1:5000".parse().unwrap(), "203.0.113.7:6000".parse().unwrap()];
        let mut net = Network::new(seed);
        for (a, link) in addr.iter().zip([forward, back]) {
            net.add_host(a.ip());
            net.set_egress(a.ip(), link);
        }
        let mut sender = Session::new(t0, sender);
        sender.set_media(t0, sender_media);
        let mut receiver = Session::new(t0, SessionConfig::new("receiver", seed + 1));
        receiver.set_media(t0, receiver_media);
        let peer = |addr, remote, session| Peer { addr, remote, session, log: Log::default() };
        Call {
            net,
            clock: VirtualClock::new(t0),
            peers: [peer(addr[0], addr[1], sender), peer(addr[1], addr[0], receiver)],
            rng: Rng::new(seed),
            next_video: t0,
            next_audio: t0,
            video_sent: 0,
            audio_sent: 0,
            keyframes_forced: 0,
            answered_requests: 0,
            write_errors: 0,
            keyframe_every: KEYFRAME_EVERY,
            max_video_bps: u64::MAX,
            running_until: None,
        }
    }

    fn write_video(&mut self, now: Instant) {
        let n = self.video_sent;
        let requested = self.peers[0].log.keyframe_requests.len() > self.answered_requests;
        self.answered_requests = self.peers[0].log.keyframe_requests.len();
        let keyframe = n.is_multiple_of(self.keyframe_every) || requested;
        self.keyframes_forced += u64::from(requested && !n.is_multiple_of(self.keyframe_every));
        let target = self.peers[0].session.stats().estimate_bps.min(self.max_video_bps) as f64;
        let mean = target / 8.0 / 25.0;
        let factor = if keyframe { 4.0 } else { 0.7 + 0.6 * self.rng.unit_f64() };
        let size = ((mean * factor) as usize).clamp(1_000, 30_000);
        let data = Bytes::from(video_frame(n, size, keyframe));
        let ts = (n * 3_600) as u32;
        if self.peers[0].session.write_frame(now, "0", VIDEO_PT, ts, data).is_err() {
            self.write_errors += 1;
        }
        self.video_sent += 1;
    }

    fn write_audio(&mut self, now: Instant) {
        let n = self.audio_sent;
        let data = Bytes::from(vec![(n % 251) as u8; 160]);
        if self.peers[0].session.write_frame(now, "1", AUDIO_PT, (n * 960) as u32, data).is_err() {
            self.write_errors += 1;
        }
        self.audio_sent += 1;
    }

    /// Sends media for `duration`, then lets everything in flight settle for 2 s.
    pub fn run(&mut self, duration: Duration) {
        self.send_for(duration);
        self.settle(Duration::from_secs(2));
    }

    /// Sends media for `duration`.
    pub fn send_for(&mut self, duration: Duration) {
        self.running_until = Some(self.clock.now() + duration);
        self.settle(duration);
    }

    /// Changes the link from the sender.
    pub fn set_forward(&mut self, link: LinkConfig) {
        let ip = self.peers[0].addr.ip();
        self.net.set_egress(ip, link);
    }
}

impl Simulation for Call {
    type Endpoint<'a> = &'a mut Peer;

    fn world(&mut self) -> (&mut Network, &mut VirtualClock) {
        (&mut self.net, &mut self.clock)
    }

    fn endpoint(&mut self, i: usize) -> &mut Peer {
        &mut self.peers[i]
    }

    fn route(&self, to: SocketAddr) -> Option<usize> {
        self.peers.iter().position(|p| p.addr == to)
    }

    fn poll_extra(&mut self) -> Option<Instant> {
        let end = self.running_until?;
        Some(self.next_video.min(self.next_audio)).filter(|t| *t < end)
    }

    fn handle_extra(&mut self, now: Instant) {
        let Some(end) = self.running_until else { return };
        if now >= self.next_video && self.next_video < end {
            self.write_video(now);
            self.next_video += FRAME_INTERVAL;
        }
        if now >= self.next_audio && self.next_audio < end {
            self.write_audio(now);
            self.next_audio += AUDIO_INTERVAL;
        }
    }
}

/// The most bytes sent in any window of `window` (a sliding window over send times).
pub fn max_bytes_in_window(sent: &[(Instant, usize)], window: Duration) -> usize {
    let (mut start, mut sum, mut max) = (0, 0, 0);
    for (i, &(t, len)) in sent.iter().enumerate() {
        sum += len;
        while sent[start].0 + window <= t {
            sum -= sent[start].1;
            start += 1;
        }
        max = max.max(sum);
        let _ = i;
    }
    max
}
