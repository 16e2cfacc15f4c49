//! The pacer: packets leave at the pacing rate, not in bursts (libwebrtc
//! `PacingController`, str0m `pacer`).
//!
//! An encoder hands over a whole frame at once; a keyframe can be 100 KB.
//! Sent in one burst it would fill the bottleneck queue, raise delay for
//! everything (and trip the delay-based estimator). The pacer keeps a queue
//! per kind (audio, then retransmissions, then video, then caller-made
//! padding) and a *media debt*: each packet sent adds its size, the debt
//! drains at the pacing rate, and the next packet may leave when it is
//! paid. The pacing rate is the target × 2.5 (libwebrtc's
//! `kDefaultPaceMultiplier`), so a frame leaves in 40% of its frame
//! interval and the encoder's bursts are absorbed.
//!
//! - Audio is not held back by the debt (libwebrtc does not pace audio by
//!   default), but its bytes count.
//! - Probe clusters ([`ProbeCluster`]) go first, at their own rate, using
//!   queued packets or padding requests ([`PacedOutput::Padding`]).
//! - With a padding rate set, padding is requested when the queue is empty
//!   (after the first media packet), at that rate.
//! - The queue is bounded: when its contents would take longer than
//!   [`PacerConfig::max_queue_time`] at the pacing rate, it is drained
//!   faster (at the rate that empties it in that time); past
//!   [`PacerConfig::max_queued_packets`] [`Pacer::enqueue`] refuses.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::probe::ProbeCluster;
use crate::rate::Bitrate;

/// What a queued packet is; also its priority (first is highest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PacketKind {
    /// Audio: never held back by the budget.
    Audio,
    /// A retransmission (NACK answered, RTX).
    Retransmission,
    /// Video (and FEC).
    Video,
    /// Padding the caller queued itself.
    Padding,
}

const KINDS: usize = 4;

/// Pacer settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacerConfig {
    /// The longest the queue may take to drain at the pacing rate before it
    /// is drained faster (libwebrtc `kMaxExpectedQueueLength`, 2 s).
    pub max_queue_time: Duration,
    /// Packets queued at most; beyond, [`Pacer::enqueue`] refuses.
    pub max_queued_packets: usize,
}

impl Default for PacerConfig {
    fn default() -> Self {
        PacerConfig { max_queue_time: Duration::from_secs(2), max_queued_packets: 10_000 }
    }
}

/// What the pacer releases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacedOutput<T> {
    /// A queued packet is due.
    Packet {
        /// The caller's packet.
        item: T,
        /// Its kind.
        kind: PacketKind,
        /// Its size as given to [`Pacer::enqueue`].
        size: usize,
        /// The probe cluster it was sent for.
        probe_cluster: Option<u32>,
    },
    /// Send `size` bytes of padding now (RTX of old packets, or padding-only
    /// RTP packets).
    Padding {
        /// Bytes to send.
        size: usize,
        /// The probe cluster it is for.
        probe_cluster: Option<u32>,
    },
}

/// [`Pacer::enqueue`] refused a packet: the queue holds
/// [`PacerConfig::max_queued_packets`]. The packet is handed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

#[derive(Debug)]
struct Queued<T> {
    item: T,
    size: usize,
    at: Instant,
}

#[derive(Debug)]
struct ActiveProbe {
    cluster: ProbeCluster,
    started: Option<Instant>,
    packets: usize,
    bytes: usize,
}

/// Largest and smallest padding or probe packet generated.
const MAX_PADDING: usize = 1_200;
const MIN_PADDING: usize = 50;
/// Padding packets carry this much time at the padding rate.
const PADDING_SLICE: Duration = Duration::from_millis(5);
/// Debt under this many bytes counts as paid (float rounding).
const DEBT_EPSILON: f64 = 1e-6;
/// Debt is capped at this much time at the pacing rate (`kMaxDebtInTime`).
const MAX_DEBT_TIME: Duration = Duration::from_millis(500);

/// The pacer, generic over the caller's packet type.
#[derive(Debug)]
pub struct Pacer<T> {
    config: PacerConfig,
    queues: [VecDeque<Queued<T>>; KINDS],
    queued_bytes: usize,
    pacing: Bitrate,
    padding: Bitrate,
    media_debt: f64,
    padding_debt: f64,
    last_update: Option<Instant>,
    probes: VecDeque<ActiveProbe>,
    sent_media: bool,
}

