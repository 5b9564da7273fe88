//! Maps one controller's MIDI messages to engine commands through its profile. Runs on that
//! controller's MIDI thread (or in replay and tests); keeps the device's own state (shift held,
//! knob positions, taps) and updates the shared state (bank, selection, tempo).

use crate::engine::command::PadCmd;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::parser::{MidiMessage, MidiParser};
use super::state::{NONE, SharedControl};
use crate::config::profile::{Binding, ButtonAction, ControlAction, ControlRef, Profile};
use crate::dsp::db_to_gain;
use crate::engine::command::{
    Command, FxParam, LaunchMode, PadId, PlayMode, SendBus, StemCmd, Timed, TransportCmd,
};
use crate::engine::params as P;
use crate::engine::shared::Counter;

/// Sends the releases a held key or button owes.
fn release(h: Held, at: u64, send: &mut dyn FnMut(Timed)) {
    let mut rel = |p: usize| {
        send(Timed {
            at,
            cmd: Command::Pad(p as PadId, PadCmd::Release),
        })
    };
    match h {
        Held::Pad(p) => rel(p),
        Held::Select => {}
        Held::Pads(ps) => ps.into_iter().for_each(rel),
    }
}

/// Per-device state the LED side also reads.
#[derive(Debug, Default)]
pub struct DeviceState {
    /// Shift (select) button held.
    pub shift: AtomicBool,
    /// The nudge button held: 0 none, 1 up (faster), 2 down (slower).
    pub nudge: AtomicU8,
    /// The device reported leaving the mode its profile's `init` put it in (the control side
    /// sends `init` again and redraws every LED, then clears this). The report, for the log.
    pub left_mode: Mutex<Option<Vec<u8>>>,
    /// A recording button armed for the next pad (see `rec_keys`): 0 none.
    pub rec_mode: AtomicU8,
    /// The pad this device last recorded into (`NONE`: none yet), for undo and redo.
    pub rec_pad: AtomicUsize,
}

impl DeviceState {
    /// Takes the report of a device that left its mode, if one came since the last call.
    pub fn take_left_mode(&self) -> Option<Vec<u8>> {
        self.left_mode.lock().ok()?.take()
    }
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Cell(usize, usize),
    Button(usize),
    Control(usize),
}

/// What a held key or button started, so its release goes to the same place whatever changed
/// in between (bank, shift, selection).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    /// A pad press: the release goes to this pad.
    Pad(usize),
    /// A press that only selected a pad (shift held): the release does nothing.
    Select,
    /// A button that pressed several pads (`launch_row`): its release releases them all.
    Pads(Vec<usize>),
}

/// One controller's mapping logic.
pub struct Controller {
    profile: Arc<Profile>,
    shared: Arc<SharedControl>,
    device: Arc<DeviceState>,
    map: HashMap<Binding, Target>,
    parser: MidiParser,
    values: Vec<u8>,
    held: HashMap<Binding, Held>,
}

/// Gain for a fader value: 0 dB at 100, about +4 dB at 127, -inf at 0 (clamped to -60..+12 dB).
pub fn fader_gain(v: u8) -> f32 {
    if v == 0 {
        return 0.0;
    }
    let db = (40.0 * (v as f32 / 100.0).log10()).clamp(P::GAIN_DB.lo, P::GAIN_DB.hi);
    db_to_gain(db)
}

/// Speed for a knob value: 1 at the centre (64), 0.5 at 0, 2 at 127.
pub fn knob_speed(v: u8) -> f32 {
    P::SPEED.clamp(2f32.powf((v as f32 - 64.0) / 64.0))
}

/// A transpose knob's position 0..127 as whole semitones -12..12 (0 at the centre).
pub fn knob_semitones(v: u8) -> f32 {
    let t = &P::TRANSPOSE;
    ((v as f32 - 64.0) * t.hi / 63.0).round().clamp(t.lo, t.hi)
}

