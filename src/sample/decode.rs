//! Decoding audio files with symphonia into interleaved float frames. Not real-time safe.

use std::path::Path;

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;

use super::error::SampleError;
pub use super::open::{Probe, probe_file, similar_name};
use super::open::{audio_params, open_format, open_track, unsupported};

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

/// One packet's decoded samples, interleaved, in the track's storage format.
#[derive(Debug, Clone, Copy)]
pub enum Chunk<'a> {
    /// 16-bit (or narrower) integer PCM.
    I16(&'a [i16]),
    /// Float.
    F32(&'a [f32]),
}

impl Chunk<'_> {
    /// Samples (not frames) held.
    pub fn len(&self) -> usize {
        match self {
            Chunk::I16(v) => v.len(),
            Chunk::F32(v) => v.len(),
        }
    }

    /// Whether it holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples `from..to`.
    pub fn slice(&self, from: usize, to: usize) -> Self {
        match self {
            Chunk::I16(v) => Chunk::I16(&v[from..to]),
            Chunk::F32(v) => Chunk::F32(&v[from..to]),
        }
    }
}

/// Decodes one track packet by packet: the format (16-bit when its first packet is 16-bit or
/// narrower, else float), channels and rate as they come, and what went wrong.
struct TrackDecoder {
    decoder: Box<dyn symphonia::core::codecs::audio::AudioDecoder>,
    floats: Vec<f32>,
    ints: Vec<i16>,
    channels: usize,
    rate: u32,
    sixteen_bit: bool,
    last_error: Option<String>,
    good_packets: usize,
    frames: u64,
    declared_frames: Option<u64>,
}

impl TrackDecoder {
    fn new(
        path: &Path,
        params: &symphonia::core::codecs::audio::AudioCodecParameters,
    ) -> Result<Self, SampleError> {
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| unsupported(path, e))?;
        Ok(Self {
            decoder,
            floats: Vec::new(),
            ints: Vec::new(),
            channels: params.channels.as_ref().map(|c| c.count()).unwrap_or(0),
            rate: params.sample_rate.unwrap_or(0),
            sixteen_bit: params.bits_per_sample.is_some_and(|b| b <= 16),
            last_error: None,
            good_packets: 0,
            frames: 0,
            declared_frames: None,
        })
    }

    /// Decodes one packet: its samples (empty when it failed and was skipped), or None when
    /// decoding must stop.
    fn decode(&mut self, packet: &symphonia::core::packet::Packet) -> Option<Chunk<'_>> {
        let buf = match self.decoder.decode(packet) {
            Ok(buf) => buf,
            Err(SymError::DecodeError(e)) => {
                self.last_error = Some(e.to_string());
                return Some(Chunk::F32(&[]));
            }
            Err(SymError::IoError(e)) => {
                self.last_error = Some(e.to_string());
                return Some(Chunk::F32(&[]));
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                return None;
            }
        };
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
        self.good_packets += 1;
        let chunk = if self.sixteen_bit {
            if narrow {
                buf.copy_to_vec_interleaved(&mut self.ints);
            } else {
                // The format changed mid-stream: round to the 16 bits it started with.
                buf.copy_to_vec_interleaved(&mut self.floats);
                self.ints.clear();
                self.ints.extend(
                    self.floats
                        .iter()
                        .map(|&s| super::loader::to_i16(if s.is_finite() { s } else { 0.0 })),
                );
            }
            Chunk::I16(&self.ints)
        } else {
            buf.copy_to_vec_interleaved(&mut self.floats);
            Chunk::F32(&self.floats)
        };
        self.frames += (chunk.len() / self.channels.max(1)) as u64;
        Some(chunk)
    }

    /// What is worth telling once the track is decoded, or why it gave no audio.
    fn warnings(&self, path: &Path) -> Result<Vec<String>, SampleError> {
        let corrupt = |r: String| SampleError::Corrupt {
            path: path.into(),
            reason: r,
        };
        if self.good_packets == 0 {
            return match &self.last_error {
                Some(r) => Err(corrupt(r.clone())),
                None => Err(SampleError::Empty { path: path.into() }),
            };
        }
        if self.channels == 0 || self.rate == 0 {
            return Err(corrupt("missing channel count or sample rate".into()));
        }
        if self.frames == 0 {
            return Err(SampleError::Empty { path: path.into() });
        }
        let mut warnings = Vec::new();
        if let Some(r) = &self.last_error {
            warnings.push(format!(
                "{}: some packets could not be decoded and were skipped ({r})",
                path.display()
            ));
        }
        let got = self.frames;
        if let Some(n) = self.declared_frames
            && got < n
        {
            warnings.push(format!(
                "{}: the file is shorter than its header says ({got} of {n} frames, {:.3} of {:.3} s); loaded what is there",
                path.display(),
                got as f64 / self.rate as f64,
                n as f64 / self.rate as f64
            ));
        }
        Ok(warnings)
    }
}

