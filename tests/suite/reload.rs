//! Reloading a set while it plays (what SIGHUP does): only what changed is applied, unchanged
//! pads play on with their live changes, a broken new set changes nothing.

use crate::common::*;

use padlooper::config::SetFile;
use padlooper::control::set::loader::{Apply, SetLoadReport, engine_settings, load_set_apply};
use padlooper::control::set::stream_load::StreamOptions;
use padlooper::control::set::table_store::TableStore;
use padlooper::engine::command::Command;
use padlooper::engine::command::PadCmd;
use padlooper::engine::{Engine, EngineHandle};
use padlooper::sample::loader::load_one;

fn write(dir: &std::path::Path, name: &str, body: &str) -> SetFile {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    SetFile::load(&p).unwrap()
}

fn load(
    set: &SetFile,
    handle: &mut EngineHandle,
    store: &mut TableStore,
    apply: &Apply,
) -> SetLoadReport {
    load_opts(set, handle, store, StreamOptions::default(), apply)
}

fn load_opts(
    set: &SetFile,
    handle: &mut EngineHandle,
    store: &mut TableStore,
    opts: StreamOptions,
    apply: &Apply,
) -> SetLoadReport {
    load_set_apply(set, handle, 0, &|_, _| {}, &load_one, opts, store, apply)
}

fn play(engine: &mut Engine, handle: &mut EngineHandle, seconds: f64) -> Vec<f32> {
    play_with(engine, handle, seconds, || {})
}

/// [`play`], calling `each` after every block (a disk service filling, say).
fn play_with(
    engine: &mut Engine,
    handle: &mut EngineHandle,
    seconds: f64,
    mut each: impl FnMut(),
) -> Vec<f32> {
    let mut out = Vec::new();
    let mut buf = vec![0.0f32; 512];
    for _ in 0..(seconds * RATE as f64 / 256.0) as usize {
        engine.process(&mut buf);
        out.extend_from_slice(&buf);
        handle.collect_retired();
        each();
    }
    out
}

/// The largest step across the place where `after` continues `before`.
fn seam_jump(before: &[f32], after: &[f32]) -> f32 {
    let seam: Vec<f32> = before[before.len() - 2000..]
        .iter()
        .chain(&after[..2000])
        .copied()
        .collect();
    max_jump(&seam)
}

const BASE: &str = "[master]\nvolume = 1.0\n\
    [[pad]]\npad = 0\nfile = \"a.wav\"\n\
    [[pad]]\npad = 1\nfile = \"b.wav\"\n\
    [[pad]]\npad = 2\nfile = \"c.wav\"\n";

