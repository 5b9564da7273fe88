//! Recording into pads, offline and bit for bit: an input file fed to the input bus as if
//! played along with the render (`render --input`), takes in whole bars that loop at once and
//! seamlessly, the first take setting the tempo, resampling the master, monitoring, refusals,
//! and every take streamed to a WAV in the recordings folder.

use std::path::Path;
use std::sync::Arc;

use crate::common::{RATE, script_for, set_in, tmp, write_wav16};
use padlooper::control::offline::renderer::{ScriptFeeder, render_with};
use padlooper::control::record::{DiskWriter, RecordFeeder, TapeSupply, WriterNews};
use padlooper::control::set::loader::{engine_settings, load_set};
use padlooper::engine::Engine;
use padlooper::engine::event::{EngineEvent, EventKind};
use padlooper::engine::shared::EngineStats;
use padlooper::sample::SampleBuffer;

/// Deterministic noise (every frame different, left and right independent), 0.25 peak.
pub(super) fn noise(t: f64) -> (f64, f64) {
    let i = (t * RATE as f64).round() as u64;
    let h = |k: u64| {
        let x = i
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(k)
            .wrapping_mul(1_442_695_040_888_963_407);
        ((x >> 33) as f64 / (1u64 << 31) as f64 - 1.0) * 0.25
    };
    (h(1), h(7))
}

pub(super) struct Rec {
    pub(super) out: Vec<f32>,
    pub(super) events: Vec<EngineEvent>,
    pub(super) news: Vec<WriterNews>,
    pub(super) stats: Arc<EngineStats>,
    pub(super) input: Option<Arc<SampleBuffer>>,
    pub(super) latency: usize,
    /// Sample memory held at the end (`EngineHandle::sample_memory`).
    pub(super) memory: usize,
}

impl Rec {
    pub(super) fn frame(&self, f: usize) -> [f32; 2] {
        [self.out[2 * f], self.out[2 * f + 1]]
    }

    pub(super) fn input(&self, f: usize) -> [f32; 2] {
        self.input.as_ref().unwrap().frame(f)
    }

    pub(super) fn at(&self, kind: fn(&EventKind) -> bool) -> Option<u64> {
        self.events.iter().find(|e| kind(&e.kind)).map(|e| e.frame)
    }
}

/// Renders `script` over the set `body` (pad 0 plays `a.wav` when the set uses it), feeding
/// `in.wav` as the input when there is one.
pub(super) fn run(dir: &Path, body: &str, script: &str, seconds: f64) -> Rec {
    let set = set_in(dir, body);
    let (mut engine, mut handle) = Engine::new(engine_settings(&set, RATE)).unwrap();
    let report = load_set(&set, &mut handle, 0, &|_, _| {});
    assert!(report.failed_pads.is_empty());
    let script = script_for(&set, script);
    let mut feeder = ScriptFeeder::new(&script, RATE);
    let in_path = dir.join("in.wav");
    let input = in_path
        .exists()
        .then(|| Arc::new(padlooper::sample::loader::load_file(&in_path, RATE).unwrap()));
    let writer = handle
        .take_record_stream()
        .map(|s| DiskWriter::new(s, &dir.join("recordings"), set.grid.pads_per_bank(), RATE));
    let latency = engine.latency();
    let supply = TapeSupply::new(set.master.record_seconds, RATE);
    let mut rec = RecordFeeder::new(&mut handle, input.clone(), latency, supply, writer);
    let r = render_with(
        &mut engine,
        &mut handle,
        &mut [&mut feeder, &mut rec],
        seconds,
        256,
        |_, _| {},
    );
    assert!(r.samples.iter().all(|v| v.is_finite()));
    handle.collect_retired();
    let memory = handle.sample_memory().0;
    Rec {
        memory,
        out: r.samples,
        events: r.events,
        news: rec.news,
        stats: engine.stats().clone(),
        input,
        latency,
    }
}

pub(super) fn wav_frames(path: &Path) -> Vec<[f32; 2]> {
    let mut r = hound::WavReader::open(path).unwrap();
    assert_eq!(r.spec().channels, 2);
    let s: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    s.chunks_exact(2).map(|f| [f[0], f[1]]).collect()
}

pub(super) const BAR: usize = 96_000; // 4 beats at 120 BPM, 48 kHz

