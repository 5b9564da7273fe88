//! Hot-plug with a fake port list: unplugging is logged and nothing else stops; plugging back
//! reconnects, re-sends init SysEx and restores the LEDs; a replug faster than the poll (same
//! name, dead connection) or under another client number reconnects; a failed LED output is
//! retried; a device unplugged while holding a gate pad releases it. And a machine without MIDI.

use crate::common::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use padlooper::config::profile::Profile;
use padlooper::control::set::loader::{engine_settings, load_set};
use padlooper::engine::command::PadCmd;
use padlooper::engine::shared::mono_nanos;
use padlooper::engine::{Engine, EngineHandle};
use padlooper::midi::ports::{
    InputConnection, MidiBackend, MidiManager, OutputConnection, PortInfo, RawHandler, SharedInput,
};
use padlooper::midi::state::{PadStatus, SharedControl};

/// Messages sent to outputs: (port, bytes).
type Sent = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Fake {
    ports: Arc<Mutex<Vec<PortInfo>>>,
    sent: Sent,
    inputs: Arc<Mutex<HashMap<String, SharedInput>>>,
    raw: Arc<Mutex<HashMap<String, RawHandler>>>,
    /// Liveness flag of the latest input connection per port name.
    alive: Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>,
    broken: bool,
    outputs_fail: Arc<AtomicBool>,
}

