//! Pads: how presses and releases start and stop them, quantised launches, gate holds, choke
//! groups and voice allocation. Real-time safe (called from `Engine::process`).

use super::command::{LaunchMode, PadConfig, PadId, PlayMode};
use super::event::EventKind;
use super::shared::{Counter, EngineStats, PadFlags, PadState};
use super::slots::Slot;
use super::voice::{Sync, Voice, VoiceState};
use super::{Due, Engine};

/// A launch waiting for the next quantisation point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Queued {
    /// Nothing queued.
    #[default]
    None,
    /// The pad starts (or restarts) at the quantisation point.
    Start,
    /// The pad stops at the quantisation point.
    Stop,
}

/// A pad's engine-side state.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pad {
    pub(crate) cfg: Option<PadConfig>,
    /// The voice currently representing this pad (not a fading one).
    pub(crate) voice: Option<u16>,
    /// Presses of a gate pad not yet released (two controllers can hold the same pad).
    pub(crate) holds: u8,
    pub(crate) queued: Queued,
    /// Bumped when a queued launch is cancelled, so its timeline entry is ignored.
    pub(crate) queue_gen: u16,
    /// Stretched tables of the pad's sample region (see `keylock`).
    pub(crate) tables: [Option<super::command::Geometry>; super::keylock::MAX_TABLES],
}

impl Pad {
    /// The state the control side shows for this pad.
    pub(crate) fn state(&self) -> PadState {
        match (self.queued, self.voice, self.cfg) {
            (Queued::Start, _, _) => PadState::QueuedStart,
            (Queued::Stop, _, _) => PadState::QueuedStop,
            (_, Some(_), _) => PadState::Playing,
            (_, None, Some(_)) => PadState::Loaded,
            (_, None, None) => PadState::Empty,
        }
    }
}

/// Publishes pad `p`'s state and the settings controllers show. Real-time safe.
pub(crate) fn publish(pads: &[Pad], stats: &EngineStats, p: usize) {
    if let Some(pad) = pads.get(p) {
        stats.pads.set(p, pad.state());
        let flags = pad.cfg.map_or(0, |c| {
            let mut f = 0;
            if c.key_lock {
                f |= PadFlags::KEY_LOCK;
            }
            if c.sync {
                f |= PadFlags::SYNC;
            }
            if c.transpose > 0.0 {
                f |= PadFlags::UP;
            }
            if c.transpose < 0.0 {
                f |= PadFlags::DOWN;
            }
            f
        });
        stats.pads.set_flags(p, PadFlags(flags));
    }
}

/// Marks voice `i` free, gives back its use of the sample slot and detaches it from its pad
/// (publishing the pad's new state). Returns whether it was the pad's current (not fading)
/// voice. Real-time safe.
pub(crate) fn release_voice(
    voices: &mut [Voice],
    pads: &mut [Pad],
    slots: &mut [Slot],
    stats: &EngineStats,
    i: usize,
) -> bool {
    let v = &mut voices[i];
    v.state = VoiceState::Free;
    let slot = &mut slots[v.slot as usize];
    slot.users = slot.users.saturating_sub(1);
    let p = v.pad as usize;
    let pad = &mut pads[p];
    let was_current = pad.voice == Some(i as u16);
    if was_current {
        pad.voice = None;
        pad.holds = 0;
        publish(pads, stats, p);
    }
    was_current
}

impl Engine {
    pub(crate) fn publish_pad(&self, p: PadId) {
        publish(&self.pads, &self.stats, p as usize);
    }

    /// A press: starts, stops, restarts or queues the pad according to its launch mode and the
    /// quantisation setting.
    pub(crate) fn press(&mut self, p: PadId, now: u64) {
        let Some(pad) = self.pads.get(p as usize).copied() else {
            return;
        };
        let Some(cfg) = pad.cfg else {
            self.emit(now, EventKind::PadEmpty(p));
            return;
        };
        if cfg.mode == LaunchMode::Gate {
            let pad = &mut self.pads[p as usize];
            pad.holds = pad.holds.saturating_add(1);
            if pad.voice.is_none() {
                self.start_pad(p, cfg, now, None);
            }
            return;
        }
        if pad.queued != Queued::None {
            // Pressing a waiting pad again takes the waiting launch back.
            self.cancel_queue(p);
            return;
        }
        let unit = match self.quantize.beats(self.transport.beats_per_bar()) {
            Some(u) if cfg.looping && self.transport.running() => u,
            _ => return self.act(p, cfg, now, None),
        };
        let stopping = cfg.mode == LaunchMode::Toggle && pad.voice.is_some();
        let (prev, prev_beat) = self.transport.prev_boundary(now, unit);
        if now - prev <= self.late_frames {
            // On the grid line, or a moment late: at once, as if pressed on time (a late stop
            // just stops).
            return self.act(p, cfg, now, (!stopping).then_some((prev, prev_beat)));
        }
        let (at, beat) = self.transport.next_boundary(now, unit);
        let pad = &mut self.pads[p as usize];
        pad.queued = if stopping {
            Queued::Stop
        } else {
            Queued::Start
        };
        let generation = pad.queue_gen;
        self.publish_pad(p);
        self.schedule(at, Due::Launch(p, generation, beat), now);
    }

