//! Loops from sources at other sample rates than the output's: the loop is exactly its
//! duration × the output rate long (a fraction of a frame carried from cycle to cycle, never
//! rounded per cycle) and wraps without a click.

use crate::common::analysis::seams;
use crate::common::*;

use padlooper::engine::event::EventKind;

fn loops(out: &padlooper::control::offline::renderer::Rendered) -> Vec<u64> {
    out.events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PadLooped(0)))
        .map(|e| e.frame)
        .collect()
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
