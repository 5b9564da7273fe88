//! The engine's side of its queues: commands in (the main queue, then each controller lane),
//! events and MIDI clock out, and the shared meters. Real-time safe: every queue is a
//! preallocated SPSC ring; a full outgoing queue drops the message and counts it.

use std::sync::Arc;

use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::command::Timed;
use super::event::{ClockMsg, EngineEvent, EventKind, TimedClock};
use super::shared::{Counter, EngineStats};
use super::transport::Transport;

/// Capacity of the MIDI clock-out queue (a second of clock at 300 BPM is 120 messages).
pub const CLOCK_QUEUE: usize = 2048;

/// Commands in, events and clock out, meters. Owned by the engine; real-time safe.
pub(crate) struct Io {
    commands: HeapCons<Timed>,
    /// Controller command lanes (drained after the main queue).
    lanes: Box<[HeapCons<Timed>]>,
    events: HeapProd<EngineEvent>,
    /// MIDI clock messages out (only while `clock_on`).
    clock_out: HeapProd<TimedClock>,
    /// Whether someone reads the clock queue.
    pub(crate) clock_on: bool,
    /// Meters, counters, pad states and the live state the control side reads.
    pub(crate) stats: Arc<EngineStats>,
}

impl Io {
    /// Connects the engine ends of the queues. Not real-time safe (called once, in `new`).
    pub(crate) fn new(
        commands: HeapCons<Timed>,
        lanes: Box<[HeapCons<Timed>]>,
        events: HeapProd<EngineEvent>,
        clock_out: HeapProd<TimedClock>,
        stats: Arc<EngineStats>,
    ) -> Self {
        Self {
            commands,
            lanes,
            events,
            clock_out,
            clock_on: false,
            stats,
        }
    }

    /// Number of command queues (the main queue plus the controller lanes). Real-time safe.
    pub(crate) fn queues(&self) -> usize {
        1 + self.lanes.len()
    }

    /// The next command of queue `q` (0 = the main queue, then the lanes). Real-time safe.
    pub(crate) fn pop(&mut self, q: usize) -> Option<Timed> {
        if q == 0 {
            self.commands.try_pop()
        } else {
            self.lanes.get_mut(q - 1)?.try_pop()
        }
    }

    /// Reports an event, counting it as dropped when the queue is full. Real-time safe.
    pub(crate) fn emit(&mut self, frame: u64, kind: EventKind) {
        if self.events.try_push(EngineEvent { frame, kind }).is_err() {
            self.stats.counters.bump(Counter::EventsDropped);
        }
    }

    /// Queues a MIDI clock message when clock out is on (dropped and counted when the queue is
    /// full). Real-time safe.
    pub(crate) fn clock(&mut self, frame: u64, msg: ClockMsg) {
        if self.clock_on && self.clock_out.try_push(TimedClock { frame, msg }).is_err() {
            self.stats.counters.bump(Counter::EventsDropped);
        }
    }

    /// Counts one occurrence of `c`. Real-time safe.
    pub(crate) fn bump(&self, c: Counter) {
        self.stats.counters.bump(c);
    }

    /// Starts the transport from bar 1 at `now` (MIDI Stop first when it ran, then Start).
    /// Real-time safe.
    pub(crate) fn start_transport(&mut self, transport: &mut Transport, now: u64) {
        if transport.running() {
            self.clock(now, ClockMsg::Stop);
        }
        transport.start(now, 0.0);
        self.clock(now, ClockMsg::Start);
    }
}
