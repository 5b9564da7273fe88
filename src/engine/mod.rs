//! The real-time core: a plain struct rendering interleaved stereo blocks, made of parts that
//! each own their state.
//!
//! Everything here is allocated in [`Engine::new`]; [`Engine::process`] never allocates, frees,
//! locks, blocks, logs or does I/O. Control traffic arrives over lock-free SPSC queues owned by
//! an [`EngineHandle`](handle::EngineHandle) on the control side; what the engine reports goes
//! out over an event queue and through the atomics of [`shared::EngineStats`].
//!
//! The parts (`docs/dev/architecture.md` draws them): `io` (the queues and meters),
//! `timeline` (commands and quantised launches waiting for their frame), `slots` (sample
//! buffers coming and going), `pads` (the pad bank and its voices: presses, launches,
//! allocation), `keylock` (the stretcher pool and how each voice keeps its key), `mix` (per-pad
//! shaping, buses, effects, limiter), `transport` (the musical clock) and `link` (Ableton Link's
//! session, which the transport follows when it is on). `apply` routes each
//! command to the parts it changes. Below them: `voice` (one playing sample), `source` (what
//! voices read samples through), `command`, `event`, `params` (the parameter table),
//! `settings`, `shared`. `input` (the audio input's frames of each block) and `record` (takes
//! into pads) sit beside the mixer. No part reaches into this file; `Engine` only composes
//! them.

pub mod apply;
pub mod command;
pub(crate) mod drift;
pub mod event;
pub mod handle;
pub mod host_time;
pub(crate) mod input;
pub(crate) mod io;
pub mod keylock;
pub mod link;
pub mod live;
pub mod meters;
pub mod mix;
pub mod pads;
pub mod params;
pub(crate) mod read;
pub mod record;
pub mod rt;
pub mod settings;
pub mod shared;
pub mod slots;
pub mod source;
pub mod stems;
pub(crate) mod streaming;
pub(crate) mod timeline;
pub mod transport;
pub mod voice;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ringbuf::{HeapCons, HeapProd};

use command::Command;
use event::EventKind;
pub use handle::{CommandLane, EngineHandle, HandleError};
pub use io::CLOCK_QUEUE;
use io::Io;
use keylock::Pool;
pub use mix::MAX_TAILS;
use mix::Mixer;
use pads::PadBank;
pub use settings::{EngineError, EngineSettings, PENDING_CAPACITY};
use shared::{Counter, EngineStats};
use slots::SlotTable;
pub use slots::{Load, Retired};
use timeline::{Due, Timeline};
use transport::Transport;
use voice::VoiceState;

/// The parts `apply` works on, lent from the engine's fields (a macro, not a method: the
/// callers use other fields beside it).
macro_rules! apply_ctx {
    ($e:ident) => {
        apply::Ctx {
            bank: &mut $e.bank,
            slots: &mut $e.slots,
            mixer: &mut $e.mixer,
            pool: &mut $e.pool,
            transport: &mut $e.transport,
            taps: &mut $e.taps,
            io: &mut $e.io,
            rate: $e.settings.sample_rate,
        }
    };
}

/// The audio engine. Create with [`Engine::new`], drive with [`Engine::process`].
pub struct Engine {
    settings: EngineSettings,
    /// Commands in, events and clock out, meters.
    io: Io,
    /// What waits for its frame.
    timeline: Timeline,
    slots: SlotTable,
    bank: PadBank,
    mixer: Mixer,
    /// The real-time stretchers of key lock and transpose.
    pool: Pool,
    transport: Transport,
    taps: apply::Taps,
    /// The audio input's frames of each block.
    input: input::InputBus,
    /// Takes into pads.
    recorder: record::Recorder,
    /// Ableton Link, once the control side attached it (it never leaves again).
    link: Option<Box<link::LinkPart>>,
    links: HeapCons<Box<link::LinkPart>>,
    /// Frames rendered so far.
    frame: u64,
}

