//! Tempo-synced stereo delay (send effect) with damped feedback.

use super::biquad::undenormal;

/// Note divisions the delay syncs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Division {
    /// A quarter note (one beat).
    Quarter,
    /// An eighth note.
    #[default]
    Eighth,
    /// A dotted eighth (3/4 beat).
    DottedEighth,
    /// A sixteenth note.
    Sixteenth,
}

impl Division {
    /// Length in beats. Real-time safe.
    pub fn beats(self) -> f32 {
        match self {
            Division::Quarter => 1.0,
            Division::Eighth => 0.5,
            Division::DottedEighth => 0.75,
            Division::Sixteenth => 0.25,
        }
    }

    /// Parses `1/4`, `1/8`, `1/8d`, `1/16`. Real-time safe.
    pub fn parse(s: &str) -> Option<Division> {
        match s {
            "1/4" => Some(Division::Quarter),
            "1/8" => Some(Division::Eighth),
            "1/8d" | "1/8." => Some(Division::DottedEighth),
            "1/16" => Some(Division::Sixteenth),
            _ => None,
        }
    }

    /// Index 0..=3 (1/4, 1/8, 1/8d, 1/16), as carried by `FxParam::DelayDivision`. Real-time
    /// safe.
    pub fn index(self) -> u8 {
        self as u8
    }

    /// From an index 0..=3 (1/4, 1/8, 1/8d, 1/16). Real-time safe.
    pub fn from_index(i: u8) -> Division {
        [
            Division::Quarter,
            Division::Eighth,
            Division::DottedEighth,
            Division::Sixteenth,
        ][(i as usize).min(3)]
    }
}

/// Longest delay supported: a quarter note at 20 BPM.
pub const MAX_SECONDS: f32 = 3.0;
const GLIDE_MS: f32 = 80.0;

/// The delay line and its settings.
pub struct Delay {
    buf: Box<[f32]>,
    write: usize,
    rate: f32,
    /// Current delay in frames (glides to the target).
    time: f32,
    target_time: f32,
    bpm: f32,
    division: Division,
    /// Feedback 0..0.95.
    pub feedback: f32,
    /// Wet level 0..1.
    pub wet: f32,
    damp: [f32; 2],
    /// Frames the delay keeps ringing after its input stops (for skipping idle work).
    idle: usize,
}

impl Delay {
    /// Allocates the delay line. Not real-time safe.
    pub fn new(rate: u32) -> Self {
        let len = (MAX_SECONDS * rate as f32) as usize + 4;
        let mut d = Self {
            buf: vec![0.0; 2 * len].into_boxed_slice(),
            write: 0,
            rate: rate as f32,
            time: 0.0,
            target_time: 0.0,
            bpm: 120.0,
            division: Division::Eighth,
            feedback: 0.35,
            wet: 0.0,
            damp: [0.0; 2],
            idle: usize::MAX,
        };
        d.retime();
        d.time = d.target_time;
        d
    }

    /// Delay time in seconds for the current tempo and division. Real-time safe.
    pub fn seconds(&self) -> f32 {
        60.0 / self.bpm * self.division.beats()
    }

    fn retime(&mut self) {
        let max = (self.buf.len() / 2 - 2) as f32;
        self.target_time = (self.seconds() * self.rate).clamp(1.0, max);
        // While silent there is nothing to glide: take the new time at once.
        if self.is_idle() {
            self.time = self.target_time;
        }
    }

    /// Whether the delay has had no input for longer than its tail rings.
    fn is_idle(&self) -> bool {
        self.idle > (self.time as usize).saturating_mul(200)
    }

    /// The tempo it follows. Real-time safe.
    pub fn bpm(&self) -> f32 {
        self.bpm
    }

    /// Sets the tempo (the transport keeps it in the parameter table's range; a delay time
    /// past [`MAX_SECONDS`] is held at it, a tempo that is not a positive number is ignored).
    /// Real-time safe.
    pub fn set_bpm(&mut self, bpm: f32) {
        if bpm.is_finite() && bpm > 0.0 {
            self.bpm = bpm;
        }
        self.retime();
    }

    /// Sets the note division. Real-time safe.
    pub fn set_division(&mut self, d: Division) {
        self.division = d;
        self.retime();
    }

    /// Resets the delay line if its state went non-finite (checked after each block); returns
    /// whether it did. Real-time safe (a rare reset clears the line: a bounded memset).
    pub fn recover(&mut self) -> bool {
        let last = (self.write + self.buf.len() / 2 - 1) % (self.buf.len() / 2);
        let ok = self.damp.iter().all(|v| v.is_finite())
            && self.buf[2 * last].is_finite()
            && self.buf[2 * last + 1].is_finite();
        if !ok {
            self.buf.fill(0.0);
            self.damp = [0.0; 2];
        }
        !ok
    }

    /// Reads the send bus `input` and adds the delayed signal into `out`. Real-time safe.
    pub fn process(&mut self, input: &[f32], out: &mut [f32], input_silent: bool) {
        if input_silent {
            // Nothing new goes in; once the tail has decayed there is nothing to do.
            if self.is_idle() {
                return;
            }
            self.idle = self.idle.saturating_add(input.len() / 2);
        } else {
            self.idle = 0;
        }
        let len = self.buf.len() / 2;
        let glide = 1.0 / (GLIDE_MS / 1000.0 * self.rate);
        let damp_coeff = 0.45;
        for (x, o) in input.chunks_exact(2).zip(out.chunks_exact_mut(2)) {
            if self.time != self.target_time {
                self.time += (self.target_time - self.time) * glide;
                if (self.target_time - self.time).abs() < 0.01 {
                    self.time = self.target_time;
                }
            }
            let rp = self.write as f32 + len as f32 - self.time;
            let i0 = rp as usize % len;
            let frac = rp - rp.floor();
            let i1 = (i0 + 1) % len;
            for ch in 0..2 {
                let a = self.buf[2 * i0 + ch];
                let b = self.buf[2 * i1 + ch];
                let y = a + frac * (b - a);
                self.damp[ch] += damp_coeff * (y - self.damp[ch]);
                self.damp[ch] = undenormal(self.damp[ch]);
                self.buf[2 * self.write + ch] = undenormal(x[ch] + self.feedback * self.damp[ch]);
                o[ch] += self.wet * y;
            }
            self.write = (self.write + 1) % len;
        }
    }
}
