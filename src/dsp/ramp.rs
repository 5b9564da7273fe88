//! Linear parameter ramps (declick fades and smoothed gains).

/// A value that moves linearly to a target over a given number of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    /// Current value.
    pub value: f32,
    /// Per-sample increment while ramping.
    pub step: f32,
    /// Samples left in the ramp (0 = steady).
    pub left: u32,
    /// Value reached when the ramp ends.
    pub target: f32,
}

impl Ramp {
    /// A steady ramp at `value`. Real-time safe.
    pub const fn steady(value: f32) -> Self {
        Self {
            value,
            step: 0.0,
            left: 0,
            target: value,
        }
    }

    /// Starts moving from the current value to `target` over `samples` samples (0 = jump).
    /// Real-time safe.
    pub fn go(&mut self, target: f32, samples: u32) {
        self.target = target;
        if samples == 0 || self.value == target {
            self.value = target;
            self.step = 0.0;
            self.left = 0;
        } else {
            self.step = (target - self.value) / samples as f32;
            self.left = samples;
        }
    }

    /// Whether the ramp is still moving. Real-time safe.
    pub fn is_moving(&self) -> bool {
        self.left > 0
    }

    /// Advances `n` samples (`n` must not exceed `left` while moving); snaps exactly to the
    /// target at the end. Real-time safe.
    pub fn advance(&mut self, n: u32) {
        if self.left == 0 {
            return;
        }
        if n >= self.left {
            self.value = self.target;
            self.step = 0.0;
            self.left = 0;
        } else {
            self.value += self.step * n as f32;
            self.left -= n;
        }
    }

    /// Samples for which the current step holds (`u32::MAX` when steady). Real-time safe.
    pub fn run_len(&self) -> u32 {
        if self.left == 0 { u32::MAX } else { self.left }
    }

    /// Calls `f(k, value)` for frames `k = 0..n` with the ramp's value at each frame, then
    /// leaves the ramp `n` frames further on. Real-time safe.
    #[inline]
    pub fn each(&mut self, n: usize, mut f: impl FnMut(usize, f32)) {
        let mut i = 0;
        while i < n {
            let run = (n - i).min(self.run_len() as usize);
            let (v, s) = (self.value, self.step);
            for k in 0..run {
                f(i + k, v + s * k as f32);
            }
            self.advance(run as u32);
            i += run;
        }
    }

    /// Fills `out` with successive values and advances. Real-time safe.
    pub fn fill(&mut self, out: &mut [f32]) {
        self.each(out.len(), |k, v| out[k] = v);
    }
}

#[cfg(test)]
mod tests {
    use super::Ramp;

    #[test]
    fn reaches_target_exactly_and_linearly() {
        let mut r = Ramp::steady(0.0);
        r.go(1.0, 4);
        let mut out = [0.0; 6];
        r.fill(&mut out);
        assert_eq!(out, [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]);
        assert!(!r.is_moving());
    }
}
