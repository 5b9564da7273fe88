//! How each command changes the engine. Every number is clamped through the parameter table
//! (NaN becomes the parameter's default), so a bad value can never reach the DSP. Real-time
//! safe.

use super::Engine;
use super::command::{Command, FxParam, PadFx, PadId, StemCmd, TransportCmd};
use super::event::ClockMsg;
use super::params;
use super::stems::StemMix;
use crate::dsp::delay::Division;
use crate::dsp::isolator::IsolatorDesign;
use crate::sample::buffer::MAX_STEMS;

impl Engine {
    pub(crate) fn apply(&mut self, cmd: Command, now: u64) {
        self.apply_one(cmd, now);
        self.publish_live(cmd);
    }

    /// Publishes what `cmd` changed of the live state (see `live`). Real-time safe.
    fn publish_live(&mut self, cmd: Command) {
        match cmd {
            Command::Assign(p, _)
            | Command::Clear(p)
            | Command::PadGain(p, _)
            | Command::PadSpeed(p, _)
            | Command::PadSync(p, _)
            | Command::PadKeyLock(p, _)
            | Command::PadTranspose(p, _)
            | Command::PadTransposeBy(p, _)
            | Command::PadEq(p, _, _)
            | Command::PadFilter(p, _)
            | Command::PadResonance(p, _)
            | Command::PadSend(p, _, _)
            | Command::PadEqMode(p, _)
            | Command::PadStem(p, _) => self.publish_live_pad(p as usize),
            Command::GlobalKeyLock(_) => {
                for p in 0..self.pads.len() {
                    self.publish_live_pad(p);
                }
            }
            Command::MasterVolume(_)
            | Command::GlobalSpeed(_)
            | Command::PlayMode(_)
            | Command::Quantize(_)
            | Command::Transport(
                TransportCmd::Tempo(_) | TransportCmd::TempoNow(_) | TransportCmd::Tap,
            ) => self.stats.live.set_master(
                self.master.target,
                self.global_speed,
                self.transport.bpm(),
                self.play_mode,
                self.quantize,
            ),
            Command::Fx(param, v) => self.stats.live.set_fx(param, v),
            _ => {}
        }
    }

    fn publish_live_pad(&self, p: usize) {
        let live = self
            .pads
            .get(p)
            .and_then(|pad| pad.cfg)
            .map(|c| super::live::PadLive::of(&c));
        self.stats.live.set_pad(p, live);
    }

    fn apply_one(&mut self, cmd: Command, now: u64) {
        match cmd {
            Command::Press(p) => self.press(p, now),
            Command::Release(p) => self.release(p, now),
            Command::Stop(p) => self.stop_pad(p, now),
            Command::StopAll => self.stop_all(now),
            Command::Assign(p, cfg) => self.assign(p, cfg, now),
            Command::Clear(p) => {
                self.stop_pad(p, now);
                if let Some(pad) = self.pads.get_mut(p as usize) {
                    pad.cfg = None;
                }
                self.publish_pad(p);
            }
            Command::Unload(slot) => self.unload(slot, now),
            Command::MasterVolume(v) => self.master.go(params::VOLUME.clamp(v), self.smooth),
            Command::GlobalSpeed(s) => self.global_speed = params::SPEED.clamp(s),
            Command::PadGain(p, g) => {
                if let Some(cfg) = self.pad_cfg(p) {
                    cfg.gain = if g.is_nan() { 1.0 } else { g.clamp(0.0, 16.0) };
                }
            }
            Command::PadSpeed(p, s) => {
                if let Some(cfg) = self.pad_cfg(p) {
                    cfg.speed = params::SPEED.clamp(s);
                    if cfg.sync {
                        self.resync(p, now);
                    }
                }
            }
            Command::PadSync(p, on) => {
                if let Some(cfg) = self.pad_cfg(p) {
                    let on = on.unwrap_or(!cfg.sync);
                    if cfg.sync != on {
                        cfg.sync = on;
                        self.resync(p, now);
                        self.publish_pad(p);
                    }
                }
            }
            Command::PadKeyLock(p, on) => {
                if let Some(cfg) = self.pad_cfg(p) {
                    cfg.key_lock = on.unwrap_or(!cfg.key_lock);
                    self.publish_pad(p);
                }
            }
            Command::PadTranspose(p, t) => {
                if let Some(cfg) = self.pad_cfg(p) {
                    cfg.transpose = clamp_transpose(t);
                    self.publish_pad(p);
                }
            }
            Command::PadTransposeBy(p, d) => {
                if let Some(cfg) = self.pad_cfg(p) {
                    cfg.transpose = clamp_transpose(cfg.transpose + d);
                    self.publish_pad(p);
                }
            }
            Command::GlobalKeyLock(on) => {
                // Toggling turns it on everywhere unless it already is everywhere.
                let on = on
                    .unwrap_or_else(|| self.pads.iter().filter_map(|p| p.cfg).any(|c| !c.key_lock));
                for p in 0..self.pads.len() {
                    if let Some(cfg) = self.pads[p].cfg.as_mut() {
                        cfg.key_lock = on;
                        self.publish_pad(p as PadId);
                    }
                }
            }
            Command::PadStem(p, c) => {
                if let Some(cfg) = self.pad_cfg(p) {
                    stem_change(&mut cfg.stems, c);
                    self.publish_pad(p);
                }
            }
            Command::PadTable(p, src, g) => self.add_table(p, src, g),
            Command::TableDrop(slot) => self.drop_table(slot),
            Command::StretchBudget(n, frames) => {
                self.unit_limit = (n as usize).min(self.units.len());
                self.prime_budget = frames.max(1);
            }
            Command::Transport(t) => self.transport_cmd(t, now),
            Command::ClockOut(on) => self.clock_on = on,
            Command::PlayMode(m) => self.play_mode = m,
            Command::Quantize(q) => self.quantize = q,
            Command::PadEq(p, band, k) => self.pad_fx(p, |fx| {
                if let Some(v) = fx.eq.get_mut(band as usize) {
                    *v = params::EQ_KNOB.clamp(k);
                }
            }),
            Command::PadFilter(p, k) => self.pad_fx(p, |fx| fx.filter = params::FILTER.clamp(k)),
            Command::PadResonance(p, r) => {
                self.pad_fx(p, |fx| fx.resonance = params::RESONANCE.clamp(r))
            }
            Command::PadSend(p, bus, v) => {
                self.pad_fx(p, |fx| fx.sends[bus as usize] = params::DELAY_SEND.clamp(v))
            }
            Command::Fx(param, v) => self.set_fx(param, v),
            Command::PadEqMode(p, m) => self.pad_fx(p, |fx| fx.eq_mode = m),
            Command::EqCrossovers(a, b) => {
                self.iso_design = IsolatorDesign::new(a, b, self.settings.sample_rate as f64)
            }
        }
    }

