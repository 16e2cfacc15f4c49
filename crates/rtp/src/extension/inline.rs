//! A small vector that keeps up to `N` items inline and moves them all to the heap when it
//! grows past that, so the common packet (a handful of extension elements, a few dozen bytes
//! of values) allocates nothing. Safe code only: the inline part is a plain array of
//! `Copy + Default` items.

/// Up to `N` items inline, all on the heap beyond that. The items are contiguous either way.
#[derive(Clone)]
pub(crate) struct InlineVec<T: Copy + Default, const N: usize> {
    len: usize,
    inline: [T; N],
    /// Empty while the items fit inline; once spilled, holds all `len` items.
    heap: Vec<T>,
}

impl<T: Copy + Default, const N: usize> InlineVec<T, N> {
    pub(crate) fn new() -> Self {
        Self { len: 0, inline: [T::default(); N], heap: Vec::new() }
    }

    fn spilled(&self) -> bool {
        !self.heap.is_empty()
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        if self.spilled() {
            &self.heap
        } else {
            &self.inline[..self.len]
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        if self.spilled() {
            &mut self.heap
        } else {
            &mut self.inline[..self.len]
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, item: T) {
        if !self.spilled() && self.len < N {
            self.inline[self.len] = item;
        } else {
            if !self.spilled() {
                self.heap.reserve(N.max(4) * 2);
                self.heap.extend_from_slice(&self.inline[..self.len]);
            }
            self.heap.push(item);
        }
        self.len += 1;
    }

    pub(crate) fn extend_from_slice(&mut self, items: &[T]) {
        if !self.spilled() && self.len + items.len() <= N {
            self.inline[self.len..self.len + items.len()].copy_from_slice(items);
            self.len += items.len();
        } else {
            for &item in items {
                self.push(item);
            }
        }
    }

    /// Appends `n` default items and returns them for filling in.
    pub(crate) fn grow(&mut self, n: usize) -> &mut [T] {
        let start = self.len;
        for _ in 0..n {
            self.push(T::default());
        }
        &mut self.as_mut_slice()[start..]
    }

    /// Empties the vector, keeping any heap capacity for reuse.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.inline = [T::default(); N];
        self.heap.clear();
    }
}

impl<T: Copy + Default, const N: usize> Default for InlineVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> PartialEq for InlineVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Copy + Default + Eq, const N: usize> Eq for InlineVec<T, N> {}

impl<T: Copy + Default + std::fmt::Debug, const N: usize> std::fmt::Debug for InlineVec<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::InlineVec;

    #[test]
    fn stays_inline_then_spills_keeping_order() {
        let mut v: InlineVec<u8, 4> = InlineVec::new();
        v.extend_from_slice(&[1, 2, 3]);
        assert!(!v.spilled());
        v.push(4);
        assert!(!v.spilled());
        v.push(5);
        assert!(v.spilled());
        assert_eq!(v.as_slice(), &[1, 2, 3, 4, 5]);
        assert_eq!(v.len(), 5);
        v.extend_from_slice(&[6, 7]);
        assert_eq!(v.as_slice(), &[1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn grow_and_clear() {
        let mut v: InlineVec<u8, 4> = InlineVec::new();
        v.grow(3).copy_from_slice(&[9, 8, 7]);
        assert_eq!(v.as_slice(), &[9, 8, 7]);
        v.grow(5).copy_from_slice(&[1, 2, 3, 4, 5]);
        assert_eq!(v.as_slice(), &[9, 8, 7, 1, 2, 3, 4, 5]);
        v.as_mut_slice()[0] = 0;
        assert_eq!(v.as_slice()[0], 0);
        v.clear();
        assert_eq!(v.len(), 0);
        assert!(v.as_slice().is_empty());
        v.push(1);
        assert_eq!(v.as_slice(), &[1]);
    }

    #[test]
    fn clear_after_spilling_goes_back_inline() {
        let mut v: InlineVec<u8, 1> = InlineVec::new();
        v.extend_from_slice(&[1, 2]);
        assert!(v.spilled());
        v.clear();
        assert!(!v.spilled());
        v.push(3);
        assert_eq!(v.as_slice(), &[3]);
        assert!(!v.spilled());
    }

    #[test]
    fn equality_and_debug_look_at_items_only() {
        let mut a: InlineVec<u8, 2> = InlineVec::new();
        let mut b: InlineVec<u8, 2> = InlineVec::new();
        a.extend_from_slice(&[1, 2, 3]);
        b.extend_from_slice(&[1, 2, 3]);
        assert_eq!(a, b);
        b.clear();
        b.extend_from_slice(&[1, 2]);
        assert_ne!(a, b);
        assert_eq!(format!("{b:?}"), "[1, 2]");
    }
}