impl Engine {
    /// Builds an engine and the control-side handle connected to it. Allocates everything the
    /// engine will ever use; not real-time safe.
    pub fn new(settings: EngineSettings) -> Result<(Engine, EngineHandle), EngineError> {
        settings.validate()?;
        let s = settings;
        let (cmd_tx, cmd_rx) = split(s.command_queue);
        let (lane_tx, lane_rx): (Vec<_>, Vec<_>) = (0..s.lanes)
            .map(|_| split::<command::Timed>(s.command_queue))
            .unzip();
        let (load_tx, load_rx) = split(s.sample_slots);
        let (ev_tx, ev_rx) = split(s.event_queue);
        // Room for every slot plus every load in flight: a retire can never find the queue full.
        let (ret_tx, ret_rx) = split(2 * s.sample_slots);
        let (clk_tx, clk_rx) = split(CLOCK_QUEUE);
        let (unit_tx, unit_rx) = split(s.stretch_units.max(1));
        let (back_tx, back_rx) = split(s.stretch_units.max(1));
        let (link_tx, link_rx) = split(1);
        let stats = Arc::new(EngineStats::new(s.pads));
        let bank = PadBank::new(&s);
        let hints = Arc::new(crate::sample::stream::StreamHints::new(bank.voices.len()));
        let (lanes, workers) = keylock::ahead::lanes(
            s.stretch_units,
            s.stretch_workers,
            keylock::ahead::AHEAD_FRAMES,
        );
        let (rec_q, input_rx, rec_ends) = record::queues(s.sample_rate);
        let engine = Engine {
            input: input::InputBus::new(input_rx, s.max_block, s.frames(s.fade_ms), s.sample_rate),
            recorder: record::Recorder::new(rec_q, s.sample_rate),
            settings: s,
            io: Io::new(
                cmd_rx,
                lane_rx.into_boxed_slice(),
                ev_tx,
                clk_tx,
                stats.clone(),
            ),
            timeline: Timeline::new(s.frames(s.max_ahead_ms) as u64),
            slots: SlotTable::new(s.sample_slots, load_rx, ret_tx),
            mixer: Mixer::new(&s, bank.voices.len(), hints.clone()),
            bank,
            pool: Pool::new(&s, unit_rx, back_tx, lanes),
            transport: Transport::new(s.sample_rate),
            taps: apply::Taps::default(),
            link: None,
            links: link_rx,
            frame: 0,
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
            link: link_tx,
            workers,
            record: rec_ends,
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
        &self.io.stats
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
        self.mixer.latency()
    }

    /// Tells the engine how long from now the next block's output is heard (the device's
    /// buffering, ns; negative for a paced block already late for its deadline), for Link's
    /// timing. Real-time safe.
    pub fn set_output_delay(&mut self, nanos: i64) {
        if let Some(l) = self.link.as_deref_mut() {
            l.set_output_delay(nanos);
        }
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
        self.io
            .stats
            .flushed
            .store(crate::dsp::denormal::denormals_flushed(), Ordering::Relaxed);
        let usable = out.len() & !1;
        out[usable..].fill(0.0);
        self.follow_link(usable / 2);
        self.pool.note_block(usable / 2);
        let max = self.settings.max_block * 2;
        for chunk in out[..usable].chunks_mut(max) {
            self.process_chunk(chunk);
        }
        self.mixer.end_blocks(&mut self.bank.voices);
    }

    /// Takes queued commands (within the per-block budget) and runs those already due, without
    /// rendering: an offline driver feeding more commands than the queue holds at one frame
    /// calls this between feeds, so none is lost and each still lands on its frame.
    /// Real-time safe (what `process` does before rendering).
    pub fn take_commands(&mut self) {
        self.drain_inputs();
        self.run_due_until(self.frame);
    }

    /// One block of at most `max_block` frames: inputs, then segments split where something
    /// is due (and on a gliding tempo's steps), then the block's meters.
    fn process_chunk(&mut self, out: &mut [f32]) {
        self.drain_inputs();
        let frames = out.len() / 2;
        self.input.read(frames, &self.io.stats);
        self.pool.begin_block(frames);
        out.fill(0.0);
        self.mixer.begin_block(out.len());
        let block_start = self.frame;
        let mut cursor = 0usize;
        while cursor < frames {
            let now = block_start + cursor as u64;
            self.run_due_until(now);
            let mut seg_end = match self.timeline.next_at() {
                Some(at) if at < block_start + frames as u64 => (at - block_start) as usize,
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
        let mut cx = apply_ctx!(self);
        record::capture(
            &mut self.recorder,
            &mut cx,
            block_start,
            self.input.block(),
            out,
        );
        self.frame += frames as u64;
        let (io, frame) = (&mut self.io, self.frame);
        self.slots
            .retire_unused(|slot| io.emit(frame, EventKind::SlotRetired(slot)));
        self.publish(out);
    }

    /// Frames `a..b` of the block: the key-lock pass decides how each voice plays, then the
    /// mixer renders.
    fn render_segment(&mut self, out: &mut [f32], a: usize, b: usize, seg_start: u64) {
        if a == b {
            return;
        }
        let mut kcx = keylock::Ctx {
            bank: &mut self.bank,
            slots: &mut self.slots,
            transport: &self.transport,
            io: &mut self.io,
        };
        self.pool.pass(seg_start, &mut kcx);
        self.input.monitor_into(&mut out[2 * a..2 * b], a, b);
        let mut mcx = mix::Ctx {
            bank: &mut self.bank,
            slots: &mut self.slots,
            pool: &mut self.pool,
            io: &mut self.io,
            transport: &self.transport,
        };
        self.mixer.render(out, a, b, seg_start, &mut mcx);
    }

    /// The block's meters, voice count, key-lock use and transport position.
    fn publish(&mut self, out: &[f32]) {
        let stats = &self.io.stats;
        let peak = crate::dsp::finite::peak(out);
        stats.record_peak(peak);
        let limiter = self.mixer.take_min_gain();
        stats.record_limiter_gain(limiter);
        if stats.meters.wanted() {
            stats.meters.record_master(peak, limiter);
        }
        let voices = &self.bank.voices;
        let active = voices
            .iter()
            .filter(|v| v.state != VoiceState::Free)
            .count();
        stats.active_voices.store(active as u32, Ordering::Relaxed);
        self.pool.publish(voices, stats);
        let t = &self.transport;
        stats.transport.publish(
            self.frame,
            t.bpm(),
            t.effective_bpm(),
            t.beat_at(self.frame),
            t.beats_per_bar(),
            t.running(),
        );
        stats.frames.store(self.frame, Ordering::Release);
    }

    /// Runs everything on the timeline due at or before `now`.
    fn run_due_until(&mut self, now: u64) {
        while let Some(due) = self.timeline.pop_due(now) {
            self.run_due(due, now);
        }
    }

    fn run_due(&mut self, due: Due, now: u64) {
        match due {
            Due::Cmd(cmd) => self.apply(cmd, now),
            Due::Launch(l) => {
                let mut cx = pads::Ctx {
                    slots: &mut self.slots,
                    transport: &mut self.transport,
                    io: &mut self.io,
                };
                self.bank.launch_queued(l, now, &mut cx);
            }
        }
    }

    /// Applies a command through `apply` (recording's through `record`), putting a quantised
    /// launch or a take's begin or end it asks for on the timeline.
    fn apply(&mut self, cmd: Command, now: u64) {
        let lookahead = self.mixer.latency();
        let mut cx = apply_ctx!(self);
        let later = match cmd {
            // Recording: its own part, with the others lent.
            Command::Record(p, rc) => {
                record::command(&mut self.recorder, &mut cx, p, rc, now, lookahead)
                    .map(|(at, next)| (at, Due::Cmd(next)))
            }
            Command::Input(ic) => {
                record::settings(&mut self.recorder, &mut self.input, ic, &cx);
                None
            }
            _ => apply::apply(&mut cx, cmd, now).map(|(at, l)| (at, Due::Launch(l))),
        };
        if let Some((at, due)) = later {
            self.schedule(at, due, now);
        }
    }

    /// Ableton Link: the session's tempo, phase and start/stop for the block about to render
    /// (nothing when Link is not attached or not on).
    fn follow_link(&mut self, frames: usize) {
        use ringbuf::traits::Consumer;
        if self.link.is_none() {
            // Follows from the next block, after the commands queued before it (a set's tempo
            // is the set's, not a change to give the session).
            self.link = self.links.try_pop();
            return;
        }
        let Some(mut part) = self.link.take() else {
            return;
        };
        let (frame, rate, latency) = (self.frame, self.settings.sample_rate, self.latency());
        part.sync((frame, frames), rate, latency, &mut LinkHostOf(self));
        self.link = Some(part);
    }

    /// Takes new sample loads, stretchers and commands from the queues, within the per-block
    /// command budget.
    fn drain_inputs(&mut self) {
        self.slots.take_loads();
        self.pool.take_units();
        let mut budget = self.settings.command_budget;
        let now = self.frame;
        for q in 0..self.io.queues() {
            while budget > 0 {
                let Some(t) = self.io.pop(q) else { break };
                budget -= 1;
                if !t.cmd.is_finite() {
                    self.io.bump(Counter::NonFinite);
                    continue;
                }
                let mut at = t.at;
                if self.timeline.too_far(at, now) {
                    self.io.bump(Counter::FarFuture);
                    at = now;
                }
                self.schedule(at, Due::Cmd(t.cmd), now);
            }
        }
    }

    /// Puts something on the timeline. When the timeline is full, the earliest entry is run
    /// at once (counted), so nothing is lost and no backlog blocks newer commands.
    fn schedule(&mut self, at: u64, due: Due, now: u64) {
        if let Some(first) = self.timeline.make_room() {
            self.io.bump(Counter::PendingOverflow);
            self.run_due(first, now);
        }
        self.timeline.insert(at, due);
    }

    /// Reports the bars that begin in `from..to`, sends MIDI clock ticks and keeps the delay
    /// on the tempo.
    fn transport_events(&mut self, from: u64, to: u64) {
        self.mixer
            .follow_tempo(self.transport.effective_bpm() as f32);
        let bar = self.transport.beats_per_bar() as f64;
        let io = &mut self.io;
        self.transport.each_boundary(from, to, bar, |frame, n| {
            io.emit(
                frame,
                EventKind::Bar(n.clamp(0, u32::MAX as i64 - 1) as u32 + 1),
            );
        });
        if io.clock_on {
            let tick = 1.0 / transport::TICKS_PER_BEAT;
            self.transport.each_boundary(from, to, tick, |frame, _| {
                io.clock(frame, event::ClockMsg::Tick);
            });
        }
    }
}

/// The engine as Link's follower sees it: the transport, commands applied at the current frame,
/// news as events.
struct LinkHostOf<'a>(&'a mut Engine);

impl link::LinkHost for LinkHostOf<'_> {
    fn transport(&self) -> Transport {
        self.0.transport
    }

    fn apply(&mut self, cmd: command::TransportCmd) {
        let now = self.0.frame;
        self.0.apply(Command::Transport(cmd), now);
    }

    fn apply_at(&mut self, frame: u64, cmd: command::TransportCmd) {
        let now = self.0.frame;
        self.0
            .schedule(frame, Due::Cmd(Command::Transport(cmd)), now);
    }

    fn xruns(&self) -> u64 {
        self.0.io.stats.xruns.load(Ordering::Relaxed)
    }

    fn report(&mut self, news: link::LinkNews) {
        let now = self.0.frame;
        self.0.io.emit(now, EventKind::Link(news));
    }
}

fn split<T>(capacity: usize) -> (HeapProd<T>, HeapCons<T>) {
    use ringbuf::traits::Split;
    ringbuf::HeapRb::<T>::new(capacity).split()
}
