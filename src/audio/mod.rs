//! Audio output through cpal.

pub mod output;
pub mod priority;
pub mod quiet;
