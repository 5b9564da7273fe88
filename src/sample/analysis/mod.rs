//! Analysis of a sample: tempo (with a confidence), beat grid, downbeats and musical key.
//!
//! Runs on loader and CLI threads, never on the audio thread. Audio is fed in any block size
//! ([`Analyzer::push`]), folded to mono and decimated to about 11–12 kHz, so memory stays
//! about 44 KB per second of audio whatever the source (a 5-minute track: ~13 MB).
//! The steps (see `docs/analysis.md`):
//! - [`features`]: short-time spectra give an onset-strength envelope (spectral flux, all
//!   bands and a low band for kicks) and chroma vectors (pitch-class energy);
//! - [`tempo`]: the envelope's autocorrelation gives the tempo (folded into the preferred
//!   range, as DJ software does); dynamic-programming beat tracking gives the beats, a fit
//!   through them the steady grid (or the beats as tracked where the tempo drifts);
//! - downbeats: the beat phase in the bar where kicks are strongest and the harmony changes;
//! - [`key`]: the chroma profile correlated with the 24 major and minor key profiles.

pub mod cache;
pub mod features;
pub mod key;
pub mod tempo;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use key::Key;

/// Version of the analysis: cached results of another version are made again.
pub const ANALYSIS_VERSION: u32 = 1;

/// Rate the analysis works at (the source is decimated by a whole factor to near this).
const TARGET_RATE: f64 = 11025.0;

/// Audio analysed at most (the first 20 minutes: 53 MB of mono at ~11 kHz); a longer file's
/// steady grid is extended to its end, its key is that of the first 20 minutes.
pub const MAX_SECONDS: f64 = 1200.0;

/// Why a sample could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The file could not be decoded.
    #[error(transparent)]
    Decode(#[from] crate::sample::SampleError),
    /// The file could not be read.
    #[error("{path}: {source}; check the path and that the file is readable")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A streamed stem bundle without a mix file (its stems are not summed anywhere).
    #[error(
        "{name} streams from disk as separate stems; analysis needs its mix: add the mix file (`file = ...`) or give `bpm` and `grid_offset`"
    )]
    Streamed {
        /// The bundle's name.
        name: String,
    },
    /// The analysis stopped unexpectedly (a bug: the rest of the work went on).
    #[error("{name}: the analysis stopped unexpectedly; please report this with the file")]
    Failed {
        /// The sample's name.
        name: String,
    },
    /// The sample is too short to analyse.
    #[error("{name}: {seconds:.2} s of audio is too short to analyse (at least 1 s is needed)")]
    TooShort {
        /// The sample's name.
        name: String,
        /// Its length.
        seconds: f64,
    },
}

/// What the analysis should prefer. Not real-time (plain data).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prefs {
    /// Beats in a bar (downbeats are every this many beats).
    pub beats_per_bar: u32,
    /// Tempo range a tempo is folded into (halved or doubled), in BPM.
    pub min_bpm: f64,
    /// See `min_bpm`.
    pub max_bpm: f64,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            beats_per_bar: 4,
            min_bpm: 70.0,
            max_bpm: 180.0,
        }
    }
}

/// The tempo found. Plain data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tempo {
    /// Beats per minute (of the steady grid; the average where the tempo drifts).
    pub bpm: f64,
    /// How sure the estimate is, 0..1 (beats clearly stronger than the rest: near 1).
    pub confidence: f64,
    /// Whether the beats fit one steady grid (within ±15 ms); false for a tempo that drifts,
    /// whose beats are listed as tracked.
    pub steady: bool,
}

/// "127.30 BPM (confidence 0.98), first downbeat 0.012 s, 4/4, A minor (8A, 0.61)".
pub fn summary(a: &Analysis) -> String {
    let tempo = match a.tempo {
        Some(t) => format!(
            "{:.2} BPM (confidence {:.2}{}), first downbeat {}, {} beats per bar",
            t.bpm,
            t.confidence,
            if t.steady { "" } else { ", tempo drifts" },
            a.first_downbeat()
                .map_or("none".into(), |d| format!("{d:.3} s")),
            a.beats_per_bar
        ),
        None => "no beat found".into(),
    };
    let key = match a.key {
        Some(k) => format!(
            "{} ({}, confidence {:.2})",
            k.name(),
            k.camelot(),
            a.key_confidence
        ),
        None => "no key found".into(),
    };
    format!("{tempo}, {key}")
}

