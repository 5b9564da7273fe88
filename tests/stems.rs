//! Stems: a Demucs folder, a file list and a Native Instruments stem file load as one bundle;
//! mute, solo, gain and full mix ⇄ stems sound as the stems would alone and never click;
//! misaligned stems are padded or refused naming the file; scripts and set files name stems.

mod common;

// Every allocation or free made inside an RtSection (around `Engine::process`) is counted.
#[global_allocator]
static GLOBAL: padlooper::engine::rt::GuardedAlloc = padlooper::engine::rt::GuardedAlloc;

use std::path::Path;

use common::stem_mp4::write_stem_mp4;
use common::*;
use padlooper::config::script::Script;
use padlooper::engine::command::PadCmd;
use padlooper::sample::stems::{StemFiles, StemSource, load_stems};

/// Tones of the four Demucs stems (drums, bass, other, vocals) and their amplitude.
const TONES: [(&str, f64); 4] = [
    ("drums", 110.0),
    ("bass", 220.0),
    ("other", 440.0),
    ("vocals", 880.0),
];
const AMP: f64 = 0.1;

/// Writes a Demucs-style folder `sep` of 2-s stems (a tone each) into `dir`; `short` frames
/// are cut off the vocals.
fn demucs(dir: &Path, short: usize) {
    let sep = dir.join("sep");
    std::fs::create_dir_all(&sep).unwrap();
    for (name, f) in TONES {
        let secs = 2.0
            - if name == "vocals" {
                short as f64 / RATE as f64
            } else {
                0.0
            };
        write_wav16(&sep.join(format!("{name}.wav")), RATE, secs, sine(f, AMP));
    }
}

fn render(dir: &Path, set: &str, script: &str, seconds: f64) -> Vec<f32> {
    let set = set_in(dir, set);
    let (out, report) = render_set(&set, script, seconds);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    out.samples
}

/// Largest sample-wise difference of two renders.
fn diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn a_demucs_folder_is_one_bundle_in_demucs_order_and_plays_the_full_mix() {
    let dir = tmp();
    demucs(dir.path(), 0);
    let src = StemSource {
        mix: None,
        files: StemFiles::Folder(dir.path().join("sep")),
    };
    let (buf, warnings) = load_stems(&src, RATE).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(buf.groups(), 5, "the mix and four stems");
    let names: Vec<&str> = buf.stems.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["drums", "bass", "other", "vocals"]);
    assert_eq!(buf.frames(), 2 * RATE as usize);
    // 16-bit sources stay 16-bit: 5 pairs × 4 bytes per frame, held once.
    assert_eq!(buf.memory_bytes(), buf.frames() * 5 * 4);
    // The full mix (the stems summed, no mix file given) plays by default.
    let out = render(
        dir.path(),
        "[[pad]]\npad = 0\nstems = \"sep\"\n",
        "0.0 press 0 0\n",
        1.0,
    );
    let x = left(&out, 0.2, 0.8);
    for (_, f) in TONES {
        assert!((tone(&x, f) - AMP).abs() < 0.01, "{f} Hz: {}", tone(&x, f));
    }
}

