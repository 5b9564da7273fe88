//! Lining up two versions of the same audio before cross-fading between them.
//!
//! A stretched table and a real-time stretcher (or two stretched renders) carry the same
//! partials with different phases: cross-faded as they are, a steady tone can cancel itself
//! in the middle of the fade. [`best_lag`] finds the small shift that puts them in phase;
//! [`xfade_gains`] keeps the loudness of the fade constant for how alike they still are.

/// The lag `d` in `-max..=max` at which `cand[max + d ..][..reference.len()]` looks most
/// like `reference` (highest normalised correlation; among near-equal peaks the smallest
/// shift wins), with that correlation (-1..=1; 0 when either side is silent). `cand` must
/// hold `reference.len() + 2 * max` samples. Real-time safe: no allocation; about
/// `reference.len() * (2 * max + 1)` multiply-adds (vectorised).
pub fn best_lag(reference: &[f32], cand: &[f32], max: usize) -> (isize, f32) {
    let w = reference.len();
    if w == 0 || cand.len() < w + 2 * max {
        return (0, 0.0);
    }
    let er = dot(reference, reference);
    if er <= 1e-12 {
        return (0, 0.0);
    }
    // Sliding energy of the candidate window.
    let mut ex = dot(&cand[..w], &cand[..w]);
    // Prefer small shifts among peaks that are practically as good.
    let penalty = |d: isize| 1e-3 * d.unsigned_abs() as f32 / max.max(1) as f32;
    let mut best = (0isize, f32::MIN, f32::MIN);
    for at in 0..=2 * max {
        if at > 0 {
            let (gone, new) = (cand[at - 1], cand[at + w - 1]);
            ex = (ex - gone * gone + new * new).max(0.0);
        }
        let d = at as isize - max as isize;
        let c = if ex <= 1e-12 {
            0.0
        } else {
            dot(reference, &cand[at..at + w]) / (er * ex).sqrt()
        };
        let score = c - penalty(d);
        if score > best.2 {
            best = (d, c, score);
        }
    }
    (best.0, best.1)
}

/// Dot product in eight independent lanes (vectorises). Real-time safe.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Gains `(outgoing, incoming)` at position `t` (0..=1) of a cross-fade between two signals
/// whose correlation is `rho`: linear for identical signals, equal-power for unrelated ones,
/// and constant loudness in between (boosted at most 2×, where the two nearly cancel).
/// Real-time safe.
pub fn xfade_gains(t: f32, rho: f32) -> (f32, f32) {
    let t = t.clamp(0.0, 1.0);
    let (a, b) = (1.0 - t, t);
    let power = a * a + b * b + 2.0 * a * b * rho.clamp(-1.0, 1.0);
    let c = if power > 0.25 {
        power.sqrt().recip()
    } else {
        2.0
    };
    (a * c, b * c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, f: f32, phase: f32) -> Vec<f32> {
        (0..n)
            .map(|i| (i as f32 * f * std::f32::consts::TAU / 48_000.0 + phase).sin())
            .collect()
    }

    #[test]
    fn finds_the_shift_that_puts_a_tone_in_phase() {
        let max = 240;
        let reference = sine(512, 440.0, 0.0);
        // The candidate window at lag d starts at the tone's phase d - 37: in phase at
        // d = 37 (and at 37 - 109.09, which is further from 0).
        let phase = -(max as f32 + 37.0) * 440.0 * std::f32::consts::TAU / 48_000.0;
        let cand = sine(512 + 2 * max, 440.0, phase);
        let (d, c) = best_lag(&reference, &cand, max);
        assert_eq!(d, 37);
        assert!(c > 0.999, "correlation {c}");
    }

    #[test]
    fn silence_gives_no_shift() {
        let reference = vec![0.0; 64];
        let cand = vec![0.5; 64 + 20];
        assert_eq!(best_lag(&reference, &cand, 10), (0, 0.0));
    }

    #[test]
    fn fade_gains_keep_loudness() {
        // Identical signals: linear (sums to one).
        let (a, b) = xfade_gains(0.3, 1.0);
        assert!((a + b - 1.0).abs() < 1e-6);
        // Unrelated: equal power.
        let (a, b) = xfade_gains(0.5, 0.0);
        assert!((a * a + b * b - 1.0).abs() < 1e-5);
        // Ends are exact.
        assert_eq!(xfade_gains(0.0, 0.3), (1.0, 0.0));
        assert_eq!(xfade_gains(1.0, 0.3), (0.0, 1.0));
    }
}
