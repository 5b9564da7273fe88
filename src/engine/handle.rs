//! The control side of the engine's queues. Lives on control and MIDI threads; sending a
//! command never blocks or allocates, the rest is not real-time.

use std::sync::Arc;

use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::command::{Command, PadId, SlotId, Timed};
use super::event::{EngineEvent, TimedClock};
use super::settings::EngineSettings;
use super::shared::{Counter, EngineStats};
use super::slots::{Load, Retired};
use crate::dsp::stretch::TimeStretch;
use crate::sample::buffer::SampleBuffer;

/// Errors when talking to the engine.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HandleError {
    /// The command queue is full (the engine is not being processed, or far too many
    /// commands); the command was dropped and counted.
    #[error(
        "engine command queue is full ({0} commands): the command was dropped; is the audio running?"
    )]
    QueueFull(usize),
    /// The command carried NaN or an infinity; it was refused.
    #[error("command refused: a value is not a finite number ({0:?})")]
    NonFinite(Command),
    /// All sample slots are in use.
    #[error("all {0} sample slots are in use; unload samples or raise the slot count")]
    NoFreeSlot(usize),
}

/// A command queue of its own for one controller thread. Sending never blocks or allocates.
pub struct CommandLane {
    index: usize,
    prod: HeapProd<Timed>,
    stats: Arc<EngineStats>,
}

impl CommandLane {
    /// Queues a timed command; false when it was dropped (lane full: counted as
    /// [`Counter::LaneFull`]; non-finite values: counted as [`Counter::NonFinite`]). Real-time
    /// safe.
    pub fn send(&mut self, t: Timed) -> bool {
        if !t.cmd.is_finite() {
            self.stats.counters.bump(Counter::NonFinite);
            return false;
        }
        let ok = self.prod.try_push(t).is_ok();
        if !ok {
            self.stats.counters.bump(Counter::LaneFull);
        }
        ok
    }
}

/// The control-side ends of the engine's queues.
pub(super) struct HandleQueues {
    pub(super) commands: HeapProd<Timed>,
    pub(super) lanes: Vec<HeapProd<Timed>>,
    pub(super) loads: HeapProd<Load>,
    pub(super) events: HeapCons<EngineEvent>,
    pub(super) retired: HeapCons<Retired>,
    pub(super) clock_out: HeapCons<TimedClock>,
    pub(super) stretchers: HeapProd<Box<dyn TimeStretch>>,
    pub(super) used_stretchers: HeapCons<Box<dyn TimeStretch>>,
    pub(super) link: HeapProd<Box<super::link::LinkPart>>,
    pub(super) workers: super::keylock::ahead::Workers,
    pub(super) record: super::record::RecordEnds,
}

/// Control-side endpoint: sends commands and samples, receives events and retired buffers.
pub struct EngineHandle {
    commands: HeapProd<Timed>,
    lanes: Vec<Option<CommandLane>>,
    loads: HeapProd<Load>,
    events: HeapCons<EngineEvent>,
    retired: HeapCons<Retired>,
    clock_out: Option<HeapCons<TimedClock>>,
    stretchers: HeapProd<Box<dyn TimeStretch>>,
    used_stretchers: HeapCons<Box<dyn TimeStretch>>,
    stretchers_sent: usize,
    /// Where Ableton Link goes to the engine (once; None after).
    link: Option<HeapProd<Box<super::link::LinkPart>>>,
    stats: Arc<EngineStats>,
    settings: EngineSettings,
    free_slots: Vec<SlotId>,
    loaded: Vec<Option<Arc<SampleBuffer>>>,
    /// Slots asked to unload whose buffer has not come back yet.
    unloading: Vec<bool>,
    hints: Arc<crate::sample::stream::StreamHints>,
    /// The stretchers' worker threads (stopped when the handle is dropped).
    workers: super::keylock::ahead::Workers,
    /// The input ring, blank tapes, finished takes and the recorded stream.
    record: super::record::RecordEnds,
    /// Bytes of the blank tapes handed to the engine and not yet back as takes.
    tape_bytes: usize,
}

impl EngineHandle {
    pub(super) fn new(
        q: HandleQueues,
        stats: Arc<EngineStats>,
        settings: EngineSettings,
        hints: Arc<crate::sample::stream::StreamHints>,
    ) -> Self {
        let HandleQueues {
            commands,
            lanes,
            loads,
            events,
            retired,
            clock_out,
            stretchers,
            used_stretchers,
            link,
            workers,
            record,
        } = q;
        Self {
            commands,
            lanes: lanes
                .into_iter()
                .enumerate()
                .map(|(index, prod)| {
                    Some(CommandLane {
                        index,
                        prod,
                        stats: stats.clone(),
                    })
                })
                .collect(),
            loads,
            events,
            retired,
            clock_out: Some(clock_out),
            stretchers,
            used_stretchers,
            stretchers_sent: 0,
            link: Some(link),
            stats,
            settings,
            free_slots: (0..settings.sample_slots as SlotId).rev().collect(),
            loaded: vec![None; settings.sample_slots],
            unloading: vec![false; settings.sample_slots],
            hints,
            workers,
            record,
            tape_bytes: 0,
        }
    }

