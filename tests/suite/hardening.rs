//! Stage hardening: what a performer, a bad file or a flood of commands does can neither stick
//! a pad, nor poison the sound, nor be lost without being counted.

use crate::common::*;
use std::path::Path;
use std::sync::Arc;

use padlooper::config::SetFile;
use padlooper::config::profile::Profile;
use padlooper::control::live::status::{CounterWatch, status_line};
use padlooper::control::offline::renderer::{Feeder, ScriptFeeder, render_with};
use padlooper::control::offline::replay::MidiReplay;
use padlooper::control::set::loader::{engine_settings, load_set, load_set_with};
use padlooper::engine::command::PadCmd;
use padlooper::engine::command::{Command, FxParam, PadConfig, SendBus, Timed};
use padlooper::engine::event::{EngineEvent, EventKind};
use padlooper::engine::handle::HandleError;
use padlooper::engine::shared::{Counter, PadState};
use padlooper::engine::{Engine, EngineSettings};
use padlooper::midi::state::SharedControl;
use padlooper::sample::SampleSource;
use padlooper::sample::loader::load_one;

/// Renders `set` with one or more controller sessions (Launchpad X) replayed at once.
fn replay(set: &SetFile, sessions: Vec<Vec<(f64, Vec<u8>)>>, seconds: f64) -> Vec<EngineEvent> {
    let (mut engine, mut handle) = Engine::new(engine_settings(set, RATE)).unwrap();
    let report = load_set(set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let shared = Arc::new(SharedControl::new(set, RATE, engine.stats().clone()));
    let profile = Arc::new(Profile::find("launchpad-x").unwrap());
    let mut replays: Vec<MidiReplay> = sessions
        .into_iter()
        .map(|m| MidiReplay::new(profile.clone(), shared.clone(), m, RATE))
        .collect();
    let script = Default::default();
    let mut sf = ScriptFeeder::new(&script, RATE);
    let mut feeders: Vec<&mut dyn Feeder> = vec![&mut sf];
    for r in replays.iter_mut() {
        feeders.push(r);
    }
    render_with(
        &mut engine,
        &mut handle,
        &mut feeders,
        seconds,
        256,
        |_, _| {},
    )
    .events
}

fn frames(events: &[EngineEvent], kind: EventKind) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.frame)
        .collect()
}

fn at(t: f64) -> u64 {
    (t * RATE as f64).round() as u64
}

// Launchpad X: grid note 81 is the top-left pad; CC 91/92 are Up/Down (bank prev/next); the
// right column (CC 89 = top row) launches rows.
const TOP_LEFT: u8 = 81;
const NEXT_BANK: u8 = 92;
const ROW_0: u8 = 89;

#[test]
fn a_release_after_a_bank_change_stops_the_pad_its_press_started() {
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\nbank = 0\npad = 0\nbuiltin = \"sine440\"\nmode = \"gate\"\n\
         [[pad]]\nbank = 1\npad = 0\nbuiltin = \"sine440\"\nmode = \"gate\"\n",
    );
    let ev = replay(
        &set,
        vec![vec![
            (0.1, vec![0x90, TOP_LEFT, 127]), // hold bank 0 pad 0
            (0.3, vec![0xB0, NEXT_BANK, 127]),
            (0.35, vec![0xB0, NEXT_BANK, 0]),
            (0.5, vec![0x90, TOP_LEFT, 0]), // release after switching to bank 1
        ]],
        1.0,
    );
    assert_eq!(frames(&ev, EventKind::PadStarted(0)), vec![at(0.1)]);
    assert_eq!(
        frames(&ev, EventKind::PadStopped(0)),
        vec![at(0.5)],
        "the held pad stops on release"
    );
    let bank1 = 64;
    assert!(frames(&ev, EventKind::PadStarted(bank1)).is_empty());
    assert!(frames(&ev, EventKind::PadStopped(bank1)).is_empty());
}

#[test]
fn launch_row_gate_pads_play_while_the_row_button_is_held() {
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nmode = \"gate\"\n\
         [[pad]]\npad = 1\nbuiltin = \"sine440\"\nmode = \"toggle\"\n",
    );
    let ev = replay(
        &set,
        vec![vec![
            (0.1, vec![0xB0, ROW_0, 127]),
            (0.6, vec![0xB0, ROW_0, 0]),
        ]],
        1.0,
    );
    assert_eq!(frames(&ev, EventKind::PadStarted(0)), vec![at(0.1)]);
    assert_eq!(frames(&ev, EventKind::PadStopped(0)), vec![at(0.6)]);
    assert_eq!(frames(&ev, EventKind::PadStarted(1)), vec![at(0.1)]);
    assert!(
        frames(&ev, EventKind::PadStopped(1)).is_empty(),
        "toggle pads keep playing"
    );
}

