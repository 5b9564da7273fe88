//! Scripted performances rendered through the real engine; assertions on the audio itself.

use crate::common::*;
use padlooper::engine::event::EventKind;

/// Max per-sample change of a sine of frequency `f` and amplitude `a` at the test rate.
fn slope(f: f64, a: f64) -> f32 {
    (2.0 * std::f64::consts::PI * f / RATE as f64 * a) as f32
}

#[test]
fn pad_plays_at_the_right_level_and_frequency() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(440.0, 0.5));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 3\nfile = \"s.wav\"\ngain_db = -6.0206\n",
    );
    let (out, report) = render_set(&set, "0.0 press 0 3\n", 3.0);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let x = left(&out.samples, 0.5, 2.5);
    assert!((peak(&x) - 0.25).abs() < 0.0025, "peak {}", peak(&x));
    assert!(
        (rms(&x) - 0.25 / 2f32.sqrt()).abs() < 0.002,
        "rms {}",
        rms(&x)
    );
    assert!((freq(&x) - 440.0).abs() < 0.5, "freq {}", freq(&x));
    // Nothing before the press: audio starts exactly at frame 0 with a fade-in, no click.
    assert!(max_jump(&left(&out.samples, 0.0, 0.1)) <= slope(440.0, 0.25) * 1.05);
}

#[test]
fn stop_fades_out_cleanly_into_silence() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(440.0, 0.8));
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nfile = \"s.wav\"\n");
    let (out, _) = render_set(&set, "0.0 press 0 0\n1.2345 stop 0 0\n", 2.0);
    let around = left(&out.samples, 1.2, 1.3);
    assert!(
        max_jump(&around) <= slope(440.0, 0.8) * 1.05,
        "jump {}",
        max_jump(&around)
    );
    // 3 ms fade: silent (exactly zero) from 1.2345 s + 3 ms on.
    let after = left(&out.samples, 1.2345 + 0.0031, 2.0);
    assert_eq!(peak(&after), 0.0);
    // Still playing right before the stop.
    assert!(peak(&left(&out.samples, 1.2, 1.234)) > 0.7);
    let stopped: Vec<_> = out
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PadStopped(0)))
        .collect();
    assert_eq!(stopped.len(), 1);
    assert_eq!(
        stopped[0].frame,
        (1.2345 * RATE as f64).round() as u64,
        "sample-accurate stop"
    );
}

#[test]
fn loop_wraps_without_a_discontinuity() {
    let dir = tmp();
    // 0.5 s of 500 Hz = 250 whole cycles; loop the region 0.25..0.75 s of a 1 s file.
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(500.0, 0.9));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"s.wav\"\nloop_start = 0.25\nloop_end = 0.75\n",
    );
    let (out, _) = render_set(&set, "0.0 press 0 0\n", 2.9);
    let x = left(&out.samples, 0.01, 2.9);
    assert!(
        max_jump(&x) <= slope(500.0, 0.9) * 1.02,
        "jump {} vs {}",
        max_jump(&x),
        slope(500.0, 0.9)
    );
    assert!((freq(&x) - 500.0).abs() < 0.1);
    let loops: Vec<u64> = out
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PadLooped(0)))
        .map(|e| e.frame)
        .collect();
    // Starts at loop_start (no intro): wraps every 0.5 s.
    assert_eq!(loops, vec![24_000, 48_000, 72_000, 96_000, 120_000]);
}

#[test]
fn varispeed_2x_doubles_frequency_and_halves_the_loop_period() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(300.0, 0.5));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"s.wav\"\nspeed = 2.0\n",
    );
    let (out, _) = render_set(&set, "0.0 press 0 0\n", 2.2);
    let x = left(&out.samples, 0.1, 2.0);
    assert!((freq(&x) - 600.0).abs() < 0.5, "freq {}", freq(&x));
    let loops: Vec<u64> = out
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PadLooped(0)))
        .map(|e| e.frame)
        .collect();
    assert_eq!(loops, vec![24_000, 48_000, 72_000, 96_000]);
    // Global speed multiplies: 2 x 0.5 = 1 (original pitch).
    let (out, _) = render_set(&set, "0.0 speed 0.5\n0.0 press 0 0\n", 1.0);
    assert!((freq(&left(&out.samples, 0.1, 1.0)) - 300.0).abs() < 0.5);
    // Interpolation quality: the 2x tone has no audible other partials.
    let x = left(&out.samples, 0.1, 1.0);
    assert!(tone(&x, 150.0) < 0.002 && tone(&x, 450.0) < 0.002);
}

