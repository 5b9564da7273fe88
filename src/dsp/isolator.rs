//! The DJ-mixer isolator EQ: the signal split into low / mid / high bands by 8th-order
//! Linkwitz-Riley crossovers (48 dB/octave), each band scaled by its knob, summed.
//!
//! The split is a tree with phase compensation. With `LP` an LR8 low-pass and `AP` the 4th-order
//! all-pass with the same poles (`LP + HP = AP` for Linkwitz-Riley filters):
//!
//! ```text
//! L = LP1(x)            R = AP1(x) - L            (the high-pass part, exactly)
//! M = LP2(R)            H = AP2(R) - M
//! out = gL·AP2(L) + gM·M + gH·H  =  AP2(gL·L + gH·R) + (gM - gH)·M
//! ```
//!
//! At unity `out = AP2(AP1(x))`, an all-pass: the bands sum to a flat magnitude. The second form
//! costs 12 biquads per channel whatever the knobs. A kill is an exact zero gain: a tone two
//! octaves inside the killed band falls by 96 dB (8th order), tones two octaves outside it are
//! untouched. The crossover coefficients never change while knobs move (only gains do), so knob
//! glides are plain gain ramps. At unity the EQ is bypassed (bit-identical to no EQ); engaging
//! and leaving bypass cross-fade over [`ENGAGE_MS`] so the all-pass's phase shift never clicks.
//!
//! Four pads run side by side in 8 SIMD lanes (as the shelf EQ's groups do). Real-time safe
//! throughout once built.

use super::biquad::Coeffs;
use super::eq::{GLIDE_MS, KILL_DB, UPDATE_FRAMES, knob_to_db};

/// Default crossover frequencies in Hz.
pub const DEFAULT_CROSSOVERS: [f32; 2] = [200.0, 4000.0];
/// Allowed range of the low crossover.
pub const LOW_RANGE: (f32, f32) = (40.0, 1000.0);
/// Allowed range of the high crossover.
pub const HIGH_RANGE: (f32, f32) = (500.0, 16_000.0);
/// Least ratio between the crossovers (an octave).
pub const MIN_RATIO: f32 = 2.0;
/// Cross-fade between bypass and the isolator.
pub const ENGAGE_MS: f64 = 10.0;

/// Butterworth 4th-order pole pair qualities (an LR8 is two BW4s in series).
const BW4_Q: [f64; 2] = [0.541_196_100_146_197, 1.306_562_964_876_376_8];

/// Number of biquads per channel.
const STAGES: usize = 12;

/// The isolator's gain for a knob value: 0 = kill (exactly 0), 0.5 = unity, 1 = +6 dB, with the
/// shelf EQ's dB curve in between. Real-time safe.
pub fn knob_gain(k: f32) -> f32 {
    let db = knob_to_db(k);
    if db <= KILL_DB {
        0.0
    } else {
        10f64.powf(db / 20.0) as f32
    }
}

fn allpass(f: f64, q: f64, rate: f64) -> Coeffs {
    let w = 2.0 * std::f64::consts::PI * f / rate;
    let (c, s) = (w.cos(), w.sin());
    let alpha = s / (2.0 * q);
    let a0 = 1.0 + alpha;
    Coeffs {
        b0: ((1.0 - alpha) / a0) as f32,
        b1: (-2.0 * c / a0) as f32,
        b2: 1.0,
        a1: (-2.0 * c / a0) as f32,
        a2: ((1.0 - alpha) / a0) as f32,
    }
}

fn lowpass(f: f64, q: f64, rate: f64) -> Coeffs {
    let w = 2.0 * std::f64::consts::PI * f / rate;
    let (c, s) = (w.cos(), w.sin());
    let alpha = s / (2.0 * q);
    let a0 = 1.0 + alpha;
    Coeffs {
        b0: ((1.0 - c) / 2.0 / a0) as f32,
        b1: ((1.0 - c) / a0) as f32,
        b2: ((1.0 - c) / 2.0 / a0) as f32,
        a1: (-2.0 * c / a0) as f32,
        a2: ((1.0 - alpha) / a0) as f32,
    }
}

/// The crossover filters for two frequencies at a sample rate (shared by every pad).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsolatorDesign {
    /// Stages: LP1 ×4, AP1 ×2, LP2 ×4, AP2 ×2.
    c: [Coeffs; STAGES],
    /// The crossover frequencies.
    pub crossovers: [f32; 2],
}

