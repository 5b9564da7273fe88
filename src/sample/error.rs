//! Typed errors of sample loading.

use std::path::PathBuf;

/// Why a sample could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// The file could not be opened.
    #[error("{path}: cannot open file: {}", os_error(error))]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The file is not there, but one whose name differs only in case or Unicode form is.
    #[error(
        "{path}: no such file, but {near:?} is there (the name differs in letter case or in how its accents are encoded); rename one so they match exactly"
    )]
    NotFound {
        /// The file asked for.
        path: PathBuf,
        /// The name that is there.
        near: String,
    },
    /// The container or codec is not recognised.
    #[error(
        "{path}: unsupported or unrecognised audio format ({reason}); use WAV (RF64 and Wave64 too), FLAC, MP3, OGG Vorbis, or AAC or ALAC in M4A"
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
    /// The file has 0 bytes.
    #[error("{path}: empty file (0 bytes); copy the sample again")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The path is a directory, FIFO, socket or device, not an audio file.
    #[error("{path}: {what}, not an audio file; point the pad at a sound file")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// The decoder panicked on this file (a decoder bug triggered by malformed data).
    #[error(
        "{path}: the decoder crashed on this file ({message}); the file is probably damaged: re-export it, or convert it to WAV"
    )]
    DecoderCrash {
        /// The file.
        path: PathBuf,
        /// The panic message.
        message: String,
    },
    /// Stems that cannot play together (misaligned, too many, not a stem file).
    #[error("{path}: {reason}")]
    Stems {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The converted audio could not be written (a prepared copy for streaming).
    #[error("{path}: cannot write its prepared copy: {}", os_error(error))]
    Write {
        /// The source file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Loading was stopped (padlooper is shutting down).
    #[error("{path}: loading stopped (padlooper is shutting down)")]
    Cancelled {
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

/// An OS error once: "No such file or directory", without Rust's "(os error 2)" echo.
pub fn os_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let s = e.to_string();
            s.strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&s)
                .to_string()
        }
        None => e.to_string(),
    }
}
