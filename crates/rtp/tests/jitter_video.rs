//! The video frame buffer on virtual time: 25 fps over 40 ms + jitter with
//! 5% of frames lost and a sender that answers keyframe requests after half
//! an RTT; a sender that never answers; reordering; codec dependencies; a
//! flood of garbage frames.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtp::jitter::{Dependencies, EncodedFrame, VideoJitterBuffer, VideoJitterConfig, VideoOutput};
use rtp::packet::seq_diff;
use testkit::Rng;

const FRAME: Duration = Duration::from_millis(40);
const TICKS: u32 = 3600;
const PACKETS: u16 = 3;
const ONE_WAY: Duration = Duration::from_millis(25);

fn frame(seq: u16, ts: u32, keyframe: bool, discontinuity: bool) -> EncodedFrame {
    EncodedFrame {
        data: Bytes::from_static(b"frame"),
        timestamp: ts,
        first_sequence: seq,
        last_sequence: seq.wrapping_add(PACKETS - 1),
        keyframe,
        discontinuity,
        dependencies: None,
    }
}

struct Run {
    sent: u64,
    lost: u64,
    released: u64,
    keyframes_released: u64,
    requests: Vec<Instant>,
    max_hold: Duration,
    jitter: Duration,
    current_delay: Duration,
}

/// `seconds` of 25 fps video, frames lost with probability `loss_percent`,
/// over 25 ms + uniform(0, jitter), delivered in order (as a depacketizer
/// hands them over). The sender makes the next frame a keyframe once a
/// request reached it, if `answer` is set.
fn run(seconds: u64, loss_percent: usize, jitter: Duration, answer: bool, seed: u64) -> Run {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let mut jb = VideoJitterBuffer::new(VideoJitterConfig::default());
    let (mut seq, mut ts) = (65_000u16, u32::MAX - 100 * TICKS);
    let mut r = Run {
        sent: 0,
        lost: 0,
        released: 0,
        keyframes_released: 0,
        requests: Vec::new(),
        max_hold: Duration::ZERO,
        jitter: Duration::ZERO,
        current_delay: Duration::ZERO,
    };
    let mut in_flight: VecDeque<(Instant, EncodedFrame)> = VecDeque::new();
    let mut requests_at_sender: VecDeque<Instant> = VecDeque::new();
    let mut arrivals: Vec<(Instant, u16)> = Vec::new();
    let (mut last_arrival, mut lost_before) = (start, false);
    let mut previous: Option<(u16, bool)> = None; // last released: last sequence
    let frames = seconds * 25;
    let mut next_send = 0u64;
    let mut now = start;
    loop {
        // The sender: frames due by `now`.
        while next_send < frames && start + FRAME * next_send as u32 <= now {
            let sent_at = start + FRAME * next_send as u32;
            let mut keyframe = next_send == 0;
            while requests_at_sender.front().is_some_and(|&t| t <= sent_at) {
                requests_at_sender.pop_front();
                keyframe |= answer;
            }
            r.sent += 1;
            if rng.below(100) < loss_percent {
                r.lost += 1;
                lost_before = true;
            } else {
                let delay = ONE_WAY + Duration::from_nanos(rng.next_u64() % jitter.as_nanos().max(1) as u64);
                let at = (sent_at + delay).max(last_arrival);
                last_arrival = at;
                in_flight.push_back((at, frame(seq, ts, keyframe, lost_before)));
                lost_before = false;
            }
            seq = seq.wrapping_add(PACKETS);
            ts = ts.wrapping_add(TICKS);
            next_send += 1;
        }
        while in_flight.front().is_some_and(|(at, _)| *at <= now) {
            let (at, f) = in_flight.pop_front().unwrap();
            if f.discontinuity {
                jb.lost(now);
            }
            arrivals.push((at, f.first_sequence));
            jb.insert(now, f);
        }
        while let Some(out) = jb.poll(now) {
            match out {
                VideoOutput::Frame(f) => {
                    let f_first = f.frame.first_sequence;
                    if let Some((last, _)) = previous {
                        assert!(seq_diff(f_first, last) > 0, "decode order");
                        assert!(f.frame.keyframe || f_first == last.wrapping_add(1), "a delta frame after a gap");
                    } else {
                        assert!(f.frame.keyframe, "the first frame released is a keyframe");
                    }
                    previous = Some((f.frame.last_sequence, f.frame.keyframe));
                    r.released += 1;
                    r.keyframes_released += u64::from(f.frame.keyframe);
                    let arrived = arrivals.iter().rev().find(|(_, s)| *s == f_first).unwrap().0;
                    r.max_hold = r.max_hold.max(now - arrived);
                }
                VideoOutput::RequestKeyframe => {
                    if let Some(&last) = r.requests.last() {
                        assert!(now - last >= Duration::from_millis(200), "requests are rate-limited");
                    }
                    r.requests.push(now);
                    requests_at_sender.push_back(now + ONE_WAY);
                }
            }
        }
        assert!(jb.poll_timeout().is_none_or(|t| t > now), "nothing left due after poll returned None");
        let next_frame = (next_send < frames).then(|| start + FRAME * next_send as u32);
        let next = [next_frame, in_flight.front().map(|(at, _)| *at), jb.poll_timeout()]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min();
        match next {
            Some(t) if t <= start + Duration::from_secs(seconds + 2) => now = t,
            _ => break,
        }
        assert!(jb.stats().buffered <= VideoJitterConfig::default().max_frames);
    }
    let s = jb.stats();
    r.jitter = s.jitter;
    r.current_delay = s.current_delay;
    println!(
        "sent {} lost {} released {} keyframes {} requests {} max hold {:?} jitter {:?} delay {:?} stats {s:?}",
        r.sent,
        r.lost,
        r.released,
        r.keyframes_released,
        r.requests.len(),
        r.max_hold,
        r.jitter,
        r.current_delay
    );
    r
}

