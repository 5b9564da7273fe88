//! Offline rendering: drives the engine faster than real time, deterministically. Not real-time.

use crate::config::script::Script;
use crate::engine::command::Timed;
use crate::engine::event::EngineEvent;
use crate::engine::{Engine, EngineHandle};

/// Output of an offline render.
pub struct Rendered {
    /// Interleaved stereo samples.
    pub samples: Vec<f32>,
    /// Everything the engine reported, in order.
    pub events: Vec<EngineEvent>,
    /// Commands lost (an offline render waits for room instead; only a feeder that can never
    /// be served counts here).
    pub dropped_commands: usize,
}

/// Frame at which a script time takes effect.
pub fn frame_of(seconds: f64, rate: u32) -> u64 {
    (seconds * rate as f64).round() as u64
}

/// Something that feeds commands into a render: called before each block with the block's
/// frame range, and after it with the events the block produced.
pub trait Feeder {
    /// Queue commands due in `start..end`. Returns how many are still waiting because the
    /// queue is full (they are kept: the driver makes room and asks again).
    fn before(&mut self, start: u64, end: u64, handle: &mut EngineHandle) -> usize;
    /// See the events of the block that ended at frame `end`.
    fn after(&mut self, _end: u64, _events: &[EngineEvent]) {}
}

/// A position in a script, with the engine frame its time 0 maps to. Used by offline renders
/// and by live playback alike.
#[derive(Debug, Clone, Copy)]
pub struct ScriptCursor {
    next: usize,
    origin: u64,
    rate: u32,
}

impl ScriptCursor {
    /// A cursor at the start of a script whose time 0 is engine frame `origin`.
    pub fn new(origin: u64, rate: u32) -> Self {
        Self {
            next: 0,
            origin,
            rate,
        }
    }

    /// Hands every command due before frame `limit` (exclusive) to `send`, stamped with its
    /// frame. When `send` returns false the command is kept and offered again next time.
    pub fn feed(&mut self, script: &Script, limit: u64, mut send: impl FnMut(Timed) -> bool) {
        while let Some(&(t, cmd)) = script.events.get(self.next) {
            let at = self.origin + frame_of(t, self.rate);
            if at >= limit || !send(Timed { at, cmd }) {
                break;
            }
            self.next += 1;
        }
    }

    /// Whether every command has been handed out.
    pub fn done(&self, script: &Script) -> bool {
        self.next >= script.events.len()
    }

    /// Engine frame at which the script's last command is due.
    pub fn end_frame(&self, script: &Script) -> u64 {
        self.origin + frame_of(script.duration(), self.rate)
    }
}

/// Feeds a script's commands stamped with their exact frames; commands that do not fit the
/// queue wait for room.
pub struct ScriptFeeder<'a> {
    script: &'a Script,
    cursor: ScriptCursor,
}

impl<'a> ScriptFeeder<'a> {
    /// Feeds `script` at `rate` Hz from frame 0.
    pub fn new(script: &'a Script, rate: u32) -> Self {
        Self {
            script,
            cursor: ScriptCursor::new(0, rate),
        }
    }
}

impl Feeder for ScriptFeeder<'_> {
    fn before(&mut self, _start: u64, end: u64, handle: &mut EngineHandle) -> usize {
        let mut waiting = 0;
        self.cursor
            .feed(self.script, end, |t| match handle.send(t) {
                Ok(()) => true,
                Err(crate::engine::HandleError::QueueFull(_)) => {
                    waiting = 1;
                    false
                }
                // A non-finite value is refused (and counted); the script goes on.
                Err(_) => true,
            });
        waiting
    }
}

/// Renders `seconds` of audio in blocks of `block` frames with a script.
pub fn render(
    engine: &mut Engine,
    handle: &mut EngineHandle,
    script: &Script,
    seconds: f64,
    block: usize,
    on_block: impl FnMut(u64, u64),
) -> Rendered {
    let rate = engine.settings().sample_rate;
    render_with(
        engine,
        handle,
        &mut [&mut ScriptFeeder::new(script, rate)],
        seconds,
        block,
        on_block,
    )
}

/// Renders `seconds` of audio in blocks of `block` frames, asking each feeder for commands
/// before every block. `on_block` sees the progress (frames done, total).
pub fn render_with(
    engine: &mut Engine,
    handle: &mut EngineHandle,
    feeders: &mut [&mut dyn Feeder],
    seconds: f64,
    block: usize,
    on_block: impl FnMut(u64, u64),
) -> Rendered {
    let mut samples = Vec::new();
    let mut events = Vec::new();
    let dropped = render_into(
        engine,
        handle,
        feeders,
        seconds,
        block,
        &mut |s| {
            samples.extend_from_slice(s);
            Ok::<(), std::convert::Infallible>(())
        },
        &mut |e| events.extend_from_slice(e),
        on_block,
    );
    let Ok(dropped) = dropped;
    Rendered {
        samples,
        events,
        dropped_commands: dropped,
    }
}

