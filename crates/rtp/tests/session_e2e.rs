//! Two `Session`s over a simulated network in virtual time: media through loss (NACK/RTX,
//! keyframe requests), the pacer's spreading, and the bandwidth estimate on a bottleneck.

mod session_support;

use std::time::Duration;

use netsim::LinkConfig;
use rtp::session::rtc::{Bitrate, SessionConfig};
use session_support::{assert_intact_in_order, max_bytes_in_window, sections, Call};

const MS: Duration = Duration::from_millis(1);

fn lossy(loss: f64) -> LinkConfig {
    LinkConfig { latency: 25 * MS, loss, ..LinkConfig::default() }
}

#[test]
/// The criterion: 1.5 Mbit/s-class video at 25 fps over 5% random loss and a 50 ms
/// round trip for 60 s.
fn five_percent_loss_50ms_rtt_every_video_frame_arrives_intact_and_in_order() {
    let mut call = Call::new(7, lossy(0.05), lossy(0.05));
    call.max_video_bps = 1_500_000;
    call.run(Duration::from_secs(60));

    let receiver = &call.peers[1];
    let sender = &call.peers[0];
    let video = &receiver.log.video;
    let stats = receiver.session.stats();
    let sent_stats = sender.session.stats();
    let delivered = video.len() as u64;
    let abandoned = call.video_sent - delivered;
    eprintln!(
        "video: {} sent, {} delivered ({} abandoned); audio {} sent, {} delivered; rtx recovered {}, nacks {}, \
         keyframe requests {} sent / {} received, {} forced keyframes; retransmissions {}; estimate {} bps",
        call.video_sent,
        delivered,
        abandoned,
        call.audio_sent,
        receiver.log.audio_frames,
        stats.rtx_recovered,
        stats.nacks_sent,
        stats.keyframe_requests_sent,
        sender.log.keyframe_requests.len(),
        call.keyframes_forced,
        sent_stats.retransmissions_sent,
        sent_stats.estimate_bps,
    );
    // Byte-identical and strictly in order.
    assert_intact_in_order(video);
    // Every frame completes, but for the last one: a loss at the very end of a
    // stream shows no gap (no later packet arrives), so no one can ask for it.
    let missing: Vec<u64> =
        (0..call.video_sent - 1).filter(|n| video.binary_search_by_key(n, |f| f.0).is_err()).collect();
    assert!(missing.is_empty(), "frames never completed: {missing:?}");
    // NACK/RTX recovered the losses.
    assert!(stats.rtx_recovered > 100, "losses were repaired by RTX");
    // Audio has no NACK: about 5% is lost, the rest arrives.
    assert!(receiver.log.audio_frames * 100 >= call.audio_sent * 90);
    assert_eq!(call.write_errors, 0);
    // Reports flow both ways: the sender measured the 50 ms round trip from the
    // receiver's RRs, the receiver has the sender's clocks from its SRs (lip sync).
    let rtt = sent_stats.rtt.expect("an RTT from the receiver's reports");
    assert!((45..=80).contains(&rtt.as_millis()), "RTT {rtt:?} over a 50 ms path");
    let clock = receiver.session.sender_clock(0x1111).expect("an SR from the video sender");
    assert!(clock.packet_count > 0 && clock.received_at > call.clock.start());
}

#[test]
fn without_jitter_buffers_frames_leave_complete_and_in_order_too() {
    let mut media = sections(None, true);
    for m in &mut media {
        m.jitter_buffer = false;
    }
    let mut call = Call::with_sessions(17, lossy(0.05), lossy(0.05), SessionConfig::new("sender", 17), media);
    call.run(Duration::from_secs(10));
    let receiver = &call.peers[1];
    let video = &receiver.log.video;
    eprintln!(
        "no jitter buffer: {} of {} video frames, {} of {} audio frames, {} recovered by RTX",
        video.len(),
        call.video_sent,
        receiver.log.audio_frames,
        call.audio_sent,
        receiver.session.stats().rtx_recovered
    );
    assert_intact_in_order(video);
    assert!(video.len() as u64 * 100 >= call.video_sent * 99);
    assert!(receiver.log.audio_frames * 100 >= call.audio_sent * 90);
}

#[test]
fn at_twenty_percent_loss_frames_keep_flowing() {
    let mut call = Call::new(11, lossy(0.2), lossy(0.05));
    call.run(Duration::from_secs(20));
    let receiver = &call.peers[1];
    let video = &receiver.log.video;
    eprintln!(
        "20% loss: {} of {} frames delivered, estimate {} bps, {} keyframe requests sent",
        video.len(),
        call.video_sent,
        call.peers[0].session.stats().estimate_bps,
        receiver.session.stats().keyframe_requests_sent
    );
    assert_intact_in_order(video);
    assert!(video.len() as u64 * 10 >= call.video_sent * 9, "{} of {} frames", video.len(), call.video_sent);
}

