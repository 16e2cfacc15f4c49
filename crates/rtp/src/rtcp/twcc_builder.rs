//! Building transport-wide feedback from `(sequence number, arrival)` pairs.
//!
//! Chunks are chosen as libwebrtc's `TransportFeedback` does: statuses
//! collect in a pending chunk while they fit a two-bit vector (7), a one-bit
//! vector (14, no large delta) or a run (up to 8191 equal statuses); when the
//! next status fits none of them, the pending chunk is emitted as a run if
//! all its statuses are equal, as a one-bit vector if it holds 14, and
//! otherwise as a two-bit vector of its first 7 (the rest stay pending). The
//! last chunk is a run if uniform, else a two-bit vector for up to 7
//! statuses, else a one-bit vector. Receive deltas are rounded to the nearest
//! 250 µs tick against the *reported* time of the previous packet, so
//! rounding errors do not accumulate.

use super::twcc::{PacketStatus, StatusChunk, TransportFeedback, DELTA_TICK_US, MAX_RUN_LENGTH, REFERENCE_TICK_US};

/// Why a packet cannot join the feedback being built. The builder is left
/// unchanged: finish this feedback and start the next one with the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TwccAddError {
    /// The sequence number is not after the last one added (a duplicate, or
    /// more than 32,767 behind). Packets must be added in sequence order.
    #[error("transport sequence number {seq} does not follow {last}; add packets in sequence order")]
    OutOfOrder {
        /// The sequence number offered.
        seq: u16,
        /// The last one added.
        last: u16,
    },
    /// The feedback already reports (or the gap would make it report) more
    /// than 65,535 packets.
    #[error("a transport-wide feedback reports at most 65,535 packets; start a new one")]
    Full,
    /// The arrival is too far (beyond about ±8.19 s) from the previous
    /// arrival for a 16-bit delta.
    #[error("arrival {delta_us} µs from the previous one does not fit a 16-bit receive delta; start a new feedback")]
    DeltaOutOfRange {
        /// The distance from the previous reported arrival, in µs.
        delta_us: i64,
    },
}

/// Builds a [`TransportFeedback`] from packets added in sequence order.
///
/// ```
/// use rtp::rtcp::TwccBuilder;
///
/// let mut b = TwccBuilder::new(0x1111, 0x2222, 0);
/// b.add(65535, Some(1_000_000)).unwrap();
/// b.add(1, Some(1_020_000)).unwrap(); // 0 was lost; the sequence wraps
/// let fb = b.finish().unwrap();
/// let got: Vec<_> = fb.packets().collect();
/// assert_eq!(got, [(65535, Some(1_000_000)), (0, None), (1, Some(1_020_000))]);
/// ```
#[derive(Debug, Clone)]
pub struct TwccBuilder {
    sender_ssrc: u32,
    media_ssrc: u32,
    feedback_count: u8,
    base_seq: Option<u16>,
    last_seq: u16,
    status_count: usize,
    /// Reference time in 64 ms ticks (not yet wrapped to 24 bits), set by the
    /// first received packet.
    reference: Option<i64>,
    /// The reported arrival of the last received packet, in µs.
    last_us: i64,
    chunks: Vec<StatusChunk>,
    pending: PendingChunk,
    deltas: Vec<i16>,
    delta_bytes: usize,
}

impl TwccBuilder {
    /// A builder for the feedback numbered `feedback_count` (the sender's
    /// wrapping counter of feedback packets).
    pub fn new(sender_ssrc: u32, media_ssrc: u32, feedback_count: u8) -> Self {
        TwccBuilder {
            sender_ssrc,
            media_ssrc,
            feedback_count,
            base_seq: None,
            last_seq: 0,
            status_count: 0,
            reference: None,
            last_us: 0,
            chunks: Vec::new(),
            pending: PendingChunk::new(),
            deltas: Vec::new(),
            delta_bytes: 0,
        }
    }

