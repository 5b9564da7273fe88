//! Disk streaming: renders with tables streamed from disk (tiny memory limit, small chunks so
//! many chunk seams are crossed) against the same renders from RAM; simulated slow, late,
//! stalled and broken disks in virtual time (deterministic on any CI disk).

mod common;
use common::*;

// Every allocation or free made inside an RtSection (around `Engine::process` below) is counted.
#[global_allocator]
static GLOBAL: padlooper::engine::rt::GuardedAlloc = padlooper::engine::rt::GuardedAlloc;

use std::path::Path;

use padlooper::config::SetFile;
use padlooper::config::script::Script;
use padlooper::control::offline::renderer::{DiskFeeder, Rendered, ScriptFeeder, render_with};
use padlooper::control::set::loader::SetLoadReport;
use padlooper::control::set::stream_load::StreamOptions;
use padlooper::engine::Engine;
use padlooper::engine::shared::Counter;
use padlooper::sample::stream::throttle::{Throttle, ThrottledReader};

/// Small chunk buffers (1024 16-bit frames): a 20 s table has ~940 chunk seams.
const SMALL_CHUNKS: usize = 4096 + 24;

/// A deterministic, broadband signal: any misread frame shows.
fn busy(seed: f64) -> impl Fn(f64) -> (f64, f64) {
    move |t| {
        let x = (t * 7919.0 + seed).sin() * 0.3
            + (t * 2.0 * std::f64::consts::PI * 331.0).sin() * 0.3
            + ((t * 48_000.0).floor() * 0.618_033_98 + seed).fract() * 0.2
            - 0.1;
        (x, 0.7 * x + 0.1 * (t * 50.0).sin())
    }
}

/// Four files: 16-bit at the output rate, float at the output rate (both stream as they are),
/// 16-bit at 44.1 kHz (resampled once into the cache); pads with intros, short and long loops,
/// fractional speeds and 2x.
fn scene(dir: &Path) -> SetFile {
    write_wav16(&dir.join("a.wav"), RATE, 20.0, busy(0.0));
    write_wav_f32(&dir.join("b.wav"), RATE, 12.0, busy(1.0));
    write_wav16(&dir.join("c.wav"), 44_100, 16.0, busy(2.0));
    set_in(
        dir,
        "[master]\nvoices = 16\n\
         [[pad]]\npad = 0\nfile = \"a.wav\"\n\
         [[pad]]\npad = 1\nfile = \"a.wav\"\nstart = 0.5\nloop_start = 3.0\nloop_end = 5.5\nspeed = 2.0\n\
         [[pad]]\npad = 2\nfile = \"b.wav\"\nloop_start = 1.0\nloop_end = 11.0\nspeed = 0.73\n\
         [[pad]]\npad = 3\nfile = \"c.wav\"\nloop = false\nspeed = 1.37\n\
         [[pad]]\npad = 4\nfile = \"a.wav\"\nstart = 10.0\nloop_start = 12.0\nloop_end = 19.7\nspeed = 1.5\n",
    )
}

/// 200 presses and stops spread over `seconds`, deterministic, and two speed changes.
fn busy_script(seconds: f64) -> String {
    // Pads 1 and 2 play through (loop wraps at 2x and 0.73x); the others are pressed and
    // stopped all the time.
    let mut s = String::from("0.0 press 0 1\n0.01 press 0 2\n");
    let mut x = 12345u64;
    for i in 0..200 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let t = seconds * i as f64 / 200.0 + (x >> 40) as f64 / (1u64 << 24) as f64 * 0.05;
        let pad = [0, 3, 4][((x >> 20) % 3) as usize];
        let verb = if (x >> 33).is_multiple_of(4) {
            "stop"
        } else {
            "press"
        };
        s.push_str(&format!("{t:.4} {verb} 0 {pad}\n"));
    }
    s.push_str(&format!(
        "{:.2} speed 1.3\n{:.2} speed 0.8\n",
        seconds * 0.3,
        seconds * 0.7
    ));
    s
}

