//! Engine → control reports: ordered events and lock-free meters.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::command::{PadId, SlotId};

/// What happened, reported by the audio thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A pad started playing.
    PadStarted(PadId),
    /// A pad was stopped (its fade-out began).
    PadStopped(PadId),
    /// A pad's playback wrapped from loop end to loop start.
    PadLooped(PadId),
    /// A non-looping pad reached the end of its region.
    PadEnded(PadId),
    /// A voice of this pad was stolen to make room for another.
    VoiceStolen(PadId),
    /// A pad was pressed but has no sample.
    PadEmpty(PadId),
    /// A sample slot's buffer was handed back to the control side.
    SlotRetired(SlotId),
}

/// An event with the absolute engine frame at which it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineEvent {
    /// Absolute engine frame.
    pub frame: u64,
    /// What happened.
    pub kind: EventKind,
}

/// Meters shared between the audio thread and the control side (all atomics, real-time safe).
#[derive(Debug)]
pub struct EngineStats {
    /// Frames rendered since the engine was created (the engine clock).
    pub frames: AtomicU64,
    /// Voices currently sounding (including fading ones).
    pub active_voices: AtomicU32,
    /// Voices stolen since start.
    pub voices_stolen: AtomicU64,
    /// Events lost because the event queue was full.
    pub events_dropped: AtomicU64,
    /// Highest absolute output sample since last read, as `f32` bits (read with `take_peak`).
    pub peak_bits: AtomicU32,
    /// Audio callback load of the last status period, in per-mille of the block budget (set by the
    /// output front-end).
    pub load_permille: AtomicU32,
    /// Highest callback load since last read, per-mille (set by the output front-end).
    pub load_max_permille: AtomicU32,
    /// Buffer underruns/overruns reported by the output (set by the output front-end).
    pub xruns: AtomicU64,
    /// Lowest master limiter gain since last read, as `f32` bits (read with `take_limiter_gain`).
    pub limiter_gain_bits: AtomicU32,
    /// Callbacks that took longer than their time budget (set by the output front-end).
    pub overloads: AtomicU64,
}

impl Default for EngineStats {
    fn default() -> Self {
        Self {
            frames: AtomicU64::new(0),
            active_voices: AtomicU32::new(0),
            voices_stolen: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            peak_bits: AtomicU32::new(0),
            load_permille: AtomicU32::new(0),
            load_max_permille: AtomicU32::new(0),
            xruns: AtomicU64::new(0),
            limiter_gain_bits: AtomicU32::new(1.0f32.to_bits()),
            overloads: AtomicU64::new(0),
        }
    }
}

impl EngineStats {
    /// Returns and resets the lowest limiter gain since the last call (1 = no limiting).
    /// Real-time safe.
    pub fn take_limiter_gain(&self) -> f32 {
        f32::from_bits(
            self.limiter_gain_bits
                .swap(1.0f32.to_bits(), Ordering::Relaxed),
        )
    }

    /// Lowers the recorded limiter gain to `g` if lower. Real-time safe.
    pub fn record_limiter_gain(&self, g: f32) {
        self.limiter_gain_bits
            .fetch_min(g.max(0.0).to_bits(), Ordering::Relaxed);
    }

    /// Returns and resets the output peak since the last call. Real-time safe.
    pub fn take_peak(&self) -> f32 {
        f32::from_bits(self.peak_bits.swap(0, Ordering::Relaxed))
    }

    /// Raises the recorded peak to `peak` if higher. Real-time safe.
    pub fn record_peak(&self, peak: f32) {
        self.peak_bits.fetch_max(peak.to_bits(), Ordering::Relaxed);
    }

    /// Engine clock in frames. Real-time safe.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }
}
