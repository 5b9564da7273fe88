//! The host time of an engine frame, from the times callbacks were called: a least-squares line
//! through the last [`WINDOW`] (frame, time) points, so the callback's scheduling jitter
//! averages out (as Link's `HostTimeFilter` does), that starts again after a discontinuity (an
//! xrun, a stall: the frames stopped counting while time went on), instead of blending two
//! lines for seconds. Real-time safe: the points live in a buffer allocated up front.

/// Points in the line (about 2.7 s of 256-frame blocks).
pub const WINDOW: usize = 512;
/// Points before the slope is fitted; until then the nominal rate is used.
const MIN_FIT: usize = 32;
/// A point this far (µs) off the line starts it again (after a second one agrees).
const JUMP_US: f64 = 10_000.0;

/// The filter. Create on a control thread; use on the audio thread.
#[derive(Debug)]
pub struct HostTime {
    /// `(frame, µs)` relative to `origin`.
    points: Box<[(f64, f64)]>,
    next: usize,
    len: usize,
    origin: (f64, f64),
    /// Nominal µs per frame.
    nominal: f64,
    /// The previous point was off the line (one is noise, two in a row a jump).
    suspect: bool,
    /// Times the line started again.
    restarts: u64,
}

impl HostTime {
    /// A filter for frames at `rate` Hz. Allocates; not real-time.
    pub fn new(rate: u32) -> Self {
        Self {
            points: vec![(0.0, 0.0); WINDOW].into_boxed_slice(),
            next: 0,
            len: 0,
            origin: (0.0, 0.0),
            nominal: 1e6 / rate.max(1) as f64,
            suspect: false,
            restarts: 0,
        }
    }

    /// How many times the line started again (after a jump or a [`Self::reset`]). Real-time
    /// safe.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Forgets every point (after an xrun). Real-time safe.
    pub fn reset(&mut self) {
        self.restarts += 1;
        self.len = 0;
        self.next = 0;
        self.suspect = false;
    }

    /// Adds the point "frame `frame` was reached at `micros`" and returns the filtered time of
    /// `frame`. Real-time safe.
    pub fn time_of(&mut self, frame: u64, micros: f64) -> f64 {
        if self.len > 0 {
            let off = micros - self.predict(frame);
            if off.abs() > JUMP_US {
                if self.suspect {
                    self.reset();
                } else {
                    // One late callback is noise: not a point of the line.
                    self.suspect = true;
                    return self.predict(frame);
                }
            } else {
                self.suspect = false;
            }
        }
        if self.len == 0 {
            self.origin = (frame as f64, micros);
        }
        self.points[self.next] = (frame as f64 - self.origin.0, micros - self.origin.1);
        self.next = (self.next + 1) % WINDOW;
        self.len = (self.len + 1).min(WINDOW);
        self.predict(frame)
    }

    /// The line's time at `frame`.
    fn predict(&self, frame: u64) -> f64 {
        let pts = &self.points[..self.len];
        let n = pts.len() as f64;
        let x = frame as f64 - self.origin.0;
        if pts.is_empty() {
            return self.origin.1 + x * self.nominal;
        }
        let (sx, sy) = pts.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
        let (mx, my) = (sx / n, sy / n);
        let mut slope = self.nominal;
        if pts.len() >= MIN_FIT {
            let (sxy, sxx) = pts.iter().fold((0.0, 0.0), |a, p| {
                let dx = p.0 - mx;
                (a.0 + dx * (p.1 - my), a.1 + dx * dx)
            });
            if sxx > 0.0 {
                // A fitted slope far from the nominal rate is a broken clock: keep the rate.
                let fitted = sxy / sxx;
                if (fitted / self.nominal - 1.0).abs() < 0.01 {
                    slope = fitted;
                }
            }
        }
        self.origin.1 + my + (x - mx) * slope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_averages_out_and_a_jump_starts_the_line_again() {
        let mut h = HostTime::new(48_000);
        let per_block = 256.0 * 1e6 / 48_000.0;
        let mut worst = 0f64;
        for b in 0..2000u64 {
            // ±1 ms of scheduling jitter (deterministic), true time b * per_block.
            let jitter = ((b * 7919) % 2001) as f64 - 1000.0;
            let t = h.time_of(b * 256, 5e6 + b as f64 * per_block + jitter);
            if b > 200 {
                worst = worst.max((t - (5e6 + b as f64 * per_block)).abs());
            }
        }
        assert!(worst < 150.0, "{worst} µs off");
        // The frames stop for 50 ms (an xrun): after two blocks the line follows the new one.
        for b in 2000..2100u64 {
            let truth = 5e6 + b as f64 * per_block + 50_000.0;
            let t = h.time_of(b * 256, truth);
            if b >= 2002 {
                assert!((t - truth).abs() < 100.0, "block {b}: {} µs off", t - truth);
            }
        }
        // One late callback does not move the line.
        let b = 2100u64;
        let truth = 5e6 + b as f64 * per_block + 50_000.0;
        let t = h.time_of(b * 256, truth + 30_000.0);
        assert!((t - truth).abs() < 100.0);
    }
}