#[test]
fn after_an_outage_a_keyframe_is_requested_answered_and_delivery_resumes() {
    let mut call = Call::new(13, lossy(0.05), lossy(0.05));
    // Periodic keyframes every 10 s: only a request brings one after the outage.
    call.keyframe_every = 250;
    call.send_for(Duration::from_secs(6));
    call.set_forward(lossy(1.0));
    call.send_for(Duration::from_secs(2));
    let sent_before = call.video_sent;
    call.set_forward(lossy(0.05));
    call.run(Duration::from_secs(8));

    let receiver = &call.peers[1];
    let sender = &call.peers[0];
    let requests: Vec<_> = sender.log.keyframe_requests.iter().map(|r| r.0 - call.clock.start()).collect();
    let video = &receiver.log.video;
    eprintln!(
        "outage: {} of {} frames, keyframe requests received at {:?}, {} keyframes written for them",
        video.len(),
        call.video_sent,
        requests,
        call.keyframes_forced,
    );
    // The receiver asked, the sender heard it and answered with a keyframe that arrived.
    assert!(!requests.is_empty() && call.keyframes_forced >= 1);
    assert_intact_in_order(video);
    // Rate-limited: at most one request per 300 ms reaches the sender.
    assert!(requests.windows(2).all(|w| w[1] - w[0] >= Duration::from_millis(299)));
    // The delta frames between the outage and the keyframe cannot be decoded and are
    // abandoned; delivery resumes with the requested keyframe, before the next
    // periodic one (frame 250 at 10 s), and everything after it arrives.
    let resumed = video.iter().find(|f| f.0 >= sent_before);
    assert!(resumed.is_some_and(|f| f.2 && f.0 < 240), "first frame after the outage: {resumed:?}");
    let first = resumed.map_or(0, |f| f.0);
    let after = video.iter().filter(|f| f.0 >= first).count() as u64;
    assert!(after * 100 >= (call.video_sent - first) * 99, "{after} of {} frames", call.video_sent - first);
}

#[test]
fn the_pacer_spreads_keyframes() {
    // The target is capped at 1.5 Mbit/s: pacing at 2.5 × 1.5 Mbit/s lets at most about
    // 9.4 KB leave in 20 ms, and keyframes are 30 KB.
    let mut config = SessionConfig::new("sender", 3);
    config.cc.max_bitrate = Bitrate::kbps(1_500);
    let mut call = Call::with_sender(3, lossy(0.0), lossy(0.0), config);
    call.run(Duration::from_secs(10));
    let sender = &call.peers[0];
    let max_target = sender.log.estimates.iter().map(|e| e.1).max().unwrap_or(300_000);
    // 2.5 × the highest target, in bytes per 20 ms, plus one packet of slack.
    let allowed = (max_target as f64 * 2.5 / 8.0 * 0.020) as usize + 1_300;
    let burst = max_bytes_in_window(&sender.log.rtp_sent, Duration::from_millis(20));
    eprintln!("largest 20 ms burst {burst} bytes, pacing allows {allowed} (max target {max_target} bps)");
    assert!(burst <= allowed, "burst of {burst} bytes in 20 ms above the pacing rate ({allowed})");
    assert!(allowed < 15_000, "keyframes (30 KB) could leave in one burst");
    assert_eq!(call.peers[1].log.video.len() as u64, call.video_sent);
}

#[test]
fn the_estimate_converges_near_a_1_5_mbit_bottleneck() {
    let bottleneck = LinkConfig {
        latency: 25 * MS,
        rate_bps: Some(1_500_000),
        queue_limit_bytes: 1_500_000 / 8 / 10, // 100 ms
        ..LinkConfig::default()
    };
    let mut call = Call::new(5, bottleneck, lossy(0.0));
    call.run(Duration::from_secs(30));
    let sender = &call.peers[0];
    let start = call.clock.start();
    let late: Vec<u64> =
        sender.log.estimates.iter().filter(|e| e.0 >= start + Duration::from_secs(15)).map(|e| e.1).collect();
    let last = sender.session.stats().estimate_bps;
    eprintln!("estimate at the end {last} bps; after 15 s between {:?} and {:?}", late.iter().min(), late.iter().max());
    assert!((900_000..=1_650_000).contains(&last), "estimate {last} bps on a 1.5 Mbit/s bottleneck");
    assert!(late.iter().all(|&e| e <= 1_800_000));
}
