//! Analysis used: `padlooper analyze`, the cache (a second load or a restart analyses
//! nothing), `bpm = "auto"` and loops placed on the analysed grid, heard in renders.

use std::process::Command;

use padlooper::control::set::stream_load::StreamOptions;
use padlooper::control::set::table_store::TableStore;
use padlooper::engine::event::EventKind;

use crate::common::corpus::{self, Recipe};
use crate::common::*;

fn write_piece(path: &std::path::Path, r: &Recipe) -> corpus::Piece {
    let p = corpus::make(r);
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: p.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in &p.samples {
        w.write_sample((s * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
    p
}

fn loop_1273() -> Recipe {
    corpus::loops()
        .into_iter()
        .find(|r| r.name == "loop 127.3")
        .unwrap()
}

fn lead_in_track() -> Recipe {
    corpus::tracks()
        .into_iter()
        .find(|r| r.name == "track 128 lead-in")
        .unwrap()
}

fn analyze(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_padlooper"))
        .arg("analyze")
        .args(args)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env_remove("CACHE_DIRECTORY")
        .output()
        .unwrap()
}

#[test]
fn analyze_prints_tempo_downbeat_and_key_and_fails_clearly_on_a_bad_file() {
    let dir = tmp();
    let wav = path(&dir, "loop.wav");
    write_piece(&wav, &loop_1273());
    let out = analyze(dir.path(), &[wav.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("127.30 BPM"), "{text}");
    assert!(text.contains("first downbeat 0.000 s"), "{text}");
    assert!(text.contains("Eb major (5B"), "{text}");
    // JSON: the beats and downbeats, on the true grid.
    let out = analyze(dir.path(), &["--json", wav.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &v[0];
    assert!((a["bpm"].as_f64().unwrap() - 127.3).abs() < 0.01, "{a}");
    assert_eq!(a["beats_per_bar"], 4);
    assert_eq!(a["camelot"], "5B");
    let beats = a["beats"].as_array().unwrap();
    assert_eq!(beats.len(), 32);
    for (i, b) in beats.iter().enumerate() {
        let want = i as f64 * 60.0 / 127.3;
        assert!(
            (b.as_f64().unwrap() - want).abs() < 0.002,
            "beat {i}: {b} vs {want}"
        );
    }
    assert_eq!(a["downbeats"].as_array().unwrap().len(), 8);
    // A file it cannot read: one clear line naming it, exit 1; the good file still printed.
    let bad = path(&dir, "bad.wav");
    std::fs::write(&bad, b"RIFF....WAVEjunk").unwrap();
    let missing = path(&dir, "missing.wav");
    let out = analyze(
        dir.path(),
        &[
            bad.to_str().unwrap(),
            wav.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bad.wav") && err.contains("missing.wav"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("127.30 BPM"));
}

fn auto_set(dir: &std::path::Path) -> padlooper::config::SetFile {
    set_in(
        dir,
        "[master]\nbpm = 126\nsync = true\nquantize = \"bar\"\n\
         [[pad]]\npad = 0\nfile = \"loop.wav\"\nbpm = \"auto\"\n\
         [[pad]]\npad = 1\nfile = \"track.wav\"\nloop = \"2bars\"\nloop_from_bar = 3\n",
    )
}

#[test]
fn analysis_is_cached_by_content_across_reloads_and_restarts() {
    let dir = tmp();
    write_piece(&path(&dir, "loop.wav"), &loop_1273());
    write_piece(&path(&dir, "track.wav"), &lead_in_track());
    let set = auto_set(dir.path());
    let cache = path(&dir, "cache");
    let opts = || StreamOptions {
        cache_dir: cache.clone(),
        ..StreamOptions::default()
    };
    let load = |store: &mut TableStore| {
        let (_engine, mut handle) = padlooper::engine::Engine::new(
            padlooper::control::set::loader::engine_settings(&set, RATE),
        )
        .unwrap();
        padlooper::control::set::loader::load_set_opts(
            &set,
            &mut handle,
            0,
            &|_, _| {},
            &padlooper::sample::loader::load_one,
            opts(),
            store,
        )
    };
    let mut store = TableStore::new();
    let report = load(&mut store);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(store.analyses.made, 2);
    assert_eq!(report.applied.len(), 2, "{:?}", report.applied);
    assert!(
        report.applied[0].contains("127.30 BPM"),
        "{:?}",
        report.applied
    );
    // A reload: nothing analysed again.
    let again = load(&mut store);
    assert_eq!(store.analyses.made, 2);
    assert_eq!(again.configs, report.configs);
    // A restart (a new process's cache, the same folder): read from disk.
    let mut fresh = TableStore::new();
    let restarted = load(&mut fresh);
    assert_eq!(fresh.analyses.made, 0);
    assert_eq!(fresh.analyses.hits, 2);
    assert_eq!(restarted.configs, report.configs);
    // The grid loop: bars 3–4 of the 128 BPM track, after its 0.37 s lead-in.
    let (_, cfg) = report.configs.iter().find(|(p, _)| *p == 1).unwrap();
    let bar = 4.0 * 60.0 / 128.0;
    let want = ((0.37 + 2.0 * bar) * RATE as f64).round() as u32;
    assert!(
        cfg.loop_start.abs_diff(want) <= 48,
        "{} vs {want}: {:?}",
        cfg.loop_start,
        report.applied
    );
    assert!((cfg.bpm - 128.0).abs() < 0.05, "{}", cfg.bpm);
}

#[test]
fn analysed_loops_wrap_together_on_bar_lines() {
    let dir = tmp();
    write_piece(&path(&dir, "loop.wav"), &loop_1273());
    write_piece(&path(&dir, "track.wav"), &lead_in_track());
    let set = auto_set(dir.path());
    let (out, report) = render_set(&set, "0.3 press 0 0\n0.3 press 0 1\n", 22.0);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let bars: Vec<u64> = frames_of(&out.events, |k| matches!(k, EventKind::Bar(_)));
    let on_bar = |f: u64| bars.iter().any(|b| b.abs_diff(f) <= 1);
    // The first press starts the transport: both start on bar 1, the 8-bar loop wraps on bar
    // 9, the 2-bar loop on bars 3, 5, 7, 9, 11: every wrap on a bar line, the long loop's
    // with the short one's.
    let a = frames_of(&out.events, |k| *k == EventKind::PadLooped(0));
    let b = frames_of(&out.events, |k| *k == EventKind::PadLooped(1));
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(b.len(), 5, "{b:?}");
    for w in a.iter().chain(&b) {
        assert!(on_bar(*w), "wrap at {w} is off the bars {bars:?}");
    }
    assert!(b.iter().any(|w| w.abs_diff(a[0]) <= 1));
    // And what plays is the track's bars 3–4: the loop starts on its kick (a loud low hit
    // right after the wrap, not silence or a hat).
    let at = b[0] as usize;
    let after = rms(&out.samples[2 * at..2 * (at + 2400)]);
    assert!(after > 0.05, "rms after the wrap {after}");
}

/// The first error line of a set that does not parse.
fn set_error(dir: &std::path::Path, body: &str) -> String {
    let p = dir.join("bad.toml");
    std::fs::write(&p, body).unwrap();
    match padlooper::config::SetFile::load(&p) {
        Ok(_) => panic!("accepted:\n{body}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn wrong_tempo_and_grid_keys_say_what_to_write() {
    let dir = tmp();
    let pad = "[[pad]]\npad = 0\nfile = \"a.wav\"\n";
    for (body, line, want) in [
        (
            format!("{pad}bpm = \"fast\"\n"),
            4,
            "give the sample's tempo (20 to 300 BPM) or \"auto\"",
        ),
        (
            format!("{pad}loop = \"4 bananas\"\n"),
            4,
            "such as \"4bars\"",
        ),
        (
            format!("{pad}loop = \"4bars\"\nloop_end = 2.0\n"),
            4,
            "takes no `loop_start`/`loop_end`",
        ),
        (
            format!("{pad}loop_from_bar = 3\n"),
            4,
            "give its length too",
        ),
        (
            format!("{pad}loop = \"4bars\"\nbeats = 8\n"),
            5,
            "remove `beats`",
        ),
        (
            format!("{pad}loop_from_bar = 0\nloop = \"1bar\"\n"),
            4,
            "allowed 1 to 9999",
        ),
        (
            "[master]\ntempo_range = [100, 150]\n".to_string(),
            2,
            "at least an octave",
        ),
    ] {
        let e = set_error(dir.path(), &body);
        assert!(e.contains(&format!("bad.toml:{line}:")), "{body}\n{e}");
        assert!(e.contains(want), "{body}\n{e}");
    }
}

#[test]
fn a_pad_that_asks_for_analysis_of_a_file_without_a_beat_fails_alone_and_says_why() {
    let dir = tmp();
    write_wav16(&path(&dir, "tone.wav"), RATE, 4.0, sine(220.0, 0.3));
    write_wav16(&path(&dir, "blip.wav"), RATE, 0.5, sine(220.0, 0.3));
    write_piece(&path(&dir, "loop.wav"), &loop_1273());
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"tone.wav\"\nbpm = \"auto\"\n\
         [[pad]]\npad = 1\nfile = \"loop.wav\"\nloop = \"16bars\"\n\
         [[pad]]\npad = 2\nfile = \"blip.wav\"\nbpm = \"auto\"\n\
         [[pad]]\npad = 3\nfile = \"loop.wav\"\nbpm = 127.3\n",
    );
    let (_, report) = render_set(&set, "", 0.1);
    let text = report.error_text();
    assert_eq!(report.errors.len(), 3, "{text}");
    assert!(
        text.contains("set.toml:4: bank 0 pad 0") && text.contains("analysis found no beat in"),
        "{text}"
    );
    assert!(text.contains("give its tempo with `bpm = N`"), "{text}");
    // 16 bars of a loop of 8: the grid loop's own line, and what to change.
    assert!(text.contains("set.toml:8: bank 0 pad 1"), "{text}");
    assert!(
        text.contains("beyond the end of") && text.contains("shorter loop"),
        "{text}"
    );
}

#[test]
fn check_shows_what_analysis_found_for_pads_that_give_no_tempo_without_applying_it() {
    let dir = tmp();
    write_piece(&path(&dir, "loop.wav"), &loop_1273());
    let set = path(&dir, "set.toml");
    std::fs::write(
        &set,
        "[[pad]]\npad = 0\nfile = \"loop.wav\"\n[[pad]]\npad = 1\nfile = \"loop.wav\"\nbpm = \"auto\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_padlooper"))
        .args(["check", "--set", set.to_str().unwrap()])
        .env("XDG_CACHE_HOME", path(&dir, "cache"))
        .env_remove("CACHE_DIRECTORY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("bank 0 pad 0: analysis: 127.30 BPM (confidence 1.00)")
            && text.contains("(not applied; write `bpm = \"auto\"`"),
        "{text}"
    );
    assert!(
        text.contains("bank 0 pad 1: analysis: 127.30 BPM") && text.contains("(applied"),
        "{text}"
    );
    // The analysis was cached for the next run.
    assert!(
        path(&dir, "cache")
            .join("padlooper")
            .join("analysis")
            .is_dir()
    );
}

#[test]
fn analyze_writes_the_grid_into_the_set_where_it_can_be_corrected() {
    let dir = tmp();
    write_piece(&path(&dir, "loop.wav"), &loop_1273());
    write_piece(&path(&dir, "track.wav"), &lead_in_track());
    let set = path(&dir, "set.toml");
    std::fs::write(
        &set,
        "# my set\n[[pad]]\npad = 0\nfile = \"loop.wav\"\nbpm = \"auto\"   # found by analysis\n\
         [[pad]]\npad = 1\nfile = \"track.wav\"\nloop = \"2bars\"\nloop_from_bar = 3\n",
    )
    .unwrap();
    let out = analyze(dir.path(), &["--set", set.to_str().unwrap(), "--write"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("wrote `bpm` and `grid_offset` for 2 pad(s)"),
        "{text}"
    );
    let written = std::fs::read_to_string(&set).unwrap();
    assert!(written.starts_with("# my set\n"), "{written}");
    assert!(
        written.contains("bpm = 127.3   # found by analysis"),
        "{written}"
    );
    // Now the set says it all: nothing needs analysis, and it plays the same region.
    let parsed = padlooper::config::SetFile::load(&set).unwrap();
    assert!(parsed.pads.iter().all(|p| !p.needs_analysis()));
    let (_, report) = render_set(&parsed, "", 0.1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.applied.is_empty());
    let (_, cfg) = report.configs.iter().find(|(p, _)| *p == 1).unwrap();
    let want = ((0.37 + 2.0 * 1.875) * RATE as f64).round() as u32;
    assert!(cfg.loop_start.abs_diff(want) <= 48, "{}", cfg.loop_start);
}

#[test]
fn a_live_load_analyses_the_other_loops_in_the_background_for_later() {
    let dir = tmp();
    write_piece(&path(&dir, "loop.wav"), &loop_1273());
    write_piece(&path(&dir, "track.wav"), &lead_in_track());
    write_wav16(&path(&dir, "hit.wav"), RATE, 0.5, sine(440.0, 0.3));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"loop.wav\"\n[[pad]]\npad = 1\nfile = \"track.wav\"\n\
         [[pad]]\npad = 2\nfile = \"loop.wav\"\nbpm = \"auto\"\n\
         [[pad]]\npad = 3\nfile = \"hit.wav\"\nmode = \"oneshot\"\n",
    );
    let cache = path(&dir, "cache");
    let done = padlooper::control::set::analyse::analyse_in_background(&set, &cache)
        .expect("something to analyse")
        .join()
        .unwrap();
    // loop.wav (pad 0) and track.wav; the one-shot is not a loop, pad 2 analyses at load.
    assert_eq!(done, 2);
    let files = std::fs::read_dir(cache.join("analysis")).unwrap().count();
    assert_eq!(files, 2);
    // What it left is what a load that asks then finds: nothing analysed again.
    let mut store = TableStore::new();
    let (_engine, mut handle) = padlooper::engine::Engine::new(
        padlooper::control::set::loader::engine_settings(&set, RATE),
    )
    .unwrap();
    let report = padlooper::control::set::loader::load_set_opts(
        &set,
        &mut handle,
        0,
        &|_, _| {},
        &padlooper::sample::loader::load_one,
        StreamOptions {
            cache_dir: cache.clone(),
            ..StreamOptions::default()
        },
        &mut store,
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!((store.analyses.made, store.analyses.hits), (0, 1));
}
