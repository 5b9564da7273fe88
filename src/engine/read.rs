//! How a voice reads its frames: the [`Read`] sources (the buffer itself, silence while
//! streamed data is late, a stretcher's output) and the inner loops that read a buffer between
//! its edges (32.32 fixed-point read head, four-point Hermite interpolation; flat, chunked and
//! stem-bundle storage). Real-time safe.

use super::source::FrameSource;
use super::voice::Voice;
use crate::dsp::interp::{hermite, hermite2};
use crate::sample::buffer::MAX_GROUPS;

/// Where a voice's frames come from during one render call.
pub(crate) trait Read {
    /// Buffer length in frames (bounds of the read head's fast path).
    fn frames(&self) -> usize;
    /// Mixes `seg.len() / 2` frames (output frames `i..`) into `seg`, with the voice's
    /// envelope and gain steps constant over the run.
    fn run(&mut self, v: &Voice, seg: &mut [f32], i: usize, step: f64);
    /// The frame for output frame `i` (near loop edges, one at a time).
    fn one(&mut self, v: &Voice, i: usize) -> [f32; 2];
}

/// Reads the buffer at the voice's read head.
pub(crate) struct SourceRead<'a, S>(pub &'a S);

impl<S: FrameSource> Read for SourceRead<'_, S> {
    #[inline(always)]
    fn frames(&self) -> usize {
        self.0.len_frames()
    }
    #[inline(always)]
    fn run(&mut self, v: &Voice, seg: &mut [f32], _i: usize, step: f64) {
        if S::STEMS {
            let (g0, dg) = v.stems.coeffs();
            self.0.set_gains(&g0, &dg);
        }
        v.render_fast(self.0, seg, step);
    }
    #[inline(always)]
    fn one(&mut self, v: &Voice, _i: usize) -> [f32; 2] {
        if S::STEMS {
            self.0.set_gains(&v.stems.gains(), &[0.0; MAX_GROUPS]);
        }
        v.frame_slow(self.0)
    }
}

/// Reads nothing: the read head moves, the voice stays silent (a streamed buffer whose data
/// has not arrived).
pub(crate) struct SilentRead(pub usize);

impl Read for SilentRead {
    #[inline]
    fn frames(&self) -> usize {
        self.0
    }
    #[inline]
    fn run(&mut self, _v: &Voice, _seg: &mut [f32], _i: usize, _step: f64) {}
    #[inline]
    fn one(&mut self, _v: &Voice, _i: usize) -> [f32; 2] {
        [0.0; 2]
    }
}

/// Takes frames already made (a stretcher's output), one per output frame.
pub(crate) struct PlanarRead<'a> {
    pub(crate) left: &'a [f32],
    pub(crate) right: &'a [f32],
    pub(crate) frames: usize,
}

impl Read for PlanarRead<'_> {
    #[inline(always)]
    fn frames(&self) -> usize {
        self.frames
    }
    #[inline]
    fn run(&mut self, v: &Voice, seg: &mut [f32], i: usize, _step: f64) {
        let (e0, de) = (v.env.value, v.env.step);
        let (g0, dg) = (v.gain.value, v.gain.step);
        let n = seg.len() / 2;
        let (l, r) = (&self.left[i..i + n], &self.right[i..i + n]);
        for (k, o) in seg.chunks_exact_mut(2).enumerate() {
            let kf = k as f32;
            let g = (e0 + de * kf) * (g0 + dg * kf);
            o[0] += l[k] * g;
            o[1] += r[k] * g;
        }
    }
    #[inline]
    fn one(&mut self, _v: &Voice, i: usize) -> [f32; 2] {
        [self.left[i], self.right[i]]
    }
}

/// The fraction of a 32.32 fixed-point read head, as the interpolator's `t`.
#[inline(always)]
fn t_of(p: u64) -> f32 {
    (p & 0xFFFF_FFFF) as f32 * (1.0 / 4_294_967_296.0f32)
}

