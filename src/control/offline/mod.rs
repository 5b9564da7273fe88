//! Offline front-ends of the engine: rendering, replaying a controller session, the soak test and the WAV writer. Not real-time.

pub mod renderer;
pub mod replay;
pub mod soak;
pub mod wav_out;
