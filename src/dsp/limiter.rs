//! Master look-ahead peak limiter: the output never exceeds the ceiling.
//!
//! Per sample: the gain needed to keep the peak under the ceiling, with instant attack and
//! exponential release; then the minimum of that over the look-ahead window; then a moving
//! average over the same window, applied to the signal delayed by the window. Because the average
//! of the window minima that cover a peak is never above the gain that peak needs, the output
//! stays under the ceiling, and the gain moves in smooth ramps instead of jumps. A final clamp
//! guards against rounding.

/// Output ceiling in dBFS.
pub const CEILING_DB: f32 = -0.3;
/// Look-ahead time.
pub const LOOKAHEAD_MS: f32 = 1.0;
/// Release time constant.
pub const RELEASE_MS: f32 = 80.0;

/// The limiter's state; all buffers allocated at construction.
pub struct Limiter {
    ceiling: f32,
    release: f32,
    window: usize,
    delay: Box<[f32]>,
    mins: Box<[f32]>,
    avg: Box<[f32]>,
    pos: usize,
    dpos: usize,
    sum: f64,
    g1: f32,
    /// Lowest gain applied since the last `take_min_gain` (1 = no reduction).
    min_gain: f32,
}

impl Limiter {
    /// A limiter for `rate` Hz. Not real-time safe (allocates).
    pub fn new(rate: u32) -> Self {
        let window = ((LOOKAHEAD_MS / 1000.0 * rate as f32).round() as usize).clamp(8, 1024);
        Self {
            ceiling: 10f32.powf(CEILING_DB / 20.0),
            release: 1.0 - (-1.0 / (RELEASE_MS / 1000.0 * rate as f32)).exp(),
            window,
            delay: vec![0.0; 2 * (window - 1)].into_boxed_slice(),
            mins: vec![1.0; window].into_boxed_slice(),
            avg: vec![1.0; window].into_boxed_slice(),
            pos: 0,
            dpos: 0,
            sum: window as f64,
            g1: 1.0,
            min_gain: 1.0,
        }
    }

    /// Latency in frames (the look-ahead delay).
    pub fn latency(&self) -> usize {
        self.window - 1
    }

    /// The ceiling as a linear value.
    pub fn ceiling(&self) -> f32 {
        self.ceiling
    }

    /// Returns and resets the lowest gain since the last call. Real-time safe.
    pub fn take_min_gain(&mut self) -> f32 {
        std::mem::replace(&mut self.min_gain, 1.0)
    }

    /// Limits interleaved stereo in place. Real-time safe.
    pub fn process(&mut self, buf: &mut [f32]) {
        let w = self.window;
        let c = self.ceiling;
        for fr in buf.chunks_exact_mut(2) {
            let peak = fr[0].abs().max(fr[1].abs());
            let need = if peak > c { c / peak } else { 1.0 };
            self.g1 = need.min(self.g1 + (1.0 - self.g1) * self.release);
            let slot = self.pos;
            self.mins[slot] = self.g1;
            let g2 = self.mins.iter().fold(1.0f32, |m, &v| m.min(v));
            self.sum += g2 as f64 - self.avg[slot] as f64;
            self.avg[slot] = g2;
            if slot == 0 {
                // Re-sum once per window so rounding never accumulates.
                self.sum = self.avg.iter().map(|&v| v as f64).sum();
            }
            let g3 = ((self.sum / w as f64) as f32).min(1.0);
            // Delay by exactly `w - 1` frames: the average then covers the minima that include
            // this frame's own requirement.
            let d = self.dpos;
            let (l, r) = (self.delay[2 * d], self.delay[2 * d + 1]);
            self.delay[2 * d] = fr[0];
            self.delay[2 * d + 1] = fr[1];
            self.dpos = if d + 2 == w { 0 } else { d + 1 };
            fr[0] = (l * g3).clamp(-c, c);
            fr[1] = (r * g3).clamp(-c, c);
            self.min_gain = self.min_gain.min(g3);
            self.pos = if slot + 1 == w { 0 } else { slot + 1 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Limiter;

    #[test]
    fn holds_the_ceiling_and_passes_quiet_audio_unchanged() {
        let mut l = Limiter::new(48_000);
        let mut buf: Vec<f32> = (0..96_000)
            .flat_map(|i| {
                let v = 4.0 * (i as f32 * 0.05).sin() * if i > 24_000 { 0.1 } else { 1.0 };
                [v, -v]
            })
            .collect();
        let orig = buf.clone();
        l.process(&mut buf);
        assert!(buf.iter().all(|s| s.abs() <= l.ceiling()));
        // The clamp is a guard, not the mechanism: the gain alone keeps peaks under the ceiling.
        let mut l2 = Limiter::new(48_000);
        let mut unclamped = orig.clone();
        l2.ceiling *= 2.0;
        l2.process(&mut unclamped);
        assert!(
            unclamped
                .iter()
                .all(|s| s.abs() <= 2.0 * l.ceiling() * 1.0001)
        );
        // After the release the quiet part comes through at unity, delayed by the window.
        let lat = l.latency();
        for i in 90_000..95_000 {
            assert!((buf[2 * i] - orig[2 * (i - lat)]).abs() < 1e-3, "{i}");
        }
    }
}
