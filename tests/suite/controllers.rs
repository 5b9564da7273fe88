//! Every shipped controller profile: its real message set replayed through the same parsing,
//! mapping and LED code as a live device, rendered through the engine.

use crate::common::*;
use std::sync::Arc;

use crate::common::replay::{Run, on, run};
use padlooper::config::SetFile;
use padlooper::config::profile::{Binding, ButtonAction, ControlAction, LedLook, Profile};
use padlooper::control::offline::renderer::render_with;
use padlooper::control::offline::replay::MidiReplay;
use padlooper::control::set::loader::{engine_settings, load_set};
use padlooper::engine::Engine;
use padlooper::engine::command::PadCmd;
use padlooper::engine::event::EventKind;
use padlooper::midi::state::SharedControl;

/// The message that leaves an LED showing `look` (its last: the animation of an animated look).
fn led(note: u8, look: LedLook) -> Vec<u8> {
    let spec = look.last();
    vec![0x90 | (spec.channel - 1), note, spec.value]
}

fn started(r: &Run, pad: u16, after: f64) -> bool {
    let from = (after * RATE as f64).round() as u64;
    r.events
        .iter()
        .any(|e| e.kind == EventKind::PadStarted(pad) && e.frame >= from)
}

fn stopped(r: &Run, pad: u16, after: f64) -> bool {
    stopped_between(r, pad, after, f64::INFINITY)
}

fn stopped_between(r: &Run, pad: u16, from: f64, to: f64) -> bool {
    let from = (from * RATE as f64).round() as u64;
    let to = (to * RATE as f64).round().min(u64::MAX as f64) as u64;
    r.events
        .iter()
        .any(|e| e.kind == EventKind::PadStopped(pad) && e.frame >= from && e.frame < to)
}

fn button(p: &Profile, a: ButtonAction) -> Option<Binding> {
    p.buttons.iter().find(|b| b.action == a).map(|b| b.binding)
}

/// A set with a pad under each corner of the profile's grid, in banks 0 and 1.
fn corner_set(dir: &std::path::Path, rows: usize, cols: usize) -> SetFile {
    let mut body = String::new();
    for bank in 0..2 {
        for (r, c) in [(0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1)] {
            let mode = if (r, c) == (0, 0) {
                "toggle"
            } else {
                "retrigger"
            };
            body += &format!(
                "[[pad]]\nbank = {bank}\nrow = {r}\ncol = {c}\nbuiltin = \"sine440\"\nmode = \"{mode}\"\n"
            );
        }
    }
    set_in(dir, &body)
}

