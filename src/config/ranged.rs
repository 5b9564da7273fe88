//! Range-checked field deserialisers: errors name the key and the allowed range.

use serde::Deserialize;
use serde::de::Error;

/// Reads a `T` and checks it lies in `lo..=hi`; the error names `key` and the allowed range.
pub fn check<'de, D, T>(d: D, key: &str, lo: T, hi: T) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + PartialOrd + std::fmt::Display + Copy,
{
    let v = T::deserialize(d)?;
    if !(lo..=hi).contains(&v) {
        return Err(D::Error::custom(format!(
            "`{key}` = {v} is out of range; allowed {lo} to {hi}"
        )));
    }
    Ok(v)
}

/// Defines, for a parameter of the table in [`crate::engine::params`], a range-checked
/// deserialiser `$name`, an optional one `$name_opt` (absent = None) and `$name_default`.
macro_rules! param {
    ($name:ident, $opt:ident, $def:ident, $spec:expr) => {
        /// Range-checked deserialiser (range and name from the parameter table).
        pub fn $name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
            let v = f64::deserialize(d)?;
            $spec.check(v).map_err(D::Error::custom)
        }
        /// Range-checked deserialiser for an optional value.
        #[allow(dead_code)]
        pub fn $opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
            $name(d).map(Some)
        }
        /// The parameter's default.
        #[allow(dead_code)]
        pub fn $def() -> f32 {
            $spec.default
        }
    };
}

use crate::engine::params as P;

param!(volume, volume_opt, volume_default, P::VOLUME);
param!(speed, speed_opt, speed_default, P::SPEED);
param!(bpm, bpm_opt, bpm_default, P::BPM);
param!(gain_db, gain_db_opt, gain_db_default, P::GAIN_DB);
param!(knob, knob_opt, knob_default, P::EQ_KNOB);
param!(filter, filter_opt, filter_default, P::FILTER);
param!(resonance, resonance_opt, resonance_default, P::RESONANCE);
param!(
    delay_send,
    delay_send_opt,
    delay_send_default,
    P::DELAY_SEND
);
param!(
    reverb_send,
    reverb_send_opt,
    reverb_send_default,
    P::REVERB_SEND
);
param!(
    delay_feedback,
    delay_feedback_opt,
    delay_feedback_default,
    P::DELAY_FEEDBACK
);
param!(delay_wet, delay_wet_opt, delay_wet_default, P::DELAY_WET);
param!(
    reverb_room,
    reverb_room_opt,
    reverb_room_default,
    P::REVERB_ROOM
);
param!(
    reverb_damping,
    reverb_damping_opt,
    reverb_damping_default,
    P::REVERB_DAMPING
);
param!(
    reverb_wet,
    reverb_wet_opt,
    reverb_wet_default,
    P::REVERB_WET
);
param!(
    phaser_rate,
    phaser_rate_opt,
    phaser_rate_default,
    P::PHASER_RATE
);
param!(
    phaser_depth,
    phaser_depth_opt,
    phaser_depth_default,
    P::PHASER_DEPTH
);
param!(
    phaser_feedback,
    phaser_feedback_opt,
    phaser_feedback_default,
    P::PHASER_FEEDBACK
);
param!(
    phaser_mix,
    phaser_mix_opt,
    phaser_mix_default,
    P::PHASER_MIX
);
param!(
    tempo_glide_ms,
    tempo_glide_ms_opt,
    tempo_glide_ms_default,
    P::TEMPO_GLIDE_MS
);
param!(
    late_press_ms,
    late_press_ms_opt,
    late_press_ms_default,
    P::LATE_PRESS_MS
);
param!(pad_bpm, pad_bpm_opt, pad_bpm_default, P::PAD_BPM);
param!(nudge, nudge_opt, nudge_default, P::NUDGE);
param!(transpose, transpose_opt, transpose_default, P::TRANSPOSE);
param!(fine, fine_opt, fine_default, P::FINE);
param!(
    record_seconds,
    record_seconds_opt,
    record_seconds_default,
    P::RECORD_SECONDS
);
param!(
    record_bars,
    record_bars_opt,
    record_bars_default,
    P::RECORD_BARS
);
param!(
    overdub_feedback,
    overdub_feedback_opt,
    overdub_feedback_default,
    P::OVERDUB_FEEDBACK
);
param!(
    stretch_workers,
    stretch_workers_opt,
    stretch_workers_default,
    P::STRETCH_WORKERS
);
param!(
    keylock_voices,
    keylock_voices_opt,
    keylock_voices_default,
    P::KEYLOCK_VOICES
);
param!(
    table_memory_mb,
    table_memory_mb_opt,
    table_memory_mb_default,
    P::TABLE_MEMORY_MB
);
param!(disk_mb_s, disk_mb_s_opt, disk_mb_s_default, P::DISK_MB_S);
param!(
    rt_priority,
    rt_priority_opt,
    rt_priority_default,
    P::RT_PRIORITY
);

