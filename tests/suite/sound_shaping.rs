//! EQ, filter, sends, effects, limiter and denormal safety, measured on rendered audio.

use crate::common::*;
use padlooper::dsp::eq::design_magnitude;
use padlooper::engine::command::PadCmd;

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

/// Renders a sine pad with the given extra pad keys and returns the left channel after `from` s.
fn sine_pad(freq: f64, amp: f64, keys: &str, script: &str, seconds: f64) -> Vec<f32> {
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(freq, amp));
    let set = set_in(
        dir.path(),
        &format!("[[pad]]\npad = 0\nfile = \"s.wav\"\n{keys}\n"),
    );
    let (out, report) = render_set(&set, &format!("0.0 press 0 0\n{script}"), seconds);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    out.samples
}

#[test]
fn eq_magnitude_matches_the_design_curve_at_50_hz_1_khz_and_10_khz() {
    // (knobs, keys) for kill / flat / max of each band and all together.
    let cases: [([f32; 3], &str); 6] = [
        ([0.0, 0.5, 0.5], "eq_low = 0.0"),
        ([0.5, 0.0, 0.5], "eq_mid_db = -inf"),
        ([0.5, 0.5, 0.0], "eq_high = 0.0"),
        ([0.5, 0.5, 0.5], "eq_low = 0.5\neq_mid = 0.5\neq_high = 0.5"),
        (
            [1.0, 1.0, 1.0],
            "eq_low_db = 6.0\neq_mid = 1.0\neq_high = 1.0",
        ),
        (
            [0.25, 0.75, 0.1],
            "eq_low = 0.25\neq_mid = 0.75\neq_high = 0.1",
        ),
    ];
    let amp = 0.2; // +6 dB boosts stay under the limiter's ceiling
    for (knobs, keys) in cases {
        for f in [50.0, 1000.0, 10_000.0] {
            let x = sine_pad(f, amp, &format!("eq = \"shelf\"\n{keys}"), "", 1.5);
            let measured = db(tone(&left(&x, 0.5, 1.5), f) / amp);
            let design = db(design_magnitude(knobs, f, RATE as f64));
            if design > -80.0 {
                assert!(
                    (measured - design).abs() < 0.5,
                    "{keys:?} at {f} Hz: measured {measured:.2} dB, design {design:.2} dB"
                );
            } else {
                // A kill: the design is below the 16-bit noise floor; the audio must be too.
                assert!(
                    measured < -80.0,
                    "{keys:?} at {f} Hz: measured {measured:.2} dB, design {design:.2}"
                );
            }
        }
    }
}

#[test]
fn flat_eq_is_bit_identical_to_bypass() {
    let plain = sine_pad(440.0, 0.5, "", "", 2.0);
    let flat = sine_pad(
        440.0,
        0.5,
        "eq_low = 0.5\neq_mid_db = 0.0\neq_high = 0.5\nfilter = 0.5",
        "",
        2.0,
    );
    assert_eq!(plain, flat);
    // An EQ moved away and back to flat is bit-identical again once its glide has ended.
    let moved = sine_pad(
        440.0,
        0.5,
        "",
        "0.5 eq 0 0 low 0.2\n0.5 filter 0 0 0.3\n1.0 eq 0 0 low 0.5\n1.0 filter 0 0 0.5\n",
        2.0,
    );
    let from = (1.2 * RATE as f64) as usize * 2;
    assert_eq!(plain[from..], moved[from..]);
    assert_ne!(plain[..from], moved[..from]);
}

/// Sends a knob sweep from 0 to 1 over 100 ms as 1 ms steps.
fn sweep(cmd: &str) -> String {
    (0..=100)
        .map(|i| {
            format!(
                "{:.4} {cmd} {:.2}\n",
                0.5 + i as f64 * 0.001,
                i as f64 / 100.0
            )
        })
        .collect()
}

#[test]
fn knob_sweeps_never_jump() {
    // Stated bound: no sample-to-sample step larger than 1.25x the largest step of the tone
    // itself at the loudest setting reached (a click would be many times larger).
    let (f, amp) = (100.0, 0.2);
    let tone_step = |gain: f64| (2.0 * std::f64::consts::PI * f / RATE as f64 * amp * gain) as f32;
    for mode in ["shelf", "isolator"] {
        for (name, cmd, max_gain) in [
            ("eq low", "eq 0 0 low", 2.0),
            ("eq mid", "eq 0 0 mid", 2.0),
            ("eq high", "eq 0 0 high", 2.0),
            ("filter", "filter 0 0", 1.0),
        ] {
            let keys = format!("eq = \"{mode}\"");
            let x = sine_pad(f, amp, &keys, &sweep(cmd), 1.0);
            let jump = max_jump(&left(&x, 0.45, 0.75));
            assert!(
                jump <= 1.25 * tone_step(max_gain),
                "{mode} {name}: jump {jump} vs bound {}",
                1.25 * tone_step(max_gain)
            );
        }
    }
    // Resonant filter sweep on a bright sound stays bounded too (no blow-up or clicks).
    let x = sine_pad(1000.0, 0.2, "resonance = 0.8", &sweep("filter 0 0"), 1.0);
    assert!(peak(&x) < 0.97 && x.iter().all(|v| v.is_finite()));
}

#[test]
fn the_filter_cuts_the_right_side() {
    let low = sine_pad(5000.0, 0.3, "filter = 0.2", "", 1.0);
    assert!(
        tone(&left(&low, 0.5, 1.0), 5000.0) < 0.003,
        "low-pass removes 5 kHz"
    );
    let high = sine_pad(60.0, 0.3, "filter = 0.8", "", 1.0);
    assert!(
        tone(&left(&high, 0.5, 1.0), 60.0) < 0.003,
        "high-pass removes 60 Hz"
    );
    let pass = sine_pad(60.0, 0.3, "filter = 0.2", "", 1.0);
    assert!(
        (tone(&left(&pass, 0.5, 1.0), 60.0) - 0.3).abs() < 0.03,
        "low-pass keeps 60 Hz"
    );
}