#[test]
fn a_take_in_whole_bars_loops_at_once_bit_for_bit_and_is_on_disk() {
    let dir = tmp();
    write_wav16(&dir.path().join("in.wav"), RATE, 14.0, noise);
    // Transport running from 0: a press at 0.5 s arms the take for bar 2 (2.0 s); the stop at
    // 4.5 s ends it on the bar line at 6.0 s: two bars.
    let r = run(
        dir.path(),
        "[master]\nbpm = 120\nrecord_seconds = 10\n",
        "0 transport start\n0.5 record 0 1\n4.5 record 0 1 stop\n",
        11.0,
    );
    assert_eq!(
        r.at(|k| matches!(k, EventKind::RecordArmed(1))),
        Some(24_000)
    );
    assert_eq!(
        r.at(|k| matches!(k, EventKind::RecordStarted(1))),
        Some(BAR as u64)
    );
    assert_eq!(
        r.at(|k| matches!(k, EventKind::RecordPlaying(1))),
        Some(3 * BAR as u64)
    );
    assert!(r.at(|k| matches!(k, EventKind::RecordDone(1))).is_some());
    // Nothing is heard before the take plays (monitoring is off).
    assert!(r.out[..2 * 3 * BAR].iter().all(|&v| v == 0.0));
    // From the bar line on, the pad plays what came in over bars 2 and 3, sample for sample
    // (after its start's 3 ms fade), and again after the wrap: no step that is not the
    // input's own.
    let len = 2 * BAR;
    for k in 256..(2 * len).min(r.out.len() / 2 - 3 * BAR) {
        let want = r.input(BAR + k % len);
        let got = r.frame(3 * BAR + k);
        assert!(
            (got[0] - want[0]).abs() < 1e-6 && (got[1] - want[1]).abs() < 1e-6,
            "frame {k} of the loop: {got:?} vs {want:?}"
        );
    }
    // In memory: the take at its exact size (its 10-s tape handed back) and the blank tape
    // kept ready for the next take.
    let tape = 10 * 48_000 * 8;
    assert_eq!(r.memory, len * 8 + tape, "take {} + tape {tape}", len * 8);
    // On disk: the same two bars, exactly.
    let file = dir.path().join("recordings/b0-p1-take1.wav");
    let disk = wav_frames(&file);
    assert_eq!(disk.len(), len);
    for (k, f) in disk.iter().enumerate() {
        assert_eq!(*f, r.input(BAR + k), "frame {k} of the file");
    }
    match &r.news[..] {
        [WriterNews::Written(t)] => {
            assert_eq!(
                (t.pad, t.frames, t.bpm, t.lost_frames),
                (1, len as u32, 120.0, 0)
            );
            assert_eq!(t.path, file);
        }
        other => panic!("{other:?}"),
    }
    assert!(r.latency > 0, "the limiter's look-ahead was compensated");
}

#[test]
fn the_first_take_sets_the_tempo_and_starts_the_transport() {
    let dir = tmp();
    write_wav16(&dir.path().join("in.wav"), RATE, 10.0, noise);
    // Transport stopped: the take runs from the press (1 s) to the stop (3 s): 2 s, one bar of
    // 4 beats at 120 BPM (the set said 100).
    let r = run(
        dir.path(),
        "[master]\nbpm = 100\nrecord_seconds = 10\n",
        "1 record 0 1\n3 record 0 1 stop\n",
        8.0,
    );
    let t = &r.stats.transport;
    assert!(t.running());
    assert_eq!(t.bpm(), 120.0);
    assert_eq!(
        r.at(|k| matches!(k, EventKind::RecordStarted(1))),
        Some(48_000)
    );
    assert_eq!(
        r.at(|k| matches!(k, EventKind::RecordPlaying(1))),
        Some(144_000)
    );
    let len = 96_000;
    for k in 256..2 * len {
        let want = r.input(48_000 + k % len);
        let got = r.frame(144_000 + k);
        assert!(
            (got[0] - want[0]).abs() < 1e-6 && (got[1] - want[1]).abs() < 1e-6,
            "frame {k}: {got:?} vs {want:?}"
        );
    }
    // The bars count from the take's end.
    let bars: Vec<u64> = r
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Bar(_)))
        .map(|e| e.frame)
        .collect();
    assert_eq!(bars[..3], [144_000, 240_000, 336_000]);
}

#[test]
fn a_longer_first_take_is_a_power_of_two_bars_at_70_bpm_or_more() {
    let dir = tmp();
    write_wav16(&dir.path().join("in.wav"), RATE, 12.0, noise);
    // 8 s: one bar would be 30 BPM, two 60, four 120.
    let r = run(
        dir.path(),
        "[master]\nrecord_seconds = 20\n",
        "0.5 record 0 2\n8.5 record 0 2 stop\n",
        9.0,
    );
    assert_eq!(r.stats.transport.bpm(), 120.0);
    // And a set that asks for 2 bars gets 60 BPM.
    let r = run(
        dir.path(),
        "[master]\nrecord_seconds = 20\nrecord_bars = 2\n",
        "0.5 record 0 2\n8.5 record 0 2 stop\n",
        9.0,
    );
    assert_eq!(r.stats.transport.bpm(), 60.0);
}

