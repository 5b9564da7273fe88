//! Every shipped profile against its device's reference: a table per device of the messages
//! the real device sends (pad and button presses, its own mode reports) replayed through the
//! same parsing, mapping and LED code as a live device, and the exact LED bytes padlooper
//! answers with. Each expected byte names the document or file it comes from.
//!
//! Sources (see also ../shared/controllers.md):
//! - NOV: Novation's Launchpad Mini MK3 / X / Pro MK3 programmer's reference manuals: note-on
//!   channel 1 static, 2 flashing (between the static colour and the flash colour), 3 pulsing;
//!   "Programmer / Live mode switch" `F0 00 20 29 02 <dev> 0E <mode> F7`, readback without the
//!   mode byte.
//! - AKM2: Akai "APC mini mk2 Communication Protocol v1.0" (as mirrored in uermel/padbound's
//!   `akai_apc_mini_mk2.py`): status 0x90-0x96 = brightness 10-100 %, 0x97-0x9A pulse,
//!   0x9B-0x9F blink; pad mode SysEx 0x62; Shift note 0x7A has no LED.
//! - BW: bitwig/bitwig-extensions `apc40_mkii/RgbLed.java` (primary colour on channel 1, then
//!   the animation channel), `KnobLed.java` (ring style on CC + 8, value on the knob's CC),
//!   `APC40MKIIControllerExtension.java` (no lights for Shift, Tap Tempo, Nudge, bank arrows).
//! - ABL: Ableton's `APC40_MkII/Colors.py` RGB_COLOR_TABLE (the palette the Launchpads and APCs
//!   share).
//! - AKM1: Akai APC mini (mk1) LED values as in mixxxdj's `Akai-APC-MINI.midi.xml`.
//! - KORG: Korg nanoKONTROL2 parameter guide / Rosegarden's nanoKONTROL2 support (no LEDs on
//!   Track < >, Marker Set < >; LED = CC 127/0 to the button's own number).

use crate::common::replay::{Run, on, run};
use crate::common::*;

use padlooper::config::profile::{Binding, ButtonAction, Profile};
use padlooper::engine::event::EventKind;

/// Whether `msgs` were sent one after another at or after `t0`.
fn sent_after(r: &Run, t0: f64, msgs: &[&[u8]]) -> bool {
    let log: Vec<&Vec<u8>> = r
        .leds
        .iter()
        .filter(|(t, _)| *t >= t0)
        .map(|(_, m)| m)
        .collect();
    log.windows(msgs.len())
        .any(|w| w.iter().zip(msgs).all(|(a, b)| a.as_slice() == *b))
}

/// Whether any message to `number` (note or CC) was ever sent.
fn ever_sent_to(r: &Run, status: u8, number: u8) -> bool {
    r.leds
        .iter()
        .any(|(_, m)| m.len() == 3 && m[0] & 0xF0 == status && m[1] == number)
}

fn started(r: &Run, pad: u16, from: f64, to: f64) -> bool {
    r.events.iter().any(|e| {
        let t = e.frame as f64 / RATE as f64;
        e.kind == EventKind::PadStarted(pad) && (from..to).contains(&t)
    })
}

/// One device's table: what it sends, and what padlooper must answer.
struct Case {
    profile: &'static str,
    /// (time in seconds, bytes the device sends).
    input: &'static [(f64, &'static [u8])],
    /// (from time, messages padlooper sends one after another).
    expect: &'static [(f64, &'static [&'static [u8]])],
}

/// The set every grid case plays: pads 0 and 1 (top-left and its right neighbour) and a pad
/// at row 5, column 0, quantised to the bar at 120 BPM (a bar = 2 s).
const GRID_SET: &str = "[master]\nquantize = \"bar\"\n\
    [[pad]]\npad = 0\nbuiltin = \"drums\"\n\
    [[pad]]\npad = 1\nbuiltin = \"bass\"\n\
    [[pad]]\nrow = 4\ncol = 0\nbuiltin = \"hats\"\n\
    [[pad]]\nrow = 5\ncol = 0\nbuiltin = \"arp\"\n";

