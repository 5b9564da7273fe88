//! In-memory sample storage: interleaved stereo frames at the engine's output rate.
//!
//! 16-bit sources stay 16-bit in memory (half the size of float32) and are converted on read;
//! everything else is held as float32. A stem bundle holds the full mix and its stems side by
//! side in one table, read through [`StemFrames`].

/// A 16-bit stored sample's value as a float: `x · I16_SCALE` (so -32768 is -1.0).
pub const I16_SCALE: f32 = 1.0 / 32768.0;

/// Interleaved stereo sample data in one of the supported storage formats.
#[derive(Debug)]
pub enum SampleData {
    /// 16-bit integer frames, `[l0, r0, l1, r1, ...]`; read as `x / 32768`.
    I16(Box<[i16]>),
    /// 32-bit float frames, `[l0, r0, l1, r1, ...]`.
    F32(Box<[f32]>),
    /// Frames streamed from disk in chunks (heads resident, the rest read ahead of voices).
    Streamed(std::sync::Arc<crate::sample::stream::StreamedTable>),
    /// A stem bundle in 16 bits: `groups` stereo pairs per frame, the full mix first, then
    /// each stem (`[mix l, mix r, stem1 l, stem1 r, ...]`), all from one playhead.
    BundleI16 {
        /// Stereo pairs per frame (1 + number of stems).
        groups: usize,
        /// Interleaved frames.
        data: Box<[i16]>,
    },
    /// A stem bundle in float (see [`SampleData::BundleI16`]).
    BundleF32 {
        /// Stereo pairs per frame (1 + number of stems).
        groups: usize,
        /// Interleaved frames.
        data: Box<[f32]>,
    },
}

/// Most stems a pad can have (Demucs' 6-stem layout).
pub const MAX_STEMS: usize = 6;
/// Stereo pairs a bundle frame can hold: the full mix and [`MAX_STEMS`] stems (one spare).
pub const MAX_GROUPS: usize = 8;
/// Gains that play a bundle's full mix only (and a stereo buffer as it is).
pub const MIX_ONLY: [f32; MAX_GROUPS] = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];

/// What a stem is called and its colour (for LEDs and messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StemInfo {
    /// Name (`drums`, `bass`, `vocals`, ... or the file's name).
    pub name: String,
    /// Colour as RGB.
    pub color: [u8; 3],
}

/// A decoded, resampled, ready-to-play stereo sample. Immutable once built; shared via `Arc`.
#[derive(Debug)]
pub struct SampleBuffer {
    /// Human-readable origin (file path or built-in name), for messages.
    pub name: String,
    /// Frame rate of the data (always the engine's output rate once loaded).
    pub rate: u32,
    /// Non-finite samples (NaN, ±inf) in the source that were replaced by silence.
    pub nonfinite: usize,
    /// The stems of a bundle, in storage order after the full mix (empty for a plain sample).
    pub stems: Vec<StemInfo>,
    /// Where in its last frame the audio really ends (a resampled source's exact length,
    /// `source frames × rate / source rate`, is rarely whole): 0 = at `frames()`; else at
    /// `frames() - 1 + end_frac`.
    pub end_frac: f32,
    data: SampleData,
}

/// The exact end of a region of `frames` whole frames whose audio ends `end_frac` into its
/// last one (see `SampleBuffer::end_frac`, `PadConfig::end_frac`). Real-time safe.
pub fn exact_end(frames: u32, end_frac: f32) -> f64 {
    if end_frac > 0.0 && end_frac < 1.0 && frames > 0 {
        (frames - 1) as f64 + end_frac as f64
    } else {
        frames as f64
    }
}

impl SampleBuffer {
    /// Builds a float32 buffer from interleaved stereo samples. Non-finite samples (NaN,
    /// ±inf) become silence and are counted in [`nonfinite`](Self::nonfinite): nothing the
    /// engine plays can poison the mix. Allocates; not real-time safe.
    pub fn from_f32(name: impl Into<String>, rate: u32, mut interleaved: Vec<f32>) -> Self {
        let mut nonfinite = 0;
        for s in interleaved.iter_mut() {
            if !s.is_finite() {
                *s = 0.0;
                nonfinite += 1;
            }
        }
        let mut b = Self::plain(name, rate, SampleData::F32(interleaved.into_boxed_slice()));
        b.nonfinite = nonfinite;
        b
    }

    /// A stereo buffer of `data`, whole frames, nothing replaced. Not real-time safe.
    fn plain(name: impl Into<String>, rate: u32, data: SampleData) -> Self {
        Self {
            name: name.into(),
            rate,
            nonfinite: 0,
            stems: Vec::new(),
            end_frac: 0.0,
            data,
        }
    }

    /// Builds a 16-bit buffer from interleaved stereo samples. Allocates; not real-time safe.
    pub fn from_i16(name: impl Into<String>, rate: u32, interleaved: Vec<i16>) -> Self {
        Self::plain(name, rate, SampleData::I16(interleaved.into_boxed_slice()))
    }

