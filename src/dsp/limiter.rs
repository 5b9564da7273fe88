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
    /// Monotonic deque (ring) of `(sample number, gain)` for the sliding-window minimum.
    deque: Box<[(u64, f32)]>,
    head: usize,
    len: usize,
    count: u64,
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
            deque: vec![(0, 1.0); window].into_boxed_slice(),
            head: 0,
            len: 0,
            count: 0,
            avg: vec![1.0; window].into_boxed_slice(),
            pos: 0,
            dpos: 0,
            sum: window as f64,
            g1: 1.0,
            min_gain: 1.0,
        }
    }

    /// Latency in frames (the look-ahead delay). Real-time safe.
    pub fn latency(&self) -> usize {
        self.window - 1
    }

    /// The ceiling as a linear value. Real-time safe.
    pub fn ceiling(&self) -> f32 {
        self.ceiling
    }

    /// Returns and resets the lowest gain since the last call. Real-time safe.
    pub fn take_min_gain(&mut self) -> f32 {
        std::mem::replace(&mut self.min_gain, 1.0)
    }

    /// Pushes `g` and returns the minimum of the last `window` values pushed (values not yet
    /// pushed count as 1). O(1) amortised, no allocation. Real-time safe.
    #[inline]
    fn window_min(&mut self, g: f32) -> f32 {
        let cap = self.deque.len();
        // Drop values that can never be the minimum again (not smaller than the new one).
        while self.len > 0 && self.deque[(self.head + self.len - 1) % cap].1 >= g {
            self.len -= 1;
        }
        self.deque[(self.head + self.len) % cap] = (self.count, g);
        self.len += 1;
        // Drop the front once it has left the window.
        if self.count - self.deque[self.head].0 >= cap as u64 {
            self.head = (self.head + 1) % cap;
            self.len -= 1;
        }
        self.count += 1;
        self.deque[self.head].1
    }

    /// Limits interleaved stereo in place. Anything non-finite in the input becomes silence
    /// (returns true when that happened), so the output is always finite and within the
    /// ceiling. Real-time safe.
    pub fn process(&mut self, buf: &mut [f32]) -> bool {
        let w = self.window;
        let c = self.ceiling;
        let mut repaired = false;
        for fr in buf.chunks_exact_mut(2) {
            for x in fr.iter_mut() {
                if !x.is_finite() {
                    *x = 0.0;
                    repaired = true;
                }
            }
            let peak = fr[0].abs().max(fr[1].abs());
            let need = if peak > c { c / peak } else { 1.0 };
            self.g1 = need.min(self.g1 + (1.0 - self.g1) * self.release);
            let slot = self.pos;
            let g2 = self.window_min(self.g1);
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
        repaired
    }
}

#[cfg(test)]
mod tests {
    use super::Limiter;

    #[test]
    fn sliding_minimum_matches_a_naive_scan() {
        let mut l = Limiter::new(48_000);
        let w = l.window;
        let values: Vec<f32> = (0..5000)
            .map(|i| (((i * 7919) % 1009) as f32 / 1009.0).powi(2))
            .collect();
        for (i, &v) in values.iter().enumerate() {
            let got = l.window_min(v);
            let from = (i + 1).saturating_sub(w);
            let want = values[from..=i].iter().fold(f32::MAX, |m, &x| m.min(x));
            assert_eq!(got, want, "at {i}");
        }
    }

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
