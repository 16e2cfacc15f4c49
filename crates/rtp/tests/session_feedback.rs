//! The feedback a `Session` negotiates besides transport-wide feedback, over netsim in
//! virtual time: receiver-side RTT from XR RRTR/DLRR (RFC 3611), RFC 8888 congestion
//! control feedback, and REMB with the receive-side estimate.

mod session_support;

use std::time::{Duration, Instant};

use netsim::LinkConfig;
use rtp::extension::ExtensionMap;
use rtp::session::rtc::{MediaConfig, SessionConfig};
use session_support::{assert_intact_in_order, sections, Call};

const MS: Duration = Duration::from_millis(1);

fn link(latency: Duration, loss: f64) -> LinkConfig {
    LinkConfig { latency, loss, ..LinkConfig::default() }
}

fn bottleneck(rate_bps: u64) -> LinkConfig {
    LinkConfig {
        latency: 25 * MS,
        rate_bps: Some(rate_bps),
        queue_limit_bytes: (rate_bps / 8 / 10) as usize, // 100 ms
        ..LinkConfig::default()
    }
}

/// A call whose sections on both sides are changed by `negotiate`.
fn call(seed: u64, forward: LinkConfig, back: LinkConfig, negotiate: impl Fn(&mut MediaConfig)) -> Call {
    let mut sender = sections(Some((0x1111, 0x2222, 0x3333)), false);
    let mut receiver = sections(None, true);
    sender.iter_mut().chain(receiver.iter_mut()).for_each(negotiate);
    Call::with_media(seed, forward, back, SessionConfig::new("sender", seed), sender, receiver)
}

fn xr(m: &mut MediaConfig) {
    m.xr_rtt = true;
}

