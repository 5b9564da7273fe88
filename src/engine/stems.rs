//! Stems: a pad whose sample is a stem bundle plays its full mix, or its stems with mute, solo
//! and gain each; every change ramps over [`STEM_RAMP_MS`] at the same source frame (all stems
//! come from one playhead), so nothing clicks. Real-time safe.

use crate::dsp::ramp::Ramp;
use crate::sample::buffer::{MAX_GROUPS, MAX_STEMS};

/// Length of the ramps of stem changes (full mix ⇄ stems, mute, solo, gain), in ms.
pub const STEM_RAMP_MS: f32 = 10.0;

/// A pad's stem settings (what the performer set; kept while the pad plays other things).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StemMix {
    /// Play the stems (true) or the full mix (false).
    pub on: bool,
    /// Muted stems, bit `s` for stem `s` (0-based, storage order).
    pub mute: u8,
    /// Soloed stems: when any is soloed, only soloed stems sound (solo wins over mute).
    pub solo: u8,
    /// Linear gain of each stem.
    pub gain: [f32; MAX_STEMS],
}

impl Default for StemMix {
    fn default() -> Self {
        Self {
            on: false,
            mute: 0,
            solo: 0,
            gain: [1.0; MAX_STEMS],
        }
    }
}

impl StemMix {
    /// Whether stem `s` sounds in stems mode (ignoring its gain). Real-time safe.
    pub fn audible(&self, s: usize) -> bool {
        let bit = 1u8 << s.min(7);
        if self.solo != 0 {
            self.solo & bit != 0
        } else {
            self.mute & bit == 0
        }
    }

    /// The gain of each stereo pair of a bundle with `stems` stems (pair 0 is the full mix).
    /// Real-time safe.
    pub fn targets(&self, stems: usize) -> [f32; MAX_GROUPS] {
        let mut t = [0.0; MAX_GROUPS];
        if !self.on || stems == 0 {
            t[0] = 1.0;
            return t;
        }
        for s in 0..stems.min(MAX_STEMS) {
            if self.audible(s) {
                t[1 + s] = self.gain[s];
            }
        }
        t
    }

    /// Whether every number is finite. Real-time safe.
    pub fn is_finite(&self) -> bool {
        self.gain.iter().all(|g| g.is_finite())
    }
}

/// A voice's gain ramp per stereo pair of its bundle (none for a plain sample).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StemRamps {
    /// Stereo pairs of the bundle the voice reads (0: not a bundle, nothing to do).
    pub groups: u8,
    ramps: [Ramp; MAX_GROUPS],
}

impl Default for StemRamps {
    fn default() -> Self {
        Self {
            groups: 0,
            ramps: [Ramp::steady(0.0); MAX_GROUPS],
        }
    }
}

impl StemRamps {
    /// Follows the pad's settings: on the first call for a bundle of `groups` pairs the gains
    /// jump there (the voice is fading in anyway); later changes ramp over `frames`.
    /// Real-time safe.
    pub fn follow(&mut self, groups: usize, targets: &[f32; MAX_GROUPS], frames: u32) {
        let groups = groups.min(MAX_GROUPS);
        let first = self.groups as usize != groups;
        self.groups = groups as u8;
        for (r, &t) in self.ramps.iter_mut().zip(targets.iter()).take(groups) {
            if first {
                *r = Ramp::steady(t);
            } else if r.target != t {
                r.go(t, frames);
            }
        }
    }

    /// Frames for which every ramp's step holds (`u32::MAX` when none moves). Real-time safe.
    #[inline]
    pub fn run_len(&self) -> u32 {
        if self.groups == 0 {
            return u32::MAX;
        }
        self.ramps[..self.groups as usize]
            .iter()
            .map(Ramp::run_len)
            .min()
            .unwrap_or(u32::MAX)
    }

    /// Advances `n` frames (not past the end of a ramp). Real-time safe.
    #[inline]
    pub fn advance(&mut self, n: u32) {
        for r in &mut self.ramps[..self.groups as usize] {
            r.advance(n);
        }
    }

    /// Gains now and their per-frame steps. Real-time safe.
    #[inline]
    pub fn coeffs(&self) -> ([f32; MAX_GROUPS], [f32; MAX_GROUPS]) {
        let mut g = [0.0; MAX_GROUPS];
        let mut d = [0.0; MAX_GROUPS];
        for (i, r) in self.ramps[..self.groups as usize].iter().enumerate() {
            g[i] = r.value;
            d[i] = r.step;
        }
        (g, d)
    }

    /// Gains now (the full mix only for a plain sample). Real-time safe.
    #[inline]
    pub fn gains(&self) -> [f32; MAX_GROUPS] {
        if self.groups == 0 {
            return crate::sample::buffer::MIX_ONLY;
        }
        self.coeffs().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solo_wins_over_mute_and_full_mix_is_pair_zero() {
        let mut m = StemMix::default();
        assert_eq!(m.targets(4)[..5], [1.0, 0.0, 0.0, 0.0, 0.0]);
        m.on = true;
        m.mute = 0b0011;
        m.gain[3] = 0.5;
        assert_eq!(m.targets(4)[..5], [0.0, 0.0, 0.0, 1.0, 0.5]);
        m.solo = 0b0001;
        assert_eq!(m.targets(4)[..5], [0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn ramps_jump_first_then_glide() {
        let mut r = StemRamps::default();
        let mut t = [0.0; MAX_GROUPS];
        t[0] = 1.0;
        r.follow(3, &t, 480);
        assert_eq!(r.run_len(), u32::MAX);
        t = [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        r.follow(3, &t, 480);
        assert_eq!(r.run_len(), 480);
        r.advance(240);
        let (g, d) = r.coeffs();
        assert!((g[0] - 0.5).abs() < 1e-6 && (g[1] - 0.5).abs() < 1e-6);
        assert!(d[0] < 0.0 && d[1] > 0.0);
        r.advance(240);
        assert_eq!(r.gains()[..3], [0.0, 1.0, 1.0]);
    }
}
