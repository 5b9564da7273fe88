//! The sections of a set file as written (serde types with their defaults and range checks).
//! Not real-time.

use std::path::PathBuf;

use serde::Deserialize;

use super::super::ranged;
use crate::dsp::delay::Division;
use crate::engine::command::FxParam;
use crate::engine::params as P;

pub use super::names::{
    DivisionName, EqModeName, InputClock, LaunchModeName, PlayModeName, QuantizeName, StretcherName,
};
pub use super::tempo_keys::{BpmValue, LoopValue};
use super::tempo_keys::{
    default_tempo_range, grid_offset, loop_from_bar, loop_value, pad_bpm, tempo_range,
};

/// Master section of a set file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterSection {
    /// Master volume, linear 0..=2 (1 = unity).
    #[serde(
        default = "ranged::volume_default",
        deserialize_with = "ranged::volume"
    )]
    pub volume: f32,
    /// Output devices in order of preference: names, parts of names or ids as listed by
    /// `padlooper devices`, or "default" (the first one present is used; a string is a list of
    /// one; empty: the system default).
    #[serde(default, deserialize_with = "one_or_many")]
    pub device: Vec<String>,
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
    #[serde(default = "ranged::bpm64_default", deserialize_with = "ranged::bpm64")]
    pub bpm: f64,
    /// Global speed factor 0.5..=2.
    #[serde(default = "ranged::speed_default", deserialize_with = "ranged::speed")]
    pub speed: f32,
    /// Launch quantisation of looping pads: off, beat, bar, 2bars or 4bars.
    #[serde(default)]
    pub quantize: QuantizeName,
    /// Controller profile to use for every MIDI input (built-in name or file), instead of
    /// matching profiles by port name.
    #[serde(default)]
    pub controller: Option<String>,
    /// The 3-band EQ every pad uses unless it says otherwise: `isolator` (default) or `shelf`.
    #[serde(default)]
    pub eq: EqModeName,
    /// Beats per bar (the meter), 1..=32.
    #[serde(default = "four", deserialize_with = "ranged::beats_per_bar")]
    pub beats_per_bar: u8,
    /// How long tempo changes glide, in ms.
    #[serde(
        default = "ranged::tempo_glide_ms_default",
        deserialize_with = "ranged::tempo_glide_ms"
    )]
    pub tempo_glide_ms: f32,
    /// A quantised start pressed this soon after a grid line starts at once, in ms.
    #[serde(
        default = "ranged::late_press_ms_default",
        deserialize_with = "ranged::late_press_ms"
    )]
    pub late_press_ms: f32,
    /// Whether pads that know their tempo follow the transport unless they say otherwise.
    #[serde(default)]
    pub sync: bool,
    /// How much the nudge buttons change the tempo while held, in %.
    #[serde(default = "ranged::nudge_default", deserialize_with = "ranged::nudge")]
    pub nudge: f32,
    /// MIDI outputs that receive clock, start/stop and song position (parts of port names).
    #[serde(default)]
    pub clock_out: Vec<String>,
    /// A MIDI input whose clock padlooper follows (part of its port name).
    #[serde(default)]
    pub clock_in: Option<String>,
    /// Ableton Link: tempo and bar phase shared with the Link apps on the network.
    #[serde(default)]
    pub link: bool,
    /// With Link: start and stop shared too (with the peers that share them).
    #[serde(default)]
    pub link_start_stop: bool,
    /// The isolator's crossover frequencies in Hz, `[low, high]`.
    #[serde(
        default = "default_crossovers",
        deserialize_with = "ranged::crossovers"
    )]
    pub eq_crossovers: [f32; 2],
    /// Key lock for every pad unless it says otherwise.
    #[serde(default)]
    pub key_lock: bool,
    /// The real-time stretcher key lock plays through.
    #[serde(default)]
    pub stretcher: StretcherName,
    /// The stretcher that renders stretched tables.
    #[serde(default)]
    pub table_stretcher: StretcherName,
    /// Voices that may use a real-time stretcher at once (0: measured at start).
    #[serde(
        default = "ranged::keylock_voices_default",
        deserialize_with = "ranged::keylock_voices"
    )]
    pub keylock_voices: f32,
    /// Threads real-time stretchers run ahead on while playing live (0: one per core).
    #[serde(
        default = "ranged::stretch_workers_default",
        deserialize_with = "ranged::stretch_workers"
    )]
    pub stretch_workers: f32,
    /// Longest take a pad can record, in seconds (0: no recording).
    #[serde(
        default = "ranged::record_seconds_default",
        deserialize_with = "ranged::record_seconds"
    )]
    pub record_seconds: f32,
    /// Bars a first take lasts with the transport stopped (0: from its length).
    #[serde(
        default = "ranged::record_bars_default",
        deserialize_with = "ranged::record_bars"
    )]
    pub record_bars: f32,
    /// What an overdub pass keeps of the loop's earlier layers, 0..1.
    #[serde(
        default = "ranged::overdub_feedback_default",
        deserialize_with = "ranged::overdub_feedback"
    )]
    pub overdub_feedback: f32,
    /// Whose clock the audio input runs on: `auto` (another card than the output is
    /// followed by drift correction, the same card is not), `follow` (always corrected), or
    /// `output` (never: the cards share a clock, e.g. by word clock).
    #[serde(default)]
    pub input_clock: InputClock,
    /// Input monitoring: the audio input heard through the master.
    #[serde(default)]
    pub input_monitor: bool,
    /// Audio input devices recordings take, in order of preference (as `device`; empty: no
    /// audio input).
    #[serde(default, deserialize_with = "one_or_many")]
    pub input: Vec<String>,
    /// The input's channels, counted from 1: a stereo pair `[1, 2]` or one mono channel `[3]`.
    #[serde(
        default = "default_input_channels",
        deserialize_with = "ranged::input_channels"
    )]
    pub input_channels: Vec<u16>,
    /// Memory for stretched tables, in MB (0: real-time stretching only).
    #[serde(
        default = "ranged::table_memory_mb_default",
        deserialize_with = "ranged::table_memory_mb"
    )]
    pub table_memory_mb: f32,
    /// Sample memory budget (tables in RAM, streaming heads and buffers); default half of
    /// physical memory.
    #[serde(default, deserialize_with = "ranged::memory_limit")]
    pub memory_limit: Option<ranged::MemoryLimit>,
    /// What the sample storage sustains in MB/s, for the plan's warning (0: do not check).
    #[serde(
        default = "ranged::disk_mb_s_default",
        deserialize_with = "ranged::disk_mb_s"
    )]
    pub disk_mb_s: f32,
    /// The tempo range analysis reports tempi in (a tempo outside is doubled or halved into
    /// it, as DJ software does), BPM `[slowest, fastest]`.
    #[serde(default = "default_tempo_range", deserialize_with = "tempo_range")]
    pub tempo_range: [f64; 2],
    /// SCHED_FIFO priority of the audio thread (0: normal scheduling).
    #[serde(
        default = "ranged::rt_priority_default",
        deserialize_with = "ranged::rt_priority"
    )]
    pub rt_priority: f32,
}

