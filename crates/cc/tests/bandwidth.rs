//! Bandwidth estimation scenarios on virtual time (issue 10, "How we will
//! know"). Each prints what it measured; run with `--nocapture` to see.

mod common;

use std::time::Duration;

use cc::{Bitrate, CcConfig};
use common::{Link, Sim, MS};

const S: Duration = Duration::from_secs(1);

/// 2 Mbit/s, 25 ms each way (50 ms RTT), a 100 ms drop-tail queue.
fn link(loss: f64, seed: u64) -> Link {
    Link::new(Bitrate::mbps(2), 100 * MS, 25 * MS, loss, seed)
}

/// When the target first reached `at_least`.
fn reached(sim: &Sim, flow: usize, at_least: Bitrate) -> Option<Duration> {
    sim.flows[flow].targets.iter().find(|(_, r)| *r >= at_least).map(|x| x.0)
}

#[test]
fn reaches_capacity_within_10s_and_keeps_queues_short() {
    let mut sim = Sim::new(link(0.0, 1));
    sim.add_flow(CcConfig::default());
    sim.run_until(40 * S);
    let t = reached(&sim, 0, Bitrate::kbps(1_600)).expect("never reached 80% of capacity");
    let f = &sim.flows[0];
    let mean = f.mean_target(10 * S, 40 * S);
    let min = (100..400).map(|i| f.target_at(i * S / 10)).min().unwrap();
    let max = (100..400).map(|i| f.target_at(i * S / 10)).max().unwrap();
    let goodput = f.goodput(10 * S, 40 * S);
    let p95 = sim.queue_delay_percentile(t, 40 * S, 0.95);
    let qmax = sim.max_queue_delay(t, 40 * S);
    eprintln!(
        "reached 1.6 Mbit/s at {t:?}; 10-40 s: mean target {:.0} kbit/s (min {min}, max {max}), goodput {:.0} kbit/s; \
         queue delay after reaching: p95 {p95:?}, max {qmax:?}; drops: {} queue, of {} carried",
        mean / 1e3,
        goodput / 1e3,
        sim.link.dropped_queue,
        sim.link.carried
    );
    assert!(t <= 10 * S, "reached 80% at {t:?}");
    assert!((1_600_000.0..=2_000_000.0).contains(&mean), "mean {mean}");
    assert!(qmax < 150 * MS, "{qmax:?}");
}

#[test]
fn follows_a_drop_to_500_kbps_within_2s() {
    let mut sim = Sim::new(link(0.0, 2));
    sim.add_flow(CcConfig::default());
    sim.run_until(20 * S);
    let before = sim.flows[0].target_at(20 * S);
    sim.link.capacity = Bitrate::kbps(500);
    sim.run_until(40 * S);
    let f = &sim.flows[0];
    let followed = f
        .targets
        .iter()
        .find(|(t, r)| *t >= 20 * S && *r <= Bitrate::kbps(550))
        .map(|x| x.0 - 20 * S)
        .expect("never followed");
    let mean = f.mean_target(25 * S, 40 * S);
    let p95 = sim.queue_delay_percentile(25 * S, 40 * S, 0.95);
    eprintln!(
        "target {before} before the drop; under 550 kbit/s {followed:?} after it; 25-40 s: mean target {:.0} kbit/s, \
         goodput {:.0} kbit/s, queue delay p95 {p95:?}",
        mean / 1e3,
        f.goodput(25 * S, 40 * S) / 1e3
    );
    assert!(followed <= 2 * S, "{followed:?}");
    assert!((250_000.0..=550_000.0).contains(&mean), "mean {mean}");
}

