//! Hot-plug with a fake port list: unplugging is logged and nothing else stops; plugging back
//! reconnects, re-sends init SysEx and restores the LEDs. And a machine without MIDI.

mod common;
use common::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use padlooper::config::profile::Profile;
use padlooper::control::set_loader::{engine_settings, load_set};
use padlooper::engine::{Engine, EngineHandle};
use padlooper::midi::ports::{
    InputConnection, MidiBackend, MidiManager, OutputConnection, SharedInput,
};
use padlooper::midi::state::{PadStatus, SharedControl};

/// Messages sent to outputs: (port, bytes).
type Sent = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Fake {
    ports: Arc<Mutex<Vec<String>>>,
    sent: Sent,
    inputs: Arc<Mutex<HashMap<String, SharedInput>>>,
    broken: bool,
}

struct FakeIn;
impl InputConnection for FakeIn {}

struct FakeOut {
    port: String,
    fake: Fake,
}
impl OutputConnection for FakeOut {
    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        if !self.fake.ports.lock().unwrap().contains(&self.port) {
            return Err("device gone".into());
        }
        self.fake
            .sent
            .lock()
            .unwrap()
            .push((self.port.clone(), bytes.to_vec()));
        Ok(())
    }
}

impl MidiBackend for Fake {
    fn input_ports(&mut self) -> Result<Vec<String>, String> {
        if self.broken {
            return Err("ALSA sequencer not available".into());
        }
        Ok(self.ports.lock().unwrap().clone())
    }
    fn output_ports(&mut self) -> Result<Vec<String>, String> {
        self.input_ports()
    }
    fn connect_input(
        &mut self,
        port: &str,
        state: SharedInput,
    ) -> Result<Box<dyn InputConnection>, String> {
        self.inputs.lock().unwrap().insert(port.to_string(), state);
        Ok(Box::new(FakeIn))
    }
    fn connect_output(&mut self, port: &str) -> Result<Box<dyn OutputConnection>, String> {
        Ok(Box::new(FakeOut {
            port: port.to_string(),
            fake: self.clone(),
        }))
    }
}

const LPX: &str = "Launchpad X:Launchpad X LPX MIDI 24:1";

