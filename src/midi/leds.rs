//! LED feedback: what each LED of a device should show, and sending only what changed, a
//! bounded number of messages per tick, with a full refresh on (re)connect.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::controller::DeviceState;
use super::state::{NONE, PadStatus, SharedControl};
use crate::config::profile::{Binding, ButtonAction, LedLook, LedSpec, Profile};
use crate::config::profile_leds::LOOK_MAX;
use crate::engine::shared::{PadFlags, PadState};

/// Most LED messages sent per control tick (the rest follow on the next tick).
pub const MAX_PER_TICK: usize = 96;

/// Order of the pad looks in [`crate::config::profile::LedSection::pad_looks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadLook {
    /// No sample.
    Empty = 0,
    /// Loaded.
    Loaded = 1,
    /// Playing.
    Playing = 2,
    /// Queued to start.
    QueuedStart = 3,
    /// Queued to stop.
    QueuedStop = 4,
    /// Selected.
    Selected = 5,
    /// Load error.
    Error = 6,
}

/// The look of a pad: queued states first, then playing, selected, error, loaded, empty.
pub fn pad_look(status: PadStatus, selected: bool) -> PadLook {
    match status {
        PadStatus::QueuedStart => PadLook::QueuedStart,
        PadStatus::QueuedStop => PadLook::QueuedStop,
        PadStatus::Playing => PadLook::Playing,
        _ if selected => PadLook::Selected,
        PadStatus::Error => PadLook::Error,
        PadStatus::Loaded => PadLook::Loaded,
        PadStatus::Empty => PadLook::Empty,
    }
}

/// An LED's identity: the message of the control it sits on (the channel of the *input*
/// binding; the channel of what is sent back carries brightness or animation).
pub type LedKey = Binding;

/// The messages that show one LED's look, in sending order.
pub type LedMsgs = heapless::Vec<[u8; 3], LOOK_MAX>;

fn message(binding_is_cc: bool, number: u8, spec: LedSpec) -> [u8; 3] {
    let status = if binding_is_cc { 0xB0 } else { 0x90 };
    [
        status | (spec.channel.clamp(1, 16) - 1),
        number,
        spec.value & 0x7F,
    ]
}

fn messages(binding_is_cc: bool, number: u8, look: LedLook) -> LedMsgs {
    look.specs()
        .iter()
        .map(|&s| message(binding_is_cc, number, s))
        .collect()
}

/// Every LED message the device should currently show.
pub fn desired(
    profile: &Profile,
    shared: &SharedControl,
    device: &DeviceState,
) -> Vec<(LedKey, LedMsgs)> {
    let mut out = Vec::new();
    controls(profile, shared, &mut out);
    let Some(leds) = &profile.leds else {
        return out;
    };
    let looks = leds.pad_looks();
    let bank = shared.bank.load(Ordering::Relaxed);
    let sel = shared.selected.load(Ordering::Relaxed);
    let stems = stem_row(profile, shared, sel);
    for (i, &note) in profile.grid_notes.iter().enumerate() {
        let (r, c) = (i / profile.cols, i % profile.cols);
        let key = Binding::Note(profile.grid_channel, note);
        if let Some((row, looks)) = &stems
            && r == *row
        {
            if let Some(look) = looks.get(c).copied().flatten().or(leds.empty) {
                out.push((key, messages(false, note, look)));
            }
            continue;
        }
        let look = match shared.pad_at(bank, r, c) {
            Some(p) => pad_look(shared.status(p), sel != NONE && sel == p),
            None => PadLook::Empty,
        };
        if let Some(look) = looks[look as usize] {
            out.push((key, messages(false, note, look)));
        }
    }
    let (Some(on), Some(off)) = (leds.button_on, leds.button_off) else {
        return out;
    };
    let banks = shared.grid.banks;
    for b in profile.buttons.iter().filter(|b| b.led) {
        let lit = match b.action {
            ButtonAction::BankPrev => bank > 0,
            ButtonAction::BankNext => bank + 1 < banks,
            ButtonAction::Bank => bank == b.arg,
            ButtonAction::Shift => device.shift.load(Ordering::Relaxed),
            ButtonAction::PlayMode => shared.exclusive.load(Ordering::Relaxed),
            ButtonAction::TransportToggle => beat_lit(shared),
            ButtonAction::NudgeUp => device.nudge.load(Ordering::Relaxed) == 1,
            ButtonAction::NudgeDown => device.nudge.load(Ordering::Relaxed) == 2,
            ButtonAction::SyncSelected => selected_has(shared, sel, PadFlags::SYNC),
            ButtonAction::SelectedKeyLock => selected_has(shared, sel, PadFlags::KEY_LOCK),
            ButtonAction::SelectedTranspose => selected_has(
                shared,
                sel,
                if b.step > 0 {
                    PadFlags::UP
                } else {
                    PadFlags::DOWN
                },
            ),
            ButtonAction::StemMode => shared.stem_mode.load(Ordering::Relaxed),
            ButtonAction::Link => link_lit(shared),
            a if super::rec_keys::is_rec(a) => super::rec_keys::lit(a, device, shared),
            ButtonAction::GlobalKeyLock => {
                let pads = &shared.engine.pads;
                let mut loaded = (0..pads.len()).filter(|&p| pads.get(p) != PadState::Empty);
                let first = loaded.next();
                first.is_some()
                    && first
                        .into_iter()
                        .chain(loaded)
                        .all(|p| pads.flags(p).has(PadFlags::KEY_LOCK))
            }
            _ => false,
        };
        let (is_cc, n) = match b.binding {
            Binding::Note(_, n) => (false, n),
            Binding::Cc(_, n) => (true, n),
        };
        out.push((b.binding, messages(is_cc, n, if lit { on } else { off })));
    }
    out
}