/// A string or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(vec![s]),
        Ok(OneOrMany::Many(v)) => Ok(v),
        Err(_) => Err(serde::de::Error::custom(
            "`device` must be a name or a list of names, e.g. [\"USB Audio\", \"Headphones\", \"default\"]",
        )),
    }
}

fn four() -> u8 {
    4
}

fn default_crossovers() -> [f32; 2] {
    crate::dsp::isolator::DEFAULT_CROSSOVERS
}

/// Grid section: banks of rows × cols pads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSection {
    /// Number of banks.
    #[serde(default = "eight", deserialize_with = "ranged::banks")]
    pub banks: usize,
    /// Rows per bank.
    #[serde(default = "eight", deserialize_with = "ranged::rows")]
    pub rows: usize,
    /// Columns per bank.
    #[serde(default = "eight", deserialize_with = "ranged::cols")]
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
    #[serde(default, deserialize_with = "ranged::row")]
    pub row: Option<usize>,
    /// Column (0 = left), with `row`.
    #[serde(default, deserialize_with = "ranged::col")]
    pub col: Option<usize>,
    /// Audio file, relative to the set file's folder.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// A built-in synthesised sound instead of a file (see `padlooper check --help`).
    #[serde(default)]
    pub builtin: Option<String>,
    /// Stems: a folder of separated tracks (Demucs' layout), a list of files, or a Native
    /// Instruments `.stem.mp4`/`.stem.m4a` file; relative to the set file's folder.
    #[serde(default)]
    pub stems: Option<StemsValue>,
    /// Start in stems mode (default: the full mix).
    #[serde(default)]
    pub stems_on: bool,
    /// Stems muted when the set loads, by name.
    #[serde(default)]
    pub stem_mute: Vec<String>,
    /// Stem gains in dB by name (`{ vocals = -6 }`), see `stem_gain_db` in the parameters.
    #[serde(default)]
    pub stem_gain_db: std::collections::BTreeMap<String, f32>,
    /// Launch mode.
    #[serde(default)]
    pub mode: LaunchModeName,
    /// Gain in dB, −60..=+12.
    #[serde(
        default = "ranged::gain_db_default",
        deserialize_with = "ranged::gain_db"
    )]
    pub gain_db: f32,
    /// Speed factor 0.5..=2 (pitch follows).
    #[serde(default = "ranged::speed_default", deserialize_with = "ranged::speed")]
    pub speed: f32,
    /// Whether the region loops (default: true, except for `oneshot`), or the loop's length
    /// on the beat grid (`"4bars"`, `"8beats"`), placed from bar `loop_from_bar`.
    #[serde(default, rename = "loop", deserialize_with = "loop_value")]
    pub looping: Option<LoopValue>,
    /// The bar a grid-placed loop starts on (1: the first downbeat).
    #[serde(default, deserialize_with = "loop_from_bar")]
    pub loop_from_bar: Option<u32>,
    /// Time of the first downbeat in seconds (the beat grid's offset; default: from analysis).
    #[serde(default, deserialize_with = "grid_offset")]
    pub grid_offset: Option<f64>,
    /// Intro start in seconds: plays once from here, then loops `loop_start..loop_end`.
    #[serde(default, deserialize_with = "ranged::start")]
    pub start: Option<f64>,
    /// Loop start in seconds (default 0).
    #[serde(default, deserialize_with = "ranged::loop_start")]
    pub loop_start: Option<f64>,
    /// Loop end in seconds (default: end of the sample).
    #[serde(default, deserialize_with = "ranged::loop_end")]
    pub loop_end: Option<f64>,
    /// The sample's tempo in BPM (alternative to `beats`), or `"auto"`: the analysed tempo.
    #[serde(default, deserialize_with = "pad_bpm")]
    pub bpm: Option<BpmValue>,
    /// The loop region's length in beats (the tempo follows from it; alternative to `bpm`).
    #[serde(default, deserialize_with = "ranged::beats")]
    pub beats: Option<f64>,
    /// Follow the transport (default: `[master] sync`); needs `bpm` or `beats`.
    #[serde(default)]
    pub sync: Option<bool>,
    /// A synced loop started off the grid starts in phase with the transport (default true);
    /// false: at its start wherever the press falls.
    #[serde(default)]
    pub start_in_phase: Option<bool>,
    /// Key lock: tempo changes leave the pitch alone (default: `[master] key_lock`).
    #[serde(default)]
    pub key_lock: Option<bool>,
    /// Transpose in semitones, −12..=12.
    #[serde(
        default = "ranged::transpose_default",
        deserialize_with = "ranged::transpose"
    )]
    pub transpose: f32,
    /// Fine transpose in cents, −50..=50.
    #[serde(default = "ranged::fine_default", deserialize_with = "ranged::fine")]
    pub fine: f32,
    /// Choke group 1..=255 (0 = none).
    #[serde(default, deserialize_with = "ranged::choke")]
    pub choke: u8,
    /// EQ low knob 0..1 (0 kill, 0.5 flat, 1 = +6 dB).
    #[serde(default, deserialize_with = "ranged::knob_opt")]
    pub eq_low: Option<f32>,
    /// EQ mid knob 0..1.
    #[serde(default, deserialize_with = "ranged::knob_opt")]
    pub eq_mid: Option<f32>,
    /// EQ high knob 0..1.
    #[serde(default, deserialize_with = "ranged::knob_opt")]
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
    /// This pad's EQ mode, overriding `[master] eq`.
    #[serde(default)]
    pub eq: Option<EqModeName>,
    /// This pad's launch quantisation, overriding `[master] quantize` (a clip's launch
    /// quantisation in Ableton Live).
    #[serde(default)]
    pub quantize: Option<QuantizeName>,
    /// DJ filter knob 0..1 (0.5 = off).
    #[serde(default, deserialize_with = "ranged::filter_opt")]
    pub filter: Option<f32>,
    /// Filter resonance 0..1.
    #[serde(default, deserialize_with = "ranged::resonance_opt")]
    pub resonance: Option<f32>,
    /// Delay send 0..1.
    #[serde(default, deserialize_with = "ranged::delay_send_opt")]
    pub delay_send: Option<f32>,
    /// Reverb send 0..1.
    #[serde(default, deserialize_with = "ranged::reverb_send_opt")]
    pub reverb_send: Option<f32>,
}

