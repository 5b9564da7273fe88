//! A thin real-time wrapper over Rubber Band's C API (`rubberband-sys`, Rubber Band 4.0).
//!
//! Channel pointers live on the stack; nothing is allocated per call. The stretcher runs in
//! real-time mode with the R3 ("finer") engine and its short window: pitch-exact, about as
//! cheap as the older R2 engine, with a start delay of about 27 ms that the voice hides by
//! feeding the audio before its start point. Threading is compiled out of the bundled build
//! and disabled here as well. Logging is switched off (its messages would be I/O on the audio
//! thread).

use std::os::raw::c_int;
use std::ptr::NonNull;

use rubberband_sys as rb;

use super::{MAX_FEED, TimeStretch, WARM_TEMPO};

/// Options for the real-time stretcher.
const RT_OPTIONS: rb::RubberBandOptions = (rb::RubberBandOption_RubberBandOptionProcessRealTime
    | rb::RubberBandOption_RubberBandOptionThreadingNever
    | rb::RubberBandOption_RubberBandOptionEngineFiner
    | rb::RubberBandOption_RubberBandOptionWindowShort
    | rb::RubberBandOption_RubberBandOptionChannelsTogether)
    as rb::RubberBandOptions;

/// An owned Rubber Band stretcher state (stereo).
pub(crate) struct State(NonNull<rb::RubberBandState_>);

// SAFETY: a Rubber Band stretcher may be used from any one thread at a time; `State` is only
// reachable through `&mut` (or moved whole between threads).
unsafe impl Send for State {}

impl State {
    /// Creates a stretcher. Not real-time safe.
    pub(crate) fn new(rate: u32, options: rb::RubberBandOptions, tempo: f64, pitch: f64) -> Self {
        // SAFETY: plain constructor call; a null return (allocation failure) aborts below.
        let raw = unsafe {
            rb::rubberband_set_default_debug_level(-1);
            rb::rubberband_new(rate, 2, options as _, 1.0 / tempo, pitch)
        };
        let Some(ptr) = NonNull::new(raw) else {
            // Rubber Band only returns null when C++ allocation failed: out of memory.
            std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; 65536]>());
        };
        // SAFETY: valid state.
        unsafe { rb::rubberband_set_debug_level(ptr.as_ptr(), -1) };
        Self(ptr)
    }

    #[inline]
    pub(crate) fn raw(&self) -> rb::RubberBandState {
        self.0.as_ptr()
    }

    /// Feeds a planar stereo block. Real-time safe for real-time states within their limits.
    #[inline]
    pub(crate) fn process(&mut self, left: &[f32], right: &[f32], last: bool) {
        let n = left.len().min(right.len());
        let ptrs = [left.as_ptr(), right.as_ptr()];
        // SAFETY: two valid channel pointers of at least `n` frames each.
        unsafe { rb::rubberband_process(self.raw(), ptrs.as_ptr(), n as u32, last as c_int) };
    }

    /// Output frames ready (-1: finished, offline only). Real-time safe.
    #[inline]
    pub(crate) fn available(&self) -> i32 {
        // SAFETY: valid state.
        unsafe { rb::rubberband_available(self.raw()) }
    }

    /// Takes up to `left.len()` frames. Real-time safe.
    #[inline]
    pub(crate) fn retrieve(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        let n = left.len().min(right.len());
        let ptrs = [left.as_mut_ptr(), right.as_mut_ptr()];
        // SAFETY: two valid, writable channel pointers of at least `n` frames each.
        unsafe { rb::rubberband_retrieve(self.raw(), ptrs.as_ptr(), n as u32) as usize }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: the state is owned and never used again.
        unsafe { rb::rubberband_delete(self.raw()) };
    }
}

/// The real-time Rubber Band stretcher (R3, short window, stereo, channels together). It only
/// stretches time: its pitch scale stays 1 (pitch is the feeding reader's job), so Rubber
/// Band's resampler is never used, nothing about it needs warming, and it costs about half of
/// what a pitch-shifting one does.
pub struct RubberBand {
    state: State,
    tempo: f64,
}

impl RubberBand {
    /// Creates a stretcher for `rate` Hz. Not real-time safe; call [`TimeStretch::warm`]
    /// before handing it to the audio thread.
    pub fn new(rate: u32) -> Self {
        Self {
            state: State::new(rate, RT_OPTIONS, 1.0, 1.0),
            tempo: 1.0,
        }
    }
}

impl TimeStretch for RubberBand {
    fn warm(&mut self) {
        // SAFETY: valid state; must precede the first process().
        unsafe { rb::rubberband_set_max_process_size(self.state.raw(), MAX_FEED as u32) };
        let mut seed = 1u32;
        let tempo = self.tempo;
        // The extreme time ratios (buffers sized for the longest hops) and a sweep between
        // them, twice.
        for _ in 0..2 {
            for t in [WARM_TEMPO[0], 0.5, 0.8, 1.0, 1.25, 2.0, WARM_TEMPO[1]] {
                self.set_tempo(t);
                super::churn(self, 4 * MAX_FEED, &mut seed);
            }
        }
        self.set_tempo(tempo);
        self.reset();
        // One pull cycle from a fresh start: the first block after construction costs several
        // times a steady one.
        let pad = self.start_pad() + self.start_delay() + MAX_FEED;
        super::churn(self, pad, &mut seed);
        self.reset();
    }

    #[inline]
    fn set_tempo(&mut self, tempo: f64) {
        if tempo != self.tempo && tempo.is_finite() && tempo > 0.0 {
            self.tempo = tempo;
            // SAFETY: valid state; real-time mode allows ratio changes at any time.
            unsafe { rb::rubberband_set_time_ratio(self.state.raw(), 1.0 / tempo) };
        }
    }

    #[inline]
    fn reset(&mut self) {
        // SAFETY: valid state.
        unsafe { rb::rubberband_reset(self.state.raw()) };
    }

    #[inline]
    fn start_pad(&self) -> usize {
        // SAFETY: valid state.
        unsafe { rb::rubberband_get_preferred_start_pad(self.state.raw()) as usize }
    }

    #[inline]
    fn start_delay(&self) -> usize {
        // SAFETY: valid state.
        unsafe { rb::rubberband_get_start_delay(self.state.raw()) as usize }
    }

    #[inline]
    fn required(&self) -> usize {
        // SAFETY: valid state.
        unsafe { rb::rubberband_get_samples_required(self.state.raw()) as usize }
    }

    #[inline]
    fn process(&mut self, left: &[f32], right: &[f32]) {
        let n = left.len().min(right.len()).min(MAX_FEED);
        self.state.process(&left[..n], &right[..n], false);
    }

    #[inline]
    fn available(&self) -> usize {
        self.state.available().max(0) as usize
    }

    #[inline]
    fn retrieve(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        self.state.retrieve(left, right)
    }
}
