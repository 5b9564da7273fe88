//! How the audio thread reads sample frames: the one place it touches sample storage.
//!
//! [`FrameSource`] is read access to stereo frames, monomorphised per storage format by the
//! voice renderer; [`with_frames!`](crate::with_frames) picks the reader for a buffer's
//! storage: 16-bit or float frames in RAM ([`I16Frames`], [`F32Frames`]), a stem bundle mixed
//! down with per-stem gains ([`StemFrames`], SIMD in `stem_simd`), or a streamed table's
//! resident chunks ([`ChunkedFrames`], [`ChunkedStemFrames`]). `sample/` produces the
//! storage (decoding, resampling, the disk service); everything here is real-time safe.

mod chunked;
mod frames;
mod stem_simd;
mod stems;

pub use chunked::{ChunkedFrames, ChunkedStemFrames, StreamSample};
pub use frames::{F32Frames, FrameSource, I16Frames};
pub use stem_simd::{mix4_i16, mix4_i16_portable};
pub use stems::{BundleSample, StemFrames};

/// Runs `$body` with `$src` bound to a [`FrameSource`] over `$data` (a `&SampleData`),
/// monomorphised per storage format. Real-time safe.
#[macro_export]
macro_rules! with_frames {
    ($data:expr, |$src:ident| $body:expr) => {
        $crate::with_frames!($data, &$crate::sample::buffer::MIX_ONLY, |$src| $body)
    };
    ($data:expr, $gains:expr, |$src:ident| $body:expr) => {
        match $data {
            $crate::sample::buffer::SampleData::BundleI16 { groups, data } => {
                let $src = &$crate::engine::source::StemFrames::<i16>::new(data, *groups, $gains);
                $body
            }
            $crate::sample::buffer::SampleData::BundleF32 { groups, data } => {
                let $src = &$crate::engine::source::StemFrames::<f32>::new(data, *groups, $gains);
                $body
            }
            $crate::sample::buffer::SampleData::I16(d) => {
                let $src = &$crate::engine::source::I16Frames(d);
                $body
            }
            $crate::sample::buffer::SampleData::F32(d) => {
                let $src = &$crate::engine::source::F32Frames(d);
                $body
            }
            $crate::sample::buffer::SampleData::Streamed(t) => match (t.format, t.groups > 1) {
                ($crate::sample::stream::Format::I16, false) => {
                    let $src = &$crate::engine::source::ChunkedFrames::<i16>::new(t);
                    $body
                }
                ($crate::sample::stream::Format::F32, false) => {
                    let $src = &$crate::engine::source::ChunkedFrames::<f32>::new(t);
                    $body
                }
                ($crate::sample::stream::Format::I16, true) => {
                    let $src = &$crate::engine::source::ChunkedStemFrames::<i16>::new(t, $gains);
                    $body
                }
                ($crate::sample::stream::Format::F32, true) => {
                    let $src = &$crate::engine::source::ChunkedStemFrames::<f32>::new(t, $gains);
                    $body
                }
            },
        }
    };
}
