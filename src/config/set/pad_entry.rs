//! One `[[pad]]` entry checked and turned into a [`PadSpec`]: where it sits, what it plays,
//! its region, EQ, tempo and stems; a problem points at the key's own line when it is about
//! one key. Not real-time.

use std::path::Path;

use toml::Spanned;

use super::{
    BpmValue, GridSection, LoopValue, MasterSection, PadEntry, PadSpec, PadTempo, StemSettings,
    StemsValue,
};
use crate::config::error::{ConfigError, LineIndex};
use crate::dsp::eq::db_to_knob;
use crate::engine::command::{LaunchMode, PadFx};
use crate::engine::params::STEM_GAIN_DB;
use crate::sample::SampleSource;
use crate::sample::buffer::MAX_STEMS;
use crate::sample::stems::{StemFiles, StemSource, is_ni_stem};

/// What checking an entry needs of the whole set.
pub(super) struct EntryCx<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
    pub(super) lines: LineIndex,
    /// The set's folder (relative sample paths start here).
    pub(super) base: &'a Path,
    pub(super) grid: GridSection,
    pub(super) master: &'a MasterSection,
}

/// A problem with an entry: about one key (its line is found), or the entry as a whole.
struct Bad(Option<&'static str>, String);

impl Bad {
    fn entry(m: impl Into<String>) -> Self {
        Bad(None, m.into())
    }
}

/// The byte offset of the line holding `key = ...` in the table starting at `range.start` of
/// `text` (a `[[pad]]` entry: its lines up to the next table header), if it is written there.
pub(super) fn key_offset(text: &str, range: std::ops::Range<usize>, key: &str) -> Option<usize> {
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

impl EntryCx<'_> {
    /// An error at byte `offset` of the set file.
    pub(super) fn error(&self, offset: usize, m: String) -> ConfigError {
        ConfigError::at_line(self.path, &self.lines, offset, m)
    }

    /// The pad an entry describes, checked.
    pub(super) fn pad_spec(&self, entry: &Spanned<PadEntry>) -> Result<PadSpec, ConfigError> {
        let at = entry.span().start;
        self.spec(entry).map_err(|Bad(key, m)| {
            let offset = key.and_then(|k| key_offset(self.text, entry.span(), k));
            self.error(offset.unwrap_or(at), m)
        })
    }

    fn spec(&self, entry: &Spanned<PadEntry>) -> Result<PadSpec, Bad> {
        let p = entry.get_ref();
        let grid = self.grid;
        let index = self.index(p)?;
        let source = self.source(p)?;
        let has_stems = matches!(source, SampleSource::Stems(_));
        if !has_stems && (p.stems_on || !p.stem_mute.is_empty() || !p.stem_gain_db.is_empty()) {
            return Err(Bad::entry(
                "`stems_on`, `stem_mute` and `stem_gain_db` need stems: add `stems = \"folder\"` (or a .stem.mp4 file)",
            ));
        }
        if let Some((name, db)) = p
            .stem_gain_db
            .iter()
            .find(|(_, db)| !STEM_GAIN_DB.contains(**db as f64))
        {
            return Err(Bad::entry(format!(
                "stem {name:?}: {}",
                STEM_GAIN_DB.out_of_range(db)
            )));
        }
        let loop_start = p.loop_start.unwrap_or(0.0);
        if let Some(end) = p.loop_end
            && end <= loop_start
        {
            return Err(Bad(
                Some("loop_end"),
                format!("`loop_end` = {end} must be after `loop_start` = {loop_start}"),
            ));
        }
        if let Some(s) = p.start
            && s > loop_start
        {
            return Err(Bad(
                Some("start"),
                format!(
                    "`start` = {s} (the intro start) must not be after `loop_start` = {loop_start}"
                ),
            ));
        }
        let fx = self.fx(p)?;
        let (tempo, grid_loop) = self.tempo(p)?;
        let sync = tempo != PadTempo::Unknown && p.sync.unwrap_or(self.master.sync);
        let mode: LaunchMode = p.mode.into();
        let line = |o: usize| self.lines.line_col(o).0;
        Ok(PadSpec {
            id: grid.pad_id(p.bank, index),
            bank: p.bank,
            index,
            source,
            mode,
            gain_db: p.gain_db,
            speed: p.speed,
            looping: match p.looping {
                Some(LoopValue::On(b)) => b,
                Some(_) => true,
                None => mode != LaunchMode::OneShot,
            },
            start: p.start,
            loop_start,
            loop_end: p.loop_end,
            choke: p.choke,
            quantize: p.quantize.map(Into::into),
            tempo,
            sync,
            in_phase: p.start_in_phase.unwrap_or(true),
            key_lock: p.key_lock.unwrap_or(self.master.key_lock),
            transpose: p.transpose + p.fine / 100.0,
            fx,
            grid_loop,
            loop_from_bar: p.loop_from_bar.unwrap_or(1),
            grid_offset: p.grid_offset,
            stems: StemSettings {
                on: p.stems_on,
                mute: p.stem_mute.clone(),
                gain_db: p
                    .stem_gain_db
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
            },
            line: line(entry.span().start),
            key_lines: ["start", "loop_start", "loop_end", "beats", "bpm", "loop"]
                .into_iter()
                .filter_map(|k| key_offset(self.text, entry.span(), k).map(|o| (k, line(o))))
                .collect(),
        })
    }

    /// The pad's tempo (`bpm`, `beats` or `"auto"`) and its grid loop's length in beats.
    fn tempo(&self, p: &PadEntry) -> Result<(PadTempo, Option<f64>), Bad> {
        let bpb = self.master.beats_per_bar as f64;
        let grid_loop = match p.looping {
            Some(LoopValue::Bars(n)) => Some(n * bpb),
            Some(LoopValue::Beats(n)) => Some(n),
            _ => None,
        };
        if grid_loop.is_some() && (p.loop_start.is_some() || p.loop_end.is_some()) {
            return Err(Bad(
                Some("loop"),
                "a loop placed on the grid (`loop = \"4bars\"`) takes no `loop_start`/`loop_end`: remove them, or write `loop = true` and keep them".into(),
            ));
        }
        if grid_loop.is_some() && p.beats.is_some() {
            return Err(Bad(
                Some("beats"),
                "a loop placed on the grid is its own length in beats: remove `beats` (give the tempo with `bpm`)".into(),
            ));
        }
        if p.loop_from_bar.is_some() && grid_loop.is_none() {
            return Err(Bad(
                Some("loop_from_bar"),
                "`loop_from_bar` places a loop on the grid: give its length too, e.g. `loop = \"4bars\"`".into(),
            ));
        }
        let tempo = match (p.bpm, p.beats) {
            (Some(_), Some(_)) => {
                return Err(Bad::entry(
                    "give either `bpm` (the sample's tempo) or `beats` (the loop's length in beats), not both",
                ));
            }
            (Some(BpmValue::Bpm(b)), None) => PadTempo::Bpm(b),
            (Some(BpmValue::Auto), None) => PadTempo::Auto,
            (None, Some(n)) => PadTempo::Beats(n),
            (None, None) if grid_loop.is_some() => PadTempo::Auto,
            (None, None) => PadTempo::Unknown,
        };
        if p.sync == Some(true) && tempo == PadTempo::Unknown {
            return Err(Bad::entry(
                "`sync = true` needs the pad's tempo: add `bpm = ...` (or `bpm = \"auto\"`) or `beats = ...`",
            ));
        }
        Ok((tempo, grid_loop))
    }

    /// The pad's index in its bank (from `pad`, or `row` and `col`), inside the grid.
    fn index(&self, p: &PadEntry) -> Result<usize, Bad> {
        let grid = self.grid;
        let index = match (p.pad, p.row, p.col) {
            (Some(i), None, None) => i,
            (None, Some(r), Some(c)) => {
                if r >= grid.rows || c >= grid.cols {
                    return Err(Bad::entry(format!(
                        "pad row {r}, col {c} is outside the {}x{} grid; rows 0..{} and cols 0..{} are allowed",
                        grid.rows,
                        grid.cols,
                        grid.rows - 1,
                        grid.cols - 1
                    )));
                }
                r * grid.cols + c
            }
            (Some(_), _, _) => {
                return Err(Bad::entry(
                    "a [[pad]] has both `pad` and `row`/`col`; give only one: `pad = N`, or `row` and `col`",
                ));
            }
            _ => {
                return Err(Bad::entry(
                    "a [[pad]] needs either `pad = N` or both `row` and `col`",
                ));
            }
        };
        if p.bank >= grid.banks {
            return Err(Bad::entry(format!(
                "`bank` = {} but the grid has {} banks; allowed 0 to {}",
                p.bank,
                grid.banks,
                grid.banks - 1
            )));
        }
        if index >= grid.pads_per_bank() {
            return Err(Bad::entry(format!(
                "`pad` = {index} but a bank has {} pads; allowed 0 to {}",
                grid.pads_per_bank(),
                grid.pads_per_bank() - 1
            )));
        }
        Ok(index)
    }

    /// What the pad plays: a file, a built-in sound, or stems.
    fn source(&self, p: &PadEntry) -> Result<SampleSource, Bad> {
        let base = self.base;
        if p.file.as_deref().is_some_and(|f| f.as_os_str().is_empty()) {
            return Err(Bad(
                Some("file"),
                "`file` is empty; give the sample's path (relative to the set's folder)".into(),
            ));
        }
        Ok(match (&p.file, &p.builtin, &p.stems) {
            (file, None, Some(stems)) => {
                let files = match stems {
                    StemsValue::One(one) if is_ni_stem(one) => StemFiles::Ni(base.join(one)),
                    StemsValue::One(dir) => StemFiles::Folder(base.join(dir)),
                    StemsValue::List(list) if list.is_empty() || list.len() > MAX_STEMS => {
                        return Err(Bad::entry(format!(
                            "`stems` lists {} files; give 1 to {MAX_STEMS}",
                            list.len()
                        )));
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
                    return Err(Bad::entry(format!(
                        "`builtin` = {b:?} is not a built-in sound; known: {}",
                        crate::sample::builtin::NAMES.join(", ")
                    )));
                }
                SampleSource::Builtin(b.clone())
            }
            (_, Some(_), Some(_)) => {
                return Err(Bad::entry(
                    "a built-in sound has no stems: remove `stems` or `builtin`",
                ));
            }
            _ => {
                return Err(Bad::entry(
                    "a [[pad]] needs exactly one of `file` or `builtin` (or `stems`)",
                ));
            }
        })
    }

    /// The pad's EQ (knobs or dB, not both), filter and sends.
    fn fx(&self, p: &PadEntry) -> Result<PadFx, Bad> {
        let mut fx = PadFx::default();
        let bands = [
            ("eq_low", p.eq_low, p.eq_low_db),
            ("eq_mid", p.eq_mid, p.eq_mid_db),
            ("eq_high", p.eq_high, p.eq_high_db),
        ];
        for (b, (name, knob, db)) in bands.into_iter().enumerate() {
            match (knob, db) {
                (Some(_), Some(_)) => {
                    return Err(Bad::entry(format!(
                        "give either `{name}` (knob 0..1) or `{name}_db`, not both"
                    )));
                }
                (Some(k), None) => fx.eq[b] = k,
                (None, Some(d)) => fx.eq[b] = db_to_knob(d),
                (None, None) => {}
            }
        }
        fx.eq_mode = p.eq.unwrap_or(self.master.eq).into();
        fx.filter = p.filter.unwrap_or(0.5);
        fx.resonance = p.resonance.unwrap_or(0.0);
        fx.sends = [p.delay_send.unwrap_or(0.0), p.reverb_send.unwrap_or(0.0)];
        Ok(fx)
    }
}
