//! Decoding audio files with symphonia into interleaved float frames. Not real-time safe.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::error::SampleError;

/// Decoded sample data: 16-bit sources stay 16-bit (no float round trip).
#[derive(Debug, Clone)]
pub enum Pcm {
    /// 16-bit (or narrower) integer PCM.
    I16(Vec<i16>),
    /// Everything else, as float.
    F32(Vec<f32>),
}

impl Pcm {
    fn len(&self) -> usize {
        match self {
            Pcm::I16(v) => v.len(),
            Pcm::F32(v) => v.len(),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Pcm::I16(v) => v.truncate(n),
            Pcm::F32(v) => v.truncate(n),
        }
    }

    /// The samples as float (`i16 / 32768`).
    pub fn into_f32(self) -> Vec<f32> {
        match self {
            Pcm::I16(v) => v.into_iter().map(|s| s as f32 / 32768.0).collect(),
            Pcm::F32(v) => v,
        }
    }
}

/// Decoded audio as it was in the file.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Things worth telling the user that did not stop the file from loading (e.g. a file
    /// shorter than its header says).
    pub warnings: Vec<String>,
    /// Interleaved samples, `channels` per frame.
    pub samples: Pcm,
    /// Channels per frame.
    pub channels: usize,
    /// Sample rate in Hz.
    pub rate: u32,
    /// Whether the source is 16-bit (or narrower) integer PCM, so 16-bit storage is lossless.
    pub sixteen_bit: bool,
}

impl Decoded {
    /// Frames decoded.
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }
}

/// Refuses what is not a regular, non-empty file before opening it (opening a FIFO would
/// block until someone writes to it).
fn check_file(path: &Path) -> Result<(), SampleError> {
    let meta = std::fs::metadata(path).map_err(|e| SampleError::Open {
        path: path.into(),
        source: e,
    })?;
    let not = |what| {
        Err(SampleError::NotAFile {
            path: path.into(),
            what,
        })
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        return not("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return not("a FIFO (named pipe)");
        }
        if ft.is_socket() {
            return not("a socket");
        }
        if ft.is_block_device() || ft.is_char_device() {
            return not("a device");
        }
    }
    if !ft.is_file() {
        return not("not a regular file");
    }
    if meta.len() == 0 {
        return Err(SampleError::EmptyFile { path: path.into() });
    }
    Ok(())
}

/// What a file's header says, before decoding (for planning memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Frames at the file's own rate, if the container says.
    pub frames: Option<u64>,
    /// The file's sample rate.
    pub rate: u32,
    /// Whether it decodes to 16-bit integers (stored as 16-bit).
    pub sixteen_bit: bool,
}

/// Reads a file's header without decoding it.
pub fn probe_file(path: &Path) -> Result<Probe, SampleError> {
    let (_, params, _, frames, _) = open_track(path)?;
    Ok(Probe {
        frames,
        rate: params.sample_rate.unwrap_or(0),
        sixteen_bit: params.bits_per_sample.is_some_and(|b| b <= 16),
    })
}

type Track = (
    Box<dyn symphonia::core::formats::FormatReader>,
    symphonia::core::codecs::audio::AudioCodecParameters,
    u32,
    Option<u64>,
    Option<super::wav_repair::Repair>,
);

/// Opens a file's format reader (a cut-short WAV header repaired first).
fn open_format(
    path: &Path,
) -> Result<
    (
        Box<dyn symphonia::core::formats::FormatReader>,
        Option<super::wav_repair::Repair>,
    ),
    SampleError,
> {
    check_file(path)?;
    let file = File::open(path).map_err(|e| SampleError::Open {
        path: path.into(),
        source: e,
    })?;
    let (source, repair) =
        super::wav_repair::PatchedFile::open(file).map_err(|e| SampleError::Open {
            path: path.into(),
            source: e,
        })?;
    let mss = MediaSourceStream::new(Box::new(source), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| unsupported(path, e))?;
    Ok((format, repair))
}

/// A track's audio codec parameters, or why it has none.
fn audio_params(
    path: &Path,
    track: &symphonia::core::formats::Track,
) -> Result<symphonia::core::codecs::audio::AudioCodecParameters, SampleError> {
    track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .cloned()
        .ok_or_else(|| SampleError::Unsupported {
            path: path.into(),
            reason: "no audio codec parameters".into(),
        })
}