#[test]
fn muted_stems_sound_as_the_others_alone_and_solo_wins_over_mute() {
    let dir = tmp();
    demucs(dir.path(), 0);
    let stems = render(
        dir.path(),
        "[[pad]]\npad = 0\nstems = \"sep\"\nstems_on = true\nstem_mute = [\"bass\", \"vocals\"]\n",
        "0.0 press 0 0\n",
        1.0,
    );
    let alone = render(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"sep/drums.wav\"\n[[pad]]\npad = 1\nfile = \"sep/other.wav\"\n",
        "0.0 press 0 0\n0.0 press 0 1\n",
        1.0,
    );
    let d = diff(&stems, &alone);
    assert!(
        d < 1e-5,
        "stems mode with bass and vocals muted = drums + other alone ({d})"
    );
    // Solo the muted bass: only the bass sounds.
    let solo = render(
        dir.path(),
        "[[pad]]\npad = 0\nstems = \"sep\"\nstems_on = true\nstem_mute = [\"bass\"]\n",
        "0.0 press 0 0\n0.0 stem 0 0 bass solo\n",
        1.0,
    );
    let bass = render(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"sep/bass.wav\"\n",
        "0.0 press 0 0\n",
        1.0,
    );
    let d = diff(&solo, &bass);
    assert!(d < 1e-5, "a soloed stem plays alone, even muted ({d})");
    // A stem's gain: vocals at -6 dB by name in the set, drums by number in a script.
    let gained = render(
        dir.path(),
        "[[pad]]\npad = 0\nstems = \"sep\"\nstems_on = true\nstem_gain_db = { vocals = -6 }\n",
        "0.0 press 0 0\n0.0 stemgain 0 0 1 -12\n",
        1.0,
    );
    let x = left(&gained, 0.2, 0.8);
    let db = |f: f64| 20.0 * (tone(&x, f) / AMP).log10();
    assert!((db(880.0) + 6.0).abs() < 0.1, "vocals {:.2} dB", db(880.0));
    assert!((db(110.0) + 12.0).abs() < 0.1, "drums {:.2} dB", db(110.0));
    assert!(db(220.0).abs() < 0.1 && db(440.0).abs() < 0.1);
}

#[test]
fn switching_muting_and_soloing_never_click_and_land_within_the_ramp() {
    let dir = tmp();
    demucs(dir.path(), 0);
    let steady = render(
        dir.path(),
        "[[pad]]\npad = 0\nstems = \"sep\"\n",
        "0.0 press 0 0\n",
        1.8,
    );
    // Off the tones' zero crossings (at whole tenths of a second all of them cross zero).
    let changes = "0.0 press 0 0\n0.3013 stems 0 0 on\n0.5021 stem 0 0 vocals mute\n\
                   0.7033 stem 0 0 drums solo\n0.9049 stem 0 0 drums unsolo\n\
                   1.1017 stemgain 0 0 bass -60\n1.3061 stem 0 0 vocals unmute\n1.5023 stems 0 0 off\n";
    let out = render(
        dir.path(),
        "[[pad]]\npad = 0\nstems = \"sep\"\n",
        changes,
        1.8,
    );
    // The steady mix's largest step between samples, and what a 10 ms ramp may add on top
    // (the loudest change, every stem at once, over 480 frames) with margin.
    let (base, ramp) = (
        max_jump(&left(&steady, 0.05, 1.8)),
        4.0 * AMP as f32 / 480.0,
    );
    let got = max_jump(&left(&out, 0.05, 1.8));
    assert!(
        got <= base + 2.0 * ramp,
        "step {got} vs steady {base} (+{ramp} per ramp)"
    );
    // Each change has landed 10 ms after its time.
    let at = |t: f64, f: f64| tone(&left(&out, t + 0.0141, t + 0.1941), f);
    assert!(at(0.5, 880.0) < 0.002, "vocals muted");
    assert!(at(0.5, 110.0) > 0.09);
    assert!(
        at(0.7, 220.0) < 0.002 && at(0.7, 110.0) > 0.09,
        "drums alone"
    );
    assert!(
        at(0.9, 220.0) > 0.09 && at(0.9, 880.0) < 0.002,
        "solo off, vocals still muted"
    );
    assert!(at(1.1, 220.0) < 0.002, "bass at -60 dB");
    assert!(at(1.3, 880.0) > 0.09);
    assert!(at(1.5, 220.0) > 0.09, "full mix again: the bass is in it");
    // The stems are the mix's parts, sample-locked: stems mode with everything on is the mix.
    let d = diff(&left(&out, 0.32, 0.49), &left(&steady, 0.32, 0.49));
    assert!(d < 1e-4, "all stems = the full mix ({d})");
}