/// What `stems = ...` may be: one path (a folder or a `.stem.mp4`) or a list of files.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum StemsValue {
    /// A folder of stems or a `.stem.mp4`/`.stem.m4a` file.
    One(PathBuf),
    /// Stem files, one per stem.
    List(Vec<PathBuf>),
}

/// `[fx]` section: the send effects and the master phaser.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FxSection {
    /// Delay note division: "1/4", "1/8", "1/8d" (dotted) or "1/16".
    #[serde(default)]
    pub delay_division: DivisionName,
    /// Delay feedback.
    #[serde(
        default = "ranged::delay_feedback_default",
        deserialize_with = "ranged::delay_feedback"
    )]
    pub delay_feedback: f32,
    /// Delay wet level.
    #[serde(
        default = "ranged::delay_wet_default",
        deserialize_with = "ranged::delay_wet"
    )]
    pub delay_wet: f32,
    /// Reverb room size.
    #[serde(
        default = "ranged::reverb_room_default",
        deserialize_with = "ranged::reverb_room"
    )]
    pub reverb_room: f32,
    /// Reverb damping.
    #[serde(
        default = "ranged::reverb_damping_default",
        deserialize_with = "ranged::reverb_damping"
    )]
    pub reverb_damping: f32,
    /// Reverb wet level.
    #[serde(
        default = "ranged::reverb_wet_default",
        deserialize_with = "ranged::reverb_wet"
    )]
    pub reverb_wet: f32,
    /// Phaser LFO rate in Hz.
    #[serde(
        default = "ranged::phaser_rate_default",
        deserialize_with = "ranged::phaser_rate"
    )]
    pub phaser_rate: f32,
    /// Phaser depth.
    #[serde(
        default = "ranged::phaser_depth_default",
        deserialize_with = "ranged::phaser_depth"
    )]
    pub phaser_depth: f32,
    /// Phaser feedback.
    #[serde(
        default = "ranged::phaser_feedback_default",
        deserialize_with = "ranged::phaser_feedback"
    )]
    pub phaser_feedback: f32,
    /// Phaser mix (0 = off).
    #[serde(
        default = "ranged::phaser_mix_default",
        deserialize_with = "ranged::phaser_mix"
    )]
    pub phaser_mix: f32,
}

