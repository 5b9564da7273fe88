//! Key lock and transpose quality gates, on synthetic signals, through set files and scripts:
//! pitch held at other tempos, transpose intervals, steady level, no clicks (steady, during
//! tempo sweeps and transpose steps, at stretcher → table hand-offs and table seams), bursts on
//! time, loops that keep time for five minutes, and the plain path untouched. Each runs on the
//! real-time stretchers alone (`table_memory_mb = 0`; Signalsmith, the default, and Rubber
//! Band) and on the hybrid tables (rendered by each).

use std::path::Path;

use crate::common::analysis::{burst_shift, cents, fft_freq, step_ratio, window_db, window_freqs};
use crate::common::{RATE, left, set_in, tmp, write_wav16};
use padlooper::config::SetFile;
use padlooper::config::script::Script;
use padlooper::control::offline::renderer::{ScriptFeeder, render_with};
use padlooper::control::set::loader::{engine_settings, load_set};
use padlooper::engine::Engine;
use padlooper::engine::command::PadCmd;
use padlooper::engine::event::{EngineEvent, EventKind};
use padlooper::engine::keylock::view::KeylockReading;

/// A render with what key lock was doing after every block.
pub(crate) struct Run {
    /// Left channel.
    pub(crate) l: Vec<f32>,
    events: Vec<EngineEvent>,
    /// Key-lock reading after each 256-frame block.
    pub(crate) kl: Vec<KeylockReading>,
    pub(crate) governed: u64,
}

impl Run {
    pub(crate) fn secs(&self, a: f64, b: f64) -> &[f32] {
        let (a, b) = ((a * RATE as f64) as usize, (b * RATE as f64) as usize);
        &self.l[a..b.min(self.l.len())]
    }
    pub(crate) fn reading_at(&self, t: f64) -> KeylockReading {
        self.kl[((t * RATE as f64) as usize / 256).min(self.kl.len() - 1)]
    }
}

pub(crate) fn run(set: &SetFile, script: &str, seconds: f64) -> Run {
    let settings = engine_settings(set, RATE);
    let (mut engine, mut handle) = Engine::new(settings).unwrap();
    if set.master.stretch_workers > 0.0 {
        // The render waits for them before each block (as if they always kept up).
        assert!(handle.start_stretch_workers(|_| {}) > 0);
    }
    let report = load_set(set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let script = Script::parse(Path::new("script"), script, &set.grid).unwrap();
    let mut tables = padlooper::control::keylock::setup::offline(set, &report, &mut handle, true);
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let stats = engine.stats().clone();
    let mut kl = Vec::new();
    let out = render_with(
        &mut engine,
        &mut handle,
        &mut [&mut feeder, &mut tables],
        seconds,
        256,
        |_, _| kl.push(stats.keylock.read()),
    );
    Run {
        l: left(&out.samples, 0.0, seconds),
        events: out.events,
        kl,
        governed: stats
            .counters
            .get(padlooper::engine::shared::Counter::Governed),
    }
}

/// The ways a steady key-locked pad can play.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Real-time stretchers only (the default stretcher, Signalsmith).
    Rt,
    /// Stretched tables (prefetched at load).
    Table,
    /// Real-time stretchers only, Rubber Band's (`stretcher = "rubberband"`).
    RtRubberBand,
    /// Tables rendered by Rubber Band's R3 (`table_stretcher = "rubberband"`).
    TableRubberBand,
    /// Real-time stretchers (Signalsmith) running ahead on two worker threads.
    Workers,
}

const MODES: [Mode; 5] = [
    Mode::Rt,
    Mode::Table,
    Mode::RtRubberBand,
    Mode::TableRubberBand,
    Mode::Workers,
];

fn master(mode: Mode, extra: &str) -> String {
    let mem = if matches!(mode, Mode::Table | Mode::TableRubberBand) {
        256
    } else {
        0
    };
    let st = match mode {
        Mode::RtRubberBand => "stretcher = \"rubberband\"\n",
        Mode::TableRubberBand => "table_stretcher = \"rubberband\"\n",
        Mode::Workers => "stretch_workers = 2\n",
        _ => "",
    };
    format!("[master]\ntable_memory_mb = {mem}\n{st}{extra}\n")
}

