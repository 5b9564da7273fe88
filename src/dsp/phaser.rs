//! Master-insert phaser: 6 first-order all-pass stages per channel swept by a sine LFO.

use super::biquad::undenormal;

const STAGES: usize = 6;
const UPDATE: usize = 16;

/// The phaser and its settings.
pub struct Phaser {
    rate: f32,
    phase: f32,
    /// LFO rate in Hz (0.05..10).
    pub lfo_hz: f32,
    /// Sweep depth 0..1.
    pub depth: f32,
    /// Feedback 0..0.9.
    pub feedback: f32,
    mix_target: f32,
    mix: f32,
    x1: [[f32; STAGES]; 2],
    y1: [[f32; STAGES]; 2],
    last: [f32; 2],
}

impl Phaser {
    /// A phaser that is off (mix 0). Real-time safe (no allocation).
    pub fn new(rate: u32) -> Self {
        Self {
            rate: rate as f32,
            phase: 0.0,
            lfo_hz: 0.3,
            depth: 0.7,
            feedback: 0.5,
            mix_target: 0.0,
            mix: 0.0,
            x1: [[0.0; STAGES]; 2],
            y1: [[0.0; STAGES]; 2],
            last: [0.0; 2],
        }
    }

    /// Sets the wet mix 0..1 (0 = off); glides to avoid clicks. Real-time safe.
    pub fn set_mix(&mut self, m: f32) {
        self.mix_target = m.clamp(0.0, 1.0);
    }

    /// Clears the all-pass state if it went non-finite (checked after each block); returns
    /// whether it did. Real-time safe.
    pub fn recover(&mut self) -> bool {
        let ok = self
            .x1
            .iter()
            .chain(self.y1.iter())
            .flatten()
            .chain(self.last.iter())
            .all(|v| v.is_finite());
        if !ok {
            self.x1 = [[0.0; STAGES]; 2];
            self.y1 = [[0.0; STAGES]; 2];
            self.last = [0.0; 2];
        }
        !ok
    }

    /// Processes interleaved stereo in place. Real-time safe.
    // `ch` indexes the frame and several per-channel state arrays in step.
    #[allow(clippy::needless_range_loop)]
    pub fn process(&mut self, buf: &mut [f32]) {
        if self.mix == 0.0 && self.mix_target == 0.0 {
            return;
        }
        let frames = buf.len() / 2;
        let mut i = 0;
        while i < frames {
            let n = (frames - i).min(UPDATE);
            // Sweep 200 Hz .. 200·10^(1.3·depth) Hz, exponentially.
            let lfo = 0.5 + 0.5 * (self.phase * std::f32::consts::TAU).sin();
            self.phase = (self.phase + self.lfo_hz * n as f32 / self.rate).fract();
            let f = 200.0 * 10f32.powf(1.3 * self.depth * lfo);
            let t = (std::f32::consts::PI * f.min(0.45 * self.rate) / self.rate).tan();
            let a = (t - 1.0) / (t + 1.0);
            // The mix glides at most full scale per 20 ms.
            let max_step = n as f32 / (0.02 * self.rate);
            let next_mix = self.mix + (self.mix_target - self.mix).clamp(-max_step, max_step);
            let mix_step = (next_mix - self.mix) / n as f32;
            for (k, fr) in buf[2 * i..2 * (i + n)].chunks_exact_mut(2).enumerate() {
                let m = self.mix + mix_step * (k + 1) as f32;
                for ch in 0..2 {
                    let mut x = fr[ch] + self.feedback * self.last[ch];
                    for s in 0..STAGES {
                        let y = a * x + self.x1[ch][s] - a * self.y1[ch][s];
                        self.x1[ch][s] = x;
                        self.y1[ch][s] = undenormal(y);
                        x = y;
                    }
                    self.last[ch] = undenormal(x);
                    fr[ch] += m * (x - fr[ch]) * 0.5;
                }
            }
            self.mix = next_mix;
            i += n;
        }
    }
}
