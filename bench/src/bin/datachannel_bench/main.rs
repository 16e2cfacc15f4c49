//! Data channels side by side: oxrtc, webrtc-rs (`webrtc` crate), rustrtc and
//! aiortc, each two peers of the same stack in one child process on loopback,
//! next to a raw UDP loopback blast as the ceiling.
//!
//! ```sh
//! cargo run --release -p oxrtc-bench --bin datachannel-bench -- [--quick] [--repeat N] [--stacks oxrtc,webrtc-rs,...]
//! ```
//!
//! Workloads (the same for every stack):
//! - `setup`: median time from create_offer to both sides' channel open (vanilla ICE: each side
//!   waits for the end of gathering, then sends its whole description);
//! - `bulk`: 64 KiB messages on one reliable ordered channel, the sender respecting back-pressure,
//!   the receiver counting bytes;
//! - `small`: 1 KiB messages, messages per second;
//! - `udp`: 1200-byte datagrams from one socket to another, bytes received per second.
//!
//! Each (stack, workload) runs in its own child process (this binary re-executed with
//! `--stack X --workload Y`, or `bench/peers/aiortc_bench.py`); the parent reads the child's CPU
//! time and peak RSS from `wait4`. Every stack gathers loopback candidates only, and each child
//! refuses a description holding a candidate that is not 127.0.0.1.

mod oxrtc_ortc_peer;
mod oxrtc_peer;
mod rustrtc_peer;
mod udp;
mod webrtc_rs_peer;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Back-pressure: the sender stops when this much is buffered...
pub const HIGH_WATER: usize = 4 * 1024 * 1024;
/// ...and resumes when the buffer drains below this.
pub const LOW_WATER: usize = 1024 * 1024;
const MIB: f64 = 1024.0 * 1024.0;
/// Every child gives up after this long.
pub const CHILD_DEADLINE: Duration = Duration::from_secs(150);

/// What a child is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Setup { runs: usize },
    Transfer { size: usize, count: usize },
    Udp { size: usize, count: usize },
}

/// A stack under test.
const STACKS: [&str; 6] = ["oxrtc", "oxrtc-ortc", "webrtc-rs", "rustrtc", "aiortc", "udp"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    if let (Some(stack), Some(workload)) = (get("--stack"), get("--workload")) {
        let n = |name: &str| get(name).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        let w = match workload.as_str() {
            "setup" => Workload::Setup { runs: n("--runs") },
            "transfer" => Workload::Transfer { size: n("--size"), count: n("--count") },
            "udp" => Workload::Udp { size: n("--size"), count: n("--count") },
            other => fail(&format!("unknown workload {other}")),
        };
        child(&stack, w);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let stacks: Vec<String> = get("--stacks")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| STACKS.iter().map(|s| s.to_string()).collect());
    for s in &stacks {
        if !STACKS.contains(&s.as_str()) {
            fail(&format!("unknown stack {s}; known: {}", STACKS.join(",")));
        }
    }
    let repeat = get("--repeat").and_then(|v| v.parse().ok()).unwrap_or(if quick { 1 } else { 3 });
    parent(&stacks, quick, repeat.max(1));
}

fn fail(msg: &str) -> ! {
    eprintln!("datachannel-bench: {msg}");
    std::process::exit(2)
}