#[test]
fn loops_wrap_without_a_click_at_fractional_speeds() {
    let dir = tmp();
    // 0.5 s of 300 Hz: exactly 150 cycles, so the loop is seamless at any speed.
    write_wav16(&path(&dir, "s.wav"), RATE, 0.5, sine(300.0, 0.5));
    for speed in [0.73, 1.37, 1.9999] {
        let set = set_in(
            dir.path(),
            &format!("[[pad]]\npad = 0\nfile = \"s.wav\"\nspeed = {speed}\n"),
        );
        let (out, _) = render_set(&set, "0.0 press 0 0\n", 3.0);
        let wraps: Vec<u64> = out
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::PadLooped(0)))
            .map(|e| e.frame)
            .collect();
        assert!(wraps.len() >= 3, "speed {speed}: {wraps:?}");
        // The loop period follows the speed (to within a frame of rounding per wrap).
        let period = 24_000.0 / speed;
        for (k, w) in wraps.iter().enumerate() {
            let want = period * (k + 1) as f64;
            assert!(
                (*w as f64 - want).abs() <= 1.0,
                "speed {speed}: wrap {k} at {w}"
            );
        }
        // Around every wrap the waveform steps no more than the sine's own largest step.
        let f = 300.0 * speed;
        let ideal = 2.0 * 0.5 * (std::f64::consts::PI * f / RATE as f64).sin();
        let l = left(&out.samples, 0.0, 3.0);
        for w in wraps.iter().filter(|w| (**w as usize) + 64 < l.len()) {
            let w = *w as usize;
            let jump = max_jump(&l[w - 64..w + 64]) as f64;
            assert!(
                jump <= 1.02 * ideal,
                "speed {speed}: step {jump} at wrap {w}"
            );
        }
        assert!((freq(&left(&out.samples, 0.1, 2.9)) - f).abs() < 0.5);
    }
}

/// Two pads (400 Hz and 700 Hz sines, with `pad_keys` added to each): pad 0 pressed at 0 s,
/// pad 1 at 1 s. Returns the 400/700 Hz levels during 0.2–0.9 s and 1.01–2 s.
fn two_tones(master: &str, pad_keys: &str) -> [(f64, f64); 2] {
    let dir = tmp();
    write_wav16(&path(&dir, "a.wav"), RATE, 1.0, sine(400.0, 0.5));
    write_wav16(&path(&dir, "b.wav"), RATE, 1.0, sine(700.0, 0.5));
    let set = set_in(
        dir.path(),
        &format!(
            "[master]\n{master}\n[[pad]]\npad = 0\nfile = \"a.wav\"\n{pad_keys}\n[[pad]]\npad = 1\nfile = \"b.wav\"\n{pad_keys}\n"
        ),
    );
    let (out, _) = render_set(&set, "0.0 press 0 0\n1.0 press 0 1\n", 2.0);
    [(0.2, 0.9), (1.01, 2.0)].map(|(a, b)| {
        let x = left(&out.samples, a, b);
        (tone(&x, 400.0), tone(&x, 700.0))
    })
}

#[test]
fn exclusive_mode_stops_the_previous_pad() {
    let [first, second] = two_tones("play_mode = \"exclusive\"", "");
    assert!(first.0 > 0.45 && first.1 < 0.01);
    assert!(second.1 > 0.45 && second.0 < 0.01);
    // In multi mode both play.
    let [_, both] = two_tones("play_mode = \"multi\"", "");
    assert!(both.0 > 0.45 && both.1 > 0.45);
}

