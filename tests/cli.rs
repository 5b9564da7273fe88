//! The `padlooper` binary end to end.

mod common;
use common::*;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_padlooper"))
}

fn read_wav(p: &std::path::Path) -> (hound::WavSpec, Vec<f32>) {
    let mut r = hound::WavReader::open(p).unwrap();
    let spec = r.spec();
    (spec, r.samples::<f32>().map(|s| s.unwrap()).collect())
}

#[test]
fn render_of_the_demo_performance_has_the_expected_content() {
    let dir = tmp();
    let wav = path(&dir, "demo.wav");
    let ev = path(&dir, "demo.jsonl");
    let st = bin()
        .args(["render", "-o"])
        .arg(&wav)
        .arg("--events")
        .arg(&ev)
        .status()
        .unwrap();
    assert!(st.success());
    let (spec, s) = read_wav(&wav);
    assert_eq!((spec.channels, spec.sample_rate), (2, 48_000));
    assert_eq!(s.len(), 2 * 43 * 48_000);
    // Every 4-second section of the performance has sound; nothing clips.
    for k in 0..10 {
        let x = left(&s, k as f64 * 4.0, k as f64 * 4.0 + 4.0);
        assert!(rms(&x) > 0.02, "section {k} rms {}", rms(&x));
    }
    assert!(peak(&s) < 1.0, "peak {}", peak(&s));
    // Drums alone in the first 4 s; the 440 Hz test pad never plays.
    assert!(tone(&left(&s, 0.0, 4.0), 440.0) < 0.01);
    let events = std::fs::read_to_string(&ev).unwrap();
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"frame":0,"time":0.000000,"event":"pad_started","bank":0,"pad":0}"#
    );
    assert!(
        lines.contains(
            &r#"{"frame":192000,"time":4.000000,"event":"pad_started","bank":0,"pad":1}"#
        )
    );
    assert!(
        lines
            .contains(&r#"{"frame":192000,"time":4.000000,"event":"pad_looped","bank":0,"pad":0}"#)
    );
    assert!(
        lines.contains(
            &r#"{"frame":960000,"time":20.000000,"event":"pad_stopped","bank":0,"pad":0}"#
        )
    );
    // Deterministic: a second render is bit-identical.
    let wav2 = path(&dir, "demo2.wav");
    assert!(
        bin()
            .args(["render", "-o"])
            .arg(&wav2)
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(std::fs::read(&wav).unwrap(), std::fs::read(&wav2).unwrap());
}

#[test]
fn render_with_a_set_and_a_script() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), 44_100, 1.0, sine(440.0, 0.5));
    std::fs::write(
        path(&dir, "set.toml"),
        "[[pad]]\nbank = 1\nrow = 2\ncol = 3\nfile = \"s.wav\"\n",
    )
    .unwrap();
    std::fs::write(
        path(&dir, "perf.txt"),
        "# test\n0.5 press 1 19\n1.5 stop 1 19\n",
    )
    .unwrap();
    let wav = path(&dir, "o.wav");
    let st = bin()
        .args(["render", "--set"])
        .arg(path(&dir, "set.toml"))
        .arg("--script")
        .arg(path(&dir, "perf.txt"))
        .args(["--seconds", "2", "-o"])
        .arg(&wav)
        .status()
        .unwrap();
    assert!(st.success());
    let (_, s) = read_wav(&wav);
    assert_eq!(peak(&left(&s, 0.0, 0.5)), 0.0);
    let x = left(&s, 0.6, 1.4);
    assert!((freq(&x) - 440.0).abs() < 1.0 && (peak(&x) - 0.5).abs() < 0.01);
    assert_eq!(peak(&left(&s, 1.51, 2.0)), 0.0);
}

#[test]
fn check_reports_errors_and_exits_non_zero() {
    let dir = tmp();
    std::fs::write(
        path(&dir, "set.toml"),
        "[master]\nvolume = 0.5\nvolme = 1\n",
    )
    .unwrap();
    let out = bin()
        .args(["check", "--set"])
        .arg(path(&dir, "set.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("set.toml:3:1: unknown field `volme`, expected one of `volume`"),
        "{err}"
    );

    std::fs::write(
        path(&dir, "ok.toml"),
        "[[pad]]\npad = 0\nbuiltin = \"drums\"\n",
    )
    .unwrap();
    std::fs::write(path(&dir, "bad.txt"), "0 press 0 0\n1 jump\n").unwrap();
    let out = bin()
        .args(["check", "--set"])
        .arg(path(&dir, "ok.toml"))
        .arg("--script")
        .arg(path(&dir, "bad.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.txt:2:1: unknown command \"jump\""));

    let out = bin().args(["check"]).output().unwrap();
    assert!(out.status.success(), "the demo set is valid");
}

#[test]
fn demo_without_an_audio_device_says_so_and_renders_instead() {
    let dir = tmp();
    // An ALSA configuration with no default device: like a machine without a sound card.
    std::fs::write(path(&dir, "empty.conf"), "# no devices\n").unwrap();
    let wav = path(&dir, "fallback.wav");
    let out = bin()
        .env("ALSA_CONFIG_PATH", path(&dir, "empty.conf"))
        .args(["demo", "--fallback"])
        .arg(&wav)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error: no audio output device found;"),
        "{err}"
    );
    assert!(first.contains("padlooper render"), "{err}");
    assert!(!err.contains("ALSA lib"), "libasound noise leaked: {err}");
    let (_, s) = read_wav(&wav);
    assert_eq!(s.len(), 2 * 43 * 48_000);
}