/// Renders `script` with the given stream options; `disk`: None = a render that waits for the
/// disk, Some(reads per block) = virtual time.
fn render(
    set: &SetFile,
    script: &str,
    seconds: f64,
    opts: StreamOptions,
    disk: Option<usize>,
) -> (Rendered, SetLoadReport, Engine) {
    let (mut engine, mut handle, mut report) = load_fresh(set, opts);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let script = Script::parse(Path::new("test-script"), script, &set.grid).unwrap();
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let out = match report.streaming.as_mut().and_then(|s| s.service.take()) {
        Some(service) => {
            let mut d = DiskFeeder::new(service, disk.is_none());
            d.reads_per_block = disk.unwrap_or(8);
            render_with(
                &mut engine,
                &mut handle,
                &mut [&mut feeder, &mut d],
                seconds,
                256,
                |_, _| {},
            )
        }
        None => render_with(
            &mut engine,
            &mut handle,
            &mut [&mut feeder],
            seconds,
            256,
            |_, _| {},
        ),
    };
    (out, report, engine)
}

fn in_ram() -> StreamOptions {
    StreamOptions {
        limit: Some(u64::MAX / 4),
        ..Default::default()
    }
}

fn streamed(cache: &Path, reader: Option<Throttle>) -> StreamOptions {
    StreamOptions {
        limit: Some(25_000_000),
        cache_dir: cache.to_path_buf(),
        reader: reader.map(|t| Box::new(ThrottledReader::new(t)) as _),
        chunk_bytes: SMALL_CHUNKS,
        // Loops stream too (by default small ones stay in RAM).
        loop_ram_max: 0,
    }
}

fn streamed_count(report: &SetLoadReport) -> usize {
    report
        .plan
        .as_ref()
        .unwrap()
        .tables
        .iter()
        .filter(|t| t.residency != padlooper::sample::plan::Residency::Ram)
        .count()
}

