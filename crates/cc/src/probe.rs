//! Probing: when to send probe clusters and at what rate (libwebrtc
//! `ProbeController`).
//!
//! The additive and 8%-a-second increases are slow: from 300 kbit/s to
//! 2 Mbit/s would take about 25 s. A probe is a short burst (a *cluster*)
//! sent at a chosen rate; the receive rate measured from its feedback says
//! what the path carries right now. At start two clusters go out at 3× and
//! 6× the start rate; while a result comes back above 70% of the rate
//! probed, another follows at 2× the result. In ALR (see [`crate::alr`])
//! one cluster at 2× the estimate goes out every 5 s.
//!
//! A large drop of the estimate (under 66% of what it was) while in ALR or
//! within 3 s of its end is suspect: the application-limited period taught
//! the estimators little, and a burst at its end may have tripped them. Once
//! the delay detector is back to normal, one cluster at 85% of the rate
//! before the drop checks it (libwebrtc's `RequestProbe`); if the path
//! really lost capacity the result says so and nothing more is tried for
//! 5 s.

use std::time::{Duration, Instant};

use crate::rate::Bitrate;

/// Initial probes, as multiples of the start rate (`first_exponential_probe_scale`, `second_...`).
const INITIAL_SCALES: [f64; 2] = [3.0, 6.0];
/// Further probes, as multiples of the estimate (`further_exponential_probe_scale`).
const FURTHER_SCALE: f64 = 2.0;
/// A result above this share of the probed rate probes again (`kRepeatedProbeMinPercentage`).
const FURTHER_MIN_SHARE: f64 = 0.7;
/// Stop waiting for a result (`kMaxWaitingTimeForProbingResult`).
const WAIT_FOR_RESULT: Duration = Duration::from_secs(1);
/// ALR probe spacing (`alr_probing_interval`) and scale (`alr_probe_scale`).
const ALR_INTERVAL: Duration = Duration::from_secs(5);
const ALR_SCALE: f64 = 2.0;
/// An estimate under this share of the previous one is a large drop (`kBitrateDropThreshold`).
const LARGE_DROP: f64 = 0.66;
/// Probe back at this share of the rate before the drop (`kProbeFractionAfterDrop`)...
const AFTER_DROP_SHARE: f64 = 0.85;
/// ... unless the estimate is within this margin of it (`kProbeUncertainty`)...
const AFTER_DROP_UNCERTAINTY: f64 = 0.05;
/// ... if the drop is this recent (`kBitrateDropTimeout`)...
const DROP_TIMEOUT: Duration = Duration::from_secs(5);
/// ... and the sender is in ALR or left it this recently (`kAlrEndedTimeout`)...
const ALR_ENDED_TIMEOUT: Duration = Duration::from_secs(3);
/// ... at most once in this long (`kMinTimeBetweenAlrProbes`).
const MIN_DROP_PROBE_INTERVAL: Duration = Duration::from_secs(5);
/// Minimum cluster size (`min_probe_packets_sent`, `min_probe_duration`).
pub(crate) const MIN_PROBE_PACKETS: usize = 5;
const MIN_PROBE_DURATION: Duration = Duration::from_millis(15);

/// A burst the pacer should send at `bitrate`, to be measured on feedback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeCluster {
    /// Identifies the cluster; packets sent for it carry it back in
    /// [`crate::SentPacket::probe_cluster`].
    pub id: u32,
    /// The rate to send the cluster at.
    pub bitrate: Bitrate,
    /// Send at least this many packets...
    pub min_packets: usize,
    /// ... and at least this many bytes.
    pub min_bytes: usize,
}

