//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the tests that replay their
//! corpora. Not part of the stable API.

use bytes::Bytes;

use crate::extension::{
    AbsCaptureTime, AbsSendTime, AudioLevel, ExtensionKind, ExtensionMap, Extensions, Mid, PlayoutDelay,
    RepairedRtpStreamId, RtpStreamId, TimeOffset, TransportCc, VideoOrientation,
};
use crate::packet::{RtpHeader, RtpPacket};

/// The extension map [`rtp_parse`] reads with: the known extensions on ids 1..=10 in
/// [`ExtensionKind::ALL`] order, an unknown URI on 11.
pub fn rtp_fuzz_map() -> ExtensionMap {
    let mut map = ExtensionMap::new();
    for (id, kind) in (1..).zip(ExtensionKind::ALL) {
        map.insert(id, kind.uri()).expect("distinct ids");
    }
    map.insert(11, "urn:example:unknown").expect("a free id");
    map
}

/// Reads a typed value; whatever reads must write into a fresh block and read back equal.
macro_rules! typed_round_trip {
    ($map:expr, $exts:expr, $($ty:ident),+) => {$(
        if let Ok(Some(value)) = $map.read::<$ty>($exts) {
            let mut fresh = Extensions::new();
            fresh.set_two_byte_allowed(true).expect("nothing to forbid yet");
            $map.write(&mut fresh, &value).expect("a value read writes back");
            assert_eq!($map.read::<$ty>(&fresh), Ok(Some(value)), "{} round trip", stringify!($ty));
        }
    )+};
}

/// Parses `data` as an RTP packet. Whatever parses must write back byte for byte and parse
/// to the same packet; its extensions are read as typed values with [`rtp_fuzz_map`], and
/// an edited copy (id 1 set, id 2 removed) must write and parse to the expected elements.
pub fn rtp_parse(data: &[u8]) {
    let header = RtpHeader::parse(data);
    let Ok(packet) = RtpPacket::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    assert_eq!(header.as_ref().map(|(h, _)| h), Ok(&packet.header), "header and packet parses agree");
    let mut wire = Vec::with_capacity(data.len());
    packet.write(&mut wire).expect("a parsed packet writes");
    assert_eq!(wire, data, "a parsed packet writes back byte for byte");
    let again = RtpPacket::parse(Bytes::from(wire)).expect("a written packet parses");
    assert_eq!(again, packet, "a written packet parses to the same");

    let map = rtp_fuzz_map();
    let exts = &packet.header.extensions;
    typed_round_trip!(
        map,
        exts,
        Mid,
        RtpStreamId,
        RepairedRtpStreamId,
        AbsSendTime,
        TransportCc,
        AudioLevel,
        TimeOffset,
        VideoOrientation,
        PlayoutDelay,
        AbsCaptureTime
    );

    // Edit a copy: set id 1 (in the first id-1 element's place, or last), remove id 2.
    let mut edited = packet.clone();
    let e = &mut edited.header.extensions;
    let value = [0xAB, 0xCD];
    if e.set(1, &value).is_err() {
        return; // not RFC 8285, or no room left in the block
    }
    e.remove(2);
    let mut expected: Vec<(u8, Vec<u8>)> = Vec::new();
    for (id, v) in exts.iter() {
        match id {
            2 => {}
            1 if expected.iter().any(|(i, _)| *i == 1) => {}
            1 => expected.push((1, value.to_vec())),
            _ => expected.push((id, v.to_vec())),
        }
    }
    if !expected.iter().any(|(i, _)| *i == 1) {
        expected.push((1, value.to_vec()));
    }
    let mut wire = Vec::new();
    edited.write(&mut wire).expect("an edited packet writes");
    let back = RtpPacket::parse(Bytes::from(wire)).expect("an edited packet parses");
    let got: Vec<(u8, Vec<u8>)> = back.header.extensions.iter().map(|(id, v)| (id, v.to_vec())).collect();
    assert_eq!(got, expected, "edited extensions");
    assert_eq!((&back.payload, &back.padding), (&packet.payload, &packet.padding), "edits keep the payload");
}

