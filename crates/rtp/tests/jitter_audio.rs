//! The audio jitter buffer on virtual time: 20 ms Opus frames over a network
//! with 0, 30 and 100 ms of uniform jitter (so reordering above 20 ms) and
//! 1% duplicates; plus late, duplicate, overflow, jump and silence cases.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rtp::jitter::{AudioJitterBuffer, AudioJitterConfig, AudioJitterStats, AudioOutput, ConcealReason};
use testkit::Rng;

const FRAME: Duration = Duration::from_millis(20);
const SAMPLES: u32 = 960;
const BASE_LATENCY: Duration = Duration::from_millis(40);
const WARM_UP: Duration = Duration::from_secs(2);

struct Run {
    /// Missing frames concealed after the warm-up.
    underruns: u64,
    /// Stretch frames after the warm-up.
    stretches: u64,
    /// Delay added by the buffer to each frame played after the warm-up:
    /// playout time minus (send time + base latency), i.e. above a jitter-free path.
    max_added: Duration,
    mean_added: Duration,
    duplicates_sent: u64,
    stats: AudioJitterStats,
}

/// Sends `seconds` of 20 ms frames (timestamps and sequence numbers about to
/// wrap) over a path of 40 ms + uniform(0, jitter) and plays them out.
fn run(jitter: Duration, seconds: u64, seed: u64) -> Run {
    run_profile(|_| jitter, seconds, seed)
}

/// As [`run`], with the jitter of each frame (by index) from `jitter`.
fn run_profile(jitter: impl Fn(u64) -> Duration, seconds: u64, seed: u64) -> Run {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let (seq0, ts0) = (65_000u16, u32::MAX - 500 * SAMPLES);
    let frames = seconds * 1000 / FRAME.as_millis() as u64;
    let mut arrivals = Vec::new();
    let mut duplicates_sent = 0;
    for i in 0..frames {
        let sent = start + FRAME * i as u32;
        let jitter = jitter(i);
        let jitter_ns = if jitter.is_zero() { 0 } else { rng.next_u64() % jitter.as_nanos() as u64 };
        let at = sent + BASE_LATENCY + Duration::from_nanos(jitter_ns);
        arrivals.push((at, i));
        if rng.below(100) == 0 {
            duplicates_sent += 1;
            arrivals.push((at + Duration::from_nanos(rng.next_u64() % 30_000_000), i));
        }
    }
    arrivals.sort();
    let sent_at = |ts: u32| start + FRAME * (ts.wrapping_sub(ts0) / SAMPLES);

    let mut jb = AudioJitterBuffer::new(AudioJitterConfig::new(48_000));
    let mut next = 0;
    let (mut underruns, mut stretches, mut played) = (0, 0, 0u32);
    let (mut max_added, mut sum_added) = (Duration::ZERO, Duration::ZERO);
    loop {
        let now = match (arrivals.get(next), jb.poll_timeout()) {
            (Some(&(a, _)), Some(t)) => a.min(t),
            (Some(&(a, _)), None) => a,
            (None, Some(t)) => t,
            (None, None) => break,
        };
        while let Some(&(at, i)) = arrivals.get(next).filter(|(at, _)| *at <= now) {
            let _ = at;
            let seq = seq0.wrapping_add(i as u16);
            jb.insert(now, seq, ts0.wrapping_add(i as u32 * SAMPLES), Bytes::from_static(b"opus frame"));
            next += 1;
        }
        let warm = now >= start + WARM_UP;
        while let Some(out) = jb.poll(now) {
            match out {
                AudioOutput::Frame(f) if warm => {
                    let added = now - (sent_at(f.timestamp) + BASE_LATENCY);
                    max_added = max_added.max(added);
                    sum_added += added;
                    played += 1;
                }
                AudioOutput::Conceal(c) if warm && c.reason == ConcealReason::Missing => underruns += 1,
                AudioOutput::Conceal(_) if warm => stretches += 1,
                _ => {}
            }
        }
        assert!(jb.poll_timeout().is_none_or(|t| t > now), "nothing left due after poll returned None");
        if next == arrivals.len() && jb.stats().buffered == 0 {
            break;
        }
    }
    Run { underruns, stretches, max_added, mean_added: sum_added / played.max(1), duplicates_sent, stats: jb.stats() }
}

fn show(name: &str, r: &Run) {
    println!(
        "{name}: underruns {} stretches {} added max {:?} mean {:?} target {:?} current {:?} late {} dup {} skipped {}",
        r.underruns,
        r.stretches,
        r.max_added,
        r.mean_added,
        r.stats.target_delay,
        r.stats.current_delay,
        r.stats.late,
        r.stats.duplicates,
        r.stats.skipped
    );
}

#[test]
fn no_jitter_stays_at_the_minimum_delay() {
    let r = run(Duration::ZERO, 20, 1);
    show("0 ms", &r);
    assert_eq!((r.underruns, r.stretches), (0, 0));
    assert!(r.stats.late <= r.duplicates_sent, "only duplicates come after their frame played");
    assert!(r.max_added <= Duration::from_millis(25), "{:?}", r.max_added);
    assert!(r.stats.target_delay <= Duration::from_millis(20));
}

#[test]
fn thirty_ms_jitter_never_underruns_and_adds_at_most_two_jitters_and_twenty_ms() {
    for seed in 1..=5 {
        let r = run(Duration::from_millis(30), 30, seed);
        show("30 ms", &r);
        assert_eq!(r.underruns, 0, "seed {seed}");
        assert_eq!(r.stretches, 0, "seed {seed}");
        assert!(r.max_added <= Duration::from_millis(2 * 30 + 20), "seed {seed}: {:?}", r.max_added);
        assert!(r.stats.duplicates > 0);
    }
}