struct FakeIn(Arc<AtomicBool>);
impl InputConnection for FakeIn {
    fn alive(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

struct FakeOut {
    port: String,
    fake: Fake,
}
impl OutputConnection for FakeOut {
    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let present = self
            .fake
            .ports
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.name == self.port);
        if !present || self.fake.outputs_fail.load(Ordering::Relaxed) {
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
    fn input_ports(&mut self) -> Result<Vec<PortInfo>, String> {
        if self.broken {
            return Err("ALSA sequencer not available".into());
        }
        Ok(self.ports.lock().unwrap().clone())
    }
    fn output_ports(&mut self) -> Result<Vec<PortInfo>, String> {
        self.input_ports()
    }
    fn connect_input(
        &mut self,
        port: &PortInfo,
        state: SharedInput,
    ) -> Result<Box<dyn InputConnection>, String> {
        self.inputs.lock().unwrap().insert(port.name.clone(), state);
        let flag = Arc::new(AtomicBool::new(true));
        self.alive
            .lock()
            .unwrap()
            .insert(port.name.clone(), flag.clone());
        Ok(Box::new(FakeIn(flag)))
    }
    fn connect_raw(
        &mut self,
        port: &PortInfo,
        handler: RawHandler,
    ) -> Result<Box<dyn InputConnection>, String> {
        self.raw.lock().unwrap().insert(port.name.clone(), handler);
        Ok(Box::new(FakeIn(Arc::new(AtomicBool::new(true)))))
    }
    fn connect_output(&mut self, port: &PortInfo) -> Result<Box<dyn OutputConnection>, String> {
        if self.outputs_fail.load(Ordering::Relaxed) {
            return Err("cannot open".into());
        }
        Ok(Box::new(FakeOut {
            port: port.name.clone(),
            fake: self.clone(),
        }))
    }
}

const LPX: &str = "Launchpad X:Launchpad X LPX MIDI 24:1";

fn port(name: &str, id: &str) -> PortInfo {
    PortInfo {
        name: name.into(),
        id: id.into(),
    }
}

struct Rig {
    engine: Engine,
    handle: EngineHandle,
    shared: Arc<SharedControl>,
    fake: Fake,
    midi: MidiManager,
    buf: Vec<f32>,
}

impl Rig {
    /// An engine with `set_body` loaded, its shared controller state, a fake port list holding
    /// `ports`, and a manager with the built-in profiles.
    fn new(set_body: &str, ports: &[PortInfo]) -> Rig {
        let dir = tmp();
        let set = set_in(dir.path(), set_body);
        let (engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
        let report = load_set(&set, &mut handle, 0, &|_, _| {});
        let shared = Arc::new(SharedControl::new(&set, RATE, engine.stats().clone()));
        shared.mark_failed(&report.failed_pads);
        let fake = Fake::default();
        *fake.ports.lock().unwrap() = ports.to_vec();
        let profiles: Vec<Arc<Profile>> = Profile::builtins().into_iter().map(Arc::new).collect();
        let midi = MidiManager::new(Box::new(fake.clone()), profiles, None, shared.clone());
        Rig {
            engine,
            handle,
            shared,
            fake,
            midi,
            buf: vec![0.0f32; 512],
        }
    }

    /// One audio block, with the clock published as the output does; then a control tick.
    fn step(&mut self) -> f32 {
        self.engine.process(&mut self.buf);
        self.engine
            .stats()
            .clock
            .publish(self.engine.frame(), mono_nanos(), 256);
        self.handle.drain_events();
        self.midi.tick(&mut self.handle);
        peak(&self.buf)
    }

    fn input(&self, name: &str) -> SharedInput {
        self.fake.inputs.lock().unwrap()[name].clone()
    }

    fn press(&mut self, name: &str, bytes: &[u8]) {
        self.input(name).lock().unwrap().on_message(0, bytes);
        for _ in 0..4 {
            self.step();
        }
    }

    fn sent(&self) -> Vec<(String, Vec<u8>)> {
        self.fake.sent.lock().unwrap().clone()
    }
}

#[test]
fn unplug_and_replug_reconnects_and_restores_leds() {
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n[[pad]]\npad = 9\nbuiltin = \"drums\"\n",
        &[
            port("Launchpad X:Launchpad X LPX DAW 24:0", "24:0"),
            port(LPX, "24:1"),
            port("Midi Through Port-0", "14:0"),
        ],
    );
    r.midi.poll_ports(&mut r.handle);
    assert_eq!(
        r.midi.connected(),
        vec![LPX.to_string()],
        "only the MIDI port of the Launchpad"
    );
    r.step();
    let sent = r.sent();
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
    r.press(LPX, &[0x90, 81, 127]);
    assert_eq!(r.shared.status(0), PadStatus::Playing);
    assert!(
        r.sent().contains(&(LPX.into(), vec![0x92, 81, 21])),
        "playing LED"
    );

    // Unplug: logged, the pad keeps playing, the command lane comes back.
    r.fake.ports.lock().unwrap().retain(|p| p.name != LPX);
    r.midi.poll_ports(&mut r.handle);
    assert!(r.midi.connected().is_empty());
    assert!(
        r.midi.log.iter().any(|l| l.contains("unplugged")),
        "{:?}",
        r.midi.log
    );
    let mut level = 0.0;
    for _ in 0..20 {
        level = r.step();
    }
    assert!(level > 0.1, "audio continues");
    let lanes: Vec<_> = std::iter::from_fn(|| r.handle.take_lane()).collect();
    assert_eq!(lanes.len(), 8, "every lane is free again");
    for l in lanes {
        r.handle.return_lane(l);
    }

    // Plug back in: init SysEx again, and a full LED refresh that shows the playing pad.
    r.fake.sent.lock().unwrap().clear();
    r.fake.ports.lock().unwrap().push(port(LPX, "24:1"));
    r.midi.poll_ports(&mut r.handle);
    r.step();
    let sent = r.sent();
    assert_eq!(sent[0].1[..7], [0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E]);
    assert!(
        sent.contains(&(LPX.into(), vec![0x92, 81, 21])),
        "LEDs restored"
    );
    assert!(sent.len() > 64);
    // And it works again.
    r.press(LPX, &[0x90, 81, 127]);
    assert_eq!(
        r.shared.status(0),
        PadStatus::Loaded,
        "second press of a toggle pad stops it"
    );

    // Quitting darkens the pads and hands the device back (exit SysEx last).
    r.fake.sent.lock().unwrap().clear();
    r.midi.shutdown(&mut r.handle);
    let sent = r.sent();
    assert!(
        sent.contains(&(LPX.into(), vec![0x90, 81, 0])),
        "pad LED off"
    );
    assert_eq!(
        sent.last().unwrap().1,
        vec![0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E, 0x00, 0xF7]
    );
    assert!(r.midi.connected().is_empty());
}

#[test]
fn a_replug_between_polls_under_the_same_name_is_reconnected() {
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
        &[port(LPX, "24:1")],
    );
    r.midi.poll_ports(&mut r.handle);
    let first = r.input(LPX);
    // Unplugged and plugged back within the poll interval: the port list looks unchanged,
    // but the system reported the old connection's port gone.
    r.fake.alive.lock().unwrap()[LPX].store(false, Ordering::Relaxed);
    r.fake.sent.lock().unwrap().clear();
    r.midi.poll_ports(&mut r.handle);
    assert_eq!(r.midi.connected(), vec![LPX.to_string()]);
    let second = r.input(LPX);
    assert!(!Arc::ptr_eq(&first, &second), "a new connection was made");
    assert!(r.midi.log.iter().any(|l| l.contains("unplugged")));
    r.step();
    assert_eq!(
        r.sent()[0].1[..7],
        [0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E],
        "init SysEx re-sent"
    );
    r.press(LPX, &[0x90, 81, 127]);
    assert_eq!(
        r.shared.status(0),
        PadStatus::Playing,
        "the new connection plays"
    );
}

#[test]
fn a_device_back_under_another_client_number_is_reconnected() {
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
        &[port(LPX, "24:1")],
    );
    r.midi.poll_ports(&mut r.handle);
    // Same display name, new ALSA address.
    *r.fake.ports.lock().unwrap() = vec![port(LPX, "28:1")];
    r.midi.poll_ports(&mut r.handle);
    assert_eq!(r.midi.connected(), vec![LPX.to_string()]);
    assert!(r.midi.log.iter().any(|l| l.contains("unplugged")));
    assert_eq!(
        r.midi
            .log
            .iter()
            .filter(|l| l.contains("connected as"))
            .count(),
        2
    );
    r.press(LPX, &[0x90, 81, 127]);
    assert_eq!(r.shared.status(0), PadStatus::Playing);
}

