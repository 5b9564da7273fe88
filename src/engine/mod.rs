//! The real-time core: a plain struct rendering interleaved stereo blocks.
//!
//! Everything here is allocated in [`Engine::new`]; [`Engine::process`] never allocates, frees,
//! locks, blocks, logs or does I/O. Control traffic arrives over lock-free SPSC queues owned by
//! an [`EngineHandle`](handle::EngineHandle) on the control side; what the engine reports goes
//! out over an event queue and through the atomics of [`shared::EngineStats`].
//!
//! Files: `settings` (capacities), `command` (what the control side sends), `apply` (how each
//! command changes the engine), `pads` (launching, stopping, quantisation, voice allocation),
//! `slots` (sample buffers coming and going), `mix` (rendering a segment), `voice` (one
//! playing sample), `transport` (the musical clock), `shared` (meters, counters, pad states,
//! clock), `params` (the parameter table).

pub mod apply;
pub mod command;
pub mod event;
pub mod handle;
pub mod keylock;
pub mod live;
pub mod mix;
pub mod pads;
pub mod params;
pub mod rt;
pub mod settings;
pub mod shared;
pub mod slots;
pub mod source;
pub mod stems;
pub(crate) mod streaming;
pub mod transport;
pub mod voice;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};

use crate::dsp::delay::Delay;
use crate::dsp::limiter::Limiter;
use crate::dsp::phaser::Phaser;
use crate::dsp::ramp::Ramp;
use crate::dsp::reverb::Reverb;
use command::{Command, PlayMode, Quantize, Timed};
use event::{EngineEvent, EventKind};
pub use handle::{CommandLane, EngineHandle, HandleError};
use mix::PadDsp;
use pads::Pad;
pub use settings::{EngineError, EngineSettings, PENDING_CAPACITY};
use shared::{Counter, EngineStats};
use slots::Slot;
pub use slots::{Load, Retired};
use transport::Transport;
use voice::{Voice, VoiceState};

/// Capacity of the MIDI clock-out queue (a second of clock at 300 BPM is 120 messages).
pub const CLOCK_QUEUE: usize = 2048;

/// Most pads whose filters ring out at once after their voices ended.
pub const MAX_TAILS: usize = 32;

/// Something waiting in the engine's timeline for its frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Due {
    /// A command from the control side.
    Cmd(Command),
    /// A quantised launch (pad, generation: stale once the pad's queue was cancelled, and the
    /// grid line's beat).
    Launch(u16, u16, f64),
}

/// An entry of the sorted timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pending {
    at: u64,
    due: Due,
}