/// A 2-s looped sine (whole periods: seamless) at amplitude 0.5.
pub(crate) fn sine_wav(dir: &Path, name: &str, f: f64) {
    write_wav16(&dir.join(name), RATE, 2.0, crate::common::sine(f, 0.5));
}

/// Asserts where the voices were playing: on tables, or on stretchers, at time `t`.
fn assert_path(r: &Run, t: f64, mode: Mode) {
    let k = r.reading_at(t);
    match mode {
        Mode::Rt | Mode::RtRubberBand => {
            assert!(
                k.rt >= 1 && k.tables == 0 && k.ahead == 0,
                "at {t} s: {k:?}"
            )
        }
        Mode::Workers => {
            assert!(
                k.rt >= 1 && k.ahead == k.rt && k.tables == 0,
                "at {t} s: {k:?}"
            )
        }
        Mode::Table | Mode::TableRubberBand => {
            assert!(k.tables >= 1 && k.rt == 0, "at {t} s: {k:?}")
        }
    }
}

#[test]
fn pitch_holds_at_other_tempos() {
    let dir = tmp();
    for f in [110.0, 220.0, 440.0, 1000.0] {
        sine_wav(dir.path(), &format!("s{f}.wav"), f);
    }
    for mode in MODES {
        for f in [110.0, 220.0, 440.0, 1000.0] {
            for tempo in [0.8, 1.25] {
                let set = set_in(
                    dir.path(),
                    &format!(
                        "{}[[pad]]\npad = 0\nfile = \"s{f}.wav\"\nspeed = {tempo}\nkey_lock = true\n",
                        master(mode, "")
                    ),
                );
                let r = run(&set, "0 press 0 0", 7.0);
                assert_path(&r, 5.0, mode);
                let x = r.secs(3.0, 7.0);
                let c = cents(fft_freq(x), f);
                assert!(
                    c.abs() <= 2.0,
                    "{mode:?} {f} Hz at tempo {tempo}: {c:+.3} cents"
                );
                let worst = window_freqs(x, 100.0)
                    .into_iter()
                    .map(|w| cents(w, f).abs())
                    .fold(0.0, f64::max);
                assert!(
                    worst <= 5.0,
                    "{mode:?} {f} Hz at tempo {tempo}: a 100 ms window is {worst:.2} cents off"
                );
            }
        }
    }
}

#[test]
fn transpose_hits_the_interval() {
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    for mode in MODES {
        for (semis, fine) in [(3, 0), (-2, 0), (0, 25)] {
            for tempo in [1.0, 1.25] {
                let set = set_in(
                    dir.path(),
                    &format!(
                        "{}[[pad]]\npad = 0\nfile = \"a.wav\"\nspeed = {tempo}\nkey_lock = true\ntranspose = {semis}\nfine = {fine}\n",
                        master(mode, "")
                    ),
                );
                let r = run(&set, "0 press 0 0", 7.0);
                assert_path(&r, 5.0, mode);
                let want = 440.0 * 2f64.powf((semis as f64 + fine as f64 / 100.0) / 12.0);
                let c = cents(fft_freq(r.secs(3.0, 7.0)), want);
                assert!(
                    c.abs() <= 2.0,
                    "{mode:?} {semis} st {fine} c at tempo {tempo}: {c:+.3} cents"
                );
            }
        }
    }
}

#[test]
fn transpose_without_key_lock_follows_the_speed() {
    // Varispeed pitch times the transpose: at speed 1.25 and -2 semitones.
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    for mode in MODES {
        let set = set_in(
            dir.path(),
            &format!(
                "{}[[pad]]\npad = 0\nfile = \"a.wav\"\nspeed = 1.25\ntranspose = -2\n",
                master(mode, "")
            ),
        );
        let r = run(&set, "0 press 0 0", 6.0);
        assert_path(&r, 4.0, mode);
        let want = 440.0 * 1.25 * 2f64.powf(-2.0 / 12.0);
        let c = cents(fft_freq(r.secs(2.0, 6.0)), want);
        assert!(c.abs() <= 2.0, "{mode:?}: {c:+.3} cents");
    }
}

