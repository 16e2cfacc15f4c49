//! A small network on virtual time for the scenario tests: one bottleneck
//! (capacity, drop-tail queue in ms, base one-way delay, optional random
//! loss from a seeded xorshift, `testkit::Rng`), senders that encode at the controller's
//! target through the pacer, and receivers that send transport-wide
//! feedback every 50 ms over an uncongested return path.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use cc::{Bitrate, CcConfig, CcEvent, CongestionController, PacedOutput, Pacer, PacerConfig, PacketKind, SentPacket};
use testkit::Rng;

pub const MS: Duration = Duration::from_millis(1);

/// The bottleneck.
pub struct Link {
    pub capacity: Bitrate,
    pub queue_limit: Duration,
    pub one_way: Duration,
    pub loss: f64,
    /// Extra delay per packet, uniform in [0, jitter), without reordering.
    pub jitter: Duration,
    last_arrival: Option<Instant>,
    rng: Rng,
    busy_until: Option<Instant>,
    pub dropped_queue: u64,
    pub dropped_random: u64,
    pub carried: u64,
}

impl Link {
    pub fn new(capacity: Bitrate, queue_limit: Duration, one_way: Duration, loss: f64, seed: u64) -> Self {
        Link {
            capacity,
            queue_limit,
            one_way,
            loss,
            jitter: Duration::ZERO,
            last_arrival: None,
            rng: Rng::new(seed),
            busy_until: None,
            dropped_queue: 0,
            dropped_random: 0,
            carried: 0,
        }
    }

    /// How long a packet entering now waits before being serialized.
    pub fn queue_delay(&self, now: Instant) -> Duration {
        self.busy_until.map_or(Duration::ZERO, |b| b.saturating_duration_since(now))
    }

    /// A packet enters the link: its arrival time, or `None` if dropped.
    pub fn send(&mut self, now: Instant, size: usize) -> Option<Instant> {
        if self.loss > 0.0 && self.rng.unit_f64() < self.loss {
            self.dropped_random += 1;
            return None;
        }
        let wait = self.queue_delay(now);
        if wait > self.queue_limit {
            self.dropped_queue += 1;
            return None;
        }
        let done = now + wait + self.capacity.time_for(size as f64).unwrap();
        self.busy_until = Some(done);
        self.carried += 1;
        let jitter = self.jitter.mul_f64(if self.jitter.is_zero() { 0.0 } else { self.rng.unit_f64() });
        let arrival = (done + self.one_way + jitter).max(self.last_arrival.unwrap_or(done));
        self.last_arrival = Some(arrival);
        Some(arrival)
    }
}

/// One sender (controller, pacer, 30 fps encoder) and its receiver.
pub struct Flow {
    pub cc: CongestionController,
    pub pacer: Pacer<()>,
    next_seq: u64,
    target: Bitrate,
    /// The encoder produces at most this (application limited above it).
    pub max_media: Option<Bitrate>,
    next_frame: Instant,
    /// Receiver: (unwrapped seq, arrival) not yet reported, and the first
    /// number the next report covers.
    arrivals: Vec<(u64, Instant)>,
    report_from: u64,
    next_feedback: Instant,
    /// (time since start, target) at every change.
    pub targets: Vec<(Duration, Bitrate)>,
    /// (time since start, rate) of every probe cluster asked for.
    pub probes: Vec<(Duration, Bitrate)>,
    /// Bytes that reached the receiver per 100 ms bucket.
    pub delivered: Vec<u64>,
}

impl Flow {
    /// The target at `t` since the start.
    pub fn target_at(&self, t: Duration) -> Bitrate {
        self.targets.iter().take_while(|(at, _)| *at <= t).last().map_or(Bitrate::ZERO, |x| x.1)
    }

    /// The time-weighted mean target over [from, to).
    pub fn mean_target(&self, from: Duration, to: Duration) -> f64 {
        let step = 10 * MS;
        let mut t = from;
        let (mut sum, mut n) = (0.0, 0.0);
        while t < to {
            sum += self.target_at(t).as_f64();
            n += 1.0;
            t += step;
        }
        sum / n
    }