#[test]
fn stems_a_little_short_are_padded_and_misaligned_ones_refused_naming_the_file() {
    let dir = tmp();
    demucs(dir.path(), 1_000);
    let src = StemSource {
        mix: None,
        files: StemFiles::Folder(dir.path().join("sep")),
    };
    let (buf, _) = load_stems(&src, RATE).unwrap();
    assert_eq!(buf.frames(), 2 * RATE as usize, "padded to the longest");
    // The end of the padded stem is silence.
    let bad = tmp();
    demucs(bad.path(), 10_000);
    let set = set_in(bad.path(), "[[pad]]\npad = 0\nstems = \"sep\"\n");
    let (_, report) = render_set(&set, "", 0.1);
    let e = report.error_text();
    assert!(e.contains("vocals.wav") && e.contains("shorter"), "{e}");
    assert!(e.contains("208.3 ms"), "says by how much: {e}");
}

#[test]
fn a_list_of_files_with_a_mix_file() {
    let dir = tmp();
    demucs(dir.path(), 0);
    write_wav16(&dir.path().join("mix.wav"), RATE, 2.0, sine(1000.0, 0.2));
    let set =
        "[[pad]]\npad = 0\nfile = \"mix.wav\"\nstems = [\"sep/vocals.wav\", \"sep/drums.wav\"]\n";
    let out = render(dir.path(), set, "0.0 press 0 0\n0.5 stems 0 0 on\n", 1.0);
    let (mix, stems) = (left(&out, 0.1, 0.45), left(&out, 0.55, 0.95));
    assert!(
        tone(&mix, 1000.0) > 0.19 && tone(&mix, 880.0) < 0.002,
        "the mix file"
    );
    assert!(tone(&stems, 1000.0) < 0.002, "the stems");
    assert!(
        tone(&stems, 880.0) > 0.09 && tone(&stems, 110.0) > 0.09 && tone(&stems, 220.0) < 0.002
    );
}

#[test]
fn a_native_instruments_stem_file_decodes_with_its_names_and_colours() {
    let dir = tmp();
    let n = RATE as usize / 2;
    let track = |f: f64, amp: f64| -> Vec<i16> {
        (0..n)
            .flat_map(|i| {
                let v = (amp
                    * (2.0 * std::f64::consts::PI * f * i as f64 / RATE as f64).sin()
                    * 32767.0)
                    .round() as i16;
                [v, v]
            })
            .collect()
    };
    let tracks = [
        track(1000.0, 0.2),
        track(110.0, AMP),
        track(220.0, AMP),
        track(440.0, AMP),
        track(880.0, AMP),
    ];
    let meta = r##"{"stems":[{"name":"Kick","color":"#FF0000"},{"name":"Low","color":"#00FF00"},{"name":"Synth","color":"#0000FF"},{"name":"Voice","color":"#56B4E9"}],"mastering_dsp":{},"version":1}"##;
    let path = dir.path().join("song.stem.mp4");
    write_stem_mp4(&path, RATE, &tracks, Some(meta));
    let src = StemSource {
        mix: None,
        files: StemFiles::Ni(path.clone()),
    };
    let (buf, _) = load_stems(&src, RATE).unwrap();
    assert_eq!(buf.groups(), 5, "the master and four stems, in one pass");
    let names: Vec<&str> = buf.stems.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Kick", "Low", "Synth", "Voice"]);
    assert_eq!(buf.stems[0].color, [255, 0, 0]);
    assert_eq!(buf.frames(), n);
    // The master track is the full mix.
    let [l, _] = buf.frame(1234);
    assert!((l - tracks[0][2468] as f32 / 32768.0).abs() < 1e-6);
    // Played from a set (`file = "*.stem.mp4"`), a script soloing "Voice" by name.
    let out = render(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"song.stem.mp4\"\n",
        "0.0 press 0 0\n0.2 stems 0 0 on\n0.2 stem 0 0 voice solo\n",
        0.45,
    );
    let (mix, solo) = (left(&out, 0.02, 0.18), left(&out, 0.22, 0.44));
    assert!(tone(&mix, 1000.0) > 0.19);
    assert!(tone(&solo, 880.0) > 0.09 && tone(&solo, 1000.0) < 0.002 && tone(&solo, 110.0) < 0.002);
    // Without the metadata box: Native Instruments' default names and colours.
    let plain = dir.path().join("plain.stem.m4a");
    write_stem_mp4(&plain, RATE, &tracks, None);
    let (buf, _) = load_stems(
        &StemSource {
            mix: None,
            files: StemFiles::Ni(plain),
        },
        RATE,
    )
    .unwrap();
    let names: Vec<&str> = buf.stems.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["drums", "bass", "other", "vocals"]);
    assert_eq!(buf.stems[3].color, [0x56, 0xB4, 0xE9]);
    // A file with one track is not a stem file.
    let single = dir.path().join("one.stem.mp4");
    write_stem_mp4(&single, RATE, &tracks[..1], None);
    let e = load_stems(
        &StemSource {
            mix: None,
            files: StemFiles::Ni(single),
        },
        RATE,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("one.stem.mp4") && e.contains("not a stem file"),
        "{e}"
    );
}

