//! Controller profiles (`mappings/*.toml`): how a device's MIDI messages map to padlooper
//! actions, and how its LEDs show pad states. Parsed and validated here; not real-time.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{ConfigError, ConfigErrors};

/// Actions a button can trigger (momentary: on press, except `shift` which is held).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonAction {
    /// Previous bank.
    BankPrev,
    /// Next bank.
    BankNext,
    /// A given bank (`bank = N`).
    Bank,
    /// Stop every pad.
    StopAll,
    /// Held: pad presses select the pad instead of playing it.
    Shift,
    /// Press every loaded pad of a grid row (`row = N`, 0 = top) in the current bank.
    LaunchRow,
    /// Stop the selected pad.
    StopSelected,
    /// Toggle between multi and exclusive play mode.
    PlayMode,
    /// Tap tempo: the tempo follows the taps (the bar phase stays).
    TapTempo,
    /// Start the transport from bar 1, or stop it (and every pad).
    TransportToggle,
    /// Held: the transport (and every pad) runs faster by `[master] nudge` percent.
    NudgeUp,
    /// Held: the transport (and every pad) runs slower by `[master] nudge` percent.
    NudgeDown,
    /// Toggle tempo sync of the selected pad.
    SyncSelected,
    /// Toggle key lock of the selected pad (tempo changes leave its pitch alone).
    SelectedKeyLock,
    /// Transpose the selected pad by `step` semitones (default +1; -1 for a down button).
    SelectedTranspose,
    /// Key lock on for every pad, or off for every pad when it already is on everywhere.
    GlobalKeyLock,
    /// Forget the saved state: every pad and the master go back to what the set says.
    ResetState,
    /// Stem mode on/off: the `[stems]` row mutes (shift: solos) the selected pad's stems.
    StemMode,
    /// Ableton Link on/off (the LED is lit with peers in the session, blinks while alone).
    Link,
    /// Record the audio input into the next pad pressed (a take from the next bar; the pad
    /// pressed again ends it on a bar line). Pressed again before a pad: disarms.
    Record,
    /// The same, recording the master output.
    Resample,
    /// Overdub the next pad pressed (a playing loop); pressed again, the pad ends the pass.
    Overdub,
    /// Undo the last take, overdub pass or clear of the pad this controller last recorded into
    /// (else of the selected pad).
    Undo,
    /// Redo what undo took back.
    Redo,
    /// Clear the next pad pressed (undo brings it back).
    Clear,
}

/// Actions a knob or fader can drive (0..127 mapped to the parameter's range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    /// Master volume 0..1 (unity at the top).
    MasterVolume,
    /// Global speed 0.5..2 (1 at the centre).
    GlobalSpeed,
    /// Tempo 60..187 BPM (absolute) or ±1 BPM per step (relative).
    Bpm,
    /// Selected pad's gain (fader law: 0 dB at 100, +4 dB at 127, off at 0).
    SelectedGain,
    /// Selected pad's speed 0.5..2.
    SelectedSpeed,
    /// Selected pad's EQ low knob.
    SelectedEqLow,
    /// Selected pad's EQ mid knob.
    SelectedEqMid,
    /// Selected pad's EQ high knob.
    SelectedEqHigh,
    /// Selected pad's DJ filter.
    SelectedFilter,
    /// Selected pad's filter resonance.
    SelectedResonance,
    /// Selected pad's delay send.
    SelectedDelaySend,
    /// Selected pad's reverb send.
    SelectedReverbSend,
    /// Selected pad's transpose, -12..12 semitones (0 at the centre; ±1 per step relative).
    SelectedTranspose,
    /// Gain of every pad in a grid column of the current bank (`col = N`).
    ColumnGain,
    /// DJ filter of every pad in a grid column (`col = N`).
    ColumnFilter,
    /// Delay wet level.
    DelayWet,
    /// Delay feedback 0..0.95.
    DelayFeedback,
    /// Reverb wet level.
    ReverbWet,
    /// Reverb room size.
    ReverbRoom,
    /// Phaser mix.
    PhaserMix,
    /// Phaser rate 0.05..10 Hz (exponential).
    PhaserRate,
    /// Delay note division: four zones (1/4, 1/8, dotted 1/8, 1/16).
    DelayDivision,
    /// Reverb damping.
    ReverbDamping,
    /// Phaser depth.
    PhaserDepth,
    /// Phaser feedback 0..0.9.
    PhaserFeedback,
}

pub use super::profile_leds::{
    ControlRef, DeviceFacts, LedLook, LedSection, LedSpec, ModeWatch, Ring,
};

/// What a MIDI message is: a note or a controller number, on a channel (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binding {
    /// Note on/off.
    Note(u8, u8),
    /// Control change.
    Cc(u8, u8),
}

/// A validated button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Button {
    /// What it does.
    pub action: ButtonAction,
    /// Its message.
    pub binding: Binding,
    /// Bank for `bank`, row for `launch_row`.
    pub arg: usize,
    /// Semitones for `selected_transpose`.
    pub step: i8,
    /// Whether padlooper drives its LED.
    pub led: bool,
}

