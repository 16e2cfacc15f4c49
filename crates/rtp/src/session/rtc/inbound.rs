//! One remote media stream (one SSRC; its RTX SSRC is unwrapped before it gets here): RFC
//! 3550 statistics, NACK generation, keyframe requests, a bounded reorder buffer that
//! hands packets in sequence order to the depacketizer, and the jitter buffers.
//!
//! The path of a packet: [`ReceiveStats`] and [`NackGenerator`] see it on arrival; then,
//! audio with a jitter buffer goes to the [`AudioJitterBuffer`] (which reorders itself);
//! everything else waits in the reorder buffer until the packets before it came, were
//! given up by the NACK generator or waited too long, then is depacketized; video frames
//! go through the [`VideoJitterBuffer`] when asked for. A loss the depacketizer or the
//! jitter buffer cannot get past asks the sender for a keyframe (PLI or FIR as
//! negotiated), rate-limited by [`KeyframeRequester`].

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::jitter::{
    AudioJitterBuffer, AudioJitterConfig, AudioOutput, VideoJitterBuffer, VideoJitterConfig, VideoOutput,
};
use crate::packet::{extend_seq, RtpPacket};
use crate::payload::{Depacketized, Frame};
use crate::rtcp::{Nack, RtcpPacket};
use crate::session::receive::{
    Arrival, KeyframeMethod, KeyframeRequest, KeyframeRequester, NackConfig, NackGenerator, NackOutput, ReceiveStats,
};
use crate::session::send::{KeyframeRequestKind, MediaKind};

use super::codec::{self, DynDepacketizer};
use super::{CodecConfig, MediaConfig};

/// Packets held in the reorder buffer at most; beyond, the oldest gap is skipped.
pub const MAX_REORDER_PACKETS: usize = 1024;
/// How long a gap is waited for at most while the NACK generator still asks for it.
pub const MAX_NACK_WAIT: Duration = Duration::from_secs(1);
/// How long a gap is waited for without NACK (reordering only).
pub const REORDER_WAIT: Duration = Duration::from_millis(50);
/// Frames waiting for the session to take them at most, per stream.
const MAX_FRAMES: usize = 256;
/// Feedback packets waiting at most, per stream.
const MAX_FEEDBACK: usize = 16;

/// A frame (or audio packet) ready for the application.
#[derive(Debug, Clone)]
pub(crate) struct InFrame {
    pub payload_type: u8,
    pub frame: Frame,
    pub received_at: Instant,
}

/// Packets in sequence order, bounded by count and wait.
#[derive(Debug, Default)]
struct Reorder {
    /// The extended sequence number to release next.
    next: Option<u64>,
    /// Held packets by extended sequence number, with their arrival time.
    held: BTreeMap<u64, (Instant, RtpPacket)>,
}

impl Reorder {
    fn insert(&mut self, now: Instant, packet: RtpPacket) -> bool {
        let seq = packet.header.sequence_number;
        let reference = self.held.keys().next_back().copied().or(self.next);
        let ext = reference.map_or(1 << 16 | seq as u64, |r| extend_seq(r, seq));
        let next = *self.next.get_or_insert(ext);
        if ext < next || self.held.contains_key(&ext) {
            return false;
        }
        self.held.insert(ext, (now, packet));
        true
    }

    /// When the oldest gap is given up, None without a gap.
    fn gap_deadline(&self, wait: Duration) -> Option<Instant> {
        let next = self.next?;
        let (&first, (at, _)) = self.held.iter().next()?;
        (first != next).then_some(*at + wait)
    }

    /// The next packet in order; skips a gap when `give_up` says so, it waited `wait` or
    /// the buffer is full.
    fn pop(&mut self, now: Instant, wait: Duration, give_up: impl Fn(u16) -> bool) -> Option<RtpPacket> {
        let next = self.next?;
        let (&first, (at, _)) = self.held.iter().next()?;
        if first != next && now < *at + wait && self.held.len() <= MAX_REORDER_PACKETS && !give_up(next as u16) {
            return None;
        }
        let (_, packet) = self.held.remove(&first)?;
        self.next = Some(first + 1);
        Some(packet)
    }
}

/// One remote stream.
pub(crate) struct Inbound {
    pub section: u64,
    pub ssrc: u32,
    pub rid: Option<String>,
    kind: MediaKind,
    pub stats: ReceiveStats,
    nack: Option<NackGenerator>,
    keyframes: Option<KeyframeRequester>,
    fir_seq: u8,
    reorder: Reorder,
    depacketizer: Option<(u8, Box<dyn DynDepacketizer>)>,
    video_jitter: Option<VideoJitterBuffer>,
    audio_jitter: Option<(u8, AudioJitterBuffer)>,
    frames: VecDeque<InFrame>,
    feedback: VecDeque<RtcpPacket>,
    /// Frames dropped because nobody took them, packets of unsupported payload types.
    pub dropped_frames: u64,
    pub unknown_payload_types: u64,
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound").field("ssrc", &self.ssrc).field("rid", &self.rid).finish_non_exhaustive()
    }
}

