//! Exercises the real cpal → ALSA output path without a sound card: `ALSA_CONFIG_PATH` points at
//! a configuration whose default PCM is ALSA's `file` plugin over a `null` slave, so everything
//! the stream plays lands in a raw file we then analyse. (Own test binary: the environment
//! variable must be set before libasound reads its configuration.)

mod common;
use common::*;

// The whole cpal callback runs inside an RtSection in debug (test) builds; with this allocator
// every allocation or free it makes is counted.
#[global_allocator]
static GLOBAL: padlooper::engine::rt::GuardedAlloc = padlooper::engine::rt::GuardedAlloc;

use std::time::{Duration, Instant};

use padlooper::audio::output::{Output, OutputRequest, resolve};
use padlooper::audio::priority::RtOutcome;
use padlooper::control::set::loader::{engine_settings, load_set};
use padlooper::engine::Engine;
use padlooper::engine::command::Command;
use padlooper::engine::command::PadCmd;

#[test]
fn cpal_stream_plays_the_engine_into_alsa() {
    let dir = tmp();
    let raw = path(&dir, "out.raw");
    let conf = path(&dir, "asound.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm.nullout {{ type null }}\n\
             pcm.!default {{ type file slave.pcm \"nullout\" file \"{}\" format \"raw\" }}\n",
            raw.display()
        ),
    )
    .unwrap();
    // SAFETY: set before any other thread of this test binary touches the environment or ALSA.
    unsafe { std::env::set_var("ALSA_CONFIG_PATH", &conf) };

    let set = set_in(
        dir.path(),
        "[master]\nvolume = 1.0\n[[pad]]\npad = 0\nbuiltin = \"sine440\"\n",
    );
    let req = OutputRequest {
        device: Vec::new(),
        sample_rate: 48_000,
        buffer_size: 256,
        rt_priority: padlooper::audio::priority::DEFAULT_PRIORITY,
    };
    let resolved = resolve(&req).expect("the file PCM is a usable default device");
    let channels = resolved.config.channels as usize;
    let format = resolved.format;
    assert_eq!(resolved.config.sample_rate, 48_000);
    let (engine, mut handle) = Engine::new(engine_settings(&set, 48_000)).unwrap();
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    handle.command(Command::Pad(0, PadCmd::Press)).unwrap();
    let out = Output::start(engine, resolved, req)
        .map_err(|e| e.error)
        .expect("stream starts");
    let violations_before = padlooper::engine::rt::violations();
    // Wait until the engine clock shows at least half a second was rendered through cpal.
    let t0 = Instant::now();
    while handle.stats().frames() < 24_000 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!out.has_failed());
    // The callback asked for real-time priority on its first call: granted (root, or a
    // LimitRTPRIO), or refused with a reason; never left unasked.
    let first = out.rt_outcome();
    assert!(
        matches!(
            first,
            RtOutcome::Granted(padlooper::audio::priority::DEFAULT_PRIORITY)
                | RtOutcome::Denied(libc::EPERM)
        ),
        "{first:?}"
    );
    // Rebuild the stream as after a device error: the same engine (and its playing voice)
    // continues on the new stream; the file plugin starts a fresh capture file.
    let mut out = out;
    assert!(out.try_rebuild().expect("stream reopens"));
    // Counted from here: the old stream (dropped and joined inside try_rebuild) may have
    // rendered many more frames while the device list was read, since the null PCM is not paced.
    let before = handle.stats().frames();
    let t0 = Instant::now();
    while handle.stats().frames() < before + 24_000 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        handle.stats().frames() >= before + 24_000,
        "the rebuilt stream plays"
    );
    // The rebuilt stream runs on a new thread, which asks again with the same answer.
    assert_eq!(out.rt_outcome(), first);
    // Commands and knob moves while the stream plays through the real callback.
    for k in 0..20 {
        handle
            .command(Command::Pad(
                0,
                PadCmd::Eq((k % 3) as u8, 0.5 + 0.02 * k as f32),
            ))
            .unwrap();
        handle
            .command(Command::Pad(0, PadCmd::Eq((k % 3) as u8, 0.5)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let engine = out
        .stop()
        .expect("engine comes back after the stream stops");
    assert_eq!(
        padlooper::engine::rt::violations(),
        violations_before,
        "the cpal callback allocated or freed memory"
    );
    // The guard itself works: an allocation inside a real-time section is counted.
    {
        let _rt = padlooper::engine::rt::RtSection::enter();
        drop(std::hint::black_box(vec![0u8; 64]));
    }
    assert_eq!(padlooper::engine::rt::violations(), violations_before + 2);
    assert!(
        engine.frame() >= before + 24_000,
        "cpal drove the engine ({} frames)",
        engine.frame()
    );

    let bytes = std::fs::read(&raw).unwrap();
    let samples: Vec<f32> = match format {
        cpal::SampleFormat::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        cpal::SampleFormat::I16 => bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
            .collect(),
        cpal::SampleFormat::I32 => bytes
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2147483648.0)
            .collect(),
        other => panic!("unexpected format {other}"),
    };
    let left_ch: Vec<f32> = samples.chunks_exact(channels).map(|f| f[0]).collect();
    assert!(left_ch.len() >= 24_000, "captured {} frames", left_ch.len());
    // No new press after the rebuild: the pad is still playing.
    let body = &left_ch[4_800..20_000];
    assert!((peak(body) - 0.5).abs() < 0.01, "peak {}", peak(body));
    assert!((freq(body) - 440.0).abs() < 1.0, "freq {}", freq(body));
    assert!(max_jump(body) < 0.05, "continuous audio across callbacks");
}