impl IsolatorDesign {
    /// Designs the crossovers at `f1` and `f2` Hz (clamped into range, at least an octave
    /// apart, below 0.45 × rate). Real-time safe (no allocation).
    pub fn new(f1: f32, f2: f32, rate: f64) -> Self {
        let nyq = (0.45 * rate) as f32;
        let f1 = f1.clamp(LOW_RANGE.0, LOW_RANGE.1.min(nyq / MIN_RATIO));
        let f2 = f2.clamp((f1 * MIN_RATIO).max(HIGH_RANGE.0), HIGH_RANGE.1.min(nyq));
        let (a, b) = (f1 as f64, f2 as f64);
        let lp = |f| [0, 1, 0, 1].map(|i| lowpass(f, BW4_Q[i], rate));
        let ap = |f| [0, 1].map(|i| allpass(f, BW4_Q[i], rate));
        let mut c = [Coeffs::IDENTITY; STAGES];
        c[0..4].copy_from_slice(&lp(a));
        c[4..6].copy_from_slice(&ap(a));
        c[6..10].copy_from_slice(&lp(b));
        c[10..12].copy_from_slice(&ap(b));
        Self {
            c,
            crossovers: [f1, f2],
        }
    }

    /// Linear magnitude of the whole isolator at `f` Hz for band gains `g` (for tests and
    /// docs; real-time safe but costly).
    pub fn magnitude(&self, g: [f32; 3], f: f64, rate: f64) -> f64 {
        let h = |k: &Coeffs| {
            let w = 2.0 * std::f64::consts::PI * f / rate;
            let z1 = (w.cos(), -w.sin());
            let z2 = ((2.0 * w).cos(), -(2.0 * w).sin());
            let num = (
                k.b0 as f64 + k.b1 as f64 * z1.0 + k.b2 as f64 * z2.0,
                k.b1 as f64 * z1.1 + k.b2 as f64 * z2.1,
            );
            let den = (
                1.0 + k.a1 as f64 * z1.0 + k.a2 as f64 * z2.0,
                k.a1 as f64 * z1.1 + k.a2 as f64 * z2.1,
            );
            let d = den.0 * den.0 + den.1 * den.1;
            (
                (num.0 * den.0 + num.1 * den.1) / d,
                (num.1 * den.0 - num.0 * den.1) / d,
            )
        };
        let mul = |a: (f64, f64), b: (f64, f64)| (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0);
        let chain = |r: std::ops::Range<usize>| r.map(|i| h(&self.c[i])).fold((1.0, 0.0), mul);
        let (lp1, ap1, lp2, ap2) = (chain(0..4), chain(4..6), chain(6..10), chain(10..12));
        let r = (ap1.0 - lp1.0, ap1.1 - lp1.1);
        let (gl, gm, gh) = (g[0] as f64, g[1] as f64, g[2] as f64);
        let inner = (gl * lp1.0 + gh * r.0, gl * lp1.1 + gh * r.1);
        let m = mul(lp2, r);
        let y = mul(ap2, inner);
        let y = (y.0 + (gm - gh) * m.0, y.1 + (gm - gh) * m.1);
        (y.0 * y.0 + y.1 * y.1).sqrt()
    }
}

/// One pad's isolator: knob glides, engage cross-fade and filter state.
#[derive(Debug, Clone, Copy)]
pub struct Isolator {
    target: [f32; 3],
    value: [f32; 3],
    step: [f32; 3],
    /// `knob_gain(value)`, kept so steady knobs cost nothing per block.
    gain: [f32; 3],
    /// Dry/wet of the engage cross-fade (0 = bypassed).
    wet: f32,
    wet_step: f32,
    /// Per stage: `[z1 l, z1 r, z2 l, z2 r]`.
    state: [[f32; 4]; STAGES],
    rate: f64,
    /// Stays engaged at unity (to measure the crossover sum; never set by the engine).
    hold: bool,
}

/// Per-sub-block parameters of one pad in a lane group.
#[derive(Debug, Clone, Copy)]
struct Ramp3 {
    g0: [f32; 3],
    dg: [f32; 3],
    w0: f32,
    dw: f32,
}