/// Onsets of bursts: times where the envelope first rises above `thr` after being below it.
fn onsets(x: &[f32], thr: f32) -> Vec<f64> {
    let mut out = Vec::new();
    let mut below = usize::MAX / 2;
    for (i, v) in x.iter().enumerate() {
        if v.abs() > thr {
            if below > 2000 {
                out.push(i as f64 / RATE as f64);
            }
            below = 0;
        } else {
            below += 1;
        }
    }
    out
}

#[test]
fn delay_repeats_at_the_tempo_synced_interval() {
    let dir = tmp();
    // A 20 ms burst of 300 Hz, as a one-shot.
    write_wav16(&path(&dir, "b.wav"), RATE, 0.02, sine(300.0, 0.5));
    for (division, bpm, interval) in [
        ("1/8", 120.0, 0.25),
        ("1/8d", 120.0, 0.375),
        ("1/4", 100.0, 0.6),
        ("1/16", 150.0, 0.1),
    ] {
        let set = set_in(
            dir.path(),
            &format!(
                "[master]\nbpm = {bpm}\n[fx]\ndelay_division = \"{division}\"\ndelay_feedback = 0.5\ndelay_wet = 1.0\n\
                 [[pad]]\npad = 0\nfile = \"b.wav\"\nmode = \"oneshot\"\ndelay_send = 1.0\n"
            ),
        );
        let (out, _) = render_set(&set, "0.0 press 0 0\n", interval * 5.5);
        let x = left(&out.samples, 0.0, interval * 5.5);
        let on = onsets(&x, 0.01);
        assert!(on.len() >= 4, "{division}: onsets {on:?}");
        // The first four repeats are loud enough for a sharp onset (later ones are faint).
        for (k, t) in on.iter().take(5).enumerate() {
            assert!(
                (t - k as f64 * interval).abs() < 0.002,
                "{division}: repeat {k} at {t} s, want {}",
                k as f64 * interval
            );
        }
        // Each repeat is quieter: feedback 0.5.
        let level = |k: usize| peak(&left(&out.samples, on[k], on[k] + 0.02));
        assert!(level(2) < level(1) * 0.6 && level(3) < level(2) * 0.6);
    }
}

#[test]
fn the_limiter_holds_the_ceiling_with_50_full_scale_voices() {
    let dir = tmp();
    let mut body = String::from("[master]\nvolume = 2.0\nvoices = 64\n");
    for p in 0..50 {
        let f = 60.0 + 37.0 * p as f64;
        write_wav16(&path(&dir, &format!("s{p}.wav")), RATE, 1.0, sine(f, 0.999));
        body += &format!("[[pad]]\npad = {p}\nfile = \"s{p}.wav\"\ngain_db = 6\n");
    }
    let set = set_in(dir.path(), &body);
    let script: String = (0..50).map(|p| format!("0.0 press 0 {p}\n")).collect();
    let (out, _) = render_set(&set, &script, 3.0);
    let ceiling = 10f32.powf(-0.3 / 20.0);
    assert!(peak(&out.samples) <= ceiling, "peak {}", peak(&out.samples));
    assert!(
        peak(&out.samples) > ceiling * 0.99,
        "it is loud, just not over"
    );
    assert!(out.samples.iter().all(|v| v.is_finite()));
}

#[test]
fn effect_tails_decay_to_silence_without_subnormals_or_slowdown() {
    // The test thread does NOT flush denormals: the DSP must be safe on its own.
    assert!(!padlooper::dsp::denormal::denormals_flushed());
    let dir = tmp();
    write_wav16(&path(&dir, "s.wav"), RATE, 0.5, sine(220.0, 0.5));
    let set = set_in(
        dir.path(),
        "[fx]\ndelay_feedback = 0.95\nreverb_room = 1.0\nphaser_mix = 1.0\n\
         [[pad]]\npad = 0\nfile = \"s.wav\"\nmode = \"oneshot\"\ndelay_send = 1\nreverb_send = 1\neq_low = 0.8\nfilter = 0.3\n",
    );
    let settings = padlooper::control::set::loader::engine_settings(&set, RATE);
    let (mut engine, mut handle) = padlooper::engine::Engine::new(settings).unwrap();
    let report = padlooper::control::set::loader::load_set(&set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty());
    handle
        .command(padlooper::engine::command::Command::Pad(0, PadCmd::Press))
        .unwrap();
    let mut buf = vec![0.0f32; 512];
    let mut times = Vec::new();
    let blocks = 120 * RATE as usize / 256; // two minutes: the tails decay far below 1e-38
    for _ in 0..blocks {
        let t = std::time::Instant::now();
        engine.process(&mut buf);
        times.push(t.elapsed().as_nanos());
        for v in &buf {
            assert!(
                *v == 0.0 || v.abs() >= f32::MIN_POSITIVE,
                "subnormal output {v:e}"
            );
        }
    }
    // Median block time while the sound is active (first 5 s) versus the decaying tail.
    let median = |s: &[u128]| {
        let mut v = s.to_vec();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let active = median(&times[..5 * RATE as usize / 256]);
    let tail = median(&times[times.len() / 2..]);
    assert!(
        tail <= active * 2 + 20_000,
        "tail blocks {tail} ns vs active {active} ns"
    );
}
