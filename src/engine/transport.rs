//! The master transport: tempo, meter, running state and a sample-exact musical position.
//!
//! The position is never accumulated sample by sample. It is anchored: at engine frame
//! `anchor_frame` the transport was at beat `anchor_beat`, and since then the tempo has been
//! constant, so the beat at any frame (and the frame of any beat) is one multiplication away.
//! A tempo change re-anchors at the frame where it happens; a glide is a staircase of such
//! changes every [`GLIDE_STEP`] frames. Eight hours at a constant tempo therefore land every
//! bar on the frame an exact rational computation gives. Real-time safe throughout.

/// Lowest tempo (the parameter table's).
pub const MIN_BPM: f64 = super::params::BPM.lo as f64;
/// Highest tempo (the parameter table's).
pub const MAX_BPM: f64 = super::params::BPM.hi as f64;
/// Frames between tempo steps while a tempo glides.
pub const GLIDE_STEP: u64 = 64;
/// MIDI clock ticks per beat.
pub const TICKS_PER_BEAT: f64 = 24.0;

/// Guard against rounding when a boundary falls exactly on a frame: a beat whose exact time is
/// within this many frames after a frame boundary counts as on it. (With a tempo given to a
/// few decimals, a beat that is not on a frame is at least ~1/10000 frame away from one.)
const EPS_FRAMES: f64 = 1e-6;

/// The transport's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transport {
    rate: f64,
    /// Where a glide stands (the set tempo once it ends).
    stepped: f64,
    /// Tempo multiplier while a nudge button is held (1 = none).
    nudge: f64,
    /// Tempo multiplier a clock follower uses to pull the phase in (1 = none).
    trim: f64,
    /// The tempo the position currently advances at (`bpm × nudge`, or a glide step).
    effective: f64,
    /// The set tempo (what the performer asked for; where a glide is heading), and the
    /// tempo change per frame of a glide (0 = not gliding).
    bpm: f64,
    glide_per_frame: f64,
    glide_frames: u64,
    beats_per_bar: u32,
    running: bool,
    anchor_frame: u64,
    anchor_beat: f64,
}

impl Transport {
    /// A stopped transport at 120 BPM in 4/4.
    pub fn new(rate: u32) -> Self {
        Self {
            rate: rate as f64,
            stepped: 120.0,
            nudge: 1.0,
            trim: 1.0,
            effective: 120.0,
            bpm: 120.0,
            glide_per_frame: 0.0,
            glide_frames: 0,
            beats_per_bar: 4,
            running: false,
            anchor_frame: 0,
            anchor_beat: 0.0,
        }
    }

    /// The set tempo in BPM (where a glide is heading; nudges not included).
    pub fn bpm(&self) -> f64 {
        self.bpm
    }

    /// The tempo a glide has reached (the set tempo once it ends; nudges and trims not
    /// included). Real-time safe.
    pub fn stepped_bpm(&self) -> f64 {
        self.stepped
    }

    /// The tempo the position advances at right now (glides and nudges included).
    pub fn effective_bpm(&self) -> f64 {
        self.effective
    }

    /// Beats per bar.
    pub fn beats_per_bar(&self) -> u32 {
        self.beats_per_bar
    }

    /// Whether the transport runs.
    pub fn running(&self) -> bool {
        self.running
    }

    /// Whether a tempo glide is in progress.
    pub fn gliding(&self) -> bool {
        self.glide_per_frame != 0.0
    }

    /// The sample rate it counts frames at.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Frames per beat at the current (effective) tempo.
    pub fn frames_per_beat(&self) -> f64 {
        60.0 * self.rate / self.effective
    }

    /// The musical position (in beats) at engine frame `frame` (while stopped: where it
    /// stopped).
    pub fn beat_at(&self, frame: u64) -> f64 {
        if !self.running {
            return self.anchor_beat;
        }
        let df = frame as f64 - self.anchor_frame as f64;
        self.anchor_beat + df * self.effective / (60.0 * self.rate)
    }

