//! Sender reports (RFC 3550 §6.4.1): when to send them, what they say, and the round-trip
//! time that receivers' report blocks reveal.
//!
//! Intervals, as browsers use them: libwebrtc's `RTCPSender` reports every 1 s for video and
//! every 5 s for audio (`kDefaultVideoReportInterval`, `kDefaultAudioReportInterval`); for
//! video sending above 72 kbit/s it shortens the interval to RFC 3550 §6.2's "reduced
//! minimum", 360 s divided by the send rate in kbit/s (0.24 s at 1.5 Mbit/s). Each interval is
//! drawn uniformly from 0.5 to 1.5 times that (RFC 3550 §6.3.1, A.7; libwebrtc
//! `ComputeTimeUntilNextReport`), and the first comes after half an interval (libwebrtc
//! `SetRTCPStatus`, RFC 3550 §6.2's halved initial interval). No SR goes out before the
//! first media packet: its RTP timestamp needs one.
//!
//! The RTT: a receiver echoes the middle 32 bits of our SR's NTP time (LSR) and the time it
//! held it (DLSR); `arrival - LSR - DLSR` is the round trip. We keep the last
//! [`SENT_SR_MEMORY`] SRs sent and only trust a block whose LSR is one of them: a forged or
//! stale LSR cannot inject an RTT.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::ntp::compact_to_duration;
use super::rng::XorShift;
use crate::rtcp::{compact_ntp, ReportBlock};

/// libwebrtc's video report interval (`kDefaultVideoReportInterval`).
pub const VIDEO_REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// libwebrtc's audio report interval (`kDefaultAudioReportInterval`).
pub const AUDIO_REPORT_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 3550 §6.2's reduced minimum interval is this many seconds × kbit/s.
pub const REDUCED_MINIMUM_SECS_KBPS: u64 = 360;
/// Above this send rate video reports follow the reduced minimum (libwebrtc: 72 kbit/s, where
/// 360 / rate falls below 5 s).
pub const REDUCED_MINIMUM_ABOVE_BPS: u64 = 72_000;
/// How many of our last SRs an LSR may echo.
pub const SENT_SR_MEMORY: usize = 16;

/// What the media is: it sets the report interval and whether keyframes apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Audio: reports every 5 s.
    Audio,
    /// Video: reports every 1 s, or more often at high rates.
    Video,
}

impl MediaKind {
    /// The nominal report interval browsers use for this kind.
    pub fn report_interval(self) -> Duration {
        match self {
            MediaKind::Audio => AUDIO_REPORT_INTERVAL,
            MediaKind::Video => VIDEO_REPORT_INTERVAL,
        }
    }
}

/// What the round-trip measurement saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RttStats {
    /// Report blocks about our SSRC.
    pub blocks: u64,
    /// Blocks with LSR 0 (no SR received yet) or a result before the SR was sent.
    pub no_rtt: u64,
    /// Blocks whose LSR matches none of our recent SRs.
    pub unknown_lsr: u64,
    /// Round trips measured.
    pub measured: u64,
}

/// Schedules sender reports and measures the round trip from the blocks that answer them.
#[derive(Clone, Debug)]
pub struct SenderReports {
    interval: Duration,
    scale_with_bitrate: bool,
    next: Option<Instant>,
    /// `(compact NTP, when)` of the SRs we sent, newest last.
    sent: VecDeque<(u32, Instant)>,
    rtt: Option<Duration>,
    stats: RttStats,
    rng: XorShift,
}

impl SenderReports {
    /// Reports every `interval` (randomized), shortened with the send rate when
    /// `scale_with_bitrate` (video); `seed` drives the randomization.
    pub fn new(interval: Duration, scale_with_bitrate: bool, seed: u64) -> Self {
        SenderReports {
            interval: interval.max(Duration::from_millis(1)),
            scale_with_bitrate,
            next: None,
            sent: VecDeque::with_capacity(SENT_SR_MEMORY),
            rtt: None,
            stats: RttStats::default(),
            rng: XorShift::new(seed),
        }
    }

