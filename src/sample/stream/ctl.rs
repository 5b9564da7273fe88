//! The control side of streaming: preparing streamed tables (their RAM heads read now) and
//! handing them to the disk service; the service's errors and its health (whether the disk
//! keeps up) as the control thread sees them. Not real-time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::ops::Range;

use super::chunk::{ChunkPool, Format, StreamedTable, chunk_shift, chunk_words, first_frame};
use super::reader::{DiskReader, PreadReader, ReadOutcome, SourceFile};

/// Errors preparing a streamed table.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The prepared file could not be opened or read.
    #[error("{path}: cannot read it for streaming: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// A prepared copy whose bytes no longer match their checksums.
    #[error("{path}: the prepared copy is damaged ({reason})")]
    Damaged {
        /// The file.
        path: String,
        /// Which frames.
        reason: String,
    },
    /// The file is shorter than the table it should hold.
    #[error("{path}: the file is shorter than its header says ({have} of {want} bytes)")]
    Short {
        /// The file.
        path: String,
        /// Bytes present.
        have: u64,
        /// Bytes needed.
        want: u64,
    },
}

/// A streamed file that failed while playing, reported once by the disk thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskError {
    /// The table's name (the source, as the set names it).
    pub name: String,
    /// The file read (the source itself, or its prepared copy).
    pub path: String,
    /// What went wrong.
    pub reason: String,
    /// The file is a prepared copy whose bytes no longer match their checksums: it was
    /// deleted, and a reload makes it again.
    pub damaged: bool,
}

impl std::fmt::Display for DiskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.damaged {
            write!(
                f,
                "{}: its prepared copy {} is damaged ({}); the pads playing it fade out, the copy was deleted and is made again from the source at the next load",
                self.name, self.path, self.reason
            )
        } else {
            write!(
                f,
                "{}: streaming stopped: {}; the pads playing it fade out (reload the set once the file is back)",
                self.name, self.reason
            )
        }
    }
}

/// Why a chunk could not be read.
pub(crate) enum ChunkError {
    /// The read failed or came up short.
    Failed(String),
    /// A block's bytes do not match its checksum.
    Damaged(String),
}

/// What the disk thread is doing, for the control thread's reports. Never blocks for long.
#[derive(Debug, Default)]
pub struct DiskStatus {
    /// Monotonic nanoseconds (since `origin`) when the read in progress began; 0 when idle.
    pub(crate) busy_since: AtomicU64,
    /// Table id + 1 of the read in progress.
    pub(crate) busy_table: AtomicU32,
    /// Chunks read so far.
    pub reads: AtomicU64,
    /// Bytes read so far.
    pub bytes: AtomicU64,
    /// Reads that found no free buffer (the pool is too small for what plays).
    pub pool_exhausted: AtomicU64,
    pub(crate) origin: Mutex<Option<Instant>>,
    pub(crate) names: Mutex<HashMap<u32, String>>,
}

impl DiskStatus {
    pub(crate) fn now_ns(&self) -> u64 {
        let origin = *self
            .origin
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Instant::now);
        origin.elapsed().as_nanos() as u64 + 1
    }

    /// The file whose read has not returned for longer than `after`, and for how long.
    pub fn stalled(&self, after: Duration) -> Option<(String, Duration)> {
        let since = self.busy_since.load(Ordering::Acquire);
        if since == 0 {
            return None;
        }
        let waited = Duration::from_nanos(self.now_ns().saturating_sub(since));
        if waited < after {
            return None;
        }
        let id = self.busy_table.load(Ordering::Acquire).checked_sub(1)?;
        let name = self
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("table {id}"));
        Some((name, waited))
    }
}

pub(crate) struct NewTable {
    pub(crate) table: Arc<StreamedTable>,
    pub(crate) file: SourceFile,
    pub(crate) name: String,
}

/// The control side: prepares streamed tables (reads their heads) and hands them to the
/// service; receives the service's error messages. Not real-time.
pub struct StreamCtl {
    pub(crate) pool: Arc<ChunkPool>,
    pub(crate) next_id: Arc<AtomicU32>,
    pub(crate) to_service: Sender<NewTable>,
    pub(crate) errors: Receiver<DiskError>,
    pub(crate) status: Arc<DiskStatus>,
}

