//! One-knob DJ filter: low-pass below the centre, high-pass above, off at the centre.
//!
//! A state-variable filter (Simper's trapezoidal SVF), which stays stable and zipper-free while
//! its cutoff moves. Near the centre the filter cross-fades with the dry signal, so engaging it is
//! seamless. Knob 0 = low-pass at 40 Hz, 0.5 = off, 1 = high-pass at 10 kHz (exponential).

use super::biquad::undenormal;

/// Half-width of the dead zone around the centre where the filter is off.
pub const DEAD_ZONE: f32 = 0.02;
/// Knob distance over which the filter fades in after the dead zone.
pub const FADE_ZONE: f32 = 0.05;
const UPDATE: usize = 16;
const GLIDE_MS: f32 = 30.0;

/// Cutoff in Hz and whether it is a high-pass, for a knob value. Real-time safe.
pub fn knob_cutoff(k: f32) -> (f32, bool) {
    if k < 0.5 {
        let t = (0.5 - k) / 0.5;
        (20_000.0 * (40.0f32 / 20_000.0).powf(t), false)
    } else {
        let t = (k - 0.5) / 0.5;
        (20.0 * (10_000.0f32 / 20.0).powf(t), true)
    }
}

/// Filter Q for a resonance value 0..1 (0.707 to 8). Real-time safe.
pub fn resonance_q(r: f32) -> f32 {
    0.707 * (8.0f32 / 0.707).powf(r.clamp(0.0, 1.0))
}

/// One pad's DJ filter.
#[derive(Debug, Clone, Copy)]
pub struct DjFilter {
    target: f32,
    value: f32,
    step: f32,
    resonance: f32,
    ic1: [f32; 2],
    ic2: [f32; 2],
    a: [f32; 3],
    k: f32,
    high: bool,
    wet: f32,
    /// Wet amount at the end of the previous run (the mix ramps from here, per sample).
    wet_prev: f32,
    rate: f32,
}

impl DjFilter {
    /// A filter that is off, at `rate` Hz. Real-time safe (no allocation).
    pub fn new(rate: f32) -> Self {
        let mut f = Self {
            target: 0.5,
            value: 0.5,
            step: 0.0,
            resonance: 0.0,
            ic1: [0.0; 2],
            ic2: [0.0; 2],
            a: [0.0; 3],
            k: 1.414,
            high: false,
            wet: 0.0,
            wet_prev: 0.0,
            rate,
        };
        f.update();
        f
    }

    /// Sets the knob target (glides there). Real-time safe.
    pub fn set(&mut self, k: f32) {
        self.target = k.clamp(0.0, 1.0);
        self.step = (self.target - self.value) / (GLIDE_MS / 1000.0 * self.rate);
    }

    /// Sets the knob at once. Real-time safe.
    pub fn jump(&mut self, k: f32) {
        self.target = k.clamp(0.0, 1.0);
        self.value = self.target;
        self.step = 0.0;
        self.update();
        self.wet_prev = self.wet;
    }

    /// Sets the resonance 0..1. Real-time safe.
    pub fn set_resonance(&mut self, r: f32) {
        self.resonance = r.clamp(0.0, 1.0);
        self.update();
    }

    /// Whether the filter is off and still. Real-time safe.
    pub fn is_off(&self) -> bool {
        self.step == 0.0 && (self.value - 0.5).abs() <= DEAD_ZONE
    }

    /// Clears the filter memory. Real-time safe.
    pub fn reset(&mut self) {
        self.ic1 = [0.0; 2];
        self.ic2 = [0.0; 2];
    }

    fn update(&mut self) {
        let (fc, high) = knob_cutoff(self.value);
        let fc = fc.min(0.45 * self.rate);
        let g = (std::f32::consts::PI * fc / self.rate).tan();
        self.k = 1.0 / resonance_q(self.resonance);
        let a1 = 1.0 / (1.0 + g * (g + self.k));
        self.a = [a1, g * a1, g * g * a1];
        self.high = high;
        self.wet = (((self.value - 0.5).abs() - DEAD_ZONE) / FADE_ZONE).clamp(0.0, 1.0);
    }

    /// Filters interleaved stereo `buf` in place. Real-time safe.
    pub fn process(&mut self, buf: &mut [f32]) {
        if self.is_off() {
            self.reset();
            self.wet_prev = 0.0;
            return;
        }
        let frames = buf.len() / 2;
        let mut i = 0;
        while i < frames {
            let n = (frames - i).min(UPDATE);
            if self.step != 0.0 {
                let next = self.value + self.step * n as f32;
                let done = (self.step > 0.0 && next >= self.target)
                    || (self.step < 0.0 && next <= self.target);
                self.value = if done { self.target } else { next };
                if done {
                    self.step = 0.0;
                }
                self.update();
            }
            self.run(&mut buf[2 * i..2 * (i + n)]);
            i += n;
        }
        for v in self.ic1.iter_mut().chain(self.ic2.iter_mut()) {
            *v = undenormal(*v);
        }
    }

    // `ch` indexes the frame and several per-channel state arrays in step.
    #[allow(clippy::needless_range_loop)]
    fn run(&mut self, buf: &mut [f32]) {
        let [a1, a2, a3] = self.a;
        let (k, high) = (self.k, self.high);
        let n = (buf.len() / 2).max(1) as f32;
        let (w0, dw) = (self.wet_prev, (self.wet - self.wet_prev) / n);
        self.wet_prev = self.wet;
        for (i, fr) in buf.chunks_exact_mut(2).enumerate() {
            let wet = w0 + dw * (i + 1) as f32;
            for ch in 0..2 {
                let v0 = fr[ch];
                let v3 = v0 - self.ic2[ch];
                let v1 = a1 * self.ic1[ch] + a2 * v3;
                let v2 = self.ic2[ch] + a2 * self.ic1[ch] + a3 * v3;
                self.ic1[ch] = 2.0 * v1 - self.ic1[ch];
                self.ic2[ch] = 2.0 * v2 - self.ic2[ch];
                let y = if high { v0 - k * v1 - v2 } else { v2 };
                fr[ch] = v0 + wet * (y - v0);
            }
        }
    }
}
