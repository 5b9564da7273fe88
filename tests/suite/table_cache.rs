//! The table cache: tables keyed by content (the same audio under two names is held once),
//! reused when a set loads again, idle ones dropped least recently used first within the budget.

use crate::common::*;

use std::sync::atomic::{AtomicUsize, Ordering};

use padlooper::config::SetFile;
use padlooper::control::set::loader::{SetLoadReport, engine_settings, load_set_opts};
use padlooper::control::set::stream_load::StreamOptions;
use padlooper::control::set::table_store::TableStore;
use padlooper::engine::{Engine, EngineHandle};
use padlooper::sample::SampleSource;
use padlooper::sample::loader::{Loaded, load_one};

fn load(
    set: &SetFile,
    handle: &mut EngineHandle,
    store: &mut TableStore,
    limit: u64,
    decodes: &'static AtomicUsize,
) -> SetLoadReport {
    let counting = |s: &SampleSource, r: u32| -> Result<Loaded, padlooper::sample::SampleError> {
        decodes.fetch_add(1, Ordering::Relaxed);
        load_one(s, r)
    };
    let opts = StreamOptions {
        limit: Some(limit),
        ..Default::default()
    };
    let r = load_set_opts(set, handle, 0, &|_, _| {}, &counting, opts, store);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

fn slots(handle: &EngineHandle) -> Vec<u16> {
    (0..handle.settings().sample_slots as u16)
        .filter(|s| handle.is_loaded(*s))
        .collect()
}

#[test]
fn the_same_audio_under_two_names_is_one_table_and_a_changed_byte_makes_two() {
    let dir = tmp();
    write_wav16(&dir.path().join("a.wav"), RATE, 1.0, sine(440.0, 0.5));
    std::fs::copy(dir.path().join("a.wav"), dir.path().join("copy.wav")).unwrap();
    let mut bytes = std::fs::read(dir.path().join("a.wav")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.path().join("changed.wav"), bytes).unwrap();
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"a.wav\"\n[[pad]]\npad = 1\nfile = \"a.wav\"\n\
         [[pad]]\npad = 2\nfile = \"copy.wav\"\n[[pad]]\npad = 3\nfile = \"changed.wav\"\n",
    );
    let (_e, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let mut store = TableStore::new();
    let decodes: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let r = load(&set, &mut handle, &mut store, 1 << 30, decodes);
    assert_eq!(r.pads_ready(), 4);
    assert_eq!(
        decodes.load(Ordering::Relaxed),
        2,
        "a.wav (with its copy) and changed.wav"
    );
    assert_eq!(store.len(), 2);
    assert_eq!(slots(&handle).len(), 2, "two tables in the engine");
    let one = 48_000 * 4;
    assert_eq!(r.memory.0, 2 * one, "the copy is counted once");
    // Pads 0, 1 and 2 play the same slot.
    let slot = |p: usize| {
        r.configs
            .iter()
            .find(|(id, _)| *id as usize == p)
            .unwrap()
            .1
            .slot
    };
    assert_eq!(slot(0), slot(2));
    assert_ne!(slot(0), slot(3));
}

#[test]
fn loading_again_reuses_tables_without_decoding_or_rehashing() {
    let dir = tmp();
    for n in ["a", "b"] {
        write_wav16(
            &dir.path().join(format!("{n}.wav")),
            44_100,
            1.0,
            sine(330.0, 0.5),
        );
    }
    let set = set_in(
        dir.path(),
        "[[pad]]\npad = 0\nfile = \"a.wav\"\n[[pad]]\npad = 1\nfile = \"b.wav\"\n",
    );
    let (_e, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let mut store = TableStore::new();
    let decodes: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    load(&set, &mut handle, &mut store, 1 << 30, decodes);
    // Same content: decoded (and resampled) once.
    assert_eq!(decodes.load(Ordering::Relaxed), 1);
    assert_eq!(store.hashed, 2);
    let before = slots(&handle);
    load(&set, &mut handle, &mut store, 1 << 30, decodes);
    assert_eq!(decodes.load(Ordering::Relaxed), 1, "nothing decoded again");
    assert_eq!(store.hashed, 2, "unchanged files are not hashed again");
    assert_eq!(slots(&handle), before, "the tables keep their slots");
    // A file that changes is hashed and decoded again.
    write_wav16(&dir.path().join("b.wav"), 44_100, 1.5, sine(330.0, 0.5));
    load(&set, &mut handle, &mut store, 1 << 30, decodes);
    assert_eq!(store.hashed, 3);
    assert_eq!(decodes.load(Ordering::Relaxed), 2);
}

#[test]
fn idle_tables_stay_while_the_budget_has_room_and_go_least_recently_used_first() {
    let dir = tmp();
    // Three sets of 12 different 1-s files (192 kB each, 2.3 MB a set).
    for (k, n) in ["a", "b", "c"].iter().enumerate() {
        for i in 0..12 {
            let f = 200.0 + 37.0 * (12 * k + i) as f64;
            write_wav16(
                &dir.path().join(format!("{n}{i}.wav")),
                RATE,
                1.0,
                sine(f, 0.5),
            );
        }
    }
    let set_of = |n: &str| {
        let mut body = String::new();
        for i in 0..12 {
            body.push_str(&format!("[[pad]]\npad = {i}\nfile = \"{n}{i}.wav\"\n"));
        }
        set_in(dir.path(), &body)
    };
    let (a, b, c) = (set_of("a"), set_of("b"), set_of("c"));
    let (mut engine, mut handle) = Engine::new(engine_settings(&a, RATE)).unwrap();
    let mut store = TableStore::new();
    let decodes: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let mut switch = |set: &SetFile, store: &mut TableStore, limit: u64| {
        for s in slots(&handle) {
            handle.unload(s).unwrap();
        }
        // The engine hands the old tables back; the control side takes them.
        engine.process(&mut [0.0; 512]);
        handle.collect_retired();
        let r = load(set, &mut handle, store, limit, decodes);
        assert_eq!(r.pads_ready(), 12);
    };
    // 40 MB leaves room for all three sets.
    switch(&a, &mut store, 40_000_000);
    switch(&b, &mut store, 40_000_000);
    switch(&c, &mut store, 40_000_000);
    assert_eq!(store.len(), 36);
    assert_eq!(decodes.load(Ordering::Relaxed), 36);
    switch(&a, &mut store, 40_000_000);
    assert_eq!(
        decodes.load(Ordering::Relaxed),
        36,
        "back to a: from the cache"
    );
    // 4.7 MB: room for one idle set besides the one playing: c (used longer ago than a) goes.
    switch(&b, &mut store, 4_700_000);
    assert_eq!(decodes.load(Ordering::Relaxed), 36, "b still cached");
    assert_eq!(store.len(), 24);
    switch(&a, &mut store, 4_700_000);
    assert_eq!(decodes.load(Ordering::Relaxed), 36, "a kept");
    switch(&c, &mut store, 4_700_000);
    assert_eq!(
        decodes.load(Ordering::Relaxed),
        48,
        "c was dropped and decoded again"
    );
}

#[test]
fn stretched_tables_follow_the_content_two_names_share_one_and_an_edited_file_gets_a_new_one() {
    use padlooper::control::keylock::tables::TableService;
    let dir = tmp();
    write_wav16(&dir.path().join("a.wav"), RATE, 1.0, sine(440.0, 0.5));
    std::fs::copy(dir.path().join("a.wav"), dir.path().join("copy.wav")).unwrap();
    let body = "[[pad]]\npad = 0\nfile = \"a.wav\"\nkey_lock = true\nspeed = 1.25\n\
                [[pad]]\npad = 1\nfile = \"copy.wav\"\nkey_lock = true\nspeed = 1.25\n";
    let set = set_in(dir.path(), body);
    let (_e, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let mut store = TableStore::new();
    let decodes: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let r = load(&set, &mut handle, &mut store, 1 << 30, decodes);
    let mut tables = TableService::new(64 << 20, false);
    tables.prefetch(&r.configs, set.master.bpm, 1.0, &mut handle);
    tables.pump(&mut handle);
    assert_eq!(tables.memory().1, 1, "the copy shares the stretched table");
    // Edit a.wav (same length, other audio) and load the set again: a new sample, so a new
    // table; the copy keeps its own.
    write_wav16(&dir.path().join("a.wav"), RATE, 1.0, sine(550.0, 0.5));
    let r = load(&set, &mut handle, &mut store, 1 << 30, decodes);
    tables.prefetch(&r.configs, set.master.bpm, 1.0, &mut handle);
    tables.pump(&mut handle);
    assert_eq!(
        tables.memory().1,
        2,
        "the edited file gets its own table, never the old audio's"
    );
}
