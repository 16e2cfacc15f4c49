//! (to be written)

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