#[test]
fn level_is_steady_and_there_are_no_clicks_at_a_steady_ratio() {
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    for mode in MODES {
        for tempo in [0.8, 1.25] {
            let set = set_in(
                dir.path(),
                &format!(
                    "{}[[pad]]\npad = 0\nfile = \"a.wav\"\nspeed = {tempo}\nkey_lock = true\n",
                    master(mode, "")
                ),
            );
            let r = run(&set, "0 press 0 0", 8.0);
            let x = r.secs(0.5, 8.0);
            let db = window_db(x, 10.0, 0.5 / 2f32.sqrt());
            let (lo, hi) = db
                .iter()
                .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            assert!(
                lo >= -1.0 && hi <= 1.0,
                "{mode:?} tempo {tempo}: 10 ms windows between {lo:.2} and {hi:.2} dB"
            );
            let s = step_ratio(x, 440.0, 0.5);
            assert!(s <= 1.1, "{mode:?} tempo {tempo}: largest step {s:.3}×");
        }
    }
}

#[test]
fn tempo_sweeps_and_transpose_steps_do_not_click() {
    // A synced, key-locked 440 Hz loop while the tempo glides 0.8 ↔ 1.25 × (96 ↔ 150 BPM over
    // 2 s each way), then semitone steps.
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    for mode in MODES {
        let set = set_in(
            dir.path(),
            &format!(
                "{}[[pad]]\npad = 0\nfile = \"a.wav\"\nbpm = 120\nsync = true\nkey_lock = true\n",
                master(mode, "bpm = 96\ntempo_glide_ms = 2000")
            ),
        );
        let script = "0 press 0 0\n2 bpm 150\n4 bpm 96\n6 bpm 150\n8 bpm 96\n";
        let r = run(&set, script, 10.5);
        let sweep = r.secs(2.0, 10.0);
        let s = step_ratio(sweep, 440.0, 0.5);
        assert!(s <= 1.1, "{mode:?}: largest step during sweeps {s:.3}×");
        let c = cents(fft_freq(sweep), 440.0);
        assert!(
            c.abs() <= 2.0,
            "{mode:?}: pitch during sweeps {c:+.3} cents"
        );
        let db = window_db(sweep, 10.0, 0.5 / 2f32.sqrt());
        let lo = db.iter().fold(f32::MAX, |a, &v| a.min(v));
        // The documented bound while the ratio moves (README, "Key lock").
        assert!(
            lo >= -10.0,
            "{mode:?}: level dips to {lo:.2} dB while sweeping"
        );
        println!("{mode:?}: sweep: worst 10 ms window {lo:.2} dB, step {s:.3}×");
        // In every mode a stretcher plays while the tempo moves.
        let moving = if mode == Mode::Workers {
            mode
        } else {
            Mode::Rt
        };
        assert_path(&r, 5.0, moving);
    }
    for mode in [Mode::Rt, Mode::RtRubberBand, Mode::Workers] {
        let set = set_in(
            dir.path(),
            &format!(
                "{}[[pad]]\npad = 0\nfile = \"a.wav\"\nkey_lock = true\n",
                master(mode, "")
            ),
        );
        let mut script = String::from("0 press 0 0\n");
        for (i, s) in [1, 2, 3, 2, 1, 0, -1, -2, -1, 0].iter().enumerate() {
            script += &format!("{} transpose 0 0 {s}\n", 1.0 + 0.5 * i as f64);
        }
        let r = run(&set, &script, 7.0);
        let x = r.secs(0.5, 7.0);
        let top = 440.0 * 2f64.powf(3.0 / 12.0);
        let s = step_ratio(x, top, 0.5);
        assert!(s <= 1.1, "{mode:?}: transpose steps: largest step {s:.3}×");
        let lo = window_db(x, 10.0, 0.5 / 2f32.sqrt())
            .iter()
            .fold(f32::MAX, |a, &v| a.min(v));
        assert!(
            lo >= -10.0,
            "{mode:?}: transpose steps: level dips to {lo:.2} dB"
        );
        println!("{mode:?}: transpose steps: worst 10 ms window {lo:.2} dB, step {s:.3}×");
    }
}

