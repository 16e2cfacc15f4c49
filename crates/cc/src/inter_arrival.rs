//! Inter-arrival grouping (draft-ietf-rmcat-gcc-02 section 5.1).
//!
//! Packets sent within 5 ms of the first packet of a group form one group
//! (a video frame sent as a burst). For each pair of consecutive complete
//! groups the estimator gets the send-time delta (between the last packets
//! sent) and the arrival-time delta (between the last packets received);
//! their difference is the queuing delay variation the trendline filter
//! works on.
//!
//! Like libwebrtc's `InterArrivalDelta`, packets that arrive in a burst
//! (less than 5 ms after the group's last arrival, faster than they were
//! sent, within 100 ms of the group's first arrival) join the current group:
//! they were queued together upstream and say nothing about our rate.

use std::time::{Duration, Instant};

/// Send-time span of one group (libwebrtc `kSendTimeGroupLength`, 5 ms).
const GROUP_LENGTH: Duration = Duration::from_millis(5);
/// Arrival spacing under which a packet belongs to a burst (`kBurstDeltaThreshold`).
const BURST_DELTA: Duration = Duration::from_millis(5);
/// Longest burst (`kMaxBurstDuration`).
const MAX_BURST: Duration = Duration::from_millis(100);
/// Reset after this many reordered groups in a row (`kReorderedResetThreshold`).
const REORDERED_RESET: u32 = 3;
/// Reset when the remote clock drifts from ours by this much between two
/// groups (`kArrivalTimeOffsetThreshold`, 3 s).
const ARRIVAL_OFFSET_RESET: i64 = 3_000_000;

/// The deltas between two consecutive groups, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct GroupDeltas {
    pub(crate) send_delta_us: i64,
    pub(crate) arrival_delta_us: i64,
}

#[derive(Clone, Copy, Debug)]
struct Group {
    first_send: Instant,
    last_send: Instant,
    first_arrival: Duration,
    last_arrival: Duration,
    last_system: Instant,
}

/// Splits a stream of (send, arrival) samples into groups.
#[derive(Debug, Default)]
pub(crate) struct InterArrival {
    current: Option<Group>,
    previous: Option<Group>,
    reordered: u32,
}

/// `a - b` in microseconds, signed.
pub(crate) fn instant_delta_us(a: Instant, b: Instant) -> i64 {
    if a >= b {
        (a - b).as_micros() as i64
    } else {
        -((b - a).as_micros() as i64)
    }
}

/// `a - b` in microseconds, signed.
pub(crate) fn duration_delta_us(a: Duration, b: Duration) -> i64 {
    a.as_micros() as i64 - b.as_micros() as i64
}

impl InterArrival {
    /// Feeds one received packet (in arrival order). `system` is when its
    /// feedback reached us. Returns the deltas when a group completes.
    pub(crate) fn on_packet(&mut self, send: Instant, arrival: Duration, system: Instant) -> Option<GroupDeltas> {
        let Some(cur) = self.current.as_mut() else {
            self.current = Some(Group {
                first_send: send,
                last_send: send,
                first_arrival: arrival,
                last_arrival: arrival,
                last_system: system,
            });
            return None;
        };
        if send < cur.first_send {
            // Sent before the current group started: reordered, ignored.
            return None;
        }
        let mut deltas = None;
        if Self::starts_new_group(cur, send, arrival) {
            if let Some(prev) = self.previous {
                let send_delta_us = instant_delta_us(cur.last_send, prev.last_send);
                let arrival_delta_us = duration_delta_us(cur.last_arrival, prev.last_arrival);
                let system_delta_us = instant_delta_us(cur.last_system, prev.last_system);
                if arrival_delta_us - system_delta_us >= ARRIVAL_OFFSET_RESET {
                    *self = InterArrival::default();
                    return None;
                }
                if arrival_delta_us < 0 {
                    self.reordered += 1;
                    if self.reordered >= REORDERED_RESET {
                        *self = InterArrival::default();
                    }
                    return None;
                }
                self.reordered = 0;
                deltas = Some(GroupDeltas { send_delta_us, arrival_delta_us });
            }
            self.previous = Some(*cur);
            *cur = Group {
                first_send: send,
                last_send: send,
                first_arrival: arrival,
                last_arrival: arrival,
                last_system: system,
            };
            return deltas;
        }
        cur.last_send = cur.last_send.max(send);
        cur.last_arrival = arrival;
        cur.last_system = system;
        deltas
    }

    fn starts_new_group(cur: &Group, send: Instant, arrival: Duration) -> bool {
        if Self::in_burst(cur, send, arrival) {
            return false;
        }
        send.saturating_duration_since(cur.first_send) > GROUP_LENGTH
    }

    fn in_burst(cur: &Group, send: Instant, arrival: Duration) -> bool {
        let arrival_delta = duration_delta_us(arrival, cur.last_arrival);
        let send_delta = instant_delta_us(send, cur.last_send);
        if send_delta == 0 {
            return true;
        }
        let propagation_delta = arrival_delta - send_delta;
        propagation_delta < 0
            && arrival_delta <= BURST_DELTA.as_micros() as i64
            && duration_delta_us(arrival, cur.first_arrival) < MAX_BURST.as_micros() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn groups_of_five_ms_give_deltas_between_last_packets() {
        let t0 = Instant::now();
        let mut ia = InterArrival::default();
        // Group 1: sent at 0 and 2 ms; group 2: sent at 10, 12; group 3 at 20.
        let mut out = Vec::new();
        for (s, a) in [(0, 100), (2, 103), (10, 110), (12, 114), (20, 125)] {
            out.push(ia.on_packet(t0 + ms(s), ms(a), t0 + ms(a)));
        }
        // Group 1 -> group 2 completes when group 3 begins.
        assert_eq!(out.iter().flatten().count(), 1);
        let d = out[4].unwrap();
        assert_eq!(d.send_delta_us, 10_000);
        assert_eq!(d.arrival_delta_us, 11_000);
    }

    #[test]
    fn bursts_join_the_current_group() {
        let t0 = Instant::now();
        let mut ia = InterArrival::default();
        assert!(ia.on_packet(t0, ms(100), t0).is_none());
        // Sent 20 ms later but arrives 1 ms later: queued together upstream.
        assert!(ia.on_packet(t0 + ms(20), ms(101), t0).is_none());
        assert!(ia.previous.is_none());
        assert_eq!(ia.current.unwrap().last_send, t0 + ms(20));
    }

    #[test]
    fn reordered_packets_are_ignored() {
        let t0 = Instant::now();
        let mut ia = InterArrival::default();
        ia.on_packet(t0 + ms(10), ms(100), t0);
        assert!(ia.on_packet(t0, ms(101), t0).is_none());
        assert_eq!(ia.current.unwrap().first_send, t0 + ms(10));
    }

    #[test]
    fn remote_clock_jump_resets() {
        let t0 = Instant::now();
        let mut ia = InterArrival::default();
        ia.on_packet(t0, ms(0), t0);
        ia.on_packet(t0 + ms(10), ms(10), t0 + ms(10));
        // The remote clock jumps 5 s while ours moved 10 ms.
        assert!(ia.on_packet(t0 + ms(20), ms(5_020), t0 + ms(20)).is_some());
        assert!(ia.on_packet(t0 + ms(30), ms(5_030), t0 + ms(30)).is_none());
        assert!(ia.previous.is_none());
    }
}