impl Inbound {
    pub fn new(section: u64, ssrc: u32, rid: Option<String>, media: &MediaConfig) -> Self {
        let first = media.codecs.first();
        let clock_rate = first.map_or(90_000, |c| c.clock_rate.max(1));
        let nack = media.codecs.iter().any(|c| c.nack).then(|| NackGenerator::new(NackConfig::default()));
        let method = if media.codecs.iter().any(|c| c.pli) {
            Some(KeyframeMethod::Pli)
        } else if media.codecs.iter().any(|c| c.fir) {
            Some(KeyframeMethod::Fir)
        } else {
            None
        };
        let video = media.kind == MediaKind::Video;
        let video_jitter = (video && media.jitter_buffer)
            .then(|| VideoJitterBuffer::new(VideoJitterConfig { clock_rate, ..VideoJitterConfig::default() }));
        Inbound {
            section,
            ssrc,
            rid,
            kind: media.kind,
            stats: ReceiveStats::new(ssrc, clock_rate),
            nack,
            keyframes: method.filter(|_| video).map(KeyframeRequester::new),
            fir_seq: 0,
            reorder: Reorder::default(),
            depacketizer: None,
            video_jitter,
            audio_jitter: None,
            frames: VecDeque::new(),
            feedback: VecDeque::new(),
            dropped_frames: 0,
            unknown_payload_types: 0,
        }
    }

    fn uses_audio_jitter(&self, media: &MediaConfig) -> bool {
        self.kind == MediaKind::Audio && media.jitter_buffer
    }

    /// A new round-trip time: NACKs and keyframe requests are paced by it.
    pub fn set_rtt(&mut self, rtt: Duration) {
        if let Some(n) = &mut self.nack {
            n.set_rtt(rtt);
        }
        if let Some(k) = &mut self.keyframes {
            k.set_rtt(rtt);
        }
    }

    /// A media packet (or one unwrapped from RTX when `recovered`) arrived at `now`;
    /// false when it was a duplicate or too late to be of use.
    pub fn on_packet(&mut self, now: Instant, packet: RtpPacket, recovered: bool, media: &MediaConfig) -> bool {
        let h = &packet.header;
        if !recovered {
            let arrival = self.stats.on_packet(now, h.sequence_number, h.timestamp, packet.payload.len());
            if matches!(arrival, Arrival::Duplicate(_) | Arrival::Discarded) {
                return false;
            }
        }
        if let Some(n) = &mut self.nack {
            if recovered {
                n.on_recovered(now, h.sequence_number);
            } else {
                n.on_packet(now, h.sequence_number, false);
            }
        }
        if self.uses_audio_jitter(media) {
            let pt = h.payload_type;
            let Some(codec) = media.codecs.iter().find(|c| c.payload_type == pt) else {
                self.unknown_payload_types += 1;
                return false;
            };
            if self.audio_jitter.as_ref().is_none_or(|(p, _)| *p != pt) {
                self.audio_jitter = Some((pt, AudioJitterBuffer::new(AudioJitterConfig::new(codec.clock_rate.max(1)))));
            }
            if let Some((_, jb)) = &mut self.audio_jitter {
                jb.insert(now, h.sequence_number, h.timestamp, packet.payload);
            }
            self.process(now, media);
            return true;
        }
        let accepted = self.reorder.insert(now, packet);
        self.process(now, media);
        accepted
    }

    fn wait(&self) -> Duration {
        if self.nack.is_some() {
            MAX_NACK_WAIT
        } else {
            REORDER_WAIT
        }
    }

    /// Releases what is due at `now`: packets in order to the depacketizer, frames from the
    /// jitter buffers, NACKs and keyframe requests.
    fn process(&mut self, now: Instant, media: &MediaConfig) {
        let wait = self.wait();
        loop {
            let nack = &self.nack;
            let give_up = |seq: u16| nack.as_ref().is_none_or(|n| !n.is_missing(seq));
            let Some(packet) = self.reorder.pop(now, wait, give_up) else { break };
            self.depacketize(now, packet, &media.codecs);
        }
        self.poll_jitter(now);
        self.poll_feedback_parts(now);
    }

