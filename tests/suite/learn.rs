//! MIDI learn: simulated sessions produce valid profiles that map the device as pressed.

use padlooper::config::profile::{Binding, ButtonAction, ControlAction, Profile};
use padlooper::midi::learn::{BUTTONS, CONTROLS, LearnInput, learn};
use padlooper::midi::parser::MidiMessage;
use std::path::Path;

fn note(n: u8) -> Vec<LearnInput> {
    vec![
        LearnInput::Midi(MidiMessage::NoteOn {
            channel: 0,
            note: n,
            velocity: 127,
        }),
        LearnInput::Midi(MidiMessage::NoteOff {
            channel: 0,
            note: n,
        }),
    ]
}

fn cc(n: u8) -> Vec<LearnInput> {
    vec![
        LearnInput::Midi(MidiMessage::Control {
            channel: 0,
            cc: n,
            value: 127,
        }),
        LearnInput::Midi(MidiMessage::Control {
            channel: 0,
            cc: n,
            value: 0,
        }),
    ]
}

fn skip() -> Vec<LearnInput> {
    vec![LearnInput::Line(String::new())]
}

#[test]
fn a_launchpad_session_reproduces_the_grid_and_buttons() {
    let mut input = Vec::new();
    // A wrong first try (not a regular grid) is rejected and asked again.
    for n in [81, 82, 71, 85, 12] {
        input.extend(note(n));
    }
    for n in [81, 82, 71, 88, 11] {
        input.extend(note(n));
    }
    input.extend(note(82)); // a grid pad pressed by mistake during the buttons: ignored
    input.extend(cc(91)); // bank_prev
    input.extend(cc(92)); // bank_next
    input.extend(cc(19)); // stop_all
    input.extend(cc(95)); // shift
    for _ in 4..BUTTONS.len() - 1 {
        input.extend(skip());
    }
    input.extend(cc(94)); // tap_tempo
    for _ in CONTROLS {
        input.extend(skip());
    }
    let mut prompts = Vec::new();
    let text = learn(
        "Launchpad X:Launchpad X LPX MIDI 24:1",
        input.into_iter(),
        &mut prompts,
    )
    .unwrap();
    let prompts = String::from_utf8(prompts).unwrap();
    assert!(prompts.contains("do not form a regular grid"), "{prompts}");
    let p =
        Profile::parse(Path::new("learned.toml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(p.ports, vec!["Launchpad X LPX MIDI".to_string()]);
    assert!(p.matches_port("Launchpad X:Launchpad X LPX MIDI 24:1"));
    let builtin = Profile::find("launchpad-x").unwrap();
    assert_eq!((p.rows, p.cols), (8, 8));
    assert_eq!(
        p.grid_notes, builtin.grid_notes,
        "same grid as the shipped profile"
    );
    let b = |a: ButtonAction| p.buttons.iter().find(|b| b.action == a).map(|b| b.binding);
    assert_eq!(b(ButtonAction::BankPrev), Some(Binding::Cc(0, 91)));
    assert_eq!(b(ButtonAction::BankNext), Some(Binding::Cc(0, 92)));
    assert_eq!(b(ButtonAction::StopAll), Some(Binding::Cc(0, 19)));
    assert_eq!(b(ButtonAction::Shift), Some(Binding::Cc(0, 95)));
    assert_eq!(b(ButtonAction::TapTempo), Some(Binding::Cc(0, 94)));
    assert_eq!(b(ButtonAction::PlayMode), None);
}

#[test]
fn a_knob_box_without_a_grid() {
    let mut input = skip();
    for _ in BUTTONS {
        input.extend(skip());
    }
    // Faders send many values while moved; each control is learned once.
    for (i, _) in CONTROLS.iter().enumerate() {
        for v in [10, 20, 30] {
            input.push(LearnInput::Midi(MidiMessage::Control {
                channel: 1,
                cc: i as u8,
                value: v,
            }));
        }
    }
    let text = learn(
        "nanoKONTROL2 MIDI 1",
        input.into_iter(),
        &mut std::io::sink(),
    )
    .unwrap();
    let p =
        Profile::parse(Path::new("learned.toml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(p.grid_notes.is_empty());
    assert_eq!(p.controls.len(), CONTROLS.len());
    assert_eq!(p.controls[0].action, ControlAction::MasterVolume);
    assert_eq!(p.controls[0].binding, Binding::Cc(1, 0));
    assert_eq!(
        p.controls[3].binding,
        Binding::Cc(1, 3),
        "the repeated values of a moved fader are not learned twice"
    );
}

#[test]
fn an_unplugged_device_mid_walk_writes_nothing() {
    let input = note(81);
    assert!(learn("X", input.into_iter(), &mut std::io::sink()).is_err());
}
