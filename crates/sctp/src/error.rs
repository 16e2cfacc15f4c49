//! Errors: what the wire decoder rejects and what [`send`](crate::Association::send) refuses.

/// Why a packet or chunk could not be decoded. Network noise: the association drops the
/// packet, counts it in [`Stats::dropped_packets`](crate::Stats::dropped_packets) and carries on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the structure needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// The structure being decoded.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// A length field is smaller than its own header or runs past the data.
    #[error("bad length {len} in {what}")]
    BadLength {
        /// The structure whose length field is wrong.
        what: &'static str,
        /// The length found.
        len: usize,
    },
    /// The CRC32c checksum does not match (and zero checksum was not acceptable).
    #[error("bad checksum: the packet is corrupt or not SCTP")]
    BadChecksum,
    /// A field has a value the RFC forbids.
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// Why [`Association::send`](crate::Association::send) refused a message. Nothing was queued;
/// none of these harm the association.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The message is larger than the peer's maximum message size (from its SDP
    /// `a=max-message-size`). SCTP never cuts messages: split it in the application.
    #[error("message of {size} bytes exceeds the peer's max-message-size of {limit} bytes; split it")]
    TooLarge {
        /// Size of the refused message.
        size: usize,
        /// The peer's limit ([`SctpConfig::remote_max_message_size`](crate::SctpConfig::remote_max_message_size)).
        limit: usize,
    },
    /// SCTP cannot carry empty user messages; WebRTC data channels send one 0 byte with an
    /// "empty" PPID instead (the DCEP layer's job).
    #[error("empty message: SCTP cannot carry 0 bytes; send one byte with an empty-message PPID")]
    Empty,
    /// The send buffer is full (back-pressure). Retry after a
    /// [`BufferedAmountLow`](crate::SctpEvent::BufferedAmountLow) event.
    #[error("send buffer full ({buffered} of {limit} bytes queued); retry after BufferedAmountLow")]
    BufferFull {
        /// Bytes already queued on all streams.
        buffered: usize,
        /// [`SctpConfig::send_buffer_limit`](crate::SctpConfig::send_buffer_limit).
        limit: usize,
    },
    /// The association is shutting down, closed or aborted; make a new one.
    #[error("association is not connected (closing, closed or aborted)")]
    NotConnected,
    /// The stream is being reset; wait for the `OutgoingStreamsReset` event, then reuse it.
    #[error("stream {0} is being reset; wait for OutgoingStreamsReset before reusing it")]
    StreamResetting(u16),
    /// The peer did not offer RE-CONFIG (RFC 6525), so streams cannot be reset.
    #[error("the peer does not support stream reset (RE-CONFIG); close the association instead")]
    ResetUnsupported,
    /// The stream id is not below the negotiated number of outbound streams.
    #[error("stream {stream} does not exist: the association has {limit} outbound streams")]
    InvalidStream {
        /// The refused stream id.
        stream: u16,
        /// Number of outbound streams.
        limit: u16,
    },
}