    /// Adds packet `seq`, received at `arrival_us` (µs, any clock) or not
    /// received (`None`). Sequence numbers skipped since the last one added
    /// are reported as not received. The first received packet sets the
    /// reference time (its arrival rounded down to 64 ms).
    pub fn add(&mut self, seq: u16, arrival_us: Option<i64>) -> Result<(), TwccAddError> {
        let gap = match self.base_seq {
            None => 0,
            Some(_) => match seq.wrapping_sub(self.last_seq) {
                d @ 1..0x8000 => d as usize - 1,
                _ => return Err(TwccAddError::OutOfOrder { seq, last: self.last_seq }),
            },
        };
        if self.status_count + gap + 1 > u16::MAX as usize {
            return Err(TwccAddError::Full);
        }
        let received = match arrival_us {
            None => None,
            Some(t) => {
                let (reference, last) = match self.reference {
                    Some(r) => (r, self.last_us),
                    None => {
                        let r = t.div_euclid(REFERENCE_TICK_US);
                        (r, r.saturating_mul(REFERENCE_TICK_US))
                    }
                };
                let delta_us = t.saturating_sub(last);
                // Round half away from zero to a 250 µs tick.
                let half = if delta_us < 0 { -DELTA_TICK_US / 2 } else { DELTA_TICK_US / 2 };
                let ticks = delta_us.saturating_add(half) / DELTA_TICK_US;
                let ticks = i16::try_from(ticks).map_err(|_| TwccAddError::DeltaOutOfRange { delta_us })?;
                Some((reference, last, ticks))
            }
        };
        self.base_seq.get_or_insert(seq);
        self.last_seq = seq;
        for _ in 0..gap {
            self.pending.push(PacketStatus::NotReceived, &mut self.chunks);
        }
        self.status_count += gap + 1;
        let Some((reference, last, ticks)) = received else {
            self.pending.push(PacketStatus::NotReceived, &mut self.chunks);
            return Ok(());
        };
        self.reference = Some(reference);
        self.last_us = last.saturating_add(ticks as i64 * DELTA_TICK_US);
        let status = if (0..=255).contains(&ticks) { PacketStatus::SmallDelta } else { PacketStatus::LargeDelta };
        self.pending.push(status, &mut self.chunks);
        self.deltas.push(ticks);
        self.delta_bytes += if status == PacketStatus::SmallDelta { 1 } else { 2 };
        Ok(())
    }

    /// How many packets the feedback reports so far (gaps included).
    pub fn packet_count(&self) -> usize {
        self.status_count
    }

    /// The size on the wire of the packet [`Self::finish`] would make now,
    /// header and padding included: check it against the MTU before adding more.
    pub fn wire_len(&self) -> usize {
        let chunks = self.chunks.len() + usize::from(self.pending.size > 0);
        (20 + 2 * chunks + self.delta_bytes + 3) & !3
    }

    /// The feedback, or `None` when nothing was added.
    pub fn finish(mut self) -> Option<TransportFeedback> {
        let base_seq = self.base_seq?;
        self.chunks.extend(self.pending.last());
        let reference = self.reference.unwrap_or(0);
        Some(TransportFeedback {
            sender_ssrc: self.sender_ssrc,
            media_ssrc: self.media_ssrc,
            base_seq,
            status_count: self.status_count as u16,
            // Keep the low 24 bits, sign-extended: the field wraps.
            reference_time: ((reference as i32) << 8) >> 8,
            feedback_count: self.feedback_count,
            chunks: self.chunks,
            deltas: self.deltas,
        })
    }
}

const TWO_BIT_CAPACITY: usize = 7;
const ONE_BIT_CAPACITY: usize = 14;

/// The statuses not yet emitted as a chunk.
#[derive(Debug, Clone)]
struct PendingChunk {
    /// The first (up to) 14 statuses; a longer pending run repeats `statuses[0]`.
    statuses: [PacketStatus; ONE_BIT_CAPACITY],
    size: usize,
    all_same: bool,
    has_large: bool,
}

impl PendingChunk {
    fn new() -> Self {
        PendingChunk {
            statuses: [PacketStatus::NotReceived; ONE_BIT_CAPACITY],
            size: 0,
            all_same: true,
            has_large: false,
        }
    }

