//! When to ask a video sender for a keyframe: PLI (RFC 4585 §6.3.1) or FIR (RFC 5104
//! §4.3.1), whichever the SDP negotiated (`a=rtcp-fb:* nack pli` or `ccm fir`).
//!
//! Requests come from the NACK generator (its list overflowed) or from the depacketizer
//! or jitter buffer (a frame could not be completed). They are rate-limited: at most one
//! per [`KeyframeRequester::interval`], the larger of [`MIN_KEYFRAME_INTERVAL`] and the RTT
//! plus [`MAX_WAIT_FOR_KEYFRAME`]; a request made sooner is folded into the next one. Until
//! a keyframe arrives the request is repeated at that interval (the request, or the
//! keyframe, may have been lost).
//!
//! Every FIR sent carries a new command sequence number: a repeat comes only after a keyframe
//! had time to arrive and did not, so the sender must act on it again (libwebrtc's RTCP
//! sender increments it for every FIR too).

use std::time::{Duration, Instant};

use crate::rtcp::{Fir, FirEntry, Pli, RtcpPacket};

/// The shortest time between two keyframe requests for one stream.
pub const MIN_KEYFRAME_INTERVAL: Duration = Duration::from_millis(300);
/// How long to wait for a keyframe beyond the RTT before asking again (libwebrtc
/// `kMaxWaitForKeyFrame`, after which its video receive stream asks again).
pub const MAX_WAIT_FOR_KEYFRAME: Duration = Duration::from_millis(200);

/// The form of keyframe request negotiated for a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyframeMethod {
    /// Picture loss indication (`a=rtcp-fb:<pt> nack pli`).
    Pli,
    /// Full intra request (`a=rtcp-fb:<pt> ccm fir`).
    Fir,
}

/// A keyframe request to send now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyframeRequest {
    /// Send a PLI.
    Pli,
    /// Send a FIR with this command sequence number.
    Fir {
        /// The command sequence number.
        seq_nr: u8,
    },
}

impl KeyframeRequest {
    /// The RTCP packet from `sender_ssrc` (ours) asking `media_ssrc` for a keyframe.
    pub fn to_rtcp(self, sender_ssrc: u32, media_ssrc: u32) -> RtcpPacket {
        match self {
            KeyframeRequest::Pli => RtcpPacket::Pli(Pli { sender_ssrc, media_ssrc }),
            KeyframeRequest::Fir { seq_nr } => RtcpPacket::Fir(Fir {
                sender_ssrc,
                media_ssrc: 0,
                entries: vec![FirEntry { ssrc: media_ssrc, seq_nr }],
            }),
        }
    }
}

/// Counters of a [`KeyframeRequester`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyframeStats {
    /// Calls to [`KeyframeRequester::request`].
    pub requested: u64,
    /// Requests sent (first ones and repeats).
    pub sent: u64,
    /// Requests folded into one already pending or sent.
    pub folded: u64,
}

/// Decides when to send PLI or FIR for one stream.
#[derive(Clone, Debug)]
pub struct KeyframeRequester {
    method: KeyframeMethod,
    min_interval: Duration,
    rtt: Duration,
    /// When the next request is due while a keyframe is wanted; None while none is.
    due: Option<Instant>,
    last_sent: Option<Instant>,
    fir_seq: u8,
    pending: Option<KeyframeRequest>,
    stats: KeyframeStats,
}

impl KeyframeRequester {
    /// A requester sending `method`, at most one per [`MIN_KEYFRAME_INTERVAL`] until an
    /// RTT is known.
    pub fn new(method: KeyframeMethod) -> Self {
        KeyframeRequester {
            method,
            min_interval: MIN_KEYFRAME_INTERVAL,
            rtt: Duration::ZERO,
            due: None,
            last_sent: None,
            fir_seq: 0,
            pending: None,
            stats: KeyframeStats::default(),
        }
    }

    /// Sets the shortest time between two requests (default [`MIN_KEYFRAME_INTERVAL`]).
    pub fn set_min_interval(&mut self, min_interval: Duration) {
        self.min_interval = min_interval;
    }

    /// The round-trip time to the sender.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// The time between two requests, and before a request is repeated: the larger of the
    /// minimum interval and the RTT plus [`MAX_WAIT_FOR_KEYFRAME`].
    pub fn interval(&self) -> Duration {
        self.min_interval.max(self.rtt + MAX_WAIT_FOR_KEYFRAME)
    }

    /// The counters.
    pub fn stats(&self) -> KeyframeStats {
        self.stats
    }

    /// Whether a keyframe is wanted and has not arrived yet.
    pub fn is_waiting(&self) -> bool {
        self.due.is_some()
    }

    /// Asks for a keyframe at `now` (the NACK list overflowed, a frame was dropped...). Sent
    /// at once unless one was sent less than an interval ago; while one is wanted, further
    /// calls change nothing.
    pub fn request(&mut self, now: Instant) {
        self.stats.requested += 1;
        if self.due.is_some() {
            self.stats.folded += 1;
            return;
        }
        let due = match self.last_sent {
            Some(last) if last + self.interval() > now => {
                self.stats.folded += 1;
                last + self.interval()
            }
            _ => now,
        };
        self.due = Some(due);
        self.handle_timeout(now);
    }