impl Isolator {
    /// A bypassed isolator at `rate` Hz. Real-time safe.
    pub fn new(rate: f64) -> Self {
        Self {
            target: [0.5; 3],
            value: [0.5; 3],
            step: [0.0; 3],
            gain: [1.0; 3],
            wet: 0.0,
            wet_step: 0.0,
            state: [[0.0; 4]; STAGES],
            rate,
            hold: false,
        }
    }

    /// An isolator engaged at unity for good: its output is the crossover network's sum,
    /// which must be flat (used to measure it; the engine bypasses at unity). Real-time safe.
    pub fn engaged_at_unity(rate: f64) -> Self {
        Self {
            wet: 1.0,
            hold: true,
            ..Self::new(rate)
        }
    }

    fn glide_frames(&self) -> f32 {
        (GLIDE_MS / 1000.0 * self.rate).max(1.0) as f32
    }

    /// Sets a band's knob target (gliding there). Real-time safe.
    pub fn set(&mut self, band: usize, knob: f32) {
        if band < 3 {
            self.target[band] = knob.clamp(0.0, 1.0);
            self.step[band] = (self.target[band] - self.value[band]) / self.glide_frames();
        }
    }

    /// Sets a band's knob at once (a pad that is not playing). Real-time safe.
    pub fn jump(&mut self, band: usize, knob: f32) {
        if band < 3 {
            self.target[band] = knob.clamp(0.0, 1.0);
            self.value[band] = self.target[band];
            self.step[band] = 0.0;
            self.gain[band] = knob_gain(self.value[band]);
            self.wet = if self.target == [0.5; 3] { 0.0 } else { 1.0 };
            self.wet_step = 0.0;
        }
    }

    /// Whether the isolator does nothing (all knobs at unity, not gliding, fully bypassed).
    /// Real-time safe.
    pub fn is_bypassed(&self) -> bool {
        self.wet == 0.0 && self.wet_step == 0.0 && self.target == [0.5; 3] && self.value == [0.5; 3]
    }

    /// Clears the filter memory (a pad starting from silence). Real-time safe.
    pub fn reset(&mut self) {
        self.state = [[0.0; 4]; STAGES];
    }

    /// Clears the state if it went non-finite; returns whether it did. Real-time safe.
    pub fn recover(&mut self) -> bool {
        let ok = self.state.iter().flatten().all(|v| v.is_finite());
        if !ok {
            self.reset();
        }
        !ok
    }

    /// Whether nothing moves (knobs and engage fade steady): gains are constant over any
    /// number of frames. Real-time safe.
    pub fn is_steady(&self) -> bool {
        self.step == [0.0; 3] && self.wet == self.engaged_target()
    }

    fn engaged_target(&self) -> f32 {
        if !self.hold && self.target == [0.5; 3] && self.value == [0.5; 3] {
            0.0
        } else {
            1.0
        }
    }

    /// Advances the glides and the engage fade by `n` frames; returns the ramps over them.
    fn advance(&mut self, n: usize) -> Ramp3 {
        let g0 = self.gain;
        for b in 0..3 {
            if self.step[b] != 0.0 {
                let next = self.value[b] + self.step[b] * n as f32;
                let done = (self.step[b] > 0.0 && next >= self.target[b])
                    || (self.step[b] < 0.0 && next <= self.target[b]);
                self.value[b] = if done { self.target[b] } else { next };
                if done {
                    self.step[b] = 0.0;
                }
                self.gain[b] = knob_gain(self.value[b]);
            }
        }
        let g1 = self.gain;
        // Engage when any knob leaves unity; leave bypass only once every knob is back.
        let want = self.engaged_target();
        let w0 = self.wet;
        if self.wet != want {
            let per = 1.0 / (ENGAGE_MS / 1000.0 * self.rate) as f32;
            let next = if want > self.wet {
                (self.wet + per * n as f32).min(1.0)
            } else {
                (self.wet - per * n as f32).max(0.0)
            };
            self.wet = next;
        }
        let inv = 1.0 / n.max(1) as f32;
        Ramp3 {
            g0,
            dg: std::array::from_fn(|b| (g1[b] - g0[b]) * inv),
            w0,
            dw: (self.wet - w0) * inv,
        }
    }

    /// Filters interleaved stereo in place, alone (see [`process_group`] for four at once).
    /// Real-time safe.
    pub fn process(&mut self, design: &IsolatorDesign, buf: &mut [f32], lanes: &mut [Lanes]) {
        process_group(&mut [self], design, &mut [buf], lanes);
    }
}