impl ProbeCluster {
    pub(crate) fn new(id: u32, bitrate: Bitrate) -> Self {
        ProbeCluster {
            id,
            bitrate,
            min_packets: MIN_PROBE_PACKETS,
            min_bytes: bitrate.bytes_in(MIN_PROBE_DURATION).ceil() as usize,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    WaitingForResult,
}

/// The probe controller.
#[derive(Debug)]
pub(crate) struct ProbeController {
    state: State,
    next_id: u32,
    max: Bitrate,
    /// Results above this trigger a further probe.
    further_above: Option<Bitrate>,
    started_at: Option<Instant>,
    last_probe: Option<Instant>,
    estimate: Bitrate,
    alr_probing: bool,
    /// The last large drop: when, and the estimate before it.
    large_drop: Option<(Instant, Bitrate)>,
    alr_ended: Option<Instant>,
    last_drop_probe: Option<Instant>,
}

impl ProbeController {
    pub(crate) fn new(max: Bitrate, alr_probing: bool) -> Self {
        ProbeController {
            state: State::Idle,
            next_id: 1,
            max,
            further_above: None,
            started_at: None,
            last_probe: None,
            estimate: Bitrate::ZERO,
            alr_probing,
            large_drop: None,
            alr_ended: None,
            last_drop_probe: None,
        }
    }

    fn cluster(&mut self, now: Instant, rate: Bitrate) -> ProbeCluster {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.last_probe = Some(now);
        ProbeCluster::new(id, rate.min(self.max))
    }

    /// The initial clusters (3× and 6× `start`, capped by the maximum).
    pub(crate) fn initial(&mut self, now: Instant, start: Bitrate) -> Vec<ProbeCluster> {
        self.estimate = start;
        let mut out = Vec::new();
        for s in INITIAL_SCALES {
            let rate = start.mul_f64(s);
            if rate <= start {
                continue;
            }
            out.push(self.cluster(now, rate));
            if rate >= self.max {
                break;
            }
        }
        if let Some(last) = out.last() {
            self.state = State::WaitingForResult;
            self.started_at = Some(now);
            self.further_above = Some(last.bitrate.mul_f64(FURTHER_MIN_SHARE));
        }
        out
    }

    /// A new estimate: may start a further probe.
    pub(crate) fn on_estimate(&mut self, now: Instant, estimate: Bitrate) -> Option<ProbeCluster> {
        if estimate < self.estimate.mul_f64(LARGE_DROP) {
            self.large_drop = Some((now, self.estimate));
        }
        self.estimate = estimate;
        if self.state != State::WaitingForResult {
            return None;
        }
        if self.started_at.is_some_and(|t| now.saturating_duration_since(t) > WAIT_FOR_RESULT) {
            self.state = State::Idle;
            return None;
        }
        if self.further_above.is_some_and(|f| estimate > f) && estimate < self.max {
            let rate = estimate.mul_f64(FURTHER_SCALE);
            self.started_at = Some(now);
            self.further_above = Some(rate.min(self.max).mul_f64(FURTHER_MIN_SHARE));
            return Some(self.cluster(now, rate));
        }
        None
    }

    /// The sender left ALR at `at`.
    pub(crate) fn set_alr_ended(&mut self, at: Instant) {
        self.alr_ended = Some(at);
    }

    /// The delay detector is normal again: if the estimate dropped a lot
    /// lately while in ALR or just after it, probe at 85% of the rate it
    /// had before.
    pub(crate) fn request_probe(&mut self, now: Instant, in_alr: bool) -> Option<ProbeCluster> {
        let alr_recent = in_alr || self.alr_ended.is_some_and(|t| now.saturating_duration_since(t) < ALR_ENDED_TIMEOUT);
        if !alr_recent || self.state != State::Idle {
            return None;
        }
        let (at, before) = self.large_drop?;
        let rate = before.mul_f64(AFTER_DROP_SHARE);
        if now.saturating_duration_since(at) >= DROP_TIMEOUT
            || rate.mul_f64(1.0 - AFTER_DROP_UNCERTAINTY) <= self.estimate
            || self.last_drop_probe.is_some_and(|t| now.saturating_duration_since(t) < MIN_DROP_PROBE_INTERVAL)
        {
            return None;
        }
        self.last_drop_probe = Some(now);
        self.state = State::WaitingForResult;
        self.started_at = Some(now);
        self.further_above = None;
        Some(self.cluster(now, rate))
    }

    /// Periodic work: times out waiting, probes in ALR.
    pub(crate) fn process(&mut self, now: Instant, alr_start: Option<Instant>) -> Option<ProbeCluster> {
        if self.state == State::WaitingForResult
            && self.started_at.is_some_and(|t| now.saturating_duration_since(t) > WAIT_FOR_RESULT)
        {
            self.state = State::Idle;
        }
        let alr_start = alr_start.filter(|_| self.alr_probing && self.state == State::Idle)?;
        let since = self.last_probe.map_or(alr_start, |p| p.max(alr_start));
        if now.saturating_duration_since(since) < ALR_INTERVAL || self.estimate >= self.max {
            return None;
        }
        let rate = self.estimate.mul_f64(ALR_SCALE);
        self.state = State::WaitingForResult;
        self.started_at = Some(now);
        self.further_above = Some(rate.min(self.max).mul_f64(FURTHER_MIN_SHARE));
        Some(self.cluster(now, rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_probes_then_exponential_until_the_result_falls_short() {
        let t0 = Instant::now();
        let mut p = ProbeController::new(Bitrate::mbps(10), true);
        let c = p.initial(t0, Bitrate::kbps(300));
        assert_eq!(c.iter().map(|c| c.bitrate).collect::<Vec<_>>(), [Bitrate::kbps(900), Bitrate::kbps(1_800)]);
        assert_eq!(c[1].min_bytes, 3_375);
        assert_eq!(c[1].min_packets, 5);
        assert_ne!(c[0].id, c[1].id);
        // 900 kbit/s is not above 70% of 1.8 Mbit/s.
        assert_eq!(p.on_estimate(t0, Bitrate::kbps(900)), None);
        let next = p.on_estimate(t0, Bitrate::kbps(1_700)).unwrap();
        assert_eq!(next.bitrate, Bitrate::kbps(3_400));
        // The path carries 1.9 Mbit/s: below 70% of 3.4, done.
        assert_eq!(p.on_estimate(t0, Bitrate::kbps(1_900)), None);
    }

    #[test]
    fn waiting_times_out_and_probes_are_capped() {
        let t0 = Instant::now();
        let mut p = ProbeController::new(Bitrate::kbps(1_000), false);
        let c = p.initial(t0, Bitrate::kbps(500));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].bitrate, Bitrate::kbps(1_000));
        assert_eq!(p.on_estimate(t0 + Duration::from_secs(2), Bitrate::kbps(999)), None);
    }

    #[test]
    fn a_large_drop_around_alr_is_probed_once() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut p = ProbeController::new(Bitrate::mbps(10), true);
        p.on_estimate(t0, Bitrate::mbps(2));
        // A drop to 75% is not large; to 25% is.
        p.on_estimate(t0, Bitrate::kbps(1_500));
        assert_eq!(p.request_probe(t0, true), None);
        p.on_estimate(t0, Bitrate::kbps(500));
        // Not outside ALR, nor 3 s after its end.
        assert_eq!(p.request_probe(t0, false), None);
        p.set_alr_ended(t0);
        assert_eq!(p.request_probe(t0 + 3 * s, false), None);
        let c = p.request_probe(t0 + s, false).unwrap();
        assert_eq!(c.bitrate, Bitrate::kbps(1_275));
        // The result does not trigger a further probe, nor does a second
        // request within 5 s.
        assert_eq!(p.on_estimate(t0 + s, Bitrate::kbps(1_200)), None);
        assert_eq!(p.request_probe(t0 + 3 * s, true), None);
    }

    #[test]
    fn alr_probes_every_five_seconds() {
        let t0 = Instant::now();
        let mut p = ProbeController::new(Bitrate::mbps(10), true);
        p.initial(t0, Bitrate::kbps(300));
        p.on_estimate(t0, Bitrate::kbps(500));
        let alr = Some(t0 + Duration::from_secs(1));
        assert_eq!(p.process(t0 + Duration::from_secs(3), alr), None);
        let c = p.process(t0 + Duration::from_secs(6), alr).unwrap();
        assert_eq!(c.bitrate, Bitrate::mbps(1));
        assert_eq!(p.process(t0 + Duration::from_secs(8), alr), None);
        assert_eq!(p.process(t0 + Duration::from_secs(8), None), None);
    }
}