#[test]
fn gate_pad_stops_on_release_and_toggle_on_second_press() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(440.0, 0.5));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"s.wav\"\nmode = \"gate\"\n[[pad]]\npad = 1\nfile = \"s.wav\"\n",
    );
    let (out, report) = render_set(
        &set,
        "0.0 press 0 0\n0.5 release 0 0\n1.0 press 0 1\n1.5 press 0 1\n",
        2.0,
    );
    assert_eq!(
        report.samples_loaded, 1,
        "the same file on two pads is decoded once"
    );
    assert!(peak(&left(&out.samples, 0.1, 0.5)) > 0.45);
    assert_eq!(peak(&left(&out.samples, 0.504, 1.0)), 0.0);
    assert!(peak(&left(&out.samples, 1.1, 1.5)) > 0.45);
    assert_eq!(peak(&left(&out.samples, 1.504, 2.0)), 0.0);
}

#[test]
fn intro_plays_once_then_the_loop_repeats() {
    let dir = tmp();
    // 0..0.5 s: 300 Hz intro (150 cycles); 0.5..1.5 s: 600 Hz loop body (600 cycles).
    write_wav16(&path(&dir, "s.wav"), RATE, 1.5, |t| {
        let f = if t < 0.5 { 300.0 } else { 600.0 };
        let v = 0.5 * (2.0 * std::f64::consts::PI * f * t).sin();
        (v, v)
    });
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"s.wav\"\nstart = 0.0\nloop_start = 0.5\nloop_end = 1.5\n",
    );
    let (out, _) = render_set(&set, "0.0 press 0 0\n", 4.0);
    let intro = left(&out.samples, 0.05, 0.45);
    assert!(tone(&intro, 300.0) > 0.45 && tone(&intro, 600.0) < 0.01);
    for (a, b) in [(0.55, 1.45), (1.55, 2.45), (2.55, 3.45)] {
        let x = left(&out.samples, a, b);
        assert!(
            tone(&x, 600.0) > 0.45 && tone(&x, 300.0) < 0.01,
            "segment {a}..{b}"
        );
    }
    let loops: Vec<u64> = out
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PadLooped(0)))
        .map(|e| e.frame)
        .collect();
    assert_eq!(loops, vec![72_000, 120_000, 168_000]);
}

#[test]
fn oneshot_plays_to_the_end_once_and_reports_it() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 0.5, sine(440.0, 0.5));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"s.wav\"\nmode = \"oneshot\"\n",
    );
    let (out, _) = render_set(&set, "0.0 press 0 0\n", 1.5);
    assert!(peak(&left(&out.samples, 0.1, 0.49)) > 0.45);
    assert_eq!(peak(&left(&out.samples, 0.5, 1.5)), 0.0);
    let end = left(&out.samples, 0.45, 0.55);
    let worst = end
        .windows(2)
        .enumerate()
        .max_by(|a, b| (a.1[1] - a.1[0]).abs().total_cmp(&(b.1[1] - b.1[0]).abs()))
        .unwrap();
    assert!(
        max_jump(&end) <= slope(440.0, 0.5) * 1.05,
        "end is declicked: {worst:?} at {}",
        worst.0 as f64 / RATE as f64 + 0.45
    );
    assert!(out.events.iter().any(|e| e.kind == EventKind::PadEnded(0)));
}

#[test]
fn retrigger_and_stealing_never_click() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(200.0, 0.3));
    let mut body = String::from("[master]\nvoices = 2\n");
    for p in 0..4 {
        body += &format!("[[pad]]\npad = {p}\nfile = \"s.wav\"\nmode = \"retrigger\"\n");
    }
    let set = set_in(dir.path(), &body);
    let script = "0.0 press 0 0\n0.1003 press 0 1\n0.2007 press 0 2\n0.3011 press 0 3\n0.4013 press 0 0\n0.5017 press 0 0\n";
    let (out, _) = render_set(&set, script, 1.0);
    let stolen = out
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::VoiceStolen(_)))
        .count();
    assert!(stolen >= 2, "stealing happened ({stolen})");
    // Every change is a 3 ms crossfade of two 0.3-amplitude voices: no step bigger than a few
    // times the sine's own slope (a hard cut would jump by up to 0.6).
    let x = left(&out.samples, 0.0, 1.0);
    assert!(max_jump(&x) < 0.05, "jump {}", max_jump(&x));
    // Never more than 2 voices sounding after fades: level bounded by two voices.
    assert!(peak(&left(&out.samples, 0.6, 1.0)) <= 0.61);
}

