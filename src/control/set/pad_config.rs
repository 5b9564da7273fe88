//! A set's pad as the engine plays it: its region in frames checked against the sample, its
//! tempo, its stems; and the place in the set file a message about it points at. Not
//! real-time.

use crate::config::set::{PadSpec, PadTempo, SetFile};
use crate::dsp::db_to_gain;
use crate::engine::command::{PadConfig, SlotId};
use crate::engine::stems::StemMix;
use crate::sample::SampleBuffer;
use crate::sample::analysis::{Analysis, Grid};

/// Why a pad cannot play its sample as the set says: the key at fault (its line is where the
/// message points) and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PadConfigError {
    /// The pad key at fault.
    pub key: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl PadConfigError {
    fn at(key: &'static str, message: String) -> Self {
        Self { key, message }
    }
}

/// A plausible tempo for a loop of `seconds` that is a whole number of bars (1 to 32 bars of
/// `beats_per_bar`): within 0.02 BPM of a whole or half BPM between 60 and 200, the one
/// closest to `near`. Returns (beats, bpm).
pub fn estimate_tempo(seconds: f64, beats_per_bar: u32, near: f64) -> Option<(u32, f64)> {
    [1u32, 2, 4, 8, 16, 32]
        .iter()
        .map(|bars| {
            let beats = bars * beats_per_bar;
            (beats, beats as f64 * 60.0 / seconds)
        })
        .filter(|(_, bpm)| {
            (60.0..=200.0).contains(bpm) && (bpm * 2.0 - (bpm * 2.0).round()).abs() < 0.04
        })
        .min_by(|a, b| (a.1 - near).abs().total_cmp(&(b.1 - near).abs()))
}

/// The pad as it plays given its sample's analysis (None: not made yet) and length: `bpm =
/// "auto"` takes the analysed tempo, a grid loop (`loop = "4bars"`) its region from the grid
/// (the set's `bpm`/`grid_offset` first, then the analysis). Until the analysis is there, a
/// pad that needs it plays its whole sample at its own speed, unsynced.
pub fn resolve(
    spec: &PadSpec,
    analysis: Option<&Analysis>,
    seconds: f64,
    name: &str,
    beats_per_bar: u32,
) -> Result<PadSpec, PadConfigError> {
    let mut s = spec.clone();
    if spec.tempo != PadTempo::Auto && spec.grid_loop.is_none() {
        return Ok(s);
    }
    if spec.needs_analysis() && analysis.is_none() {
        if s.tempo == PadTempo::Auto {
            s.tempo = PadTempo::Unknown;
            s.sync = false;
        }
        s.grid_loop = None;
        return Ok(s);
    }
    let bpm = match spec.tempo {
        PadTempo::Bpm(b) => b as f64,
        _ => match analysis.and_then(|a| a.tempo) {
            Some(t) => t.bpm,
            None => {
                return Err(PadConfigError::at(
                    "bpm",
                    format!(
                        "analysis found no beat in {name}: give its tempo with `bpm = N` (and `grid_offset` for a grid loop)"
                    ),
                ));
            }
        },
    };
    s.tempo = PadTempo::Bpm(bpm as f32);
    let Some(beats) = spec.grid_loop else {
        return Ok(s);
    };
    let Some(offset) = spec
        .grid_offset
        .or_else(|| analysis.and_then(|a| a.first_downbeat()))
    else {
        return Err(PadConfigError::at(
            "loop",
            format!(
                "analysis found no downbeat in {name}: give `grid_offset` (the first downbeat, in seconds)"
            ),
        ));
    };
    let grid = Grid {
        bpm,
        offset,
        beats_per_bar,
    };
    let start = grid.bar_start(spec.loop_from_bar as i64);
    let end = start + beats * grid.beat();
    if end > seconds + 1e-6 {
        return Err(PadConfigError::at(
            "loop",
            format!(
                "the grid loop from bar {} ({start:.3} s, {bpm:.2} BPM) ends at {end:.3} s, beyond the end of {name} ({seconds:.3} s); choose an earlier `loop_from_bar` or a shorter loop",
                spec.loop_from_bar
            ),
        ));
    }
    if spec.start.is_some_and(|st| st > start) {
        return Err(PadConfigError::at(
            "start",
            format!(
                "`start` (the intro start) must not be after the grid loop's start, {start:.3} s"
            ),
        ));
    }
    s.loop_start = start;
    s.loop_end = Some(end);
    s.tempo = PadTempo::Beats(beats);
    s.grid_loop = None;
    Ok(s)
}