#[test]
fn five_percent_random_loss_after_convergence_does_not_collapse() {
    // The loss begins once the estimate has converged: the classic loss
    // controller holds between 2% and 10%, only the delay-based estimate
    // moves the target.
    let mut sim = Sim::new(link(0.0, 3));
    sim.add_flow(CcConfig::default());
    sim.run_until(15 * S);
    sim.link.loss = 0.05;
    sim.run_until(45 * S);
    let f = &sim.flows[0];
    let mean = f.mean_target(20 * S, 45 * S);
    let min = (200..450).map(|i| f.target_at(i * S / 10)).min().unwrap();
    eprintln!(
        "5% loss from 15 s: 20-45 s mean target {:.0} kbit/s, min {min}; random drops {}, queue drops {}; last loss {:?}",
        mean / 1e3,
        sim.link.dropped_random,
        sim.link.dropped_queue,
        f.cc.stats().loss_fraction
    );
    assert!(min >= Bitrate::mbps(1), "{min}");
}

#[test]
fn five_percent_random_loss_from_the_start_measured() {
    let mut sim = Sim::new(link(0.05, 4));
    sim.add_flow(CcConfig::default());
    sim.run_until(30 * S);
    let f = &sim.flows[0];
    let mean = f.mean_target(10 * S, 30 * S);
    eprintln!(
        "5% loss from the start: 10-30 s mean target {:.0} kbit/s; targets: {:?}",
        mean / 1e3,
        &f.targets[..8.min(f.targets.len())]
    );
    assert!(mean >= 1_000_000.0, "mean {mean}");
}

#[test]
fn two_flows_share_a_bottleneck() {
    let mut sim = Sim::new(link(0.0, 5));
    sim.add_flow(CcConfig::default());
    sim.add_flow(CcConfig::default());
    sim.run_until(60 * S);
    let a = sim.flows[0].mean_target(30 * S, 60 * S);
    let b = sim.flows[1].mean_target(30 * S, 60 * S);
    let (ga, gb) = (sim.flows[0].goodput(30 * S, 60 * S), sim.flows[1].goodput(30 * S, 60 * S));
    let ratio = a.max(b) / a.min(b);
    eprintln!(
        "two flows, 30-60 s: targets {:.0} and {:.0} kbit/s (ratio {ratio:.2}), goodput {:.0} and {:.0} kbit/s, \
         queue delay p95 {:?}",
        a / 1e3,
        b / 1e3,
        ga / 1e3,
        gb / 1e3,
        sim.queue_delay_percentile(30 * S, 60 * S, 0.95)
    );
    assert!(ratio <= 1.5, "ratio {ratio}");
}

#[test]
fn classic_loss_control_stays_far_below_capacity_under_loss_without_initial_probes() {
    // What the classic controller gives when loss is there before any
    // estimate: between 2% and 10% it neither grows nor drops, and the
    // start-phase shortcut (take the delay-based estimate) needs zero loss.
    // With initial probes the probe result usually lands before the first
    // 20 packets are counted (see `five_percent_random_loss_from_the_start_measured`);
    // without them the target only creeps up when a 20-packet measurement
    // happens to see 2% loss or less, and drops on those that see over 10%.
    let mut sim = Sim::new(link(0.05, 4));
    sim.add_flow(CcConfig { initial_probing: false, ..CcConfig::default() });
    sim.run_until(60 * S);
    let f = &sim.flows[0];
    let at: Vec<_> = [5, 10, 20, 30, 45, 60].iter().map(|s| (s, f.target_at(*s * S))).collect();
    let mean = f.mean_target(10 * S, 30 * S);
    eprintln!(
        "5% loss from the start, no initial probes: 10-30 s mean target {:.0} kbit/s; at seconds {at:?}; delay-based {:?}",
        mean / 1e3,
        f.cc.stats().delay_based
    );
    assert!(mean < 1_000_000.0, "mean {mean}");
}

