//! Stems: a track separated into parts (drums, bass, vocals, ...) played from one playhead.
//! The full mix and every stem are decoded and resampled like any sample, checked to be the
//! same length, and stored side by side as one bundle table (one read serves all of them).
//! Sources: a Demucs output folder, a list of files, or a Native Instruments `.stem.mp4`
//! (master track plus stems; names and colours from its `stem` metadata box). Not real-time.

use std::path::{Path, PathBuf};

use super::buffer::{Bundle, MAX_STEMS, SampleBuffer, StemInfo};
use super::decode::{decode_file, decode_tracks};
use super::error::SampleError;
use super::loader::{Stored, store};

mod nistem;

pub use nistem::{parse_rgb, read_stem_meta};

/// Stems shorter than the longest by at most this are padded with silence; more is an error.
pub const ALIGN_TOLERANCE_MS: f64 = 50.0;

/// Stem names in the order Demucs' layouts list them (4 stems, 6 stems, two stems).
pub const DEMUCS_ORDER: [&str; 7] = [
    "drums",
    "bass",
    "other",
    "vocals",
    "guitar",
    "piano",
    "no_vocals",
];

/// Where a pad's stems come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StemFiles {
    /// A folder of stem files (Demucs writes `drums.wav`, `bass.wav`, `other.wav`,
    /// `vocals.wav`; its 6-stem model adds `guitar.wav`, `piano.wav`; `--two-stems` writes
    /// `vocals.wav` and `no_vocals.wav`).
    Folder(PathBuf),
    /// Stem files, one per stem, named after their file names.
    List(Vec<PathBuf>),
    /// A Native Instruments stem file: track 1 the master, then the stems.
    Ni(PathBuf),
}

/// A full mix and its stems.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StemSource {
    /// The full mix (`file = ...`); None: the stem file's master, or the stems summed.
    pub mix: Option<PathBuf>,
    /// The stems.
    pub files: StemFiles,
}

impl std::fmt::Display for StemSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.files {
            StemFiles::Folder(p) | StemFiles::Ni(p) => write!(f, "{}", p.display()),
            StemFiles::List(l) => write!(
                f,
                "{}",
                l.first()
                    .and_then(|p| p.parent())
                    .map_or_else(|| "stems".into(), |p| p.display().to_string())
            ),
        }
    }
}

impl StemSource {
    /// Every file the source reads (the stems, then the mix). Not real-time.
    pub fn paths(&self) -> Result<Vec<PathBuf>, SampleError> {
        let mut v = match &self.files {
            StemFiles::Folder(d) => stem_files_in(d)?,
            StemFiles::List(l) => l.clone(),
            StemFiles::Ni(p) => vec![p.clone()],
        };
        v.extend(self.mix.iter().cloned());
        Ok(v)
    }
}

impl StemSource {
    /// The stems' names without decoding anything (file names; a stem file's metadata, else
    /// Drums, Bass, Other, Vocals). Not real-time.
    pub fn names(&self) -> Result<Vec<String>, SampleError> {
        Ok(self.infos()?.into_iter().map(|s| s.name).collect())
    }

    /// The stems' names and colours without decoding anything (see [`Self::names`]).
    /// Not real-time.
    pub fn infos(&self) -> Result<Vec<StemInfo>, SampleError> {
        let named = |names: Vec<String>| {
            names
                .into_iter()
                .enumerate()
                .map(|(i, name)| StemInfo {
                    color: default_color(&name, i),
                    name,
                })
                .collect()
        };
        Ok(match &self.files {
            StemFiles::Folder(d) => named(stem_files_in(d)?.iter().map(|p| stem_name(p)).collect()),
            StemFiles::List(l) => named(l.iter().map(|p| stem_name(p)).collect()),
            StemFiles::Ni(p) => match read_stem_meta(p) {
                Some(m) => m,
                None => named(
                    NI_DEFAULT_NAMES[..4]
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                ),
            },
        })
    }
}

/// Names of a stem file's stems when it has no metadata.
const NI_DEFAULT_NAMES: [&str; MAX_STEMS] = ["drums", "bass", "other", "vocals", "stem5", "stem6"];

/// Whether `path` names a Native Instruments stem file (`*.stem.mp4`, `*.stem.m4a`).
pub fn is_ni_stem(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.ends_with(".stem.mp4") || name.ends_with(".stem.m4a")
}