impl Controller {
    /// A controller for `profile` sharing `shared`.
    pub fn new(
        profile: Arc<Profile>,
        shared: Arc<SharedControl>,
        device: Arc<DeviceState>,
    ) -> Self {
        let mut map = HashMap::new();
        for (i, &n) in profile.grid_notes.iter().enumerate() {
            map.insert(
                Binding::Note(profile.grid_channel, n),
                Target::Cell(i / profile.cols, i % profile.cols),
            );
        }
        for (i, b) in profile.buttons.iter().enumerate() {
            map.insert(b.binding, Target::Button(i));
        }
        for (i, c) in profile.controls.iter().enumerate() {
            map.insert(c.binding, Target::Control(i));
        }
        let values = vec![64; profile.controls.len()];
        Self {
            profile,
            shared,
            device,
            map,
            parser: MidiParser::new(),
            values,
            held: HashMap::new(),
        }
    }

    /// The profile.
    pub fn profile(&self) -> &Arc<Profile> {
        &self.profile
    }

    /// Parses raw bytes and handles every complete message, effective at engine frame `at`.
    /// Malformed MIDI is counted ([`Counter::MidiErrors`]).
    pub fn feed(&mut self, bytes: &[u8], at: u64, send: &mut dyn FnMut(Timed)) {
        let mut parser = std::mem::take(&mut self.parser);
        let before = parser.dropped;
        for &b in bytes {
            if let Some(m) = parser.byte(b) {
                self.handle(&m, at, send);
            }
        }
        if parser.dropped > before {
            self.shared
                .engine
                .counters
                .add(Counter::MidiErrors, parser.dropped - before);
        }
        self.parser = parser;
    }

    /// Releases everything this device holds (its pads and launched rows), e.g. when it is
    /// unplugged: no gate pad stays on because its release never came.
    pub fn release_all(&mut self, at: u64, send: &mut dyn FnMut(Timed)) {
        for (_, h) in self.held.drain() {
            release(h, at, send);
        }
    }

    /// Handles one message, effective at engine frame `at`.
    pub fn handle(&mut self, msg: &MidiMessage, at: u64, send: &mut dyn FnMut(Timed)) {
        let (binding, down, value) = match *msg {
            MidiMessage::NoteOn {
                channel,
                note,
                velocity,
            } => (Binding::Note(channel, note), true, velocity),
            MidiMessage::NoteOff { channel, note } => (Binding::Note(channel, note), false, 0),
            MidiMessage::Control { channel, cc, value } => {
                (Binding::Cc(channel, cc), value > 0, value)
            }
            MidiMessage::SysEx(ref bytes) => {
                if let Some(m) = &self.profile.device.mode
                    && m.left_mode(bytes)
                    && let Ok(mut l) = self.device.left_mode.lock()
                {
                    *l = Some(bytes.to_vec());
                }
                return;
            }
            _ => return,
        };
        match self.map.get(&binding).copied() {
            Some(Target::Cell(r, c)) => self.pad(binding, r, c, down, at, send),
            Some(Target::Button(i)) => self.button(binding, i, down, at, send),
            Some(Target::Control(i)) if matches!(binding, Binding::Cc(..)) => {
                self.control(i, value, at, send)
            }
            _ => {}
        }
    }

    fn pad(
        &mut self,
        binding: Binding,
        r: usize,
        c: usize,
        down: bool,
        at: u64,
        send: &mut dyn FnMut(Timed),
    ) {
        if !down {
            // The release goes to whatever the press started, not to what is under the key now.
            if let Some(h) = self.held.remove(&binding) {
                release(h, at, send);
            }
            return;
        }
        if let Some(h) = self.held.remove(&binding) {
            // A second note-on without a note-off in between: finish the first press.
            release(h, at, send);
        }
        if self.stem_cell(r, c, at, send) {
            self.held.insert(binding, Held::Select);
            return;
        }
        let bank = self.shared.bank.load(Ordering::Relaxed);
        let Some(pad) = self.shared.pad_at(bank, r, c) else {
            return;
        };
        if self.device.shift.load(Ordering::Relaxed) {
            let prev = self.shared.selected.swap(pad, Ordering::Relaxed);
            if prev != pad {
                self.shared.touch();
            }
            self.held.insert(binding, Held::Select);
            return;
        }
        if let Some(cmd) = super::rec_keys::pad_press(&self.device, &self.shared, pad) {
            self.held.insert(binding, Held::Select);
            send(Timed { at, cmd });
            return;
        }
        self.held.insert(binding, Held::Pad(pad));
        send(Timed {
            at,
            cmd: Command::Pad(pad as PadId, PadCmd::Press),
        });
    }

