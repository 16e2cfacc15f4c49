//! Answering NACKs (RFC 4585 §6.2.1): which of the requested packets to send again, within
//! a rate cap, at most once per round trip.
//!
//! For each sequence number of a generic NACK, in order:
//! 1. not in the [`SendHistory`] (never sent, or dropped by its bounds): ignored, counted
//!    as `unknown`;
//! 2. retransmitted less than one RTT ago: ignored, counted as `too_soon` (the earlier copy
//!    may still be on its way; libwebrtc's `RtpPacketHistory::VerifyRtt` does the same);
//! 3. not resendable (RTX negotiated but no RTX payload type for its codec): `unresendable`;
//! 4. over the rate cap: `rate_limited`;
//! 5. otherwise queued, charged to the cap, and marked resent now.
//!
//! The rate cap: libwebrtc gives the retransmissions of a call one `RateLimiter` over a
//! 500 ms window (`kRetransmitWindowSizeMs` in `call/rtp_transport_controller_send.cc`)
//! whose ceiling is the congestion controller's whole target rate (`SetMaxRate` with
//! `target_rate`); str0m drops queued resends once they exceed 15% of what it sends
//! (`DEFAULT_RTX_RATIO_CAP`). Without a congestion controller yet, we cap resends at a share
//! of the media we sent in the same 500 ms window, 50% by default: room for 20% loss with
//! lost retransmissions, while a NACK flood can at most add half again to our send rate.
//! The budget never falls below 24 kbit/s (one 1500-byte packet per window), so that a
//! quiet or just-started stream can still repair a loss.
//! [`Retransmitter::set_max_bitrate`] replaces the share by an absolute ceiling once an
//! estimator provides one.
//!
//! What is queued is only sequence numbers (bounded by `max_pending`); the packets are
//! rebuilt when polled, so a flood costs neither memory nor copies.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::history::{SendHistory, StoredPacket};
use super::rate::ByteWindow;
use crate::rtcp::Nack;

/// libwebrtc's retransmission rate window (`kRetransmitWindowSizeMs`).
pub const RETRANSMIT_WINDOW: Duration = Duration::from_millis(500);

/// How resends are limited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetransmitConfig {
    /// Resend bytes within [`window`](Self::window) may be at most this share of the media
    /// bytes sent within it (0.5 by default).
    pub max_share: f64,
    /// The sliding window of the cap (500 ms, as libwebrtc).
    pub window: Duration,
    /// The RTT assumed until reports measure one (100 ms, the RTT libwebrtc's NACK module
    /// assumes before it has one, `kDefaultRttMs`).
    pub default_rtt: Duration,
    /// The budget never falls below this rate (24 kbit/s: one 1500-byte packet per 500 ms),
    /// so that a stream at a low rate or just started can still repair a loss.
    pub min_bitrate: u64,
    /// The most resends waiting to be polled; more are dropped and counted (1024).
    pub max_pending: usize,
}

impl Default for RetransmitConfig {
    fn default() -> Self {
        RetransmitConfig {
            max_share: 0.5,
            window: RETRANSMIT_WINDOW,
            default_rtt: Duration::from_millis(100),
            min_bitrate: 24_000,
            max_pending: 1024,
        }
    }
}

/// What became of the sequence numbers NACKs asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetransmitStats {
    /// NACK packets handled.
    pub nacks: u64,
    /// Sequence numbers they asked for.
    pub requested: u64,
    /// Resends queued.
    pub queued: u64,
    /// Asked for but not in the history (never sent, or expired).
    pub unknown: u64,
    /// Asked for again within one RTT of the last resend.
    pub too_soon: u64,
    /// Kept but not resendable (no RTX payload type for their codec).
    pub unresendable: u64,
    /// Refused by the rate cap.
    pub rate_limited: u64,
    /// Refused because `max_pending` resends were already waiting.
    pub queue_full: u64,
    /// Queued, but dropped from the history before they were polled.
    pub expired_in_queue: u64,
}

/// Decides which NACKed packets to resend and queues their sequence numbers.
#[derive(Clone, Debug)]
pub struct Retransmitter {
    config: RetransmitConfig,
    media: ByteWindow,
    resent: ByteWindow,
    max_bitrate: Option<u64>,
    pending: VecDeque<u16>,
    stats: RetransmitStats,
}

