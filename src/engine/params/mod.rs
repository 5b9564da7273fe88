//! The one table of every continuous parameter: its name, range, default and unit. Set files,
//! render scripts, controllers, the engine's own input checks and the README all use it, so a
//! range is written once.

/// A continuous parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// Name as used in set files and scripts.
    pub name: &'static str,
    /// Lowest value.
    pub lo: f32,
    /// Highest value.
    pub hi: f32,
    /// Value when not given.
    pub default: f32,
    /// Unit, for messages and docs ("" for plain numbers).
    pub unit: &'static str,
    /// Where it is set (`master`, `pad`, `fx`), for docs.
    pub section: &'static str,
    /// What it does, for docs.
    pub doc: &'static str,
}

impl ParamSpec {
    /// Clamps `v` into range; NaN becomes the default. Real-time safe.
    #[inline]
    pub fn clamp(&self, v: f32) -> f32 {
        if v.is_nan() {
            self.default
        } else {
            v.clamp(self.lo, self.hi)
        }
    }

    /// Whether `v` is inside the range (NaN is not), compared at the engine's `f32`
    /// precision (so `0.95` in a file is inside a range that ends at `0.95`). Real-time safe.
    pub fn contains(&self, v: f64) -> bool {
        let x = v as f32;
        x >= self.lo && x <= self.hi
    }

    /// Maps a controller position `0..=1` linearly onto the range. Real-time safe.
    pub fn from_unit(&self, k: f32) -> f32 {
        self.clamp(self.lo + k.clamp(0.0, 1.0) * (self.hi - self.lo))
    }

