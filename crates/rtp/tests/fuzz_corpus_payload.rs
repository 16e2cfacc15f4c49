//! Replays the committed fuzz corpus (`fuzz/corpus/rtp_depacketize`) through
//! the fuzz target's body, checks the seed corpus is what the writer makes,
//! and runs seeded mutations of the seeds (cargo-fuzz is not needed for it).

use rtp::fuzzing::{rtp_depacketize, rtp_depacketize_input, FuzzPacket};
use rtp::payload::{av1, g711, g722, h264, h265, opus, red, rtx, vp8, vp9, Packetizer};
use testkit::Rng;

#[test]
fn rtp_depacketize_corpus() {
    testkit::replay_corpus("rtp_depacketize", 194, rtp_depacketize);
}

fn annexb(units: &[&[u8]]) -> Vec<u8> {
    units.iter().flat_map(|u| [&[0, 0, 0, 1][..], u].concat()).collect()
}

/// Packetizes frames at a 200-byte budget into fuzz packets: the timestamp
/// advances at each frame's first packet.
fn packets(p: &mut impl Packetizer, frames: &[Vec<u8>]) -> Vec<FuzzPacket> {
    let mut out = Vec::new();
    for frame in frames {
        for (i, payload) in p.packetize(frame, 200).unwrap().into_iter().enumerate() {
            out.push(FuzzPacket {
                payload: payload.data.to_vec(),
                marker: payload.marker,
                step: 1,
                new_timestamp: i == 0,
            });
        }
    }
    out
}

/// Per format, three inputs: clean, one packet lost, one packet repeated.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng::new(0x5eed);
    let mut body = |n: usize| rng.bytes(n).into_iter().map(|b| b | 0x04).collect::<Vec<u8>>();
    let sps: &[u8] = &[0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8];
    let pps: &[u8] = &[0x68, 0xce, 0x06, 0xe2];
    let idr = [&[0x65, 0x88][..], &body(600)].concat();
    let p_slice = [&[0x41, 0x9a][..], &body(150)].concat();
    let vps: &[u8] = &[0x40, 0x01, 0x0c, 0x01, 0xff, 0xff];
    let sps5: &[u8] = &[0x42, 0x01, 0x01, 0x01, 0x60, 0x80];
    let irap = [&[0x26, 0x01, 0xaf][..], &body(500)].concat();
    let trail = [&[0x02, 0x01, 0xaf][..], &body(120)].concat();
    let vp8_key = [&[0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01][..], &body(500)].concat();
    let vp9_key = [&[0x82, 0x49, 0x83, 0x42, 0x00, 0x4f, 0xf0, 0x2c, 0xf0][..], &body(500)].concat();
    let av1_key = [&[0x12, 0x00, 0x0a, 0x06, 0, 0, 0, 0x0a, 0x0b, 0x80, 0x32, 0xe8, 0x07][..], &body(1000)].concat();
    let av1_delta = [&[0x12, 0x00, 0x32, 0x64][..], &body(100)].concat();

    let h264_frames = vec![annexb(&[sps, pps, &idr]), annexb(&[&p_slice]), annexb(&[&[0x09, 0xf0], &p_slice])];
    let formats: Vec<(&str, u8, Vec<FuzzPacket>)> = vec![
        ("opus", 0, packets(&mut opus::OpusPacketizer::new(), &[vec![0xfc, 1, 2, 3], vec![0x08; 60], vec![0xfc; 20]])),
        ("pcmu", 1, packets(&mut g711::G711Packetizer::new(), &[vec![0xff; 160], vec![0x7f; 160], vec![0x55; 160]])),
        ("g722", 2, packets(&mut g722::G722Packetizer::new(), &[vec![0x12; 160], vec![0x34; 160], vec![0x56; 160]])),
        ("vp8", 3, packets(&mut vp8::Vp8Packetizer::new(), &[vp8_key, vec![0x51; 300], vec![0x31; 40]])),
        ("vp9", 4, packets(&mut vp9::Vp9Packetizer::new(), &[vp9_key, vec![0x86; 300], vec![0x86; 40]])),
        ("h264", 5, packets(&mut h264::H264Packetizer::default(), &h264_frames)),
        ("h264-insert", 6, packets(&mut h264::H264Packetizer::default(), &[h264_frames[1].clone(), annexb(&[&idr])])),
        ("h265", 7, packets(&mut h265::H265Packetizer::new(), &[annexb(&[vps, sps5, &irap]), annexb(&[&trail])])),
        ("av1", 8, packets(&mut av1::Av1Packetizer::new(), &[av1_key, av1_delta.clone(), av1_delta])),
    ];
    let mut seeds = Vec::new();
    for (name, selector, clean) in formats {
        let mut lost = clean.clone();
        lost[1].step = 2;
        lost.remove(1);
        let mut repeated = clean.clone();
        let again = FuzzPacket { step: 0, new_timestamp: false, ..repeated[1].clone() };
        repeated.insert(2, again);
        for (kind, list) in [("clean", clean), ("lost", lost), ("repeated", repeated)] {
            seeds.push((format!("seed-{name}-{kind}"), rtp_depacketize_input(selector, 32, &list)));
        }
    }
    // RED and RTX payloads, each alone.
    let red_payload = red::encode(
        &[red::RedBlock { payload_type: 111, timestamp_offset: 960, data: &[0xfc, 1, 2] }],
        red::RedBlock { payload_type: 111, timestamp_offset: 0, data: &[0xfc, 3, 4] },
    )
    .unwrap();
    let single = |payload: Vec<u8>| vec![FuzzPacket { payload, marker: false, step: 1, new_timestamp: true }];
    seeds.push(("seed-red".into(), rtp_depacketize_input(9, 32, &single(red_payload.to_vec()))));
    seeds.push(("seed-rtx".into(), rtp_depacketize_input(9, 32, &single(rtx::wrap(4660, &[0x90, 0x80, 1]).to_vec()))));
    // Hand-made oddities: STAP-B, an FU-A end without a start, AV1 Z=1 first, a VP9 SS cut short.
    let odd: [(&str, u8, &[u8]); 7] = [
        ("h264-stap-b", 5, &[0x19, 0, 1, 2, 0, 2, 0x41, 0x9a]),
        ("h264-fu-end-only", 5, &[0x7c, 0x45, 1, 2, 3]),
        ("h264-stap-a-overrun", 5, &[0x78, 0x00, 0x20, 0x67, 0x42]),
        ("h265-paci", 7, &[0x64, 0x01, 0x00, 0x00]),
        ("av1-continuation-first", 8, &[0x90, 0x32, 0x01, 0x02]),
        ("av1-leb128-unterminated", 8, &[0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]),
        ("vp9-ss-truncated", 4, &[0x8a, 0x01, 0x18, 0x01]),
    ];
    for (name, selector, payload) in odd {
        seeds.push((format!("odd-{name}"), rtp_depacketize_input(selector, 32, &single(payload.to_vec()))));
    }
    seeds
}