/// Launchpad grid presses: pad 0 (note 81) plays at once and starts the transport; pad 1
/// (note 82) waits for bar 2; pad 0 again waits to stop; the device reports Live mode at
/// 1.0 s; Shift (`shift_cc`) + pad 0 selects it at 2.5 s.
macro_rules! launchpad_input {
    ($dev:expr, $shift:expr) => {
        &[
            (0.1, &[0x90, 81, 127]),
            (0.12, &[0x90, 81, 0]),
            (0.5, &[0x90, 82, 127]),
            (0.52, &[0x90, 82, 0]),
            (0.6, &[0x90, 81, 127]),
            (0.62, &[0x90, 81, 0]),
            // NOV: the device's mode report, here Live (0): it left programmer mode.
            (1.0, &[0xF0, 0x00, 0x20, 0x29, 0x02, $dev, 0x0E, 0x00, 0xF7]),
            (2.5, &[0xB0, $shift, 127]),
            (2.52, &[0x90, 81, 127]),
            (2.54, &[0x90, 81, 0]),
            (2.56, &[0xB0, $shift, 0]),
        ]
    };
}

macro_rules! launchpad_expect {
    ($dev:expr) => {
        &[
            // NOV: enter programmer mode first.
            (
                0.0,
                &[&[0xF0, 0x00, 0x20, 0x29, 0x02, $dev, 0x0E, 0x01, 0xF7]],
            ),
            // NOV palette 15 = dim yellow, static (channel 1): loaded.
            (0.0, &[&[0x90, 82, 15]]),
            // NOV: channel 3 pulses; palette 21 = green: playing.
            (0.1, &[&[0x92, 81, 21]]),
            // NOV: flashing runs between the static colour (sent first) and the flash colour:
            // queued to start = dim yellow <-> green...
            (0.5, &[&[0x90, 82, 15], &[0x91, 82, 21]]),
            // ...queued to stop = green <-> red (palette 5).
            (0.6, &[&[0x90, 81, 21], &[0x91, 81, 5]]),
            // Left programmer mode: put back (NOV mode switch), then every LED redrawn.
            (
                1.0,
                &[&[0xF0, 0x00, 0x20, 0x29, 0x02, $dev, 0x0E, 0x01, 0xF7]],
            ),
            (1.0, &[&[0x90, 82, 15], &[0x91, 82, 21]]),
            // Bar 2 (2.1 s): pad 1 plays, pad 0 stopped.
            (2.1, &[&[0x92, 82, 21]]),
            // Shift + pad: selected = white (palette 3), static.
            (2.5, &[&[0x90, 81, 3]]),
        ]
    };
}