    /// In stem mode, a press on the profile's stem row: stem `c` mutes (shift: solos alone)
    /// and the pad plays its stems; the cell after the last stem switches full mix ⇄ stems, the
    /// next one resets. True when the press was taken.
    fn stem_cell(&mut self, r: usize, c: usize, at: u64, send: &mut dyn FnMut(Timed)) -> bool {
        let Some(st) = &self.profile.stems else {
            return false;
        };
        let sel = self.shared.selected.load(Ordering::Relaxed);
        if r != st.row || !self.shared.stem_mode.load(Ordering::Relaxed) || sel == NONE {
            return false;
        }
        let n = self.shared.stems(sel).len();
        if n == 0 {
            return false;
        }
        let pad = sel as PadId;
        let mut stem = |cmd| {
            send(Timed {
                at,
                cmd: Command::Pad(pad, PadCmd::Stem(cmd)),
            })
        };
        if c < n {
            stem(StemCmd::Stems(Some(true)));
            stem(if self.device.shift.load(Ordering::Relaxed) {
                StemCmd::SoloOnly(c as u8)
            } else {
                StemCmd::Mute(c as u8, None)
            });
        } else if c == n {
            stem(StemCmd::Stems(None));
        } else if c == n + 1 {
            stem(StemCmd::Reset);
        }
        self.shared.touch();
        true
    }

    fn button(
        &mut self,
        binding: Binding,
        i: usize,
        down: bool,
        at: u64,
        send: &mut dyn FnMut(Timed),
    ) {
        let b = self.profile.buttons[i];
        if b.action == ButtonAction::Shift {
            self.device.shift.store(down, Ordering::Relaxed);
            self.shared.touch();
            return;
        }
        if let Some(h) = self.held.remove(&binding) {
            release(h, at, send);
        }
        if self.device.shift.load(Ordering::Relaxed)
            && self
                .profile
                .device
                .shift_reserved
                .contains(&ControlRef::of(binding))
        {
            // Shift + this button is the firmware's (e.g. a pad-mode switch): not ours.
            return;
        }
        if matches!(b.action, ButtonAction::NudgeUp | ButtonAction::NudgeDown) {
            self.nudge(b.action == ButtonAction::NudgeUp, down, at, send);
            return;
        }
        if down {
            self.press_button(b, binding, at, send);
        }
    }

    /// A nudge button: faster (`up`) or slower while held, back to the tempo when released.
    fn nudge(&mut self, up: bool, down: bool, at: u64, send: &mut dyn FnMut(Timed)) {
        let amount = self.shared.nudge / 100.0;
        let (factor, held) = match (down, up) {
            (false, _) => (1.0, 0),
            (true, true) => (1.0 + amount, 1),
            (true, false) => (1.0 - amount, 2),
        };
        self.device.nudge.store(held, Ordering::Relaxed);
        self.shared.touch();
        send(Timed {
            at,
            cmd: Command::Transport(TransportCmd::Nudge(factor)),
        });
    }

    /// Sends a command for the selected pad, if one is selected.
    fn on_selected(&self, at: u64, send: &mut dyn FnMut(Timed), cmd: PadCmd) {
        let sel = self.shared.selected.load(Ordering::Relaxed);
        if sel != NONE {
            send(Timed {
                at,
                cmd: Command::Pad(sel as PadId, cmd),
            });
        }
    }

