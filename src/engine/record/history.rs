//! Undo and redo of the last take, overdub pass or clear, and the tapes nothing can reach any
//! more handed back. Real-time safe.

use super::super::command::{PadConfig, PadId, SlotId};
use super::super::pads::PadBank;
use super::super::slots::SlotTable;

/// Tapes the recorder keeps track of (taken and passes that ended; more are kept until a
/// restart, never handed back).
const OWNED: usize = 32;

/// What the last recording step changed on one pad.
#[derive(Debug, Clone, Copy)]
struct Entry {
    pad: PadId,
    before: Option<PadConfig>,
    after: Option<PadConfig>,
    undone: bool,
}

/// The last step and the tapes recordings filled.
#[derive(Default)]
pub(crate) struct History {
    last: Option<Entry>,
    owned: [Option<SlotId>; OWNED],
}

impl History {
    /// Pad `pad` went from `before` to `after` (a take, a pass, a clear). Real-time safe.
    pub(crate) fn push(&mut self, pad: PadId, before: Option<PadConfig>, after: Option<PadConfig>) {
        self.last = Some(Entry {
            pad,
            before,
            after,
            undone: false,
        });
    }

    /// A take or pass filled the tape of `slot`. Real-time safe.
    pub(crate) fn own(&mut self, slot: SlotId) {
        if let Some(free) = self.owned.iter_mut().find(|s| s.is_none()) {
            *free = Some(slot);
        }
    }

    /// What pad `p` goes back to (`redo`: forward to), if its last step can be undone
    /// (redone) now: the pad must still play what that step left it with, and what it goes
    /// to must be `playable`. Marks it done.
    /// Real-time safe.
    pub(crate) fn step(
        &mut self,
        p: PadId,
        now: Option<PadConfig>,
        redo: bool,
        playable: impl Fn(&PadConfig) -> bool,
    ) -> Option<Option<PadConfig>> {
        let e = self
            .last
            .as_mut()
            .filter(|e| e.pad == p && e.undone == redo)?;
        let (from, to) = if redo {
            (e.before, e.after)
        } else {
            (e.after, e.before)
        };
        if from.map(|c| c.slot) != now.map(|c| c.slot) || to.is_some_and(|c| !playable(&c)) {
            return None;
        }
        e.undone = !redo;
        Some(to)
    }

    /// Slot `from` is now `to` (the same frames, compacted): undo and redo use `to`, and `to`
    /// is handed back once nothing reaches it, as `from` was. Real-time safe.
    pub(crate) fn rename(&mut self, from: SlotId, to: SlotId) {
        if let Some(e) = self.last.as_mut() {
            for c in [&mut e.before, &mut e.after].into_iter().flatten() {
                if c.slot == from {
                    c.slot = to;
                }
            }
        }
        for o in self.owned.iter_mut() {
            if *o == Some(from) {
                *o = Some(to);
            }
        }
    }

    /// Whether `slot` is one the recorder filled. Real-time safe.
    pub(crate) fn owns(&self, slot: SlotId) -> bool {
        self.owned.contains(&Some(slot))
    }

    /// Hands back the tapes nothing plays or can go back to (`busy`: the tape of a take or pass
    /// running). Walks the pads once per tape (bounded). Real-time safe.
    pub(crate) fn sweep(&mut self, bank: &PadBank, slots: &mut SlotTable, busy: Option<SlotId>) {
        let keep = |s: SlotId, last: &Option<Entry>| {
            busy == Some(s)
                || last.is_some_and(|e| {
                    e.before.is_some_and(|c| c.slot == s) || e.after.is_some_and(|c| c.slot == s)
                })
                || bank.pads.iter().any(|p| p.cfg.is_some_and(|c| c.slot == s))
        };
        for o in self.owned.iter_mut() {
            if let Some(s) = *o
                && !keep(s, &self.last)
            {
                slots.begin_retire(s);
                *o = None;
            }
        }
    }
}
