//! A streamed table read by the audio thread: its resident chunks, through a one-entry
//! cache; chunks that are not resident read as silence (the engine checks residency first and
//! fades around gaps). A streamed stem bundle is mixed chunk by chunk by the same
//! [`StemFrames`] reader as an in-RAM bundle, so streamed and in-RAM stem pads sound the same.
//! Real-time safe.

use std::cell::Cell;
use std::marker::PhantomData;

use super::frames::{F32Frames, FrameSource, I16Frames};
use super::stems::{BundleSample, StemFrames};
use crate::sample::buffer::MAX_GROUPS;
use crate::sample::stream::StreamedTable;
use crate::sample::stream::chunk::{GUARD_AFTER, GUARD_BEFORE};

/// Sample types a streamed table may hold.
pub trait StreamSample: Copy + 'static {
    /// The flat reader over a slice of these samples.
    type View<'b>: FrameSource;
    /// As a float in -1..1. Real-time safe.
    fn to_f32(self) -> f32;
    /// A flat reader over `s`. Real-time safe.
    fn view(s: &[Self]) -> Self::View<'_>;
}

impl StreamSample for i16 {
    type View<'b> = I16Frames<'b>;
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32 * (1.0 / 32768.0)
    }
    #[inline(always)]
    fn view(s: &[i16]) -> Self::View<'_> {
        I16Frames(s)
    }
}

impl StreamSample for f32 {
    type View<'b> = F32Frames<'b>;
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn view(s: &[f32]) -> Self::View<'_> {
        F32Frames(s)
    }
}

/// Read access to a streamed table for one render call. Frames of chunks that are not resident
/// read as silence (the engine checks residency first and fades around gaps). Real-time safe.
pub struct ChunkedFrames<'a, T> {
    table: &'a StreamedTable,
    last: Cell<(usize, *const T)>,
}

impl<'a, T: StreamSample> ChunkedFrames<'a, T> {
    /// A reader over `table` (whose format must hold `T`). Real-time safe.
    pub fn new(table: &'a StreamedTable) -> Self {
        Self {
            table,
            last: Cell::new((usize::MAX, std::ptr::null())),
        }
    }

    /// The buffer of chunk `c` as samples (null when absent), with a one-entry cache.
    #[inline(always)]
    fn samples(&self, c: usize) -> *const T {
        let (lc, lp) = self.last.get();
        if lc == c {
            return lp;
        }
        let p = self.table.chunk_ptr(c) as *const T;
        self.last.set((c, p));
        p
    }

    /// Samples of frame `i` (left, right) from its chunk buffer, or silence.
    #[inline(always)]
    fn pair(&self, i: usize) -> [f32; 2] {
        let c = self.table.chunk_of(i);
        let p = self.samples(c);
        if p.is_null() {
            return [0.0; 2];
        }
        let off = i - (c << self.table.shift()) + GUARD_BEFORE;
        // SAFETY: a mapped buffer holds chunk_frames + 3 frames; `off` is within it.
        unsafe { [(*p.add(2 * off)).to_f32(), (*p.add(2 * off + 1)).to_f32()] }
    }
}

impl<T: StreamSample> FrameSource for ChunkedFrames<'_, T> {
    #[inline(always)]
    fn len_frames(&self) -> usize {
        self.table.frames
    }

    #[inline(always)]
    fn frame(&self, i: usize) -> [f32; 2] {
        self.pair(i)
    }

    #[inline(always)]
    unsafe fn window4_unchecked(&self, i: usize) -> [f32; 8] {
        let c = self.table.chunk_of(i);
        let p = self.samples(c);
        if p.is_null() {
            return [0.0; 8];
        }
        let off = i - (c << self.table.shift()); // frame i-1 is at buffer frame `off`
        // SAFETY: frames i-1 ..= i+2 lie in chunk c's buffer (one guard frame before, two after).
        let w: [T; 8] = unsafe { std::ptr::read_unaligned(p.add(2 * off) as *const [T; 8]) };
        w.map(|v| v.to_f32())
    }

    const CHUNKED: bool = true;

    type Flat<'b>
        = T::View<'b>
    where
        Self: 'b;

    #[inline]
    fn flat_at(&self, i: usize) -> Option<(usize, usize, isize, T::View<'_>)> {
        let c = self.table.chunk_of(i);
        let p = self.table.chunk_ptr(c) as *const T;
        if p.is_null() {
            return None;
        }
        let n = 2 * (self.table.chunk_frames() + GUARD_BEFORE + GUARD_AFTER);
        // SAFETY: a mapped buffer holds chunk_frames + 3 frames and stays valid for this block
        // (module protocol).
        let s = unsafe { std::slice::from_raw_parts(p, n) };
        let lo = c << self.table.shift();
        // Frame j's window starts at buffer frame j - lo; window4_unchecked(k) reads from k - 1.
        let add = GUARD_BEFORE as isize - lo as isize;
        Some((lo, lo + self.table.chunk_frames(), add, T::view(s)))
    }
}