#[test]
fn a_stretcher_hands_over_to_a_table_without_a_click_or_a_dip() {
    // Prefetched at 150 BPM; the tempo moves to 128: a stretcher takes over at once, then
    // (steady for a second) a table is rendered and the voice moves onto it.
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    let set = set_in(
        dir.path(),
        &format!(
            "{}[[pad]]\npad = 0\nfile = \"a.wav\"\nbpm = 120\nsync = true\nkey_lock = true\n",
            master(Mode::Table, "bpm = 150")
        ),
    );
    let r = run(&set, "0 press 0 0\n3 bpm 128\n", 9.0);
    assert_path(&r, 2.0, Mode::Table);
    assert_path(&r, 3.5, Mode::Rt);
    assert_path(&r, 8.5, Mode::Table);
    let asked = r
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TableWanted(_)))
        .count();
    assert_eq!(asked, 1, "one table asked for, at the new tempo");
    let x = r.secs(0.5, 9.0);
    let s = step_ratio(x, 440.0, 0.5);
    assert!(s <= 1.1, "largest step {s:.3}×");
    // The stretcher → table hand-off happens at a steady ratio: the level must hold there.
    let db = window_db(r.secs(4.5, 9.0), 10.0, 0.5 / 2f32.sqrt());
    let (lo, hi) = db
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(
        lo >= -1.0 && hi <= 1.0,
        "hand-off level {lo:.2}..{hi:.2} dB"
    );
    let c = cents(fft_freq(r.secs(4.5, 9.0)), 440.0);
    assert!(c.abs() <= 2.0, "{c:+.3} cents");
}

#[test]
fn a_table_seam_is_seamless_where_the_tone_does_not_fit_the_loop() {
    // 441 Hz over a 1-s loop is seamless; at tempo 1.07 the table's loop holds 412.15 cycles,
    // so the seam needs its cross-fade.
    let dir = tmp();
    write_wav16(
        &dir.path().join("b.wav"),
        RATE,
        1.0,
        crate::common::sine(441.0, 0.5),
    );
    let set = set_in(
        dir.path(),
        &format!(
            "{}[[pad]]\npad = 0\nfile = \"b.wav\"\nspeed = 1.07\nkey_lock = true\n",
            master(Mode::Table, "")
        ),
    );
    let r = run(&set, "0 press 0 0", 6.0);
    assert_path(&r, 3.0, Mode::Table);
    let x = r.secs(0.5, 6.0);
    let s = step_ratio(x, 441.0, 0.5);
    assert!(s <= 1.1, "largest step at the seams {s:.3}×");
    let db = window_db(x, 10.0, 0.5 / 2f32.sqrt());
    let (lo, hi) = db
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    println!("seam: 10 ms windows {lo:.2}..{hi:.2} dB, step {s:.3}×");
    assert!(lo >= -1.0 && hi <= 1.0, "seam level {lo:.2}..{hi:.2} dB");
}

