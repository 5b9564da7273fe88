//! Chunked storage of a streamed table: the table is cut into chunks of a power-of-two number
//! of frames; each chunk is either resident (its frames in a chunk buffer) or not. The audio
//! thread reads resident chunks through [`ChunkedFrames`]; the disk service fills and evicts
//! them (see `service`).
//!
//! A chunk buffer holds its chunk's frames plus one frame before and two after (the
//! interpolator's 4-frame window), so every window the voice renderer reads lies in one buffer.
//!
//! Safety protocol (between the disk thread and the audio thread):
//! - a chunk buffer is written only while no table maps it (free), then published with a
//!   release store of its pointer in the table's map;
//! - to evict, the disk thread stores null in the map and notes the engine's block epoch
//!   ([`super::StreamHints::epoch`]); the buffer is reused only once the epoch has moved on, so a
//!   block that saw the old pointer has finished with it.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Storage format of a streamed table's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// 16-bit integers, read as `x / 32768`.
    I16,
    /// 32-bit floats.
    F32,
}

impl Format {
    /// Bytes of one stereo frame.
    pub fn frame_bytes(self) -> usize {
        match self {
            Format::I16 => 4,
            Format::F32 => 8,
        }
    }
}

/// Frames before and after a chunk's own frames held in its buffer.
pub const GUARD_BEFORE: usize = 1;
/// See [`GUARD_BEFORE`].
pub const GUARD_AFTER: usize = 2;

/// Default size of a chunk buffer: 128 KiB of frames (32768 16-bit or 16384 float frames,
/// 0.68 s or 0.34 s at 48 kHz) plus the guard frames.
pub const DEFAULT_CHUNK_BYTES: usize = 128 * 1024 + 3 * 8;

impl Format {
    /// Bytes of one frame of `groups` stereo pairs (a stem bundle has several).
    pub fn bytes_per_frame(self, groups: usize) -> usize {
        self.frame_bytes() * groups.max(1)
    }
}

/// Frames per chunk (a power of two, as a shift) for chunk buffers of `chunk_bytes` holding
/// frames of `frame_bytes` bytes. Not real-time (pure arithmetic, but called at load).
pub fn chunk_shift(chunk_bytes: usize, frame_bytes: usize) -> u32 {
    let fit = (chunk_bytes / frame_bytes.max(1)).saturating_sub(GUARD_BEFORE + GUARD_AFTER);
    fit.max(2).ilog2()
}

/// Preallocated chunk buffers shared by the streamed tables of one disk service. Owns the
/// memory; the disk service hands chunks out and takes them back (see the module's protocol).
pub struct ChunkPool {
    mem: Box<[UnsafeCell<u64>]>,
    words: usize,
    count: usize,
}

// SAFETY: the buffers are written only by the disk service while unmapped and read by the audio
// thread only while mapped (module protocol); the pool itself is never resized.
unsafe impl Sync for ChunkPool {}
// SAFETY: as above; the memory is plain data.
unsafe impl Send for ChunkPool {}

impl ChunkPool {
    /// `count` chunk buffers of `chunk_bytes` each (rounded up to 8 bytes), zeroed. Allocates;
    /// not real-time.
    pub fn new(count: usize, chunk_bytes: usize) -> Self {
        let words = chunk_bytes.div_ceil(8);
        let mem = (0..count * words).map(|_| UnsafeCell::new(0)).collect();
        Self { mem, words, count }
    }

    /// Number of chunk buffers.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the pool has no buffers.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of one chunk buffer.
    pub fn chunk_bytes(&self) -> usize {
        self.words * 8
    }

    /// Bytes held by the pool.
    pub fn bytes(&self) -> usize {
        self.count * self.words * 8
    }

    /// Pointer to buffer `k`'s first byte. Real-time safe.
    pub fn ptr(&self, k: usize) -> NonNull<u8> {
        let cell = &self.mem[k * self.words];
        // SAFETY: UnsafeCell::get never returns null.
        unsafe { NonNull::new_unchecked(cell.get() as *mut u8) }
    }

    /// Buffer `k` for writing.
    ///
    /// # Safety
    /// Only the disk service may call it, for a buffer no table maps (free, and its eviction
    /// epoch passed), and it must not keep the slice past publishing the buffer.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn chunk_mut(&self, k: usize) -> &mut [u8] {
        // SAFETY: the caller guarantees exclusive access; the range lies inside `mem`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr(k).as_ptr(), self.words * 8) }
    }
}

/// A table whose frames live in chunks filled from disk. Shared between the engine (which reads
/// it) and the disk service (which fills it).
pub struct StreamedTable {
    /// Identifier given by the disk service (hints name tables by it).
    pub id: u32,
    /// Frames in the table.
    pub frames: usize,
    /// Storage format.
    pub format: Format,
    /// Stereo pairs per frame (1; a stem bundle: 1 + its stems).
    pub groups: usize,
    shift: u32,
    map: Box<[AtomicPtr<u8>]>,
    failed: AtomicBool,
    /// Chunk buffers this table owns (its RAM heads): always mapped, never evicted.
    _pinned: Box<[Box<[u64]>]>,
    /// Keeps the shared buffers alive while the table may map them.
    _pool: Option<Arc<ChunkPool>>,
}

impl std::fmt::Debug for StreamedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedTable")
            .field("id", &self.id)
            .field("frames", &self.frames)
            .field("format", &self.format)
            .field("chunk_frames", &self.chunk_frames())
            .finish()
    }
}

