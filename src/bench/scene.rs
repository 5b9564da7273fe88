//! The standard benchmark scene: 50 stereo 48 kHz 16-bit loops, generated deterministically,
//! with fixed per-voice speed, gain and EQ. Not real-time.

use std::path::{Path, PathBuf};

use crate::config::set::{FxSection, GridSection, MasterSection, PadSpec, PadTempo, SetFile};
use crate::dsp::eq::db_to_knob;
use crate::engine::command::{EqMode, LaunchMode, PadFx};
use crate::sample::SampleSource;

/// The golden ratio conjugate used to spread voice settings.
pub const PHI: f64 = 0.6180339887498949;
/// Output and file rate of the scene.
pub const RATE: u32 = 48_000;
/// Master gain of the scene.
pub const MASTER_GAIN: f32 = 0.15;
const LOW: [f32; 5] = [6.0, -4.0, 3.0, -6.0, 4.0];
const MID: [f32; 4] = [-3.0, 5.0, -6.0, 2.0];
const HIGH: [f32; 3] = [4.0, -5.0, 6.0];

/// Speed, linear gain and EQ gains (dB) of voice `i`, exactly as the scene defines them.
pub fn voice_params(i: usize) -> (f32, f32, [f32; 3]) {
    let frac = |x: f64| x - x.floor();
    let speed = 2f64.powf((-3.0 + 6.0 * frac(i as f64 * PHI)) / 12.0) as f32;
    let gain = (0.4 + 0.5 * frac(i as f64 * (1.0 - PHI))) as f32;
    (speed, gain, [LOW[i % 5], MID[i % 4], HIGH[i % 3]])
}

/// File name of loop `i`.
pub fn file_name(i: usize) -> String {
    format!("loop_{i:03}.wav")
}

/// Interleaved stereo 16-bit samples of loop `i`, `seconds` long: a few sine partials with slow
/// amplitude modulation plus low-passed noise bursts on every beat at 120 BPM, all different
/// per file. Deterministic.
pub fn render_loop(i: usize, seconds: f64) -> Vec<i16> {
    let frames = (seconds * RATE as f64) as usize;
    let mut out = Vec::with_capacity(frames * 2);
    let f0 = 55.0 * 2f64.powf((i % 24) as f64 / 12.0);
    let partials = [
        (f0, 0.22),
        (2.0 * f0 * 1.003, 0.12),
        (3.0 * f0 * 0.998, 0.08),
        (5.0 * f0, 0.04),
    ];
    // Phasors rotated by a complex multiply per sample (exact enough, renormalised per beat).
    let mut ph: Vec<(f64, f64, f64, f64)> = partials
        .iter()
        .map(|&(f, _)| {
            let w = 2.0 * std::f64::consts::PI * f / RATE as f64;
            (1.0, 0.0, w.cos(), w.sin())
        })
        .collect();
    let am_rate = 0.05 + 0.03 * (i % 7) as f64;
    let am_w = 2.0 * std::f64::consts::PI * am_rate / RATE as f64;
    let beat = RATE as usize / 2;
    let mut seed = 0x9E37_79B9u32 ^ (i as u32).wrapping_mul(0x85EB_CA6B);
    let mut lp = [0.0f64; 2];
    let cutoff = 0.02 + 0.01 * (i % 5) as f64;
    for n in 0..frames {
        if n % beat == 0 {
            for p in ph.iter_mut() {
                let m = (p.0 * p.0 + p.1 * p.1).sqrt();
                p.0 /= m;
                p.1 /= m;
            }
        }
        let am = 0.75 + 0.25 * (am_w * n as f64).sin();
        let mut tone = 0.0;
        for (p, &(_, a)) in ph.iter_mut().zip(partials.iter()) {
            tone += a * p.1;
            let (c, s) = (p.0 * p.2 - p.1 * p.3, p.0 * p.3 + p.1 * p.2);
            p.0 = c;
            p.1 = s;
        }
        let t_in_beat = (n % beat) as f64 / RATE as f64;
        let env = (-t_in_beat / 0.04).exp()
            * if (n / beat + i).is_multiple_of(4) {
                1.0
            } else {
                0.5
            };
        let mut frame = [0i16; 2];
        for ch in 0..2 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = seed as f64 / u32::MAX as f64 * 2.0 - 1.0;
            lp[ch] += cutoff * (noise - lp[ch]);
            let v = tone * am * if ch == 0 { 1.0 } else { 0.9 } + lp[ch] * env * 1.5;
            frame[ch] = (v.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        }
        out.extend_from_slice(&frame);
    }
    out
}