impl Default for FxSection {
    fn default() -> Self {
        Self {
            delay_division: DivisionName::default(),
            delay_feedback: P::DELAY_FEEDBACK.default,
            delay_wet: P::DELAY_WET.default,
            reverb_room: P::REVERB_ROOM.default,
            reverb_damping: P::REVERB_DAMPING.default,
            reverb_wet: P::REVERB_WET.default,
            phaser_rate: P::PHASER_RATE.default,
            phaser_depth: P::PHASER_DEPTH.default,
            phaser_feedback: P::PHASER_FEEDBACK.default,
            phaser_mix: P::PHASER_MIX.default,
        }
    }
}

impl FxSection {
    /// The section as engine parameter values.
    pub fn params(&self) -> Vec<(FxParam, f32)> {
        let div_index = Division::from(self.delay_division).index() as f32;
        vec![
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

fn eight() -> usize {
    8
}
fn default_buffer() -> u32 {
    P::BUFFER_SIZE.default
}
fn default_rate() -> u32 {
    P::SAMPLE_RATE.default
}
fn default_voices() -> usize {
    P::VOICES.default as usize
}

impl Default for MasterSection {
    fn default() -> Self {
        Self {
            volume: P::VOLUME.default,
            device: Vec::new(),
            buffer_size: default_buffer(),
            sample_rate: default_rate(),
            play_mode: PlayModeName::Multi,
            voices: default_voices(),
            bpm: P::BPM.default as f64,
            speed: P::SPEED.default,
            quantize: QuantizeName::Off,
            eq: EqModeName::default(),
            eq_crossovers: default_crossovers(),
            beats_per_bar: four(),
            tempo_glide_ms: P::TEMPO_GLIDE_MS.default,
            late_press_ms: P::LATE_PRESS_MS.default,
            sync: false,
            nudge: P::NUDGE.default,
            clock_out: Vec::new(),
            clock_in: None,
            link: false,
            link_start_stop: false,
            controller: None,
            key_lock: false,
            stretcher: StretcherName::default(),
            table_stretcher: StretcherName::default(),
            keylock_voices: P::KEYLOCK_VOICES.default,
            stretch_workers: P::STRETCH_WORKERS.default,
            record_seconds: P::RECORD_SECONDS.default,
            record_bars: P::RECORD_BARS.default,
            overdub_feedback: P::OVERDUB_FEEDBACK.default,
            input_clock: InputClock::Auto,
            input_monitor: false,
            input: Vec::new(),
            input_channels: default_input_channels(),
            table_memory_mb: P::TABLE_MEMORY_MB.default,
            memory_limit: None,
            disk_mb_s: P::DISK_MB_S.default,
            rt_priority: P::RT_PRIORITY.default,
            tempo_range: default_tempo_range(),
        }
    }
}

/// A stereo pair: the input's first two channels.
fn default_input_channels() -> Vec<u16> {
    vec![1, 2]
}
