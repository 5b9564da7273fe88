//! The input bus: interleaved stereo frames from an audio input (a cpal input stream's
//! callback, or a file an offline render feeds as if from a device) arrive on a lock-free
//! ring; each block the engine takes the block's worth, which recording captures and
//! monitoring mixes into the master. Real-time safe: the ring and the block buffer are
//! preallocated, nothing here allocates, locks or blocks.

use ringbuf::traits::{Consumer, Observer};
use ringbuf::{HeapCons, HeapProd};

use super::drift::{Drift, DriftRead};
use super::shared::{Counter, EngineStats};

/// The producing end of the input ring: whoever delivers input frames (a capture callback, an
/// offline feeder) pushes interleaved stereo samples here. Pushing never blocks or allocates;
/// what does not fit is dropped (count it as [`Counter::InputOverrun`]).
pub type InputFeed = HeapProd<f32>;

/// The input frames of the block being rendered. Owned by the engine; real-time safe.
pub(crate) struct InputBus {
    ring: HeapCons<f32>,
    /// This block's frames, interleaved stereo (silence when none came).
    buf: Box<[f32]>,
    frames: usize,
    /// Input has arrived since the engine started (before that, a short block is not an
    /// underrun: nothing is connected).
    live: bool,
    /// Monitoring: the input is heard through the master (ramped over `fade` frames).
    monitor: bool,
    level: f32,
    step: f32,
    /// The input meter: the peak, falling 20 dB a second.
    meter: f32,
    /// Natural log of the meter's fall per frame.
    fall: f32,
    /// Drift correction, for an input on another card than the output (off: read as it is).
    drift: Drift,
    drift_on: bool,
    rate: f64,
}

/// How fast the input meter falls, dB a second (as a peak programme meter).
pub const METER_FALL_DB: f32 = 20.0;

impl InputBus {
    /// A bus reading `ring`, for blocks of at most `max_block` frames, ramping monitoring on
    /// and off over `fade` frames. Not real-time safe (called once, in `Engine::new`).
    pub(crate) fn new(ring: HeapCons<f32>, max_block: usize, fade: u32, rate: u32) -> Self {
        Self {
            ring,
            buf: vec![0.0; 2 * max_block].into_boxed_slice(),
            frames: 0,
            live: false,
            monitor: false,
            level: 0.0,
            step: 1.0 / fade.max(1) as f32,
            meter: 0.0,
            fall: -METER_FALL_DB / 20.0 * std::f32::consts::LN_10 / rate.max(1) as f32,
            drift: Drift::new(rate, max_block),
            drift_on: false,
            rate: rate as f64,
        }
    }

    /// Takes `frames` frames for the block (silence for what did not come: an underrun once
    /// input is live); non-finite samples become silence. Publishes the input meter.
    /// Real-time safe.
    pub(crate) fn read(&mut self, frames: usize, stats: &EngineStats) {
        let n = (2 * frames).min(self.buf.len());
        self.frames = n / 2;
        if !self.live && self.ring.occupied_len() > 0 {
            self.live = true;
        }
        let got = if self.drift_on && self.live {
            // What the input captured since its callback last delivered.
            let since = stats
                .record
                .input_push_ns()
                .map_or(0, |t| super::shared::mono_nanos().saturating_sub(t));
            let pending = since as f64 * 1e-9 * self.rate;
            match self.drift.read(&mut self.ring, &mut self.buf[..n], pending) {
                DriftRead::Short => {
                    stats.counters.bump(Counter::InputUnderrun);
                    n
                }
                DriftRead::Full | DriftRead::Waiting => n,
            }
        } else {
            let got = self.ring.pop_slice(&mut self.buf[..n]);
            if got < n {
                self.buf[got..n].fill(0.0);
                if self.live {
                    stats.counters.bump(Counter::InputUnderrun);
                }
            }
            got
        };
        if self.drift_on {
            let (target, avg) = self.drift.fill();
            stats.record.set_drift(self.drift.ppm(), target, avg);
        }
        let mut peak = 0.0f32;
        let mut bad = 0u64;
        for s in &mut self.buf[..got] {
            if !s.is_finite() {
                *s = 0.0;
                bad += 1;
            }
            peak = peak.max(s.abs());
        }
        if bad > 0 {
            stats.counters.add(Counter::NonFinite, bad);
        }
        if self.live {
            let fallen = self.meter * (self.fall * self.frames as f32).exp();
            self.meter = if peak > fallen { peak } else { fallen };
            stats.record.set_input_level(self.meter);
        }
    }

    /// The block's input frames, interleaved stereo. Real-time safe.
    pub(crate) fn block(&self) -> &[f32] {
        &self.buf[..2 * self.frames]
    }

    /// Drift correction on (an input on another card than the output) or off. Real-time safe.
    pub(crate) fn set_drift(&mut self, on: bool) {
        if on != self.drift_on {
            self.drift.reset();
            self.drift_on = on;
        }
    }

    /// Monitoring on or off (the input fades in or out). Real-time safe.
    pub(crate) fn set_monitor(&mut self, on: bool) {
        self.monitor = on;
    }

    /// Whether monitoring is on. Real-time safe.
    pub(crate) fn monitoring(&self) -> bool {
        self.monitor
    }

    /// Adds the monitored input of block frames `a..b` into `out` (the same frames of the
    /// master mix, before the master effects, volume and limiter). Real-time safe.
    pub(crate) fn monitor_into(&mut self, out: &mut [f32], a: usize, b: usize) {
        let target = if self.monitor { 1.0 } else { 0.0 };
        if self.level == 0.0 && target == 0.0 {
            return;
        }
        let b = b.min(self.frames);
        for k in a..b {
            if self.level != target {
                self.level = if target > self.level {
                    (self.level + self.step).min(1.0)
                } else {
                    (self.level - self.step).max(0.0)
                };
            }
            out[2 * (k - a)] += self.buf[2 * k] * self.level;
            out[2 * (k - a) + 1] += self.buf[2 * k + 1] * self.level;
        }
    }
}
