//! Drift correction for an audio input on another card than the output: the two run on their
//! own crystals (±20–100 ppm apart), so over an hour the input would pile up in its ring (and be
//! dropped) or run dry (and be padded with silence). Here the input is read through an
//! asynchronous resampler (rubato's sinc `Async`) whose ratio a PI loop steers to hold the
//! ring's fill level steady: what comes in is what goes out, nothing lost or repeated, and the
//! input's delay stays what it was when the loop locked (so takes stay aligned). Real-time
//! safe: every buffer is allocated in [`Drift::new`]; the resampler's processing and ratio
//! changes allocate nothing.

use ringbuf::HeapCons;
use ringbuf::traits::{Consumer, Observer};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Adjustable, Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

/// Output frames per resampler call.
const CHUNK: usize = 64;
/// Frames the resampled input fades in over once the loop has locked (past the resampler's
/// start-up, its filter's length).
const FADE: usize = 256;
/// The largest correction, relative (±0.5 %: far beyond real clocks' ±0.01 %).
const MAX_REL: f64 = 1.005;
/// Seconds of live input watched before the loop locks onto a fill level.
const SETTLE_SECONDS: f64 = 1.0;
/// Time constant of the fill level's smoothing, seconds.
const SMOOTH_SECONDS: f64 = 0.5;
/// The loop's natural frequency, rad/s (settles in tens of seconds, far below the input's
/// period jitter), critically damped.
const OMEGA: f64 = 0.1;

/// What a read did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DriftRead {
    /// The block is the input's, resampled.
    Full,
    /// The ring ran dry: the rest of the block is silence (an underrun).
    Short,
    /// Not locked yet: the input as it is while its bursts are learned.
    Waiting,
}

/// The drift-corrected reader of the input ring. Owned by the input bus; real-time safe.
pub(crate) struct Drift {
    rs: Async<f32>,
    /// Input frames for one resampler call, interleaved.
    inp: Box<[f32]>,
    /// Resampled frames not yet read, interleaved.
    fifo: Box<[f32]>,
    fifo_len: usize,
    rate: f64,
    /// Live frames seen before locking.
    seen: f64,
    /// The ring's fill before this read, frames, and the largest burst the input delivered
    /// between two reads.
    last_fill: usize,
    burst: usize,
    /// The fill level held, frames (0: not locked).
    target: f64,
    avg: f64,
    integral: f64,
    rel: f64,
    /// The ring has filled to the target since the lock (reading starts then).
    primed: bool,
    /// Frames of the fade-in after priming done so far.
    fade: usize,
}

impl Drift {
    /// A reader for blocks of up to `max_block` frames at `rate`. Allocates; not real-time
    /// safe (called once, in `Engine::new`).
    pub(crate) fn new(rate: u32, max_block: usize) -> Self {
        let params = SincInterpolationParameters::new(64, WindowFunction::BlackmanHarris2)
            .interpolation(SincInterpolationType::Linear)
            .oversampling_factor(256);
        // Cannot fail: the ratio, the bound and the chunk are valid constants.
        let rs = Async::<f32>::new_sinc(1.0, MAX_REL, &params, CHUNK, 2, FixedAsync::Output)
            .expect("valid resampler parameters");
        let in_max = rs.input_frames_max();
        Self {
            rs,
            inp: vec![0.0; 2 * in_max].into_boxed_slice(),
            fifo: vec![0.0; 2 * (max_block + CHUNK)].into_boxed_slice(),
            fifo_len: 0,
            rate: rate.max(1) as f64,
            seen: 0.0,
            last_fill: 0,
            burst: 0,
            target: 0.0,
            avg: 0.0,
            integral: 0.0,
            rel: 1.0,
            primed: false,
            fade: FADE,
        }
    }

    /// Starts again (the input came back, or correction was switched on). Real-time safe.
    pub(crate) fn reset(&mut self) {
        self.fifo_len = 0;
        self.seen = 0.0;
        self.last_fill = 0;
        self.burst = 0;
        self.target = 0.0;
        self.avg = 0.0;
        self.integral = 0.0;
        self.rel = 1.0;
        self.primed = false;
        let _ = self.rs.set_resample_ratio_relative(1.0, false);
        self.rs.reset();
    }

    /// The correction applied: input frames read per output frame, minus 1, in ppm (the
    /// input's clock against the output's). Real-time safe.
    pub(crate) fn ppm(&self) -> f64 {
        (1.0 / self.rel - 1.0) * 1e6
    }

    /// The fill level the loop holds and the one it sees now (smoothed), frames. Real-time
    /// safe.
    pub(crate) fn fill(&self) -> (f64, f64) {
        (self.target, self.avg)
    }