/// Stem mode: select a stem pad (shift + pad), play it, turn stem mode on, mute the vocals on
/// the stem row, then solo the drums (shift + stem); the audio and the stem row's LEDs follow.
fn check_stem_mode(p: &Profile) {
    let st = p.stems.as_ref().expect("the profile has a [stems] section");
    let dir = tmp();
    let sep = dir.path().join("sep");
    std::fs::create_dir_all(&sep).unwrap();
    for (name, f) in [
        ("drums", 110.0),
        ("bass", 220.0),
        ("other", 440.0),
        ("vocals", 880.0),
    ] {
        write_wav16(&sep.join(format!("{name}.wav")), RATE, 4.0, sine(f, 0.1));
    }
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nstems = \"sep\"\n");
    let note = |r: usize, c: usize| Binding::Note(p.grid_channel, p.grid_notes[r * p.cols + c]);
    let (shift, mode) = (
        button(p, ButtonAction::Shift).unwrap(),
        button(p, ButtonAction::StemMode).unwrap(),
    );
    let tap = |m: &mut Vec<(f64, Vec<u8>)>, t: f64, b: Binding| {
        m.push((t, on(b, 127)));
        m.push((t + 0.01, on(b, 0)));
    };
    let mut m = Vec::new();
    m.push((0.05, on(shift, 127)));
    tap(&mut m, 0.06, note(0, 0)); // select pad 0
    m.push((0.08, on(shift, 0)));
    tap(&mut m, 0.1, note(0, 0)); // play it
    tap(&mut m, 0.2, mode);
    tap(&mut m, 0.5, note(st.row, 3)); // mute the vocals
    m.push((1.0, on(shift, 127)));
    tap(&mut m, 1.01, note(st.row, 0)); // solo the drums
    m.push((1.03, on(shift, 0)));
    let r = run(p, &set, m, 1.5);
    let at = |from: f64, f: f64| tone(&left(&r.samples, from, from + 0.3), f);
    assert!(
        at(0.15, 880.0) > 0.09 && at(0.15, 110.0) > 0.09,
        "{}: full mix {} {}",
        p.name,
        at(0.15, 880.0),
        at(0.15, 110.0)
    );
    assert!(
        at(0.55, 880.0) < 0.002 && at(0.55, 110.0) > 0.09,
        "{}: vocals muted",
        p.name
    );
    assert!(
        at(1.05, 110.0) > 0.09 && at(1.05, 220.0) < 0.002 && at(1.05, 440.0) < 0.002,
        "{}: drums soloed",
        p.name
    );
    // The stem row's LEDs: drums in their colour on the solo channel, the others muted.
    let drums = st
        .value_for(padlooper::sample::stems::default_color("drums", 0))
        .unwrap();
    let last = |n: u8| {
        r.leds
            .iter()
            .rev()
            .find(|(_, m)| m[1] == n && m[0] & 0xF0 == 0x90)
            .map(|(_, m)| m.clone())
    };
    let Binding::Note(_, drum_note) = note(st.row, 0) else {
        unreachable!()
    };
    assert_eq!(
        last(drum_note),
        Some(vec![0x90 | (st.solo_channel - 1), drum_note, drums]),
        "{}: the soloed drums' LED",
        p.name
    );
    let Binding::Note(_, vocal_note) = note(st.row, 3) else {
        unreachable!()
    };
    let muted = st.muted.or(p.leds.as_ref().unwrap().empty).unwrap();
    assert_eq!(
        last(vocal_note),
        Some(led(vocal_note, muted)),
        "{}: muted vocals",
        p.name
    );
    // The cell after the four stems: full mix <-> stems, lit in its own look while stems play.
    let Binding::Note(_, switch_note) = note(st.row, 4) else {
        unreachable!()
    };
    let switch = st.switch.or(p.leds.as_ref().unwrap().button_on).unwrap();
    assert_eq!(
        last(switch_note),
        Some(led(switch_note, switch)),
        "{}: the stems switch cell",
        p.name
    );
}

