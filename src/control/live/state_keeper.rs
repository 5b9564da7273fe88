//! Keeps a running session's live changes: restores the saved state after the set loads (as
//! the command queue has room), saves on schedule and on stop, and goes back to the set when a
//! controller asks (see `session_state` for the file). Not real-time.

use std::collections::VecDeque;

use crate::config::SetFile;
use crate::control::live::session_state::{Saver, SessionState};
use crate::engine::EngineHandle;
use crate::engine::command::{Command, PadConfig, PadId};
use crate::midi::state::SharedControl;

/// The saved-state side of a running session: restores the saved state after the set loads,
/// saves live changes on schedule and on stop, and resets when a controller asks. Not
/// real-time.
pub struct StateKeeper {
    set: SetFile,
    baseline: Vec<(PadId, PadConfig)>,
    saver: Saver,
    /// Commands still to send to restore a saved state (sent as the queue has room).
    restore: VecDeque<Command>,
    /// Ableton Link as the saved state left it (None: as the set says).
    link: Option<bool>,
}

impl StateKeeper {
    /// Opens the state of `set`: read (unless `reset`, which deletes it) and queued for
    /// restoring. Not real-time.
    pub fn open(
        set: &SetFile,
        report: &crate::control::set::loader::SetLoadReport,
        handle: &EngineHandle,
        shared: &SharedControl,
        reset: bool,
    ) -> Option<Self> {
        let dir = crate::control::set::last_set::state_dir();
        let path = crate::control::live::session_state::state_path(set, dir.as_deref())?;
        let mut restore = VecDeque::new();
        let mut link = None;
        if reset {
            match std::fs::remove_file(&path) {
                Ok(()) => log::info!("forgot the saved state ({})", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("cannot remove {}: {e}", path.display()),
            }
        } else if let Some(st) = crate::control::live::session_state::read(&path, set) {
            restore.extend(st.commands(&report.configs));
            link = st.link;
            let bank = st.bank.min(set.grid.banks.saturating_sub(1));
            shared
                .bank
                .store(bank, std::sync::atomic::Ordering::Relaxed);
            shared.exclusive.store(
                st.master.play_mode == "exclusive",
                std::sync::atomic::Ordering::Relaxed,
            );
            shared.touch();
            log::info!(
                "restored the saved state from {} ({} pads changed, bank {bank})",
                path.display(),
                st.pad.len(),
            );
        }
        let on = link.unwrap_or(set.master.link);
        Some(Self {
            set: set.clone(),
            baseline: report.configs.clone(),
            saver: Saver::new(path, handle.stats().live.version(), controls(shared, on)),
            restore,
            link,
        })
    }

    /// Ableton Link as the saved state left it (None: as the set says).
    pub fn link(&self) -> Option<bool> {
        self.link
    }

    /// The state now.
    fn capture(&self, handle: &EngineHandle, shared: &SharedControl) -> SessionState {
        let mut st = SessionState::capture(
            &handle.stats().live,
            &self.set,
            &self.baseline,
            shared.bank.load(std::sync::atomic::Ordering::Relaxed),
        );
        let on = shared.link.on.load(std::sync::atomic::Ordering::Relaxed);
        st.link = (on != self.set.master.link).then_some(on);
        st
    }

    /// Sends restore commands as room allows, saves when due, and resets when a controller
    /// asked. Not real-time.
    pub fn tick(&mut self, handle: &mut EngineHandle, shared: &SharedControl) {
        use std::sync::atomic::Ordering;
        if shared.reset_requested.swap(false, Ordering::Relaxed) {
            // Back to the set as written: its own values, sent the same way.
            let mut st = self.capture(handle, shared);
            st.pad = self
                .baseline
                .iter()
                .map(|(p, cfg)| {
                    crate::control::live::session_state::PadState::new(
                        *p as usize,
                        &crate::engine::live::PadLive::of(cfg),
                    )
                })
                .collect();
            st.master = crate::control::live::session_state::MasterState::of_set(&self.set);
            if shared.link.on.load(Ordering::Relaxed) != self.set.master.link {
                // Link back as the set says (the control loop switches it).
                shared.link.toggle_requested.store(true, Ordering::Relaxed);
            }
            self.restore = st.commands(&self.baseline).into();
            shared
                .exclusive
                .store(st.master.play_mode == "exclusive", Ordering::Relaxed);
            shared.touch();
            let _ = std::fs::remove_file(self.saver.path());
            log::info!("saved state reset: every pad and the master are back to the set");
        }
        while let Some(c) = self.restore.front() {
            if handle.command_room() < 16 || handle.command(*c).is_err() {
                break;
            }
            self.restore.pop_front();
        }
        if self.restore.is_empty()
            && self.saver.due(
                handle.stats().live.version(),
                controls(shared, shared.link.on.load(Ordering::Relaxed)),
            )
        {
            let st = self.capture(handle, shared);
            self.saver.save(&st);
        }
    }

    /// Saves now if anything changed since the last save (on stop).
    pub fn flush(&mut self, handle: &EngineHandle, shared: &SharedControl) {
        let on = shared.link.on.load(std::sync::atomic::Ordering::Relaxed);
        let _ = self
            .saver
            .due(handle.stats().live.version(), controls(shared, on));
        if self.saver.pending() {
            let st = self.capture(handle, shared);
            self.saver.save(&st);
        }
    }
}

/// What the controllers change outside the engine: the bank, and Link on (`on`).
fn controls(shared: &SharedControl, on: bool) -> (usize, bool) {
    (shared.bank.load(std::sync::atomic::Ordering::Relaxed), on)
}
