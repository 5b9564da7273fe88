//! One playing instance of a pad's sample: varispeed read head, loop handling, declick envelope.

use crate::dsp::interp::{hermite, hermite2};
use crate::dsp::ramp::Ramp;
use crate::sample::buffer::FrameSource;

use super::command::{PadConfig, PadId, SlotId};

/// Lifecycle of a voice slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceState {
    /// Unused.
    Free,
    /// Sounding (possibly fading in).
    Playing,
    /// Fading out after a stop, steal or retrigger; freed when silent.
    Releasing,
}

/// Why a voice finished during a render call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceEnd {
    /// Still sounding.
    Running,
    /// Faded out after a release.
    Released,
    /// Reached the end of its (non-looping) region.
    Ended,
}

/// How a tempo-synced voice follows the transport: the source position is a function of the
/// transport's beat, so it can never drift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sync {
    /// The transport beat at which the region's start plays.
    pub origin: f64,
    /// Where `origin` is heading (a beat-grid line) after a re-sync; reached smoothly.
    pub target_origin: f64,
    /// Source frames per transport beat (the pad's tempo, times its speed).
    pub src_per_beat: f64,
}

/// Largest speed change a re-sync may use to pull a synced voice onto the beat grid.
pub const RESYNC_MAX: f64 = 0.04;

/// A voice: fixed-size, `Copy`, preallocated in the engine's voice array.
#[derive(Debug, Clone, Copy)]
pub struct Voice {
    /// Current state.
    pub state: VoiceState,
    /// Pad that started the voice.
    pub pad: PadId,
    /// Sample slot being read.
    pub slot: SlotId,
    /// Read position in source frames.
    pub pos: f64,
    /// Source frames travelled since the region start (across loop wraps).
    pub travel: f64,
    /// Tempo sync (None: plays at its own speed).
    pub sync: Option<Sync>,
    start_pos: f64,
    loop_start: f64,
    loop_end: f64,
    looping: bool,
    wrapped: bool,
    /// Whether a natural-end fade has begun (non-looping regions).
    ending: bool,
    /// Declick envelope (0..1).
    pub env: Ramp,
    /// Smoothed pad gain.
    pub gain: Ramp,
    /// Engine frame at which the voice started (for oldest-first stealing).
    pub started: u64,
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            state: VoiceState::Free,
            pad: 0,
            slot: 0,
            pos: 0.0,
            travel: 0.0,
            sync: None,
            start_pos: 0.0,
            loop_start: 0.0,
            loop_end: 0.0,
            looping: false,
            wrapped: false,
            ending: false,
            env: Ramp::steady(0.0),
            gain: Ramp::steady(0.0),
            started: 0,
        }
    }
}

/// Safety margin (in frames) keeping the fast path's float positions clear of boundaries.
const EDGE: f64 = 1e-3;

impl Voice {
    /// Starts a voice for `pad` with its configuration, fading in over `fade` frames.
    /// Real-time safe.
    pub fn start(pad: PadId, cfg: &PadConfig, fade: u32, now: u64) -> Self {
        let mut env = Ramp::steady(0.0);
        env.go(1.0, fade);
        Self {
            state: VoiceState::Playing,
            pad,
            slot: cfg.slot,
            pos: cfg.start as f64,
            travel: 0.0,
            sync: None,
            start_pos: cfg.start as f64,
            loop_start: cfg.loop_start as f64,
            loop_end: cfg.loop_end as f64,
            looping: cfg.looping,
            wrapped: false,
            ending: false,
            env,
            gain: Ramp::steady(cfg.gain),
            started: now,
        }
    }

    /// Begins a fade-out over `fade` frames; the voice frees itself when silent. Real-time safe.
    pub fn release(&mut self, fade: u32) {
        if self.state == VoiceState::Playing {
            self.state = VoiceState::Releasing;
            self.env.go(0.0, fade.max(1));
        }
    }

