//! RTP and RTCP captured from a real headless Chromium sending its fake
//! camera and microphone (tests/fixtures/chromium/README.md says how and
//! what): every packet parses and is written back byte for byte, the header
//! extensions read as plausible typed values through the map of Chromium's
//! offer, RTX carries the originals, the media depacketizes into frames that
//! start with a keyframe, and the RTCP holds the reports and feedback the
//! capture provoked. Three captures: Opus with VP8, with H.264, and with VP8
//! simulcast (RID, repaired RID, dependency descriptor, two-byte extensions).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rtp::extension::{
    needs_two_byte, AbsSendTime, AudioLevel, ExtensionKind, ExtensionMap, Mid, RepairedRtpStreamId, RtpStreamId,
    TransportCc, VideoOrientation, ONE_BYTE_PROFILE, TWO_BYTE_PROFILE,
};
use rtp::packet::extend_seq;
use rtp::packet::RtpPacket;
use rtp::payload::{h264, opus, rtx, vp8, Depacketized, Depacketizer, PayloadFormat};
use rtp::rtcp::{is_full_compound, parse_compound, write_compound, CompoundIter, RtcpPacket};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chromium").join(name)
}

/// One recorded packet: arrival time (µs since the capture's first packet) and bytes.
struct Record {
    micros: u32,
    data: Bytes,
}

/// Reads the records of `rtp.bin` or `rtcp.bin`: u32 time, u16 length, bytes.
fn read_records(path: &Path) -> Vec<Record> {
    let file = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let file = Bytes::from(file);
    let mut records = Vec::new();
    let mut at = 0;
    while at < file.len() {
        assert!(file.len() - at >= 6, "{}: truncated record header at {at}", path.display());
        let micros = u32::from_be_bytes(file[at..at + 4].try_into().unwrap());
        let len = u16::from_be_bytes(file[at + 4..at + 6].try_into().unwrap()) as usize;
        at += 6;
        assert!(file.len() - at >= len, "{}: truncated record at {at}", path.display());
        records.push(Record { micros, data: file.slice(at..at + len) });
        at += len;
    }
    records
}

/// What the tests need from one m-section of an SDP.
#[derive(Default, Debug)]
struct Section {
    kind: String,
    mid: String,
    extmaps: Vec<(u8, String)>,
    /// Payload type → encoding name, upper case.
    codecs: BTreeMap<u8, String>,
    /// RTX payload type → the payload type it repairs.
    apt: BTreeMap<u8, u8>,
    ssrcs: Vec<u32>,
    /// `a=ssrc-group:FID media rtx`.
    fid: Option<(u32, u32)>,
    cname: Option<String>,
    /// `a=rid:<rid> send` (simulcast).
    rids: Vec<String>,
}

fn parse_sdp(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            sections.push(Section { kind: m.split(' ').next().unwrap().to_string(), ..Default::default() });
            continue;
        }
        let Some(s) = sections.last_mut() else { continue };
        let Some(attr) = line.strip_prefix("a=") else { continue };
        let (name, value) = attr.split_once(':').unwrap_or((attr, ""));
        let mut words = value.split_whitespace();
        match name {
            "mid" => s.mid = value.to_string(),
            "extmap" => {
                let id = words.next().unwrap().split('/').next().unwrap().parse().unwrap();
                s.extmaps.push((id, words.next().unwrap().to_string()));
            }
            "rtpmap" => {
                let pt = words.next().unwrap().parse().unwrap();
                let name = words.next().unwrap().split('/').next().unwrap().to_ascii_uppercase();
                s.codecs.insert(pt, name);
            }
            "fmtp" => {
                let pt = words.next().unwrap().parse().unwrap();
                if let Some(apt) = words.next().and_then(|p| p.strip_prefix("apt=")) {
                    s.apt.insert(pt, apt.parse().unwrap());
                }
            }
            "ssrc" => {
                let ssrc = words.next().unwrap().parse().unwrap();
                if !s.ssrcs.contains(&ssrc) {
                    s.ssrcs.push(ssrc);
                }
                if let Some(cname) = words.next().and_then(|w| w.strip_prefix("cname:")) {
                    s.cname = Some(cname.to_string());
                }
            }
            "rid" if value.ends_with(" send") => s.rids.push(words.next().unwrap().to_string()),
            "ssrc-group" if words.next() == Some("FID") => {
                let media = words.next().unwrap().parse().unwrap();
                let rtx = words.next().unwrap().parse().unwrap();
                s.fid = Some((media, rtx));
            }
            _ => {}
        }
    }
    sections
}