/// Read access to a streamed bundle for one render call. Real-time safe.
pub struct ChunkedStemFrames<'a, T> {
    table: &'a StreamedTable,
    g0: Cell<[f32; MAX_GROUPS]>,
    dg: Cell<[f32; MAX_GROUPS]>,
    _t: PhantomData<T>,
}

impl<'a, T: BundleSample> ChunkedStemFrames<'a, T> {
    /// A reader over `table` (whose format must hold `T`) at fixed `gains`. Real-time safe.
    pub fn new(table: &'a StreamedTable, gains: &[f32; MAX_GROUPS]) -> Self {
        Self {
            table,
            g0: Cell::new(*gains),
            dg: Cell::new([0.0; MAX_GROUPS]),
            _t: PhantomData,
        }
    }

    /// The bundle reader over chunk `c`'s buffer (its frame 0 is the frame before the chunk),
    /// None when the chunk is not resident.
    #[inline]
    fn view(&self, c: usize) -> Option<StemFrames<'a, T>> {
        let p = self.table.chunk_ptr(c) as *const T;
        if p.is_null() {
            return None;
        }
        let groups = self.table.groups;
        let n = (self.table.chunk_frames() + GUARD_BEFORE + GUARD_AFTER) * 2 * groups;
        // SAFETY: a mapped buffer holds chunk_frames + 3 frames of `groups` pairs and stays
        // valid for this block (the chunk module's protocol).
        let data = unsafe { std::slice::from_raw_parts(p, n) };
        let v = StemFrames::new(data, groups, &self.g0.get());
        v.set_gains(&self.g0.get(), &self.dg.get());
        Some(v)
    }

    /// Chunk of frame `i` and `i`'s frame index in that chunk's buffer.
    #[inline(always)]
    fn locate(&self, i: usize) -> (usize, usize) {
        let c = self.table.chunk_of(i);
        (c, i - (c << self.table.shift()) + GUARD_BEFORE)
    }
}

impl<T: BundleSample> FrameSource for ChunkedStemFrames<'_, T> {
    #[inline(always)]
    fn len_frames(&self) -> usize {
        self.table.frames
    }

    fn frame(&self, i: usize) -> [f32; 2] {
        let (c, j) = self.locate(i);
        self.view(c).map_or([0.0; 2], |v| v.frame(j))
    }

    unsafe fn window4_unchecked(&self, i: usize) -> [f32; 8] {
        let (c, j) = self.locate(i);
        match self.view(c) {
            // SAFETY: frames j-1 ..= j+2 lie in the chunk's buffer (one guard frame before,
            // two after).
            Some(v) => unsafe { v.window4_unchecked(j) },
            None => [0.0; 8],
        }
    }

    const CHUNKED: bool = true;

    type Flat<'b>
        = StemFrames<'b, T>
    where
        Self: 'b;

    fn flat_at(&self, i: usize) -> Option<(usize, usize, isize, StemFrames<'_, T>)> {
        let c = self.table.chunk_of(i);
        let v = self.view(c)?;
        let lo = c << self.table.shift();
        let add = GUARD_BEFORE as isize - lo as isize;
        Some((lo, lo + self.table.chunk_frames(), add, v))
    }

    const STEMS: bool = true;

    fn set_gains(&self, g0: &[f32; MAX_GROUPS], dg: &[f32; MAX_GROUPS]) {
        self.g0.set(*g0);
        self.dg.set(*dg);
    }

    unsafe fn mix_into(&self, lo: usize, out: &mut [f32], (k0, dk, j0): (f32, f32, usize)) {
        let n = out.len() / 2;
        let mut j = 0;
        while j < n {
            let i = lo + j;
            let (c, at) = self.locate(i);
            let end = ((c + 1) << self.table.shift()) - i;
            let m = end.min(n - j);
            let seg = &mut out[2 * j..2 * (j + m)];
            match self.view(c) {
                // SAFETY: frames at .. at + m lie in the chunk's buffer.
                Some(v) => unsafe { v.mix_into(at, seg, (k0, dk, j0 + j)) },
                None => seg.fill(0.0),
            }
            j += m;
        }
    }
}