fn check_grid_profile(p: &Profile) {
    let dir = tmp();
    let (rows, cols) = (p.rows, p.cols);
    let set = corner_set(dir.path(), rows, cols);
    let note = |r: usize, c: usize| p.grid_notes[r * cols + c];
    let g = |r, c| Binding::Note(p.grid_channel, note(r, c));
    let id = |bank: usize, r: usize, c: usize| (bank * 64 + r * 8 + c) as u16;
    let (tl, tr, bl, br) = ((0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1));
    let mut m: Vec<(f64, Vec<u8>)> = Vec::new();
    for (i, &(r, c)) in [tl, tr, bl, br].iter().enumerate() {
        m.push((0.1 * i as f64, on(g(r, c), 127)));
        m.push((0.1 * i as f64 + 0.05, on(g(r, c), 0)));
    }
    m.push((1.0, on(g(tl.0, tl.1), 127))); // toggle: stops
    m.push((1.05, on(g(tl.0, tl.1), 0)));
    if let Some(b) = button(p, ButtonAction::StopAll) {
        m.push((1.5, on(b, 127)));
        m.push((1.55, on(b, 0)));
    }
    if let (Some(next), Some(prev)) = (
        button(p, ButtonAction::BankNext),
        button(p, ButtonAction::BankPrev),
    ) {
        m.push((2.0, on(next, 127)));
        m.push((2.05, on(next, 0)));
        m.push((2.1, on(g(tr.0, tr.1), 127)));
        m.push((2.15, on(g(tr.0, tr.1), 0)));
        m.push((2.5, on(prev, 127)));
        m.push((2.55, on(prev, 0)));
        m.push((2.6, on(g(bl.0, bl.1), 127)));
        m.push((2.65, on(g(bl.0, bl.1), 0)));
    }
    if let Some(shift) = button(p, ButtonAction::Shift) {
        m.push((3.0, on(shift, 127)));
        m.push((3.1, on(g(br.0, br.1), 127)));
        m.push((3.15, on(g(br.0, br.1), 0)));
        m.push((3.2, on(shift, 0)));
        if let Some(stop_sel) = button(p, ButtonAction::StopSelected) {
            m.push((3.3, on(g(br.0, br.1), 127))); // plays
            m.push((3.35, on(g(br.0, br.1), 0)));
            m.push((3.6, on(stop_sel, 127))); // stops the selected pad
            m.push((3.65, on(stop_sel, 0)));
        }
    }
    if let Some(row0) = p
        .buttons
        .iter()
        .find(|b| b.action == ButtonAction::LaunchRow && b.arg == 0)
    {
        m.push((4.0, on(row0.binding, 127)));
        m.push((4.05, on(row0.binding, 0)));
    }
    if let Some(b) = button(p, ButtonAction::PlayMode) {
        m.push((4.5, on(b, 127)));
        m.push((4.55, on(b, 0)));
    }
    if let Some(b) = button(p, ButtonAction::TapTempo) {
        for k in 0..4 {
            m.push((5.0 + 0.5 * k as f64, on(b, 127)));
            m.push((5.02 + 0.5 * k as f64, on(b, 0)));
        }
    }
    let r = run(p, &set, m, 7.0);
    let name = &p.name;
    // Grid corners start the right pads.
    for (cell, t) in [(tl, 0.0), (tr, 0.1), (bl, 0.2), (br, 0.3)] {
        assert!(
            started(&r, id(0, cell.0, cell.1), t),
            "{name}: corner {cell:?}"
        );
    }
    // The corner presses land exactly at their times.
    let first = r
        .events
        .iter()
        .find(|e| e.kind == EventKind::PadStarted(id(0, tr.0, tr.1)))
        .unwrap();
    assert_eq!(
        first.frame,
        (0.1 * RATE as f64).round() as u64,
        "{name}: sample-accurate"
    );
    // Before the stop-all at 1.5 s, so only the toggle itself can have stopped it.
    assert!(
        stopped_between(&r, id(0, 0, 0), 1.0, 1.4),
        "{name}: second press on a toggle pad stops it"
    );
    let leds = r.leds.as_slice();
    let looks = p.leds.as_ref().expect("grid profiles have LEDs");
    let has = |t0: f64, msg: Vec<u8>| leds.iter().any(|(t, b)| *t >= t0 && *b == msg);
    assert!(
        has(0.0, led(note(0, 0), looks.playing.unwrap())),
        "{name}: playing LED"
    );
    assert!(
        has(1.0, led(note(0, 0), looks.loaded.unwrap())),
        "{name}: loaded LED after stop"
    );
    assert!(
        leds.iter()
            .any(|(_, b)| *b == led(note(1.min(rows - 1), 1), looks.empty.unwrap())),
        "{name}: empty pads are lit as empty"
    );
    for init in &p.init {
        assert_eq!(&leds[0].1, init, "{name}: init SysEx first");
    }
    if button(p, ButtonAction::StopAll).is_some() {
        for cell in [tr, bl, br] {
            assert!(
                stopped(&r, id(0, cell.0, cell.1), 1.5),
                "{name}: stop all stops {cell:?}"
            );
        }
    }
    if button(p, ButtonAction::BankNext).is_some() {
        assert!(
            started(&r, id(1, tr.0, tr.1), 2.1),
            "{name}: bank next reaches bank 1"
        );
        assert!(
            started(&r, id(0, bl.0, bl.1), 2.6),
            "{name}: bank prev returns to bank 0"
        );
    }
    if button(p, ButtonAction::Shift).is_some() {
        let in_shift = r.events.iter().any(|e| {
            e.kind == EventKind::PadStarted(id(0, br.0, br.1))
                && (3.0..3.2).contains(&(e.frame as f64 / RATE as f64))
        });
        assert!(!in_shift, "{name}: shift + pad selects instead of playing");
        assert!(
            has(3.1, led(note(br.0, br.1), looks.selected.unwrap())),
            "{name}: selected LED"
        );
        if button(p, ButtonAction::StopSelected).is_some() {
            assert!(stopped(&r, id(0, br.0, br.1), 3.6), "{name}: stop selected");
        }
    }
    if p.buttons
        .iter()
        .any(|b| b.action == ButtonAction::LaunchRow && b.arg == 0)
    {
        assert!(started(&r, id(0, tr.0, tr.1), 4.0), "{name}: launch row 0");
    }
    if let Some(b) = p
        .buttons
        .iter()
        .find(|b| b.action == ButtonAction::PlayMode && b.led)
    {
        let (Binding::Note(_, n) | Binding::Cc(_, n)) = b.binding;
        let status = if matches!(b.binding, Binding::Cc(..)) {
            0xB0
        } else {
            0x90
        };
        let lit = looks.button_on.unwrap().last();
        assert!(
            has(4.5, vec![status | (lit.channel - 1), n, lit.value]),
            "{name}: play mode LED on"
        );
    }
    if button(p, ButtonAction::TapTempo).is_some() {
        assert!(
            (r.bpm - 120.0).abs() < 0.5,
            "{name}: tap tempo gives {} BPM",
            r.bpm
        );
    }
    // LED traffic is coalesced: never more than one full refresh per tick.
    let per_tick = leds.iter().filter(|(t, _)| *t > 0.0 && *t < 0.011).count();
    assert!(
        per_tick <= padlooper::midi::leds::MAX_PER_TICK,
        "{name}: {per_tick} LED messages in one tick"
    );
}