    /// The first media packet went out at `now`: the first report is due half an interval
    /// later. Later calls change nothing.
    pub fn start(&mut self, now: Instant) {
        if self.next.is_none() {
            self.next = Some(now + self.interval / 2);
        }
    }

    /// Stops scheduling reports.
    pub fn stop(&mut self) {
        self.next = None;
    }

    /// When the next report is due.
    pub fn next_report(&self) -> Option<Instant> {
        self.next
    }

    /// Whether a report is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        self.next.is_some_and(|at| now >= at)
    }

    /// Records an SR sent at `now` with NTP time `ntp`, and schedules the next report from
    /// the current send rate (bits per second).
    pub fn on_sent(&mut self, now: Instant, ntp: u64, send_bitrate: u64) {
        if self.sent.len() == SENT_SR_MEMORY {
            self.sent.pop_front();
        }
        self.sent.push_back((compact_ntp(ntp), now));
        let interval = self.nominal_interval(send_bitrate);
        self.next = Some(now + self.rng.scaled(interval, 500, 1500).max(Duration::from_millis(1)));
    }

    /// The interval before randomization at `send_bitrate` bits per second.
    pub fn nominal_interval(&self, send_bitrate: u64) -> Duration {
        if self.scale_with_bitrate && send_bitrate > REDUCED_MINIMUM_ABOVE_BPS {
            let reduced = Duration::from_millis(REDUCED_MINIMUM_SECS_KBPS * 1000) / (send_bitrate / 1000) as u32;
            reduced.min(self.interval)
        } else {
            self.interval
        }
    }

    /// A report block about our SSRC arrived at `now`, whose NTP time is `ntp_now`: returns
    /// the round trip it reveals, if it answers one of our recent SRs.
    pub fn handle_block(&mut self, ntp_now: u64, block: &ReportBlock) -> Option<Duration> {
        self.stats.blocks += 1;
        if block.last_sr == 0 {
            self.stats.no_rtt += 1;
            return None;
        }
        if !self.sent.iter().any(|&(lsr, _)| lsr == block.last_sr) {
            self.stats.unknown_lsr += 1;
            return None;
        }
        let Some(compact) = block.rtt(compact_ntp(ntp_now)) else {
            self.stats.no_rtt += 1;
            return None;
        };
        let rtt = compact_to_duration(compact);
        self.stats.measured += 1;
        self.rtt = Some(rtt);
        Some(rtt)
    }

    /// The last round trip measured.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The round-trip counters.
    pub fn stats(&self) -> RttStats {
        self.stats
    }
}