/// A track's samples gathered whole.
#[derive(Default)]
struct Gathered {
    ints: Vec<i16>,
    floats: Vec<f32>,
}

impl Gathered {
    fn push(&mut self, c: Chunk<'_>) {
        match c {
            Chunk::I16(v) => self.ints.extend_from_slice(v),
            Chunk::F32(v) => self.floats.extend_from_slice(v),
        }
    }

    fn finish(self, path: &Path, track: &TrackDecoder) -> Result<Decoded, SampleError> {
        let warnings = track.warnings(path)?;
        let channels = track.channels;
        let mut samples = if track.sixteen_bit {
            Pcm::I16(self.ints)
        } else {
            Pcm::F32(self.floats)
        };
        samples.truncate(samples.len() / channels * channels);
        Ok(Decoded {
            warnings,
            samples,
            channels,
            rate: track.rate,
            sixteen_bit: track.sixteen_bit,
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

/// A file decoded packet by packet (memory bounded by one packet, whatever the file's
/// length): [`next`](Self::next) gives each packet's samples, [`finish`](Self::finish) what
/// went wrong. Decoding stops early when [`super::cancel`] says so. Not real-time safe.
pub struct DecodeStream {
    path: std::path::PathBuf,
    format: Box<dyn symphonia::core::formats::FormatReader>,
    track_id: u32,
    track: TrackDecoder,
    done: bool,
    cancelled: bool,
    /// Encoder delay still to drop, and the frames the audio has in all (when the file says).
    trim: super::gapless::Trim,
    given: u64,
}

impl DecodeStream {
    /// Opens a file's default audio track.
    pub fn open(path: &Path) -> Result<Self, SampleError> {
        let (format, params, track_id, declared_frames, repair) = open_track(path)?;
        let mut track = TrackDecoder::new(path, &params)?;
        track.declared_frames = repair.map_or(declared_frames, |r| Some(r.declared_frames));
        let trim = trim_of(path, &params);
        if let (Some(n), Some(_)) = (track.declared_frames, trim.frames) {
            // The container counts the delay and padding in its length.
            track.declared_frames = Some(n.min(trim.start + trim.frames.unwrap_or(n)));
        }
        Ok(Self {
            path: path.into(),
            format,
            track_id,
            track,
            done: false,
            cancelled: false,
            trim,
            given: 0,
        })
    }

    /// The next packet's samples with its channel count and rate, or None at the end of the
    /// file.
    pub fn next_packet(&mut self) -> Option<(Chunk<'_>, usize, u32)> {
        loop {
            if self.done {
                return None;
            }
            if super::cancel::requested() {
                self.cancelled = true;
                self.done = true;
                return None;
            }
            let mut last = None;
            let Some(packet) = next_packet(self.format.as_mut(), &mut last) else {
                if last.is_some() {
                    self.track.last_error = last;
                }
                self.done = true;
                return None;
            };
            if packet.track_id != self.track_id {
                continue;
            }
            // Borrow dance: decode, then hand out the decoder's buffer when it has samples.
            let n = match self.track.decode(&packet) {
                None => {
                    self.done = true;
                    return None;
                }
                Some(c) => c.len(),
            };
            let ch = self.track.channels.max(1);
            let frames = (n / ch) as u64;
            // Gapless: drop the encoder delay, stop at the audio's end.
            let drop = frames.min(self.trim.start);
            self.trim.start -= drop;
            let mut keep = frames - drop;
            if let Some(total) = self.trim.frames {
                keep = keep.min(total.saturating_sub(self.given));
                if self.given + keep >= total {
                    self.done = true;
                }
            }
            if keep > 0 {
                self.given += keep;
                let t = &self.track;
                let chunk = if t.sixteen_bit {
                    Chunk::I16(&t.ints)
                } else {
                    Chunk::F32(&t.floats)
                };
                let from = drop as usize * ch;
                let chunk = chunk.slice(from, from + keep as usize * ch);
                return Some((chunk, t.channels, t.rate));
            }
        }
    }

    /// Channels per frame (known once a packet has decoded).
    pub fn channels(&self) -> usize {
        self.track.channels
    }

    /// The file's sample rate (known once a packet has decoded).
    pub fn rate(&self) -> u32 {
        self.track.rate
    }

    /// Whether the samples are 16-bit (decided by the first packet).
    pub fn sixteen_bit(&self) -> bool {
        self.track.sixteen_bit
    }

    /// Frames decoded so far.
    pub fn frames(&self) -> u64 {
        self.track.frames
    }

    /// The warnings once the file is decoded, or why it gave no audio (or was cancelled).
    pub fn finish(self) -> Result<Vec<String>, SampleError> {
        if self.cancelled {
            return Err(SampleError::Cancelled { path: self.path });
        }
        self.track.warnings(&self.path)
    }
}

/// What to trim from a track for gapless playback (see [`super::gapless`]).
fn trim_of(
    path: &Path,
    params: &symphonia::core::codecs::audio::AudioCodecParameters,
) -> super::gapless::Trim {
    use symphonia::core::codecs::audio::well_known::{CODEC_ID_AAC, CODEC_ID_MP1, CODEC_ID_MP2};
    if params.codec == CODEC_ID_AAC {
        super::gapless::mp4_trim(path).unwrap_or_default()
    } else if params.codec == CODEC_ID_MP2 || params.codec == CODEC_ID_MP1 {
        super::gapless::Trim {
            start: super::gapless::MP2_DELAY,
            frames: None,
        }
    } else {
        super::gapless::Trim::default()
    }
}

/// Decodes a whole file. Decode errors in single packets are skipped (as players do) unless
/// nothing at all decodes. A file cut short (its header promises more frames than it holds,
/// as a crashed recorder leaves it) loads what is there, with a warning.
pub fn decode_file(path: &Path) -> Result<Decoded, SampleError> {
    let mut stream = DecodeStream::open(path)?;
    let mut all = Gathered::default();
    while let Some((c, _, _)) = stream.next_packet() {
        all.push(c);
    }
    if stream.cancelled {
        return Err(SampleError::Cancelled { path: path.into() });
    }
    all.finish(path, &stream.track)
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
        let mut track = TrackDecoder::new(path, &params)?;
        track.declared_frames = t.num_frames;
        tracks.push((t.id, track, Gathered::default()));
    }
    if tracks.is_empty() {
        return Err(SampleError::Unsupported {
            path: path.into(),
            reason: "no audio track".into(),
        });
    }
    let mut last = None;
    while let Some(packet) = next_packet(format.as_mut(), &mut last) {
        if super::cancel::requested() {
            return Err(SampleError::Cancelled { path: path.into() });
        }
        if let Some((_, track, all)) = tracks.iter_mut().find(|t| t.0 == packet.track_id) {
            match track.decode(&packet) {
                Some(c) => all.push(c),
                None => break,
            }
        }
    }
    tracks
        .into_iter()
        .map(|(_, mut track, all)| {
            if track.last_error.is_none() {
                track.last_error = last.clone();
            }
            all.finish(path, &track)
        })
        .collect()
}