const CASES: &[Case] = &[
    Case {
        profile: "launchpad-mini-mk3",
        input: launchpad_input!(0x0D, 98),
        expect: launchpad_expect!(0x0D),
    },
    Case {
        profile: "launchpad-x",
        input: launchpad_input!(0x0C, 98),
        expect: launchpad_expect!(0x0C),
    },
    Case {
        profile: "launchpad-pro-mk3",
        input: launchpad_input!(0x0E, 90),
        expect: &[
            // NOV (Pro MK3): select the programmer layout.
            (
                0.0,
                &[&[
                    0xF0, 0x00, 0x20, 0x29, 0x02, 0x0E, 0x00, 0x11, 0x00, 0x00, 0xF7,
                ]],
            ),
            (0.0, &[&[0x90, 82, 15]]),
            (0.1, &[&[0x92, 81, 21]]),
            (0.5, &[&[0x90, 82, 15], &[0x91, 82, 21]]),
            (0.6, &[&[0x90, 81, 21], &[0x91, 81, 5]]),
            (
                1.0,
                &[&[
                    0xF0, 0x00, 0x20, 0x29, 0x02, 0x0E, 0x00, 0x11, 0x00, 0x00, 0xF7,
                ]],
            ),
            (1.0, &[&[0x90, 82, 15], &[0x91, 82, 21]]),
            (2.1, &[&[0x92, 82, 21]]),
            (2.5, &[&[0x90, 81, 3]]),
        ],
    },
    Case {
        profile: "apc-mini-mk2",
        input: &[
            // AKM2: pads are notes 8*row+col from the bottom: top-left 56.
            (0.1, &[0x90, 56, 127]),
            (0.12, &[0x80, 56, 0]),
            (0.5, &[0x90, 57, 127]),
            (0.52, &[0x80, 57, 0]),
            (0.6, &[0x90, 56, 127]),
            (0.62, &[0x80, 56, 0]),
            // AKM2: the device reports pad mode 2 (drum): it left session mode.
            (1.0, &[0xF0, 0x47, 0x7F, 0x4F, 0x62, 0x00, 0x01, 0x02, 0xF7]),
            // Shift (0x7A) + pad 0: select.
            (2.5, &[0x90, 0x7A, 127]),
            (2.52, &[0x90, 56, 127]),
            (2.54, &[0x80, 56, 0]),
            // Shift + scene 6 (0x75) is the firmware's drum-mode switch: not padlooper's.
            (2.56, &[0x90, 0x75, 127]),
            (2.58, &[0x80, 0x75, 0]),
            (2.6, &[0x80, 0x7A, 0]),
            // Nudge up (track button 8, 0x6B) held.
            (3.0, &[0x90, 0x6B, 127]),
            (3.3, &[0x80, 0x6B, 0]),
        ],
        expect: &[
            // AKM2: pad mode 0 = session.
            (
                0.0,
                &[&[0xF0, 0x47, 0x7F, 0x4F, 0x62, 0x00, 0x01, 0x00, 0xF7]],
            ),
            // AKM2: status 0x91 = 25 % brightness, palette 13 yellow: loaded.
            (0.0, &[&[0x91, 57, 13]]),
            // Primary (0x96 = 100 %, palette 23 dim green) then pulse 1/2 (0x9A) green.
            (0.1, &[&[0x96, 56, 23], &[0x9A, 56, 21]]),
            // Blink 1/8 (0x9D) from the loaded look to green; from green to red.
            (0.5, &[&[0x91, 57, 13], &[0x9D, 57, 21]]),
            (0.6, &[&[0x96, 56, 21], &[0x9D, 56, 5]]),
            // Back in session mode (AKM2 0x62 mode 0) and the grid relit.
            (
                1.0,
                &[&[0xF0, 0x47, 0x7F, 0x4F, 0x62, 0x00, 0x01, 0x00, 0xF7]],
            ),
            (1.0, &[&[0x91, 57, 13], &[0x9D, 57, 21]]),
            (2.1, &[&[0x96, 57, 23], &[0x9A, 57, 21]]),
            // Selected: white (3) at full brightness.
            (2.5, &[&[0x96, 56, 3]]),
            // AKM2: track buttons light with 90 n 01 (on) / 00 (off).
            (3.0, &[&[0x90, 0x6B, 1]]),
            (3.3, &[&[0x90, 0x6B, 0]]),
        ],
    },
    Case {
        profile: "apc40-mk2",
        input: &[
            // The clip grid: notes 8*row_from_bottom + col, top row 32-39.
            (0.1, &[0x90, 32, 127]),
            (0.12, &[0x80, 32, 0]),
            (0.5, &[0x90, 33, 127]),
            (0.52, &[0x80, 33, 0]),
            (0.6, &[0x90, 32, 127]),
            (0.62, &[0x80, 32, 0]),
            // Shift (98) + pad 0: select it; the device knobs now shape it.
            (2.5, &[0x90, 98, 127]),
            (2.52, &[0x90, 32, 127]),
            (2.54, &[0x80, 32, 0]),
            (2.56, &[0x80, 98, 0]),
            // Device knob 1 (CC 16, EQ low) turned to 100.
            (2.8, &[0xB0, 16, 100]),
            // Nudge + (101) held: no LED under it.
            (3.0, &[0x90, 101, 127]),
            (3.2, &[0x80, 101, 0]),
        ],
        expect: &[
            // Ableton Live mode.
            (
                0.0,
                &[&[
                    0xF0, 0x47, 0x7F, 0x29, 0x60, 0x00, 0x04, 0x41, 0x01, 0x00, 0x00, 0xF7,
                ]],
            ),
            // ABL palette 14 = dim yellow, channel 1 steady: loaded.
            (0.0, &[&[0x90, 33, 14]]),
            // BW: primary on channel 1 (23, dim green), then pulse 1/2 (channel 11) green.
            (0.1, &[&[0x90, 32, 23], &[0x9A, 32, 21]]),
            // BW: queued to start = yellow <-> green blinking 1/8 (channel 14).
            (0.5, &[&[0x90, 33, 14], &[0x9D, 33, 21]]),
            // Queued to stop = green <-> red blinking 1/4 (channel 15).
            (0.6, &[&[0x90, 32, 21], &[0x9E, 32, 5]]),
            // BW KnobLed: column 0 holds pad 0: its ring (CC 56) in pan style (3), the value
            // on the knob's CC 48: the filter is off (0.5 = 64).
            (0.0, &[&[0xB0, 56, 3]]),
            (0.0, &[&[0xB0, 48, 64]]),
            // Column 2 holds no pad: ring off.
            (0.0, &[&[0xB0, 58, 0]]),
            // Nothing selected: the device rings are off.
            (0.0, &[&[0xB0, 24, 0]]),
            // Selected pad 0: EQ low ring in pan style, flat (64); gain ring (CC 31) in
            // volume style (2), 0 dB = fader position 100.
            (2.5, &[&[0xB0, 24, 3]]),
            (2.5, &[&[0xB0, 16, 64]]),
            (2.5, &[&[0xB0, 31, 2]]),
            (2.5, &[&[0xB0, 23, 100]]),
            // The knob turned: its ring follows.
            (2.8, &[&[0xB0, 16, 100]]),
        ],
    },
    Case {
        profile: "apc-mini",
        input: &[
            (0.1, &[0x90, 56, 127]),
            (0.12, &[0x80, 56, 0]),
            (0.5, &[0x90, 57, 127]),
            (0.52, &[0x80, 57, 0]),
            (0.6, &[0x90, 56, 127]),
            (0.62, &[0x80, 56, 0]),
            (2.5, &[0x90, 98, 127]),
            (2.52, &[0x90, 56, 127]),
            (2.54, &[0x80, 56, 0]),
            (2.56, &[0x80, 98, 0]),
        ],
        expect: &[
            // AKM1: 5 yellow, 1 green, 2 green blink, 6 yellow blink, 3 red.
            (0.0, &[&[0x90, 57, 5]]),
            (0.1, &[&[0x90, 56, 1]]),
            (0.5, &[&[0x90, 57, 2]]),
            (0.6, &[&[0x90, 56, 6]]),
            (2.1, &[&[0x90, 57, 1]]),
            (2.5, &[&[0x90, 56, 3]]),
        ],
    },
    Case {
        profile: "nanokontrol2",
        input: &[
            // KORG: Play (CC 41) starts the transport; Rewind (CC 43) held nudges slower.
            (0.1, &[0xB0, 41, 127]),
            (0.12, &[0xB0, 41, 0]),
            (1.0, &[0xB0, 43, 127]),
            (1.3, &[0xB0, 43, 0]),
        ],
        expect: &[
            // KORG: LED on = the button's CC with 127, off = 0.
            (0.1, &[&[0xB0, 41, 127]]),
            (0.1, &[&[0xB0, 41, 0]]),
            (1.0, &[&[0xB0, 43, 127]]),
            (1.3, &[&[0xB0, 43, 0]]),
        ],
    },
];