/// The audio engine. Create with [`Engine::new`], drive with [`Engine::process`].
pub struct Engine {
    settings: EngineSettings,
    voices: Box<[Voice]>,
    /// Sounding voices sorted by pad, rebuilt every segment (capacity = voice slots).
    order: Box<[u16]>,
    pads: Box<[Pad]>,
    pad_dsp: Box<[PadDsp]>,
    /// One `max_block` stereo scratch buffer per voice slot and per tail: pads being shaped
    /// are mixed here.
    scratch: Box<[f32]>,
    /// Pads being shaped in the current segment, with their scratch buffer index.
    shaped: Box<[(u16, u16)]>,
    /// Pads whose voices have ended but whose filters still ring out (see `mix`).
    tails: heapless::Vec<u16, MAX_TAILS>,
    /// Lane buffer for grouped EQ processing (`max_block` frames of 8 lanes).
    eq_lanes: Box<[crate::dsp::eq::Lanes]>,
    buses: [Box<[f32]>; 2],
    /// The isolator EQ's crossovers (shared by every pad).
    iso_design: crate::dsp::isolator::IsolatorDesign,
    /// Scratch for a pad switching EQ mode (both EQs run while they cross-fade).
    xfade_buf: Box<[f32]>,
    delay: Delay,
    reverb: Reverb,
    phaser: Phaser,
    limiter: Limiter,
    segment: u64,
    slots: Box<[Slot]>,
    commands: HeapCons<Timed>,
    /// Controller command lanes (drained after the main queue).
    lane_queues: Box<[HeapCons<Timed>]>,
    loads: HeapCons<Load>,
    events: HeapProd<EngineEvent>,
    retired: HeapProd<Retired>,
    /// MIDI clock messages out (only while `clock_out` is on).
    clock_out: HeapProd<event::TimedClock>,
    clock_on: bool,
    /// Timeline of commands and quantised launches, sorted by frame, latest first.
    pending: heapless::Vec<Pending, PENDING_CAPACITY>,
    stats: Arc<EngineStats>,
    frame: u64,
    master: Ramp,
    global_speed: f32,
    play_mode: PlayMode,
    quantize: Quantize,
    transport: Transport,
    /// Frames after a grid line within which a quantised start is forgiven (starts at once).
    late_frames: u64,
    /// Frames of the last tap-tempo taps (oldest first).
    taps: heapless::Vec<u64, 5>,
    fade: u32,
    smooth: u32,
    max_ahead: u64,
    retiring: usize,
    /// The real-time stretcher pool (key lock and transpose).
    units: Box<[keylock::Unit]>,
    /// Stretchers built (or reset) by the control side, on their way into the pool.
    unit_in: HeapCons<Box<dyn crate::dsp::stretch::TimeStretch>>,
    /// Used stretchers on their way back to be reset.
    unit_out: HeapProd<Box<dyn crate::dsp::stretch::TimeStretch>>,
    /// Most units in use at once (the governor's limit).
    unit_limit: usize,
    /// Scratch buffers for stretching and hand-offs.
    kl: keylock::Scratch,
    /// Where streaming voices read, for the disk service.
    hints: Arc<crate::sample::stream::StreamHints>,
    /// Priming work left in this block, in fed frames.
    prime_left: u32,
    /// Phase-aligned hand-offs left in this block.
    aligns_left: u32,
    /// Frames of the last block (predicts when priming will be done).
    block_len: usize,
    /// Priming work allowed per block, in fed frames.
    prime_budget: u32,
}

