//! A tiny seeded generator for tests: every run draws the same cases, and no
//! dependency is needed. Not for anything but tests (it is neither
//! cryptographic nor statistically strong).

/// Which xorshift variant a [`Rng`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Marsaglia's xorshift64 (shifts 13, 7, 17).
    XorShift64,
    /// xorshift64* (shifts 12, 25, 27, then a multiplication): better low bits.
    XorShift64Star,
}

/// A seeded xorshift generator with the draws tests need: numbers below a
/// bound, bytes, coin flips and probabilities.
///
/// ```
/// let mut rng = testkit::Rng::new(42);
/// let n = rng.below(10);
/// assert!(n < 10);
/// assert_eq!(rng.bytes(3).len(), 3);
/// // The same seed draws the same numbers.
/// assert_eq!(testkit::Rng::new(7).next_u64(), testkit::Rng::new(7).next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    variant: Variant,
}

impl Rng {
    /// An xorshift64* generator from `seed` (0 is taken as 1: the all-zero
    /// state never leaves zero). The one to pick for a new test.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed.max(1), variant: Variant::XorShift64Star }
    }

    /// A plain xorshift64 generator from `seed` (0 is taken as 1), for tests
    /// whose cases were drawn with it: the seed gives the same sequence as
    /// before.
    pub fn xorshift64(seed: u64) -> Self {
        Rng { state: seed.max(1), variant: Variant::XorShift64 }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let x = &mut self.state;
        match self.variant {
            Variant::XorShift64 => {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                *x
            }
            Variant::XorShift64Star => {
                *x ^= *x >> 12;
                *x ^= *x << 25;
                *x ^= *x >> 27;
                x.wrapping_mul(0x2545_f491_4f6c_dd1d)
            }
        }
    }

    /// The low 32 bits of [`next_u64`](Self::next_u64).
    pub fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A random byte (the low 8 bits of [`next_u64`](Self::next_u64)).
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    /// Fewer than `max` random bytes (`max` > 0).
    pub fn some_bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }

    /// A fair coin (the lowest bit).
    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// True once in `n` draws on average: [`below(n)`](Self::below) is 0.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A number in `[0, 1)`, from the top 53 bits.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit_f64() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variants_draw_their_published_sequences() {
        // xorshift64 from 1: 1 ^ 1 << 13 = 0x2001; ^ >> 7 = 0x2041; ^ << 17 = 0x4082_2041.
        let mut plain = Rng::xorshift64(1);
        assert_eq!(plain.next_u64(), 0x4082_2041);
        // xorshift64* from 1: 1 << 25 | 1, ^ >> 27 leaves it, times the constant.
        let mut star = Rng::new(1);
        assert_eq!(star.next_u64(), 0x0200_0001u64.wrapping_mul(0x2545_f491_4f6c_dd1d));
        // Zero is a fixed point of both, so it is replaced.
        assert_eq!(Rng::new(0).next_u64(), Rng::new(1).next_u64());
        assert_eq!(Rng::xorshift64(0).next_u64(), Rng::xorshift64(1).next_u64());
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = Rng::new(9);
        for n in 1..50 {
            assert!(rng.below(n) < n);
            assert!(rng.some_bytes(n).len() < n);
            assert!((0.0..1.0).contains(&rng.unit_f64()));
        }
        assert!(rng.one_in(1));
        assert!(!rng.chance(0.0));
        assert!(rng.chance(1.0));
        let heads = (0..1000).filter(|_| rng.bool()).count();
        assert!((400..600).contains(&heads), "{heads}");
    }
}