/// The colour padlooper shows a stem in: Native Instruments' defaults for the usual names
/// (drums green, bass orange, other pink, vocals blue), then a fixed palette.
pub fn default_color(name: &str, index: usize) -> [u8; 3] {
    match name.to_lowercase().as_str() {
        "drums" => [0x00, 0x9E, 0x73],
        "bass" => [0xD5, 0x5E, 0x00],
        "other" | "melody" => [0xCC, 0x79, 0xA7],
        "vocals" | "vocal" => [0x56, 0xB4, 0xE9],
        "guitar" => [0xE6, 0x9F, 0x00],
        "piano" | "keys" => [0xF0, 0xE4, 0x42],
        "no_vocals" | "instrumental" => [0x99, 0x99, 0x99],
        _ => {
            const PALETTE: [[u8; 3]; 6] = [
                [0x00, 0x72, 0xB2],
                [0xE6, 0x9F, 0x00],
                [0x00, 0x9E, 0x73],
                [0xCC, 0x79, 0xA7],
                [0xD5, 0x5E, 0x00],
                [0x56, 0xB4, 0xE9],
            ];
            PALETTE[index % PALETTE.len()]
        }
    }
}

/// The audio files of a stem folder, in Demucs' order (other names after, alphabetically).
pub fn stem_files_in(dir: &Path) -> Result<Vec<PathBuf>, SampleError> {
    let err = |reason: String| SampleError::Stems {
        path: dir.into(),
        reason,
    };
    let rd = std::fs::read_dir(dir).map_err(|e| SampleError::Open {
        path: dir.into(),
        error: e,
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|e| {
                    matches!(
                        e.to_string_lossy().to_lowercase().as_str(),
                        "wav" | "flac" | "mp3" | "ogg" | "aiff" | "aif"
                    )
                })
        })
        .collect();
    let rank = |p: &PathBuf| {
        let n = stem_name(p).to_lowercase();
        DEMUCS_ORDER
            .iter()
            .position(|d| *d == n)
            .unwrap_or(DEMUCS_ORDER.len())
    };
    files.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    if files.is_empty() {
        return Err(err(
            "no stem files in this folder; expected Demucs' drums.wav, bass.wav, other.wav and vocals.wav (see README, Stems)".into(),
        ));
    }
    if files.len() > MAX_STEMS {
        return Err(err(format!(
            "{} audio files, but a pad takes at most {MAX_STEMS} stems; move the others out",
            files.len()
        )));
    }
    Ok(files)
}

/// A stem's name from its file name (`vocals.wav` → `vocals`).
fn stem_name(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stem".into())
}

/// One decoded part of a bundle.
struct Part {
    path: PathBuf,
    data: Stored,
}

/// Loads a full mix and its stems at `rate` Hz as one bundle, with warnings. Not real-time.
pub fn load_stems(src: &StemSource, rate: u32) -> Result<(SampleBuffer, Vec<String>), SampleError> {
    let mut warnings = Vec::new();
    let mut nonfinite = 0;
    let mut part = |path: &Path, d: super::decode::Decoded| -> Result<Part, SampleError> {
        warnings.extend(d.warnings.iter().cloned());
        let (data, bad) = store(path, d, rate)?;
        nonfinite += bad;
        Ok(Part {
            path: path.into(),
            data,
        })
    };
    let (mut mix, stems, infos) = match &src.files {
        StemFiles::Ni(path) => {
            let mut tracks = decode_tracks(path)?.into_iter();
            let master = tracks.next().map(|d| part(path, d)).transpose()?;
            let stems = tracks
                .map(|d| part(path, d))
                .collect::<Result<Vec<_>, _>>()?;
            if stems.is_empty() {
                return Err(SampleError::Stems {
                    path: path.clone(),
                    reason: "only one audio track: this is not a stem file (a stem file has the master and its stems)".into(),
                });
            }
            if stems.len() > MAX_STEMS {
                return Err(SampleError::Stems {
                    path: path.clone(),
                    reason: format!("{} stems, but a pad takes at most {MAX_STEMS}", stems.len()),
                });
            }
            let meta = read_stem_meta(path).unwrap_or_default();
            let infos = (0..stems.len())
                .map(|i| {
                    meta.get(i).cloned().unwrap_or_else(|| {
                        let name = NI_DEFAULT_NAMES[i];
                        StemInfo {
                            name: name.into(),
                            color: default_color(name, i),
                        }
                    })
                })
                .collect::<Vec<_>>();
            (master, stems, infos)
        }
        files => {
            let paths = match files {
                StemFiles::Folder(d) => stem_files_in(d)?,
                StemFiles::List(l) => l.clone(),
                StemFiles::Ni(_) => Vec::new(),
            };
            if paths.len() > MAX_STEMS {
                return Err(SampleError::Stems {
                    path: PathBuf::from(src.to_string()),
                    reason: format!("{} stems, but a pad takes at most {MAX_STEMS}", paths.len()),
                });
            }
            let stems = paths
                .iter()
                .map(|p| part(p, decode_file(p)?))
                .collect::<Result<Vec<_>, _>>()?;
            let infos = paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let name = stem_name(p);
                    StemInfo {
                        color: default_color(&name, i),
                        name,
                    }
                })
                .collect();
            (None, stems, infos)
        }
    };
    if let Some(m) = &src.mix {
        mix = Some(part(m, decode_file(m)?)?);
    }
    let frames = align(mix.iter().chain(stems.iter()), rate)?;
    let name = src.to_string();
    let data = interleave(mix.as_ref(), &stems, frames);
    Ok((
        SampleBuffer::bundle(name, rate, data, infos, nonfinite),
        warnings,
    ))
}

