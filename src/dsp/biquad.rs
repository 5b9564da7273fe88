//! Biquad filters (RBJ cookbook), stereo, transposed direct form II. Real-time safe.

use std::f64::consts::PI;

/// Normalised biquad coefficients (`a0` = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coeffs {
    /// Feed-forward coefficients.
    pub b0: f32,
    /// Feed-forward coefficients.
    pub b1: f32,
    /// Feed-forward coefficients.
    pub b2: f32,
    /// Feedback coefficients (sign as in `y = b·x - a·y`).
    pub a1: f32,
    /// Feedback coefficients.
    pub a2: f32,
}

impl Coeffs {
    /// The identity filter.
    pub const IDENTITY: Coeffs = Coeffs {
        b0: 1.0,
        b1: 0.0,
        b2: 0.0,
        a1: 0.0,
        a2: 0.0,
    };

    fn norm(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Coeffs {
        Coeffs {
            b0: (b0 / a0) as f32,
            b1: (b1 / a0) as f32,
            b2: (b2 / a0) as f32,
            a1: (a1 / a0) as f32,
            a2: (a2 / a0) as f32,
        }
    }

    /// Low shelf at `f` Hz with `db` gain and shelf slope 1. Real-time safe (no allocation).
    pub fn low_shelf(f: f64, db: f64, rate: f64) -> Coeffs {
        Self::shelf(f, db, rate, 1.0)
    }

    /// High shelf at `f` Hz with `db` gain and shelf slope 1. Real-time safe.
    pub fn high_shelf(f: f64, db: f64, rate: f64) -> Coeffs {
        Self::shelf(f, db, rate, -1.0)
    }

    /// RBJ shelf: `side` = 1 for low, -1 for high (the high shelf is the low shelf with cos w
    /// negated and the z^-1 terms' signs flipped).
    fn shelf(f: f64, db: f64, rate: f64, side: f64) -> Coeffs {
        let a = 10f64.powf(db / 40.0);
        let w = 2.0 * PI * f / rate;
        let (c, s) = (side * w.cos(), w.sin());
        let alpha = s / 2.0 * 2f64.sqrt();
        let sa = 2.0 * a.sqrt() * alpha;
        Self::norm(
            a * ((a + 1.0) - (a - 1.0) * c + sa),
            side * 2.0 * a * ((a - 1.0) - (a + 1.0) * c),
            a * ((a + 1.0) - (a - 1.0) * c - sa),
            (a + 1.0) + (a - 1.0) * c + sa,
            side * -2.0 * ((a - 1.0) + (a + 1.0) * c),
            (a + 1.0) + (a - 1.0) * c - sa,
        )
    }

    /// Peaking EQ at `f` Hz, `db` gain, quality `q`. Real-time safe.
    pub fn peaking(f: f64, db: f64, q: f64, rate: f64) -> Coeffs {
        let a = 10f64.powf(db / 40.0);
        let w = 2.0 * PI * f / rate;
        let (c, s) = (w.cos(), w.sin());
        let alpha = s / (2.0 * q);
        Self::norm(
            1.0 + alpha * a,
            -2.0 * c,
            1.0 - alpha * a,
            1.0 + alpha / a,
            -2.0 * c,
            1.0 - alpha / a,
        )
    }

    /// Magnitude response at `f` Hz (linear). Real-time safe (no allocation), but costly: not
    /// for the hot path.
    pub fn magnitude(&self, f: f64, rate: f64) -> f64 {
        let w = 2.0 * PI * f / rate;
        let (c1, s1, c2, s2) = (w.cos(), w.sin(), (2.0 * w).cos(), (2.0 * w).sin());
        let (b0, b1, b2) = (self.b0 as f64, self.b1 as f64, self.b2 as f64);
        let (a1, a2) = (self.a1 as f64, self.a2 as f64);
        let nr = b0 + b1 * c1 + b2 * c2;
        let ni = -(b1 * s1 + b2 * s2);
        let dr = 1.0 + a1 * c1 + a2 * c2;
        let di = -(a1 * s1 + a2 * s2);
        ((nr * nr + ni * ni) / (dr * dr + di * di)).sqrt()
    }
}

/// Flushes a value below the subnormal range to zero with arithmetic only (works without FTZ):
/// adding and subtracting a tiny constant rounds any subnormal away. Real-time safe.
#[inline(always)]
pub fn undenormal(x: f32) -> f32 {
    const TINY: f32 = 1e-18;
    (x + TINY) - TINY
}
