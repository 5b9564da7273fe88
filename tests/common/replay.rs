//! A controller session replayed through a profile into a render: the same parsing, mapping
//! and LED code as a live device (`render --midi`), with what the device would have received.

use std::sync::Arc;

use super::RATE;
use padlooper::config::SetFile;
use padlooper::config::profile::{Binding, Profile};
use padlooper::control::offline::renderer::{Feeder, ScriptFeeder, render_with};
use padlooper::control::offline::replay::MidiReplay;
use padlooper::control::set::loader::{engine_settings, load_set};
use padlooper::engine::Engine;
use padlooper::engine::event::EngineEvent;
use padlooper::midi::state::SharedControl;

/// What a replay produced.
pub struct Run {
    /// Engine events.
    pub events: Vec<EngineEvent>,
    /// The rendered audio, interleaved stereo.
    pub samples: Vec<f32>,
    /// Every message sent to the device (init SysEx and LEDs), with its time in seconds.
    pub leds: Vec<(f64, Vec<u8>)>,
    /// The transport's tempo at the end.
    pub bpm: f32,
}

/// Replays `midi` (time in seconds, bytes the device sent) through `profile` for `seconds`.
pub fn run(profile: &Profile, set: &SetFile, midi: Vec<(f64, Vec<u8>)>, seconds: f64) -> Run {
    let (mut engine, mut handle) = Engine::new(engine_settings(set, RATE)).unwrap();
    let report = load_set(set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let shared = Arc::new(SharedControl::new(set, RATE, engine.stats().clone()));
    shared.mark_failed(&report.failed_pads);
    let mut replay = MidiReplay::new(Arc::new(profile.clone()), shared, midi, RATE);
    let script = Default::default();
    let mut sf = ScriptFeeder::new(&script, RATE);
    let out = {
        let mut feeders: Vec<&mut dyn Feeder> = vec![&mut sf, &mut replay];
        render_with(
            &mut engine,
            &mut handle,
            &mut feeders,
            seconds,
            256,
            |_, _| {},
        )
    };
    let bpm = engine.stats().transport.bpm();
    Run {
        events: out.events,
        samples: out.samples,
        leds: replay.led_log,
        bpm,
    }
}

/// The message a device sends for `b` pressed with value `v` (0: released).
pub fn on(b: Binding, v: u8) -> Vec<u8> {
    match b {
        Binding::Note(c, n) => vec![0x90 | c, n, v],
        Binding::Cc(c, n) => vec![0xB0 | c, n, v],
    }
}
