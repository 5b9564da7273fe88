//! The per-pad DJ-style 3-band EQ: low shelf 200 Hz, peak 1 kHz, high shelf 4 kHz.
//!
//! Each band is driven by a knob value 0..1: 0.5 is flat (the band is bypassed), 1 is +6 dB,
//! 0 is a full kill. Below the centre the gain is `40·log10(2k)` dB (−12 dB at 0.25, −24 dB at
//! 0.125) down to a kill floor of [`KILL_DB`] (−96 dB, below 16-bit noise: silence to the ear).
//! Shelves are two cascaded biquads with half the gain each (a steeper, isolator-like slope).
//! Knob changes glide over [`GLIDE_MS`]; coefficients are recomputed every [`UPDATE_FRAMES`]
//! frames only while a knob moves.

use super::biquad::{Coeffs, StereoState};

/// Band centre/corner frequencies in Hz.
pub const FREQS: [f64; 3] = [200.0, 1000.0, 4000.0];
/// Quality of the 1 kHz peaking band.
pub const MID_Q: f64 = 0.7;
/// Gain of a fully killed band.
pub const KILL_DB: f64 = -96.0;
/// Maximum boost.
pub const MAX_DB: f64 = 6.0;
/// Knob glide time.
pub const GLIDE_MS: f64 = 30.0;
/// Frames between coefficient updates while a knob glides.
pub const UPDATE_FRAMES: usize = 16;

/// Maps a knob value (0..1, 0.5 = flat) to band gain in dB. Real-time safe.
pub fn knob_to_db(k: f32) -> f64 {
    let k = k.clamp(0.0, 1.0) as f64;
    if k >= 0.5 {
        (k - 0.5) * 2.0 * MAX_DB
    } else if k <= 0.0 {
        KILL_DB
    } else {
        (40.0 * (2.0 * k).log10()).max(KILL_DB)
    }
}

/// Maps a gain in dB (−inf..+6) to the knob value. Not real-time critical.
pub fn db_to_knob(db: f64) -> f32 {
    if db >= 0.0 {
        (0.5 + db.min(MAX_DB) / (2.0 * MAX_DB)) as f32
    } else if db <= KILL_DB {
        0.0
    } else {
        (10f64.powf(db / 40.0) / 2.0) as f32
    }
}

/// The biquad stages of one band at gain `db`.
pub fn band_coeffs(band: usize, db: f64, rate: f64) -> [Coeffs; 2] {
    match band {
        0 => [Coeffs::low_shelf(FREQS[0], db / 2.0, rate); 2],
        1 => [Coeffs::peaking(FREQS[1], db, MID_Q, rate), Coeffs::IDENTITY],
        _ => [Coeffs::high_shelf(FREQS[2], db / 2.0, rate); 2],
    }
}

/// The EQ's design magnitude (linear) at `f` Hz for three knob values. For tests and docs.
pub fn design_magnitude(knobs: [f32; 3], f: f64, rate: f64) -> f64 {
    (0..3)
        .filter(|&b| knobs[b] != 0.5)
        .flat_map(|b| band_coeffs(b, knob_to_db(knobs[b]), rate))
        .map(|c| c.magnitude(f, rate))
        .product()
}

/// One pad's EQ: knob targets, glides, coefficients and filter state.
#[derive(Debug, Clone, Copy)]
pub struct ThreeBandEq {
    target: [f32; 3],
    value: [f32; 3],
    step: [f32; 3],
    coeffs: [[Coeffs; 2]; 3],
    state: [[StereoState; 2]; 3],
    /// Whether each band filtered the previous block (a band re-engaging starts from clean state).
    active: [bool; 3],
    rate: f64,
}

impl ThreeBandEq {
    /// A flat EQ at `rate` Hz.
    pub fn new(rate: f64) -> Self {
        Self {
            target: [0.5; 3],
            value: [0.5; 3],
            step: [0.0; 3],
            coeffs: [[Coeffs::IDENTITY; 2]; 3],
            state: Default::default(),
            active: [false; 3],
            rate,
        }
    }