#[test]
fn a_reload_applies_only_what_changed_and_a_broken_set_changes_nothing() {
    let dir = tmp();
    for (n, f) in [("a", 300.0), ("b", 500.0), ("c", 700.0), ("d", 900.0)] {
        write_wav16(
            &dir.path().join(format!("{n}.wav")),
            RATE,
            2.0,
            sine(f, 0.2),
        );
    }
    let old = write(dir.path(), "old.toml", BASE);
    let (mut engine, mut handle) = Engine::new(engine_settings(&old, RATE)).unwrap();
    let mut store = TableStore::new();
    let first = load(&old, &mut handle, &mut store, &Apply::All);
    assert_eq!(first.pads_ready(), 3);
    for p in 0..3 {
        handle.command(Command::Pad(p, PadCmd::Press)).unwrap();
    }
    // The performer turns pad 0 down live.
    handle.command(Command::Pad(0, PadCmd::Gain(0.5))).unwrap();
    let before = play(&mut engine, &mut handle, 1.0);
    let level = |x: &[f32], f: f64| tone(&left(x, 0.5, 1.0), f);
    assert!(
        (level(&before, 300.0) - 0.1).abs() < 0.01,
        "{}",
        level(&before, 300.0)
    );
    // The new set: pad 0 as it was, pad 1 quieter, pad 2 gone, pad 3 new, master volume lower.
    let new = write(
        dir.path(),
        "new.toml",
        "[master]\nvolume = 0.5\n\
         [[pad]]\npad = 0\nfile = \"a.wav\"\n\
         [[pad]]\npad = 1\nfile = \"b.wav\"\ngain_db = -6.0206\n\
         [[pad]]\npad = 3\nfile = \"d.wav\"\n",
    );
    let slots_before: Vec<u16> = (0..64).filter(|s| handle.is_loaded(*s)).collect();
    let r = load(
        &new,
        &mut handle,
        &mut store,
        &Apply::Changes {
            old: &old,
            configs: &first.configs,
        },
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        (r.unchanged_pads, r.removed_pads, r.pads_ready()),
        (1, 1, 3)
    );
    let after = play(&mut engine, &mut handle, 1.0);
    // Nothing restarted: no click where the reload landed, pad 0 keeps its live gain (halved by
    // the new master volume), pad 1 is at its new gain, pad 2 is silent, pad 3 waits for a press.
    assert!(
        seam_jump(&before, &after) < 0.05,
        "{}",
        seam_jump(&before, &after)
    );
    assert!(
        (level(&after, 300.0) - 0.05).abs() < 0.006,
        "{}",
        level(&after, 300.0)
    );
    assert!(
        (level(&after, 500.0) - 0.05).abs() < 0.006,
        "{}",
        level(&after, 500.0)
    );
    assert!(level(&after, 700.0) < 0.002, "{}", level(&after, 700.0));
    assert!(level(&after, 900.0) < 0.002);
    // c.wav is no longer used: its table went back.
    let slots_after: Vec<u16> = (0..64).filter(|s| handle.is_loaded(*s)).collect();
    assert_eq!(slots_after.len(), slots_before.len(), "c out, d in");

    // A broken set (a loop beyond its file's end): rejected, nothing changes.
    let broken = write(
        dir.path(),
        "broken.toml",
        "[master]\nvolume = 1.0\n[[pad]]\npad = 0\nfile = \"a.wav\"\nloop_end = 9.0\n\
         [[pad]]\npad = 4\nfile = \"c.wav\"\n",
    );
    let r2 = load(
        &broken,
        &mut handle,
        &mut store,
        &Apply::Changes {
            old: &new,
            configs: &r.configs,
        },
    );
    assert_eq!(r2.errors.len(), 1, "{:?}", r2.errors);
    assert!(r2.errors[0].contains("broken.toml:6"), "{}", r2.errors[0]);
    let later = play(&mut engine, &mut handle, 1.0);
    assert!(
        (level(&later, 300.0) - 0.05).abs() < 0.006,
        "the old set plays on"
    );
    assert!(level(&later, 700.0) < 0.002);
    let slots_now: Vec<u16> = (0..64).filter(|s| handle.is_loaded(*s)).collect();
    assert_eq!(
        slots_now, slots_after,
        "the rejected set's tables went back"
    );
}

