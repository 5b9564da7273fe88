//! Engine → control reports: ordered events (meters and states are in [`super::shared`]).

use super::command::{PadConfig, PadId, SlotId};

/// A key-locked or transposed pad has held a ratio for a while and no stretched table fits it:
/// the control side may render one (see `control::tables`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableRequest {
    /// The pad.
    pub pad: PadId,
    /// Its sample's slot.
    pub slot: SlotId,
    /// Its region (source frames).
    pub start: u32,
    /// See `start`.
    pub loop_start: u32,
    /// See `start`.
    pub loop_end: u32,
    /// Whether the region loops.
    pub looping: bool,
    /// Source frames per output frame the table should play at.
    pub tempo: f32,
    /// Its pitch relative to the sample.
    pub pitch: f32,
}

impl TableRequest {
    /// A table of pad `pad`'s region (as `cfg` configures it) at `tempo` source frames per
    /// output frame and `pitch`. Real-time safe.
    pub fn for_pad(pad: PadId, cfg: &PadConfig, tempo: f64, pitch: f64) -> Self {
        Self {
            pad,
            slot: cfg.slot,
            start: cfg.start,
            loop_start: cfg.loop_start,
            loop_end: cfg.loop_end,
            looping: cfg.looping,
            tempo: tempo as f32,
            pitch: pitch as f32,
        }
    }
}

/// What happened, reported by the audio thread.
#[derive(Debug, Clone, Copy, PartialEq)]
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
    /// A bar begins (1 = the first bar since the transport started from its beginning).
    Bar(u32),
    /// A sample slot's buffer was handed back to the control side.
    SlotRetired(SlotId),
    /// A stretched table would let a pad play cheaply (see [`TableRequest`]).
    TableWanted(TableRequest),
    /// A streamed pad's audio came late from disk: it faded out until the data arrives.
    DiskStarved(PadId),
    /// What Ableton Link did to the transport (see [`super::link`]).
    Link(super::link::LinkNews),
    /// A take into this pad waits for its first frame (see [`super::record`]).
    RecordArmed(PadId),
    /// A take into this pad began.
    RecordStarted(PadId),
    /// The pad plays its new take (its last frames are still being written).
    RecordPlaying(PadId),
    /// The take into this pad is complete: the control side can collect it
    /// (`EngineHandle::collect_takes`).
    RecordDone(PadId),
    /// The take into this pad was abandoned (disarmed, cancelled).
    RecordCancelled(PadId),
    /// An overdub pass into this pad began.
    OverdubStarted(PadId),
    /// The pad plays the layers of an overdub pass (the pass may go on).
    OverdubPlaying(PadId),
    /// Undo, redo or clear: the pad now has the sample of this slot (`None`: no sample).
    /// `true` for an undo.
    RecordUndone(PadId, Option<SlotId>, bool),
    /// The pad's loop was cleared (undo brings it back).
    RecordCleared(PadId),
    /// A record press did nothing, and why.
    RecordRefused(PadId, super::record::Refusal),
}

/// An event with the absolute engine frame at which it happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineEvent {
    /// Absolute engine frame.
    pub frame: u64,
    /// What happened.
    pub kind: EventKind,
}

/// A MIDI clock or transport message the engine emits at an exact frame (for MIDI clock out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMsg {
    /// `F8`: one of 24 clocks per beat.
    Tick,
    /// `FA`: the transport started from the beginning.
    Start,
    /// `FB`: the transport continues from where it stopped.
    Continue,
    /// `FC`: the transport stopped.
    Stop,
    /// `F2`: song position in MIDI beats (sixteenth notes).
    SongPosition(u16),
}

impl ClockMsg {
    /// The message's MIDI bytes (up to 3; `len` used).
    pub fn bytes(self) -> ([u8; 3], usize) {
        match self {
            ClockMsg::Tick => ([0xF8, 0, 0], 1),
            ClockMsg::Start => ([0xFA, 0, 0], 1),
            ClockMsg::Continue => ([0xFB, 0, 0], 1),
            ClockMsg::Stop => ([0xFC, 0, 0], 1),
            ClockMsg::SongPosition(p) => ([0xF2, (p & 0x7F) as u8, ((p >> 7) & 0x7F) as u8], 3),
        }
    }
}

/// A clock message with the engine frame it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedClock {
    /// Engine frame.
    pub frame: u64,
    /// The message.
    pub msg: ClockMsg,
}
