//! Sample-rate conversion of whole clips with rubato's FFT resampler. Not real-time safe.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Resamples interleaved stereo from `from` Hz to `to` Hz. Returns the input unchanged when the
/// rates match.
pub fn resample_stereo(input: Vec<f32>, from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to || input.is_empty() {
        return Ok(input);
    }
    let frames = input.len() / 2;
    let mut rs = Fft::<f32>::new(from as usize, to as usize, 1024, 2, FixedSync::Both)
        .map_err(|e| e.to_string())?;
    let adapter = InterleavedSlice::new(&input, 2, frames).map_err(|e| e.to_string())?;
    let out = rs
        .process_all(&adapter, frames, None)
        .map_err(|e| e.to_string())?;
    Ok(out.take_data())
}
