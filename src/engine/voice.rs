//! One playing instance of a pad's sample: varispeed read head, loop handling, declick envelope.
//!
//! A voice reads a buffer: the pad's sample, or a stretched table of it (see `keylock`). Its
//! positions are in that buffer's frames; `scale` converts source frames to buffer frames.
//! It makes its sound directly from the buffer ([`Path::Direct`]), or through a time
//! stretcher fed from the buffer by a second read head ([`Path::Stretch`]); either way the
//! voice's own read head keeps the musical position (loop wraps, end, sync).

use super::read::SourceRead;
pub(crate) use super::read::{PlanarRead, Read, SilentRead};
use super::source::FrameSource;
use crate::dsp::interp::hermite;
use crate::dsp::ramp::Ramp;

use super::stems::StemRamps;

use super::command::{Geometry, PadConfig, PadId, SlotId, exact_end};

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
    /// Buffer frames per transport beat (the pad's tempo, times its speed, times `scale`).
    pub src_per_beat: f64,
    /// The grid origin the voice belongs to. A voice on a stretcher is pulled back to it
    /// (timing only); one reading a buffer directly keeps the small offset a phase-aligned
    /// hand-off gave it instead (pulling would bend its pitch).
    pub home: f64,
}

/// Largest speed change a re-sync may use to pull a synced voice onto the beat grid.
pub const RESYNC_MAX: f64 = 0.04;

/// How a voice makes its sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Path {
    /// Read from the buffer at the voice's step (varispeed: pitch follows tempo).
    #[default]
    Direct,
    /// Through the engine's time stretcher unit of this index (key lock and transpose).
    Stretch(u16),
}

/// Where a key-locked voice's wanted pitch/tempo relation has been since when.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LockTrack {
    /// The wanted pitch per tempo (see `keylock`), last value that counted as a change.
    pub k: f64,
    /// Engine frame since which `k` has held.
    pub since: u64,
    /// Whether a stretched table was already asked for at this `k`.
    pub asked: bool,
    /// Pitch error in cents the voice plays with (governed: no stretcher was free).
    pub error_cents: f32,
}

