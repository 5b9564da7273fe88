//! Stretching ahead on worker threads (`stretch_workers`): a tempo move finds every
//! key-locked pad on a worker's stretcher (none governed), and a change reaches a stretched
//! voice within the documented delay. Rendered offline with the workers settled before each
//! block (deterministic, as if they always kept up); the real-time figures are in `bench`.

use crate::common::analysis::{cents, fft_freq};
use crate::common::{RATE, set_in, tmp, tone};
use crate::keylock::{run, sine_wav};

/// Eight synced, key-locked pads of a 440 Hz loop at 126 BPM (their tables prefetched), the
/// tempo gliding to 132 BPM over 4 s from 3 s; `master` adds to [master].
fn tempo_move(master: &str) -> crate::keylock::Run {
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    let pads: String = (0..8)
        .map(|p| {
            format!(
                "[[pad]]\npad = {p}\nfile = \"a.wav\"\nbpm = 120\nsync = true\nkey_lock = true\n"
            )
        })
        .collect();
    let set = set_in(
        dir.path(),
        &format!(
            "[master]\nbpm = 126\ntempo_glide_ms = 4000\ntable_memory_mb = 256\n{master}\n{pads}"
        ),
    );
    let mut script: String = (0..8).map(|p| format!("0 press 0 {p}\n")).collect();
    script += "3 bpm 132\n";
    run(&set, &script, 8.0)
}

#[test]
fn a_tempo_move_finds_every_key_locked_pad_on_a_worker() {
    let r = tempo_move("keylock_voices = 16\nstretch_workers = 2");
    // Before the move, steady on tables' ratio, every pad already plays through a stretcher on
    // a worker (they take over from the tables while workers have room).
    let k = r.reading_at(2.5);
    assert!(k.rt == 8 && k.ahead == 8, "before the move: {k:?}");
    for (i, k) in r.kl.iter().enumerate() {
        let t = (i * 256) as f64 / RATE as f64;
        if t >= 3.0 {
            assert!(k.governed == 0 && k.ahead == 8, "at {t:.2} s: {k:?}");
        }
    }
    assert_eq!(r.governed, 0, "no pad was governed");
    let c = cents(fft_freq(r.secs(3.2, 7.0)), 440.0);
    assert!(c.abs() <= 2.0, "pitch during the move {c:+.3} cents");
    // The same move with two stretchers in the callback: the governor plays.
    let inline = tempo_move("keylock_voices = 2");
    assert!(inline.governed > 0, "in the callback, pads were governed");
    assert_eq!(inline.reading_at(5.0).ahead, 0);
}

/// When a transpose from +0 to +12 at 2 s is first heard: the first 5-ms window after it
/// louder at 880 Hz than at 440 Hz, in seconds after 2 s.
fn heard_after(master: &str) -> f64 {
    let dir = tmp();
    sine_wav(dir.path(), "a.wav", 440.0);
    let set = set_in(
        dir.path(),
        &format!(
            "[master]\ntable_memory_mb = 0\n{master}\n[[pad]]\npad = 0\nfile = \"a.wav\"\nspeed = 1.25\nkey_lock = true\n"
        ),
    );
    let r = run(&set, "0 press 0 0\n2 transpose 0 0 12\n", 2.5);
    assert!(r.reading_at(1.5).rt == 1, "{:?}", r.reading_at(1.5));
    let w = RATE as usize / 200;
    let x = r.secs(2.0, 2.5);
    let at = x
        .chunks_exact(w)
        .position(|c| tone(c, 880.0) > tone(c, 440.0))
        .expect("the transpose was heard");
    at as f64 * w as f64 / RATE as f64
}

#[test]
fn a_transpose_reaches_a_voice_on_a_worker_within_its_lead() {
    let here = heard_after("");
    let ahead = heard_after("stretch_workers = 2");
    let extra = (ahead - here) * 1000.0;
    println!(
        "transpose heard {:.0} ms after the command in the callback, {:.0} ms on a worker (+{extra:.0} ms)",
        here * 1000.0,
        ahead * 1000.0
    );
    // What the worker has ready (1024 frames) and the input queued for it (about as much):
    // about 45 ms, measured in 5-ms windows (docs/keylock.md).
    assert!(
        (0.0..=75.0).contains(&extra),
        "a worker added {extra:.1} ms to a transpose"
    );
}

#[test]
fn a_worker_that_falls_behind_is_never_heard_as_silence() {
    // Eight key-locked pads on two workers (settled for 2 s), then blocks rendered back to back
    // without waiting for the workers, far faster than real time: they cannot keep up. What
    // they did not make is the buffer read directly (off pitch, not silence), each time is
    // counted, and the pool shrinks so steady voices go back to their tables.
    use padlooper::control::offline::renderer::{ScriptFeeder, render_with};
    use padlooper::control::set::loader::{engine_settings, load_set};
    use padlooper::engine::Engine;
    use padlooper::engine::shared::Counter;
    // Eight tones far enough apart (also when one plays off pitch, 1.25 times higher) that a
    // 10 ms window's power is the sum of theirs: a voice heard off pitch keeps its share, a
    // silent one loses it (-0.6 dB each).
    let dir = tmp();
    let pads: String = (0..8)
        .map(|p| {
            sine_wav(dir.path(), &format!("t{p}.wav"), 200.0 * 1.5f64.powi(p));
            format!("[[pad]]\npad = {p}\nfile = \"t{p}.wav\"\nspeed = 1.25\nkey_lock = true\n")
        })
        .collect();
    let set = set_in(
        dir.path(),
        &format!(
            // Quiet enough that the limiter never touches the sum.
            "[master]\nvolume = 0.2\ntable_memory_mb = 256\nkeylock_voices = 16\nstretch_workers = 2\n{pads}"
        ),
    );
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    assert_eq!(handle.start_stretch_workers(|_| {}), 2);
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    let mut tables = padlooper::control::keylock::setup::offline(&set, &report, &mut handle, true);
    let text: String = (0..8).map(|p| format!("0 press 0 {p}\n")).collect();
    let script = crate::common::script_for(&set, &text);
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let settled = render_with(
        &mut engine,
        &mut handle,
        &mut [&mut feeder, &mut tables],
        2.0,
        256,
        |_, _| {},
    );
    let stats = engine.stats().clone();
    assert_eq!(stats.keylock.read().ahead, 8, "{:?}", stats.keylock.read());
    let level = crate::common::rms(&crate::common::left(&settled.samples, 1.5, 2.0));
    let mut buf = vec![0.0f32; 512];
    let mut out = Vec::new();
    for _ in 0..(2 * RATE as usize / 256) {
        engine.process(&mut buf);
        out.extend(buf.chunks_exact(2).map(|f| f[0]));
        handle.drain_events();
    }
    let starved = stats.counters.get(Counter::StretchStarved);
    assert!(starved > 0, "the workers kept up after all");
    assert_eq!(stats.counters.get(Counter::NonFinite), 0);
    let quietest = out
        .chunks_exact(RATE as usize / 100)
        .map(|w| 20.0 * (crate::common::rms(w) / level).log10())
        .fold(f32::MAX, f32::min);
    println!(
        "{starved} starved blocks; quietest 10 ms window {quietest:.1} dB; {:?}",
        stats.keylock.read()
    );
    // Measured on a 2-core VM: -0.8 dB; with silence instead of the buffer, -5.9 dB.
    assert!(quietest > -3.0, "a window fell to {quietest:.1} dB");
    assert!(stats.keylock.read().limit < 16, "the pool shrank");
}