/// Runs one workload in this (child) process and prints `RESULT <value>`: seconds for a
/// transfer, the median set-up in milliseconds, bytes per second for UDP.
fn child(stack: &str, w: Workload) {
    if let Workload::Udp { size, count } = w {
        let (bytes, secs) = udp::blast(size, count);
        println!("RESULT {} {}", bytes as f64 / secs, bytes);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = rt.block_on(async {
        let work = async {
            match (stack, w) {
                ("oxrtc", Workload::Setup { runs }) => setup_median(runs, oxrtc_peer::setup).await,
                ("oxrtc", Workload::Transfer { size, count }) => oxrtc_peer::transfer(size, count).await,
                ("oxrtc-ortc", Workload::Setup { runs }) => setup_median(runs, oxrtc_ortc_peer::setup).await,
                ("oxrtc-ortc", Workload::Transfer { size, count }) => oxrtc_ortc_peer::transfer(size, count).await,
                ("webrtc-rs", Workload::Setup { runs }) => setup_median(runs, webrtc_rs_peer::setup).await,
                ("webrtc-rs", Workload::Transfer { size, count }) => webrtc_rs_peer::transfer(size, count).await,
                ("rustrtc", Workload::Setup { runs }) => setup_median(runs, rustrtc_peer::setup).await,
                ("rustrtc", Workload::Transfer { size, count }) => rustrtc_peer::transfer(size, count).await,
                (s, w) => Err(format!("stack {s} cannot run {w:?} here")),
            }
        };
        tokio::time::timeout(CHILD_DEADLINE, work).await.unwrap_or_else(|_| Err("timed out".into()))
    });
    match result {
        Ok(v) => println!("RESULT {v}"),
        Err(e) => fail(&format!("{stack} {w:?}: {e}")),
    }
    // Peers' tasks may still be closing; do not wait for them.
    rt.shutdown_timeout(Duration::from_millis(200));
}

async fn setup_median<F, Fut>(runs: usize, mut once: F) -> Result<f64, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Duration, String>>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        times.push(once().await?.as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Refuses a description with a candidate on anything but 127.0.0.1.
pub fn check_loopback(sdp: &str) -> Result<(), String> {
    let mut any = false;
    for line in sdp.lines().filter(|l| l.starts_with("a=candidate:")) {
        any = true;
        if !line.contains(" 127.0.0.1 ") {
            return Err(format!("non-loopback candidate in description: {line}"));
        }
    }
    if any {
        Ok(())
    } else {
        Err("no candidate in the description".into())
    }
}

/// How a child ended: what it printed and what it cost.
struct Measured {
    value: Result<f64, String>,
    cpu_secs: f64,
    peak_rss_mib: f64,
}

fn run_child(mut cmd: Command) -> Measured {
    let failed = |e: String| Measured { value: Err(e), cpu_secs: 0.0, peak_rss_mib: 0.0 };
    let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("spawn: {e}")),
    };
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + CHILD_DEADLINE + Duration::from_secs(20);
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: waits for our own child, writing into locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid || r < 0 {
            break;
        }
        if Instant::now() > deadline && !killed {
            // SAFETY: the child has not been reaped yet, so the pid is still ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = reader.join().unwrap_or_default();
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let value = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .ok_or_else(|| if killed { "killed after the deadline".to_string() } else { format!("failed: {out}") });
    Measured { value, cpu_secs: tv(usage.ru_utime) + tv(usage.ru_stime), peak_rss_mib: usage.ru_maxrss as f64 / 1024.0 }
}

fn aiortc_paths() -> (String, String) {
    let dir = env!("CARGO_MANIFEST_DIR");
    (format!("{dir}/../.venv/bin/python"), format!("{dir}/peers/aiortc_bench.py"))
}

fn command(stack: &str, workload: &str, extra: &[(&str, usize)]) -> Command {
    let mut cmd = if stack == "aiortc" {
        let (python, script) = aiortc_paths();
        let mut c = Command::new(python);
        c.arg(script);
        c
    } else {
        Command::new(std::env::current_exe().expect("own path"))
    };
    cmd.args(["--stack", stack, "--workload", workload]);
    for (k, v) in extra {
        cmd.arg(k).arg(v.to_string());
    }
    cmd
}

struct Row {
    stack: String,
    note: String,
    m: Measured,
}

fn parent(stacks: &[String], quick: bool, repeat: usize) {
    let (bulk_bytes, small_count, runs) = if quick { (32 << 20, 20_000, 5) } else { (256 << 20, 100_000, 10) };
    // aiortc is pure Python: a smaller volume of the same workload keeps it within the deadline.
    let (ai_bulk, ai_small) = if quick { (8 << 20, 5_000) } else { (32 << 20, 20_000) };
    let has = |s: &str| stacks.iter().any(|x| x == s);
    if has("aiortc") && !std::path::Path::new(&aiortc_paths().0).exists() {
        eprintln!("aiortc skipped: no {} (run scripts/pyenv.sh)", aiortc_paths().0);
    }
    let ai_ok = std::path::Path::new(&aiortc_paths().0).exists();
    let rtc: Vec<&String> = stacks.iter().filter(|s| *s != "udp" && (*s != "aiortc" || ai_ok)).collect();
    let mode = if quick { " --quick" } else { "" };
    println!("datachannel-bench{mode} --repeat {repeat}: {} cores, load average {}", cores(), load());

    // Every (stack, workload) runs `repeat` times, the rounds interleaved so that a change in
    // the machine's load touches every stack alike; the median run is reported.
    let mut jobs: Vec<Job> = Vec::new();
    for s in &rtc {
        let note = format!("median of {runs}");
        jobs.push(Job { section: 0, stack: s.to_string(), note, workload: "setup", args: vec![("--runs", runs)] });
    }
    for (section, size, total) in [(1, 65536usize, bulk_bytes), (2, 1024, small_count * 1024)] {
        for s in &rtc {
            let total = match (s.as_str(), size) {
                ("aiortc", 1024) => ai_small * 1024,
                ("aiortc", _) => ai_bulk,
                _ => total,
            };
            let count = total / size;
            let args = vec![("--size", size), ("--count", count)];
            let note = format!("{count} x {size} B");
            jobs.push(Job { section, stack: s.to_string(), note, workload: "transfer", args });
        }
    }
    if has("udp") {
        let count = bulk_bytes / 1200;
        let args = vec![("--size", 1200), ("--count", count)];
        let note = format!("{count} x 1200 B sent");
        jobs.push(Job { section: 3, stack: "udp".into(), note, workload: "udp", args });
    }
    let mut results: Vec<Vec<Measured>> = jobs.iter().map(|_| Vec::new()).collect();
    for round in 0..repeat {
        for (job, out) in jobs.iter().zip(results.iter_mut()) {
            eprintln!("… round {}/{repeat}: {} {} {}", round + 1, job.stack, job.workload, job.note);
            out.push(run_child(command(&job.stack, job.workload, &job.args)));
        }
    }
    let mut sections: [Vec<Row>; 4] = Default::default();
    for (job, mut runs) in jobs.into_iter().zip(results) {
        // Failures sort last; the median of the successful runs otherwise.
        runs.sort_by(|a, b| match (&a.value, &b.value) {
            (Ok(x), Ok(y)) => x.total_cmp(y),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
            _ => std::cmp::Ordering::Equal,
        });
        let ok = runs.iter().filter(|m| m.value.is_ok()).count().max(1);
        let m = runs.swap_remove((ok - 1) / 2);
        let note = if repeat > 1 { format!("{}, median of {repeat} runs", job.note) } else { job.note };
        let stack = if job.stack == "udp" { "udp (raw)".to_string() } else { job.stack };
        sections[job.section].push(Row { stack, note, m });
    }
    let [setup, mut bulk, mut small, udp_rows] = sections;
    let ceiling = udp_rows.into_iter().next();

    let oxrtc_value = |rows: &[Row]| rows.iter().find(|r| r.stack == "oxrtc").and_then(|r| r.m.value.clone().ok());
    // Transfers: throughput from the seconds the child reported.
    let rate = |rows: &mut Vec<Row>, per: fn(usize, usize, f64) -> f64| {
        for r in rows.iter_mut() {
            let (count, size) = parse_note(&r.note);
            r.m.value = r.m.value.clone().map(|secs| per(count, size, secs));
        }
    };
    rate(&mut bulk, |c, s, secs| (c * s) as f64 / MIB / secs);
    rate(&mut small, |c, _, secs| c as f64 / secs);
    let ox_bulk = oxrtc_value(&bulk);
    print_table("set-up: create_offer to both channels open (ms, lower is better)", &setup, |v| {
        oxrtc_value(&setup).map(|o| v / o)
    });
    print_table("bulk: 64 KiB messages, reliable ordered (MiB/s)", &bulk, |v| ox_bulk.map(|o| o / v));
    print_table("small: 1 KiB messages (messages/s)", &small, |v| oxrtc_value(&small).map(|o| o / v));
    if let Some(mut c) = ceiling {
        c.m.value = c.m.value.map(|bps| bps / MIB);
        let v = c.m.value.clone();
        print_table("ceiling: raw UDP loopback, 1200-byte datagrams (MiB/s received)", &[c], |v| {
            ox_bulk.map(|o| o / v)
        });
        if let (Ok(v), Some(o)) = (v, ox_bulk) {
            println!("oxrtc bulk is {:.2} of the raw UDP ceiling (target ≥ 0.5)", o / v);
        }
    }
    println!("\n(oxrtc ×: how many times better oxrtc is; > 1 means oxrtc wins)");
    println!("load average after the run: {}", load());
}

fn parse_note(note: &str) -> (usize, usize) {
    let mut it = note.split(" x ");
    let count = it.next().and_then(|c| c.trim().parse().ok()).unwrap_or(0);
    let size = it.next().and_then(|s| s.split(" B").next()?.trim().parse().ok()).unwrap_or(0);
    (count, size)
}

/// One (stack, workload) child to run.
struct Job {
    section: usize,
    stack: String,
    note: String,
    workload: &'static str,
    args: Vec<(&'static str, usize)>,
}

fn print_table(title: &str, rows: &[Row], ratio: impl Fn(f64) -> Option<f64>) {
    println!("\n{title}");
    println!("{:<10} {:>12} {:>9} {:>8} {:>9}  workload", "stack", "value", "oxrtc ×", "CPU s", "RSS MiB");
    for r in rows {
        match &r.m.value {
            Ok(v) => println!(
                "{:<10} {:>12.2} {:>9} {:>8.2} {:>9.1}  {}",
                r.stack,
                v,
                ratio(*v).map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()),
                r.m.cpu_secs,
                r.m.peak_rss_mib,
                r.note
            ),
            Err(e) => println!(
                "{:<10} {:>12} {:>9} {:>8.2} {:>9.1}  {} ({e})",
                r.stack, "FAILED", "-", r.m.cpu_secs, r.m.peak_rss_mib, r.note
            ),
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
