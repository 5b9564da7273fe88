//! The engine's timeline: commands and quantised launches waiting for their frame, sorted.
//! Real-time safe (a fixed-capacity vector; nothing allocates).

use super::command::Command;
use super::settings::PENDING_CAPACITY;

/// Something waiting in the timeline for its frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Due {
    /// A command from the control side.
    Cmd(Command),
    /// A quantised launch.
    Launch(Launch),
}

/// A pad's launch waiting for a grid line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Launch {
    /// The pad.
    pub(crate) pad: u16,
    /// The pad's queue generation when it was queued (stale once the queue was cancelled).
    pub(crate) generation: u16,
    /// The grid line's beat.
    pub(crate) beat: f64,
}

/// An entry of the timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pending {
    at: u64,
    due: Due,
}

/// Entries sorted by frame, latest first (the next one due is popped from the end).
pub(crate) struct Timeline {
    pending: heapless::Vec<Pending, PENDING_CAPACITY>,
    /// Commands stamped further ahead than this are taken as meant for now.
    max_ahead: u64,
}

impl Timeline {
    /// An empty timeline. Real-time safe.
    pub(crate) fn new(max_ahead: u64) -> Self {
        Self {
            pending: heapless::Vec::new(),
            max_ahead,
        }
    }

    /// Whether `at` is further ahead of `now` than a command may be. Real-time safe.
    pub(crate) fn too_far(&self, at: u64, now: u64) -> bool {
        at > now + self.max_ahead
    }

    /// The next entry due at or before `now`. Real-time safe.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Due> {
        if self.pending.last()?.at > now {
            return None;
        }
        self.pending.pop().map(|p| p.due)
    }

    /// Frame of the next entry. Real-time safe.
    pub(crate) fn next_at(&self) -> Option<u64> {
        self.pending.last().map(|p| p.at)
    }

    /// When the timeline is full, takes out its earliest entry (the caller runs it at once, so
    /// nothing is lost and no backlog blocks newer commands). Real-time safe.
    pub(crate) fn make_room(&mut self) -> Option<Due> {
        if self.pending.is_full() {
            self.pending.pop().map(|p| p.due)
        } else {
            None
        }
    }

    /// Puts `due` on the timeline at frame `at`, after entries of the same frame (call
    /// `make_room` first). Real-time safe.
    pub(crate) fn insert(&mut self, at: u64, due: Due) {
        let idx = self.pending.partition_point(|p| p.at > at);
        // Cannot fail after `make_room`; a timeline refilled meanwhile drops the entry.
        let _ = self.pending.insert(idx, Pending { at, due });
    }
}
