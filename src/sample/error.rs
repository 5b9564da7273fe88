//! Typed errors of sample loading.

use std::path::PathBuf;

/// Why a sample could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// The file could not be opened.
    #[error("{path}: cannot open file: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The container or codec is not recognised.
    #[error(
        "{path}: unsupported or unrecognised audio format ({reason}); use WAV, FLAC, MP3 or OGG Vorbis"
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Decoder message.
        reason: String,
    },
    /// The data is damaged.
    #[error("{path}: corrupt audio data ({reason})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Decoder message.
        reason: String,
    },
    /// The file decodes to no audio.
    #[error("{path}: file contains no audio frames")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Resampling failed.
    #[error("{path}: cannot resample from {from} Hz to {to} Hz ({reason})")]
    Resample {
        /// The file.
        path: PathBuf,
        /// Source rate.
        from: u32,
        /// Target rate.
        to: u32,
        /// Resampler message.
        reason: String,
    },
}
