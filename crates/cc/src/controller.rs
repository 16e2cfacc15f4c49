//! The congestion controller: every estimator wired together (libwebrtc
//! `GoogCcNetworkController`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::acked_bitrate::AckedBitrate;
use crate::alr::AlrDetector;
use crate::delay_based::DelayBasedBwe;
use crate::history::{HistoryStats, PacketResult, SendHistory, SentPacket};
use crate::loss_based::LossBasedBwe;
use crate::overuse::BandwidthUsage;
use crate::probe::{ProbeCluster, ProbeController};
use crate::probe_estimator::ProbeEstimator;
use crate::rate::Bitrate;

/// Periodic work interval (libwebrtc's `process_interval`, 25 ms).
const PROCESS_INTERVAL: Duration = Duration::from_millis(25);
/// After the sending rate jumped (ALR ended, or a probe raised the estimate
/// far above the acknowledged rate), the acknowledged rate is taken as
/// application limited until this long after the first packet sent since
/// was acknowledged (the time its estimator, told to expect the change,
/// takes to catch up: about six 150 ms windows)...
const ACKED_CATCH_UP: Duration = Duration::from_secs(1);
/// ... and at most this long after the jump.
const ALR_EXIT_MAX: Duration = Duration::from_secs(3);
/// A probe result above this multiple of the acknowledged rate is such a
/// jump.
const PROBE_JUMP: f64 = 2.0;

/// Transport feedback is overdue after this long without any (or twice the
/// RTT, if longer), counted from the last report or from the send of the
/// oldest packet no report covered, whichever is later. Receivers send
/// feedback every 50-250 ms, so a floor well above that.
const FEEDBACK_TIMEOUT_FLOOR: Duration = Duration::from_millis(500);
/// Past it, the target halves every this long until feedback returns.
const PUSHBACK_HALVING: Duration = Duration::from_secs(1);

/// A jump of the sending rate (out of ALR, or to a probe result), while the
/// acknowledged rate still measures the rate before it.
#[derive(Clone, Copy, Debug)]
struct RateJump {
    /// When the first packet after the jump was sent.
    ended: Instant,
    /// When that packet (or a later one) was first acknowledged.
    acked: Option<Instant>,
}

/// Controller settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CcConfig {
    /// The rate to start at (libwebrtc's default start rate, 300 kbit/s).
    pub start_bitrate: Bitrate,
    /// Never target less.
    pub min_bitrate: Bitrate,
    /// Never target more.
    pub max_bitrate: Bitrate,
    /// Pacing rate = target × this (`kDefaultPaceMultiplier`, 2.5).
    pub pacing_factor: f64,
    /// Padding to ask of the pacer when the media is below it (capped by the
    /// target); 0 sends padding only for probes.
    pub padding_bitrate: Bitrate,
    /// Probe at 3× and 6× the start rate at once.
    pub initial_probing: bool,
    /// Probe at 2× the estimate every 5 s while application limited.
    pub alr_probing: bool,
    /// Sent packets remembered at most (capped at 16,384).
    pub history_packets: usize,
    /// Sent packets remembered at most this long.
    pub history_age: Duration,
}

impl Default for CcConfig {
    fn default() -> Self {
        CcConfig {
            start_bitrate: Bitrate::kbps(300),
            min_bitrate: Bitrate::kbps(30),
            max_bitrate: Bitrate::mbps(10),
            pacing_factor: 2.5,
            padding_bitrate: Bitrate::ZERO,
            initial_probing: true,
            alr_probing: true,
            history_packets: 10_000,
            history_age: Duration::from_secs(60),
        }
    }
}

/// The controller's output rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetRates {
    /// What the encoders together may produce.
    pub target: Bitrate,
    /// The pacer's rate ([`crate::Pacer::set_rates`]).
    pub pacing: Bitrate,
    /// The pacer's padding rate.
    pub padding: Bitrate,
}

/// What the controller asks of its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CcEvent {
    /// The rates changed: retune the encoders and the pacer.
    Rates(TargetRates),
    /// Give this cluster to the pacer ([`crate::Pacer::add_probe_cluster`]).
    Probe(ProbeCluster),
}