/// The committed seeds must be exactly these; `OXRTC_WRITE_SEED_CORPUS=1
/// cargo test -p oxrtc-rtp --test fuzz_corpus_payload seed_corpus` rewrites
/// them (never a plain test run).
#[test]
fn seed_corpus() {
    let dir = testkit::corpus_dir("rtp_depacketize");
    let write = testkit::write_seed_corpus();
    let seeds = seeds();
    assert_eq!(seeds.len(), 36);
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, data) in &seeds {
        rtp_depacketize(data);
        let path = dir.join(name);
        if write {
            std::fs::write(&path, data).unwrap();
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(&committed, data, "{} is not the seed the writer makes", path.display());
        }
    }
}

/// Seeded mutations of the seeds (bit flips, byte changes, cuts, splices):
/// the fuzz body must hold for all of them. `OXRTC_MUTATIONS=n` runs `n`
/// instead of 3,000 (and `OXRTC_MUTATION_SEED` picks another seed).
#[test]
fn mutated_seeds_keep_the_fuzz_invariants() {
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let seeds = seeds();
    let mut rng = Rng::new(env("OXRTC_MUTATION_SEED", 2198));
    for _ in 0..env("OXRTC_MUTATIONS", 3000) {
        let mut data = seeds[rng.below(seeds.len())].1.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(data.len());
            match rng.below(5) {
                0 => data[at] ^= 1 << rng.below(8),
                1 => data[at] = rng.byte(),
                2 => data.truncate(at.max(2)),
                3 => {
                    let other = &seeds[rng.below(seeds.len())].1;
                    let from = rng.below(other.len());
                    data.splice(at..at, other[from..].iter().copied().take(64));
                }
                _ => data.insert(at, [0, 1, 0x80, 0xff][rng.below(4)]),
            }
        }
        rtp_depacketize(&data);
    }
}
