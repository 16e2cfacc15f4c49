//! RTP and RTCP for oxrtc, sans-IO.
//!
//! (crate documentation is written as the modules land)

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod extension;
pub mod fuzzing;
pub mod packet;
pub mod payload;
pub mod rtcp;
