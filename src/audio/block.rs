//! One block of audio from the engine, with the clock and load published: what every output
//! (a device's callback, the paced thread) runs per block. Real-time safe.

use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::engine::Engine;
use crate::engine::shared::{EngineStats, mono_nanos};

/// Largest callback handled in one pass through the conversion buffer (frames).
pub const SCRATCH_FRAMES: usize = 4096;

/// One block of audio (interleaved stereo `floats`) from the engine, with the clock and load
/// published: what every output (a device's callback, the paced thread) runs per block.
/// `heard_in` is how long from now until the block is heard, in ns (negative: a paced block
/// already late for its deadline). Real-time safe.
pub fn render_block(
    engine: &mut Engine,
    floats: &mut [f32],
    stats: &EngineStats,
    rate: f64,
    heard_in: i64,
) {
    let t0 = Instant::now();
    let frames = floats.len() / 2;
    let out_delay = heard_in.max(0) as u64;
    engine.set_output_delay(heard_in);
    engine.process(floats);
    stats
        .clock
        .publish_with_delay(engine.frame(), mono_nanos(), frames as u64, out_delay);
    let budget = frames as f64 / rate;
    let load = (t0.elapsed().as_secs_f64() / budget.max(1e-9) * 1000.0) as u32;
    stats.load_permille.store(load, Ordering::Relaxed);
    stats.load_max_permille.fetch_max(load, Ordering::Relaxed);
    if load > 1000 {
        stats.overloads.fetch_add(1, Ordering::Relaxed);
    }
}