/// Parses `data` as an RTCP datagram (compound or reduced-size). Whatever
/// packets parse must write back, and what is written must parse to the same
/// values. Transport-wide feedback must expand to exactly its status count
/// (bounded by the packet's bytes: nothing is allocated per status) and,
/// rebuilt from that expansion with [`TwccBuilder`](crate::rtcp::TwccBuilder),
/// expand the same again; a generic NACK rebuilt from its lost list must
/// report the same numbers.
pub fn rtcp_parse(data: &[u8]) {
    use crate::rtcp::{
        is_full_compound, parse_compound, write_compound, CompoundIter, Nack, RtcpPacket, TwccBuilder,
        REFERENCE_TICK_US,
    };
    let packets: Vec<RtcpPacket> = CompoundIter::new(data).filter_map(Result::ok).collect();
    let _ = is_full_compound(&packets);
    for packet in &packets {
        match packet {
            RtcpPacket::TransportFeedback(fb) => {
                let expanded: Vec<(u16, Option<i64>)> = fb.packets().collect();
                assert_eq!(expanded.len(), fb.status_count as usize, "TWCC expands to its status count");
                assert_eq!(expanded.iter().filter(|p| p.1.is_some()).count(), fb.deltas.len());
                let mut b = TwccBuilder::new(fb.sender_ssrc, fb.media_ssrc, fb.feedback_count);
                for &(seq, arrival) in &expanded {
                    b.add(seq, arrival).expect("an expanded feedback rebuilds");
                }
                let rebuilt = b.finish().expect("at least one packet");
                // The reference time may be chosen differently and wraps every 2^24 ticks.
                let period = REFERENCE_TICK_US << 24;
                let wrapped = |fb: &crate::rtcp::TransportFeedback| -> Vec<(u16, Option<i64>)> {
                    fb.packets().map(|(s, a)| (s, a.map(|a| a.rem_euclid(period)))).collect()
                };
                assert_eq!(wrapped(&rebuilt), wrapped(fb), "TWCC rebuilt from its expansion");
            }
            RtcpPacket::Nack(nack) => {
                let lost: Vec<u16> = nack.lost().collect();
                assert!(lost.len() <= 17 * nack.pairs.len());
                let mut again: Vec<u16> = Nack::from_lost(0, 0, lost.iter().copied()).lost().collect();
                let mut lost = lost;
                lost.sort_unstable();
                lost.dedup();
                again.sort_unstable();
                again.dedup();
                assert_eq!(again, lost, "NACK rebuilt from its lost list");
            }
            _ => {}
        }
    }
    if packets.is_empty() {
        return;
    }
    let mut out = Vec::new();
    write_compound(&packets, &mut out).expect("parsed packets write back");
    let again = parse_compound(&out).expect("written packets parse");
    assert_eq!(again, packets, "RTCP round trip changed the packets");
}

use crate::payload::{
    av1, g711, g722, h264, h265, opus, red, rtx, vp8, vp9, Depacketized, Depacketizer, DepacketizerConfig, Packetizer,
    PayloadFormat,
};

/// The limits the payload fuzz target runs under: small, so it reaches them.
const FUZZ_LIMITS: DepacketizerConfig =
    DepacketizerConfig { max_frame_bytes: 4096, max_packets_per_frame: 64, max_duplicates_per_frame: 4, max_queued: 4 };

/// How many formats [`rtp_depacketize`] selects from with its first byte.
pub const PAYLOAD_FORMATS: u8 = 10;

/// One packet of an [`rtp_depacketize`] input.
#[derive(Debug, Clone)]
pub struct FuzzPacket {
    /// The payload (at most 65,535 bytes are kept).
    pub payload: Vec<u8>,
    /// The marker bit.
    pub marker: bool,
    /// The sequence step from the previous packet: 0 repeats it, 1 is the
    /// next, 2 skips one, 3 goes back five.
    pub step: u8,
    /// Whether the timestamp advances (by 3000) at this packet.
    pub new_timestamp: bool,
}

