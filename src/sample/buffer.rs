//! In-memory sample storage: interleaved stereo frames at the engine's output rate.
//!
//! 16-bit sources stay 16-bit in memory (half the size of float32) and are converted on read;
//! everything else is held as float32. A stem bundle holds the full mix and its stems side by
//! side in one table, read through [`StemFrames`].

use std::cell::Cell;

/// Runs `$body` with `$src` bound to a [`FrameSource`] over `$data` (a `&SampleData`),
/// monomorphised per storage format. Real-time safe.
#[macro_export]
macro_rules! with_frames {
    ($data:expr, |$src:ident| $body:expr) => {
        $crate::with_frames!($data, &$crate::sample::buffer::MIX_ONLY, |$src| $body)
    };
    ($data:expr, $gains:expr, |$src:ident| $body:expr) => {
        match $data {
            $crate::sample::buffer::SampleData::BundleI16 { groups, data } => {
                let $src = &$crate::sample::buffer::StemFrames::<i16>::new(data, *groups, $gains);
                $body
            }
            $crate::sample::buffer::SampleData::BundleF32 { groups, data } => {
                let $src = &$crate::sample::buffer::StemFrames::<f32>::new(data, *groups, $gains);
                $body
            }
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
    /// A stem bundle in 16 bits: `groups` stereo pairs per frame, the full mix first, then
    /// each stem (`[mix l, mix r, stem1 l, stem1 r, ...]`), all from one playhead.
    BundleI16 {
        /// Stereo pairs per frame (1 + number of stems).
        groups: usize,
        /// Interleaved frames.
        data: Box<[i16]>,
    },
    /// A stem bundle in float (see [`SampleData::BundleI16`]).
    BundleF32 {
        /// Stereo pairs per frame (1 + number of stems).
        groups: usize,
        /// Interleaved frames.
        data: Box<[f32]>,
    },
}

/// Most stems a pad can have (Demucs' 6-stem layout).
pub const MAX_STEMS: usize = 6;
/// Stereo pairs a bundle frame can hold: the full mix and [`MAX_STEMS`] stems (one spare).
pub const MAX_GROUPS: usize = 8;
/// Gains that play a bundle's full mix only (and a stereo buffer as it is).
pub const MIX_ONLY: [f32; MAX_GROUPS] = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];

/// What a stem is called and its colour (for LEDs and messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StemInfo {
    /// Name (`drums`, `bass`, `vocals`, ... or the file's name).
    pub name: String,
    /// Colour as RGB.
    pub color: [u8; 3],
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
    /// The stems of a bundle, in storage order after the full mix (empty for a plain sample).
    pub stems: Vec<StemInfo>,
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

    /// Whether this reads a stem bundle mixed down with per-stem gains: the renderer then
    /// sets the gains for each run ([`set_gains`](Self::set_gains)) and reads through
    /// [`window4_ramped`](Self::window4_ramped).
    const STEMS: bool = false;

    /// The per-stem gains for the next reads: `g0[g] + dg[g]·k` at output frame `k` of the run
    /// (stereo buffers ignore them). Real-time safe.
    fn set_gains(&self, _g0: &[f32; MAX_GROUPS], _dg: &[f32; MAX_GROUPS]) {}

    /// [`window4_unchecked`](Self::window4_unchecked) with the gains at output frame `k` of
    /// the run. Real-time safe.
    ///
    /// # Safety
    /// As [`window4_unchecked`](Self::window4_unchecked).
    #[inline(always)]
    unsafe fn window4_ramped(&self, i: usize, _k: f32) -> [f32; 8] {
        // SAFETY: forwarded precondition.
        unsafe { self.window4_unchecked(i) }
    }
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
            stems: Vec::new(),
            data: SampleData::F32(interleaved.into_boxed_slice()),
        }
    }

    /// Builds a 16-bit buffer from interleaved stereo samples. Allocates; not real-time safe.
    pub fn from_i16(name: impl Into<String>, rate: u32, interleaved: Vec<i16>) -> Self {
        Self {
            name: name.into(),
            rate,
            nonfinite: 0,
            stems: Vec::new(),
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
            stems: Vec::new(),
            data: SampleData::Streamed(table),
        }
    }

    /// A stem bundle: `data` holds `1 + stems.len()` stereo pairs per frame, the full mix
    /// first (see [`SampleData::BundleI16`]). Allocates; not real-time safe.
    pub fn bundle(
        name: impl Into<String>,
        rate: u32,
        data: Bundle,
        stems: Vec<StemInfo>,
        nonfinite: usize,
    ) -> Self {
        let groups = 1 + stems.len();
        let data = match data {
            Bundle::I16(d) => SampleData::BundleI16 {
                groups,
                data: d.into_boxed_slice(),
            },
            Bundle::F32(d) => SampleData::BundleF32 {
                groups,
                data: d.into_boxed_slice(),
            },
        };
        Self {
            name: name.into(),
            rate,
            nonfinite,
            stems,
            data,
        }
    }

    /// Stereo pairs per frame: 1 for a plain sample, 1 + stems for a bundle. Real-time safe.
    pub fn groups(&self) -> usize {
        match &self.data {
            SampleData::BundleI16 { groups, .. } | SampleData::BundleF32 { groups, .. } => *groups,
            _ => 1,
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
            SampleData::BundleI16 { groups, data } => data.len() / (2 * groups),
            SampleData::BundleF32 { groups, data } => data.len() / (2 * groups),
        }
    }

    /// Bytes of sample memory held by this buffer (for a streamed one, its resident heads).
    /// Real-time safe.
    pub fn memory_bytes(&self) -> usize {
        match &self.data {
            SampleData::I16(d) => d.len() * 2,
            SampleData::F32(d) => d.len() * 4,
            SampleData::Streamed(t) => t.pinned_bytes(),
            SampleData::BundleI16 { data, .. } => data.len() * 2,
            SampleData::BundleF32 { data, .. } => data.len() * 4,
        }
    }

    /// Bytes the same audio would take as float32 (the "raw" size). Real-time safe.
    pub fn float32_bytes(&self) -> usize {
        self.frames() * 2 * 4 * self.groups()
    }

    /// Duration in seconds. Real-time safe.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.rate as f64
    }

    /// Frame `i` as floats (slow path for analysis and tests; a bundle's full mix).
    /// Real-time safe.
    pub fn frame(&self, i: usize) -> [f32; 2] {
        crate::with_frames!(&self.data, |src| src.frame(i))
    }
}

