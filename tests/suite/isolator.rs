//! The isolator EQ behaves like a DJ mixer's: a killed band is gone (at least 60 dB down two
//! octaves inside it), the other bands are untouched (within 0.5 dB two octaves outside it),
//! +6 dB raises only its band, unity is bit-identical to no EQ, the crossovers sum flat, and
//! knob sweeps and mode switches do not click.

use crate::common::*;

use padlooper::dsp::isolator::{Isolator, IsolatorDesign};

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

const TONES: [f64; 3] = [50.0, 1000.0, 16_000.0];
const AMP: f64 = 0.1;

/// Renders a pad holding three steady tones (50 Hz, 1 kHz, 16 kHz, 0.1 each) with `keys`
/// and `script`; returns the left channel.
fn three_tones(keys: &str, script: &str, seconds: f64) -> Vec<f32> {
    let dir = tmp();
    write_wav16(&path(&dir, "t.wav"), RATE, 2.0, |t| {
        let v: f64 = TONES
            .iter()
            .map(|f| AMP * (2.0 * std::f64::consts::PI * f * t).sin())
            .sum();
        (v, v)
    });
    let set = set_in(
        dir.path(),
        &format!("[[pad]]\npad = 0\nfile = \"t.wav\"\n{keys}\n"),
    );
    let (out, report) = render_set(&set, &format!("0.0 press 0 0\n{script}"), seconds);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    left(&out.samples, 0.0, seconds)
}

/// Level change of each tone against the same render without EQ, in dB, measured over
/// 0.5-1.5 s (whole cycles of every tone).
fn changes(keys: &str) -> [f64; 3] {
    let plain = three_tones("", "", 2.0);
    let eq = three_tones(keys, "", 2.0);
    let (a, b) = (RATE as usize / 2, 3 * RATE as usize / 2);
    TONES.map(|f| db(tone(&eq[a..b], f) / tone(&plain[a..b], f)))
}

#[test]
fn a_kill_removes_its_band_and_leaves_the_others_alone() {
    for (band, key) in ["eq_low", "eq_mid", "eq_high"].iter().enumerate() {
        let c = changes(&format!("{key} = 0.0"));
        for (i, d) in c.iter().enumerate() {
            if i == band {
                assert!(
                    *d < -60.0,
                    "{key} kill: tone {} Hz only {d:.1} dB down",
                    TONES[i]
                );
            } else {
                assert!(
                    d.abs() <= 0.5,
                    "{key} kill: tone {} Hz moved {d:.2} dB",
                    TONES[i]
                );
            }
        }
    }
}

#[test]
fn a_boost_raises_only_its_band() {
    for (band, key) in ["eq_low", "eq_mid", "eq_high"].iter().enumerate() {
        let c = changes(&format!("{key} = 1.0"));
        for (i, d) in c.iter().enumerate() {
            if i == band {
                assert!(
                    (d - 6.0).abs() <= 0.5,
                    "{key} +6 dB: tone {} Hz {d:.2} dB",
                    TONES[i]
                );
            } else {
                assert!(
                    d.abs() <= 0.5,
                    "{key} +6 dB: tone {} Hz moved {d:.2} dB",
                    TONES[i]
                );
            }
        }
    }
    // The dB keys drive the isolator too.
    let c = changes("eq_mid_db = -12.0");
    assert!((c[1] + 12.0).abs() <= 0.5, "{c:?}");
}

#[test]
fn unity_is_bit_identical_to_no_eq() {
    let plain = three_tones("", "", 1.0);
    let unity = three_tones(
        "eq = \"isolator\"\neq_low = 0.5\neq_mid = 0.5\neq_high_db = 0.0",
        "",
        1.0,
    );
    assert_eq!(plain, unity);
    // Moved away and back: bit-identical again once the knob glide and the engage fade end.
    let moved = three_tones("", "0.3 eq 0 0 low 0.0\n0.6 eq 0 0 low 0.5\n", 1.0);
    let from = (0.7 * RATE as f64) as usize;
    assert_eq!(plain[from..], moved[from..]);
    assert_ne!(plain[..from], moved[..from]);
}

#[test]
fn the_split_at_unity_sums_flat_from_20_hz_to_20_khz() {
    // A stepped log sweep, 10 points per octave, through the crossover network held engaged
    // at unity (the engine bypasses it there; this measures the sum itself).
    let design = IsolatorDesign::new(200.0, 4000.0, RATE as f64);
    let mut lanes = vec![[0.0f32; 8]; 1024];
    let mut worst: f64 = 0.0;
    for i in 0..=100 {
        let f = 20.0 * 1000f64.powf(i as f64 / 100.0);
        let mut iso = Isolator::engaged_at_unity(RATE as f64);
        let n = (RATE as f64 * (0.25 + 20.0 / f)) as usize;
        let input: Vec<f32> = (0..n)
            .flat_map(|k| {
                let v =
                    (0.5 * (2.0 * std::f64::consts::PI * f * k as f64 / RATE as f64).sin()) as f32;
                [v, v]
            })
            .collect();
        let mut out = input.clone();
        for chunk in out.chunks_mut(2048) {
            iso.process(&design, chunk, &mut lanes);
        }
        // Skip the settling time; measure whole cycles.
        let settle = (RATE as f64 * (0.1 + 10.0 / f)) as usize;
        let cycles = ((n - settle) as f64 * f / RATE as f64).floor();
        let len = (cycles * RATE as f64 / f) as usize;
        let l = |x: &[f32]| -> Vec<f32> {
            x[2 * settle..2 * (settle + len)]
                .iter()
                .step_by(2)
                .copied()
                .collect()
        };
        let gain = db(rms(&l(&out)) as f64 / rms(&l(&input)) as f64);
        worst = worst.max(gain.abs());
        assert!(gain.abs() <= 0.1, "{f:.1} Hz: {gain:.3} dB");
    }
    assert!(worst < 0.1);
}

#[test]
fn mode_switches_while_playing_do_not_click() {
    // A 100 Hz tone with its low band boosted: switching between the two EQs cross-fades.
    let dir = tmp();
    let (f, amp) = (100.0, 0.2);
    write_wav16(&path(&dir, "s.wav"), RATE, 1.0, sine(f, amp));
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"s.wav\"\neq_low = 0.9\neq_high = 0.1\n",
    );
    let script = "0.0 press 0 0\n0.5 eqmode 0 0 shelf\n1.0 eqmode 0 0 isolator\n";
    let (out, _) = render_set(&set, script, 1.5);
    let l = left(&out.samples, 0.3, 1.3);
    let step = (2.0 * std::f64::consts::PI * f / RATE as f64 * amp * 2.0) as f32;
    let jump = max_jump(&l);
    assert!(jump <= 1.25 * step, "jump {jump} vs bound {}", 1.25 * step);
    // And the shelf really was in use between the switches (its low shelf boosts less at
    // 100 Hz than the isolator's flat low band).
    let iso = tone(&left(&out.samples, 0.2, 0.45), f);
    let shelf = tone(&left(&out.samples, 0.7, 0.95), f);
    assert!(
        (iso - shelf).abs() > 0.002,
        "isolator {iso} vs shelf {shelf}"
    );
}
