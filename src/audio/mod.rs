//! Audio through cpal: the output, the input, and the blocks between them and the engine.

pub mod block;
pub mod input;
pub mod output;
pub mod paced;
pub mod priority;
pub mod quiet;

/// The fixed callback size to ask a device for: `want` frames, within the range it supports.
/// Not real-time.
pub fn fixed_buffer(supported: &cpal::SupportedBufferSize, want: u32) -> cpal::BufferSize {
    match supported {
        cpal::SupportedBufferSize::Range { min, max } => {
            cpal::BufferSize::Fixed(want.clamp(*min, *max))
        }
        _ => cpal::BufferSize::Fixed(want),
    }
}

/// Frames per callback of a stream opened with `config` (`default` when the device chose).
pub fn buffer_frames(config: &cpal::StreamConfig, default: u32) -> u32 {
    match config.buffer_size {
        cpal::BufferSize::Fixed(n) => n,
        cpal::BufferSize::Default => default,
    }
}
