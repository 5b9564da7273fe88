//! Per-pad level meters for a screen (the web surface). Metering costs a pass over each pad's
//! sound, so the engine meters only while someone watches ([`PadMeters::watch`]); otherwise
//! nothing is measured and the mix is unchanged. All atomics, real-time safe.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Each pad's output peak since the last read, and whether anyone reads them.
#[derive(Debug)]
pub struct PadMeters {
    wanted: AtomicBool,
    peaks: Box<[AtomicU32]>,
    /// The output's peak, as `f32` bits.
    master: AtomicU32,
    /// The limiter's lowest gain, as `f32` bits (1.0: no reduction).
    limiter: AtomicU32,
}

impl PadMeters {
    /// Meters for `pads` pads, off. Allocates; not real-time safe.
    pub fn new(pads: usize) -> Self {
        Self {
            wanted: AtomicBool::new(false),
            peaks: (0..pads).map(|_| AtomicU32::new(0)).collect(),
            master: AtomicU32::new(0),
            limiter: AtomicU32::new(1f32.to_bits()),
        }
    }

    /// Starts (`true`) or stops metering. Real-time safe.
    pub fn watch(&self, on: bool) {
        self.wanted.store(on, Ordering::Relaxed);
    }

    /// Whether the engine meters pads now. Real-time safe.
    #[inline]
    pub fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed)
    }

    /// Raises pad `pad`'s peak to `peak` (NaN and unknown pads ignored). Real-time safe.
    #[inline]
    pub fn record(&self, pad: usize, peak: f32) {
        if let Some(a) = self.peaks.get(pad)
            && peak >= 0.0
        {
            a.fetch_max(peak.to_bits(), Ordering::Relaxed);
        }
    }

    /// Raises the output's peak and lowers the limiter's gain seen (positive floats order
    /// like their bits). Real-time safe.
    #[inline]
    pub fn record_master(&self, peak: f32, limiter_gain: f32) {
        if peak >= 0.0 {
            self.master.fetch_max(peak.to_bits(), Ordering::Relaxed);
        }
        if limiter_gain >= 0.0 {
            self.limiter
                .fetch_min(limiter_gain.to_bits(), Ordering::Relaxed);
        }
    }

    /// The output's peak and the limiter's lowest gain since the last call, reset. One reader
    /// only. Real-time safe.
    pub fn take_master(&self) -> (f32, f32) {
        (
            f32::from_bits(self.master.swap(0, Ordering::Relaxed)),
            f32::from_bits(self.limiter.swap(1f32.to_bits(), Ordering::Relaxed)),
        )
    }

    /// Pad `pad`'s peak since the last call (linear, 0 when silent), reset to 0. One reader
    /// only (the screen's sampler). Real-time safe.
    pub fn take(&self, pad: usize) -> f32 {
        self.peaks
            .get(pad)
            .map_or(0.0, |a| f32::from_bits(a.swap(0, Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_rise_and_are_taken_once() {
        let m = PadMeters::new(2);
        assert!(!m.wanted());
        m.watch(true);
        m.record(1, 0.25);
        m.record(1, 0.5);
        m.record(1, 0.1);
        m.record(1, f32::NAN);
        m.record(9, 1.0);
        assert_eq!(m.take(1), 0.5);
        assert_eq!(m.take(1), 0.0);
        assert_eq!(m.take(0), 0.0);
        assert_eq!(m.take(9), 0.0);
        m.record_master(0.3, 0.5);
        m.record_master(0.2, 0.8);
        assert_eq!(m.take_master(), (0.3, 0.5));
        assert_eq!(m.take_master(), (0.0, 1.0));
    }
}