#[test]
fn resampling_captures_the_master_in_time() {
    let dir = tmp();
    // A one-bar loop at 120 BPM playing from 0; the master is resampled over bar 2 into pad 1,
    // which then plays along in phase: the same loop twice as loud.
    write_wav16(&dir.path().join("a.wav"), RATE, 2.0, |t| {
        let v = 0.1 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() * (1.0 - t / 2.0);
        (v, -v)
    });
    let r = run(
        dir.path(),
        "[master]\nbpm = 120\nrecord_seconds = 10\n[[pad]]\npad = 0\nfile = \"a.wav\"\nbpm = 120\nsync = true\n",
        "0 press 0 0\n0.5 resample 0 1\n2.5 resample 0 1 stop\n",
        8.0,
    );
    let disk = wav_frames(&dir.path().join("recordings/b0-p1-take1.wav"));
    assert_eq!(disk.len(), BAR);
    for (k, f) in disk.iter().enumerate() {
        assert_eq!(*f, r.frame(BAR + k), "frame {k} of the take");
    }
    for k in 256..BAR {
        let one = r.frame(BAR + k);
        let two = r.frame(2 * BAR + k);
        assert!(
            (two[0] - 2.0 * one[0]).abs() < 1e-5 && (two[1] - 2.0 * one[1]).abs() < 1e-5,
            "frame {k}: {two:?} vs 2 x {one:?}"
        );
    }
}

#[test]
fn resampling_without_the_pad_leaves_its_sound_out() {
    let dir = tmp();
    let sine = |f: f64| {
        move |t: f64| {
            let v = 0.1 * (2.0 * std::f64::consts::PI * f * t).sin();
            (v, v)
        }
    };
    write_wav16(&dir.path().join("a.wav"), RATE, 2.0, sine(440.0));
    write_wav16(&dir.path().join("b.wav"), RATE, 2.0, sine(660.0));
    // Pads 0 (440 Hz) and 1 (660 Hz) play; the master is resampled into pad 1 without it: it
    // stops as the take begins (bar 2), and the take is pad 0's sound only.
    let r = run(
        dir.path(),
        "[master]\nbpm = 120\nrecord_seconds = 10\n[[pad]]\npad = 0\nfile = \"a.wav\"\nbpm = 120\nsync = true\n[[pad]]\npad = 1\nfile = \"b.wav\"\nbpm = 120\nsync = true\n",
        "0 press 0 0\n0 press 0 1\n0.5 resample 0 1 without\n2.5 resample 0 1 stop\n",
        5.0,
    );
    assert_eq!(
        r.at(|k| matches!(k, EventKind::PadStopped(1))),
        Some(BAR as u64),
        "pad 1 stops as the take begins"
    );
    let disk = wav_frames(&dir.path().join("recordings/b0-p1-take1.wav"));
    assert_eq!(disk.len(), BAR);
    let left: Vec<f32> = disk.iter().map(|f| f[0]).collect();
    let (a, b) = (
        crate::common::tone(&left[4_800..], 440.0),
        crate::common::tone(&left[4_800..], 660.0),
    );
    assert!(a > 0.05 && b < a / 100.0, "440 Hz {a}, 660 Hz {b}");
    // Before the take both played.
    let before: Vec<f32> = (0..BAR / 2).map(|k| r.frame(k + 4_800)[0]).collect();
    assert!(crate::common::tone(&before, 660.0) > 0.05);
}