/// A stem bundle's samples, before they become a [`SampleBuffer`].
#[derive(Debug, Clone)]
pub enum Bundle {
    /// 16-bit frames.
    I16(Vec<i16>),
    /// Float frames.
    F32(Vec<f32>),
}

/// Sample types a bundle may hold.
pub trait BundleSample: Copy + 'static {
    /// As a float in -1..1. Real-time safe.
    fn to_f32(self) -> f32;
}

impl BundleSample for i16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32 * I16_SCALE
    }
}

impl BundleSample for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

/// A stem bundle read as stereo: every frame is the sum of its stereo pairs, each scaled by its
/// gain (pair 0 the full mix, then the stems). Summing before interpolating gives the same
/// sound as interpolating each stem (the interpolator is linear) for a fraction of the work;
/// pairs at gain 0 are not read. Real-time safe.
pub struct StemFrames<'a, T> {
    data: &'a [T],
    ch: usize,
    frames: usize,
    g0: Cell<[f32; MAX_GROUPS]>,
    dg: Cell<[f32; MAX_GROUPS]>,
    active: Cell<([u8; MAX_GROUPS], usize)>,
}

impl<'a, T: BundleSample> StemFrames<'a, T> {
    /// A reader over `data` with `groups` stereo pairs per frame at fixed `gains`.
    /// Real-time safe.
    pub fn new(data: &'a [T], groups: usize, gains: &[f32; MAX_GROUPS]) -> Self {
        let groups = groups.clamp(1, MAX_GROUPS);
        let ch = 2 * groups;
        let s = Self {
            data,
            ch,
            frames: data.len() / ch,
            g0: Cell::new([0.0; MAX_GROUPS]),
            dg: Cell::new([0.0; MAX_GROUPS]),
            active: Cell::new(([0; MAX_GROUPS], 0)),
        };
        s.set_gains(gains, &[0.0; MAX_GROUPS]);
        s
    }

