//! Timing the engine block by block: what every `padlooper bench` pass measures. Not
//! real-time (it drives the engine from the calling thread and records each block's time).

use std::time::Instant;

use crate::engine::{Engine, EngineHandle};

/// Results of one rendering pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    /// Pass name.
    pub name: &'static str,
    /// Audio seconds rendered per wall second (only `process` is timed).
    pub rtf: f64,
    /// Block times in µs: median, 99th and 99.9th percentile, maximum.
    pub p50: f64,
    /// See `p50`.
    pub p99: f64,
    /// See `p50`.
    pub p999: f64,
    /// See `p50`.
    pub max: f64,
    /// Blocks that took longer than their real-time budget.
    pub over_budget: usize,
    /// Blocks rendered.
    pub blocks: usize,
    /// A block's real-time budget in µs.
    pub budget_us: f64,
    /// Highest absolute output sample.
    pub peak: f32,
}

impl Pass {
    /// A time in µs as a share of the block budget, in %.
    pub fn pct(&self, us: f64) -> f64 {
        100.0 * us / self.budget_us
    }
}

/// The `p` quantile of sorted values (0 for none).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Peak resident set size in bytes (Linux `VmHWM`), if known.
pub fn peak_rss() -> Option<u64> {
    crate::sample::memory::resident().map(|(_, peak)| peak)
}

/// Renders `blocks` blocks of `block` frames, timing each `process` call alone. Before each
/// block, `before(b, handle)` may send commands; after it, `after(b, handle)` sees the handle
/// (events, tables); neither is timed. (`Engine::process` flushes subnormals itself, as on the
/// audio thread.)
pub fn measure(
    name: &'static str,
    engine: &mut Engine,
    handle: &mut EngineHandle,
    blocks: usize,
    block: usize,
    before: impl FnMut(usize, &mut EngineHandle),
    after: impl FnMut(usize, &mut EngineHandle),
) -> Pass {
    measure_with(name, engine, handle, blocks, block, false, before, after)
}

/// [`measure`], and when `paced`, each block starts no earlier than its time on a real-time
/// clock (as a sound card asks for them): what threads working beside the engine (the
/// stretchers' workers) have between blocks is real time.
#[allow(clippy::too_many_arguments)]
pub fn measure_with(
    name: &'static str,
    engine: &mut Engine,
    handle: &mut EngineHandle,
    blocks: usize,
    block: usize,
    paced: bool,
    mut before: impl FnMut(usize, &mut EngineHandle),
    mut after: impl FnMut(usize, &mut EngineHandle),
) -> Pass {
    let rate = engine.settings().sample_rate;
    let mut buf = vec![0.0f32; 2 * block];
    let mut times = Vec::with_capacity(blocks);
    let mut peak = 0.0f32;
    let mut busy = 0.0f64;
    let start = Instant::now();
    let period = std::time::Duration::from_secs_f64(block as f64 / rate as f64);
    for b in 0..blocks {
        before(b, handle);
        if paced
            && let Some(wait) = (start + period * b as u32).checked_duration_since(Instant::now())
        {
            std::thread::sleep(wait);
        }
        let t = Instant::now();
        engine.process(&mut buf);
        let us = t.elapsed().as_secs_f64() * 1e6;
        busy += us;
        times.push(us);
        peak = buf.iter().fold(peak, |m, s| m.max(s.abs()));
        after(b, handle);
    }
    let budget_us = block as f64 / rate as f64 * 1e6;
    let over_budget = times.iter().filter(|&&t| t > budget_us).count();
    times.sort_by(|a, b| a.total_cmp(b));
    Pass {
        name,
        rtf: (blocks * block) as f64 / rate as f64 / (busy / 1e6).max(1e-12),
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        p999: percentile(&times, 0.999),
        max: *times.last().unwrap_or(&0.0),
        over_budget,
        blocks,
        budget_us,
        peak,
    }
}