/// The set's tempo, read at full precision (`127.3` must mean 127.3: bars are placed exactly).
pub fn bpm64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    P::BPM.check(v).map(|_| v).map_err(D::Error::custom)
}

/// The default tempo.
pub fn bpm64_default() -> f64 {
    P::BPM.default as f64
}

/// EQ gain in dB (`-inf` allowed), optional.
pub fn eq_db<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = f64::deserialize(d)?;
    P::EQ_DB.check(v).map(|_| Some(v)).map_err(D::Error::custom)
}

/// The allowed range of each whole-number or seconds key of set files that is not in the
/// parameter table (`engine::params`): the checks below and the messages for wrongly typed
/// values both read it.
pub const KEY_RANGES: &[(&str, f64, f64)] = &[
    (
        P::SAMPLE_RATE.name,
        P::SAMPLE_RATE.lo as f64,
        P::SAMPLE_RATE.hi as f64,
    ),
    (
        P::BUFFER_SIZE.name,
        P::BUFFER_SIZE.lo as f64,
        P::BUFFER_SIZE.hi as f64,
    ),
    (P::VOICES.name, P::VOICES.lo as f64, P::VOICES.hi as f64),
    ("banks", 1.0, 16.0),
    ("rows", 1.0, 16.0),
    ("cols", 1.0, 16.0),
    ("choke", 0.0, 255.0),
    ("beats_per_bar", 1.0, 32.0),
    ("beats", 0.25, 4096.0),
    ("bank", 0.0, 15.0),
    ("pad", 0.0, 255.0),
    ("row", 0.0, 15.0),
    ("col", 0.0, 15.0),
    ("start", 0.0, 3600.0),
    ("loop_start", 0.0, 3600.0),
    ("loop_end", 0.0, 3600.0),
];

/// The range of `key`: from [`KEY_RANGES`] or the parameter table.
pub fn range_of(key: &str) -> Option<(f64, f64, &'static str)> {
    KEY_RANGES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, lo, hi)| {
            (
                lo,
                hi,
                if key.ends_with("start") || key.ends_with("end") {
                    "s"
                } else {
                    ""
                },
            )
        })
        .or_else(|| {
            P::ALL
                .iter()
                .find(|p| p.name == key)
                .map(|p| (p.lo as f64, p.hi as f64, p.unit))
        })
}

/// "; allowed lo to hi unit" for `key`, or nothing when its range is not known.
pub fn allowed(key: &str) -> String {
    match range_of(key) {
        Some((lo, hi, unit)) => format!(
            "; allowed {} to {}{}",
            P::fmt_num(lo as f32),
            P::fmt_num(hi as f32),
            if unit.is_empty() {
                String::new()
            } else {
                format!(" {unit}")
            }
        ),
        None => String::new(),
    }
}

/// Reads a `T` for `key` and checks it against [`KEY_RANGES`].
fn keyed<'de, D, T>(d: D, key: &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + PartialOrd + std::fmt::Display + Copy + num_from::FromF64,
{
    let (lo, hi, _) = range_of(key).unwrap_or((f64::MIN, f64::MAX, ""));
    check(d, key, T::from_f64(lo), T::from_f64(hi))
}

mod num_from {
    /// The range bounds of [`super::KEY_RANGES`] in a key's own type.
    pub trait FromF64 {
        fn from_f64(v: f64) -> Self;
    }
    macro_rules! from_f64 {
        ($($t:ty),*) => {$(impl FromF64 for $t { fn from_f64(v: f64) -> Self { v as $t } })*};
    }
    from_f64!(u8, u32, usize, f64);
}

macro_rules! keyed {
    ($name:ident, $t:ty, $key:literal) => {
        /// Range-checked deserialiser (range from `KEY_RANGES`).
        pub fn $name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
            keyed::<D, $t>(d, $key)
        }
    };
    ($name:ident, opt $t:ty, $key:literal) => {
        /// Range-checked deserialiser of an optional value (range from `KEY_RANGES`).
        pub fn $name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<$t>, D::Error> {
            keyed::<D, $t>(d, $key).map(Some)
        }
    };
}

