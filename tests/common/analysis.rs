//! Audio analysis for the quality gates: FFT pitch, windowed pitch and level, the largest
//! sample step, where a burst's energy lies, and how far audio strays from a fitted sine.
#![allow(dead_code)]

use super::RATE;

/// Frequency of the strongest peak: Hann window, FFT zero-padded 2×, parabolic interpolation
/// on the log magnitude (accurate to a few thousandths of a hertz over seconds).
pub fn fft_freq(x: &[f32]) -> f64 {
    use rustfft::{FftPlanner, num_complex::Complex};
    let n = x.len().next_power_of_two() * 2;
    let last = (x.len().max(2) - 1) as f64;
    let mut b: Vec<Complex<f64>> = (0..n)
        .map(|i| match x.get(i) {
            Some(&v) => {
                let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / last).cos();
                Complex::new(v as f64 * w, 0.0)
            }
            None => Complex::new(0.0, 0.0),
        })
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut b);
    let mags: Vec<f64> = b[..n / 2]
        .iter()
        .map(|c| c.norm().max(1e-30).ln())
        .collect();
    let k = (1..n / 2 - 1)
        .max_by(|&a, &c| mags[a].total_cmp(&mags[c]))
        .unwrap();
    let (a, m, c) = (mags[k - 1], mags[k], mags[k + 1]);
    let p = 0.5 * (a - c) / (a - 2.0 * m + c);
    (k as f64 + p) * RATE as f64 / n as f64
}

/// Cents from `want` to `got`.
pub fn cents(got: f64, want: f64) -> f64 {
    1200.0 * (got / want).log2()
}

/// Zero-crossing frequency of every `ms`-long window.
pub fn window_freqs(x: &[f32], ms: f64) -> Vec<f64> {
    let n = (ms / 1000.0 * RATE as f64) as usize;
    x.chunks_exact(n).map(super::freq).collect()
}

/// Level of every `ms`-long window, in dB relative to `nominal_rms`.
pub fn window_db(x: &[f32], ms: f64, nominal_rms: f32) -> Vec<f32> {
    let n = (ms / 1000.0 * RATE as f64) as usize;
    x.chunks_exact(n)
        .map(|c| 20.0 * (super::rms(c) / nominal_rms).log10())
        .collect()
}

/// The largest step between neighbouring samples, as a multiple of the largest step a sine
/// of amplitude `amp` at `f` Hz has.
pub fn step_ratio(x: &[f32], f: f64, amp: f64) -> f64 {
    let ideal = 2.0 * amp * (std::f64::consts::PI * f / RATE as f64).sin();
    super::max_jump(x) as f64 / ideal
}

/// Where the energy of `x` between `from` and `to` seconds is centred, in seconds.
pub fn centroid(x: &[f32], from: f64, to: f64) -> f64 {
    let a = (from * RATE as f64) as usize;
    let b = ((to * RATE as f64) as usize).min(x.len());
    let (mut sum, mut weighted) = (0.0f64, 0.0f64);
    for (i, v) in x[a..b].iter().enumerate() {
        let e = (*v as f64) * (*v as f64);
        sum += e;
        weighted += e * (a + i) as f64;
    }
    weighted / sum.max(1e-30) / RATE as f64
}

/// When a burst between `from` and `to` seconds begins: the first moment its 1 ms RMS
/// envelope reaches half its peak, in seconds.
pub fn onset(x: &[f32], from: f64, to: f64) -> f64 {
    let a = (from.max(0.0) * RATE as f64) as usize;
    let b = ((to * RATE as f64) as usize).min(x.len());
    let w = (RATE as usize / 1000).max(1);
    let env: Vec<f32> = (a..b.saturating_sub(w))
        .map(|i| super::rms(&x[i..i + w]))
        .collect();
    let peak = env.iter().fold(0.0f32, |m, v| m.max(*v));
    let i = env.iter().position(|v| *v >= 0.5 * peak).unwrap_or(0);
    // The envelope window starting at i is centred half a window later.
    (a + i) as f64 / RATE as f64 + 0.5 * w as f64 / RATE as f64
}

/// How far (seconds; positive = later) the burst in `x` lies from the same burst in
/// `reference`, both between `from` and `to` seconds: the shift that best lines up their 1 ms
/// RMS envelopes (to a twentieth of a millisecond, over ±`max` seconds).
pub fn burst_shift(x: &[f32], reference: &[f32], from: f64, to: f64, max: f64) -> f64 {
    let w = (RATE as usize / 1000).max(1);
    let env = |s: &[f32], i: i64| -> f64 {
        if i < 0 || i as usize + w > s.len() {
            return 0.0;
        }
        super::rms(&s[i as usize..i as usize + w]) as f64
    };
    let a = (from.max(0.0) * RATE as f64) as i64;
    let b = (to * RATE as f64) as i64;
    let r: Vec<f64> = (a..b).map(|i| env(reference, i)).collect();
    let lag = (max * RATE as f64) as i64;
    let mut best = (0i64, f64::MIN);
    for d in -lag..=lag {
        let dot: f64 = (a..b).zip(&r).map(|(i, rv)| env(x, i + d) * rv).sum();
        if dot > best.1 {
            best = (d, dot);
        }
    }
    best.0 as f64 / RATE as f64
}

/// The largest deviation of `x[from..to]` from the sine of frequency `f` (Hz at 48 kHz)
/// fitted to it by least squares (amplitude, phase and offset): a wrap that is not seamless
/// leaves a residual the tone itself does not have.
pub fn residual(x: &[f32], f: f64, from: usize, to: usize) -> f64 {
    let w = std::f64::consts::TAU * f / RATE as f64;
    let basis = |i: usize| [(w * i as f64).sin(), (w * i as f64).cos(), 1.0];
    let (mut a, mut b) = ([[0.0f64; 3]; 3], [0.0f64; 3]);
    for (i, &xi) in x.iter().enumerate().take(to).skip(from) {
        let v = basis(i);
        for r in 0..3 {
            b[r] += v[r] * xi as f64;
            for c in 0..3 {
                a[r][c] += v[r] * v[c];
            }
        }
    }
    // Solve the 3x3 normal equations (Cramer's rule).
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    let coef: Vec<f64> = (0..3)
        .map(|k| {
            let mut m = a;
            for r in 0..3 {
                m[r][k] = b[r];
            }
            det(m) / d
        })
        .collect();
    (from..to)
        .map(|i| {
            let v = basis(i);
            (x[i] as f64 - (coef[0] * v[0] + coef[1] * v[1] + coef[2])).abs()
        })
        .fold(0.0, f64::max)
}

/// The residual around every wrap, in dB below the tone's amplitude 0.5 (the worst one), and
/// the same halfway between the first two wraps.
pub fn seams(x: &[f32], f: f64, wraps: &[u64]) -> (f64, f64) {
    let db = |r: f64| 20.0 * (r / 0.5).log10();
    let at = |c: usize| db(residual(x, f, c - 1500, c + 1500));
    let worst = wraps
        .iter()
        .map(|&w| at(w as usize))
        .fold(f64::MIN, f64::max);
    (worst, at(((wraps[0] + wraps[1]) / 2) as usize))
}