    /// What a press does when it is not (or no longer) waiting for a quantisation point;
    /// `grid` is the grid line (frame, beat) the launch belongs to, if any.
    fn act(&mut self, p: PadId, cfg: PadConfig, now: u64, grid: Option<(u64, f64)>) {
        let playing = self.pads[p as usize].voice.is_some();
        if cfg.mode == LaunchMode::Toggle && playing {
            self.stop_pad(p, now);
        } else {
            self.start_pad(p, cfg, now, grid);
        }
    }

    /// A quantisation point reached: the queued start or stop happens now.
    pub(crate) fn launch_queued(&mut self, p: PadId, generation: u16, beat: f64, now: u64) {
        let Some(pad) = self.pads.get(p as usize).copied() else {
            return;
        };
        if pad.queue_gen != generation || pad.queued == Queued::None {
            return;
        }
        self.pads[p as usize].queued = Queued::None;
        let Some(cfg) = pad.cfg else {
            self.publish_pad(p);
            return;
        };
        match pad.queued {
            Queued::Stop => self.stop_pad(p, now),
            _ => self.start_pad(p, cfg, now, Some((now, beat))),
        }
        self.publish_pad(p);
    }

    /// Forgets a pad's queued launch.
    pub(crate) fn cancel_queue(&mut self, p: PadId) {
        if let Some(pad) = self.pads.get_mut(p as usize)
            && pad.queued != Queued::None
        {
            pad.queued = Queued::None;
            pad.queue_gen = pad.queue_gen.wrapping_add(1);
            self.publish_pad(p);
        }
    }

    /// A release: a gate pad stops when its last hold is released.
    pub(crate) fn release(&mut self, p: PadId, now: u64) {
        let Some(pad) = self.pads.get_mut(p as usize) else {
            return;
        };
        if pad.cfg.is_none_or(|c| c.mode != LaunchMode::Gate) {
            return;
        }
        pad.holds = pad.holds.saturating_sub(1);
        if pad.holds == 0 {
            self.stop_pad(p, now);
        }
    }

    /// Starts (or restarts) a pad at `now`. A launch that belongs to a grid line (`grid`:
    /// its frame and beat; a quantised launch, or a late one forgiven) plays as if it had
    /// started exactly there: a synced pad's loop is anchored on that beat, any pad starts the
    /// frames it would already have played.
    pub(crate) fn start_pad(
        &mut self,
        p: PadId,
        cfg: PadConfig,
        now: u64,
        grid: Option<(u64, f64)>,
    ) {
        let slot = &self.slots[cfg.slot as usize];
        if slot.buffer.is_none() || slot.retiring {
            self.emit(now, EventKind::PadEmpty(p));
            return;
        }
        if self.play_mode == PlayMode::Exclusive || cfg.choke != 0 {
            // Walk the sounding voices (bounded by the voice count, not the pad count).
            for i in 0..self.voices.len() {
                let v = self.voices[i];
                if v.state != VoiceState::Playing || v.pad == p {
                    continue;
                }
                let other = &self.pads[v.pad as usize];
                if other.voice != Some(i as u16) {
                    continue;
                }
                let choked = cfg.choke != 0 && other.cfg.is_some_and(|c| c.choke == cfg.choke);
                if self.play_mode == PlayMode::Exclusive || choked {
                    self.stop_pad(v.pad, now);
                }
            }
        }
        // Retrigger: the old voice fades out while the new one fades in.
        if let Some(v) = self.pads[p as usize].voice.take() {
            self.voices[v as usize].release(self.fade);
        }
        if cfg.looping && !self.transport.running() {
            // The first loop started is the musical origin: bar 1 begins here.
            self.start_transport(now);
        }
        let v = self.allocate_voice(now);
        let mut voice = Voice::start(p, &cfg, self.fade, now);
        let (grid_frame, grid_beat) = grid.unwrap_or((now, self.transport.beat_at(now)));
        if let Some(spb) = self.src_per_beat(&cfg) {
            let origin = if grid.is_some() {
                grid_beat
            } else {
                self.transport.beat_at(now)
            };
            voice.sync = Some(Sync {
                origin,
                target_origin: origin,
                src_per_beat: spb,
                home: origin,
            });
            voice.seek((self.transport.beat_at(now) - origin).max(0.0) * spb);
        } else if grid_frame < now {
            let step = cfg.speed as f64 * self.global_speed as f64;
            voice.seek((now - grid_frame) as f64 * step);
        }
        self.voices[v] = voice;
        self.slots[cfg.slot as usize].users += 1;
        let pad = &mut self.pads[p as usize];
        pad.voice = Some(v as u16);
        if cfg.mode == LaunchMode::Gate {
            pad.holds = pad.holds.max(1);
        }
        self.publish_pad(p);
        self.emit(now, EventKind::PadStarted(p));
    }