#[test]
fn two_controllers_holding_one_gate_pad_keep_it_on_until_both_let_go() {
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nmode = \"gate\"\n",
    );
    let a = vec![
        (0.1, vec![0x90, TOP_LEFT, 127]),
        (0.5, vec![0x90, TOP_LEFT, 0]),
    ];
    let b = vec![
        (0.3, vec![0x90, TOP_LEFT, 127]),
        (0.8, vec![0x90, TOP_LEFT, 0]),
    ];
    let ev = replay(&set, vec![a, b], 1.2);
    assert_eq!(frames(&ev, EventKind::PadStarted(0)), vec![at(0.1)]);
    assert_eq!(frames(&ev, EventKind::PadStopped(0)), vec![at(0.8)]);
}

#[test]
fn quantised_launches_follow_the_first_loop_not_frame_zero() {
    let dir = tmp();
    // 120 BPM, quantise to the bar: 2 s per bar.
    let set = set_in(
        dir.path(),
        "[master]\nquantize = \"bar\"\n\
         [[pad]]\npad = 0\nbuiltin = \"drums\"\n[[pad]]\npad = 1\nbuiltin = \"bass\"\n\
         [[pad]]\npad = 2\nbuiltin = \"chords\"\n",
    );
    let script = "0.3 press 0 0\n1.0 press 0 1\n4.3 press 0 2\n5.0 press 0 0\n";
    let (out, _) = render_set(&set, script, 7.0);
    let ev = &out.events;
    assert_eq!(
        frames(ev, EventKind::PadStarted(0)),
        vec![at(0.3)],
        "the first loop starts at once and is bar 1"
    );
    assert_eq!(frames(ev, EventKind::PadStarted(1)), vec![at(2.3)]);
    assert_eq!(
        frames(ev, EventKind::PadStarted(2)),
        vec![at(4.3)],
        "a press on the bar line starts at once"
    );
    assert_eq!(
        frames(ev, EventKind::PadStopped(0)),
        vec![at(6.3)],
        "a toggle stop waits for the bar too"
    );
}

#[test]
fn queued_pads_show_their_state_and_a_second_press_cancels() {
    let dir = tmp();
    let set = set_in(
        dir.path(),
        // No late-press window: presses a few ms after the bar line queue for the next one.
        "[master]\nquantize = \"bar\"\nlate_press_ms = 0\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n[[pad]]\npad = 1\nbuiltin = \"bass\"\n",
    );
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    load_set(&set, &mut handle, 0, &|_, _| {});
    let mut buf = vec![0.0f32; 512];
    engine.process(&mut buf);
    handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
    engine.process(&mut buf);
    assert_eq!(engine.stats().pads.get(0), PadState::Playing);
    handle.command(Command::Pad(1, PadCmd::Press)).unwrap();
    engine.process(&mut buf);
    assert_eq!(engine.stats().pads.get(1), PadState::QueuedStart);
    handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
    engine.process(&mut buf);
    assert_eq!(engine.stats().pads.get(0), PadState::QueuedStop);
    handle.command(Command::Pad(1, PadCmd::Press)).unwrap();
    engine.process(&mut buf);
    assert_eq!(
        engine.stats().pads.get(1),
        PadState::Loaded,
        "a second press takes the queued start back"
    );
    for _ in 0..400 {
        engine.process(&mut buf);
    }
    assert_eq!(engine.stats().pads.get(0), PadState::Loaded);
    assert_eq!(
        engine.stats().pads.get(1),
        PadState::Loaded,
        "never started"
    );
}