/// An engine with `set_body` loaded, its shared controller state, a fake port list holding
/// `ports`, and a manager with the built-in profiles.
fn rig(
    set_body: &str,
    ports: &[&str],
) -> (Engine, EngineHandle, Arc<SharedControl>, Fake, MidiManager) {
    let dir = tmp();
    let set = set_in(dir.path(), set_body);
    let (engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    let shared = Arc::new(SharedControl::new(&set, RATE));
    shared.mark_loaded(&report.ready_pads, &report.failed_pads);
    let fake = Fake::default();
    *fake.ports.lock().unwrap() = ports.iter().map(|p| p.to_string()).collect();
    let profiles: Vec<Arc<Profile>> = Profile::builtins().into_iter().map(Arc::new).collect();
    let midi = MidiManager::new(Box::new(fake.clone()), profiles, None, shared.clone(), 256);
    (engine, handle, shared, fake, midi)
}

#[test]
fn unplug_and_replug_reconnects_and_restores_leds() {
    let (mut engine, mut handle, shared, fake, mut midi) = rig(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n[[pad]]\npad = 9\nbuiltin = \"drums\"\n",
        &[
            "Launchpad X:Launchpad X LPX DAW 24:0",
            LPX,
            "Midi Through Port-0",
        ],
    );
    let mut buf = vec![0.0f32; 512];
    let mut step = |engine: &mut Engine,
                    handle: &mut padlooper::engine::EngineHandle,
                    midi: &mut MidiManager| {
        engine.process(&mut buf);
        shared.publish_clock(engine.frame());
        for e in handle.drain_events() {
            shared.apply_event(&e);
        }
        midi.tick();
        peak(&buf)
    };

    midi.poll_ports(&mut handle);
    assert_eq!(
        midi.connected(),
        vec![LPX.to_string()],
        "only the MIDI port of the Launchpad"
    );
    step(&mut engine, &mut handle, &mut midi);
    let sent = fake.sent.lock().unwrap().clone();
    assert_eq!(
        sent[0].1,
        vec![0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E, 0x01, 0xF7],
        "programmer mode first"
    );
    assert!(
        sent.contains(&(LPX.into(), vec![0x90, 81, 15])),
        "pad 0 lit as loaded"
    );
    assert!(
        sent.contains(&(LPX.into(), vec![0x90, 82, 0])),
        "empty pads lit as empty"
    );
    assert!(sent.len() > 64, "full refresh on connect");

    // Press pad 0 (note 81) on the device: it plays and its LED follows.
    fake.inputs.lock().unwrap()[LPX]
        .lock()
        .unwrap()
        .on_message(0, &[0x90, 81, 127]);
    for _ in 0..4 {
        step(&mut engine, &mut handle, &mut midi);
    }
    assert_eq!(shared.status(0), PadStatus::Playing);
    assert!(
        fake.sent
            .lock()
            .unwrap()
            .contains(&(LPX.into(), vec![0x92, 81, 21])),
        "playing LED"
    );

    // Unplug: logged, the pad keeps playing, the command lane comes back.
    fake.ports.lock().unwrap().retain(|p| p != LPX);
    midi.poll_ports(&mut handle);
    assert!(midi.connected().is_empty());
    assert!(
        midi.log.iter().any(|l| l.contains("unplugged")),
        "{:?}",
        midi.log
    );
    let mut level = 0.0;
    for _ in 0..20 {
        level = step(&mut engine, &mut handle, &mut midi);
    }
    assert!(level > 0.1, "audio continues");
    let lanes: Vec<_> = std::iter::from_fn(|| handle.take_lane()).collect();
    assert_eq!(lanes.len(), 8, "every lane is free again");
    for l in lanes {
        handle.return_lane(l);
    }

    // Plug back in: init SysEx again, and a full LED refresh that shows the playing pad.
    fake.sent.lock().unwrap().clear();
    fake.ports.lock().unwrap().push(LPX.into());
    midi.poll_ports(&mut handle);
    step(&mut engine, &mut handle, &mut midi);
    let sent = fake.sent.lock().unwrap().clone();
    assert_eq!(sent[0].1[..7], [0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E]);
    assert!(
        sent.contains(&(LPX.into(), vec![0x92, 81, 21])),
        "LEDs restored"
    );
    assert!(sent.len() > 64);
    // And it works again.
    fake.inputs.lock().unwrap()[LPX]
        .lock()
        .unwrap()
        .on_message(0, &[0x90, 81, 127]);
    for _ in 0..4 {
        step(&mut engine, &mut handle, &mut midi);
    }
    assert_eq!(
        shared.status(0),
        PadStatus::Loaded,
        "second press of a toggle pad stops it"
    );

    // Quitting darkens the pads and hands the device back (exit SysEx last).
    fake.sent.lock().unwrap().clear();
    midi.shutdown(&mut handle);
    let sent = fake.sent.lock().unwrap().clone();
    assert!(
        sent.contains(&(LPX.into(), vec![0x90, 81, 0])),
        "pad LED off"
    );
    assert_eq!(
        sent.last().unwrap().1,
        vec![0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E, 0x00, 0xF7]
    );
    assert!(midi.connected().is_empty());
}

#[test]
fn no_midi_subsystem_is_reported_once_and_nothing_else_stops() {
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n");
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    load_set(&set, &mut handle, 0, &|_, _| {});
    let shared = Arc::new(SharedControl::new(&set, RATE));
    let fake = Fake {
        broken: true,
        ..Fake::default()
    };
    let mut midi = MidiManager::new(Box::new(fake), Vec::new(), None, shared, 256);
    for _ in 0..3 {
        midi.poll_ports(&mut handle);
        midi.tick();
    }
    assert_eq!(midi.log.len(), 1);
    assert!(midi.log[0].starts_with("MIDI is unavailable (ALSA sequencer not available)"));
    handle
        .command(padlooper::engine::command::Command::Press(0))
        .unwrap();
    let mut buf = vec![0.0f32; 4096];
    engine.process(&mut buf);
    assert!(peak(&buf) > 0.1);
}

#[test]
fn port_names_pick_the_most_specific_profile() {
    let profiles: Vec<Arc<Profile>> = Profile::builtins().into_iter().map(Arc::new).collect();
    let cases = [
        (
            "APC mini mk2:APC mini mk2 APC mini mk2 Contr 20:0",
            Some("Akai APC mini mk2"),
        ),
        ("APC MINI:APC MINI MIDI 1 20:0", Some("Akai APC mini")),
        (
            "Launchpad Mini MK3:Launchpad Mini MK3 LPMiniMK3 MI 28:1",
            Some("Novation Launchpad Mini MK3"),
        ),
        (
            "Launchpad Mini MK3:Launchpad Mini MK3 LPMiniMK3 DA 28:0",
            None,
        ),
        (
            "Launchpad Pro MK3:Launchpad Pro MK3 LPProMK3 MIDI 32:0",
            Some("Novation Launchpad Pro MK3"),
        ),
        ("APC40 mkII:APC40 mkII MIDI 1 24:0", Some("Akai APC40 mkII")),
        (
            "nanoKONTROL2:nanoKONTROL2 nanoKONTROL2 _ CTR 28:0",
            Some("Korg nanoKONTROL2"),
        ),
        ("Midi Through:Midi Through Port-0 14:0", None),
    ];
    for (port, want) in cases {
        let got = padlooper::midi::ports::profile_for(port, &profiles).map(|p| p.name.as_str());
        assert_eq!(got, want, "{port}");
    }
}

#[test]
fn midi_timestamps_keep_the_spacing_of_late_delivered_messages() {
    let (mut engine, mut handle, shared, fake, mut midi) = rig(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nmode = \"retrigger\"\n",
        &[LPX],
    );
    midi.poll_ports(&mut handle);
    let mut buf = vec![0.0f32; 512];
    engine.process(&mut buf);
    shared.publish_clock(engine.frame());
    let input = fake.inputs.lock().unwrap()[LPX].clone();
    // Earlier traffic (an unmapped CC) establishes the device clock's offset...
    input.lock().unwrap().on_message(5_000_000, &[0xB0, 1, 1]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    // ...then two presses 2 ms apart on the device's clock arrive together, late.
    input
        .lock()
        .unwrap()
        .on_message(5_001_000, &[0x90, 81, 127]);
    input
        .lock()
        .unwrap()
        .on_message(5_003_000, &[0x90, 81, 127]);
    let mut starts = Vec::new();
    for _ in 0..40 {
        engine.process(&mut buf);
        starts.extend(
            handle
                .drain_events()
                .into_iter()
                .filter(|e| matches!(e.kind, padlooper::engine::event::EventKind::PadStarted(0)))
                .map(|e| e.frame),
        );
    }
    assert_eq!(starts.len(), 2);
    // 2 ms = 96 frames; the offset estimate may drift by 1 µs per message, so allow a frame.
    let gap = starts[1] - starts[0];
    assert!(
        (95..=97).contains(&gap),
        "{gap} frames: 2 ms apart as played, not as delivered"
    );
}
