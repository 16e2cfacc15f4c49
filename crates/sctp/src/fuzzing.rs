//! Entry points shared by the cargo-fuzz target `sctp_packet` (`fuzz/`) and the test that
//! replays its corpus. Not part of the stable API.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{Association, Packet, SctpConfig, SctpEvent, SendParams};

/// Decodes `data` as an SCTP packet (whatever decodes must re-encode and decode the same),
/// then feeds it, and a copy with its checksum fixed and its verification tag set to the
/// receiver's, into an established association, which must not panic and, unless the input
/// ended it, must still deliver a message to its peer.
/// `now` is the caller's clock reading (the engine never reads a clock itself).
pub fn sctp_packet(now: Instant, data: &[u8]) {
    // SCTP over DTLS never exceeds a record (2^14 bytes); beyond that a re-encoded chunk
    // could outgrow its 16-bit length.
    for zero in [false, true] {
        if let Some(p) = Packet::decode(data, zero).ok().filter(|_| data.len() <= 1 << 14) {
            let again = p.encode(false);
            let back = Packet::decode(&again, false).expect("a re-encoded packet decodes");
            assert_eq!(back.chunks, p.chunks, "re-encoding changed the chunks");
        }
    }
    let (mut a, mut b) = pair(now);
    let mut fixed = data.to_vec();
    if fixed.len() >= 12 {
        fixed[0..4].copy_from_slice(&[0x13, 0x88, 0x13, 0x88]);
        if let Some(tag) = a.local_tag_for_fuzzing() {
            fixed[4..8].copy_from_slice(&tag.to_be_bytes());
        }
        let c = crate::packet::checksum(&fixed);
        fixed[8..12].copy_from_slice(&c.to_le_bytes());
    }
    a.handle_receive(now, data);
    a.handle_receive(now, &fixed);
    let mut t = now;
    for _ in 0..50 {
        exchange(&mut a, &mut b, t);
        while b.poll_event().is_some() {}
        t = tick(&mut a, &mut b, t);
    }
    // Unless the input ended the association (an ABORT or SHUTDOWN with the right tag may),
    // a message still goes through.
    if !a.is_established() || !b.is_established() {
        return;
    }
    let alive = Bytes::from_static(b"still alive");
    a.send(t, 1, 51, alive.clone(), SendParams::default()).expect("an established association takes a message");
    for _ in 0..200 {
        exchange(&mut a, &mut b, t);
        while let Some(e) = b.poll_event() {
            if e == (SctpEvent::Message { stream: 1, ppid: 51, data: alive.clone() }) {
                return;
            }
        }
        t = tick(&mut a, &mut b, t);
    }
    panic!("the association stopped carrying messages after this input");
}

/// Moves every packet each way once at `t`; drops A's events.
fn exchange(a: &mut Association, b: &mut Association, t: Instant) {
    while let Some(p) = a.poll_transmit(t) {
        b.handle_receive(t, &p);
    }
    while let Some(p) = b.poll_transmit(t) {
        a.handle_receive(t, &p);
    }
    while a.poll_event().is_some() {}
}

/// 50 ms later: both handle their timeouts. Returns the new time.
fn tick(a: &mut Association, b: &mut Association, t: Instant) -> Instant {
    let t = t + Duration::from_millis(50);
    a.handle_timeout(t);
    b.handle_timeout(t);
    t
}

/// Two associations, connected in memory.
fn pair(now: Instant) -> (Association, Association) {
    let mut a = Association::new(now, SctpConfig { seed: 1, ..SctpConfig::default() });
    let mut b = Association::new(now, SctpConfig { seed: 2, ..SctpConfig::default() });
    a.connect(now);
    for _ in 0..8 {
        exchange(&mut a, &mut b, now);
    }
    while b.poll_event().is_some() {}
    (a, b)
}