#[test]
fn a_live_start_plays_pads_as_their_samples_arrive_current_bank_first() {
    use padlooper::engine::shared::PadState;
    use padlooper::sample::SampleSource;
    use padlooper::sample::loader::Loaded;
    use std::cell::RefCell;
    let dir = tmp();
    let mut body = String::from("[grid]\nbanks = 2\nrows = 2\ncols = 2\n");
    for bank in 0..2 {
        for pad in 0..4 {
            let n = format!("b{bank}p{pad}.wav");
            write_wav16(
                &dir.path().join(&n),
                RATE,
                0.5,
                sine(200.0 + 50.0 * (4 * bank + pad) as f64, 0.2),
            );
            body.push_str(&format!(
                "[[pad]]\nbank = {bank}\npad = {pad}\nfile = \"{n}\"\n"
            ));
        }
    }
    let set = write(dir.path(), "set.toml", &body);
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    // A slow disk: 40 ms per file, one at a time.
    let slow = |s: &SampleSource, r: u32| -> Result<Loaded, padlooper::sample::SampleError> {
        std::thread::sleep(std::time::Duration::from_millis(40));
        load_one(s, r)
    };
    let order = RefCell::new(Vec::<usize>::new());
    let mut ticks = 0;
    let mut tick = |h: &mut EngineHandle| {
        ticks += 1;
        engine.process(&mut [0.0; 512]);
        for p in 0..8 {
            if h.stats().pads.get(p) != PadState::Empty && !order.borrow().contains(&p) {
                order.borrow_mut().push(p);
            }
        }
    };
    let report = load_set_apply(
        &set,
        &mut handle,
        1,
        &|_, _| {},
        &slow,
        StreamOptions::default(),
        &mut TableStore::new(),
        &Apply::Live {
            first_bank: 1,
            tick: std::cell::RefCell::new(&mut tick),
        },
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.pads_ready(), 8);
    let order = order.into_inner();
    assert!(
        ticks > 8,
        "the caller ran while samples loaded ({ticks} ticks)"
    );
    // Bank 1 (pads 4..8) became playable first, then bank 0, one sample after another.
    assert!(order.len() >= 7, "pads became ready one by one: {order:?}");
    let (first, rest) = order.split_at(4);
    assert!(first.iter().all(|&p| p >= 4), "{order:?}");
    assert!(rest.iter().all(|&p| p < 4), "{order:?}");
    // Pressing works on what is ready, and nothing is assigned twice.
    engine.process(&mut [0.0; 512]);
    handle.command(Command::Pad(4, PadCmd::Press)).unwrap();
    let out = play(&mut engine, &mut handle, 0.2);
    assert!(rms(&out) > 0.05);
}

#[test]
fn a_reload_keeps_streamed_pads_playing_on_the_service_that_serves_them() {
    let dir = tmp();
    write_wav16(&dir.path().join("long.wav"), RATE, 20.0, sine(330.0, 0.2));
    write_wav16(&dir.path().join("tone.wav"), RATE, 2.0, sine(770.0, 0.2));
    let body = |gain: f32| {
        format!(
            "[[pad]]\npad = 0\nfile = \"long.wav\"\n[[pad]]\npad = 1\nfile = \"tone.wav\"\ngain_db = {gain}\n"
        )
    };
    let old = write(dir.path(), "old.toml", &body(0.0));
    let opts = || StreamOptions {
        limit: Some(12_000_000),
        loop_ram_max: 0,
        cache_dir: dir.path().join("cache"),
        ..Default::default()
    };
    let (mut engine, mut handle) = Engine::new(engine_settings(&old, RATE)).unwrap();
    let mut store = TableStore::new();
    let mut first = load_opts(&old, &mut handle, &mut store, opts(), &Apply::All);
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    let mut service = first
        .streaming
        .take()
        .expect("long.wav streams")
        .service
        .unwrap();
    handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
    handle.command(Command::Pad(1, PadCmd::Press)).unwrap();
    let before = play_with(&mut engine, &mut handle, 3.0, || {
        service.fill_all();
    });
    let new = write(dir.path(), "new.toml", &body(-6.0));
    let r = load_opts(
        &new,
        &mut handle,
        &mut store,
        opts(),
        &Apply::Changes {
            old: &old,
            configs: &first.configs,
        },
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        r.unchanged_pads, 1,
        "the streamed pad is the same table, in the same slot"
    );
    assert!(
        r.streaming.is_none(),
        "no new disk service: nothing new streams"
    );
    let after = play_with(&mut engine, &mut handle, 3.0, || {
        service.fill_all();
    });
    // The streamed pad played on past its head (3 s + 3 s > 2 s), without a step at the seam.
    assert!(
        seam_jump(&before, &after) < 0.05,
        "{}",
        seam_jump(&before, &after)
    );
    let level = |x: &[f32], f: f64| tone(&left(x, 2.0, 3.0), f);
    assert!((level(&after, 330.0) - level(&before, 330.0)).abs() < 0.005);
    assert!(level(&after, 330.0) > 0.15, "{}", level(&after, 330.0));
    assert!(
        (level(&after, 770.0) - 0.1).abs() < 0.01,
        "{}",
        level(&after, 770.0)
    );
}
