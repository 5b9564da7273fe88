//! What the audio input and recording are doing, shared with the control side. Real-time
//! safe: atomics only.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};

use super::super::command::PadId;

/// What the audio input and recording are doing, for the status line and screens. Atomics,
/// real-time safe.
#[derive(Debug, Default)]
pub struct RecordView {
    /// Highest absolute input sample since last read, as `f32` bits.
    input_peak_bits: AtomicU32,
    /// 0 idle, 1 armed, 2 recording, 3 finishing.
    state: AtomicU8,
    /// Pad being recorded.
    pad: AtomicU32,
    /// Blank tapes the engine has used (the control side sends another for each).
    pub(super) tapes_used: AtomicU32,
    /// Whether the input is monitored.
    pub(super) monitor: AtomicBool,
    /// Whether a disk writer reads the recorded samples.
    pub(crate) disk: AtomicBool,
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
}

impl RecordView {
    /// Raises the input peak. Real-time safe.
    pub(crate) fn record_input_peak(&self, peak: f32) {
        if peak >= 0.0 {
            self.input_peak_bits
                .fetch_max(peak.to_bits(), Ordering::Relaxed);
        }
    }

    /// Returns and resets the input peak since the last call. Real-time safe.
    pub fn take_input_peak(&self) -> f32 {
        f32::from_bits(self.input_peak_bits.swap(0, Ordering::Relaxed))
    }

    /// What recording is doing. Real-time safe.
    pub fn state(&self) -> RecordState {
        let pad = self.pad.load(Ordering::Relaxed) as PadId;
        match self.state.load(Ordering::Acquire) {
            1 => RecordState::Armed(pad),
            2 => RecordState::Recording(pad),
            3 => RecordState::Finishing(pad),
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

    pub(super) fn set(&self, state: u8, pad: PadId) {
        self.pad.store(pad as u32, Ordering::Relaxed);
        self.state.store(state, Ordering::Release);
    }
}
