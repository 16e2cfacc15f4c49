//! What a peer can make the receive side hold, measured by the heap itself: this binary
//! counts every live allocation (one test, so no other test allocates meanwhile).
//!
//! The attack: DATA chunks of 1 payload byte, each the beginning of a message whose end
//! never comes, at consecutive TSNs (so each is acknowledged and kept), each alone in a
//! packet padded to the MTU with a PAD chunk (RFC 4820), so that a kept payload slice would
//! pin its whole packet. Before payloads were charged per chunk and copied out of their
//! packets, 100,000 of them held 15 MB here (153 bytes of heap per payload byte); a server
//! with larger receive buffers held gigabytes.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::{config, established, forge, probe, Simulation};
use sctp::chunk::Chunk;
use sctp::SctpEvent;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WINDOW: usize = 1024 * 1024;

#[test]
fn one_byte_fragments_that_never_end_hold_a_bounded_heap_then_abort() {
    let mut sim = established(config(2));
    let d = probe(&mut sim, "first");
    let before = LIVE.load(Ordering::Relaxed);
    let mut peak = 0;
    let mut max_held = 0;
    let now = sim.now();
    for i in 1..=100_000u32 {
        let mut f = d.clone();
        f.tsn = d.tsn.wrapping_add(i);
        f.mid = f.mid.wrapping_add(i);
        f.beginning = true;
        f.ending = false;
        f.payload = Bytes::from_static(b"x");
        let pad = Chunk::Unknown { kind: 0x84, flags: 0, value: Bytes::from(vec![0; 1100]) };
        let p = forge(&sim, vec![Chunk::Data(f), pad]);
        sim.b.handle_receive(now, &p);
        while sim.b.poll_transmit(now).is_some() {}
        if i % 1000 == 0 {
            peak = peak.max(LIVE.load(Ordering::Relaxed).saturating_sub(before));
            max_held = max_held.max(sim.b.stats().receive_buffered);
        }
    }
    eprintln!("heap +{peak} bytes at most, {max_held} charged, {:?}", sim.b.stats());
    // The window (charges included) stops the peer at twice the window; what the heap
    // holds follows what is charged.
    assert!(max_held <= 2 * WINDOW + 4 * 1200, "charged {max_held}");
    assert!(sim.b.stats().dropped_chunks > 80_000, "most fragments are refused: {:?}", sim.b.stats());
    assert!(peak <= max_held * 5 / 4, "the heap grew by {peak} bytes, {max_held} were charged");
    // Nothing completes: after the stall limit the association gives up on the peer.
    assert!(sim.run_until(sctp::STALL_LIMIT + Duration::from_secs(5), |s| s.b.is_closed()));
    let events: Vec<_> = sim.ev_b.drain(..).chain(std::iter::from_fn(|| sim.b.poll_event())).collect();
    assert!(
        events.iter().any(|e| matches!(e, SctpEvent::Aborted { reason } if reason.contains("receive window"))),
        "{events:?}"
    );
    let after = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    assert!(after <= 64 * 1024, "{after} bytes still held after the abort");
}
