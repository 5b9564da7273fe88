//! A profile's LED looks and the facts about its device that keep padlooper out of the
//! firmware's way: controls without an LED, buttons the firmware takes with Shift, and how the
//! device reports leaving the mode padlooper put it in. Parsed and validated here; not real-time.
//!
//! ```toml
//! [leds]
//! loaded = { channel = 1, value = 15 }                            # one message
//! playing = [{ channel = 1, value = 23 }, { channel = 11, value = 21 }]   # primary, then animation
//!
//! [device]
//! unlit = ["note 98", "cc 58"]           # controls without an LED
//! shift_reserved = ["note 117"]          # Shift + these belong to the firmware
//! mode_query = "F0 00 20 29 02 0D 0E F7" # asked every 2 s
//! mode_report = "F0 00 20 29 02 0D 0E"   # the start of the device's mode reports
//! mode_expect = "F0 00 20 29 02 0D 0E 01 F7"  # the report while in padlooper's mode
//! ```

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// An LED message: a note-on (or CC, for CC buttons) on `channel` with `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedSpec {
    /// MIDI channel 1..=16 (several devices pick brightness or animation by channel).
    pub channel: u8,
    /// Velocity / value (often a palette index).
    pub value: u8,
}

/// Most messages one LED look may send.
pub const LOOK_MAX: usize = 4;

/// One LED look: the messages that show it, sent in order. Devices that animate between two
/// colours (the APC40 mkII's pulse and blink channels, the Launchpads' flash) take the primary
/// colour first, then the animation. Written as one `{ channel, value }` or a list of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedLook {
    specs: [LedSpec; LOOK_MAX],
    len: u8,
}

impl LedLook {
    /// A look of one message.
    pub const fn one(channel: u8, value: u8) -> Self {
        let s = LedSpec { channel, value };
        Self {
            specs: [s; LOOK_MAX],
            len: 1,
        }
    }

    /// A look of the given messages (at most [`LOOK_MAX`]; more are ignored, none gives off
    /// on channel 1).
    pub fn of(specs: &[LedSpec]) -> Self {
        let mut look = Self::one(1, 0);
        let n = specs.len().min(LOOK_MAX);
        look.specs[..n].copy_from_slice(&specs[..n]);
        look.len = n.max(1) as u8;
        look
    }

    /// Its messages, in sending order.
    pub fn specs(&self) -> &[LedSpec] {
        &self.specs[..self.len as usize]
    }

    /// The first message (the primary colour of an animated look).
    pub fn first(&self) -> LedSpec {
        self.specs[0]
    }

    /// The last message (what the LED finally shows: the animation of an animated look).
    pub fn last(&self) -> LedSpec {
        self.specs[self.len as usize - 1]
    }

    /// Whether every message's channel is 1..=16 and value 0..=127.
    pub fn valid(&self) -> bool {
        self.specs()
            .iter()
            .all(|s| (1..=16).contains(&s.channel) && s.value < 128)
    }
}

impl<'de> Deserialize<'de> for LedLook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LedLook;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "an LED look: {{ channel = C, value = V }}, or a list of 1 to {LOOK_MAX} of them (primary colour first, then the animation)"
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LedLook, A::Error> {
                let s = LedSpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(LedLook::of(&[s]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LedLook, A::Error> {
                let mut specs = Vec::new();
                while let Some(s) = seq.next_element::<LedSpec>()? {
                    if specs.len() == LOOK_MAX {
                        return Err(de::Error::custom(format!(
                            "an LED look has at most {LOOK_MAX} messages"
                        )));
                    }
                    specs.push(s);
                }
                if specs.is_empty() {
                    return Err(de::Error::custom(
                        "an LED look needs at least one { channel, value }",
                    ));
                }
                Ok(LedLook::of(&specs))
            }
        }
        d.deserialize_any(V)
    }
}

/// LED looks for each pad state and for buttons. Pad states are needed when there is a grid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedSection {
    /// Pad without a sample.
    pub empty: Option<LedLook>,
    /// Pad with a sample, not playing.
    pub loaded: Option<LedLook>,
    /// Pad playing.
    pub playing: Option<LedLook>,
    /// Pad waiting for the next quantised beat to start.
    pub queued_start: Option<LedLook>,
    /// Pad waiting for the next quantised beat to stop.
    pub queued_stop: Option<LedLook>,
    /// The selected pad (when not playing).
    pub selected: Option<LedLook>,
    /// Pad whose sample failed to load.
    pub error: Option<LedLook>,
    /// A lit button.
    pub button_on: Option<LedLook>,
    /// An unlit button.
    pub button_off: Option<LedLook>,
}

