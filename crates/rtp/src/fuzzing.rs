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