/// A 2-s sample: a quiet 300 Hz tone with 10 ms bursts of white noise (a drum hit's onset)
/// at the given times.
fn burst_wav(dir: &Path, name: &str, at: &[f64]) {
    let at = at.to_vec();
    write_wav16(&dir.join(name), RATE, 2.0, move |t| {
        let burst = at.iter().any(|&a| t >= a && t < a + 0.010);
        // A fixed pseudo-random sequence (the same noise every run).
        let i = (t * RATE as f64).round() as u64;
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ 0x5851_F42D_4C95_7F2D;
        let noise = (h >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let v = 0.02 * (2.0 * std::f64::consts::PI * 300.0 * t).sin()
            + if burst { 1.2 * noise } else { 0.0 };
        (v, v)
    });
}

/// How far (ms) the burst around `t` seconds in `x` lies from the one in `plain`.
fn shift_ms(x: &[f32], plain: &[f32], t: f64) -> f64 {
    burst_shift(x, plain, (t - 0.03).max(0.0), t + 0.04, 0.01) * 1000.0
}

#[test]
fn bursts_come_out_on_time() {
    // A drum-like burst at the start and at 1 s of the sample: a key-locked pad plays each
    // where plain varispeed at the same speed plays it (1 s / tempo) within a millisecond: the
    // shift that best lines up the two bursts' 1 ms envelopes. The burst at the start also
    // shows the stretcher's start delay is hidden.
    let dir = tmp();
    burst_wav(dir.path(), "b.wav", &[0.0, 1.0]);
    for tempo in [0.8, 1.25] {
        let plain = set_in(
            dir.path(),
            &format!("[[pad]]\npad = 0\nfile = \"b.wav\"\nspeed = {tempo}\n"),
        );
        let p = run(&plain, "0 press 0 0", 2.0 / tempo);
        for mode in MODES {
            let set = set_in(
                dir.path(),
                &format!(
                    "{}[[pad]]\npad = 0\nfile = \"b.wav\"\nspeed = {tempo}\nkey_lock = true\n",
                    master(mode, "")
                ),
            );
            let r = run(&set, "0 press 0 0", 2.0 / tempo);
            for at in [0.0, 1.0] {
                let err = shift_ms(&r.l, &p.l, at / tempo);
                println!("{mode:?} tempo {tempo}: burst at {at} s {err:+.3} ms");
                assert!(
                    err.abs() <= 1.0,
                    "{mode:?} tempo {tempo}: the burst at {at} s came out {err:+.3} ms off"
                );
            }
        }
    }
}

#[test]
fn synced_key_locked_loops_keep_time_for_five_minutes() {
    // A 2-s loop (4 beats at 120 BPM) with a burst on its second beat, synced to 125 BPM: every
    // loop lasts exactly its frames, and the bursts stay where a plain synced pad plays them.
    let dir = tmp();
    burst_wav(dir.path(), "b.wav", &[0.5]);
    let seconds: f64 = std::env::var("KL_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300.0);
    let pad = "[[pad]]\npad = 0\nfile = \"b.wav\"\nbpm = 120\nsync = true\n";
    let plain = set_in(dir.path(), &format!("[master]\nbpm = 125\n{pad}"));
    let p = run(&plain, "0 press 0 0", seconds);
    for mode in MODES {
        let set = set_in(
            dir.path(),
            &format!("{}{pad}key_lock = true\n", master(mode, "bpm = 125")),
        );
        let r = run(&set, "0 press 0 0", seconds);
        let beat = 60.0 / 125.0;
        let mut offsets = Vec::new();
        while (1.0 + 4.0 * offsets.len() as f64) * beat + 0.1 < seconds {
            let t = (1.0 + 4.0 * offsets.len() as f64) * beat;
            offsets.push(shift_ms(&r.l, &p.l, t));
        }
        let n = offsets.len();
        if std::env::var_os("KL_TRACE").is_some() {
            for c in offsets.chunks(10) {
                println!(
                    "{mode:?} {:?}",
                    c.iter()
                        .map(|v| (v * 1000.0).round() / 1000.0)
                        .collect::<Vec<_>>()
                );
            }
        }
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let (first, last) = (mean(&offsets[..10]), mean(&offsets[n - 10..]));
        let worst = offsets.iter().fold(0.0f64, |m, o| m.max(o.abs()));
        println!(
            "{mode:?}: {n} loops: first ten {first:+.3} ms, last ten {last:+.3} ms, worst {worst:.3} ms"
        );
        assert!(
            worst <= 1.0 && (last - first).abs() <= 0.25,
            "{mode:?}: bursts {first:+.3} ms off at first, {last:+.3} ms at the end, worst {worst:.3} ms"
        );
        let looped: Vec<u64> = r
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::PadLooped(_)))
            .map(|e| e.frame)
            .collect();
        assert!(looped.len() + 1 >= n, "{} loops reported", looped.len());
        for (i, w) in looped.windows(2).enumerate() {
            let len = (w[1] - w[0]) as f64;
            let want = 4.0 * beat * RATE as f64;
            assert!(
                (len - want).abs() <= 1.0,
                "{mode:?}: loop {i} lasted {len} frames, not {want}"
            );
        }
    }
}