/// Fader sweeps: column gain and master volume follow the fader, without steps.
fn check_faders(p: &Profile) {
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\nrow = 7\ncol = 0\nbuiltin = \"sine440\"\nmode = \"retrigger\"\n",
    );
    let col0 = p
        .controls
        .iter()
        .find(|c| c.action == ControlAction::ColumnGain && c.arg == 0);
    let master = p
        .controls
        .iter()
        .find(|c| c.action == ControlAction::MasterVolume);
    let launch = p
        .buttons
        .iter()
        .find(|b| b.action == ButtonAction::LaunchRow && b.arg == 7);
    let mut m = Vec::new();
    // Start the pad: by its grid note, or by the row-8 launch button on grid-less devices.
    match (p.rows >= 8, launch) {
        (true, _) => m.push((
            0.0,
            on(Binding::Note(p.grid_channel, p.grid_notes[7 * p.cols]), 127),
        )),
        (false, Some(b)) => m.push((0.0, on(b.binding, 127))),
        _ => return,
    }
    for (k, c) in [col0, master].iter().enumerate() {
        let Some(c) = c else { continue };
        let t0 = 0.5 + 1.5 * k as f64;
        for i in 0..=127u8 {
            m.push((t0 + i as f64 * 0.005, on(c.binding, 127 - i))); // sweep down to 0
        }
        m.push((t0 + 0.8, on(c.binding, 127)));
    }
    let r = run(p, &set, m, 3.5);
    let name = &p.name;
    for (k, c) in [col0, master].iter().enumerate() {
        if c.is_none() {
            continue;
        }
        let t0 = 0.5 + 1.5 * k as f64;
        let silent = peak(&left(&r.samples, t0 + 0.68, t0 + 0.78));
        let loud = peak(&left(&r.samples, t0 + 0.9, t0 + 1.3));
        assert!(silent < 0.001, "{name}: fader {k} at 0 silences ({silent})");
        assert!(loud > 0.45, "{name}: fader {k} back up ({loud})");
        assert!(
            max_jump(&left(&r.samples, t0, t0 + 1.0)) < 0.06,
            "{name}: fader {k} sweep is smooth"
        );
    }
}

