//! Plays a script live: commands are queued a little ahead, stamped with their exact engine
//! frame, so timing is sample-accurate even though the control thread wakes irregularly.

use crate::config::script::Script;
use crate::control::offline::renderer::ScriptCursor;
use crate::engine::EngineHandle;

/// Feeds a script to a running engine; call [`poll`](Self::poll) regularly.
pub struct LiveScheduler {
    script: Script,
    cursor: ScriptCursor,
}

impl LiveScheduler {
    /// Starts `script` at engine frame `origin`.
    pub fn new(script: Script, origin: u64, rate: u32) -> Self {
        Self {
            script,
            cursor: ScriptCursor::new(origin, rate),
        }
    }

    /// Queues every command due up to `now + lookahead` frames; a full queue is retried on the
    /// next poll. Returns false once finished.
    pub fn poll(&mut self, handle: &mut EngineHandle, now: u64, lookahead: u64) -> bool {
        self.cursor.feed(&self.script, now + lookahead + 1, |t| {
            match handle.send(t) {
                Ok(()) => true,
                Err(_) => {
                    log::warn!("engine command queue full; retrying");
                    false
                }
            }
        });
        !self.cursor.done(&self.script)
    }

    /// Engine frame at which the last command is due.
    pub fn end_frame(&self) -> u64 {
        self.cursor.end_frame(&self.script)
    }
}