    /// Mean delivered rate over [from, to), in bit/s.
    pub fn goodput(&self, from: Duration, to: Duration) -> f64 {
        let (a, b) = ((from.as_millis() / 100) as usize, (to.as_millis() / 100) as usize);
        let bytes: u64 = self.delivered.get(a..b.min(self.delivered.len())).map_or(0, |s| s.iter().sum());
        bytes as f64 * 8.0 / (to - from).as_secs_f64()
    }
}

/// A feedback report on the return path: (delivery, flow, report, RTT sample).
type InTransit = (Instant, usize, Vec<(u16, Option<Duration>)>, Duration);

/// The whole network.
pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub link: Link,
    pub flows: Vec<Flow>,
    /// (arrival, flow, seq, size) in flight on the forward path.
    in_flight: BinaryHeap<Reverse<(Instant, usize, u64, usize)>>,
    feedback: VecDeque<InTransit>,
    /// (time since start, queue delay seen by each packet sent).
    pub queue_samples: Vec<(Duration, Duration)>,
    pub feedback_interval: Duration,
    /// The return path is down: feedback reports (and the RTT samples they
    /// carry) are lost.
    pub feedback_lost: bool,
}

impl Sim {
    pub fn new(link: Link) -> Self {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            link,
            flows: Vec::new(),
            in_flight: BinaryHeap::new(),
            feedback: VecDeque::new(),
            queue_samples: Vec::new(),
            feedback_interval: 50 * MS,
            feedback_lost: false,
        }
    }

    /// Adds a flow starting now.
    pub fn add_flow(&mut self, config: CcConfig) {
        let now = self.now;
        self.flows.push(Flow {
            cc: CongestionController::new(now, config),
            pacer: Pacer::new(PacerConfig::default()),
            next_seq: 0,
            target: Bitrate::ZERO,
            max_media: None,
            next_frame: now,
            arrivals: Vec::new(),
            report_from: 0,
            next_feedback: now + self.feedback_interval,
            targets: Vec::new(),
            probes: Vec::new(),
            delivered: Vec::new(),
        });
        self.process(self.flows.len() - 1);
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Runs until `t` since the start.
    pub fn run_until(&mut self, t: Duration) {
        let end = self.t0 + t;
        let mut stalled = 0;
        loop {
            let next = self.next_event();
            if next > end {
                self.now = end;
                return;
            }
            stalled = if next <= self.now { stalled + 1 } else { 0 };
            assert!(stalled < 10_000, "no progress at {:?}: {}", self.elapsed(), self.debug_state());
            self.now = next.max(self.now);
            self.step();
        }
    }

    fn next_event(&self) -> Instant {
        let mut next = self.now + Duration::from_secs(3600);
        if let Some(Reverse((t, ..))) = self.in_flight.peek() {
            next = next.min(*t);
        }
        if let Some((t, ..)) = self.feedback.front() {
            next = next.min(*t);
        }
        for f in &self.flows {
            next = next.min(f.next_frame).min(f.next_feedback).min(f.cc.poll_timeout());
            if let Some(t) = f.pacer.poll_timeout() {
                next = next.min(t);
            }
        }
        next
    }

    fn step(&mut self) {
        let now = self.now;
        while let Some(Reverse((t, flow, seq, size))) = self.in_flight.peek().copied() {
            if t > now {
                break;
            }
            self.in_flight.pop();
            let f = &mut self.flows[flow];
            f.arrivals.push((seq, t));
            let bucket = (t - self.t0).as_millis() as usize / 100;
            if f.delivered.len() <= bucket {
                f.delivered.resize(bucket + 1, 0);
            }
            f.delivered[bucket] += size as u64;
        }
        let rtt = 2 * self.link.one_way + self.link.queue_delay(now);
        for (i, f) in self.flows.iter_mut().enumerate() {
            if f.next_feedback > now {
                continue;
            }
            f.next_feedback = now + self.feedback_interval;
            let Some(max) = f.arrivals.iter().map(|a| a.0).max() else { continue };
            let mut report = Vec::new();
            for seq in f.report_from..=max {
                let arrival = f.arrivals.iter().find(|a| a.0 == seq).map(|a| a.1 - self.t0);
                report.push((seq as u16, arrival));
            }
            f.arrivals.clear();
            f.report_from = max + 1;
            if !self.feedback_lost {
                self.feedback.push_back((now + self.link.one_way, i, report, rtt));
            }
        }
        while self.feedback.front().is_some_and(|f| f.0 <= now) {
            let (_, i, report, rtt) = self.feedback.pop_front().unwrap();
            self.flows[i].cc.on_rtt(rtt);
            self.flows[i].cc.on_transport_feedback(now, &report);
        }
        for i in 0..self.flows.len() {
            self.process(i);
        }
    }

    fn process(&mut self, i: usize) {
        let now = self.now;
        let t = now - self.t0;
        let f = &mut self.flows[i];
        f.cc.handle_timeout(now);
        while let Some(ev) = f.cc.poll_event() {
            match ev {
                CcEvent::Rates(r) => {
                    f.pacer.set_rates(now, r.pacing, r.padding);
                    f.target = r.target;
                    f.targets.push((t, r.target));
                }
                CcEvent::Probe(c) => {
                    f.probes.push((t, c.bitrate));
                    f.pacer.add_probe_cluster(now, c);
                }
            }
        }
        if f.next_frame <= now {
            // One frame of target / 30, in packets of at most 1,200 B.
            let media = f.max_media.map_or(f.target, |m| m.min(f.target));
            let mut left = (media.as_f64() / 8.0 / 30.0) as usize;
            while left > 0 {
                let s = left.min(1_200);
                let _ = f.pacer.enqueue(now, PacketKind::Video, s, ());
                left -= s;
            }
            f.next_frame += Duration::from_secs(1) / 30;
        }
        while let Some(out) = f.pacer.poll_send(now) {
            let (size, probe_cluster) = match out {
                PacedOutput::Packet { size, probe_cluster, .. } => (size, probe_cluster),
                PacedOutput::Padding { size, probe_cluster } => (size, probe_cluster),
            };
            let seq = f.next_seq;
            f.next_seq += 1;
            f.cc.on_packet_sent(SentPacket { seq: seq as u16, send_time: now, size, probe_cluster });
            self.queue_samples.push((t, self.link.queue_delay(now)));
            if let Some(arrival) = self.link.send(now, size) {
                self.in_flight.push(Reverse((arrival, i, seq, size)));
            }
        }
    }

    fn debug_state(&self) -> String {
        self.flows
            .iter()
            .map(|f| {
                format!(
                    "frame {:?} fb {:?} cc {:?} pacer {:?} queued {} rates {:?}",
                    f.next_frame - self.now,
                    f.next_feedback - self.now,
                    f.cc.poll_timeout() - self.now,
                    f.pacer.poll_timeout().map(|t| t.saturating_duration_since(self.now)),
                    f.pacer.queued_packets(),
                    f.cc.rates()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The largest queue delay seen by packets sent in [from, to).
    pub fn max_queue_delay(&self, from: Duration, to: Duration) -> Duration {
        self.queue_samples.iter().filter(|(t, _)| *t >= from && *t < to).map(|s| s.1).max().unwrap_or_default()
    }

    /// The `p`th percentile (0..1) of queue delay in [from, to).
    pub fn queue_delay_percentile(&self, from: Duration, to: Duration, p: f64) -> Duration {
        let mut v: Vec<_> = self.queue_samples.iter().filter(|(t, _)| *t >= from && *t < to).map(|s| s.1).collect();
        v.sort();
        v.get(((v.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default()
    }
}
