//! Decoded audio to stored audio, a packet at a time: channels to stereo, non-finite samples
//! to silence, the sample rate to the output's (periodic edges, see [`super::resample`]), and
//! 16-bit sources back to 16 bits. The same code makes in-RAM tables ([`VecSink`]) and the
//! prepared files that stream from disk, so both hold the same bits; memory stays bounded by a
//! packet and the resampler's state whatever the file's length. Not real-time safe.

use super::decode::Chunk;
use super::loader::{Stored, to_i16};
use super::resample::PeriodicResampler;

/// Stored stereo frames, interleaved.
#[derive(Debug, Clone, Copy)]
pub enum Frames<'a> {
    /// 16-bit.
    I16(&'a [i16]),
    /// Float.
    F32(&'a [f32]),
}

/// Where stored frames go. `head` frames come *before* every frame given to `body`; they are
/// reserved first and filled at the end (the resampler completes them last).
pub trait Sink {
    /// Reserves room for `frames` head frames at the start (called once, before any body).
    fn reserve_head(&mut self, frames: usize) -> std::io::Result<()>;
    /// Appends frames after the head.
    fn body(&mut self, f: Frames<'_>) -> std::io::Result<()>;
    /// Fills the head (`f` may be shorter than reserved when the audio was shorter: then there
    /// is no body, and the audio ends with it).
    fn head(&mut self, f: Frames<'_>) -> std::io::Result<()>;
}

/// What a conversion produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Converted {
    /// Stereo frames stored.
    pub frames: u64,
    /// Where the audio ends in the last frame (see `SampleBuffer::end_frac`).
    pub end_frac: f32,
    /// Non-finite samples replaced by silence.
    pub nonfinite: usize,
    /// 16-bit storage.
    pub sixteen_bit: bool,
}

/// Converts one track's packets (see the module docs).
pub struct Converter {
    channels: usize,
    from: u32,
    to: u32,
    sixteen_bit: bool,
    resampler: Option<PeriodicResampler>,
    nonfinite: usize,
    frames_in: u64,
    frames_out: u64,
    floats: Vec<f32>,
    stereo: Vec<f32>,
    ints: Vec<i16>,
}

/// Why a conversion failed.
#[derive(Debug)]
pub enum ConvertError {
    /// The resampler refused.
    Resample(String),
    /// The sink failed.
    Io(std::io::Error),
}

impl From<std::io::Error> for ConvertError {
    fn from(e: std::io::Error) -> Self {
        ConvertError::Io(e)
    }
}

impl Converter {
    /// A converter for `channels` channels at `from` Hz to stereo at `to` Hz, stored 16-bit
    /// when `sixteen_bit`.
    pub fn new(
        channels: usize,
        from: u32,
        to: u32,
        sixteen_bit: bool,
        sink: &mut dyn Sink,
    ) -> Result<Self, ConvertError> {
        let resampler = if from != to {
            let r = PeriodicResampler::new(from, to).map_err(ConvertError::Resample)?;
            sink.reserve_head(r.head_frames())?;
            Some(r)
        } else {
            sink.reserve_head(0)?;
            None
        };
        Ok(Self {
            channels: channels.max(1),
            from,
            to,
            sixteen_bit,
            resampler,
            nonfinite: 0,
            frames_in: 0,
            frames_out: 0,
            floats: Vec::new(),
            stereo: Vec::new(),
            ints: Vec::new(),
        })
    }

    /// Adds a packet's samples (`channels` per frame).
    pub fn push(&mut self, c: Chunk<'_>, sink: &mut dyn Sink) -> Result<(), ConvertError> {
        let n = c.len() / self.channels;
        let c = c.slice(0, n * self.channels);
        self.frames_in += n as u64;
        // 16-bit mono or stereo at the output rate: straight into storage.
        if let (Chunk::I16(v), None, true, 1 | 2) =
            (c, &self.resampler, self.sixteen_bit, self.channels)
        {
            if self.channels == 2 {
                sink.body(Frames::I16(v))?;
            } else {
                self.ints.clear();
                self.ints.extend(v.iter().flat_map(|&s| [s, s]));
                sink.body(Frames::I16(&self.ints))?;
            }
            self.frames_out += n as u64;
            return Ok(());
        }
        self.floats.clear();
        match c {
            Chunk::I16(v) => self.floats.extend(v.iter().map(|&s| s as f32 / 32768.0)),
            Chunk::F32(v) => self.floats.extend_from_slice(v),
        }
        for s in self.floats.iter_mut() {
            if !s.is_finite() {
                *s = 0.0;
                self.nonfinite += 1;
            }
        }
        stereo_into(&self.floats, self.channels, &mut self.stereo);
        let (sixteen, ints, out) = (self.sixteen_bit, &mut self.ints, &mut self.frames_out);
        let mut emit = |f: &[f32]| -> std::io::Result<()> {
            *out += (f.len() / 2) as u64;
            store_into(f, sixteen, ints, sink, false)
        };
        match self.resampler.as_mut() {
            Some(r) => {
                let mut err = Ok(());
                r.push(&self.stereo, &mut |f| {
                    if err.is_ok() {
                        err = emit(f);
                    }
                })
                .map_err(ConvertError::Resample)?;
                err?;
            }
            None => emit(&self.stereo)?,
        }
        Ok(())
    }

    /// Ends the track: the rest of the frames, the head, and what was made.
    pub fn finish(mut self, sink: &mut dyn Sink) -> Result<Converted, ConvertError> {
        if let Some(r) = self.resampler.take() {
            let (sixteen, ints, out) = (self.sixteen_bit, &mut self.ints, &mut self.frames_out);
            let mut err = Ok(());
            let head = r
                .finish(&mut |f| {
                    if err.is_ok() {
                        *out += (f.len() / 2) as u64;
                        err = store_into(f, sixteen, ints, sink, false);
                    }
                })
                .map_err(ConvertError::Resample)?;
            err?;
            self.frames_out += (head.len() / 2) as u64;
            store_into(&head, sixteen, ints, sink, true)?;
        } else {
            sink.head(Frames::I16(&[]))?;
        }
        Ok(Converted {
            frames: self.frames_out,
            end_frac: super::resample::end_frac(self.frames_in, self.from, self.to),
            nonfinite: self.nonfinite,
            sixteen_bit: self.sixteen_bit,
        })
    }
}

/// Stores float stereo frames in the sink, as 16 bits when `sixteen`.
fn store_into(
    f: &[f32],
    sixteen: bool,
    ints: &mut Vec<i16>,
    sink: &mut dyn Sink,
    head: bool,
) -> std::io::Result<()> {
    let frames = if sixteen {
        ints.clear();
        ints.extend(f.iter().map(|&s| to_i16(s)));
        Frames::I16(ints)
    } else {
        Frames::F32(f)
    };
    if head {
        sink.head(frames)
    } else {
        sink.body(frames)
    }
}

/// Interleaved stereo from `channels` channels: mono copied to both sides, stereo kept, more
/// channels downmixed (odd channels left, even right, equal-power scaled, clamped).
pub fn stereo_into(samples: &[f32], channels: usize, out: &mut Vec<f32>) {
    out.clear();
    match channels {
        1 => out.extend(samples.iter().flat_map(|&s| [s, s])),
        2 => out.extend_from_slice(samples),
        n => {
            let left = n.div_ceil(2) as f32;
            let right = (n / 2) as f32;
            let (gl, gr) = (1.0 / left.sqrt(), 1.0 / right.sqrt());
            for f in samples.chunks_exact(n) {
                let l: f32 = f.iter().step_by(2).sum();
                let r: f32 = f.iter().skip(1).step_by(2).sum();
                out.push((l * gl).clamp(-1.0, 1.0));
                out.push((r * gr).clamp(-1.0, 1.0));
            }
        }
    }
}

/// An in-memory sink: the stored audio as one vector.
#[derive(Debug, Default)]
pub struct VecSink {
    ints: Vec<i16>,
    floats: Vec<f32>,
    reserved: usize,
}

impl VecSink {
    /// The stored audio (16-bit when the conversion was).
    pub fn into_stored(self, sixteen_bit: bool) -> Stored {
        if sixteen_bit {
            Stored::I16(self.ints)
        } else {
            Stored::F32(self.floats)
        }
    }
}

impl Sink for VecSink {
    fn reserve_head(&mut self, frames: usize) -> std::io::Result<()> {
        self.reserved = frames * 2;
        Ok(())
    }

    fn body(&mut self, f: Frames<'_>) -> std::io::Result<()> {
        // The head's room is made when the first body frames come (a short clip has none).
        match f {
            Frames::I16(v) => {
                if self.ints.is_empty() {
                    self.ints.resize(self.reserved, 0);
                }
                self.ints.extend_from_slice(v)
            }
            Frames::F32(v) => {
                if self.floats.is_empty() {
                    self.floats.resize(self.reserved, 0.0);
                }
                self.floats.extend_from_slice(v)
            }
        }
        Ok(())
    }

    fn head(&mut self, f: Frames<'_>) -> std::io::Result<()> {
        match f {
            Frames::I16(v) if self.ints.is_empty() => self.ints = v.to_vec(),
            Frames::I16(v) => self.ints[..v.len()].copy_from_slice(v),
            Frames::F32(v) if self.floats.is_empty() => self.floats = v.to_vec(),
            Frames::F32(v) => self.floats[..v.len()].copy_from_slice(v),
        }
        Ok(())
    }
}