impl<T> Pacer<T> {
    /// A pacer with no rate yet: nothing but audio leaves until
    /// [`Pacer::set_rates`].
    pub fn new(config: PacerConfig) -> Self {
        Pacer {
            config,
            queues: Default::default(),
            queued_bytes: 0,
            pacing: Bitrate::ZERO,
            padding: Bitrate::ZERO,
            media_debt: 0.0,
            padding_debt: 0.0,
            last_update: None,
            probes: VecDeque::new(),
            sent_media: false,
        }
    }

    /// Sets the pacing and padding rates (from [`crate::TargetRates`]) from
    /// `now` on: the debts first drain at the old rates up to `now`, so a
    /// change takes effect exactly then, not back to the last call.
    pub fn set_rates(&mut self, now: Instant, pacing: Bitrate, padding: Bitrate) {
        self.update(now);
        self.pacing = pacing;
        self.padding = padding;
    }

    /// Queues a probe cluster; it starts at the next [`Pacer::poll_send`].
    pub fn add_probe_cluster(&mut self, now: Instant, cluster: ProbeCluster) {
        self.update(now);
        self.probes.push_back(ActiveProbe { cluster, started: None, packets: 0, bytes: 0 });
    }

    /// Queues a packet of `size` bytes.
    pub fn enqueue(&mut self, now: Instant, kind: PacketKind, size: usize, item: T) -> Result<(), QueueFull<T>> {
        if self.queued_packets() >= self.config.max_queued_packets {
            return Err(QueueFull(item));
        }
        self.update(now);
        self.queues[kind as usize].push_back(Queued { item, size, at: now });
        self.queued_bytes += size;
        Ok(())
    }