#[test]
fn hundred_ms_jitter_adapts_up() {
    let r = run(Duration::from_millis(100), 30, 7);
    show("100 ms", &r);
    assert!(r.stats.target_delay >= Duration::from_millis(100), "{:?}", r.stats.target_delay);
    assert!(r.underruns <= 15, "{} of 1400 frames", r.underruns);
    assert!(r.max_added <= Duration::from_millis(2 * 100 + 20), "{:?}", r.max_added);
}

#[test]
fn delay_rises_fast_on_a_jitter_spike_and_decays_slowly_after() {
    // 10 s calm, 10 s of 100 ms jitter, 20 s calm again.
    let profile = |i: u64| if (500..1000).contains(&i) { Duration::from_millis(100) } else { Duration::ZERO };
    let r = run_profile(profile, 40, 11);
    show("0/100/0 ms", &r);
    // Rising costs some concealment at the start of the spike, never after the decay.
    assert!(r.underruns + r.stretches <= 30, "{} {}", r.underruns, r.stretches);
    assert!(r.stats.skipped >= 3, "the delay came back down by skipping frames");
    assert!(r.stats.current_delay <= Duration::from_millis(40), "{:?}", r.stats.current_delay);
}

fn at(start: Instant, ms: u64) -> Instant {
    start + Duration::from_millis(ms)
}

fn drain(jb: &mut AudioJitterBuffer, now: Instant) -> Vec<AudioOutput> {
    std::iter::from_fn(|| jb.poll(now)).collect()
}

#[test]
fn reordered_packets_play_in_order_late_and_duplicate_ones_are_dropped() {
    let start = Instant::now();
    let mut jb = AudioJitterBuffer::new(AudioJitterConfig::new(48_000));
    for (i, seq) in [1u16, 0, 2, 2].into_iter().enumerate() {
        jb.insert(at(start, i as u64), seq, seq as u32 * SAMPLES, Bytes::from_static(b"x"));
    }
    assert_eq!(jb.stats().duplicates, 1);
    let played: Vec<u16> = drain(&mut jb, at(start, 100))
        .into_iter()
        .filter_map(|o| match o {
            AudioOutput::Frame(f) => Some(f.sequence),
            _ => None,
        })
        .collect();
    assert_eq!(played, [0, 1, 2]);
    jb.insert(at(start, 100), 1, SAMPLES, Bytes::from_static(b"x"));
    assert_eq!(jb.stats().late, 1);
}

#[test]
fn a_missing_frame_is_concealed_once_and_playout_goes_on() {
    let start = Instant::now();
    let mut jb = AudioJitterBuffer::new(AudioJitterConfig::new(48_000));
    for seq in [0u16, 1, 3] {
        jb.insert(at(start, 20 * seq as u64), seq, seq as u32 * SAMPLES, Bytes::from_static(b"x"));
    }
    let out = drain(&mut jb, at(start, 200));
    assert!(
        matches!(&out[2], AudioOutput::Conceal(c) if c.reason == ConcealReason::Missing && c.timestamp == 2 * SAMPLES)
    );
    assert!(matches!(&out[3], AudioOutput::Frame(f) if f.sequence == 3));
}

#[test]
fn a_flood_stays_bounded() {
    let start = Instant::now();
    let mut rng = Rng::new(3);
    let mut jb = AudioJitterBuffer::new(AudioJitterConfig::new(48_000));
    for i in 0..100_000u64 {
        let now = at(start, i / 10);
        jb.insert(now, rng.next_u64() as u16, rng.next_u64() as u32, Bytes::from_static(b"x"));
        if i % 7 == 0 {
            drain(&mut jb, now);
        }
        assert!(jb.stats().buffered <= 250);
    }
    let s = jb.stats();
    assert!(s.current_delay <= Duration::from_secs(2), "{s:?}");
}

#[test]
fn a_timestamp_jump_restarts_the_playout() {
    let start = Instant::now();
    let mut jb = AudioJitterBuffer::new(AudioJitterConfig::new(48_000));
    let mut played = 0;
    for i in 0..200u32 {
        // After 2 s the sender's timestamps jump by an hour.
        let ts = if i < 100 { i * SAMPLES } else { 3600 * 48_000 + i * SAMPLES };
        let now = at(start, 20 * i as u64);
        jb.insert(now, i as u16, ts, Bytes::from_static(b"x"));
        played += drain(&mut jb, now).iter().filter(|o| matches!(o, AudioOutput::Frame(_))).count();
    }
    let s = jb.stats();
    assert_eq!(s.resets, 1, "{s:?}");
    assert!(played >= 190, "{played}");
}

#[test]
fn silence_makes_the_stream_idle_and_the_next_talkspurt_starts_fresh() {
    let start = Instant::now();
    let mut jb = AudioJitterBuffer::new(AudioJitterConfig::new(48_000));
    for i in 0..10u32 {
        jb.insert(at(start, 20 * i as u64), i as u16, i * SAMPLES, Bytes::from_static(b"x"));
    }
    let out = drain(&mut jb, at(start, 2000));
    assert_eq!(out.iter().filter(|o| matches!(o, AudioOutput::Frame(_))).count(), 10);
    assert_eq!(out.len(), 10 + 25, "500 ms of concealment, then idle");
    assert_eq!(jb.poll_timeout(), None);
    // DTX: the sender resumes 5 s later with timestamps that moved on.
    jb.insert(at(start, 5200), 10, 260 * SAMPLES, Bytes::from_static(b"x"));
    let due = jb.poll_timeout().unwrap();
    assert!(due - at(start, 5200) <= Duration::from_millis(20), "{:?}", due - at(start, 5200));
    assert!(matches!(jb.poll(due), Some(AudioOutput::Frame(f)) if f.sequence == 10));
}
