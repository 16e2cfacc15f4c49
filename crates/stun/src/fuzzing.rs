//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the test that
//! replays their corpus. Not part of the stable API.

use crate::{classify, frame_len, ChannelData, IntegrityKey, Message, PacketKind};

/// Decodes `data` as STUN; whatever decodes must re-encode to a message that
/// decodes to the same attributes. Also runs the other entry points a peer's
/// bytes reach: integrity verification, stream framing, ChannelData.
pub fn stun_decode(data: &[u8]) {
    let _ = frame_len(data);
    let _ = ChannelData::decode(data);
    if let Ok(msg) = Message::decode(data) {
        let key = IntegrityKey::short_term("fuzz");
        let _ = msg.verify_integrity(data, &key);
        let again = msg.to_bytes(Some(&key), true);
        let back = Message::decode(&again).expect("a re-encoded message decodes");
        assert_eq!(back.attributes, msg.attributes, "re-encoding changed the attributes");
        back.verify_integrity(&again, &key).expect("our own integrity verifies");
    }
}

/// Demultiplexes `data` (RFC 7983) and hands it to the decoder its first
/// byte names: a STUN or ChannelData datagram must decode as such or be
/// rejected with an error, never a panic.
pub fn demux(data: &[u8]) {
    match classify(data) {
        PacketKind::Stun => stun_decode(data),
        PacketKind::ChannelData => {
            if let Ok(cd) = ChannelData::decode(data) {
                let mut out = Vec::new();
                cd.encode(&mut out, false);
                assert_eq!(ChannelData::decode(&out), Ok(cd), "ChannelData round trip");
            }
        }
        _ => {}
    }
}