#[test]
fn monitoring_hears_the_input_and_cancel_keeps_nothing() {
    let dir = tmp();
    write_wav16(&dir.path().join("in.wav"), RATE, 6.0, noise);
    let r = run(
        dir.path(),
        "[master]\nrecord_seconds = 10\ninput_monitor = true\n",
        "0.5 record 0 1\n2.5 record 0 1 cancel\n",
        4.0,
    );
    // The input is heard through the master: the limiter's look-ahead later.
    let l = r.latency;
    for k in 4_800..96_000 {
        let want = r.input(k - l);
        let got = r.frame(k);
        assert!(
            (got[0] - want[0]).abs() < 1e-6 && (got[1] - want[1]).abs() < 1e-6,
            "frame {k}"
        );
    }
    assert!(
        r.at(|k| matches!(k, EventKind::RecordCancelled(1)))
            .is_some()
    );
    assert!(r.at(|k| matches!(k, EventKind::RecordPlaying(1))).is_none());
    assert!(r.news.is_empty());
    let left: Vec<_> = std::fs::read_dir(dir.path().join("recordings"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn without_a_tape_a_record_press_is_refused_and_said() {
    let dir = tmp();
    let r = run(
        dir.path(),
        "[master]\nrecord_seconds = 0\n",
        "0.5 record 0 1\n",
        1.0,
    );
    assert!(
        r.events
            .iter()
            .any(|e| e.kind
                == EventKind::RecordRefused(1, padlooper::engine::record::Refusal::NoTape))
    );
}

#[test]
fn render_records_from_an_input_file_into_the_recordings_folder() {
    let dir = tmp();
    write_wav16(&dir.path().join("in.wav"), RATE, 6.0, noise);
    std::fs::write(
        dir.path().join("set.toml"),
        "[master]\nbpm = 120\nrecord_seconds = 10\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("s.txt"),
        "0 transport start\n0.1 record 0 3\n2.1 record 0 3 stop\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_padlooper"))
        .current_dir(dir.path())
        .args([
            "render",
            "--set",
            "set.toml",
            "--script",
            "s.txt",
            "--input",
            "in.wav",
            "--seconds",
            "5",
            "-o",
            "out.wav",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("recorded bank 0 pad 3"), "{log}");
    let take = wav_frames(&dir.path().join("recordings/b0-p3-take1.wav"));
    assert_eq!(take.len(), BAR);
    // The take plays from 4.0 s in the rendered file.
    let rendered = wav_frames(&dir.path().join("out.wav"));
    for k in 256..BAR / 2 {
        let (got, want) = (rendered[2 * BAR + k], take[k]);
        assert!(
            (got[0] - want[0]).abs() < 1e-6 && (got[1] - want[1]).abs() < 1e-6,
            "frame {k}: {got:?} vs {want:?}"
        );
    }
}

/// Once the set plays: pad 0 pressed (the transport runs), pad 1's resample button.
pub(super) fn resample_into_pad_1(run: &crate::common::web::WebRun) {
    use std::time::Duration;
    // The web surface answers before the set is loaded: wait until it plays.
    run.wait_log("playing; press Ctrl-C", Duration::from_secs(30));
    assert_eq!(
        run.call("POST", "/api/pads/0/press", None, None).status,
        200
    );
    run.state_until(None, |v| v["transport"]["running"] == true);
    assert_eq!(
        run.call("POST", "/api/pads/1/resample", None, None).status,
        200
    );
}

#[test]
fn live_a_resampled_take_is_written_and_saved_into_the_set() {
    // Playing live (no sound card): pad 0 loops, the web API's record button on pad 1
    // resamples the master for a bar; the take goes to recordings/ and into the set file, so
    // it is pad 1's sample after a restart.
    use crate::common::web::WebRun;
    use std::time::Duration;
    let set = "[master]\nbpm = 120\nrecord_seconds = 8\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n";
    let mut run = WebRun::start(set, "127.0.0.1:0", |_| {});
    resample_into_pad_1(&run);
    run.state_until(None, |v| {
        v["record"]["state"] == "armed" && v["record"]["pad"] == 1
    });
    // It begins on the next bar line; pressed again then, it ends on the one after.
    run.state_until(None, |v| v["record"]["state"] == "recording");
    assert_eq!(
        run.call("POST", "/api/pads/1/resample", None, None).status,
        200
    );
    let line = run.wait_log("now plays", Duration::from_secs(30));
    assert!(line.contains("bank 0 pad 1"), "{line}");
    let text = std::fs::read_to_string(run.dir.path().join("set.toml")).unwrap();
    assert!(
        text.contains("file = \"recordings/b0-p1-take1.wav\"") && text.contains("sync = true"),
        "{text}"
    );
    let take = wav_frames(&run.dir.path().join("recordings/b0-p1-take1.wav"));
    assert_eq!(take.len(), BAR, "one bar at 120 BPM");
    assert!(crate::common::peak(&take.iter().map(|f| f[0]).collect::<Vec<_>>()) > 0.05);
    let log = run.stop();
    // The set as saved loads again.
    padlooper::config::SetFile::load(&run.dir.path().join("set.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{log}"));
}

#[test]
fn live_a_take_from_a_real_capture_stream() {
    // The real cpal input path: ALSA's `file` plugin feeds the capture stream from a raw file
    // (a 440 Hz tone, float stereo; its `null` slave is not paced, so the input runs ahead and
    // the excess is dropped and counted) while the output is paced by the clock. A one-bar take
    // from the input holds the tone's frames at its level, left and right in their places.
    use crate::common::web::WebRun;
    use std::time::Duration;
    let dir = tmp();
    let raw = dir.path().join("in.raw");
    let mut bytes = Vec::new();
    for i in 0..RATE as usize * 60 {
        let v = 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / RATE as f64).sin();
        for s in [v as f32, -v as f32] {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
    }
    std::fs::write(&raw, bytes).unwrap();
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm.nullin {{ type null }}\npcm.!default {{ type file slave.pcm \"nullin\" file \"/dev/null\" infile \"{}\" format \"raw\" }}\n",
            raw.display()
        ),
    )
    .unwrap();
    // The input's values are checked frame by frame: read as they are (the file plugin's
    // input is unpaced, far beyond any clock drift; drift correction is tested on its own).
    let set =
        "[master]\nbpm = 120\nrecord_seconds = 8\ninput = \"default\"\ninput_clock = \"output\"\n";
    let mut run = WebRun::start_env(
        set,
        "127.0.0.1:0",
        &[("ALSA_CONFIG_PATH", conf.as_os_str())],
    );
    let line = run.wait_log("audio input:", Duration::from_secs(30));
    assert!(
        line.to_lowercase().contains("f32") && line.contains("[1, 2]"),
        "{line}"
    );
    run.wait_log("playing; press Ctrl-C", Duration::from_secs(30));
    assert_eq!(
        run.call(
            "POST",
            "/api/transport",
            Some(r#"{"action": "start"}"#),
            None
        )
        .status,
        200
    );
    assert_eq!(
        run.call("POST", "/api/pads/2/record", None, None).status,
        200
    );
    run.state_until(None, |v| v["record"]["state"] == "recording");
    assert_eq!(
        run.call("POST", "/api/pads/2/record", None, None).status,
        200
    );
    run.wait_log("now plays", Duration::from_secs(30));
    let take = wav_frames(&run.dir.path().join("recordings/b0-p2-take1.wav"));
    assert_eq!(take.len(), BAR);
    let left: Vec<f32> = take.iter().map(|f| f[0]).collect();
    let right: Vec<f32> = take.iter().map(|f| f[1]).collect();
    let rms = crate::common::rms(&left);
    assert!((rms - 0.3536).abs() < 0.02, "the tone's level: rms {rms}");
    assert!((crate::common::rms(&right) - rms).abs() < 0.01);
    assert!(
        left.iter().zip(&right).all(|(l, r)| (l + r).abs() < 1e-6),
        "left and right in place"
    );
    // Every frame is one of the tone's (the unpaced slave reads the file far faster than the
    // engine takes it, so which frames arrive is not the file's order: their values are).
    let tone: std::collections::HashSet<u32> = (0..1200)
        .map(|i| {
            let v = 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / RATE as f64).sin();
            (v as f32).to_bits()
        })
        .collect();
    assert!(
        left.iter().all(|v| tone.contains(&v.to_bits())),
        "frames not from the input file"
    );
    // In debug builds (`make test`) both callbacks run inside the allocation guard.
    let log = run.stop();
    assert!(!log.contains("allocated or freed"), "{log}");
    assert!(
        log.contains("input overrun"),
        "the input running ahead is counted: {log}"
    );
    // Takes were aligned by the devices' buffers, an estimate. With a round trip `padlooper
    // latency` kept for these devices and buffers, the next start aligns them by it.
    let est = log
        .lines()
        .find(|l| l.contains("aligned by the devices' buffers (output "))
        .unwrap_or_else(|| panic!("{log}"));
    let num = |after: &str| -> u32 {
        est.split(after)
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let buffers = [num("(output "), num(" + input ")];
    let input = line
        .split("audio input: ")
        .nth(1)
        .and_then(|r| r.split(" (channels").next())
        .unwrap()
        .to_string();
    let kept = padlooper::control::latency::Kept {
        output: padlooper::audio::output::PACED_NAME.into(),
        input,
        rate: RATE,
        buffers,
        frames: 1234,
        spread: 0.4,
    };
    let mut again = WebRun::start_env_with(
        set,
        "127.0.0.1:0",
        &[("ALSA_CONFIG_PATH", conf.as_os_str())],
        |state| {
            padlooper::control::latency::keep(state, kept).unwrap();
        },
    );
    let used = again.wait_log("measured on these devices", Duration::from_secs(30));
    assert!(used.contains("1234 frames"), "{used}");
    again.stop();
}