#[test]
fn every_builtin_profile_parses() {
    for (name, text) in padlooper::config::profile::BUILTIN {
        Profile::parse(std::path::Path::new(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(Profile::builtins().len(), 7);
}

#[test]
fn launchpad_mini_mk3() {
    let p = Profile::find("launchpad-mini-mk3").unwrap();
    assert_eq!(p.grid_notes[0], 81);
    assert_eq!(p.grid_notes[63], 18);
    check_grid_profile(&p);
    check_stem_mode(&p);
}

#[test]
fn launchpad_x() {
    let p = Profile::find("launchpad-x").unwrap();
    assert_eq!(
        p.init,
        vec![vec![0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E, 0x01, 0xF7]]
    );
    check_grid_profile(&p);
    check_stem_mode(&p);
}

#[test]
fn launchpad_pro_mk3() {
    let p = Profile::find("launchpad-pro-mk3").unwrap();
    check_grid_profile(&p);
    check_stem_mode(&p);
}

#[test]
fn apc_mini_mk2() {
    let p = Profile::find("apc-mini-mk2").unwrap();
    assert_eq!(
        (
            p.grid_notes[0],
            p.grid_notes[7],
            p.grid_notes[56],
            p.grid_notes[63]
        ),
        (56, 63, 0, 7)
    );
    check_grid_profile(&p);
    check_stem_mode(&p);
    check_faders(&p);
}

#[test]
fn apc40_mk2() {
    let p = Profile::find("apc40-mk2").unwrap();
    assert_eq!(
        (p.rows, p.cols, p.grid_notes[0], p.grid_notes[39]),
        (5, 8, 32, 7)
    );
    check_grid_profile(&p);
    check_stem_mode(&p);
    // Track faders are CC 7 on channels 1-8; the tempo knob is relative.
    assert!(
        p.controls
            .iter()
            .any(|c| c.action == ControlAction::ColumnGain && c.binding == Binding::Cc(7, 7))
    );
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n");
    let r = run(
        &p,
        &set,
        vec![(0.1, vec![0xB0, 13, 5]), (0.2, vec![0xB0, 13, 126])],
        0.5,
    );
    assert!(
        (r.bpm - 123.0).abs() < 1e-3,
        "relative tempo: 120 + 5 - 2 = {}",
        r.bpm
    );
}

#[test]
fn apc_mini() {
    let p = Profile::find("apc-mini").unwrap();
    check_grid_profile(&p);
    check_stem_mode(&p);
    check_faders(&p);
}

#[test]
fn nanokontrol2() {
    let p = Profile::find("nanokontrol2").unwrap();
    assert!(p.grid_notes.is_empty());
    check_faders(&p);
    // S buttons launch rows; Stop stops all; track </> switch banks.
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n[[pad]]\nbank = 1\npad = 0\nbuiltin = \"sine440\"\n",
    );
    let m = vec![
        (0.0, vec![0xB0, 32, 127]),
        (0.5, vec![0xB0, 42, 127]),
        (1.0, vec![0xB0, 59, 127]),
        (1.1, vec![0xB0, 32, 127]),
    ];
    let r = run(&p, &set, m, 1.5);
    assert!(started(&r, 0, 0.0), "S1 launches row 1");
    assert!(stopped(&r, 0, 0.5), "Stop stops all");
    assert!(
        started(&r, 64, 1.1),
        "track > goes to bank 2: {:?}",
        r.events
    );
}

#[test]
fn selected_pad_knobs_shape_the_sound() {
    // Shift-select a pad on the APC40 and kill its mid with the device knob: the 440 Hz tone
    // (in the mid band) disappears.
    let p = Profile::find("apc40-mk2").unwrap();
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n");
    let pad0 = vec![0x90, 32, 127];
    let m = vec![
        (0.0, pad0.clone()),
        (0.1, vec![0x90, 98, 127]), // shift down
        (0.2, vec![0x90, 32, 127]), // select pad 0 (no retrigger)
        (0.3, vec![0x80, 98, 0]),   // shift up
        (0.5, vec![0xB0, 17, 0]),   // device knob 2 = selected EQ mid -> kill
    ];
    let r = run(&p, &set, m, 1.5);
    assert!(tone(&left(&r.samples, 0.1, 0.45), 440.0) > 0.45);
    assert!(
        tone(&left(&r.samples, 0.9, 1.5), 440.0) < 0.01,
        "mid killed"
    );
}

#[test]
fn every_control_action_reaches_its_engine_parameter() {
    use padlooper::engine::command::{Command, FxParam, SendBus};
    use padlooper::midi::controller::{Controller, DeviceState};
    let actions = [
        "master_volume",
        "global_speed",
        "bpm",
        "selected_gain",
        "selected_speed",
        "selected_eq_low",
        "selected_eq_mid",
        "selected_eq_high",
        "selected_filter",
        "selected_resonance",
        "selected_delay_send",
        "selected_reverb_send",
        "selected_transpose",
        "delay_wet",
        "delay_feedback",
        "delay_division",
        "reverb_wet",
        "reverb_room",
        "reverb_damping",
        "phaser_mix",
        "phaser_rate",
        "phaser_depth",
        "phaser_feedback",
    ];
    let mut text = String::from("name = \"all\"\nports = [\"all\"]\n");
    for (i, a) in actions.iter().enumerate() {
        text += &format!("[[control]]\naction = \"{a}\"\ncc = {i}\n");
    }
    text += "[[control]]\naction = \"column_gain\"\ncc = 100\ncol = 2\n[[control]]\naction = \"column_filter\"\ncc = 101\ncol = 2\n";
    let profile = Arc::new(Profile::parse(std::path::Path::new("all.toml"), &text).unwrap());
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 2\nbuiltin = \"sine440\"\n[[pad]]\npad = 10\nbuiltin = \"sine440\"\n",
    );
    let stats = Arc::new(padlooper::engine::shared::EngineStats::new(
        set.grid.total_pads(),
    ));
    let shared = Arc::new(SharedControl::new(&set, RATE, stats));
    shared
        .selected
        .store(2, std::sync::atomic::Ordering::Relaxed);
    let mut c = Controller::new(profile, shared, Arc::new(DeviceState::default()));
    let mut got = Vec::new();
    for cc in (0..actions.len() as u8).chain([100, 101]) {
        c.feed(&[0xB0, cc, 127], 0, &mut |t| got.push(t.cmd));
    }
    let want = vec![
        Command::MasterVolume(1.0),
        Command::GlobalSpeed(2f32.powf(63.0 / 64.0)),
        Command::Transport(padlooper::engine::command::TransportCmd::Tempo(187.0)),
        Command::Pad(
            2,
            PadCmd::Gain(padlooper::midi::controller::fader_gain(127)),
        ),
        Command::Pad(2, PadCmd::Speed(2f32.powf(63.0 / 64.0))),
        Command::Pad(2, PadCmd::Eq(0, 1.0)),
        Command::Pad(2, PadCmd::Eq(1, 1.0)),
        Command::Pad(2, PadCmd::Eq(2, 1.0)),
        Command::Pad(2, PadCmd::Filter(1.0)),
        Command::Pad(2, PadCmd::Resonance(1.0)),
        Command::Pad(2, PadCmd::Send(SendBus::Delay, 1.0)),
        Command::Pad(2, PadCmd::Send(SendBus::Reverb, 1.0)),
        Command::Pad(2, PadCmd::Transpose(12.0)),
        Command::Fx(FxParam::DelayWet, 1.0),
        Command::Fx(FxParam::DelayFeedback, 0.95),
        Command::Fx(FxParam::DelayDivision, 3.0),
        Command::Fx(FxParam::ReverbWet, 1.0),
        Command::Fx(FxParam::ReverbRoom, 1.0),
        Command::Fx(FxParam::ReverbDamping, 1.0),
        Command::Fx(FxParam::PhaserMix, 1.0),
        Command::Fx(FxParam::PhaserRate, 0.05 * 200.0),
        Command::Fx(FxParam::PhaserDepth, 1.0),
        Command::Fx(FxParam::PhaserFeedback, 0.9),
    ];
    assert_eq!(&got[..want.len()], &want[..]);
    // Column controls reach every pad of grid column 2 in the current bank (rows 0..7).
    let col: Vec<_> = got[want.len()..].to_vec();
    assert_eq!(col.len(), 16);
    assert!(
        col[..8].iter().enumerate().all(
            |(r, c)| matches!(c, Command::Pad(p, PadCmd::Gain(_)) if *p as usize == r * 8 + 2)
        )
    );
    assert!(
        col[8..]
            .iter()
            .all(|c| matches!(c, Command::Pad(_, PadCmd::Filter(k)) if *k == 1.0))
    );
}

#[test]
fn transport_buttons_start_the_clock_blink_on_the_beat_and_nudge() {
    for p in Profile::builtins() {
        let Some(toggle) = button(&p, ButtonAction::TransportToggle) else {
            continue;
        };
        let name = p.name.clone();
        let dir = tmp();
        let set = set_in(dir.path(), "[master]\nbpm = 120\n");
        let mut m = vec![(0.1, on(toggle, 127)), (0.15, on(toggle, 0))];
        let nudge = button(&p, ButtonAction::NudgeUp);
        if let Some(n) = nudge {
            m.push((1.1, on(n, 127)));
            m.push((2.1, on(n, 0)));
        }
        m.push((3.5, on(toggle, 127))); // stop
        m.push((3.55, on(toggle, 0)));
        let r = run(&p, &set, m, 4.0);
        let bars: Vec<u64> = r
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Bar(_)))
            .map(|e| e.frame)
            .collect();
        assert_eq!(bars[0], 4_800, "{name}: bar 1 at the press");
        // Bar 2 is 4 beats later: 2 s at 120 BPM, sooner with the nudge held 1.1-2.1 s (4 %).
        let want = if nudge.is_some() {
            let beats_at_nudge = (1.1 - 0.1) * 2.0;
            0.1 + 1.0 + (4.0 - beats_at_nudge) / (2.0 * 1.04)
        } else {
            2.1
        };
        let got = bars[1] as f64 / RATE as f64;
        assert!(
            (got - want).abs() < 0.001,
            "{name}: bar 2 at {got:.4} s, want {want:.4}"
        );
        assert_eq!(bars.len(), 2, "{name}: stopped before bar 3");
        // The transport button's LED blinks on the beat while running.
        let (Binding::Note(_, n) | Binding::Cc(_, n)) = toggle;
        let looks = p.leds.as_ref().unwrap();
        let lit = looks.button_on.unwrap().last().value;
        let flashes = r
            .leds
            .iter()
            .filter(|(t, b)| *t > 0.1 && *t < 3.5 && b[1] == n && b[2] == lit)
            .count();
        assert!(flashes >= 5, "{name}: {flashes} beat flashes");
    }
}

