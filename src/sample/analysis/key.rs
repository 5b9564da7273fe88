//! Musical key from a chroma profile: correlation with the Krumhansl–Kessler major and minor
//! key profiles in all 12 transpositions; names and Camelot codes. Not real-time.

use serde::{Deserialize, Serialize};

const MAJOR: [f64; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
const MINOR: [f64; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];
const NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// A key: its tonic's pitch class (0 = C) and mode. Plain data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// Pitch class of the tonic, 0 (C) to 11 (B).
    pub tonic: u8,
    /// Minor (else major).
    pub minor: bool,
}

impl Key {
    /// "A minor", "Eb major".
    pub fn name(&self) -> String {
        format!(
            "{} {}",
            NAMES[self.tonic as usize % 12],
            if self.minor { "minor" } else { "major" }
        )
    }

    /// The Camelot wheel code DJs mix by: "8A" is A minor, "8B" C major.
    pub fn camelot(&self) -> String {
        // The relative major of a minor key shares its number.
        let major_pc = if self.minor {
            (self.tonic as usize + 3) % 12
        } else {
            self.tonic as usize
        };
        let n = (major_pc * 7 + 7) % 12 + 1;
        format!("{n}{}", if self.minor { 'A' } else { 'B' })
    }

    /// The MIREX weighted score of this estimate against the true key: 1 right, 0.5 a fifth
    /// away (same mode), 0.3 relative, 0.2 parallel, else 0.
    pub fn mirex_score(&self, truth: &Key) -> f64 {
        let d = (self.tonic as i32 - truth.tonic as i32).rem_euclid(12);
        if self.minor == truth.minor {
            match d {
                0 => 1.0,
                5 | 7 => 0.5,
                _ => 0.0,
            }
        } else if self.tonic == truth.tonic {
            0.2
        } else {
            // Relative: the estimate is the truth's relative major or minor.
            let relative = if truth.minor { 3 } else { 9 };
            if d == relative { 0.3 } else { 0.0 }
        }
    }
}

fn pearson(a: &[f64; 12], b: &[f64; 12]) -> f64 {
    let ma = a.iter().sum::<f64>() / 12.0;
    let mb = b.iter().sum::<f64>() / 12.0;
    let (mut num, mut va, mut vb) = (0.0, 0.0, 0.0);
    for i in 0..12 {
        num += (a[i] - ma) * (b[i] - mb);
        va += (a[i] - ma).powi(2);
        vb += (b[i] - mb).powi(2);
    }
    if va <= 1e-12 || vb <= 1e-12 {
        0.0
    } else {
        num / (va * vb).sqrt()
    }
}

/// The best-fitting key of a chroma profile and how sure it is (0..1: the best correlation's
/// margin over the runner-up that is not its relative key, scaled), or None where the profile
/// is flat (no pitched sound).
pub fn estimate(chroma: &[f64; 12]) -> (Option<Key>, f64) {
    let sum: f64 = chroma.iter().sum();
    if sum <= 1e-9 {
        return (None, 0.0);
    }
    // A flat profile (noise, drums only) has no key.
    let mean = sum / 12.0;
    let max = chroma.iter().copied().fold(0.0, f64::max);
    if (max - mean) / mean < 0.3 {
        return (None, 0.0);
    }
    let mut scores = Vec::with_capacity(24);
    for tonic in 0..12u8 {
        for minor in [false, true] {
            let p = if minor { &MINOR } else { &MAJOR };
            let mut rotated = [0.0; 12];
            for (i, r) in rotated.iter_mut().enumerate() {
                *r = p[(i + 12 - tonic as usize) % 12];
            }
            scores.push((pearson(chroma, &rotated), Key { tonic, minor }));
        }
    }
    scores.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (best, key) = scores[0];
    if best < 0.3 {
        return (None, 0.0);
    }
    let runner = scores[1..]
        .iter()
        .find(|(_, k)| k.mirex_score(&key) < 0.3)
        .map_or(0.0, |s| s.0);
    let confidence = ((best - runner) * 4.0).clamp(0.0, 1.0) * best.clamp(0.0, 1.0);
    if confidence < 0.02 {
        return (None, 0.0);
    }
    (Some(key), confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camelot_codes() {
        let k = |tonic, minor| Key { tonic, minor }.camelot();
        assert_eq!(k(9, true), "8A");
        assert_eq!(k(0, false), "8B");
        assert_eq!(k(7, false), "9B");
        assert_eq!(k(5, false), "7B");
        assert_eq!(k(0, true), "5A");
        assert_eq!(k(11, false), "1B");
    }

    #[test]
    fn a_minor_triad_is_a_minor() {
        let mut c = [0.0; 12];
        c[9] = 1.0;
        c[0] = 0.8;
        c[4] = 0.9;
        let (k, conf) = estimate(&c);
        assert_eq!(k.map(|k| k.name()).as_deref(), Some("A minor"));
        assert!(conf > 0.0);
    }
}