/// Opens a file's default audio track: the format reader, codec parameters, track id and the
/// frame count the container declares, and what was repaired in a cut-short WAV header.
fn open_track(path: &Path) -> Result<Track, SampleError> {
    let (format, repair) = open_format(path)?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| SampleError::Unsupported {
            path: path.into(),
            reason: "no audio track".into(),
        })?;
    let params = audio_params(path, track)?;
    let (id, frames) = (track.id, track.num_frames);
    Ok((format, params, id, frames, repair))
}

/// A symphonia error as this file's error.
fn unsupported(path: &Path, e: SymError) -> SampleError {
    match e {
        SymError::DecodeError(_) | SymError::IoError(_) => SampleError::Corrupt {
            path: path.into(),
            reason: e.to_string(),
        },
        _ => SampleError::Unsupported {
            path: path.into(),
            reason: e.to_string(),
        },
    }
}

/// One track's decoded packets, gathered.
struct Acc {
    floats: Vec<f32>,
    ints: Vec<i16>,
    packet_buf: Vec<f32>,
    packet_ints: Vec<i16>,
    channels: usize,
    rate: u32,
    sixteen_bit: bool,
    last_error: Option<String>,
    good_packets: usize,
    declared_frames: Option<u64>,
}

impl Acc {
    fn new(params: &symphonia::core::codecs::audio::AudioCodecParameters) -> Self {
        Self {
            floats: Vec::new(),
            ints: Vec::new(),
            packet_buf: Vec::new(),
            packet_ints: Vec::new(),
            channels: params.channels.as_ref().map(|c| c.count()).unwrap_or(0),
            rate: params.sample_rate.unwrap_or(0),
            sixteen_bit: params.bits_per_sample.is_some_and(|b| b <= 16),
            last_error: None,
            good_packets: 0,
            declared_frames: None,
        }
    }

    /// Adds a decoded packet.
    fn push(&mut self, buf: GenericAudioBufferRef) {
        let spec = buf.spec();
        self.channels = spec.channels().count();
        self.rate = spec.rate();
        let narrow = matches!(
            buf,
            GenericAudioBufferRef::S16(_)
                | GenericAudioBufferRef::S8(_)
                | GenericAudioBufferRef::U8(_)
                | GenericAudioBufferRef::U16(_)
        );
        if self.good_packets == 0 {
            self.sixteen_bit = narrow;
        }
        if self.sixteen_bit && narrow {
            buf.copy_to_vec_interleaved(&mut self.packet_ints);
            self.ints.extend_from_slice(&self.packet_ints);
        } else {
            if self.sixteen_bit {
                // The format changed mid-stream: continue in float.
                self.floats = self.ints.drain(..).map(|s| s as f32 / 32768.0).collect();
                self.sixteen_bit = false;
            }
            buf.copy_to_vec_interleaved(&mut self.packet_buf);
            self.floats.extend_from_slice(&self.packet_buf);
        }
        self.good_packets += 1;
    }

    /// Decodes one packet into the track; false when decoding must stop.
    fn decode(
        &mut self,
        decoder: &mut dyn symphonia::core::codecs::audio::AudioDecoder,
        packet: &symphonia::core::packet::Packet,
    ) -> bool {
        match decoder.decode(packet) {
            Ok(buf) => self.push(buf),
            Err(SymError::DecodeError(e)) => self.last_error = Some(e.to_string()),
            Err(SymError::IoError(e)) => self.last_error = Some(e.to_string()),
            Err(e) => {
                self.last_error = Some(e.to_string());
                return false;
            }
        }
        true
    }

    /// The track's audio, with warnings.
    fn finish(self, path: &Path) -> Result<Decoded, SampleError> {
        let corrupt = |r: String| SampleError::Corrupt {
            path: path.into(),
            reason: r,
        };
        if self.good_packets == 0 {
            return match self.last_error {
                Some(r) => Err(corrupt(r)),
                None => Err(SampleError::Empty { path: path.into() }),
            };
        }
        let (channels, rate) = (self.channels, self.rate);
        if channels == 0 || rate == 0 {
            return Err(corrupt("missing channel count or sample rate".into()));
        }
        let mut samples = if self.sixteen_bit {
            Pcm::I16(self.ints)
        } else {
            Pcm::F32(self.floats)
        };
        if samples.len() < channels {
            return Err(SampleError::Empty { path: path.into() });
        }
        let mut warnings = Vec::new();
        if let Some(r) = self.last_error {
            warnings.push(format!(
                "{}: some packets could not be decoded and were skipped ({r})",
                path.display()
            ));
        }
        samples.truncate(samples.len() / channels * channels);
        let got = (samples.len() / channels) as u64;
        if let Some(n) = self.declared_frames
            && got < n
        {
            warnings.push(format!(
                "{}: the file is shorter than its header says ({got} of {n} frames, {:.3} of {:.3} s); loaded what is there",
                path.display(),
                got as f64 / rate as f64,
                n as f64 / rate as f64
            ));
        }
        Ok(Decoded {
            warnings,
            samples,
            channels,
            rate,
            sixteen_bit: self.sixteen_bit,
        })
    }
}