impl LedSection {
    /// The pad-state looks, in [`crate::midi::leds::PadLook`] order.
    pub fn pad_looks(&self) -> [Option<LedLook>; 7] {
        [
            self.empty,
            self.loaded,
            self.playing,
            self.queued_start,
            self.queued_stop,
            self.selected,
            self.error,
        ]
    }

    /// Every look given, with its key name (for validation).
    pub fn all(&self) -> impl Iterator<Item = (&'static str, LedLook)> + '_ {
        [
            ("empty", self.empty),
            ("loaded", self.loaded),
            ("playing", self.playing),
            ("queued_start", self.queued_start),
            ("queued_stop", self.queued_stop),
            ("selected", self.selected),
            ("error", self.error),
            ("button_on", self.button_on),
            ("button_off", self.button_off),
        ]
        .into_iter()
        .filter_map(|(k, l)| Some((k, l?)))
    }
}

/// A control of the device named by its message kind and number, any channel (`"note 98"`,
/// `"cc 58"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRef {
    /// A note number.
    Note(u8),
    /// A controller number.
    Cc(u8),
}

impl ControlRef {
    /// Parses `"note N"` or `"cc N"` (N 0 to 127).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut w = s.split_whitespace();
        let (kind, n, rest) = (w.next(), w.next(), w.next());
        let n = n
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| *n < 128 && rest.is_none());
        match (kind, n) {
            (Some("note"), Some(n)) => Ok(ControlRef::Note(n)),
            (Some("cc"), Some(n)) => Ok(ControlRef::Cc(n)),
            _ => Err(format!(
                "{s:?} is not a control; write \"note N\" or \"cc N\" (N 0 to 127)"
            )),
        }
    }

    /// The control of a binding (its channel set aside).
    pub fn of(b: super::profile::Binding) -> Self {
        match b {
            super::profile::Binding::Note(_, n) => ControlRef::Note(n),
            super::profile::Binding::Cc(_, n) => ControlRef::Cc(n),
        }
    }
}

impl fmt::Display for ControlRef {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ControlRef::Note(n) => write!(f, "note {n}"),
            ControlRef::Cc(n) => write!(f, "cc {n}"),
        }
    }
}

/// `[device]` as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    #[serde(default)]
    unlit: Vec<String>,
    #[serde(default)]
    shift_reserved: Vec<String>,
    mode_query: Option<String>,
    mode_report: Option<String>,
    mode_expect: Option<String>,
}

/// How padlooper notices the device left the mode its `init` put it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeWatch {
    /// Sent every [`MODE_QUERY_SECONDS`] (the device answers with a report), if the device
    /// does not report changes by itself.
    pub query: Option<Vec<u8>>,
    /// The start of the device's mode reports.
    pub report: Vec<u8>,
    /// The whole report while the device is in padlooper's mode.
    pub expect: Vec<u8>,
}

/// How often a `mode_query` is sent, in seconds.
pub const MODE_QUERY_SECONDS: f64 = 2.0;

impl ModeWatch {
    /// Whether `sysex` (a whole message from the device) says it left padlooper's mode.
    pub fn left_mode(&self, sysex: &[u8]) -> bool {
        sysex.starts_with(&self.report) && sysex != self.expect.as_slice()
    }
}

/// `[device]`, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceFacts {
    /// Controls that have no LED: lights asked for there never show (`check` warns).
    pub unlit: Vec<ControlRef>,
    /// Buttons the firmware uses together with its Shift button (e.g. to change the pad
    /// mode): padlooper ignores them while Shift is held.
    pub shift_reserved: Vec<ControlRef>,
    /// Leaving padlooper's mode, noticed from the device's reports.
    pub mode: Option<ModeWatch>,
}

