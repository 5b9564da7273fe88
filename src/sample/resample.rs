//! Sample-rate conversion with rubato's FFT resampler, streamed chunk by chunk (memory stays
//! bounded whatever the file's length) and *periodic* at the edges: the audio before the first
//! frame is taken to be the file's end and the audio after the last frame its start, as for a
//! loop that wraps. A loop made of a whole file (the usual case) then resamples seamlessly,
//! and the output has exactly `ceil(frames × to / from)` frames (where the audio ends in the
//! last one is [`end_frac`]). Not real-time safe.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Frames at `to` Hz of `frames` frames at `from` Hz, exactly (a fraction where the rates do
/// not divide).
pub fn exact_frames(frames: u64, from: u32, to: u32) -> f64 {
    if from == to || from == 0 {
        return frames as f64;
    }
    let whole = frames as u128 * to as u128;
    (whole / from as u128) as f64 + (whole % from as u128) as f64 / from as f64
}

/// Output frames of `frames` input frames: every output frame that starts inside the audio,
/// `ceil(frames × to / from)`, in integers (rubato's own `ceil(ratio × n)` in floating point
/// gives 96001 for 2 s of 44.1 kHz).
pub fn output_frames(frames: u64, from: u32, to: u32) -> u64 {
    if from == to || from == 0 {
        return frames;
    }
    (frames as u128 * to as u128).div_ceil(from as u128) as u64
}

