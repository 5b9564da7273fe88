//! Key lock and transpose: which voices need a time stretcher, the stretcher pool, priming,
//! and hand-offs between the sample, stretched tables and real-time stretchers. Real-time
//! safe (runs inside `Engine::process`).
//!
//! A voice wants a pitch per tempo `k = pitch / tempo` (relative to the sample): 1 for plain
//! varispeed, `2^(t/12)` for a pad transposed by `t` without key lock (any speed), and
//! `2^(t/12) / tempo` with key lock. A buffer read directly gives a fixed `k`: 1 for the sample,
//! `pitch0 × scale` for a table stretched by `1/scale` and transposed by `pitch0`. So:
//!
//! - a buffer whose `k` is within [`EXACT_CENTS`] is played directly (the plain path, or a
//!   stretched table: as cheap as plain playback);
//! - otherwise the voice takes a real-time stretcher from the pool, primed with the audio before
//!   its position (so nothing is late) and handed over with a cross-fade;
//! - when none is free (the pool's size is the CPU budget), the voice plays the buffer whose
//!   `k` is nearest, a small varispeed correction off pitch (the governor; counted and shown);
//! - a voice whose `k` has held for [`STEADY_SECONDS`] asks the control side for a table at
//!   that ratio, and moves onto it (phase-aligned cross-fade) once it exists.

pub mod ahead;
mod handoff;
mod pool;
mod prime;
mod pull;
mod unit;
pub mod view;

pub use pool::{
    ALIGN_MS, ALIGN_WINDOW, CHANGE_CENTS, EXACT_CENTS, HANDOFF_MS, MAX_TABLES, STEADY_SECONDS,
    cents,
};
pub(crate) use pool::{Ctx, Pool, add_table, drop_table};
pub(crate) use prime::feed_rate;
pub(crate) use pull::{Pulled, render_stretched};
