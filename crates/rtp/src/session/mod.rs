//! The RTP session: what a peer connection does with RTP beyond the wire formats, as
//! sans-IO parts that take `(now, input)` and hand back packets to send, events and their
//! next timeout.

pub mod receive;
