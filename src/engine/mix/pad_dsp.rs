//! Per-pad sound shaping state: the pad's voices are summed, then go through its EQ (shelf or
//! isolator, cross-fading when the mode changes), DJ filter and sends. Real-time safe.

use crate::dsp::djfilter::DjFilter;
use crate::dsp::eq::ThreeBandEq;
use crate::dsp::isolator::Isolator;
use crate::dsp::ramp::Ramp;
use crate::engine::command::{EqMode, PadFx};

/// Per-pad sound shaping state (the pad's voices are summed, then shaped).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PadDsp {
    pub(crate) eq: ThreeBandEq,
    pub(crate) iso: Isolator,
    /// Where the EQ stands between the shelf EQ (0) and the isolator (1); it glides over
    /// [`MODE_FADE_MS`] when the mode changes while the pad plays.
    pub(super) iso_mix: Ramp,
    pub(crate) filter: DjFilter,
    pub(crate) sends: [Ramp; 2],
    /// Segment counter value when the pad last had voices or a ringing tail (a pad restarting
    /// from silence starts its filters from clean state).
    pub(super) last_seen: u64,
    /// Frames the pad's filters may still ring after its last voice ended.
    pub(super) tail_left: u32,
}

/// Cross-fade time when a playing pad switches EQ mode.
pub const MODE_FADE_MS: f32 = 20.0;

/// Longest a pad's filters ring out after its last voice (resonant low-pass at 40 Hz, Q 8,
/// decays below -100 dB in about 0.7 s).
pub(super) const TAIL_SECONDS: f32 = 1.0;
/// A ringing tail ends when a block's peak falls below this (-100 dBFS).
pub(super) const TAIL_FLOOR: f32 = 1e-5;

impl PadDsp {
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            eq: ThreeBandEq::new(rate as f64),
            iso: Isolator::new(rate as f64),
            iso_mix: Ramp::steady(1.0),
            filter: DjFilter::new(rate as f32),
            sends: [Ramp::steady(0.0); 2],
            last_seen: u64::MAX,
            tail_left: 0,
        }
    }

    /// Takes the pad's settings: at once when the pad is silent, gliding when it plays.
    pub(crate) fn configure(&mut self, fx: &PadFx, glide: bool, smooth: u32) {
        for b in 0..3 {
            if glide {
                self.eq.set(b, fx.eq[b]);
                self.iso.set(b, fx.eq[b]);
            } else {
                self.eq.jump(b, fx.eq[b]);
                self.iso.jump(b, fx.eq[b]);
            }
        }
        let mode = if fx.eq_mode == EqMode::Isolator {
            1.0
        } else {
            0.0
        };
        let fade = (MODE_FADE_MS / 1000.0 * self.eq.rate() as f32) as u32;
        self.iso_mix.go(mode, if glide { fade } else { 0 });
        if glide {
            self.filter.set(fx.filter)
        } else {
            self.filter.jump(fx.filter)
        }
        self.filter.set_resonance(fx.resonance);
        for (r, &v) in self.sends.iter_mut().zip(fx.sends.iter()) {
            r.go(v, if glide { smooth } else { 0 });
        }
    }

    /// Whether the EQ (whichever is in use) does nothing.
    pub(super) fn eq_is_flat(&self) -> bool {
        match (self.iso_mix.is_moving(), self.iso_mix.value == 1.0) {
            (true, _) => false,
            (false, true) => self.iso.is_bypassed(),
            (false, false) => self.eq.is_flat(),
        }
    }

    /// Clears both EQs' and the filter's memory.
    pub(super) fn reset(&mut self) {
        self.eq.reset();
        self.iso.reset();
        self.filter.reset();
    }

    /// Whether the pad's voices can go straight to the mix (bit-identical to no processing).
    pub(super) fn is_transparent(&self) -> bool {
        self.eq_is_flat()
            && self.filter.is_off()
            && self.sends.iter().all(|r| r.value == 0.0 && !r.is_moving())
    }
}