#[test]
fn every_drop_is_counted_and_shown_once_with_advice() {
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n");
    let settings = EngineSettings {
        command_queue: 8,
        event_queue: 2,
        voices: 1,
        ..engine_settings(&set, RATE)
    };
    let (mut engine, mut handle) = Engine::new(settings).unwrap();
    let mut watch = CounterWatch::new();
    assert!(watch.first_occurrences(engine.stats()).is_empty());
    assert!(!status_line(&handle, None).contains("queue full"));
    // The engine is not running: the queue fills and further commands are dropped, counted.
    let mut dropped = 0;
    for _ in 0..20 {
        if matches!(
            handle.command(Command::StopAll),
            Err(HandleError::QueueFull(_))
        ) {
            dropped += 1;
        }
    }
    assert_eq!(dropped, 12);
    let mut lane = handle.take_lane().unwrap();
    for _ in 0..20 {
        lane.send(Timed::now(Command::StopAll));
    }
    let s = engine.stats().clone();
    assert_eq!(s.counters.get(Counter::QueueFull), 12);
    assert_eq!(s.counters.get(Counter::LaneFull), 12);
    let first = watch.first_occurrences(&s);
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first[0].starts_with("lane full (12): controller messages were dropped"));
    assert!(watch.first_occurrences(&s).is_empty(), "said once");
    let line = status_line(&handle, None);
    assert!(line.contains("| lane full 12, queue full 12"), "{line}");
    // Malformed MIDI from a controller is counted as well.
    let shared = Arc::new(SharedControl::new(&set, RATE, s.clone()));
    let profile = Arc::new(Profile::find("launchpad-x").unwrap());
    let mut c =
        padlooper::midi::controller::Controller::new(profile, shared, Arc::new(Default::default()));
    c.feed(&[0x90, 81, 0xB0, 1, 0x90], 0, &mut |_| {});
    assert_eq!(s.counters.get(Counter::MidiErrors), 2);
    // Events that overflow and stolen voices are counted too.
    let mut buf = vec![0.0f32; 512];
    engine.process(&mut buf);
    load_set(&set, &mut handle, 0, &|_, _| {});
    for _ in 0..3 {
        engine.process(&mut buf);
        handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
        handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
    }
    engine.process(&mut buf);
    assert!(s.counters.get(Counter::EventsDropped) > 0);
    assert!(status_line(&handle, None).contains("events dropped"));
}

#[test]
fn the_largest_grid_loads_every_pad_and_setting() {
    let dir = tmp();
    let mut body = String::from(
        "[master]\nvolume = 0.5\nspeed = 1.5\nplay_mode = \"exclusive\"\n[grid]\nbanks = 16\nrows = 16\ncols = 16\n[fx]\ndelay_division = \"1/16\"\ndelay_feedback = 0.6\n",
    );
    for bank in 0..16 {
        for pad in 0..256 {
            let send = if bank == 0 && pad == 17 {
                "delay_send = 0.5\n"
            } else {
                ""
            };
            body += &format!("[[pad]]\nbank = {bank}\npad = {pad}\nbuiltin = \"sine440\"\n{send}");
        }
    }
    let set = set_in(dir.path(), &body);
    assert_eq!(set.pads.len(), 4096);
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty(), "{:?}", &report.errors[..1]);
    assert_eq!(report.pads_ready(), 4096);
    let mut buf = vec![0.0f32; 512];
    for _ in 0..40 {
        engine.process(&mut buf);
    }
    for p in 0..4096 {
        assert_eq!(engine.stats().pads.get(p), PadState::Loaded, "pad {p}");
    }
    // The master and effect settings arrived after every pad: the same presses sound exactly
    // as in a set holding only those two pads (with the same settings).
    let render = |engine: &mut Engine, handle: &mut padlooper::engine::EngineHandle| {
        handle.command(Command::Pad(4095, PadCmd::Press)).unwrap();
        handle.command(Command::Pad(17, PadCmd::Press)).unwrap();
        let mut out = Vec::new();
        let mut buf = vec![0.0f32; 512];
        for _ in 0..200 {
            engine.process(&mut buf);
            out.extend_from_slice(&buf);
        }
        out
    };
    let big = render(&mut engine, &mut handle);
    let small_dir = tmp();
    let small = set_in(
        small_dir.path(),
        "[master]\nvolume = 0.5\nspeed = 1.5\nplay_mode = \"exclusive\"\n[grid]\nbanks = 16\nrows = 16\ncols = 16\n[fx]\ndelay_division = \"1/16\"\ndelay_feedback = 0.6\n\
         [[pad]]\nbank = 0\npad = 17\nbuiltin = \"sine440\"\ndelay_send = 0.5\n[[pad]]\nbank = 15\npad = 255\nbuiltin = \"sine440\"\n",
    );
    let (mut e2, mut h2) = Engine::new(engine_settings(&small, RATE)).unwrap();
    load_set(&small, &mut h2, 0, &|_, _| {});
    for _ in 0..40 {
        e2.process(&mut buf);
    }
    let small_out = render(&mut e2, &mut h2);
    let first_diff = big.iter().zip(&small_out).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "the big set sounds like the small one");
    // And those settings are really there: half volume, 1.5x speed, exclusive.
    let l: Vec<f32> = big[24_000..].iter().step_by(2).copied().collect();
    assert!((freq(&l) - 660.0).abs() < 2.0, "global speed {}", freq(&l));
    assert!(peak(&l) < 0.35, "half volume: {}", peak(&l));
    assert_eq!(engine.stats().pads.get(4095), PadState::Loaded, "exclusive");
}