impl Engine {
    /// Builds an engine and the control-side handle connected to it. Allocates everything the
    /// engine will ever use; not real-time safe.
    pub fn new(settings: EngineSettings) -> Result<(Engine, EngineHandle), EngineError> {
        settings.validate()?;
        let s = settings;
        let (cmd_tx, cmd_rx) = split(s.command_queue);
        let (lane_tx, lane_rx): (Vec<_>, Vec<_>) = (0..s.lanes)
            .map(|_| split::<Timed>(s.command_queue))
            .unzip();
        let (load_tx, load_rx) = split(s.sample_slots);
        let (ev_tx, ev_rx) = split(s.event_queue);
        // Room for every slot plus every load in flight: a retire can never find the queue full.
        let (ret_tx, ret_rx) = split(2 * s.sample_slots);
        let (clk_tx, clk_rx) = split(CLOCK_QUEUE);
        let (unit_tx, unit_rx) = split(s.stretch_units.max(1));
        let (back_tx, back_rx) = split(s.stretch_units.max(1));
        let align_lag = (keylock::ALIGN_MS / 1000.0 * s.sample_rate as f32) as usize;
        let stats = Arc::new(EngineStats::new(s.pads));
        // Extra voice slots let stolen voices fade out while their replacement starts.
        let physical = s.voices + (s.voices / 4).max(4);
        let shapers = physical + MAX_TAILS;
        let block = vec![0.0f32; 2 * s.max_block].into_boxed_slice();
        let hints = Arc::new(crate::sample::stream::StreamHints::new(physical));
        let engine = Engine {
            settings: s,
            voices: vec![Voice::default(); physical].into_boxed_slice(),
            order: vec![0u16; physical].into_boxed_slice(),
            pads: vec![Pad::default(); s.pads].into_boxed_slice(),
            pad_dsp: vec![PadDsp::new(s.sample_rate); s.pads].into_boxed_slice(),
            scratch: vec![0.0f32; 2 * s.max_block * shapers].into_boxed_slice(),
            shaped: vec![(0u16, 0u16); shapers].into_boxed_slice(),
            tails: heapless::Vec::new(),
            eq_lanes: vec![[0.0f32; 8]; s.max_block].into_boxed_slice(),
            iso_design: crate::dsp::isolator::IsolatorDesign::new(
                crate::dsp::isolator::DEFAULT_CROSSOVERS[0],
                crate::dsp::isolator::DEFAULT_CROSSOVERS[1],
                s.sample_rate as f64,
            ),
            xfade_buf: block.clone(),
            buses: [block.clone(), block],
            delay: Delay::new(s.sample_rate),
            reverb: Reverb::new(s.sample_rate),
            phaser: Phaser::new(s.sample_rate),
            limiter: Limiter::new(s.sample_rate),
            segment: 0,
            slots: (0..s.sample_slots).map(|_| Slot::default()).collect(),
            commands: cmd_rx,
            lane_queues: lane_rx.into_boxed_slice(),
            loads: load_rx,
            events: ev_tx,
            retired: ret_tx,
            clock_out: clk_tx,
            clock_on: false,
            pending: heapless::Vec::new(),
            stats: stats.clone(),
            frame: 0,
            master: Ramp::steady(1.0),
            global_speed: 1.0,
            play_mode: PlayMode::Multi,
            quantize: Quantize::Off,
            transport: Transport::new(s.sample_rate),
            late_frames: s.frames(60.0) as u64,
            taps: heapless::Vec::new(),
            fade: s.frames(s.fade_ms),
            smooth: s.frames(s.smooth_ms),
            max_ahead: s.frames(s.max_ahead_ms) as u64,
            retiring: 0,
            units: (0..s.stretch_units)
                .map(|_| keylock::Unit::empty())
                .collect(),
            unit_in: unit_rx,
            unit_out: back_tx,
            unit_limit: s.stretch_units,
            kl: keylock::Scratch::new(s.max_block, align_lag),
            hints: hints.clone(),
            prime_left: 0,
            aligns_left: 0,
            block_len: s.max_block,
            prime_budget: s.prime_frames,
        };
        let queues = handle::HandleQueues {
            commands: cmd_tx,
            lanes: lane_tx,
            loads: load_tx,
            events: ev_rx,
            retired: ret_rx,
            clock_out: clk_rx,
            stretchers: unit_tx,
            used_stretchers: back_rx,
        };
        let handle = EngineHandle::new(queues, stats, s, hints);
        Ok((engine, handle))
    }

    /// The settings the engine was built with. Real-time safe.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The shared meters. Real-time safe.
    pub fn stats(&self) -> &Arc<EngineStats> {
        &self.stats
    }

    /// Frames rendered so far (the engine clock). Real-time safe.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// The transport (tempo, meter, position). Real-time safe.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Output latency in frames added by the master limiter's look-ahead: audio for engine
    /// frame `f` leaves `process` at output frame `f + latency()`. Real-time safe.
    pub fn latency(&self) -> usize {
        self.limiter.latency()
    }

    /// Renders `out.len() / 2` interleaved stereo frames, applying queued commands at their
    /// frame. Real-time safe: no allocation, no locks, no I/O. Every driver (the cpal
    /// callback, `render`, `bench`, `soak`, the tests) calls this, and it sets the same
    /// arithmetic for all: subnormals flushed to zero while it runs (the caller's mode is
    /// restored after), and in debug builds the allocation guard around it.
    pub fn process(&mut self, out: &mut [f32]) {
        let _ftz = crate::dsp::denormal::ScopedFtz::enable();
        #[cfg(debug_assertions)]
        let _rt = rt::RtSection::enter();
        self.stats
            .flushed
            .store(crate::dsp::denormal::denormals_flushed(), Ordering::Relaxed);
        self.process_blocks(out);
    }

