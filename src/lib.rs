//! padlooper: a live looper/sampler engine for pad controllers.
//!
//! Real-time code lives in [`engine`] and [`dsp`]; everything else may allocate.

pub mod atomic_file;
pub mod audio;
pub mod bench;
pub mod cli;
pub mod config;
pub mod control;
pub mod demo;
pub mod dsp;
pub mod engine;
pub mod midi;
pub mod sample;
pub mod web;
