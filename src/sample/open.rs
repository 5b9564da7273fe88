//! Opening an audio file for decoding: refusing what is not a regular audio file (with a hint
//! when a similar name exists), probing its format (a cut-short WAV header repaired first),
//! and finding its audio track. Not real-time.

use std::fs::File;
use std::path::Path;

use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::error::SampleError;

/// A file beside a missing `path` whose name is the same but for letter case or Unicode
/// normalisation (a name typed on a Mac, NFD, read on Linux; `Kick.wav` for `kick.wav`).
pub fn similar_name(path: &Path) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let want: String = path
        .file_name()?
        .to_string_lossy()
        .nfc()
        .collect::<String>()
        .to_lowercase();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        (name.nfc().collect::<String>().to_lowercase() == want).then_some(name)
    })
}

/// Refuses what is not a regular, non-empty file before opening it (opening a FIFO would
/// block until someone writes to it).
fn check_file(path: &Path) -> Result<(), SampleError> {
    let meta = std::fs::metadata(path).map_err(|e| match similar_name(path) {
        Some(near) if e.kind() == std::io::ErrorKind::NotFound => SampleError::NotFound {
            path: path.into(),
            near,
        },
        _ => SampleError::Open {
            path: path.into(),
            error: e,
        },
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

pub(crate) type Track = (
    Box<dyn symphonia::core::formats::FormatReader>,
    symphonia::core::codecs::audio::AudioCodecParameters,
    u32,
    Option<u64>,
    Option<super::wav_repair::Repair>,
);

/// Opens a file's format reader (a cut-short WAV header repaired first).
pub(crate) fn open_format(
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
        error: e,
    })?;
    let (source, repair) =
        super::wav_repair::PatchedFile::open(file).map_err(|e| SampleError::Open {
            path: path.into(),
            error: e,
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
pub(crate) fn audio_params(
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
pub(crate) fn open_track(path: &Path) -> Result<Track, SampleError> {
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
pub(crate) fn unsupported(path: &Path, e: SymError) -> SampleError {
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
