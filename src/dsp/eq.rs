//! The per-pad DJ-style 3-band EQ: low shelf 200 Hz, peak 1 kHz, high shelf 4 kHz.
//!
//! Each band is driven by a knob value 0..1: 0.5 is flat (the band is bypassed), 1 is +6 dB,
//! 0 is a full kill. Below the centre the gain is `40·log10(2k)` dB (−12 dB at 0.25, −24 dB at
//! 0.125) down to a kill floor of [`KILL_DB`] (−96 dB, below 16-bit noise: silence to the ear).
//! Shelves are two cascaded biquads with half the gain each (a steeper, isolator-like slope).
//! Knob changes glide over [`GLIDE_MS`]; coefficients are recomputed every [`UPDATE_FRAMES`]
//! frames only while a knob moves.

use super::biquad::Coeffs;

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

/// The biquad stages of one band at gain `db`. Real-time safe.
pub fn band_coeffs(band: usize, db: f64, rate: f64) -> [Coeffs; 2] {
    match band {
        0 => [Coeffs::low_shelf(FREQS[0], db / 2.0, rate); 2],
        1 => [Coeffs::peaking(FREQS[1], db, MID_Q, rate), Coeffs::IDENTITY],
        _ => [Coeffs::high_shelf(FREQS[2], db / 2.0, rate); 2],
    }
}

/// The EQ's design magnitude (linear) at `f` Hz for three knob values. For tests and docs;
/// real-time safe but costly.
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
    /// Per band and stage: `[z1 left, z1 right, z2 left, z2 right]` (transposed direct form II).
    state: [[[f32; 4]; 2]; 3],
    /// Whether each band filtered the previous block (a band re-engaging starts from clean state).
    active: [bool; 3],
    rate: f64,
}

impl ThreeBandEq {
    /// A flat EQ at `rate` Hz. Real-time safe (no allocation).
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

    /// The sample rate it was built for. Real-time safe.
    pub fn rate(&self) -> f64 {
        self.rate
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

    /// Whether no knob is gliding (the coefficients are constant; the EQ may run in a group).
    /// Real-time safe.
    pub fn is_steady(&self) -> bool {
        self.step == [0.0; 3]
    }

    /// Collects the stages that do something (resetting bands that re-engage).
    fn gather(&mut self) -> Stages {
        let mut g = Stages {
            c: [Coeffs::IDENTITY; 6],
            st: [[0.0; 4]; 6],
            at: [(0, 0); 6],
            n: 0,
        };
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
                    g.c[g.n] = self.coeffs[b][s];
                    g.st[g.n] = self.state[b][s];
                    g.at[g.n] = (b, s);
                    g.n += 1;
                }
            }
        }
        g
    }

    /// Stores stage state back; decayed state is zeroed so no subnormals build up without FTZ.
    fn scatter(&mut self, g: &Stages) {
        for k in 0..g.n {
            let (b, s) = g.at[k];
            self.state[b][s] = g.st[k].map(|v| if v.abs() < 1e-20 { 0.0 } else { v });
        }
    }

    fn run(&mut self, buf: &mut [f32]) {
        // All active stages run per sample in one pass (state in registers; consecutive stages
        // overlap in the CPU's pipeline).
        let mut g = self.gather();
        match g.n {
            0 => {}
            1 => cascade::<1>(&g.c, &mut g.st, buf),
            2 => cascade::<2>(&g.c, &mut g.st, buf),
            3 => cascade::<3>(&g.c, &mut g.st, buf),
            4 => cascade::<4>(&g.c, &mut g.st, buf),
            5 => cascade::<5>(&g.c, &mut g.st, buf),
            _ => cascade::<6>(&g.c, &mut g.st, buf),
        }
        self.scatter(&g);
    }
}

/// The active stages of one EQ: coefficients, state, and where each came from.
struct Stages {
    c: [Coeffs; 6],
    st: [[f32; 4]; 6],
    at: [(usize, usize); 6],
    n: usize,
}

/// Lanes of one frame of a group: pad i's left and right in lanes 2i and 2i+1.
pub type Lanes = [f32; 8];

