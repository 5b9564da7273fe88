//! The set file: which samples sit on which pads, and the master settings. Not real-time.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors, from_toml};
use super::ranged;
use crate::dsp::delay::Division;
use crate::dsp::eq::db_to_knob;
use crate::engine::command::{FxParam, LaunchMode, PadFx, PlayMode};
use crate::sample::SampleSource;

/// Master section of a set file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterSection {
    /// Master volume, linear 0..=2 (1 = unity).
    #[serde(default = "one", deserialize_with = "ranged::volume")]
    pub volume: f32,
    /// Output device: a name or id as listed by `padlooper devices` (absent: system default).
    #[serde(default)]
    pub device: Option<String>,
    /// Audio callback size in frames.
    #[serde(default = "default_buffer", deserialize_with = "ranged::buffer_size")]
    pub buffer_size: u32,
    /// Output sample rate in Hz.
    #[serde(default = "default_rate", deserialize_with = "ranged::sample_rate")]
    pub sample_rate: u32,
    /// `multi` or `exclusive`.
    #[serde(default)]
    pub play_mode: PlayModeName,
    /// Polyphony limit.
    #[serde(default = "default_voices", deserialize_with = "ranged::voices")]
    pub voices: usize,
    /// Tempo of the set in beats per minute.
    #[serde(default = "default_bpm", deserialize_with = "ranged::bpm")]
    pub bpm: f32,
    /// Global speed factor 0.5..=2.
    #[serde(default = "one", deserialize_with = "ranged::speed")]
    pub speed: f32,
    /// Launch quantisation of looping pads pressed on a controller: off, beat or bar.
    #[serde(default)]
    pub quantize: Quantize,
    /// Controller profile to use for every MIDI input (built-in name or file), instead of
    /// matching profiles by port name.
    #[serde(default)]
    pub controller: Option<String>,
}

/// Launch quantisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantize {
    /// Pads start and stop when pressed.
    #[default]
    Off,
    /// Looping pads start and stop on the next beat.
    Beat,
    /// Looping pads start and stop on the next bar (4 beats).
    Bar,
}

/// Grid section: banks of rows × cols pads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSection {
    /// Number of banks.
    #[serde(default = "eight", deserialize_with = "ranged::grid_dim")]
    pub banks: usize,
    /// Rows per bank.
    #[serde(default = "eight", deserialize_with = "ranged::grid_dim")]
    pub rows: usize,
    /// Columns per bank.
    #[serde(default = "eight", deserialize_with = "ranged::grid_dim")]
    pub cols: usize,
}

impl Default for GridSection {
    fn default() -> Self {
        Self {
            banks: 8,
            rows: 8,
            cols: 8,
        }
    }
}

impl GridSection {
    /// Pads per bank.
    pub fn pads_per_bank(&self) -> usize {
        self.rows * self.cols
    }
    /// Pads in all banks.
    pub fn total_pads(&self) -> usize {
        self.banks * self.pads_per_bank()
    }
    /// Global pad index of a pad in a bank.
    pub fn pad_id(&self, bank: usize, index: usize) -> usize {
        bank * self.pads_per_bank() + index
    }
}

/// Set-file spelling of [`PlayMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlayModeName {
    /// Many pads at once.
    #[default]
    Multi,
    /// One pad at a time.
    Exclusive,
}

impl From<PlayModeName> for PlayMode {
    fn from(m: PlayModeName) -> Self {
        match m {
            PlayModeName::Multi => PlayMode::Multi,
            PlayModeName::Exclusive => PlayMode::Exclusive,
        }
    }
}

/// Set-file spelling of [`LaunchMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaunchModeName {
    /// Press starts, press again stops.
    #[default]
    Toggle,
    /// Plays while held.
    Gate,
    /// Plays once to the end.
    Oneshot,
    /// Every press restarts.
    Retrigger,
}

impl From<LaunchModeName> for LaunchMode {
    fn from(m: LaunchModeName) -> Self {
        match m {
            LaunchModeName::Toggle => LaunchMode::Toggle,
            LaunchModeName::Gate => LaunchMode::Gate,
            LaunchModeName::Oneshot => LaunchMode::OneShot,
            LaunchModeName::Retrigger => LaunchMode::Retrigger,
        }
    }
}