#[test]
fn five_percent_loss_recovers_through_keyframes_in_decode_order() {
    for seed in 1..=3 {
        let r = run(60, 5, Duration::from_millis(30), true, seed);
        assert!(r.lost >= 50, "seed {seed}: {} lost", r.lost);
        assert!(r.released * 100 >= r.sent * 80, "seed {seed}: frames keep flowing");
        assert!(r.requests.len() as u64 <= 2 * r.lost, "seed {seed}: about one request per loss");
        assert!(r.keyframes_released >= r.lost / 2);
        assert!(r.current_delay >= Duration::from_millis(20) && r.current_delay <= Duration::from_millis(80));
        assert!(r.max_hold <= Duration::from_millis(100), "seed {seed}: {:?}", r.max_hold);
    }
}

#[test]
fn no_loss_no_request_and_delay_follows_jitter() {
    let calm = run(20, 0, Duration::ZERO, true, 4);
    assert_eq!((calm.released, calm.requests.len()), (calm.sent, 0));
    assert!(calm.current_delay <= Duration::from_millis(20), "{:?}", calm.current_delay);
    let shaky = run(20, 0, Duration::from_millis(100), true, 4);
    assert_eq!((shaky.released, shaky.requests.len()), (shaky.sent, 0));
    assert!(shaky.current_delay >= Duration::from_millis(60), "{:?}", shaky.current_delay);
}

#[test]
fn without_an_answer_requests_repeat_at_the_interval_and_no_delta_frame_passes() {
    let r = run(10, 5, Duration::from_millis(10), false, 5);
    let first_loss = r.requests[0];
    let span = *r.requests.last().unwrap() - first_loss;
    assert_eq!(r.keyframes_released, 1, "only the first keyframe");
    // One request per 200 ms (a poll can come a little after the interval).
    let expected = span.as_millis() / 200 + 1;
    assert!(
        r.requests.len() as u128 <= expected && r.requests.len() as u128 * 10 >= expected * 8,
        "{}",
        r.requests.len()
    );
}

#[test]
fn reordered_frames_are_released_in_order() {
    let start = Instant::now();
    let mut jb = VideoJitterBuffer::new(VideoJitterConfig::default());
    let order = [0u16, 2, 1, 3];
    for (i, n) in order.into_iter().enumerate() {
        let f = frame(n * PACKETS, n as u32 * TICKS, n == 0, false);
        jb.insert(start + Duration::from_millis(40 * i as u64), f);
    }
    let mut got = Vec::new();
    let end = start + Duration::from_secs(1);
    while let Some(t) = jb.poll_timeout().filter(|t| *t <= end) {
        while let Some(out) = jb.poll(t.max(start)) {
            got.push(out);
        }
    }
    let seqs: Vec<u16> = got
        .iter()
        .map(|o| match o {
            VideoOutput::Frame(f) => f.frame.first_sequence,
            VideoOutput::RequestKeyframe => panic!("no request"),
        })
        .collect();
    assert_eq!(seqs, [0, 3, 6, 9]);
}

fn with_deps(n: u16, refs: &[u64]) -> EncodedFrame {
    let mut f = frame(n * PACKETS, n as u32 * TICKS, n == 0, false);
    f.dependencies = Some(Dependencies { frame_id: n as u64, references: refs.to_vec() });
    f
}

/// Two temporal layers: even frames reference the previous even one, odd
/// frames the even one before them.
fn temporal(n: u16) -> EncodedFrame {
    match n {
        0 => with_deps(0, &[]),
        n if n % 2 == 0 => with_deps(n, &[n as u64 - 2]),
        n => with_deps(n, &[n as u64 - 1]),
    }
}

