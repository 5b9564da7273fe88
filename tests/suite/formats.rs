//! Decoding every supported format, channel mapping, resampling and storage width.

use crate::common::*;
use padlooper::sample::loader::load_file;
use std::path::Path;

fn check_sine(buf: &padlooper::sample::SampleBuffer, seconds: f64, amp: f32) {
    let frames = buf.frames();
    assert!(
        ((frames as f64 / 48_000.0) - seconds).abs() < 0.03,
        "{}: {} frames",
        buf.name,
        frames
    );
    let l: Vec<f32> = (frames / 5..frames * 4 / 5)
        .map(|i| buf.frame(i)[0])
        .collect();
    let r: Vec<f32> = (frames / 5..frames * 4 / 5)
        .map(|i| buf.frame(i)[1])
        .collect();
    assert!(
        (freq(&l) - 440.0).abs() < 1.0,
        "{}: freq {}",
        buf.name,
        freq(&l)
    );
    assert!(
        (peak(&l) - amp).abs() < 0.02,
        "{}: peak {}",
        buf.name,
        peak(&l)
    );
    assert!(
        (peak(&r) - amp).abs() < 0.02,
        "{}: right peak {}",
        buf.name,
        peak(&r)
    );
}

fn write_wav(path: &Path, bits: u16, float: bool, channels: u16, rate: u32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(rate / 2) {
        let v = 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate as f64).sin();
        for _ in 0..channels {
            if float {
                w.write_sample(v as f32).unwrap();
            } else {
                let max = (1i64 << (bits - 1)) as f64 - 1.0;
                w.write_sample((v * max).round() as i32).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

#[test]
fn wav_integer_and_float_widths_decode_to_the_same_sine() {
    let dir = tmp();
    for (bits, float) in [(16, false), (24, false), (32, false), (32, true)] {
        let p = path(&dir, &format!("s{bits}{float}.wav"));
        write_wav(&p, bits, float, 2, 48_000);
        let buf = load_file(&p, 48_000).unwrap();
        check_sine(&buf, 0.5, 0.5);
        // 16-bit sources stay 16-bit in memory: half the float32 size.
        if bits == 16 {
            assert_eq!(buf.memory_bytes() * 2, buf.float32_bytes());
        } else {
            assert_eq!(buf.memory_bytes(), buf.float32_bytes());
        }
    }
}

#[test]
fn flac_ogg_and_mp3_decode_and_resample_from_44k1() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    // Expected peaks as measured with sox's own decoders on the same files (MP3 encoding at
    // 128 kbit/s lowers this sine's level slightly).
    for (f, amp) in [
        ("sine440_mono_44k.flac", 0.5),
        ("sine440_44k.ogg", 0.5),
        ("sine440_44k.mp3", 0.4755),
    ] {
        let buf = load_file(&data.join(f), 48_000).unwrap_or_else(|e| panic!("{e}"));
        // MP3 adds encoder delay/padding; the others are sample-exact.
        let secs = if f.ends_with("mp3") {
            buf.seconds()
        } else {
            0.5
        };
        check_sine(&buf, secs, amp);
        assert_eq!(buf.rate, 48_000);
    }
}

#[test]
fn mono_is_spread_and_surround_is_downmixed() {
    let dir = tmp();
    let mono = path(&dir, "mono.wav");
    write_wav(&mono, 16, false, 1, 48_000);
    check_sine(&load_file(&mono, 48_000).unwrap(), 0.5, 0.5);
    let six = path(&dir, "six.wav");
    write_wav(&six, 16, false, 6, 48_000);
    let buf = load_file(&six, 48_000).unwrap();
    // Three identical channels per side, equal-power downmix: 0.5 * 3 / sqrt(3), clamped to 1.
    let expect = (0.5f32 * 3.0 / 3f32.sqrt()).min(1.0);
    check_sine(&buf, 0.5, expect);
}

#[test]
fn resampling_keeps_pitch_and_length() {
    let dir = tmp();
    let p = path(&dir, "s.wav");
    write_wav(&p, 16, false, 2, 22_050);
    let buf = load_file(&p, 48_000).unwrap();
    check_sine(&buf, 0.5, 0.5);
}

#[test]
fn sixteen_bit_storage_is_lossless_and_resampling_error_is_half_an_lsb() {
    let dir = tmp();
    // At the output rate: the stored samples are the file's samples, bit for bit.
    let p = path(&dir, "s48.wav");
    write_wav(&p, 16, false, 2, 48_000);
    let buf = load_file(&p, 48_000).unwrap();
    let mut r = hound::WavReader::open(&p).unwrap();
    let file: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    for (i, fr) in file.chunks_exact(2).enumerate() {
        assert_eq!(
            buf.frame(i),
            [fr[0] as f32 / 32768.0, fr[1] as f32 / 32768.0]
        );
    }
    // Resampled: storing the float result as 16 bits rounds by at most half a step.
    let p = path(&dir, "s44.wav");
    write_wav(&p, 16, false, 2, 44_100);
    let stored = load_file(&p, 48_000).unwrap();
    let decoded = padlooper::sample::decode::decode_file(&p).unwrap();
    let float =
        padlooper::sample::resample::resample_stereo(decoded.samples.into_f32(), 44_100, 48_000)
            .unwrap();
    assert_eq!(stored.frames(), float.len() / 2);
    let worst = (0..stored.frames())
        .flat_map(|i| {
            let f = stored.frame(i);
            [(f[0] - float[2 * i]).abs(), (f[1] - float[2 * i + 1]).abs()]
        })
        .fold(0.0f32, f32::max);
    assert!(worst <= 0.5 / 32768.0 + 1e-9, "worst error {worst}");
}

/// Where a 441 Hz tone at 44.1 kHz starting at phase 0 sits in `x` (left channel samples):
/// the lag, within one period, that matches it best.
fn tone_lag(x: &[f32]) -> usize {
    let ideal = |i: usize| (std::f64::consts::TAU * 441.0 * i as f64 / 44_100.0).sin();
    (0..100)
        .max_by(|&a, &b| {
            let score =
                |lag: usize| -> f64 { (0..4000).map(|i| x[i] as f64 * ideal(i + 100 - lag)).sum() };
            score(a).total_cmp(&score(b))
        })
        .unwrap()
}

/// Encoder delay and padding are trimmed as players do for gapless playback: a 2-s loop of a
/// 441 Hz tone encoded with each lossy codec starts on time and, where the file says how long
/// it is, loops every 96000 output frames without a gap or click.
#[test]
fn lossy_loops_start_on_time_and_wrap_without_a_gap() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gapless");
    for (file, frames) in [
        ("loop441-aac-elst.m4a", 88_200),
        ("loop441-aac-itunsmpb.m4a", 88_200),
        ("loop441.mp3", 88_200),
        ("loop441.ogg", 88_200),
        // MPEG Layer II files do not say how much padding the last frame holds.
        ("loop441.mp2", 88_223),
    ] {
        let d = padlooper::sample::decode::decode_file(&data.join(file)).unwrap();
        assert_eq!(d.frames(), frames, "{file}: frames");
        let left: Vec<f32> = d.samples.into_f32().iter().step_by(2).copied().collect();
        let lag = tone_lag(&left);
        assert!(lag <= 1 || lag >= 99, "{file} starts {lag} frames late");
        if frames != 88_200 {
            continue;
        }
        let dir = tmp();
        std::fs::copy(data.join(file), dir.path().join(file)).unwrap();
        let set = set_in(
            dir.path(),
            &format!("[[pad]]\npad = 0\nfile = \"{file}\"\n"),
        );
        let (out, report) = render_set(&set, "0.0 press 0 0\n", 6.1);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let wraps: Vec<u64> = out
            .events
            .iter()
            .filter(|e| matches!(e.kind, padlooper::engine::event::EventKind::PadLooped(0)))
            .map(|e| e.frame)
            .collect();
        assert_eq!(wraps, vec![96_000, 192_000, 288_000], "{file}");
        let x = crate::common::left(&out.samples, 0.0, 6.1);
        let (seam, inside) = crate::common::analysis::seams(&x, 441.0, &wraps);
        eprintln!("{file}: around the wraps {seam:.1} dB, inside {inside:.1} dB");
        // The tone is at -12 dB: a gap would show at 0 dB, a wrap one frame off at -37 dB;
        // what remains is each codec's own error where the encoder met silence.
        assert!(
            seam < -40.0,
            "{file}: {seam:.1} dB at the wraps, {inside:.1} inside"
        );
    }
}

/// RF64 (WAV past 4 GiB, as `render` itself writes it) and Sony Wave64 load like WAV.
#[test]
fn rf64_and_wave64_files_load() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for (file, sixteen) in [("tone441-rf64.wav", true), ("tone441.w64", false)] {
        let b = load_file(&data.join(file), 48_000).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(b.frames(), 24_000, "{file}");
        assert_eq!(
            matches!(b.data(), padlooper::sample::buffer::SampleData::I16(_)),
            sixteen,
            "{file}: storage"
        );
        let x: Vec<f32> = (0..b.frames()).map(|i| b.frame(i)[0]).collect();
        assert!((freq(&x) - 441.0).abs() < 0.5, "{file}");
        // ffmpeg spread its 1/8 full-scale mono tone to two channels at -3 dB.
        assert!(
            (peak(&x) - 0.125 / 2f32.sqrt()).abs() < 0.003,
            "{file}: level {}",
            peak(&x)
        );
    }
    // What padlooper's own renderer writes past the RIFF limit (here made tiny).
    let dir = tmp();
    let p = path(&dir, "big.wav");
    let mut w =
        padlooper::control::offline::wav_out::WavOut::create_with_limit(&p, 48_000, 1000).unwrap();
    let tone: Vec<f32> = (0..4800)
        .flat_map(|i| {
            let s = (0.5 * (std::f64::consts::TAU * 441.0 * i as f64 / 48_000.0).sin()) as f32;
            [s, s]
        })
        .collect();
    w.write(&tone).unwrap();
    w.finish().unwrap();
    assert_eq!(&std::fs::read(&p).unwrap()[0..4], b"RF64");
    let b = load_file(&p, 48_000).unwrap();
    assert_eq!(b.frames(), 4800);
    for i in [0, 100, 4799] {
        assert_eq!(b.frame(i)[0], tone[2 * i], "frame {i}");
    }
}