#[test]
fn unknown_stem_names_are_errors_naming_the_line() {
    let dir = tmp();
    demucs(dir.path(), 0);
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nstems = \"sep\"\n[[pad]]\npad = 1\nfile = \"sep/bass.wav\"\n",
    );
    let mut s = Script::parse(
        Path::new("s.txt"),
        "0.0 stem 0 0 vocals mute\n1.0 stem 0 0 guitar mute\n2.0 stemgain 0 1 bass -3\n",
        &set.grid,
    )
    .unwrap();
    let e = s
        .resolve_stems(Path::new("s.txt"), |p| set.stem_names(p as usize))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("s.txt:2") && e.contains("guitar") && e.contains("drums, bass, other, vocals"),
        "{e}"
    );
    assert!(e.contains("s.txt:3") && e.contains("no stems"), "{e}");
    // In a set: an unknown name fails that pad's load with the names it has.
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nstems = \"sep\"\nstem_mute = [\"voice\"]\n",
    );
    let (_, report) = render_set(&set, "", 0.1);
    let e = report.error_text();
    assert!(
        e.contains("no stem named \"voice\"") && e.contains("vocals"),
        "{e}"
    );
    // Stem settings without stems.
    let p = dir.path().join("bad.toml");
    std::fs::write(
        &p,
        "[[pad]]\npad = 0\nfile = \"sep/bass.wav\"\nstems_on = true\n",
    )
    .unwrap();
    let e = padlooper::config::SetFile::load(&p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.toml:1") && e.contains("need stems"), "{e}");
}

#[test]
fn a_key_locked_stem_pad_keeps_its_pitch_with_its_stems() {
    let dir = tmp();
    demucs(dir.path(), 0);
    let set = "[[pad]]\npad = 0\nstems = \"sep\"\nstems_on = true\nkey_lock = true\nspeed = 1.25\n";
    let out = render(
        dir.path(),
        set,
        "0.0 press 0 0\n0.0 stem 0 0 vocals solo\n",
        1.5,
    );
    let x = left(&out, 0.6, 1.4);
    assert!(
        tone(&x, 880.0) > 0.05,
        "the soloed vocals at their own pitch: {}",
        tone(&x, 880.0)
    );
    assert!(tone(&x, 1100.0) < 0.01, "not sped up: {}", tone(&x, 1100.0));
    assert!(
        tone(&x, 440.0) < 0.01 && tone(&x, 110.0) < 0.01,
        "only the vocals"
    );
}