/// Knobs and faders with `led` (or a `ring`): the position of what each controls, on its own
/// CC, after its ring style (style 0, off, while it controls nothing).
fn controls(profile: &Profile, shared: &SharedControl, out: &mut Vec<(LedKey, LedMsgs)>) {
    for c in profile.controls.iter().filter(|c| c.led) {
        let Binding::Cc(ch, cc) = c.binding else {
            continue;
        };
        let value = super::feedback::position(c, shared);
        if let Some(ring) = c.ring {
            let style = if value.is_some() { ring.style } else { 0 };
            let mut m = LedMsgs::new();
            let _ = m.push([0xB0 | ch, ring.cc, style]);
            out.push((Binding::Cc(ch, ring.cc), m));
        }
        let mut m = LedMsgs::new();
        let _ = m.push([0xB0 | ch, cc, value.unwrap_or(0)]);
        out.push((c.binding, m));
    }
}

/// In stem mode with a stem pad selected: the stem row and each cell's look (the stems in
/// their colours: dim when muted or not soloed, animated when soloed; then the full
/// mix ⇄ stems switch and the reset).
fn stem_row(
    profile: &Profile,
    shared: &SharedControl,
    sel: usize,
) -> Option<(usize, Vec<Option<LedLook>>)> {
    let st = profile.stems.as_ref()?;
    let leds = profile.leds.as_ref()?;
    if !shared.stem_mode.load(Ordering::Relaxed) || sel == NONE {
        return None;
    }
    let colors = shared.stems(sel);
    if colors.is_empty() {
        return None;
    }
    let mix = shared
        .engine
        .live
        .pad(sel)
        .map(|l| l.stems)
        .unwrap_or_default();
    let mut looks: Vec<Option<LedLook>> = colors
        .iter()
        .enumerate()
        .map(|(s, &rgb)| {
            let value = st.value_for(rgb)?;
            let soloed = mix.solo & (1 << s) != 0;
            if mix.on && !mix.audible(s) {
                st.muted.or(leds.empty)
            } else if mix.on && soloed {
                let anim = LedSpec {
                    channel: st.solo_channel,
                    value,
                };
                Some(match st.solo_from {
                    Some(from) => LedLook::of(&[
                        LedSpec {
                            channel: st.channel,
                            value: from,
                        },
                        anim,
                    ]),
                    None => LedLook::of(&[anim]),
                })
            } else {
                Some(LedLook::one(st.channel, value))
            }
        })
        .collect();
    looks.push(if mix.on {
        st.switch.or(leds.button_on)
    } else {
        leds.button_off
    });
    looks.push(leds.button_off.or(leds.empty));
    Some((st.row, looks))
}

/// Whether the selected pad (if any) has a setting on.
fn selected_has(shared: &SharedControl, sel: usize, flag: u8) -> bool {
    sel != NONE && shared.engine.pads.flags(sel).has(flag)
}

/// Whether a beat light is on: the first quarter of every beat while the transport runs.
pub fn beat_lit(shared: &SharedControl) -> bool {
    let t = &shared.engine.transport;
    t.running() && t.beat().rem_euclid(1.0) < 0.25
}

/// The Link button: lit with peers in the session, blinking (twice a second) while Link is on
/// alone, dark when off.
pub fn link_lit(shared: &SharedControl) -> bool {
    let l = &shared.link;
    l.on.load(Ordering::Relaxed)
        && (l.peers.load(Ordering::Relaxed) > 0
            || (crate::engine::shared::mono_nanos() / 250_000_000).is_multiple_of(2))
}

/// What was last sent to one device, to send only changes.
#[derive(Debug, Default)]
pub struct LedSender {
    last: HashMap<LedKey, LedMsgs>,
}

impl LedSender {
    /// A sender that has sent nothing yet (the first update is a full refresh).
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets what was sent, so the next update resends every LED (after a reconnect).
    pub fn refresh(&mut self) {
        self.last.clear();
    }

    /// Returns the messages of the LEDs whose look differs from what the device shows (every
    /// message of a changed look, in order), at most [`MAX_PER_TICK`] messages; the rest stay
    /// pending for the next call. Bursts are coalesced: only the latest look of each LED is
    /// ever sent.
    pub fn update(&mut self, want: &[(LedKey, LedMsgs)]) -> Vec<[u8; 3]> {
        let mut out = Vec::new();
        for (key, msgs) in want {
            if self.last.get(key) == Some(msgs) {
                continue;
            }
            if out.len() + msgs.len() > MAX_PER_TICK {
                break;
            }
            self.last.insert(*key, msgs.clone());
            out.extend_from_slice(msgs);
        }
        out
    }
}

/// The messages that darken every LED of `want` (the first message of each look, on channel
/// 1 with value 0), e.g. when padlooper quits.
pub fn dark(want: &[(LedKey, LedMsgs)]) -> Vec<(LedKey, LedMsgs)> {
    want.iter()
        .filter_map(|(k, msgs)| {
            let mut m = *msgs.first()?;
            m[0] &= 0xF0;
            m[2] = 0;
            let mut v = LedMsgs::new();
            let _ = v.push(m);
            Some((*k, v))
        })
        .collect()
}