/// A float WAV that is silence, NaN and infinities.
fn write_poison(p: &Path) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(p, spec).unwrap();
    for i in 0..RATE as usize {
        let v = match i % 7 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => 0.0,
        };
        w.write_sample(v).unwrap();
        w.write_sample(if i % 5 == 0 { f32::NAN } else { 0.0 })
            .unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn nan_and_infinity_never_reach_the_output_or_other_pads() {
    let dir = tmp();
    write_poison(&path(&dir, "poison.wav"));
    write_wav16(&path(&dir, "good.wav"), RATE, 2.0, sine(330.0, 0.4));
    let body = |poison: bool| {
        let mut b = String::from(
            "[[pad]]\npad = 0\nfile = \"good.wav\"\ndelay_send = 0.5\nreverb_send = 0.5\neq_low = 0.8\n",
        );
        if poison {
            b += "[[pad]]\npad = 1\nfile = \"poison.wav\"\ndelay_send = 1\nreverb_send = 1\nfilter = 0.3\n";
        }
        b
    };
    let script = "0.0 press 0 0\n0.0 press 0 1\n";
    let set = set_in(dir.path(), &body(true));
    let (with, report) = render_set(&set, script, 4.0);
    assert!(
        report.warnings.iter().any(|w| w.contains("poison.wav")
            && w.contains("samples were NaN or infinite; they play as silence")),
        "{:?}",
        report.warnings
    );
    assert!(with.samples.iter().all(|s| s.is_finite()));
    let set = set_in(dir.path(), &body(false));
    let (without, _) = render_set(&set, "0.0 press 0 0\n", 4.0);
    assert_eq!(
        with.samples, without.samples,
        "the other pad (and the effects) are unchanged"
    );
}

#[test]
fn non_finite_commands_are_refused_and_the_sound_stays_clean() {
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\ndelay_send = 0.3\nreverb_send = 0.3\n",
    );
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    load_set(&set, &mut handle, 0, &|_, _| {});
    handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
    let mut buf = vec![0.0f32; 512];
    let mut reference = Vec::new();
    for _ in 0..50 {
        engine.process(&mut buf);
        reference.extend_from_slice(&buf);
    }
    let cfg = PadConfig {
        slot: 0,
        start: 0,
        loop_start: 0,
        loop_end: 1000,
        end_frac: 0.0,
        looping: true,
        gain: f32::NAN,
        speed: 1.0,
        bpm: 120.0,
        sync: false,
        in_phase: true,
        key_lock: false,
        transpose: 0.0,
        mode: Default::default(),
        choke: 0,
        quantize: None,
        fx: Default::default(),
        stems: Default::default(),
    };
    let mut lane = handle.take_lane().unwrap();
    let mut refused = 0;
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let cmds = [
            Command::MasterVolume(bad),
            Command::GlobalSpeed(bad),
            Command::Pad(0, PadCmd::Gain(bad)),
            Command::Pad(0, PadCmd::Speed(bad)),
            Command::Pad(0, PadCmd::Eq(1, bad)),
            Command::Pad(0, PadCmd::Filter(bad)),
            Command::Pad(0, PadCmd::Resonance(bad)),
            Command::Pad(0, PadCmd::Send(SendBus::Delay, bad)),
            Command::Pad(0, PadCmd::Send(SendBus::Reverb, bad)),
            Command::Fx(FxParam::DelayFeedback, bad),
            Command::Fx(FxParam::ReverbRoom, bad),
            Command::Fx(FxParam::PhaserRate, bad),
            Command::Transport(padlooper::engine::command::TransportCmd::Tempo(bad as f64)),
            Command::Pad(
                0,
                PadCmd::Stem(padlooper::engine::command::StemCmd::Gain(1, bad)),
            ),
            Command::Pad(0, PadCmd::Assign(cfg)),
        ];
        for c in cmds {
            assert!(matches!(handle.command(c), Err(HandleError::NonFinite(_))));
            assert!(!lane.send(Timed::now(c)));
            refused += 2;
        }
    }
    assert_eq!(
        engine.stats().counters.get(Counter::NonFinite),
        refused as u64
    );
    // Nothing changed: the render continues exactly as before.
    let (mut e2, mut h2) = Engine::new(engine_settings(&set, RATE)).unwrap();
    load_set(&set, &mut h2, 0, &|_, _| {});
    h2.command(Command::Pad(0, PadCmd::Press)).unwrap();
    let mut out = Vec::new();
    let mut expect = Vec::new();
    for _ in 0..100 {
        engine.process(&mut buf);
        out.extend_from_slice(&buf);
    }
    for _ in 0..150 {
        e2.process(&mut buf);
        expect.extend_from_slice(&buf);
    }
    assert_eq!(
        out,
        expect[reference.len()..],
        "bit-identical to a clean run"
    );
}

