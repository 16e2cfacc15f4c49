//! Scenario tests of `SrtpContext`: round trips for every profile, rollover
//! across sequence wraps, replay protection, tampering, SSRC limits, SRTCP,
//! and 10,000 hostile packets.

use std::collections::HashSet;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use srtp::{estimate_index, Config, Profile, SrtpContext, SrtpError};

fn rtp(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x10, 0]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn rtcp(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 200, 0, 6];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0x42; 20]);
    p
}

fn pair(profile: Profile, config: Config) -> (SrtpContext, SrtpContext) {
    let key = vec![0x33; profile.master_key_len()];
    let salt = vec![0x44; profile.master_salt_len()];
    (
        SrtpContext::new(profile, &key, &salt, config.clone()).unwrap(),
        SrtpContext::new(profile, &key, &salt, config).unwrap(),
    )
}

#[test]
fn every_profile_round_trips_rtp_and_rtcp_across_a_wrap() {
    for profile in Profile::ALL {
        let (mut tx, mut rx) = pair(profile, Config::default());
        let (mut wire, mut back) = (Vec::new(), Vec::new());
        for i in 0..200u16 {
            let p = rtp(65_450u16.wrapping_add(i), 7, &[i as u8; 33]);
            tx.protect_rtp(&p, &mut wire).unwrap();
            assert_eq!(wire.len(), p.len() + profile.rtp_tag_len());
            assert_ne!(&wire[12..p.len()], &p[12..], "payload is encrypted");
            rx.unprotect_rtp(&wire, &mut back).unwrap();
            assert_eq!(back, p);
        }
        assert_eq!(tx.roc(7), Some(1));
        assert_eq!(rx.roc(7), Some(1));
        for _ in 0..3 {
            let p = rtcp(7);
            tx.protect_rtcp(&p, &mut wire).unwrap();
            assert_eq!(wire.len(), p.len() + 4 + profile.rtcp_tag_len());
            rx.unprotect_rtcp(&wire, &mut back).unwrap();
            assert_eq!(back, p);
            assert_eq!(rx.unprotect_rtcp(&wire, &mut back), Err(SrtpError::Replayed));
        }
    }
}

#[test]
fn bad_key_lengths_say_what_is_needed() {
    let err = SrtpContext::new(Profile::AeadAes256Gcm, &[0; 16], &[0; 12], Config::default()).unwrap_err();
    assert_eq!(err, SrtpError::BadKeyLength { what: "key", expected: 32, got: 16 });
    let err = SrtpContext::new(Profile::Aes128CmHmacSha1_80, &[0; 16], &[0; 12], Config::default()).unwrap_err();
    assert_eq!(err, SrtpError::BadKeyLength { what: "salt", expected: 14, got: 12 });
}

#[test]
fn index_estimation_follows_rfc3711_appendix_a() {
    assert_eq!(estimate_index(None, 5), Ok(5));
    assert_eq!(estimate_index(Some(65_535), 0), Ok(65_536)); // wrap forward
    assert_eq!(estimate_index(Some(65_536 + 10), 65_530), Ok(65_530)); // late packet from before the wrap
    assert_eq!(estimate_index(Some(100), 65_000), Err(SrtpError::TooOld)); // before index 0
    assert_eq!(estimate_index(Some((u64::from(u32::MAX) << 16) | 65_535), 1), Err(SrtpError::IndexExhausted));
}

#[test]
fn reordering_across_the_wrap_keeps_the_rollover_counter() {
    for profile in Profile::ALL {
        let (mut tx, mut rx) = pair(profile, Config::default());
        let mut wires = Vec::new();
        for i in 0..20u16 {
            let mut w = Vec::new();
            tx.protect_rtp(&rtp(65_526u16.wrapping_add(i), 1, b"x"), &mut w).unwrap();
            wires.push(w);
        }
        // 65526..=65529 first, then after the wrap, then the late ones.
        let order = [0, 1, 2, 3, 12, 13, 10, 4, 5, 11, 9, 8, 7, 6, 14, 19, 15, 16, 17, 18];
        let mut back = Vec::new();
        for i in order {
            rx.unprotect_rtp(&wires[i], &mut back).unwrap_or_else(|e| panic!("{profile:?} packet {i}: {e}"));
            assert_eq!(&back[2..4], &65_526u16.wrapping_add(i as u16).to_be_bytes());
        }
        assert_eq!(rx.roc(1), Some(1));
        for w in &wires {
            assert_eq!(rx.unprotect_rtp(w, &mut back), Err(SrtpError::Replayed));
        }
    }
}