/// Validates `[device]`; problems are returned as messages.
pub fn validate_device(raw: &RawDevice) -> Result<DeviceFacts, Vec<String>> {
    let mut errors = Vec::new();
    let mut refs = |list: &[String], key: &str| -> Vec<ControlRef> {
        list.iter()
            .filter_map(|s| {
                ControlRef::parse(s)
                    .map_err(|e| errors.push(format!("[device] `{key}`: {e}")))
                    .ok()
            })
            .collect()
    };
    let unlit = refs(&raw.unlit, "unlit");
    let shift_reserved = refs(&raw.shift_reserved, "shift_reserved");
    let mut hex = |s: &Option<String>, key: &str, whole: bool| -> Option<Vec<u8>> {
        let s = s.as_ref()?;
        match super::profile::parse_hex(s) {
            Ok(b)
                if b.first() == Some(&0xF0)
                    && b[1..].iter().take_while(|x| **x != 0xF7).all(|x| *x < 0x80)
                    && (!whole || (b.len() >= 2 && b.last() == Some(&0xF7))) =>
            {
                Some(b)
            }
            Ok(_) => {
                errors.push(format!(
                    "[device] `{key}` = {s:?} is not {}",
                    if whole {
                        "a SysEx message (F0 ... F7)"
                    } else {
                        "the start of a SysEx message (F0 ...)"
                    }
                ));
                None
            }
            Err(e) => {
                errors.push(format!("[device] `{key}`: {e}"));
                None
            }
        }
    };
    let query = hex(&raw.mode_query, "mode_query", true);
    let report = hex(&raw.mode_report, "mode_report", false);
    let expect = hex(&raw.mode_expect, "mode_expect", true);
    let mode = match (report, expect) {
        (Some(report), Some(expect)) => {
            if !expect.starts_with(&report) {
                errors.push("[device] `mode_expect` must start with `mode_report`".into());
            }
            Some(ModeWatch {
                query,
                report,
                expect,
            })
        }
        (None, None) if raw.mode_query.is_none() => None,
        _ => {
            if raw.mode_report.is_none() || raw.mode_expect.is_none() {
                errors.push(
                    "[device] `mode_query`, `mode_report` and `mode_expect` go together: give `mode_report` and `mode_expect` (and `mode_query` if the device reports only when asked)".into(),
                );
            }
            None
        }
    };
    if errors.is_empty() {
        Ok(DeviceFacts {
            unlit,
            shift_reserved,
            mode,
        })
    } else {
        Err(errors)
    }
}

/// An LED ring around a knob (`[[control]] ring = { cc = 24, style = 3 }`): padlooper sets its
/// style on `cc` while the knob controls something (and 0, off, while it controls nothing),
/// and shows the value on the knob's own CC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ring {
    /// The CC that sets the ring's style (same channel as the knob).
    pub cc: u8,
    /// The style value (APC40 mkII: 1 single dot, 2 volume, 3 pan).
    pub style: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        l: LedLook,
    }

    #[test]
    fn a_look_is_one_spec_or_a_list() {
        let t: T = toml::from_str("l = { channel = 2, value = 5 }").unwrap();
        assert_eq!(
            t.l.specs(),
            &[LedSpec {
                channel: 2,
                value: 5
            }]
        );
        let t: T =
            toml::from_str("l = [{ channel = 1, value = 23 }, { channel = 11, value = 21 }]")
                .unwrap();
        assert_eq!(
            t.l.first(),
            LedSpec {
                channel: 1,
                value: 23
            }
        );
        assert_eq!(
            t.l.last(),
            LedSpec {
                channel: 11,
                value: 21
            }
        );
        for bad in [
            "l = []",
            "l = { channel = 1 }",
            "l = { channel = 1, value = 2, colour = 3 }",
            "l = 5",
            "l = [{ channel = 1, value = 1 }, { channel = 1, value = 1 }, { channel = 1, value = 1 }, { channel = 1, value = 1 }, { channel = 1, value = 1 }]",
        ] {
            assert!(toml::from_str::<T>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn control_refs_and_mode_reports() {
        assert_eq!(ControlRef::parse("note 98"), Ok(ControlRef::Note(98)));
        assert_eq!(ControlRef::parse("cc 58"), Ok(ControlRef::Cc(58)));
        for bad in ["note", "cc 128", "pad 3", "note 3 4", ""] {
            assert!(ControlRef::parse(bad).is_err(), "{bad}");
        }
        let raw: RawDevice = toml::from_str(
            "mode_report = \"F0 47 7F 4F 62 00 01\"\nmode_expect = \"F0 47 7F 4F 62 00 01 00 F7\"",
        )
        .unwrap();
        let m = validate_device(&raw).unwrap().mode.unwrap();
        assert!(m.left_mode(&[0xF0, 0x47, 0x7F, 0x4F, 0x62, 0, 1, 2, 0xF7]));
        assert!(!m.left_mode(&[0xF0, 0x47, 0x7F, 0x4F, 0x62, 0, 1, 0, 0xF7]));
        assert!(!m.left_mode(&[0xF0, 0x47, 0x7F, 0x4F, 0x61, 0, 9, 0xF7]));
        let raw: RawDevice = toml::from_str("mode_query = \"F0 01 F7\"").unwrap();
        assert!(validate_device(&raw).is_err());
    }
}