/// Writes loop `i` as a 16-bit stereo WAV.
pub fn write_loop(dir: &Path, i: usize, seconds: f64) -> std::io::Result<PathBuf> {
    let path = dir.join(file_name(i));
    let data = render_loop(i, seconds);
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).map_err(std::io::Error::other)?;
    {
        let mut sw = w.get_i16_writer(data.len() as u32);
        for s in data {
            sw.write_sample(s);
        }
        sw.flush().map_err(std::io::Error::other)?;
    }
    w.finalize().map_err(std::io::Error::other)?;
    Ok(path)
}

/// Expected size in bytes of a generated loop file.
pub fn file_size(seconds: f64) -> u64 {
    44 + (seconds * RATE as f64) as u64 * 4
}

/// Makes sure `dir` holds `voices` loops of `seconds` (generating missing or wrong-sized ones in
/// parallel). `progress` gets (done, total).
pub fn ensure_files(
    dir: &Path,
    voices: usize,
    seconds: f64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let todo: Vec<usize> = (0..voices)
        .filter(|&i| {
            std::fs::metadata(dir.join(file_name(i)))
                .map(|m| m.len() != file_size(seconds))
                .unwrap_or(true)
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(voices - todo.len());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> std::io::Result<()> {
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = todo.get(k) else { return Ok(()) };
                        write_loop(dir, i, seconds)?;
                        progress(
                            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                            voices,
                        );
                    }
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("generator thread panicked")))
        })
    })
}

/// The scene as a set: `voices` pads (bank by bank) playing `dir/loop_NNN.wav`.
pub fn scene_set(dir: &Path, voices: usize) -> SetFile {
    let grid = GridSection::default();
    let pads = (0..voices)
        .map(|i| {
            let (speed, gain, eq) = voice_params(i);
            PadSpec {
                id: i,
                bank: i / grid.pads_per_bank(),
                index: i % grid.pads_per_bank(),
                source: SampleSource::File(dir.join(file_name(i))),
                mode: LaunchMode::Toggle,
                gain_db: 20.0 * gain.log10(),
                speed,
                looping: true,
                start: None,
                loop_start: 0.0,
                loop_end: None,
                choke: 0,
                quantize: None,
                tempo: PadTempo::Unknown,
                sync: false,
                in_phase: true,
                key_lock: false,
                transpose: 0.0,
                fx: PadFx {
                    eq: eq.map(|d| db_to_knob(d as f64)),
                    eq_mode: EqMode::Shelf,
                    ..PadFx::default()
                },
                stems: Default::default(),
                line: 0,
                grid_loop: None,
                loop_from_bar: 1,
                grid_offset: None,
                key_lines: Vec::new(),
            }
        })
        .collect();
    SetFile {
        path: dir.join("scene.toml"),
        master: MasterSection {
            volume: MASTER_GAIN,
            voices: voices.max(64),
            ..MasterSection::default()
        },
        grid,
        fx: FxSection::default(),
        pads,
    }
}

/// The scene as set-file text (so `padlooper render` can do the same work).
pub fn scene_toml(voices: usize) -> String {
    let mut s = format!(
        "# padlooper benchmark scene ({voices} voices)\n[master]\nvolume = {MASTER_GAIN}\nvoices = {}\neq = \"shelf\"\n\n",
        voices.max(64)
    );
    for i in 0..voices {
        let (speed, gain, eq) = voice_params(i);
        s += &format!(
            "[[pad]]\nbank = {}\npad = {}\nfile = \"{}\"\nspeed = {speed}\ngain_db = {}\neq_low_db = {}\neq_mid_db = {}\neq_high_db = {}\n\n",
            i / 64,
            i % 64,
            file_name(i),
            20.0 * gain.log10(),
            eq[0],
            eq[1],
            eq[2]
        );
    }
    s
}

/// A render script starting every pad of the scene at frame 0.
pub fn scene_script(voices: usize) -> String {
    (0..voices)
        .map(|i| format!("0.0 press {} {}\n", i / 64, i % 64))
        .collect()
}
