//! How each command changes the engine. Every number is clamped through the parameter table
//! (NaN becomes the parameter's default), so a bad value can never reach the DSP. Real-time
//! safe.

use super::Engine;
use super::command::{Command, FxParam, PadFx, PadId};
use super::params;
use crate::dsp::delay::Division;
use crate::dsp::isolator::IsolatorDesign;

impl Engine {
    pub(crate) fn apply(&mut self, cmd: Command, now: u64) {
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
                }
            }
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
            Command::Fx(param, v) => self.set_fx(param, v, now),
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

    fn set_fx(&mut self, param: FxParam, v: f32, now: u64) {
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
            FxParam::Bpm => {
                let bpm = P::BPM.clamp(v);
                self.delay.set_bpm(bpm);
                self.transport.set_bpm(now, bpm as f64);
            }
        }
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
        }
        let mut cfg = cfg;
        cfg.gain = if cfg.gain.is_nan() {
            1.0
        } else {
            cfg.gain.clamp(0.0, 16.0)
        };
        cfg.speed = params::SPEED.clamp(cfg.speed);
        let playing = self.pads[p as usize].voice.is_some();
        self.pad_dsp[p as usize].configure(&cfg.fx, playing, self.smooth);
        self.pads[p as usize].cfg = Some(cfg);
        self.publish_pad(p);
    }
}