/// One capture: Chromium's offer, the answer it applied, and what it sent.
struct Capture {
    name: &'static str,
    offer: Vec<Section>,
    answer: Vec<Section>,
    rtp: Vec<Record>,
    rtcp: Vec<Record>,
    /// Chromium's SSRCs, learned from the packets' payload types: audio, video, video RTX.
    ssrcs: (u32, u32, u32),
}

impl Capture {
    fn load(name: &'static str) -> Self {
        let dir = fixture_dir(name);
        let sdp = |file: &str| parse_sdp(&std::fs::read_to_string(dir.join(file)).unwrap());
        let mut capture = Capture {
            name,
            offer: sdp("offer.sdp"),
            answer: sdp("answer.sdp"),
            rtp: read_records(&dir.join("rtp.bin")),
            rtcp: read_records(&dir.join("rtcp.bin")),
            ssrcs: (0, 0, 0),
        };
        assert_eq!(capture.offer.len(), 2, "{name}: an audio and a video section");
        assert!(!capture.rtp.is_empty() && !capture.rtcp.is_empty());
        capture.ssrcs = capture.learn_ssrcs();
        capture
    }

    /// Which SSRC sends audio, video and video RTX, from the payload types (with
    /// simulcast the offer has no a=ssrc lines for video). One of each: with simulcast
    /// Chromium sent only its lower layer at the bitrate it had.
    fn learn_ssrcs(&self) -> (u32, u32, u32) {
        let (mut audio, mut video, mut rtx) = (Vec::new(), Vec::new(), Vec::new());
        for record in &self.rtp {
            let pt = record.data[1] & 0x7f;
            let ssrc = u32::from_be_bytes(record.data[8..12].try_into().unwrap());
            let list = if self.answer[0].codecs.contains_key(&pt) {
                &mut audio
            } else if self.answer[1].apt.contains_key(&pt) {
                &mut rtx
            } else {
                &mut video
            };
            if !list.contains(&ssrc) {
                list.push(ssrc);
            }
        }
        assert!(audio.len() == 1 && video.len() == 1 && rtx.len() == 1, "{}: {audio:?} {video:?} {rtx:?}", self.name);
        assert_eq!(self.offer[0].ssrcs, audio, "{}: the offer's audio SSRC", self.name);
        if let Some(fid) = self.offer[1].fid {
            assert_eq!(fid, (video[0], rtx[0]), "{}: the offer's video FID group", self.name);
        }
        (audio[0], video[0], rtx[0])
    }

    /// The extension map of the BUNDLE group: Chromium gives each URI one id across sections.
    fn extension_map(&self) -> ExtensionMap {
        let mut map = ExtensionMap::new();
        for (id, uri) in self.offer.iter().flat_map(|s| &s.extmaps) {
            match map.uri(*id) {
                Some(known) => assert_eq!(known, uri, "{}: id {id} names two URIs", self.name),
                None => map.insert(*id, uri.clone()).unwrap(),
            }
        }
        map
    }

    /// The offer's section that sends `ssrc`.
    fn section_of(&self, ssrc: u32) -> &Section {
        let (audio, video, rtx) = self.ssrcs;
        match ssrc {
            _ if ssrc == audio => &self.offer[0],
            _ if ssrc == video || ssrc == rtx => &self.offer[1],
            _ => panic!("{}: SSRC {ssrc} is none of Chromium's", self.name),
        }
    }

