//! A tiny non-cryptographic generator (Marsaglia's xorshift64) for the random starting
//! points RFC 3550 asks for and for report-interval jitter. Seeded by the caller, so a
//! session replays exactly; [`os_seed`] gives a fresh seed when the caller has none.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// xorshift64: 64 bits of state, period 2^64 - 1, never zero.
#[derive(Clone, Debug)]
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator from `seed`; every seed is usable (zero is replaced, since the all-zero
    /// state is a fixed point).
    pub(crate) fn new(seed: u64) -> Self {
        // Spread the seed's bits (splitmix64's finalizer) so that nearby seeds diverge.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    pub(crate) fn next_u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }

    /// A duration uniformly drawn from `[base * lo_permille / 1000, base * hi_permille / 1000]`.
    pub(crate) fn scaled(&mut self, base: Duration, lo_permille: u64, hi_permille: u64) -> Duration {
        let span = hi_permille.saturating_sub(lo_permille) + 1;
        let permille = lo_permille + self.next_u64() % span;
        Duration::from_nanos((base.as_nanos() as u64).saturating_mul(permille) / 1000)
    }
}

/// A seed from the operating system's randomness, through the standard library's
/// randomly keyed hasher: no clock is read and no dependency is needed.
pub(crate) fn os_seed() -> u64 {
    RandomState::new().hash_one(0x006f_7872_7463_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed_and_spread() {
        let (mut a, mut b, mut c) = (XorShift::new(1), XorShift::new(1), XorShift::new(2));
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(xs, (0..4).map(|_| c.next_u64()).collect::<Vec<_>>());
        let mut zero = XorShift::new(0);
        assert_ne!(zero.next_u64(), 0);
        assert_ne!(os_seed(), os_seed(), "each RandomState has fresh keys");
    }

    #[test]
    fn scaled_stays_in_range_and_covers_it() {
        let mut rng = XorShift::new(7);
        let base = Duration::from_secs(1);
        let draws: Vec<Duration> = (0..10_000).map(|_| rng.scaled(base, 500, 1500)).collect();
        assert!(draws.iter().all(|d| (Duration::from_millis(500)..=Duration::from_millis(1500)).contains(d)));
        assert!(draws.iter().any(|d| *d < Duration::from_millis(550)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(1450)));
        let mean = draws.iter().sum::<Duration>() / draws.len() as u32;
        assert!((Duration::from_millis(980)..Duration::from_millis(1020)).contains(&mean), "{mean:?}");
    }
}