#[test]
fn a_late_joiner_gets_a_share() {
    let mut sim = Sim::new(link(0.0, 6));
    sim.add_flow(CcConfig::default());
    sim.run_until(10 * S);
    sim.add_flow(CcConfig::default());
    sim.run_until(70 * S);
    let a = sim.flows[0].mean_target(40 * S, 70 * S);
    let b = sim.flows[1].mean_target(40 * S, 70 * S);
    let ratio = a.max(b) / a.min(b);
    eprintln!("late joiner (+10 s), 40-70 s: targets {:.0} and {:.0} kbit/s (ratio {ratio:.2})", a / 1e3, b / 1e3);
    assert!(ratio <= 1.5, "ratio {ratio}");
}

/// A table over capacity × one-way delay × queue size, for tuning; prints
/// only (`cargo test -p oxrtc-cc --test bandwidth -- --ignored --nocapture`).
#[test]
#[ignore = "a table to read, 7 s in debug"]
fn sweep_capacity_delay_queue() {
    for cap in [500u64, 1_000, 2_000, 5_000] {
        for owd in [10u64, 25, 50, 100] {
            for q in [50u64, 100, 300] {
                let mut sim = Sim::new(Link::new(Bitrate::kbps(cap), MS * q as u32, MS * owd as u32, 0.0, 1));
                sim.add_flow(CcConfig::default());
                sim.run_until(40 * S);
                let f = &sim.flows[0];
                let reach = f.targets.iter().find(|(_, r)| r.as_bps() >= cap * 800).map(|x| x.0);
                let mean = f.mean_target(10 * S, 40 * S) / (cap as f64 * 1e3);
                let min = (100..400).map(|i| f.target_at(i * S / 10)).min().unwrap().as_f64() / (cap as f64 * 1e3);
                eprintln!(
                    "cap {cap} owd {owd} q {q}: reach80 {reach:?} mean {mean:.2} min {min:.2} p95q {:?} qdrops {}",
                    sim.queue_delay_percentile(10 * S, 40 * S, 0.95),
                    sim.link.dropped_queue
                );
            }
        }
    }
}

#[test]
fn jitter_of_20ms_costs_little() {
    // Up to 20 ms of random extra delay per packet (order kept): noise the
    // trendline must not take for congestion.
    let mut l = link(0.0, 7);
    l.jitter = 20 * MS;
    let mut sim = Sim::new(l);
    sim.add_flow(CcConfig::default());
    sim.run_until(40 * S);
    let f = &sim.flows[0];
    let mean = f.mean_target(10 * S, 40 * S);
    let min = (100..400).map(|i| f.target_at(i * S / 10)).min().unwrap();
    eprintln!(
        "20 ms jitter: 10-40 s mean target {:.0} kbit/s, min {min}, reached 1.6 Mbit/s at {:?}, queue drops {}",
        mean / 1e3,
        reached(&sim, 0, Bitrate::kbps(1_600)),
        sim.link.dropped_queue
    );
    assert!(mean >= 1_400_000.0, "mean {mean}");
}

#[test]
fn application_limited_sender_keeps_its_estimate_and_gets_it_back() {
    // Full rate for 10 s, then the encoder produces 300 kbit/s at most for
    // 20 s, then full rate again. While application limited, feedback can
    // show no more than what is sent; the estimate is held (AIMD does not
    // grow past 1.5 x acknowledged + 10 kbit/s, nor fall without overuse)
    // and ALR probes (2 x the estimate every 5 s) keep testing the path.
    //
    // When the encoder jumps back to 1.9 Mbit/s the detector may report
    // overuse within ~0.3 s (its threshold fell during the quiet period)
    // while the acknowledged rate still says 300 kbit/s. The backoff then
    // starts from the estimate (see `aimd`), not from that stale rate: the
    // target keeps at least 80% of what it held (this test used to record
    // the collapse to 0.85 x 300 kbit/s; see
    // `an_application_limited_period_does_not_collapse_the_estimate`).
    let mut sim = Sim::new(link(0.0, 8));
    sim.add_flow(CcConfig::default());
    sim.run_until(10 * S);
    sim.flows[0].max_media = Some(Bitrate::kbps(300));
    sim.run_until(29 * S);
    let in_alr = sim.flows[0].cc.stats().in_alr;
    let held = sim.flows[0].target_at(29 * S);
    let alr_probes: Vec<_> = sim.flows[0].probes.iter().filter(|p| p.0 > 10 * S).copied().collect();
    sim.run_until(30 * S);
    sim.flows[0].max_media = None;
    sim.run_until(40 * S);
    let f = &sim.flows[0];
    let after = f.mean_target(30 * S, 40 * S);
    let dip = f.targets.iter().filter(|t| t.0 >= 30 * S).map(|t| t.1).min().unwrap();
    eprintln!(
        "application limited at 300 kbit/s from 10 s: in ALR {in_alr}, target at 29 s {held}, ALR probes {alr_probes:?}; \
         unlimited again: dips to {dip}, 30-40 s mean {:.0} kbit/s",
        after / 1e3
    );
    assert!(in_alr);
    assert!(alr_probes.len() >= 3, "{alr_probes:?}");
    assert!(held >= Bitrate::kbps(1_600), "{held}");
    assert!(dip >= held.mul_f64(0.8), "{dip}");
    assert!(after >= 1_600_000.0, "{after}");
}