    /// Takes the producing end of the engine's input ring (once), for an audio input's
    /// callback or an offline feeder. Not real-time (pushing into it is).
    pub fn take_input_feed(&mut self) -> Option<super::input::InputFeed> {
        self.record.input.take()
    }

    /// Takes the recorded samples and their marks (once), for the disk writer; from then on
    /// the engine sends every take's samples there. Not real-time.
    pub fn take_record_stream(&mut self) -> Option<super::record::RecordStream> {
        let stream = self.record.stream.take()?;
        self.stats
            .record
            .disk
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Some(stream)
    }

    /// Hands the engine a blank tape (`SampleBuffer::tape`) for its next take, with a slot
    /// reserved for it; returns the slot. Never blocks; not real-time.
    pub fn supply_tape(&mut self, buffer: Arc<SampleBuffer>) -> Result<SlotId, HandleError> {
        self.collect_retired();
        let slot = self
            .free_slots
            .pop()
            .ok_or(HandleError::NoFreeSlot(self.settings.sample_slots))?;
        let bytes = buffer.memory_bytes();
        match self
            .record
            .tapes
            .try_push(super::record::Tape { slot, buffer })
        {
            Ok(()) => {
                self.record.sent += 1;
                self.tape_bytes += bytes;
                Ok(slot)
            }
            Err(_) => {
                self.free_slots.push(slot);
                Err(HandleError::QueueFull(2))
            }
        }
    }

    /// Blank tapes the engine holds or has queued (0: the next record press is refused).
    /// Not real-time.
    pub fn blank_tapes(&self) -> u32 {
        self.record
            .sent
            .saturating_sub(self.stats.record.tapes_used())
    }

    /// Takes finished takes and overdub passes into the slots they play from (the control side
    /// now holds them like any loaded sample); returns each one's pad, slot and frames. Not
    /// real-time.
    pub fn collect_takes(&mut self) -> Vec<(PadId, SlotId, u32)> {
        let mut got = Vec::new();
        while let Some(f) = self.record.takes.try_pop() {
            let t = f.tape;
            self.tape_bytes = self.tape_bytes.saturating_sub(t.buffer.memory_bytes());
            if let Some(entry) = self.loaded.get_mut(t.slot as usize) {
                *entry = Some(t.buffer);
                got.push((f.pad, t.slot, f.frames));
            }
        }
        got
    }

    /// Starts the worker threads real-time stretchers run ahead on (`stretch_workers` of the
    /// settings; each calls `on_start(index)` first, e.g. to ask for real-time priority).
    /// Until they run, and for every stretcher primed before, stretching happens in the audio
    /// callback. Returns how many run. Only for front-ends that play in real time: a render
    /// driven faster than real time would outrun them. Not real-time safe.
    pub fn start_stretch_workers<F, G>(&mut self, on_start: F) -> usize
    where
        F: Fn(usize) -> G + Send + Clone + 'static,
        G: 'static,
    {
        self.workers.start(self.settings.stretch_workers, on_start)
    }

    /// Waits until the stretchers' workers have done all they can (see
    /// `keylock::ahead::Workers::settle`); offline renders call it before each block. Not
    /// real-time safe (waits).
    pub fn settle_stretch_workers(&self) {
        self.workers.settle();
    }

    /// Worker threads real-time stretchers run ahead on (0: in the audio callback).
    /// Not real-time safe.
    pub fn stretch_workers(&self) -> usize {
        self.workers.running()
    }

    /// Where the engine's streaming voices read (for a disk service). Never blocks.
    pub fn stream_hints(&self) -> &Arc<crate::sample::stream::StreamHints> {
        &self.hints
    }

    /// The engine's settings. Never blocks.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The engine's shared meters, counters, pad states and clock. Never blocks.
    pub fn stats(&self) -> &Arc<EngineStats> {
        &self.stats
    }

    /// Takes a free command lane for a controller thread (None when all are in use). Not
    /// real-time.
    pub fn take_lane(&mut self) -> Option<CommandLane> {
        self.lanes.iter_mut().find_map(|l| l.take())
    }

    /// Gives a lane back (when its controller disconnects). Not real-time.
    pub fn return_lane(&mut self, lane: CommandLane) {
        let i = lane.index;
        if let Some(slot) = self.lanes.get_mut(i) {
            *slot = Some(lane);
        }
    }