#[test]
fn every_profile_answers_its_device_as_the_references_say() {
    let dir = tmp();
    let set = set_in(dir.path(), GRID_SET);
    assert_eq!(CASES.len(), padlooper::config::profile::BUILTIN.len());
    for case in CASES {
        let p = Profile::find(case.profile).unwrap();
        let input = case.input.iter().map(|(t, b)| (*t, b.to_vec())).collect();
        let r = run(&p, &set, input, 3.5);
        for (t0, msgs) in case.expect {
            assert!(
                sent_after(&r, *t0, msgs),
                "{}: expected {:02X?} from {t0} s; sent: {:02X?}",
                case.profile,
                msgs,
                r.leds
                    .iter()
                    .filter(|(t, _)| *t >= *t0)
                    .take(40)
                    .collect::<Vec<_>>()
            );
        }
        // No light is ever sent to a control without an LED.
        for c in &p.device.unlit {
            use padlooper::config::profile::ControlRef;
            let (status, n) = match *c {
                ControlRef::Note(n) => (0x90, n),
                ControlRef::Cc(n) => (0xB0, n),
            };
            assert!(
                !ever_sent_to(&r, status, n),
                "{}: a light sent to {c}, which has no LED",
                case.profile
            );
        }
    }
}

#[test]
fn apc_mini_mk2_shift_with_scene_6_and_7_is_left_to_the_firmware() {
    let dir = tmp();
    let set = set_in(dir.path(), GRID_SET);
    let p = Profile::find("apc-mini-mk2").unwrap();
    // Row 5 holds a pad; scene 6 (0x75) launches row 5.
    let arp = (5 * 8) as u16;
    let m = vec![
        (0.1, vec![0x90, 0x7A, 127]),
        (0.2, vec![0x90, 0x75, 127]),
        (0.22, vec![0x80, 0x75, 0]),
        (0.24, vec![0x90, 0x76, 127]),
        (0.26, vec![0x80, 0x76, 0]),
        (0.3, vec![0x80, 0x7A, 0]),
        (1.0, vec![0x90, 0x75, 127]),
        (1.02, vec![0x80, 0x75, 0]),
    ];
    let r = run(&p, &set, m, 1.5);
    assert!(
        !started(&r, arp, 0.0, 0.9),
        "shift + scene 6 launched row 5"
    );
    assert!(
        !sent_after(&r, 0.2, &[&[0x90, 0x76, 1]]),
        "shift + scene 7 turned stem mode on"
    );
    assert!(started(&r, arp, 1.0, 1.5), "scene 6 alone launches row 5");
}

