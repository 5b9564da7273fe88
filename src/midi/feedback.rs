//! Where a knob or fader *should* sit for what it controls now: the inverse of the mappings in
//! [`super::controller`], read from the engine's published live state. Used to light knob LED
//! rings (and motor faders) with the value of the pad or effect they control. Not real-time
//! (control thread); never blocks.

use std::sync::atomic::Ordering;

use super::state::{NONE, SharedControl};
use crate::config::profile::{Control, ControlAction};
use crate::engine::command::FxParam;
use crate::engine::live::PadLive;
use crate::engine::params as P;

/// The fader position (0..=127) that [`super::controller::fader_gain`] maps to `gain`.
pub fn fader_position(gain: f32) -> u8 {
    if gain.is_nan() || gain <= 0.0 {
        return 0;
    }
    let db = (20.0 * gain.log10()).clamp(-60.0, 12.0);
    (100.0 * 10f32.powf(db / 40.0)).round().clamp(1.0, 127.0) as u8
}

/// The knob position that [`super::controller::knob_speed`] maps to `speed`.
pub fn speed_position(speed: f32) -> u8 {
    (64.0 + 64.0 * speed.clamp(0.5, 2.0).log2())
        .round()
        .clamp(0.0, 127.0) as u8
}

/// The knob position that [`super::controller::knob_semitones`] maps to `semitones`.
pub fn semitone_position(semitones: f32) -> u8 {
    (64.0 + semitones.clamp(-12.0, 12.0) * 63.0 / 12.0)
        .round()
        .clamp(0.0, 127.0) as u8
}

/// A 0..=1 knob as 0..=127.
fn unit(k: f32) -> u8 {
    (k.clamp(0.0, 1.0) * 127.0).round() as u8
}

/// Where control `c` should sit now, or None when it controls nothing (no pad selected, an
/// empty column, an effect never set, a relative encoder).
pub fn position(c: &Control, shared: &SharedControl) -> Option<u8> {
    if c.relative {
        return None;
    }
    let live = &shared.engine.live;
    let sel = shared.selected.load(Ordering::Relaxed);
    let selected = || (sel != NONE).then(|| live.pad(sel)).flatten();
    let pad = |f: fn(&PadLive) -> u8| selected().map(|p| f(&p));
    let master = live.master();
    let fx = |p: FxParam| Some(master.fx[p as usize]).filter(|v| v.is_finite());
    let column = || {
        let bank = shared.bank.load(Ordering::Relaxed);
        (0..shared.grid.rows)
            .filter_map(|row| shared.pad_at(bank, row, c.arg))
            .find_map(|p| live.pad(p))
    };
    match c.action {
        ControlAction::MasterVolume => Some(unit(master.volume)),
        ControlAction::GlobalSpeed => Some(speed_position(master.speed)),
        ControlAction::Bpm => Some((master.bpm - 60.0).round().clamp(0.0, 127.0) as u8),
        ControlAction::SelectedGain => pad(|p| fader_position(p.gain)),
        ControlAction::SelectedSpeed => pad(|p| speed_position(p.speed)),
        ControlAction::SelectedEqLow => pad(|p| unit(p.eq[0])),
        ControlAction::SelectedEqMid => pad(|p| unit(p.eq[1])),
        ControlAction::SelectedEqHigh => pad(|p| unit(p.eq[2])),
        ControlAction::SelectedFilter => pad(|p| unit(p.filter)),
        ControlAction::SelectedResonance => pad(|p| unit(p.resonance)),
        ControlAction::SelectedDelaySend => pad(|p| unit(p.sends[0])),
        ControlAction::SelectedReverbSend => pad(|p| unit(p.sends[1])),
        ControlAction::SelectedTranspose => pad(|p| semitone_position(p.transpose)),
        ControlAction::ColumnGain => column().map(|p| fader_position(p.gain)),
        ControlAction::ColumnFilter => column().map(|p| unit(p.filter)),
        ControlAction::DelayWet => fx(FxParam::DelayWet).map(|v| unit(P::DELAY_WET.to_unit(v))),
        ControlAction::DelayFeedback => {
            fx(FxParam::DelayFeedback).map(|v| unit(P::DELAY_FEEDBACK.to_unit(v)))
        }
        ControlAction::ReverbWet => fx(FxParam::ReverbWet).map(|v| unit(P::REVERB_WET.to_unit(v))),
        ControlAction::ReverbRoom => {
            fx(FxParam::ReverbRoom).map(|v| unit(P::REVERB_ROOM.to_unit(v)))
        }
        ControlAction::ReverbDamping => {
            fx(FxParam::ReverbDamping).map(|v| unit(P::REVERB_DAMPING.to_unit(v)))
        }
        ControlAction::PhaserMix => fx(FxParam::PhaserMix).map(|v| unit(P::PHASER_MIX.to_unit(v))),
        ControlAction::PhaserDepth => {
            fx(FxParam::PhaserDepth).map(|v| unit(P::PHASER_DEPTH.to_unit(v)))
        }
        ControlAction::PhaserFeedback => {
            fx(FxParam::PhaserFeedback).map(|v| unit(P::PHASER_FEEDBACK.to_unit(v)))
        }
        // 0.05 * 200^k Hz.
        ControlAction::PhaserRate => {
            fx(FxParam::PhaserRate).map(|v| unit((v.max(0.05) / 0.05).ln() / 200f32.ln()))
        }
        // Four zones of 32.
        ControlAction::DelayDivision => {
            fx(FxParam::DelayDivision).map(|v| (v.clamp(0.0, 3.0) as u8) * 32 + 16)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::midi::controller::{fader_gain, knob_semitones, knob_speed};

    #[test]
    fn positions_invert_the_control_mappings() {
        // Below 4 the fader law is clamped at -60 dB.
        for v in 4..=127u8 {
            assert_eq!(fader_position(fader_gain(v)), v, "fader {v}");
        }
        assert!(fader_position(fader_gain(1)) <= 4);
        assert_eq!(fader_position(0.0), 0);
        for v in 0..=127u8 {
            let back = speed_position(knob_speed(v));
            assert!(back.abs_diff(v) <= 1, "speed {v} -> {back}");
        }
        for st in -12..=12 {
            let pos = semitone_position(st as f32);
            assert_eq!(knob_semitones(pos), st as f32);
        }
    }
}
