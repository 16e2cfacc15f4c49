//! Errors of the STUN codec.

/// Why a datagram could not be used as a STUN message.
///
/// Every variant is *noise*: the datagram is dropped and counted, the engine
/// that received it carries on. None is fatal to an agent or allocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StunError {
    /// The bytes are not a STUN message (wrong leading bits, no magic cookie,
    /// or a length that does not fit the datagram). Route them elsewhere
    /// (RFC 7983 demultiplexing) or drop them.
    #[error("not a STUN message: {0}")]
    NotStun(&'static str),
    /// An attribute header or value runs past the end of the message.
    #[error("truncated STUN message: {0}")]
    Truncated(&'static str),
    /// A known attribute has a value of the wrong size or content.
    #[error("malformed STUN attribute 0x{kind:04x}: {reason}")]
    BadAttribute {
        /// The attribute type.
        kind: u16,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More attributes than a sane message carries; dropped to bound the work
    /// a peer can make us do.
    #[error("STUN message has more than {0} attributes; dropped")]
    TooManyAttributes(usize),
    /// FINGERPRINT is present but wrong: the datagram was corrupted or is not
    /// STUN at all.
    #[error("STUN FINGERPRINT mismatch: the datagram is corrupted or not STUN")]
    FingerprintMismatch,
    /// MESSAGE-INTEGRITY(-SHA256) did not verify: the sender used another
    /// password, or the message was altered on the way.
    #[error("STUN MESSAGE-INTEGRITY check failed: the sender used another password or the message was altered")]
    IntegrityMismatch,
    /// The message carries no MESSAGE-INTEGRITY attribute where one is required.
    #[error("STUN message has no MESSAGE-INTEGRITY attribute; it cannot be authenticated")]
    NoIntegrity,
}