/// Where in its last frame resampled audio of `frames` input frames ends (see
/// `SampleBuffer::end_frac`): 0 when the length is whole.
pub fn end_frac(frames: u64, from: u32, to: u32) -> f32 {
    exact_frames(frames, from, to).fract() as f32
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// One rubato FFT resampler fed interleaved stereo in any amounts; emits output frames after
/// dropping the first `skip`.
struct Stream {
    rs: Fft<f32>,
    pending: Vec<f32>,
    out: Vec<f32>,
    skip: usize,
}

impl Stream {
    fn new(from: u32, to: u32, skip: usize) -> Result<Self, String> {
        let rs = Fft::<f32>::new(from as usize, to as usize, 1024, 2, FixedSync::Both)
            .map_err(|e| e.to_string())?;
        let out = vec![0.0; rs.output_frames_max() * 2];
        let skip = skip + rs.output_delay();
        Ok(Self {
            rs,
            pending: Vec::new(),
            out,
            skip,
        })
    }

    /// Feeds interleaved stereo; `emit` gets every whole chunk of output (interleaved).
    fn push(&mut self, frames: &[f32], emit: &mut dyn FnMut(&[f32])) -> Result<(), String> {
        self.pending.extend_from_slice(frames);
        loop {
            let need = self.rs.input_frames_next();
            if self.pending.len() / 2 < need {
                return Ok(());
            }
            let input = InterleavedSlice::new(&self.pending[..need * 2], 2, need)
                .map_err(|e| e.to_string())?;
            let frames_out = self.out.len() / 2;
            let mut output = InterleavedSlice::new_mut(&mut self.out, 2, frames_out)
                .map_err(|e| e.to_string())?;
            let (used, made) = self
                .rs
                .process_into_buffer(&input, &mut output, None)
                .map_err(|e| e.to_string())?;
            self.pending.drain(..used * 2);
            let data = &self.out[..made * 2];
            let dropped = self.skip.min(made);
            self.skip -= dropped;
            if dropped < made {
                emit(&data[dropped * 2..]);
            }
        }
    }

    /// Feeds `frames` of silence.
    fn zeros(&mut self, frames: usize, emit: &mut dyn FnMut(&[f32])) -> Result<(), String> {
        const BLOCK: usize = 4096;
        let z = [0.0f32; BLOCK * 2];
        let mut left = frames;
        while left > 0 {
            let n = left.min(BLOCK);
            self.push(&z[..n * 2], emit)?;
            left -= n;
        }
        Ok(())
    }
}

/// Streams interleaved stereo from `from` Hz to `to` Hz with periodic edges. Feed it with
/// [`push`](Self::push); output beyond the first [`head_frames`](Self::head_frames) goes to
/// the `emit` callback as it is made; [`finish`](Self::finish) emits the rest and returns the
/// head (the first frames, completed once the file's end is known), which belongs *before*
/// everything emitted.
pub struct PeriodicResampler {
    from: u32,
    to: u32,
    main: Stream,
    /// Pad frames at each edge (a multiple of `from / gcd` so its output is whole frames).
    pad: usize,
    pad_out: usize,
    /// The first `pad` input frames (for the padding after the end).
    first: Vec<f32>,
    /// The last `pad` input frames, as a ring (for the padding before the start).
    last: Vec<f32>,
    last_at: usize,
    frames_in: u64,
    head: Vec<f32>,
    head_len: usize,
    emitted: u64,
}

impl PeriodicResampler {
    /// A resampler from `from` to `to` Hz (they differ).
    pub fn new(from: u32, to: u32) -> Result<Self, String> {
        if from == 0 || to == 0 {
            return Err("a sample rate of 0".into());
        }
        let step = (from as u64 / gcd(from as u64, to as u64)) as usize;
        let pad = step * 2048usize.div_ceil(step);
        let pad_out = (pad as u64 * to as u64 / from as u64) as usize;
        let mut main = Stream::new(from, to, pad_out)?;
        // The head holds everything the padding before the start can reach.
        let head_len = pad_out + 4 * main.rs.output_frames_max();
        main.zeros(pad, &mut |_| {})?;
        Ok(Self {
            from,
            to,
            main,
            pad,
            pad_out,
            first: Vec::with_capacity(pad * 2),
            last: vec![0.0; pad * 2],
            last_at: 0,
            frames_in: 0,
            head: Vec::with_capacity(head_len * 2),
            head_len,
            emitted: 0,
        })
    }

    /// Output frames held back as the head (at most; fewer for a short file).
    pub fn head_frames(&self) -> usize {
        self.head_len
    }

    /// Feeds interleaved stereo input.
    pub fn push(&mut self, frames: &[f32], emit: &mut dyn FnMut(&[f32])) -> Result<(), String> {
        let n = frames.len() / 2;
        let want = (self.pad * 2).saturating_sub(self.first.len());
        self.first
            .extend_from_slice(&frames[..want.min(frames.len())]);
        for f in frames.chunks_exact(2) {
            self.last[self.last_at * 2..self.last_at * 2 + 2].copy_from_slice(f);
            self.last_at = (self.last_at + 1) % self.pad;
        }
        self.frames_in += n as u64;
        let (head, head_len, emitted) = (&mut self.head, self.head_len, &mut self.emitted);
        self.main.push(frames, &mut |out| {
            route(out, head, head_len, emitted, emit);
        })
    }

    /// Ends the input: emits the rest of the output ([`output_frames`] in all, head included)
    /// and returns the head.
    pub fn finish(mut self, emit: &mut dyn FnMut(&[f32])) -> Result<Vec<f32>, String> {
        let n = self.frames_in as usize;
        let total = output_frames(self.frames_in, self.from, self.to);
        if n == 0 {
            return Ok(Vec::new());
        }
        // The pad cycles through the file (a file shorter than the pad repeats).
        let cyclic = |src: &[f32], len: usize, start: usize| -> Vec<f32> {
            (0..self.pad)
                .flat_map(|i| {
                    let k = (start + i) % len;
                    [src[2 * k], src[2 * k + 1]]
                })
                .collect()
        };
        let first_len = self.first.len() / 2;
        let after = cyclic(&self.first, first_len.min(n), 0);
        // The ring's oldest frame is at `last_at` once it has been filled.
        let before = if n >= self.pad {
            cyclic(&self.last, self.pad, self.last_at)
        } else {
            cyclic(&self.first, n, n - (self.pad % n))
        };
        let left = std::cell::Cell::new(total.saturating_sub(self.emitted));
        {
            let (head, head_len, emitted) = (&mut self.head, self.head_len, &mut self.emitted);
            let mut take = |out: &[f32]| {
                let frames = (out.len() / 2).min(left.get() as usize);
                left.set(left.get() - frames as u64);
                route(&out[..frames * 2], head, head_len, emitted, emit);
            };
            self.main.push(&after, &mut take)?;
            while left.get() > 0 {
                self.main.zeros(self.pad, &mut take)?;
            }
        }
        // What the audio before the start adds to the first frames (resampling is linear: the
        // main pass had silence there).
        let want = self.head.len() / 2;
        let corr = std::cell::RefCell::new(Vec::with_capacity(want * 2));
        let mut c = Stream::new(self.from, self.to, self.pad_out)?;
        let mut collect = |out: &[f32]| {
            let mut corr = corr.borrow_mut();
            let room = want * 2 - corr.len();
            corr.extend_from_slice(&out[..out.len().min(room)]);
        };
        c.push(&before, &mut collect)?;
        while corr.borrow().len() < want * 2 {
            c.zeros(self.pad, &mut collect)?;
        }
        let corr = corr.into_inner();
        for (h, d) in self.head.iter_mut().zip(&corr) {
            *h += d;
        }
        Ok(self.head)
    }
}

/// Sends output frames to the head until it is full, then to `emit`.
fn route(
    out: &[f32],
    head: &mut Vec<f32>,
    head_len: usize,
    emitted: &mut u64,
    emit: &mut dyn FnMut(&[f32]),
) {
    let room = (head_len * 2).saturating_sub(head.len()).min(out.len());
    head.extend_from_slice(&out[..room]);
    if room < out.len() {
        emit(&out[room..]);
    }
    *emitted += (out.len() / 2) as u64;
}

/// Resamples a whole clip of interleaved stereo from `from` Hz to `to` Hz (periodic edges,
/// [`output_frames`] frames), in memory. Returns the input unchanged when the rates match.
pub fn resample_stereo(input: Vec<f32>, from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to || input.is_empty() {
        return Ok(input);
    }
    let mut r = PeriodicResampler::new(from, to)?;
    let mut body = Vec::new();
    for chunk in input.chunks(8192 * 2) {
        r.push(chunk, &mut |o| body.extend_from_slice(o))?;
    }
    let mut head = r.finish(&mut |o| body.extend_from_slice(o))?;
    head.extend_from_slice(&body);
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, f: f64, frames: usize) -> Vec<f32> {
        (0..frames)
            .flat_map(|i| {
                let s = (0.5 * (std::f64::consts::TAU * f * i as f64 / rate as f64).sin()) as f32;
                [s, -s]
            })
            .collect()
    }

    #[test]
    fn lengths_are_exact_and_fractions_kept() {
        assert_eq!(output_frames(88_200, 44_100, 48_000), 96_000);
        assert_eq!(exact_frames(88_200, 44_100, 48_000), 96_000.0);
        assert_eq!(output_frames(88_201, 44_100, 48_000), 96_002);
        assert!((end_frac(88_201, 44_100, 48_000) - 0.088_435).abs() < 1e-5);
        let e = exact_frames(88_201, 44_100, 48_000);
        assert!((e - 96_001.088_435).abs() < 1e-5, "{e}");
        for (from, n) in [
            (44_100, 88_200),
            (22_050, 44_100),
            (32_000, 64_000),
            (96_000, 10),
        ] {
            let out = resample_stereo(sine(from, 441.0, n), from, 48_000).unwrap();
            assert_eq!(
                out.len() / 2,
                output_frames(n as u64, from, 48_000) as usize
            );
        }
    }

    /// A whole-period loop resamples into a whole-period loop: its wrap (last frame to first)
    /// steps no more than the tone does from frame to frame.
    #[test]
    fn a_loop_wraps_seamlessly_after_resampling() {
        for from in [44_100u32, 22_050, 32_000, 88_200, 96_000, 8_000] {
            let n = 2 * from as usize;
            let out = resample_stereo(sine(from, 441.0, n), from, 48_000).unwrap();
            let l: Vec<f32> = out.iter().step_by(2).copied().collect();
            let m = l.len();
            // Continue the loop by one more frame: its second difference across the seam must
            // look like everywhere else (a smooth sine has |x''| ≈ (2πf/fs)² x).
            let d2 = |a: f32, b: f32, c: f32| (a - 2.0 * b + c).abs();
            let seam = d2(l[m - 2], l[m - 1], l[0]).max(d2(l[m - 1], l[0], l[1]));
            let inside = (1..m - 1)
                .map(|i| d2(l[i - 1], l[i], l[i + 1]))
                .fold(0.0, f32::max);
            assert!(
                seam <= inside * 1.05 + 1e-5,
                "{from}: seam {seam} inside {inside}"
            );
        }
    }

    #[test]
    fn short_clips_and_chunked_feeding_agree() {
        let x = sine(44_100, 1000.0, 3_000);
        let whole = resample_stereo(x.clone(), 44_100, 48_000).unwrap();
        let mut r = PeriodicResampler::new(44_100, 48_000).unwrap();
        let mut body = Vec::new();
        for c in x.chunks(2 * 77) {
            r.push(c, &mut |o| body.extend_from_slice(o)).unwrap();
        }
        let mut head = r.finish(&mut |o| body.extend_from_slice(o)).unwrap();
        head.extend_from_slice(&body);
        assert_eq!(head, whole, "the same bits whatever the chunking");
        let tiny = resample_stereo(sine(22_050, 441.0, 7), 22_050, 48_000).unwrap();
        assert_eq!(tiny.len() / 2, 16);
    }
}