    /// Source frames per transport beat for a pad that follows the transport (None: the pad
    /// plays at its own speed: not synced, tempo unknown, or the transport is stopped).
    pub(crate) fn src_per_beat(&self, cfg: &PadConfig) -> Option<f64> {
        (cfg.sync && cfg.bpm > 0.0 && self.transport.running())
            .then(|| 60.0 * self.settings.sample_rate as f64 / cfg.bpm as f64 * cfg.speed as f64)
    }

    /// Puts a playing pad's voice in step with the transport from where it is now (sync just
    /// turned on, or its speed changed): no jump, then it drifts onto the beat grid smoothly.
    pub(crate) fn resync(&mut self, p: PadId, now: u64) {
        let Some(pad) = self.pads.get(p as usize).copied() else {
            return;
        };
        let (Some(cfg), Some(v)) = (pad.cfg, pad.voice) else {
            return;
        };
        let spb = self.src_per_beat(&cfg);
        let beat = self.transport.beat_at(now);
        let v = &mut self.voices[v as usize];
        match spb {
            Some(spb) => {
                let origin = beat - v.travel / (spb * v.scale);
                v.sync = Some(Sync {
                    origin,
                    target_origin: origin.round(),
                    src_per_beat: spb * v.scale,
                    home: origin.round(),
                });
            }
            None => v.sync = None,
        }
    }

    /// Stops a pad (with a declick fade) and cancels anything it was waiting for.
    pub(crate) fn stop_pad(&mut self, p: PadId, now: u64) {
        let Some(pad) = self.pads.get_mut(p as usize) else {
            return;
        };
        pad.holds = 0;
        if pad.queued != Queued::None {
            pad.queued = Queued::None;
            pad.queue_gen = pad.queue_gen.wrapping_add(1);
        }
        if let Some(v) = pad.voice.take() {
            self.voices[v as usize].release(self.fade);
            self.emit(now, EventKind::PadStopped(p));
        }
        self.publish_pad(p);
    }

    /// Stops every pad and every queued launch.
    pub(crate) fn stop_all(&mut self, now: u64) {
        for i in 0..self.voices.len() {
            let v = self.voices[i];
            if v.state != VoiceState::Free && self.pads[v.pad as usize].voice == Some(i as u16) {
                self.stop_pad(v.pad, now);
            }
        }
        for p in 0..self.pads.len() {
            let pad = &mut self.pads[p];
            pad.holds = 0;
            if pad.queued != Queued::None {
                self.cancel_queue(p as PadId);
            }
        }
    }

    /// Picks a voice slot: a free one; at the polyphony limit a playing voice is faded out
    /// first (one-shots before loops, oldest first: a groove loop is the last thing a looper
    /// should lose); when no slot is free at all, the quietest fading voice is cut (counted).
    fn allocate_voice(&mut self, now: u64) -> usize {
        let playing = self
            .voices
            .iter()
            .filter(|v| v.state == VoiceState::Playing)
            .count();
        if playing >= self.settings.voices {
            let victim = self
                .voices
                .iter()
                .enumerate()
                .filter(|(_, v)| v.state == VoiceState::Playing)
                .min_by_key(|(_, v)| (v.looping(), v.started))
                .map(|(i, _)| i);
            if let Some(i) = victim {
                let pad = self.voices[i].pad;
                self.voices[i].release(self.fade);
                if self.pads[pad as usize].voice == Some(i as u16) {
                    self.pads[pad as usize].voice = None;
                    self.pads[pad as usize].holds = 0;
                    self.publish_pad(pad);
                }
                self.stats.counters.bump(Counter::VoicesStolen);
                self.emit(now, EventKind::VoiceStolen(pad));
            }
        }
        if let Some(i) = self.voices.iter().position(|v| v.state == VoiceState::Free) {
            return i;
        }
        let quietest = self
            .voices
            .iter()
            .enumerate()
            .filter(|(_, v)| v.state == VoiceState::Releasing)
            .min_by(|a, b| a.1.loudness().total_cmp(&b.1.loudness()))
            .map_or(0, |(i, _)| i);
        self.stats.counters.bump(Counter::HardCuts);
        release_voice(
            &mut self.voices,
            &mut self.pads,
            &mut self.slots,
            &self.stats,
            quietest,
        );
        quietest
    }
}
