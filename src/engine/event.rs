//! Engine → control reports: ordered events (meters and states are in [`super::shared`]).

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
