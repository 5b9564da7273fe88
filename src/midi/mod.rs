//! MIDI input: byte parsing, controller mapping, LED feedback, ports and hot-plug, file replay.

pub mod clock_in;
pub mod clock_out;
pub mod controller;
pub mod feedback;
pub mod learn;
pub mod leds;
pub mod midir_backend;
pub mod parser;
pub mod ports;
pub mod rec_keys;
pub mod smf;
pub mod state;