    /// Fills `out` (interleaved stereo) from `ring`, resampled to the output's clock.
    /// `pending` is what the input has captured since it last delivered, frames (its time
    /// since then × the rate): the ring fills in bursts of the input's period, and the loop
    /// follows what the device holds, not the bursts. Real-time safe.
    pub(crate) fn read(
        &mut self,
        ring: &mut HeapCons<f32>,
        out: &mut [f32],
        pending: f64,
    ) -> DriftRead {
        let frames = out.len() / 2;
        let fill = ring.occupied_len() / 2;
        // What came in since the last read: the input's burst (its period, or several).
        self.burst = self.burst.max(fill.saturating_sub(self.last_fill));
        if self.target == 0.0 {
            // Learning the input's bursts: its frames as they are meanwhile.
            let got = ring.pop_slice(out);
            out[got..].fill(0.0);
            self.seen += frames as f64;
            self.last_fill = ring.occupied_len() / 2;
            if self.seen < SETTLE_SECONDS * self.rate {
                return DriftRead::Waiting;
            }
            let fill = self.last_fill;
            // The input as it is fades out here; the resampled input fades in once primed.
            let n = out.len() / 2;
            for (k, f) in out.chunks_exact_mut(2).enumerate() {
                let g = 1.0 - k as f32 / n.max(1) as f32;
                f[0] *= g;
                f[1] *= g;
            }
            // Lock: room for two bursts and a block (at most half the ring); any excess goes
            // now, once.
            let cap = ring.capacity().get() / 2;
            let target = (2 * self.burst.max(frames) + frames).min(cap / 2) as f64;
            self.target = target;
            self.avg = target;
            let excess = fill.saturating_sub(target as usize);
            let _ = ring.skip(2 * excess);
            self.last_fill = ring.occupied_len() / 2;
            return DriftRead::Waiting;
        }
        if !self.primed {
            // Silence until the ring holds the target: from then on it never runs dry.
            out.fill(0.0);
            self.last_fill = fill;
            if (fill as f64) < self.target {
                return DriftRead::Waiting;
            }
            self.primed = true;
            self.fade = 0;
            return DriftRead::Waiting;
        }
        if fill > ring.capacity().get() / 2 * 3 / 4 {
            // Far ahead (an input faster than any clock drift: the ring overflows and the
            // callback counts it): back to the target at once.
            let _ = ring.skip(2 * (fill - self.target as usize));
        }
        let mut short = false;
        while self.fifo_len < frames {
            let need = self.rs.input_frames_next();
            if ring.occupied_len() / 2 < need || 2 * need > self.inp.len() {
                short = true;
                break;
            }
            ring.pop_slice(&mut self.inp[..2 * need]);
            let at = 2 * self.fifo_len;
            let done = match (
                InterleavedSlice::new(&self.inp[..2 * need], 2, need),
                InterleavedSlice::new_mut(&mut self.fifo[at..at + 2 * CHUNK], 2, CHUNK),
            ) {
                (Ok(i), Ok(mut o)) => self.rs.process_into_buffer(&i, &mut o, None).ok(),
                _ => None,
            };
            match done {
                Some((_, n)) => self.fifo_len += n,
                None => {
                    short = true;
                    break;
                }
            }
        }
        let n = self.fifo_len.min(frames);
        out[..2 * n].copy_from_slice(&self.fifo[..2 * n]);
        for f in out[..2 * n].chunks_exact_mut(2) {
            if self.fade >= FADE {
                break;
            }
            let g = self.fade as f32 / FADE as f32;
            f[0] *= g;
            f[1] *= g;
            self.fade += 1;
        }
        out[2 * n..].fill(0.0);
        self.fifo.copy_within(2 * n..2 * self.fifo_len, 0);
        self.fifo_len -= n;
        self.steer(ring.occupied_len() / 2, pending, frames);
        if short {
            DriftRead::Short
        } else {
            DriftRead::Full
        }
    }