/// Streams a render: each block's audio goes to `on_audio` (stopping at its first error)
/// and its events to `on_events` as soon as it is rendered, so nothing grows with the length
/// of the render. Returns the number of commands lost (none unless the engine stops taking
/// commands).
#[allow(clippy::too_many_arguments)]
pub fn render_into<E>(
    engine: &mut Engine,
    handle: &mut EngineHandle,
    feeders: &mut [&mut dyn Feeder],
    seconds: f64,
    block: usize,
    on_audio: &mut dyn FnMut(&[f32]) -> Result<(), E>,
    on_events: &mut dyn FnMut(&[EngineEvent]),
    mut on_block: impl FnMut(u64, u64),
) -> Result<usize, E> {
    let rate = engine.settings().sample_rate;
    // The limiter's look-ahead delays the output: render that much longer and drop the start,
    // so frame f of the file is engine frame f (as a DAW compensates plug-in latency).
    let latency = engine.latency() as u64;
    let wanted = frame_of(seconds, rate);
    let total = wanted + latency;
    let block = block.max(1);
    let mut dropped = 0;
    let mut buf = vec![0.0f32; block * 2];
    let mut done = 0u64;
    while done < total {
        let n = (total - done).min(block as u64) as usize;
        let end = done + n as u64;
        // Feed until nothing waits: the engine takes the queue in between (commands due now
        // run, later ones wait on its timeline), so a burst larger than the queue is not lost.
        loop {
            let waiting: usize = feeders
                .iter_mut()
                .map(|f| f.before(done, end, handle))
                .sum();
            if waiting == 0 {
                break;
            }
            let room = handle.command_room();
            engine.take_commands();
            if handle.command_room() == room {
                // Nothing was taken: the engine cannot make room (should not happen).
                dropped += waiting;
                break;
            }
        }
        // Workers (when started) keep up, as they would in real time.
        handle.settle_stretch_workers();
        engine.process(&mut buf[..n * 2]);
        let skip = latency.saturating_sub(done).min(n as u64) as usize;
        on_audio(&buf[skip * 2..n * 2])?;
        let new = handle.drain_events();
        for f in feeders.iter_mut() {
            f.after(end, &new);
        }
        on_events(&new);
        handle.collect_retired();
        done = end;
        on_block(done.min(wanted), wanted);
    }
    Ok(dropped)
}

/// Collects the MIDI clock and transport messages the engine emits during a render, with
/// their exact frames (for `render --midi-out`).
pub struct ClockCollector {
    queue: ringbuf::HeapCons<crate::engine::event::TimedClock>,
    /// Everything collected so far.
    pub messages: Vec<crate::engine::event::TimedClock>,
}

impl ClockCollector {
    /// Takes the engine's clock-out queue (and turns clock output on); None if already taken.
    pub fn new(handle: &mut EngineHandle) -> Option<Self> {
        Some(Self {
            queue: handle.take_clock_out()?,
            messages: Vec::new(),
        })
    }
}

impl Feeder for ClockCollector {
    fn before(&mut self, _start: u64, _end: u64, _handle: &mut EngineHandle) -> usize {
        0
    }
    fn after(&mut self, _end: u64, _events: &[EngineEvent]) {
        use ringbuf::traits::Consumer;
        self.messages.extend(self.queue.pop_iter());
    }
}

/// Runs a disk service between offline blocks: either waiting for the disk before every block
/// (renders identical to in-RAM ones) or one step per block in virtual time (a simulated slow
/// disk starves exactly as it would live, deterministically).
pub struct DiskFeeder {
    /// The service.
    pub service: crate::sample::stream::DiskService,
    /// Wait for every voice's look-ahead before each block.
    pub wait: bool,
    /// Reads per block when not waiting.
    pub reads_per_block: usize,
    last: u64,
}

impl DiskFeeder {
    /// Drives `service`; `wait`: see the type. Not real-time.
    pub fn new(service: crate::sample::stream::DiskService, wait: bool) -> Self {
        Self {
            service,
            wait,
            reads_per_block: 8,
            last: 0,
        }
    }
}

impl Feeder for DiskFeeder {
    fn before(&mut self, _start: u64, _end: u64, _handle: &mut EngineHandle) -> usize {
        0
    }
    fn after(&mut self, end: u64, _events: &[EngineEvent]) {
        // A new render counts from 0 again.
        let passed = if end >= self.last {
            end - self.last
        } else {
            end
        };
        self.service.advance(passed);
        self.last = end;
        if self.wait {
            self.service.fill_all();
        } else {
            self.service.step(self.reads_per_block);
        }
    }
}