    /// The codec name of `pt` in the answer's section `kind`.
    fn codec(&self, kind: &str, pt: u8) -> &str {
        let s = self.answer.iter().find(|s| s.kind == kind).unwrap();
        s.codecs.get(&pt).unwrap_or_else(|| panic!("{}: PT {pt} not in the answer's {kind}", self.name))
    }

    /// Chromium's SSRCs: audio, video, video RTX.
    fn chromium_ssrcs(&self) -> (u32, u32, u32) {
        self.ssrcs
    }

    /// aiortc's video SSRC (the one Chromium sends feedback about).
    fn aiortc_video_ssrc(&self) -> u32 {
        self.answer[1].fid.expect("the answer's video has an FID group").0
    }

    fn packets(&self) -> Vec<(u32, RtpPacket)> {
        self.rtp.iter().map(|r| (r.micros, RtpPacket::parse(r.data.clone()).unwrap())).collect()
    }
}

const CAPTURES: [&str; 3] = ["vp8", "h264", "vp8-simulcast"];

#[test]
fn every_rtp_packet_round_trips_byte_for_byte() {
    for name in CAPTURES {
        let capture = Capture::load(name);
        let (audio, video, rtx) = capture.chromium_ssrcs();
        let mut per_ssrc: HashMap<u32, usize> = HashMap::new();
        for (i, record) in capture.rtp.iter().enumerate() {
            let packet = RtpPacket::parse(record.data.clone())
                .unwrap_or_else(|e| panic!("{name}: RTP packet {i} ({} bytes) rejected: {e}", record.data.len()));
            let mut out = Vec::new();
            packet.write(&mut out).unwrap();
            assert_eq!(out, record.data, "{name}: RTP packet {i} written back differs");
            let ssrc = packet.header.ssrc;
            assert!([audio, video, rtx].contains(&ssrc), "{name}: packet {i} from unknown SSRC {ssrc}");
            let kind = &capture.section_of(ssrc).kind;
            capture.codec(kind, packet.header.payload_type);
            assert!(packet.header.csrcs.is_empty());
            *per_ssrc.entry(ssrc).or_default() += 1;
        }
        assert!(per_ssrc[&audio] > 200 && per_ssrc[&video] > 80 && per_ssrc[&rtx] > 0, "{name}: {per_ssrc:?}");
    }
}

