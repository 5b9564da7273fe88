//! What recording is told and tells: commands, settings, the tapes handed in, the marks the
//! disk writer reads, refusals. Plain data.

use std::sync::Arc;

use super::super::command::{PadId, SlotId};
use crate::sample::buffer::SampleBuffer;

/// What a take records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSource {
    /// The audio input (`[master] input`, or `render --input`).
    Input,
    /// The master output (resampling).
    Master,
    /// The master output without the pad recorded into: it stops when the take begins, so
    /// what it played is not in the take (resampling a mix into one of its own pads).
    MasterWithout,
}

/// A recording command for one pad (see `Command::Record`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCmd {
    /// The record button on a pad: arms a take that begins on the next quantisation point
    /// (at once with the transport stopped); pressed again while it runs, the take ends on the
    /// next bar line that makes it whole bars (at once with the transport stopped: the take
    /// then sets the tempo); pressed while armed, it disarms.
    Press(RecordSource),
    /// Ends this pad's take as a second press would (disarms an armed one); nothing when the
    /// pad is not recording.
    Stop,
    /// Abandons an armed or running take of this pad; the pad keeps what it had.
    Cancel,
    /// The overdub button on a pad that plays a loop: the input is summed into the loop from
    /// now on, pass after pass (the earlier layers kept at the set feedback), until pressed
    /// again, which ends it at once; the pad plays the new layers from the next time round.
    Overdub,
    /// Takes back the last take, overdub pass or clear of this pad: it plays what it had
    /// before (a pad playing keeps playing, in place).
    Undo,
    /// Puts back what the last undo of this pad took back.
    Redo,
    /// Removes the pad's loop (stops it); undo brings it back.
    Clear,
    /// Internal: take number `n` begins now (the engine schedules it; sent from outside it
    /// does nothing but begin an armed take early).
    Begin(u32),
    /// Internal: take number `n` ends now if this is its end frame (scheduled by the engine).
    End(u32),
    /// A finished take's or pass's frames were copied by the control side into a buffer of
    /// their exact size in slot `.1`: every pad (and undo) using slot `.0`, the whole tape,
    /// uses it instead, in place; the tape is handed back. The pad given is unused.
    Compacted(SlotId, SlotId),
    /// Internal: overdub pass `n` is once round the loop: the pad plays its tape from now
    /// (scheduled by the engine).
    Swap(u32),
}

/// A setting of the input bus and recording (see `Command::Input`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputCmd {
    /// Input monitoring: the input heard through the master (`None` toggles). Off by default:
    /// most interfaces monitor in hardware.
    Monitor(Option<bool>),
    /// The devices' round trip in frames (output latency + input latency) that recordings from
    /// the input are compensated by, on top of the limiter's look-ahead.
    Latency(u32),
    /// Bars a first take (transport stopped) lasts, which sets the tempo; 0 = the power of
    /// two that puts the tempo at 70 BPM or more.
    FirstBars(u8),
    /// What an overdub pass keeps of the loop's earlier layers, 0..=1.
    Feedback(f32),
    /// Drift correction of the input (on: the input runs on another card's clock than the
    /// output, and is resampled to follow it; off: read as it is).
    Drift(bool),
}

/// A finished take or overdub pass, for the control side (held like any loaded sample).
pub struct Finished {
    /// The slot the pad plays it from and its buffer (another reference).
    pub tape: Tape,
    /// The pad.
    pub pad: PadId,
    /// Frames of the loop.
    pub frames: u32,
    /// Its tempo.
    pub bpm: f32,
    /// An overdub pass (whose file the disk writer writes from `tape` at once; a take's was
    /// streamed while it was recorded).
    pub overdub: bool,
}

/// A blank tape the control side hands the engine, with the sample slot reserved for it.
pub struct Tape {
    /// The slot the take will be played from.
    pub slot: SlotId,
    /// The tape: a float32 buffer nothing else references (see `SampleBuffer::tape`).
    pub buffer: Arc<SampleBuffer>,
}

/// What the disk writer reads between recorded samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DiskMark {
    /// Take `take` begins: the samples that follow are its, until its end mark.
    Begin {
        /// Take number.
        take: u32,
        /// The pad recorded into.
        pad: PadId,
        /// Its slot.
        slot: SlotId,
        /// What was recorded.
        source: RecordSource,
    },
    /// Take `take` is complete after `samples` interleaved samples pushed since its begin.
    End {
        /// Take number.
        take: u32,
        /// Samples pushed for it.
        samples: u64,
        /// Samples that did not fit the ring (the file misses them).
        lost: u64,
        /// Frames of the loop.
        frames: u32,
        /// The loop's tempo.
        bpm: f32,
    },
    /// Overdub pass `take` into `pad` is complete in the tape of `slot`, which the disk
    /// writer receives on its own queue and writes whole.
    Whole {
        /// Take number.
        take: u32,
        /// The pad.
        pad: PadId,
        /// Its slot.
        slot: SlotId,
        /// Frames of the loop.
        frames: u32,
        /// The loop's tempo.
        bpm: f32,
    },
    /// Take `take` was abandoned after `samples` samples: what was written for it goes.
    Cancel {
        /// Take number.
        take: u32,
        /// Samples pushed for it.
        samples: u64,
    },
}

/// Why a record press did nothing (reported as `EventKind::RecordRefused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No blank tape is ready (recording is not set up, or the last take's tape is still
    /// being replaced).
    NoTape,
    /// Another pad is recording.
    Busy,
    /// The take was too short to be a loop (abandoned).
    TooShort,
    /// Overdub needs a pad playing a loop in step with the running transport, from a sample
    /// held in memory (not streamed).
    NotLooping,
    /// The loop is longer than a tape (`record_seconds`).
    TooLong,
    /// Nothing to undo or redo on this pad.
    NoHistory,
}