#[test]
fn everything_streamed_renders_bit_identical_to_ram() {
    let dir = tmp();
    let set = scene(dir.path());
    let script = busy_script(24.0);
    let (ram, ram_report, _) = render(&set, &script, 25.0, in_ram(), None);
    assert_eq!(streamed_count(&ram_report), 0);
    assert!(rms(&ram.samples) > 0.05, "the scene plays");
    let cache = dir.path().join("cache");
    let (disk, report, engine) = render(&set, &script, 25.0, streamed(&cache, None), None);
    assert_eq!(streamed_count(&report), 3, "{:?}", report.plan);
    // The 44.1 kHz file was prepared once into the cache; the two others stream as they are.
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    assert_eq!(ram.samples.len(), disk.samples.len());
    let first_diff = ram
        .samples
        .iter()
        .zip(&disk.samples)
        .position(|(a, b)| a.to_bits() != b.to_bits());
    assert_eq!(
        first_diff, None,
        "streamed render differs from the in-RAM one"
    );
    assert_eq!(engine.stats().counters.get(Counter::DiskStarved), 0);
    let status = report.streaming.as_ref().unwrap().ctl.status().clone();
    let reads = status.reads.load(std::sync::atomic::Ordering::Relaxed);
    assert!(reads > 500, "only {reads} chunks were read from disk");
    // Loops wrapped many times (pad 1: a 2.5 s loop at 2x).
    let wraps = disk
        .events
        .iter()
        .filter(|e| matches!(e.kind, padlooper::engine::event::EventKind::PadLooped(_)))
        .count();
    assert!(wraps > 10, "{wraps} loop wraps");
    // A second load reuses the prepared file instead of decoding again.
    let before = std::fs::metadata(
        std::fs::read_dir(&cache)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap()
    .modified()
    .unwrap();
    let (_, report2, _) = render(&set, "", 0.1, streamed(&cache, None), None);
    assert_eq!(streamed_count(&report2), 3);
    let after = std::fs::metadata(
        std::fs::read_dir(&cache)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap()
    .modified()
    .unwrap();
    assert_eq!(before, after);
}

/// Frames of the render where any sample is not finite or beyond full scale.
fn bad_samples(x: &[f32]) -> usize {
    x.iter().filter(|v| !v.is_finite() || v.abs() > 1.0).count()
}

#[test]
fn a_slow_disk_starves_counted_and_clean() {
    let dir = tmp();
    let set = scene(dir.path());
    let script = busy_script(12.0);
    let cache = dir.path().join("cache");
    // 5 bytes per output frame (0.24 MB/s): far less than the voices need.
    let slow = Throttle {
        latency: 2_400,
        bytes_per_frame: 5.0,
        ..Default::default()
    };
    let (out, _, engine) = render(&set, &script, 12.0, streamed(&cache, Some(slow)), Some(8));
    let starved = engine.stats().counters.get(Counter::DiskStarved);
    assert!(starved > 0, "a disk at 0.24 MB/s must starve the voices");
    assert_eq!(bad_samples(&out.samples), 0);
    assert!(rms(&out.samples) > 0.01, "what is resident still plays");
    let events = out
        .events
        .iter()
        .filter(|e| matches!(e.kind, padlooper::engine::event::EventKind::DiskStarved(_)))
        .count() as u64;
    assert_eq!(events, starved, "one event per starvation");
    // Fades, never clicks: no jump between frames larger than the in-RAM render's largest.
    let (ram, _, _) = render(&set, &script, 12.0, in_ram(), None);
    let (jd, jr) = (
        max_jump(&left(&out.samples, 0.0, 12.0)),
        max_jump(&left(&ram.samples, 0.0, 12.0)),
    );
    assert!(
        jd <= jr * 1.5 + 0.02,
        "largest step {jd} streamed vs {jr} in RAM"
    );
}

#[test]
fn a_sufficient_disk_with_jitter_and_a_stall_never_starves() {
    let dir = tmp();
    let set = scene(dir.path());
    let script = busy_script(20.0);
    let cache = dir.path().join("cache");
    // 50 ms latency with up to 25 ms of jitter, 20 MB/s, and a 300 ms stall at 8 s.
    let ok = Throttle {
        latency: 2_400,
        jitter: 1_200,
        bytes_per_frame: 20e6 / 48_000.0,
        stalls: vec![(8 * 48_000, 14_400)],
        seed: 7,
        ..Default::default()
    };
    let (out, _, engine) = render(&set, &script, 20.0, streamed(&cache, Some(ok)), Some(16));
    assert_eq!(engine.stats().counters.get(Counter::DiskStarved), 0);
    let (ram, _, _) = render(&set, &script, 20.0, in_ram(), None);
    assert!(
        out.samples
            .iter()
            .zip(&ram.samples)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "a disk that keeps up gives the in-RAM render exactly"
    );
}

#[test]
fn every_pad_at_once_on_a_cold_slow_disk_sounds_on_time() {
    let dir = tmp();
    let set = scene(dir.path());
    // All five pads in the same block, a disk answering 250 ms after each request.
    let script = "0.5 press 0 0\n0.5 press 0 1\n0.5 press 0 2\n0.5 press 0 3\n0.5 press 0 4\n";
    let cache = dir.path().join("cache");
    let cold = Throttle {
        latency: 12_000,
        bytes_per_frame: 20e6 / 48_000.0,
        ..Default::default()
    };
    let (out, _, engine) = render(&set, script, 3.0, streamed(&cache, Some(cold)), Some(64));
    let (ram, _, _) = render(&set, script, 3.0, in_ram(), None);
    assert_eq!(engine.stats().counters.get(Counter::DiskStarved), 0);
    let n = 2 * (RATE as usize * 3 / 2); // up to 1.5 s: the press and its first second
    assert!(
        out.samples[..n]
            .iter()
            .zip(&ram.samples[..n])
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "the heads play every pad on time"
    );
}

/// A 20-s streamed file on pad 0 and a 4-s 440 Hz tone in RAM on pad 1, with the options that
/// stream the long one (and nothing of it stays in RAM but its heads).
fn long_and_tone(dir: &Path, seed: f64) -> (SetFile, StreamOptions) {
    write_wav16(&dir.join("long.wav"), RATE, 20.0, busy(seed));
    write_wav16(&dir.join("tone.wav"), RATE, 4.0, sine(440.0, 0.3));
    let set = set_in(
        dir,
        "[[pad]]\npad = 0\nfile = \"long.wav\"\n[[pad]]\npad = 1\nfile = \"tone.wav\"\n",
    );
    let opts = StreamOptions {
        limit: Some(12_000_000),
        chunk_bytes: SMALL_CHUNKS,
        cache_dir: dir.join("cache"),
        loop_ram_max: 0,
        ..Default::default()
    };
    (set, opts)
}

#[test]
fn a_file_cut_short_while_streaming_fades_that_pad_out_with_one_error() {
    let dir = tmp();
    let (set, opts) = long_and_tone(dir.path(), 3.0);
    let (mut engine, mut handle, mut report) = load_fresh(&set, opts);
    assert_eq!(streamed_count(&report), 1, "{:?}", report.plan);
    let streaming = report.streaming.take().unwrap();
    let mut service = streaming.service.unwrap();
    let script =
        Script::parse(Path::new("s"), "0.0 press 0 0\n0.0 press 0 1\n", &set.grid).unwrap();
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let mut d = DiskFeeder::new(service_take(&mut service), true);
    let first = render_with(
        &mut engine,
        &mut handle,
        &mut [&mut feeder, &mut d],
        3.0,
        256,
        |_, _| {},
    );
    assert!(rms(&left(&first.samples, 2.5, 3.0)) > 0.05);
    // Cut the file to 5 s while it plays at 3 s.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("long.wav"))
        .unwrap();
    f.set_len(44 + 5 * RATE as u64 * 4).unwrap();
    drop(f);
    let later = render_with(&mut engine, &mut handle, &mut [&mut d], 5.0, 256, |_, _| {});
    let errors: Vec<String> = streaming
        .ctl
        .take_errors()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("long.wav") && errors[0].contains("ended early"),
        "{}",
        errors[0]
    );
    // The streamed pad faded out (the other one still plays its 440 Hz loop alone).
    let tail = left(&later.samples, 3.0, 5.0);
    assert!((freq(&tail) - 440.0).abs() < 2.0, "{}", freq(&tail));
    assert_eq!(bad_samples(&later.samples), 0);
    // Faded, not cut: no step larger than the mix's own while it played whole.
    let (jl, jf) = (
        max_jump(&left(&later.samples, 0.0, 5.0)),
        max_jump(&left(&first.samples, 0.0, 3.0)),
    );
    assert!(
        jl <= jf * 1.2,
        "largest step {jl} after the cut, {jf} before"
    );
}

fn service_take(
    s: &mut padlooper::sample::stream::DiskService,
) -> padlooper::sample::stream::DiskService {
    // The service moves into the feeder; tests keep the control side.
    std::mem::replace(s, dummy_service())
}

fn dummy_service() -> padlooper::sample::stream::DiskService {
    let hints = std::sync::Arc::new(padlooper::sample::stream::StreamHints::new(1));
    padlooper::sample::stream::disk_service(
        hints,
        Box::new(padlooper::sample::stream::PreadReader),
        RATE,
        1,
        4096,
    )
    .1
}

#[test]
fn the_plan_holds_what_it_says_and_refuses_what_cannot_fit() {
    let dir = tmp();
    let set = scene(dir.path());
    let cache = dir.path().join("cache");
    let (_engine, handle, report) = load_fresh(&set, streamed(&cache, None));
    let plan = report.plan.as_ref().unwrap();
    let streaming = report.streaming.as_ref().unwrap();
    // What the plan counts is what is held: heads per table, the pool, nothing else.
    assert_eq!(plan.pool_bytes as usize, streaming.ctl.pool_bytes());
    let held: u64 = (0..handle.settings().sample_slots as u16)
        .filter_map(|s| handle.buffer(s))
        .map(|b| b.memory_bytes() as u64)
        .sum();
    let planned: u64 = plan.tables.iter().map(|t| t.ram_bytes).sum();
    assert_eq!(held, planned);
    assert!(plan.total() <= 25_000_000);
    // 4 MB cannot hold even the streaming buffers: refused at load, saying by how much.
    let tight = StreamOptions {
        limit: Some(4_000_000),
        ..streamed(&cache, None)
    };
    let (_engine, _handle, report) = load_fresh(&set, tight);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].contains("more than `memory_limit` (4.0 MB)"),
        "{}",
        report.errors[0]
    );
    assert_eq!(report.pads_ready(), 0);
}

