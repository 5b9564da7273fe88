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
    /// Commands that could not be queued (queue full).
    pub dropped_commands: usize,
}

/// Frame at which a script time takes effect.
pub fn frame_of(seconds: f64, rate: u32) -> u64 {
    (seconds * rate as f64).round() as u64
}

/// Renders `seconds` of audio in blocks of `block` frames, feeding `script` commands stamped with
/// their exact frames. `on_block` sees each rendered block (for progress).
pub fn render(
    engine: &mut Engine,
    handle: &mut EngineHandle,
    script: &Script,
    seconds: f64,
    block: usize,
    mut on_block: impl FnMut(u64, u64),
) -> Rendered {
    let rate = engine.settings().sample_rate;
    // The limiter's look-ahead delays the output: render that much longer and drop the start,
    // so frame f of the file is engine frame f (as a DAW compensates plug-in latency).
    let latency = engine.latency() as u64;
    let wanted = frame_of(seconds, rate);
    let total = wanted + latency;
    let mut samples = Vec::with_capacity(total as usize * 2);
    let mut events = Vec::new();
    let mut next = 0usize;
    let mut dropped = 0;
    let mut buf = vec![0.0f32; block * 2];
    let mut done = 0u64;
    while done < total {
        let n = (total - done).min(block as u64) as usize;
        let end = done + n as u64;
        // Queue every command due before this block ends; later ones wait their turn.
        while let Some(&(t, cmd)) = script.events.get(next) {
            let at = frame_of(t, rate);
            if at >= end {
                break;
            }
            if handle.send(Timed { at, cmd }).is_err() {
                dropped += 1;
            }
            next += 1;
        }
        engine.process(&mut buf[..n * 2]);
        let skip = latency.saturating_sub(done).min(n as u64) as usize;
        samples.extend_from_slice(&buf[skip * 2..n * 2]);
        events.extend(handle.drain_events());
        handle.collect_retired();
        done = end;
        on_block(done.min(wanted), wanted);
    }
    Rendered {
        samples,
        events,
        dropped_commands: dropped,
    }
}