    /// Sets a band's knob target (gliding there). Real-time safe.
    pub fn set(&mut self, band: usize, knob: f32) {
        let Some(t) = self.target.get_mut(band) else {
            return;
        };
        *t = knob.clamp(0.0, 1.0);
        let glide = (GLIDE_MS / 1000.0 * self.rate).max(1.0) as f32;
        self.step[band] = (self.target[band] - self.value[band]) / glide;
    }

    /// Sets a band's knob immediately (no glide), e.g. when a pad starts. Real-time safe.
    pub fn jump(&mut self, band: usize, knob: f32) {
        if band < 3 {
            self.target[band] = knob.clamp(0.0, 1.0);
            self.value[band] = self.target[band];
            self.step[band] = 0.0;
            self.update(band);
        }
    }

    /// Current knob values.
    pub fn knobs(&self) -> [f32; 3] {
        self.value
    }

    /// Whether the EQ currently does nothing (all bands flat and still). Real-time safe.
    pub fn is_flat(&self) -> bool {
        self.value == [0.5; 3] && self.target == [0.5; 3]
    }

    fn update(&mut self, band: usize) {
        self.coeffs[band] = band_coeffs(band, knob_to_db(self.value[band]), self.rate);
    }

    /// Clears filter memory (when a pad starts from silence). Real-time safe.
    pub fn reset(&mut self) {
        self.state = Default::default();
        self.active = [false; 3];
    }

    /// Filters interleaved stereo `buf` in place. Real-time safe.
    pub fn process(&mut self, buf: &mut [f32]) {
        if self.is_flat() {
            self.active = [false; 3];
            return;
        }
        let frames = buf.len() / 2;
        let moving = self.step.iter().any(|&s| s != 0.0);
        if !moving {
            self.run(buf);
            return;
        }
        let mut i = 0;
        while i < frames {
            let n = (frames - i).min(UPDATE_FRAMES);
            for b in 0..3 {
                if self.step[b] == 0.0 {
                    continue;
                }
                let next = self.value[b] + self.step[b] * n as f32;
                let done = (self.step[b] > 0.0 && next >= self.target[b])
                    || (self.step[b] < 0.0 && next <= self.target[b]);
                self.value[b] = if done { self.target[b] } else { next };
                if done {
                    self.step[b] = 0.0;
                }
                self.update(b);
            }
            self.run(&mut buf[2 * i..2 * (i + n)]);
            i += n;
        }
    }

    fn run(&mut self, buf: &mut [f32]) {
        for b in 0..3 {
            if self.value[b] == 0.5 {
                self.active[b] = false;
                continue;
            }
            if !self.active[b] {
                self.state[b] = Default::default();
                self.active[b] = true;
            }
            for s in 0..2 {
                if self.coeffs[b][s] != Coeffs::IDENTITY {
                    self.state[b][s].process(&self.coeffs[b][s], buf);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knob_mapping_round_trips_and_hits_the_landmarks() {
        assert_eq!(knob_to_db(0.5), 0.0);
        assert_eq!(knob_to_db(1.0), 6.0);
        assert_eq!(knob_to_db(0.0), KILL_DB);
        assert!((knob_to_db(0.25) + 12.041).abs() < 0.01);
        for db in [-40.0, -12.0, -3.0, 0.0, 3.0, 6.0] {
            assert!((knob_to_db(db_to_knob(db)) - db).abs() < 1e-4, "{db}");
        }
    }

    #[test]
    fn design_curve_kills_and_boosts_the_right_bands() {
        let r = 48_000.0;
        let db = |k: [f32; 3], f: f64| 20.0 * design_magnitude(k, f, r).log10();
        assert!(db([0.0, 0.5, 0.5], 50.0) < -80.0);
        assert!(db([0.0, 0.5, 0.5], 10_000.0).abs() < 0.1);
        assert!(db([0.5, 0.0, 0.5], 1000.0) < -80.0);
        assert!(db([0.5, 0.5, 0.0], 10_000.0) < -60.0);
        assert!((db([1.0, 1.0, 1.0], 1000.0) - 6.0).abs() < 1.0);
        assert!((db([1.0, 0.5, 0.5], 30.0) - 6.0).abs() < 0.2);
    }
}
