//! # SDP for WebRTC
//!
//! Two WebRTC peers agree on everything they will send each other by
//! exchanging session descriptions: an *offer* and an *answer* (JSEP, RFC
//! 9429) written in the Session Description Protocol (SDP, RFC 8866). A
//! description is lines of `<letter>=<value>`: a session level (`v=`, `o=`,
//! `s=`, `t=`, session attributes such as `a=group:BUNDLE 0 1`) and then one
//! *media section* per transceiver or for the data channels, each starting
//! with an `m=` line and carrying its own attributes: the ICE credentials
//! and candidates (`a=ice-ufrag`, `a=candidate`), the DTLS certificate
//! fingerprint and role (`a=fingerprint`, `a=setup`), the codecs
//! (`a=rtpmap`, `a=fmtp`, `a=rtcp-fb`), header extensions (`a=extmap`),
//! the sources (`a=ssrc`, `a=msid`) or the SCTP port (`a=sctp-port`).
//!
//! This crate reads and writes that text. It offers
//! - [`SessionDescription`] and [`MediaDescription`]: the lines, with every
//!   attribute kept in order as an [`Attribute`] (known or not);
//! - typed accessors *and* setters for what JSEP needs, at both levels
//!   (ICE, DTLS, direction, BUNDLE, mid, RTCP multiplexing, candidates) and
//!   per media section (codecs, extensions, SSRCs, data channel ports);
//! - typed attribute values ([`RtpMap`], [`Fmtp`], [`RtcpFb`], [`ExtMap`],
//!   [`Msid`], [`Ssrc`], [`SsrcGroup`], [`Group`], [`Fingerprint`],
//!   [`Setup`], [`Direction`], [`SctpMap`]), each `FromStr` + `Display`,
//!   and [`Codec`], a payload type with its rtpmap, fmtp and feedback;
//! - helpers that apply the session-level fallback: [`SessionDescription::fingerprints_for`],
//!   [`SessionDescription::direction_for`] and friends.
//!
//! ```
//! use sdp::{Fingerprint, Group, MediaDescription, Origin, SessionDescription, Setup};
//!
//! // Read what a browser sent.
//! let offer = SessionDescription::parse(
//!     "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
//!      a=group:BUNDLE 0\r\n\
//!      m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
//!      a=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\na=ice-options:trickle\r\n\
//!      a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E\r\n\
//!      a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
//! )?;
//! let data = offer.media_by_mid("0").expect("a data section");
//! assert!(data.is_data_channel() && offer.has_ice_option_for(data, "trickle"));
//! assert_eq!(data.sctp_port(), Some(5000));
//! assert_eq!(offer.setup_for(data), Some(Setup::Actpass));
//! assert_eq!(offer.bundle_group().unwrap().mids, ["0"]);
//!
//! // Write the answer.
//! let mut answer = SessionDescription::new(Origin::new(1_234_567_890, 2));
//! answer.add_group(&Group::bundle(["0"]));
//! let mut m = MediaDescription::data_channel("0");
//! m.set_ice_ufrag("a1b2").set_ice_pwd("0123456789abcdefghijkl").set_setup(Setup::Active);
//! m.add_fingerprint(&Fingerprint { algorithm: "sha-256".into(), value: "AB:CD".into() });
//! answer.media.push(m);
//! let text = answer.to_string();
//! assert!(text.contains("\r\na=setup:active\r\n"));
//! assert_eq!(SessionDescription::parse(&text)?, answer);
//! # Ok::<(), sdp::SdpError>(())
//! ```
//!
//! ## The contract
//! - [`SessionDescription::parse`] takes text from the network (through
//!   signaling) and never panics. It rejects input over [`MAX_SDP_LEN`]
//!   bytes or with more than [`MAX_MEDIA`] media sections, and every error
//!   names the 1-based line it found wrong and what it expected. A parse
//!   error rejects that description only; nothing else is affected.
//! - Writing (`Display`) produces CRLF line endings, and for any description
//!   the parser produced, `parse(&d.to_string()) == Ok(d)`. Values that
//!   contain a line break are written with spaces in its place, so a
//!   description built from remote text (a trickled candidate, say) cannot
//!   smuggle in extra lines.
//! - Typed accessors skip values that do not have their RFC shape (an
//!   `a=rtpmap` without a clock rate is not in [`MediaDescription::rtpmaps`]);
//!   the raw text stays in [`MediaDescription::attributes`], and the value
//!   types' `FromStr` says what is wrong with it.
//!
//! ## Design decisions
//! - *Tolerant reader.* CRLF or LF, trailing whitespace, blank lines, a
//!   byte-order mark, lines in a non-standard order within a level, unknown
//!   line types and unknown attributes are all accepted; only what makes the
//!   description ambiguous is an error (no `v=` first, no `o=` or `s=`, two
//!   `o=` lines, a malformed `o=`, `c=`, `b=`, `t=` or `m=` line, a line
//!   that is not `<letter>=...`).
//! - *Nothing is lost.* Attributes are an ordered `Vec<Attribute>`, never a
//!   map, and lines the crate does not model are [`OtherLine`]s, so what a
//!   browser wrote is what we write back (byte for byte, modulo line
//!   endings, for descriptions in RFC 8866 line order, which every browser
//!   uses; the tests check Chromium, Firefox, Safari and aiortc output).
//! - *Typed on demand.* Accessors parse attribute values when asked; the
//!   setters replace an attribute in place, so edits (munging) keep the
//!   order of everything else. Candidates stay strings: `oxrtc-ice` parses
//!   them. Fingerprints stay strings: `oxrtc-dtls` checks them.
//! - *No JSEP state here.* This crate does not know offers from answers,
//!   pick codecs or check that an answer matches its offer; the
//!   offer/answer state machine lives in the `oxrtc` facade
//!   (`RTCPeerConnection`), which uses this crate for the text.
//! - Only std and `thiserror`.

#![deny(missing_docs)]

mod attribute;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod media;
mod parse;
mod session;
mod values;

use std::fmt;

pub use attribute::Attribute;
pub use error::SdpError;
pub use media::{MediaDescription, MediaKind, FORMAT_DATA_CHANNEL, PROTO_DATA_CHANNEL, PROTO_RTP};
pub use session::{Bandwidth, Connection, Origin, OtherLine, SessionDescription, Timing};
pub use values::{
    fmtp_param, is_rid, static_payload_type, Codec, Direction, ExtMap, Fingerprint, Fmtp, Group, Msid, Rid,
    RidDirection, RtcpFb, RtpMap, SctpMap, Setup, Simulcast, SimulcastRid, Ssrc, SsrcGroup,
};

/// The longest SDP text [`SessionDescription::parse`] accepts, in bytes
/// (256 KiB; a browser offer with a dozen tracks is under 20 KiB).
pub const MAX_SDP_LEN: usize = 256 * 1024;

/// The most media sections [`SessionDescription::parse`] accepts.
pub const MAX_MEDIA: usize = 1024;

/// Writes `s`, with any CR or LF replaced by a space so that a value can
/// never end its line early.
pub(crate) fn write_field(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if !s.contains(['\r', '\n']) {
        return f.write_str(s);
    }
    for part in s.split(['\r', '\n']).enumerate() {
        if part.0 > 0 {
            f.write_str(" ")?;
        }
        f.write_str(part.1)?;
    }
    Ok(())
}

/// Writes `<kind>=<value>\r\n`.
pub(crate) fn write_line(f: &mut fmt::Formatter<'_>, kind: char, value: &str) -> fmt::Result {
    write!(f, "{kind}=")?;
    write_field(f, value)?;
    f.write_str("\r\n")
}