impl Retransmitter {
    /// A retransmitter with nothing sent yet.
    pub fn new(config: RetransmitConfig) -> Self {
        let window = config.window.max(Duration::from_millis(20));
        Retransmitter {
            config,
            media: ByteWindow::new(window, 20),
            resent: ByteWindow::new(window, 20),
            max_bitrate: None,
            pending: VecDeque::new(),
            stats: RetransmitStats::default(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> RetransmitConfig {
        self.config
    }

    /// What happened to the NACKed sequence numbers so far.
    pub fn stats(&self) -> RetransmitStats {
        self.stats
    }

    /// Replaces the share of the media rate by an absolute ceiling (bits per second), such
    /// as a congestion controller's target rate; `None` returns to the share.
    pub fn set_max_bitrate(&mut self, bits_per_second: Option<u64>) {
        self.max_bitrate = bits_per_second;
    }

    /// Counts a media packet of `bytes` sent at `now` (the base of the share).
    pub fn on_media_sent(&mut self, now: Instant, bytes: usize) {
        self.media.add(now, bytes as u64);
    }

    /// The media rate over the cap's window, in bits per second.
    pub fn media_bitrate(&mut self, now: Instant) -> u64 {
        self.media.bitrate(now)
    }

    /// The resend bytes allowed within the window ending at `now`.
    pub fn budget(&mut self, now: Instant) -> u64 {
        let window = self.resent.window().as_nanos();
        let in_window = |bps: u64| (bps as u128 * window / 8_000_000_000) as u64;
        let budget = match self.max_bitrate {
            Some(bps) => in_window(bps),
            None => (self.media.sum(now) as f64 * self.config.max_share.max(0.0)) as u64,
        };
        budget.max(in_window(self.config.min_bitrate))
    }

    /// The resend bytes within the window ending at `now`.
    pub fn resent_bytes(&mut self, now: Instant) -> u64 {
        self.resent.sum(now)
    }

    /// Resends waiting to be polled.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Handles one NACK for the stream whose packets `history` keeps. `rtt` is the current
    /// round trip (or `None` for [`RetransmitConfig::default_rtt`]); `resendable` says
    /// whether a kept packet can be resent at all; `overhead` is what a resend adds to the
    /// stored packet's size (2 bytes of OSN for RTX).
    pub fn handle_nack(
        &mut self,
        now: Instant,
        nack: &Nack,
        history: &mut SendHistory,
        rtt: Option<Duration>,
        overhead: usize,
        resendable: impl Fn(&StoredPacket) -> bool,
    ) {
        self.stats.nacks += 1;
        history.cull(now);
        let rtt = rtt.unwrap_or(self.config.default_rtt);
        for seq in nack.lost() {
            self.stats.requested += 1;
            let Some(stored) = history.get_mut(seq) else {
                self.stats.unknown += 1;
                continue;
            };
            if stored.last_resent.is_some_and(|at| now.saturating_duration_since(at) < rtt) {
                self.stats.too_soon += 1;
                continue;
            }
            if !resendable(stored) {
                self.stats.unresendable += 1;
                continue;
            }
            if self.pending.len() >= self.config.max_pending {
                self.stats.queue_full += 1;
                continue;
            }
            let size = (stored.packet.encoded_len() + overhead) as u64;
            if self.resent.sum(now) + size > self.budget(now) {
                self.stats.rate_limited += 1;
                continue;
            }
            self.resent.add(now, size);
            stored.last_resent = Some(now);
            stored.resends += 1;
            self.pending.push_back(seq);
            self.stats.queued += 1;
        }
    }

    /// The next queued sequence number.
    pub fn pop(&mut self) -> Option<u16> {
        self.pending.pop_front()
    }

    /// Counts a queued resend whose packet left the history before it was polled.
    pub fn count_expired_in_queue(&mut self) {
        self.stats.expired_in_queue += 1;
    }

    /// Forgets the queued resends.
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::packet::{RtpHeader, RtpPacket};
    use crate::session::send::history::HistoryConfig;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A history of packets 0..count of 1000 payload bytes, sent 10 ms apart from `t0`,
    /// each counted as media.
    fn sent(t0: Instant, count: u16, rtx: &mut Retransmitter) -> SendHistory {
        let mut history = SendHistory::new(HistoryConfig::default());
        for seq in 0..count {
            let header = RtpHeader { payload_type: 96, sequence_number: seq, ssrc: 1, ..Default::default() };
            let packet = RtpPacket::new(header, Bytes::from(vec![0; 1000]));
            let at = t0 + ms(10 * seq as u64);
            rtx.on_media_sent(at, packet.encoded_len());
            history.insert(at, packet);
        }
        history
    }

    fn nack(seqs: impl IntoIterator<Item = u16>) -> Nack {
        Nack::from_lost(2, 1, seqs)
    }

    #[test]
    fn queues_known_ignores_unknown() {
        let t0 = Instant::now();
        let mut rtx = Retransmitter::new(RetransmitConfig::default());
        let mut history = sent(t0, 50, &mut rtx);
        let now = t0 + ms(500);
        rtx.handle_nack(now, &nack([3, 4, 7, 60, 1000]), &mut history, None, 2, |_| true);
        assert_eq!(std::iter::from_fn(|| rtx.pop()).collect::<Vec<_>>(), [3, 4, 7]);
        let stats = rtx.stats();
        assert_eq!((stats.requested, stats.queued, stats.unknown), (5, 3, 2));
        assert_eq!(history.get(4).unwrap().resends, 1);
        assert_eq!(history.get(4).unwrap().last_resent, Some(now));
    }

    #[test]
    fn once_per_rtt() {
        let t0 = Instant::now();
        let mut rtx = Retransmitter::new(RetransmitConfig::default());
        let mut history = sent(t0, 50, &mut rtx);
        let rtt = Some(ms(80));
        let now = t0 + ms(490);
        rtx.handle_nack(now, &nack([5]), &mut history, rtt, 2, |_| true);
        rtx.handle_nack(now + ms(79), &nack([5]), &mut history, rtt, 2, |_| true);
        assert_eq!(rtx.stats().too_soon, 1);
        rtx.handle_nack(now + ms(80), &nack([5]), &mut history, rtt, 2, |_| true);
        assert_eq!(rtx.stats().queued, 2);
        assert_eq!(history.get(5).unwrap().resends, 2);
        // Without a measured RTT, the default applies.
        rtx.handle_nack(now + ms(179), &nack([5]), &mut history, None, 2, |_| true);
        assert_eq!(rtx.stats().too_soon, 2);
    }

    #[test]
    fn capped_at_a_share_of_the_media_rate() {
        let t0 = Instant::now();
        let mut rtx = Retransmitter::new(RetransmitConfig::default());
        // 50 packets in 500 ms: about 50 kB of media in the window.
        let mut history = sent(t0, 50, &mut rtx);
        let now = t0 + ms(495);
        let budget = rtx.budget(now);
        rtx.handle_nack(now, &nack(0..50), &mut history, None, 2, |_| true);
        let resent = rtx.resent_bytes(now);
        assert!(resent <= budget, "{resent} > {budget}");
        assert!(resent + 1100 > budget, "the budget is used up: {resent} of {budget}");
        let stats = rtx.stats();
        assert_eq!(stats.queued + stats.rate_limited, 50);
        assert!((23..=25).contains(&stats.queued), "{stats:?}");
        // An absolute ceiling replaces the share: 80 kbit/s is 5000 bytes per 500 ms; the
        // floor stays (24 kbit/s, 1500 bytes).
        rtx.set_max_bitrate(Some(80_000));
        assert_eq!(rtx.budget(now), 5000);
        rtx.set_max_bitrate(Some(8_000));
        assert_eq!(rtx.budget(now), 1500);
    }

    #[test]
    fn unresendable_and_queue_bound() {
        let t0 = Instant::now();
        let config = RetransmitConfig { max_pending: 4, max_share: 10.0, ..Default::default() };
        let mut rtx = Retransmitter::new(config);
        let mut history = sent(t0, 50, &mut rtx);
        let now = t0 + ms(495);
        rtx.handle_nack(now, &nack(0..10), &mut history, None, 2, |p| p.packet.header.sequence_number % 2 == 0);
        let stats = rtx.stats();
        assert_eq!((stats.queued, stats.unresendable, stats.queue_full), (4, 5, 1));
        assert_eq!(rtx.pending(), 4);
    }
}