    /// Queues a timed command. Never blocks or allocates. Commands carrying NaN or infinity
    /// are refused; a full queue drops the command and counts it.
    pub fn send(&mut self, t: Timed) -> Result<(), HandleError> {
        if !t.cmd.is_finite() {
            self.stats.counters.bump(Counter::NonFinite);
            return Err(HandleError::NonFinite(t.cmd));
        }
        self.commands.try_push(t).map_err(|_| {
            self.stats.counters.bump(Counter::QueueFull);
            HandleError::QueueFull(self.settings.command_queue)
        })
    }

    /// Room left in the command queue. Never blocks.
    pub fn command_room(&self) -> usize {
        use ringbuf::traits::Observer;
        self.commands.vacant_len()
    }

    /// Queues a command to apply as soon as possible. Never blocks.
    pub fn command(&mut self, cmd: Command) -> Result<(), HandleError> {
        self.send(Timed::now(cmd))
    }

    /// Publishes a ready sample to a free slot and returns the slot. Never blocks; not
    /// real-time (it may collect retired buffers, which frees them).
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
    /// [`collect_retired`](Self::collect_retired). Never blocks.
    pub fn unload(&mut self, slot: SlotId) -> Result<(), HandleError> {
        self.command(Command::Unload(slot))?;
        if let Some(u) = self.unloading.get_mut(slot as usize) {
            *u = true;
        }
        Ok(())
    }

    /// The slot holding this very buffer (and not on its way out), if any. Not real-time.
    pub fn slot_of(&self, buffer: &Arc<SampleBuffer>) -> Option<SlotId> {
        self.loaded
            .iter()
            .zip(&self.unloading)
            .position(|(b, &out)| !out && b.as_ref().is_some_and(|b| Arc::ptr_eq(b, buffer)))
            .map(|i| i as SlotId)
    }

    /// Drops buffers the engine handed back and frees their slots (returns how many), and
    /// resets used stretchers and gives them back. Not real-time (frees memory).
    pub fn collect_retired(&mut self) -> usize {
        while let Some(mut st) = self.used_stretchers.try_pop() {
            st.reset();
            // Cannot fail: the queue holds every stretcher there is.
            let _ = self.stretchers.try_push(st);
        }
        let mut n = 0;
        while let Some(r) = self.retired.try_pop() {
            if let Some(entry) = self.loaded.get_mut(r.slot as usize) {
                *entry = None;
                self.unloading[r.slot as usize] = false;
                self.free_slots.push(r.slot);
            }
            drop(r.buffer);
            n += 1;
        }
        n
    }

    /// Hands a warmed real-time stretcher to the engine's pool (see `dsp::stretch`). Gives it
    /// back when the pool is full. Never blocks; not real-time (build and warm it first).
    pub fn add_stretcher(&mut self, st: Box<dyn TimeStretch>) -> Result<(), Box<dyn TimeStretch>> {
        if self.stretchers_sent >= self.settings.stretch_units {
            return Err(st);
        }
        self.stretchers.try_push(st)?;
        self.stretchers_sent += 1;
        Ok(())
    }

    /// Hands Ableton Link's engine end to the engine (once per engine: a second one is given
    /// back). The engine takes it at its next block and keeps it. Never blocks.
    pub fn attach_link(
        &mut self,
        part: Box<super::link::LinkPart>,
    ) -> Result<(), Box<super::link::LinkPart>> {
        use ringbuf::traits::Producer;
        match self.link.take() {
            Some(mut q) => q.try_push(part),
            None => Err(part),
        }
    }

    /// Stretchers handed to the engine so far. Never blocks.
    pub fn stretchers(&self) -> usize {
        self.stretchers_sent
    }

    /// A sample slot's buffer, if the control side published one there. Not real-time.
    pub fn buffer(&self, slot: SlotId) -> Option<Arc<SampleBuffer>> {
        self.loaded.get(slot as usize).cloned().flatten()
    }

    /// Takes the MIDI clock-out queue (once) for a clock sender or an offline render, and tells
    /// the engine to fill it. Not real-time.
    pub fn take_clock_out(&mut self) -> Option<HeapCons<TimedClock>> {
        let q = self.clock_out.take()?;
        let _ = self.command(Command::ClockOut(true));
        Some(q)
    }

    /// Takes all events reported since the last call. Not real-time (allocates the list).
    pub fn drain_events(&mut self) -> Vec<EngineEvent> {
        self.events.pop_iter().collect()
    }

    /// Whether a slot holds a buffer the control side published (and has not seen retired).
    /// Not real-time.
    pub fn is_loaded(&self, slot: SlotId) -> bool {
        self.loaded.get(slot as usize).is_some_and(|b| b.is_some())
    }

    /// Bytes of sample memory held by loaded slots, and the float32 size of the same audio.
    /// Not real-time.
    pub fn sample_memory(&self) -> (usize, usize) {
        let (m, f) = self.loaded.iter().flatten().fold((0, 0), |(m, f), b| {
            (m + b.memory_bytes(), f + b.float32_bytes())
        });
        // Tapes out for recording are sample memory too.
        (m + self.tape_bytes, f + self.tape_bytes)
    }
}