#[test]
fn chromium_header_extensions_read_as_plausible_values() {
    for name in CAPTURES {
        let capture = Capture::load(name);
        let map = capture.extension_map();
        let (audio, _, _) = capture.chromium_ssrcs();
        let packets = capture.packets();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut transport_seqs = Vec::new();
        let mut first_mid: HashMap<u32, bool> = HashMap::new();
        let mut first_send_time: Option<(u32, u64)> = None;
        let mut last_send_time = 0u64;
        let mut two_byte_packets = 0;
        let rids = &capture.offer[1].rids;
        for (micros, packet) in &packets {
            let exts = &packet.header.extensions;
            let ssrc = packet.header.ssrc;
            // The one-byte form unless an element does not fit it (a=extmap-allow-mixed).
            let two_byte = exts.iter().any(|(id, value)| needs_two_byte(id, value.len()));
            let profile = if two_byte { TWO_BYTE_PROFILE } else { ONE_BYTE_PROFILE };
            assert_eq!(exts.profile(), Some(profile), "{name}: {exts:?}");
            two_byte_packets += two_byte as usize;
            for (id, value) in exts.iter() {
                let uri = map.uri(id).unwrap_or_else(|| panic!("{name}: extension id {id} is not in the offer"));
                *seen.entry(uri).or_default() += 1;
                if map.kind(id).is_none() {
                    assert!(!value.is_empty(), "{name}: unknown extension {uri} kept as bytes");
                }
            }

            // abs-send-time on every packet, 6.18 fixed point seconds, in step with arrival.
            let send_time = map.read::<AbsSendTime>(exts).unwrap().expect("abs-send-time on every packet");
            let unwrapped = if last_send_time == 0 {
                send_time.0 as u64
            } else {
                let delta = (send_time.0.wrapping_sub(last_send_time as u32) & 0xff_ffff) as u64;
                assert!(delta < 0x80_0000, "{name}: abs-send-time went back");
                last_send_time + delta
            };
            last_send_time = unwrapped;
            let (t0, s0) = *first_send_time.get_or_insert((*micros, unwrapped));
            let sent_us = (unwrapped - s0) as i64 * 1_000_000 / (1 << 18);
            let arrived_us = (*micros - t0) as i64;
            assert!((sent_us - arrived_us).abs() < 100_000, "{name}: sent {sent_us} µs, arrived {arrived_us} µs");

            transport_seqs.push(map.read::<TransportCc>(exts).unwrap().expect("transport-cc on every packet").0);

            // MID on the first packets of each SSRC, naming its m-section.
            let mid = map.read::<Mid>(exts).unwrap();
            if !first_mid.contains_key(&ssrc) {
                assert!(mid.is_some(), "{name}: the first packet of SSRC {ssrc} has no MID");
            }
            first_mid.insert(ssrc, true);
            if let Some(mid) = mid {
                assert_eq!(mid.as_str(), capture.section_of(ssrc).mid, "{name}: MID of SSRC {ssrc}");
            }
            // RID (simulcast) alongside the MID: a layer's on its media, repaired on its RTX.
            let rid = map.read::<RtpStreamId>(exts).unwrap().map(|r| r.as_str());
            let repaired = map.read::<RepairedRtpStreamId>(exts).unwrap().map(|r| r.as_str());
            if rids.is_empty() {
                assert_eq!((rid, repaired), (None, None), "{name}");
            } else if ssrc != audio && mid.is_some() {
                let (on, off) = if ssrc == capture.ssrcs.1 { (rid, repaired) } else { (repaired, rid) };
                assert!(rids.iter().any(|r| Some(r.as_str()) == on) && off.is_none(), "{name}: {rid:?} {repaired:?}");
            }

            let level = map.read::<AudioLevel>(exts).unwrap();
            if ssrc == audio {
                let level = level.expect("ssrc-audio-level on every audio packet");
                assert!(level.level() <= 127);
            } else {
                assert!(level.is_none(), "{name}: audio level on video");
            }
            if let Some(o) = map.read::<VideoOrientation>(exts).unwrap() {
                assert_ne!(ssrc, audio);
                assert_eq!((o.rotation.degrees(), o.flip, o.back_camera), (0, false, false), "{name}");
            }
        }

        // Transport-wide sequence numbers: one per packet across SSRCs, none lost on
        // loopback, in send order but for what Chromium's pacer and the socket reorder.
        let mut extended: Vec<u64> = Vec::new();
        for &seq in &transport_seqs {
            let reference = extended.last().copied().unwrap_or(0x1_0000 + seq as u64);
            extended.push(extend_seq(reference, seq));
        }
        let in_order = extended.windows(2).filter(|w| w[1] == w[0] + 1).count();
        assert!(in_order * 100 >= (extended.len() - 1) * 98, "{name}: {in_order} of {} in order", extended.len());
        extended.sort_unstable();
        extended.dedup();
        assert_eq!(extended.len(), transport_seqs.len(), "{name}: a transport-wide sequence number repeats");
        assert_eq!(extended.last().unwrap() - extended[0] + 1, extended.len() as u64, "{name}: a gap");

        let count = |kind: ExtensionKind| seen.get(kind.uri()).copied().unwrap_or(0);
        assert_eq!(count(ExtensionKind::AbsSendTime), packets.len());
        assert_eq!(count(ExtensionKind::TransportCc), packets.len());
        assert_eq!(count(ExtensionKind::AudioLevel), packets.iter().filter(|(_, p)| p.header.ssrc == audio).count());
        assert!(count(ExtensionKind::Mid) >= 3 && count(ExtensionKind::Mid) < packets.len() / 2, "{name}: {seen:?}");
        assert!(count(ExtensionKind::VideoOrientation) >= 1, "{name}: {seen:?}");
        assert!(seen.get("http://www.webrtc.org/experiments/rtp-hdrext/video-timing").copied().unwrap_or(0) > 10);
        let simulcast_only = [
            ExtensionKind::RtpStreamId.uri(),
            ExtensionKind::RepairedRtpStreamId.uri(),
            "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension",
            "http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00",
        ];
        for uri in simulcast_only {
            assert_eq!(seen.contains_key(uri), !rids.is_empty(), "{name}: {uri} in {seen:?}");
        }
        // Only the dependency descriptor outgrows the one-byte form (on keyframes).
        assert_eq!(two_byte_packets > 0, !rids.is_empty(), "{name}: {two_byte_packets} two-byte packets");
    }
}

