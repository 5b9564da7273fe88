//! The periodic status line. Not real-time.

use std::sync::atomic::Ordering;

use crate::dsp::gain_to_db;
use crate::engine::EngineHandle;

/// Formats megabytes.
pub fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// One status line: callback load (last and worst since the previous line, % of the block's time
/// budget), xruns, overloaded callbacks, voices, sample memory, output peak and the master
/// limiter's deepest gain reduction since the previous line. Resets the per-period maxima.
pub fn status_line(handle: &EngineHandle) -> String {
    let s = handle.stats();
    let load = s.load_permille.load(Ordering::Relaxed) as f32 / 10.0;
    let load_max = s.load_max_permille.swap(0, Ordering::Relaxed) as f32 / 10.0;
    let peak = s.take_peak();
    let limiter = s.take_limiter_gain();
    let (mem, raw) = handle.sample_memory();
    format!(
        "load {load:.1}% (max {load_max:.1}%) | xruns {} | overloads {} | voices {}/{} | samples {} (float32 {}) | peak {:.1} dBFS | limiter {:.1} dB",
        s.xruns.load(Ordering::Relaxed),
        s.overloads.load(Ordering::Relaxed),
        s.active_voices.load(Ordering::Relaxed),
        handle.settings().voices,
        mb(mem),
        mb(raw),
        gain_to_db(peak),
        gain_to_db(limiter),
    )
}