/// Lanes of one frame of a group: pad i's left and right in lanes 2i and 2i+1.
pub type Lanes = [f32; 8];

/// Runs up to four isolators side by side in 8 lanes, in sub-blocks of [`UPDATE_FRAMES`]
/// during which gains and the engage fade ramp linearly. Bypassed pads in the group pass
/// through unchanged. Each buffer is interleaved stereo of the same length; `lanes` is scratch
/// of at least that many frames. Real-time safe.
// Lane arithmetic ties several arrays together; indices read clearest here.
#[allow(clippy::needless_range_loop)]
pub fn process_group(
    isos: &mut [&mut Isolator],
    design: &IsolatorDesign,
    bufs: &mut [&mut [f32]],
    lanes: &mut [Lanes],
) {
    let p = isos.len().min(bufs.len()).min(4);
    let frames = bufs
        .iter()
        .take(p)
        .map(|b| b.len() / 2)
        .min()
        .unwrap_or(0)
        .min(lanes.len());
    let lanes = &mut lanes[..frames];
    for (i, buf) in bufs.iter().enumerate().take(p) {
        for (x, fr) in lanes.iter_mut().zip(buf.chunks_exact(2)) {
            x[2 * i] = fr[0];
            x[2 * i + 1] = fr[1];
        }
    }
    // Unused lanes carry silence through identity gains.
    let mut z = [[[0.0f32; 8]; 2]; STAGES];
    for i in 0..p {
        for s in 0..STAGES {
            for ch in 0..2 {
                z[s][0][2 * i + ch] = isos[i].state[s][ch];
                z[s][1][2 * i + ch] = isos[i].state[s][2 + ch];
            }
        }
    }
    // Steady pads keep their gains for the whole block: one pass, no sub-blocks.
    let sub = if isos.iter().take(p).all(|i| i.is_steady()) {
        frames.max(1)
    } else {
        UPDATE_FRAMES
    };
    let mut start = 0;
    while start < frames {
        let n = (frames - start).min(sub);
        let mut r = [Ramp3 {
            g0: [1.0; 3],
            dg: [0.0; 3],
            w0: 0.0,
            dw: 0.0,
        }; 4];
        for i in 0..p {
            r[i] = isos[i].advance(n);
        }
        let mut params = LaneRamps {
            gl: [0.0; 8],
            dgl: [0.0; 8],
            gh: [0.0; 8],
            dgh: [0.0; 8],
            gmh: [0.0; 8],
            dgmh: [0.0; 8],
            w: [0.0; 8],
            dw: [0.0; 8],
        };
        for l in 0..2 * p {
            let r = &r[l / 2];
            params.gl[l] = r.g0[0];
            params.dgl[l] = r.dg[0];
            params.gh[l] = r.g0[2];
            params.dgh[l] = r.dg[2];
            params.gmh[l] = r.g0[1] - r.g0[2];
            params.dgmh[l] = r.dg[1] - r.dg[2];
            params.w[l] = r.w0;
            params.dw[l] = r.dw;
        }
        run_lanes(&design.c, &mut z, &params, &mut lanes[start..start + n]);
        start += n;
    }
    for i in 0..p {
        for s in 0..STAGES {
            for ch in 0..2 {
                let a = z[s][0][2 * i + ch];
                let b = z[s][1][2 * i + ch];
                // Decayed state is zeroed so no subnormals build up without FTZ.
                isos[i].state[s][ch] = if a.abs() < 1e-20 { 0.0 } else { a };
                isos[i].state[s][2 + ch] = if b.abs() < 1e-20 { 0.0 } else { b };
            }
        }
    }
    for (i, buf) in bufs.iter_mut().enumerate().take(p) {
        for (x, fr) in lanes.iter().zip(buf.chunks_exact_mut(2)) {
            fr[0] = x[2 * i];
            fr[1] = x[2 * i + 1];
        }
    }
}

/// Per-lane gains (low, high, mid − high) and wet amount, with per-frame steps.
struct LaneRamps {
    gl: Lanes,
    dgl: Lanes,
    gh: Lanes,
    dgh: Lanes,
    gmh: Lanes,
    dgmh: Lanes,
    w: Lanes,
    dw: Lanes,
}

