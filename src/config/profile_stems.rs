//! A profile's `[stems]` section: in stem mode (the `stem_mode` button) one grid row controls
//! the selected pad's stems, lit in the stems' colours. Not real-time.
//!
//! ```toml
//! [stems]
//! row = 7                      # the grid row (0 = top; default: the bottom row)
//! channel = 1                  # channel of a stem's steady colour
//! solo_channel = 2             # channel of a soloed stem's colour (e.g. flashing)
//! solo_from = 0                # devices that animate between two colours (APC40 mkII):
//!                              # the colour a soloed stem blinks with, sent on `channel` first
//! muted = { channel = 1, value = 1 }   # look of a muted stem
//! switch = { channel = 1, value = 21 } # the full mix ⇄ stems cell while stems play
//!                                      # (default: [leds] button_on)
//! palette = [ { color = "#FF0000", value = 5 }, { color = "#00FF00", value = 21 } ]
//! ```
//!
//! A stem's colour (from its stem file, or the usual colour of its name) is shown as the
//! palette entry nearest to it.

use serde::Deserialize;

use super::profile::LedLook;
use crate::sample::stems::parse_rgb;

/// One colour the device can show: its RGB and the LED value that shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaletteEntry {
    /// `#RRGGBB`.
    pub color: String,
    /// The LED value (velocity) showing it.
    pub value: u8,
}

/// `[stems]` as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStems {
    row: Option<usize>,
    #[serde(default = "one")]
    channel: u8,
    solo_channel: Option<u8>,
    solo_from: Option<u8>,
    muted: Option<LedLook>,
    switch: Option<LedLook>,
    #[serde(default)]
    palette: Vec<PaletteEntry>,
}

fn one() -> u8 {
    1
}

/// A validated `[stems]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct StemLeds {
    /// The grid row stems take in stem mode (0 = top).
    pub row: usize,
    /// Channel (1-based) of a stem's steady colour.
    pub channel: u8,
    /// Channel (1-based) of a soloed stem's colour.
    pub solo_channel: u8,
    /// The primary colour sent on `channel` before a soloed stem's animation (devices that
    /// animate between two colours); None: the animation alone.
    pub solo_from: Option<u8>,
    /// Look of a muted stem (None: off).
    pub muted: Option<LedLook>,
    /// Look of the full mix ⇄ stems cell while stems play (None: `[leds] button_on`).
    pub switch: Option<LedLook>,
    /// Colours the device shows, with their LED values.
    pub palette: Vec<([u8; 3], u8)>,
}

impl StemLeds {
    /// The LED value nearest to `rgb` in the palette (None without a palette).
    pub fn value_for(&self, rgb: [u8; 3]) -> Option<u8> {
        let dist = |c: [u8; 3]| -> i32 {
            (0..3)
                .map(|i| (c[i] as i32 - rgb[i] as i32).pow(2))
                .sum::<i32>()
        };
        self.palette
            .iter()
            .min_by_key(|(c, _)| dist(*c))
            .map(|(_, v)| *v)
    }
}

/// Validates `raw` for a grid of `rows` rows; problems are returned as messages.
pub fn validate(raw: &RawStems, rows: usize) -> Result<StemLeds, String> {
    if rows == 0 {
        return Err("[stems] needs a [grid]".into());
    }
    let row = raw.row.unwrap_or(rows - 1);
    if row >= rows {
        return Err(format!(
            "[stems] `row` = {row} is outside the grid; allowed 0 to {}",
            rows - 1
        ));
    }
    let ch_ok = |c: u8| (1..=16).contains(&c);
    let solo_channel = raw.solo_channel.unwrap_or(raw.channel);
    if !ch_ok(raw.channel)
        || !ch_ok(solo_channel)
        || raw.muted.is_some_and(|m| !m.valid())
        || raw.switch.is_some_and(|m| !m.valid())
    {
        return Err("[stems] channels must be 1 to 16 and values 0 to 127".into());
    }
    if raw.solo_from.is_some_and(|v| v > 127) {
        return Err("[stems] `solo_from` must be 0 to 127".into());
    }
    let mut palette = Vec::new();
    for e in &raw.palette {
        let rgb = parse_rgb(&e.color)
            .ok_or_else(|| format!("[stems] palette colour {:?} is not #RRGGBB", e.color))?;
        if e.value > 127 {
            return Err(format!(
                "[stems] palette value {} is out of range; allowed 0 to 127",
                e.value
            ));
        }
        palette.push((rgb, e.value));
    }
    if palette.is_empty() {
        return Err("[stems] needs a `palette` with at least one colour".into());
    }
    Ok(StemLeds {
        row,
        channel: raw.channel,
        solo_channel,
        solo_from: raw.solo_from,
        muted: raw.muted,
        switch: raw.switch,
        palette,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_palette_colour() {
        let raw: RawStems = toml::from_str(
            "palette = [{ color = \"#FF0000\", value = 5 }, { color = \"#00FF00\", value = 21 }, { color = \"#0000FF\", value = 45 }]",
        )
        .unwrap();
        let s = validate(&raw, 8).unwrap();
        assert_eq!(s.row, 7);
        assert_eq!(s.value_for([0x00, 0x9E, 0x73]), Some(21));
        assert_eq!(s.value_for([0x56, 0xB4, 0xE9]), Some(45));
        assert_eq!(s.value_for([0xD5, 0x5E, 0x00]), Some(5));
        assert!(validate(&raw, 0).is_err());
    }
}