#[test]
fn streaming_voices_starving_fading_and_swapped_never_allocate_in_process() {
    let dir = tmp();
    let set = scene(dir.path());
    let cache = dir.path().join("cache");
    // A disk slow enough to starve, so fades and silences happen too.
    let slow = Throttle {
        latency: 4_800,
        bytes_per_frame: 5.0,
        ..Default::default()
    };
    let (mut engine, mut handle, mut report) = load_fresh(&set, streamed(&cache, Some(slow)));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let service = report.streaming.as_mut().unwrap().service.take().unwrap();
    let mut disk = DiskFeeder::new(service, false);
    let script = Script::parse(Path::new("s"), &busy_script(8.0), &set.grid).unwrap();
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let streamed_slot = (0..handle.settings().sample_slots as u16)
        .find(|&s| handle.buffer(s).is_some_and(|b| b.stream().is_some()))
        .unwrap();
    let allocs = guarded_blocks(
        &mut engine,
        &mut handle,
        &mut feeder,
        &mut disk,
        10 * RATE as usize / 256,
        |b, handle| {
            if b == 1200 {
                // Unload a streamed table while it plays: the engine hands it back.
                handle.unload(streamed_slot).unwrap();
            }
        },
    );
    assert_eq!(
        allocs, 0,
        "Engine::process allocated or freed with streamed voices"
    );
    assert!(
        engine.stats().counters.get(Counter::DiskStarved) > 0,
        "the slow disk starved voices"
    );
    assert!(
        !handle.is_loaded(streamed_slot),
        "the unloaded table came back"
    );
}