    /// The first engine frame at or after the moment the transport reaches `beat` (at the
    /// current tempo). Only meaningful while running.
    pub fn frame_of_beat(&self, beat: f64) -> u64 {
        let df = (beat - self.anchor_beat) * 60.0 * self.rate / self.effective;
        let f = self.anchor_frame as f64 + df;
        (f - EPS_FRAMES).ceil().max(0.0) as u64
    }

    /// The first frame at or after `frame` that lies on a multiple of `unit` beats, with that
    /// grid line's beat.
    pub fn next_boundary(&self, frame: u64, unit: f64) -> (u64, f64) {
        let beat = self.beat_at(frame);
        let mut k = (beat / unit).floor();
        let mut f = self.frame_of_beat(k * unit);
        while f < frame {
            k += 1.0;
            f = self.frame_of_beat(k * unit);
        }
        (f, k * unit)
    }

    /// The last grid line of `unit` beats at or before `frame`, with its beat.
    pub fn prev_boundary(&self, frame: u64, unit: f64) -> (u64, f64) {
        let (f, b) = self.next_boundary(frame, unit);
        if f == frame {
            return (f, b);
        }
        let b = b - unit;
        (self.frame_of_beat(b), b)
    }

    /// Calls `f(frame, n)` for every multiple `n` of `unit` beats whose frame lies in
    /// `from..to` (only while running; `n` counts from beat 0).
    pub fn each_boundary(&self, from: u64, to: u64, unit: f64, mut f: impl FnMut(u64, i64)) {
        if !self.running || to <= from {
            return;
        }
        let (mut frame, mut beat) = self.next_boundary(from, unit);
        while frame < to {
            f(frame, (beat / unit).round() as i64);
            beat += unit;
            frame = self.frame_of_beat(beat);
        }
    }

    /// Starts the transport at `frame` from `beat` (0 = the top of bar 1).
    pub fn start(&mut self, frame: u64, beat: f64) {
        self.running = true;
        self.anchor_frame = frame;
        self.anchor_beat = beat;
    }

    /// Stops the transport at `frame`, keeping its position.
    pub fn stop(&mut self, frame: u64) {
        if self.running {
            self.anchor_beat = self.beat_at(frame);
            self.anchor_frame = frame;
            self.running = false;
        }
    }

    /// Moves the position to `beat` at `frame` (a song position pointer, or a resync).
    pub fn locate(&mut self, frame: u64, beat: f64) {
        if beat.is_finite() {
            self.anchor_frame = frame;
            self.anchor_beat = beat;
        }
    }

    /// Changes the effective tempo at `frame`, keeping the musical position.
    fn set_effective(&mut self, frame: u64, bpm: f64) {
        let bpm = bpm.clamp(MIN_BPM, MAX_BPM);
        if bpm == self.effective {
            return;
        }
        if self.running {
            self.anchor_beat = self.beat_at(frame);
            self.anchor_frame = frame;
        }
        self.effective = bpm;
    }

    /// Sets how long tempo changes glide, in frames (0 = at once).
    pub fn set_glide_frames(&mut self, frames: u64) {
        self.glide_frames = frames;
    }

    /// Changes the tempo at `frame`, keeping the musical position (and so the bar phase): at
    /// once, or gliding there over the glide time.
    pub fn set_bpm(&mut self, frame: u64, bpm: f64) {
        if !bpm.is_finite() {
            return;
        }
        let bpm = bpm.clamp(MIN_BPM, MAX_BPM);
        self.bpm = bpm;
        if self.glide_frames == 0 || !self.running {
            self.stepped = bpm;
            self.glide_per_frame = 0.0;
            self.set_effective(frame, bpm * self.nudge * self.trim);
        } else {
            self.glide_per_frame = (bpm - self.stepped) / self.glide_frames as f64;
        }
    }

