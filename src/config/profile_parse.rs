//! Parsing and checking a controller profile: every problem found at once, each at its line
//! (a note used twice, a channel out of range, an action missing its argument, LEDs a device
//! cannot show). Not real-time.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors, LineIndex, from_toml};
use super::profile::{
    Binding, Button, ButtonAction, Control, ControlAction, ControlRef, DeviceFacts, LedSection,
    Profile, Ring, action_name, parse_hex,
};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGrid {
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
pub(crate) struct RawButton {
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
pub(crate) struct RawControl {
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
pub(crate) struct RawProfile {
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

/// Collects a profile's problems with their lines, and the messages already claimed.
struct Checker<'a> {
    path: &'a Path,
    lines: LineIndex,
    errors: Vec<ConfigError>,
    /// Each message in use, with the line that uses it.
    used: HashMap<Binding, usize>,
}

impl Checker<'_> {
    fn at(&self, offset: usize, m: impl Into<String>) -> ConfigError {
        ConfigError::at_line(self.path, &self.lines, offset, m.into())
    }

    fn fail(&mut self, offset: usize, m: impl Into<String>) {
        let e = self.at(offset, m);
        self.errors.push(e);
    }

    fn whole(&mut self, m: impl Into<String>) {
        let e = ConfigError::whole(self.path, m.into());
        self.errors.push(e);
    }

    /// The SysEx messages of `key` (F0 ... F7, data bytes below 80).
    fn sysex(&mut self, list: &[String], key: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for s in list {
            match parse_hex(s) {
                Ok(b)
                    if b.len() >= 2
                        && b[0] == 0xF0
                        && b[b.len() - 1] == 0xF7
                        && b[1..b.len() - 1].iter().all(|x| *x < 0x80) =>
                {
                    out.push(b)
                }
                Ok(_) => self.whole(format!(
                    "`{key}` entry {s:?} is not a SysEx message (F0 ... F7, data bytes below 80)"
                )),
                Err(e) => self.whole(format!("`{key}` entry {s:?}: {e}")),
            }
        }
        out
    }

    /// Marks a message as used (a second use is an error naming the first's line).
    fn claim(&mut self, b: Binding, offset: usize) {
        let line = self.lines.line_col(offset).0;
        if let Some(prev) = self.used.insert(b, line) {
            let what = match b {
                Binding::Note(c, n) => format!("note {n} on channel {}", c + 1),
                Binding::Cc(c, n) => format!("cc {n} on channel {}", c + 1),
            };
            self.fail(offset, format!("{what} is already used on line {prev}"));
        }
    }

    /// A 1-based channel as 0-based.
    fn channel(&mut self, c: u8, offset: usize) -> u8 {
        if (1..=16).contains(&c) {
            c - 1
        } else {
            self.fail(
                offset,
                format!("`channel` = {c} is out of range; allowed 1 to 16"),
            );
            0
        }
    }

    /// The grid: rows, columns, channel and the note of each cell.
    fn grid(&mut self, grid: &Option<Spanned<RawGrid>>) -> (usize, usize, u8, Vec<u8>) {
        let Some(g) = grid else {
            return (0, 0, 0, Vec::new());
        };
        let o = g.span().start;
        let g = g.get_ref();
        let (rows, cols) = (g.rows, g.cols);
        let ch = self.channel(g.channel, o);
        if !(1..=16).contains(&rows) || !(1..=16).contains(&cols) {
            self.fail(
                o,
                format!("grid {rows}x{cols}: `rows` and `cols` must be 1 to 16"),
            );
            return (rows, cols, ch, Vec::new());
        }
        let mut notes = Vec::new();
        match (&g.notes, g.top_left, g.row_step, g.col_step) {
            (Some(table), None, None, None) => {
                if table.len() != rows || table.iter().any(|r| r.len() != cols) {
                    self.fail(
                        o,
                        format!("`notes` must be {rows} rows of {cols} notes (top row first)"),
                    );
                }
                notes = table.iter().flatten().copied().collect();
            }
            (None, Some(tl), Some(rs), Some(cs)) => {
                for r in 0..rows as i32 {
                    for c in 0..cols as i32 {
                        let n = tl + r * rs + c * cs;
                        if (0..=127).contains(&n) {
                            notes.push(n as u8);
                        } else {
                            self.fail(o, format!("grid cell row {r}, col {c} gives note {n}; notes must be 0 to 127"));
                        }
                    }
                }
            }
            _ => self.fail(
                o,
                "[grid] needs either `notes` (a table) or all of `top_left`, `row_step`, `col_step`",
            ),
        }
        for &n in &notes {
            if n > 127 {
                self.fail(
                    o,
                    format!("grid note {n} is out of range; allowed 0 to 127"),
                );
            }
            self.claim(Binding::Note(ch, n), o);
        }
        (rows, cols, ch, notes)
    }

    /// A `[[button]]`, checked (None: it has an error).
    fn button(&mut self, b: &Spanned<RawButton>) -> Option<Button> {
        let o = b.span().start;
        let r = b.get_ref();
        let ch = self.channel(r.channel, o);
        let binding = match (r.note, r.cc) {
            (Some(n), None) if n < 128 => Binding::Note(ch, n),
            (None, Some(c)) if c < 128 => Binding::Cc(ch, c),
            (Some(_), Some(_)) | (None, None) => {
                self.fail(o, "a [[button]] needs exactly one of `note` or `cc`");
                return None;
            }
            _ => {
                self.fail(o, "`note`/`cc` must be 0 to 127");
                return None;
            }
        };
        self.claim(binding, o);
        let arg = match r.action {
            ButtonAction::Bank => match r.bank {
                Some(b) if b < 16 => b,
                _ => {
                    self.fail(o, "action `bank` needs `bank` = 0 to 15");
                    return None;
                }
            },
            ButtonAction::LaunchRow => match r.row {
                Some(row) if row < 16 => row,
                _ => {
                    self.fail(o, "action `launch_row` needs `row` = 0 to 15 (0 = top)");
                    return None;
                }
            },
            _ => 0,
        };
        let step = match (r.action, r.step) {
            (ButtonAction::SelectedTranspose, None) => 1,
            (ButtonAction::SelectedTranspose, Some(s)) if (-12..=12).contains(&s) && s != 0 => s,
            (ButtonAction::SelectedTranspose, Some(s)) => {
                self.fail(
                    o,
                    format!("`step` = {s} is out of range; allowed -12 to 12 semitones, not 0"),
                );
                return None;
            }
            (_, Some(_)) => {
                self.fail(o, "`step` only goes with action `selected_transpose`");
                return None;
            }
            (_, None) => 0,
        };
        Some(Button {
            action: r.action,
            binding,
            arg,
            step,
            led: r.led,
        })
    }

    /// A `[[control]]`, checked (None: it has an error).
    fn control(&mut self, c: &Spanned<RawControl>) -> Option<Control> {
        let o = c.span().start;
        let r = c.get_ref();
        let ch = self.channel(r.channel, o);
        if r.cc > 127 {
            self.fail(
                o,
                format!("`cc` = {} is out of range; allowed 0 to 127", r.cc),
            );
            return None;
        }
        let binding = Binding::Cc(ch, r.cc);
        self.claim(binding, o);
        let arg = match r.action {
            ControlAction::ColumnGain | ControlAction::ColumnFilter => match r.col {
                Some(col) if col < 16 => col,
                _ => {
                    self.fail(o, "column actions need `col` = 0 to 15");
                    return None;
                }
            },
            _ => 0,
        };
        if let Some(ring) = r.ring
            && (ring.cc > 127 || ring.style > 127)
        {
            self.fail(o, "`ring` needs `cc` and `style` 0 to 127");
            return None;
        }
        if (r.led || r.ring.is_some()) && r.relative {
            self.fail(
                o,
                "a relative (endless) control has no position to show: drop `led`/`ring` or `relative`",
            );
            return None;
        }
        Some(Control {
            action: r.action,
            binding,
            relative: r.relative,
            arg,
            led: r.led || r.ring.is_some(),
            ring: r.ring,
        })
    }

    /// The `[leds]` looks: valid, complete for a grid, and there for lit buttons.
    fn leds(&mut self, raw: &RawProfile) {
        let Some(l) = &raw.leds else { return };
        let looks = l.pad_looks();
        for (key, look) in l.all() {
            if !look.valid() {
                self.whole(format!("[leds] `{key}`: channel or value out of range (channel 1 to 16, value 0 to 127)"));
            }
        }
        if raw.grid.is_some() && looks.iter().any(|x| x.is_none()) {
            self.whole("[leds] of a profile with a [grid] needs every pad state: empty, loaded, playing, queued_start, queued_stop, selected, error");
        }
        if raw.button.iter().any(|b| b.get_ref().led)
            && (l.button_on.is_none() || l.button_off.is_none())
        {
            self.whole("buttons with `led = true` need [leds] `button_on` and `button_off`");
        }
    }

    /// Lights asked of controls that `[device] unlit` says have no LED (they parse, but will
    /// never show): warnings for `check`.
    fn unlit_warnings(&self, raw: &RawProfile, device: &DeviceFacts) -> Vec<ConfigError> {
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
        lit_buttons
            .chain(lit_controls)
            .filter(|(_, c, _)| device.unlit.contains(c))
            .map(|(o, c, what)| self.at(o, format!("{what} ({c}) asks for a light, but [device] `unlit` says this control has no LED: the light will never show; drop `led` or move the action to a button with an LED")))
            .collect()
    }
}

/// Parses and validates profile text; every problem is reported with its line.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Profile, ConfigErrors> {
    let raw: RawProfile =
        toml::from_str(text).map_err(|e| ConfigErrors(vec![from_toml(path, text, &e)]))?;
    let mut ck = Checker {
        path,
        lines: LineIndex::new(text),
        errors: Vec::new(),
        used: HashMap::new(),
    };
    if raw.ports.is_empty() || raw.ports.iter().any(|p| p.trim().is_empty()) {
        ck.whole("`ports` needs at least one non-empty port-name substring");
    }
    let init = ck.sysex(&raw.init, "init");
    let exit = ck.sysex(&raw.exit, "exit");
    let (rows, cols, grid_channel, grid_notes) = ck.grid(&raw.grid);
    let buttons: Vec<Button> = raw.button.iter().filter_map(|b| ck.button(b)).collect();
    let controls: Vec<Control> = raw.control.iter().filter_map(|c| ck.control(c)).collect();
    ck.leds(&raw);
    let stems = raw.stems.as_ref().and_then(|st| {
        super::profile_stems::validate(st.get_ref(), rows)
            .map_err(|m| ck.fail(st.span().start, m))
            .ok()
    });
    if let (Some(b), None) = (
        raw.button
            .iter()
            .find(|b| b.get_ref().action == ButtonAction::StemMode),
        &raw.stems,
    ) {
        ck.fail(
            b.span().start,
            "action `stem_mode` needs a [stems] section (its row and colours)",
        );
    }
    let device = match &raw.device {
        Some(d) => super::profile_leds::validate_device(d.get_ref()).unwrap_or_else(|ms| {
            for m in ms {
                ck.fail(d.span().start, m);
            }
            DeviceFacts::default()
        }),
        None => DeviceFacts::default(),
    };
    let warnings = ck.unlit_warnings(&raw, &device);
    if raw.grid.is_none() && raw.button.is_empty() && raw.control.is_empty() {
        ck.whole("a profile needs a [grid], [[button]]s or [[control]]s");
    }
    if !ck.errors.is_empty() {
        return Err(ConfigErrors(ck.errors));
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
