//! The round-trip self-test behind `padlooper latency`: through the running engine, a pad
//! plays a short burst of noise while a take of the audio input begins on the very same frame;
//! the burst comes back through a loopback (a cable from an output to an input), and where it
//! lies in the take, found by cross-correlation, is the round trip recordings are compensated
//! by: output buffer, converters, cable, input buffer, as the engine sees them. Repeated, its
//! mean and spread; kept in the state folder for the devices it was measured on. Not
//! real-time (the engine does the real-time part, through its usual code).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbuf::traits::Consumer;
use serde::{Deserialize, Serialize};

use crate::engine::EngineHandle;
use crate::engine::command::{Command, LaunchMode, PadCmd, PadConfig, PadFx, PadId, Timed};
use crate::engine::record::{DiskMark, InputCmd, RecordCmd, RecordSource, RecordStream};
use crate::sample::SampleBuffer;

/// Length of the test burst, seconds.
const BURST_SECONDS: f64 = 0.04;
/// The longest round trip looked for, seconds.
pub const WINDOW_SECONDS: f64 = 1.0;
/// The file measurements are kept in, in the state folder.
pub const FILE: &str = "latency.toml";

/// Why the self-test could not measure.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    /// Setting up the engine for the test failed.
    #[error("cannot set up the test: {0}")]
    Setup(String),
    /// The engine stopped delivering what it recorded.
    #[error("the input delivered nothing for {0:.0} s: is the audio running?")]
    Stalled(f64),
    /// The burst did not come back.
    #[error(
        "the test signal did not come back (best match {score:.2}, needs 0.5): connect an output to an input with a cable (or switch on the interface's loopback), turn the input up, and try again"
    )]
    NotFound {
        /// Normalised correlation of the best match.
        score: f32,
    },
}

/// The test burst: Hann-windowed white noise, -12 dBFS peak, the same on both sides
/// (interleaved stereo). Noise correlates with itself at one lag only, to the frame.
pub fn test_signal(rate: u32) -> Vec<f32> {
    let n = (BURST_SECONDS * rate as f64).round().max(16.0) as usize;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let white = (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos();
        let v = (0.25 * white * w) as f32;
        out.push(v);
        out.push(v);
    }
    out
}

/// Where `signal` (interleaved stereo) lies in `captured` (interleaved stereo): the lag in
/// frames with the highest normalised correlation of the two mixed to mono, and that
/// correlation (1 = the same shape). None when `captured` is shorter than the signal.
pub fn find_delay(captured: &[f32], signal: &[f32]) -> Option<(usize, f32)> {
    let mono = |x: &[f32]| -> Vec<f64> {
        x.chunks_exact(2)
            .map(|f| (f[0] as f64 + f[1] as f64) * 0.5)
            .collect()
    };
    let (c, s) = (mono(captured), mono(signal));
    if c.len() < s.len() || s.is_empty() {
        return None;
    }
    let s_energy: f64 = s.iter().map(|v| v * v).sum();
    let mut best = (0usize, f64::MIN);
    // The energy of the captured window under the signal, kept running.
    let mut c_energy: f64 = c[..s.len()].iter().map(|v| v * v).sum();
    for lag in 0..=c.len() - s.len() {
        if lag > 0 {
            let (out, inn) = (c[lag - 1], c[lag + s.len() - 1]);
            c_energy = (c_energy - out * out + inn * inn).max(0.0);
        }
        let dot: f64 = s.iter().zip(&c[lag..]).map(|(a, b)| a * b).sum();
        let norm = (s_energy * c_energy).sqrt();
        let score = if norm > 1e-12 { dot / norm } else { 0.0 };
        if score > best.1 {
            best = (lag, score);
        }
    }
    Some((best.0, best.1 as f32))
}

/// What the self-test measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Each run's round trip, frames.
    pub runs: Vec<usize>,
    /// The worst match of the runs (normalised correlation).
    pub score: f32,
}

impl Measurement {
    /// Mean round trip, frames.
    pub fn mean(&self) -> f64 {
        self.runs.iter().sum::<usize>() as f64 / self.runs.len().max(1) as f64
    }

