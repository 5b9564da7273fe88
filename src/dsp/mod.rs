//! Signal-processing building blocks used by the engine (all real-time safe once built).

pub mod align;
pub mod biquad;
pub mod delay;
pub mod denormal;
pub mod djfilter;
pub mod eq;
pub mod finite;
pub mod interp;
pub mod isolator;
pub mod limiter;
pub mod phaser;
pub mod ramp;
pub mod reverb;
pub mod stretch;

/// Converts decibels to linear gain (`-inf` dB → 0). Real-time safe.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    if db == f32::NEG_INFINITY {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

/// Converts linear gain to decibels. Real-time safe.
#[inline]
pub fn gain_to_db(gain: f32) -> f32 {
    20.0 * gain.max(1e-12).log10()
}
