//! In-memory sample storage: interleaved stereo frames at the engine's output rate.
//!
//! 16-bit sources stay 16-bit in memory (half the size of float32) and are converted on read;
//! everything else is held as float32.

/// Runs `$body` with `$src` bound to a [`FrameSource`] over `$data` (a `&SampleData`),
/// monomorphised per storage format. Real-time safe.
#[macro_export]
macro_rules! with_frames {
    ($data:expr, |$src:ident| $body:expr) => {
        match $data {
            $crate::sample::buffer::SampleData::I16(d) => {
                let $src = &$crate::sample::buffer::I16Frames(d);
                $body
            }
            $crate::sample::buffer::SampleData::F32(d) => {
                let $src = &$crate::sample::buffer::F32Frames(d);
                $body
            }
            $crate::sample::buffer::SampleData::Streamed(t) => match t.format {
                $crate::sample::stream::Format::I16 => {
                    let $src = &$crate::sample::stream::ChunkedFrames::<i16>::new(t);
                    $body
                }
                $crate::sample::stream::Format::F32 => {
                    let $src = &$crate::sample::stream::ChunkedFrames::<f32>::new(t);
                    $body
                }
            },
        }
    };
}

/// Interleaved stereo sample data in one of the supported storage formats.
#[derive(Debug)]
pub enum SampleData {
    /// 16-bit integer frames, `[l0, r0, l1, r1, ...]`; read as `x / 32768`.
    I16(Box<[i16]>),
    /// 32-bit float frames, `[l0, r0, l1, r1, ...]`.
    F32(Box<[f32]>),
    /// Frames streamed from disk in chunks (heads resident, the rest read ahead of voices).
    Streamed(std::sync::Arc<crate::sample::stream::StreamedTable>),
}

/// A decoded, resampled, ready-to-play stereo sample. Immutable once built; shared via `Arc`.
#[derive(Debug)]
pub struct SampleBuffer {
    /// Human-readable origin (file path or built-in name), for messages.
    pub name: String,
    /// Frame rate of the data (always the engine's output rate once loaded).
    pub rate: u32,
    /// Non-finite samples (NaN, ±inf) in the source that were replaced by silence.
    pub nonfinite: usize,
    data: SampleData,
}

/// Read access to stereo frames, monomorphised per storage format by the voice renderer.
pub trait FrameSource {
    /// Number of stereo frames.
    fn len_frames(&self) -> usize;
    /// Frame `i` as `[left, right]`; `i` must be `< len_frames()`. Real-time safe.
    fn frame(&self, i: usize) -> [f32; 2];
    /// Frames `i - 1 ..= i + 2` interleaved (`[l, r, l, r, ...]`), without bounds checks.
    /// Real-time safe.
    ///
    /// # Safety
    /// `1 <= i` and `i + 2 < len_frames()`.
    unsafe fn window4_unchecked(&self, i: usize) -> [f32; 8];

    /// Whether frames live in separate chunks (a streamed table): the renderer then reads
    /// through [`flat_at`](Self::flat_at) views instead of one flat slice.
    const CHUNKED: bool = false;

    /// A flat view of contiguous storage.
    type Flat<'b>: FrameSource
    where
        Self: 'b;

    /// The flat storage holding the window of frame `i`: `(lo, hi, add, view)`, where every
    /// `j` in `lo..hi` has its window at `view.window4_unchecked(j + add)`; None when that
    /// storage is absent (a chunk not resident). Real-time safe.
    fn flat_at(&self, i: usize) -> Option<(usize, usize, isize, Self::Flat<'_>)>;
}

/// 16-bit storage view.
pub struct I16Frames<'a>(pub &'a [i16]);
/// Float storage view.
pub struct F32Frames<'a>(pub &'a [f32]);

const I16_SCALE: f32 = 1.0 / 32768.0;

impl FrameSource for I16Frames<'_> {
    #[inline(always)]
    fn len_frames(&self) -> usize {
        self.0.len() / 2
    }
    #[inline(always)]
    unsafe fn window4_unchecked(&self, i: usize) -> [f32; 8] {
        // SAFETY: the caller guarantees samples 2(i-1) ..= 2(i+2)+1 exist.
        let w: [i16; 8] = unsafe {
            std::ptr::read_unaligned(self.0.as_ptr().add(2 * (i - 1)) as *const [i16; 8])
        };
        w.map(|v| v as f32 * I16_SCALE)
    }
    type Flat<'b>
        = I16Frames<'b>
    where
        Self: 'b;
    #[inline(always)]
    fn flat_at(&self, _i: usize) -> Option<(usize, usize, isize, I16Frames<'_>)> {
        Some((0, usize::MAX, 0, I16Frames(self.0)))
    }
    #[inline(always)]
    fn frame(&self, i: usize) -> [f32; 2] {
        let s = &self.0[2 * i..2 * i + 2];
        [s[0] as f32 * I16_SCALE, s[1] as f32 * I16_SCALE]
    }
}