/// A validated knob or fader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// What it drives.
    pub action: ControlAction,
    /// Its message (always a CC).
    pub binding: Binding,
    /// Relative encoder (1..63 = +n, 65..127 = n-128).
    pub relative: bool,
    /// Column for `column_*` actions.
    pub arg: usize,
    /// Whether padlooper shows the value of what it controls on the control's LEDs (by
    /// sending its CC back).
    pub led: bool,
    /// Its LED ring's style message (implies `led`).
    pub ring: Option<Ring>,
}

/// A validated controller profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Display name.
    pub name: String,
    /// Where it came from (file path or `builtin:<name>`).
    pub source: String,
    /// Case-insensitive substrings; a port whose name contains one of them uses this profile.
    pub ports: Vec<String>,
    /// SysEx messages sent on connect.
    pub init: Vec<Vec<u8>>,
    /// SysEx messages sent on disconnect / exit.
    pub exit: Vec<Vec<u8>>,
    /// Grid rows (0 = top) and columns.
    pub rows: usize,
    /// Grid columns.
    pub cols: usize,
    /// Grid channel (0-based).
    pub grid_channel: u8,
    /// Note of each grid cell, row-major from the top-left.
    pub grid_notes: Vec<u8>,
    /// LED looks (absent: no LED feedback).
    pub leds: Option<LedSection>,
    /// Buttons.
    pub buttons: Vec<Button>,
    /// Knobs and faders.
    pub controls: Vec<Control>,
    /// Stem mode's row and colours (absent: no stem mode).
    pub stems: Option<super::profile_stems::StemLeds>,
    /// What the device's firmware does on its own (`[device]`).
    pub device: DeviceFacts,
    /// Things that parse but will not work on the device (lights on controls without LEDs),
    /// for `padlooper check` to print.
    pub warnings: Vec<ConfigError>,
}

/// The profiles shipped in `mappings/`, built into the binary: (file stem, text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "launchpad-mini-mk3",
        include_str!("../../mappings/launchpad-mini-mk3.toml"),
    ),
    (
        "launchpad-x",
        include_str!("../../mappings/launchpad-x.toml"),
    ),
    (
        "launchpad-pro-mk3",
        include_str!("../../mappings/launchpad-pro-mk3.toml"),
    ),
    (
        "apc-mini-mk2",
        include_str!("../../mappings/apc-mini-mk2.toml"),
    ),
    ("apc40-mk2", include_str!("../../mappings/apc40-mk2.toml")),
    ("apc-mini", include_str!("../../mappings/apc-mini.toml")),
    (
        "nanokontrol2",
        include_str!("../../mappings/nanokontrol2.toml"),
    ),
];

impl Profile {
    /// Every built-in profile (parsing is checked by the test suite).
    pub fn builtins() -> Vec<Profile> {
        BUILTIN
            .iter()
            .filter_map(|(name, text)| {
                Profile::parse(Path::new(&format!("mappings/{name}.toml")), text).ok()
            })
            .collect()
    }

    /// A built-in profile by file stem (`launchpad-x`), or a profile file by path.
    pub fn find(name_or_path: &str) -> Result<Profile, ConfigErrors> {
        if let Some((stem, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::parse(Path::new(&format!("mappings/{stem}.toml")), text);
        }
        let p = PathBuf::from(name_or_path);
        if p.exists() {
            return Profile::load(&p);
        }
        let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        Err(ConfigErrors(vec![ConfigError::whole(
            &p,
            format!(
                "no such profile file, and not a built-in profile; built-in: {}",
                names.join(", ")
            ),
        )]))
    }

    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile, ConfigErrors> {
        let text = super::input::read_text(path, "profile", super::input::PROFILE_MAX)
            .map_err(|e| ConfigErrors(vec![ConfigError::whole(path, e.to_string())]))?;
        Self::parse(path, &text)
    }

    /// Whether a port name matches this profile.
    pub fn matches_port(&self, port: &str) -> bool {
        let p = port.to_lowercase();
        self.ports.iter().any(|s| p.contains(&s.to_lowercase()))
    }

    /// Parses and validates profile text; every problem is reported with its line.
    pub fn parse(path: &Path, text: &str) -> Result<Profile, ConfigErrors> {
        super::profile_parse::parse(path, text)
    }

    /// Grid cell `(row, col)` of a note on the grid channel.
    pub fn cell_of(&self, channel: u8, note: u8) -> Option<(usize, usize)> {
        if channel != self.grid_channel {
            return None;
        }
        let i = self.grid_notes.iter().position(|&n| n == note)?;
        Some((i / self.cols, i % self.cols))
    }
}

/// The name of an action as written in profiles (`bank_prev`).
pub(crate) fn action_name<T: std::fmt::Debug>(a: &T) -> String {
    let mut out = String::new();
    for (i, ch) in format!("{a:?}").chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Parses hex bytes like `"F0 00 20 29 02 0D 0E 01 F7"`.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    s.split_whitespace()
        .map(|w| u8::from_str_radix(w, 16).map_err(|_| format!("{w:?} is not a hex byte")))
        .collect()
}