/// The fast loops' per-run state: the 32.32 fixed-point read head and its step (exact enough,
/// 2^-32 frame, and cheap to split), and the envelope and gain ramps (`value`, `step`), constant
/// steps over the run.
#[derive(Clone, Copy)]
struct RunState {
    p: u64,
    dp: u64,
    env: (f32, f32),
    gain: (f32, f32),
}

impl RunState {
    #[inline(always)]
    fn of(v: &Voice, step: f64) -> Self {
        const ONE: f64 = 4_294_967_296.0;
        Self {
            p: (v.pos * ONE) as u64,
            dp: (step * ONE) as u64,
            env: (v.env.value, v.env.step),
            gain: (v.gain.value, v.gain.step),
        }
    }

    /// Envelope times gain at output frame `k` of the run.
    #[inline(always)]
    fn level(&self, k: usize) -> f32 {
        let kf = k as f32;
        (self.env.0 + self.env.1 * kf) * (self.gain.0 + self.gain.1 * kf)
    }

    /// Adds output frames `k..` of the run to `out` (interleaved), the read head at `p`, the
    /// interpolation window of buffer frame `idx` from `window(idx)`; returns the head after
    /// them.
    #[inline(always)]
    fn frames(
        &self,
        out: &mut [f32],
        k: usize,
        mut p: u64,
        window: impl Fn(usize) -> [f32; 8],
    ) -> u64 {
        for (j, o) in out.chunks_exact_mut(2).enumerate() {
            let w = window((p >> 32) as usize);
            let g = self.level(k + j);
            let [l, r] = hermite2(&w, t_of(p));
            o[0] += l * g;
            o[1] += r * g;
            p += self.dp;
        }
        p
    }
}

impl Voice {
    /// Inner loop: all four interpolation neighbours are in range and no wrap happens; the
    /// envelope and gain steps are constant over `out`.
    #[inline(always)]
    pub(crate) fn render_fast<S: FrameSource>(&self, src: &S, out: &mut [f32], step: f64) {
        let n = out.len() / 2;
        if n == 0 {
            return;
        }
        // Positions only increase, so checking the first and last neighbourhoods once proves
        // every read in between is in bounds.
        let first = self.pos as usize;
        let last = (self.pos + step * (n - 1) as f64) as usize;
        if first < 1 || last + 2 >= src.len_frames() {
            self.render_checked(src, out, step);
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above); bounds were checked above.
            unsafe { self.fast_loop_avx2(src, out, step) };
            return;
        }
        // SAFETY: bounds were checked above.
        unsafe { self.fast_loop(src, out, step) };
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn fast_loop_avx2<S: FrameSource>(&self, src: &S, out: &mut [f32], step: f64) {
        // SAFETY: forwarded precondition of `fast_loop`.
        unsafe { self.fast_loop(src, out, step) };
    }

    /// The inner loop proper.
    ///
    /// # Safety
    /// For every output frame k, the read head `pos + k·step` must satisfy
    /// `1 <= floor(pos + k·step)` and `floor(pos + k·step) + 2 < src.len_frames()`.
    #[inline(always)]
    unsafe fn fast_loop<S: FrameSource>(&self, src: &S, out: &mut [f32], step: f64) {
        if S::STEMS {
            // SAFETY: forwarded precondition.
            unsafe { self.fast_loop_stems(src, out, step) };
            return;
        }
        if S::CHUNKED {
            // SAFETY: forwarded precondition.
            unsafe { self.fast_loop_chunked(src, out, step) };
            return;
        }
        let rs = RunState::of(self, step);
        // SAFETY: every window read is in range (this function's precondition).
        rs.frames(out, 0, rs.p, |idx| unsafe { src.window4_unchecked(idx) });
    }

