//! What the audio input and recording are doing, shared with the control side. Real-time
//! safe: atomics only.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};

use super::super::command::PadId;

/// What the audio input and recording are doing, for the status line and screens. Atomics,
/// real-time safe.
#[derive(Debug, Default)]
pub struct RecordView {
    /// The input meter (linear peak falling 20 dB a second), as `f32` bits.
    input_level_bits: AtomicU32,
    /// 0 idle, 1 armed, 2 recording, 3 finishing, 4 overdubbing.
    state: AtomicU8,
    /// Pad being recorded.
    pad: AtomicU32,
    /// Blank tapes the engine has used (the control side sends another for each).
    pub(super) tapes_used: AtomicU32,
    /// Whether the input is monitored.
    pub(super) monitor: AtomicBool,
    /// Whether a disk writer reads the recorded samples.
    pub(crate) disk: AtomicBool,
    /// Drift correction: the input's clock against the output's, ppm (`f32` bits), and the
    /// fill level held and seen, frames.
    drift_ppm: AtomicU32,
    drift_fill: [AtomicU32; 2],
    /// When the audio input's callback last delivered (ns on `mono_nanos`' clock; 0: never).
    input_push_ns: AtomicU64,
}

/// What recording is doing (see [`RecordView::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// Nothing.
    Idle,
    /// A take waits for its first frame.
    Armed(PadId),
    /// A take is being recorded.
    Recording(PadId),
    /// The pad plays the take while its last frames are written.
    Finishing(PadId),
    /// An overdub pass sums the input into the pad's loop.
    Overdubbing(PadId),
}

impl RecordView {
    /// The audio input's callback delivered frames at `ns` (on `mono_nanos`' clock). Real-time
    /// safe.
    pub fn note_input_push(&self, ns: u64) {
        self.input_push_ns.store(ns.max(1), Ordering::Relaxed);
    }

    /// When the audio input's callback last delivered, if it has. Real-time safe.
    pub fn input_push_ns(&self) -> Option<u64> {
        Some(self.input_push_ns.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }

    /// Publishes the drift correction's state. Real-time safe.
    pub(crate) fn set_drift(&self, ppm: f64, target: f64, fill: f64) {
        self.drift_ppm
            .store((ppm as f32).to_bits(), Ordering::Relaxed);
        self.drift_fill[0].store(target as u32, Ordering::Relaxed);
        self.drift_fill[1].store(fill.max(0.0) as u32, Ordering::Relaxed);
    }

    /// Drift correction: the input's clock against the output's in ppm, the ring fill level it
    /// holds and the level now (frames; target 0 until it locks, a second after input
    /// arrives). Real-time safe.
    pub fn drift(&self) -> (f32, u32, u32) {
        (
            f32::from_bits(self.drift_ppm.load(Ordering::Relaxed)),
            self.drift_fill[0].load(Ordering::Relaxed),
            self.drift_fill[1].load(Ordering::Relaxed),
        )
    }

    /// Publishes the input meter. Real-time safe.
    pub(crate) fn set_input_level(&self, level: f32) {
        self.input_level_bits
            .store(level.to_bits(), Ordering::Relaxed);
    }

    /// The input meter: the input's peak (linear, 1 = full scale), falling 20 dB a second;
    /// 0 until input arrives. Real-time safe.
    pub fn input_level(&self) -> f32 {
        f32::from_bits(self.input_level_bits.load(Ordering::Relaxed))
    }

    /// The input meter in dBFS (-120 for silence). Real-time safe.
    pub fn input_db(&self) -> f32 {
        let l = self.input_level();
        if l > 1e-6 { 20.0 * l.log10() } else { -120.0 }
    }

    /// What recording is doing. Real-time safe.
    pub fn state(&self) -> RecordState {
        let pad = self.pad.load(Ordering::Relaxed) as PadId;
        match self.state.load(Ordering::Acquire) {
            1 => RecordState::Armed(pad),
            2 => RecordState::Recording(pad),
            3 => RecordState::Finishing(pad),
            4 => RecordState::Overdubbing(pad),
            _ => RecordState::Idle,
        }
    }

    /// Blank tapes the engine has used so far. Real-time safe.
    pub fn tapes_used(&self) -> u32 {
        self.tapes_used.load(Ordering::Acquire)
    }

    /// Whether the input is monitored. Real-time safe.
    pub fn monitoring(&self) -> bool {
        self.monitor.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self, state: u8, pad: PadId) {
        self.pad.store(pad as u32, Ordering::Relaxed);
        self.state.store(state, Ordering::Release);
    }
}