#[test]
fn rtx_carries_the_original_packets_and_probes() {
    for name in CAPTURES {
        let capture = Capture::load(name);
        let (_, video, rtx_ssrc) = capture.chromium_ssrcs();
        let apt = &capture.answer[1].apt;
        let packets = capture.packets();
        let originals: HashMap<u16, &RtpPacket> = packets
            .iter()
            .filter(|(_, p)| p.header.ssrc == video)
            .map(|(_, p)| (p.header.sequence_number, p))
            .collect();
        let (mut resent, mut probes) = (0, 0);
        for (_, packet) in packets.iter().filter(|(_, p)| p.header.ssrc == rtx_ssrc) {
            let repaired = apt[&packet.header.payload_type];
            if packet.payload.is_empty() {
                assert!(!packet.padding.is_empty(), "{name}: an empty RTX packet without padding");
                probes += 1;
                continue;
            }
            let (osn, payload) = rtx::unwrap(&packet.payload).unwrap();
            let original = originals[&osn];
            assert_eq!(original.header.payload_type, repaired);
            assert_eq!(
                (original.header.timestamp, original.header.marker),
                (packet.header.timestamp, packet.header.marker)
            );
            assert_eq!(&original.payload[..], payload, "{name}: RTX of {osn}");
            resent += 1;
        }
        assert!(resent >= 2 && probes >= 1, "{name}: {resent} retransmissions, {probes} padding probes");
    }
}

/// Pushes one SSRC's packets in sequence order (they arrived in order on loopback) and
/// returns the frames, checking that nothing was dropped.
fn depacketize<F: PayloadFormat>(
    name: &str,
    mut depacketizer: Depacketizer<F>,
    packets: &[&RtpPacket],
) -> Vec<rtp::payload::Frame<F::Meta>> {
    let mut frames = Vec::new();
    for p in packets {
        depacketizer.push(&p.payload, p.header.marker, p.header.sequence_number, p.header.timestamp).unwrap();
        while let Some(out) = depacketizer.poll() {
            match out {
                Depacketized::Frame(f) => frames.push(f),
                Depacketized::Dropped(d) => panic!("{name}: {} dropped {d:?}", F::NAME),
            }
        }
    }
    assert_eq!(depacketizer.stats().lost_packets, 0);
    frames
}