fn drive(
    jb: &mut VideoJitterBuffer,
    start: Instant,
    frames: impl IntoIterator<Item = EncodedFrame>,
) -> Vec<VideoOutput> {
    let mut out = Vec::new();
    for (i, f) in frames.into_iter().enumerate() {
        let now = start + Duration::from_millis(40 * i as u64);
        jb.insert(now, f);
        out.extend(std::iter::from_fn(|| jb.poll(now)));
    }
    let end = start + Duration::from_secs(5);
    out.extend(std::iter::from_fn(|| jb.poll(end)));
    out
}

#[test]
fn with_dependencies_a_lost_non_reference_frame_needs_no_keyframe() {
    let start = Instant::now();
    let mut jb = VideoJitterBuffer::new(VideoJitterConfig::default());
    // The depacketizer flags the frame after the loss.
    let frames = (0..20).filter(|n| *n != 5).map(temporal).map(|mut f| {
        f.discontinuity = f.first_sequence == 6 * PACKETS;
        f
    });
    let out = drive(&mut jb, start, frames);
    assert!(!out.contains(&VideoOutput::RequestKeyframe));
    assert_eq!(jb.stats().released, 19);
}

#[test]
fn with_dependencies_a_lost_reference_drops_its_dependents_and_asks_for_a_keyframe() {
    let start = Instant::now();
    let mut jb = VideoJitterBuffer::new(VideoJitterConfig::default());
    let out = drive(&mut jb, start, (0..20).filter(|n| *n != 6).map(temporal));
    assert!(out.contains(&VideoOutput::RequestKeyframe));
    let released: Vec<u64> = out
        .iter()
        .filter_map(|o| match o {
            VideoOutput::Frame(f) => f.frame.dependencies.as_ref().map(|d| d.frame_id),
            _ => None,
        })
        .collect();
    assert_eq!(released, [0, 1, 2, 3, 4, 5], "nothing that needs frame 6");
}

#[test]
fn a_flood_of_random_frames_stays_bounded_and_the_stream_recovers() {
    let start = Instant::now();
    let mut rng = Rng::new(9);
    let config = VideoJitterConfig::default();
    let mut jb = VideoJitterBuffer::new(config.clone());
    let mut now = start;
    for i in 0..100_000u32 {
        now += Duration::from_micros(rng.next_u64() % 1000);
        let f = frame(rng.next_u64() as u16, rng.next_u64() as u32, rng.below(10) == 0, rng.below(2) == 0);
        jb.insert(now, f);
        if i % 5 == 0 {
            while jb.poll(now).is_some() {}
        }
        assert!(jb.stats().buffered <= config.max_frames);
    }
    let flooded = jb.stats();
    assert!(flooded.dropped > 0 && flooded.overflowed > 0, "{flooded:?}");
    // A well-behaved stream afterwards: a keyframe then deltas, 40 ms apart.
    let released_before = flooded.released;
    let (seq0, ts0) = (rng.next_u64() as u16, rng.next_u64() as u32);
    let mut released = Vec::new();
    for n in 0..100u16 {
        now += FRAME;
        let f = frame(seq0.wrapping_add(n * PACKETS), ts0.wrapping_add(n as u32 * TICKS), n == 0, false);
        jb.insert(now, f);
        while let Some(out) = jb.poll(now) {
            if let VideoOutput::Frame(f) = out {
                released.push(f.frame.first_sequence);
            }
        }
    }
    assert!(jb.stats().released > released_before);
    assert!(released.len() >= 60, "{} of 100 after the flood", released.len());
}

#[test]
fn a_keyframe_on_its_way_stops_the_requests_and_their_timer() {
    let start = Instant::now();
    let ms = |n: u64| start + Duration::from_millis(n);
    let config = VideoJitterConfig { min_delay: Duration::from_millis(100), ..Default::default() };
    let mut jb = VideoJitterBuffer::new(config);
    jb.insert(ms(0), frame(0, 0, true, false));
    assert!(matches!(jb.poll(ms(100)), Some(VideoOutput::Frame(_))));
    jb.lost(ms(140));
    assert_eq!(jb.poll(ms(140)), Some(VideoOutput::RequestKeyframe));
    // The answer arrives; it renders 100 ms later and nothing is asked meanwhile.
    jb.insert(ms(400), frame(30, 10 * TICKS, true, false));
    assert_eq!(jb.poll(ms(400)), None);
    let next = jb.poll_timeout().unwrap();
    assert!(next > ms(400), "no timer in the past: {:?}", next - ms(400));
    assert!(matches!(jb.poll(next), Some(VideoOutput::Frame(f)) if f.frame.keyframe));
    assert_eq!(jb.poll(next), None);
    assert_eq!(jb.stats().keyframe_requests, 1);
}