#[test]
fn a_decoder_panic_is_that_files_error_only() {
    let dir = tmp();
    // Different audio in each (the same audio under two names would be loaded once).
    for (n, f) in [("a.wav", 440.0), ("b.wav", 550.0), ("c.wav", 660.0)] {
        write_wav16(&path(&dir, n), RATE, 0.5, sine(f, 0.5));
    }
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"a.wav\"\n[[pad]]\npad = 1\nfile = \"b.wav\"\n[[pad]]\npad = 2\nfile = \"c.wav\"\n",
    );
    let (_engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let crashing = |src: &SampleSource, rate: u32| {
        if src.to_string().ends_with("b.wav") {
            panic!("index out of bounds in a decoder");
        }
        load_one(src, rate)
    };
    // One worker, so the crashing file sits between the two others in the same thread.
    let report = load_set_with(&set, &mut handle, 1, &|_, _| {}, &crashing);
    assert_eq!(report.ready_pads, vec![0, 2]);
    assert_eq!(report.failed_pads, vec![1]);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0]
            .contains("b.wav: the decoder crashed on this file (index out of bounds in a decoder)"),
        "{}",
        report.errors[0]
    );
}

#[test]
fn damaged_and_odd_files_give_clear_errors_and_never_hang() {
    let dir = tmp();
    // A recorder that crashed: the data chunk claims more than the file holds.
    write_wav16(&path(&dir, "cut.wav"), RATE, 1.0, sine(440.0, 0.5));
    let mut bytes = std::fs::read(path(&dir, "cut.wav")).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap();
    bytes[data + 4..data + 8].copy_from_slice(&(RATE * 4 * 10).to_le_bytes());
    bytes.truncate(bytes.len() / 2);
    std::fs::write(path(&dir, "cut.wav"), &bytes).unwrap();
    std::fs::write(path(&dir, "empty.wav"), b"").unwrap();
    std::fs::create_dir(path(&dir, "folder.wav")).unwrap();
    let fifo = path(&dir, "pipe.wav");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path; mkfifo only creates a file system node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"cut.wav\"\n[[pad]]\npad = 1\nfile = \"empty.wav\"\n\
         [[pad]]\npad = 2\nfile = \"folder.wav\"\n[[pad]]\npad = 3\nfile = \"pipe.wav\"\n",
    );
    let (out, report) = render_set(&set, "0.0 press 0 0\n", 0.4);
    let all = report.error_text();
    assert!(all.contains("empty.wav: empty file (0 bytes)"), "{all}");
    assert!(
        all.contains("folder.wav: a directory, not an audio file"),
        "{all}"
    );
    assert!(
        all.contains("pipe.wav: a FIFO (named pipe), not an audio file"),
        "{all}"
    );
    assert_eq!(report.ready_pads, vec![0]);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("cut.wav") && w.contains("shorter than its header says")),
        "{:?}",
        report.warnings
    );
    assert!((peak(&left(&out.samples, 0.05, 0.3)) - 0.5).abs() < 0.01);
}