    /// Standard deviation of the runs, frames.
    pub fn spread(&self) -> f64 {
        let m = self.mean();
        let n = self.runs.len().max(1) as f64;
        (self
            .runs
            .iter()
            .map(|&r| (r as f64 - m).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    }

    /// The round trip recordings are compensated by (the median run), frames.
    pub fn frames(&self) -> u32 {
        let mut r = self.runs.clone();
        r.sort_unstable();
        r.get(r.len() / 2).copied().unwrap_or(0) as u32
    }
}

/// The self-test on a running engine (`handle`'s; its input fed by the device under test).
/// Uses pad 0 for the burst and pad 1 for the take (the engine must have two pads and no set
/// playing). Not real-time: sleeps while the engine plays and records.
pub fn measure(
    handle: &mut EngineHandle,
    rate: u32,
    runs: usize,
) -> Result<Measurement, LatencyError> {
    let setup = |e: crate::engine::handle::HandleError| LatencyError::Setup(e.to_string());
    let signal = test_signal(rate);
    let slot = handle
        .load(Arc::new(SampleBuffer::from_f32(
            "latency test burst",
            rate,
            signal.clone(),
        )))
        .map_err(setup)?;
    handle
        .command(Command::Pad(
            0,
            PadCmd::Assign(burst_pad(slot, signal.len() / 2)),
        ))
        .map_err(setup)?;
    handle
        .command(Command::Input(InputCmd::Latency(0)))
        .map_err(setup)?;
    handle
        .command(Command::Input(InputCmd::Monitor(Some(false))))
        .map_err(setup)?;
    let window = (WINDOW_SECONDS * rate as f64) as usize;
    let mut supply = super::record::TapeSupply::new(WINDOW_SECONDS as f32 * 2.0, rate);
    let mut stream = handle
        .take_record_stream()
        .ok_or_else(|| LatencyError::Setup("the engine's recording stream is taken".into()))?;
    let mut m = Measurement {
        runs: Vec::new(),
        score: 1.0,
    };
    let mut buf = vec![0.0f32; 2 * window];
    for _ in 0..runs.max(1) {
        supply.keep(handle);
        wait_for_tape(handle)?;
        // The burst and the take on the same frame, a little ahead so both arrive in time.
        let at = handle.stats().frames() + rate as u64 / 10;
        for cmd in [
            Command::Record(1, RecordCmd::Press(RecordSource::Input)),
            Command::Pad(0 as PadId, PadCmd::Press),
        ] {
            handle.send(Timed { at, cmd }).map_err(setup)?;
        }
        let got = take_window(&mut stream, &mut buf)?;
        let _ = handle.command(Command::Record(1, RecordCmd::Cancel));
        let (lag, score) = find_delay(&buf[..got], &signal).unwrap_or((0, 0.0));
        if score < 0.5 {
            return Err(LatencyError::NotFound { score });
        }
        m.runs.push(lag);
        m.score = m.score.min(score);
        drain_take(&mut stream);
        std::thread::sleep(Duration::from_millis(150));
        handle.drain_events();
    }
    Ok(m)
}

/// Waits (bounded) until the engine holds a blank tape.
fn wait_for_tape(handle: &mut EngineHandle) -> Result<(), LatencyError> {
    let t0 = Instant::now();
    while handle.blank_tapes() == 0 {
        if t0.elapsed() > Duration::from_secs(5) {
            return Err(LatencyError::Stalled(5.0));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Reads the next take's first `buf.len()` samples from the recording stream; returns how many.
fn take_window(stream: &mut RecordStream, buf: &mut [f32]) -> Result<usize, LatencyError> {
    let t0 = Instant::now();
    let mut begun = false;
    let mut got = 0;
    while got < buf.len() {
        if !begun {
            // The ring is empty until the take begins (the last one's rest was skipped).
            if let Some(DiskMark::Begin { .. }) = stream.marks.try_pop() {
                begun = true;
            }
        } else {
            got += stream.samples.pop_slice(&mut buf[got..]);
        }
        if got < buf.len() {
            if t0.elapsed().as_secs_f64() > 5.0 + WINDOW_SECONDS {
                return Err(LatencyError::Stalled(5.0 + WINDOW_SECONDS));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(got)
}

/// Skips what is left of the cancelled take.
fn drain_take(stream: &mut RecordStream) {
    let t0 = Instant::now();
    loop {
        match stream.marks.try_pop() {
            Some(DiskMark::Cancel { .. } | DiskMark::End { .. }) => break,
            Some(_) => {}
            None if t0.elapsed() > Duration::from_secs(1) => break,
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    stream.samples.clear();
}

/// The burst's pad: plays it once, as it is.
fn burst_pad(slot: crate::engine::command::SlotId, frames: usize) -> PadConfig {
    PadConfig {
        slot,
        start: 0,
        loop_start: 0,
        loop_end: frames as u32,
        end_frac: 0.0,
        looping: false,
        gain: 1.0,
        speed: 1.0,
        bpm: 0.0,
        sync: false,
        in_phase: false,
        key_lock: false,
        transpose: 0.0,
        mode: LaunchMode::Retrigger,
        choke: 0,
        quantize: None,
        fx: PadFx::default(),
        stems: Default::default(),
    }
}

/// A round trip measured on a pair of devices, as kept in the state folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    /// The output device, as opened.
    pub output: String,
    /// The input device, as opened.
    pub input: String,
    /// Sample rate, Hz.
    pub rate: u32,
    /// The output's and the input's buffer, frames.
    pub buffers: [u32; 2],
    /// The round trip, frames.
    pub frames: u32,
    /// The runs' standard deviation, frames.
    pub spread: f64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeptFile {
    #[serde(default)]
    measured: Vec<Kept>,
}

/// The kept measurements in the state folder `dir` (none when it cannot be read).
pub fn kept(dir: &Path) -> Vec<Kept> {
    std::fs::read_to_string(dir.join(FILE))
        .ok()
        .and_then(|t| toml::from_str::<KeptFile>(&t).ok())
        .map(|f| f.measured)
        .unwrap_or_default()
}

/// The measurement kept for these devices at this rate and these buffers.
pub fn lookup(dir: &Path, output: &str, input: &str, rate: u32, buffers: [u32; 2]) -> Option<Kept> {
    kept(dir)
        .into_iter()
        .find(|k| k.output == output && k.input == input && k.rate == rate && k.buffers == buffers)
}

/// Keeps `k` in the state folder `dir` (replacing one for the same devices, rate and buffers);
/// returns the file. Written atomically. Not real-time.
pub fn keep(dir: &Path, k: Kept) -> std::io::Result<PathBuf> {
    let mut all = kept(dir);
    all.retain(|o| {
        !(o.output == k.output && o.input == k.input && o.rate == k.rate && o.buffers == k.buffers)
    });
    all.push(k);
    let text = toml::to_string(&KeptFile { measured: all })
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(FILE);
    let body = format!(
        "# Round trips measured by `padlooper latency` (output → cable → input), used to align\n# recordings on these devices. Measure again after changing the interface or its buffers.\n{text}"
    );
    crate::atomic_file::write_atomic(&path, body.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_is_found_to_the_frame_under_noise_and_gain() {
        let s = test_signal(48_000);
        for lag in [0usize, 1, 317, 4_800] {
            let mut c = vec![0.0f32; 2 * 9_600];
            for (i, v) in s.iter().enumerate() {
                c[2 * lag + i] += 0.3 * v;
            }
            // Some unrelated noise on top.
            let mut x = 12345u32;
            for v in c.iter_mut() {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *v += ((x >> 16) as f32 / 65_536.0 - 0.5) * 0.01;
            }
            let (got, score) = find_delay(&c, &s).unwrap();
            assert_eq!(got, lag);
            assert!(score > 0.9, "{score}");
        }
        let silence = vec![0.0f32; 2 * 4_800];
        assert!(find_delay(&silence, &s).unwrap().1 < 0.5);
    }
}