#[test]
fn a_failed_led_output_is_reported_once_and_retried() {
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
        &[port(LPX, "24:1")],
    );
    r.midi.poll_ports(&mut r.handle);
    r.step();
    r.fake.outputs_fail.store(true, Ordering::Relaxed);
    // A change the LEDs must show, while the output is broken.
    r.press(LPX, &[0x90, 81, 127]);
    r.step();
    r.midi.poll_ports(&mut r.handle);
    r.step();
    let failures = r
        .midi
        .log
        .iter()
        .filter(|l| l.contains("LED output failed"))
        .count();
    assert_eq!(failures, 1, "{:?}", r.midi.log);
    // The output works again: the next poll reopens it and redraws everything.
    r.fake.outputs_fail.store(false, Ordering::Relaxed);
    r.fake.sent.lock().unwrap().clear();
    r.midi.poll_ports(&mut r.handle);
    r.step();
    assert!(
        r.midi
            .log
            .iter()
            .any(|l| l.contains("LED output reconnected"))
    );
    assert!(
        r.sent().contains(&(LPX.into(), vec![0x92, 81, 21])),
        "the playing pad is shown after the retry"
    );
}

#[test]
fn unplugging_while_holding_a_gate_pad_releases_it() {
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nmode = \"gate\"\n",
        &[port(LPX, "24:1")],
    );
    r.midi.poll_ports(&mut r.handle);
    r.press(LPX, &[0x90, 81, 127]);
    assert_eq!(r.shared.status(0), PadStatus::Playing);
    r.fake.ports.lock().unwrap().clear();
    r.midi.poll_ports(&mut r.handle);
    for _ in 0..10 {
        r.step();
    }
    assert_eq!(r.shared.status(0), PadStatus::Loaded, "no stuck gate pad");
    assert!(r.step() < 1e-6, "silent after the fade");
}

