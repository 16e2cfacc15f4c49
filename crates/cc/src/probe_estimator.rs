//! Probe results: the rate a cluster's feedback shows (libwebrtc
//! `ProbeBitrateEstimator`).
//!
//! Once at least 80% of a cluster's packets and bytes are acknowledged, its
//! send rate (bytes but the last sent, over the send span) and receive rate
//! (bytes but the first received, over the arrival span) are compared. The
//! result is the lower of the two; if the receiver got it notably slower
//! (under 90% of the send rate) the path is saturated and the result is 95%
//! of the receive rate. Implausible clusters (receive rate over twice the
//! send rate, spans over 1 s) are dropped.

use std::time::{Duration, Instant};

use crate::history::PacketResult;
use crate::probe::ProbeCluster;
use crate::rate::Bitrate;

/// Share of packets and bytes that must be acknowledged (`kMinReceivedProbesRatio`, `kMinReceivedBytesRatio`).
const MIN_RECEIVED_SHARE: f64 = 0.8;
/// Longest send or receive span (`kMaxProbeInterval`).
const MAX_SPAN: Duration = Duration::from_secs(1);
/// Receive/send ratio above which the cluster is nonsense (`kMaxValidRatio`).
const MAX_VALID_RATIO: f64 = 2.0;
/// Under this ratio the link is saturated (`kMinRatioForUnsaturatedLink`).
const SATURATED_RATIO: f64 = 0.9;
/// Share of the receive rate taken on a saturated link (`kTargetUtilizationFraction`).
const TARGET_UTILIZATION: f64 = 0.95;
/// Clusters are forgotten after this long (`kMaxClusterHistory`).
const MAX_AGE: Duration = Duration::from_secs(1);
/// Clusters tracked at most.
const MAX_CLUSTERS: usize = 16;

#[derive(Debug)]
struct Cluster {
    info: ProbeCluster,
    created: Instant,
    packets: usize,
    bytes: usize,
    first_send: Option<Instant>,
    last_send: Option<Instant>,
    last_send_size: usize,
    first_arrival: Option<Duration>,
    last_arrival: Option<Duration>,
    first_arrival_size: usize,
    done: bool,
}

/// The estimator.
#[derive(Debug, Default)]
pub(crate) struct ProbeEstimator {
    clusters: Vec<Cluster>,
}

impl ProbeEstimator {
    /// A cluster was asked of the pacer.
    pub(crate) fn add_cluster(&mut self, now: Instant, info: ProbeCluster) {
        self.clusters.retain(|c| now.saturating_duration_since(c.created) < MAX_AGE);
        if self.clusters.len() >= MAX_CLUSTERS {
            self.clusters.remove(0);
        }
        self.clusters.push(Cluster {
            info,
            created: now,
            packets: 0,
            bytes: 0,
            first_send: None,
            last_send: None,
            last_send_size: 0,
            first_arrival: None,
            last_arrival: None,
            first_arrival_size: 0,
            done: false,
        });
    }

    /// One acknowledged probe packet. Returns the cluster's result when it
    /// has enough packets (once per cluster).
    pub(crate) fn on_packet(&mut self, p: &PacketResult) -> Option<Bitrate> {
        let (id, arrival) = (p.probe_cluster?, p.arrival?);
        let c = self.clusters.iter_mut().find(|c| c.info.id == id && !c.done)?;
        c.packets += 1;
        c.bytes += p.size;
        if c.first_send.is_none_or(|t| p.send_time < t) {
            c.first_send = Some(p.send_time);
        }
        if c.last_send.is_none_or(|t| p.send_time >= t) {
            c.last_send = Some(p.send_time);
            c.last_send_size = p.size;
        }
        if c.first_arrival.is_none_or(|t| arrival < t) {
            c.first_arrival = Some(arrival);
            c.first_arrival_size = p.size;
        }
        if c.last_arrival.is_none_or(|t| arrival >= t) {
            c.last_arrival = Some(arrival);
        }
        let enough_packets = c.packets as f64 >= MIN_RECEIVED_SHARE * c.info.min_packets as f64;
        let enough_bytes = c.bytes as f64 >= MIN_RECEIVED_SHARE * c.info.min_bytes as f64;
        if !enough_packets || !enough_bytes {
            return None;
        }
        let send_span = c.last_send? - c.first_send?;
        let recv_span = c.last_arrival?.checked_sub(c.first_arrival?)?;
        if send_span.is_zero() || recv_span.is_zero() || send_span > MAX_SPAN || recv_span > MAX_SPAN {
            return None;
        }
        c.done = true;
        let send_rate = Bitrate::from_bytes((c.bytes - c.last_send_size) as u64, send_span)?.as_f64();
        let recv_rate = Bitrate::from_bytes((c.bytes - c.first_arrival_size) as u64, recv_span)?.as_f64();
        if recv_rate > MAX_VALID_RATIO * send_rate {
            return None;
        }
        let mut result = send_rate.min(recv_rate);
        if recv_rate < SATURATED_RATIO * send_rate {
            result = TARGET_UTILIZATION * recv_rate;
        }
        Some(Bitrate::from_f64(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `n` probe packets of 1,000 B sent every `send_us` and received
    /// every `recv_us`; returns the first result.
    fn feed(est: &mut ProbeEstimator, t0: Instant, id: u32, n: u64, send_us: u64, recv_us: u64) -> Option<Bitrate> {
        (0..n)
            .filter_map(|i| {
                est.on_packet(&PacketResult {
                    seq: i,
                    send_time: t0 + Duration::from_micros(i * send_us),
                    size: 1_000,
                    probe_cluster: Some(id),
                    arrival: Some(Duration::from_micros(50_000 + i * recv_us)),
                })
            })
            .next()
    }

    fn cluster(id: u32, kbps: u64) -> ProbeCluster {
        ProbeCluster { id, bitrate: Bitrate::kbps(kbps), min_packets: 5, min_bytes: 5_000 }
    }

    #[test]
    fn unsaturated_probe_gives_the_send_rate() {
        let t0 = Instant::now();
        let mut est = ProbeEstimator::default();
        est.add_cluster(t0, cluster(1, 2_000));
        // 1,000 B every 4 ms: 2 Mbit/s, received the same.
        let r = feed(&mut est, t0, 1, 5, 4_000, 4_000).unwrap();
        assert_eq!(r, Bitrate::mbps(2));
        // Once per cluster.
        assert_eq!(feed(&mut est, t0, 1, 5, 4_000, 4_000), None);
    }

    #[test]
    fn saturated_probe_gives_95_percent_of_the_receive_rate() {
        let t0 = Instant::now();
        let mut est = ProbeEstimator::default();
        est.add_cluster(t0, cluster(2, 4_000));
        // Sent at 4 Mbit/s, received at 1 Mbit/s.
        let r = feed(&mut est, t0, 2, 5, 2_000, 8_000).unwrap();
        assert_eq!(r, Bitrate::kbps(950));
    }

    #[test]
    fn unknown_too_few_and_implausible_clusters_give_nothing() {
        let t0 = Instant::now();
        let mut est = ProbeEstimator::default();
        est.add_cluster(t0, cluster(3, 2_000));
        assert_eq!(feed(&mut est, t0, 9, 5, 4_000, 4_000), None);
        assert_eq!(feed(&mut est, t0, 3, 3, 4_000, 4_000), None);
        est.add_cluster(t0, cluster(4, 2_000));
        // Received 3 times faster than sent.
        assert_eq!(feed(&mut est, t0, 4, 5, 6_000, 2_000), None);
    }
}