    /// Sets the tempo at once, ending any glide (used when following an external clock).
    pub fn jump_bpm(&mut self, frame: u64, bpm: f64) {
        if bpm.is_finite() {
            let bpm = bpm.clamp(MIN_BPM, MAX_BPM);
            self.bpm = bpm;
            self.stepped = bpm;
            self.glide_per_frame = 0.0;
            self.set_effective(frame, bpm * self.nudge * self.trim);
        }
    }

    /// Advances a glide to `frame` (called every [`GLIDE_STEP`] frames while gliding).
    pub fn advance_glide(&mut self, frame: u64, frames: u64) {
        if self.glide_per_frame == 0.0 {
            return;
        }
        let next = self.stepped + self.glide_per_frame * frames as f64;
        let done = (self.glide_per_frame > 0.0 && next >= self.bpm)
            || (self.glide_per_frame < 0.0 && next <= self.bpm);
        self.stepped = if done { self.bpm } else { next };
        if done {
            self.glide_per_frame = 0.0;
        }
        self.set_effective(frame, self.stepped * self.nudge * self.trim);
    }

    /// Holds a temporary tempo multiplier (a nudge button; 1 = released), at `frame`.
    pub fn set_nudge(&mut self, frame: u64, factor: f64) {
        if factor.is_finite() {
            self.nudge = factor.clamp(0.5, 2.0);
            self.set_effective(frame, self.stepped * self.nudge * self.trim);
        }
    }

    /// Sets the phase trim multiplier (a clock follower's small correction; 1 = none).
    pub fn set_trim(&mut self, frame: u64, factor: f64) {
        if factor.is_finite() {
            self.trim = factor.clamp(0.9, 1.1);
            self.set_effective(frame, self.stepped * self.nudge * self.trim);
        }
    }

    /// The nudge multiplier (1 = none).
    pub fn nudge(&self) -> f64 {
        self.nudge
    }

    /// Sets the meter (beats per bar, 1..=32).
    pub fn set_beats_per_bar(&mut self, n: u32) {
        self.beats_per_bar = n.clamp(1, 32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_on_the_grid() {
        let mut t = Transport::new(48_000);
        t.start(1000, 0.0);
        // 120 BPM: 24000 frames per beat.
        assert_eq!(t.next_boundary(1000, 4.0), (1000, 0.0));
        assert_eq!(t.next_boundary(1001, 4.0), (1000 + 96_000, 4.0));
        assert_eq!(t.next_boundary(1001, 1.0), (25_000, 1.0));
        assert_eq!(t.prev_boundary(30_000, 1.0), (25_000, 1.0));
        // A tempo change keeps the beat where it is.
        let b = t.beat_at(49_000);
        t.set_bpm(49_000, 60.0);
        assert!((t.beat_at(49_000) - b).abs() < 1e-12);
        assert_eq!(t.next_boundary(49_001, 1.0), (49_000 + 48_000, 3.0));
        let mut ticks = Vec::new();
        t.each_boundary(49_000, 49_000 + 4_000, 1.0 / TICKS_PER_BEAT, |f, n| {
            ticks.push((f, n))
        });
        assert_eq!(ticks, vec![(49_000, 48), (51_000, 49)]);
    }

    #[test]
    fn a_glide_moves_the_tempo_in_steps_and_keeps_the_position_continuous() {
        let mut t = Transport::new(48_000);
        t.start(0, 0.0);
        t.set_glide_frames(48_000);
        t.set_bpm(0, 180.0);
        assert!(t.gliding());
        let mut f = 0;
        let mut last = t.beat_at(0);
        while t.gliding() {
            f += GLIDE_STEP;
            let before = t.beat_at(f);
            t.advance_glide(f, GLIDE_STEP);
            assert!((t.beat_at(f) - before).abs() < 1e-9, "no jump in position");
            assert!(before > last);
            last = before;
        }
        assert_eq!(t.effective_bpm(), 180.0);
        assert!((47_000..49_100).contains(&f), "{f}");
    }
}