keyed!(sample_rate, u32, "sample_rate");
keyed!(buffer_size, u32, "buffer_size");
keyed!(voices, usize, "voices");
keyed!(banks, usize, "banks");
keyed!(rows, usize, "rows");
keyed!(cols, usize, "cols");
keyed!(choke, u8, "choke");
keyed!(beats_per_bar, u8, "beats_per_bar");
keyed!(beats, opt f64, "beats");
keyed!(bank, usize, "bank");
keyed!(pad_index, opt usize, "pad");
keyed!(row, opt usize, "row");
keyed!(col, opt usize, "col");
keyed!(start, opt f64, "start");
keyed!(loop_start, opt f64, "loop_start");
keyed!(loop_end, opt f64, "loop_end");

/// The isolator's crossover pair: low 40..1000 Hz, high 500..16000 Hz, at least an octave apart.
pub fn crossovers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[f32; 2], D::Error> {
    use crate::dsp::isolator::{HIGH_RANGE, LOW_RANGE, MIN_RATIO};
    let [lo, hi] = <[f64; 2]>::deserialize(d)?;
    if !(LOW_RANGE.0 as f64..=LOW_RANGE.1 as f64).contains(&lo)
        || !(HIGH_RANGE.0 as f64..=HIGH_RANGE.1 as f64).contains(&hi)
        || hi < lo * MIN_RATIO as f64
    {
        return Err(D::Error::custom(format!(
            "`eq_crossovers` = [{lo}, {hi}] is out of range; allowed [low, high] with low {} to {} Hz, high {} to {} Hz, high at least twice low",
            LOW_RANGE.0, LOW_RANGE.1, HIGH_RANGE.0, HIGH_RANGE.1
        )));
    }
    Ok([lo as f32, hi as f32])
}

/// A memory budget as written in a set file: `"1.5GB"`, `"800MB"`, `"60%"` (of physical
/// memory), or a number of bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MemoryLimit {
    /// Bytes.
    Bytes(u64),
    /// Percent of physical memory.
    Percent(f64),
}

impl MemoryLimit {
    /// The default: half of physical memory (the rest for the system, the page cache that
    /// streaming reads through, and everything else padlooper holds).
    pub const DEFAULT: MemoryLimit = MemoryLimit::Percent(50.0);

    /// Parses `"1.5GB"`, `"800 MB"`, `"512MiB"`, `"60%"` or a plain number of bytes.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "`memory_limit` = {s:?} is not a size; write e.g. \"1.5GB\", \"800MB\" or \"60%\" (of physical memory)"
            )
        };
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(1.0..=95.0).contains(&v) {
                return Err(format!(
                    "`memory_limit` = {s:?} is out of range; allowed 1% to 95% of physical memory"
                ));
            }
            return Ok(MemoryLimit::Percent(v));
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let v: f64 = num.parse().map_err(|_| bad())?;
        let mul = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            _ => return Err(bad()),
        };
        let bytes = v * mul;
        if !bytes.is_finite() || bytes < 16e6 {
            return Err(format!(
                "`memory_limit` = {s:?} is too small; padlooper needs at least 16MB for samples"
            ));
        }
        Ok(MemoryLimit::Bytes(bytes as u64))
    }

    /// Bytes on a machine with `physical` bytes of RAM.
    pub fn bytes(&self, physical: u64) -> u64 {
        match *self {
            MemoryLimit::Bytes(b) => b,
            MemoryLimit::Percent(p) => (physical as f64 * p / 100.0) as u64,
        }
    }
}

impl std::fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            MemoryLimit::Bytes(b) => write!(f, "{:.1} MB", b as f64 / 1e6),
            MemoryLimit::Percent(p) => write!(f, "{p}% of physical memory"),
        }
    }
}

/// Deserialises an optional [`MemoryLimit`].
pub fn memory_limit<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<MemoryLimit>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(f64),
    }
    match Raw::deserialize(d)? {
        Raw::Text(s) => MemoryLimit::parse(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Raw::Number(n) => MemoryLimit::parse(&format!("{n}"))
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// The audio input's channels: one (mono) or two (a stereo pair), each 1 to 64.
pub fn input_channels<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
    let v = Vec::<i64>::deserialize(d)?;
    if v.is_empty() || v.len() > 2 || v.iter().any(|c| !(1..=64).contains(c)) {
        return Err(D::Error::custom(format!(
            "`input_channels` = {v:?} is not one or two channel numbers from 1 to 64; write [1, 2] for a stereo pair or [3] for one mono channel"
        )));
    }
    Ok(v.into_iter().map(|c| c as u16).collect())
}