impl StreamCtl {
    /// Makes a streamed table of `frames` frames of `groups` stereo pairs in `format` from
    /// `file` (frame 0 at its `data_offset`), with the chunks covering `heads` read now and kept
    /// resident, and registers it with the disk service. Blocks on disk reads; not real-time.
    pub fn prepare(
        &self,
        name: &str,
        file: SourceFile,
        frames: usize,
        (format, groups): (Format, usize),
        heads: &[Range<usize>],
    ) -> Result<Arc<StreamedTable>, StreamError> {
        let fb = format.bytes_per_frame(groups);
        let io = |e: std::io::Error| StreamError::Io {
            path: file.path.display().to_string(),
            reason: e.to_string(),
        };
        let want = file.data_offset + (frames * fb) as u64;
        let have = file.file.metadata().map_err(io)?.len();
        if have < want {
            return Err(StreamError::Short {
                path: file.path.display().to_string(),
                have,
                want,
            });
        }
        let shift = chunk_shift(self.pool.chunk_bytes(), fb);
        let mut pinned_chunks: Vec<usize> = heads
            .iter()
            .filter(|r| r.start < r.end)
            .flat_map(|r| (r.start >> shift)..=((r.end - 1).min(frames.saturating_sub(1)) >> shift))
            .collect();
        pinned_chunks.sort_unstable();
        pinned_chunks.dedup();
        let mut reader = PreadReader;
        let mut pinned = Vec::with_capacity(pinned_chunks.len());
        for c in pinned_chunks {
            let mut buf = vec![0u64; chunk_words(shift, fb)].into_boxed_slice();
            // SAFETY: viewing plain u64 words as bytes.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut u8, buf.len() * 8)
            };
            fill_chunk(
                &mut reader,
                &file,
                frames,
                (format, groups),
                shift,
                c,
                bytes,
            )
            .map_err(|e| {
                let path = file.path.display().to_string();
                match e {
                    ChunkError::Failed(reason) => StreamError::Io { path, reason },
                    ChunkError::Damaged(reason) => StreamError::Damaged { path, reason },
                }
            })?;
            pinned.push((c, buf));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let table = Arc::new(StreamedTable::new(
            id,
            frames,
            format,
            groups,
            shift,
            pinned,
            Some(self.pool.clone()),
        ));
        self.status
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, name.to_string());
        // A service that is gone (stopped) leaves the table with its heads only.
        let _ = self.to_service.send(NewTable {
            table: table.clone(),
            file,
            name: name.to_string(),
        });
        Ok(table)
    }

    /// Files that failed in the disk service since the last call (one each).
    pub fn take_errors(&self) -> Vec<DiskError> {
        self.errors.try_iter().collect()
    }

    /// What the disk thread is doing.
    pub fn status(&self) -> &Arc<DiskStatus> {
        &self.status
    }

    /// Bytes of the shared look-ahead pool.
    pub fn pool_bytes(&self) -> usize {
        self.pool.bytes()
    }
}

/// Reads chunk `c` of a table into `buf` (its frames and guard frames; zeros outside the
/// table), replacing non-finite floats by silence as the in-RAM loader does.
pub(crate) fn fill_chunk(
    reader: &mut dyn DiskReader,
    file: &SourceFile,
    frames: usize,
    (format, groups): (Format, usize),
    shift: u32,
    c: usize,
    buf: &mut [u8],
) -> Result<Option<()>, ChunkError> {
    let fb = format.bytes_per_frame(groups);
    let first = first_frame(c, shift);
    let last = first + ((1isize << shift) + 3); // exclusive
    let from = first.max(0) as usize;
    let to = (last.max(0) as usize).min(frames);
    buf.fill(0);
    if from >= to {
        return Ok(Some(()));
    }
    let at = (from as isize - first) as usize * fb;
    let want = (to - from) * fb;
    let offset = file.data_offset + (from * fb) as u64;
    match reader.read_at(file, offset, &mut buf[at..at + want]) {
        ReadOutcome::NotYet => Ok(None),
        ReadOutcome::Failed(e) => Err(ChunkError::Failed(format!(
            "read failed at byte {offset}: {e}"
        ))),
        ReadOutcome::Done(n) if n < want => Err(ChunkError::Failed(format!(
            "the file ended early: {n} of {want} bytes at byte {offset} (was it cut short or replaced while playing?)"
        ))),
        ReadOutcome::Done(_) => {
            if let Some(checks) = &file.checks {
                verify(checks, from, to, frames, fb, &buf[at..at + want])
                    .map_err(ChunkError::Damaged)?;
            }
            if format == Format::F32 {
                for w in buf[at..at + want].chunks_exact_mut(4) {
                    let v = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                    let v = if v.is_finite() { v } else { 0.0 };
                    w.copy_from_slice(&v.to_ne_bytes());
                }
            } else if cfg!(target_endian = "big") {
                for w in buf[at..at + want].chunks_exact_mut(2) {
                    let v = i16::from_le_bytes([w[0], w[1]]);
                    w.copy_from_slice(&v.to_ne_bytes());
                }
            }
            Ok(Some(()))
        }
    }
}

/// Checks the checksum blocks lying whole inside frames `from..to` (their bytes in `bytes`,
/// frame `from` first) of a table of `frames` frames.
pub(crate) fn verify(
    checks: &super::prepare::Checksums,
    from: usize,
    to: usize,
    frames: usize,
    fb: usize,
    bytes: &[u8],
) -> Result<(), String> {
    let size = checks.block_frames;
    let mut b = from.div_ceil(size);
    while b * size < to {
        let (start, end) = (b * size, ((b + 1) * size).min(frames));
        if end > to {
            break;
        }
        let got = super::prepare::Checksums::of(&bytes[(start - from) * fb..(end - from) * fb]);
        if checks.sums.get(b) != Some(&got) {
            return Err(format!(
                "frames {start} to {end} do not match their checksum"
            ));
        }
        b += 1;
    }
    Ok(())
}
