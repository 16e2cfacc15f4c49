//! A virtual clock for tests that drive sans-IO engines and the network together.

use std::time::{Duration, Instant};

/// A clock that only moves when told to, and never backwards.
///
/// Tests read the wall clock once (`VirtualClock::new(Instant::now())`) and from then on
/// jump straight to the next instant anything happens (the minimum of the network's
/// [`poll_timeout`](crate::Network::poll_timeout) and every engine's timeout), so a
/// minute of simulated traffic runs in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtualClock {
    start: Instant,
    now: Instant,
}

impl VirtualClock {
    /// A clock reading `start`.
    pub fn new(start: Instant) -> Self {
        VirtualClock { start, now: start }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The instant the clock started at.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Moves to `t`; an instant in the past leaves the clock where it is.
    pub fn advance_to(&mut self, t: Instant) {
        if t > self.now {
            self.now = t;
        }
    }

    /// Moves forward by `d`; a step that would overflow `Instant` leaves the clock where it is.
    pub fn advance_by(&mut self, d: Duration) {
        if let Some(t) = self.now.checked_add(d) {
            self.now = t;
        }
    }

    /// Virtual time passed since the start.
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.start)
    }
}