#[test]
fn sync_selected_toggles_the_selected_pads_sync() {
    let profile = Arc::new(Profile::find("apc40-mk2").unwrap());
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 2\nbuiltin = \"drums\"\nbeats = 8\n",
    );
    let stats = Arc::new(padlooper::engine::shared::EngineStats::new(
        set.grid.total_pads(),
    ));
    let shared = Arc::new(SharedControl::new(&set, RATE, stats));
    shared
        .selected
        .store(2, std::sync::atomic::Ordering::Relaxed);
    let mut c = padlooper::midi::controller::Controller::new(
        profile.clone(),
        shared,
        Arc::new(Default::default()),
    );
    let b = button(&profile, ButtonAction::SyncSelected).unwrap();
    let mut got = Vec::new();
    c.feed(&on(b, 127), 0, &mut |t| got.push(t.cmd));
    assert_eq!(
        got,
        vec![padlooper::engine::command::Command::Pad(
            2,
            PadCmd::Sync(None)
        )]
    );
}

#[test]
fn key_lock_buttons_and_the_transpose_knob_reach_the_selected_pad() {
    // APC40 mk2: a synced 440 Hz loop at 1.25 × its tempo sounds at 550 Hz; Bank (selected
    // key lock) brings it back to 440 Hz at the same tempo, three detents of the Cue knob
    // (selected transpose) move it up 3 semitones, User (global key lock) turns key lock off
    // everywhere again. The Bank LED follows the selected pad's key lock.
    let p = Profile::find("apc40-mk2").unwrap();
    let dir = tmp();
    write_wav16(&dir.path().join("a.wav"), RATE, 2.0, sine(440.0, 0.5));
    let set = set_in(
        dir.path(),
        "[master]\nbpm = 150\n[[pad]]\npad = 0\nfile = \"a.wav\"\nbpm = 120\nsync = true\n",
    );
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    let shared = Arc::new(SharedControl::new(&set, RATE, engine.stats().clone()));
    let keylock = button(&p, ButtonAction::SelectedKeyLock).unwrap();
    let global = button(&p, ButtonAction::GlobalKeyLock).unwrap();
    let m = vec![
        (0.0, vec![0x90, 32, 127]), // pad 0 (top-left clip) starts
        (0.1, vec![0x90, 98, 127]), // shift down
        (0.2, vec![0x90, 32, 127]), // select pad 0
        (0.3, vec![0x80, 98, 0]),   // shift up
        (2.0, on(keylock, 127)),
        (2.05, on(keylock, 0)),
        (4.0, vec![0xB0, 47, 1]), // Cue: +1, three times
        (4.01, vec![0xB0, 47, 1]),
        (4.02, vec![0xB0, 47, 1]),
        (6.0, on(global, 127)),
        (6.05, on(global, 0)),
    ];
    let mut replay = MidiReplay::new(Arc::new(p.clone()), shared, m, RATE);
    let mut tables = padlooper::control::keylock::setup::offline(&set, &report, &mut handle, true);
    let out = render_with(
        &mut engine,
        &mut handle,
        &mut [&mut replay, &mut tables],
        8.0,
        256,
        |_, _| {},
    );
    let f = |a, b| crate::common::analysis::fft_freq(&left(&out.samples, a, b));
    let cents = crate::common::analysis::cents;
    assert!(cents(f(0.5, 1.9), 550.0).abs() < 2.0, "varispeed");
    assert!(cents(f(2.5, 3.9), 440.0).abs() < 2.0, "key lock");
    let up = 440.0 * 2f64.powf(3.0 / 12.0);
    assert!(cents(f(4.5, 5.9), up).abs() < 2.0, "transposed");
    assert!(
        cents(f(6.5, 7.9), up * 1.25).abs() < 2.0,
        "key lock off again"
    );
    let (Binding::Note(_, bank) | Binding::Cc(_, bank)) = keylock;
    let lit = p.leds.as_ref().unwrap().button_on.unwrap().last().value;
    let bank_leds: Vec<(f64, u8)> = replay
        .led_log
        .iter()
        .filter(|(_, b)| b[1] == bank)
        .map(|(t, b)| (*t, b[2]))
        .collect();
    assert!(
        bank_leds
            .iter()
            .any(|&(t, v)| t > 2.0 && t < 6.0 && v == lit),
        "the Bank LED lights with key lock: {bank_leds:?}"
    );
    assert_eq!(
        bank_leds.last().map(|l| l.1 == lit),
        Some(false),
        "and goes out"
    );
}