    fn pad_cfg(&mut self, p: PadId) -> Option<&mut super::command::PadConfig> {
        self.pads
            .get_mut(p as usize)
            .and_then(|pad| pad.cfg.as_mut())
    }

    /// Changes a pad's sound-shaping settings; they glide from where they are.
    fn pad_fx(&mut self, p: PadId, change: impl FnOnce(&mut PadFx)) {
        let Some(cfg) = self.pad_cfg(p) else {
            return;
        };
        change(&mut cfg.fx);
        let fx = cfg.fx;
        self.pad_dsp[p as usize].configure(&fx, true, self.smooth);
    }

    fn set_fx(&mut self, param: FxParam, v: f32) {
        use params as P;
        match param {
            FxParam::DelayDivision => {
                self.delay.set_division(Division::from_index(if v.is_nan() {
                    1.0
                } else {
                    v.clamp(0.0, 3.0)
                } as u8))
            }
            FxParam::DelayFeedback => self.delay.feedback = P::DELAY_FEEDBACK.clamp(v),
            FxParam::DelayWet => self.delay.wet = P::DELAY_WET.clamp(v),
            FxParam::ReverbRoom => self.reverb.set_room(P::REVERB_ROOM.clamp(v)),
            FxParam::ReverbDamping => self.reverb.set_damping(P::REVERB_DAMPING.clamp(v)),
            FxParam::ReverbWet => self.reverb.wet = P::REVERB_WET.clamp(v),
            FxParam::PhaserRate => self.phaser.lfo_hz = P::PHASER_RATE.clamp(v),
            FxParam::PhaserDepth => self.phaser.depth = P::PHASER_DEPTH.clamp(v),
            FxParam::PhaserFeedback => self.phaser.feedback = P::PHASER_FEEDBACK.clamp(v),
            FxParam::PhaserMix => self.phaser.set_mix(P::PHASER_MIX.clamp(v)),
        }
    }

