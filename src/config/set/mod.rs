//! The set file: which samples sit on which pads, and the master settings. Not real-time.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors, from_toml};
use crate::engine::command::{LaunchMode, PadFx};
use crate::sample::SampleSource;

mod names;
mod pad_entry;
mod sections;
mod tempo_keys;
pub mod writer;
pub use sections::{
    BpmValue, DivisionName, EqModeName, FxSection, GridSection, InputClock, LaunchModeName,
    LoopValue, MasterSection, PadEntry, PlayModeName, QuantizeName, StemsValue,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    #[serde(default)]
    master: Option<MasterSection>,
    #[serde(default)]
    grid: GridSection,
    #[serde(default)]
    fx: Option<FxSection>,
    #[serde(default)]
    pad: Vec<Spanned<PadEntry>>,
}

/// Checks a tempo range `[lo, hi]` in BPM: within the pad tempo range and at least an octave
/// wide (so that every tempo folds into it by halving or doubling).
pub fn check_tempo_range(lo: f64, hi: f64) -> Result<(), String> {
    let p = crate::engine::params::PAD_BPM;
    if !(lo.is_finite() && hi.is_finite() && lo >= p.lo as f64 && hi <= p.hi as f64) {
        return Err(format!(
            "[{lo}, {hi}] must lie within {} to {} BPM",
            p.lo, p.hi
        ));
    }
    if hi < 2.0 * lo {
        return Err(format!(
            "[{lo}, {hi}] must span at least an octave (the fastest twice the slowest), e.g. [70, 180]"
        ));
    }
    Ok(())
}

/// A validated pad assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct PadSpec {
    /// Global pad index.
    pub id: usize,
    /// Bank.
    pub bank: usize,
    /// Index within the bank.
    pub index: usize,
    /// Where the audio comes from.
    pub source: SampleSource,
    /// Launch mode.
    pub mode: LaunchMode,
    /// Gain in dB.
    pub gain_db: f32,
    /// Speed factor.
    pub speed: f32,
    /// Whether the region loops.
    pub looping: bool,
    /// Intro start in seconds.
    pub start: Option<f64>,
    /// Loop start in seconds.
    pub loop_start: f64,
    /// Loop end in seconds (None: end of sample).
    pub loop_end: Option<f64>,
    /// Choke group (0 = none).
    pub choke: u8,
    /// Launch quantisation of this pad (None: the set's).
    pub quantize: Option<crate::engine::command::Quantize>,
    /// The sample's tempo, when the set gives it (`bpm`, or computed from `beats` at load).
    pub tempo: PadTempo,
    /// Whether the pad follows the transport.
    pub sync: bool,
    /// A synced loop started off the grid starts in phase (`start_in_phase`, default true).
    pub in_phase: bool,
    /// Key lock (tempo changes leave the pitch alone).
    pub key_lock: bool,
    /// Transpose in semitones (cents as hundredths).
    pub transpose: f32,
    /// EQ, filter and send settings.
    pub fx: PadFx,
    /// Stem settings when the set loads (names are checked against the stems at load).
    pub stems: StemSettings,
    /// A loop placed on the beat grid: its length in beats, from bar `loop_from_bar` (the
    /// region follows from the grid at load).
    pub grid_loop: Option<f64>,
    /// The bar a grid loop starts on (1: the first downbeat).
    pub loop_from_bar: u32,
    /// The first downbeat in seconds, when the set gives it (else from analysis).
    pub grid_offset: Option<f64>,
    /// Line of the `[[pad]]` entry in the set file (0 for built-in sets).
    pub line: usize,
    /// Lines of the pad's region keys (`start`, `loop_start`, `loop_end`, `beats`), for
    /// messages about them found at load.
    pub key_lines: Vec<(&'static str, usize)>,
}

impl PadSpec {
    /// The line of key `key` in this pad's entry, or the entry's own line.
    pub fn line_of(&self, key: &str) -> usize {
        self.key_lines
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(self.line, |(_, l)| *l)
    }
}

