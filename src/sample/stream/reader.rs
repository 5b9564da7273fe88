//! Disk reads behind an interface: the real one (`pread` on an open file) and test stand-ins
//! that are slow, late, stalled, hung or broken on purpose (see `throttle`), so starvation is
//! tested deterministically on a fast CI disk. Not real-time (this is the disk thread's side).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A prepared-PCM file a streamed table reads from: raw little-endian interleaved frames in
/// the table's storage format, starting at `data_offset`.
#[derive(Debug)]
pub struct SourceFile {
    /// Where it is (for messages).
    pub path: PathBuf,
    /// The open file.
    pub file: File,
    /// Byte offset of frame 0.
    pub data_offset: u64,
    /// Block checksums of a prepared file (checked as blocks are read).
    pub checks: Option<std::sync::Arc<super::prepare::Checksums>>,
}

impl SourceFile {
    /// Opens `path` with frame 0 at `data_offset` and tells the kernel it will be read
    /// sequentially. Not real-time.
    pub fn open(path: &Path, data_offset: u64) -> io::Result<Self> {
        let file = File::open(path)?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a valid open descriptor; advice only.
            unsafe {
                libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL);
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            data_offset,
            checks: None,
        })
    }
}

/// What a read request came to.
#[derive(Debug)]
pub enum ReadOutcome {
    /// This many bytes were read (fewer than asked only at the end of the file).
    Done(usize),
    /// Not available yet (a simulated slow disk); ask again later.
    NotYet,
    /// The read failed.
    Failed(io::Error),
}

/// Reads bytes of source files for the disk service. Not real-time.
pub trait DiskReader: Send {
    /// Reads up to `buf.len()` bytes of `file` at byte `offset` (relative to the file's start).
    fn read_at(&mut self, file: &SourceFile, offset: u64, buf: &mut [u8]) -> ReadOutcome;

    /// Tells the reader that `frames` output frames of (virtual) time passed; simulated disks
    /// use it, real ones ignore it.
    fn advance(&mut self, _frames: u64) {}
}

/// The real disk: `pread` until the buffer is full or the file ends.
#[derive(Debug, Default)]
pub struct PreadReader;

impl DiskReader for PreadReader {
    fn read_at(&mut self, file: &SourceFile, offset: u64, buf: &mut [u8]) -> ReadOutcome {
        let mut done = 0;
        while done < buf.len() {
            match file.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return ReadOutcome::Failed(e),
            }
        }
        ReadOutcome::Done(done)
    }
}