    /// The region position after travelling `off` source frames from the start (loop wraps
    /// applied). Real-time safe.
    pub fn region_pos(&self, off: f64) -> f64 {
        let first = self.loop_end - self.start_pos;
        let len = self.loop_end - self.loop_start;
        if off < first || !self.looping || len <= 0.0 {
            self.start_pos + off
        } else {
            self.loop_start + (off - first).rem_euclid(len)
        }
    }

    /// Jumps to `off` source frames after the region start (a late-forgiven launch starts
    /// part-way in, as if pressed on time). Real-time safe.
    pub fn seek(&mut self, off: f64) {
        let off = off.max(0.0);
        self.travel = off;
        self.pos = self.region_pos(off);
        self.wrapped = self.looping && off >= self.loop_end - self.start_pos;
    }

    /// For a synced voice: the step that lands it, at the end of a segment of `n` frames, where
    /// the transport's beat `beat_end` says it must be; the re-sync origin moves towards its
    /// target by at most [`RESYNC_MAX`] of the beats the segment lasts (`seg_beats`).
    /// Re-anchors the read position on the exact one first, so rounding never accumulates.
    /// Real-time safe.
    pub fn sync_step(&mut self, beat_end: f64, seg_beats: f64, n: usize) -> f64 {
        let Some(s) = self.sync.as_mut() else {
            return 0.0;
        };
        let gap = s.target_origin - s.origin;
        let max = RESYNC_MAX * seg_beats.abs();
        s.origin += gap.clamp(-max, max);
        let s = *s;
        // Re-anchor: the exact position for what has been travelled.
        let wrapped = self.wrapped;
        self.pos = self.region_pos(self.travel);
        self.wrapped = wrapped || (self.looping && self.travel >= self.loop_end - self.start_pos);
        // A hair past the exact target so a boundary that falls on a frame wraps on it.
        let target = (beat_end - s.origin) * s.src_per_beat + 1e-6;
        let ideal = seg_beats * s.src_per_beat;
        let step = ((target - self.travel) / n.max(1) as f64)
            .clamp(0.0, 4.0 * ideal.max(0.0) / n.max(1) as f64);
        self.travel += step * n as f64;
        step
    }

    /// Whether the voice loops its region. Real-time safe.
    pub fn looping(&self) -> bool {
        self.looping
    }

    /// Current loudness factor (envelope × gain), used to pick the quietest voice. Real-time safe.
    pub fn loudness(&self) -> f32 {
        self.env.value * self.gain.value
    }

    /// Source frame `k` with loop wrap-around applied for the interpolation neighbourhood.
    #[inline]
    fn fetch<S: FrameSource>(&self, src: &S, k: i64) -> [f32; 2] {
        let mut k = k;
        if self.looping {
            let (ls, le) = (self.loop_start as i64, self.loop_end as i64);
            if k >= le {
                k -= le - ls;
            } else if self.wrapped && k < ls {
                k += le - ls;
            }
        }
        if k < 0 || k as usize >= src.len_frames() {
            [0.0; 2]
        } else {
            src.frame(k as usize)
        }
    }

    /// Renders one frame with full boundary handling (used near edges only).
    #[inline]
    fn frame_slow<S: FrameSource>(&self, src: &S) -> [f32; 2] {
        let idx = self.pos.floor() as i64;
        let t = (self.pos - idx as f64) as f32;
        let a = self.fetch(src, idx - 1);
        let b = self.fetch(src, idx);
        let c = self.fetch(src, idx + 1);
        let d = self.fetch(src, idx + 2);
        [
            hermite(a[0], b[0], c[0], d[0], t),
            hermite(a[1], b[1], c[1], d[1], t),
        ]
    }

