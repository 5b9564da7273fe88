//! The tempo and grid keys of a set as written: a pad's `bpm` (a tempo or "auto"), `loop` (on
//! or off, or a length on the beat grid), `loop_from_bar`, `grid_offset`, and `[master]
//! tempo_range`. Not real-time.

use serde::Deserialize;

use super::super::ranged;
use crate::engine::params as P;

/// What a pad's `bpm = ...` may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BpmValue {
    /// A tempo in BPM.
    Bpm(f32),
    /// `"auto"`: the tempo analysis finds.
    Auto,
}

pub(super) fn pad_bpm<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<BpmValue>, D::Error> {
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(f64),
        S(String),
    }
    match Raw::deserialize(d)? {
        Raw::N(v) => P::PAD_BPM
            .check(v)
            .map(|b| Some(BpmValue::Bpm(b)))
            .map_err(D::Error::custom),
        Raw::S(s) if s.eq_ignore_ascii_case("auto") => Ok(Some(BpmValue::Auto)),
        Raw::S(s) => Err(D::Error::custom(format!(
            "`bpm` = {s:?}: give the sample's tempo ({} to {} BPM) or \"auto\" (the analysed tempo)",
            P::PAD_BPM.lo,
            P::PAD_BPM.hi
        ))),
    }
}

/// What a pad's `loop = ...` may be.
#[derive(Debug, Clone, PartialEq)]
pub enum LoopValue {
    /// Loop (true) or play once (false).
    On(bool),
    /// A loop of this many bars placed on the beat grid.
    Bars(f64),
    /// A loop of this many beats placed on the beat grid.
    Beats(f64),
}

/// A grid length: `"4bars"`, `"1bar"`, `"8beats"`, `"1/2bar"`.
fn parse_length(s: &str) -> Option<LoopValue> {
    let t = s.trim().to_ascii_lowercase().replace(' ', "");
    let (num, bars) = if let Some(n) = t.strip_suffix("bars").or_else(|| t.strip_suffix("bar")) {
        (n.to_string(), true)
    } else if let Some(n) = t.strip_suffix("beats").or_else(|| t.strip_suffix("beat")) {
        (n.to_string(), false)
    } else {
        return None;
    };
    let v = match num.split_once('/') {
        Some((a, b)) => a.parse::<f64>().ok()? / b.parse::<f64>().ok()?,
        None if num.is_empty() => 1.0,
        None => num.parse::<f64>().ok()?,
    };
    if !(v.is_finite() && v > 0.0 && v <= 1024.0) {
        return None;
    }
    Some(if bars {
        LoopValue::Bars(v)
    } else {
        LoopValue::Beats(v)
    })
}

pub(super) fn loop_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<LoopValue>, D::Error> {
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        B(bool),
        S(String),
    }
    match Raw::deserialize(d)? {
        Raw::B(b) => Ok(Some(LoopValue::On(b))),
        Raw::S(s) => parse_length(&s).map(Some).ok_or_else(|| {
            D::Error::custom(format!(
                "`loop` = {s:?}: give true, false or a length on the beat grid such as \"4bars\", \"1bar\" or \"8beats\" (up to 1024)"
            ))
        }),
    }
}

pub(super) fn loop_from_bar<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<u32>, D::Error> {
    ranged::check(d, "loop_from_bar", 1u32, 9999).map(Some)
}

pub(super) fn grid_offset<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    ranged::check(d, "grid_offset", 0.0f64, 86400.0).map(Some)
}

pub(super) fn default_tempo_range() -> [f64; 2] {
    [70.0, 180.0]
}

pub(super) fn tempo_range<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
    use serde::de::Error;
    let [lo, hi] = <[f64; 2]>::deserialize(d)?;
    super::check_tempo_range(lo, hi)
        .map_err(|e| D::Error::custom(format!("`tempo_range`: {e}")))?;
    Ok([lo, hi])
}
