//! MIDI input: byte parsing, controller mapping, LED feedback, ports and hot-plug, file replay.

pub mod controller;
pub mod leds;
pub mod parser;
pub mod smf;
pub mod state;
