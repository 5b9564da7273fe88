//! Read access to stereo frames, and the readers of plain 16-bit and float buffers. Real-time
//! safe.

use crate::sample::buffer::{I16_SCALE, MAX_GROUPS};

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