#[test]
fn transpose_buttons_step_the_selected_pad() {
    use padlooper::engine::command::Command;
    let profile = Arc::new(Profile::find("nanokontrol2").unwrap());
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 2\nbuiltin = \"sine440\"\n");
    let stats = Arc::new(padlooper::engine::shared::EngineStats::new(
        set.grid.total_pads(),
    ));
    let shared = Arc::new(SharedControl::new(&set, RATE, stats));
    shared
        .selected
        .store(2, std::sync::atomic::Ordering::Relaxed);
    let mut c = padlooper::midi::controller::Controller::new(
        profile.clone(),
        shared,
        Arc::new(Default::default()),
    );
    let mut got = Vec::new();
    for b in profile.buttons.iter().filter(|b| {
        matches!(
            b.action,
            ButtonAction::SelectedTranspose
                | ButtonAction::SelectedKeyLock
                | ButtonAction::GlobalKeyLock
        )
    }) {
        c.feed(&on(b.binding, 127), 0, &mut |t| got.push(t.cmd));
        c.feed(&on(b.binding, 0), 0, &mut |t| got.push(t.cmd));
    }
    assert_eq!(
        got,
        vec![
            Command::Pad(2, PadCmd::KeyLock(None)),
            Command::GlobalKeyLock(None),
            Command::Pad(2, PadCmd::TransposeBy(-1.0)),
            Command::Pad(2, PadCmd::TransposeBy(1.0)),
        ]
    );
}