    fn can_add(&self, s: PacketStatus) -> bool {
        self.size < TWO_BIT_CAPACITY
            || (self.size < ONE_BIT_CAPACITY && !self.has_large && s != PacketStatus::LargeDelta)
            || (self.size < MAX_RUN_LENGTH as usize && self.all_same && self.statuses[0] == s)
    }

    fn add(&mut self, s: PacketStatus) {
        if self.size < ONE_BIT_CAPACITY {
            self.statuses[self.size] = s;
        }
        self.all_same = self.size == 0 || (self.all_same && self.statuses[0] == s);
        self.has_large |= s == PacketStatus::LargeDelta;
        self.size += 1;
    }

    /// Adds `s`, first moving a chunk to `out` when `s` does not fit.
    fn push(&mut self, s: PacketStatus, out: &mut Vec<StatusChunk>) {
        if !self.can_add(s) {
            out.push(self.emit());
        }
        self.add(s);
    }

    /// A full chunk off the front (called only when the next status does not fit).
    fn emit(&mut self) -> StatusChunk {
        if self.all_same {
            let chunk = StatusChunk::RunLength { status: self.statuses[0], length: self.size as u16 };
            *self = PendingChunk::new();
            return chunk;
        }
        if self.size == ONE_BIT_CAPACITY {
            let chunk = self.one_bit();
            *self = PendingChunk::new();
            return chunk;
        }
        let chunk = self.two_bit();
        let rest = self.statuses;
        let size = self.size;
        *self = PendingChunk::new();
        rest[TWO_BIT_CAPACITY..size].iter().for_each(|&s| self.add(s));
        chunk
    }

    /// The last chunk of a feedback, if any status is pending.
    fn last(&self) -> Option<StatusChunk> {
        match self.size {
            0 => None,
            _ if self.all_same => Some(StatusChunk::RunLength { status: self.statuses[0], length: self.size as u16 }),
            1..=TWO_BIT_CAPACITY => Some(self.two_bit()),
            _ => Some(self.one_bit()),
        }
    }

    /// The first 7 statuses (missing ones as not received) as a two-bit vector.
    fn two_bit(&self) -> StatusChunk {
        let mut s = [PacketStatus::NotReceived; TWO_BIT_CAPACITY];
        let n = self.size.min(TWO_BIT_CAPACITY);
        s[..n].copy_from_slice(&self.statuses[..n]);
        StatusChunk::TwoBit(s)
    }

