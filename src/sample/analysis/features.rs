//! Short-time features of mono audio: onset strength (all bands and a low band) and chroma.
//! Not real-time.

use realfft::RealFftPlanner;

/// Window and hop of the onset spectra (at ~11 kHz: 46 ms and 5.8 ms).
const ONSET_WINDOW: usize = 512;
const ONSET_HOP: usize = 64;
/// Window and hop of the chroma spectra (at ~11 kHz: 370 ms and 93 ms).
const CHROMA_WINDOW: usize = 4096;
const CHROMA_HOP: usize = 1024;
/// Upper edge of the low (kick) band, Hz.
const LOW_BAND_HZ: f64 = 180.0;
/// Range of pitches the chroma counts, Hz.
const CHROMA_MIN_HZ: f64 = 60.0;
const CHROMA_MAX_HZ: f64 = 2100.0;

/// What the tempo, downbeat and key steps read.
pub struct Features {
    /// Onset-strength frames per second.
    pub fps: f64,
    /// How much earlier than the sound a flux peak comes (a quarter window: the onset is then
    /// where the Hann window rises fastest), seconds; added back to onset times.
    pub onset_delay: f64,
    /// Onset strength, all bands (local mean removed, half-wave rectified).
    pub onset: Vec<f32>,
    /// Onset strength of the low band (kicks), rectified spectral flux.
    pub low: Vec<f32>,
    /// Chroma frames per second.
    pub chroma_fps: f64,
    /// Chroma frames (pitch class 0 = C), each normalised to sum 1 (zero where silent).
    pub chroma: Vec<[f32; 12]>,
    /// Energy-weighted sum of all chroma frames.
    pub chroma_total: [f64; 12],
}

impl Features {
    /// The features of `mono` at `rate` Hz.
    pub fn of(mono: &[f32], rate: f64) -> Self {
        let (onset, low) = onset_envelopes(mono, rate);
        let (chroma, chroma_total) = chroma(mono, rate);
        Self {
            fps: rate / ONSET_HOP as f64,
            onset_delay: ONSET_WINDOW as f64 / 4.0 / rate,
            onset,
            low,
            chroma_fps: rate / CHROMA_HOP as f64,
            chroma,
            chroma_total,
        }
    }
}

fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// Magnitude spectra of frames centred every `hop` samples (zeros outside the audio), handed
/// to `each` with the frame index.
fn spectra(mono: &[f32], window: usize, hop: usize, mut each: impl FnMut(usize, &[f32])) {
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(window);
    let win = hann(window);
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut mags = vec![0.0f32; window / 2 + 1];
    let frames = mono.len() / hop + 1;
    for j in 0..frames {
        let centre = (j * hop) as isize;
        for (k, x) in input.iter_mut().enumerate() {
            let i = centre - (window / 2) as isize + k as isize;
            *x = if i >= 0 && (i as usize) < mono.len() {
                mono[i as usize] * win[k]
            } else {
                0.0
            };
        }
        if fft
            .process_with_scratch(&mut input, &mut output, &mut scratch)
            .is_err()
        {
            continue;
        }
        for (m, c) in mags.iter_mut().zip(&output) {
            *m = c.norm();
        }
        each(j, &mags);
    }
}

/// Spectral flux of log magnitudes: all bands (local mean removed, rectified) and the low band.
fn onset_envelopes(mono: &[f32], rate: f64) -> (Vec<f32>, Vec<f32>) {
    let bins = ONSET_WINDOW / 2 + 1;
    let low_bins = ((LOW_BAND_HZ * ONSET_WINDOW as f64 / rate).ceil() as usize).clamp(2, bins);
    let mut prev = vec![0.0f32; bins];
    let mut all = Vec::with_capacity(mono.len() / ONSET_HOP + 1);
    let mut low = Vec::with_capacity(mono.len() / ONSET_HOP + 1);
    spectra(mono, ONSET_WINDOW, ONSET_HOP, |_, mags| {
        let mut a = 0.0f32;
        let mut l = 0.0f32;
        for (k, (&m, p)) in mags.iter().zip(prev.iter_mut()).enumerate() {
            let v = (1.0 + 100.0 * m).ln();
            let d = (v - *p).max(0.0);
            *p = v;
            a += d;
            if k < low_bins {
                l += d;
            }
        }
        all.push(a);
        low.push(l);
    });
    // The first frame's rise from nothing is not an onset of the music... unless the music
    // starts there: keep it, as a loop's first hit is its first beat.
    let fps = rate / ONSET_HOP as f64;
    let half = ((0.1 * fps) as usize).max(1);
    (rectify_local_mean(&all, half), low)
}

/// `x` minus its mean over ±`half` frames, negative values set to 0.
fn rectify_local_mean(x: &[f32], half: usize) -> Vec<f32> {
    let mut prefix = Vec::with_capacity(x.len() + 1);
    prefix.push(0.0f64);
    for &v in x {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + v as f64);
    }
    (0..x.len())
        .map(|i| {
            let a = i.saturating_sub(half);
            let b = (i + half + 1).min(x.len());
            let mean = (prefix[b] - prefix[a]) / (b - a) as f64;
            (x[i] as f64 - mean).max(0.0) as f32
        })
        .collect()
}

/// Chroma frames (each normalised) and their energy-weighted sum.
fn chroma(mono: &[f32], rate: f64) -> (Vec<[f32; 12]>, [f64; 12]) {
    let bins = CHROMA_WINDOW / 2 + 1;
    // Each bin's pitch class (None outside the range counted).
    let class: Vec<Option<usize>> = (0..bins)
        .map(|k| {
            let f = k as f64 * rate / CHROMA_WINDOW as f64;
            if !(CHROMA_MIN_HZ..=CHROMA_MAX_HZ).contains(&f) {
                return None;
            }
            let midi = 69.0 + 12.0 * (f / 440.0).log2();
            Some((midi.round() as i64).rem_euclid(12) as usize)
        })
        .collect();
    let mut frames = Vec::with_capacity(mono.len() / CHROMA_HOP + 1);
    let mut total = [0.0f64; 12];
    spectra(mono, CHROMA_WINDOW, CHROMA_HOP, |_, mags| {
        let mut c = [0.0f32; 12];
        for (m, cl) in mags.iter().zip(&class) {
            if let Some(pc) = cl {
                c[*pc] += m * m;
            }
        }
        let sum: f32 = c.iter().sum();
        if sum > 1e-9 {
            // Compressed energy: a loud frame counts more, but not by its square.
            let w = sum.sqrt() as f64;
            for (t, v) in total.iter_mut().zip(&mut c) {
                *v /= sum;
                *t += *v as f64 * w;
            }
        }
        frames.push(c);
    });
    (frames, total)
}
