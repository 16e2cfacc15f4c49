//! The one error type of this crate.

use std::path::PathBuf;

/// What went wrong in a codec, a file or a conversion. Every variant says
/// what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The codec was not compiled in.
    #[error("{codec} support is not built in: enable the cargo feature `{feature}` of oxrtc-media")]
    NotBuilt {
        /// The codec or format asked for.
        codec: &'static str,
        /// The cargo feature that builds it.
        feature: &'static str,
    },
    /// The operation is not supported (a codec, a pixel format, a combination).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    InvalidConfig(String),
    /// A frame does not match what the codec or converter was set up for.
    #[error("frame does not fit: {0}")]
    BadFrame(String),
    /// The codec library reported an error.
    #[error("{codec}: {message}")]
    Codec {
        /// The codec.
        codec: &'static str,
        /// What the library said.
        message: String,
    },
    /// A file could not be read or written, or its content is malformed.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (its format, the offset, what was expected).
        message: String,
    },
    /// Malformed container or bitstream data not tied to a file name.
    #[error("malformed {format} data: {message}")]
    Malformed {
        /// The format (`"ogg"`, `"ivf"`, ...).
        format: &'static str,
        /// What is wrong and where.
        message: String,
    },
    /// An I/O error.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The source or track has ended or was closed.
    #[error("the track has ended")]
    Ended,
}

impl MediaError {
    /// Names `path` in a malformed-data or I/O error.
    pub fn in_file(self, path: impl Into<PathBuf>) -> MediaError {
        match self {
            MediaError::Malformed { format, message } => {
                MediaError::File { path: path.into(), message: format!("malformed {format}: {message}") }
            }
            MediaError::Io(e) => MediaError::File { path: path.into(), message: e.to_string() },
            other => other,
        }
    }
}

/// This crate's result.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