/// The analysis of one sample. Plain data; serialised for the cache and `analyze --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// [`ANALYSIS_VERSION`] that made it.
    pub version: u32,
    /// Length of the analysed audio in seconds.
    pub seconds: f64,
    /// Tempo, or None where nothing has a beat (silence, a held tone).
    pub tempo: Option<Tempo>,
    /// Beat times in seconds from the sample's start.
    pub beats: Vec<f64>,
    /// Bar starts (a subset of `beats`).
    pub downbeats: Vec<f64>,
    /// Beats per bar the downbeats assume.
    pub beats_per_bar: u32,
    /// How sure the downbeat is, 0..1.
    pub downbeat_confidence: f64,
    /// Musical key, or None where there is too little pitched sound.
    pub key: Option<Key>,
    /// How sure the key is, 0..1.
    pub key_confidence: f64,
}

impl Analysis {
    /// Time of the first bar start (the grid offset), if there is a beat.
    pub fn first_downbeat(&self) -> Option<f64> {
        self.downbeats.first().copied()
    }

    /// The steady grid (tempo and first downbeat), if the tempo is steady.
    pub fn grid(&self) -> Option<Grid> {
        let t = self.tempo?;
        Some(Grid {
            bpm: t.bpm,
            offset: self.first_downbeat()?,
            beats_per_bar: self.beats_per_bar,
        })
    }
}

/// A steady beat grid: a tempo and the time of a bar start. Plain data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Beats per minute.
    pub bpm: f64,
    /// Time of a bar start in seconds (the first downbeat).
    pub offset: f64,
    /// Beats in a bar.
    pub beats_per_bar: u32,
}

impl Grid {
    /// Seconds per beat.
    pub fn beat(&self) -> f64 {
        60.0 / self.bpm
    }

    /// Seconds per bar.
    pub fn bar(&self) -> f64 {
        self.beat() * self.beats_per_bar as f64
    }

    /// Start of bar `n` (1 is the bar at `offset`; 0 and below are before it).
    pub fn bar_start(&self, n: i64) -> f64 {
        self.offset + (n - 1) as f64 * self.bar()
    }

    /// `t` moved to the nearest point of a grid dividing each beat into `per_beat` parts (1:
    /// beats, 16: 1/64 notes in 4/4); `per_beat = 0` snaps to bars.
    pub fn snap(&self, t: f64, per_beat: u32) -> f64 {
        let step = if per_beat == 0 {
            self.bar()
        } else {
            self.beat() / per_beat as f64
        };
        self.offset + ((t - self.offset) / step).round() * step
    }
}

/// Collects audio (any block size, any channel count) and analyses it when finished.
/// Not real-time (grows its buffer).
pub struct Analyzer {
    rate: u32,
    channels: usize,
    factor: usize,
    acc: f32,
    n: usize,
    mono: Vec<f32>,
    frames: u64,
}

impl Analyzer {
    /// An analyzer for audio at `rate` Hz with `channels` channels.
    pub fn new(rate: u32, channels: usize) -> Self {
        let factor = ((rate as f64 / TARGET_RATE).round() as usize).max(1);
        Self {
            rate: rate.max(1),
            channels: channels.max(1),
            factor,
            acc: 0.0,
            n: 0,
            mono: Vec::new(),
            frames: 0,
        }
    }

    /// Adds interleaved samples (whole frames); past [`MAX_SECONDS`] they are only counted.
    pub fn push(&mut self, interleaved: &[f32]) {
        let scale = 1.0 / (self.channels * self.factor) as f32;
        let cap = (MAX_SECONDS * self.rate as f64 / self.factor as f64) as usize;
        for frame in interleaved.chunks_exact(self.channels) {
            if self.mono.len() >= cap {
                break;
            }
            self.acc += frame.iter().sum::<f32>();
            self.n += 1;
            if self.n == self.factor {
                let v = self.acc * scale;
                self.mono.push(if v.is_finite() { v } else { 0.0 });
                self.acc = 0.0;
                self.n = 0;
            }
        }
        self.frames += (interleaved.len() / self.channels) as u64;
    }

    /// Seconds of audio pushed so far.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / self.rate as f64
    }

    /// The analysis of everything pushed. `name` is for the error of a too short sample.
    pub fn finish(self, name: &str, prefs: &Prefs) -> Result<Analysis, AnalysisError> {
        let seconds = self.seconds();
        if seconds < 1.0 {
            return Err(AnalysisError::TooShort {
                name: name.to_string(),
                seconds,
            });
        }
        let rate = self.rate as f64 / self.factor as f64;
        Ok(analyze_mono(&self.mono, rate, seconds, prefs))
    }
}

