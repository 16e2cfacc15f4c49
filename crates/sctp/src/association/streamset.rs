//! A set of stream ids for stream resets (RFC 6525): every stream, or a bitset of them.
//! Membership, insertion and merging cost the same however many streams a peer names, so a
//! request listing thousands of streams is handled in time linear in its length.

/// Stream ids are 16-bit: 65,536 bits.
const WORDS: usize = 65536 / 64;

/// Every stream (a reset request with an empty list), or some.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StreamSet {
    All,
    Some(Box<[u64; WORDS]>),
}

impl StreamSet {
    /// No stream.
    pub(crate) fn empty() -> Self {
        StreamSet::Some(Box::new([0; WORDS]))
    }

    /// The set a request names: an empty list means every stream (RFC 6525 4.1).
    pub(crate) fn from_request(streams: &[u16]) -> Self {
        if streams.is_empty() {
            return StreamSet::All;
        }
        let mut set = StreamSet::empty();
        for &s in streams {
            set.insert(s);
        }
        set
    }

    pub(crate) fn insert(&mut self, s: u16) {
        if let StreamSet::Some(bits) = self {
            bits[s as usize / 64] |= 1 << (s % 64);
        }
    }

    pub(crate) fn contains(&self, s: u16) -> bool {
        match self {
            StreamSet::All => true,
            StreamSet::Some(bits) => bits[s as usize / 64] & (1 << (s % 64)) != 0,
        }
    }

    /// Adds every stream of `other` (a later request joining a waiting one).
    pub(crate) fn merge(&mut self, other: &StreamSet) {
        match (&mut *self, other) {
            (StreamSet::All, _) => {}
            (_, StreamSet::All) => *self = StreamSet::All,
            (StreamSet::Some(a), StreamSet::Some(b)) => {
                for (x, y) in a.iter_mut().zip(b.iter()) {
                    *x |= y;
                }
            }
        }
    }

    /// Whether every stream of `other` is in this set.
    pub(crate) fn covers(&self, other: &StreamSet) -> bool {
        match (self, other) {
            (StreamSet::All, _) => true,
            (StreamSet::Some(_), StreamSet::All) => false,
            (StreamSet::Some(a), StreamSet::Some(b)) => a.iter().zip(b.iter()).all(|(x, y)| y & !x == 0),
        }
    }

    /// The streams, ascending; empty for [`StreamSet::All`] (as on the wire).
    pub(crate) fn to_list(&self) -> Vec<u16> {
        let StreamSet::Some(bits) = self else { return Vec::new() };
        let mut out = Vec::new();
        for (w, &word) in bits.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let b = word.trailing_zeros() as usize;
                out.push((w * 64 + b) as u16);
                word &= word - 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_request_means_every_stream_and_absorbs_merges() {
        let all = StreamSet::from_request(&[]);
        assert!(all.contains(0) && all.contains(65535));
        let mut some = StreamSet::from_request(&[3, 5, 65535]);
        assert!(some.contains(3) && some.contains(65535) && !some.contains(4));
        assert_eq!(some.to_list(), vec![3, 5, 65535]);
        // A "reset all" joining a waiting list makes it "all", and the other way round.
        some.merge(&all);
        assert_eq!(some, StreamSet::All);
        let mut all2 = StreamSet::All;
        all2.merge(&StreamSet::from_request(&[1]));
        assert_eq!(all2, StreamSet::All);
        assert!(all2.to_list().is_empty());
    }

    #[test]
    fn merge_and_cover() {
        let mut a = StreamSet::from_request(&[1, 2]);
        let b = StreamSet::from_request(&[2, 700, 2]);
        assert!(!a.covers(&b));
        a.merge(&b);
        assert_eq!(a.to_list(), vec![1, 2, 700]);
        assert!(a.covers(&b) && !a.covers(&StreamSet::All));
        assert!(StreamSet::All.covers(&a));
    }
}
