//! The set file: which samples sit on which pads, and the master settings. Not real-time.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors, from_toml};
use crate::dsp::eq::db_to_knob;
use crate::engine::command::{LaunchMode, PadFx};
use crate::engine::params::STEM_GAIN_DB;
use crate::sample::SampleSource;
use crate::sample::buffer::MAX_STEMS;
use crate::sample::stems::{StemFiles, StemSource, is_ni_stem};

mod sections;
pub mod writer;
pub use sections::{
    DivisionName, EqModeName, FxSection, GridSection, LaunchModeName, MasterSection, PadEntry,
    PlayModeName, QuantizeName, StemsValue,
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
    /// The sample's tempo, when the set gives it (`bpm`, or computed from `beats` at load).
    pub tempo: PadTempo,
    /// Whether the pad follows the transport.
    pub sync: bool,
    /// Key lock (tempo changes leave the pitch alone).
    pub key_lock: bool,
    /// Transpose in semitones (cents as hundredths).
    pub transpose: f32,
    /// EQ, filter and send settings.
    pub fx: PadFx,
    /// Stem settings when the set loads (names are checked against the stems at load).
    pub stems: StemSettings,
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

/// The byte offset of the line holding `key = ...` in the table starting at `range.start` of
/// `text` (a `[[pad]]` entry: its lines up to the next table header), if it is written there.
fn key_offset(text: &str, range: std::ops::Range<usize>, key: &str) -> Option<usize> {
    let body = text.get(range.start..)?;
    let mut at = range.start;
    for (i, line) in body.split_inclusive('\n').enumerate() {
        let t = line.trim_start();
        if i > 0 && t.starts_with('[') {
            return None;
        }
        if let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(at + (line.len() - t.len()));
        }
        at += line.len();
    }
    None
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
        let base = path.parent().unwrap_or(Path::new("."));
        let master_eq = raw.master.as_ref().map(|m| m.eq).unwrap_or_default();
        let master_sync = raw.master.as_ref().is_some_and(|m| m.sync);
        let master_key_lock = raw.master.as_ref().is_some_and(|m| m.key_lock);
        let grid = raw.grid;
        let mut errors = Vec::new();
        let mut pads: Vec<PadSpec> = Vec::new();
        let lines = super::error::LineIndex::new(text);
        for entry in &raw.pad {
            let at = entry.span().start;
            let p = entry.get_ref();
            let err = |m: String| ConfigError::at_line(path, &lines, at, m);
            // An error about one key points at that key's line.
            let key_at = |key: &str| key_offset(text, entry.span(), key).unwrap_or(at);
            let err_key = |key: &str, m: String| ConfigError::at_line(path, &lines, key_at(key), m);
            let index = match (p.pad, p.row, p.col) {
                (Some(i), None, None) => i,
                (None, Some(r), Some(c)) => {
                    if r >= grid.rows || c >= grid.cols {
                        errors.push(err(format!(
                            "pad row {r}, col {c} is outside the {}x{} grid; rows 0..{} and cols 0..{} are allowed",
                            grid.rows, grid.cols, grid.rows - 1, grid.cols - 1
                        )));
                        continue;
                    }
                    r * grid.cols + c
                }
                (Some(_), _, _) => {
                    errors.push(err(
                        "a [[pad]] has both `pad` and `row`/`col`; give only one: `pad = N`, or `row` and `col`".into(),
                    ));
                    continue;
                }
                _ => {
                    errors.push(err(
                        "a [[pad]] needs either `pad = N` or both `row` and `col`".into(),
                    ));
                    continue;
                }
            };
            if p.bank >= grid.banks {
                errors.push(err(format!(
                    "`bank` = {} but the grid has {} banks; allowed 0 to {}",
                    p.bank,
                    grid.banks,
                    grid.banks - 1
                )));
                continue;
            }
            if index >= grid.pads_per_bank() {
                errors.push(err(format!(
                    "`pad` = {index} but a bank has {} pads; allowed 0 to {}",
                    grid.pads_per_bank(),
                    grid.pads_per_bank() - 1
                )));
                continue;
            }
            if p.file.as_deref().is_some_and(|f| f.as_os_str().is_empty()) {
                errors.push(err_key(
                    "file",
                    "`file` is empty; give the sample's path (relative to the set's folder)".into(),
                ));
                continue;
            }
            let source = match (&p.file, &p.builtin, &p.stems) {
                (file, None, Some(stems)) => {
                    let files = match stems {
                        StemsValue::One(one) if is_ni_stem(one) => StemFiles::Ni(base.join(one)),
                        StemsValue::One(dir) => StemFiles::Folder(base.join(dir)),
                        StemsValue::List(list) if list.is_empty() || list.len() > MAX_STEMS => {
                            errors.push(err(format!(
                                "`stems` lists {} files; give 1 to {MAX_STEMS}",
                                list.len()
                            )));
                            continue;
                        }
                        StemsValue::List(list) => {
                            StemFiles::List(list.iter().map(|f| base.join(f)).collect())
                        }
                    };
                    SampleSource::Stems(StemSource {
                        mix: file.as_ref().map(|f| base.join(f)),
                        files,
                    })
                }
                (Some(f), None, None) if is_ni_stem(f) => SampleSource::Stems(StemSource {
                    mix: None,
                    files: StemFiles::Ni(base.join(f)),
                }),
                (Some(f), None, None) => SampleSource::File(base.join(f)),
                (None, Some(b), None) => {
                    if !crate::sample::builtin::NAMES.contains(&b.as_str()) {
                        errors.push(err(format!(
                            "`builtin` = {b:?} is not a built-in sound; known: {}",
                            crate::sample::builtin::NAMES.join(", ")
                        )));
                        continue;
                    }
                    SampleSource::Builtin(b.clone())
                }
                (_, Some(_), Some(_)) => {
                    errors.push(err(
                        "a built-in sound has no stems: remove `stems` or `builtin`".into(),
                    ));
                    continue;
                }
                _ => {
                    errors.push(err(
                        "a [[pad]] needs exactly one of `file` or `builtin` (or `stems`)".into(),
                    ));
                    continue;
                }
            };
            let has_stems = matches!(source, SampleSource::Stems(_));
            if !has_stems && (p.stems_on || !p.stem_mute.is_empty() || !p.stem_gain_db.is_empty()) {
                errors.push(err(
                    "`stems_on`, `stem_mute` and `stem_gain_db` need stems: add `stems = \"folder\"` (or a .stem.mp4 file)".into(),
                ));
                continue;
            }
            if let Some((name, db)) = p
                .stem_gain_db
                .iter()
                .find(|(_, db)| !STEM_GAIN_DB.contains(**db as f64))
            {
                errors.push(err(format!(
                    "stem {name:?}: {}",
                    STEM_GAIN_DB.out_of_range(db)
                )));
                continue;
            }
            let loop_start = p.loop_start.unwrap_or(0.0);
            if let Some(end) = p.loop_end
                && end <= loop_start
            {
                errors.push(err_key(
                    "loop_end",
                    format!("`loop_end` = {end} must be after `loop_start` = {loop_start}"),
                ));
                continue;
            }
            if let Some(s) = p.start
                && s > loop_start
            {
                errors.push(err_key(
                    "start",
                    format!(
                        "`start` = {s} (the intro start) must not be after `loop_start` = {loop_start}"
                    ),
                ));
                continue;
            }
            let mut fx = PadFx::default();
            let bands = [
                ("eq_low", p.eq_low, p.eq_low_db),
                ("eq_mid", p.eq_mid, p.eq_mid_db),
                ("eq_high", p.eq_high, p.eq_high_db),
            ];
            let mut both = None;
            for (b, (name, knob, db)) in bands.into_iter().enumerate() {
                match (knob, db) {
                    (Some(_), Some(_)) => both = Some(name),
                    (Some(k), None) => fx.eq[b] = k,
                    (None, Some(d)) => fx.eq[b] = db_to_knob(d),
                    (None, None) => {}
                }
            }
            if let Some(name) = both {
                errors.push(err(format!(
                    "give either `{name}` (knob 0..1) or `{name}_db`, not both"
                )));
                continue;
            }
            fx.eq_mode = p.eq.unwrap_or(master_eq).into();
            fx.filter = p.filter.unwrap_or(0.5);
            fx.resonance = p.resonance.unwrap_or(0.0);
            fx.sends = [p.delay_send.unwrap_or(0.0), p.reverb_send.unwrap_or(0.0)];
            let id = grid.pad_id(p.bank, index);
            if let Some(prev) = pads.iter().find(|q| q.id == id) {
                errors.push(err(format!(
                    "bank {} pad {index} is already assigned on line {}",
                    p.bank, prev.line
                )));
                continue;
            }
            let tempo = match (p.bpm, p.beats) {
                (Some(_), Some(_)) => {
                    errors.push(err(
                        "give either `bpm` (the sample's tempo) or `beats` (the loop's length in beats), not both".into(),
                    ));
                    continue;
                }
                (Some(b), None) => PadTempo::Bpm(b),
                (None, Some(n)) => PadTempo::Beats(n),
                (None, None) => PadTempo::Unknown,
            };
            if p.sync == Some(true) && tempo == PadTempo::Unknown {
                errors.push(err(
                    "`sync = true` needs the pad's tempo: add `bpm = ...` or `beats = ...`".into(),
                ));
                continue;
            }
            let sync = tempo != PadTempo::Unknown && p.sync.unwrap_or(master_sync);
            let mode: LaunchMode = p.mode.into();
            pads.push(PadSpec {
                id,
                bank: p.bank,
                index,
                source,
                mode,
                gain_db: p.gain_db,
                speed: p.speed,
                looping: p.looping.unwrap_or(mode != LaunchMode::OneShot),
                start: p.start,
                loop_start,
                loop_end: p.loop_end,
                choke: p.choke,
                tempo,
                sync,
                key_lock: p.key_lock.unwrap_or(master_key_lock),
                transpose: p.transpose + p.fine / 100.0,
                fx,
                stems: StemSettings {
                    on: p.stems_on,
                    mute: p.stem_mute.clone(),
                    gain_db: p
                        .stem_gain_db
                        .iter()
                        .map(|(k, v)| (k.clone(), *v))
                        .collect(),
                },
                line: lines.line_col(at).0,
                key_lines: ["start", "loop_start", "loop_end", "beats"]
                    .into_iter()
                    .filter_map(|k| {
                        key_offset(text, entry.span(), k).map(|o| (k, lines.line_col(o).0))
                    })
                    .collect(),
            });
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
