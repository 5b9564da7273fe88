//! Sample interpolation for varispeed playback.

/// 4-point, 3rd-order Hermite (Catmull-Rom) interpolation between `x0` and `x1` at `t` in
/// `[0, 1)`, using the neighbours `xm1` (before `x0`) and `x2` (after `x1`). Real-time safe.
#[inline(always)]
pub fn hermite(xm1: f32, x0: f32, x1: f32, x2: f32, t: f32) -> f32 {
    let c1 = 0.5 * (x1 - xm1);
    let c2 = xm1 - 2.5 * x0 + 2.0 * x1 - 0.5 * x2;
    let c3 = 0.5 * (x2 - xm1) + 1.5 * (x0 - x1);
    ((c3 * t + c2) * t + c1) * t + x0
}

/// [`hermite`] on both channels of an interleaved 4-frame window
/// `[l-1, r-1, l0, r0, l1, r1, l2, r2]`, written lane-wise so it vectorises. Real-time safe.
#[inline(always)]
pub fn hermite2(w: &[f32; 8], t: f32) -> [f32; 2] {
    let mut y = [0.0f32; 2];
    for (c, out) in y.iter_mut().enumerate() {
        let (xm1, x0, x1, x2) = (w[c], w[2 + c], w[4 + c], w[6 + c]);
        let c1 = 0.5 * (x1 - xm1);
        let c2 = xm1 - 2.5 * x0 + 2.0 * x1 - 0.5 * x2;
        let c3 = 0.5 * (x2 - xm1) + 1.5 * (x0 - x1);
        *out = ((c3 * t + c2) * t + c1) * t + x0;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::hermite;

    #[test]
    fn passes_through_the_points_and_is_exact_for_lines() {
        assert_eq!(hermite(0.0, 1.0, 2.0, 3.0, 0.0), 1.0);
        assert!((hermite(0.0, 1.0, 2.0, 3.0, 0.5) - 1.5).abs() < 1e-6);
        assert!((hermite(0.0, 1.0, 2.0, 3.0, 0.999) - 1.999).abs() < 1e-5);
    }

    #[test]
    fn stereo_window_matches_the_scalar_form() {
        let w = [0.1, -0.3, 0.5, 0.2, -0.7, 0.9, 0.25, -0.45];
        let y = super::hermite2(&w, 0.3);
        assert_eq!(y[0], hermite(w[0], w[2], w[4], w[6], 0.3));
        assert_eq!(y[1], hermite(w[1], w[3], w[5], w[7], 0.3));
    }

    #[test]
    fn is_close_to_a_sine_between_samples() {
        let f = |x: f32| (x * 0.1).sin();
        for i in 1..50 {
            let t = 0.37;
            let y = hermite(
                f(i as f32 - 1.0),
                f(i as f32),
                f(i as f32 + 1.0),
                f(i as f32 + 2.0),
                t,
            );
            assert!((y - f(i as f32 + t)).abs() < 1e-4, "at {i}");
        }
    }
}