#[test]
fn launchpads_never_hold_session_as_shift() {
    for name in ["launchpad-mini-mk3", "launchpad-x"] {
        let p = Profile::find(name).unwrap();
        let shift = p
            .buttons
            .iter()
            .find(|b| b.action == ButtonAction::Shift)
            .unwrap();
        // NOV: Session is CC 95; held, it opens the setup screen even in programmer mode.
        assert_ne!(shift.binding, Binding::Cc(0, 95), "{name}");
        assert!(p.device.mode.is_some(), "{name}: watches its mode");
    }
}

/// ABL RGB_COLOR_TABLE: the colour of each palette index the profiles use (index, 0xRRGGBB).
const PALETTE: &[(u8, u32)] = &[
    (0, 0x000000),
    (1, 0x1E1E1E),
    (2, 0x7F7F7F),
    (3, 0xFFFFFF),
    (5, 0xFF0000),
    (9, 0xFF5400),
    (13, 0xFFFF00),
    (14, 0x595900),
    (15, 0x191900),
    (21, 0x00FF00),
    (23, 0x001900),
    (29, 0x00FF55),
    (33, 0x00FF99),
    (37, 0x00A9FF),
    (45, 0x0000FF),
    (48, 0x874CFF),
    (49, 0x5400FF),
    (53, 0xFF00FF),
    (57, 0xFF0054),
];