#[test]
fn a_flood_of_timed_commands_never_blocks_newer_ones() {
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nbuiltin = \"sine440\"\n");
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    load_set(&set, &mut handle, 0, &|_, _| {});
    let mut buf = vec![0.0f32; 512];
    engine.process(&mut buf);
    // 600 commands a second ahead (more than the timeline holds), one far in the future, then
    // a press for now.
    for k in 0..600u64 {
        handle
            .send(Timed {
                at: 48_000 + k,
                cmd: Command::Pad(0, PadCmd::Gain(1.0)),
            })
            .unwrap();
    }
    handle
        .send(Timed {
            at: 48_000 * 3600,
            cmd: Command::MasterVolume(0.9),
        })
        .unwrap();
    for _ in 0..4 {
        engine.process(&mut buf);
    }
    handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
    engine.process(&mut buf);
    assert!(peak(&buf) > 0.1, "the press plays at once");
    let c = &engine.stats().counters;
    assert!(c.get(Counter::PendingOverflow) > 0);
    assert_eq!(c.get(Counter::FarFuture), 1);
}

#[test]
fn a_resonant_filter_rings_out_instead_of_being_cut() {
    let dir = tmp();
    write_wav16(&path(&dir, "n.wav"), RATE, 1.0, |t| {
        // Broadband: a click train.
        let v = if (t * 100.0).fract() < 0.01 { 0.8 } else { 0.0 };
        (v, v)
    });
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"n.wav\"\nfilter = 0.1\nresonance = 1\n",
    );
    let (out, _) = render_set(&set, "0.0 press 0 0\n0.5 stop 0 0\n", 1.5);
    let l = left(&out.samples, 0.0, 1.5);
    let stop = (0.5 * RATE as f64) as usize;
    let fade = 3 * RATE as usize / 1000;
    // Just after the voice's 3 ms fade the filter is still ringing, and it decays smoothly.
    assert!(peak(&l[stop + fade..stop + fade + 480]) > 1e-3);
    let ring = &l[stop + fade - 48..stop + fade + 480];
    assert!(
        max_jump(ring) <= 1.25 * max_jump(&l[stop - 4800..stop]),
        "no step where the voice ends"
    );
    assert!(
        peak(&l[stop + RATE as usize..]) < 1e-4,
        "and then it is silent"
    );
}

/// An offline render never drops script commands: 20,000 gain changes at one instant (the
/// queue holds about a thousand) all land, in order, on their frame: the last one wins.
#[test]
fn an_offline_render_feeds_a_burst_larger_than_the_queue_without_losing_any() {
    let dir = tmp();
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nbuiltin = \"sine440\"\nmode = \"toggle\"\n",
    );
    let mut script = String::from("0.0 press 0 0\n");
    for i in 0..20_000 {
        script += &format!("0.5 gain 0 0 {}\n", -((i % 30) as f64));
    }
    script += "0.5 gain 0 0 -20\n";
    let (out, report) = render_set(&set, &script, 0.9);
    assert!(report.errors.is_empty());
    assert_eq!(out.dropped_commands, 0);
    // sine440 is at -6 dBFS; -20 dB more after the gain ramp.
    let level = peak(&left(&out.samples, 0.7, 0.9));
    let want = 0.5 * 10f32.powf(-20.0 / 20.0);
    assert!((level - want).abs() < 0.01, "level {level}, want {want}");
}

/// `Engine::process` flushes subnormals for whoever calls it (render, bench, soak, tests, as
/// the cpal callback) and gives the caller its own floating-point mode back.
#[test]
fn process_flushes_subnormals_for_every_driver_and_restores_the_callers_mode() {
    let dir = tmp();
    let set = set_in(dir.path(), "[[pad]]\npad = 0\nbuiltin = \"clap\"\n");
    assert!(!padlooper::dsp::denormal::denormals_flushed());
    let (mut engine, mut handle) = padlooper::engine::Engine::new(
        padlooper::control::set::loader::engine_settings(&set, RATE),
    )
    .unwrap();
    let stats = engine.stats().clone();
    assert!(!stats.flushed.load(std::sync::atomic::Ordering::Relaxed));
    let script = script_for(&set, "0.0 press 0 0\n");
    padlooper::control::offline::renderer::render(
        &mut engine,
        &mut handle,
        &script,
        0.1,
        256,
        |_, _| {},
    );
    assert!(
        stats.flushed.load(std::sync::atomic::Ordering::Relaxed),
        "an offline render runs with subnormals flushed"
    );
    assert!(
        !padlooper::dsp::denormal::denormals_flushed(),
        "the caller's mode is restored"
    );
}