#[test]
fn media_depacketizes_into_frames_starting_with_a_keyframe() {
    for name in CAPTURES {
        let capture = Capture::load(name);
        let (audio, video, _) = capture.chromium_ssrcs();
        let packets = capture.packets();
        let of = |ssrc: u32| -> Vec<&RtpPacket> {
            let mut v: Vec<&RtpPacket> = packets.iter().map(|(_, p)| p).filter(|p| p.header.ssrc == ssrc).collect();
            // Sequence order; loopback keeps arrival order, this only guards the test.
            let mut ext = 0x1_0000u64 + v[0].header.sequence_number as u64;
            let mut keyed: Vec<(u64, &RtpPacket)> = v
                .drain(..)
                .map(|p| {
                    ext = extend_seq(ext, p.header.sequence_number);
                    (ext, p)
                })
                .collect();
            keyed.sort_by_key(|(e, _)| *e);
            keyed.into_iter().map(|(_, p)| p).collect()
        };

        let audio_packets = of(audio);
        assert_eq!(capture.codec("audio", audio_packets[0].header.payload_type), "OPUS");
        let frames = depacketize(name, opus::OpusDepacketizer::default(), &audio_packets);
        assert_eq!(frames.len(), audio_packets.len(), "{name}: one Opus packet per RTP packet");
        for w in frames.windows(2) {
            assert_eq!(w[1].timestamp.wrapping_sub(w[0].timestamp), 960, "{name}: 20 ms per packet");
        }
        assert!(frames.iter().all(|f| opus::packet_duration(&f.data) == Some(960)));

        let video_packets = of(video);
        let markers = video_packets.iter().filter(|p| p.header.marker).count();
        let codec = capture.codec("video", video_packets[0].header.payload_type);
        let keyframes: Vec<bool> = match codec {
            "VP8" => {
                let frames = depacketize(name, vp8::Vp8Depacketizer::default(), &video_packets);
                // Simulcast: Chromium sent only its lower layer, at half the size.
                let size = if capture.offer[1].rids.is_empty() { (640, 480) } else { (320, 240) };
                assert_eq!(frames[0].meta.size, Some(size), "{name}: the first keyframe's size");
                // Picture ids, except with simulcast, where the dependency descriptor
                // numbers the frames and Chromium sends the one-byte VP8 descriptor.
                let simulcast = !capture.offer[1].rids.is_empty();
                for f in &frames {
                    assert_eq!(f.meta.descriptor.picture_id.is_some(), !simulcast, "{name}: {:?}", f.meta.descriptor);
                }
                frames.iter().map(|f| f.keyframe).collect()
            }
            "H264" => {
                let frames = depacketize(name, h264::H264Depacketizer::default(), &video_packets);
                // An IDR access unit carries its SPS and PPS: Annex B start codes, NAL types 7 and 8.
                let first = &frames[0].data;
                let types: Vec<u8> =
                    first.windows(4).filter(|w| w[..3] == [0, 0, 1]).map(|w| h264::nal_type(w[3])).collect();
                assert!(types.contains(&7) && types.contains(&8) && types.contains(&5), "{name}: NAL types {types:?}");
                frames.iter().map(|f| f.keyframe).collect()
            }
            other => panic!("{name}: unexpected video codec {other}"),
        };
        assert_eq!(keyframes.len(), markers, "{name}: one frame per marker bit");
        assert!(keyframes[0], "{name}: the first {codec} frame is a keyframe");
        assert!(keyframes.iter().filter(|k| !**k).count() > keyframes.len() / 2, "{name}: mostly delta frames");
    }
}