fn palette(v: u8) -> Option<[u8; 3]> {
    PALETTE
        .iter()
        .find(|(i, _)| *i == v)
        .map(|(_, c)| [(c >> 16) as u8, (c >> 8) as u8, *c as u8])
}

#[test]
fn stem_palettes_match_the_manufacturers_table_and_the_switch_cell_is_visible() {
    // The five RGB devices (the APC mini mk1 has three fixed colours of its own).
    let rgb = [
        "launchpad-mini-mk3",
        "launchpad-x",
        "launchpad-pro-mk3",
        "apc-mini-mk2",
        "apc40-mk2",
    ];
    for name in rgb {
        let p = Profile::find(name).unwrap();
        let st = p.stems.as_ref().expect("RGB profiles have stem palettes");
        for &(rgb, value) in &st.palette {
            assert_eq!(
                Some(rgb),
                palette(value),
                "{}: palette entry {value} is {rgb:02X?}, ABL says {:02X?}",
                p.name,
                palette(value)
            );
        }
        // The full mix <-> stems cell while stems play: a bright colour at full brightness.
        let leds = p.leds.as_ref().unwrap();
        let on = st.switch.or(leds.button_on).unwrap().last();
        let c = palette(on.value).unwrap_or_else(|| panic!("{}: {on:?}", p.name));
        assert!(
            c.iter().any(|&x| x >= 0x7F),
            "{}: the switch cell shows {c:02X?}",
            p.name
        );
        // The APC mini mk2 dims by status byte: 0x90 is 10 % (AKM2).
        if p.name.contains("mini mk2") {
            assert_eq!(on.channel, 7, "{}: full brightness", p.name);
        }
    }
}

#[test]
fn every_button_that_lights_has_a_partner_that_lights_too() {
    // A pair of buttons (nudge down/up, bank prev/next) lights both or neither.
    for p in Profile::builtins() {
        for (a, b) in [
            (ButtonAction::NudgeDown, ButtonAction::NudgeUp),
            (ButtonAction::BankPrev, ButtonAction::BankNext),
        ] {
            let lit = |x| p.buttons.iter().find(|b| b.action == x).map(|b| b.led);
            if let (Some(x), Some(y)) = (lit(a), lit(b)) {
                assert_eq!(x, y, "{}: {a:?} and {b:?}", p.name);
            }
        }
    }
}

#[test]
fn no_shipped_profile_asks_for_a_light_its_device_cannot_show() {
    for (name, text) in padlooper::config::profile::BUILTIN {
        let p = Profile::parse(std::path::Path::new(name), text).unwrap();
        assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
    }
    // The nanoKONTROL2 as it shipped before: its beat light and nudge lights on Marker Set
    // and Marker < > (no LEDs) are warned about.
    let old = include_str!("../data/nanokontrol2-unlit.toml");
    let p = Profile::parse(std::path::Path::new("old.toml"), old).unwrap();
    let lines: Vec<String> = p.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].contains("old.toml:") && lines[0].contains("cc 60"),
        "{lines:?}"
    );
}

#[test]
fn a_press_on_a_reserved_button_without_shift_still_works() {
    let p = Profile::find("apc-mini-mk2").unwrap();
    let stem = p
        .buttons
        .iter()
        .find(|b| b.action == ButtonAction::StemMode)
        .unwrap();
    // Scene 7 (0x76) is stem mode when Shift is not held.
    assert_eq!(stem.binding, Binding::Note(0, 0x76));
    let dir = tmp();
    let set = set_in(dir.path(), GRID_SET);
    let r = run(
        &p,
        &set,
        vec![(0.1, on(stem.binding, 127)), (0.12, on(stem.binding, 0))],
        0.3,
    );
    assert!(sent_after(&r, 0.1, &[&[0x90, 0x76, 1]]), "stem mode lit");
}