/// The common length of the parts: the longest, when every other is at most
/// [`ALIGN_TOLERANCE_MS`] shorter (it is padded with silence); else an error naming the file.
fn align<'a>(
    parts: impl Iterator<Item = &'a Part> + Clone,
    rate: u32,
) -> Result<usize, SampleError> {
    let longest = parts.clone().map(|p| p.data.frames()).max().unwrap_or(0);
    let tolerance = (ALIGN_TOLERANCE_MS * rate as f64 / 1000.0).round() as usize;
    for p in parts {
        let short = longest - p.data.frames();
        if short > tolerance {
            return Err(SampleError::Stems {
                path: p.path.clone(),
                reason: format!(
                    "{:.3} s long, {:.1} ms shorter than the longest stem; stems must be the same length within {ALIGN_TOLERANCE_MS} ms: export them again from the same track",
                    p.data.frames() as f64 / rate as f64,
                    short as f64 * 1000.0 / rate as f64
                ),
            });
        }
    }
    Ok(longest)
}

/// Interleaves the mix (or the stems' sum) and the stems, `frames` frames each.
fn interleave(mix: Option<&Part>, stems: &[Part], frames: usize) -> Bundle {
    let groups = 1 + stems.len();
    let sixteen = stems
        .iter()
        .chain(mix)
        .all(|p| matches!(p.data, Stored::I16(_)));
    let sample = |p: &Part, i: usize| -> f32 {
        match &p.data {
            Stored::I16(d) => d.get(i).map_or(0.0, |&v| v as f32 / 32768.0),
            Stored::F32(d) => d.get(i).copied().unwrap_or(0.0),
        }
    };
    let mut out = vec![0.0f32; frames * 2 * groups];
    for (f, frame) in out.chunks_exact_mut(2 * groups).enumerate() {
        for c in 0..2 {
            let i = 2 * f + c;
            let mut sum = 0.0;
            for (s, p) in stems.iter().enumerate() {
                let v = sample(p, i);
                frame[2 * (1 + s) + c] = v;
                sum += v;
            }
            frame[c] = match mix {
                Some(m) => sample(m, i),
                None => sum,
            };
        }
    }
    if sixteen {
        Bundle::I16(out.iter().map(|&v| super::loader::to_i16(v)).collect())
    } else {
        Bundle::F32(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_order_follows_demucs() {
        let dir = std::env::temp_dir().join(format!("padlooper-stems-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for n in ["vocals", "bass", "drums", "other", "zz_extra"] {
            std::fs::write(dir.join(format!("{n}.wav")), b"x").unwrap();
        }
        std::fs::write(dir.join("notes.txt"), b"x").unwrap();
        let names: Vec<String> = stem_files_in(&dir)
            .unwrap()
            .iter()
            .map(|p| stem_name(p))
            .collect();
        assert_eq!(names, ["drums", "bass", "other", "vocals", "zz_extra"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ni_names() {
        assert!(is_ni_stem(Path::new("a/Track.STEM.mp4")));
        assert!(is_ni_stem(Path::new("t.stem.m4a")));
        assert!(!is_ni_stem(Path::new("t.mp4")));
        assert_eq!(default_color("Vocals", 3), [0x56, 0xB4, 0xE9]);
    }
}
