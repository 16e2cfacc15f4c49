//! The one error type of this crate.

/// Why a session description could not be parsed, or why an attribute value
/// does not have the shape its RFC gives it.
///
/// None of these is fatal to anything but the description at hand: a remote
/// description that fails to parse is rejected (JSEP answers such a
/// `setRemoteDescription` with an error) and the connection carries on with
/// the descriptions it already had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The text is longer than [`MAX_SDP_LEN`](crate::MAX_SDP_LEN) bytes.
    #[error("SDP is {len} bytes, more than the {max} this parser accepts; the peer sent something that is not a sane session description")]
    TooLong {
        /// The length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The text has more m= sections than [`MAX_MEDIA`](crate::MAX_MEDIA).
    #[error(
        "SDP line {line}: more than {max} m= sections; the description is rejected to bound the work a peer can cause"
    )]
    TooManyMedia {
        /// The line of the first m= line over the limit (1-based).
        line: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not UTF-8 (only [`SessionDescription::parse_bytes`](crate::SessionDescription::parse_bytes)
    /// reports this).
    #[error("SDP line {line}: not valid UTF-8; SDP is text")]
    NotUtf8 {
        /// The line holding the first invalid byte (1-based).
        line: usize,
    },
    /// A line that is required is missing: `v=` first, then `o=` and `s=`
    /// before the first `m=`.
    #[error("SDP line {line}: expected {expected} here; {reason}")]
    Missing {
        /// Where it was expected (1-based; one past the last line if the text ended).
        line: usize,
        /// The line that is missing, e.g. `"v=0"`.
        expected: &'static str,
        /// Why it is needed.
        reason: &'static str,
    },
    /// A line that cannot be parsed.
    #[error("SDP line {line}: {reason}: {excerpt:?}")]
    InvalidLine {
        /// The line (1-based).
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
        /// The start of the line, cut to 80 characters.
        excerpt: String,
    },
    /// An attribute value (or other field) that does not have the shape its
    /// RFC gives it, reported by the `FromStr` impls of the typed values.
    #[error("invalid {what}: {value:?}; expected {expected}")]
    InvalidValue {
        /// What was being parsed, e.g. `"a=rtpmap"`.
        what: &'static str,
        /// The value, cut to 80 characters.
        value: String,
        /// Its shape, e.g. `"<payload type> <encoding>/<clock rate>[/<channels>]"`.
        expected: &'static str,
    },
}

/// The first 80 characters of `s`, for error messages (never splits a character).
pub(crate) fn excerpt(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

impl SdpError {
    pub(crate) fn value(what: &'static str, value: &str, expected: &'static str) -> Self {
        SdpError::InvalidValue { what, value: excerpt(value), expected }
    }
}