#[test]
fn choke_group_stops_the_other_pad() {
    let [_, second] = two_tones("", "choke = 1");
    assert!(second.1 > 0.45 && second.0 < 0.01);
    let [_, unchoked] = two_tones("", "choke = 0");
    assert!(unchoked.0 > 0.45 && unchoked.1 > 0.45);
}

#[test]
fn master_volume_is_smoothed_and_applied_once() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(440.0, 0.4));
    let set = set_in(
        dir.path(),
        "[master]\nvolume = 0.5\n[[pad]]\npad = 0\nfile = \"s.wav\"\n[[pad]]\npad = 1\nfile = \"s.wav\"\n",
    );
    let (out, _) = render_set(&set, "0.0 press 0 0\n0.0 press 0 1\n1.0 master 1.0\n", 2.0);
    // Two identical pads at 0.4 each, master 0.5: amplitude 0.4; then master 1: amplitude 0.8.
    assert!((peak(&left(&out.samples, 0.5, 0.99)) - 0.4).abs() < 0.004);
    assert!((peak(&left(&out.samples, 1.1, 2.0)) - 0.8).abs() < 0.008);
    // The volume change is a 20 ms ramp, not a step.
    assert!(max_jump(&left(&out.samples, 0.99, 1.05)) < slope(440.0, 0.8) * 1.1);
}

#[test]
fn pad_gain_changes_are_smoothed() {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(100.0, 0.9));
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nfile = \"s.wav\"\n");
    let (out, _) = render_set(&set, "0.0 press 0 0\n0.5 gain 0 0 -60\n", 1.0);
    assert!(peak(&left(&out.samples, 0.6, 1.0)) < 0.0011);
    assert!(max_jump(&left(&out.samples, 0.45, 0.6)) <= slope(100.0, 0.9) * 1.05);
}