/// Dispatches the lane kernel: an AVX build on x86-64 CPUs that have it, else the baseline.
fn run_lanes(
    c: &[Coeffs; STAGES],
    z: &mut [[Lanes; 2]; STAGES],
    r: &LaneRamps,
    lanes: &mut [Lanes],
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX (checked just above).
        unsafe { run_lanes_avx(c, z, r, lanes) };
        return;
    }
    kernel(c, z, r, lanes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn run_lanes_avx(
    c: &[Coeffs; STAGES],
    z: &mut [[Lanes; 2]; STAGES],
    r: &LaneRamps,
    lanes: &mut [Lanes],
) {
    kernel(c, z, r, lanes);
}

/// One biquad stage (transposed direct form II) over 8 lanes.
#[inline(always)]
fn stage(k: &Coeffs, z: &mut [Lanes; 2], v: &Lanes) -> Lanes {
    let mut y = [0.0f32; 8];
    for l in 0..8 {
        y[l] = k.b0 * v[l] + z[0][l];
        z[0][l] = k.b1 * v[l] - k.a1 * y[l] + z[1][l];
        z[1][l] = k.b2 * v[l] - k.a2 * y[l];
    }
    y
}

#[inline(always)]
fn kernel(c: &[Coeffs; STAGES], z: &mut [[Lanes; 2]; STAGES], r: &LaneRamps, lanes: &mut [Lanes]) {
    let mut zz = *z;
    for (k, x) in lanes.iter_mut().enumerate() {
        let kf = k as f32;
        let v = *x;
        // L = LP1(x): four stages.
        let mut lo = stage(&c[0], &mut zz[0], &v);
        lo = stage(&c[1], &mut zz[1], &lo);
        lo = stage(&c[2], &mut zz[2], &lo);
        lo = stage(&c[3], &mut zz[3], &lo);
        // R = AP1(x) - L.
        let mut a1 = stage(&c[4], &mut zz[4], &v);
        a1 = stage(&c[5], &mut zz[5], &a1);
        let mut rest = [0.0f32; 8];
        for l in 0..8 {
            rest[l] = a1[l] - lo[l];
        }
        // M = LP2(R).
        let mut m = stage(&c[6], &mut zz[6], &rest);
        m = stage(&c[7], &mut zz[7], &m);
        m = stage(&c[8], &mut zz[8], &m);
        m = stage(&c[9], &mut zz[9], &m);
        // out = AP2(gL·L + gH·R) + (gM - gH)·M.
        let mut inner = [0.0f32; 8];
        for l in 0..8 {
            let gl = r.gl[l] + r.dgl[l] * kf;
            let gh = r.gh[l] + r.dgh[l] * kf;
            inner[l] = gl * lo[l] + gh * rest[l];
        }
        let mut y = stage(&c[10], &mut zz[10], &inner);
        y = stage(&c[11], &mut zz[11], &y);
        let mut out = [0.0f32; 8];
        for l in 0..8 {
            let gmh = r.gmh[l] + r.dgmh[l] * kf;
            let w = r.w[l] + r.dw[l] * kf;
            let iso = y[l] + gmh * m[l];
            out[l] = v[l] + w * (iso - v[l]);
        }
        *x = out;
    }
    *z = zz;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unity_is_flat_and_kills_are_deep() {
        let r = 48_000.0;
        let d = IsolatorDesign::new(200.0, 4000.0, r);
        let db = |g: [f32; 3], f: f64| 20.0 * d.magnitude(g, f, r).log10();
        for i in 0..=60 {
            let f = 20.0 * 1000f64.powf(i as f64 / 60.0);
            assert!(db([1.0; 3], f).abs() < 0.01, "{f} Hz: {}", db([1.0; 3], f));
        }
        // Two octaves inside the killed band (coefficient rounding limits the depth to ~-88 dB).
        assert!(db([0.0, 1.0, 1.0], 50.0) < -80.0);
        assert!(db([1.0, 0.0, 1.0], 894.0) < -80.0);
        assert!(db([1.0, 1.0, 0.0], 16_000.0) < -80.0);
        assert!(db([0.0, 1.0, 1.0], 800.0).abs() < 0.01);
    }

    #[test]
    fn gains_follow_the_shelf_curve() {
        assert_eq!(knob_gain(0.5), 1.0);
        assert_eq!(knob_gain(0.0), 0.0);
        assert!((knob_gain(1.0) - 10f32.powf(6.0 / 20.0)).abs() < 1e-6);
        assert!((knob_gain(0.25) - 0.25).abs() < 1e-4, "-12 dB");
    }
}