/// Encodes an [`rtp_depacketize`] input: the format selector, a payload
/// budget byte, then per packet a flags byte, a 16-bit length and the payload.
pub fn rtp_depacketize_input(selector: u8, mtu_byte: u8, packets: &[FuzzPacket]) -> Vec<u8> {
    let mut out = vec![selector, mtu_byte];
    for p in packets {
        let len = p.payload.len().min(usize::from(u16::MAX));
        out.push(u8::from(p.marker) | (p.step & 3) << 1 | u8::from(p.new_timestamp) << 3);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&p.payload[..len]);
    }
    out
}

fn fuzz_packets(mut data: &[u8]) -> Vec<FuzzPacket> {
    let mut packets = Vec::new();
    while let [flags, hi, lo, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        packets.push(FuzzPacket {
            payload: rest[..len].to_vec(),
            marker: flags & 1 != 0,
            step: flags >> 1 & 3,
            new_timestamp: flags & 8 != 0,
        });
        data = &rest[len..];
    }
    packets
}

/// Feeds the packets to a depacketizer of format `F` under [`FUZZ_LIMITS`]:
/// it must never panic, never hold more than the frame limit, never queue
/// more than the queue limit, and never deliver a frame over the limit.
fn depacketize_with<F: PayloadFormat>(format: F, packets: &[FuzzPacket]) {
    let mut d = Depacketizer::with_config(format, FUZZ_LIMITS);
    let (mut sequence, mut timestamp) = (0u16, 0u32);
    for p in packets {
        sequence = sequence.wrapping_add([0, 1, 2, 0xfffb][usize::from(p.step)]);
        if p.new_timestamp {
            timestamp = timestamp.wrapping_add(3000);
        }
        let _ = d.push(&p.payload, p.marker, sequence, timestamp);
        assert!(d.buffered_bytes() <= FUZZ_LIMITS.max_frame_bytes, "a frame grew past the limit");
        let mut queued = 0;
        while let Some(out) = d.poll() {
            queued += 1;
            if let Depacketized::Frame(f) = out {
                assert!(f.data.len() <= FUZZ_LIMITS.max_frame_bytes, "a frame over the limit was delivered");
            }
        }
        assert!(queued <= FUZZ_LIMITS.max_queued, "the output queue grew past its limit");
    }
}

/// Packetizes `frame` and depacketizes the result: whatever the packetizer
/// accepts must come back as one frame equal to `expected`, or, when it is
/// `None`, as one frame of any content.
fn round_trip<P: Packetizer, F: PayloadFormat>(
    mut packetizer: P,
    format: F,
    frame: &[u8],
    mtu: usize,
    expected: Option<Vec<u8>>,
) {
    let Ok(payloads) = packetizer.packetize(frame, mtu) else { return };
    let mut d = Depacketizer::new(format);
    for (i, p) in payloads.iter().enumerate() {
        assert!(p.data.len() <= mtu, "a payload over the budget");
        d.push(&p.data, p.marker, i as u16, 0).expect("our own payloads parse");
    }
    match d.poll() {
        Some(Depacketized::Frame(f)) => {
            if let Some(expected) = expected {
                assert_eq!(f.data, expected, "the frame changed in a round trip");
            }
        }
        other => panic!("a packetized frame did not come back: {other:?}"),
    }
    assert!(d.poll().is_none(), "one frame in, more out");
}

/// The frame of an Annex B stream as our depacketizers give it back: every
/// NAL unit after a four-byte start code.
fn annexb_normalized(stream: &[u8]) -> Vec<u8> {
    crate::payload::annexb::nal_units(stream).iter().flat_map(|n| [&[0, 0, 0, 1][..], n].concat()).collect()
}