    /// The PI loop: the ratio that brings the smoothed fill back to the target.
    fn steer(&mut self, fill: usize, pending: f64, frames: usize) {
        self.last_fill = fill;
        let dt = frames as f64 / self.rate;
        let a = (dt / SMOOTH_SECONDS).min(1.0);
        // What the input holds for us: the ring, and what it captured since its last burst
        // (bounded: a stalled input is not a full one).
        let held = fill as f64 + pending.clamp(0.0, 2.0 * self.burst as f64);
        self.avg += a * (held - self.avg);
        let e = self.avg - self.target;
        let ki = OMEGA * OMEGA / self.rate;
        let kp = 2.0 * OMEGA / self.rate;
        // Anti-windup: the integral never asks for more than the bound.
        let lim = (MAX_REL - 1.0) / ki;
        self.integral = (self.integral + e * dt).clamp(-lim, lim);
        let rel = (1.0 - kp * e - ki * self.integral).clamp(1.0 / MAX_REL, MAX_REL);
        if (rel - self.rel).abs() > 1e-9 {
            self.rel = rel;
            let _ = self.rs.set_resample_ratio_relative(rel, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbuf::HeapRb;
    use ringbuf::traits::{Producer, Split};

    /// What an hour of simulated clocks did.
    struct Outcome {
        overruns: u64,
        shorts: u64,
        ppm: f64,
        /// The largest distance of the smoothed fill from the target after lock, frames.
        wander: f64,
        /// The largest step between output samples, against the sine's own largest step.
        step_ratio: f64,
    }

    /// An input `ppm` fast (its crystal against the output's), delivering `period` frames at a
    /// time, a 997 Hz sine; the engine reads 256-frame blocks for `seconds`.
    fn simulate(ppm: f64, period: usize, seconds: f64) -> Outcome {
        let rate = 48_000.0;
        let (mut tx, mut rx) = HeapRb::<f32>::new(2 * 24_000).split();
        let mut d = Drift::new(48_000, 256);
        let mut out = vec![0.0f32; 512];
        let (mut produced, mut overruns, mut shorts) = (0u64, 0u64, 0u64);
        let mut period_buf = vec![0.0f32; 2 * period];
        let (mut wander, mut max_step, mut prev) = (0.0f64, 0.0f64, None::<f32>);
        let w = 2.0 * std::f64::consts::PI * 997.0 / rate;
        let blocks = (seconds * rate / 256.0) as u64;
        let in_rate = rate * (1.0 + ppm * 1e-6);
        for b in 0..blocks {
            // The input's clock: what it has delivered by the end of this block, and when it
            // last did.
            let now = (b + 1) as f64 * 256.0 / rate;
            let due = (now * in_rate) as u64;
            while produced + period as u64 <= due {
                for (k, f) in period_buf.chunks_exact_mut(2).enumerate() {
                    let v = (0.5 * ((produced + k as u64) as f64 * w).sin()) as f32;
                    f[0] = v;
                    f[1] = -v;
                }
                let pushed = tx.push_slice(&period_buf);
                if pushed < period_buf.len() {
                    overruns += 1;
                }
                produced += period as u64;
            }
            let last = (produced / period as u64 * period as u64) as f64 / in_rate;
            let pending = (now - last) * rate;
            match d.read(&mut rx, &mut out, pending) {
                DriftRead::Short => shorts += 1,
                DriftRead::Full => {
                    let (target, avg) = d.fill();
                    // Past the first minute (the loop settling), the fill stays put.
                    if b as f64 * 256.0 > 60.0 * rate {
                        wander = wander.max((avg - target).abs());
                    }
                    for f in out.chunks_exact(2) {
                        if let Some(p) = prev {
                            max_step = max_step.max((f[0] - p).abs() as f64);
                        }
                        prev = Some(f[0]);
                    }
                }
                DriftRead::Waiting => prev = None,
            }
        }
        Outcome {
            overruns,
            shorts,
            ppm: d.ppm(),
            wander,
            step_ratio: max_step / (0.5 * w),
        }
    }

    #[test]
    fn an_hour_of_two_clocks_loses_and_repeats_nothing() {
        // A USB interface 80 ppm fast delivering 1024 frames at a time, for an hour (ten
        // minutes on aarch64, which `make pi-test` runs under emulation).
        let hour = if cfg!(target_arch = "aarch64") {
            600.0
        } else {
            3600.0
        };
        let o = simulate(80.0, 1024, hour);
        eprintln!(
            "an hour at +80 ppm, 1024-frame periods: {} dropped, {} padded, found {:.3} ppm, fill within ±{:.1} frames of its target after the first minute, largest step {:.3} × the sine's own",
            o.overruns, o.shorts, o.ppm, o.wander, o.step_ratio
        );
        assert_eq!((o.overruns, o.shorts), (0, 0), "nothing dropped or padded");
        assert!(
            (o.ppm - 80.0).abs() < 1.0,
            "the input's clock found: {} ppm",
            o.ppm
        );
        assert!(o.wander < 256.0, "the fill held within {} frames", o.wander);
        assert!(
            o.step_ratio < 1.05,
            "no glitch: steps {:.3} × the sine's own",
            o.step_ratio
        );
    }

    #[test]
    fn a_slow_input_and_small_periods_are_followed_too() {
        let o = simulate(-150.0, 256, 300.0);
        eprintln!(
            "five minutes at -150 ppm, 256-frame periods: {} dropped, {} padded, found {:.3} ppm, fill within ±{:.1} frames, largest step {:.3} ×",
            o.overruns, o.shorts, o.ppm, o.wander, o.step_ratio
        );
        assert_eq!((o.overruns, o.shorts), (0, 0));
        assert!((o.ppm + 150.0).abs() < 2.0, "{} ppm", o.ppm);
        assert!(o.step_ratio < 1.05, "{:.3}", o.step_ratio);
    }
}
