//! Helpers shared by the integration tests: fixture writing, rendering and audio analysis.
#![allow(dead_code)]

pub mod analysis;
pub mod corpus;
pub mod process;
pub mod replay;
pub mod stem_mp4;
pub mod web;

use std::path::{Path, PathBuf};

use padlooper::config::SetFile;
use padlooper::config::script::Script;
use padlooper::control::offline::renderer::Rendered;
use padlooper::control::set::loader::{SetLoadReport, engine_settings, load_set};
use padlooper::engine::Engine;

pub const RATE: u32 = 48_000;

/// Writes a WAV of `seconds` with `f(t) -> (l, r)` at `rate`, 16-bit.
pub fn write_wav16(path: &Path, rate: u32, seconds: f64, f: impl Fn(f64) -> (f64, f64)) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let n = (seconds * rate as f64).round() as usize;
    for i in 0..n {
        let (l, r) = f(i as f64 / rate as f64);
        w.write_sample((l * 32767.0).round() as i16).unwrap();
        w.write_sample((r * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Writes a WAV of `seconds` with `f(t) -> (l, r)` at `rate`, 32-bit float.
pub fn write_wav_f32(path: &Path, rate: u32, seconds: f64, f: impl Fn(f64) -> (f64, f64)) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(seconds * rate as f64) as usize {
        let (l, r) = f(i as f64 / rate as f64);
        w.write_sample(l as f32).unwrap();
        w.write_sample(r as f32).unwrap();
    }
    w.finalize().unwrap();
}

/// A sine of `freq` Hz and amplitude `amp` on both channels.
pub fn sine(freq: f64, amp: f64) -> impl Fn(f64) -> (f64, f64) {
    move |t| {
        let v = amp * (2.0 * std::f64::consts::PI * freq * t).sin();
        (v, v)
    }
}

/// Writes `set.toml` with `body` into `dir` and parses it.
pub fn set_in(dir: &Path, body: &str) -> SetFile {
    let p = dir.join("set.toml");
    std::fs::write(&p, body).unwrap();
    SetFile::load(&p).unwrap_or_else(|e| panic!("set failed to parse:\n{e}"))
}

/// Loads a set and renders a script for `seconds`.
pub fn render_set(set: &SetFile, script: &str, seconds: f64) -> (Rendered, SetLoadReport) {
    let settings = engine_settings(set, RATE);
    let (mut engine, mut handle) = Engine::new(settings).unwrap();
    let report = load_set(set, &mut handle, 0, &|_, _| {});
    let script = script_for(set, script);
    let wanted = padlooper::control::keylock::setup::used(set, Some(&script));
    let mut tables = padlooper::control::keylock::setup::offline(set, &report, &mut handle, wanted);
    let rate = engine.settings().sample_rate;
    let mut feeder = padlooper::control::offline::renderer::ScriptFeeder::new(&script, rate);
    let out = padlooper::control::offline::renderer::render_with(
        &mut engine,
        &mut handle,
        &mut [&mut feeder, &mut tables],
        seconds,
        256,
        |_, _| {},
    );
    (out, report)
}

/// A fresh engine with `set` loaded under `opts` (and a table cache of its own).
pub fn load_fresh(
    set: &SetFile,
    opts: padlooper::control::set::stream_load::StreamOptions,
) -> (Engine, padlooper::engine::EngineHandle, SetLoadReport) {
    let (engine, mut handle) = Engine::new(engine_settings(set, RATE)).unwrap();
    let report = padlooper::control::set::loader::load_set_opts(
        set,
        &mut handle,
        0,
        &|_, _| {},
        &padlooper::sample::loader::load_one,
        opts,
        &mut padlooper::control::set::table_store::TableStore::new(),
    );
    (engine, handle, report)
}

/// A script for `set`, its stem names looked up in the set.
pub fn script_for(set: &SetFile, text: &str) -> Script {
    let mut s = Script::parse(Path::new("test-script"), text, &set.grid).unwrap();
    s.resolve_stems(Path::new("test-script"), |p| set.stem_names(p as usize))
        .unwrap();
    s
}

/// Runs `blocks` blocks of 256 frames, every `Engine::process` inside the allocation guard's
/// real-time section (counted only in test binaries whose global allocator is
/// `engine::rt::GuardedAlloc`), the script fed before each block and the disk after it;
/// `each(block, handle)` runs before each block. Every sample must be finite. Returns the
/// allocations and frees counted inside `process`.
pub fn guarded_blocks(
    engine: &mut Engine,
    handle: &mut padlooper::engine::EngineHandle,
    feeder: &mut padlooper::control::offline::renderer::ScriptFeeder,
    disk: &mut padlooper::control::offline::renderer::DiskFeeder,
    blocks: usize,
    mut each: impl FnMut(usize, &mut padlooper::engine::EngineHandle),
) -> u64 {
    use padlooper::control::offline::renderer::Feeder;
    use padlooper::engine::rt::{RtSection, violations};
    let before = violations();
    let mut buf = vec![0.0f32; 512];
    let mut frame = 0u64;
    for b in 0..blocks {
        feeder.before(frame, frame + 256, handle);
        each(b, handle);
        {
            let _rt = RtSection::enter();
            engine.process(&mut buf);
        }
        assert!(buf.iter().all(|v| v.is_finite()));
        frame += 256;
        let events = handle.drain_events();
        disk.after(frame, &events);
        handle.collect_retired();
    }
    violations() - before
}

/// Left channel of interleaved stereo between two times.
pub fn left(samples: &[f32], from: f64, to: f64) -> Vec<f32> {
    let a = (from * RATE as f64) as usize;
    let b = ((to * RATE as f64) as usize).min(samples.len() / 2);
    samples[2 * a..2 * b].iter().step_by(2).copied().collect()
}

pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0, |m, s| m.max(s.abs()))
}

pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Largest difference between neighbouring samples (a click shows as a jump).
pub fn max_jump(x: &[f32]) -> f32 {
    x.windows(2).fold(0.0, |m, w| m.max((w[1] - w[0]).abs()))
}

/// Magnitude of frequency `f` in `x` (Goertzel), normalised so a sine of amplitude A gives ~A.
pub fn tone(x: &[f32], f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f / RATE as f64;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = v as f64 + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - c * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64
}

/// Estimated frequency from rising zero crossings (interpolated).
pub fn freq(x: &[f32]) -> f64 {
    let mut crossings = Vec::new();
    for i in 1..x.len() {
        if x[i - 1] < 0.0 && x[i] >= 0.0 {
            let frac = -x[i - 1] as f64 / (x[i] - x[i - 1]) as f64;
            crossings.push(i as f64 - 1.0 + frac);
        }
    }
    if crossings.len() < 2 {
        return 0.0;
    }
    let span = crossings[crossings.len() - 1] - crossings[0];
    (crossings.len() - 1) as f64 * RATE as f64 / span
}

/// A temporary folder.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Frames of the engine events `f` accepts, in order.
pub fn frames_of(
    events: &[padlooper::engine::event::EngineEvent],
    f: impl Fn(&padlooper::engine::event::EventKind) -> bool,
) -> Vec<u64> {
    events
        .iter()
        .filter(|e| f(&e.kind))
        .map(|e| e.frame)
        .collect()
}