    /// Packets waiting.
    pub fn queued_packets(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    /// Bytes waiting.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// How long the queue takes to leave at the pacing rate (`None` without
    /// a rate). An encoder may skip frames when this grows.
    pub fn expected_queue_time(&self) -> Option<Duration> {
        self.pacing.time_for(self.queued_bytes as f64)
    }

    /// The rate the queue drains at: the pacing rate, or faster when the
    /// oldest packet would otherwise wait longer than `max_queue_time`
    /// (everything queued then leaves by the oldest one's deadline).
    fn effective_rate(&self) -> Bitrate {
        let (Some(now), Some(oldest)) =
            (self.last_update, self.queues.iter().filter_map(|q| q.front()).map(|p| p.at).min())
        else {
            return self.pacing;
        };
        let left = (oldest + self.config.max_queue_time).saturating_duration_since(now).max(Duration::from_millis(1));
        let drain = Bitrate::from_bytes(self.queued_bytes as u64, left).unwrap_or(Bitrate::ZERO);
        self.pacing.max(drain)
    }

    fn update(&mut self, now: Instant) {
        if let Some(last) = self.last_update {
            let elapsed = now.saturating_duration_since(last);
            self.media_debt = (self.media_debt - self.effective_rate().bytes_in(elapsed)).max(0.0);
            self.padding_debt = (self.padding_debt - self.padding.bytes_in(elapsed)).max(0.0);
        }
        if self.last_update.is_none_or(|l| now > l) {
            self.last_update = Some(now);
        }
    }

    fn add_debt(&mut self, size: usize) {
        let cap = self.effective_rate().bytes_in(MAX_DEBT_TIME).max(size as f64);
        self.media_debt = (self.media_debt + size as f64).min(cap);
    }

    fn pop(&mut self, from: usize) -> Option<(T, PacketKind, usize)> {
        let (i, q) = self.queues.iter_mut().enumerate().skip(from).find(|(_, q)| !q.is_empty())?;
        let p = q.pop_front()?;
        self.queued_bytes -= p.size;
        let kind = [PacketKind::Audio, PacketKind::Retransmission, PacketKind::Video, PacketKind::Padding][i];
        Some((p.item, kind, p.size))
    }

    fn packet(&mut self, (item, kind, size): (T, PacketKind, usize), probe_cluster: Option<u32>) -> PacedOutput<T> {
        self.add_debt(size);
        self.sent_media |= kind != PacketKind::Padding;
        PacedOutput::Packet { item, kind, size, probe_cluster }
    }

    /// The next thing to send at `now`, if any is due. Call until `None`.
    pub fn poll_send(&mut self, now: Instant) -> Option<PacedOutput<T>> {
        self.update(now);
        if let Some(probe) = self.probes.front_mut() {
            let start = *probe.started.get_or_insert(now);
            let rate = probe.cluster.bitrate;
            if now < start + rate.time_for(probe.bytes as f64).unwrap_or_default() {
                return None;
            }
            let id = probe.cluster.id;
            let want = probe.cluster.min_bytes.div_ceil(probe.cluster.min_packets.max(1));
            let out = match self.pop(0) {
                Some(p) => self.packet(p, Some(id)),
                None => {
                    let size = want.clamp(MIN_PADDING, MAX_PADDING);
                    self.add_debt(size);
                    PacedOutput::Padding { size, probe_cluster: Some(id) }
                }
            };
            let size = match &out {
                PacedOutput::Packet { size, .. } | PacedOutput::Padding { size, .. } => *size,
            };
            let probe = self.probes.front_mut().expect("probe is active");
            probe.packets += 1;
            probe.bytes += size;
            if probe.packets >= probe.cluster.min_packets && probe.bytes >= probe.cluster.min_bytes {
                self.probes.pop_front();
            }
            return Some(out);
        }
        if let Some(p) = self.pop_audio() {
            return Some(self.packet(p, None));
        }
        if self.media_debt > DEBT_EPSILON || self.pacing == Bitrate::ZERO {
            return None;
        }
        if let Some(p) = self.pop(1) {
            return Some(self.packet(p, None));
        }
        if self.padding > Bitrate::ZERO && self.sent_media && self.padding_debt <= DEBT_EPSILON {
            let size = (self.padding.bytes_in(PADDING_SLICE) as usize).clamp(MIN_PADDING, MAX_PADDING);
            self.add_debt(size);
            self.padding_debt += size as f64;
            return Some(PacedOutput::Padding { size, probe_cluster: None });
        }
        None
    }

    fn pop_audio(&mut self) -> Option<(T, PacketKind, usize)> {
        if self.queues[PacketKind::Audio as usize].is_empty() {
            None
        } else {
            self.pop(0)
        }
    }

    /// When [`Pacer::poll_send`] should next be called (`None`: only after
    /// the next enqueue or probe).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let last = self.last_update?;
        // Rounded up to the microsecond (at least one), so the debt is
        // surely paid then.
        let after = |from: Instant, bytes: f64, rate: Bitrate| -> Option<Instant> {
            let d = rate.time_for(bytes)?;
            if bytes <= DEBT_EPSILON {
                return Some(from);
            }
            let micros = (d.as_micros() as u64 + u64::from(d.subsec_nanos() % 1_000 != 0)).max(1);
            Some(from + Duration::from_micros(micros))
        };
        if let Some(probe) = self.probes.front() {
            let Some(start) = probe.started else { return Some(last) };
            return after(start, probe.bytes as f64, probe.cluster.bitrate).map(|t| t.max(last));
        }
        if !self.queues[PacketKind::Audio as usize].is_empty() {
            return Some(last);
        }
        if self.queued_bytes > 0 || self.queues.iter().any(|q| !q.is_empty()) {
            return after(last, self.media_debt, self.effective_rate());
        }
        if self.padding > Bitrate::ZERO && self.sent_media {
            return after(last, self.media_debt, self.effective_rate()).max(after(
                last,
                self.padding_debt,
                self.padding,
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Drives the pacer like a driver would: to each `poll_timeout`, draining
    /// `poll_send`. Returns (time, output) until `end`.
    fn drive<T>(p: &mut Pacer<T>, mut now: Instant, end: Instant) -> Vec<(Instant, PacedOutput<T>)> {
        let mut out = Vec::new();
        loop {
            while let Some(o) = p.poll_send(now) {
                out.push((now, o));
            }
            match p.poll_timeout() {
                Some(t) if t <= end => {
                    assert!(t >= now, "timeout in the past");
                    now = t.max(now + Duration::from_nanos(1).min(t - now));
                }
                _ => return out,
            }
        }
    }

    fn size<T>(o: &PacedOutput<T>) -> usize {
        match o {
            PacedOutput::Packet { size, .. } | PacedOutput::Padding { size, .. } => *size,
        }
    }

    #[test]
    fn keyframe_is_spread_over_its_pacing_interval() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default());
        // Target 2 Mbit/s: pacing at 5 Mbit/s.
        p.set_rates(t0, Bitrate::mbps(2).mul_f64(2.5), Bitrate::ZERO);
        // A 100 KB keyframe: 84 packets of up to 1,200 B.
        let mut left = 100_000;
        let mut i = 0;
        while left > 0 {
            let s = left.min(1_200);
            p.enqueue(t0, PacketKind::Video, s, i).unwrap();
            left -= s;
            i += 1;
        }
        assert_eq!(p.expected_queue_time(), Some(160 * MS));
        let out = drive(&mut p, t0, t0 + 1_000 * MS);
        assert_eq!(out.len(), 84);
        let first = out[0].0;
        let last = out.last().unwrap().0;
        // 100 KB at 5 Mbit/s is 160 ms; the last packet leaves when the
        // debt of all before it is paid: (100,000 - 400) B / 5 Mbit/s.
        let span = last - first;
        assert!(span >= 158 * MS && span <= 161 * MS, "{span:?}");
        // No 10 ms window holds more than 5 Mbit/s × 10 ms + one packet.
        for (i, (t, _)) in out.iter().enumerate() {
            let bytes: usize = out[i..].iter().take_while(|(u, _)| *u < *t + 10 * MS).map(|(_, o)| size(o)).sum();
            assert!(bytes <= 6_250 + 1_200, "{bytes} B in 10 ms");
        }
        // In order.
        let items: Vec<_> = out
            .iter()
            .map(|(_, o)| match o {
                PacedOutput::Packet { item, .. } => *item,
                _ => panic!("padding"),
            })
            .collect();
        assert!(items.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn priorities_audio_then_retransmissions_then_video() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default());
        p.set_rates(t0, Bitrate::mbps(1), Bitrate::ZERO);
        p.enqueue(t0, PacketKind::Video, 1_000, "v1").unwrap();
        p.enqueue(t0, PacketKind::Padding, 100, "pad").unwrap();
        p.enqueue(t0, PacketKind::Video, 1_000, "v2").unwrap();
        p.enqueue(t0, PacketKind::Retransmission, 1_000, "rtx").unwrap();
        p.enqueue(t0, PacketKind::Audio, 100, "a1").unwrap();
        p.enqueue(t0, PacketKind::Audio, 100, "a2").unwrap();
        let order: Vec<_> = drive(&mut p, t0, t0 + 1_000 * MS)
            .into_iter()
            .map(|(_, o)| match o {
                PacedOutput::Packet { item, .. } => item,
                _ => panic!(),
            })
            .collect();
        assert_eq!(order, ["a1", "a2", "rtx", "v1", "v2", "pad"]);
    }

    #[test]
    fn audio_is_not_held_by_the_debt() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default());
        p.set_rates(t0, Bitrate::kbps(100), Bitrate::ZERO);
        p.enqueue(t0, PacketKind::Video, 1_200, 0).unwrap();
        assert!(p.poll_send(t0).is_some());
        p.enqueue(t0 + MS, PacketKind::Video, 1_200, 1).unwrap();
        p.enqueue(t0 + MS, PacketKind::Audio, 100, 2).unwrap();
        assert_eq!(p.poll_timeout(), Some(t0 + MS));
        assert!(matches!(p.poll_send(t0 + MS), Some(PacedOutput::Packet { item: 2, .. })));
        assert!(p.poll_send(t0 + MS).is_none());
        // 1,300 B at 100 kbit/s: 104 ms after t0.
        assert_eq!(p.poll_timeout(), Some(t0 + 104 * MS));
    }

