//! Byte mutations for robustness tests: seeded damage to valid inputs (bits
//! flipped, bytes changed, tails cut or added) that a parser must survive.
//!
//! Each draws its positions from the [`Rng`] in a fixed order, so a seed
//! replays the same damage; each does nothing, and draws nothing, on input
//! it cannot apply to.
//!
//! ```
//! let mut rng = testkit::Rng::new(1);
//! let mut data = vec![0u8; 8];
//! testkit::mutate::flip_bit(&mut rng, &mut data);
//! assert_eq!(data.iter().map(|b| b.count_ones()).sum::<u32>(), 1);
//! testkit::mutate::truncate(&mut rng, &mut data);
//! assert!(data.len() <= 8);
//! ```

use crate::Rng;

/// Flips one random bit of `data`.
pub fn flip_bit(rng: &mut Rng, data: &mut [u8]) {
    if data.is_empty() {
        return;
    }
    let at = rng.below(data.len());
    data[at] ^= 1 << rng.below(8);
}

/// Overwrites one random byte of `data` with a random value.
pub fn set_byte(rng: &mut Rng, data: &mut [u8]) {
    if data.is_empty() {
        return;
    }
    let at = rng.below(data.len());
    data[at] = rng.byte();
}

/// Cuts `data` to a random length from 0 to its whole length.
pub fn truncate(rng: &mut Rng, data: &mut Vec<u8>) {
    let len = rng.below(data.len() + 1);
    data.truncate(len);
}

/// Appends fewer than `max` random bytes to `data`.
pub fn extend(rng: &mut Rng, data: &mut Vec<u8>, max: usize) {
    let tail = rng.some_bytes(max);
    data.extend(tail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mutation_does_what_it_says() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let len = 1 + rng.below(20);
            let original = rng.bytes(len);
            let mut d = original.clone();
            flip_bit(&mut rng, &mut d);
            let diff: u32 = d.iter().zip(&original).map(|(a, b)| (a ^ b).count_ones()).sum();
            assert_eq!(diff, 1);
            let mut d = original.clone();
            set_byte(&mut rng, &mut d);
            assert!(d.iter().zip(&original).filter(|(a, b)| a != b).count() <= 1);
            let mut d = original.clone();
            truncate(&mut rng, &mut d);
            assert!(original.starts_with(&d));
            let mut d = original.clone();
            extend(&mut rng, &mut d, 8);
            assert!(d.starts_with(&original) && d.len() < original.len() + 8);
        }
    }

    #[test]
    fn empty_input_is_left_alone_without_a_draw() {
        let (mut a, b) = (Rng::new(5), Rng::new(5));
        flip_bit(&mut a, &mut []);
        set_byte(&mut a, &mut []);
        assert_eq!(a.next_u64(), b.clone().next_u64());
    }
}
