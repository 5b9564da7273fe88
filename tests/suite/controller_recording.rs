//! A controller's recording buttons through the same parsing, mapping and LED code as a live
//! device, rendered with recording on: the APC40 mkII's REC then a pad records a take from the
//! next bar and the pad ends it, Device On/Off then the pad overdubs it, the device Bank ◀
//! undoes the pass, Device Lock then the pad clears it; the REC light shows it.

use std::sync::Arc;

use crate::common::replay::on;
use crate::common::{RATE, set_in, tmp};
use padlooper::config::profile::{Binding, ButtonAction, Profile};
use padlooper::control::offline::renderer::{Feeder, ScriptFeeder, render_with};
use padlooper::control::offline::replay::MidiReplay;
use padlooper::control::record::{RecordFeeder, TapeSupply};
use padlooper::control::set::loader::{engine_settings, load_set};
use padlooper::engine::Engine;
use padlooper::engine::event::EventKind;
use padlooper::midi::state::SharedControl;

fn button(p: &Profile, a: ButtonAction) -> Binding {
    p.buttons.iter().find(|b| b.action == a).unwrap().binding
}

#[test]
fn recording_buttons_arm_the_next_pad_and_the_pad_ends_its_take() {
    let p = Profile::find("apc40-mk2").unwrap();
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[master]\nbpm = 120\nrecord_seconds = 10\nquantize = \"off\"\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n",
    );
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let shared = Arc::new(SharedControl::new(&set, RATE, engine.stats().clone()));
    // Grid notes: pad 0 is the top left (note 32), pad 1 beside it (33).
    let (pad0, pad1) = (vec![0x90, 32, 127], vec![0x90, 33, 127]);
    let up = |m: &Vec<u8>| vec![0x80, m[1], 0];
    let press = |b: ButtonAction| on(button(&p, b), 127);
    let release = |b: ButtonAction| on(button(&p, b), 0);
    let midi = vec![
        (0.1, pad0.clone()),
        (0.15, up(&pad0)),
        (0.3, press(ButtonAction::Record)),
        (0.35, release(ButtonAction::Record)),
        (0.4, pad1.clone()),
        (0.45, up(&pad1)),
        (2.5, pad1.clone()),
        (2.55, up(&pad1)),
        (4.5, press(ButtonAction::Overdub)),
        (4.55, release(ButtonAction::Overdub)),
        (4.6, pad1.clone()),
        (4.65, up(&pad1)),
        (5.0, pad1.clone()),
        (5.05, up(&pad1)),
        (6.0, press(ButtonAction::Undo)),
        (6.05, release(ButtonAction::Undo)),
        (6.5, press(ButtonAction::Clear)),
        (6.55, release(ButtonAction::Clear)),
        (6.6, pad1.clone()),
        (6.65, up(&pad1)),
        // Armed and disarmed: the next press plays the pad.
        (6.8, press(ButtonAction::Record)),
        (6.9, press(ButtonAction::Record)),
        (7.0, pad0.clone()),
    ];
    let mut replay = MidiReplay::new(Arc::new(p.clone()), shared, midi, RATE);
    let latency = engine.latency();
    let supply = TapeSupply::new(set.master.record_seconds, RATE);
    let mut rec = RecordFeeder::new(&mut handle, None, latency, supply, None);
    let script = Default::default();
    let mut sf = ScriptFeeder::new(&script, RATE);
    let out = {
        let mut feeders: Vec<&mut dyn Feeder> = vec![&mut sf, &mut replay, &mut rec];
        render_with(&mut engine, &mut handle, &mut feeders, 7.5, 256, |_, _| {})
    };
    let at = |k: EventKind| {
        out.events
            .iter()
            .find(|e| e.kind == k)
            .map(|e| e.frame as f64 / RATE as f64)
    };
    let kinds: Vec<_> = out.events.iter().map(|e| e.kind).collect();
    // The transport starts with pad 0 (0.1 s). REC then pad 1: armed at once, the take on the
    // next bar (2.1 s); the pad pressed again ends it on the next bar line (4.1 s), where the
    // pad plays it.
    assert!(
        at(EventKind::RecordArmed(1)).is_some_and(|t| (0.4..0.45).contains(&t)),
        "{kinds:?}"
    );
    assert_eq!(at(EventKind::RecordStarted(1)), Some(2.1));
    assert_eq!(at(EventKind::RecordPlaying(1)), Some(4.1));
    assert!(at(EventKind::OverdubStarted(1)).is_some_and(|t| (4.6..4.65).contains(&t)));
    assert!(kinds.contains(&EventKind::RecordDone(1)));
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, EventKind::RecordUndone(1, Some(_), true)))
    );
    assert!(at(EventKind::RecordCleared(1)).is_some_and(|t| (6.6..6.65).contains(&t)));
    // Record armed and disarmed: pad 0 was pressed as a pad (it stops: it was playing).
    assert!(
        out.events
            .iter()
            .any(|e| e.kind == EventKind::PadStopped(0) && e.frame as f64 / RATE as f64 >= 7.0)
    );
    assert!(
        !kinds
            .iter()
            .any(|k| matches!(k, EventKind::RecordRefused(..))),
        "{kinds:?}"
    );
    // The REC light: lit while armed and while the take runs, dark after.
    let rec_led = |from: f64, to: f64| {
        replay
            .led_log
            .iter()
            .filter(|(t, m)| *t >= from && *t < to && m.len() == 3 && m[1] == 93)
            .map(|(_, m)| m[2])
            .collect::<Vec<_>>()
    };
    assert!(rec_led(0.3, 0.4).contains(&1), "{:?}", rec_led(0.0, 8.0));
    assert!(rec_led(4.1, 4.5).contains(&0), "{:?}", rec_led(0.0, 8.0));
}