/// The next packet of a file, or None at its end (or at an error, noted in `last_error`).
fn next_packet(
    format: &mut dyn symphonia::core::formats::FormatReader,
    last_error: &mut Option<String>,
) -> Option<symphonia::core::packet::Packet> {
    match format.next_packet() {
        Ok(Some(p)) => Some(p),
        Ok(None) => None,
        Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => None,
        Err(SymError::ResetRequired) => None,
        Err(e) => {
            *last_error = Some(e.to_string());
            None
        }
    }
}

/// Decodes a whole file. Decode errors in single packets are skipped (as players do) unless
/// nothing at all decodes. A file cut short (its header promises more frames than it holds,
/// as a crashed recorder leaves it) loads what is there, with a warning.
pub fn decode_file(path: &Path) -> Result<Decoded, SampleError> {
    let (mut format, params, track_id, declared_frames, repair) = open_track(path)?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| unsupported(path, e))?;
    let mut acc = Acc::new(&params);
    acc.declared_frames = repair.map_or(declared_frames, |r| Some(r.declared_frames));
    let mut last = None;
    while let Some(packet) = next_packet(format.as_mut(), &mut last) {
        if packet.track_id == track_id && !acc.decode(decoder.as_mut(), &packet) {
            break;
        }
    }
    if last.is_some() {
        acc.last_error = last;
    }
    acc.finish(path)
}

/// Decodes every audio track of a file in one pass (one decoder per track; a stem file's
/// master and stems), in the container's track order.
pub fn decode_tracks(path: &Path) -> Result<Vec<Decoded>, SampleError> {
    let (mut format, _) = open_format(path)?;
    let mut tracks = Vec::new();
    for t in format.tracks() {
        let Ok(params) = audio_params(path, t) else {
            continue;
        };
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| unsupported(path, e))?;
        let mut acc = Acc::new(&params);
        acc.declared_frames = t.num_frames;
        tracks.push((t.id, decoder, acc));
    }
    if tracks.is_empty() {
        return Err(SampleError::Unsupported {
            path: path.into(),
            reason: "no audio track".into(),
        });
    }
    let mut last = None;
    while let Some(packet) = next_packet(format.as_mut(), &mut last) {
        if let Some((_, decoder, acc)) = tracks.iter_mut().find(|t| t.0 == packet.track_id)
            && !acc.decode(decoder.as_mut(), &packet)
        {
            break;
        }
    }
    tracks
        .into_iter()
        .map(|(_, _, mut acc)| {
            if acc.last_error.is_none() {
                acc.last_error = last.clone();
            }
            acc.finish(path)
        })
        .collect()
}

/// Converts 16-bit mono or stereo to interleaved stereo without leaving 16 bits; other layouts
/// return `None` (they need the float downmix).
pub fn to_stereo_i16(samples: Vec<i16>, channels: usize) -> Result<Vec<i16>, Vec<i16>> {
    match channels {
        1 => Ok(samples.iter().flat_map(|&s| [s, s]).collect()),
        2 => Ok(samples),
        _ => Err(samples),
    }
}

/// Converts any channel layout to interleaved stereo: mono is copied to both sides, stereo kept,
/// more channels are downmixed (odd channels left, even right, equal-power scaled).
pub fn to_stereo(samples: &[f32], channels: usize) -> Vec<f32> {
    match channels {
        1 => samples.iter().flat_map(|&s| [s, s]).collect(),
        2 => samples.to_vec(),
        n => {
            let left = n.div_ceil(2) as f32;
            let right = (n / 2) as f32;
            let (gl, gr) = (1.0 / left.sqrt(), 1.0 / right.sqrt());
            let mut out = Vec::with_capacity(samples.len() / n * 2);
            for f in samples.chunks_exact(n) {
                let l: f32 = f.iter().step_by(2).sum();
                let r: f32 = f.iter().skip(1).step_by(2).sum();
                out.push((l * gl).clamp(-1.0, 1.0));
                out.push((r * gr).clamp(-1.0, 1.0));
            }
            out
        }
    }
}
