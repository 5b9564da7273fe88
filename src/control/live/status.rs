//! The periodic status line, and the one-time explanation of each counter the first time it
//! moves. Not real-time.

use std::sync::atomic::Ordering;

use crate::dsp::gain_to_db;
use crate::engine::EngineHandle;
use crate::engine::shared::{COUNTERS, EngineStats};

/// Formats megabytes.
pub fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The counters that are not zero, as `label N` pairs (empty when all are zero).
pub fn counters_text(stats: &EngineStats) -> String {
    let values = stats.counters.snapshot();
    COUNTERS
        .iter()
        .zip(values)
        .filter(|(_, v)| *v > 0)
        .map(|(c, v)| format!("{} {v}", c.label))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Watches the counters: says once, with advice, when each one first moves.
#[derive(Debug, Default)]
pub struct CounterWatch {
    reported: Vec<bool>,
}

impl CounterWatch {
    /// A watch that has reported nothing yet.
    pub fn new() -> Self {
        Self {
            reported: vec![false; COUNTERS.len()],
        }
    }

    /// Messages for counters that moved for the first time since the watch began.
    pub fn first_occurrences(&mut self, stats: &EngineStats) -> Vec<String> {
        let values = stats.counters.snapshot();
        let mut out = Vec::new();
        for (i, (c, v)) in COUNTERS.iter().zip(values).enumerate() {
            if v > 0 && !self.reported[i] {
                self.reported[i] = true;
                out.push(format!("{} ({v}): {}", c.label, c.advice));
            }
        }
        out
    }
}

/// One status line: callback load (last and worst since the previous line, % of the block's
/// time budget), xruns, overloaded callbacks, voices, sample memory, output peak, the master
/// limiter's deepest gain reduction since the previous line, the input meter once input
/// arrives, what recording does, and every non-zero drop counter.
/// When key lock is at work: voices on real-time stretchers, on stretched tables (`tables`:
/// their memory and number) and governed. Resets the per-period maxima.
pub fn status_line(handle: &EngineHandle, tables: Option<(usize, usize)>) -> String {
    let s = handle.stats();
    let load = s.load_permille.load(Ordering::Relaxed) as f32 / 10.0;
    let load_max = s.load_max_permille.swap(0, Ordering::Relaxed) as f32 / 10.0;
    let peak = s.take_peak();
    let limiter = s.take_limiter_gain();
    let (mem, raw) = handle.sample_memory();
    let mut line = format!(
        "load {load:.1}% (max {load_max:.1}%) | xruns {} | overloads {} | voices {}/{} | samples {} (float32 {}) | peak {:.1} dBFS | limiter {:.1} dB",
        s.xruns.load(Ordering::Relaxed),
        s.overloads.load(Ordering::Relaxed),
        s.active_voices.load(Ordering::Relaxed),
        handle.settings().voices,
        mb(mem),
        mb(raw),
        gain_to_db(peak),
        gain_to_db(limiter),
    );
    let k = s.keylock.read();
    if k.rt + k.tables + k.governed > 0 || tables.is_some_and(|t| t.1 > 0) {
        line += &format!(
            " | key lock: {} stretching (of {}{}), {} on tables",
            k.rt,
            k.limit.min(k.units),
            match handle.stretch_workers() {
                0 => String::new(),
                w => format!(", {} ahead on {w} threads", k.ahead),
            },
            k.tables
        );
        if let Some((bytes, n)) = tables {
            line += &format!(" ({n} tables, {})", mb(bytes));
        }
        if k.governed > 0 {
            line += &format!(
                ", {} governed (up to {:.0} cents off)",
                k.governed, k.worst_cents
            );
        }
    }
    let r = &s.record;
    if r.input_level() > 0.0 {
        line += &format!(" | input {:.1} dBFS", r.input_db().max(-99.0));
        let (ppm, target, _) = r.drift();
        if target > 0 {
            line += &format!(" (clock {ppm:+.1} ppm)");
        }
    }
    {
        use crate::engine::record::RecordState as R;
        match r.state() {
            R::Idle => {}
            R::Armed(p) => line += &format!(" | record armed on pad {p}"),
            R::Recording(p) | R::Finishing(p) => line += &format!(" | recording pad {p}"),
            R::Overdubbing(p) => line += &format!(" | overdubbing pad {p}"),
        }
    }
    let counters = counters_text(s);
    if !counters.is_empty() {
        line += &format!(" | {counters}");
    }
    line
}