    fn depacketize(&mut self, now: Instant, packet: RtpPacket, codecs: &[CodecConfig]) {
        let pt = packet.header.payload_type;
        if self.depacketizer.as_ref().is_none_or(|(p, _)| *p != pt) {
            let made = codecs.iter().find(|c| c.payload_type == pt).and_then(codec::depacketizer);
            let Some(d) = made else {
                self.unknown_payload_types += 1;
                return;
            };
            self.depacketizer = Some((pt, d));
        }
        let Some((_, d)) = &mut self.depacketizer else { return };
        let h = &packet.header;
        // A malformed payload is counted by the depacketizer and reported as a drop.
        let _ = d.push(&packet.payload, h.marker, h.sequence_number, h.timestamp);
        let outputs: Vec<Depacketized> = std::iter::from_fn(|| d.poll()).collect();
        for out in outputs {
            match out {
                Depacketized::Frame(frame) => {
                    if frame.keyframe {
                        if let Some(k) = &mut self.keyframes {
                            k.on_keyframe(now);
                        }
                    }
                    match &mut self.video_jitter {
                        Some(jb) => jb.insert(now, frame.into()),
                        None => {
                            let lost = frame.discontinuity;
                            self.push_frame(InFrame { payload_type: pt, frame, received_at: now });
                            if lost && self.kind == MediaKind::Video {
                                self.request_keyframe(now);
                            }
                        }
                    }
                }
                Depacketized::Dropped(_) => match &mut self.video_jitter {
                    Some(jb) => jb.lost(now),
                    None if self.kind == MediaKind::Video => self.request_keyframe(now),
                    None => {}
                },
            }
        }
    }

    fn request_keyframe(&mut self, now: Instant) {
        if let Some(k) = &mut self.keyframes {
            k.request(now);
        }
    }

    fn push_frame(&mut self, frame: InFrame) {
        if self.frames.len() >= MAX_FRAMES {
            self.frames.pop_front();
            self.dropped_frames += 1;
        }
        self.frames.push_back(frame);
    }

    fn poll_jitter(&mut self, now: Instant) {
        let pt = self.depacketizer.as_ref().map_or(0, |(p, _)| *p);
        while let Some(out) = self.video_jitter.as_mut().and_then(|jb| jb.poll(now)) {
            match out {
                VideoOutput::Frame(released) => {
                    let f = released.frame;
                    let frame = Frame {
                        data: f.data,
                        timestamp: f.timestamp,
                        first_sequence: f.first_sequence,
                        last_sequence: f.last_sequence,
                        keyframe: f.keyframe,
                        marker: true,
                        discontinuity: f.discontinuity,
                        meta: (),
                    };
                    self.push_frame(InFrame { payload_type: pt, frame, received_at: now });
                }
                VideoOutput::RequestKeyframe => self.request_keyframe(now),
            }
        }
        let mut lost = false;
        while let Some((pt, out)) = self.audio_jitter.as_mut().and_then(|(pt, jb)| Some((*pt, jb.poll(now)?))) {
            match out {
                AudioOutput::Frame(f) => {
                    let frame = Frame {
                        data: f.payload,
                        timestamp: f.timestamp,
                        first_sequence: f.sequence,
                        last_sequence: f.sequence,
                        keyframe: true,
                        marker: false,
                        discontinuity: std::mem::take(&mut lost),
                        meta: (),
                    };
                    self.push_frame(InFrame { payload_type: pt, frame, received_at: now });
                }
                AudioOutput::Conceal(_) => lost = true,
            }
        }
    }

    fn poll_feedback_parts(&mut self, now: Instant) {
        while let Some(out) = self.nack.as_mut().and_then(|n| n.poll_output()) {
            match out {
                NackOutput::Nack(seqs) => self.push_feedback(RtcpPacket::Nack(Nack::from_lost(0, self.ssrc, seqs))),
                NackOutput::RequestKeyframe => self.request_keyframe(now),
            }
        }
        if let Some(k) = &mut self.keyframes {
            k.handle_timeout(now);
        }
        while let Some(request) = self.keyframes.as_mut().and_then(|k| k.poll_output()) {
            self.push_feedback(request.to_rtcp(0, self.ssrc));
        }
    }

    fn push_feedback(&mut self, packet: RtcpPacket) {
        if self.feedback.len() >= MAX_FEEDBACK {
            self.feedback.pop_front();
        }
        self.feedback.push_back(packet);
    }