/// Coefficients of one stage across the 8 lanes.
#[derive(Clone, Copy)]
struct LaneCoeffs {
    b0: Lanes,
    b1: Lanes,
    b2: Lanes,
    a1: Lanes,
    a2: Lanes,
}

/// Runs up to four steady EQs side by side: their stereo signals share 8 SIMD-friendly lanes,
/// so one pass of instructions filters four pads. EQs that are gliding must use
/// [`ThreeBandEq::process`] instead. Each buffer is interleaved stereo of the same length;
/// `lanes` is scratch space of at least that many frames. Real-time safe.
// Lane index arithmetic (2i + ch) ties several arrays together; indices read clearest here.
#[allow(clippy::needless_range_loop)]
pub fn process_group(eqs: &mut [&mut ThreeBandEq], bufs: &mut [&mut [f32]], lanes: &mut [Lanes]) {
    let p = eqs.len().min(bufs.len()).min(4);
    let mut stages: [Stages; 4] = std::array::from_fn(|_| Stages {
        c: [Coeffs::IDENTITY; 6],
        st: [[0.0; 4]; 6],
        at: [(0, 0); 6],
        n: 0,
    });
    let mut n = 0;
    for i in 0..p {
        stages[i] = eqs[i].gather();
        n = n.max(stages[i].n);
    }
    let identity = LaneCoeffs {
        b0: [1.0; 8],
        b1: [0.0; 8],
        b2: [0.0; 8],
        a1: [0.0; 8],
        a2: [0.0; 8],
    };
    let mut c = [identity; 6];
    let mut z = [[[0.0f32; 8]; 2]; 6];
    for i in 0..p {
        for s in 0..stages[i].n {
            let (k, st) = (stages[i].c[s], stages[i].st[s]);
            for ch in 0..2 {
                let l = 2 * i + ch;
                c[s].b0[l] = k.b0;
                c[s].b1[l] = k.b1;
                c[s].b2[l] = k.b2;
                c[s].a1[l] = k.a1;
                c[s].a2[l] = k.a2;
                z[s][0][l] = st[ch];
                z[s][1][l] = st[2 + ch];
            }
        }
    }
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
    run_lanes(n, &c, &mut z, lanes);
    for (i, buf) in bufs.iter_mut().enumerate().take(p) {
        for (x, fr) in lanes.iter().zip(buf.chunks_exact_mut(2)) {
            fr[0] = x[2 * i];
            fr[1] = x[2 * i + 1];
        }
    }
    for i in 0..p {
        for s in 0..stages[i].n {
            for ch in 0..2 {
                stages[i].st[s][ch] = z[s][0][2 * i + ch];
                stages[i].st[s][2 + ch] = z[s][1][2 * i + ch];
            }
        }
        eqs[i].scatter(&stages[i]);
    }
}

