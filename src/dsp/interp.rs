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