    /// A button pressed (not shift, not a nudge).
    fn press_button(
        &mut self,
        b: crate::config::profile::Button,
        binding: Binding,
        at: u64,
        send: &mut dyn FnMut(Timed),
    ) {
        let shared = self.shared.clone();
        let banks = shared.grid.banks;
        let bank = shared.bank.load(Ordering::Relaxed);
        let cmd = |cmd| Timed { at, cmd };
        match b.action {
            ButtonAction::BankPrev => {
                shared.bank.store(bank.saturating_sub(1), Ordering::Relaxed);
                shared.touch();
            }
            ButtonAction::BankNext => {
                shared
                    .bank
                    .store((bank + 1).min(banks - 1), Ordering::Relaxed);
                shared.touch();
            }
            ButtonAction::Bank => {
                if b.arg < banks {
                    shared.bank.store(b.arg, Ordering::Relaxed);
                    shared.touch();
                }
            }
            ButtonAction::StopAll => send(cmd(Command::StopAll)),
            ButtonAction::LaunchRow => {
                // Gate pads in the row play while the row button is held.
                let mut pressed = Vec::new();
                for col in 0..shared.grid.cols {
                    if let Some(p) = shared.pad_at(bank, b.arg, col)
                        && shared.playable(p)
                    {
                        send(cmd(Command::Pad(p as PadId, PadCmd::Press)));
                        if shared.mode(p) == LaunchMode::Gate {
                            pressed.push(p);
                        }
                    }
                }
                if !pressed.is_empty() {
                    self.held.insert(binding, Held::Pads(pressed));
                }
            }
            ButtonAction::StopSelected => self.on_selected(at, send, PadCmd::Stop),
            ButtonAction::PlayMode => {
                let ex = !shared.exclusive.load(Ordering::Relaxed);
                shared.exclusive.store(ex, Ordering::Relaxed);
                shared.touch();
                send(cmd(Command::PlayMode(if ex {
                    PlayMode::Exclusive
                } else {
                    PlayMode::Multi
                })));
            }
            ButtonAction::TapTempo => send(cmd(Command::Transport(TransportCmd::Tap))),
            ButtonAction::TransportToggle => send(cmd(Command::Transport(TransportCmd::Toggle))),
            ButtonAction::SyncSelected => self.on_selected(at, send, PadCmd::Sync(None)),
            ButtonAction::SelectedKeyLock => self.on_selected(at, send, PadCmd::KeyLock(None)),
            ButtonAction::SelectedTranspose => {
                self.on_selected(at, send, PadCmd::TransposeBy(b.step as f32))
            }
            ButtonAction::GlobalKeyLock => send(cmd(Command::GlobalKeyLock(None))),
            ButtonAction::StemMode => {
                shared.stem_mode.fetch_xor(true, Ordering::Relaxed);
                shared.touch();
            }
            ButtonAction::ResetState => {
                shared.reset_requested.store(true, Ordering::Relaxed);
            }
            ButtonAction::Link => {
                shared.link.toggle_requested.store(true, Ordering::Relaxed);
            }
            a @ (ButtonAction::Record
            | ButtonAction::Resample
            | ButtonAction::Overdub
            | ButtonAction::Undo
            | ButtonAction::Redo
            | ButtonAction::Clear) => {
                if let Some(c) = super::rec_keys::button(a, &self.device, &shared) {
                    send(cmd(c));
                }
            }
            ButtonAction::NudgeUp | ButtonAction::NudgeDown | ButtonAction::Shift => {}
        }
    }

    fn control(&mut self, i: usize, raw: u8, at: u64, send: &mut dyn FnMut(Timed)) {
        let c = self.profile.controls[i];
        let Some(v) = self.control_value(i, raw, at, send) else {
            return;
        };
        let k = v as f32 / 127.0;
        let shared = self.shared.clone();
        let mut out = |cmd| send(Timed { at, cmd });
        if let Some(cmd) = fx_command(c.action, v, k) {
            return out(cmd);
        }
        let sel = shared.selected.load(Ordering::Relaxed);
        let selected = |f: &mut dyn FnMut(PadId)| {
            if sel != NONE {
                f(sel as PadId)
            }
        };
        match c.action {
            ControlAction::MasterVolume => out(Command::MasterVolume(k)),
            ControlAction::GlobalSpeed => out(Command::GlobalSpeed(knob_speed(v))),
            ControlAction::Bpm => out(Command::Transport(TransportCmd::Tempo(
                FADER_BPM_LO + v as f64,
            ))),
            ControlAction::ColumnGain | ControlAction::ColumnFilter => {
                let bank = shared.bank.load(Ordering::Relaxed);
                for row in 0..shared.grid.rows {
                    if let Some(p) = shared.pad_at(bank, row, c.arg) {
                        let p = p as PadId;
                        out(if c.action == ControlAction::ColumnGain {
                            Command::Pad(p, PadCmd::Gain(fader_gain(v)))
                        } else {
                            Command::Pad(p, PadCmd::Filter(k))
                        });
                    }
                }
            }
            action => {
                if let Some(cmd) = selected_command(action, v, k) {
                    selected(&mut |p| out(Command::Pad(p, cmd)))
                }
            }
        }
    }

