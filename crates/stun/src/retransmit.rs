//! Client transaction retransmission over UDP (RFC 8489 section 6.2.1), on
//! the caller's clock.

use std::time::{Duration, Instant};

/// Retransmission parameters of a client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetransmitConfig {
    /// The first retransmission timeout (RTO). RFC 8489 recommends 500 ms
    /// when nothing better is known.
    pub initial_rto: Duration,
    /// Rc: how many times the request is sent in all (7 by default).
    pub max_sends: u32,
    /// Rm: after the last send, wait `Rm * RTO` for a response (16 by default).
    pub last_wait_factor: u32,
    /// An optional cap on the interval between two sends (the doubling stops
    /// there). ICE keeps checks responsive with a cap; plain STUN has none.
    pub max_interval: Option<Duration>,
}

impl Default for RetransmitConfig {
    fn default() -> Self {
        RetransmitConfig {
            initial_rto: Duration::from_millis(500),
            max_sends: 7,
            last_wait_factor: 16,
            max_interval: None,
        }
    }
}

/// What the owner of a transaction does when its timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerAction {
    /// Not due yet.
    Wait,
    /// Send the request again.
    Retransmit,
    /// No response will come: the transaction failed.
    TimedOut,
}

/// The retransmission timer of one client transaction. The caller sends the
/// request once when it creates the timer, then calls
/// [`RetransmitTimer::on_timeout`] at [`RetransmitTimer::deadline`].
///
/// With the defaults the request goes out at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and
/// 31.5 s, and the transaction times out at 39.5 s (RFC 8489's example).
#[derive(Debug, Clone)]
pub struct RetransmitTimer {
    config: RetransmitConfig,
    sends: u32,
    interval: Duration,
    deadline: Instant,
}

impl RetransmitTimer {
    /// Starts the timer for a request first sent at `now`.
    pub fn start(now: Instant, config: RetransmitConfig) -> Self {
        let sends = 1;
        let (interval, deadline) = if config.max_sends <= 1 {
            let wait = config.initial_rto * config.last_wait_factor;
            (wait, now + wait)
        } else {
            (config.initial_rto, now + config.initial_rto)
        };
        RetransmitTimer { config, sends, interval, deadline }
    }

    /// When [`RetransmitTimer::on_timeout`] must next be called.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How many times the request has been sent so far.
    pub fn sends(&self) -> u32 {
        self.sends
    }

    /// Advances the timer. On [`TimerAction::Retransmit`] the caller sends
    /// the request again.
    pub fn on_timeout(&mut self, now: Instant) -> TimerAction {
        if now < self.deadline {
            return TimerAction::Wait;
        }
        if self.sends >= self.config.max_sends {
            return TimerAction::TimedOut;
        }
        self.sends += 1;
        if self.sends == self.config.max_sends {
            self.deadline = now + self.config.initial_rto * self.config.last_wait_factor;
        } else {
            self.interval *= 2;
            if let Some(cap) = self.config.max_interval {
                self.interval = self.interval.min(cap);
            }
            self.deadline = now + self.interval;
        }
        TimerAction::Retransmit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8489_schedule() {
        let t0 = Instant::now();
        let mut t = RetransmitTimer::start(t0, RetransmitConfig::default());
        let mut sends = vec![0u64];
        loop {
            let d = t.deadline();
            match t.on_timeout(d) {
                TimerAction::Retransmit => sends.push((d - t0).as_millis() as u64),
                TimerAction::TimedOut => {
                    assert_eq!((d - t0).as_millis(), 39_500);
                    break;
                }
                TimerAction::Wait => unreachable!(),
            }
        }
        assert_eq!(sends, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    }

    #[test]
    fn early_timeout_waits_and_cap_applies() {
        let t0 = Instant::now();
        let cfg = RetransmitConfig { max_interval: Some(Duration::from_millis(800)), ..Default::default() };
        let mut t = RetransmitTimer::start(t0, cfg);
        assert_eq!(t.on_timeout(t0), TimerAction::Wait);
        let d1 = t.deadline();
        assert_eq!(t.on_timeout(d1), TimerAction::Retransmit);
        assert_eq!(t.deadline() - d1, Duration::from_millis(800));
    }
}
