//! Reading the files a user names (sets, scripts, profiles, saved state, MIDI files) so that no
//! path can hang or bloat padlooper: only regular files (checked on the opened file, so a FIFO
//! never blocks the open), at most a size that no real file of the kind reaches, and text that
//! is text (an audio file given as a set is named as such). Not real-time.

use std::io::Read;
use std::path::Path;

pub use crate::sample::error::os_error;

/// The largest set file read (a set of 16 banks of 16x16 pads with every key is ~2 MB).
pub const SET_MAX: u64 = 16 << 20;
/// The largest render script read.
pub const SCRIPT_MAX: u64 = 64 << 20;
/// The largest controller profile read.
pub const PROFILE_MAX: u64 = 1 << 20;
/// The largest saved live state read.
pub const STATE_MAX: u64 = 16 << 20;
/// The largest MIDI file read.
pub const MIDI_MAX: u64 = 64 << 20;

/// Why a file the user named cannot be read: one line, what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file cannot be opened.
    #[error("cannot open this {what} file: {}", os_error(error))]
    Open {
        /// The kind of file ("set", "script", ...).
        what: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// Reading it failed.
    #[error("cannot read this {what} file: {}", os_error(error))]
    Read {
        /// The kind of file.
        what: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// It is a folder, a FIFO, a socket or a device.
    #[error("this is {kind}, not a {what} file")]
    NotAFile {
        /// The kind of file expected.
        what: String,
        /// What it is.
        kind: &'static str,
    },
    /// It is larger than any real file of its kind.
    #[error("{} is more than a {what} file can be ({}); is it the right file?", size(*len), size(*max))]
    TooBig {
        /// The kind of file.
        what: String,
        /// Its size in bytes.
        len: u64,
        /// The largest size read.
        max: u64,
    },
    /// It is an audio file.
    #[error("this is {kind}, not a {what} file; a {what} is a text file{}", if what == "set" { " whose pads name their samples (file = \"...\")" } else { "" })]
    Audio {
        /// The kind of file expected.
        what: String,
        /// The audio format found.
        kind: &'static str,
    },
    /// It holds binary data.
    #[error("this is not a text file (binary data at byte {at}); is it the right file?")]
    Binary {
        /// The offset of the first NUL byte.
        at: usize,
    },
    /// It is not UTF-8.
    #[error("this is not UTF-8 text (invalid byte at {at}); save it as UTF-8")]
    NotUtf8 {
        /// The offset of the first invalid byte.
        at: usize,
    },
}

/// Reads at most `max` bytes of the regular file `path`; `what` names the kind of file in
/// messages ("set", "script", ...). Errors are one line: what is wrong and what to do.
pub fn read_bytes(path: &Path, what: &str, max: u64) -> Result<Vec<u8>, InputError> {
    let file = open_regular(path, what)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let too_big = |len| InputError::TooBig {
        what: what.into(),
        len,
        max,
    };
    if len > max {
        return Err(too_big(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| InputError::Read {
            what: what.into(),
            error,
        })?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Reads the text file `path` (see [`read_bytes`]): UTF-8 text, not an audio file or other
/// binary data.
pub fn read_text(path: &Path, what: &str, max: u64) -> Result<String, InputError> {
    let bytes = read_bytes(path, what, max)?;
    if let Some(kind) = audio_kind(&bytes) {
        return Err(InputError::Audio {
            what: what.into(),
            kind,
        });
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(InputError::Binary { at });
    }
    String::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        at: e.utf8_error().valid_up_to(),
    })
}

/// Opens `path` for reading without blocking and keeps it only if it is a regular file.
fn open_regular(path: &Path, what: &str) -> Result<std::fs::File, InputError> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| InputError::Open {
            what: what.into(),
            error,
        })?;
    let ft = file
        .metadata()
        .map_err(|error| InputError::Read {
            what: what.into(),
            error,
        })?
        .file_type();
    let not = if ft.is_dir() {
        Some("a folder")
    } else if ft.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if ft.is_socket() {
        Some("a socket")
    } else if ft.is_char_device() || ft.is_block_device() {
        Some("a device")
    } else if !ft.is_file() {
        Some("not a regular file")
    } else {
        None
    };
    match not {
        Some(kind) => Err(InputError::NotAFile {
            what: what.into(),
            kind,
        }),
        None => Ok(file),
    }
}

fn size(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MB", b as f64 / (1 << 20) as f64)
    } else {
        format!("{b} bytes")
    }
}

/// What audio format `bytes` start with, if they look like audio.
fn audio_kind(bytes: &[u8]) -> Option<&'static str> {
    let at = |i: usize, m: &[u8]| bytes.get(i..i + m.len()) == Some(m);
    Some(if at(0, b"RIFF") && at(8, b"WAVE") || at(0, b"RF64") {
        "a WAV audio file"
    } else if at(0, b"fLaC") {
        "a FLAC audio file"
    } else if at(0, b"OggS") {
        "an Ogg audio file"
    } else if at(0, b"ID3") || bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0 {
        "an MP3 audio file"
    } else if at(4, b"ftyp") {
        "an MP4/M4A audio file"
    } else if at(0, b"MThd") {
        "a MIDI file"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_and_huge_files_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_text(&fifo, "set", SET_MAX).unwrap_err().to_string();
        assert_eq!(e, "this is a FIFO (named pipe), not a set file");
        let e = read_text(Path::new("/dev/zero"), "script", SCRIPT_MAX)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "this is a device, not a script file");
        let e = read_text(dir.path(), "profile", PROFILE_MAX)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "this is a folder, not a profile file");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'#'; 2000]).unwrap();
        let e = read_text(&big, "profile", 1000).unwrap_err().to_string();
        assert_eq!(
            e,
            "2000 bytes is more than a profile file can be (1000 bytes); is it the right file?"
        );
        let e = read_text(&dir.path().join("none"), "set", SET_MAX)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "cannot open this set file: No such file or directory");
    }

    #[test]
    fn audio_and_binary_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("x.wav");
        std::fs::write(&wav, b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0").unwrap();
        let e = read_text(&wav, "set", SET_MAX).unwrap_err().to_string();
        assert!(
            e.starts_with("this is a WAV audio file, not a set file; a set is a text file"),
            "{e}"
        );
        let bin = dir.path().join("b");
        std::fs::write(&bin, b"abc\0\x01\x02").unwrap();
        let e = read_text(&bin, "saved state", STATE_MAX)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "this is not a text file (binary data at byte 3); is it the right file?"
        );
        let latin = dir.path().join("l");
        std::fs::write(&latin, b"name = \"caf\xe9\"").unwrap();
        let e = read_text(&latin, "set", SET_MAX).unwrap_err().to_string();
        assert_eq!(
            e,
            "this is not UTF-8 text (invalid byte at 11); save it as UTF-8"
        );
    }
}
