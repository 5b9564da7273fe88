//! MIDI learn: walks the user through pressing the grid corners and the controls for each
//! action, then writes a valid profile. The walk is a function of a stream of inputs (MIDI
//! messages and typed lines) so it runs the same on a device and in tests. Not real-time.

use std::io::Write;

use super::parser::MidiMessage;
use crate::config::profile::Binding;

/// What the learn walk reads.
// MidiMessage keeps SysEx inline (allocation-free parser); a learn session passes a few dozen.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearnInput {
    /// A message from the device.
    Midi(MidiMessage),
    /// A line typed in the terminal (empty = skip).
    Line(String),
}

/// Buttons asked for, with their explanation.
pub const BUTTONS: &[(&str, &str)] = &[
    ("bank_prev", "previous bank"),
    ("bank_next", "next bank"),
    ("stop_all", "stop all pads"),
    ("shift", "shift / select (held: pad presses select the pad)"),
    ("stop_selected", "stop the selected pad"),
    ("play_mode", "toggle multi / exclusive play mode"),
    ("tap_tempo", "tap tempo"),
];

/// Knobs and faders asked for.
pub const CONTROLS: &[(&str, &str)] = &[
    ("master_volume", "master volume"),
    ("global_speed", "global speed"),
    ("selected_gain", "selected pad: gain"),
    ("selected_eq_low", "selected pad: EQ low"),
    ("selected_eq_mid", "selected pad: EQ mid"),
    ("selected_eq_high", "selected pad: EQ high"),
    ("selected_filter", "selected pad: filter"),
    ("selected_delay_send", "selected pad: delay send"),
    ("selected_reverb_send", "selected pad: reverb send"),
];

/// A learn walk ended early.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LearnError {
    /// The input ended (device unplugged, terminal closed).
    #[error("input ended before the walk-through finished; nothing was written")]
    Ended,
}

fn binding_of(m: &MidiMessage) -> Option<Binding> {
    match *m {
        MidiMessage::NoteOn { channel, note, .. } => Some(Binding::Note(channel, note)),
        MidiMessage::Control { channel, cc, value } if value > 0 => Some(Binding::Cc(channel, cc)),
        _ => None,
    }
}

/// Cleans an ALSA port name into a match substring: `"Dev:Dev MIDI 1 24:0"` → `"Dev MIDI 1"`
/// (drops the trailing `client:port` numbers and the leading `client:` name).
pub fn port_match(port: &str) -> String {
    let mut s = port.trim();
    if let Some((head, tail)) = s.rsplit_once(' ')
        && tail.contains(':')
        && tail
            .split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        s = head;
    }
    if let Some((_, rest)) = s.split_once(':') {
        s = rest;
    }
    s.trim().to_string()
}

struct Walk<'a, I: Iterator<Item = LearnInput>> {
    input: I,
    out: &'a mut dyn Write,
    used: Vec<Binding>,
}

impl<I: Iterator<Item = LearnInput>> Walk<'_, I> {
    fn say(&mut self, s: &str) {
        let _ = writeln!(self.out, "{s}");
        let _ = self.out.flush();
    }

    /// Waits for a new press/move (ignoring releases and already-learned controls), or an
    /// empty line (skip). `want_cc` limits to knobs/faders.
    fn next(&mut self, want_cc: bool) -> Result<Option<Binding>, LearnError> {
        loop {
            match self.input.next().ok_or(LearnError::Ended)? {
                LearnInput::Line(_) => return Ok(None),
                LearnInput::Midi(m) => {
                    let Some(b) = binding_of(&m) else { continue };
                    if self.used.contains(&b) || (want_cc && !matches!(b, Binding::Cc(..))) {
                        continue;
                    }
                    return Ok(Some(b));
                }
            }
        }
    }

    fn note(&mut self, prompt: &str) -> Result<Option<(u8, u8)>, LearnError> {
        self.say(prompt);
        loop {
            match self.next(false)? {
                None => return Ok(None),
                Some(Binding::Note(c, n)) => return Ok(Some((c, n))),
                Some(_) => self.say(
                    "  that was a CC; grid pads send notes. Try again (Enter to skip the grid).",
                ),
            }
        }
    }
}

