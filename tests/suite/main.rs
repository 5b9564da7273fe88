//! The integration tests, in one binary (one link instead of one per file). Tests that
//! install a global allocator, interpose the C allocator or change process-wide state stay
//! in binaries of their own: `tests/{alsa_output,realtime_alloc,keylock_alloc,cancel,stems,streaming,soak}.rs`.

#[path = "../common/mod.rs"]
mod common;

mod analysis;
mod analysis_use;
mod bad_input;
mod bench_scene;
mod cli;
mod clock_out;
mod controller_recording;
mod controllers;
mod deploy;
mod device_leds;
mod docs;
mod edge_cases;
mod formats;
mod hardening;
mod hotplug;
mod isolator;
mod keylock;
mod keylock_workers;
mod latency;
mod learn;
mod link;
mod midi_fuzz;
mod overdub;
mod playback;
mod prepare;
mod profiles;
mod properties;
mod recording;
mod recording_kept;
mod reload;
mod resampled_loops;
mod service;
mod session_state;
mod set_editing;
mod sound_shaping;
mod structure;
mod table_cache;
mod transport;
mod web;
mod web_browser;
mod web_preview;
