//! Controller profiles (`mappings/*.toml`): how a device's MIDI messages map to padlooper
//! actions, and how its LEDs show pad states. Parsed and validated here; not real-time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors, from_toml};

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

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrid {
    rows: usize,
    cols: usize,
    #[serde(default = "one")]
    channel: u8,
    top_left: Option<i32>,
    row_step: Option<i32>,
    col_step: Option<i32>,
    notes: Option<Vec<Vec<u8>>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawButton {
    action: ButtonAction,
    note: Option<u8>,
    cc: Option<u8>,
    #[serde(default = "one")]
    channel: u8,
    bank: Option<usize>,
    row: Option<usize>,
    step: Option<i8>,
    #[serde(default)]
    led: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    action: ControlAction,
    cc: u8,
    #[serde(default = "one")]
    channel: u8,
    #[serde(default)]
    relative: bool,
    col: Option<usize>,
    #[serde(default)]
    led: bool,
    ring: Option<Ring>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    ports: Vec<String>,
    #[serde(default)]
    init: Vec<String>,
    #[serde(default)]
    exit: Vec<String>,
    grid: Option<Spanned<RawGrid>>,
    leds: Option<LedSection>,
    #[serde(default)]
    button: Vec<Spanned<RawButton>>,
    #[serde(default)]
    control: Vec<Spanned<RawControl>>,
    stems: Option<Spanned<super::profile_stems::RawStems>>,
    device: Option<Spanned<super::profile_leds::RawDevice>>,
}

fn one() -> u8 {
    1
}

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
        let raw: RawProfile =
            toml::from_str(text).map_err(|e| ConfigErrors(vec![from_toml(path, text, &e)]))?;
        let mut errors = Vec::new();
        let lines = super::error::LineIndex::new(text);
        let at = |offset: usize, m: String| ConfigError::at_line(path, &lines, offset, m);
        if raw.ports.is_empty() || raw.ports.iter().any(|p| p.trim().is_empty()) {
            errors.push(ConfigError::whole(
                path,
                "`ports` needs at least one non-empty port-name substring",
            ));
        }
        let sysex = |list: &[String], key: &str, errors: &mut Vec<ConfigError>| -> Vec<Vec<u8>> {
            list.iter()
                .filter_map(|s| match parse_hex(s) {
                    Ok(b) if b.len() >= 2 && b[0] == 0xF0 && b[b.len() - 1] == 0xF7 && b[1..b.len() - 1].iter().all(|x| *x < 0x80) => Some(b),
                    Ok(_) => {
                        errors.push(ConfigError::whole(path, format!("`{key}` entry {s:?} is not a SysEx message (F0 ... F7, data bytes below 80)")));
                        None
                    }
                    Err(e) => {
                        errors.push(ConfigError::whole(path, format!("`{key}` entry {s:?}: {e}")));
                        None
                    }
                })
                .collect()
        };
        let init = sysex(&raw.init, "init", &mut errors);
        let exit = sysex(&raw.exit, "exit", &mut errors);
        let mut used: HashMap<Binding, usize> = HashMap::new();
        let mut claim = |b: Binding, offset: usize, errors: &mut Vec<ConfigError>| {
            let line = lines.line_col(offset).0;
            if let Some(prev) = used.insert(b, line) {
                let what = match b {
                    Binding::Note(c, n) => format!("note {n} on channel {}", c + 1),
                    Binding::Cc(c, n) => format!("cc {n} on channel {}", c + 1),
                };
                errors.push(at(offset, format!("{what} is already used on line {prev}")));
            }
        };
        let channel = |c: u8, offset: usize, errors: &mut Vec<ConfigError>| -> u8 {
            if (1..=16).contains(&c) {
                c - 1
            } else {
                errors.push(at(
                    offset,
                    format!("`channel` = {c} is out of range; allowed 1 to 16"),
                ));
                0
            }
        };
        let (mut rows, mut cols, mut grid_channel, mut grid_notes) = (0, 0, 0, Vec::new());
        if let Some(g) = &raw.grid {
            let o = g.span().start;
            let g = g.get_ref();
            rows = g.rows;
            cols = g.cols;
            grid_channel = channel(g.channel, o, &mut errors);
            if !(1..=16).contains(&rows) || !(1..=16).contains(&cols) {
                errors.push(at(
                    o,
                    format!("grid {rows}x{cols}: `rows` and `cols` must be 1 to 16"),
                ));
            } else {
                match (&g.notes, g.top_left, g.row_step, g.col_step) {
                    (Some(notes), None, None, None) => {
                        if notes.len() != rows || notes.iter().any(|r| r.len() != cols) {
                            errors.push(at(o, format!("`notes` must be {rows} rows of {cols} notes (top row first)")));
                        }
                        grid_notes = notes.iter().flatten().copied().collect();
                    }
                    (None, Some(tl), Some(rs), Some(cs)) => {
                        for r in 0..rows as i32 {
                            for c in 0..cols as i32 {
                                let n = tl + r * rs + c * cs;
                                if (0..=127).contains(&n) {
                                    grid_notes.push(n as u8);
                                } else {
                                    errors.push(at(o, format!("grid cell row {r}, col {c} gives note {n}; notes must be 0 to 127")));
                                }
                            }
                        }
                    }
                    _ => errors.push(at(
                        o,
                        "[grid] needs either `notes` (a table) or all of `top_left`, `row_step`, `col_step`".into(),
                    )),
                }
                for &n in &grid_notes {
                    if n > 127 {
                        errors.push(at(
                            o,
                            format!("grid note {n} is out of range; allowed 0 to 127"),
                        ));
                    }
                    claim(Binding::Note(grid_channel, n), o, &mut errors);
                }
            }
        }
        let mut buttons = Vec::new();
        for b in &raw.button {
            let o = b.span().start;
            let r = b.get_ref();
            let ch = channel(r.channel, o, &mut errors);
            let binding = match (r.note, r.cc) {
                (Some(n), None) if n < 128 => Binding::Note(ch, n),
                (None, Some(c)) if c < 128 => Binding::Cc(ch, c),
                (Some(_), Some(_)) | (None, None) => {
                    errors.push(at(
                        o,
                        "a [[button]] needs exactly one of `note` or `cc`".into(),
                    ));
                    continue;
                }
                _ => {
                    errors.push(at(o, "`note`/`cc` must be 0 to 127".into()));
                    continue;
                }
            };
            claim(binding, o, &mut errors);
            let arg = match r.action {
                ButtonAction::Bank => match r.bank {
                    Some(b) if b < 16 => b,
                    _ => {
                        errors.push(at(o, "action `bank` needs `bank` = 0 to 15".into()));
                        continue;
                    }
                },
                ButtonAction::LaunchRow => match r.row {
                    Some(row) if row < 16 => row,
                    _ => {
                        errors.push(at(
                            o,
                            "action `launch_row` needs `row` = 0 to 15 (0 = top)".into(),
                        ));
                        continue;
                    }
                },
                _ => 0,
            };
            let step = match (r.action, r.step) {
                (ButtonAction::SelectedTranspose, None) => 1,
                (ButtonAction::SelectedTranspose, Some(s)) if (-12..=12).contains(&s) && s != 0 => {
                    s
                }
                (ButtonAction::SelectedTranspose, Some(s)) => {
                    errors.push(at(
                        o,
                        format!("`step` = {s} is out of range; allowed -12 to 12 semitones, not 0"),
                    ));
                    continue;
                }
                (_, Some(_)) => {
                    errors.push(at(
                        o,
                        "`step` only goes with action `selected_transpose`".into(),
                    ));
                    continue;
                }
                (_, None) => 0,
            };
            buttons.push(Button {
                action: r.action,
                binding,
                arg,
                step,
                led: r.led,
            });
        }
        let mut controls = Vec::new();
        for c in &raw.control {
            let o = c.span().start;
            let r = c.get_ref();
            let ch = channel(r.channel, o, &mut errors);
            if r.cc > 127 {
                errors.push(at(
                    o,
                    format!("`cc` = {} is out of range; allowed 0 to 127", r.cc),
                ));
                continue;
            }
            let binding = Binding::Cc(ch, r.cc);
            claim(binding, o, &mut errors);
            let arg = match r.action {
                ControlAction::ColumnGain | ControlAction::ColumnFilter => match r.col {
                    Some(col) if col < 16 => col,
                    _ => {
                        errors.push(at(o, "column actions need `col` = 0 to 15".into()));
                        continue;
                    }
                },
                _ => 0,
            };
            if let Some(ring) = r.ring
                && (ring.cc > 127 || ring.style > 127)
            {
                errors.push(at(o, "`ring` needs `cc` and `style` 0 to 127".into()));
                continue;
            }
            if (r.led || r.ring.is_some()) && r.relative {
                errors.push(at(
                    o,
                    "a relative (endless) control has no position to show: drop `led`/`ring` or `relative`".into(),
                ));
                continue;
            }
            controls.push(Control {
                action: r.action,
                binding,
                relative: r.relative,
                arg,
                led: r.led || r.ring.is_some(),
                ring: r.ring,
            });
        }
        if let Some(l) = &raw.leds {
            let looks = l.pad_looks();
            for (key, look) in l.all() {
                if !look.valid() {
                    errors.push(ConfigError::whole(
                        path,
                        format!("[leds] `{key}`: channel or value out of range (channel 1 to 16, value 0 to 127)"),
                    ));
                }
            }
            if raw.grid.is_some() && looks.iter().any(|x| x.is_none()) {
                errors.push(ConfigError::whole(
                    path,
                    "[leds] of a profile with a [grid] needs every pad state: empty, loaded, playing, queued_start, queued_stop, selected, error",
                ));
            }
            if raw.button.iter().any(|b| b.get_ref().led)
                && (l.button_on.is_none() || l.button_off.is_none())
            {
                errors.push(ConfigError::whole(
                    path,
                    "buttons with `led = true` need [leds] `button_on` and `button_off`",
                ));
            }
        }
        let stems = raw.stems.as_ref().and_then(|st| {
            super::profile_stems::validate(st.get_ref(), rows)
                .map_err(|m| errors.push(at(st.span().start, m)))
                .ok()
        });
        let stem_button = raw
            .button
            .iter()
            .find(|b| b.get_ref().action == ButtonAction::StemMode);
        if let (Some(b), None) = (stem_button, &raw.stems) {
            errors.push(at(
                b.span().start,
                "action `stem_mode` needs a [stems] section (its row and colours)".into(),
            ));
        }
        let device = match &raw.device {
            Some(d) => super::profile_leds::validate_device(d.get_ref()).unwrap_or_else(|ms| {
                errors.extend(ms.into_iter().map(|m| at(d.span().start, m)));
                DeviceFacts::default()
            }),
            None => DeviceFacts::default(),
        };
        let mut warnings = Vec::new();
        let lit_buttons = raw
            .button
            .iter()
            .filter(|b| b.get_ref().led)
            .filter_map(|b| {
                let r = b.get_ref();
                let c = match (r.note, r.cc) {
                    (Some(n), None) => ControlRef::Note(n),
                    (None, Some(c)) => ControlRef::Cc(c),
                    _ => return None,
                };
                Some((
                    b.span().start,
                    c,
                    format!("button `{}`", action_name(&r.action)),
                ))
            });
        let lit_controls = raw
            .control
            .iter()
            .filter(|c| c.get_ref().led || c.get_ref().ring.is_some())
            .map(|c| {
                let r = c.get_ref();
                (
                    c.span().start,
                    ControlRef::Cc(r.cc),
                    format!("control `{}`", action_name(&r.action)),
                )
            });
        for (o, c, what) in lit_buttons.chain(lit_controls) {
            if device.unlit.contains(&c) {
                warnings.push(at(
                    o,
                    format!("{what} ({c}) asks for a light, but [device] `unlit` says this control has no LED: the light will never show; drop `led` or move the action to a button with an LED"),
                ));
            }
        }
        if raw.grid.is_none() && raw.button.is_empty() && raw.control.is_empty() {
            errors.push(ConfigError::whole(
                path,
                "a profile needs a [grid], [[button]]s or [[control]]s",
            ));
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Profile {
            name: raw.name,
            source: path.display().to_string(),
            ports: raw.ports,
            init,
            stems,
            exit,
            rows,
            cols,
            grid_channel,
            grid_notes,
            leds: raw.leds,
            buttons,
            controls,
            device,
            warnings,
        })
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
fn action_name<T: std::fmt::Debug>(a: &T) -> String {
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
