//! Audio output through cpal.

pub mod output;
pub mod quiet;
pub mod rt_guard;