    /// Mixes this voice into `out` (interleaved stereo) at `step` source frames per output
    /// frame. `fade` is the declick length used when a non-looping region nears its end.
    /// `on_wrap` is called with the output frame offset of every loop wrap. Real-time safe.
    pub fn render<S: FrameSource>(
        &mut self,
        src: &S,
        out: &mut [f32],
        step: f64,
        fade: u32,
        mut on_wrap: impl FnMut(usize),
    ) -> VoiceEnd {
        let n = out.len() / 2;
        let frames = src.len_frames() as f64;
        let mut i = 0;
        while i < n {
            if !self.looping && !self.ending {
                let to_end = ((self.loop_end - self.pos) / step).ceil().max(1.0);
                if to_end <= fade as f64 {
                    self.ending = true;
                    if self.state == VoiceState::Playing {
                        self.env.go(0.0, to_end as u32);
                    }
                }
            }
            let mut run = ((n - i) as u32)
                .min(self.env.run_len())
                .min(self.gain.run_len());
            let lo = if self.wrapped { self.loop_start } else { 0.0 } + 1.0;
            let limit = if self.looping { self.loop_end } else { frames };
            let hi = limit - 2.0 - EDGE;
            if self.pos >= lo && self.pos < hi {
                let fast = ((hi - self.pos) / step).ceil() as u32;
                run = run.min(fast);
                if !self.looping {
                    let to_end = ((self.loop_end - self.pos) / step).ceil().max(0.0) as u32;
                    // Stop the run where the end fade must begin (or at the end itself).
                    let to_fade = if self.ending {
                        to_end
                    } else {
                        to_end.saturating_sub(fade)
                    };
                    run = run.min(to_fade.max(1));
                }
                if run > 0 {
                    let seg = &mut out[2 * i..2 * (i + run as usize)];
                    self.render_fast(src, seg, step);
                    self.pos += step * run as f64;
                    self.env.advance(run);
                    self.gain.advance(run);
                    i += run as usize;
                    if let Some(end) = self.after_ramps() {
                        return end;
                    }
                    continue;
                }
            }
            // Near an edge: one frame with wrap-aware neighbours.
            let [l, r] = self.frame_slow(src);
            let g = self.env.value * self.gain.value;
            out[2 * i] += l * g;
            out[2 * i + 1] += r * g;
            self.pos += step;
            self.env.advance(1);
            self.gain.advance(1);
            i += 1;
            if self.looping && self.pos >= self.loop_end {
                self.pos -= self.loop_end - self.loop_start;
                self.wrapped = true;
                on_wrap(i);
            } else if !self.looping && self.pos >= self.loop_end {
                self.state = VoiceState::Free;
                return VoiceEnd::Ended;
            }
            if let Some(end) = self.after_ramps() {
                return end;
            }
        }
        VoiceEnd::Running
    }

    /// Frees the voice once a fade-out has completed.
    #[inline]
    fn after_ramps(&mut self) -> Option<VoiceEnd> {
        if (self.state == VoiceState::Releasing || self.ending) && !self.env.is_moving() {
            let end = if self.state == VoiceState::Releasing {
                VoiceEnd::Released
            } else {
                VoiceEnd::Ended
            };
            self.state = VoiceState::Free;
            return Some(end);
        }
        None
    }

    /// Inner loop: all four interpolation neighbours are in range and no wrap happens; the
    /// envelope and gain steps are constant over `out`.
    #[inline(always)]
    fn render_fast<S: FrameSource>(&self, src: &S, out: &mut [f32], step: f64) {
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
        let (e0, de) = (self.env.value, self.env.step);
        let (g0, dg) = (self.gain.value, self.gain.step);
        // 32.32 fixed-point read head: exact enough (2^-32 frame) and cheap to split.
        const ONE: f64 = 4_294_967_296.0;
        let mut p = (self.pos * ONE) as u64;
        let dp = (step * ONE) as u64;
        for (k, o) in out.chunks_exact_mut(2).enumerate() {
            let idx = (p >> 32) as usize;
            let t = (p & 0xFFFF_FFFF) as f32 * (1.0 / ONE as f32);
            // SAFETY: guaranteed by this function's precondition.
            let w = unsafe { src.window4_unchecked(idx) };
            let kf = k as f32;
            let g = (e0 + de * kf) * (g0 + dg * kf);
            let [l, r] = hermite2(&w, t);
            o[0] += l * g;
            o[1] += r * g;
            p += dp;
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
