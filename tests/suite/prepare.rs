//! Prepared copies of streamed samples: made a packet at a time (memory bounded whatever the
//! file's length), holding the same bits as the in-RAM table (a resampled loop's exact length
//! included), and checksummed so a copy damaged on disk is found and made again, never played.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

use padlooper::control::offline::renderer::{DiskFeeder, Rendered, ScriptFeeder, render_with};
use padlooper::control::set::stream_load::StreamOptions;
use padlooper::engine::event::EventKind;

const SMALL_CHUNKS: usize = 16 * 1024 + 3 * 8;

/// A 16-bit mono WAV of `seconds` of a 441 Hz tone at `rate`.
fn mono_tone(path: &Path, rate: u32, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let period: Vec<i16> = (0..rate)
        .map(|i| (8000.0 * (std::f64::consts::TAU * 441.0 * i as f64 / rate as f64).sin()) as i16)
        .collect();
    for _ in 0..seconds as usize {
        for &s in &period {
            w.write_sample(s).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn streamed(cache: &Path) -> StreamOptions {
    StreamOptions {
        limit: Some(3_000_000),
        cache_dir: cache.to_path_buf(),
        chunk_bytes: SMALL_CHUNKS,
        loop_ram_max: 0,
        ..Default::default()
    }
}

fn play(
    set: &padlooper::config::SetFile,
    opts: StreamOptions,
    seconds: f64,
) -> (Rendered, Vec<String>, Vec<String>) {
    let (mut engine, mut handle, mut report) = load_fresh(set, opts);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let script = script_for(set, "0.0 press 0 0\n");
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let streaming = report.streaming.take();
    let out = match streaming {
        Some(mut s) => {
            let mut d = DiskFeeder::new(s.service.take().unwrap(), true);
            let out = render_with(
                &mut engine,
                &mut handle,
                &mut [&mut feeder, &mut d],
                seconds,
                256,
                |_, _| {},
            );
            let errors = s.ctl.take_errors().iter().map(|e| e.to_string()).collect();
            return (out, report.warnings.clone(), errors);
        }
        None => render_with(
            &mut engine,
            &mut handle,
            &mut [&mut feeder],
            seconds,
            256,
            |_, _| {},
        ),
    };
    (out, report.warnings.clone(), Vec::new())
}

fn wraps(out: &Rendered) -> Vec<u64> {
    out.events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PadLooped(0)))
        .map(|e| e.frame)
        .collect()
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "pcm"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_resampled_loop_streams_bit_identical_to_ram_with_its_exact_length() {
    let dir = tmp();
    // 882,001 frames at 44.1 kHz: 960,001.088 frames at 48 kHz; 8,820 whole cycles.
    let frames = 882_001.0;
    write_wav16(
        &path(&dir, "l.wav"),
        44_100,
        frames / 44_100.0,
        sine(8_820.0 * 44_100.0 / frames, 0.5),
    );
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nfile = \"l.wav\"\n");
    let (ram, _, _) = play(
        &set,
        StreamOptions {
            limit: Some(u64::MAX / 4),
            ..Default::default()
        },
        40.1,
    );
    let cache = dir.path().join("cache");
    let (disk, warnings, errors) = play(&set, streamed(&cache), 40.1);
    assert!(
        warnings.is_empty() && errors.is_empty(),
        "{warnings:?} {errors:?}"
    );
    assert_eq!(
        cache_files(&cache).len(),
        1,
        "it streamed from a prepared copy"
    );
    assert_eq!(wraps(&ram), wraps(&disk));
    assert_eq!(wraps(&disk), vec![960_002, 1_920_003]);
    assert!(
        ram.samples == disk.samples,
        "streamed and in-RAM audio differ"
    );
}

#[test]
fn a_long_file_is_prepared_within_a_small_memory_limit() {
    let dir = tmp();
    // 12 minutes at 22.05 kHz: resampled to 48 kHz stereo, 138 MB prepared. Decoded whole, as
    // before, it took over 400 MB; a packet at a time it takes what a short file does.
    mono_tone(&path(&dir, "long.wav"), 22_050, 12.0 * 60.0);
    std::fs::write(
        path(&dir, "set.toml"),
        "[master]\nmemory_limit = \"48MB\"\n[[pad]]\npad = 0\nfile = \"long.wav\"\n",
    )
    .unwrap();
    std::fs::write(path(&dir, "s.txt"), "0.0 press 0 0\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_padlooper"))
        .args(["render", "--seconds", "1", "--set"])
        .arg(path(&dir, "set.toml"))
        .arg("--script")
        .arg(path(&dir, "s.txt"))
        .arg("-o")
        .arg(path(&dir, "out.wav"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env_remove("CACHE_DIRECTORY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // The render says its own peak (its VmHWM: what it touched, not what it was forked from).
    let peak_mb: f64 = err
        .split(", peak memory ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak in: {err}"));
    let peak = (peak_mb * (1 << 20) as f64) as u64;
    assert!(
        peak < 100 << 20,
        "peak RSS {} MB while preparing",
        peak >> 20
    );
    let prepared = cache_files(&dir.path().join("cache").join("padlooper"));
    assert_eq!(prepared.len(), 1);
    let len = std::fs::metadata(&prepared[0]).unwrap().len();
    assert!(len > 138_000_000, "{len}");
    let mut r = hound::WavReader::open(path(&dir, "out.wav")).unwrap();
    let x: Vec<f32> = r.samples::<f32>().map(|s| s.unwrap()).step_by(2).collect();
    assert!(
        (freq(&x[4800..]) - 441.0).abs() < 1.0,
        "the long file plays"
    );
}

/// Overwrites `len` bytes at `at` in `file` with garbage (the size stays).
fn damage(file: &Path, at: u64, len: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    let junk: Vec<u8> = (0..len).map(|i| (i * 97 % 251) as u8 | 0x40).collect();
    f.write_all(&junk).unwrap();
}

#[test]
fn a_prepared_copy_damaged_in_place_is_never_played_and_is_made_again() {
    let dir = tmp();
    write_wav16(&path(&dir, "l.wav"), 44_100, 20.0, sine(441.0, 0.5));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"l.wav\"\nloop = false\n",
    );
    let cache = dir.path().join("cache");
    let (clean, _, errors) = play(&set, streamed(&cache), 8.0);
    assert!(errors.is_empty(), "{errors:?}");
    let copy = cache_files(&cache).pop().unwrap();
    // Rot 4 KB at 5 s into the audio (past the heads kept in RAM), same size.
    damage(&copy, 64 + 5 * 48_000 * 4, 4096);
    let (hurt, warnings, errors) = play(&set, streamed(&cache), 8.0);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("l.wav")
            && errors[0].contains("is damaged")
            && errors[0].contains("made again"),
        "{}",
        errors[0]
    );
    // Never played: the pad faded out before the damaged frames (no louder than the tone).
    assert!(peak(&hurt.samples) <= peak(&clean.samples) + 1e-6);
    assert!(rms(&left(&hurt.samples, 6.0, 8.0)) < 1e-4, "faded out");
    assert!(!copy.exists(), "the damaged copy is deleted");
    // The next load makes it again, and it plays whole.
    let (again, _, errors) = play(&set, streamed(&cache), 8.0);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(again.samples == clean.samples);
}

