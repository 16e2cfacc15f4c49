//! The whole RTP path of one video call on one core, in packets per second of CPU:
//! a sending `Session` writes VP8 frames (25 fps, 7.5 KB each: 1.5 Mbit/s) and releases
//! the packets as its pacer asks, on a virtual clock; each datagram is protected with
//! SRTP, unprotected, and handed to a receiving `Session`, whose jitter buffer gives the
//! frames back; the receiver's RTCP (transport-wide feedback, reports, REMB) goes back
//! through SRTCP to the sender. A one-way delay of 20 ms each way, no loss.
//!
//! Both sides run on this thread; the CPU time is the thread's (`CLOCK_THREAD_CPUTIME_ID`),
//! the session set-up and key derivation excluded. A pass is 10 s of call (250 frames);
//! each profile runs [`support::RUNS`] times, each run at least 0.5 s of CPU, and the
//! median is printed. A second, instrumented pass splits the time by stage (with
//! `Instant` around each stage, which adds its own cost). Run:
//! `cargo bench -p oxrtc-rtp --bench whole_path`.

mod path;
mod support;

use std::time::Duration;

use bytes::Bytes;
use path::{frame, Counts, Options, Stages, FRAME_INTERVAL, FRAME_SIZE, ONE_WAY};
use srtp::Profile;
use support::{Sample, Timer};

const FRAMES_PER_PASS: u64 = 250;
/// With probing, as a call runs; the payload size the session chooses.
const OPTIONS: Options = Options { probing: true, max_payload: None };

fn pass(profile: Profile, frames: &[Bytes], stages: Option<&mut Stages>, counts: &mut Counts) -> Sample {
    path::pass(profile, OPTIONS, frames, stages, counts, Timer::start, |t| t.stop())
}

fn main() {
    let frames: Vec<Bytes> = (0..FRAMES_PER_PASS).map(frame).collect();
    println!(
        "{FRAMES_PER_PASS} VP8 frames of {FRAME_SIZE} bytes at 25 fps per pass, {} ms one way; median of {} runs",
        ONE_WAY.as_millis(),
        support::RUNS
    );
    println!("| SRTP profile | RTP packets per pass (media) | frames out | RTCP back | packets/s per core (CPU) | ns CPU per packet | wall ns per packet |");
    println!("|---|---|---|---|---|---|---|");
    for profile in [Profile::Aes128CmHmacSha1_80, Profile::AeadAes128Gcm] {
        let mut counts = Counts::default();
        pass(profile, &frames, None, &mut counts);
        assert_eq!(counts.frames_out, FRAMES_PER_PASS, "{counts:?}");
        let per_pass = counts.rtp as usize;
        let (cpu, wall) = support::measure(per_pass, || pass(profile, &frames, None, &mut Counts::default()));
        println!(
            "| {profile:?} | {per_pass} ({}; {:.2} Mbit/s) | {} | {} | {:.0} | {cpu:.0} | {wall:.0} |",
            counts.media,
            counts.rtp_bytes as f64 * 8.0 / (FRAMES_PER_PASS as f64 * FRAME_INTERVAL.as_secs_f64()) / 1e6,
            counts.frames_out,
            counts.rtcp,
            1e9 / cpu
        );
    }
    for profile in [Profile::Aes128CmHmacSha1_80, Profile::AeadAes128Gcm] {
        let mut stages = Stages::default();
        let mut counts = Counts::default();
        let mut total = Sample::default();
        for _ in 0..20 {
            total += pass(profile, &frames, Some(&mut stages), &mut counts);
        }
        let n = counts.rtp as f64;
        let ns = |d: Duration| d.as_nanos() as f64 / n;
        println!(
            "{profile:?} by stage, wall ns per RTP packet (instrumented, total {:.0}): send (write_frame, pacer, poll_transmit) {:.0}, protect {:.0}, unprotect {:.0}, receive (handle_rtp, jitter buffer, events, timers) {:.0}, RTCP back {:.0}",
            ns(total.wall),
            ns(stages.send),
            ns(stages.protect),
            ns(stages.unprotect),
            ns(stages.receive),
            ns(stages.feedback)
        );
    }
}