#[test]
fn stem_changes_are_saved_and_come_back_on_a_fresh_engine() {
    use padlooper::control::live::session_state::SessionState;
    use padlooper::control::set::loader::{engine_settings, load_set};
    use padlooper::engine::Engine;
    use padlooper::engine::command::{Command, StemCmd};
    let dir = tmp();
    demucs(dir.path(), 0);
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nstems = \"sep\"\n");
    let (mut e, mut h) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let report = load_set(&set, &mut h, 0, &|_, _| {});
    for c in [
        StemCmd::Stems(Some(true)),
        StemCmd::Mute(3, Some(true)),
        StemCmd::Solo(1, Some(true)),
        StemCmd::Gain(2, 0.5),
    ] {
        h.command(Command::Pad(0, PadCmd::Stem(c))).unwrap();
    }
    let mut buf = vec![0.0f32; 512];
    e.process(&mut buf);
    let st = SessionState::capture(&h.stats().live, &set, &report.configs, 0);
    let text = toml::to_string(&st).unwrap();
    assert!(
        text.contains("stems_on = true") && text.contains("stem_mute = 8"),
        "{text}"
    );
    let back: SessionState = toml::from_str(&text).unwrap();
    // A fresh engine with the saved commands sounds like the changed one: the bass alone.
    let (mut e2, mut h2) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let report2 = load_set(&set, &mut h2, 0, &|_, _| {});
    for c in back.commands(&report2.configs) {
        h2.command(c).unwrap();
    }
    h2.command(Command::Pad(0, PadCmd::Press)).unwrap();
    let mut out = vec![0.0f32; 2 * 24_000];
    e2.process(&mut out);
    let x = left(&out, 0.1, 0.5);
    assert!(tone(&x, 220.0) > 0.09 && tone(&x, 110.0) < 0.002 && tone(&x, 880.0) < 0.002);
}

/// Writes 6-s stems long enough to stream: a 16-bit Demucs folder `long` and two float stem
/// files `f1.wav`, `f2.wav`.
fn long_stems(dir: &Path) {
    let sep = dir.join("long");
    std::fs::create_dir_all(&sep).unwrap();
    for (name, f) in TONES {
        write_wav16(&sep.join(format!("{name}.wav")), RATE, 6.0, sine(f, AMP));
    }
    write_wav_f32(&dir.join("f1.wav"), RATE, 6.0, sine(330.0, 0.1));
    write_wav_f32(&dir.join("f2.wav"), RATE, 6.0, sine(660.0, 0.1));
}

#[test]
fn stem_pads_stream_within_a_small_budget_and_sound_the_same_as_from_ram() {
    use padlooper::control::offline::renderer::{DiskFeeder, Feeder, ScriptFeeder, render_with};
    use padlooper::control::set::stream_load::StreamOptions;
    use padlooper::sample::plan::Residency;
    let dir = tmp();
    long_stems(dir.path());
    let set = set_in(
        dir.path(),
        "[master]\nvoices = 8\n\
         [[pad]]\npad = 0\nstems = \"long\"\nspeed = 2.0\n\
         [[pad]]\npad = 1\nstems = [\"f1.wav\", \"f2.wav\"]\nloop_start = 1.0\nloop_end = 5.5\nspeed = 0.73\n",
    );
    let script = "0.0 press 0 0\n0.0 press 0 1\n0.4013 stems 0 0 on\n0.9021 stem 0 0 vocals mute\n\
                  1.3033 stem 0 0 bass solo\n1.7049 stems 0 1 on\n2.1017 stem 0 1 f2 mute\n\
                  2.5061 stemgain 0 0 bass -9\n2.9023 press 0 0\n3.3011 stem 0 0 bass unsolo\n\
                  3.7003 stems 0 1 off\n";
    let render = |opts: StreamOptions| {
        let (mut engine, mut handle, mut report) = load_fresh(&set, opts);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let streamed = report.plan.as_ref().map_or(0, |p| {
            p.tables
                .iter()
                .filter(|t| t.residency != Residency::Ram)
                .count()
        });
        let s = script_for(&set, script);
        let mut feeder = ScriptFeeder::new(&s, RATE);
        let mut disk = report
            .streaming
            .as_mut()
            .and_then(|s| s.service.take())
            .map(|s| DiskFeeder::new(s, true));
        let mut feeders: Vec<&mut dyn Feeder> = vec![&mut feeder];
        if let Some(d) = disk.as_mut() {
            feeders.push(d);
        }
        let out = render_with(&mut engine, &mut handle, &mut feeders, 5.0, 256, |_, _| {});
        (out.samples, streamed, report.memory.0)
    };
    let (ram, none, ram_bytes) = render(StreamOptions {
        limit: Some(u64::MAX / 4),
        ..Default::default()
    });
    assert_eq!(none, 0);
    let cache = tmp();
    let (streamed, n, held) = render(StreamOptions {
        limit: Some(30_000_000),
        cache_dir: cache.path().to_path_buf(),
        chunk_bytes: 32 * 1024,
        loop_ram_max: 0,
        ..Default::default()
    });
    assert_eq!(n, 2, "both bundles stream (16-bit and float)");
    assert!(held < ram_bytes / 2, "held {held} of {ram_bytes}");
    assert!(
        ram == streamed,
        "streamed stem pads sound exactly as from RAM (largest difference {})",
        diff(&ram, &streamed)
    );
    // And the stems did change things: vocals gone after 0.9 s on the 2x pad.
    let x = left(&streamed, 1.0, 1.25);
    assert!(tone(&x, 1760.0) < 0.002, "muted vocals at 2x");
}