/// A snapshot of the estimators, for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CcStats {
    /// The delay-based estimate, once feedback produced one.
    pub delay_based: Option<Bitrate>,
    /// The acknowledged rate.
    pub acknowledged: Option<Bitrate>,
    /// The last loss fraction measured (0..1).
    pub loss_fraction: Option<f64>,
    /// The overuse detector's state.
    pub usage: BandwidthUsage,
    /// The REMB cap, if one was received.
    pub remb: Option<Bitrate>,
    /// Whether the sender is application limited.
    pub in_alr: bool,
    /// Bytes sent and not yet acknowledged or reported lost.
    pub bytes_in_flight: usize,
    /// Input the send history could not use.
    pub history: HistoryStats,
    /// The share of the estimate the target is held to because transport
    /// feedback is overdue (1 when it is not).
    pub feedback_pushback: f64,
}

/// Send-side congestion control for one connection.
#[derive(Debug)]
pub struct CongestionController {
    config: CcConfig,
    history: SendHistory,
    delay: DelayBasedBwe,
    acked: AckedBitrate,
    loss: LossBasedBwe,
    alr: AlrDetector,
    probes: ProbeController,
    probe_results: ProbeEstimator,
    remb: Option<Bitrate>,
    rate_jump: Option<RateJump>,
    seen_transport_feedback: bool,
    last_feedback: Option<Instant>,
    rtt: Duration,
    /// The estimate before any feedback pushback.
    estimate: Bitrate,
    rates: TargetRates,
    events: VecDeque<CcEvent>,
    next_process: Instant,
    results: Vec<PacketResult>,
}

impl CongestionController {
    /// A controller starting at [`CcConfig::start_bitrate`]. The first
    /// events are the start rates and the initial probes.
    pub fn new(now: Instant, config: CcConfig) -> Self {
        let start = config.start_bitrate.clamp(config.min_bitrate, config.max_bitrate);
        let mut cc = CongestionController {
            config,
            history: SendHistory::new(config.history_packets, config.history_age),
            delay: DelayBasedBwe::new(start, config.min_bitrate, config.max_bitrate),
            acked: AckedBitrate::default(),
            loss: LossBasedBwe::new(now, start, config.min_bitrate, config.max_bitrate),
            alr: AlrDetector::default(),
            probes: ProbeController::new(config.max_bitrate, config.alr_probing),
            probe_results: ProbeEstimator::default(),
            remb: None,
            rate_jump: None,
            seen_transport_feedback: false,
            last_feedback: None,
            rtt: crate::aimd::DEFAULT_RTT,
            estimate: Bitrate::ZERO,
            rates: TargetRates { target: Bitrate::ZERO, pacing: Bitrate::ZERO, padding: Bitrate::ZERO },
            events: VecDeque::new(),
            next_process: now + PROCESS_INTERVAL,
            results: Vec::new(),
        };
        cc.publish(now);
        if config.initial_probing {
            for c in cc.probes.initial(now, start) {
                cc.probe(now, c);
            }
        }
        cc
    }

    /// The current rates.
    pub fn rates(&self) -> TargetRates {
        self.rates
    }

    /// The estimators' state.
    pub fn stats(&self) -> CcStats {
        let feedback_pushback = self.rates.target.as_f64() / self.estimate.as_f64().max(1.0);
        CcStats {
            delay_based: self.delay.estimate(),
            acknowledged: self.acked.bitrate(),
            loss_fraction: self.loss.loss_fraction(),
            usage: self.delay.usage(),
            remb: self.remb,
            in_alr: self.alr.alr_start().is_some(),
            bytes_in_flight: self.history.in_flight(),
            history: self.history.stats(),
            feedback_pushback: feedback_pushback.min(1.0),
        }
    }

    /// A packet carrying a transport-wide sequence number left.
    pub fn on_packet_sent(&mut self, packet: SentPacket) {
        if self.history.on_sent(packet) {
            let was_in_alr = self.alr.alr_start().is_some();
            self.alr.on_sent(packet.send_time, packet.size);
            match (was_in_alr, self.alr.alr_start().is_some()) {
                (true, false) => {
                    self.rate_jump = Some(RateJump { ended: packet.send_time, acked: None });
                    self.probes.set_alr_ended(packet.send_time);
                }
                (_, true) => self.rate_jump = None,
                _ => {}
            }
        }
    }