/// A second read head over a voice's region (feeds a time stretcher).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FeedHead {
    /// Position in buffer frames.
    pub pos: f64,
    /// Whether it has wrapped from the loop end at least once.
    pub wrapped: bool,
}

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
    /// Buffer frames per source frame (1: the pad's sample; a table's ratio otherwise).
    pub scale: f64,
    /// Pitch of the buffer read at one frame per output frame, relative to the sample.
    pub pitch0: f64,
    /// How the voice makes its sound.
    pub path: Path,
    /// Key-lock bookkeeping.
    pub lock: LockTrack,
    pub(crate) start_pos: f64,
    pub(crate) loop_start: f64,
    pub(crate) loop_end: f64,
    pub(crate) looping: bool,
    pub(crate) wrapped: bool,
    /// Whether a natural-end fade has begun (non-looping regions).
    pub(crate) ending: bool,
    /// Declick envelope (0..1).
    pub env: Ramp,
    /// Smoothed pad gain.
    pub gain: Ramp,
    /// Engine frame at which the voice started (for oldest-first stealing).
    pub started: u64,
    /// Fade for a streamed buffer's data arriving late (1: playing, 0: starved, silent).
    pub disk: Ramp,
    /// Whether the voice published a streaming hint (cleared when it stops reading one).
    pub streaming: bool,
    /// Gain ramps of a stem bundle's pairs (see `stems`).
    pub stems: StemRamps,
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
            scale: 1.0,
            pitch0: 1.0,
            path: Path::Direct,
            lock: LockTrack::default(),
            start_pos: 0.0,
            loop_start: 0.0,
            loop_end: 0.0,
            looping: false,
            wrapped: false,
            ending: false,
            env: Ramp::steady(0.0),
            gain: Ramp::steady(0.0),
            started: 0,
            disk: Ramp::steady(1.0),
            streaming: false,
            stems: StemRamps::default(),
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
            scale: 1.0,
            pitch0: 1.0,
            path: Path::Direct,
            lock: LockTrack {
                since: now,
                ..LockTrack::default()
            },
            start_pos: cfg.start as f64,
            loop_start: cfg.loop_start as f64,
            loop_end: exact_end(cfg.loop_end, cfg.end_frac),
            looping: cfg.looping,
            wrapped: false,
            ending: false,
            env,
            gain: Ramp::steady(cfg.gain),
            started: now,
            disk: Ramp::steady(1.0),
            streaming: false,
            stems: StemRamps::default(),
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

    /// The same voice on another buffer (`g`): positions, travel and sync converted to its
    /// frames, and the read head at the same musical place. Real-time safe.
    pub fn retarget(&self, g: &Geometry) -> Voice {
        let ratio = g.scale / self.scale;
        let mut v = *self;
        v.slot = g.slot;
        v.scale = g.scale;
        v.pitch0 = g.pitch0;
        v.start_pos = g.start as f64;
        v.loop_start = g.loop_start as f64;
        v.loop_end = exact_end(g.loop_end, g.end_frac);
        if let Some(s) = v.sync.as_mut() {
            s.src_per_beat *= ratio;
        }
        v.seek(self.travel * ratio);
        v
    }

    /// The buffer the voice reads. Real-time safe.
    pub fn geometry(&self) -> Geometry {
        Geometry {
            slot: self.slot,
            start: self.start_pos as u32,
            loop_start: self.loop_start as u32,
            loop_end: self.loop_end.ceil() as u32,
            end_frac: self.loop_end.fract() as f32,
            scale: self.scale,
            pitch0: self.pitch0,
        }
    }

    /// A feed head `behind` buffer frames before the read head (the audio before a start
    /// point when there is some: the file before it, or the loop's tail once it has wrapped).
    /// Real-time safe.
    pub fn feed_head(&self, behind: f64) -> FeedHead {
        let len = self.loop_end - self.loop_start;
        let mut pos = self.pos - behind;
        if self.looping && self.wrapped && len > 0.0 {
            while pos < self.loop_start {
                pos += len;
            }
        }
        FeedHead {
            pos,
            wrapped: self.wrapped,
        }
    }

    /// Reads `left.len()` frames at `rate` buffer frames per frame from `head` (wrapping at
    /// the loop end; silence past a non-looping region's end and before the buffer's start).
    /// Real-time safe.
    pub fn feed<S: FrameSource>(
        &self,
        head: &mut FeedHead,
        src: &S,
        rate: f64,
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let len = self.loop_end - self.loop_start;
        // At rate 1 (key lock without transpose) the four neighbours slide by one frame: one
        // new fetch per frame, the same values as four.
        let mut win: Option<([[f32; 2]; 4], i64, bool)> = None;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            if !self.looping && head.pos >= self.loop_end {
                *l = 0.0;
                *r = 0.0;
                continue;
            }
            let [a, b] = match win {
                Some((w, i, wr))
                    if rate == 1.0 && wr == head.wrapped && i + 1 == head.pos.floor() as i64 =>
                {
                    let k = head.pos.floor() as i64;
                    let w = [w[1], w[2], w[3], self.fetch_w(src, k + 2, wr)];
                    win = Some((w, k, wr));
                    let t = (head.pos - k as f64) as f32;
                    [0, 1].map(|c| hermite(w[0][c], w[1][c], w[2][c], w[3][c], t))
                }
                _ if rate == 1.0 => {
                    let k = head.pos.floor() as i64;
                    let w = [-1, 0, 1, 2].map(|d| self.fetch_w(src, k + d, head.wrapped));
                    win = Some((w, k, head.wrapped));
                    let t = (head.pos - k as f64) as f32;
                    [0, 1].map(|c| hermite(w[0][c], w[1][c], w[2][c], w[3][c], t))
                }
                _ => self.frame_at(src, head.pos, head.wrapped),
            };
            *l = a;
            *r = b;
            head.pos += rate;
            if self.looping && head.pos >= self.loop_end && len > 0.0 {
                head.pos -= len;
                head.wrapped = true;
            }
        }
    }

    /// The frame `off` buffer frames after the region start (loop wraps applied; silence
    /// before the buffer). Real-time safe.
    pub fn peek<S: FrameSource>(&self, src: &S, off: f64) -> [f32; 2] {
        let wrapped = self.looping && off >= self.loop_end - self.start_pos;
        self.frame_at(src, self.region_pos(off), wrapped)
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

    /// Calls `f(first, last)` for the runs of buffer frames (inclusive) the read head touches
    /// while travelling `ahead` buffer frames from its position, in play order (loop wraps
    /// applied, interpolation neighbours included); stops at the first `false`. Real-time safe.
    pub fn play_ranges(&self, ahead: f64, mut f: impl FnMut(usize, usize) -> bool) -> bool {
        let (ls, le) = (self.loop_start as usize, self.loop_end.ceil() as usize);
        let looping = self.looping && ls + 2 < le;
        let start = self.pos.max(0.0).floor() as usize;
        let mut from = start.saturating_sub(1);
        if looping && self.wrapped && from < ls {
            // Neighbours before the loop start come from the loop's end.
            let below = ls - from;
            if !f(le.saturating_sub(below), le - 1) {
                return false;
            }
            from = ls;
        }
        let mut left = ahead.max(0.0).ceil() as usize + 3;
        for _ in 0..8 {
            if looping && from < le {
                let to = (from + left).min(le);
                if !f(from, to.saturating_sub(1).max(from)) {
                    return false;
                }
                left -= to - from;
                if left == 0 {
                    return true;
                }
                // Past the seam: the neighbours after the loop end come from its start.
                from = ls;
            } else {
                return f(from, from + left);
            }
        }
        // A loop much shorter than the distance: all of it.
        f(ls, le.saturating_sub(1))
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
    pub(crate) fn fetch<S: FrameSource>(&self, src: &S, k: i64) -> [f32; 2] {
        self.fetch_w(src, k, self.wrapped)
    }

    /// [`Self::fetch`] for a read head that has (`wrapped`) or has not yet wrapped.
    #[inline]
    fn fetch_w<S: FrameSource>(&self, src: &S, k: i64, wrapped: bool) -> [f32; 2] {
        let mut k = k;
        if self.looping {
            let (ls, le) = (self.loop_start as i64, self.loop_end.ceil() as i64);
            // A loop of fractional length: the neighbour across the seam lies between frames.
            let whole = self.loop_end.fract() == 0.0;
            if k >= le {
                if !whole {
                    return self.between(src, k as f64 - (self.loop_end - self.loop_start));
                }
                k -= le - ls;
            } else if wrapped && k < ls {
                if !whole {
                    return self.between(src, k as f64 + (self.loop_end - self.loop_start));
                }
                k += le - ls;
            }
        }
        if k < 0 || k as usize >= src.len_frames() {
            [0.0; 2]
        } else {
            src.frame(k as usize)
        }
    }

    /// The loop's audio at fractional position `p` (a seam neighbour of a loop of fractional
    /// length), interpolated from its frames; their own neighbours across the seam are taken a
    /// whole number of frames away (the nearest to the loop's length). Real-time safe.
    #[cold]
    fn between<S: FrameSource>(&self, src: &S, p: f64) -> [f32; 2] {
        let len = (self.loop_end - self.loop_start).round() as i64;
        let (ls, le) = (self.loop_start as i64, self.loop_end.ceil() as i64);
        let get = |k: i64| {
            let k = if k >= le {
                k - len
            } else if k < ls {
                k + len
            } else {
                k
            };
            if k < 0 || k as usize >= src.len_frames() {
                [0.0; 2]
            } else {
                src.frame(k as usize)
            }
        };
        let i = p.floor() as i64;
        let t = (p - i as f64) as f32;
        let (a, b, c, d) = (get(i - 1), get(i), get(i + 1), get(i + 2));
        [
            hermite(a[0], b[0], c[0], d[0], t),
            hermite(a[1], b[1], c[1], d[1], t),
        ]
    }

    /// Renders one frame with full boundary handling (used near edges only).
    #[inline]
    pub(crate) fn frame_slow<S: FrameSource>(&self, src: &S) -> [f32; 2] {
        self.frame_at(src, self.pos, self.wrapped)
    }

    /// The interpolated frame at buffer position `pos` with wrap-aware neighbours.
    #[inline]
    fn frame_at<S: FrameSource>(&self, src: &S, pos: f64, wrapped: bool) -> [f32; 2] {
        let idx = pos.floor() as i64;
        let t = (pos - idx as f64) as f32;
        let a = self.fetch_w(src, idx - 1, wrapped);
        let b = self.fetch_w(src, idx, wrapped);
        let c = self.fetch_w(src, idx + 1, wrapped);
        let d = self.fetch_w(src, idx + 2, wrapped);
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
        on_wrap: impl FnMut(usize),
    ) -> VoiceEnd {
        self.render_with(&mut SourceRead(src), out, step, fade, on_wrap)
    }

    /// [`Self::render`] with the frames coming from `rd` (the buffer itself, or a stretcher's
    /// output); the read head moves the same way either way. Real-time safe.
    pub(crate) fn render_with<R: Read>(
        &mut self,
        rd: &mut R,
        out: &mut [f32],
        step: f64,
        fade: u32,
        mut on_wrap: impl FnMut(usize),
    ) -> VoiceEnd {
        let n = out.len() / 2;
        let frames = rd.frames() as f64;
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
                .min(self.gain.run_len())
                .min(self.stems.run_len());
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
                    rd.run(self, seg, i, step);
                    self.pos += step * run as f64;
                    self.env.advance(run);
                    self.gain.advance(run);
                    self.stems.advance(run);
                    i += run as usize;
                    if let Some(end) = self.after_ramps() {
                        return end;
                    }
                    continue;
                }
            }
            // Near an edge: one frame with wrap-aware neighbours.
            let [l, r] = rd.one(self, i);
            let g = self.env.value * self.gain.value;
            out[2 * i] += l * g;
            out[2 * i + 1] += r * g;
            self.pos += step;
            self.env.advance(1);
            self.gain.advance(1);
            self.stems.advance(1);
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
}