#[test]
fn replay_window_rejects_too_old_and_is_configurable() {
    let (mut tx, mut rx) = pair(Profile::Aes128CmHmacSha1_80, Config::default());
    let (mut tx2, mut rx2) = pair(Profile::Aes128CmHmacSha1_80, Config { replay_window: 1024, ..Config::default() });
    let mut wires = Vec::new();
    for seq in 0..600u16 {
        let mut w = Vec::new();
        tx.protect_rtp(&rtp(seq, 9, b"abc"), &mut w).unwrap();
        let mut w2 = Vec::new();
        tx2.protect_rtp(&rtp(seq, 9, b"abc"), &mut w2).unwrap();
        assert_eq!(w, w2, "the window does not change the wire");
        wires.push(w);
    }
    let mut back = Vec::new();
    rx.unprotect_rtp(&wires[599], &mut back).unwrap();
    rx2.unprotect_rtp(&wires[599], &mut back).unwrap();
    assert_eq!(rx.unprotect_rtp(&wires[100], &mut back), Err(SrtpError::TooOld));
    rx.unprotect_rtp(&wires[599 - 63], &mut back).unwrap();
    rx2.unprotect_rtp(&wires[100], &mut back).unwrap();
    assert_eq!(rx2.unprotect_rtp(&wires[100], &mut back), Err(SrtpError::Replayed));
}

#[test]
fn tampered_packets_fail_and_change_nothing() {
    for profile in Profile::ALL {
        let (mut tx, mut rx) = pair(profile, Config::default());
        let mut wire = Vec::new();
        let mut back = Vec::new();
        tx.protect_rtp(&rtp(1000, 3, b"payload!"), &mut wire).unwrap();
        for byte in 0..wire.len() {
            let mut bad = wire.clone();
            bad[byte] ^= 0x01;
            // Flipping the version bits makes it malformed; any other bit fails authentication.
            let err = rx.unprotect_rtp(&bad, &mut back).unwrap_err();
            assert!(matches!(err, SrtpError::AuthenticationFailed | SrtpError::Malformed(_)), "{err}");
        }
        // A forged packet far ahead must not have moved the window or the ROC.
        assert_eq!(rx.roc(3), None);
        rx.unprotect_rtp(&wire, &mut back).unwrap();
        assert_eq!(back, rtp(1000, 3, b"payload!"));

        tx.protect_rtcp(&rtcp(3), &mut wire).unwrap();
        let mut bad = wire.clone();
        bad[10] ^= 0x80;
        assert_eq!(rx.unprotect_rtcp(&bad, &mut back), Err(SrtpError::AuthenticationFailed));
        rx.unprotect_rtcp(&wire, &mut back).unwrap();
    }
}

#[test]
fn sender_refuses_repeats_unless_allowed() {
    let (mut tx, _) = pair(Profile::AeadAes128Gcm, Config::default());
    let (mut rtx, mut rx) = pair(Profile::AeadAes128Gcm, Config { allow_repeat_tx: true, ..Config::default() });
    let p = rtp(5, 1, b"frame");
    let (mut first, mut again, mut back) = (Vec::new(), Vec::new(), Vec::new());
    tx.protect_rtp(&p, &mut first).unwrap();
    assert_eq!(tx.protect_rtp(&p, &mut again), Err(SrtpError::Replayed));

    rtx.protect_rtp(&p, &mut first).unwrap();
    rtx.protect_rtp(&rtp(6, 1, b"next"), &mut again).unwrap();
    rtx.protect_rtp(&p, &mut again).unwrap(); // a NACK retransmission
    assert_eq!(first, again, "a retransmission is the same SRTP packet");
    rx.unprotect_rtp(&first, &mut back).unwrap();
    assert_eq!(rx.unprotect_rtp(&again, &mut back), Err(SrtpError::Replayed));
}

