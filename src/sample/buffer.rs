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
            $crate::sample::buffer::SampleData::Streamed(t) => match (t.format, t.groups > 1) {
                ($crate::sample::stream::Format::I16, false) => {
                    let $src = &$crate::sample::stream::ChunkedFrames::<i16>::new(t);
                    $body
                }
                ($crate::sample::stream::Format::F32, false) => {
                    let $src = &$crate::sample::stream::ChunkedFrames::<f32>::new(t);
                    $body
                }
                ($crate::sample::stream::Format::I16, true) => {
                    let $src = &$crate::sample::stream::ChunkedStemFrames::<i16>::new(t, $gains);
                    $body
                }
                ($crate::sample::stream::Format::F32, true) => {
                    let $src = &$crate::sample::stream::ChunkedStemFrames::<f32>::new(t, $gains);
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
    /// Where in its last frame the audio really ends (a resampled source's exact length,
    /// `source frames × rate / source rate`, is rarely whole): 0 = at `frames()`; else at
    /// `frames() - 1 + end_frac`.
    pub end_frac: f32,
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
    /// sets the gains for each run ([`set_gains`](Self::set_gains)) and mixes the frames it
    /// reads with [`mix_into`](Self::mix_into).
    const STEMS: bool = false;

    /// The per-stem gains for the next reads: `g0[g] + dg[g]·k` at output frame `k` of the run
    /// (stereo buffers ignore them). Real-time safe.
    fn set_gains(&self, _g0: &[f32; MAX_GROUPS], _dg: &[f32; MAX_GROUPS]) {}

    /// Mixes frames `lo..lo + out.len() / 2` into `out` (interleaved stereo), frame `lo + j`
    /// with the gains at output frame `k0 + (j0 + j)·dk` of the run (a stem bundle; stereo
    /// buffers copy). Real-time safe.
    ///
    /// # Safety
    /// Every frame mixed must exist.
    #[inline(always)]
    unsafe fn mix_into(&self, lo: usize, out: &mut [f32], (k0, dk, j0): (f32, f32, usize)) {
        let _ = (k0, dk, j0);
        for (j, o) in out.chunks_exact_mut(2).enumerate() {
            let [l, r] = self.frame(lo + j);
            o[0] = l;
            o[1] = r;
        }
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

/// The exact end of a region of `frames` whole frames whose audio ends `end_frac` into its
/// last one (see `SampleBuffer::end_frac`, `PadConfig::end_frac`). Real-time safe.
pub fn exact_end(frames: u32, end_frac: f32) -> f64 {
    if end_frac > 0.0 && end_frac < 1.0 && frames > 0 {
        (frames - 1) as f64 + end_frac as f64
    } else {
        frames as f64
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
            end_frac: 0.0,
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
            end_frac: 0.0,
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
            end_frac: 0.0,
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
            end_frac: 0.0,
            data,
        }
    }

    /// Stereo pairs per frame: 1 for a plain sample, 1 + stems for a bundle. Real-time safe.
    pub fn groups(&self) -> usize {
        match &self.data {
            SampleData::BundleI16 { groups, .. } | SampleData::BundleF32 { groups, .. } => *groups,
            SampleData::Streamed(t) => t.groups,
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

    /// Exact length in frames (see [`end_frac`](Self::end_frac)). Real-time safe.
    pub fn exact_frames(&self) -> f64 {
        exact_end(self.frames() as u32, self.end_frac)
    }

    /// Duration in seconds. Real-time safe.
    pub fn seconds(&self) -> f64 {
        self.exact_frames() / self.rate as f64
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
    /// Factor from the stored value to -1..1 (folded into the gains).
    const SCALE: f32;
    /// Whether the type is `i16` (the SIMD mixer's case).
    const I16: bool = false;
    /// The stored value as a float (not scaled). Real-time safe.
    fn raw(self) -> f32;
}

impl BundleSample for i16 {
    const SCALE: f32 = I16_SCALE;
    const I16: bool = true;
    #[inline(always)]
    fn raw(self) -> f32 {
        self as f32
    }
}

impl BundleSample for f32 {
    const SCALE: f32 = 1.0;
    #[inline(always)]
    fn raw(self) -> f32 {
        self
    }
}

/// Most channels a bundle frame has.
const MAX_CH: usize = 2 * MAX_GROUPS;

/// A stem bundle read as stereo: every frame is the sum of its stereo pairs, each scaled by its
/// gain (pair 0 the full mix, then the stems). Summing before interpolating gives the same
/// sound as interpolating each stem (the interpolator is linear) for a fraction of the work.
/// Real-time safe.
pub struct StemFrames<'a, T> {
    data: &'a [T],
    ch: usize,
    frames: usize,
    /// Gain per channel (pair gains times the storage scale) at output frame 0 of the run.
    g0: Cell<[f32; MAX_CH]>,
    /// Their change per output frame.
    dg: Cell<[f32; MAX_CH]>,
    ramping: Cell<bool>,
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
            g0: Cell::new([0.0; MAX_CH]),
            dg: Cell::new([0.0; MAX_CH]),
            ramping: Cell::new(false),
        };
        s.set_gains(gains, &[0.0; MAX_GROUPS]);
        s
    }

    /// Frames `i - 1 ..= i + 2` mixed with the gains at output frame 0 of the run, `CH`
    /// channels per frame.
    ///
    /// # Safety
    /// `1 <= i`, `i + 2 < frames` and `CH == self.ch`.
    #[inline(always)]
    unsafe fn mixed_n<const CH: usize>(&self, i: usize) -> [f32; 8] {
        let g = self.g0.get();
        // SAFETY: frames i-1 ..= i+2 exist (caller), CH samples each.
        let p = unsafe { self.data.as_ptr().add((i - 1) * CH) };
        let mut w = [0.0f32; 8];
        for j in 0..4 {
            // SAFETY: as above.
            let f: [T; CH] = unsafe { std::ptr::read_unaligned(p.add(j * CH) as *const [T; CH]) };
            let (mut l, mut r) = (0.0f32, 0.0f32);
            for c in 0..CH / 2 {
                l += f[2 * c].raw() * g[2 * c];
                r += f[2 * c + 1].raw() * g[2 * c + 1];
            }
            w[2 * j] = l;
            w[2 * j + 1] = r;
        }
        w
    }

    /// Mixes frames `lo..` into `out` with `CH` channels per frame (see
    /// [`FrameSource::mix_into`]).
    ///
    /// # Safety
    /// The frames exist and `CH == self.ch`.
    #[inline(always)]
    unsafe fn mix_n<const CH: usize>(
        &self,
        lo: usize,
        out: &mut [f32],
        (k0, dk, j0): (f32, f32, usize),
    ) {
        let g0 = self.g0.get();
        // SAFETY: the frames exist (caller).
        let p = unsafe { self.data.as_ptr().add(lo * CH) };
        // SAFETY: as above (frame j of the run is at p + j·CH).
        let frame = |j: usize| -> [T; CH] {
            unsafe { std::ptr::read_unaligned(p.add(j * CH) as *const [T; CH]) }
        };
        if self.ramping.get() {
            let d = self.dg.get();
            for (j, o) in out.chunks_exact_mut(2).enumerate() {
                let k = k0 + (j0 + j) as f32 * dk;
                let f = frame(j);
                let (mut l, mut r) = (0.0f32, 0.0f32);
                for c in 0..CH / 2 {
                    l += f[2 * c].raw() * (g0[2 * c] + d[2 * c] * k);
                    r += f[2 * c + 1].raw() * (g0[2 * c + 1] + d[2 * c + 1] * k);
                }
                o[0] = l;
                o[1] = r;
            }
        } else if g0[2..CH].iter().all(|&g| g == 0.0) {
            // The full mix alone.
            for (j, o) in out.chunks_exact_mut(2).enumerate() {
                let f = frame(j);
                o[0] = f[0].raw() * g0[0];
                o[1] = f[1].raw() * g0[1];
            }
        } else if g0[0] == 0.0 && g0[1] == 0.0 {
            // The stems (the mix at gain 0 is not read).
            // SAFETY: forwarded (frames exist), and CH - 2 channels follow channel 2.
            unsafe {
                match CH {
                    4 => self.sum_from::<2>(lo, 2, out, &g0),
                    6 => self.sum_from::<4>(lo, 2, out, &g0),
                    8 => self.sum_from::<6>(lo, 2, out, &g0),
                    10 => self.sum_from::<8>(lo, 2, out, &g0),
                    12 => self.sum_from::<10>(lo, 2, out, &g0),
                    14 => self.sum_from::<12>(lo, 2, out, &g0),
                    _ => self.sum_from::<14>(lo, 2, out, &g0),
                }
            }
        } else {
            // SAFETY: forwarded.
            unsafe { self.sum_from::<CH>(lo, 0, out, &g0) };
        }
    }

    /// `out` frame j = channels `from..from + N` of frame `lo + j`, each scaled by its gain,
    /// summed per side (four partial sums, so the adds run side by side).
    ///
    /// # Safety
    /// The frames exist and `from + N <= self.ch`.
    #[inline(always)]
    unsafe fn sum_from<const N: usize>(
        &self,
        lo: usize,
        from: usize,
        out: &mut [f32],
        g: &[f32; MAX_CH],
    ) {
        let mut gn = [0.0f32; N];
        gn.copy_from_slice(&g[from..from + N]);
        // SAFETY: the frames exist (caller).
        let p = unsafe { self.data.as_ptr().add(lo * self.ch + from) };
        if N == 8 && T::I16 {
            // Four 16-bit stems: the SIMD mixer (the same sums in the same order).
            let mut g8 = [0.0f32; 8];
            g8.copy_from_slice(&g[from..from + 8]);
            // SAFETY: T is i16; channels from..from+8 of every frame exist (caller).
            unsafe { super::stem_simd::mix4_i16(p as *const i16, self.ch, &g8, out) };
            return;
        }
        for (j, o) in out.chunks_exact_mut(2).enumerate() {
            // SAFETY: channels from..from+N of frame lo + j (caller).
            let f: [T; N] =
                unsafe { std::ptr::read_unaligned(p.add(j * self.ch) as *const [T; N]) };
            let mut a = [0.0f32; 4];
            for c in 0..N {
                a[c % 4] += f[c].raw() * gn[c];
            }
            o[0] = a[0] + a[2];
            o[1] = a[1] + a[3];
        }
    }

    /// [`Self::mixed_n`] for this bundle's channel count.
    ///
    /// # Safety
    /// `1 <= i` and `i + 2 < frames`.
    #[inline(always)]
    unsafe fn mixed(&self, i: usize) -> [f32; 8] {
        // SAFETY: forwarded precondition; each arm's CH is the bundle's channel count.
        unsafe {
            match self.ch {
                2 => self.mixed_n::<2>(i),
                4 => self.mixed_n::<4>(i),
                6 => self.mixed_n::<6>(i),
                8 => self.mixed_n::<8>(i),
                10 => self.mixed_n::<10>(i),
                12 => self.mixed_n::<12>(i),
                14 => self.mixed_n::<14>(i),
                _ => self.mixed_n::<16>(i),
            }
        }
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
        let f = &self.data[i * self.ch..(i + 1) * self.ch];
        let mut out = [0.0f32; 2];
        for (c, v) in f.iter().enumerate() {
            out[c & 1] += g[c] * v.raw();
        }
        out
    }

    #[inline(always)]
    unsafe fn window4_unchecked(&self, i: usize) -> [f32; 8] {
        // SAFETY: forwarded precondition.
        unsafe { self.mixed(i) }
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
            ramping: self.ramping.clone(),
        };
        Some((0, usize::MAX, 0, s))
    }

    const STEMS: bool = true;

    #[inline]
    fn set_gains(&self, g0: &[f32; MAX_GROUPS], dg: &[f32; MAX_GROUPS]) {
        let mut a = [0.0; MAX_CH];
        let mut d = [0.0; MAX_CH];
        for c in 0..self.ch {
            a[c] = g0[c / 2] * T::SCALE;
            d[c] = dg[c / 2] * T::SCALE;
        }
        self.g0.set(a);
        self.dg.set(d);
        self.ramping.set(d.iter().any(|&x| x != 0.0));
    }

    #[inline(always)]
    unsafe fn mix_into(&self, lo: usize, out: &mut [f32], at: (f32, f32, usize)) {
        // SAFETY: forwarded precondition; each arm's CH is the bundle's channel count.
        unsafe {
            match self.ch {
                2 => self.mix_n::<2>(lo, out, at),
                4 => self.mix_n::<4>(lo, out, at),
                6 => self.mix_n::<6>(lo, out, at),
                8 => self.mix_n::<8>(lo, out, at),
                10 => self.mix_n::<10>(lo, out, at),
                12 => self.mix_n::<12>(lo, out, at),
                14 => self.mix_n::<14>(lo, out, at),
                _ => self.mix_n::<16>(lo, out, at),
            }
        }
    }
}