#[test]
fn a_prepared_copy_damaged_in_its_first_seconds_is_made_again_at_load() {
    let dir = tmp();
    write_wav16(&path(&dir, "l.wav"), 44_100, 20.0, sine(441.0, 0.5));
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nfile = \"l.wav\"\n");
    let cache = dir.path().join("cache");
    let (clean, _, _) = play(&set, streamed(&cache), 2.0);
    let copy = cache_files(&cache).pop().unwrap();
    damage(&copy, 64 + 1000 * 4, 256);
    let (again, warnings, errors) = play(&set, streamed(&cache), 2.0);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("was damaged") && warnings[0].contains("made it again"),
        "{}",
        warnings[0]
    );
    assert!(again.samples == clean.samples);
}

#[test]
fn render_says_which_sample_failed_mid_render_and_exits_non_zero() {
    let dir = tmp();
    // 120 s: 23 MB at 48 kHz, more than the smallest memory_limit, so it streams.
    mono_tone(&path(&dir, "l.wav"), 44_100, 120.0);
    std::fs::write(
        path(&dir, "set.toml"),
        "[master]\nmemory_limit = \"16MB\"\n[[pad]]\npad = 0\nfile = \"l.wav\"\nloop = false\n",
    )
    .unwrap();
    std::fs::write(path(&dir, "s.txt"), "0.0 press 0 0\n").unwrap();
    let render = || {
        Command::new(env!("CARGO_BIN_EXE_padlooper"))
            .args(["render", "--seconds", "12", "--set"])
            .arg(path(&dir, "set.toml"))
            .arg("--script")
            .arg(path(&dir, "s.txt"))
            .arg("-o")
            .arg(path(&dir, "out.wav"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .env_remove("CACHE_DIRECTORY")
            .output()
            .unwrap()
    };
    let first = render();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let copy = cache_files(&dir.path().join("cache").join("padlooper"))
        .pop()
        .unwrap();
    damage(&copy, 64 + 8 * 48_000 * 4, 4096);
    let out = render();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("l.wav: its prepared copy") && err.contains("is damaged"),
        "{err}"
    );
    assert!(
        err.contains("out.wav: a sample failed while rendering"),
        "{err}"
    );
}