    /// The control's position 0..127 after this message: an absolute control's value, or a
    /// relative one's moved by it. A relative transpose or tempo control acts on its own
    /// (steps, not positions) and gives None.
    fn control_value(
        &mut self,
        i: usize,
        raw: u8,
        at: u64,
        send: &mut dyn FnMut(Timed),
    ) -> Option<u8> {
        let c = self.profile.controls[i];
        let v = if c.relative {
            let delta = if raw < 64 {
                raw as i32
            } else {
                raw as i32 - 128
            };
            if c.action == ControlAction::SelectedTranspose {
                self.on_selected(at, send, PadCmd::TransposeBy(delta as f32));
                return None;
            }
            if c.action == ControlAction::Bpm {
                let bpm = P::BPM.clamp(self.shared.engine.transport.bpm() + delta as f32);
                send(Timed {
                    at,
                    cmd: Command::Transport(TransportCmd::Tempo(bpm as f64)),
                });
                return None;
            }
            let v = (self.values[i] as i32 + delta).clamp(0, 127) as u8;
            self.values[i] = v;
            v
        } else {
            self.values[i] = raw;
            raw
        };
        Some(v)
    }
}

/// Tempo of a tempo fader at 0 (it moves in whole BPM: 60 to 187).
const FADER_BPM_LO: f64 = 60.0;

/// What a control does to the selected pad at position `v` (`k` = v / 127), if it is a
/// selected-pad control.
fn selected_command(action: ControlAction, v: u8, k: f32) -> Option<PadCmd> {
    Some(match action {
        ControlAction::SelectedGain => PadCmd::Gain(fader_gain(v)),
        ControlAction::SelectedSpeed => PadCmd::Speed(knob_speed(v)),
        ControlAction::SelectedEqLow => PadCmd::Eq(0, k),
        ControlAction::SelectedEqMid => PadCmd::Eq(1, k),
        ControlAction::SelectedEqHigh => PadCmd::Eq(2, k),
        ControlAction::SelectedFilter => PadCmd::Filter(k),
        ControlAction::SelectedResonance => PadCmd::Resonance(k),
        ControlAction::SelectedDelaySend => PadCmd::Send(SendBus::Delay, k),
        ControlAction::SelectedReverbSend => PadCmd::Send(SendBus::Reverb, k),
        ControlAction::SelectedTranspose => PadCmd::Transpose(knob_semitones(v)),
        _ => return None,
    })
}

/// What an effect control does at position `v` (`k` = v / 127): its parameter across the
/// parameter table's range (the phaser rate exponentially, the delay division in four steps).
fn fx_command(action: ControlAction, v: u8, k: f32) -> Option<Command> {
    let (param, value) = match action {
        ControlAction::DelayWet => (FxParam::DelayWet, P::DELAY_WET.from_unit(k)),
        ControlAction::DelayFeedback => (FxParam::DelayFeedback, P::DELAY_FEEDBACK.from_unit(k)),
        ControlAction::ReverbWet => (FxParam::ReverbWet, P::REVERB_WET.from_unit(k)),
        ControlAction::ReverbRoom => (FxParam::ReverbRoom, P::REVERB_ROOM.from_unit(k)),
        ControlAction::ReverbDamping => (FxParam::ReverbDamping, P::REVERB_DAMPING.from_unit(k)),
        ControlAction::PhaserMix => (FxParam::PhaserMix, P::PHASER_MIX.from_unit(k)),
        ControlAction::PhaserDepth => (FxParam::PhaserDepth, P::PHASER_DEPTH.from_unit(k)),
        ControlAction::PhaserFeedback => (FxParam::PhaserFeedback, P::PHASER_FEEDBACK.from_unit(k)),
        ControlAction::PhaserRate => {
            let r = &P::PHASER_RATE;
            (FxParam::PhaserRate, r.lo * (r.hi / r.lo).powf(k))
        }
        ControlAction::DelayDivision => {
            let steps = P::DELAY_DIVISION.hi as u8;
            (FxParam::DelayDivision, (v / 32).min(steps) as f32)
        }
        _ => return None,
    };
    Some(Command::Fx(param, value))
}