    /// An explicit keyframe request from the application, sent at once.
    pub fn force_keyframe_request(&mut self, kind: KeyframeRequestKind) {
        let request = match kind {
            KeyframeRequestKind::Pli => KeyframeRequest::Pli,
            KeyframeRequestKind::Fir => {
                self.fir_seq = self.fir_seq.wrapping_add(1);
                KeyframeRequest::Fir { seq_nr: self.fir_seq }
            }
        };
        self.push_feedback(request.to_rtcp(0, self.ssrc));
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.reorder.gap_deadline(self.wait()),
            self.nack.as_ref().and_then(|n| n.poll_timeout()),
            self.keyframes.as_ref().and_then(|k| k.poll_timeout()),
            self.video_jitter.as_ref().and_then(|jb| jb.poll_timeout()),
            self.audio_jitter.as_ref().and_then(|(_, jb)| jb.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Instant, media: &MediaConfig) {
        if let Some(n) = &mut self.nack {
            n.handle_timeout(now);
        }
        self.process(now, media);
    }

    pub fn poll_frame(&mut self) -> Option<InFrame> {
        self.frames.pop_front()
    }

    /// The next feedback packet, from `sender_ssrc`.
    pub fn poll_feedback(&mut self, sender_ssrc: u32) -> Option<RtcpPacket> {
        let mut p = self.feedback.pop_front()?;
        match &mut p {
            RtcpPacket::Nack(n) => n.sender_ssrc = sender_ssrc,
            RtcpPacket::Pli(p) => p.sender_ssrc = sender_ssrc,
            RtcpPacket::Fir(f) => f.sender_ssrc = sender_ssrc,
            _ => {}
        }
        Some(p)
    }

    /// Bytes of payload held (reorder buffer), for the state bound checks.
    pub fn held_packets(&self) -> usize {
        self.reorder.held.len()
    }
}

/// Payload bytes of an unwrapped RTX packet, or None for padding-only RTX.
pub(crate) fn unwrap_rtx(packet: &RtpPacket) -> Option<(u16, Bytes)> {
    let (osn, payload) = crate::payload::rtx::unwrap(&packet.payload).ok()?;
    if payload.is_empty() {
        return None;
    }
    Some((osn, packet.payload.slice_ref(payload)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::RtpHeader;

    fn packet(seq: u16) -> RtpPacket {
        RtpPacket::new(RtpHeader { sequence_number: seq, ..RtpHeader::default() }, Bytes::new())
    }

    fn drain(r: &mut Reorder, now: Instant, wait: Duration, given_up: &[u16]) -> Vec<u16> {
        std::iter::from_fn(|| r.pop(now, wait, |s| given_up.contains(&s))).map(|p| p.header.sequence_number).collect()
    }

    #[test]
    fn packets_leave_in_order_across_the_wrap() {
        let t0 = Instant::now();
        let mut r = Reorder::default();
        for seq in [65_534, 0, 65_535, 1] {
            assert!(r.insert(t0, packet(seq)));
        }
        assert_eq!(drain(&mut r, t0, REORDER_WAIT, &[]), [65_534, 65_535, 0, 1]);
        // Late and duplicate packets are refused.
        assert!(!r.insert(t0, packet(65_535)));
        assert!(!r.insert(t0, packet(1)));
    }

    #[test]
    fn a_gap_is_skipped_when_given_up_or_after_the_wait_never_before() {
        let t0 = Instant::now();
        let ms = Duration::from_millis(1);
        let mut r = Reorder::default();
        r.insert(t0, packet(10));
        r.insert(t0 + ms, packet(12));
        assert_eq!(drain(&mut r, t0 + ms, REORDER_WAIT, &[]), [10]);
        assert_eq!(r.gap_deadline(REORDER_WAIT), Some(t0 + ms + REORDER_WAIT));
        assert!(drain(&mut r, t0 + 40 * ms, REORDER_WAIT, &[]).is_empty());
        assert_eq!(drain(&mut r, t0 + 40 * ms, REORDER_WAIT, &[11]), [12], "the NACK generator gave 11 up");
        r.insert(t0 + 2 * ms, packet(14));
        assert_eq!(drain(&mut r, t0 + 2 * ms + REORDER_WAIT, REORDER_WAIT, &[]), [14]);
        assert_eq!(r.gap_deadline(REORDER_WAIT), None);
    }

    #[test]
    fn the_buffer_is_bounded_by_count() {
        let t0 = Instant::now();
        let mut r = Reorder::default();
        r.insert(t0, packet(0));
        drain(&mut r, t0, MAX_NACK_WAIT, &[]);
        // 1 is lost; more than the bound arrive behind it within the wait.
        for seq in 2..(MAX_REORDER_PACKETS as u16 + 3) {
            r.insert(t0, packet(seq));
            drain(&mut r, t0, MAX_NACK_WAIT, &[]);
            assert!(r.held.len() <= MAX_REORDER_PACKETS);
        }
        assert!(r.held.is_empty(), "the gap was skipped once the buffer was full");
    }
}