/// What a set says about a pad's stems.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StemSettings {
    /// Start in stems mode.
    pub on: bool,
    /// Stems muted at load, by name.
    pub mute: Vec<String>,
    /// Stem gains in dB, by name.
    pub gain_db: Vec<(String, f32)>,
}

/// What a set says about a pad's tempo.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum PadTempo {
    /// Nothing (padlooper may estimate it, shown by `check`, never applied).
    #[default]
    Unknown,
    /// `bpm = N`.
    Bpm(f32),
    /// `beats = N`: the loop region is this many beats long.
    Beats(f64),
    /// `bpm = "auto"`: the analysed tempo (until the analysis is there, the pad plays at its
    /// own speed, unsynced).
    Auto,
}

impl PadSpec {
    /// Whether the pad needs the analysis of its sample: `bpm = "auto"`, or a grid loop
    /// without `grid_offset`.
    pub fn needs_analysis(&self) -> bool {
        self.tempo == PadTempo::Auto || (self.grid_loop.is_some() && self.grid_offset.is_none())
    }
}

/// A validated set.
#[derive(Debug, Clone, PartialEq)]
pub struct SetFile {
    /// Where it was read from (`<demo>` for the built-in set).
    pub path: PathBuf,
    /// Master settings.
    pub master: MasterSection,
    /// Grid geometry.
    pub grid: GridSection,
    /// Effects settings.
    pub fx: FxSection,
    /// Pad assignments.
    pub pads: Vec<PadSpec>,
}

impl SetFile {
    /// The names of pad `pad`'s stems, read from the files without decoding (None: the pad
    /// has no stems, or they cannot be read: loading the set will say why).
    pub fn stem_names(&self, pad: usize) -> Option<Vec<String>> {
        Some(self.stem_infos(pad)?.into_iter().map(|s| s.name).collect())
    }

    /// The names and colours of pad `pad`'s stems (see [`Self::stem_names`]).
    pub fn stem_infos(&self, pad: usize) -> Option<Vec<crate::sample::buffer::StemInfo>> {
        match &self.pads.iter().find(|p| p.id == pad)?.source {
            SampleSource::Stems(s) => s.infos().ok(),
            _ => None,
        }
    }

    /// Reads and validates a set file.
    pub fn load(path: &Path) -> Result<SetFile, ConfigErrors> {
        let text = crate::config::input::read_text(path, "set", crate::config::input::SET_MAX)
            .map_err(|e| ConfigErrors(vec![ConfigError::whole(path, e.to_string())]))?;
        Self::parse(path, &text)
    }

    /// Parses and validates set-file text; `path` is used for messages and relative files.
    pub fn parse(path: &Path, text: &str) -> Result<SetFile, ConfigErrors> {
        let raw: RawSet =
            toml::from_str(text).map_err(|e| ConfigErrors(vec![from_toml(path, text, &e)]))?;
        let master = raw.master.clone().unwrap_or_default();
        let grid = raw.grid;
        let cx = pad_entry::EntryCx {
            path,
            text,
            lines: super::error::LineIndex::new(text),
            base: path.parent().unwrap_or(Path::new(".")),
            grid,
            master: &master,
        };
        let mut errors = Vec::new();
        let mut pads: Vec<PadSpec> = Vec::new();
        for entry in &raw.pad {
            let spec = match cx.pad_spec(entry) {
                Ok(spec) => spec,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if let Some(prev) = pads.iter().find(|q| q.id == spec.id) {
                errors.push(cx.error(
                    entry.span().start,
                    format!(
                        "bank {} pad {} is already assigned on line {}",
                        spec.bank, spec.index, prev.line
                    ),
                ));
                continue;
            }
            pads.push(spec);
        }
        let fx = raw.fx.unwrap_or_default();
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(SetFile {
            path: path.into(),
            master: raw.master.unwrap_or_default(),
            grid,
            fx,
            pads,
        })
    }
}
