//! The delay-based estimator: inter-arrival groups → trendline → overuse
//! detector → AIMD (libwebrtc `DelayBasedBwe`).

use std::time::{Duration, Instant};

use crate::aimd::AimdRateControl;
use crate::history::PacketResult;
use crate::inter_arrival::InterArrival;
use crate::overuse::{BandwidthUsage, OveruseDetector};
use crate::rate::Bitrate;
use crate::trendline::Trendline;

/// The delay-based estimator.
#[derive(Debug)]
pub(crate) struct DelayBasedBwe {
    inter_arrival: InterArrival,
    trendline: Trendline,
    detector: OveruseDetector,
    aimd: AimdRateControl,
    /// Set once feedback has produced an estimate.
    has_estimate: bool,
}

impl DelayBasedBwe {
    pub(crate) fn new(start: Bitrate, min: Bitrate, max: Bitrate) -> Self {
        DelayBasedBwe {
            inter_arrival: InterArrival::default(),
            trendline: Trendline::default(),
            detector: OveruseDetector::default(),
            aimd: AimdRateControl::new(start, min, max),
            has_estimate: false,
        }
    }

    pub(crate) fn set_rtt(&mut self, rtt: Duration) {
        self.aimd.set_rtt(rtt);
    }

    /// The estimate, once feedback has produced one.
    pub(crate) fn estimate(&self) -> Option<Bitrate> {
        self.has_estimate.then(|| self.aimd.estimate())
    }

    pub(crate) fn usage(&self) -> BandwidthUsage {
        self.detector.state()
    }

    /// Processes the received packets of one feedback report, sorted by
    /// arrival. `acked` is the acknowledged rate, `probe` a fresh probe
    /// result; `app_limited` says that the acknowledged rate measures the
    /// application, not the path (see [`crate::aimd`]). Returns the new
    /// estimate if it was updated.
    pub(crate) fn on_feedback(
        &mut self,
        now: Instant,
        received: &[PacketResult],
        acked: Option<Bitrate>,
        probe: Option<Bitrate>,
        app_limited: bool,
    ) -> Option<Bitrate> {
        self.aimd.set_app_limited(app_limited);
        for p in received {
            let Some(arrival) = p.arrival else { continue };
            let Some(d) = self.inter_arrival.on_packet(p.send_time, arrival, now) else { continue };
            let send_ms = d.send_delta_us as f64 / 1_000.0;
            let slope =
                self.trendline.update(d.arrival_delta_us as f64 / 1_000.0, send_ms, arrival.as_secs_f64() * 1e3);
            self.detector.detect(slope, self.trendline.deltas(), send_ms, arrival.as_secs_f64() * 1e3);
        }
        let usage = self.detector.state();
        let updated = if usage == BandwidthUsage::Overusing {
            // An application-limited acknowledged rate says nothing of a
            // collapse: only the time since the last change counts.
            let acked_for_timing = if app_limited { acked.map(|_| self.aimd.estimate()) } else { acked };
            match acked_for_timing {
                Some(a) if self.aimd.time_to_reduce_further(now, a) => {
                    self.aimd.update(usage, acked, now);
                    true
                }
                // Overuse before anything was acknowledged: halve, at most
                // every 200 ms (libwebrtc's initial backoff).
                None if self.aimd.time_to_reduce_further(now, Bitrate::ZERO) => {
                    let half = self.aimd.estimate().mul_f64(0.5);
                    self.aimd.set_estimate(half, now);
                    true
                }
                _ => false,
            }
        } else if let Some(p) = probe {
            self.aimd.set_estimate(p, now);
            true
        } else if acked.is_some() || self.has_estimate {
            self.aimd.update(usage, acked, now);
            true
        } else {
            false
        };
        if updated {
            self.has_estimate = true;
            Some(self.aimd.estimate())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packets of 1,200 bytes sent every `gap_ms`, arriving `arrival_gap_ms`
    /// apart; fed back every 50 ms. Returns the last estimate.
    fn run(bwe: &mut DelayBasedBwe, t0: Instant, n: u64, gap_us: u64, arrival_gap_us: u64, acked: Bitrate) -> Bitrate {
        let mut est = None;
        let mut batch = Vec::new();
        for i in 0..n {
            batch.push(PacketResult {
                seq: i,
                send_time: t0 + Duration::from_micros(i * gap_us),
                size: 1_200,
                probe_cluster: None,
                arrival: Some(Duration::from_micros(10_000 + i * arrival_gap_us)),
            });
            if batch.len() == 25 {
                let now = t0 + Duration::from_micros(20_000 + i * arrival_gap_us);
                est = bwe.on_feedback(now, &batch, Some(acked), None, false).or(est);
                batch.clear();
            }
        }
        est.unwrap()
    }

    #[test]
    fn stable_delay_increases() {
        let t0 = Instant::now();
        let mut bwe = DelayBasedBwe::new(Bitrate::kbps(500), Bitrate::kbps(30), Bitrate::mbps(10));
        assert_eq!(bwe.estimate(), None);
        // 1,200 B every 10 ms is 960 kbit/s, delivered as sent.
        let est = run(&mut bwe, t0, 500, 10_000, 10_000, Bitrate::kbps(960));
        assert_eq!(bwe.usage(), BandwidthUsage::Normal);
        assert!(est > Bitrate::kbps(600), "{est}");
    }

    #[test]
    fn growing_delay_decreases_to_acked() {
        let t0 = Instant::now();
        let mut bwe = DelayBasedBwe::new(Bitrate::mbps(2), Bitrate::kbps(30), Bitrate::mbps(10));
        // Sent every 5 ms, delivered every 6 ms: the link carries 1.6 Mbit/s.
        let est = run(&mut bwe, t0, 300, 5_000, 6_000, Bitrate::kbps(1_600));
        assert!(est <= Bitrate::kbps(1_360), "{est}");
    }

    #[test]
    fn probe_result_sets_the_estimate() {
        let t0 = Instant::now();
        let mut bwe = DelayBasedBwe::new(Bitrate::kbps(300), Bitrate::kbps(30), Bitrate::mbps(10));
        let est = bwe.on_feedback(t0, &[], None, Some(Bitrate::kbps(1_800)), false);
        assert_eq!(est, Some(Bitrate::kbps(1_800)));
        assert_eq!(bwe.estimate(), Some(Bitrate::kbps(1_800)));
    }
}
