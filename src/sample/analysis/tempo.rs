//! Tempo, beats and downbeats from the onset envelope. Not real-time.
//!
//! The tempo is the period whose autocorrelation (with its double) is strongest inside the
//! preferred range, weighted towards 120 BPM the way listeners tap; beats are tracked by
//! dynamic programming (Ellis 2007, as librosa does) so a drifting tempo is followed; a
//! weighted line through the beats gives the steady grid to a fraction of a millisecond,
//! and a loop whose length is a whole number of beats gets the tempo of that length.

use super::features::Features;
use super::{Prefs, Tempo};

/// The beats found and the tempo they make.
pub struct Beats {
    /// Tempo and confidence.
    pub tempo: Tempo,
    /// Beat times in seconds.
    pub times: Vec<f64>,
}

/// Beats fit one grid when their residuals are within this (seconds, RMS).
const STEADY_RMS: f64 = 0.015;
/// Transition tightness of the beat tracker (librosa's default).
const TIGHTNESS: f64 = 100.0;

/// The value of `x` at fractional index `i` (linear interpolation; 0 outside).
fn at(x: &[f32], i: f64) -> f64 {
    if i < 0.0 {
        return 0.0;
    }
    let k = i.floor() as usize;
    let f = i - k as f64;
    let a = x.get(k).copied().unwrap_or(0.0) as f64;
    let b = x.get(k + 1).copied().unwrap_or(0.0) as f64;
    a + (b - a) * f
}

/// Whether the envelope has enough distinct onsets to carry a beat.
fn has_pulse(env: &[f32], fps: f64) -> bool {
    let mut sorted: Vec<f32> = env.iter().copied().filter(|v| *v > 0.0).collect();
    if sorted.len() < 8 {
        return false;
    }
    sorted.sort_by(f32::total_cmp);
    let high = sorted[sorted.len() * 99 / 100];
    if high <= 1e-3 {
        return false;
    }
    let gap = (0.1 * fps) as usize;
    let mut peaks = 0;
    let mut last = None::<usize>;
    for i in 1..env.len().saturating_sub(1) {
        if env[i] > 0.3 * high
            && env[i] >= env[i - 1]
            && env[i] >= env[i + 1]
            && last.is_none_or(|l| i - l > gap)
        {
            peaks += 1;
            last = Some(i);
        }
    }
    peaks >= 4
}

/// Autocorrelation of the mean-removed envelope for lags 0..=max_lag (unbiased).
fn autocorrelation(env: &[f32], max_lag: usize) -> Vec<f32> {
    let mean = env.iter().map(|v| *v as f64).sum::<f64>() / env.len().max(1) as f64;
    let e: Vec<f32> = env.iter().map(|v| (*v as f64 - mean) as f32).collect();
    (0..=max_lag.min(e.len().saturating_sub(1)))
        .map(|lag| {
            let n = e.len() - lag;
            let s: f32 = e[..n].iter().zip(&e[lag..]).map(|(a, b)| a * b).sum();
            s / n as f32
        })
        .collect()
}

