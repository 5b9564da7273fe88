//! Proves `Engine::process` never allocates or frees: a global allocator counts every
//! allocation, reallocation and deallocation made on this thread while inside `process`.

mod common;

use padlooper::engine::command::PadCmd;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use padlooper::engine::command::{
    Command, EqMode, FxParam, LaunchMode, PadConfig, Quantize, SendBus, Timed, TransportCmd,
};

const FX: [FxParam; 10] = FxParam::ALL;
use padlooper::engine::{Engine, EngineSettings};
use padlooper::sample::SampleBuffer;

struct Counting;

thread_local! {
    static IN_PROCESS: Cell<bool> = const { Cell::new(false) };
    /// Per thread, so tests running in parallel cannot see each other's counts.
    static VIOLATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    if IN_PROCESS.try_with(|f| f.get()).unwrap_or(false) {
        let _ = VIOLATIONS.try_with(|v| v.set(v.get() + 1));
    }
}

fn violations() -> usize {
    VIOLATIONS.with(|v| v.get())
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        note();
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `process` with allocation tracking on; returns violations seen during the call.
fn guarded(engine: &mut Engine, buf: &mut [f32]) -> usize {
    let before = violations();
    IN_PROCESS.with(|f| f.set(true));
    engine.process(buf);
    IN_PROCESS.with(|f| f.set(false));
    violations() - before
}

fn sine_buffer(name: &str, freq: f32, frames: usize, sixteen: bool) -> Arc<SampleBuffer> {
    let data: Vec<f32> = (0..frames)
        .flat_map(|i| {
            let v = 0.3 * (i as f32 * freq * std::f32::consts::TAU / 48_000.0).sin();
            [v, v]
        })
        .collect();
    Arc::new(if sixteen {
        SampleBuffer::from_i16(
            name,
            48_000,
            data.iter().map(|v| (v * 32767.0) as i16).collect(),
        )
    } else {
        SampleBuffer::from_f32(name, 48_000, data)
    })
}

fn pad(slot: u16, frames: u32, mode: LaunchMode, looping: bool, choke: u8) -> PadConfig {
    PadConfig {
        slot,
        start: 0,
        loop_start: frames / 4,
        loop_end: frames,
        end_frac: 0.0,
        looping,
        gain: 0.5,
        speed: 1.0,
        // Half the loops follow the transport.
        bpm: 100.0,
        sync: looping && slot.is_multiple_of(2),
        in_phase: true,
        key_lock: false,
        transpose: 0.0,
        mode,
        choke,
        // Some pads launch on their own grid.
        quantize: (choke == 1).then_some(Quantize::Bar),
        fx: Default::default(),
        stems: Default::default(),
    }
}

#[test]
fn the_allocator_guard_detects_allocations() {
    // Sanity check of the harness itself: an allocation inside the guard is counted.
    let before = violations();
    IN_PROCESS.with(|f| f.set(true));
    let v = std::hint::black_box(vec![1u8; 16]);
    drop(v);
    IN_PROCESS.with(|f| f.set(false));
    assert_eq!(violations() - before, 2);
}

#[test]
fn busy_scene_renders_without_any_allocation_or_free() {
    let settings = EngineSettings {
        voices: 6,
        pads: 64,
        sample_slots: 16,
        ..EngineSettings::default()
    };
    let (mut engine, mut handle) = Engine::new(settings).unwrap();
    // MIDI clock out on: ticks and transport messages are emitted too.
    let mut clock = handle.take_clock_out().unwrap();
    let frames = 24_000usize;
    let mut slots = Vec::new();
    for i in 0..4 {
        let b = sine_buffer(
            &format!("s{i}"),
            200.0 + 100.0 * i as f32,
            frames,
            i % 2 == 0,
        );
        slots.push(handle.load(b).unwrap());
    }
    let modes = [
        LaunchMode::Toggle,
        LaunchMode::Gate,
        LaunchMode::OneShot,
        LaunchMode::Retrigger,
    ];
    for p in 0..16u16 {
        let mode = modes[p as usize % 4];
        let cfg = pad(
            slots[p as usize % 4],
            frames as u32,
            mode,
            mode != LaunchMode::OneShot,
            (p % 3) as u8,
        );
        handle
            .command(Command::Pad(p, PadCmd::Assign(cfg)))
            .unwrap();
    }
    let mut buf = vec![0.0f32; 2 * 256];
    let mut violations = 0;
    let mut stolen_seen = false;
    let mut retired = 0;
    let mut clock_msgs = 0;
    for block in 0..2_000u64 {
        let now = block * 256;
        // A page of the web surface watches for a while: pads are metered.
        engine.stats().meters.watch((500..1500).contains(&block));
        // A dense stream of commands, many landing mid-block.
        for k in 0..6u64 {
            let p = ((block * 7 + k * 5) % 16) as u16;
            let at = now + 256 + k * 41;
            let knob = ((block * 13 + k) % 11) as f32 / 10.0;
            let cmd = match (block + k) % 16 {
                0..=2 => Command::Pad(p, PadCmd::Press),
                3 => Command::Pad(p, PadCmd::Release),
                4 if k % 2 == 1 => Command::Pad(p, PadCmd::Sync(None)),
                4 => Command::Pad(p, PadCmd::Stop),
                5 => Command::Pad(p, PadCmd::Gain(((block % 10) as f32) / 10.0)),
                6 => Command::Pad(p, PadCmd::Speed(0.5 + (block % 16) as f32 / 10.0)),
                7 => Command::MasterVolume(0.5 + (block % 5) as f32 / 10.0),
                8 => Command::GlobalSpeed(0.75 + (k as f32) / 10.0),
                9 => Command::Pad(p, PadCmd::Eq((k % 3) as u8, knob)),
                10 => Command::Pad(p, PadCmd::Filter(knob)),
                11 => Command::Pad(p, PadCmd::Resonance(knob)),
                12 => Command::Pad(p, PadCmd::Send(SendBus::Delay, knob)),
                13 => Command::Pad(p, PadCmd::Send(SendBus::Reverb, knob)),
                // The web editor's live preview: a playing pad moved to another region.
                14 if k % 4 == 1 => {
                    let mut r = pad(
                        slots[p as usize % slots.len()],
                        frames as u32,
                        LaunchMode::Toggle,
                        true,
                        0,
                    );
                    r.loop_start = frames as u32 / 4 * (block % 3) as u32;
                    r.start = r.loop_start;
                    Command::Pad(p, PadCmd::Reshape(r))
                }
                14 if k % 2 == 0 => Command::Pad(
                    p,
                    PadCmd::EqMode(if block % 3 == 0 {
                        EqMode::Shelf
                    } else {
                        EqMode::Isolator
                    }),
                ),
                14 => Command::Fx(FX[(block as usize + k as usize) % FX.len()], knob),
                _ => Command::Transport(match (block + k) % 9 {
                    0 => TransportCmd::Tempo(60.0 + 100.0 * knob as f64),
                    1 => TransportCmd::Tap,
                    2 => TransportCmd::Nudge(1.0 + 0.04 * (knob - 0.5)),
                    3 => TransportCmd::Glide(200.0 * knob),
                    4 => TransportCmd::Locate(16.0 * knob as f64),
                    5 if block % 97 == 0 => TransportCmd::Stop,
                    6 => TransportCmd::Continue,
                    7 => TransportCmd::Meter(3 + (k % 3) as u8),
                    _ => TransportCmd::TempoNow(90.0 + 40.0 * knob as f64),
                }),
            };
            let _ = handle.send(Timed { at, cmd });
        }
        if block % 400 == 200 {
            let _ = handle.command(Command::StopAll);
            let _ = handle.command(Command::PlayMode(
                padlooper::engine::command::PlayMode::Exclusive,
            ));
        }
        if block % 400 == 300 {
            let _ = handle.command(Command::PlayMode(
                padlooper::engine::command::PlayMode::Multi,
            ));
        }
        // Quantised launches (queued on the transport) for a while, then off again.
        if block % 500 == 50 {
            let q = [Quantize::Beat, Quantize::Bar, Quantize::Off][(block / 500 % 3) as usize];
            let _ = handle.command(Command::Quantize(q));
        }
        // Unload a sample in use, then publish a replacement (loads and retirements while
        // voices play).
        if block % 250 == 100 {
            let victim = slots.remove(0);
            handle.unload(victim).unwrap();
        }
        if block % 250 == 150 {
            let b = sine_buffer("new", 330.0, frames, block % 500 == 150);
            let slot = handle.load(b).unwrap();
            slots.push(slot);
            for p in 0..16u16 {
                let cfg = pad(
                    slots[p as usize % slots.len()],
                    frames as u32,
                    modes[p as usize % 4],
                    true,
                    0,
                );
                let _ = handle.command(Command::Pad(p, PadCmd::Assign(cfg)));
            }
        }
        violations += guarded(&mut engine, &mut buf);
        // Odd block sizes too, including one larger than max_block.
        if block % 333 == 0 {
            let mut big = vec![0.0f32; 2 * 1500];
            violations += guarded(&mut engine, &mut big);
            let mut odd = vec![0.0f32; 2 * 37 + 1];
            violations += guarded(&mut engine, &mut odd);
        }
        assert!(buf.iter().all(|s| s.is_finite()));
        for e in handle.drain_events() {
            if matches!(e.kind, padlooper::engine::event::EventKind::VoiceStolen(_)) {
                stolen_seen = true;
            }
        }
        retired += handle.collect_retired();
        {
            use ringbuf::traits::Consumer;
            clock_msgs += clock.pop_iter().count();
        }
    }
    assert_eq!(violations, 0, "Engine::process allocated or freed memory");
    assert!(
        clock_msgs > 100,
        "the clock-out path ran ({clock_msgs} messages)"
    );
    assert!(stolen_seen, "the scene must exercise voice stealing");
    assert!(retired >= 6, "the scene must retire buffers ({retired})");
}

#[test]
fn demo_and_bench_style_scenes_do_not_allocate() {
    // The demo set at full tilt through the same set loader the CLI uses.
    let set = padlooper::demo::demo_set();
    let settings = padlooper::control::set::loader::engine_settings(&set, 48_000);
    let (mut engine, mut handle) = Engine::new(settings).unwrap();
    let report = padlooper::control::set::loader::load_set(&set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty());
    for spec in &set.pads {
        handle
            .command(Command::Pad(spec.id as u16, PadCmd::Press))
            .unwrap();
    }
    let mut buf = vec![0.0f32; 2 * 128];
    let mut violations = 0;
    for _ in 0..3_000 {
        violations += guarded(&mut engine, &mut buf);
    }
    assert_eq!(violations, 0);
    assert!(engine.stats().active_voices.load(Ordering::Relaxed) >= 5);
}

#[test]
fn the_benchmark_scene_renders_without_allocation() {
    let dir = tempfile::tempdir().unwrap();
    padlooper::bench::scene::ensure_files(dir.path(), 50, 2.0, &|_, _| {}).unwrap();
    let set = padlooper::bench::scene::scene_set(dir.path(), 50);
    let settings = padlooper::control::set::loader::engine_settings(&set, 48_000);
    let (mut engine, mut handle) = Engine::new(settings).unwrap();
    let report = padlooper::control::set::loader::load_set(&set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for spec in &set.pads {
        handle
            .command(Command::Pad(spec.id as u16, PadCmd::Press))
            .unwrap();
    }
    // With effects too, and knobs moving (gliding EQs take the one-pad path).
    for p in 0..50u16 {
        handle
            .command(Command::Pad(p, PadCmd::Send(SendBus::Delay, 0.2)))
            .unwrap();
        handle
            .command(Command::Pad(p, PadCmd::Send(SendBus::Reverb, 0.2)))
            .unwrap();
    }
    handle
        .command(Command::Fx(FxParam::PhaserMix, 0.5))
        .unwrap();
    let mut buf = vec![0.0f32; 2 * 256];
    let mut violations = 0;
    for block in 0..1_000u16 {
        if block == 500 {
            // Half the pads switch to the isolator EQ while playing.
            for p in (0..50u16).step_by(2) {
                handle
                    .command(Command::Pad(p, PadCmd::EqMode(EqMode::Isolator)))
                    .unwrap();
            }
        }
        if block % 50 == 0 {
            // A different pad every time (every 50 blocks, pads 0, 1, 2, ...).
            let p = (block / 50) % 50;
            handle
                .command(Command::Pad(p, PadCmd::Eq(0, (block % 7) as f32 / 7.0)))
                .unwrap();
            handle
                .command(Command::Pad(p, PadCmd::Filter(0.3)))
                .unwrap();
        }
        violations += guarded(&mut engine, &mut buf);
    }
    assert_eq!(violations, 0);
    assert_eq!(engine.stats().active_voices.load(Ordering::Relaxed), 50);
}

/// A stem bundle of `stems` sines (and their sum as the mix), 16-bit or float.
fn bundle(stems: usize, frames: usize, sixteen: bool) -> Arc<SampleBuffer> {
    use padlooper::sample::buffer::{Bundle, StemInfo};
    let groups = 1 + stems;
    let mut data = Vec::with_capacity(frames * 2 * groups);
    for i in 0..frames {
        let s: Vec<f32> = (0..stems)
            .map(|k| {
                0.1 * (i as f32 * (150.0 + 120.0 * k as f32) * std::f32::consts::TAU / 48_000.0)
                    .sin()
            })
            .collect();
        let mix: f32 = s.iter().sum();
        data.extend_from_slice(&[mix, mix]);
        for v in s {
            data.extend_from_slice(&[v, v]);
        }
    }
    let info = (0..stems)
        .map(|k| StemInfo {
            name: format!("s{k}"),
            color: [k as u8, 0, 0],
        })
        .collect();
    let data = if sixteen {
        Bundle::I16(data.iter().map(|v| (v * 32767.0) as i16).collect())
    } else {
        Bundle::F32(data)
    };
    Arc::new(SampleBuffer::bundle("stems", 48_000, data, info, 0))
}

#[test]
fn stem_pads_switch_mute_solo_and_swap_without_allocation() {
    use padlooper::engine::command::StemCmd;
    let (mut engine, mut handle) = Engine::new(EngineSettings {
        voices: 8,
        pads: 16,
        sample_slots: 16,
        ..EngineSettings::default()
    })
    .unwrap();
    let frames = 12_000usize;
    let mut slots = vec![
        handle.load(bundle(4, frames, true)).unwrap(),
        handle.load(bundle(6, frames, false)).unwrap(),
        handle.load(bundle(2, frames, true)).unwrap(),
    ];
    for p in 0..6u16 {
        let cfg = pad(
            slots[p as usize % 3],
            frames as u32,
            LaunchMode::Toggle,
            true,
            0,
        );
        handle
            .command(Command::Pad(p, PadCmd::Assign(cfg)))
            .unwrap();
        handle.command(Command::Pad(p, PadCmd::Press)).unwrap();
    }
    let mut buf = vec![0.0f32; 2 * 256];
    let mut violations = 0;
    for block in 0..1_500u64 {
        let now = block * 256;
        for k in 0..4u64 {
            let p = ((block * 5 + k) % 6) as u16;
            let s = ((block + k) % 7) as u8;
            let cmd = match (block + k) % 9 {
                0 => StemCmd::Stems(None),
                1 => StemCmd::Mute(s, None),
                2 => StemCmd::Solo(s, None),
                3 => StemCmd::SoloOnly(s),
                4 => StemCmd::Gain(s, ((block % 7) as f32) / 3.0),
                5 if block % 50 == 0 => StemCmd::Reset,
                _ => StemCmd::Stems(Some(true)),
            };
            let _ = handle.send(Timed {
                at: now + 256 + k * 61,
                cmd: Command::Pad(p, PadCmd::Stem(cmd)),
            });
        }
        if block % 40 == 0 {
            let _ = handle.send(Timed {
                at: now + 100,
                cmd: Command::Pad(((block / 40) % 6) as u16, PadCmd::Press),
            });
        }
        // Swap a bundle while pads play it.
        if block % 300 == 100 {
            let victim = slots.remove(0);
            handle.unload(victim).unwrap();
        }
        if block % 300 == 200 {
            let slot = handle.load(bundle(3, frames, block % 600 == 200)).unwrap();
            slots.push(slot);
            for p in 0..6u16 {
                let cfg = pad(
                    slots[p as usize % slots.len()],
                    frames as u32,
                    LaunchMode::Toggle,
                    true,
                    0,
                );
                let _ = handle.command(Command::Pad(p, PadCmd::Assign(cfg)));
                let _ = handle.command(Command::Pad(p, PadCmd::Press));
            }
        }
        violations += guarded(&mut engine, &mut buf);
        assert!(buf.iter().all(|s| s.is_finite()));
        handle.drain_events();
        handle.collect_retired();
    }
    assert_eq!(
        violations, 0,
        "stem pads allocated or freed memory in process"
    );
    assert!(engine.stats().frames() > 0);
}

#[test]
fn recording_monitoring_and_resampling_never_allocate() {
    // Takes from the input and the master, armed, ended, cancelled and refused, with the
    // transport stopped (the take sets the tempo) and running (whole bars), monitoring
    // toggled, the input arriving every block and the disk writer's ring read: inside
    // `process` nothing is allocated or freed (a finished take's tape is handed over as a
    // second reference, a cancelled one is kept for the next take).
    use padlooper::control::record::{DiskWriter, TapeSupply};
    use padlooper::engine::record::{InputCmd, RecordCmd, RecordSource};
    use ringbuf::traits::Producer;
    let (mut engine, mut handle) = Engine::new(EngineSettings {
        voices: 16,
        pads: 16,
        sample_slots: 32,
        ..EngineSettings::default()
    })
    .unwrap();
    let slot = handle
        .load(sine_buffer("loop", 220.0, 48_000, true))
        .unwrap();
    let mut cfg = pad(slot, 48_000, LaunchMode::Toggle, true, 0);
    cfg.loop_start = 0;
    handle
        .command(Command::Pad(0, PadCmd::Assign(cfg)))
        .unwrap();
    let mut feed = handle.take_input_feed().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = DiskWriter::new(handle.take_record_stream().unwrap(), dir.path(), 8, 48_000);
    let mut supply = TapeSupply::new(3.0, 48_000);
    let mut buf = vec![0.0f32; 2 * 256];
    let input: Vec<f32> = (0..512).map(|i| ((i as f32) * 0.37).sin() * 0.2).collect();
    let mut violations = 0;
    let mut written = 0;
    let mut seen = Vec::new();
    for block in 0..5_200u64 {
        supply.keep(&mut handle);
        feed.push_slice(&input);
        // From block 5 the input is read through drift correction, one frame fast every
        // seventh block (the resampler steered while takes and passes run).
        if block % 7 == 0 {
            feed.push_slice(&input[..2]);
        }
        let cmd = match block {
            5 => Some(Command::Input(InputCmd::Drift(true))),
            10 => Some(Command::Input(InputCmd::Monitor(Some(true)))),
            // Transport stopped: the first take sets the tempo.
            20 => Some(Command::Record(1, RecordCmd::Press(RecordSource::Input))),
            400 => Some(Command::Record(1, RecordCmd::Stop)),
            500 => Some(Command::Pad(0, PadCmd::Press)),
            // Running: a take of the master, from the next bar.
            700 => Some(Command::Record(2, RecordCmd::Press(RecordSource::Master))),
            800 => Some(Command::Record(3, RecordCmd::Press(RecordSource::Input))),
            1_500 => Some(Command::Record(2, RecordCmd::Stop)),
            // Armed, then cancelled; armed, started, cancelled.
            2_300 => Some(Command::Record(4, RecordCmd::Press(RecordSource::Input))),
            2_301 => Some(Command::Record(4, RecordCmd::Cancel)),
            2_400 => Some(Command::Record(5, RecordCmd::Press(RecordSource::Input))),
            3_000 => Some(Command::Record(5, RecordCmd::Cancel)),
            3_100 => Some(Command::Input(InputCmd::Monitor(Some(false)))),
            // An overdub pass over pad 2's take (two times round), undone, redone, the pad
            // cleared and that undone.
            3_200 => Some(Command::Input(InputCmd::Feedback(0.7))),
            3_201 => Some(Command::Record(2, RecordCmd::Overdub)),
            3_900 => Some(Command::Record(2, RecordCmd::Overdub)),
            4_300 => Some(Command::Record(2, RecordCmd::Undo)),
            4_400 => Some(Command::Record(2, RecordCmd::Redo)),
            4_500 => Some(Command::Record(2, RecordCmd::Clear)),
            4_600 => Some(Command::Record(2, RecordCmd::Undo)),
            4_601 => Some(Command::Pad(2, PadCmd::Press)),
            _ => None,
        };
        if let Some(c) = cmd {
            handle.command(c).unwrap();
        }
        violations += guarded(&mut engine, &mut buf);
        assert!(buf.iter().all(|v| v.is_finite()));
        for n in writer.pump() {
            assert!(
                matches!(n, padlooper::control::record::WriterNews::Written(_)),
                "{n:?}"
            );
            written += 1;
        }
        seen.extend(handle.drain_events().into_iter().map(|e| e.kind));
        handle.collect_retired();
    }
    assert_eq!(violations, 0, "recording allocated in the audio thread");
    assert_eq!(
        written, 3,
        "both takes and the overdub pass reached the disk"
    );
    use padlooper::engine::event::EventKind as K;
    for want in [
        K::OverdubStarted(2),
        K::OverdubPlaying(2),
        K::RecordCleared(2),
    ] {
        assert!(seen.contains(&want), "{want:?} not in {seen:?}");
    }
    let undone = seen
        .iter()
        .filter(|k| matches!(k, K::RecordUndone(2, Some(_), _)))
        .count();
    assert_eq!(undone, 3, "{seen:?}");
    // Drift correction locked and follows the input running fast (558 ppm).
    let (ppm, target, _) = engine.stats().record.drift();
    assert!(target > 0 && ppm > 100.0, "{ppm} ppm, target {target}");
}