#[test]
fn a_disk_that_hangs_forever_stops_only_its_pads_and_is_reported_within_a_second() {
    use padlooper::control::offline::renderer::Feeder;
    use std::time::{Duration, Instant};
    let dir = tmp();
    let (set, opts) = long_and_tone(dir.path(), 4.0);
    let opts = StreamOptions {
        reader: Some(Box::new(ThrottledReader::new(Throttle {
            hang: true,
            ..Default::default()
        }))),
        ..opts
    };
    let (mut engine, mut handle, mut report) = load_fresh(&set, opts);
    assert_eq!(streamed_count(&report), 1);
    let streaming = report.streaming.take().unwrap();
    let t0 = Instant::now();
    let thread = padlooper::sample::stream::DiskThread::spawn(streaming.service.unwrap()).unwrap();
    let script =
        Script::parse(Path::new("s"), "0.0 press 0 0\n0.0 press 0 1\n", &set.grid).unwrap();
    let mut feeder = ScriptFeeder::new(&script, RATE);
    // Four seconds of audio: the streamed pad's 2-s head runs out, its next chunk never comes.
    let mut out = Vec::new();
    let mut buf = vec![0.0f32; 512];
    let mut frame = 0;
    for _ in 0..(4 * RATE as usize / 256) {
        feeder.before(frame, frame + 256, &mut handle);
        engine.process(&mut buf);
        out.extend_from_slice(&buf);
        frame += 256;
        handle.collect_retired();
    }
    // The callbacks never waited for the disk.
    assert_eq!(out.len(), 2 * 4 * RATE as usize);
    while t0.elapsed() < Duration::from_millis(800) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (file, waited) = streaming
        .ctl
        .status()
        .stalled(Duration::from_millis(500))
        .expect("a stall is reported");
    assert!(file.contains("long.wav"), "{file}");
    assert!(waited < Duration::from_secs(1) + Duration::from_millis(200));
    assert!(engine.stats().counters.get(Counter::DiskStarved) >= 1);
    // The streamed pad faded out; the tone plays on alone.
    let tail = left(&out, 3.0, 4.0);
    assert!((freq(&tail) - 440.0).abs() < 2.0, "{}", freq(&tail));
    assert!(
        (rms(&tail) - 0.3 / 2f32.sqrt()).abs() < 0.03,
        "{}",
        rms(&tail)
    );
    assert_eq!(bad_samples(&out), 0);
    thread.stop(); // left behind: it is stuck in the read
}

#[test]
fn a_file_deleted_while_streaming_plays_on_from_the_open_file() {
    let dir = tmp();
    let (set, opts) = long_and_tone(dir.path(), 5.0);
    let script = "0.0 press 0 0\n";
    let (ram, _, _) = render(&set, script, 6.0, in_ram(), None);
    let (mut engine, mut handle, mut report) = load_fresh(&set, opts);
    assert_eq!(streamed_count(&report), 1);
    let streaming = report.streaming.take().unwrap();
    // Deleted after loading: the open file stays readable (Linux keeps it until closed).
    std::fs::remove_file(dir.path().join("long.wav")).unwrap();
    let script = Script::parse(Path::new("s"), script, &set.grid).unwrap();
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let mut d = DiskFeeder::new(streaming.service.unwrap(), true);
    let out = render_with(
        &mut engine,
        &mut handle,
        &mut [&mut feeder, &mut d],
        6.0,
        256,
        |_, _| {},
    );
    assert!(streaming.ctl.take_errors().is_empty());
    assert!(
        out.samples
            .iter()
            .zip(&ram.samples)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    // Loading the set again says clearly that the file is missing.
    let (_e, _handle, report) = load_fresh(&set, StreamOptions::default());
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].contains("long.wav"),
        "{}",
        report.errors[0]
    );
}