/// Dispatches the lane cascade: with AVX on x86-64 CPUs that have it (one 8-lane register per
/// operation), otherwise the baseline build. Real-time safe (the CPU check is a cached flag).
fn run_lanes(n: usize, c: &[LaneCoeffs; 6], z: &mut [[Lanes; 2]; 6], lanes: &mut [Lanes]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX (checked just above).
        unsafe { run_lanes_avx(n, c, z, lanes) };
        return;
    }
    run_lanes_generic(n, c, z, lanes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn run_lanes_avx(
    n: usize,
    c: &[LaneCoeffs; 6],
    z: &mut [[Lanes; 2]; 6],
    lanes: &mut [Lanes],
) {
    run_lanes_generic(n, c, z, lanes);
}

#[inline(always)]
fn run_lanes_generic(n: usize, c: &[LaneCoeffs; 6], z: &mut [[Lanes; 2]; 6], lanes: &mut [Lanes]) {
    match n {
        0 => {}
        1 => lane_cascade::<1>(c, z, lanes),
        2 => lane_cascade::<2>(c, z, lanes),
        3 => lane_cascade::<3>(c, z, lanes),
        4 => lane_cascade::<4>(c, z, lanes),
        5 => lane_cascade::<5>(c, z, lanes),
        _ => lane_cascade::<6>(c, z, lanes),
    }
}

/// `N` biquad stages over 8-lane frames, transposed direct form II. Real-time safe.
#[inline(always)]
fn lane_cascade<const N: usize>(c: &[LaneCoeffs; 6], z: &mut [[Lanes; 2]; 6], lanes: &mut [Lanes]) {
    let c: [LaneCoeffs; N] = std::array::from_fn(|i| c[i]);
    let mut zz: [[Lanes; 2]; N] = std::array::from_fn(|i| z[i]);
    for x in lanes.iter_mut() {
        let mut v = *x;
        for s in 0..N {
            let k = &c[s];
            let mut y = [0.0f32; 8];
            for l in 0..8 {
                y[l] = k.b0[l] * v[l] + zz[s][0][l];
                zz[s][0][l] = k.b1[l] * v[l] - k.a1[l] * y[l] + zz[s][1][l];
                zz[s][1][l] = k.b2[l] * v[l] - k.a2[l] * y[l];
            }
            v = y;
        }
        *x = v;
    }
    z[..N].copy_from_slice(&zz);
}

/// Runs the first `N` biquad stages over interleaved stereo `buf`, sample by sample. Real-time
/// safe.
#[inline(always)]
fn cascade<const N: usize>(c: &[Coeffs; 6], st: &mut [[f32; 4]; 6], buf: &mut [f32]) {
    let mut z = [[0.0f32; 4]; N];
    z.copy_from_slice(&st[..N]);
    let c: [Coeffs; N] = std::array::from_fn(|i| c[i]);
    for fr in buf.chunks_exact_mut(2) {
        let (mut l, mut r) = (fr[0], fr[1]);
        for s in 0..N {
            let (k, zs) = (&c[s], &mut z[s]);
            let yl = k.b0 * l + zs[0];
            let yr = k.b0 * r + zs[1];
            zs[0] = k.b1 * l - k.a1 * yl + zs[2];
            zs[1] = k.b1 * r - k.a1 * yr + zs[3];
            zs[2] = k.b2 * l - k.a2 * yl;
            zs[3] = k.b2 * r - k.a2 * yr;
            l = yl;
            r = yr;
        }
        fr[0] = l;
        fr[1] = r;
    }
    st[..N].copy_from_slice(&z);
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
    #[allow(clippy::needless_range_loop)]
    fn grouped_processing_matches_single_processing() {
        let settings = [
            [0.9f32, 0.2, 0.7],
            [0.5, 0.5, 0.0],
            [0.3, 0.5, 0.5],
            [1.0, 1.0, 1.0],
        ];
        let signal: Vec<f32> = (0..2000)
            .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        let mut single: Vec<ThreeBandEq> = Vec::new();
        let mut grouped: Vec<ThreeBandEq> = Vec::new();
        for k in settings {
            let mut e = ThreeBandEq::new(48_000.0);
            for b in 0..3 {
                e.jump(b, k[b]);
            }
            single.push(e);
            grouped.push(e);
        }
        let mut a: Vec<Vec<f32>> = (0..4).map(|_| signal.clone()).collect();
        let mut b = a.clone();
        for (e, buf) in single.iter_mut().zip(a.iter_mut()) {
            e.process(buf);
        }
        let (g0, rest) = grouped.split_at_mut(1);
        let (g1, rest) = rest.split_at_mut(1);
        let (g2, g3) = rest.split_at_mut(1);
        let mut eqs = [&mut g0[0], &mut g1[0], &mut g2[0], &mut g3[0]];
        let (b0, rest) = b.split_at_mut(1);
        let (b1, rest) = rest.split_at_mut(1);
        let (b2, b3) = rest.split_at_mut(1);
        let mut bufs = [
            &mut b0[0][..],
            &mut b1[0][..],
            &mut b2[0][..],
            &mut b3[0][..],
        ];
        let mut lanes = vec![[0.0f32; 8]; 1000];
        process_group(&mut eqs, &mut bufs, &mut lanes);
        for i in 0..4 {
            for (x, y) in a[i].iter().zip(b[i].iter()) {
                assert!((x - y).abs() < 1e-6, "pad {i}");
            }
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
