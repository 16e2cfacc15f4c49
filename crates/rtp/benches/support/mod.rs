//! What the benches of this crate share: the Chromium capture, the extension map of its
//! offer, and timing (CPU time of the thread and wall time, median of runs).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtp::extension::ExtensionMap;

/// The capture of a Chromium sending VP8 and Opus (`tests/fixtures/chromium/vp8`).
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chromium/vp8")
}

/// The records of `rtp.bin`: arrival (µs since the first packet) and the packet.
pub fn records() -> Vec<(u32, Bytes)> {
    let path = fixture_dir().join("rtp.bin");
    let file = Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    let mut out = Vec::new();
    let mut at = 0;
    while at + 6 <= file.len() {
        let micros = u32::from_be_bytes(file[at..at + 4].try_into().unwrap());
        let len = u16::from_be_bytes([file[at + 4], file[at + 5]]) as usize;
        out.push((micros, file.slice(at + 6..at + 6 + len)));
        at += 6 + len;
    }
    out
}

/// The offer's `a=extmap` lines as one map (Chromium gives a URI one id across sections).
pub fn offer_extensions() -> ExtensionMap {
    let sdp = std::fs::read_to_string(fixture_dir().join("offer.sdp")).unwrap();
    let mut map = ExtensionMap::new();
    for line in sdp.lines() {
        let Some(rest) = line.strip_prefix("a=extmap:") else { continue };
        let mut words = rest.split_whitespace();
        let id: u8 = words.next().unwrap().split('/').next().unwrap().parse().unwrap();
        let uri = words.next().unwrap();
        if map.uri(id).is_none() {
            map.insert(id, uri).unwrap();
        }
    }
    map
}

/// The offer's `a=ssrc` SSRCs of each m-section, in order.
pub fn offer_ssrcs() -> Vec<Vec<u32>> {
    let sdp = std::fs::read_to_string(fixture_dir().join("offer.sdp")).unwrap();
    let mut sections: Vec<Vec<u32>> = Vec::new();
    for line in sdp.lines() {
        if line.starts_with("m=") {
            sections.push(Vec::new());
        } else if let Some(rest) = line.strip_prefix("a=ssrc:") {
            let ssrc: u32 = rest.split_whitespace().next().unwrap().parse().unwrap();
            let s = sections.last_mut().unwrap();
            if !s.contains(&ssrc) {
                s.push(ssrc);
            }
        }
    }
    sections
}

/// CPU time consumed by this thread.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU and wall time of a stretch of work.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    pub cpu: Duration,
    pub wall: Duration,
}

impl std::ops::AddAssign for Sample {
    fn add_assign(&mut self, other: Sample) {
        self.cpu += other.cpu;
        self.wall += other.wall;
    }
}

/// Started with [`Timer::start`], read with [`Timer::stop`].
pub struct Timer {
    cpu: Duration,
    wall: Instant,
}

impl Timer {
    pub fn start() -> Self {
        Timer { cpu: thread_cpu(), wall: Instant::now() }
    }

    pub fn stop(&self) -> Sample {
        Sample { cpu: thread_cpu() - self.cpu, wall: self.wall.elapsed() }
    }
}

pub const RUNS: usize = 5;
pub const MIN_RUN: Duration = Duration::from_millis(500);

/// Median over [`RUNS`] runs of CPU and wall ns per packet. `one_pass` handles
/// `packets_per_pass` packets and returns the time it measured (its set-up excluded);
/// each run repeats it until it used at least [`MIN_RUN`] of CPU.
pub fn measure(packets_per_pass: usize, mut one_pass: impl FnMut() -> Sample) -> (f64, f64) {
    let mut run = |passes: u64| {
        let mut total = Sample::default();
        for _ in 0..passes {
            total += one_pass();
        }
        total
    };
    let mut passes = 1u64;
    let first = loop {
        let s = run(passes);
        if s.cpu >= MIN_RUN {
            break s;
        }
        let scaled = (passes as f64 * MIN_RUN.as_secs_f64() * 1.2 / s.cpu.as_secs_f64().max(1e-9)) as u64;
        passes = scaled.max(passes * 2);
    };
    let mut runs = vec![first];
    runs.extend((1..RUNS).map(|_| run(passes)));
    let n = (passes * packets_per_pass as u64) as f64;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (
        median(runs.iter().map(|s| s.cpu.as_nanos() as f64 / n).collect()),
        median(runs.iter().map(|s| s.wall.as_nanos() as f64 / n).collect()),
    )
}
