//! # Send-side congestion control, sans-IO
//!
//! A WebRTC sender must not send faster than the path carries: excess
//! piles up in router queues (delay), then gets dropped (loss). Google
//! Congestion Control (GCC, draft-ietf-rmcat-gcc-02; as implemented in
//! libwebrtc's `goog_cc`) estimates the rate to send at from two signals:
//!
//! - **Delay**. Every packet carries a transport-wide sequence number; the
//!   receiver reports when each arrived (RTCP transport-wide feedback). If
//!   packets arrive further apart than they were sent, a queue is growing.
//!   Packets are grouped into 5 ms bursts ([`inter_arrival`]), the growth
//!   of the queuing delay is fitted by a line over 20 groups
//!   ([`trendline`]), its slope is compared with an adaptive threshold
//!   ([`overuse`]), and an AIMD controller ([`aimd`]) cuts the rate to
//!   0.85 × what was acknowledged on overuse and otherwise raises it.
//! - **Loss** ([`loss_based`]): under 2% the rate may grow, over 10% it
//!   drops by half the loss.
//!
//! The target is the lower of the two (and of the receiver's REMB, if it
//! sends one). Probing ([`probe`], [`probe_estimator`]) finds capacity
//! faster than the slow increases would, and again when the application
//! sends little ([`alr`]). The [`Pacer`] then spreads packets at 2.5 × the
//! target so an encoder's frame does not leave in one burst.
//!
//! [`CongestionController`] does all but the pacing as a state machine: no
//! clock, socket, thread. The caller passes times in; arrival times are on
//! the *remote* clock (a [`Duration`](std::time::Duration) since any origin),
//! since only their differences are used.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use cc::{CcConfig, CcEvent, CongestionController, PacedOutput, Pacer, PacerConfig, PacketKind, SentPacket};
//!
//! let now = Instant::now();
//! let mut cc = CongestionController::new(now, CcConfig::default());
//! let mut pacer: Pacer<Vec<u8>> = Pacer::new(PacerConfig::default());
//! let mut next_seq: u16 = 0;
//!
//! // The encoder produced a frame: queue its packets.
//! pacer.enqueue(now, PacketKind::Video, 1_200, vec![0; 1_200]).unwrap();
//!
//! // Drain the controller's events into the pacer (and the encoder).
//! while let Some(event) = cc.poll_event() {
//!     match event {
//!         CcEvent::Rates(r) => pacer.set_rates(now, r.pacing, r.padding),
//!         CcEvent::Probe(cluster) => pacer.add_probe_cluster(now, cluster),
//!     }
//! }
//! // Send what is due, numbering each packet and telling the controller.
//! while let Some(out) = pacer.poll_send(now) {
//!     let (size, probe_cluster) = match out {
//!         PacedOutput::Packet { size, probe_cluster, .. } => (size, probe_cluster),
//!         PacedOutput::Padding { size, probe_cluster } => (size, probe_cluster),
//!     };
//!     cc.on_packet_sent(SentPacket { seq: next_seq, send_time: now, size, probe_cluster });
//!     next_seq = next_seq.wrapping_add(1);
//!     // socket.send(...) with `next_seq` in the transport-wide-cc extension
//! }
//! // Feedback arrives: (sequence number, arrival on the remote clock).
//! cc.on_transport_feedback(now + Duration::from_millis(60), &[(0, Some(Duration::from_millis(25)))]);
//! // Sleep until the earliest of these, then call handle_timeout / poll_send.
//! let _wake = [Some(cc.poll_timeout()), pacer.poll_timeout()];
//! ```
//!
//! ## The contract
//! - Report every packet that carries a transport-wide sequence number to
//!   [`CongestionController::on_packet_sent`] when it leaves (padding and
//!   probes too, with the cluster id the pacer gave), and every feedback
//!   report to [`CongestionController::on_transport_feedback`].
//! - Call [`CongestionController::handle_timeout`] at
//!   [`CongestionController::poll_timeout`] (every 25 ms) and
//!   [`Pacer::poll_send`] at [`Pacer::poll_timeout`]; after every call drain
//!   [`CongestionController::poll_event`] and [`Pacer::poll_send`].
//! - Give RTT measurements to [`CongestionController::on_rtt`] and REMB
//!   values to [`CongestionController::on_remb`]. Without transport-wide
//!   feedback, loss comes from [`CongestionController::on_receiver_report`].
//!
//! Nothing here fails: feedback for unknown or forgotten packets, repeated
//! or reordered reports, sends with stale sequence numbers are network or
//! caller noise, ignored and counted in [`CcStats::history`].
//!
//! ## Design decisions
//! - Constants are libwebrtc's, cited by name where they are used; each
//!   estimator is one file to read against the draft.
//! - Loss control is the classic controller (not libwebrtc's newer
//!   `LossBasedBweV2`): with steady random loss between 2% and 10% the
//!   target holds, neither growing nor collapsing.
//! - Probe results only raise the delay-based estimate; a result taken
//!   also becomes the loss-based controller's rate, as in libwebrtc.
//! - Application-limited periods ([`alr`]): the acknowledged rate then
//!   measures the application, not the path. It bounds increases (to
//!   1.5 × it plus 10 kbit/s) but not decreases: an overuse in ALR, or while the
//!   acknowledged rate catches up after it, backs off from the estimate
//!   (× 0.85), and the acknowledged-rate filter is told to expect the jump
//!   when the first packet sent after ALR is acknowledged. The same holds
//!   after a probe result over twice the acknowledged rate (the sender
//!   jumps to it; at start up, on a long path, a marginal overuse before the
//!   acknowledged rate followed used to cut 4.75 to 1.24 Mbit/s). A large drop in
//!   or just after ALR is checked with a probe at 85% of the rate before it.
//! - The send history is bounded (count and age); the pacer's queue is
//!   bounded in packets and drains faster rather than let a packet wait
//!   longer than 2 s.
//! - When transport feedback stops (the return path died) while packets
//!   are sent, the target is pushed back: after max(2 × RTT, 500 ms) of
//!   silence it halves every second, and comes back at once with the next
//!   report. libwebrtc bounds the data in flight with a congestion window
//!   for this; a time bound says the same when the sender sends its target
//!   and does not mistake an application-limited sender for a stuck one.
//! - Not here: a congestion window on bytes in flight, libwebrtc's network
//!   state estimator, per-stream rate allocation (the caller splits the
//!   target).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod acked_bitrate;
pub mod aimd;
pub mod alr;
mod controller;
pub mod delay_based;
mod history;
pub mod inter_arrival;
pub mod loss_based;
pub mod overuse;
mod pacer;
pub mod probe;
pub mod probe_estimator;
mod rate;
pub mod trendline;

pub use controller::{CcConfig, CcEvent, CcStats, CongestionController, TargetRates};
pub use history::{HistoryStats, SentPacket};
pub use overuse::BandwidthUsage;
pub use pacer::{PacedOutput, Pacer, PacerConfig, PacketKind, QueueFull};
pub use probe::ProbeCluster;
pub use rate::Bitrate;