/// The payload formats' fuzz target: `data[0]` picks a format, `data[1]` a
/// payload budget, the rest are packets (see [`rtp_depacketize_input`]).
/// Each packet goes through the format's depacketizer (bounded memory, no
/// panic) and its parsers; each payload is also packetized as a frame and
/// must come back unchanged.
pub fn rtp_depacketize(data: &[u8]) {
    let [selector, mtu_byte, rest @ ..] = data else { return };
    let mtu = 4 + usize::from(*mtu_byte) * 6;
    let packets = fuzz_packets(rest);
    for p in &packets {
        let frame = &p.payload[..];
        let whole = Some(frame.to_vec());
        match selector % PAYLOAD_FORMATS {
            0 => {
                let _ = opus::packet_duration(frame);
                round_trip(opus::OpusPacketizer::new(), opus::Opus, frame, mtu, whole);
            }
            1 => round_trip(g711::G711Packetizer::new(), g711::G711, frame, mtu, whole),
            2 => round_trip(g722::G722Packetizer::new(), g722::G722, frame, mtu, whole),
            3 => {
                if let Ok((d, len)) = vp8::Vp8Descriptor::parse(frame) {
                    let mut again = Vec::new();
                    d.write(&mut again);
                    assert_eq!(vp8::Vp8Descriptor::parse(&again), Ok((d, again.len())), "VP8 descriptor round trip");
                    assert!(again.len() <= len);
                }
                let _ = vp8::keyframe_size(frame);
                round_trip(vp8::Vp8Packetizer::new(), vp8::Vp8, frame, mtu, whole);
            }
            4 => {
                if let Ok((d, len)) = vp9::Vp9Descriptor::parse(frame) {
                    let mut again = Vec::new();
                    d.write(&mut again);
                    let back = vp9::Vp9Descriptor::parse(&again).expect("a written VP9 descriptor parses");
                    assert_eq!(back, (d, again.len()), "VP9 descriptor round trip");
                    assert!(again.len() <= len);
                }
                round_trip(vp9::Vp9Packetizer::new(), vp9::Vp9, frame, mtu, whole);
            }
            5 | 6 => {
                let expected = Some(annexb_normalized(frame));
                let mode = if selector % PAYLOAD_FORMATS == 5 {
                    h264::PacketizationMode::NonInterleaved
                } else {
                    h264::PacketizationMode::SingleNalUnit
                };
                round_trip(h264::H264Packetizer::new(mode), h264::H264::new(), frame, mtu, expected);
            }
            7 => round_trip(
                h265::H265Packetizer::new(),
                h265::H265::default(),
                frame,
                mtu,
                Some(annexb_normalized(frame)),
            ),
            8 => round_trip(av1::Av1Packetizer::new(), av1::Av1::default(), frame, mtu, None),
            _ => {
                if let Ok(blocks) = red::decode(frame) {
                    let (primary, redundant) = blocks.split_last().expect("RED has a primary block");
                    if let Ok(again) = red::encode(redundant, *primary) {
                        assert_eq!(red::decode(&again).as_ref(), Ok(&blocks), "RED round trip");
                    }
                }
                if let Ok((osn, inner)) = rtx::unwrap(frame) {
                    assert_eq!(&rtx::wrap(osn, inner)[..], frame, "RTX round trip");
                }
            }
        }
    }
    match selector % PAYLOAD_FORMATS {
        0 => depacketize_with(opus::Opus, &packets),
        1 => depacketize_with(g711::G711, &packets),
        2 => depacketize_with(g722::G722, &packets),
        3 => depacketize_with(vp8::Vp8, &packets),
        4 => depacketize_with(vp9::Vp9, &packets),
        5 => depacketize_with(h264::H264::new(), &packets),
        6 => depacketize_with(h264::H264::new().insert_parameter_sets(true), &packets),
        7 => depacketize_with(h265::H265::default(), &packets),
        8 => depacketize_with(av1::Av1::default(), &packets),
        _ => {}
    }
}
