//! Recording on the control side: blank tapes kept ready for the engine, finished takes
//! collected, and (in `writer`) every take streamed to a WAV file as it is recorded. Not
//! real-time: tapes are allocated and touched here, files written here.

pub mod feed;
pub mod live;
pub mod persist;
pub mod writer;

use std::sync::Arc;

use crate::engine::EngineHandle;
use crate::engine::command::SlotId;
use crate::sample::SampleBuffer;

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

    /// Hands the engine a blank tape when it has none; returns the slots of takes that
    /// finished since the last call (now held like any loaded sample). Allocates a tape (a few
    /// milliseconds per minute of tape) when one is needed. Not real-time.
    pub fn keep(&mut self, handle: &mut EngineHandle) -> Vec<SlotId> {
        let done = handle.collect_takes();
        if self.enabled() && handle.blank_tapes() == 0 {
            let tape = Arc::new(SampleBuffer::tape("recording", self.rate, self.frames));
            match handle.supply_tape(tape) {
                Ok(_) => self.last_error = None,
                Err(e) => self.last_error = Some(e.to_string()),
            }
        }
        done
    }
}