/// The RTP timestamp of `at`, extrapolated from a packet's timestamp `rtp` captured at
/// `capture` with `clock_rate` ticks per second (what an SR carries).
pub fn extrapolate_rtp(rtp: u32, capture: Instant, at: Instant, clock_rate: u32) -> u32 {
    let ticks = |d: Duration| ((d.as_nanos() * clock_rate as u128 + 500_000_000) / 1_000_000_000) as u32;
    if at >= capture {
        rtp.wrapping_add(ticks(at - capture))
    } else {
        rtp.wrapping_sub(ticks(capture - at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::send::ntp::{duration_to_compact, NtpClock};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_after_half_an_interval_then_randomized() {
        let t0 = Instant::now();
        let mut r = SenderReports::new(VIDEO_REPORT_INTERVAL, false, 1);
        assert_eq!(r.next_report(), None);
        r.start(t0);
        r.start(t0 + ms(100));
        assert_eq!(r.next_report(), Some(t0 + ms(500)));
        assert!(!r.is_due(t0 + ms(499)) && r.is_due(t0 + ms(500)));
        let mut at = t0 + ms(500);
        let mut gaps = Vec::new();
        for _ in 0..1000 {
            r.on_sent(at, 0x1234_5678_0000_0000, 0);
            let next = r.next_report().unwrap();
            gaps.push(next - at);
            at = next;
        }
        assert!(gaps.iter().all(|g| (ms(500)..=ms(1500)).contains(g)));
        let mean = gaps.iter().sum::<Duration>() / gaps.len() as u32;
        assert!((ms(970)..ms(1030)).contains(&mean), "{mean:?}");
        r.stop();
        assert_eq!(r.next_report(), None);
    }

    #[test]
    fn video_interval_shrinks_with_the_rate() {
        let r = SenderReports::new(VIDEO_REPORT_INTERVAL, true, 1);
        assert_eq!(r.nominal_interval(50_000), ms(1000));
        assert_eq!(r.nominal_interval(1_500_000), ms(240));
        assert_eq!(r.nominal_interval(200_000), ms(1000));
        let audio = SenderReports::new(AUDIO_REPORT_INTERVAL, false, 1);
        assert_eq!(audio.nominal_interval(1_500_000), ms(5000));
    }

    #[test]
    fn rtt_from_a_block_answering_our_sr() {
        let t0 = Instant::now();
        let clock = NtpClock::new(t0, 0xE000_1234_5678_0000);
        let mut r = SenderReports::new(VIDEO_REPORT_INTERVAL, false, 1);
        let sr_ntp = clock.ntp(t0);
        r.on_sent(t0, sr_ntp, 0);
        // Out 20 ms, held 300 ms, back 30 ms.
        let block = ReportBlock {
            ssrc: 1,
            last_sr: compact_ntp(sr_ntp),
            delay_since_last_sr: duration_to_compact(ms(300)),
            ..Default::default()
        };
        let rtt = r.handle_block(clock.ntp(t0 + ms(350)), &block).unwrap();
        assert!(rtt.abs_diff(ms(50)) < Duration::from_micros(50), "{rtt:?}");
        assert_eq!(r.rtt(), Some(rtt));
        // LSR 0, an LSR we never sent, and a DLSR longer than the wait are not round trips.
        assert_eq!(r.handle_block(clock.ntp(t0 + ms(350)), &ReportBlock { last_sr: 0, ..block }), None);
        assert_eq!(r.handle_block(clock.ntp(t0 + ms(350)), &ReportBlock { last_sr: 12345, ..block }), None);
        let late = ReportBlock { delay_since_last_sr: duration_to_compact(ms(400)), ..block };
        assert_eq!(r.handle_block(clock.ntp(t0 + ms(350)), &late), None);
        let stats = r.stats();
        assert_eq!((stats.blocks, stats.measured, stats.no_rtt, stats.unknown_lsr), (4, 1, 2, 1));
    }

    #[test]
    fn remembers_only_recent_srs() {
        let t0 = Instant::now();
        let clock = NtpClock::new(t0, 0xE000_1234_5678_0000);
        let mut r = SenderReports::new(VIDEO_REPORT_INTERVAL, false, 1);
        let first = clock.ntp(t0);
        for i in 0..=SENT_SR_MEMORY as u64 {
            r.on_sent(t0 + ms(1000 * i), clock.ntp(t0 + ms(1000 * i)), 0);
        }
        let block = ReportBlock { last_sr: compact_ntp(first), ..Default::default() };
        assert_eq!(r.handle_block(clock.ntp(t0 + ms(20_000)), &block), None);
        assert_eq!(r.stats().unknown_lsr, 1);
    }

    #[test]
    fn rtp_timestamps_extrapolate_both_ways() {
        let t0 = Instant::now();
        assert_eq!(extrapolate_rtp(1000, t0, t0 + ms(1000), 90_000), 91_000);
        assert_eq!(extrapolate_rtp(10, t0 + ms(1), t0, 48_000), 10u32.wrapping_sub(48));
        assert_eq!(extrapolate_rtp(u32::MAX, t0, t0 + ms(20), 48_000), 959);
    }
}