    /// A blank recording tape of `frames` stereo frames (float32, silence), every page written
    /// once so the audio thread never faults one in. The engine records into it in place
    /// ([`tape_mut`](Self::tape_mut)) while it holds the only reference. Allocates; not
    /// real-time safe.
    pub fn tape(name: impl Into<String>, rate: u32, frames: usize) -> Self {
        let mut data = Vec::with_capacity(frames * 2);
        data.resize(frames * 2, 0.0f32);
        Self::plain(name, rate, SampleData::F32(data.into_boxed_slice()))
    }

    /// The interleaved float frames to record into, if the buffer is float32 (a tape).
    /// Real-time safe.
    pub fn tape_mut(&mut self) -> Option<&mut [f32]> {
        match &mut self.data {
            SampleData::F32(d) => Some(d),
            _ => None,
        }
    }

    /// A buffer whose frames stream from disk. Not real-time.
    pub fn streamed(
        name: impl Into<String>,
        rate: u32,
        table: std::sync::Arc<crate::sample::stream::StreamedTable>,
    ) -> Self {
        Self {
            name: name.into(),
            rate,
            nonfinite: 0,
            stems: Vec::new(),
            end_frac: 0.0,
            data: SampleData::Streamed(table),
        }
    }

    /// A stem bundle: `data` holds `1 + stems.len()` stereo pairs per frame, the full mix
    /// first (see [`SampleData::BundleI16`]). Allocates; not real-time safe.
    pub fn bundle(
        name: impl Into<String>,
        rate: u32,
        data: Bundle,
        stems: Vec<StemInfo>,
        nonfinite: usize,
    ) -> Self {
        let groups = 1 + stems.len();
        let data = match data {
            Bundle::I16(d) => SampleData::BundleI16 {
                groups,
                data: d.into_boxed_slice(),
            },
            Bundle::F32(d) => SampleData::BundleF32 {
                groups,
                data: d.into_boxed_slice(),
            },
        };
        Self {
            name: name.into(),
            rate,
            nonfinite,
            stems,
            end_frac: 0.0,
            data,
        }
    }

    /// Stereo pairs per frame: 1 for a plain sample, 1 + stems for a bundle. Real-time safe.
    pub fn groups(&self) -> usize {
        match &self.data {
            SampleData::BundleI16 { groups, .. } | SampleData::BundleF32 { groups, .. } => *groups,
            SampleData::Streamed(t) => t.groups,
            _ => 1,
        }
    }

    /// The streamed table, if this buffer streams. Real-time safe.
    pub fn stream(&self) -> Option<&crate::sample::stream::StreamedTable> {
        match &self.data {
            SampleData::Streamed(t) => Some(t),
            _ => None,
        }
    }

    /// The stored data. Real-time safe.
    pub fn data(&self) -> &SampleData {
        &self.data
    }

    /// Number of stereo frames. Real-time safe.
    pub fn frames(&self) -> usize {
        match &self.data {
            SampleData::I16(d) => d.len() / 2,
            SampleData::F32(d) => d.len() / 2,
            SampleData::Streamed(t) => t.frames,
            SampleData::BundleI16 { groups, data } => data.len() / (2 * groups),
            SampleData::BundleF32 { groups, data } => data.len() / (2 * groups),
        }
    }

    /// Bytes of sample memory held by this buffer (for a streamed one, its resident heads).
    /// Real-time safe.
    pub fn memory_bytes(&self) -> usize {
        match &self.data {
            SampleData::I16(d) => d.len() * 2,
            SampleData::F32(d) => d.len() * 4,
            SampleData::Streamed(t) => t.pinned_bytes(),
            SampleData::BundleI16 { data, .. } => data.len() * 2,
            SampleData::BundleF32 { data, .. } => data.len() * 4,
        }
    }

    /// Bytes the same audio would take as float32 (the "raw" size). Real-time safe.
    pub fn float32_bytes(&self) -> usize {
        self.frames() * 2 * 4 * self.groups()
    }

    /// Exact length in frames (see [`end_frac`](Self::end_frac)). Real-time safe.
    pub fn exact_frames(&self) -> f64 {
        exact_end(self.frames() as u32, self.end_frac)
    }

    /// Duration in seconds. Real-time safe.
    pub fn seconds(&self) -> f64 {
        self.exact_frames() / self.rate as f64
    }

    /// Frame `i` as floats (slow path for analysis and tests; a bundle's full mix).
    /// Real-time safe.
    pub fn frame(&self, i: usize) -> [f32; 2] {
        let pair = |l: f32, r: f32| [l, r];
        match &self.data {
            SampleData::I16(d) => {
                pair(d[2 * i] as f32 * I16_SCALE, d[2 * i + 1] as f32 * I16_SCALE)
            }
            SampleData::F32(d) => pair(d[2 * i], d[2 * i + 1]),
            // The full mix is a bundle's first pair.
            SampleData::BundleI16 { groups, data } => {
                let f = &data[2 * groups * i..];
                pair(f[0] as f32 * I16_SCALE, f[1] as f32 * I16_SCALE)
            }
            SampleData::BundleF32 { groups, data } => {
                let f = &data[2 * groups * i..];
                pair(f[0], f[1])
            }
            SampleData::Streamed(t) => t.frame(i),
        }
    }
}

/// A stem bundle's samples, before they become a [`SampleBuffer`].
#[derive(Debug, Clone)]
pub enum Bundle {
    /// 16-bit frames.
    I16(Vec<i16>),
    /// Float frames.
    F32(Vec<f32>),
}