    /// The controller position `0..=1` that [`from_unit`](Self::from_unit) maps to `v`.
    /// Real-time safe.
    pub fn to_unit(&self, v: f32) -> f32 {
        if self.hi > self.lo {
            ((self.clamp(v) - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// "`name` = v is out of range; allowed lo to hi" (the message every front-end uses).
    pub fn out_of_range(&self, v: impl std::fmt::Display) -> String {
        format!(
            "`{}` = {v} is out of range; allowed {} to {}{}",
            self.name,
            fmt_num(self.lo),
            fmt_num(self.hi),
            if self.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", self.unit)
            }
        )
    }

    /// Checks a value, returning the out-of-range message on failure.
    pub fn check(&self, v: f64) -> Result<f32, String> {
        if self.contains(v) {
            Ok(v as f32)
        } else {
            Err(self.out_of_range(v))
        }
    }
}

impl ParamSpec {
    /// The parameter's row in README's parameter table (a test keeps the two in step).
    pub fn doc_row(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!(
            "| `{}` | {} | {} to {}{unit} | {} | {} |",
            self.name,
            self.section,
            fmt_num(self.lo),
            fmt_num(self.hi),
            fmt_num(self.default),
            self.doc
        )
    }
}

/// Formats a bound without a trailing `.0` (`-inf` for minus infinity).
pub fn fmt_num(v: f32) -> String {
    if v == f32::NEG_INFINITY {
        "-inf".into()
    } else if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

macro_rules! spec {
    ($id:ident, $name:literal, $lo:expr, $hi:expr, $def:expr, $unit:literal, $sec:literal, $doc:literal) => {
        #[doc = $doc]
        pub const $id: ParamSpec = ParamSpec {
            name: $name,
            lo: $lo,
            hi: $hi,
            default: $def,
            unit: $unit,
            section: $sec,
            doc: $doc,
        };
    };
}

spec!(
    VOLUME,
    "volume",
    0.0,
    2.0,
    1.0,
    "",
    "master",
    "Master volume, linear (1 = unity)."
);
spec!(
    SPEED,
    "speed",
    0.5,
    2.0,
    1.0,
    "",
    "master/pad",
    "Speed factor (pitch follows unless key lock is on)."
);
spec!(
    BPM,
    "bpm",
    20.0,
    300.0,
    120.0,
    "BPM",
    "master",
    "Tempo of the set."
);
spec!(
    GAIN_DB,
    "gain_db",
    -60.0,
    12.0,
    0.0,
    "dB",
    "pad",
    "A pad's gain."
);
spec!(
    EQ_KNOB,
    "eq_low/eq_mid/eq_high",
    0.0,
    1.0,
    0.5,
    "",
    "pad",
    "EQ band knob: 0 = kill, 0.5 = flat, 1 = +6 dB."
);
spec!(
    EQ_DB,
    "eq_low_db/eq_mid_db/eq_high_db",
    f32::NEG_INFINITY,
    6.0,
    0.0,
    "dB",
    "pad",
    "EQ band gain in dB."
);
spec!(
    FILTER,
    "filter",
    0.0,
    1.0,
    0.5,
    "",
    "pad",
    "DJ filter knob: below 0.5 low-pass, above high-pass, 0.5 off."
);
spec!(
    RESONANCE,
    "resonance",
    0.0,
    1.0,
    0.0,
    "",
    "pad",
    "Filter resonance (Q 0.707 to 8)."
);
spec!(
    DELAY_SEND,
    "delay_send",
    0.0,
    1.0,
    0.0,
    "",
    "pad",
    "Send level to the delay."
);
spec!(
    REVERB_SEND,
    "reverb_send",
    0.0,
    1.0,
    0.0,
    "",
    "pad",
    "Send level to the reverb."
);
spec!(
    DELAY_FEEDBACK,
    "delay_feedback",
    0.0,
    0.95,
    0.35,
    "",
    "fx",
    "Delay feedback (repeats are low-passed)."
);
spec!(
    DELAY_DIVISION,
    "delay_division",
    0.0,
    3.0,
    1.0,
    "",
    "fx",
    "Delay note value: 0 = 1/4, 1 = 1/8, 2 = dotted 1/8, 3 = 1/16 (set files name it: `1/4`, `1/8`, `1/8d`, `1/16`)."
);
spec!(
    DELAY_WET,
    "delay_wet",
    0.0,
    1.0,
    0.8,
    "",
    "fx",
    "Delay return level."
);
spec!(
    REVERB_ROOM,
    "reverb_room",
    0.0,
    1.0,
    0.6,
    "",
    "fx",
    "Reverb room size."
);
spec!(
    REVERB_DAMPING,
    "reverb_damping",
    0.0,
    1.0,
    0.5,
    "",
    "fx",
    "Reverb treble damping."
);
spec!(
    REVERB_WET,
    "reverb_wet",
    0.0,
    1.0,
    0.8,
    "",
    "fx",
    "Reverb return level."
);
spec!(
    PHASER_RATE,
    "phaser_rate",
    0.05,
    10.0,
    0.3,
    "Hz",
    "fx",
    "Phaser LFO rate."
);
spec!(
    PHASER_DEPTH,
    "phaser_depth",
    0.0,
    1.0,
    0.7,
    "",
    "fx",
    "Phaser sweep depth."
);
spec!(
    PHASER_FEEDBACK,
    "phaser_feedback",
    0.0,
    0.9,
    0.5,
    "",
    "fx",
    "Phaser feedback."
);
spec!(
    PHASER_MIX,
    "phaser_mix",
    0.0,
    1.0,
    0.0,
    "",
    "fx",
    "Phaser mix (0 = off)."
);
spec!(
    TEMPO_GLIDE_MS,
    "tempo_glide_ms",
    0.0,
    10000.0,
    0.0,
    "ms",
    "master",
    "How long a tempo change glides (0 = at once)."
);
spec!(
    LATE_PRESS_MS,
    "late_press_ms",
    0.0,
    250.0,
    60.0,
    "ms",
    "master",
    "A quantised start pressed this soon after a grid line starts at once, as if on time."
);
spec!(
    PAD_BPM,
    "bpm (pad)",
    20.0,
    300.0,
    120.0,
    "BPM",
    "pad",
    "The sample's own tempo: a synced pad plays at master tempo / this."
);
spec!(
    NUDGE,
    "nudge",
    0.0,
    10.0,
    4.0,
    "%",
    "master",
    "How much the nudge buttons speed the transport up or down while held."
);
spec!(
    TRANSPOSE,
    "transpose",
    -12.0,
    12.0,
    0.0,
    "semitones",
    "pad",
    "Pitch shift without changing the tempo."
);
spec!(
    FINE,
    "fine",
    -50.0,
    50.0,
    0.0,
    "cents",
    "pad",
    "Fine pitch shift, added to `transpose`."
);
spec!(
    STRETCH_WORKERS,
    "stretch_workers",
    0.0,
    16.0,
    0.0,
    "",
    "master",
    "Threads real-time stretchers run ahead on while playing live (0 = one per core; none on a single core)."
);
spec!(
    RECORD_SECONDS,
    "record_seconds",
    0.0,
    600.0,
    60.0,
    "s",
    "master",
    "Longest take a pad can record; a tape this long waits in memory (23 MB a minute at 48 kHz; 0 = no recording)."
);
spec!(
    RECORD_BARS,
    "record_bars",
    0.0,
    64.0,
    0.0,
    "bars",
    "master",
    "Bars a first take lasts with the transport stopped (it sets the tempo; 0 = from its length, 70 BPM or more)."
);
spec!(
    OVERDUB_FEEDBACK,
    "overdub_feedback",
    0.0,
    1.0,
    1.0,
    "",
    "master",
    "What an overdub pass keeps of the loop's earlier layers (1 = all of them; 0.8 fades each by 2 dB a pass)."
);
spec!(
    KEYLOCK_VOICES,
    "keylock_voices",
    0.0,
    64.0,
    0.0,
    "",
    "master",
    "Voices that may use a real-time stretcher at once (0 = measured at start: what half a core sustains)."
);
spec!(
    TABLE_MEMORY_MB,
    "table_memory_mb",
    0.0,
    16384.0,
    256.0,
    "MB",
    "master",
    "Memory for stretched tables of key-locked and transposed pads (0 = real-time stretching only)."
);
spec!(
    DISK_MB_S,
    "disk_mb_s",
    0.0,
    10000.0,
    20.0,
    "MB/s",
    "master",
    "Read rate the sample storage sustains, for the memory plan's warning (20: a Pi's SD card with many files open; 0 = do not check)."
);
spec!(
    RT_PRIORITY,
    "rt_priority",
    0.0,
    95.0,
    40.0,
    "",
    "master",
    "SCHED_FIFO priority the audio thread asks for (0 = normal scheduling); below the kernel's interrupt threads (50) by default."
);
spec!(
    STEM_GAIN_DB,
    "stem_gain_db",
    -60.0,
    6.0,
    0.0,
    "dB",
    "pad",
    "A stem's gain while the pad plays its stems (script `stemgain`, set file `stem_gain_db`)."
);

/// [`STEM_GAIN_DB`]'s range as a linear gain: `0..=10^(hi/20)`; NaN is unity. Real-time safe.
pub fn clamp_stem_gain(g: f32) -> f32 {
    if g.is_nan() {
        1.0
    } else {
        g.clamp(0.0, 10f32.powf(STEM_GAIN_DB.hi / 20.0))
    }
}

/// A pad's linear gain within [`GAIN_DB`]'s range: `0..=10^(hi/20)` (0 is silence, below the
/// range's lowest dB); NaN is unity. Real-time safe.
pub fn clamp_pad_gain(g: f32) -> f32 {
    if g.is_nan() {
        1.0
    } else {
        g.clamp(0.0, 10f32.powf(GAIN_DB.hi / 20.0))
    }
}

mod int_range;
pub use int_range::{BUFFER_SIZE, INT_ALL, IntRange, SAMPLE_RATE, VOICES};

/// Every parameter, for docs and tests.
pub const ALL: &[ParamSpec] = &[
    VOLUME,
    SPEED,
    BPM,
    GAIN_DB,
    EQ_KNOB,
    EQ_DB,
    FILTER,
    RESONANCE,
    DELAY_SEND,
    REVERB_SEND,
    DELAY_FEEDBACK,
    DELAY_DIVISION,
    DELAY_WET,
    REVERB_ROOM,
    REVERB_DAMPING,
    REVERB_WET,
    PHASER_RATE,
    PHASER_DEPTH,
    PHASER_FEEDBACK,
    PHASER_MIX,
    TEMPO_GLIDE_MS,
    LATE_PRESS_MS,
    PAD_BPM,
    NUDGE,
    TRANSPOSE,
    FINE,
    KEYLOCK_VOICES,
    STRETCH_WORKERS,
    RECORD_SECONDS,
    RECORD_BARS,
    OVERDUB_FEEDBACK,
    TABLE_MEMORY_MB,
    DISK_MB_S,
    RT_PRIORITY,
    STEM_GAIN_DB,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_clamps_to_the_default_and_ranges_are_sane() {
        for p in ALL {
            assert!(p.lo < p.hi, "{}", p.name);
            assert!(p.default >= p.lo && p.default <= p.hi, "{}", p.name);
            assert_eq!(p.clamp(f32::NAN), p.default);
            assert_eq!(p.clamp(f32::INFINITY), p.hi);
        }
        assert_eq!(
            DELAY_FEEDBACK.out_of_range(2),
            "`delay_feedback` = 2 is out of range; allowed 0 to 0.95"
        );
    }
}
