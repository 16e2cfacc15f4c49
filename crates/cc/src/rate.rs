//! A bitrate in bits per second, and the little arithmetic the estimators need.

use std::fmt;
use std::time::Duration;

/// A rate in bits per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bitrate(u64);

impl Bitrate {
    /// No bits at all.
    pub const ZERO: Bitrate = Bitrate(0);

    /// `bps` bits per second.
    pub const fn bps(bps: u64) -> Self {
        Bitrate(bps)
    }

    /// `kbps` kilobits (1,000 bits) per second.
    pub const fn kbps(kbps: u64) -> Self {
        Bitrate(kbps * 1_000)
    }

    /// `mbps` megabits (1,000,000 bits) per second.
    pub const fn mbps(mbps: u64) -> Self {
        Bitrate(mbps * 1_000_000)
    }

    /// The rate in bits per second.
    pub const fn as_bps(self) -> u64 {
        self.0
    }

    /// The rate in bits per second, as a float.
    pub fn as_f64(self) -> f64 {
        self.0 as f64
    }

    /// The rate that carries `bytes` in `over`; `None` for an empty interval.
    pub fn from_bytes(bytes: u64, over: Duration) -> Option<Self> {
        let secs = over.as_secs_f64();
        (secs > 0.0).then(|| Bitrate::from_f64(bytes as f64 * 8.0 / secs))
    }

    /// Rounds a float rate to whole bits per second (negative and NaN become 0).
    pub fn from_f64(bps: f64) -> Self {
        if bps.is_finite() && bps > 0.0 {
            Bitrate(bps.round() as u64)
        } else {
            Bitrate(0)
        }
    }

    /// This rate scaled by `factor`.
    pub fn mul_f64(self, factor: f64) -> Self {
        Bitrate::from_f64(self.0 as f64 * factor)
    }

    /// How many bytes this rate carries in `over`.
    pub fn bytes_in(self, over: Duration) -> f64 {
        self.0 as f64 * over.as_secs_f64() / 8.0
    }

    /// How long `bytes` take at this rate; `None` at zero rate.
    pub fn time_for(self, bytes: f64) -> Option<Duration> {
        (self.0 > 0).then(|| Duration::from_secs_f64((bytes.max(0.0) * 8.0 / self.0 as f64).min(1e6)))
    }
}

impl fmt::Display for Bitrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1_000_000 {
            write!(f, "{:.2} Mbit/s", self.0 as f64 / 1e6)
        } else {
            write!(f, "{:.1} kbit/s", self.0 as f64 / 1e3)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(Bitrate::kbps(300).as_bps(), 300_000);
        assert_eq!(Bitrate::from_bytes(1_000, Duration::from_millis(8)), Some(Bitrate::mbps(1)));
        assert_eq!(Bitrate::from_bytes(1_000, Duration::ZERO), None);
        assert_eq!(Bitrate::mbps(2).bytes_in(Duration::from_millis(400)), 100_000.0);
        assert_eq!(Bitrate::mbps(1).time_for(125_000.0), Some(Duration::from_secs(1)));
        assert_eq!(Bitrate::ZERO.time_for(1.0), None);
        assert_eq!(Bitrate::from_f64(-3.0), Bitrate::ZERO);
        assert_eq!(Bitrate::mbps(2).mul_f64(2.5), Bitrate::mbps(5));
        assert_eq!(Bitrate::mbps(2).to_string(), "2.00 Mbit/s");
        assert_eq!(Bitrate::kbps(300).to_string(), "300.0 kbit/s");
    }
}