    /// A keyframe arrived at `now` (its first packet, or the whole frame): stop asking.
    pub fn on_keyframe(&mut self, _now: Instant) {
        self.due = None;
        self.pending = None;
    }

    /// When the next request is due, None while no keyframe is wanted.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.due
    }

    /// Sends the request due at `now`, if any, and schedules its repeat.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.due {
            Some(due) if due <= now => {}
            _ => return,
        }
        self.pending = Some(match self.method {
            KeyframeMethod::Pli => KeyframeRequest::Pli,
            KeyframeMethod::Fir => {
                self.fir_seq = self.fir_seq.wrapping_add(1);
                KeyframeRequest::Fir { seq_nr: self.fir_seq }
            }
        });
        self.stats.sent += 1;
        self.last_sent = Some(now);
        self.due = Some(now + self.interval());
    }

    /// The request to send now, if any (at most one is ever queued).
    pub fn poll_output(&mut self) -> Option<KeyframeRequest> {
        self.pending.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_request_goes_at_once_then_repeats_until_a_keyframe() {
        let t0 = Instant::now();
        let mut k = KeyframeRequester::new(KeyframeMethod::Pli);
        k.set_rtt(50 * MS);
        assert_eq!((k.poll_timeout(), k.poll_output()), (None, None));
        k.request(t0);
        assert_eq!(k.poll_output(), Some(KeyframeRequest::Pli));
        assert_eq!(k.poll_output(), None);
        // No keyframe within 300 ms (50 ms RTT + 200 ms is less): asked again.
        assert_eq!(k.poll_timeout(), Some(t0 + 300 * MS));
        k.handle_timeout(t0 + 299 * MS);
        assert_eq!(k.poll_output(), None);
        k.handle_timeout(t0 + 300 * MS);
        assert_eq!(k.poll_output(), Some(KeyframeRequest::Pli));
        k.on_keyframe(t0 + 350 * MS);
        assert_eq!(k.poll_timeout(), None);
        assert!(!k.is_waiting());
        assert_eq!(k.stats(), KeyframeStats { requested: 1, sent: 2, folded: 0 });
    }

    #[test]
    fn requests_are_rate_limited_and_folded() {
        let t0 = Instant::now();
        let mut k = KeyframeRequester::new(KeyframeMethod::Pli);
        k.request(t0);
        assert!(k.poll_output().is_some());
        // Many more while waiting: nothing more.
        for i in 1..100 {
            k.request(t0 + i * MS);
            assert_eq!(k.poll_output(), None);
        }
        k.on_keyframe(t0 + 120 * MS);
        // A new need right after the keyframe: held to the interval since the last one.
        k.request(t0 + 150 * MS);
        assert_eq!(k.poll_output(), None);
        assert_eq!(k.poll_timeout(), Some(t0 + 300 * MS));
        k.handle_timeout(t0 + 300 * MS);
        assert_eq!(k.poll_output(), Some(KeyframeRequest::Pli));
        assert_eq!(k.stats(), KeyframeStats { requested: 101, sent: 2, folded: 100 });
    }

    #[test]
    fn interval_follows_a_long_rtt() {
        let t0 = Instant::now();
        let mut k = KeyframeRequester::new(KeyframeMethod::Pli);
        k.set_rtt(400 * MS);
        assert_eq!(k.interval(), 600 * MS);
        k.request(t0);
        assert_eq!(k.poll_timeout(), Some(t0 + 600 * MS));
    }

    #[test]
    fn fir_numbers_every_request() {
        let t0 = Instant::now();
        let mut k = KeyframeRequester::new(KeyframeMethod::Fir);
        let mut seqs = Vec::new();
        k.request(t0);
        seqs.extend(k.poll_output());
        k.handle_timeout(t0 + 300 * MS);
        seqs.extend(k.poll_output());
        k.on_keyframe(t0 + 400 * MS);
        k.request(t0 + 1000 * MS);
        seqs.extend(k.poll_output());
        let fir = |seq_nr| KeyframeRequest::Fir { seq_nr };
        assert_eq!(seqs, [fir(1), fir(2), fir(3)]);
        // The command sequence number wraps.
        for i in 0..253 {
            k.handle_timeout(t0 + (1300 + 300 * i) * MS);
        }
        assert_eq!(k.poll_output(), Some(fir(0)));
    }

    #[test]
    fn requests_become_rtcp() {
        assert_eq!(KeyframeRequest::Pli.to_rtcp(1, 2), RtcpPacket::Pli(Pli { sender_ssrc: 1, media_ssrc: 2 }));
        assert_eq!(
            KeyframeRequest::Fir { seq_nr: 9 }.to_rtcp(1, 2),
            RtcpPacket::Fir(Fir { sender_ssrc: 1, media_ssrc: 0, entries: vec![FirEntry { ssrc: 2, seq_nr: 9 }] })
        );
    }
}