#[test]
fn ssrc_count_is_capped() {
    let config = Config { max_ssrcs: 4, ..Config::default() };
    let (mut tx, mut rx) = pair(Profile::Aes128CmHmacSha1_32, Config { max_ssrcs: 10, ..Config::default() });
    let mut rx_capped = SrtpContext::new(Profile::Aes128CmHmacSha1_32, &[0x33; 16], &[0x44; 14], config).unwrap();
    let (mut wire, mut back) = (Vec::new(), Vec::new());
    for ssrc in 0..6u32 {
        tx.protect_rtp(&rtp(1, ssrc, b"a"), &mut wire).unwrap();
        rx.unprotect_rtp(&wire, &mut back).unwrap();
        let res = rx_capped.unprotect_rtp(&wire, &mut back);
        if ssrc < 4 {
            res.unwrap();
        } else {
            assert_eq!(res, Err(SrtpError::UnknownSsrcLimit(4)));
        }
    }
    assert_eq!(rx_capped.ssrc_count(), 4);
    rx_capped.remove_ssrc(0);
    rx_capped.unprotect_rtp(&wire, &mut back).unwrap();
}

#[test]
fn ten_thousand_hostile_packets_never_panic() {
    let mut rng = SmallRng::seed_from_u64(0x5eed);
    for profile in Profile::ALL {
        let (mut tx, mut rx) = pair(profile, Config { max_ssrcs: 8, ..Config::default() });
        let mut valid = Vec::new();
        let (mut valid_rtp, mut valid_rtcp) = (HashSet::new(), HashSet::new());
        for seq in 0..50u16 {
            let mut w = Vec::new();
            let payload: Vec<u8> = (0..rng.gen_range(0..300)).map(|_| rng.gen()).collect();
            tx.protect_rtp(&rtp(seq, rng.gen_range(0..4), &payload), &mut w).unwrap();
            valid_rtp.insert(w.clone());
            valid.push(w);
            let mut w = Vec::new();
            tx.protect_rtcp(&rtcp(rng.gen_range(0..4)), &mut w).unwrap();
            valid_rtcp.insert(w.clone());
            valid.push(w);
        }
        // What the receiver accepted: only genuine packets, each at most once (replays of
        // them are rejected like every forged, truncated or garbled packet).
        let (mut accepted_rtp, mut accepted_rtcp) = (HashSet::new(), HashSet::new());
        let mut back = Vec::new();
        for _ in 0..2_500 {
            let mut p = match rng.gen_range(0..3) {
                0 => (0..rng.gen_range(0..120)).map(|_| rng.gen()).collect::<Vec<u8>>(),
                1 => {
                    let v = &valid[rng.gen_range(0..valid.len())];
                    v[..rng.gen_range(0..=v.len())].to_vec()
                }
                _ => {
                    let mut v = valid[rng.gen_range(0..valid.len())].clone();
                    for _ in 0..rng.gen_range(1..4) {
                        let i = rng.gen_range(0..v.len());
                        v[i] = rng.gen();
                    }
                    v
                }
            };
            if rng.gen_bool(0.5) && !p.is_empty() {
                p[0] = (p[0] & 0x3f) | 0x80; // keep version 2 to get past the first check
            }
            if rx.unprotect_rtp(&p, &mut back).is_ok() {
                assert!(valid_rtp.contains(&p), "{profile:?}: a forged SRTP packet was accepted: {p:02x?}");
                assert!(accepted_rtp.insert(p.clone()), "{profile:?}: a replayed SRTP packet was accepted");
            }
            if rx.unprotect_rtcp(&p, &mut back).is_ok() {
                assert!(valid_rtcp.contains(&p), "{profile:?}: a forged SRTCP packet was accepted: {p:02x?}");
                assert!(accepted_rtcp.insert(p.clone()), "{profile:?}: a replayed SRTCP packet was accepted");
            }
            // Whatever we protect gets its authentication tag (SRTCP: and its index).
            if tx.protect_rtp(&p, &mut back).is_ok() {
                assert!(back.len() > p.len(), "{profile:?}: protected RTP without a tag");
            }
            if tx.protect_rtcp(&p, &mut back).is_ok() {
                assert!(back.len() > p.len() + 4, "{profile:?}: protected RTCP without index and tag");
            }
        }
        assert!(!accepted_rtp.is_empty() && !accepted_rtcp.is_empty(), "{profile:?}: no genuine packet got through");
        assert!(rx.ssrc_count() <= 8);
    }
}
