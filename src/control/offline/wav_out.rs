//! Streaming 32-bit float stereo WAV writer for offline renders: samples go to disk as they
//! are rendered (nothing is held in memory), and a file that grows past the 4 GiB limit of
//! RIFF WAV is finished as RF64 (EBU Tech 3306, read by sox, ffmpeg and libsndfile). Not
//! real-time.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes of the header written up front: RIFF/WAVE, a JUNK chunk the size of an RF64 `ds64`
/// chunk (so the header can be upgraded in place), `fmt ` (WAVE_FORMAT_IEEE_FLOAT) and the
/// `data` chunk header.
const HEADER: u64 = 12 + 36 + 24 + 8;
/// Largest data size a plain RIFF header can describe.
const RIFF_MAX: u64 = u32::MAX as u64 - HEADER;

/// Why writing failed (the message names the file).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {}", crate::sample::error::os_error(error))]
pub struct WavError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    pub error: std::io::Error,
}

/// A float stereo WAV being written.
pub struct WavOut {
    file: BufWriter<File>,
    path: PathBuf,
    rate: u32,
    data_bytes: u64,
    riff_max: u64,
}

impl WavOut {
    /// Creates `path` for stereo float audio at `rate` Hz.
    pub fn create(path: &Path, rate: u32) -> Result<Self, WavError> {
        Self::create_with_limit(path, rate, RIFF_MAX)
    }

    /// As [`create`](Self::create), switching to RF64 past `riff_max` data bytes (tests use a
    /// small limit).
    pub fn create_with_limit(path: &Path, rate: u32, riff_max: u64) -> Result<Self, WavError> {
        let err = |error| WavError {
            path: path.into(),
            error,
        };
        let file = File::create(path).map_err(err)?;
        let mut w = Self {
            file: BufWriter::with_capacity(1 << 20, file),
            path: path.into(),
            rate,
            data_bytes: 0,
            riff_max,
        };
        w.header(false).map_err(err)?;
        Ok(w)
    }

    fn header(&mut self, rf64: bool) -> std::io::Result<()> {
        let f = &mut self.file;
        let data = self.data_bytes;
        let riff_size = HEADER - 8 + data;
        if rf64 {
            f.write_all(b"RF64")?;
            f.write_all(&u32::MAX.to_le_bytes())?;
            f.write_all(b"WAVE")?;
            f.write_all(b"ds64")?;
            f.write_all(&28u32.to_le_bytes())?;
            f.write_all(&riff_size.to_le_bytes())?;
            f.write_all(&data.to_le_bytes())?;
            f.write_all(&(data / 8).to_le_bytes())?;
            f.write_all(&0u32.to_le_bytes())?;
        } else {
            f.write_all(b"RIFF")?;
            f.write_all(&(riff_size.min(u32::MAX as u64) as u32).to_le_bytes())?;
            f.write_all(b"WAVE")?;
            f.write_all(b"JUNK")?;
            f.write_all(&28u32.to_le_bytes())?;
            f.write_all(&[0u8; 28])?;
        }
        f.write_all(b"fmt ")?;
        f.write_all(&16u32.to_le_bytes())?;
        f.write_all(&3u16.to_le_bytes())?; // IEEE float
        f.write_all(&2u16.to_le_bytes())?;
        f.write_all(&self.rate.to_le_bytes())?;
        f.write_all(&(self.rate * 8).to_le_bytes())?;
        f.write_all(&8u16.to_le_bytes())?;
        f.write_all(&32u16.to_le_bytes())?;
        f.write_all(b"data")?;
        let size = if rf64 { u32::MAX } else { data as u32 };
        f.write_all(&size.to_le_bytes())?;
        Ok(())
    }

    /// Appends interleaved stereo samples.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), WavError> {
        let mut buf = Vec::with_capacity(samples.len() * 4);
        for s in samples {
            buf.extend_from_slice(&s.to_le_bytes());
        }
        self.file.write_all(&buf).map_err(|error| WavError {
            path: self.path.clone(),
            error,
        })?;
        self.data_bytes += buf.len() as u64;
        Ok(())
    }

    /// Hands what was written so far to the system (no header update, no sync): a process
    /// killed after this keeps the samples, and `sample::wav_repair` mends the header at the
    /// next start.
    pub fn flush(&mut self) -> Result<(), WavError> {
        self.file.flush().map_err(|error| WavError {
            path: self.path.clone(),
            error,
        })
    }

    /// Brings the header's sizes up to date and pushes everything to the disk, so a power cut
    /// keeps what was written so far as a playable WAV (a file past the RIFF limit keeps its
    /// placeholder sizes until [`finish`](Self::finish); `sample::wav_repair` reads it).
    pub fn checkpoint(&mut self) -> Result<(), WavError> {
        let path = self.path.clone();
        let err = |error| WavError {
            path: path.clone(),
            error,
        };
        self.file.flush().map_err(err)?;
        if self.data_bytes <= self.riff_max {
            self.file.seek(SeekFrom::Start(0)).map_err(err)?;
            self.header(false).map_err(err)?;
            self.file.seek(SeekFrom::End(0)).map_err(err)?;
            self.file.flush().map_err(err)?;
        }
        self.file.get_ref().sync_data().map_err(err)?;
        Ok(())
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the final sizes (RF64 when the data outgrew RIFF) and closes the file.
    pub fn finish(mut self) -> Result<u64, WavError> {
        let path = self.path.clone();
        let err = |source| WavError {
            path: path.clone(),
            error: source,
        };
        let rf64 = self.data_bytes > self.riff_max;
        self.file.seek(SeekFrom::Start(0)).map_err(err)?;
        self.header(rf64).map_err(err)?;
        self.file.flush().map_err(err)?;
        self.file.get_ref().sync_all().map_err(err)?;
        Ok(self.data_bytes)
    }
}

/// Bytes free for a new file in the folder of `path`, if the system says.
pub fn free_bytes(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_plain_wav_and_big_ones_rf64() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let mut w = WavOut::create(&p, 48_000).unwrap();
        w.write(&[0.5, -0.5, 0.25, -0.25]).unwrap();
        w.finish().unwrap();
        let r = hound::WavReader::open(&p).unwrap();
        assert_eq!(r.spec().channels, 2);
        let s: Vec<f32> = r.into_samples().map(|s| s.unwrap()).collect();
        assert_eq!(s, vec![0.5, -0.5, 0.25, -0.25]);
        // Past the (here tiny) RIFF limit the header becomes RF64 with 64-bit sizes.
        let q = dir.path().join("b.wav");
        let mut w = WavOut::create_with_limit(&q, 48_000, 8).unwrap();
        w.write(&[0.1; 6]).unwrap();
        w.finish().unwrap();
        let b = std::fs::read(&q).unwrap();
        assert_eq!(&b[0..4], b"RF64");
        assert_eq!(&b[12..16], b"ds64");
        assert_eq!(u64::from_le_bytes(b[28..36].try_into().unwrap()), 24);
        assert_eq!(b.len() as u64, HEADER + 24);
    }
}