    #[test]
    fn probe_cluster_is_sent_at_its_rate_with_padding() {
        let t0 = Instant::now();
        let mut p: Pacer<u32> = Pacer::new(PacerConfig::default());
        p.set_rates(t0, Bitrate::kbps(750), Bitrate::ZERO);
        let cluster = ProbeCluster::new(7, Bitrate::mbps(4));
        p.add_probe_cluster(t0, cluster);
        let out = drive(&mut p, t0, t0 + 1_000 * MS);
        assert!(out.len() >= cluster.min_packets);
        let bytes: usize = out.iter().map(|(_, o)| size(o)).sum();
        assert!(bytes >= cluster.min_bytes);
        assert!(out.iter().all(|(_, o)| matches!(o, PacedOutput::Padding { probe_cluster: Some(7), .. })));
        // The rate over the cluster, as the receiver's estimator computes it
        // (bytes but the last over the send span), is the cluster's.
        let span = out.last().unwrap().0 - out[0].0;
        let last = size(&out.last().unwrap().1);
        let rate = Bitrate::from_bytes((bytes - last) as u64, span).unwrap().as_f64();
        assert!((rate / 4e6 - 1.0).abs() < 0.02, "{rate}");
    }

    #[test]
    fn probes_use_queued_media_first() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default());
        p.set_rates(t0, Bitrate::kbps(750), Bitrate::ZERO);
        for i in 0..10 {
            p.enqueue(t0, PacketKind::Video, 1_200, i).unwrap();
        }
        p.add_probe_cluster(t0, ProbeCluster::new(1, Bitrate::mbps(3)));
        let out = drive(&mut p, t0, t0 + 40 * MS);
        let probes = out
            .iter()
            .filter(|(_, o)| matches!(o, PacedOutput::Packet { probe_cluster: Some(1), kind: PacketKind::Video, .. }))
            .count();
        // 3 Mbit/s × 15 ms = 5,625 B: 5 packets of 1,200 B.
        assert_eq!(probes, 5);
        assert!(out.iter().all(|(_, o)| matches!(o, PacedOutput::Packet { .. })));
    }

    #[test]
    fn padding_fills_up_to_the_padding_rate_after_media() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default());
        p.set_rates(t0, Bitrate::mbps(1), Bitrate::kbps(400));
        assert!(p.poll_send(t0).is_none());
        assert_eq!(p.poll_timeout(), None);
        p.enqueue(t0, PacketKind::Video, 100, ()).unwrap();
        let out = drive(&mut p, t0, t0 + 1_000 * MS);
        let padding: usize =
            out.iter().filter(|(_, o)| matches!(o, PacedOutput::Padding { .. })).map(|(_, o)| size(o)).sum();
        assert!((padding as f64 - 50_000.0).abs() < 1_000.0, "{padding}");
    }

    #[test]
    fn long_queues_drain_faster_and_the_count_is_bounded() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig { max_queue_time: 2_000 * MS, max_queued_packets: 500 });
        p.set_rates(t0, Bitrate::kbps(100), Bitrate::ZERO);
        for i in 0..500 {
            p.enqueue(t0, PacketKind::Video, 1_000, i).unwrap();
        }
        assert_eq!(p.enqueue(t0, PacketKind::Video, 1_000, 500), Err(QueueFull(500)));
        // 500 KB at 100 kbit/s would take 40 s; drained within 2 s.
        assert_eq!(p.expected_queue_time(), Some(Duration::from_secs(40)));
        let out = drive(&mut p, t0, t0 + 10_000 * MS);
        assert_eq!(out.len(), 500);
        let span = out.last().unwrap().0 - t0;
        assert!(span <= 2_000 * MS, "{span:?}");
    }

    #[test]
    fn a_rate_change_takes_effect_at_its_time() {
        // 10,000 B sent at t0: its debt drains at the rate in force over
        // each stretch of time, and the next packet leaves once it is paid.
        let t0 = Instant::now();
        for (old, new, expect) in [(1_000, 100, 440), (100, 1_000, 440)] {
            let mut p = Pacer::new(PacerConfig::default());
            p.set_rates(t0, Bitrate::kbps(old), Bitrate::ZERO);
            p.enqueue(t0, PacketKind::Video, 10_000, 0).unwrap();
            p.enqueue(t0, PacketKind::Video, 100, 1).unwrap();
            assert!(p.poll_send(t0).is_some());
            // At 1 Mbit/s 40 ms pay 5,000 B, at 100 kbit/s 400 ms do; the
            // other 5,000 B take 400 ms at 100 kbit/s, 40 ms at 1 Mbit/s.
            let switch = t0 + if old == 1_000 { 40 } else { 400 } * MS;
            p.set_rates(switch, Bitrate::kbps(new), Bitrate::ZERO);
            assert_eq!(p.poll_timeout(), Some(t0 + expect * MS), "{old} -> {new} kbit/s");
            assert!(p.poll_send(t0 + (expect - 1) * MS).is_none());
            assert!(p.poll_send(t0 + expect * MS).is_some());
        }
    }

    #[test]
    fn nothing_but_audio_without_a_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default());
        p.enqueue(t0, PacketKind::Video, 1_000, 1).unwrap();
        p.enqueue(t0, PacketKind::Audio, 100, 2).unwrap();
        assert!(matches!(p.poll_send(t0), Some(PacedOutput::Packet { item: 2, .. })));
        assert!(p.poll_send(t0).is_none());
        assert_eq!(p.queued_packets(), 1);
        assert_eq!(p.queued_bytes(), 1_000);
    }

    #[test]
    fn every_timeout_makes_progress_while_rates_change() {
        // Rate changes between polls leave a few nanoseconds' worth of debt;
        // the timeout must still move past it (a driver would spin).
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default());
        let mut now = t0;
        let mut rng = testkit::Rng::xorshift64(88_172_645_463_325_252);
        for i in 0..20_000u32 {
            let x = rng.next_u64();
            p.set_rates(now, Bitrate::bps(4_900_000 + x % 200_000), Bitrate::ZERO);
            if i % 3 == 0 {
                p.enqueue(now, PacketKind::Video, 1_200, ()).unwrap();
            }
            let sent = p.poll_send(now).is_some();
            let next = p.poll_timeout();
            if !sent && p.queued_packets() > 0 {
                assert!(next.is_some_and(|t| t > now), "no progress at step {i}");
            }
            if let Some(t) = next {
                now = now.max(t);
            }
        }
    }
}
