//! Loops from sources at other sample rates than the output's: the loop is exactly its
//! duration × the output rate long (a fraction of a frame carried from cycle to cycle, never
//! rounded per cycle) and wraps without a click.

mod common;
use common::*;

use padlooper::engine::event::EventKind;

fn loops(out: &padlooper::control::offline::Rendered) -> Vec<u64> {
    out.events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PadLooped(0)))
        .map(|e| e.frame)
        .collect()
}

/// The largest deviation of `x[from..to]` from the sine of frequency `f` (Hz at 48 kHz)
/// fitted to it by least squares (amplitude, phase and offset): a wrap that is not seamless
/// leaves a residual the tone itself does not have.
fn residual(x: &[f32], f: f64, from: usize, to: usize) -> f64 {
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
fn seams(x: &[f32], f: f64, wraps: &[u64]) -> (f64, f64) {
    let db = |r: f64| 20.0 * (r / 0.5).log10();
    let at = |c: usize| db(residual(x, f, c - 1500, c + 1500));
    let worst = wraps
        .iter()
        .map(|&w| at(w as usize))
        .fold(f64::MIN, f64::max);
    (worst, at(((wraps[0] + wraps[1]) / 2) as usize))
}

#[test]
fn a_two_second_loop_at_any_source_rate_is_96000_frames_and_seamless() {
    for rate in [44_100, 22_050, 32_000, 88_200, 96_000, 48_000] {
        let dir = tmp();
        // 441 Hz: 882 whole cycles in 2 s, a seamless loop at its own rate.
        write_wav16(&path(&dir, "l.wav"), rate, 2.0, sine(441.0, 0.5));
        let set = set_in(dir.path(), "[[pad]]\npad = 0\nfile = \"l.wav\"\n");
        let (out, report) = render_set(&set, "0.0 press 0 0\n", 8.1);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let wraps = loops(&out);
        assert_eq!(wraps, vec![96_000, 192_000, 288_000, 384_000], "{rate} Hz");
        let x = left(&out.samples, 0.0, 8.1);
        let f = 441.0;
        let (seam, inside) = seams(&x, f, &wraps[..3]);
        eprintln!("{rate} Hz: around the wraps {seam:.1} dB, inside {inside:.1} dB");
        assert!(
            seam < -60.0 && seam < inside + 6.0,
            "{rate} Hz: {seam:.1} dB off the tone around the wraps, {inside:.1} dB inside"
        );
        assert!(
            (freq(&left(&out.samples, 0.5, 7.5)) - 441.0).abs() < 0.05,
            "{rate} Hz pitch"
        );
    }
}

#[test]
fn a_loop_of_fractional_length_carries_the_fraction() {
    let dir = tmp();
    // 88,201 frames at 44.1 kHz = 96,001.0884 frames at 48 kHz; 882 whole cycles.
    let frames = 88_201.0;
    let f = 882.0 * 44_100.0 / frames;
    write_wav16(
        &path(&dir, "l.wav"),
        44_100,
        frames / 44_100.0,
        sine(f, 0.5),
    );
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nfile = \"l.wav\"\n");
    let (out, _) = render_set(&set, "0.0 press 0 0\n", 10.1);
    let wraps = loops(&out);
    let len = frames * 48_000.0 / 44_100.0;
    assert_eq!(wraps.len(), 5, "{wraps:?}");
    for (k, &w) in wraps.iter().enumerate() {
        let want = len * (k + 1) as f64;
        assert!(
            (w as f64 - want).abs() <= 1.0,
            "wrap {k} at {w}, exact {want:.3}: the fraction must not be rounded each cycle"
        );
    }
    let x = left(&out.samples, 0.0, 10.1);
    let (seam, inside) = seams(&x, f, &wraps[..4]);
    eprintln!("fractional loop: around the wraps {seam:.1} dB, inside {inside:.1} dB");
    assert!(
        seam < -60.0 && seam < inside + 6.0,
        "{seam:.1} dB off the tone around the wraps, {inside:.1} dB inside"
    );
}