    fn process_blocks(&mut self, out: &mut [f32]) {
        let usable = out.len() & !1;
        out[usable..].fill(0.0);
        let max = self.settings.max_block * 2;
        for chunk in out[..usable].chunks_mut(max) {
            self.process_chunk(chunk);
        }
        // Voices that stopped reading a streamed table stop asking for its audio.
        for (i, v) in self.voices.iter_mut().enumerate() {
            if v.streaming && v.state == VoiceState::Free {
                v.streaming = false;
                self.hints.clear(i);
            }
        }
        self.hints.end_block();
    }

    /// Takes queued commands (within the per-block budget) and runs those already due, without
    /// rendering: an offline driver feeding more commands than the queue holds at one frame
    /// calls this between feeds, so none is lost and each still lands on its frame.
    /// Real-time safe (what `process` does before rendering).
    pub fn take_commands(&mut self) {
        self.drain_inputs();
        let now = self.frame;
        while let Some(p) = self.pending.last() {
            if p.at > now {
                break;
            }
            if let Some(p) = self.pending.pop() {
                self.run_due(p.due, now);
            }
        }
    }

    fn process_chunk(&mut self, out: &mut [f32]) {
        self.drain_inputs();
        self.prime_left = self.prime_budget;
        self.aligns_left = keylock::ALIGNS_PER_BLOCK;
        self.block_len = out.len() / 2;
        out.fill(0.0);
        for bus in self.buses.iter_mut() {
            bus[..out.len()].fill(0.0);
        }
        let frames = out.len() / 2;
        let block_start = self.frame;
        let mut cursor = 0usize;
        while cursor < frames {
            let now = block_start + cursor as u64;
            // Apply everything due at or before this point.
            while let Some(p) = self.pending.last() {
                if p.at > now {
                    break;
                }
                if let Some(p) = self.pending.pop() {
                    self.run_due(p.due, now);
                }
            }
            let mut seg_end = match self.pending.last() {
                Some(p) if p.at < block_start + frames as u64 => (p.at - block_start) as usize,
                _ => frames,
            };
            if self.transport.gliding() {
                // A gliding tempo changes in small steps: segments end on them.
                let step = transport::GLIDE_STEP as usize;
                seg_end = seg_end.min((cursor / step + 1) * step);
            }
            self.transport_events(now, block_start + seg_end as u64);
            self.render_segment(out, cursor, seg_end, now);
            let len = (seg_end - cursor) as u64;
            cursor = seg_end;
            if self.transport.gliding() {
                self.transport
                    .advance_glide(block_start + cursor as u64, len);
            }
        }
        self.frame += frames as u64;
        self.retire_unused();
        let mut peak = 0.0f32;
        for s in out.iter() {
            peak = peak.max(s.abs());
        }
        self.stats.record_peak(peak);
        self.stats.record_limiter_gain(self.limiter.take_min_gain());
        let active = self
            .voices
            .iter()
            .filter(|v| v.state != VoiceState::Free)
            .count();
        self.stats
            .active_voices
            .store(active as u32, Ordering::Relaxed);
        self.publish_keylock();
        self.stats.transport.publish(
            self.frame,
            self.transport.bpm(),
            self.transport.effective_bpm(),
            self.transport.beat_at(self.frame),
            self.transport.beats_per_bar(),
            self.transport.running(),
        );
        self.stats.frames.store(self.frame, Ordering::Release);
    }

    fn run_due(&mut self, due: Due, now: u64) {
        match due {
            Due::Cmd(cmd) => self.apply(cmd, now),
            Due::Launch(p, generation, beat) => self.launch_queued(p, generation, beat, now),
        }
    }