/// The tempo (BPM) the envelope's periodicity suggests inside the preferred range, and how
/// periodic the envelope is at it (its normalised autocorrelation, 0..1).
fn tempo_estimate(env: &[f32], fps: f64, prefs: &Prefs) -> Option<(f64, f64)> {
    let max_lag = (fps * 60.0 / (prefs.min_bpm / 2.0).max(10.0)).ceil() as usize + 2;
    // Smoothed over ~30 ms: a hit keeps its weight, a noise floor's flicker loses most of it.
    let half = ((0.015 * fps) as usize).max(1);
    let smooth: Vec<f32> = (0..env.len())
        .map(|i| {
            let a = i.saturating_sub(half);
            let b = (i + half + 1).min(env.len());
            env[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect();
    let r = autocorrelation(&smooth, max_lag);
    if r.len() < 4 || r[0] <= 0.0 {
        return None;
    }
    let strength = |bpm: f64| {
        let lag = fps * 60.0 / bpm;
        let prior = (-0.5 * ((bpm / 120.0).log2() / 1.4).powi(2)).exp();
        (at(&r, lag) + 0.5 * at(&r, 2.0 * lag)) * prior
    };
    let mut best = None::<(f64, f64)>;
    let mut bpm = prefs.min_bpm;
    while bpm <= prefs.max_bpm {
        let s = strength(bpm);
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((bpm, s));
        }
        bpm += 0.05;
    }
    let (bpm, _) = best.filter(|(_, s)| *s > 0.0)?;
    let lag = fps * 60.0 / bpm;
    let periodicity = (at(&r, lag) + 0.5 * at(&r, 2.0 * lag)) / (1.5 * r[0] as f64);
    Some((bpm, periodicity.clamp(0.0, 1.0)))
}

/// Whether the points halfway between beats of `period` frames are about as strong as the
/// beats (then the beat is twice as fast: the drums hit every half period, as a drum and bass
/// track read at half its tempo shows). Hats on the offbeats stay well below this.
fn offbeats_are_beats(env: &[f32], period: f64) -> bool {
    let comb = |phase: f64| {
        let mut s = 0.0;
        let mut k = phase;
        while k < env.len() as f64 {
            s += at(env, k);
            k += period;
        }
        s
    };
    let Some((phase, on)) = (0..period.ceil() as usize)
        .map(|p| (p as f64, comb(p as f64)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
    else {
        return false;
    };
    on > 0.0 && comb(phase + period / 2.0) > 0.5 * on
}

/// Beat frames by dynamic programming around `period` frames.
fn dp_beats(env: &[f32], period: f64) -> Vec<usize> {
    let n = env.len();
    // Local score: the envelope smoothed by a Gaussian of period/32, normalised.
    let sd = (env.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt();
    let sigma = (period / 32.0).max(0.5);
    let half = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f64> = (-half..=half)
        .map(|k| (-0.5 * (k as f64 / sigma).powi(2)).exp())
        .collect();
    let local: Vec<f64> = (0..n as isize)
        .map(|i| {
            (-half..=half)
                .filter_map(|k| {
                    env.get((i + k) as usize)
                        .map(|v| *v as f64 * kernel[(k + half) as usize])
                })
                .sum::<f64>()
                / sd.max(1e-9)
        })
        .collect();
    let lo = (period / 2.0).round() as usize;
    let hi = (period * 2.0).round() as usize;
    let cost: Vec<f64> = (0..=hi)
        .map(|d| TIGHTNESS * (d.max(1) as f64 / period).ln().powi(2))
        .collect();
    let mut score = vec![0.0f64; n];
    let mut back = vec![usize::MAX; n];
    for t in 0..n {
        let mut best = 0.0;
        let mut arg = usize::MAX;
        if t >= lo {
            for tau in t.saturating_sub(hi)..=t - lo {
                let s = score[tau] - cost[t - tau];
                if arg == usize::MAX || s > best {
                    best = s;
                    arg = tau;
                }
            }
        }
        if arg != usize::MAX && best > 0.0 {
            score[t] = local[t] + best;
            back[t] = arg;
        } else {
            score[t] = local[t];
        }
    }
    // The last beat: the best score in the final period; then back along the links.
    let from = n.saturating_sub(period.ceil() as usize + 1);
    let Some(mut t) = (from..n).max_by(|a, b| score[*a].total_cmp(&score[*b])) else {
        return Vec::new();
    };
    let mut beats = vec![t];
    while back[t] != usize::MAX {
        t = back[t];
        beats.push(t);
    }
    beats.reverse();
    // Beats at either end with (almost) no onset are the tracker running on: drop them.
    let strong = |b: &usize| local[*b] > 0.1;
    let first = beats.iter().position(strong).unwrap_or(0);
    let last = beats
        .iter()
        .rposition(strong)
        .unwrap_or(beats.len().saturating_sub(1));
    beats[first..=last.max(first).min(beats.len().saturating_sub(1))].to_vec()
}

/// The onset peak near frame `b` (±2 frames), at a fractional frame, and its strength.
fn refine(env: &[f32], b: usize) -> (f64, f64) {
    let lo = b.saturating_sub(2);
    let hi = (b + 2).min(env.len().saturating_sub(1));
    let k = (lo..=hi)
        .max_by(|x, y| env[*x].total_cmp(&env[*y]))
        .unwrap_or(b);
    let y0 = if k > 0 { env[k - 1] as f64 } else { 0.0 };
    let y1 = env[k] as f64;
    let y2 = env.get(k + 1).copied().unwrap_or(0.0) as f64;
    let denom = y0 - 2.0 * y1 + y2;
    let dx = if denom.abs() > 1e-12 {
        (0.5 * (y0 - y2) / denom).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    (k as f64 + dx, y1)
}

/// A weighted least-squares line `t = t0 + i·p` through (index, time, weight).
fn fit(points: &[(f64, f64, f64)]) -> Option<(f64, f64, f64)> {
    let w: f64 = points.iter().map(|p| p.2).sum();
    if points.len() < 3 || w <= 0.0 {
        return None;
    }
    let mi = points.iter().map(|p| p.0 * p.2).sum::<f64>() / w;
    let mt = points.iter().map(|p| p.1 * p.2).sum::<f64>() / w;
    let sii: f64 = points.iter().map(|p| p.2 * (p.0 - mi).powi(2)).sum();
    let sit: f64 = points.iter().map(|p| p.2 * (p.0 - mi) * (p.1 - mt)).sum();
    if sii <= 0.0 {
        return None;
    }
    let p = sit / sii;
    let t0 = mt - p * mi;
    let rms = (points
        .iter()
        .map(|q| q.2 * (q.1 - t0 - q.0 * p).powi(2))
        .sum::<f64>()
        / w)
        .sqrt();
    Some((t0, p, rms))
}

/// Tempo and beats of the features, or None where there is no pulse.
pub fn track(f: &Features, seconds: f64, prefs: &Prefs) -> Option<Beats> {
    let env = &f.onset;
    if !has_pulse(env, f.fps) {
        return None;
    }
    let (mut bpm0, periodicity) = tempo_estimate(env, f.fps, prefs)?;
    if periodicity < 0.05 {
        // Onsets without a period (noise, a texture): no beat to report.
        return None;
    }
    if 2.0 * bpm0 <= prefs.max_bpm && offbeats_are_beats(env, f.fps * 60.0 / bpm0) {
        bpm0 *= 2.0;
    }
    let period = f.fps * 60.0 / bpm0;
    let frames = dp_beats(env, period);
    if frames.len() < 4 {
        return None;
    }
    // Each tracked beat at its onset peak, numbered by whole periods from the first.
    let refined: Vec<(f64, f64)> = frames.iter().map(|b| refine(env, *b)).collect();
    let strengths: Vec<f64> = refined.iter().map(|r| r.1).collect();
    let median = {
        let mut s: Vec<f64> = strengths.iter().copied().filter(|v| *v > 0.0).collect();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(0.0)
    };
    // A peak in the first frame is a hit at the very start (the window sees it at once).
    let time = |frame: f64| {
        if frame < 0.5 {
            0.0
        } else {
            frame / f.fps + f.onset_delay
        }
    };
    // Numbered by the beats between neighbours (a small error in the first tempo estimate
    // must not add up over hundreds of beats).
    let beat = 60.0 / bpm0;
    let mut index = 0.0;
    let mut last = None::<f64>;
    let mut points: Vec<(f64, f64, f64)> = refined
        .iter()
        .map(|(fr, s)| {
            let t = time(*fr);
            if let Some(l) = last {
                index += ((t - l) / beat).round().max(1.0);
            }
            last = Some(t);
            (index, t, if *s > 0.2 * median { s.sqrt() } else { 0.0 })
        })
        .collect();
    let (mut t0, mut p, mut rms) = fit(&points)?;
    for _ in 0..2 {
        // Drop outliers (a fill, a missed beat), renumber, fit again.
        for q in points.iter_mut() {
            q.0 = ((q.1 - t0) / p).round();
            if (q.1 - t0 - q.0 * p).abs() > 0.06 {
                q.2 = 0.0;
            }
        }
        if let Some(r) = fit(&points) {
            (t0, p, rms) = r;
        }
    }
    let steady = rms < STEADY_RMS;
    let (bpm, times) = if steady {
        // A loop cut on beats: the tempo its length says, where that agrees with the beats.
        let n = (seconds / p).round();
        let n_max = points.iter().map(|q| q.0).fold(0.0, f64::max);
        let se = rms
            / (points.iter().filter(|q| q.2 > 0.0).count().max(2) as f64).sqrt()
            / n_max.max(1.0);
        // Where the beats fall relative to the sample's start (0: on a beat).
        let phase = (t0 / p - (t0 / p).round()).abs() * p;
        if seconds < 120.0
            && n >= 2.0
            && phase < 0.015
            && ((seconds / n) - p).abs() < (3.0 * se).max(0.001 * p)
        {
            p = seconds / n;
            t0 = anchor(&points, p);
        }
        // The first beat (a hair before the start counts as the start).
        let first = t0 - ((t0 + 0.02) / p).floor() * p;
        let count = ((seconds - first) / p).ceil().max(0.0) as usize;
        let times: Vec<f64> = (0..count)
            .map(|i| (first + i as f64 * p).max(0.0))
            .filter(|t| *t < seconds - 0.02)
            .collect();
        (60.0 / p, times)
    } else {
        let times: Vec<f64> = refined.iter().map(|r| time(r.0)).collect();
        let mut d: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        d.sort_by(f64::total_cmp);
        (60.0 / d[d.len() / 2], times)
    };
    let confidence = ((periodicity - 0.05) / 0.3).clamp(0.0, 1.0) * if steady { 1.0 } else { 0.7 };
    Some(Beats {
        tempo: Tempo {
            bpm,
            confidence,
            steady,
        },
        times,
    })
}

/// The grid offset for a fixed period: the weighted mean of each beat's time less its index.
fn anchor(points: &[(f64, f64, f64)], p: f64) -> f64 {
    let w: f64 = points.iter().map(|q| q.2).sum();
    if w <= 0.0 {
        return points.first().map_or(0.0, |q| q.1);
    }
    points.iter().map(|q| q.2 * (q.1 - q.0 * p)).sum::<f64>() / w
}

/// Which beats start bars: the phase (of `beats_per_bar`) where the low band (kicks) is
/// strongest and the harmony changes most, a loop that starts on a beat leaning to its first.
/// Returns the downbeat times and a confidence 0..1.
pub fn downbeats(f: &Features, beats: &Beats, beats_per_bar: u32) -> (Vec<f64>, f64) {
    let bpb = beats_per_bar.max(1) as usize;
    let t = &beats.times;
    if t.is_empty() {
        return (Vec::new(), 0.0);
    }
    if bpb == 1 {
        return (t.clone(), 1.0);
    }
    let low: Vec<f64> = t
        .iter()
        .map(|x| {
            let c = x * f.fps;
            let lo = (c - 2.0).max(0.0) as usize;
            (lo..=(c + 2.0) as usize)
                .filter_map(|i| f.low.get(i))
                .fold(0.0f64, |m, v| m.max(*v as f64))
        })
        .collect();
    // Mean chroma of each beat.
    let chroma: Vec<[f64; 12]> = (0..t.len())
        .map(|i| {
            let a = (t[i] * f.chroma_fps).round() as usize;
            let end = t
                .get(i + 1)
                .copied()
                .unwrap_or(t[i] + 60.0 / beats.tempo.bpm);
            let b = ((end * f.chroma_fps).round() as usize).max(a + 1);
            let mut c = [0.0f64; 12];
            for fr in f.chroma.iter().take(b).skip(a) {
                for (x, v) in c.iter_mut().zip(fr) {
                    *x += *v as f64;
                }
            }
            c
        })
        .collect();
    let sum = |from: usize, to: usize| {
        let mut c = [0.0f64; 12];
        for b in &chroma[from..to] {
            for (x, v) in c.iter_mut().zip(b) {
                *x += v;
            }
        }
        c
    };
    let change: Vec<f64> = (0..t.len())
        .map(|i| {
            if i < bpb / 2 || i + bpb / 2 > t.len() {
                return 0.0;
            }
            let before = sum(i.saturating_sub(bpb), i);
            let after = sum(i, (i + bpb).min(t.len()));
            1.0 - cosine(&before, &after)
        })
        .collect();
    let norm = |x: &[f64]| {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        if m > 1e-9 {
            x.iter().map(|v| v / m).collect()
        } else {
            vec![0.0; x.len()]
        }
    };
    let (low, change) = (norm(&low), norm(&change));
    let mut scores: Vec<f64> = (0..bpb)
        .map(|p| {
            let idx: Vec<usize> = (p..t.len()).step_by(bpb).collect();
            if idx.is_empty() {
                return 0.0;
            }
            idx.iter().map(|&i| low[i] + change[i]).sum::<f64>() / idx.len() as f64
        })
        .collect();
    if t[0] < 0.05 {
        scores[0] += 0.3;
    }
    let best = (0..bpb)
        .max_by(|a, b| scores[*a].total_cmp(&scores[*b]))
        .unwrap_or(0);
    let top = scores[best];
    let second = scores
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != best)
        .map(|(_, s)| *s)
        .fold(0.0, f64::max);
    let confidence = if top > 0.0 {
        ((top - second) / top * 2.0).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (
        t.iter().skip(best).step_by(bpb).copied().collect(),
        confidence,
    )
}

fn cosine(a: &[f64; 12], b: &[f64; 12]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na * nb <= 1e-12 {
        1.0
    } else {
        dot / (na * nb)
    }
}