#[test]
fn plain_playback_is_bit_identical() {
    // Without key lock and transpose, stretchers and tables change nothing; a key-locked pad
    // at its own tempo plays the sample directly.
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    let pad = |extra: &str| {
        format!(
            "[[pad]]\npad = 0\nfile = \"a.wav\"\nspeed = 1.3\n{extra}\n[[pad]]\npad = 1\nfile = \"a.wav\"\n{extra}\n"
        )
    };
    let plain = set_in(dir.path(), &pad(""));
    let with_keylock = set_in(
        dir.path(),
        &format!(
            "{}\n[[pad]]\npad = 2\nfile = \"a.wav\"\nkey_lock = true\nspeed = 0.9\n",
            pad("")
        ),
    );
    let script = "0 press 0 0\n0 press 0 1\n";
    let a = crate::common::render_set(&plain, script, 3.0).0.samples;
    let b = run(&with_keylock, script, 3.0);
    let bl: Vec<f32> = b.l.clone();
    assert_eq!(left(&a, 0.0, 3.0), bl, "plain pads sound exactly as before");
    // Key lock on at speed 1: the plain path, bit for bit.
    let locked = set_in(
        dir.path(),
        "[[pad]]\npad = 1\nfile = \"a.wav\"\nkey_lock = true\n",
    );
    let unlocked = set_in(dir.path(), "[[pad]]\npad = 1\nfile = \"a.wav\"\n");
    let x = run(&locked, "0 press 0 1", 3.0);
    let y = run(&unlocked, "0 press 0 1", 3.0);
    assert_eq!(x.l, y.l);
    assert_eq!(x.reading_at(2.0).rt + x.reading_at(2.0).tables, 0);
}

#[test]
fn the_governor_plays_the_nearest_table_when_no_stretcher_is_free() {
    // Two synced, key-locked pads at 440 and 660 Hz, one stretcher. Tables at 120 BPM; the
    // tempo moves 2 % up: one pad gets the stretcher, the other plays its table 34 cents sharp
    // until a table at the new tempo is ready.
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    sine_wav(dir.path(), "b.wav", 660.0);
    let set = set_in(
        dir.path(),
        "[master]\nbpm = 100\nkeylock_voices = 1\n\
         [[pad]]\npad = 0\nfile = \"a.wav\"\nbpm = 120\nsync = true\nkey_lock = true\n\
         [[pad]]\npad = 1\nfile = \"b.wav\"\nbpm = 120\nsync = true\nkey_lock = true\n",
    );
    let r = run(&set, "0 press 0 0\n0 press 0 1\n2 bpm 102\n", 5.0);
    let k = r.reading_at(2.5);
    assert_eq!((k.rt, k.governed), (1, 1), "{k:?}");
    let bound = 1200.0 * (102.0f64 / 100.0).log2();
    assert!(
        (k.worst_cents as f64 - bound).abs() < 0.5,
        "governed {} cents, expected {bound:.1}",
        k.worst_cents
    );
    assert!(r.governed >= 1);
    // The governed pad really is that far off, the other exact.
    let x = r.secs(2.2, 2.9);
    let peaks = [440.0, 660.0].map(|f| {
        // Strongest frequency within a semitone of each tone.
        (0..=400)
            .map(|i| f * 2f64.powf((i as f64 - 200.0) / 2400.0))
            .max_by(|a, b| crate::common::tone(x, *a).total_cmp(&crate::common::tone(x, *b)))
            .unwrap()
    });
    let off: Vec<f64> = peaks
        .iter()
        .zip([440.0, 660.0])
        .map(|(p, f)| cents(*p, f))
        .collect();
    assert!(
        off.iter().any(|c| c.abs() < 3.0) && off.iter().any(|c| (c - bound).abs() < 5.0),
        "{off:?}"
    );
    // Once the new tempo has held, both play tables again and nothing is governed.
    let k = r.reading_at(4.9);
    assert_eq!((k.governed, k.tables), (0, 2), "{k:?}");
}

