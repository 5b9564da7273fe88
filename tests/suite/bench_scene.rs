//! The standard benchmark scene: its definition, and that a set file and script express it.

use crate::common::*;
use padlooper::bench::scene;
use padlooper::config::SetFile;
use padlooper::dsp::eq::knob_to_db;

#[test]
fn voice_parameters_follow_the_scene_definition() {
    let phi = 0.6180339887498949f64;
    for i in [0usize, 1, 7, 23, 49] {
        let (speed, gain, eq) = scene::voice_params(i);
        let frac = |x: f64| x - x.floor();
        let want_speed = 2f64.powf((-3.0 + 6.0 * frac(i as f64 * phi)) / 12.0);
        let want_gain = 0.4 + 0.5 * frac(i as f64 * (1.0 - phi));
        assert!((speed as f64 - want_speed).abs() < 1e-6);
        assert!((gain as f64 - want_gain).abs() < 1e-6);
        assert_eq!(
            eq,
            [
                [6.0, -4.0, 3.0, -6.0, 4.0][i % 5],
                [-3.0, 5.0, -6.0, 2.0][i % 4],
                [4.0, -5.0, 6.0][i % 3]
            ]
        );
    }
    let (s0, g0, _) = scene::voice_params(0);
    assert!((s0 - 0.8409).abs() < 1e-4 && (g0 - 0.4).abs() < 1e-6);
}

#[test]
fn generated_loops_are_deterministic_and_different() {
    let a = scene::render_loop(3, 0.5);
    assert_eq!(a, scene::render_loop(3, 0.5));
    assert_ne!(a, scene::render_loop(4, 0.5));
    assert_eq!(a.len(), 2 * 24_000);
    let peak = a.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(peak > 8_000 && peak < 32_767, "peak {peak}");
}

#[test]
fn the_set_file_and_script_express_the_same_scene() {
    let dir = tmp();
    scene::ensure_files(dir.path(), 50, 1.0, &|_, _| {}).unwrap();
    let built = scene::scene_set(dir.path(), 50);
    let path = dir.path().join("scene.toml");
    std::fs::write(&path, scene::scene_toml(50)).unwrap();
    let parsed = SetFile::load(&path).unwrap();
    assert_eq!(parsed.master.volume, scene::MASTER_GAIN);
    assert_eq!(parsed.pads.len(), 50);
    for (a, b) in parsed.pads.iter().zip(built.pads.iter()) {
        assert_eq!((a.id, &a.source, a.speed), (b.id, &b.source, b.speed));
        assert!((a.gain_db - b.gain_db).abs() < 1e-4);
        for band in 0..3 {
            assert!((knob_to_db(a.fx.eq[band]) - knob_to_db(b.fx.eq[band])).abs() < 1e-3);
        }
    }
    // Rendering from the files is the same work as the built scene: same audio.
    let script = scene::scene_script(50);
    let (from_file, r1) = render_set(&parsed, &script, 1.0);
    let (from_code, r2) = render_set(&built, &script, 1.0);
    assert!(r1.errors.is_empty() && r2.errors.is_empty());
    let diff = from_file
        .samples
        .iter()
        .zip(&from_code.samples)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff < 1e-5, "max difference {diff}");
    assert!(
        rms(&left(&from_code.samples, 0.1, 1.0)) > 0.05,
        "the scene is audible"
    );
}