/// The extensions without transport-wide sequence numbers.
fn without_transport_cc(m: &mut MediaConfig) {
    let mut map = ExtensionMap::new();
    map.insert(4, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
    map.insert(10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id").unwrap();
    map.insert(11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id").unwrap();
    m.extensions = map;
    for c in &mut m.codecs {
        c.transport_cc = false;
    }
}

fn ccfb(m: &mut MediaConfig) {
    without_transport_cc(m);
    for c in &mut m.codecs {
        c.ccfb = true;
    }
}

fn remb(m: &mut MediaConfig) {
    without_transport_cc(m);
    for c in &mut m.codecs {
        c.remb = true;
    }
}

/// The time-weighted mean of a step function given as (time, value) changes, over
/// `from..to`.
fn mean_between(steps: &[(Instant, u64)], from: Instant, to: Instant) -> f64 {
    let mut value = steps.iter().take_while(|s| s.0 <= from).last().map_or(0, |s| s.1);
    let (mut at, mut sum) = (from, 0.0);
    for &(t, v) in steps.iter().filter(|s| s.0 > from && s.0 < to) {
        sum += value as f64 * (t - at).as_secs_f64();
        (at, value) = (t, v);
    }
    sum += value as f64 * (to - at).as_secs_f64();
    sum / (to - from).as_secs_f64()
}

#[test]
fn a_receive_only_session_learns_the_rtt_of_a_100ms_link_from_xr() {
    let mut call = call(21, link(50 * MS, 0.0), link(50 * MS, 0.0), xr);
    call.send_for(Duration::from_secs(4));
    let receiver = call.peers[1].session.stats();
    let sender = call.peers[0].session.stats();
    eprintln!(
        "XR: receiver RTT {:?} after 4 s ({} XR sent by the receiver, {} by the sender); sender RTT {:?}",
        receiver.receiver_rtt, receiver.xr_sent, sender.xr_sent, sender.rtt
    );
    let rtt = receiver.receiver_rtt.expect("an RTT from the sender's DLRR");
    assert!((95..=130).contains(&rtt.as_millis()), "receiver RTT {rtt:?} over a 100 ms path");
    assert!(receiver.xr_sent >= 2 && sender.xr_sent >= 1);
    assert_eq!(receiver.rtt, None, "a receive-only session has no SR-based RTT");

    // Not negotiated: no XR either way, no receiver RTT.
    let mut plain = call_plain(21);
    plain.send_for(Duration::from_secs(4));
    let stats = plain.peers[1].session.stats();
    assert_eq!((stats.receiver_rtt, stats.xr_sent, plain.peers[0].session.stats().xr_sent), (None, 0, 0));
}

fn call_plain(seed: u64) -> Call {
    call(seed, link(50 * MS, 0.0), link(50 * MS, 0.0), |_| {})
}

#[test]
fn the_xr_rtt_paces_the_receivers_nacks() {
    // 400 ms round trip, 5% loss: NACKs paced by the assumed 100 ms ask for the same
    // packet about four times per round trip; paced by the RTT learned from XR, once.
    let run = |negotiate: fn(&mut MediaConfig)| {
        let mut c = call(23, link(200 * MS, 0.05), link(200 * MS, 0.0), negotiate);
        c.run(Duration::from_secs(20));
        let stats = c.peers[1].session.stats();
        assert_intact_in_order(&c.peers[1].log.video);
        (stats.nacks_sent, stats.receiver_rtt, c.peers[1].log.video.len() as u64, c.video_sent)
    };
    let (with_xr, rtt, delivered, sent) = run(xr);
    let (without, _, delivered_without, _) = run(|_| {});
    eprintln!(
        "NACKs over a 400 ms RTT: {with_xr} with XR (RTT {rtt:?}), {without} without; \
         frames delivered {delivered} / {delivered_without} of {sent}"
    );
    assert!(rtt.is_some_and(|r| (390..=450).contains(&r.as_millis())), "{rtt:?}");
    assert!(with_xr * 10 <= without * 7, "{with_xr} NACKs with the RTT known, {without} without");
    assert!(delivered * 100 >= sent * 97, "{delivered} of {sent} frames");
}

#[test]
fn rfc_8888_feedback_converges_near_a_1_5_mbit_bottleneck() {
    let mut call = call(5, bottleneck(1_500_000), link(25 * MS, 0.0), ccfb);
    call.run(Duration::from_secs(30));
    let sender = &call.peers[0];
    let receiver = call.peers[1].session.stats();
    let start = call.clock.start();
    let late: Vec<u64> =
        sender.log.estimates.iter().filter(|e| e.0 >= start + Duration::from_secs(15)).map(|e| e.1).collect();
    let last = sender.session.stats().estimate_bps;
    eprintln!(
        "ccfb: estimate at the end {last} bps; after 15 s between {:?} and {:?}; {} RFC 8888 reports, {} TWCC, \
         {} unknown entries",
        late.iter().min(),
        late.iter().max(),
        receiver.ccfb_sent,
        receiver.twcc_sent,
        sender.session.stats().ccfb_unknown,
    );
    assert!(receiver.ccfb_sent > 200 && receiver.twcc_sent == 0);
    assert_eq!(sender.session.stats().ccfb_unknown, 0);
    assert!((900_000..=1_650_000).contains(&last), "estimate {last} bps on a 1.5 Mbit/s bottleneck");
    // The delay-based controller holds it there: without the feedback (loss from RRs
    // only) the estimate saws between about 0.7 and 1.45 Mbit/s on this link.
    assert!(late.iter().all(|&e| (850_000..=1_400_000).contains(&e)), "{late:?}");
}

#[test]
fn a_remb_only_sender_stays_under_a_1_mbit_bottleneck() {
    // The sender's congestion controller has no transport feedback: its loss-based
    // controller grows 8% a second until RR loss stops it, the REMB caps it. Without
    // the REMB it saws up to about 1.02 Mbit/s and loses about 16% of the frames here.
    let mut call = call(9, bottleneck(1_000_000), link(25 * MS, 0.0), remb);
    call.run(Duration::from_secs(40));
    let sender = &call.peers[0];
    let receiver = call.peers[1].session.stats();
    let start = call.clock.start();
    let (from, to) = (start + Duration::from_secs(10), start + Duration::from_secs(40));
    let mean = mean_between(&sender.log.estimates, from, to);
    let above = sender.log.estimates.iter().filter(|e| e.0 >= from && e.1 > 950_000).count();
    let sent_bytes: usize = sender.log.rtp_sent.iter().filter(|s| s.0 >= from && s.0 < to).map(|s| s.1).sum();
    let send_rate = sent_bytes as f64 * 8.0 / 30.0;
    eprintln!(
        "REMB: {} REMBs, last {} bps; sender target mean {mean:.0} bps over 10-40 s ({above} of {} changes above \
         950 kbit/s), sending rate {send_rate:.0} bps; {} of {} frames",
        receiver.remb_sent,
        receiver.remb_bps,
        sender.log.estimates.len(),
        call.peers[1].log.video.len(),
        call.video_sent,
    );
    assert!(receiver.remb_sent >= 30 && receiver.twcc_sent == 0);
    assert_eq!(above, 0, "the target went above 950 kbit/s");
    assert!((500_000.0..=950_000.0).contains(&mean), "mean target {mean:.0} bps on a 1 Mbit/s bottleneck");
    assert!(send_rate <= 950_000.0, "sending at {send_rate:.0} bps into 1 Mbit/s");
    let video = &call.peers[1].log.video;
    assert_intact_in_order(video);
    assert!(video.len() as u64 * 100 >= call.video_sent * 99, "{} of {} frames", video.len(), call.video_sent);
}

#[test]
fn with_transport_cc_and_ccfb_both_negotiated_only_transport_wide_feedback_flows() {
    let both = |m: &mut MediaConfig| {
        for c in &mut m.codecs {
            c.ccfb = true;
        }
    };
    let mut call = call(3, link(25 * MS, 0.0), link(25 * MS, 0.0), both);
    call.run(Duration::from_secs(5));
    let receiver = call.peers[1].session.stats();
    assert!(receiver.twcc_sent > 20, "{receiver:?}");
    assert_eq!(receiver.ccfb_sent, 0, "no second kind of feedback for the same packets");
    assert_eq!(call.peers[0].session.stats().ccfb_unknown, 0);
}