    fn transport_cmd(&mut self, t: TransportCmd, now: u64) {
        use params as P;
        match t {
            TransportCmd::Start => self.start_transport(now),
            TransportCmd::Continue => {
                if !self.transport.running() {
                    let at = self.transport.beat_at(now);
                    self.transport.start(now, at);
                    self.clock_msg(now, ClockMsg::SongPosition(song_position(at)));
                    self.clock_msg(now, ClockMsg::Continue);
                }
            }
            TransportCmd::Stop => {
                self.stop_all(now);
                if self.transport.running() {
                    self.transport.stop(now);
                    self.clock_msg(now, ClockMsg::Stop);
                }
            }
            TransportCmd::Toggle => {
                if self.transport.running() {
                    self.transport_cmd(TransportCmd::Stop, now);
                } else {
                    self.start_transport(now);
                }
            }
            TransportCmd::Tempo(b) => self.transport.set_bpm(now, b),
            TransportCmd::TempoNow(b) => self.transport.jump_bpm(now, b),
            TransportCmd::Glide(ms) => {
                let ms = P::TEMPO_GLIDE_MS.clamp(ms);
                self.transport.set_glide_frames(
                    (ms as f64 / 1000.0 * self.settings.sample_rate as f64) as u64,
                )
            }
            TransportCmd::Meter(n) => self.transport.set_beats_per_bar(n as u32),
            TransportCmd::LatePress(ms) => {
                let ms = P::LATE_PRESS_MS.clamp(ms);
                self.late_frames = (ms as f64 / 1000.0 * self.settings.sample_rate as f64) as u64;
            }
            TransportCmd::Nudge(f) => self.transport.set_nudge(now, f as f64),
            TransportCmd::Trim(f) => self.transport.set_trim(now, f as f64),
            TransportCmd::Tap => {
                let gap = 2 * self.settings.sample_rate as u64;
                if self
                    .taps
                    .last()
                    .is_some_and(|&t| now.saturating_sub(t) > gap)
                {
                    self.taps.clear();
                }
                if self.taps.is_full() {
                    self.taps.remove(0);
                }
                let _ = self.taps.push(now);
                if let (Some(&first), n) = (self.taps.first(), self.taps.len())
                    && n >= 2
                    && now > first
                {
                    let beat =
                        (now - first) as f64 / (n - 1) as f64 / self.settings.sample_rate as f64;
                    self.transport.jump_bpm(now, 60.0 / beat);
                }
            }
            TransportCmd::Locate(beat) => {
                let beat = if beat.is_finite() {
                    beat.clamp(0.0, 1e9)
                } else {
                    0.0
                } as f64;
                let jump = beat - self.transport.beat_at(now);
                self.transport.locate(now, beat);
                self.clock_msg(now, ClockMsg::SongPosition(song_position(beat)));
                // Synced voices keep playing where they are, then drift onto the new grid.
                for v in self.voices.iter_mut() {
                    if let Some(s) = v.sync.as_mut() {
                        s.origin += jump;
                        s.target_origin = s.origin.round();
                        s.home = s.target_origin;
                    }
                }
            }
        }
    }

    /// Starts the transport from bar 1 at `now` (MIDI Start goes out).
    pub(crate) fn start_transport(&mut self, now: u64) {
        if self.transport.running() {
            self.clock_msg(now, ClockMsg::Stop);
        }
        self.transport.start(now, 0.0);
        self.clock_msg(now, ClockMsg::Start);
    }

    /// Sets or replaces a pad's configuration: a pad keeps playing when only its sound
    /// settings changed; a new sample or region restarts from silence.
    fn assign(&mut self, p: PadId, cfg: super::command::PadConfig, now: u64) {
        let Some(pad) = self.pads.get(p as usize).copied() else {
            return;
        };
        if cfg.slot as usize >= self.slots.len() {
            return;
        }
        let keeps_playing = pad.cfg.is_some_and(|old| {
            old.slot == cfg.slot
                && old.start == cfg.start
                && old.loop_start == cfg.loop_start
                && old.loop_end == cfg.loop_end
                && old.looping == cfg.looping
        });
        if !keeps_playing {
            self.stop_pad(p, now);
            // Tables belong to the old sample and region.
            self.pads[p as usize].tables = Default::default();
        }
        let mut cfg = cfg;
        cfg.gain = if cfg.gain.is_nan() {
            1.0
        } else {
            cfg.gain.clamp(0.0, 16.0)
        };
        cfg.speed = params::SPEED.clamp(cfg.speed);
        cfg.transpose = clamp_transpose(cfg.transpose);
        let playing = self.pads[p as usize].voice.is_some();
        self.pad_dsp[p as usize].configure(&cfg.fx, playing, self.smooth);
        self.pads[p as usize].cfg = Some(cfg);
        self.publish_pad(p);
    }
}

/// Applies a stem change (stem numbers past [`MAX_STEMS`] are ignored). Real-time safe.
fn stem_change(m: &mut StemMix, c: StemCmd) {
    let bit = |s: u8| {
        if (s as usize) < MAX_STEMS {
            1u8 << s
        } else {
            0
        }
    };
    let set = |mask: &mut u8, b: u8, on: Option<bool>| match on {
        Some(true) => *mask |= b,
        Some(false) => *mask &= !b,
        None => *mask ^= b,
    };
    match c {
        StemCmd::Stems(on) => m.on = on.unwrap_or(!m.on),
        StemCmd::Mute(s, on) => set(&mut m.mute, bit(s), on),
        StemCmd::Solo(s, on) => set(&mut m.solo, bit(s), on),
        StemCmd::SoloOnly(s) => m.solo = if m.solo == bit(s) { 0 } else { bit(s) },
        StemCmd::Gain(s, g) => {
            if let Some(v) = m.gain.get_mut(s as usize) {
                *v = params::clamp_stem_gain(g);
            }
        }
        StemCmd::Reset => *m = StemMix::default(),
    }
}

/// Transpose within its range: semitones plus cents (NaN is 0). Real-time safe.
fn clamp_transpose(t: f32) -> f32 {
    let lo = params::TRANSPOSE.lo + params::FINE.lo / 100.0;
    let hi = params::TRANSPOSE.hi + params::FINE.hi / 100.0;
    if t.is_nan() { 0.0 } else { t.clamp(lo, hi) }
}

/// A position in beats as a MIDI song position (sixteenth notes, 14 bits). Real-time safe.
fn song_position(beat: f64) -> u16 {
    (beat * 4.0).round().clamp(0.0, 16383.0) as u16
}
