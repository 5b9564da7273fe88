//! The control side of the engine's queues. Not real-time: lives on control/MIDI threads.

use std::sync::Arc;

use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::command::{Command, SlotId, Timed};
use super::event::{EngineEvent, EngineStats};
use super::{EngineSettings, Load, Retired};
use crate::sample::buffer::SampleBuffer;

/// Errors when talking to the engine.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandleError {
    /// The command queue is full (the engine is not being processed, or far too many commands).
    #[error("engine command queue is full ({0} commands); is the audio running?")]
    QueueFull(usize),
    /// All sample slots are in use.
    #[error("all {0} sample slots are in use; unload samples or raise the slot count")]
    NoFreeSlot(usize),
}

/// A command queue of its own for one controller thread. Sending never blocks or allocates.
pub struct CommandLane {
    index: usize,
    prod: HeapProd<Timed>,
}

impl CommandLane {
    /// Queues a timed command; false when the lane is full (the command is dropped).
    pub fn send(&mut self, t: Timed) -> bool {
        self.prod.try_push(t).is_ok()
    }
}

/// Control-side endpoint: sends commands and samples, receives events and retired buffers.
pub struct EngineHandle {
    commands: HeapProd<Timed>,
    lanes: Vec<Option<CommandLane>>,
    loads: HeapProd<Load>,
    events: HeapCons<EngineEvent>,
    retired: HeapCons<Retired>,
    stats: Arc<EngineStats>,
    settings: EngineSettings,
    free_slots: Vec<SlotId>,
    loaded: Vec<Option<Arc<SampleBuffer>>>,
}

impl EngineHandle {
    pub(super) fn new(
        commands: HeapProd<Timed>,
        lanes: Vec<HeapProd<Timed>>,
        loads: HeapProd<Load>,
        events: HeapCons<EngineEvent>,
        retired: HeapCons<Retired>,
        stats: Arc<EngineStats>,
        settings: EngineSettings,
    ) -> Self {
        Self {
            commands,
            lanes: lanes
                .into_iter()
                .enumerate()
                .map(|(index, prod)| Some(CommandLane { index, prod }))
                .collect(),
            loads,
            events,
            retired,
            stats,
            settings,
            free_slots: (0..settings.sample_slots as SlotId).rev().collect(),
            loaded: vec![None; settings.sample_slots],
        }
    }

    /// The engine's settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The engine's shared meters.
    pub fn stats(&self) -> &Arc<EngineStats> {
        &self.stats
    }

    /// Takes a free command lane for a controller thread (None when all are in use).
    pub fn take_lane(&mut self) -> Option<CommandLane> {
        self.lanes.iter_mut().find_map(|l| l.take())
    }

    /// Gives a lane back (when its controller disconnects).
    pub fn return_lane(&mut self, lane: CommandLane) {
        let i = lane.index;
        if let Some(slot) = self.lanes.get_mut(i) {
            *slot = Some(lane);
        }
    }

    /// Queues a timed command. Never blocks.
    pub fn send(&mut self, t: Timed) -> Result<(), HandleError> {
        self.commands
            .try_push(t)
            .map_err(|_| HandleError::QueueFull(self.settings.command_queue))
    }

    /// Queues a command to apply as soon as possible. Never blocks.
    pub fn command(&mut self, cmd: Command) -> Result<(), HandleError> {
        self.send(Timed::now(cmd))
    }

    /// Publishes a ready sample to a free slot and returns the slot. Never blocks.
    pub fn load(&mut self, buffer: Arc<SampleBuffer>) -> Result<SlotId, HandleError> {
        self.collect_retired();
        let slot = self
            .free_slots
            .pop()
            .ok_or(HandleError::NoFreeSlot(self.settings.sample_slots))?;
        self.loaded[slot as usize] = Some(buffer.clone());
        match self.loads.try_push(Load { slot, buffer }) {
            Ok(()) => Ok(slot),
            Err(_) => {
                self.loaded[slot as usize] = None;
                self.free_slots.push(slot);
                Err(HandleError::QueueFull(self.settings.sample_slots))
            }
        }
    }

    /// Asks the engine to unload a slot; pads using it stop and the buffer comes back through
    /// [`collect_retired`](Self::collect_retired).
    pub fn unload(&mut self, slot: SlotId) -> Result<(), HandleError> {
        self.command(Command::Unload(slot))
    }

    /// Drops buffers the engine handed back and frees their slots. Returns how many.
    pub fn collect_retired(&mut self) -> usize {
        let mut n = 0;
        while let Some(r) = self.retired.try_pop() {
            if let Some(entry) = self.loaded.get_mut(r.slot as usize) {
                *entry = None;
                self.free_slots.push(r.slot);
            }
            drop(r.buffer);
            n += 1;
        }
        n
    }

    /// Takes all events reported since the last call.
    pub fn drain_events(&mut self) -> Vec<EngineEvent> {
        self.events.pop_iter().collect()
    }

    /// Bytes of sample memory held by loaded slots, and the float32 size of the same audio.
    pub fn sample_memory(&self) -> (usize, usize) {
        self.loaded.iter().flatten().fold((0, 0), |(m, f), b| {
            (m + b.memory_bytes(), f + b.float32_bytes())
        })
    }
}
