//! Audio output through cpal.

pub mod block;
pub mod input;
pub mod output;
pub mod paced;
pub mod priority;
pub mod quiet;
