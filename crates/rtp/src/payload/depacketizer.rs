//! The bounded frame assembler every depacketizer shares: sequence tracking,
//! loss, resynchronization and limits live here; the formats only parse.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{PayloadError, PayloadFormat, Start};

/// Limits of a [`Depacketizer`]. The defaults suit 4K video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepacketizerConfig {
    /// A frame growing past this many bytes is dropped ([`DropReason::TooLarge`]).
    pub max_frame_bytes: usize,
    /// A frame spread over more packets than this is dropped ([`DropReason::TooManyPackets`]).
    pub max_packets_per_frame: usize,
    /// A frame that receives more repeated or stale packets than this is
    /// dropped ([`DropReason::TooManyDuplicates`]).
    pub max_duplicates_per_frame: usize,
    /// At most this many outputs wait for [`Depacketizer::poll`]; beyond it the
    /// oldest is discarded and counted in [`DepacketizerStats::overflowed`].
    pub max_queued: usize,
}

impl Default for DepacketizerConfig {
    fn default() -> Self {
        DepacketizerConfig {
            max_frame_bytes: 4 << 20,
            max_packets_per_frame: 16_384,
            max_duplicates_per_frame: 32,
            max_queued: 32,
        }
    }
}

/// How many stale sequence numbers in a row are taken as a restarted
/// sequence instead of duplicates.
const STALE_IN_A_ROW_IS_A_JUMP: u32 = 64;

/// One reassembled frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<M = ()> {
    /// The frame's media bytes, in the format's bitstream form.
    pub data: Bytes,
    /// The RTP timestamp of its packets.
    pub timestamp: u32,
    /// The sequence number of its first packet.
    pub first_sequence: u16,
    /// The sequence number of its last packet.
    pub last_sequence: u16,
    /// Whether the frame can be decoded without earlier frames.
    pub keyframe: bool,
    /// Whether its last packet carried the marker bit. For video the marker
    /// ends the frame (without it, the next frame's first packet closed this
    /// one); for audio it marks the start of a talkspurt.
    pub marker: bool,
    /// Whether something was lost or dropped between the previous frame
    /// delivered and this one: a decoder may need a keyframe.
    pub discontinuity: bool,
    /// What the format reports about the frame.
    pub meta: M,
}

/// Why a frame or packets went missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Sequence numbers were skipped: packets were lost.
    Loss,
    /// A frame ended with a fragment open, or a packet continued a fragment
    /// whose start was never seen.
    Incomplete,
    /// A payload could not be parsed.
    Malformed,
    /// The frame exceeded [`DepacketizerConfig::max_frame_bytes`].
    TooLarge,
    /// The frame exceeded [`DepacketizerConfig::max_packets_per_frame`].
    TooManyPackets,
    /// The frame saw more than [`DepacketizerConfig::max_duplicates_per_frame`] repeats.
    TooManyDuplicates,
}

/// A report that media was lost: ask the sender for a keyframe if the decoder
/// cannot conceal it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Why.
    pub reason: DropReason,
    /// The RTP timestamp of the frame that was dropped, when one was being
    /// assembled; `None` when whole packets between frames went missing.
    pub timestamp: Option<u32>,
}

/// One output of a [`Depacketizer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Depacketized<M = ()> {
    /// A complete frame.
    Frame(Frame<M>),
    /// Media was lost.
    Dropped(Dropped),
}

/// Counters of a [`Depacketizer`], for stats and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepacketizerStats {
    /// Packets pushed.
    pub packets: u64,
    /// Frames delivered.
    pub frames: u64,
    /// Frames dropped (any [`DropReason`]).
    pub dropped_frames: u64,
    /// Packets missing according to the sequence numbers.
    pub lost_packets: u64,
    /// Repeated or stale packets ignored.
    pub duplicate_packets: u64,
    /// Packets skipped while waiting for the start of a frame.
    pub discarded_packets: u64,
    /// Payloads that failed to parse.
    pub malformed_packets: u64,
    /// Outputs discarded because nobody polled them.
    pub overflowed: u64,
}