/// Runs the walk-through for a device on `port`, reading `input`, printing prompts to `out`,
/// and returns the profile text.
pub fn learn(
    port: &str,
    input: impl Iterator<Item = LearnInput>,
    out: &mut dyn Write,
) -> Result<String, LearnError> {
    let mut w = Walk {
        input,
        out,
        used: Vec::new(),
    };
    w.say(&format!(
        "Learning a profile for {port}. Press Enter to skip any step."
    ));
    let mut toml = format!(
        "# Profile written by `padlooper learn` for {port}.\n# Check it with `padlooper check --profile FILE`; see README for every key.\nname = {:?}\nports = [{:?}]\n",
        port_match(port),
        port_match(port)
    );
    let grid = loop {
        let Some((ch, tl)) = w.note("Grid: press the TOP-LEFT pad.")? else {
            break None;
        };
        w.used.push(Binding::Note(ch, tl));
        let Some((_, right)) = w.note("Press the pad to its RIGHT.")? else {
            break None;
        };
        let Some((_, below)) = w.note("Press the pad BELOW the top-left one.")? else {
            break None;
        };
        let Some((_, tr)) = w.note("Press the TOP-RIGHT pad.")? else {
            break None;
        };
        let Some((_, bl)) = w.note("Press the BOTTOM-LEFT pad.")? else {
            break None;
        };
        let (col_step, row_step) = (right as i32 - tl as i32, below as i32 - tl as i32);
        let cols = if col_step != 0 {
            (tr as i32 - tl as i32) / col_step + 1
        } else {
            0
        };
        let rows = if row_step != 0 {
            (bl as i32 - tl as i32) / row_step + 1
        } else {
            0
        };
        let ok = (1..=16).contains(&cols)
            && (1..=16).contains(&rows)
            && tl as i32 + (cols - 1) * col_step == tr as i32
            && tl as i32 + (rows - 1) * row_step == bl as i32;
        if !ok {
            w.used.clear();
            w.say("  Those pads do not form a regular grid. Let's start the grid again.");
            continue;
        }
        for r in 0..rows {
            for c in 0..cols {
                w.used.push(Binding::Note(
                    ch,
                    (tl as i32 + r * row_step + c * col_step) as u8,
                ));
            }
        }
        w.say(&format!("  Grid: {rows} rows x {cols} columns."));
        break Some((ch, tl, rows, cols, row_step, col_step));
    };
    if let Some((ch, tl, rows, cols, rs, cs)) = grid {
        toml += &format!(
            "\n[grid]\nrows = {rows}\ncols = {cols}\nchannel = {}\ntop_left = {tl}\nrow_step = {rs}\ncol_step = {cs}\n",
            ch + 1
        );
        toml += "\n# LED feedback: uncomment and set the values your device's manual gives (note-on to the\n# pad's note; channel = animation/brightness on many devices, value = colour).\n# [leds]\n# empty = { channel = 1, value = 0 }\n# loaded = { channel = 1, value = 5 }\n# playing = { channel = 1, value = 1 }\n# queued_start = { channel = 1, value = 2 }\n# queued_stop = { channel = 1, value = 6 }\n# selected = { channel = 1, value = 3 }\n# error = { channel = 1, value = 4 }\n";
    }
    for (action, what) in BUTTONS {
        w.say(&format!("Press the button for: {what} (Enter to skip)."));
        if let Some(b) = w.next(false)? {
            w.used.push(b);
            let (kind, ch, n) = match b {
                Binding::Note(c, n) => ("note", c, n),
                Binding::Cc(c, n) => ("cc", c, n),
            };
            toml += &format!(
                "\n[[button]]\naction = \"{action}\"\n{kind} = {n}\nchannel = {}\n",
                ch + 1
            );
        }
    }
    for (action, what) in CONTROLS {
        w.say(&format!(
            "Move the knob or fader for: {what} (Enter to skip)."
        ));
        if let Some(Binding::Cc(ch, n)) = w.next(true)? {
            w.used.push(Binding::Cc(ch, n));
            toml += &format!(
                "\n[[control]]\naction = \"{action}\"\ncc = {n}\nchannel = {}\n",
                ch + 1
            );
        }
    }
    w.say("Done.");
    Ok(toml)
}

#[cfg(test)]
mod tests {
    #[test]
    fn port_names_become_match_strings() {
        assert_eq!(
            super::port_match("Launchpad X:Launchpad X LPX MIDI 24:1"),
            "Launchpad X LPX MIDI"
        );
        assert_eq!(
            super::port_match("nanoKONTROL2 MIDI 1"),
            "nanoKONTROL2 MIDI 1"
        );
    }
}