    /// Whether the acknowledged rate measures the application rather than
    /// the path: in ALR, and after a jump of the sending rate (out of ALR, or
    /// to a probe result) until the acknowledged rate caught up.
    fn acked_app_limited(&mut self, now: Instant) -> bool {
        if let Some(exit) = self.rate_jump {
            let until =
                exit.acked.map_or(exit.ended + ALR_EXIT_MAX, |a| (a + ACKED_CATCH_UP).min(exit.ended + ALR_EXIT_MAX));
            if now >= until {
                self.rate_jump = None;
            }
        }
        self.alr.alr_start().is_some() || self.rate_jump.is_some()
    }

    /// A transport-wide feedback report arrived: `(sequence number,
    /// arrival)` for each packet it covers, `None` for those reported lost.
    /// Arrivals are on the receiver's clock (any origin; only differences
    /// matter), e.g. reference time + deltas of an RTCP TWCC packet.
    pub fn on_transport_feedback(&mut self, now: Instant, report: &[(u16, Option<Duration>)]) {
        let mut results = std::mem::take(&mut self.results);
        results.clear();
        self.history.on_feedback(report, &mut results);
        if results.is_empty() {
            self.results = results;
            return;
        }
        self.seen_transport_feedback = true;
        self.last_feedback = Some(now);
        let lost = results.iter().filter(|r| r.arrival.is_none()).count() as u64;
        self.loss.on_packets(now, lost, results.len() as u64);
        results.retain(|r| r.arrival.is_some());
        results.sort_by_key(|r| (r.arrival, r.seq));
        let mut probe = None;
        for r in &results {
            // The first packet sent after the jump: the acknowledged rate is
            // about to follow.
            if let Some(exit) = self.rate_jump.as_mut().filter(|e| e.acked.is_none() && r.send_time >= e.ended) {
                exit.acked = Some(now);
                self.acked.expect_fast_rate_change();
            }
            self.acked.update(r.arrival.unwrap_or_default(), r.size);
            if let Some(p) = self.probe_results.on_packet(r) {
                probe = Some(p);
            }
        }
        // A probe only ever raises the estimate; a short burst measured
        // under cross traffic is no reason to drop.
        let probe = probe.filter(|p| self.delay.estimate().is_none_or(|e| *p > e));
        let app_limited = self.acked_app_limited(now);
        if let Some(estimate) = self.delay.on_feedback(now, &results, self.acked.bitrate(), probe, app_limited) {
            self.loss.set_delay_based(now, Some(estimate));
            // A probe result (taken unless overusing) is the rate to send.
            if probe.is_some() && self.delay.usage() != BandwidthUsage::Overusing {
                self.loss.set_send_rate(now, estimate);
                // Far above what was acknowledged (the start, or a probe in
                // ALR): the sender jumps to it, and until the acknowledged
                // rate follows, an overuse backs off from the estimate as
                // after ALR, not to 0.85 x the rate before the jump.
                if self.acked.bitrate().is_some_and(|a| estimate.as_f64() > PROBE_JUMP * a.as_f64()) {
                    self.rate_jump = Some(RateJump { ended: now, acked: None });
                }
            }
            self.loss.update(now);
        }
        self.results = results;
        self.publish(now);
        if self.delay.usage() == BandwidthUsage::Normal {
            if let Some(c) = self.probes.request_probe(now, self.alr.alr_start().is_some()) {
                self.probe(now, c);
            }
        }
    }

    /// Loss from an RTCP receiver report (`lost` of `expected` packets since
    /// the last one). Used only until transport-wide feedback is seen, which
    /// then measures loss itself.
    pub fn on_receiver_report(&mut self, now: Instant, lost: u64, expected: u64) {
        if self.seen_transport_feedback {
            return;
        }
        self.loss.on_packets(now, lost, expected);
        self.publish(now);
    }