struct Partial<M> {
    data: Vec<u8>,
    meta: M,
    timestamp: u32,
    first_sequence: u16,
    last_sequence: u16,
    keyframe: bool,
    packets: usize,
    duplicates: usize,
    discontinuity: bool,
}

/// Reassembles frames of format `F` from in-order RTP payloads; see the
/// [module documentation](super) for the contract.
pub struct Depacketizer<F: PayloadFormat> {
    format: F,
    config: DepacketizerConfig,
    last_sequence: Option<u16>,
    stale_in_a_row: u32,
    current: Option<Partial<F::Meta>>,
    /// Skipping packets until one starts a frame.
    resync: bool,
    /// The timestamp of the broken frame being skipped, if known.
    resync_timestamp: Option<u32>,
    discontinuity: bool,
    queue: VecDeque<Depacketized<F::Meta>>,
    stats: DepacketizerStats,
}

impl<F: PayloadFormat + Default> Default for Depacketizer<F> {
    fn default() -> Self {
        Self::new(F::default())
    }
}

impl<F: PayloadFormat> std::fmt::Debug for Depacketizer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Depacketizer")
            .field("format", &F::NAME)
            .field("assembling", &self.current.as_ref().map(|c| (c.timestamp, c.data.len())))
            .field("resync", &self.resync)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<F: PayloadFormat> Depacketizer<F> {
    /// A depacketizer with the default limits.
    pub fn new(format: F) -> Self {
        Self::with_config(format, DepacketizerConfig::default())
    }

    /// A depacketizer with the given limits.
    pub fn with_config(format: F, config: DepacketizerConfig) -> Self {
        Depacketizer {
            format,
            config,
            last_sequence: None,
            stale_in_a_row: 0,
            current: None,
            resync: false,
            resync_timestamp: None,
            discontinuity: false,
            queue: VecDeque::new(),
            stats: DepacketizerStats::default(),
        }
    }

    /// The RTP clock rate of the format.
    pub fn clock_rate(&self) -> u32 {
        F::CLOCK_RATE
    }

    /// The format (for its settings and state).
    pub fn format(&self) -> &F {
        &self.format
    }

    /// The format, mutably (to change its settings).
    pub fn format_mut(&mut self) -> &mut F {
        &mut self.format
    }

    /// The limits in force.
    pub fn config(&self) -> &DepacketizerConfig {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> &DepacketizerStats {
        &self.stats
    }

    /// Bytes held for the frame being assembled (at most
    /// [`DepacketizerConfig::max_frame_bytes`] plus one payload).
    pub fn buffered_bytes(&self) -> usize {
        self.current.as_ref().map_or(0, |c| c.data.len())
    }

    /// The next output, oldest first.
    pub fn poll(&mut self) -> Option<Depacketized<F::Meta>> {
        self.queue.pop_front()
    }

    /// Feeds one received packet: its payload, marker bit, sequence number and
    /// timestamp, in sequence order. A payload that fails to parse returns its
    /// error (the frame it belonged to is dropped and reported); everything
    /// else shows up in [`poll`](Self::poll).
    pub fn push(&mut self, payload: &[u8], marker: bool, sequence: u16, timestamp: u32) -> Result<(), PayloadError> {
        self.stats.packets += 1;
        if let Some(last) = self.last_sequence {
            let delta = sequence.wrapping_sub(last) as i16;
            if delta <= 0 {
                self.stale_in_a_row += 1;
                if self.stale_in_a_row <= STALE_IN_A_ROW_IS_A_JUMP {
                    self.duplicate();
                    return Ok(());
                }
                // The sender restarted its sequence: a jump, treated as loss.
                self.gap();
            } else if delta > 1 {
                self.stats.lost_packets += (delta - 1) as u64;
                self.gap();
            }
        }
        self.stale_in_a_row = 0;
        self.last_sequence = Some(sequence);

        let info = match self.format.inspect(payload) {
            Ok(info) => info,
            Err(e) => {
                self.malformed(timestamp);
                return Err(e);
            }
        };
        if let Some(current) = &self.current {
            if current.timestamp != timestamp || info.start == Start::Definite {
                self.close();
            }
        }
        if self.current.is_none() {
            let accept = match info.start {
                Start::Definite => true,
                Start::Probable => !self.resync || self.resync_timestamp != Some(timestamp),
                Start::Unknown => !self.resync,
                Start::Continuation => false,
            };
            if !accept {
                self.stats.discarded_packets += 1;
                if !self.resync {
                    // A fragment whose start never came, without a gap: the sender's doing.
                    self.report(DropReason::Incomplete, Some(timestamp));
                }
                self.resync = true;
                self.resync_timestamp = Some(timestamp);
                return Ok(());
            }
            self.resync = false;
            self.resync_timestamp = None;
            self.format.reset();
            self.current = Some(Partial {
                data: Vec::new(),
                meta: F::Meta::default(),
                timestamp,
                first_sequence: sequence,
                last_sequence: sequence,
                keyframe: false,
                packets: 0,
                duplicates: 0,
                discontinuity: std::mem::take(&mut self.discontinuity),
            });
        }
        let Some(current) = self.current.as_mut() else { return Ok(()) };
        current.last_sequence = sequence;
        current.packets += 1;
        current.keyframe |= info.keyframe;
        if let Err(e) = self.format.append(payload, &mut current.data, &mut current.meta) {
            self.stats.malformed_packets += 1;
            self.drop_current(DropReason::Malformed);
            return Err(e);
        }
        if current.data.len() > self.config.max_frame_bytes {
            self.drop_current(DropReason::TooLarge);
        } else if current.packets > self.config.max_packets_per_frame {
            self.drop_current(DropReason::TooManyPackets);
        } else if marker || info.ends_frame {
            self.close_with(marker);
        }
        Ok(())
    }

    fn duplicate(&mut self) {
        self.stats.duplicate_packets += 1;
        if let Some(current) = &mut self.current {
            current.duplicates += 1;
            if current.duplicates > self.config.max_duplicates_per_frame {
                self.drop_current(DropReason::TooManyDuplicates);
            }
        }
    }

    fn gap(&mut self) {
        if self.current.is_some() {
            self.drop_current(DropReason::Loss);
        } else if !self.resync {
            self.report(DropReason::Loss, None);
            self.resync = true;
            self.resync_timestamp = None;
        }
    }

    fn malformed(&mut self, timestamp: u32) {
        self.stats.malformed_packets += 1;
        if self.current.as_ref().is_some_and(|c| c.timestamp != timestamp) {
            // The malformed packet belongs to the next frame; the current one may be whole.
            self.close();
        }
        if self.current.is_some() {
            self.drop_current(DropReason::Malformed);
        } else {
            self.report(DropReason::Malformed, Some(timestamp));
            self.resync = true;
            self.resync_timestamp = Some(timestamp);
        }
    }

    /// Closes the frame in progress because the next one began.
    fn close(&mut self) {
        self.close_with(false);
    }

    fn close_with(&mut self, marker: bool) {
        let Some(mut current) = self.current.take() else { return };
        match self.format.finish(&mut current.data, &mut current.meta) {
            Ok(()) if current.data.len() <= self.config.max_frame_bytes => {
                self.stats.frames += 1;
                let frame = Frame {
                    data: Bytes::from(current.data),
                    timestamp: current.timestamp,
                    first_sequence: current.first_sequence,
                    last_sequence: current.last_sequence,
                    keyframe: current.keyframe,
                    marker,
                    discontinuity: current.discontinuity,
                    meta: current.meta,
                };
                self.emit(Depacketized::Frame(frame));
            }
            Ok(()) => {
                self.current = Some(current);
                self.drop_current(DropReason::TooLarge);
            }
            Err(_) => {
                self.current = Some(current);
                self.drop_current(DropReason::Incomplete);
            }
        }
    }

    fn drop_current(&mut self, reason: DropReason) {
        let Some(current) = self.current.take() else { return };
        self.format.reset();
        self.stats.dropped_frames += 1;
        self.report(reason, Some(current.timestamp));
        self.resync = true;
        self.resync_timestamp = Some(current.timestamp);
    }

    fn report(&mut self, reason: DropReason, timestamp: Option<u32>) {
        self.discontinuity = true;
        self.emit(Depacketized::Dropped(Dropped { reason, timestamp }));
    }

    fn emit(&mut self, out: Depacketized<F::Meta>) {
        if self.queue.len() >= self.config.max_queued.max(1) {
            self.queue.pop_front();
            self.stats.overflowed += 1;
            self.discontinuity = true;
        }
        self.queue.push_back(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::opus::Opus;
    use crate::payload::vp8::{Vp8, Vp8Packetizer};
    use crate::payload::Packetizer;

    fn drain<F: PayloadFormat>(d: &mut Depacketizer<F>) -> Vec<Depacketized<F::Meta>> {
        std::iter::from_fn(|| d.poll()).collect()
    }

    #[test]
    fn an_unpolled_queue_keeps_the_newest_outputs() {
        let config = DepacketizerConfig { max_queued: 3, ..Default::default() };
        let mut d = Depacketizer::with_config(Opus, config);
        for i in 0..10u16 {
            d.push(&[0xfc, i as u8], false, i, u32::from(i) * 960).unwrap();
        }
        let out = drain(&mut d);
        assert_eq!(out.len(), 3);
        assert_eq!(d.stats().overflowed, 7);
        assert!(matches!(&out[0], Depacketized::Frame(f) if f.timestamp == 7 * 960));
        // What follows an overflow is flagged.
        d.push(&[0xfc], false, 10, 9600).unwrap();
        assert!(matches!(d.poll(), Some(Depacketized::Frame(f)) if f.discontinuity));
    }

    #[test]
    fn stale_packets_are_duplicates_until_they_look_like_a_restart() {
        let mut d = Depacketizer::new(Opus);
        d.push(&[0xfc], false, 40_000, 0).unwrap();
        drain(&mut d);
        // The sender restarted its sequence numbers 10,000 behind.
        for i in 0..STALE_IN_A_ROW_IS_A_JUMP as u16 {
            d.push(&[0xfc], false, 30_000 + i, 960).unwrap();
        }
        assert!(drain(&mut d).is_empty());
        d.push(&[0xfc], false, 30_100, 960).unwrap();
        let out = drain(&mut d);
        assert!(matches!(out[..], [Depacketized::Dropped(_), Depacketized::Frame(_)]), "{out:?}");
        d.push(&[0xfc], false, 30_101, 1920).unwrap();
        assert!(matches!(d.poll(), Some(Depacketized::Frame(f)) if !f.discontinuity));
        assert_eq!(d.stats().duplicate_packets, u64::from(STALE_IN_A_ROW_IS_A_JUMP));
    }

    #[test]
    fn too_many_packets_drop_the_frame() {
        let config = DepacketizerConfig { max_packets_per_frame: 4, ..Default::default() };
        let mut d = Depacketizer::with_config(Vp8, config);
        let payloads = Vp8Packetizer::new().packetize(&[0x50; 100], 24).unwrap();
        assert_eq!(payloads.len(), 5);
        for (i, p) in payloads.iter().enumerate() {
            d.push(&p.data, p.marker, i as u16, 0).unwrap();
        }
        let out = drain(&mut d);
        assert!(matches!(out[..], [Depacketized::Dropped(Dropped { reason: DropReason::TooManyPackets, .. })]));
        assert_eq!(d.buffered_bytes(), 0);
    }

    #[test]
    fn a_malformed_packet_drops_its_frame() {
        let mut d = Depacketizer::new(Vp8);
        let payloads = Vp8Packetizer::new().packetize(&[0x50; 100], 40).unwrap();
        d.push(&payloads[0].data, false, 1, 0).unwrap();
        assert!(d.push(&[0x80], false, 2, 0).is_err());
        d.push(&payloads[2].data, true, 3, 0).unwrap();
        let out = drain(&mut d);
        assert!(matches!(
            out[..],
            [Depacketized::Dropped(Dropped { reason: DropReason::Malformed, timestamp: Some(0) })]
        ));
        assert_eq!((d.stats().malformed_packets, d.stats().discarded_packets), (1, 1));
    }
}