#[test]
fn streamed_stem_pads_starving_and_switching_never_allocate_in_process() {
    use padlooper::control::offline::renderer::{DiskFeeder, ScriptFeeder};
    use padlooper::control::set::stream_load::StreamOptions;
    use padlooper::engine::shared::Counter;
    use padlooper::sample::stream::throttle::{Throttle, ThrottledReader};
    let dir = tmp();
    long_stems(dir.path());
    let set = set_in(
        dir.path(),
        "[master]\nvoices = 8\n[[pad]]\npad = 0\nstems = \"long\"\nspeed = 2.0\n\
         [[pad]]\npad = 1\nstems = [\"f1.wav\", \"f2.wav\"]\nloop_start = 1.0\nspeed = 1.5\n",
    );
    // A disk slow enough to starve, so fades and silences happen too.
    let slow = Throttle {
        latency: 4_800,
        bytes_per_frame: 20.0,
        ..Default::default()
    };
    let opts = StreamOptions {
        limit: Some(30_000_000),
        cache_dir: dir.path().join("cache"),
        reader: Some(Box::new(ThrottledReader::new(slow))),
        chunk_bytes: 32 * 1024,
        loop_ram_max: 0,
    };
    let (mut engine, mut handle, mut report) = load_fresh(&set, opts);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let service = report.streaming.as_mut().unwrap().service.take().unwrap();
    let mut disk = DiskFeeder::new(service, false);
    let mut text = String::from("0.0 press 0 0\n0.0 press 0 1\n");
    for i in 0..40 {
        let t = 0.1 + i as f64 * 0.13;
        let line = match i % 6 {
            0 => "stems 0 0 on",
            1 => "stem 0 0 vocals mute",
            2 => "stem 0 1 f2 solo",
            3 => "stemgain 0 0 bass -6",
            4 => "stems 0 1 on",
            _ => "press 0 0",
        };
        text.push_str(&format!("{t:.3} {line}\n"));
    }
    let script = script_for(&set, &text);
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let allocs = guarded_blocks(
        &mut engine,
        &mut handle,
        &mut feeder,
        &mut disk,
        6 * RATE as usize / 256,
        |_, _| {},
    );
    assert_eq!(
        allocs, 0,
        "Engine::process allocated or freed with streamed stem pads"
    );
    assert!(
        engine.stats().counters.get(Counter::DiskStarved) > 0,
        "the slow disk starved the stem pads"
    );
}
