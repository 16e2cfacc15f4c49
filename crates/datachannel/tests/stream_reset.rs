//! Stream reset corner cases found by this crate's scenario tests, kept as
//! regression tests of the SCTP layer as data channels see it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sctp::{Association, SctpConfig, SctpEvent, SendParams};

/// Moves every packet between `a` and `b` (dropping those `drop` selects by
/// direction and content), advancing 10 ms per round, for `rounds` rounds.
fn pump(
    now: &mut Instant,
    a: &mut Association,
    b: &mut Association,
    events: &mut [Vec<SctpEvent>; 2],
    rounds: usize,
    mut drop: impl FnMut(usize, &[u8]) -> bool,
) {
    for _ in 0..rounds {
        while let Some(p) = a.poll_transmit(*now) {
            if !drop(0, &p) {
                b.handle_receive(*now, &p);
            }
        }
        while let Some(p) = b.poll_transmit(*now) {
            if !drop(1, &p) {
                a.handle_receive(*now, &p);
            }
        }
        while let Some(e) = a.poll_event() {
            events[0].push(e);
        }
        while let Some(e) = b.poll_event() {
            events[1].push(e);
        }
        *now += Duration::from_millis(10);
        a.handle_timeout(*now);
        b.handle_timeout(*now);
    }
}

fn has_chunk(p: &[u8], kind: u8) -> bool {
    let mut at = 12;
    while at + 4 <= p.len() {
        if p[at] == kind {
            return true;
        }
        let l = u16::from_be_bytes([p[at + 2], p[at + 3]]) as usize;
        if l < 4 {
            break;
        }
        at += (l + 3) & !3;
    }
    false
}

/// A stream reset that the peer first answers "in progress" (its last TSN
/// has not arrived yet) is asked again with a new request sequence number
/// (RFC 6525 5.2.7). By then the peer has performed the deferred reset, and
/// performs it again: `IncomingStreamsReset` fires twice for one reset. At
/// the data channel layer the second event closes whatever channel reused
/// the id meanwhile (seen in `netsim::reopen_right_after_local_close_under_loss`).
#[test]
fn deferred_reset_is_reported_once() {
    let mut now = Instant::now();
    let mut a = Association::new(now, SctpConfig { seed: 1, ..SctpConfig::default() });
    let mut b = Association::new(now, SctpConfig { seed: 2, ..SctpConfig::default() });
    let mut ev = [Vec::new(), Vec::new()];
    a.connect(now);
    pump(&mut now, &mut a, &mut b, &mut ev, 20, |_, _| false);
    assert!(a.is_established() && b.is_established());
    // One message on stream 0 whose first transmission is lost, then the
    // reset of stream 0 right behind it: B must defer the reset.
    a.send(now, 0, 51, Bytes::from_static(b"last words"), SendParams::default()).unwrap();
    a.reset_streams(now, &[0]).unwrap();
    let mut dropped_data = false;
    pump(&mut now, &mut a, &mut b, &mut ev, 1000, |dir, p| {
        if dir == 0 && !dropped_data && has_chunk(p, 0) {
            dropped_data = true;
            return true;
        }
        false
    });
    assert!(dropped_data);
    assert!(ev[0].iter().any(|e| matches!(e, SctpEvent::OutgoingStreamsReset { .. })), "reset never completed");
    let resets = ev[1].iter().filter(|e| matches!(e, SctpEvent::IncomingStreamsReset { .. })).count();
    assert_eq!(resets, 1, "one reset of stream 0, reported {resets} times: {:?}", ev[1]);
}
