//! Plays a script live: commands are queued a little ahead, stamped with their exact engine
//! frame, so timing is sample-accurate even though the control thread wakes irregularly.

use crate::config::script::Script;
use crate::engine::EngineHandle;
use crate::engine::command::Timed;

/// Feeds a script to a running engine; call [`poll`](Self::poll) regularly.
pub struct LiveScheduler {
    script: Script,
    next: usize,
    origin: u64,
    rate: u32,
}

impl LiveScheduler {
    /// Starts `script` at engine frame `origin`.
    pub fn new(script: Script, origin: u64, rate: u32) -> Self {
        Self {
            script,
            next: 0,
            origin,
            rate,
        }
    }

    /// Queues every command due before `now + lookahead` frames. Returns false once finished.
    pub fn poll(&mut self, handle: &mut EngineHandle, now: u64, lookahead: u64) -> bool {
        while let Some(&(t, cmd)) = self.script.events.get(self.next) {
            let at = self.origin + super::offline::frame_of(t, self.rate);
            if at > now + lookahead {
                break;
            }
            if handle.send(Timed { at, cmd }).is_err() {
                log::warn!("engine command queue full; retrying");
                break;
            }
            self.next += 1;
        }
        self.next < self.script.events.len()
    }

    /// Engine frame at which the last command is due.
    pub fn end_frame(&self) -> u64 {
        self.origin + super::offline::frame_of(self.script.duration(), self.rate)
    }
}
