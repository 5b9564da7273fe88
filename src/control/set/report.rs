//! What loading a set did, and its problems as data: each names the file, the line and the pad
//! it is about, and says what to do. Not real-time.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::command::{PadConfig, PadId};

/// A problem loading a set: the rest of the set still loads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadProblem {
    /// The set's samples do not fit its memory budget (nothing loads).
    #[error("{}: {message}", file.display())]
    Memory {
        /// The set file.
        file: PathBuf,
        /// What does not fit and what to do.
        message: String,
    },
    /// A sample failed to load: the pads that use it stay empty.
    #[error("{message} (used by {users}); those pads stay empty")]
    Sample {
        /// The sample (as the set names it).
        sample: String,
        /// What went wrong with it and what to do.
        message: String,
        /// Where the pads using it are ("file:line: bank B pad P, ...").
        users: String,
    },
    /// The engine had no free slot for a sample.
    #[error("{sample}: {message}")]
    NoSlot {
        /// The sample.
        sample: String,
        /// The engine's message.
        message: String,
    },
    /// A pad cannot play its sample as the set says (a region past its end, a tempo out of
    /// range, an unknown stem).
    #[error("{at}: {message}")]
    Pad {
        /// Where: the set file, the key's line, the pad.
        at: PadAt,
        /// What is wrong and what to do.
        message: String,
    },
    /// The engine refused a command (its queue was full).
    #[error("{}: {what}: {message}", file.display())]
    Engine {
        /// The set file.
        file: PathBuf,
        /// What was being sent ("pad 3", "settings").
        what: String,
        /// The engine's message.
        message: String,
    },
}

/// The place a message about a pad points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PadAt {
    /// The set file.
    pub file: PathBuf,
    /// The line of the key at fault (0: unknown).
    pub line: usize,
    /// The pad's bank.
    pub bank: usize,
    /// The pad's index in its bank.
    pub index: usize,
}

impl fmt::Display for PadAt {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ": bank {} pad {}", self.bank, self.index)
    }
}

impl LoadProblem {
    /// The line of the set file it points at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            LoadProblem::Pad { at, .. } if at.line > 0 => Some(at.line),
            _ => None,
        }
    }

    /// Whether its message contains `text` (for tests and filters).
    pub fn contains(&self, text: &str) -> bool {
        self.to_string().contains(text)
    }
}

/// What loading a set did.
#[derive(Debug, Default)]
pub struct SetLoadReport {
    /// Distinct samples loaded.
    pub samples_loaded: usize,
    /// One per problem (file, line and what to do); the rest of the set still plays.
    pub errors: Vec<LoadProblem>,
    /// Problems that did not stop a sample from loading (cut-short files, NaN samples).
    pub warnings: Vec<String>,
    /// Time to decode and resample everything.
    pub load_time: Duration,
    /// Bytes of sample memory held, and the float32 size of the same audio.
    pub memory: (usize, usize),
    /// Pads published to the engine (global ids).
    pub ready_pads: Vec<usize>,
    /// Pads whose sample or region failed (global ids).
    pub failed_pads: Vec<usize>,
    /// The configuration each ready pad was published with.
    pub configs: Vec<(PadId, PadConfig)>,
    /// Tempo estimates for looping pads whose tempo the set does not give (shown by `check`,
    /// never applied).
    pub estimates: Vec<String>,
    /// The analyses made or found for pads that use them (by source).
    pub analyses: crate::control::set::analyse::Analyses,
    /// What analysis gave each pad that uses it (one line per pad, with its confidence).
    pub applied: Vec<String>,
    /// The memory plan (RAM or streamed, per table).
    pub plan: Option<crate::sample::plan::Plan>,
    /// Pads a reload left as they were (same sample, region and settings).
    pub unchanged_pads: usize,
    /// Pads a reload cleared (the new set does not have them).
    pub removed_pads: usize,
    /// The streaming parts when something streams: run `service` (see
    /// [`Streaming`](crate::control::set::stream_load::Streaming)) or streamed pads stay on their heads.
    pub streaming: Option<crate::control::set::stream_load::Streaming>,
}

impl SetLoadReport {
    /// Pads published to the engine.
    pub fn pads_ready(&self) -> usize {
        self.ready_pads.len()
    }

    /// Every problem's message, one per line.
    pub fn error_text(&self) -> String {
        let v: Vec<String> = self.errors.iter().map(|e| e.to_string()).collect();
        v.join("\n")
    }
}
