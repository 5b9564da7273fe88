//! LED feedback: what each LED of a device should show, and sending only what changed, a
//! bounded number of messages per tick, with a full refresh on (re)connect.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::controller::DeviceState;
use super::state::{NONE, PadStatus, SharedControl};
use crate::config::profile::{Binding, ButtonAction, LedSpec, Profile};
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

/// An LED's identity: note or CC number (the channel carries the animation, not the identity).
type LedKey = (bool, u8);

fn message(binding_is_cc: bool, number: u8, spec: LedSpec) -> [u8; 3] {
    let status = if binding_is_cc { 0xB0 } else { 0x90 };
    [status | (spec.channel - 1), number, spec.value]
}

/// Every LED message the device should currently show.
pub fn desired(
    profile: &Profile,
    shared: &SharedControl,
    device: &DeviceState,
) -> Vec<(LedKey, [u8; 3])> {
    let Some(leds) = &profile.leds else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let looks = leds.pad_looks();
    let bank = shared.bank.load(Ordering::Relaxed);
    let sel = shared.selected.load(Ordering::Relaxed);
    let stems = stem_row(profile, shared, sel);
    for (i, &note) in profile.grid_notes.iter().enumerate() {
        let (r, c) = (i / profile.cols, i % profile.cols);
        if let Some((row, looks)) = &stems
            && r == *row
        {
            if let Some(spec) = looks.get(c).copied().flatten().or(leds.empty) {
                out.push(((false, note), message(false, note, spec)));
            }
            continue;
        }
        let look = match shared.pad_at(bank, r, c) {
            Some(p) => pad_look(shared.status(p), sel != NONE && sel == p),
            None => PadLook::Empty,
        };
        if let Some(spec) = looks[look as usize] {
            out.push(((false, note), message(false, note, spec)));
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
            ButtonAction::NudgeUp | ButtonAction::NudgeDown => device.nudge.load(Ordering::Relaxed),
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
        out.push(((is_cc, n), message(is_cc, n, if lit { on } else { off })));
    }
    out
}

/// In stem mode with a stem pad selected: the stem row and each cell's look (the stems in
/// their colours: dim when muted or not soloed, on the solo channel when soloed; then the full
/// mix ⇄ stems switch and the reset).
fn stem_row(
    profile: &Profile,
    shared: &SharedControl,
    sel: usize,
) -> Option<(usize, Vec<Option<LedSpec>>)> {
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
    let mut looks: Vec<Option<LedSpec>> = colors
        .iter()
        .enumerate()
        .map(|(s, &rgb)| {
            let value = st.value_for(rgb)?;
            let soloed = mix.solo & (1 << s) != 0;
            if mix.on && !mix.audible(s) {
                st.muted.or(leds.empty)
            } else if mix.on && soloed {
                Some(LedSpec {
                    channel: st.solo_channel,
                    value,
                })
            } else {
                Some(LedSpec {
                    channel: st.channel,
                    value,
                })
            }
        })
        .collect();
    looks.push(if mix.on {
        leds.button_on
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

/// What was last sent to one device, to send only changes.
#[derive(Debug, Default)]
pub struct LedSender {
    last: HashMap<LedKey, [u8; 3]>,
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

    /// Returns the messages that differ from what the device shows, at most [`MAX_PER_TICK`];
    /// the rest stay pending for the next call. Bursts are coalesced: only the latest look of
    /// each LED is ever sent.
    pub fn update(&mut self, want: &[(LedKey, [u8; 3])]) -> Vec<[u8; 3]> {
        let mut out = Vec::new();
        for (key, msg) in want {
            if out.len() == MAX_PER_TICK {
                break;
            }
            if self.last.get(key) != Some(msg) {
                self.last.insert(*key, *msg);
                out.push(*msg);
            }
        }
        out
    }
}
