//! Wallclock for reports without reading a clock: the caller says once which NTP time one
//! of its `Instant`s stands for, and every later `Instant` maps through that offset.
//!
//! NTP timestamps (RFC 5905 §6) are 64-bit fixed point: seconds since 1900-01-01 in the high
//! 32 bits, the fraction in the low 32. Sender reports carry one; receivers echo its middle
//! 32 bits (the "compact" 16.16 form, [`compact_ntp`](crate::rtcp::compact_ntp)) as LSR.

use std::time::{Duration, Instant};

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// Maps the caller's monotonic `Instant`s to 64-bit NTP wallclock time.
///
/// The tokio facade builds one from `SystemTime::now()` when a session starts; tests pick
/// any pair. Wallclock steps after that are not followed, which is what reports want: the
/// NTP times of one sender stay monotonic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtpClock {
    epoch: Instant,
    ntp_at_epoch: u64,
}

impl NtpClock {
    /// `epoch` is the instant whose NTP time is `ntp_at_epoch`.
    pub fn new(epoch: Instant, ntp_at_epoch: u64) -> Self {
        NtpClock { epoch, ntp_at_epoch }
    }

    /// `epoch` is the instant `unix_time` after the Unix epoch (what
    /// `SystemTime::now().duration_since(UNIX_EPOCH)` gives).
    pub fn from_unix(epoch: Instant, unix_time: Duration) -> Self {
        let ntp = duration_to_ntp(unix_time).wrapping_add(NTP_UNIX_OFFSET_SECS << 32);
        NtpClock::new(epoch, ntp)
    }

    /// The NTP time of `at`.
    pub fn ntp(&self, at: Instant) -> u64 {
        if at >= self.epoch {
            self.ntp_at_epoch.wrapping_add(duration_to_ntp(at - self.epoch))
        } else {
            self.ntp_at_epoch.wrapping_sub(duration_to_ntp(self.epoch - at))
        }
    }
}

/// A duration in 32.32 fixed-point seconds, rounded to the nearest 2^-32 s.
pub fn duration_to_ntp(d: Duration) -> u64 {
    let frac = (((d.subsec_nanos() as u64) << 32) + 500_000_000) / 1_000_000_000;
    (d.as_secs() << 32).wrapping_add(frac)
}

/// A compact-NTP (16.16 fixed-point seconds) duration, as in LSR, DLSR and round trips,
/// rounded to the nearest nanosecond.
pub fn compact_to_duration(compact: u32) -> Duration {
    Duration::from_nanos(((compact as u64) * 1_000_000_000 + (1 << 15)) >> 16)
}

/// A duration in compact NTP (16.16 fixed-point seconds), saturating at about 18 hours.
pub fn duration_to_compact(d: Duration) -> u32 {
    u32::try_from(duration_to_ntp(d) >> 16).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_instants_both_ways_of_the_epoch() {
        let t0 = Instant::now();
        let clock = NtpClock::new(t0 + Duration::from_secs(10), 1000 << 32);
        assert_eq!(clock.ntp(t0 + Duration::from_secs(10)), 1000 << 32);
        assert_eq!(clock.ntp(t0 + Duration::from_millis(10_500)), (1000 << 32) + (1 << 31));
        assert_eq!(clock.ntp(t0 + Duration::from_secs(8)), 998 << 32);
    }

    #[test]
    fn unix_epoch_offset() {
        let t0 = Instant::now();
        let clock = NtpClock::from_unix(t0, Duration::from_secs(1_700_000_000));
        assert_eq!(clock.ntp(t0) >> 32, 1_700_000_000 + NTP_UNIX_OFFSET_SECS);
    }

    #[test]
    fn compact_round_trips_within_a_tick() {
        for ms in [0u64, 1, 15, 50, 999, 65_000] {
            let d = Duration::from_millis(ms);
            let back = compact_to_duration(duration_to_compact(d));
            let err = back.abs_diff(d);
            assert!(err <= Duration::from_micros(16), "{ms} ms came back as {back:?}");
        }
        assert_eq!(compact_to_duration(0x0001_8000), Duration::from_millis(1500));
        assert_eq!(duration_to_compact(Duration::from_secs(1 << 20)), u32::MAX);
    }
}