#[test]
fn a_sender_limited_from_the_start_is_not_in_alr_at_65_percent() {
    // Measured, and a property of the constants: an encoder capped at
    // 500 kbit/s from the start lets AIMD grow to 1.5 x 500 + 10 kbit/s
    // only; 500 of ~785 kbit/s is about the 65% the ALR budget fills at, so
    // ALR never starts and no ALR probe shows the path's real 2 Mbit/s.
    let mut sim = Sim::new(link(0.0, 8));
    sim.add_flow(CcConfig { initial_probing: false, ..CcConfig::default() });
    sim.flows[0].max_media = Some(Bitrate::kbps(500));
    sim.run_until(30 * S);
    let f = &sim.flows[0];
    eprintln!(
        "capped at 500 kbit/s from the start: in ALR {}, target at 30 s {}, probes {:?}",
        f.cc.stats().in_alr,
        f.target_at(30 * S),
        f.probes
    );
    assert!(!f.cc.stats().in_alr);
    assert!(f.target_at(30 * S) < Bitrate::kbps(800));
}

/// The lowest target set in [from, to), counting the one in force at `from`.
fn min_target(sim: &Sim, flow: usize, from: Duration, to: Duration) -> Bitrate {
    let f = &sim.flows[flow];
    f.targets.iter().filter(|(t, _)| *t >= from && *t < to).map(|x| x.1).chain([f.target_at(from)]).min().unwrap()
}