#[test]
fn tables_are_shared_cached_and_evicted() {
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    // Two pads with the same sample, region and ratio share one table; a third ratio does not
    // fit a budget of two tables' worth, so the least recently used goes.
    let set = set_in(
        dir.path(),
        "[master]\ntable_memory_mb = 1\n\
         [[pad]]\npad = 0\nfile = \"a.wav\"\nspeed = 1.25\nkey_lock = true\n\
         [[pad]]\npad = 1\nfile = \"a.wav\"\nspeed = 1.25\nkey_lock = true\n\
         [[pad]]\npad = 2\nfile = \"a.wav\"\nspeed = 1.5\nkey_lock = true\n",
    );
    let settings = engine_settings(&set, RATE);
    let (mut engine, mut handle) = Engine::new(settings).unwrap();
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    let mut tables = padlooper::control::keylock::setup::offline(&set, &report, &mut handle, true);
    tables.pump(&mut handle);
    // A 2-s table at 1.25 × is 1.6 s of 16-bit stereo: 307 kB; at 1.5 ×, 256 kB; 1 MB holds
    // both.
    assert_eq!(
        tables.memory().1,
        2,
        "one table shared by pads 0 and 1, one for pad 2"
    );
    let mut buf = vec![0.0f32; 512];
    engine.process(&mut buf);
    // Now ask for two more ratios through pad 2 (a 2-s table at 0.9 × is 427 kB, at 0.95 ×
    // 404 kB): the budget forces the oldest out.
    for speed in [0.9f32, 0.95] {
        let cfg = report.configs[2].1;
        let r = padlooper::control::keylock::tables::known_ratio(
            2,
            &padlooper::engine::command::PadConfig { speed, ..cfg },
            120.0,
            1.0,
        )
        .unwrap();
        tables.want(&r, &mut handle);
        tables.pump(&mut handle);
    }
    let (bytes, n) = tables.memory();
    assert!(bytes <= 1 << 20, "{bytes} bytes held");
    assert!(n < 4, "{n} tables: some were evicted");
    engine.process(&mut buf);
    let retired: Vec<_> = handle
        .drain_events()
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::SlotRetired(_)))
        .collect();
    assert!(
        !retired.is_empty(),
        "evicted tables come back from the engine"
    );
    assert!(handle.collect_retired() >= 1);
}

#[test]
fn a_table_made_for_what_a_pad_played_before_is_refused() {
    // A table request from before a reload reaches the cache after the pad got another
    // region: the table is for the old region, so the engine must not play it.
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"a.wav\"\nspeed = 1.25\nkey_lock = true\n",
    );
    let settings = engine_settings(&set, RATE);
    let (mut engine, mut handle) = Engine::new(settings).unwrap();
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    padlooper::control::keylock::stretchers::install(&mut handle, 2, 2, 4096);
    let old = report.configs[0].1;
    let request = padlooper::control::keylock::tables::known_ratio(0, &old, 120.0, 1.0).unwrap();
    // The pad now plays the first half of the sample only.
    let new = padlooper::engine::command::PadConfig {
        loop_end: old.loop_end / 2,
        ..old
    };
    handle
        .command(padlooper::engine::command::Command::Pad(
            0,
            PadCmd::Assign(new),
        ))
        .unwrap();
    let mut tables = padlooper::control::keylock::tables::TableService::new(64 << 20, false);
    tables.want(&request, &mut handle);
    tables.pump(&mut handle);
    assert_eq!(tables.memory().1, 1, "the old region's table was rendered");
    handle
        .command(padlooper::engine::command::Command::Pad(0, PadCmd::Press))
        .unwrap();
    let mut buf = vec![0.0f32; 512];
    let mut readings = Vec::new();
    for _ in 0..(RATE as usize / 2 / 256) {
        engine.process(&mut buf);
        readings.push(engine.stats().keylock.read());
    }
    let last = readings.last().copied().unwrap();
    assert_eq!(
        (last.tables, last.rt),
        (0, 1),
        "the pad plays through a stretcher, not the stale table: {last:?}"
    );
    // The same table for the region the pad plays now is taken.
    let fresh = padlooper::control::keylock::tables::known_ratio(0, &new, 120.0, 1.0).unwrap();
    tables.want(&fresh, &mut handle);
    tables.pump(&mut handle);
    for _ in 0..(2 * RATE as usize / 256) {
        engine.process(&mut buf);
    }
    let k = engine.stats().keylock.read();
    assert_eq!((k.tables, k.rt), (1, 0), "{k:?}");
}