/// One `[[pad]]` entry as written in the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadEntry {
    /// Bank number (0-based).
    #[serde(default, deserialize_with = "ranged::bank")]
    pub bank: usize,
    /// Pad index within the bank, row-major from the top-left (alternative to row/col).
    #[serde(default, deserialize_with = "ranged::pad_index")]
    pub pad: Option<usize>,
    /// Row (0 = top), with `col`.
    #[serde(default, deserialize_with = "ranged::cell")]
    pub row: Option<usize>,
    /// Column (0 = left), with `row`.
    #[serde(default, deserialize_with = "ranged::cell")]
    pub col: Option<usize>,
    /// Audio file, relative to the set file's folder.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// A built-in synthesised sound instead of a file (see `padlooper check --help`).
    #[serde(default)]
    pub builtin: Option<String>,
    /// Launch mode.
    #[serde(default)]
    pub mode: LaunchModeName,
    /// Gain in dB, −60..=+12.
    #[serde(default, deserialize_with = "ranged::gain_db")]
    pub gain_db: f32,
    /// Speed factor 0.5..=2 (pitch follows).
    #[serde(default = "one", deserialize_with = "ranged::speed")]
    pub speed: f32,
    /// Whether the region loops (default: true, except for `oneshot`).
    #[serde(default, rename = "loop")]
    pub looping: Option<bool>,
    /// Intro start in seconds: plays once from here, then loops `loop_start..loop_end`.
    #[serde(default, deserialize_with = "ranged::seconds")]
    pub start: Option<f64>,
    /// Loop start in seconds (default 0).
    #[serde(default, deserialize_with = "ranged::seconds")]
    pub loop_start: Option<f64>,
    /// Loop end in seconds (default: end of the sample).
    #[serde(default, deserialize_with = "ranged::seconds")]
    pub loop_end: Option<f64>,
    /// Choke group 1..=255 (0 = none).
    #[serde(default, deserialize_with = "ranged::choke")]
    pub choke: u8,
    /// EQ low knob 0..1 (0 kill, 0.5 flat, 1 = +6 dB).
    #[serde(default, deserialize_with = "ranged::knob")]
    pub eq_low: Option<f32>,
    /// EQ mid knob 0..1.
    #[serde(default, deserialize_with = "ranged::knob")]
    pub eq_mid: Option<f32>,
    /// EQ high knob 0..1.
    #[serde(default, deserialize_with = "ranged::knob")]
    pub eq_high: Option<f32>,
    /// EQ low gain in dB, -inf..=6 (alternative to `eq_low`).
    #[serde(default, deserialize_with = "ranged::eq_db")]
    pub eq_low_db: Option<f64>,
    /// EQ mid gain in dB.
    #[serde(default, deserialize_with = "ranged::eq_db")]
    pub eq_mid_db: Option<f64>,
    /// EQ high gain in dB.
    #[serde(default, deserialize_with = "ranged::eq_db")]
    pub eq_high_db: Option<f64>,
    /// DJ filter knob 0..1 (0.5 = off).
    #[serde(default, deserialize_with = "ranged::knob")]
    pub filter: Option<f32>,
    /// Filter resonance 0..1.
    #[serde(default, deserialize_with = "ranged::knob")]
    pub resonance: Option<f32>,
    /// Delay send 0..1.
    #[serde(default, deserialize_with = "ranged::knob")]
    pub delay_send: Option<f32>,
    /// Reverb send 0..1.
    #[serde(default, deserialize_with = "ranged::knob")]
    pub reverb_send: Option<f32>,
}

/// `[fx]` section: the send effects and the master phaser.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FxSection {
    /// Delay note division: "1/4", "1/8", "1/8d" (dotted) or "1/16".
    #[serde(default = "default_division")]
    pub delay_division: String,
    /// Delay feedback 0..0.95.
    #[serde(default = "default_feedback", deserialize_with = "ranged::feedback")]
    pub delay_feedback: f32,
    /// Delay wet level 0..1.
    #[serde(default = "default_wet", deserialize_with = "ranged::unit")]
    pub delay_wet: f32,
    /// Reverb room size 0..1.
    #[serde(default = "default_room", deserialize_with = "ranged::unit")]
    pub reverb_room: f32,
    /// Reverb damping 0..1.
    #[serde(default = "half", deserialize_with = "ranged::unit")]
    pub reverb_damping: f32,
    /// Reverb wet level 0..1.
    #[serde(default = "default_wet", deserialize_with = "ranged::unit")]
    pub reverb_wet: f32,
    /// Phaser LFO rate in Hz, 0.05..10.
    #[serde(
        default = "default_phaser_rate",
        deserialize_with = "ranged::phaser_rate"
    )]
    pub phaser_rate: f32,
    /// Phaser depth 0..1.
    #[serde(default = "default_depth", deserialize_with = "ranged::unit")]
    pub phaser_depth: f32,
    /// Phaser feedback 0..0.9.
    #[serde(default = "half", deserialize_with = "ranged::phaser_feedback")]
    pub phaser_feedback: f32,
    /// Phaser mix 0..1 (0 = off).
    #[serde(default, deserialize_with = "ranged::unit")]
    pub phaser_mix: f32,
}

impl Default for FxSection {
    fn default() -> Self {
        Self {
            delay_division: default_division(),
            delay_feedback: default_feedback(),
            delay_wet: default_wet(),
            reverb_room: default_room(),
            reverb_damping: half(),
            reverb_wet: default_wet(),
            phaser_rate: default_phaser_rate(),
            phaser_depth: default_depth(),
            phaser_feedback: half(),
            phaser_mix: 0.0,
        }
    }
}