    /// [`Self::fast_loop`] over chunked storage: the same read head arithmetic (so the same
    /// frames come out), each window read from the flat view of the chunk holding it.
    ///
    /// # Safety
    /// As [`Self::fast_loop`].
    #[inline(always)]
    unsafe fn fast_loop_chunked<S: FrameSource>(&self, src: &S, out: &mut [f32], step: f64) {
        let rs = RunState::of(self, step);
        let (mut p, dp) = (rs.p, rs.dp);
        let n = out.len() / 2;
        let mut k = 0;
        while k < n {
            let idx = (p >> 32) as usize;
            let Some((_, hi, add, v)) = src.flat_at(idx) else {
                // Not resident (the engine checked, so never expected): silence.
                p += dp;
                k += 1;
                continue;
            };
            // Frames until the read head leaves this chunk (the head only moves forward).
            let left = ((hi as u64) << 32).saturating_sub(p);
            let m = if dp == 0 {
                n - k
            } else {
                (left.div_ceil(dp) as usize).clamp(1, n - k)
            };
            // SAFETY: these read heads stay below `hi`, so their windows lie in the view.
            p = rs.frames(&mut out[2 * k..2 * (k + m)], k, p, |idx| unsafe {
                v.window4_unchecked((idx as isize + add) as usize)
            });
            k += m;
        }
    }

    /// [`Self::fast_loop`] over a stem bundle: the bundle frames a stretch of output frames
    /// reads are mixed once (each with the stem gains of the output frame reading it) into a
    /// stereo buffer on the stack, which the usual interpolation then reads.
    ///
    /// # Safety
    /// As [`Self::fast_loop`].
    #[inline(always)]
    unsafe fn fast_loop_stems<S: FrameSource>(&self, src: &S, out: &mut [f32], step: f64) {
        /// Bundle frames mixed at a time.
        const CHUNK: usize = 256;
        let mut mixed = [0.0f32; 2 * (CHUNK + 4)];
        let rs = RunState::of(self, step);
        let (mut p, dp) = (rs.p, rs.dp);
        let n = out.len() / 2;
        let dk = if step > 0.0 { (1.0 / step) as f32 } else { 0.0 };
        let mut k = 0;
        while k < n {
            // Output frames whose windows fit in the chunk.
            let m = (((CHUNK - 4) as u64) << 32)
                .checked_div(dp)
                .map_or(n - k, |m| m.clamp(1, (n - k) as u64) as usize);
            let first = (p >> 32) as usize;
            let last = ((p + dp * (m as u64 - 1)) >> 32) as usize;
            let lo = first - 1;
            let len = last + 3 - lo;
            // Frame `lo + j` is read around output frame k + (j - 1 - frac) / step.
            let frac = t_of(p);
            let k0 = k as f32 - (1.0 + frac) * dk;
            // SAFETY: frames first-1 ..= last+2 exist (this function's precondition).
            unsafe { src.mix_into(lo, &mut mixed[..2 * len], (k0, dk, 0)) };
            let view = crate::engine::source::F32Frames(&mixed[..2 * len]);
            // SAFETY: each window (idx - 1 ..= idx + 2) lies in lo ..= last + 2, all mixed.
            p = rs.frames(&mut out[2 * k..2 * (k + m)], k, p, |idx| unsafe {
                view.window4_unchecked(idx - lo)
            });
            k += m;
        }
    }

    /// The same as `render_fast` with bounds-checked reads (never expected; a safety net).
    #[cold]
    fn render_checked<S: FrameSource>(&self, src: &S, out: &mut [f32], step: f64) {
        let (e0, de) = (self.env.value, self.env.step);
        let (g0, dg) = (self.gain.value, self.gain.step);
        for (k, o) in out.chunks_exact_mut(2).enumerate() {
            let p = self.pos + step * k as f64;
            let idx = p as i64;
            let t = (p - idx as f64) as f32;
            let [a, b, c, d] = [idx - 1, idx, idx + 1, idx + 2].map(|i| self.fetch(src, i));
            let kf = k as f32;
            let g = (e0 + de * kf) * (g0 + dg * kf);
            o[0] += hermite(a[0], b[0], c[0], d[0], t) * g;
            o[1] += hermite(a[1], b[1], c[1], d[1], t) * g;
        }
    }
}