#[test]
fn no_midi_subsystem_is_reported_once_and_nothing_else_stops() {
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n");
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    load_set(&set, &mut handle, 0, &|_, _| {});
    let shared = Arc::new(SharedControl::new(&set, RATE, engine.stats().clone()));
    let fake = Fake {
        broken: true,
        ..Fake::default()
    };
    let mut midi = MidiManager::new(Box::new(fake), Vec::new(), None, shared);
    for _ in 0..3 {
        midi.poll_ports(&mut handle);
        midi.tick(&mut handle);
    }
    assert_eq!(midi.log.len(), 1);
    assert!(midi.log[0].starts_with("MIDI is unavailable (ALSA sequencer not available)"));
    handle
        .command(padlooper::engine::command::Command::Pad(0, PadCmd::Press))
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

/// Frames of every `PadStarted(0)` while processing `blocks` blocks of 256 frames.
fn starts_over(r: &mut Rig, blocks: usize) -> Vec<u64> {
    let mut starts = Vec::new();
    for _ in 0..blocks {
        r.engine.process(&mut r.buf);
        starts.extend(
            r.handle
                .drain_events()
                .into_iter()
                .filter(|e| matches!(e.kind, padlooper::engine::event::EventKind::PadStarted(0)))
                .map(|e| e.frame),
        );
    }
    starts
}

#[test]
fn midi_timestamps_keep_the_spacing_of_late_delivered_messages() {
    // A fake clock throughout: no wall time between the steps can change the outcome.
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nmode = \"retrigger\"\n",
        &[port(LPX, "24:1")],
    );
    r.midi.poll_ports(&mut r.handle);
    r.engine.process(&mut r.buf);
    let t0 = 10_000_000_000u64;
    r.engine.stats().clock.publish(r.engine.frame(), t0, 256);
    let input = r.input(LPX);
    // Earlier traffic (an unmapped CC) establishes the device clock's offset...
    input
        .lock()
        .unwrap()
        .on_message_at(t0, 5_000_000, &[0xB0, 1, 1]);
    // ...then two presses 2 ms apart on the device's clock arrive together, 5 ms late.
    let late = t0 + 5_000_000;
    input
        .lock()
        .unwrap()
        .on_message_at(late, 5_001_000, &[0x90, 81, 127]);
    input
        .lock()
        .unwrap()
        .on_message_at(late, 5_003_000, &[0x90, 81, 127]);
    let starts = starts_over(&mut r, 40);
    assert_eq!(starts.len(), 2);
    // 2 ms = 96 frames; the offset estimate may drift by 1 µs per message, so allow a frame.
    let gap = starts[1] - starts[0];
    assert!(
        (95..=97).contains(&gap),
        "{gap} frames: 2 ms apart as played, not as delivered"
    );
}

#[test]
fn a_press_during_an_audio_outage_plays_as_soon_as_audio_returns() {
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
        &[port(LPX, "24:1")],
    );
    r.midi.poll_ports(&mut r.handle);
    r.engine.process(&mut r.buf);
    let t0 = 20_000_000_000u64;
    let last = r.engine.frame();
    r.engine.stats().clock.publish(last, t0, 256);
    // The audio stops for 10 s; a press arrives in the middle of the outage.
    let during = t0 + 5_000_000_000;
    let input = r.input(LPX);
    input
        .lock()
        .unwrap()
        .on_message_at(during, 100, &[0x90, 81, 127]);
    // Audio back: the press plays in the first block, not 5 seconds of engine time later.
    let starts = starts_over(&mut r, 2);
    assert_eq!(starts.len(), 1, "played at once");
    assert!(
        starts[0] < last + 2 * 256 + 256,
        "at {} (engine at {last})",
        starts[0]
    );
}

