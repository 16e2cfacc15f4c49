//! One direction of a host's attachment to the network: a drop-tail queue in front of a
//! serializer of fixed rate, then a wire that loses, delays, reorders and duplicates.
//!
//! Every host has two links: egress (what it sends) and ingress (what it receives). A packet
//! crossing a link goes through these steps, in this order:
//!
//! 1. **Queue** (only with [`LinkConfig::rate_bps`]): if the bytes still waiting to be
//!    serialized plus this packet exceed the queue limit, the packet is dropped
//!    ([`NetStats::dropped_queue`](crate::NetStats::dropped_queue)).
//! 2. **Serialization**: the packet starts when the link is free and takes
//!    `len * 8 / rate_bps` seconds. Only the UDP payload counts, not IP/UDP headers.
//! 3. **Loss**: first the Gilbert-Elliott state advances and may lose the packet
//!    (`lost_burst`), then independent loss may (`lost`). A lost packet has still used
//!    its serialization slot, as on a real wire.
//! 4. **Propagation**: `latency` plus a uniform draw in `[0, jitter]`, then clamped so it
//!    never arrives before the previous packet on this link (FIFO), unless the packet is
//!    picked for reordering: then it skips the clamp and waits `reorder_delay` more.
//! 5. **Duplication**: the packet may be delivered twice, the copy right after it.

use std::time::{Duration, Instant};

use rand::Rng;

/// Queue limit used when [`LinkConfig::queue_limit_bytes`] is 0.
pub const DEFAULT_QUEUE_LIMIT_BYTES: usize = 256 * 1024;

/// Conditions on one direction of a host's link. [`Default`] is a perfect link: no delay,
/// no loss, unlimited rate.
///
/// Probabilities outside `[0, 1]` are clamped (NaN counts as 0). Durations so large that
/// the arrival instant cannot be represented make the packet lost.
#[derive(Clone, Debug, Default)]
pub struct LinkConfig {
    /// Fixed one-way propagation delay.
    pub latency: Duration,
    /// Extra delay drawn uniformly in `[0, jitter]` per packet. Order is still kept (FIFO):
    /// a packet never arrives before the one sent before it on this link.
    pub jitter: Duration,
    /// Independent probability that a packet is lost.
    pub loss: f64,
    /// Correlated (bursty) loss, applied before `loss`.
    pub burst: Option<BurstLoss>,
    /// Probability that a packet skips the FIFO constraint and waits `reorder_delay` more,
    /// so that later packets overtake it.
    pub reorder: f64,
    /// Extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Serialization rate in bits per second; packets queue behind each other. `None` is
    /// unlimited. `Some(0)` passes nothing (every packet counts as a queue drop).
    pub rate_bps: Option<u64>,
    /// Byte limit of the queue in front of the serializer (drop-tail). 0 means
    /// [`DEFAULT_QUEUE_LIMIT_BYTES`]. Only matters with `rate_bps`.
    pub queue_limit_bytes: usize,
}

impl LinkConfig {
    /// The queue limit in force: `queue_limit_bytes`, or the default when it is 0.
    pub fn effective_queue_limit(&self) -> usize {
        if self.queue_limit_bytes == 0 {
            DEFAULT_QUEUE_LIMIT_BYTES
        } else {
            self.queue_limit_bytes
        }
    }
}

/// Gilbert-Elliott two-state loss model. The link is in a *good* state (no burst loss) or a
/// *bad* one (loss with probability `loss_in_bad`); the state moves once per packet, before
/// the loss decision. Mean burst length is `1 / p_bad_to_good` packets (with
/// `loss_in_bad = 1`); long-run share of time in the bad state is
/// `p_good_to_bad / (p_good_to_bad + p_bad_to_good)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurstLoss {
    /// Per-packet probability of moving from good to bad.
    pub p_good_to_bad: f64,
    /// Per-packet probability of moving from bad back to good.
    pub p_bad_to_good: f64,
    /// Loss probability while in the bad state.
    pub loss_in_bad: f64,
}

/// What a link did with one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Dropped at the tail of a full queue (or the rate is zero).
    QueueFull,
    /// Lost by independent loss, or its arrival time overflowed `Instant`.
    Lost,
    /// Lost in a Gilbert-Elliott bad state.
    LostBurst,
    /// Leaves the link at `at`; `duplicate` asks for a second copy at the same instant.
    Pass { at: Instant, duplicate: bool, reordered: bool },
}

