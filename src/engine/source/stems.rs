//! A stem bundle read as stereo: the full mix and its stems side by side in each frame, mixed
//! down with per-stem gains as they are read. Real-time safe.

use std::cell::Cell;

use super::frames::FrameSource;
use crate::sample::buffer::{I16_SCALE, MAX_GROUPS};

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