#[test]
fn every_rtcp_datagram_round_trips_with_the_feedback_provoked() {
    for name in CAPTURES {
        let capture = Capture::load(name);
        let (audio, video, rtx) = capture.chromium_ssrcs();
        let simulcast = !capture.offer[1].rids.is_empty();
        let aiortc_video = capture.aiortc_video_ssrc();
        let cname = capture.offer[0].cname.clone().unwrap();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut nacked = 0;
        let mut twcc_reported = 0;
        for (i, record) in capture.rtcp.iter().enumerate() {
            let packets = parse_compound(&record.data)
                .unwrap_or_else(|e| panic!("{name}: RTCP datagram {i} ({} bytes) rejected: {e}", record.data.len()));
            assert_eq!(CompoundIter::new(&record.data).count(), packets.len());
            let mut out = Vec::new();
            write_compound(&packets, &mut out).unwrap();
            assert_eq!(out, record.data, "{name}: RTCP datagram {i} written back differs");
            // No a=rtcp-rsize in the answer, yet Chromium sends transport-wide feedback
            // alone, and RR (alone, with NACK or with PLI) without SDES: only its SR +
            // SDES are full RFC 3550 compounds. Its RR and feedback come from its video
            // SSRC, which sends an RR instead of an SR when it sent nothing lately.
            let full = is_full_compound(&packets);
            match &packets[0] {
                RtcpPacket::SenderReport(_) => assert!(full, "{name}: datagram {i}: {packets:?}"),
                RtcpPacket::TransportFeedback(_) => assert_eq!(packets.len(), 1, "{name}: datagram {i}"),
                RtcpPacket::ReceiverReport(rr) => {
                    // With simulcast also from the upper layer's SSRC, which sent no RTP.
                    let from = rr.ssrc == video || (simulcast && ![audio, rtx].contains(&rr.ssrc));
                    assert!(!full && from, "{name}: datagram {i}: {packets:?}")
                }
                other => panic!("{name}: datagram {i} starts with {other:?}"),
            }
            for packet in &packets {
                let kind = match packet {
                    RtcpPacket::SenderReport(sr) => {
                        assert!([audio, video].contains(&sr.ssrc));
                        assert!(sr.packet_count > 0 && sr.octet_count > 0);
                        "SR"
                    }
                    RtcpPacket::ReceiverReport(rr) => {
                        assert!(rr.reports.iter().all(|b| b.fraction_lost < 128));
                        "RR"
                    }
                    RtcpPacket::Sdes(sdes) => {
                        for chunk in &sdes.chunks {
                            assert!([audio, video].contains(&chunk.ssrc), "{name}: SDES of {}", chunk.ssrc);
                            // Chromium's CNAME, but empty for a simulcast video SSRC (its
                            // offer has no a=ssrc line to give it one).
                            let simulcast_video = chunk.ssrc == video && simulcast;
                            let expected = if simulcast_video { "" } else { cname.as_str() };
                            assert_eq!(chunk.items[0].kind, 1, "{name}: CNAME first");
                            assert_eq!(chunk.items[0].as_str(), Some(expected), "{name}: CNAME of {}", chunk.ssrc);
                        }
                        "SDES"
                    }
                    RtcpPacket::Nack(nack) => {
                        assert_eq!(nack.media_ssrc, aiortc_video);
                        nacked += nack.lost().count();
                        "NACK"
                    }
                    RtcpPacket::Pli(pli) => {
                        assert_eq!(pli.media_ssrc, aiortc_video);
                        "PLI"
                    }
                    RtcpPacket::Remb(remb) => {
                        assert_eq!(remb.ssrcs, [aiortc_video]);
                        assert!((10_000..100_000_000).contains(&remb.bitrate), "{name}: REMB {}", remb.bitrate);
                        "REMB"
                    }
                    RtcpPacket::TransportFeedback(fb) => {
                        let reported: Vec<_> = fb.packets().collect();
                        assert_eq!(reported.len(), fb.status_count as usize);
                        assert!(reported.iter().any(|(_, at)| at.is_some()));
                        twcc_reported += reported.len();
                        "transport-cc"
                    }
                    other => panic!("{name}: unexpected RTCP {other:?}"),
                };
                *counts.entry(kind).or_default() += 1;
            }
        }
        let expected: &[&str] = match name {
            "vp8" => &["NACK", "PLI", "REMB", "RR", "SDES", "SR", "transport-cc"],
            _ => &["NACK", "PLI", "RR", "SDES", "SR", "transport-cc"],
        };
        assert_eq!(counts.keys().copied().collect::<Vec<_>>(), expected, "{name}: {counts:?}");
        assert!(nacked > 0 && twcc_reported > 50, "{name}: {nacked} NACKed, {twcc_reported} in feedback");
    }
}
