//! Sample slots: buffers published by the control side, and handed back (never freed here) once
//! no voice reads them. Real-time safe.

use std::sync::Arc;

use ringbuf::traits::{Consumer, Observer, Producer};

use super::Engine;
use super::command::{PadId, SlotId};
use super::event::EventKind;
use crate::sample::buffer::SampleBuffer;

/// A buffer being published to a slot (control → engine).
pub struct Load {
    /// Destination slot (must be free; the handle guarantees it).
    pub slot: SlotId,
    /// The ready-to-play sample.
    pub buffer: Arc<SampleBuffer>,
}

/// A buffer the engine no longer uses (engine → control, dropped there).
pub struct Retired {
    /// Slot it occupied (free again once received; `u16::MAX` for a rejected load).
    pub slot: SlotId,
    /// The buffer, to be dropped off the audio thread.
    pub buffer: Arc<SampleBuffer>,
}

/// One sample slot.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) buffer: Option<Arc<SampleBuffer>>,
    /// Voices reading the buffer.
    pub(crate) users: u32,
    /// Unloading: no new voice may start; handed back once `users` is 0.
    pub(crate) retiring: bool,
}

impl Engine {
    /// Takes newly published buffers into their slots.
    pub(crate) fn take_loads(&mut self) {
        while let Some(load) = self.loads.try_pop() {
            let slot = &mut self.slots[load.slot as usize];
            if slot.buffer.is_none() && !slot.retiring {
                slot.buffer = Some(load.buffer);
                slot.users = 0;
            } else {
                // Protocol violation: hand the buffer straight back (the queue has room for it).
                let _ = self.retired.try_push(Retired {
                    slot: u16::MAX,
                    buffer: load.buffer,
                });
            }
        }
    }

    /// Starts unloading a slot: pads using it stop and are cleared, voices reading it fade.
    pub(crate) fn unload(&mut self, slot: SlotId, now: u64) {
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return;
        };
        if s.buffer.is_none() || s.retiring {
            return;
        }
        s.retiring = true;
        self.retiring += 1;
        for p in 0..self.pads.len() {
            if self.pads[p].cfg.is_some_and(|c| c.slot == slot) {
                self.stop_pad(p as PadId, now);
                self.pads[p].cfg = None;
                self.publish_pad(p as PadId);
            }
        }
        let fade = self.fade;
        for v in self.voices.iter_mut().filter(|v| v.slot == slot) {
            v.release(fade);
        }
    }

    /// Hands buffers of unloaded slots back once no voice reads them.
    pub(crate) fn retire_unused(&mut self) {
        if self.retiring == 0 {
            return;
        }
        for i in 0..self.slots.len() {
            let s = &mut self.slots[i];
            if !s.retiring || s.users > 0 || self.retired.is_full() {
                continue;
            }
            if let Some(buffer) = s.buffer.take() {
                // Cannot fail: checked above that there is room.
                let _ = self.retired.try_push(Retired {
                    slot: i as SlotId,
                    buffer,
                });
            }
            s.retiring = false;
            self.retiring -= 1;
            self.emit(self.frame, EventKind::SlotRetired(i as SlotId));
        }
    }
}
