//! Sample storage, decoding and resampling (all off the audio thread, except read access).

pub mod analysis;
pub mod buffer;
pub mod builtin;
pub mod cancel;
pub mod decode;
pub mod error;
pub mod gapless;
pub mod loader;
pub mod memory;
pub mod mp4box;
pub mod open;
pub mod peaks;
pub mod pipeline;
pub mod plan;
pub mod resample;
pub mod stems;
pub mod stream;
pub mod stretch_table;
pub mod wav_repair;

pub use buffer::SampleBuffer;
pub use error::SampleError;
pub use loader::SampleSource;
