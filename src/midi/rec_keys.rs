//! A controller's recording buttons: `record`, `resample`, `overdub` and `clear` arm their
//! action for the next pad pressed (press the button again to disarm; hold it and press a pad
//! works the same), a pad being recorded or overdubbed ends its take or pass when pressed,
//! `undo` and `redo` act on the pad this controller last recorded into (else the selected
//! one). Their LEDs: lit while armed, and `record` / `overdub` while a take / pass runs. Not
//! real-time (the MIDI thread).

use std::sync::atomic::Ordering;

use super::controller::DeviceState;
use super::state::{NONE, SharedControl};
use crate::config::profile::ButtonAction;
use crate::engine::command::{Command, PadId};
use crate::engine::record::{RecordCmd, RecordSource, RecordState};

/// What an armed button does to the next pad (stored in `DeviceState::rec_mode`).
const MODES: [(u8, ButtonAction); 4] = [
    (1, ButtonAction::Record),
    (2, ButtonAction::Resample),
    (3, ButtonAction::Overdub),
    (4, ButtonAction::Clear),
];

/// Whether `a` is one of the recording buttons.
pub fn is_rec(a: ButtonAction) -> bool {
    MODES.iter().any(|&(_, m)| m == a) || matches!(a, ButtonAction::Undo | ButtonAction::Redo)
}

fn mode_of(a: ButtonAction) -> u8 {
    MODES.iter().find(|&&(_, m)| m == a).map_or(0, |&(n, _)| n)
}

/// A recording button pressed: arms (or disarms) its action, or undoes / redoes. Returns the
/// command to send, if any.
pub fn button(a: ButtonAction, device: &DeviceState, shared: &SharedControl) -> Option<Command> {
    let cmd = match a {
        ButtonAction::Undo => RecordCmd::Undo,
        ButtonAction::Redo => RecordCmd::Redo,
        _ => {
            let m = mode_of(a);
            let was = device.rec_mode.load(Ordering::Relaxed);
            device
                .rec_mode
                .store(if was == m { 0 } else { m }, Ordering::Relaxed);
            shared.touch();
            return None;
        }
    };
    let pad = match device.rec_pad.load(Ordering::Relaxed) {
        NONE => shared.selected.load(Ordering::Relaxed),
        p => p,
    };
    (pad != NONE).then_some(Command::Record(pad as PadId, cmd))
}

/// A pad pressed: the armed action goes to it, or it ends its own take or pass. None when the
/// press plays the pad as usual.
pub fn pad_press(device: &DeviceState, shared: &SharedControl, pad: usize) -> Option<Command> {
    let cmd = match device.rec_mode.swap(0, Ordering::Relaxed) {
        1 => RecordCmd::Press(RecordSource::Input),
        2 => RecordCmd::Press(RecordSource::Master),
        3 => RecordCmd::Overdub,
        4 => RecordCmd::Clear,
        _ => match shared.engine.record.state() {
            RecordState::Armed(p) | RecordState::Recording(p) | RecordState::Overdubbing(p)
                if p as usize == pad =>
            {
                RecordCmd::Stop
            }
            _ => return None,
        },
    };
    device.rec_pad.store(pad, Ordering::Relaxed);
    shared.touch();
    Some(Command::Record(pad as PadId, cmd))
}

/// Whether a recording button's LED is lit.
pub fn lit(a: ButtonAction, device: &DeviceState, shared: &SharedControl) -> bool {
    let armed = device.rec_mode.load(Ordering::Relaxed) == mode_of(a) && mode_of(a) != 0;
    let state = shared.engine.record.state();
    armed
        || match a {
            ButtonAction::Record | ButtonAction::Resample => {
                matches!(state, RecordState::Armed(_) | RecordState::Recording(_))
            }
            ButtonAction::Overdub => matches!(state, RecordState::Overdubbing(_)),
            _ => false,
        }
}