/// Analyses mono audio at `rate` Hz (`seconds` long as the source counts it).
fn analyze_mono(mono: &[f32], rate: f64, seconds: f64, prefs: &Prefs) -> Analysis {
    let f = features::Features::of(mono, rate);
    let beats = tempo::track(&f, seconds, prefs);
    let (key, key_confidence) = key::estimate(&f.chroma_total);
    let (downbeats, downbeat_confidence) = match &beats {
        Some(b) => tempo::downbeats(&f, b, prefs.beats_per_bar),
        None => (Vec::new(), 0.0),
    };
    Analysis {
        version: ANALYSIS_VERSION,
        seconds,
        tempo: beats.as_ref().map(|b| b.tempo),
        beats: beats.map(|b| b.times).unwrap_or_default(),
        downbeats,
        beats_per_bar: prefs.beats_per_bar,
        downbeat_confidence,
        key,
        key_confidence,
    }
}

/// Analyses a loaded sample (its full mix). Not real-time; reads the buffer through its slow
/// path, so a streamed buffer reads from disk: use [`analyze_file`] for those.
pub fn analyze_buffer(
    buf: &crate::sample::SampleBuffer,
    prefs: &Prefs,
) -> Result<Analysis, AnalysisError> {
    let mut a = Analyzer::new(buf.rate, 2);
    let mut block = Vec::with_capacity(8192);
    let frames = buf.frames();
    let mut i = 0;
    while i < frames {
        block.clear();
        for j in i..(i + 4096).min(frames) {
            block.extend_from_slice(&buf.frame(j));
        }
        a.push(&block);
        i += 4096;
    }
    a.finish(&buf.name, prefs)
}

/// `f` applied to every item on up to `threads` threads (0: one per core), in order; an item
/// whose call panicked (or whose thread could not start) is None. The threads are named as
/// loader threads, so a decoder's panic is reported as that file's error, not printed with a
/// backtrace. Not real-time.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .clamp(1, items.len().max(1));
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .filter_map(|t| {
                std::thread::Builder::new()
                    .name(crate::sample::loader::LOADER_THREAD.into())
                    .spawn_scoped(s, move || {
                        (t..items.len())
                            .step_by(threads)
                            .map(|i| {
                                let r =
                                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                        f(&items[i])
                                    }));
                                (i, r.ok())
                            })
                            .collect::<Vec<_>>()
                    })
                    .ok()
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().unwrap_or_default() {
                out[i] = r;
            }
        }
    });
    out
}

/// Decodes a file packet by packet and analyses it (memory: the decimated mono, about 44 KB
/// per second). Not real-time.
pub fn analyze_file(path: &Path, prefs: &Prefs) -> Result<Analysis, AnalysisError> {
    let mut stream = crate::sample::decode::DecodeStream::open(path)?;
    let mut analyzer: Option<Analyzer> = None;
    let mut floats = Vec::new();
    while let Some((chunk, channels, rate)) = stream.next_packet() {
        let a = analyzer.get_or_insert_with(|| Analyzer::new(rate, channels));
        match chunk {
            crate::sample::decode::Chunk::F32(v) => a.push(v),
            crate::sample::decode::Chunk::I16(v) => {
                floats.clear();
                floats.extend(v.iter().map(|&s| s as f32 / 32768.0));
                a.push(&floats);
            }
        }
    }
    stream.finish()?;
    let name = path.display().to_string();
    match analyzer {
        Some(a) => a.finish(&name, prefs),
        None => Err(AnalysisError::TooShort { name, seconds: 0.0 }),
    }
}

#[cfg(test)]
mod tests {
    use super::Grid;

    #[test]
    fn the_grid_snaps_to_bars_beats_and_sixty_fourths() {
        let g = Grid {
            bpm: 120.0,
            offset: 0.1,
            beats_per_bar: 4,
        };
        assert_eq!(g.bar_start(1), 0.1);
        assert!((g.bar_start(3) - 4.1).abs() < 1e-12);
        assert!((g.snap(3.0, 0) - 2.1).abs() < 1e-12);
        assert!((g.snap(3.0, 1) - 3.1).abs() < 1e-12);
        // 1/64 notes in 4/4: 16 per beat, 31.25 ms at 120 BPM.
        assert!((g.snap(0.2, 16) - (0.1 + 3.0 * 0.03125)).abs() < 1e-12);
        assert!((g.snap(-0.3, 1) - (-0.4)).abs() < 1e-12);
    }
}
