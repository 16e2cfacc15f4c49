//! A sliding replay window (RFC 3711 section 3.3.2).

use crate::SrtpError;

/// Smallest replay window; RFC 3711 requires at least 64.
pub const MIN_REPLAY_WINDOW: usize = 64;
/// Largest replay window this crate keeps (bits per SSRC).
pub const MAX_REPLAY_WINDOW: usize = 32768;

/// Which packet indices at or below the highest one have been seen.
///
/// The bitmap is a ring indexed by `index % size`; advancing clears the bits
/// of skipped indices, so a jump costs at most one pass over the window.
#[derive(Debug, Clone)]
pub struct ReplayWindow {
    bits: Vec<u64>,
    size: u64,
    top: Option<u64>,
}

impl ReplayWindow {
    /// A window of `size` packets, clamped to
    /// [`MIN_REPLAY_WINDOW`]..=[`MAX_REPLAY_WINDOW`] and rounded up to a
    /// multiple of 64.
    pub fn new(size: usize) -> Self {
        let words = size.clamp(MIN_REPLAY_WINDOW, MAX_REPLAY_WINDOW).div_ceil(64);
        ReplayWindow { bits: vec![0; words], size: words as u64 * 64, top: None }
    }

    /// The window size in packets.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The highest index accepted so far.
    pub fn highest(&self) -> Option<u64> {
        self.top
    }

    /// Whether `index` may be accepted: new, or inside the window and unseen.
    pub fn check(&self, index: u64) -> Result<(), SrtpError> {
        let Some(top) = self.top else { return Ok(()) };
        if index > top {
            return Ok(());
        }
        if top - index >= self.size {
            return Err(SrtpError::TooOld);
        }
        if self.get(index) {
            return Err(SrtpError::Replayed);
        }
        Ok(())
    }

    /// Marks `index` as seen (call only after the packet authenticated).
    pub fn accept(&mut self, index: u64) {
        match self.top {
            Some(top) if index <= top => {
                if top - index >= self.size {
                    return;
                }
            }
            Some(top) if index - top < self.size => {
                for i in top + 1..index {
                    self.clear(i);
                }
                self.top = Some(index);
            }
            _ => {
                self.bits.fill(0);
                self.top = Some(index);
            }
        }
        let (w, b) = self.slot(index);
        self.bits[w] |= 1 << b;
    }

    fn slot(&self, index: u64) -> (usize, u32) {
        let pos = index % self.size;
        ((pos / 64) as usize, (pos % 64) as u32)
    }

    fn get(&self, index: u64) -> bool {
        let (w, b) = self.slot(index);
        self.bits[w] & (1 << b) != 0
    }

    fn clear(&mut self, index: u64) {
        let (w, b) = self.slot(index);
        self.bits[w] &= !(1 << b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_old_are_rejected() {
        let mut w = ReplayWindow::new(64);
        for i in [10u64, 12, 11, 100] {
            w.check(i).unwrap();
            w.accept(i);
        }
        assert_eq!(w.check(100), Err(SrtpError::Replayed));
        assert_eq!(w.check(12), Err(SrtpError::TooOld)); // 100 - 12 >= 64
        assert_eq!(w.check(37), Ok(()));
        assert_eq!(w.check(36), Err(SrtpError::TooOld));
        w.accept(37);
        assert_eq!(w.check(37), Err(SrtpError::Replayed));
        // A jump past the window forgets everything below.
        w.accept(10_000);
        assert_eq!(w.check(9_999), Ok(()));
        assert_eq!(w.check(10_000 - 64), Err(SrtpError::TooOld));
    }

    #[test]
    fn wide_window() {
        let mut w = ReplayWindow::new(1000);
        assert_eq!(w.size(), 1024);
        for i in (0..3000u64).rev().step_by(3) {
            w.accept(i + 5000);
        }
        assert_eq!(w.highest(), Some(7999));
        assert_eq!(w.check(7999 - 1022), Ok(()));
        assert_eq!(w.check(7999 - 3), Err(SrtpError::Replayed));
        assert_eq!(w.check(7999 - 1024), Err(SrtpError::TooOld));
    }
}