#[test]
fn an_application_limited_period_does_not_collapse_the_estimate() {
    // Full rate for 10 s, then 20 s of audio only (200 kbit/s, a tenth of
    // the path), then full rate again. While application limited the
    // estimate holds (nothing tests it but the ALR probes); when the encoder
    // returns to full rate it builds a short queue on the 2 Mbit/s link, and
    // the detector, whose threshold fell during the quiet period, may call
    // it overuse. That is worth one backoff from the estimate (x 0.85), not
    // a fall to 0.85 x the acknowledged rate, which still measures the
    // audio-only period. Bound: 80% of the estimate held in ALR (one backoff
    // passes, two in a row, 72%, do not). And within 3 s of the return the
    // target is at 80% of capacity (1.6 Mbit/s) for good: its mean from
    // then on is at least that.
    let mut sim = Sim::new(link(0.0, 9));
    sim.add_flow(CcConfig::default());
    sim.run_until(10 * S);
    sim.flows[0].max_media = Some(Bitrate::kbps(200));
    sim.run_until(30 * S);
    let in_alr = sim.flows[0].cc.stats().in_alr;
    let held = sim.flows[0].target_at(30 * S);
    sim.flows[0].max_media = None;
    sim.run_until(45 * S);
    let f = &sim.flows[0];
    let dip = min_target(&sim, 0, 30 * S, 45 * S);
    // When the target was last raised from under 1.6 Mbit/s to it or above.
    let under = Bitrate::kbps(1_600);
    let back = f
        .targets
        .windows(2)
        .rev()
        .find(|w| w[1].0 >= 30 * S && w[0].1 < under && w[1].1 >= under)
        .map_or(Duration::ZERO, |w| w[1].0 - 30 * S);
    let still_under = f.target_at(45 * S) < under;
    let mean = f.mean_target(33 * S, 45 * S);
    let p95 = sim.queue_delay_percentile(30 * S, 45 * S, 0.95);
    eprintln!(
        "200 kbit/s from 10 s to 30 s: in ALR {in_alr}, target {held} at 30 s; unlimited from 30 s: dips to {dip} \
         ({:.0}% of it), at 1.6 Mbit/s for good {back:?} after (under it at 45 s: {still_under}), 33-45 s mean \
         {:.0} kbit/s, goodput {:.0} kbit/s, queue delay p95 {p95:?}",
        dip.as_f64() / held.as_f64() * 100.0,
        mean / 1e3,
        f.goodput(33 * S, 45 * S) / 1e3
    );
    assert!(in_alr);
    assert!(dip >= held.mul_f64(0.8), "dip {dip}, held {held}");
    assert!(!still_under && back <= 3 * S, "{back:?}");
    assert!(mean >= 1_600_000.0, "mean {mean}");
    assert!(p95 < 100 * MS, "{p95:?}");
}

#[test]
fn a_capacity_drop_during_an_application_limited_period_is_still_followed() {
    // The other side of not trusting the application-limited acknowledged
    // rate: the path lost capacity (2 Mbit/s to 500 kbit/s) while the
    // sender sent 200 kbit/s, so nothing showed it. At full rate again the
    // estimate must come down to the path, from the estimate by 0.85 steps
    // and then, once the acknowledged rate is the path's again, to it.
    let mut sim = Sim::new(link(0.0, 10));
    sim.add_flow(CcConfig::default());
    sim.run_until(10 * S);
    sim.flows[0].max_media = Some(Bitrate::kbps(200));
    sim.run_until(20 * S);
    sim.link.capacity = Bitrate::kbps(500);
    sim.run_until(30 * S);
    let held = sim.flows[0].target_at(30 * S);
    sim.flows[0].max_media = None;
    sim.run_until(45 * S);
    let f = &sim.flows[0];
    let followed = f.targets.iter().find(|(t, r)| *t >= 30 * S && *r <= Bitrate::kbps(550)).map(|x| x.0 - 30 * S);
    let mean = f.mean_target(35 * S, 45 * S);
    let p95 = sim.queue_delay_percentile(35 * S, 45 * S, 0.95);
    let probes: Vec<_> = f.probes.iter().filter(|p| p.0 >= 30 * S).collect();
    eprintln!(
        "capacity 500 kbit/s from 20 s, application limited until 30 s: target {held} at 30 s, under 550 kbit/s \
         {followed:?} after; 35-45 s mean {:.0} kbit/s, queue delay p95 {p95:?}, queue drops {}; probes after 30 s \
         {probes:?}",
        mean / 1e3,
        sim.link.dropped_queue
    );
    assert!(followed.is_some_and(|t| t <= 3 * S), "{followed:?}");
    assert!((250_000.0..=550_000.0).contains(&mean), "mean {mean}");
    // The drop after ALR is checked by one probe, which confirms it.
    assert!(probes.len() <= 1, "{probes:?}");
}

