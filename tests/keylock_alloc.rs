//! Proves the key-lock paths never allocate or free in `Engine::process`, counting C heap
//! calls too: Rubber Band allocates with `malloc` and `new`, which a Rust global allocator does
//! not see. `c_alloc` interposes the C allocator for this test binary (Rust allocations go
//! through it as well).

mod c_alloc;

use padlooper::engine::command::PadCmd;
use std::sync::Arc;

use padlooper::control::keylock::tables::TableService;
use padlooper::dsp::stretch::StretcherKind;
use padlooper::dsp::stretch::rubberband::RubberBand;
use padlooper::engine::command::{Command, LaunchMode, PadConfig, Quantize, TransportCmd};
use padlooper::engine::{Engine, EngineHandle, EngineSettings};
use padlooper::sample::SampleBuffer;

fn tone(name: &str, f: f32, frames: usize, sixteen: bool) -> Arc<SampleBuffer> {
    let data: Vec<f32> = (0..frames)
        .flat_map(|i| {
            let t = i as f32 / 48_000.0;
            // A tone plus a click every quarter second: tonal and transient content.
            let hit = if i % 12_000 < 48 { 0.3 } else { 0.0 };
            let v = 0.3 * (t * f * std::f32::consts::TAU).sin() + hit;
            [v, 0.8 * v]
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

fn cfg(slot: u16, frames: u32, p: u16) -> PadConfig {
    PadConfig {
        slot,
        start: 0,
        loop_start: if p.is_multiple_of(3) { frames / 8 } else { 0 },
        loop_end: frames,
        end_frac: 0.0,
        looping: p % 5 != 4,
        gain: 0.3,
        speed: 1.0,
        bpm: 120.0,
        sync: p.is_multiple_of(2),
        in_phase: true,
        key_lock: p % 4 != 3,
        transpose: if p % 4 == 3 { 2.0 } else { 0.0 },
        mode: if p % 5 == 4 {
            LaunchMode::OneShot
        } else {
            LaunchMode::Toggle
        },
        choke: 0,
        quantize: None,
        fx: Default::default(),
        stems: Default::default(),
    }
}

#[test]
fn the_interposer_sees_cpp_allocations() {
    // Sanity check of the harness: constructing a stretcher allocates in C++.
    let (st, calls) = c_alloc::counting(|| RubberBand::new(48_000));
    assert!(calls > 10, "{calls} C heap calls seen");
    drop(st);
    let (v, calls) =
        c_alloc::counting(|| std::hint::black_box(vec![1u8; std::hint::black_box(64)]));
    assert_eq!(calls, 1, "a Rust allocation goes through malloc too");
    drop(v);
}

/// Runs one block with C heap counting on; returns the calls made.
fn guarded(engine: &mut Engine, buf: &mut [f32]) -> usize {
    c_alloc::counting(|| engine.process(buf)).1
}

fn rig(units: usize, kind: StretcherKind) -> (Engine, EngineHandle) {
    rig_with(units, kind, 0)
}

/// C heap calls the stretchers' worker threads made while serving.
static WORKER_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn rig_with(units: usize, kind: StretcherKind, workers: usize) -> (Engine, EngineHandle) {
    let settings = EngineSettings {
        voices: 24,
        pads: 64,
        sample_slots: 64,
        stretch_units: units,
        stretch_workers: workers,
        ..EngineSettings::default()
    };
    let (engine, mut handle) = Engine::new(settings).unwrap();
    if workers > 0 {
        let n = handle.start_stretch_workers(|_| c_alloc::ThreadCount::start(&WORKER_CALLS));
        assert_eq!(n, workers);
    }
    for _ in 0..units {
        let mut st = kind.make(48_000);
        st.warm();
        handle.add_stretcher(st).ok().unwrap();
    }
    (engine, handle)
}

#[test]
fn key_lock_and_transpose_never_allocate_in_the_callback_with_signalsmith() {
    key_lock_scene(StretcherKind::Signalsmith);
}

#[test]
fn key_lock_and_transpose_never_allocate_in_the_callback_with_rubber_band() {
    key_lock_scene(StretcherKind::RubberBand);
}

#[test]
fn stretching_ahead_on_workers_never_allocates_in_the_callback_or_the_workers() {
    // The same scene with the stretchers on two worker threads (launched, fed, retuned,
    // taken back): no heap call in `Engine::process`, nor in the workers while they serve.
    let mut ahead = 0;
    key_lock_scene_with(StretcherKind::Signalsmith, 2, &mut ahead);
    assert!(ahead > 0, "voices were stretched on the workers");
    let calls = WORKER_CALLS.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(calls, 0, "the workers made {calls} C heap calls");
}

fn key_lock_scene(kind: StretcherKind) {
    key_lock_scene_with(kind, 0, &mut 0);
}

/// Key-locked and transposed pads through stretchers of `kind` (on `workers` threads, or in
/// the callback), tables, the governor, tempo moves and transpose steps: no C or Rust heap
/// call inside `Engine::process`. `ahead` gets the most voices stretched on workers at once.
fn key_lock_scene_with(kind: StretcherKind, workers: usize, ahead: &mut u32) {
    // Fewer stretchers than key-locked pads: the governor, priming and hand-offs all run.
    let (mut engine, mut handle) = rig_with(6, kind, workers);
    let frames = 96_000usize;
    let slots: Vec<u16> = (0..4)
        .map(|i| {
            handle
                .load(tone(
                    &format!("t{i}"),
                    220.0 + 110.0 * i as f32,
                    frames,
                    i % 2 == 0,
                ))
                .unwrap()
        })
        .collect();
    for p in 0..12u16 {
        handle
            .command(Command::Pad(
                p,
                PadCmd::Assign(cfg(slots[p as usize % 4], frames as u32, p)),
            ))
            .unwrap();
    }
    // Tables arrive while voices play (rendered inline between blocks).
    let mut tables = TableService::new(64 << 20, false);
    let mut buf = vec![0.0f32; 2 * 256];
    let mut calls = 0;
    let mut events_seen = Vec::new();
    let starved = |e: &Engine| {
        e.stats()
            .counters
            .get(padlooper::engine::shared::Counter::StretchStarved)
    };
    let mut starved_early = 0;
    for block in 0..6_000u64 {
        if block == 1 {
            // A block far larger than those before may find a worker short, once.
            starved_early = starved(&engine);
        }
        let now = block * 256;
        let at = now + 256 + (block % 7) * 31;
        // Changes in the first third of every 600 blocks, then 2 s of steady play (tables).
        let cmd = match block % 600 {
            0 => Some(Command::Pad((block / 200 % 12) as u16, PadCmd::Press)),
            20 => Some(Command::Transport(TransportCmd::Glide(2000.0))),
            25 => Some(Command::Transport(TransportCmd::Tempo(
                if block % 400 == 0 { 150.0 } else { 96.0 },
            ))),
            60 => Some(Command::Pad(
                (block / 200 % 12) as u16,
                PadCmd::TransposeBy(1.0),
            )),
            70 => Some(Command::Pad(
                (block / 200 % 12) as u16,
                PadCmd::Transpose(-2.3),
            )),
            80 => Some(Command::Transport(TransportCmd::Nudge(1.04))),
            90 => Some(Command::Transport(TransportCmd::Nudge(1.0))),
            100 => Some(Command::Pad(
                (block / 200 % 12) as u16,
                PadCmd::KeyLock(None),
            )),
            110 => Some(Command::GlobalSpeed(0.5 + (block % 1000) as f32 / 1000.0)),
            120 => Some(Command::Pad((block / 200 % 12) as u16, PadCmd::Speed(1.3))),
            130 => Some(Command::GlobalKeyLock(None)),
            140 => Some(Command::StretchBudget(
                3 + (block / 200 % 4) as u16,
                2048 + (block % 3) as u32 * 4096,
            )),
            150 if block % 1200 == 150 => Some(Command::Quantize(Quantize::Beat)),
            160 => Some(Command::Pad(((block / 200 + 5) % 12) as u16, PadCmd::Press)),
            170 => Some(Command::Transport(TransportCmd::TempoNow(
                120.0 + (block % 9) as f64,
            ))),
            180 if block % 3000 == 180 => Some(Command::StopAll),
            190 => Some(Command::Pad(((block / 200 + 7) % 12) as u16, PadCmd::Press)),
            _ => None,
        };
        if let Some(cmd) = cmd {
            let _ = handle.send(padlooper::engine::command::Timed { at, cmd });
        }
        use padlooper::control::offline::renderer::Feeder;
        tables.before(now, now + 256, &mut handle);
        handle.settle_stretch_workers();
        calls += guarded(&mut engine, &mut buf);
        *ahead = (*ahead).max(engine.stats().keylock.read().ahead);

        if block % 500 == 0 {
            // Odd and large blocks too.
            let mut odd = vec![0.0f32; 2 * 37];
            handle.settle_stretch_workers();
            calls += guarded(&mut engine, &mut odd);
            let mut big = vec![0.0f32; 2 * 1500];
            handle.settle_stretch_workers();
            calls += guarded(&mut engine, &mut big);
        }
        assert!(buf.iter().all(|s| s.is_finite()));
        let ev = handle.drain_events();
        tables.after(now + 256, &ev);
        events_seen.extend(ev.into_iter().map(|e| e.kind));
        handle.collect_retired();
    }
    assert_eq!(
        calls, 0,
        "{kind:?}: Engine::process made {calls} C heap calls"
    );
    assert_eq!(
        starved(&engine),
        starved_early,
        "{kind:?}: a stretcher ran short after the first large block"
    );
    // Stop the workers (they add up their counts as they quit).
    let stats = engine.stats().clone();
    drop(handle);
    drop(engine);
    // The scene went through every path.
    let counters = stats.counters.snapshot();
    let k = stats.keylock.read();
    println!(
        "counters {counters:?} keylock {k:?} tables {:?}",
        tables.memory()
    );
    assert!(tables.memory().1 > 0, "tables were rendered and published");
    assert!(
        events_seen
            .iter()
            .any(|e| matches!(e, padlooper::engine::event::EventKind::TableWanted(_))),
        "the engine asked for tables"
    );
    assert!(
        stats
            .counters
            .get(padlooper::engine::shared::Counter::Governed)
            > 0,
        "the governor ran"
    );
}

#[test]
fn following_ableton_link_never_allocates_in_the_callback() {
    // Link's capture and commit calls (C++) in the callback, every way the follower goes:
    // the session's tempo and start/stop taken, local tempo (taps, glides, nudges) and
    // start/stop given, the phase trimmed and moved. Link follows its own timeline here
    // (`follow_offline`): the same calls as on a network, with no socket opened.
    use padlooper::engine::link::{LinkPart, LinkSession};
    let (mut engine, mut handle) = rig(4, StretcherKind::default());
    let frames = 96_000usize;
    let slot = handle.load(tone("t", 330.0, frames, false)).unwrap();
    for p in 0..4u16 {
        handle
            .command(Command::Pad(p, PadCmd::Assign(cfg(slot, frames as u32, p))))
            .unwrap();
    }
    let session = LinkSession::new(120.0);
    session.set_start_stop_sync(true);
    session.follow_offline(true);
    handle
        .attach_link(LinkPart::new(session.clone(), 48_000))
        .ok()
        .unwrap();
    let mut buf = vec![0.0f32; 2 * 256];
    let mut calls = 0;
    let mut news = std::collections::BTreeSet::new();
    for block in 0..3_000u64 {
        let now = block * 256;
        let cmd = match block % 300 {
            5 => Some(Command::Transport(TransportCmd::Start)),
            10 => Some(Command::Pad((block / 300 % 4) as u16, PadCmd::Press)),
            40 => Some(Command::Transport(TransportCmd::Tap)),
            60 => Some(Command::Transport(TransportCmd::Tempo(
                100.0 + (block % 7) as f64,
            ))),
            80 => Some(Command::Transport(TransportCmd::Glide(300.0))),
            90 => Some(Command::Transport(TransportCmd::Tempo(128.0))),
            120 => Some(Command::Transport(TransportCmd::Nudge(1.04))),
            140 => Some(Command::Transport(TransportCmd::Locate(
                (block % 13) as f64 + 0.37,
            ))),
            160 => Some(Command::Transport(TransportCmd::Meter(
                3 + (block % 2) as u8,
            ))),
            250 => Some(Command::Transport(TransportCmd::Stop)),
            _ => None,
        };
        if let Some(cmd) = cmd {
            let _ = handle.send(padlooper::engine::command::Timed { at: now, cmd });
        }
        // The session changes from elsewhere (allocating here, outside the callback).
        match block % 300 {
            200 => session.app_commit(Some(90.0 + (block % 5) as f64), None, 4.0),
            270 => session.app_commit(None, Some(true), 4.0),
            290 => session.app_commit(None, Some(false), 4.0),
            _ => {}
        }
        calls += guarded(&mut engine, &mut buf);
        if block % 500 == 0 {
            let mut odd = vec![0.0f32; 2 * 37];
            calls += guarded(&mut engine, &mut odd);
        }
        assert!(buf.iter().all(|s| s.is_finite()));
        for e in handle.drain_events() {
            if let padlooper::engine::event::EventKind::Link(n) = e.kind {
                let name = format!("{n:?}");
                news.insert(name.split('(').next().unwrap_or_default().to_string());
            }
        }
        handle.collect_retired();
    }
    assert_eq!(
        calls, 0,
        "Engine::process made {calls} C heap calls with Link"
    );
    // The follower went every way.
    for way in ["Moved", "Sent", "Started", "Stopped", "Tempo", "Resync"] {
        assert!(news.contains(way), "{way} missing from {news:?}");
    }
}