    /// The statuses as a one-bit vector (none is a large delta).
    fn one_bit(&self) -> StatusChunk {
        let bits = (0..self.size.min(ONE_BIT_CAPACITY))
            .filter(|&i| self.statuses[i] == PacketStatus::SmallDelta)
            .fold(0, |bits, i| bits | 1 << (13 - i));
        StatusChunk::OneBit(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::super::twcc::PacketStatus::{LargeDelta as L, NotReceived as N, SmallDelta as S};
    use super::super::{parse_compound, RtcpPacket};
    use super::*;

    /// Feeds `statuses` (small deltas of 1 tick, large of 1000) and returns the chunks.
    fn chunks_for(statuses: &[PacketStatus]) -> Vec<StatusChunk> {
        let mut b = TwccBuilder::new(1, 2, 0);
        // A first large delta must round to 256 ticks: land 63,875 µs after a 64 ms tick.
        let mut t = 63_875 - 250_000;
        for (i, s) in statuses.iter().enumerate() {
            let arrival = match s {
                N => None,
                S => Some(t + 250),
                L => Some(t + 250_000),
            };
            t = arrival.unwrap_or(t);
            b.add(i as u16, arrival).unwrap();
        }
        b.finish().unwrap().chunks
    }

    #[test]
    fn chunk_choice_follows_libwebrtc() {
        // Uniform: one run.
        assert_eq!(chunks_for(&[S; 30]), vec![StatusChunk::RunLength { status: S, length: 30 }]);
        // A short mixed tail: a two-bit vector padded with "not received".
        assert_eq!(chunks_for(&[S, N, S]), vec![StatusChunk::TwoBit([S, N, S, N, N, N, N])]);
        // 8 to 14 mixed without large deltas: one one-bit vector.
        assert_eq!(chunks_for(&[S, N, S, S, S, S, S, S, N]), vec![StatusChunk::OneBit(0b10_1111_1100_0000)]);
        // A run of 14 small, then a loss: the run is emitted whole.
        let mut v = vec![S; 14];
        v.push(N);
        assert_eq!(
            chunks_for(&v),
            vec![StatusChunk::RunLength { status: S, length: 14 }, StatusChunk::RunLength { status: N, length: 1 }]
        );
        // 7 large then small: libwebrtc emits the large ones as a run.
        assert_eq!(
            chunks_for(&[L, L, L, L, L, L, L, S]),
            vec![StatusChunk::RunLength { status: L, length: 7 }, StatusChunk::RunLength { status: S, length: 1 }]
        );
        // Mixed with a large delta: two-bit vectors of 7, the rest carried over.
        assert_eq!(
            chunks_for(&[L, S, N, S, S, S, S, S, N, L]),
            vec![StatusChunk::TwoBit([L, S, N, S, S, S, S]), StatusChunk::TwoBit([S, N, L, N, N, N, N])]
        );
        // 14 mixed small, then a large: a one-bit vector, then the large alone.
        let mut v = vec![S, N, S, N, S, N, S, N, S, N, S, N, S, N];
        v.push(L);
        assert_eq!(
            chunks_for(&v),
            vec![StatusChunk::OneBit(0b10_1010_1010_1010), StatusChunk::RunLength { status: L, length: 1 }]
        );
    }

    #[test]
    fn long_gaps_become_runs_of_8191() {
        let mut b = TwccBuilder::new(1, 2, 0);
        b.add(0, Some(0)).unwrap();
        b.add(20_000, Some(1000)).unwrap();
        let fb = b.finish().unwrap();
        assert_eq!(
            fb.chunks,
            vec![
                // The received packet and 13 losses fill a one-bit vector first.
                StatusChunk::OneBit(0x2000),
                StatusChunk::RunLength { status: N, length: 8191 },
                StatusChunk::RunLength { status: N, length: 8191 },
                StatusChunk::RunLength { status: N, length: 19_999 - 13 - 2 * 8191 },
                StatusChunk::RunLength { status: S, length: 1 },
            ]
        );
        assert_eq!(fb.status_count, 20_001);
        assert_eq!(
            fb.packets().filter(|p| p.1.is_some()).collect::<Vec<_>>(),
            vec![(0, Some(0)), (20_000, Some(1000))]
        );
    }

    /// Transport-wide feedback checked byte for byte against a layout worked
    /// out by hand: the sequence wraps (65530 to 37), a run of 20 small
    /// deltas, a one-bit vector, a two-bit vector with a large and a negative
    /// delta, a last two-bit vector with a -2 s delta, and 3 bytes of padding.
    #[test]
    fn hand_computed_layout() {
        let r = 64_000_000; // reference time 1000 ticks of 64 ms
        let mut arrivals: Vec<(u16, Option<i64>)> = Vec::new();
        // Run of 20 small deltas of 4 ticks (1 ms), seq 65530..=65535, 0..=13.
        for i in 0..20u16 {
            arrivals.push((65530u16.wrapping_add(i), Some(r + 1000 * (i as i64 + 1))));
        }
        let t = r + 20_000;
        // One-bit vector, seq 14..=27: N S N S S N N S S S N S S S.
        arrivals.extend([
            (15, Some(t + 2500)),          // +10 ticks (14 skipped)
            (16, None),                    // explicitly lost
            (17, Some(t + 2500 + 63_750)), // +255 ticks, the largest small delta
            (18, Some(t + 66_250)),        // +0
            (21, Some(t + 66_250 + 260)),  // +260 µs rounds to 1 tick (19, 20 skipped)
            (22, Some(t + 66_500 + 100)),  // +100 µs from the reported time rounds to 0
            (23, Some(t + 66_500 + 125)),  // +125 µs rounds half away from zero: 1 tick
            (24, None),                    //
            (25, Some(t + 66_750 + 1000)), // +4 ticks
            (26, Some(t + 67_750 + 250)),  // +1
            (27, Some(t + 68_000 + 250)),  // +1
        ]);
        let t = t + 68_250;
        // Two-bit vector, seq 28..=34: L S N L S S S.
        arrivals.extend([
            (28, Some(t + 100_000)), // +400 ticks: large
            (29, Some(t + 100_500)), // +2
            (31, Some(t + 99_500)),  // -4 ticks: negative, large (30 skipped)
            (32, Some(t + 100_250)), // +3
            (33, Some(t + 100_250)), // +0
            (34, Some(t + 164_000)), // +255
        ]);
        let t = t + 164_000;
        // Last chunk, seq 35..=37: S L S as a two-bit vector.
        arrivals.extend([(35, Some(t + 2000)), (36, Some(t + 2000 - 2_000_000)), (37, Some(t - 1_997_750))]);

        let mut b = TwccBuilder::new(0xfa17_fa17, 0x0102_0304, 7);
        for &(seq, arrival) in &arrivals {
            b.add(seq, arrival).unwrap();
        }
        assert_eq!(b.packet_count(), 44);
        assert_eq!(b.wire_len(), 72);
        let fb = b.finish().unwrap();
        let mut out = Vec::new();
        fb.write(&mut out).unwrap();

        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[0xaf, 205, 0x00, 17][..],           // V=2, P, FMT 15, RTPFB, 18 words
            &[0xfa, 0x17, 0xfa, 0x17],            // sender SSRC
            &[0x01, 0x02, 0x03, 0x04],            // media SSRC
            &[0xff, 0xfa, 0x00, 0x2c],            // base seq 65530, 44 statuses
            &[0x00, 0x03, 0xe8, 0x07],            // reference time 1000, feedback count 7
            &[0x20, 0x14],                        // run length: 20 x small delta
            &[0x96, 0x77],                        // 1-bit: 0 1 0 1 1 0 0 1 1 1 0 1 1 1
            &[0xe4, 0x95],                        // 2-bit: L S N L S S S
            &[0xd9, 0x00],                        // 2-bit: S L S N N N N
            &[4; 20],                             // the run's deltas
            &[10, 255, 0, 1, 0, 1, 4, 1, 1],      // the 1-bit vector's
            &[0x01, 0x90, 2, 0xff, 0xfc, 3, 0, 255], // the first 2-bit vector's: 400, 2, -4, 3, 0, 255
            &[8, 0xe0, 0xc0, 1],                  // the last's: 8, -8000, 1
            &[0, 0, 3],                           // RTCP padding
        ]
        .concat();
        assert_eq!(out, expected);

        // Parsed back, every packet is there, received ones within 125 µs.
        let parsed = parse_compound(&out).unwrap();
        assert_eq!(parsed, vec![RtcpPacket::TransportFeedback(fb.clone())]);
        let expanded: Vec<(u16, Option<i64>)> = fb.packets().collect();
        assert_eq!(expanded.len(), 44);
        assert_eq!(expanded[0].0, 65530);
        assert_eq!(expanded[43].0, 37);
        for (seq, arrival) in &arrivals {
            let got = expanded.iter().find(|p| p.0 == *seq).unwrap().1;
            match (arrival, got) {
                (Some(a), Some(g)) => assert!((a - g).abs() <= 125, "seq {seq}: sent {a}, expanded {g}"),
                (None, None) => {}
                other => panic!("seq {seq}: {other:?}"),
            }
        }
        let lost: Vec<u16> = expanded.iter().filter(|p| p.1.is_none()).map(|p| p.0).collect();
        assert_eq!(lost, vec![14, 16, 19, 20, 24, 30]);
    }

    #[test]
    fn add_errors_leave_the_builder_unchanged() {
        let mut b = TwccBuilder::new(1, 2, 0);
        assert!(b.clone().finish().is_none());
        b.add(10, Some(1_000_000)).unwrap();
        assert_eq!(b.add(10, Some(1_000_000)), Err(TwccAddError::OutOfOrder { seq: 10, last: 10 }));
        assert_eq!(b.add(9, None), Err(TwccAddError::OutOfOrder { seq: 9, last: 10 }));
        assert_eq!(b.add(10 + 0x8000, None), Err(TwccAddError::OutOfOrder { seq: 10 + 0x8000, last: 10 }));
        // 32767 * 250 µs is the largest delta.
        assert_eq!(b.add(11, Some(1_000_000 + 8_192_000)), Err(TwccAddError::DeltaOutOfRange { delta_us: 8_192_000 }));
        assert_eq!(b.add(11, Some(1_000_000 - 8_192_250)), Err(TwccAddError::DeltaOutOfRange { delta_us: -8_192_250 }));
        assert_eq!(b.add(11, Some(i64::MIN)), Err(TwccAddError::DeltaOutOfRange { delta_us: i64::MIN }));
        assert_eq!(b.packet_count(), 1);
        b.add(11, Some(1_000_000 + 8_191_750)).unwrap();
        b.add(12, Some(1_000_000 + 8_191_750 - 8_192_000)).unwrap();
        let fb = b.clone().finish().unwrap();
        // 1,000,000 µs is 40 ms after the reference (15 x 64 ms): 160 ticks.
        assert_eq!(fb.deltas, vec![160, 32767, -32768]);
        // Full: 65535 statuses at most.
        let mut b = TwccBuilder::new(1, 2, 0);
        b.add(0, None).unwrap();
        b.add(30_000, None).unwrap();
        b.add(60_000, None).unwrap();
        assert_eq!(b.add(65_535, None), Err(TwccAddError::Full));
        b.add(65_534, None).unwrap();
        assert_eq!(b.add(65_535, None), Err(TwccAddError::Full));
        let fb = b.finish().unwrap();
        assert_eq!(fb.status_count, 65_535);
        let mut out = Vec::new();
        fb.write(&mut out).unwrap();
        assert_eq!(parse_compound(&out).unwrap(), vec![RtcpPacket::TransportFeedback(fb)]);
    }

    #[test]
    fn reference_time_rounds_down_and_wraps() {
        let mut b = TwccBuilder::new(1, 2, 0);
        b.add(0, None).unwrap();
        b.add(1, Some(-1)).unwrap();
        let fb = b.finish().unwrap();
        assert_eq!(fb.reference_time, -1);
        assert_eq!(fb.deltas, vec![256]);
        assert_eq!(fb.chunks, vec![StatusChunk::TwoBit([N, L, N, N, N, N, N])]);
        // 2^23 ticks of 64 ms wrap to -2^23.
        let mut b = TwccBuilder::new(1, 2, 0);
        b.add(0, Some((1 << 23) * REFERENCE_TICK_US + 500)).unwrap();
        let fb = b.finish().unwrap();
        assert_eq!(fb.reference_time, -(1 << 23));
        assert_eq!(fb.packets().next(), Some((0, Some(-(1 << 23) * REFERENCE_TICK_US + 500))));
        fb.write(&mut Vec::new()).unwrap();
    }

    #[test]
    fn wire_len_matches_written_size() {
        let mut b = TwccBuilder::new(1, 2, 0);
        let mut x: u32 = 0x1234_5678;
        let mut t = 0i64;
        let mut seq = 100u16;
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            seq = seq.wrapping_add(1 + x.is_multiple_of(3) as u16);
            t += (x % 20_000) as i64 - 2_000;
            b.add(seq, (!x.is_multiple_of(5)).then_some(t)).unwrap();
            let mut out = Vec::new();
            b.clone().finish().unwrap().write(&mut out).unwrap();
            assert_eq!(out.len(), b.wire_len());
        }
    }
}
