//! Errors of SRTP and SRTCP protection.

/// Why a packet could not be protected or unprotected.
///
/// Every variant is *noise* for a receiver: drop the packet, count it and
/// carry on with the same [`SrtpContext`](crate::SrtpContext). None is fatal
/// and none leaves the context in a changed state. Only
/// [`SrtpError::BadKeyLength`] (from construction) means the caller has a bug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    /// The master key or salt does not have the length the profile needs
    /// (see [`Profile::master_key_len`](crate::Profile::master_key_len)).
    /// Pass the keying material exported by DTLS-SRTP for this profile.
    #[error("SRTP master {what} has {got} bytes, the profile needs {expected}")]
    BadKeyLength {
        /// "key" or "salt".
        what: &'static str,
        /// The length the profile needs.
        expected: usize,
        /// The length that was given.
        got: usize,
    },
    /// The packet is too short or its header does not parse (bad version,
    /// CSRC list or header extension running past the end). Drop it.
    #[error("malformed SRTP/SRTCP packet: {0}")]
    Malformed(&'static str),
    /// The authentication tag does not verify: wrong key, or the packet was
    /// altered or forged. Drop it.
    #[error("SRTP/SRTCP authentication failed: wrong key or altered packet")]
    AuthenticationFailed,
    /// The packet index was already received (or, when protecting, already
    /// sent: enable `allow_repeat_tx` to resend the same packet). Drop it.
    #[error("SRTP/SRTCP packet index already seen (replay)")]
    Replayed,
    /// The packet index is older than the replay window. Drop it, or widen
    /// [`Config::replay_window`](crate::Config::replay_window) if the network
    /// reorders more than that.
    #[error("SRTP/SRTCP packet is older than the replay window")]
    TooOld,
    /// The packet comes from a new SSRC but the context already tracks
    /// [`Config::max_ssrcs`](crate::Config::max_ssrcs) of them. Drop it, or
    /// raise the limit if the session really carries that many streams.
    #[error("SRTP context already tracks {0} SSRCs; packet from a new SSRC dropped")]
    UnknownSsrcLimit(usize),
    /// The SRTP index (ROC) or the 31-bit SRTCP index would wrap: the keys
    /// must not be used any more. Re-key (a new DTLS handshake) before sending.
    #[error("SRTP/SRTCP index exhausted: re-key before sending more packets")]
    IndexExhausted,
}
