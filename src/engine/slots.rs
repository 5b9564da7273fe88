//! The slot table: sample buffers published by the control side, and handed back (never freed
//! here) once no voice reads them. Real-time safe.

use std::sync::Arc;

use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::command::SlotId;
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
struct Slot {
    buffer: Option<Arc<SampleBuffer>>,
    /// Voices reading the buffer.
    users: u32,
    /// Unloading: no new voice may start; handed back once `users` is 0.
    retiring: bool,
}

/// Every sample slot, the queue buffers arrive on and the queue they leave on. Owned by the
/// engine; real-time safe.
pub(crate) struct SlotTable {
    slots: Box<[Slot]>,
    loads: HeapCons<Load>,
    retired: HeapProd<Retired>,
    /// Slots retiring (so the hand-back pass costs nothing when there are none).
    retiring: usize,
}

impl SlotTable {
    /// `n` empty slots. Not real-time safe (called once, in `Engine::new`).
    pub(crate) fn new(n: usize, loads: HeapCons<Load>, retired: HeapProd<Retired>) -> Self {
        Self {
            slots: (0..n).map(|_| Slot::default()).collect(),
            loads,
            retired,
            retiring: 0,
        }
    }

    /// Number of slots. Real-time safe.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The buffer in `slot`, if any (also while it retires). Real-time safe.
    pub(crate) fn buffer(&self, slot: SlotId) -> Option<&SampleBuffer> {
        self.slots.get(slot as usize)?.buffer.as_deref()
    }

    /// Whether `slot` holds a buffer. Real-time safe.
    pub(crate) fn loaded(&self, slot: SlotId) -> bool {
        self.buffer(slot).is_some()
    }

    /// Whether `slot` is being handed back (no new voice may read it). Real-time safe.
    pub(crate) fn retiring(&self, slot: SlotId) -> bool {
        self.slots.get(slot as usize).is_some_and(|s| s.retiring)
    }

    /// Whether a new voice may read `slot`: it holds a buffer that is not retiring.
    /// Real-time safe.
    pub(crate) fn playable(&self, slot: SlotId) -> bool {
        self.loaded(slot) && !self.retiring(slot)
    }

    /// A voice starts reading `slot`. Real-time safe.
    pub(crate) fn acquire(&mut self, slot: SlotId) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.users += 1;
        }
    }

    /// A voice stops reading `slot`. Real-time safe.
    pub(crate) fn release(&mut self, slot: SlotId) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.users = s.users.saturating_sub(1);
        }
    }

    /// Puts a recorded tape into `slot`, which the control side reserved for it and which must
    /// be empty; gives the tape back otherwise. Real-time safe (moves the `Arc`).
    pub(crate) fn put(
        &mut self,
        slot: SlotId,
        buffer: Arc<SampleBuffer>,
    ) -> Result<(), Arc<SampleBuffer>> {
        match self.slots.get_mut(slot as usize) {
            Some(s) if s.buffer.is_none() && !s.retiring => {
                s.buffer = Some(buffer);
                s.users = 0;
                Ok(())
            }
            _ => Err(buffer),
        }
    }

    /// The frames of the tape in `slot`, to write the end of a take into while voices already
    /// play its start: only while the engine holds the only reference. Real-time safe.
    pub(crate) fn tape_mut(&mut self, slot: SlotId) -> Option<&mut [f32]> {
        let s = self.slots.get_mut(slot as usize)?;
        Arc::get_mut(s.buffer.as_mut()?)?.tape_mut()
    }

    /// The frames of the tape in `tape` (as [`tape_mut`](Self::tape_mut)) and the buffer in
    /// `src` beside it (an overdub pass reads its loop from one while writing the other).
    /// Real-time safe.
    pub(crate) fn tape_mut_beside(
        &mut self,
        tape: SlotId,
        src: SlotId,
    ) -> (Option<&mut [f32]>, Option<&SampleBuffer>) {
        let (a, b) = (tape as usize, src as usize);
        if a == b || a >= self.slots.len() || b >= self.slots.len() {
            return (None, None);
        }
        let (lo, hi) = self.slots.split_at_mut(a.max(b));
        let (t, s) = if a < b {
            (&mut lo[a], &hi[0])
        } else {
            (&mut hi[0], &lo[b])
        };
        let dst = t
            .buffer
            .as_mut()
            .and_then(Arc::get_mut)
            .and_then(|b| b.tape_mut());
        (dst, s.buffer.as_deref())
    }

    /// Another reference to the buffer in `slot` (an atomic increment: no allocation).
    /// Real-time safe.
    pub(crate) fn shared(&self, slot: SlotId) -> Option<Arc<SampleBuffer>> {
        self.slots.get(slot as usize)?.buffer.clone()
    }

    /// A buffer with nowhere to go, handed back to the control side to drop. Real-time safe
    /// (the retired queue has room for every slot and load in flight; were it ever full, the
    /// buffer would be leaked rather than freed here).
    pub(crate) fn hand_back(&mut self, buffer: Arc<SampleBuffer>) {
        if let Err(r) = self.retired.try_push(Retired {
            slot: u16::MAX,
            buffer,
        }) {
            std::mem::forget(r);
        }
    }

    /// Takes newly published buffers into their slots. Real-time safe.
    pub(crate) fn take_loads(&mut self) {
        while let Some(load) = self.loads.try_pop() {
            match self.slots.get_mut(load.slot as usize) {
                Some(slot) if slot.buffer.is_none() && !slot.retiring => {
                    slot.buffer = Some(load.buffer);
                    slot.users = 0;
                }
                _ => {
                    // Protocol violation: hand the buffer straight back (the queue has room).
                    let _ = self.retired.try_push(Retired {
                        slot: u16::MAX,
                        buffer: load.buffer,
                    });
                }
            }
        }
    }

    /// Starts handing `slot` back once no voice reads it. Returns false when it holds no
    /// buffer or already retires. Real-time safe.
    pub(crate) fn begin_retire(&mut self, slot: SlotId) -> bool {
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return false;
        };
        if s.buffer.is_none() || s.retiring {
            return false;
        }
        s.retiring = true;
        self.retiring += 1;
        true
    }

    /// Hands buffers of retiring slots back once no voice reads them, calling `retired` with
    /// each slot freed. Real-time safe.
    pub(crate) fn retire_unused(&mut self, mut retired: impl FnMut(SlotId)) {
        if self.retiring == 0 {
            return;
        }
        for (i, s) in self.slots.iter_mut().enumerate() {
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
            retired(i as SlotId);
        }
    }
}