impl FrameSource for F32Frames<'_> {
    #[inline(always)]
    fn len_frames(&self) -> usize {
        self.0.len() / 2
    }
    #[inline(always)]
    unsafe fn window4_unchecked(&self, i: usize) -> [f32; 8] {
        // SAFETY: the caller guarantees samples 2(i-1) ..= 2(i+2)+1 exist.
        unsafe { std::ptr::read_unaligned(self.0.as_ptr().add(2 * (i - 1)) as *const [f32; 8]) }
    }
    type Flat<'b>
        = F32Frames<'b>
    where
        Self: 'b;
    #[inline(always)]
    fn flat_at(&self, _i: usize) -> Option<(usize, usize, isize, F32Frames<'_>)> {
        Some((0, usize::MAX, 0, F32Frames(self.0)))
    }
    #[inline(always)]
    fn frame(&self, i: usize) -> [f32; 2] {
        let s = &self.0[2 * i..2 * i + 2];
        [s[0], s[1]]
    }
}

impl SampleBuffer {
    /// Builds a float32 buffer from interleaved stereo samples. Non-finite samples (NaN,
    /// ±inf) become silence and are counted in [`nonfinite`](Self::nonfinite): nothing the
    /// engine plays can poison the mix. Allocates; not real-time safe.
    pub fn from_f32(name: impl Into<String>, rate: u32, mut interleaved: Vec<f32>) -> Self {
        let mut nonfinite = 0;
        for s in interleaved.iter_mut() {
            if !s.is_finite() {
                *s = 0.0;
                nonfinite += 1;
            }
        }
        Self {
            name: name.into(),
            rate,
            nonfinite,
            data: SampleData::F32(interleaved.into_boxed_slice()),
        }
    }

    /// Builds a 16-bit buffer from interleaved stereo samples. Allocates; not real-time safe.
    pub fn from_i16(name: impl Into<String>, rate: u32, interleaved: Vec<i16>) -> Self {
        Self {
            name: name.into(),
            rate,
            nonfinite: 0,
            data: SampleData::I16(interleaved.into_boxed_slice()),
        }
    }

    /// A buffer whose frames stream from disk. Not real-time.
    pub fn streamed(
        name: impl Into<String>,
        rate: u32,
        table: std::sync::Arc<crate::sample::stream::StreamedTable>,
    ) -> Self {
        Self {
            name: name.into(),
            rate,
            nonfinite: 0,
            data: SampleData::Streamed(table),
        }
    }

    /// The streamed table, if this buffer streams. Real-time safe.
    pub fn stream(&self) -> Option<&crate::sample::stream::StreamedTable> {
        match &self.data {
            SampleData::Streamed(t) => Some(t),
            _ => None,
        }
    }

    /// The stored data. Real-time safe.
    pub fn data(&self) -> &SampleData {
        &self.data
    }

    /// Number of stereo frames. Real-time safe.
    pub fn frames(&self) -> usize {
        match &self.data {
            SampleData::I16(d) => d.len() / 2,
            SampleData::F32(d) => d.len() / 2,
            SampleData::Streamed(t) => t.frames,
        }
    }

    /// Bytes of sample memory held by this buffer (for a streamed one, its resident heads).
    /// Real-time safe.
    pub fn memory_bytes(&self) -> usize {
        match &self.data {
            SampleData::I16(d) => d.len() * 2,
            SampleData::F32(d) => d.len() * 4,
            SampleData::Streamed(t) => t.pinned_bytes(),
        }
    }

    /// Bytes the same audio would take as float32 (the "raw" size). Real-time safe.
    pub fn float32_bytes(&self) -> usize {
        self.frames() * 2 * 4
    }

    /// Duration in seconds. Real-time safe.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.rate as f64
    }

    /// Frame `i` as floats (slow path for analysis and tests). Real-time safe.
    pub fn frame(&self, i: usize) -> [f32; 2] {
        crate::with_frames!(&self.data, |src| src.frame(i))
    }
}