#[test]
fn a_feedback_blackout_pushes_the_target_back_until_feedback_returns() {
    // Converged at 2 Mbit/s, then the return path dies for 5 s: the forward
    // path still works, but no report says so. Nothing then bounds what the
    // sender pushes into a path it knows nothing about; the target must come
    // down, progressively: nothing in the first 0.5 s (max(2 x 50 ms RTT,
    // 500 ms): feedback every 50 ms is not late yet), then halving every
    // second, so at most ~1/16 of the estimate by the end of the 5 s. When
    // reports come back the target is the estimate again at once.
    let mut sim = Sim::new(link(0.0, 11));
    sim.add_flow(CcConfig::default());
    sim.run_until(15 * S);
    let before = sim.flows[0].target_at(15 * S);
    sim.feedback_lost = true;
    sim.run_until(20 * S);
    sim.feedback_lost = false;
    let pushback_at_end = sim.flows[0].cc.stats().feedback_pushback;
    sim.run_until(30 * S);
    let f = &sim.flows[0];
    let at = |ms: u32| f.target_at(ms * MS);
    let (at_15_4, at_17, at_20) = (at(15_400), at(17_000), at(20_000));
    let sent_in_blackout = f.goodput(15 * S, 20 * S + 100 * MS);
    let back = f.targets.iter().find(|(t, r)| *t >= 20 * S && *r >= before.mul_f64(0.8)).map(|x| x.0 - 20 * S);
    let mean_after = f.mean_target(21 * S, 30 * S);
    eprintln!(
        "feedback lost 15-20 s: target {before} before, {at_15_4} at 15.4 s, {at_17} at 17 s, {at_20} at 20 s \
         (pushback {pushback_at_end:.3}); delivered {:.0} kbit/s in the blackout; back at 80% of {before} {back:?} \
         after it; 21-30 s mean {:.0} kbit/s, bytes in flight at 30 s {}",
        sent_in_blackout / 1e3,
        mean_after / 1e3,
        f.cc.stats().bytes_in_flight
    );
    assert!(before >= Bitrate::kbps(1_600), "{before}");
    assert!(at_15_4 >= before.mul_f64(0.95), "{at_15_4}");
    assert!(at_17 <= before.mul_f64(0.6) && at_17 >= before.mul_f64(0.3), "{at_17}");
    assert!(at_20 <= before.mul_f64(0.1), "{at_20}");
    assert!(sent_in_blackout <= 0.5 * before.as_f64(), "{sent_in_blackout}");
    assert!(back.is_some_and(|b| b <= 500 * MS), "{back:?}");
    assert!(mean_after >= 1_600_000.0, "{mean_after}");
    assert!(f.cc.stats().bytes_in_flight < 20_000, "{}", f.cc.stats().bytes_in_flight);
}

#[test]
fn a_long_path_keeps_the_rate_the_initial_probes_found() {
    // 5 Mbit/s, 100 ms each way. The initial probes find 4.75 Mbit/s at
    // 0.75 s, when the acknowledged rate (filtered over the first windows)
    // still says ~1.2-1.5 Mbit/s; a marginal overuse right after used to cut
    // to 0.85 x that (1.24 Mbit/s), then 8%/s took 19 s to climb back. The
    // jump to a probe result is treated like a way out of ALR: the backoff
    // starts from the estimate until the acknowledged rate has followed.
    let mut sim = Sim::new(Link::new(Bitrate::mbps(5), 100 * MS, 100 * MS, 0.0, 1));
    sim.add_flow(CcConfig::default());
    sim.run_until(40 * S);
    let f = &sim.flows[0];
    let min = min_target(&sim, 0, 2 * S, 40 * S);
    let mean = f.mean_target(10 * S, 40 * S);
    eprintln!(
        "5 Mbit/s, 200 ms RTT: reached 4 Mbit/s at {:?}; 2-40 s min target {min}; 10-40 s mean {:.0} kbit/s, queue \
         delay p95 {:?}",
        reached(&sim, 0, Bitrate::mbps(4)),
        mean / 1e3,
        sim.queue_delay_percentile(10 * S, 40 * S, 0.95)
    );
    assert!(min >= Bitrate::mbps(3), "{min}");
    assert!(mean >= 4_000_000.0, "{mean}");
}
