//! Recording on the control side: blank tapes kept ready for the engine, finished takes
//! collected, and (in `writer`) every take streamed to a WAV file as it is recorded. Not
//! real-time: tapes are allocated and touched here, files written here.

pub mod feed;
pub mod live;
pub mod persist;
pub mod writer;

use std::sync::Arc;

use crate::engine::EngineHandle;
use crate::engine::command::{Command, PadId, SlotId};
use crate::engine::record::RecordCmd;
use crate::sample::SampleBuffer;
use crate::sample::buffer::SampleData;

pub use feed::RecordFeeder;
pub use writer::{DiskWriter, TakeFile, WriterNews};

/// Keeps one blank tape of `seconds` ready in the engine (none when `seconds` is 0).
pub struct TapeSupply {
    frames: usize,
    rate: u32,
    /// Why the last tape could not be handed over (logged once per cause by the caller).
    pub last_error: Option<String>,
}

impl TapeSupply {
    /// Tapes of `seconds` at `rate` Hz. Not real-time.
    pub fn new(seconds: f32, rate: u32) -> Self {
        let frames = (seconds.max(0.0) as f64 * rate as f64).round() as usize;
        Self {
            frames,
            rate,
            last_error: None,
        }
    }

    /// Whether recording is on (tapes have a length).
    pub fn enabled(&self) -> bool {
        self.frames > 0
    }

    /// Bytes one tape takes.
    pub fn tape_bytes(&self) -> usize {
        self.frames * 2 * 4
    }

    /// Hands the engine a blank tape when it has none, and compacts the takes and passes that
    /// finished since the last call: their frames are copied into a buffer of their exact
    /// size, which the pad plays from then on (the whole tape goes back). Returns each
    /// compaction asked for: the tape's slot and the exact buffer's. Allocates a tape (a few
    /// milliseconds per minute of tape) when one is needed. Not real-time.
    pub fn keep(&mut self, handle: &mut EngineHandle) -> Vec<(SlotId, SlotId)> {
        let mut compacted = Vec::new();
        for (pad, slot, frames) in handle.collect_takes() {
            if let Some(to) = compact(handle, pad, slot, frames) {
                compacted.push((slot, to));
            }
        }
        if self.enabled() && handle.blank_tapes() == 0 {
            let tape = Arc::new(SampleBuffer::tape("recording", self.rate, self.frames));
            match handle.supply_tape(tape) {
                Ok(_) => self.last_error = None,
                Err(e) => self.last_error = Some(e.to_string()),
            }
        }
        compacted
    }
}

/// Copies the first `frames` of the tape in `slot` into a buffer of that size and asks the
/// engine to play it instead. None when the tape is not there or the engine cannot take it
/// now (the pad then keeps its tape).
fn compact(handle: &mut EngineHandle, pad: PadId, slot: SlotId, frames: u32) -> Option<SlotId> {
    let tape = handle.buffer(slot)?;
    let SampleData::F32(d) = tape.data() else {
        return None;
    };
    let n = (2 * frames as usize).min(d.len());
    let exact = SampleBuffer::from_f32(tape.name.clone(), tape.rate, d[..n].to_vec());
    let to = handle.load(Arc::new(exact)).ok()?;
    handle
        .command(Command::Record(pad, RecordCmd::Compacted(slot, to)))
        .ok()?;
    Some(to)
}