    /// A new round-trip time measurement (RTCP RR/XR, or the transport's).
    pub fn on_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
        self.delay.set_rtt(rtt);
        self.loss.set_rtt(rtt);
    }

    /// The receiver's REMB: a cap on the target, for peers that send REMB
    /// instead of (or besides) transport-wide feedback.
    pub fn on_remb(&mut self, now: Instant, bitrate: Bitrate) {
        self.remb = Some(bitrate);
        self.loss.set_remb(now, Some(bitrate));
        self.loss.update(now);
        self.publish(now);
    }

    /// When [`CongestionController::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Instant {
        self.next_process
    }

    /// Periodic work: loss-based growth, probe timeouts, ALR probes.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_process {
            return;
        }
        self.next_process = now + PROCESS_INTERVAL;
        self.loss.update(now);
        // No probing into silence: its result could not come back.
        if self.feedback_pushback(now) == 1.0 {
            if let Some(c) = self.probes.process(now, self.alr.alr_start()) {
                self.probe(now, c);
            }
        }
        self.publish(now);
    }

    /// The share of the estimate to send while transport feedback is
    /// overdue: 1 until max(2 × RTT, 500 ms) of silence, then halving every
    /// second, so that a sender whose return path died does not keep
    /// pushing its full rate into a path nobody reports on (libwebrtc bounds
    /// the data in flight with a congestion window instead). Silence counts
    /// from the last report, or from the send of the oldest packet no report
    /// covered if that is later (an idle sender is not waiting for any);
    /// only once transport feedback was seen at all (a peer may send none).
    fn feedback_pushback(&self, now: Instant) -> f64 {
        let Some(last) = self.last_feedback else { return 1.0 };
        let Some(oldest) = self.history.oldest_unreported() else { return 1.0 };
        let silence = now.saturating_duration_since(last.max(oldest));
        let timeout = (2 * self.rtt).max(FEEDBACK_TIMEOUT_FLOOR);
        match silence.checked_sub(timeout) {
            Some(over) if !over.is_zero() => 0.5f64.powf(over.as_secs_f64() / PUSHBACK_HALVING.as_secs_f64()),
            _ => 1.0,
        }
    }

    /// The next event, if any. Drain after every input.
    pub fn poll_event(&mut self) -> Option<CcEvent> {
        self.events.pop_front()
    }

    fn probe(&mut self, now: Instant, cluster: ProbeCluster) {
        self.probe_results.add_cluster(now, cluster);
        self.events.push_back(CcEvent::Probe(cluster));
    }

    fn publish(&mut self, now: Instant) {
        let (min, max) = (self.config.min_bitrate, self.config.max_bitrate);
        let estimate = self.loss.target().clamp(min, max);
        // Pushback lowers what the encoders make, not the pacing rate (as in
        // libwebrtc: the pacer should not build a queue of its own), nor the
        // estimate ALR and probing work from.
        let target = estimate.mul_f64(self.feedback_pushback(now)).clamp(min, max);
        let rates = TargetRates {
            target,
            pacing: estimate.mul_f64(self.config.pacing_factor),
            padding: self.config.padding_bitrate.min(target),
        };
        let new_estimate = estimate != self.estimate;
        self.estimate = estimate;
        if new_estimate {
            self.alr.set_estimate(estimate);
        }
        if rates != self.rates {
            self.rates = rates;
            self.events.push_back(CcEvent::Rates(rates));
        }
        if new_estimate {
            if let Some(c) = self.probes.on_estimate(now, estimate) {
                self.probe(now, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn events(cc: &mut CongestionController) -> Vec<CcEvent> {
        std::iter::from_fn(|| cc.poll_event()).collect()
    }

    #[test]
    fn starts_with_rates_and_initial_probes() {
        let t0 = Instant::now();
        let mut cc = CongestionController::new(t0, CcConfig::default());
        let ev = events(&mut cc);
        let rates = TargetRates { target: Bitrate::kbps(300), pacing: Bitrate::kbps(750), padding: Bitrate::ZERO };
        assert_eq!(ev[0], CcEvent::Rates(rates));
        assert!(matches!(ev[1], CcEvent::Probe(ProbeCluster { bitrate, .. }) if bitrate == Bitrate::kbps(900)));
        assert!(matches!(ev[2], CcEvent::Probe(ProbeCluster { bitrate, .. }) if bitrate == Bitrate::kbps(1_800)));
        assert_eq!(cc.poll_timeout(), t0 + 25 * MS);
    }

    #[test]
    fn remb_caps_the_target() {
        let t0 = Instant::now();
        let cfg = CcConfig { initial_probing: false, ..CcConfig::default() };
        let mut cc = CongestionController::new(t0, cfg);
        events(&mut cc);
        cc.on_remb(t0 + MS, Bitrate::kbps(200));
        assert_eq!(cc.rates().target, Bitrate::kbps(200));
        assert_eq!(cc.stats().remb, Some(Bitrate::kbps(200)));
        // A REMB-only peer: in the start phase the target jumps up to REMB.
        cc.on_remb(t0 + 2 * MS, Bitrate::kbps(1_000));
        assert_eq!(cc.rates().target, Bitrate::kbps(1_000));
        assert!(matches!(events(&mut cc).last(), Some(CcEvent::Rates(r)) if r.pacing == Bitrate::kbps(2_500)));
    }

    #[test]
    fn receiver_reports_drive_loss_until_transport_feedback() {
        let t0 = Instant::now();
        let cfg = CcConfig { initial_probing: false, ..CcConfig::default() };
        let mut cc = CongestionController::new(t0, cfg);
        cc.on_receiver_report(t0 + MS, 30, 100);
        assert_eq!(cc.rates().target, Bitrate::from_f64(300_000.0 * (1.0 - 76.0 / 512.0)));
        cc.on_packet_sent(SentPacket { seq: 0, send_time: t0, size: 1_000, probe_cluster: None });
        assert_eq!(cc.stats().bytes_in_flight, 1_000);
        cc.on_transport_feedback(t0 + 50 * MS, &[(0, Some(40 * MS))]);
        assert_eq!(cc.stats().bytes_in_flight, 0);
        let before = cc.rates();
        cc.on_receiver_report(t0 + 2_000 * MS, 100, 100);
        assert_eq!(cc.rates(), before);
    }

    #[test]
    fn overdue_feedback_pushes_the_target_back_but_silence_alone_does_not() {
        let t0 = Instant::now();
        let cfg = CcConfig { initial_probing: false, ..CcConfig::default() };
        let send = |cc: &mut CongestionController, seq: u16, at: Duration| {
            cc.on_packet_sent(SentPacket { seq, send_time: t0 + at, size: 1_000, probe_cluster: None });
        };
        // A peer that sends no transport feedback at all is not "overdue".
        let mut cc = CongestionController::new(t0, cfg);
        for i in 0..100u16 {
            send(&mut cc, i, u32::from(i) * 20 * MS);
            cc.handle_timeout(t0 + u32::from(i) * 20 * MS);
        }
        assert_eq!(cc.rates().target, Bitrate::kbps(300));
        assert_eq!(cc.stats().feedback_pushback, 1.0);
        // Feedback seen once, then none while sending: 500 ms of grace (the
        // RTT is 50 ms), then halving every second.
        let mut cc = CongestionController::new(t0, cfg);
        cc.on_rtt(50 * MS);
        send(&mut cc, 0, Duration::ZERO);
        cc.on_transport_feedback(t0 + 50 * MS, &[(0, Some(25 * MS))]);
        for i in 1..80u16 {
            send(&mut cc, i, u32::from(i) * 20 * MS);
            cc.handle_timeout(t0 + u32::from(i) * 20 * MS);
            if i == 25 {
                assert_eq!(cc.rates().target, Bitrate::kbps(300), "at 500 ms");
            }
        }
        let r = cc.rates();
        // 1.58 s: 1.03 s past the 550 ms mark.
        assert!((r.target.as_f64() - 300_000.0 * 0.5f64.powf(1.03)).abs() < 5_000.0, "{r:?}");
        assert_eq!(r.pacing, Bitrate::kbps(750));
        // The next report lifts it at once.
        cc.on_transport_feedback(t0 + 1_600 * MS, &[(79, Some(1_575 * MS))]);
        assert_eq!(cc.rates().target, Bitrate::kbps(300));
        // An idle sender waits for nothing: a send after 5 s of quiet is
        // not late.
        send(&mut cc, 80, 6_000 * MS);
        cc.handle_timeout(t0 + 6_100 * MS);
        assert_eq!(cc.rates().target, Bitrate::kbps(300));
    }

    #[test]
    fn timeouts_are_periodic() {
        let t0 = Instant::now();
        let mut cc = CongestionController::new(t0, CcConfig::default());
        cc.handle_timeout(t0 + 10 * MS);
        assert_eq!(cc.poll_timeout(), t0 + 25 * MS);
        cc.handle_timeout(t0 + 25 * MS);
        assert_eq!(cc.poll_timeout(), t0 + 50 * MS);
    }
}
