//! Checks on blocks of samples: whether they are finite, and their peak. Real-time safe.

/// Whether every sample of `x` is finite: one multiply-add per sample in 8 independent lanes
/// (vectorised), no branch (NaN·0 and ∞·0 are NaN, anything finite·0 is 0). Real-time safe.
#[inline]
pub fn all_finite(x: &[f32]) -> bool {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i] * 0.0;
        }
    }
    for (a, &v) in acc.iter_mut().zip(rest) {
        *a += v * 0.0;
    }
    acc.iter().sum::<f32>() == 0.0
}

/// Largest absolute sample (NaN is ignored). Real-time safe.
#[inline]
pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_non_finite_anywhere() {
        let mut x = vec![0.25f32; 19];
        assert!(all_finite(&x));
        for i in 0..x.len() {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                x[i] = bad;
                assert!(!all_finite(&x), "index {i}");
                x[i] = 0.25;
            }
        }
        assert_eq!(peak(&[0.1, -0.7, f32::NAN, 0.3]), 0.7);
    }
}