#[test]
fn a_clock_input_port_is_followed_not_taken_as_a_controller() {
    let clock = "TR-8:TR-8 MIDI 1 32:0";
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
        &[port(LPX, "24:1"), port(clock, "32:0")],
    );
    r.midi.follow_clock("tr-8", &mut r.handle);
    r.midi.poll_ports(&mut r.handle);
    assert_eq!(r.midi.connected(), vec![LPX.to_string()]);
    assert!(
        r.midi
            .log
            .iter()
            .any(|l| l == "TR-8:TR-8 MIDI 1 32:0: following its MIDI clock")
    );
    // The port's handler is connected; messages are fed with a fake clock that runs with the
    // engine's (what the handler does with the real one): Start, then a beat and a bit of
    // ticks at 150 BPM (16.667 ms apart).
    assert!(r.fake.raw.lock().unwrap().contains_key(clock));
    let t0 = 50_000_000_000u64;
    let input = r.midi.clock_input().unwrap();
    r.engine.stats().clock.publish(0, t0 - 1_000_000, 256);
    input.feed_at(t0 - 1_000_000, 1_000, &[0xFA]);
    let mut frame = 0u64;
    for k in 0..30u64 {
        let now = t0 + k * 16_666_667;
        frame = k * 800;
        r.engine.stats().clock.publish(frame, now, 256);
        input.feed_at(now, 2_000 + k * 16_667, &[0xF8]);
    }
    while r.engine.frame() < frame + 4_096 {
        r.engine.process(&mut r.buf);
    }
    let t = &r.engine.stats().transport;
    assert!(t.running(), "started by the clock");
    assert!((t.bpm() - 150.0).abs() < 0.5, "tempo {}", t.bpm());
}

#[test]
fn a_launchpad_that_leaves_programmer_mode_is_put_back_and_relit() {
    let mut r = Rig::new(
        "[[pad]]\npad = 0\nbuiltin = \"drums\"\n",
        &[port(LPX, "24:1")],
    );
    r.midi.poll_ports(&mut r.handle);
    r.step();
    let enter = vec![0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E, 0x01, 0xF7];
    let query = vec![0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E, 0xF7];
    assert!(
        r.sent().contains(&(LPX.into(), query.clone())),
        "the device is asked for its mode"
    );
    r.press(LPX, &[0x90, 81, 127]);
    // The device answers "programmer mode": nothing happens.
    r.fake.sent.lock().unwrap().clear();
    r.press(LPX, &enter);
    assert!(!r.sent().contains(&(LPX.into(), enter.clone())));
    // Setup + a press put it in Live mode: it reports 0. padlooper enters programmer mode
    // again, redraws every LED (the playing pad among them) and says so once.
    r.input(LPX)
        .lock()
        .unwrap()
        .on_message(0, &[0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E, 0x00, 0xF7]);
    r.step();
    let sent = r.sent();
    assert_eq!(sent.first().map(|s| &s.1), Some(&enter), "{sent:02X?}");
    assert!(
        sent.contains(&(LPX.into(), vec![0x92, 81, 21])),
        "playing pad relit"
    );
    assert!(sent.len() > 64, "a full refresh");
    let notes: Vec<_> = r
        .midi
        .log
        .iter()
        .filter(|l| l.contains("left padlooper's mode"))
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", r.midi.log);
    assert!(notes[0].contains("F0 00 20 29 02 0C 0E 00 F7"), "{notes:?}");
    // A device that keeps reporting another mode is not fought for ever.
    for _ in 0..6 {
        r.input(LPX)
            .lock()
            .unwrap()
            .on_message(0, &[0xF0, 0x00, 0x20, 0x29, 0x02, 0x0C, 0x0E, 0x00, 0xF7]);
        r.step();
    }
    assert!(
        r.midi
            .log
            .iter()
            .any(|l| l.contains("no longer correcting")),
        "{:?}",
        r.midi.log
    );
}