    /// Takes new sample loads and commands from the queues, within the per-block budget.
    fn drain_inputs(&mut self) {
        self.take_loads();
        self.take_units();
        let mut budget = self.settings.command_budget;
        let now = self.frame;
        for q in 0..=self.lane_queues.len() {
            while budget > 0 {
                let popped = if q == 0 {
                    self.commands.try_pop()
                } else {
                    self.lane_queues[q - 1].try_pop()
                };
                let Some(t) = popped else { break };
                budget -= 1;
                if !t.cmd.is_finite() {
                    self.stats.counters.bump(Counter::NonFinite);
                    continue;
                }
                let mut at = t.at;
                if at > now + self.max_ahead {
                    self.stats.counters.bump(Counter::FarFuture);
                    at = now;
                }
                self.schedule(at, Due::Cmd(t.cmd), now);
            }
        }
    }

    /// Puts something on the timeline. When the timeline is full, the earliest entry is run
    /// at once (counted), so nothing is lost and no backlog blocks newer commands.
    fn schedule(&mut self, at: u64, due: Due, now: u64) {
        if self.pending.is_full()
            && let Some(first) = self.pending.pop()
        {
            self.stats.counters.bump(Counter::PendingOverflow);
            self.run_due(first.due, now);
        }
        let idx = self.pending.partition_point(|p| p.at > at);
        // Cannot fail: there is room (made just above if needed).
        let _ = self.pending.insert(idx, Pending { at, due });
    }

    /// Reports the bars that begin in `from..to` and keeps the delay on the tempo.
    fn transport_events(&mut self, from: u64, to: u64) {
        let bpm = self.transport.effective_bpm() as f32;
        if self.delay.bpm() != bpm {
            self.delay.set_bpm(bpm);
        }
        let bar = self.transport.beats_per_bar() as f64;
        let (events, stats) = (&mut self.events, &self.stats);
        self.transport.each_boundary(from, to, bar, |frame, n| {
            push_event(
                events,
                stats,
                frame,
                EventKind::Bar(n.clamp(0, u32::MAX as i64 - 1) as u32 + 1),
            );
        });
        if self.clock_on {
            let (q, stats) = (&mut self.clock_out, &self.stats);
            let tick = 1.0 / transport::TICKS_PER_BEAT;
            self.transport.each_boundary(from, to, tick, |frame, _| {
                push_clock(q, stats, frame, event::ClockMsg::Tick);
            });
        }
    }

    /// Emits a MIDI transport message (when clock out is on). Real-time safe.
    pub(crate) fn clock_msg(&mut self, frame: u64, msg: event::ClockMsg) {
        if self.clock_on {
            push_clock(&mut self.clock_out, &self.stats, frame, msg);
        }
    }

    fn emit(&mut self, frame: u64, kind: EventKind) {
        push_event(&mut self.events, &self.stats, frame, kind);
    }
}

/// Reports an event, counting it as dropped when the queue is full. Real-time safe.
fn push_event(
    events: &mut HeapProd<EngineEvent>,
    stats: &EngineStats,
    frame: u64,
    kind: EventKind,
) {
    if events.try_push(EngineEvent { frame, kind }).is_err() {
        stats.counters.bump(Counter::EventsDropped);
    }
}

/// Queues a clock message, counting it as dropped when the queue is full. Real-time safe.
fn push_clock(
    q: &mut HeapProd<event::TimedClock>,
    stats: &EngineStats,
    frame: u64,
    msg: event::ClockMsg,
) {
    if q.try_push(event::TimedClock { frame, msg }).is_err() {
        stats.counters.bump(Counter::EventsDropped);
    }
}

fn split<T>(capacity: usize) -> (HeapProd<T>, HeapCons<T>) {
    use ringbuf::traits::Split;
    ringbuf::HeapRb::<T>::new(capacity).split()
}
