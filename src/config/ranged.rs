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

/// Defines a deserialiser function `$name` for a field `$key` of type `$t` within `$lo..=$hi`.
macro_rules! ranged {
    ($name:ident, $t:ty, $key:literal, $lo:expr, $hi:expr) => {
        /// Range-checked deserialiser for the key named in the error message.
        pub fn $name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
            check::<D, $t>(d, $key, $lo, $hi)
        }
    };
}

/// Like [`ranged!`] for `Option<T>` fields.
macro_rules! ranged_opt {
    ($name:ident, $t:ty, $key:literal, $lo:expr, $hi:expr) => {
        /// Range-checked deserialiser (optional value) for the key named in the error message.
        pub fn $name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<$t>, D::Error> {
            check::<D, $t>(d, $key, $lo, $hi).map(Some)
        }
    };
}

ranged!(volume, f32, "volume", 0.0, 2.0);
ranged!(sample_rate, u32, "sample_rate", 8000, 192000);
ranged!(buffer_size, u32, "buffer_size", 16, 8192);
ranged!(voices, usize, "voices", 1, 1024);
ranged!(bpm, f32, "bpm", 20.0, 300.0);
ranged!(speed, f32, "speed", 0.5, 2.0);
ranged!(grid_dim, usize, "banks/rows/cols", 1, 16);
ranged!(gain_db, f32, "gain_db", -60.0, 12.0);
ranged!(choke, u8, "choke", 0, 255);
ranged!(bank, usize, "bank", 0, 15);
ranged_opt!(pad_index, usize, "pad", 0, 255);
ranged_opt!(cell, usize, "row/col", 0, 15);
ranged_opt!(seconds, f64, "start/loop_start/loop_end", 0.0, 3600.0);
ranged_opt!(
    knob,
    f32,
    "eq_low/eq_mid/eq_high/filter/resonance/delay_send/reverb_send",
    0.0,
    1.0
);
ranged_opt!(
    eq_db,
    f64,
    "eq_low_db/eq_mid_db/eq_high_db",
    f64::NEG_INFINITY,
    6.0
);
ranged!(unit, f32, "level", 0.0, 1.0);
ranged!(feedback, f32, "delay_feedback", 0.0, 0.95);
ranged!(phaser_feedback, f32, "phaser_feedback", 0.0, 0.9);
ranged!(phaser_rate, f32, "phaser_rate", 0.05, 10.0);