impl FxSection {
    /// The section as engine parameter values (with the set's tempo).
    pub fn params(&self, bpm: f32) -> Vec<(FxParam, f32)> {
        let div = Division::parse(&self.delay_division).unwrap_or_default();
        let div_index = div.index() as f32;
        vec![
            (FxParam::Bpm, bpm),
            (FxParam::DelayDivision, div_index),
            (FxParam::DelayFeedback, self.delay_feedback),
            (FxParam::DelayWet, self.delay_wet),
            (FxParam::ReverbRoom, self.reverb_room),
            (FxParam::ReverbDamping, self.reverb_damping),
            (FxParam::ReverbWet, self.reverb_wet),
            (FxParam::PhaserRate, self.phaser_rate),
            (FxParam::PhaserDepth, self.phaser_depth),
            (FxParam::PhaserFeedback, self.phaser_feedback),
            (FxParam::PhaserMix, self.phaser_mix),
        ]
    }
}

fn default_division() -> String {
    "1/8".into()
}
fn default_feedback() -> f32 {
    0.35
}
fn default_wet() -> f32 {
    0.8
}
fn default_room() -> f32 {
    0.6
}
fn half() -> f32 {
    0.5
}
fn default_phaser_rate() -> f32 {
    0.3
}
fn default_depth() -> f32 {
    0.7
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    #[serde(default)]
    master: Option<MasterSection>,
    #[serde(default)]
    grid: GridSection,
    #[serde(default)]
    fx: Option<Spanned<FxSection>>,
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
    /// EQ, filter and send settings.
    pub fx: PadFx,
    /// Line of the `[[pad]]` entry in the set file (0 for built-in sets).
    pub line: usize,
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

fn one() -> f32 {
    1.0
}
fn eight() -> usize {
    8
}
fn default_buffer() -> u32 {
    256
}
fn default_rate() -> u32 {
    48_000
}
fn default_voices() -> usize {
    64
}
fn default_bpm() -> f32 {
    120.0
}

impl Default for MasterSection {
    fn default() -> Self {
        Self {
            volume: 1.0,
            device: None,
            buffer_size: default_buffer(),
            sample_rate: default_rate(),
            play_mode: PlayModeName::Multi,
            voices: default_voices(),
            bpm: default_bpm(),
            speed: 1.0,
            quantize: Quantize::Off,
            controller: None,
        }
    }
}

impl SetFile {
    /// Reads and validates a set file.
    pub fn load(path: &Path) -> Result<SetFile, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::whole(
                path,
                format!("cannot read set file: {e}"),
            )])
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates set-file text; `path` is used for messages and relative files.
    pub fn parse(path: &Path, text: &str) -> Result<SetFile, ConfigErrors> {
        let raw: RawSet =
            toml::from_str(text).map_err(|e| ConfigErrors(vec![from_toml(path, text, &e)]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let grid = raw.grid;
        let mut errors = Vec::new();
        let mut pads: Vec<PadSpec> = Vec::new();
        for entry in &raw.pad {
            let at = entry.span().start;
            let p = entry.get_ref();
            let err = |m: String| ConfigError::at(path, text, at, m);
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
            let source = match (&p.file, &p.builtin) {
                (Some(f), None) => SampleSource::File(base.join(f)),
                (None, Some(b)) => {
                    if !crate::demo::sounds::NAMES.contains(&b.as_str()) {
                        errors.push(err(format!(
                            "`builtin` = {b:?} is not a built-in sound; known: {}",
                            crate::demo::sounds::NAMES.join(", ")
                        )));
                        continue;
                    }
                    SampleSource::Builtin(b.clone())
                }
                _ => {
                    errors.push(err(
                        "a [[pad]] needs exactly one of `file` or `builtin`".into()
                    ));
                    continue;
                }
            };
            let loop_start = p.loop_start.unwrap_or(0.0);
            if let Some(end) = p.loop_end
                && end <= loop_start
            {
                errors.push(err(format!(
                    "`loop_end` = {end} must be after `loop_start` = {loop_start}"
                )));
                continue;
            }
            if let Some(s) = p.start
                && s > loop_start
            {
                errors.push(err(format!(
                    "`start` = {s} (the intro start) must not be after `loop_start` = {loop_start}"
                )));
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
                fx,
                line: super::error::line_col(text, at).0,
            });
        }
        let fx = match raw.fx {
            Some(f) => {
                if Division::parse(&f.get_ref().delay_division).is_none() {
                    errors.push(ConfigError::at(
                        path,
                        text,
                        f.span().start,
                        format!(
                            "`delay_division` = {:?} is not a division; allowed \"1/4\", \"1/8\", \"1/8d\", \"1/16\"",
                            f.get_ref().delay_division
                        ),
                    ));
                }
                f.into_inner()
            }
            None => FxSection::default(),
        };
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