#[test]
fn a_reset_state_button_asks_the_control_loop_to_forget_live_changes() {
    use padlooper::midi::controller::{Controller, DeviceState};
    let text = "name = \"r\"\nports = [\"r\"]\n[[button]]\naction = \"reset_state\"\nnote = 5\n";
    let profile = Arc::new(Profile::parse(std::path::Path::new("r.toml"), text).unwrap());
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n");
    let stats = Arc::new(padlooper::engine::shared::EngineStats::new(
        set.grid.total_pads(),
    ));
    let shared = Arc::new(SharedControl::new(&set, RATE, stats));
    let mut c = Controller::new(profile, shared.clone(), Arc::new(DeviceState::default()));
    let mut got = Vec::new();
    c.feed(&[0x90, 5, 127], 0, &mut |t| got.push(t.cmd));
    c.feed(&[0x80, 5, 0], 0, &mut |t| got.push(t.cmd));
    assert!(got.is_empty(), "no engine command: {got:?}");
    assert!(
        shared
            .reset_requested
            .swap(false, std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn a_link_button_asks_to_switch_link_and_its_led_shows_the_peers() {
    use padlooper::midi::controller::{Controller, DeviceState};
    use std::sync::atomic::Ordering;
    let text =
        "name = \"l\"\nports = [\"l\"]\n[[button]]\naction = \"link\"\nnote = 7\nled = true\n";
    let profile = Arc::new(Profile::parse(std::path::Path::new("l.toml"), text).unwrap());
    let dir = tmp();
    let set = set_in(dir.path(), "[master]\nlink = true\n");
    assert!(set.master.link);
    let stats = Arc::new(padlooper::engine::shared::EngineStats::new(
        set.grid.total_pads(),
    ));
    let shared = Arc::new(SharedControl::new(&set, RATE, stats));
    let mut c = Controller::new(profile, shared.clone(), Arc::new(DeviceState::default()));
    let mut got = Vec::new();
    c.feed(&[0x90, 7, 127], 0, &mut |t| got.push(t.cmd));
    c.feed(&[0x80, 7, 0], 0, &mut |t| got.push(t.cmd));
    assert!(got.is_empty(), "no engine command: {got:?}");
    assert!(shared.link.toggle_requested.swap(false, Ordering::Relaxed));
    // Off: dark. On with a peer: lit. On alone: blinking (lit half the time).
    use padlooper::midi::leds::link_lit;
    assert!(!link_lit(&shared));
    shared.link.on.store(true, Ordering::Relaxed);
    shared.link.peers.store(1, Ordering::Relaxed);
    assert!(link_lit(&shared));
    shared.link.peers.store(0, Ordering::Relaxed);
    let mut states = std::collections::BTreeSet::new();
    for _ in 0..12 {
        states.insert(link_lit(&shared));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(states.len(), 2, "blinks while alone");
}