/// Converts a pad spec to engine frames, checking the region against the sample's length.
pub fn pad_config(
    spec: &PadSpec,
    slot: SlotId,
    buf: &SampleBuffer,
) -> Result<PadConfig, PadConfigError> {
    let rate = buf.rate as f64;
    let exact = buf.exact_frames();
    let secs = |s: f64| (s * rate).round() as usize;
    let loop_start = secs(spec.loop_start);
    // The region's exact length (its duration × rate, a fraction of a frame kept), a hair of
    // floating-point noise snapped to the whole frame it means.
    let loop_end = spec.loop_end.map_or(exact, |e| {
        let x = loop_start as f64 + (e - spec.loop_start) * rate;
        if (x - x.round()).abs() < 1e-6 {
            x.round()
        } else {
            x
        }
    });
    let len = buf.seconds();
    if loop_end > exact + 1.0 {
        return Err(PadConfigError::at(
            "loop_end",
            format!(
                "`loop_end` = {} s is beyond the end of {} ({len:.3} s); shorten it or leave it out",
                spec.loop_end.unwrap_or(0.0),
                buf.name
            ),
        ));
    }
    let loop_end_exact = loop_end.min(exact);
    let loop_end = loop_end_exact.ceil() as usize;
    let end_frac = loop_end_exact.fract() as f32;
    if loop_start + 4 > loop_end {
        return Err(PadConfigError::at(
            "loop_start",
            format!(
                "`loop_start` = {} s leaves no audio before the region end in {} ({len:.3} s)",
                spec.loop_start, buf.name
            ),
        ));
    }
    let start = spec.start.map_or(loop_start, secs);
    let bpm = match spec.tempo {
        PadTempo::Bpm(b) => b,
        PadTempo::Beats(n) => (n * 60.0 * rate / (loop_end_exact - loop_start as f64)) as f32,
        PadTempo::Unknown | PadTempo::Auto => 0.0,
    };
    if !(bpm == 0.0 || crate::engine::params::PAD_BPM.contains(bpm as f64)) {
        return Err(PadConfigError::at(
            "beats",
            format!(
                "`beats` = {} makes the loop {bpm:.2} BPM; {}",
                match spec.tempo {
                    PadTempo::Beats(n) => n,
                    _ => 0.0,
                },
                crate::engine::params::PAD_BPM.out_of_range(format!("{bpm:.2}"))
            ),
        ));
    }
    Ok(PadConfig {
        slot,
        start: start as u32,
        loop_start: loop_start as u32,
        loop_end: loop_end as u32,
        end_frac,
        looping: spec.looping,
        gain: db_to_gain(spec.gain_db),
        speed: spec.speed,
        bpm,
        sync: spec.sync,
        in_phase: spec.in_phase,
        key_lock: spec.key_lock,
        transpose: spec.transpose,
        mode: spec.mode,
        choke: spec.choke,
        quantize: spec.quantize,
        fx: spec.fx,
        stems: stem_mix(spec, buf)?,
    })
}

/// Pad `spec`'s configuration on `buf` (in `slot`) with another region of the sample, in
/// seconds (intro start, loop start, loop end; None: the loop start, the sample's end), checked
/// as at load: the web editor's live preview. The tempo stays `playing`'s unless the set gives
/// it as `beats` (then the new length sets it). Not real-time.
pub fn with_region(
    spec: &PadSpec,
    playing: &PadConfig,
    buf: &SampleBuffer,
    region: (Option<f64>, f64, Option<f64>),
) -> Result<PadConfig, PadConfigError> {
    let mut s = spec.clone();
    (s.start, s.loop_start, s.loop_end) = region;
    s.grid_loop = None;
    let mut cfg = pad_config(&s, playing.slot, buf)?;
    if !matches!(s.tempo, PadTempo::Beats(_)) {
        cfg.bpm = playing.bpm;
    }
    Ok(cfg)
}

/// The pad's stem settings from the set, its stem names checked against the bundle's.
fn stem_mix(spec: &PadSpec, buf: &SampleBuffer) -> Result<StemMix, PadConfigError> {
    let index = |name: &str| {
        buf.stems
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let known: Vec<&str> = buf.stems.iter().map(|s| s.name.as_str()).collect();
                PadConfigError::at(
                    "stems",
                    format!(
                        "{} has no stem named {name:?}; its stems: {}",
                        buf.name,
                        known.join(", ")
                    ),
                )
            })
    };
    let mut m = StemMix {
        on: spec.stems.on,
        ..StemMix::default()
    };
    for name in &spec.stems.mute {
        m.mute |= 1 << index(name)?;
    }
    for (name, db) in &spec.stems.gain_db {
        m.gain[index(name)?] = db_to_gain(*db);
    }
    Ok(m)
}

pub(crate) fn where_(set: &SetFile, spec: &PadSpec) -> String {
    where_line(set, spec, spec.line)
}

/// "file:line: bank B pad P" for a message about the pad's key written on `line`.
pub(crate) fn where_line(set: &SetFile, spec: &PadSpec, line: usize) -> String {
    if line > 0 {
        format!(
            "{}:{}: bank {} pad {}",
            set.path.display(),
            line,
            spec.bank,
            spec.index
        )
    } else {
        format!(
            "{}: bank {} pad {}",
            set.path.display(),
            spec.bank,
            spec.index
        )
    }
}