impl StreamedTable {
    /// A table of `frames` frames in `format`, chunks of `1 << shift` frames; `pinned` lists
    /// chunk indices with their filled buffers (the heads), the other chunks start absent.
    /// Allocates; not real-time.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u32,
        frames: usize,
        format: Format,
        groups: usize,
        shift: u32,
        pinned: Vec<(usize, Box<[u64]>)>,
        pool: Option<Arc<ChunkPool>>,
    ) -> Self {
        let chunks = frames.div_ceil(1 << shift).max(1);
        let map: Box<[AtomicPtr<u8>]> = (0..chunks)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        let mut own = Vec::with_capacity(pinned.len());
        for (c, mut buf) in pinned {
            if let Some(slot) = map.get(c) {
                slot.store(buf.as_mut_ptr() as *mut u8, Ordering::Release);
                own.push(buf);
            }
        }
        Self {
            id,
            frames,
            format,
            groups: groups.max(1),
            shift,
            map,
            failed: AtomicBool::new(false),
            _pinned: own.into_boxed_slice(),
            _pool: pool,
        }
    }

    /// Bytes of one frame. Real-time safe.
    pub fn frame_bytes(&self) -> usize {
        self.format.bytes_per_frame(self.groups)
    }

    /// Frames per chunk. Real-time safe.
    pub fn chunk_frames(&self) -> usize {
        1 << self.shift
    }

    /// Number of chunks. Real-time safe.
    pub fn chunks(&self) -> usize {
        self.map.len()
    }

    /// Frames per chunk as a shift. Real-time safe.
    pub fn shift(&self) -> u32 {
        self.shift
    }

    /// The chunk holding frame `i`. Real-time safe.
    #[inline(always)]
    pub fn chunk_of(&self, i: usize) -> usize {
        i >> self.shift
    }

    /// Whether chunk `c` is resident (its frames are visible after it says yes). Real-time safe.
    #[inline]
    pub fn resident(&self, c: usize) -> bool {
        self.map
            .get(c)
            .is_some_and(|p| !p.load(Ordering::SeqCst).is_null())
    }

    /// Whether every chunk holding frames `from..=to` is resident. Real-time safe.
    pub fn resident_range(&self, from: usize, to: usize) -> bool {
        let to = to.min(self.frames.saturating_sub(1));
        if from > to {
            return true;
        }
        (self.chunk_of(from)..=self.chunk_of(to)).all(|c| self.resident(c))
    }

    /// Bytes of RAM the pinned heads take. Not real-time.
    pub fn pinned_bytes(&self) -> usize {
        self._pinned.iter().map(|b| b.len() * 8).sum()
    }

    /// Whether reading from disk failed for good (truncated, deleted, I/O error). Real-time safe.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Marks the table failed (the disk service, after an unrecoverable read). Real-time safe.
    pub fn set_failed(&self) {
        self.failed.store(true, Ordering::Release);
    }

    /// Maps chunk `c` to a pool buffer (disk service only, after filling it). Real-time safe.
    pub fn publish(&self, c: usize, ptr: NonNull<u8>) {
        if let Some(slot) = self.map.get(c) {
            slot.store(ptr.as_ptr(), Ordering::Release);
        }
    }

    /// Unmaps chunk `c` (disk service only; see the module's protocol before reusing the
    /// buffer). Real-time safe.
    pub fn unpublish(&self, c: usize) {
        if let Some(slot) = self.map.get(c) {
            slot.store(std::ptr::null_mut(), Ordering::SeqCst);
        }
    }

    /// The buffer of chunk `c`, or null when it is not resident (see the module's protocol).
    /// Real-time safe.
    #[inline(always)]
    pub(crate) fn chunk_ptr(&self, c: usize) -> *const u8 {
        self.chunk_ptr_inner(c)
    }

    /// Frame `i`'s full-mix pair as floats if its chunk is resident, else silence (analysis
    /// and tests; the audio thread reads through `engine::source`). Real-time safe.
    pub fn frame(&self, i: usize) -> [f32; 2] {
        if i >= self.frames {
            return [0.0; 2];
        }
        let c = self.chunk_of(i);
        let p = self.chunk_ptr_inner(c);
        if p.is_null() {
            return [0.0; 2];
        }
        let at = (i - (c << self.shift) + GUARD_BEFORE) * 2 * self.groups;
        // SAFETY: a mapped buffer holds its chunk's frames and the guard frames, `groups`
        // stereo pairs each, in the table's format.
        unsafe {
            match self.format {
                Format::I16 => {
                    let s = p as *const i16;
                    [
                        *s.add(at) as f32 * crate::sample::buffer::I16_SCALE,
                        *s.add(at + 1) as f32 * crate::sample::buffer::I16_SCALE,
                    ]
                }
                Format::F32 => {
                    let s = p as *const f32;
                    [*s.add(at), *s.add(at + 1)]
                }
            }
        }
    }

    #[inline(always)]
    fn chunk_ptr_inner(&self, c: usize) -> *const u8 {
        match self.map.get(c) {
            // SeqCst (free on x86 and AArch64 loads) so the eviction protocol's epoch argument
            // holds: a load after the block epoch moved on sees the unmapping.
            Some(p) => p.load(Ordering::SeqCst),
            None => std::ptr::null(),
        }
    }
}

/// Frame `first_frame(c)` is the first frame a chunk buffer holds (one before the chunk).
pub fn first_frame(c: usize, shift: u32) -> isize {
    ((c as isize) << shift) - GUARD_BEFORE as isize
}

/// Buffer size in u64 words for one chunk of a table with chunk shift `shift` and frames of
/// `frame_bytes` bytes.
pub fn chunk_words(shift: u32, frame_bytes: usize) -> usize {
    (((1usize << shift) + GUARD_BEFORE + GUARD_AFTER) * frame_bytes).div_ceil(8)
}