    /// Frames `i - 1 ..= i + 2` mixed with gains `g0 + dg·k`.
    ///
    /// # Safety
    /// `1 <= i` and `i + 2 < frames`.
    #[inline(always)]
    unsafe fn mixed(&self, i: usize, k: f32) -> [f32; 8] {
        let (g0, dg) = (self.g0.get(), self.dg.get());
        let (act, n) = self.active.get();
        let mut w = [0.0f32; 8];
        let base = (i - 1) * self.ch;
        for &a in &act[..n] {
            let a = a as usize;
            let g = g0[a] + dg[a] * k;
            for j in 0..4 {
                let at = base + j * self.ch + 2 * a;
                // SAFETY: frames i-1 ..= i+2 exist (caller), and `2a + 1 < ch`.
                let (l, r) = unsafe {
                    (
                        self.data.get_unchecked(at).to_f32(),
                        self.data.get_unchecked(at + 1).to_f32(),
                    )
                };
                w[2 * j] += g * l;
                w[2 * j + 1] += g * r;
            }
        }
        w
    }
}

impl<T: BundleSample> FrameSource for StemFrames<'_, T> {
    #[inline(always)]
    fn len_frames(&self) -> usize {
        self.frames
    }

    #[inline]
    fn frame(&self, i: usize) -> [f32; 2] {
        let g = self.g0.get();
        let (act, n) = self.active.get();
        let f = &self.data[i * self.ch..(i + 1) * self.ch];
        let mut out = [0.0f32; 2];
        for &a in &act[..n] {
            let a = a as usize;
            out[0] += g[a] * f[2 * a].to_f32();
            out[1] += g[a] * f[2 * a + 1].to_f32();
        }
        out
    }

    #[inline(always)]
    unsafe fn window4_unchecked(&self, i: usize) -> [f32; 8] {
        // SAFETY: forwarded precondition.
        unsafe { self.mixed(i, 0.0) }
    }

    type Flat<'b>
        = StemFrames<'b, T>
    where
        Self: 'b;

    fn flat_at(&self, _i: usize) -> Option<(usize, usize, isize, StemFrames<'_, T>)> {
        let s = StemFrames {
            data: self.data,
            ch: self.ch,
            frames: self.frames,
            g0: self.g0.clone(),
            dg: self.dg.clone(),
            active: self.active.clone(),
        };
        Some((0, usize::MAX, 0, s))
    }

    const STEMS: bool = true;

    #[inline]
    fn set_gains(&self, g0: &[f32; MAX_GROUPS], dg: &[f32; MAX_GROUPS]) {
        let groups = self.ch / 2;
        let mut act = [0u8; MAX_GROUPS];
        let mut n = 0;
        for g in 0..groups {
            if g0[g] != 0.0 || dg[g] != 0.0 {
                act[n] = g as u8;
                n += 1;
            }
        }
        self.g0.set(*g0);
        self.dg.set(*dg);
        self.active.set((act, n));
    }

    #[inline(always)]
    unsafe fn window4_ramped(&self, i: usize, k: f32) -> [f32; 8] {
        // SAFETY: forwarded precondition.
        unsafe { self.mixed(i, k) }
    }
}