/// A link's configuration and state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Link {
    pub(crate) config: LinkConfig,
    /// When the serializer finishes the last admitted packet.
    busy_until: Option<Instant>,
    /// Arrival time of the last in-order packet: later in-order packets never arrive before it.
    fifo_floor: Option<Instant>,
    /// Gilbert-Elliott state.
    in_bad_state: bool,
}

impl Link {
    /// Carries a packet of `len` bytes that enters the link at `t`.
    pub(crate) fn transmit<R: Rng>(&mut self, t: Instant, len: usize, rng: &mut R) -> Verdict {
        let config = &self.config;

        // 1 + 2: queue and serialization.
        let on_wire_at = match config.rate_bps {
            None => t,
            Some(0) => return Verdict::QueueFull,
            Some(rate) => {
                let start = match self.busy_until {
                    Some(busy) if busy > t => busy,
                    _ => t,
                };
                let backlog = backlog_bytes(start.saturating_duration_since(t), rate);
                if backlog.saturating_add(len as u128) > config.effective_queue_limit() as u128 {
                    return Verdict::QueueFull;
                }
                let Some(finish) = start.checked_add(serialization_time(len, rate)) else {
                    return Verdict::Lost;
                };
                self.busy_until = Some(finish);
                finish
            }
        };

        // 3: loss.
        if let Some(burst) = config.burst {
            self.in_bad_state =
                if self.in_bad_state { !chance(rng, burst.p_bad_to_good) } else { chance(rng, burst.p_good_to_bad) };
            if self.in_bad_state && chance(rng, burst.loss_in_bad) {
                return Verdict::LostBurst;
            }
        }
        if chance(rng, config.loss) {
            return Verdict::Lost;
        }

        // 4: propagation, FIFO unless reordered.
        let jitter = uniform_duration(rng, config.jitter);
        let Some(base) = on_wire_at.checked_add(config.latency).and_then(|at| at.checked_add(jitter)) else {
            return Verdict::Lost;
        };
        let reordered = chance(rng, config.reorder);
        let at = if reordered {
            let Some(at) = base.checked_add(config.reorder_delay) else {
                return Verdict::Lost;
            };
            at
        } else {
            let at = match self.fifo_floor {
                Some(floor) if floor > base => floor,
                _ => base,
            };
            self.fifo_floor = Some(at);
            at
        };

        // 5: duplication.
        let duplicate = chance(rng, config.duplicate);
        Verdict::Pass { at, duplicate, reordered }
    }
}

/// True with probability `p`. Draws nothing for `p <= 0` (or NaN) and `p >= 1`.
fn chance<R: Rng>(rng: &mut R, p: f64) -> bool {
    if p.is_nan() || p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        rng.gen::<f64>() < p
    }
}

/// A uniform draw in `[0, max]`, with nanosecond resolution.
fn uniform_duration<R: Rng>(rng: &mut R, max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.gen_range(0..=max_nanos))
}

/// Time to put `len` bytes on a wire of `rate` bits per second, rounded up to the nanosecond.
fn serialization_time(len: usize, rate: u64) -> Duration {
    let bits = (len as u128).saturating_mul(8);
    let nanos = bits.saturating_mul(1_000_000_000).div_ceil(rate as u128);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Bytes a serializer of `rate` bits per second still has to send when it is busy for
/// `remaining` more (fluid model: the packet on the wire counts for its unsent part).
fn backlog_bytes(remaining: Duration, rate: u64) -> u128 {
    remaining.as_nanos().saturating_mul(rate as u128).div_ceil(8_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn serialization_time_of_1250_bytes_at_1_mbps_is_10_ms() {
        assert_eq!(serialization_time(1250, 1_000_000), Duration::from_millis(10));
        assert_eq!(serialization_time(0, 1_000_000), Duration::ZERO);
        assert_eq!(serialization_time(usize::MAX, 1), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn backlog_is_the_unsent_part() {
        assert_eq!(backlog_bytes(Duration::from_millis(10), 1_000_000), 1250);
        assert_eq!(backlog_bytes(Duration::ZERO, 1_000_000), 0);
        assert_eq!(backlog_bytes(Duration::MAX, u64::MAX), u128::MAX / 8_000_000_000 + 1);
    }

    #[test]
    fn chance_handles_out_of_range_probabilities() {
        let mut rng = StdRng::seed_from_u64(1);
        assert!(!chance(&mut rng, f64::NAN));
        assert!(!chance(&mut rng, -1.0));
        assert!(chance(&mut rng, 2.0));
        assert!(chance(&mut rng, f64::INFINITY));
    }
}