/// The web editor's live preview (`PadCmd::Reshape`): a playing pad moved onto another region
/// keeps playing (no stop, no gap, no click), as far into the new region as it was into the
/// old one, then loops the new region; synced or not.
#[test]
fn a_playing_pad_moved_to_another_region_keeps_playing_on_it() {
    use padlooper::control::set::loader::{engine_settings, load_set};
    use padlooper::engine::Engine;
    use padlooper::engine::command::{Command, PadCmd};
    // One second each of 440, 550, 660 and 880 Hz.
    let seg = |t: f64| [440.0, 550.0, 660.0, 880.0][(t as usize).min(3)];
    for sync in [false, true] {
        let dir = tmp();
        write_wav16(&path(&dir, "steps.wav"), RATE, 4.0, |t| {
            let v = 0.5 * (2.0 * std::f64::consts::PI * seg(t) * t).sin();
            (v, v)
        });
        let set = set_in(
            dir.path(),
            &format!(
                "[master]\nquantize = \"off\"\nbpm = 120\n\n[[pad]]\npad = 0\nfile = \"steps.wav\"\nbpm = 120\nsync = {sync}\n"
            ),
        );
        let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
        let report = load_set(&set, &mut handle, 0, &|_, _| {});
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let (_, cfg) = report.configs[0];
        handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
        let mut buf = vec![0f32; 512];
        let mut out = Vec::new();
        let mut events = Vec::new();
        for block in 0..(4 * RATE as usize / 256) {
            if block == RATE as usize / 2 / 256 {
                let mut region = cfg;
                region.start = 2 * RATE;
                region.loop_start = 2 * RATE;
                handle
                    .command(Command::Pad(0, PadCmd::Reshape(region)))
                    .unwrap();
            }
            engine.process(&mut buf);
            out.extend_from_slice(&buf);
            events.extend(handle.drain_events());
        }
        let at = |a: f64, b: f64, f: f64| tone(&left(&out, a, b), f);
        let what = format!("sync {sync}");
        // Before: the first second of the sample.
        assert!(at(0.05, 0.45, 440.0) > 0.45, "{what}");
        // Half a second in when moved: the new region from 2.5 s (660 Hz), then 3 s (880 Hz),
        // then its loop start again (660 Hz).
        let reshaped = (RATE as usize / 2 / 256 * 256) as f64 / RATE as f64;
        for (a, b, f) in [
            (reshaped + 0.05, 0.95, 660.0),
            (1.05, 1.95, 880.0),
            (2.05, 2.95, 660.0),
            (3.05, 3.95, 880.0),
        ] {
            let x = left(&out, a, b);
            assert!(
                tone(&x, f) > 0.45,
                "{what}: {f} Hz at {a}..{b} s: {}",
                tone(&x, f)
            );
            assert!(
                tone(&x, 440.0) < 0.01,
                "{what}: the old region still heard at {a} s"
            );
        }
        // One cross-fade, no click, no stop.
        let jump = max_jump(&left(&out, reshaped - 0.05, reshaped + 0.05));
        assert!(jump <= slope(880.0, 0.5) * 1.2, "{what}: jump {jump}");
        assert!(
            !events
                .iter()
                .any(|e| matches!(e.kind, EventKind::PadStopped(0) | EventKind::PadEmpty(0))),
            "{what}: {events:?}"
        );
        assert_eq!(
            engine.stats().pads.get(0),
            padlooper::engine::shared::PadState::Playing
        );
        // A region that does not belong to the pad's sample is ignored.
        let mut other = cfg;
        other.slot += 1;
        other.loop_start = 0;
        handle
            .command(Command::Pad(0, PadCmd::Reshape(other)))
            .unwrap();
        engine.process(&mut buf);
        let mut tail = Vec::new();
        for _ in 0..(RATE as usize / 4 / 256) {
            engine.process(&mut buf);
            tail.extend_from_slice(&buf);
        }
        assert!(tone(&left(&tail, 0.0, 0.2), 440.0) < 0.01, "{what}");
    }
}

/// A pad's own launch quantisation overrides the set's: with `[master] quantize = "bar"`, a
/// pad with `quantize = "off"` starts at its press, one with `"beat"` on the next beat, the
/// others on the next bar.
#[test]
fn a_pad_with_its_own_quantize_launches_on_its_own_grid() {
    let set = set_in(
        tmp().path(),
        "[master]\nbpm = 120\nquantize = \"bar\"\n\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n\n[[pad]]\npad = 1\nbuiltin = \"bass\"\nquantize = \"off\"\n\n[[pad]]\npad = 2\nbuiltin = \"chords\"\nquantize = \"beat\"\n\n[[pad]]\npad = 3\nbuiltin = \"arp\"\n",
    );
    // Pad 0 starts the transport (bar 1 at 0 s; a beat is 0.5 s, a bar 2 s); the others are
    // pressed at 0.7 s.
    let (out, report) = render_set(
        &set,
        "0.0 press 0 0\n0.7 press 0 1\n0.7 press 0 2\n0.7 press 0 3\n",
        3.0,
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let started = |p: u16| {
        frames_of(&out.events, |k| *k == EventKind::PadStarted(p))
            .first()
            .map(|&f| f as f64 / RATE as f64)
            .unwrap_or(f64::NAN)
    };
    let near = |t: f64, want: f64| (t - want).abs() < 0.01;
    assert!(near(started(1), 0.7), "off: {}", started(1));
    assert!(near(started(2), 1.0), "beat: {}", started(2));
    assert!(near(started(3), 2.0), "the set's bar: {}", started(3));
}
