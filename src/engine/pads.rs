//! The pad bank: pads and the voices playing them. How presses and releases start and stop
//! pads, quantised launches, gate holds, choke groups, voice allocation and stealing.
//! Real-time safe (called from `Engine::process`).

use super::command::{LaunchMode, PadConfig, PadId, PlayMode, Quantize, SlotId};
use super::event::EventKind;
use super::io::Io;
use super::keylock::MAX_TABLES;
use super::settings::EngineSettings;
use super::shared::{Counter, EngineStats, PadFlags, PadState};
use super::slots::SlotTable;
use super::timeline::Launch;
use super::transport::Transport;
use super::voice::{Sync, Voice, VoiceState};

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
    pub(crate) tables: [Option<super::command::Geometry>; MAX_TABLES],
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

    /// The flags controllers light (key lock, sync, transpose direction).
    fn flags(&self) -> PadFlags {
        PadFlags(self.cfg.map_or(0, |c| {
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
        }))
    }
}

/// What starting and stopping pads reaches beyond the bank: sample slots, the transport (the
/// first loop started starts it) and the engine's queues.
pub(crate) struct Ctx<'a> {
    pub(crate) slots: &'a mut SlotTable,
    pub(crate) transport: &'a mut Transport,
    pub(crate) io: &'a mut Io,
}

/// Pads, voices and how they play. Owned by the engine; real-time safe.
pub(crate) struct PadBank {
    pub(crate) pads: Box<[Pad]>,
    /// Voice slots: the polyphony plus room for stolen voices fading out.
    pub(crate) voices: Box<[Voice]>,
    /// Declick fade length in frames.
    pub(crate) fade: u32,
    /// Parameter smoothing time in frames.
    pub(crate) smooth: u32,
    /// Global speed factor, multiplied with each pad's speed.
    pub(crate) global_speed: f32,
    pub(crate) play_mode: PlayMode,
    pub(crate) quantize: Quantize,
    /// Frames after a grid line within which a quantised start is forgiven (starts at once).
    pub(crate) late_frames: u64,
    /// Voices playing at once at most (the rest of the slots are for fading voices).
    polyphony: usize,
    rate: u32,
}

impl PadBank {
    /// Pads and voice slots for `s`. Allocates; not real-time safe.
    pub(crate) fn new(s: &EngineSettings) -> Self {
        // Extra voice slots let stolen voices fade out while their replacement starts.
        let physical = s.voices + (s.voices / 4).max(4);
        Self {
            pads: vec![Pad::default(); s.pads].into_boxed_slice(),
            voices: vec![Voice::default(); physical].into_boxed_slice(),
            fade: s.frames(s.fade_ms),
            smooth: s.frames(s.smooth_ms),
            global_speed: 1.0,
            play_mode: PlayMode::Multi,
            quantize: Quantize::Off,
            late_frames: s.frames(60.0) as u64,
            polyphony: s.voices,
            rate: s.sample_rate,
        }
    }

    /// Publishes pad `p`'s state and the settings controllers show. Real-time safe.
    pub(crate) fn publish(&self, stats: &EngineStats, p: PadId) {
        if let Some(pad) = self.pads.get(p as usize) {
            stats.pads.set(p as usize, pad.state());
            stats.pads.set_flags(p as usize, pad.flags());
        }
    }

    /// Pad `p`'s configuration, if it has one. Real-time safe.
    pub(crate) fn cfg_mut(&mut self, p: PadId) -> Option<&mut PadConfig> {
        self.pads.get_mut(p as usize)?.cfg.as_mut()
    }

    /// Marks voice `i` free, gives back its use of the sample slot and detaches it from its
    /// pad (publishing the pad's new state). Returns whether it was the pad's current (not
    /// fading) voice. Real-time safe.
    pub(crate) fn release_voice(
        &mut self,
        i: usize,
        slots: &mut SlotTable,
        stats: &EngineStats,
    ) -> bool {
        let v = &mut self.voices[i];
        v.state = VoiceState::Free;
        slots.release(v.slot);
        let p = v.pad;
        let pad = &mut self.pads[p as usize];
        let was_current = pad.voice == Some(i as u16);
        if was_current {
            pad.voice = None;
            pad.holds = 0;
            self.publish(stats, p);
        }
        was_current
    }

    /// A press: starts, stops, restarts or queues the pad according to its launch mode and the
    /// quantisation setting. Returns a launch to put on the timeline at its frame.
    pub(crate) fn press(&mut self, p: PadId, now: u64, cx: &mut Ctx) -> Option<(u64, Launch)> {
        let pad = self.pads.get(p as usize).copied()?;
        let Some(cfg) = pad.cfg else {
            cx.io.emit(now, EventKind::PadEmpty(p));
            return None;
        };
        if cfg.mode == LaunchMode::Gate {
            let pad = &mut self.pads[p as usize];
            pad.holds = pad.holds.saturating_add(1);
            if pad.voice.is_none() {
                self.start_pad(p, cfg, now, None, cx);
            }
            return None;
        }
        if pad.queued != Queued::None {
            // Pressing a waiting pad again takes the waiting launch back.
            self.cancel_queue(p, &cx.io.stats);
            return None;
        }
        let quantize = cfg.quantize.unwrap_or(self.quantize);
        let unit = match quantize.beats(cx.transport.beats_per_bar()) {
            Some(u) if cfg.looping && cx.transport.running() => u,
            _ => {
                self.act(p, cfg, now, None, cx);
                return None;
            }
        };
        let stopping = cfg.mode == LaunchMode::Toggle && pad.voice.is_some();
        let (prev, prev_beat) = cx.transport.prev_boundary(now, unit);
        if now - prev <= self.late_frames {
            // On the grid line, or a moment late: at once, as if pressed on time (a late stop
            // just stops).
            self.act(p, cfg, now, (!stopping).then_some((prev, prev_beat)), cx);
            return None;
        }
        let (at, beat) = cx.transport.next_boundary(now, unit);
        let pad = &mut self.pads[p as usize];
        pad.queued = if stopping {
            Queued::Stop
        } else {
            Queued::Start
        };
        let generation = pad.queue_gen;
        self.publish(&cx.io.stats, p);
        Some((
            at,
            Launch {
                pad: p,
                generation,
                beat,
            },
        ))
    }

    /// What a press does when it is not (or no longer) waiting for a quantisation point;
    /// `grid` is the grid line (frame, beat) the launch belongs to, if any.
    fn act(&mut self, p: PadId, cfg: PadConfig, now: u64, grid: Option<(u64, f64)>, cx: &mut Ctx) {
        let playing = self.pads[p as usize].voice.is_some();
        if cfg.mode == LaunchMode::Toggle && playing {
            self.stop_pad(p, now, cx.io);
        } else {
            self.start_pad(p, cfg, now, grid, cx);
        }
    }

    /// A quantisation point reached: the queued start or stop happens now.
    pub(crate) fn launch_queued(&mut self, l: Launch, now: u64, cx: &mut Ctx) {
        let p = l.pad;
        let Some(pad) = self.pads.get(p as usize).copied() else {
            return;
        };
        if pad.queue_gen != l.generation || pad.queued == Queued::None {
            return;
        }
        self.pads[p as usize].queued = Queued::None;
        let Some(cfg) = pad.cfg else {
            self.publish(&cx.io.stats, p);
            return;
        };
        match pad.queued {
            Queued::Stop => self.stop_pad(p, now, cx.io),
            _ => self.start_pad(p, cfg, now, Some((now, l.beat)), cx),
        }
        self.publish(&cx.io.stats, p);
    }

    /// Forgets a pad's queued launch.
    fn cancel_queue(&mut self, p: PadId, stats: &EngineStats) {
        if let Some(pad) = self.pads.get_mut(p as usize)
            && pad.queued != Queued::None
        {
            pad.queued = Queued::None;
            pad.queue_gen = pad.queue_gen.wrapping_add(1);
            self.publish(stats, p);
        }
    }

    /// A release: a gate pad stops when its last hold is released.
    pub(crate) fn release(&mut self, p: PadId, now: u64, io: &mut Io) {
        let Some(pad) = self.pads.get_mut(p as usize) else {
            return;
        };
        if pad.cfg.is_none_or(|c| c.mode != LaunchMode::Gate) {
            return;
        }
        pad.holds = pad.holds.saturating_sub(1);
        if pad.holds == 0 {
            self.stop_pad(p, now, io);
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
        cx: &mut Ctx,
    ) {
        if !cx.slots.playable(cfg.slot) {
            cx.io.emit(now, EventKind::PadEmpty(p));
            return;
        }
        if self.play_mode == PlayMode::Exclusive || cfg.choke != 0 {
            self.choke(p, cfg.choke, now, cx.io);
        }
        if cfg.looping && !cx.transport.running() {
            // The first loop started is the musical origin: bar 1 begins here.
            cx.io.start_transport(cx.transport, now);
        }
        let mut voice = Voice::start(p, &cfg, self.fade, now);
        let t = &*cx.transport;
        let (grid_frame, grid_beat) = grid.unwrap_or((now, t.beat_at(now)));
        if let Some(spb) = self.src_per_beat(&cfg, t) {
            let beat = t.beat_at(now);
            let origin = if grid.is_some() {
                grid_beat
            } else if cfg.in_phase {
                phase_origin(&cfg, spb, beat)
            } else {
                beat
            };
            voice.sync = Some(Sync {
                origin,
                target_origin: origin,
                src_per_beat: spb,
                home: origin,
            });
            voice.seek((t.beat_at(now) - origin).max(0.0) * spb);
        } else if grid_frame < now {
            let step = cfg.speed as f64 * self.global_speed as f64;
            voice.seek((now - grid_frame) as f64 * step);
        }
        self.install(p, voice, now, cx);
        if cfg.mode == LaunchMode::Gate {
            let pad = &mut self.pads[p as usize];
            pad.holds = pad.holds.max(1);
        }
        self.publish(&cx.io.stats, p);
        cx.io.emit(now, EventKind::PadStarted(p));
    }

    /// Makes `voice` pad `p`'s voice: the old one (a retrigger) fades out while it fades in.
    fn install(&mut self, p: PadId, voice: Voice, now: u64, cx: &mut Ctx) {
        if let Some(v) = self.pads[p as usize].voice.take() {
            self.voices[v as usize].release(self.fade);
        }
        let v = self.allocate_voice(now, cx);
        cx.slots.acquire(voice.slot);
        self.voices[v] = voice;
        self.pads[p as usize].voice = Some(v as u16);
    }

    /// A new region for pad `p`'s sample (`region`'s start, loop start and end, and tempo;
    /// the pad's other settings stay as they are): a playing pad keeps playing, a voice on the
    /// new region fading in while the old one fades out, as far into the region as the old
    /// one was (a synced pad keeps its place on the beat grid). Ignored for another sample.
    /// Real-time safe.
    pub(crate) fn reshape(&mut self, p: PadId, region: PadConfig, now: u64, cx: &mut Ctx) {
        let Some(pad) = self.pads.get(p as usize).copied() else {
            return;
        };
        let Some(old) = pad.cfg.filter(|c| c.slot == region.slot) else {
            return;
        };
        let cfg = old.with_region_of(&region);
        if cfg == old || cfg.loop_start.saturating_add(4) > cfg.loop_end {
            return;
        }
        self.swap(p, cfg, now, cx);
    }

    /// Pad `p` plays `cfg` from now on (another region, or another sample: an overdub pass,
    /// an undo): a playing pad keeps playing, a voice on `cfg` fading in while the old one
    /// fades out, as far into its loop as the old one was (a synced pad keeps its place on the
    /// beat grid). Real-time safe.
    pub(crate) fn swap(&mut self, p: PadId, cfg: PadConfig, now: u64, cx: &mut Ctx) {
        let Some(pad) = self.pads.get_mut(p as usize) else {
            return;
        };
        if !cx.slots.playable(cfg.slot) {
            return;
        }
        pad.cfg = Some(cfg);
        // Tables belong to the old region.
        pad.tables = Default::default();
        let Some(was) = pad.voice.map(|v| self.voices[v as usize]) else {
            return;
        };
        let mut voice = Voice::start(p, &cfg, self.fade, now);
        let t = &*cx.transport;
        let travel = was.travel / was.scale.max(1e-9);
        match (self.src_per_beat(&cfg, t), was.sync) {
            (Some(spb), Some(s)) => {
                voice.sync = Some(Sync {
                    src_per_beat: spb,
                    ..s
                });
                voice.seek((t.beat_at(now) - s.origin) * spb);
            }
            (Some(spb), None) => {
                let origin = t.beat_at(now) - travel / spb;
                voice.sync = Some(Sync {
                    origin,
                    target_origin: origin.round(),
                    src_per_beat: spb,
                    home: origin.round(),
                });
                voice.seek(travel);
            }
            (None, _) => voice.seek(travel),
        }
        self.install(p, voice, now, cx);
    }

    /// The buffer in slot `from` is now also in slot `to` (the same frames at the same
    /// places): every pad and voice reading `from` reads `to` instead, as it was, without a
    /// break. Real-time safe.
    pub(crate) fn reslot(&mut self, from: SlotId, to: SlotId, slots: &mut super::slots::SlotTable) {
        for pad in self.pads.iter_mut() {
            if let Some(c) = pad.cfg.as_mut().filter(|c| c.slot == from) {
                c.slot = to;
            }
        }
        for v in self.voices.iter_mut() {
            if v.state != VoiceState::Free && v.slot == from {
                v.slot = to;
                slots.release(from);
                slots.acquire(to);
            }
        }
    }

    /// Pad `p`'s settings and, when it plays in step with the transport, the beat its loop
    /// counts from (its voice's sync origin). Real-time safe.
    pub(crate) fn synced(&self, p: PadId) -> Option<(PadConfig, Option<f64>)> {
        let pad = self.pads.get(p as usize)?;
        let origin = pad
            .voice
            .and_then(|v| self.voices[v as usize].sync)
            .map(|s| s.origin);
        Some((pad.cfg?, origin))
    }

    /// Pad `p` starts: in exclusive play mode every other pad stops, else the other pads of
    /// its choke group (0: none). Walks the sounding voices (bounded by the voice count).
    fn choke(&mut self, p: PadId, group: u8, now: u64, io: &mut Io) {
        for i in 0..self.voices.len() {
            let v = self.voices[i];
            if v.state != VoiceState::Playing || v.pad == p {
                continue;
            }
            let other = &self.pads[v.pad as usize];
            if other.voice != Some(i as u16) {
                continue;
            }
            let choked = group != 0 && other.cfg.is_some_and(|c| c.choke == group);
            if self.play_mode == PlayMode::Exclusive || choked {
                self.stop_pad(v.pad, now, io);
            }
        }
    }

    /// Source frames per transport beat for a pad that follows the transport (None: the pad
    /// plays at its own speed: not synced, tempo unknown, or the transport is stopped).
    pub(crate) fn src_per_beat(&self, cfg: &PadConfig, t: &Transport) -> Option<f64> {
        (cfg.sync && cfg.bpm > 0.0 && t.running())
            .then(|| 60.0 * self.rate as f64 / cfg.bpm as f64 * cfg.speed as f64)
    }

    /// Puts a playing pad's voice in step with the transport from where it is now (sync just
    /// turned on, or its speed changed): no jump, then it drifts onto the beat grid smoothly.
    pub(crate) fn resync(&mut self, p: PadId, now: u64, t: &Transport) {
        let Some(pad) = self.pads.get(p as usize).copied() else {
            return;
        };
        let (Some(cfg), Some(v)) = (pad.cfg, pad.voice) else {
            return;
        };
        let spb = self.src_per_beat(&cfg, t);
        let beat = t.beat_at(now);
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

    /// Synced voices keep playing where they are after the transport jumped by `beats`, then
    /// drift onto the new grid.
    pub(crate) fn shift_grid(&mut self, beats: f64) {
        for v in self.voices.iter_mut() {
            if let Some(s) = v.sync.as_mut() {
                s.origin += beats;
                s.target_origin = s.origin.round();
                s.home = s.target_origin;
            }
        }
    }

    /// Stops a pad (with a declick fade) and cancels anything it was waiting for.
    pub(crate) fn stop_pad(&mut self, p: PadId, now: u64, io: &mut Io) {
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
            io.emit(now, EventKind::PadStopped(p));
        }
        self.publish(&io.stats, p);
    }

    /// Stops every pad and every queued launch.
    pub(crate) fn stop_all(&mut self, now: u64, io: &mut Io) {
        for i in 0..self.voices.len() {
            let v = self.voices[i];
            if v.state != VoiceState::Free && self.pads[v.pad as usize].voice == Some(i as u16) {
                self.stop_pad(v.pad, now, io);
            }
        }
        for p in 0..self.pads.len() {
            let pad = &mut self.pads[p];
            pad.holds = 0;
            if pad.queued != Queued::None {
                self.cancel_queue(p as PadId, &io.stats);
            }
        }
    }

    /// Removes pad `p`'s sample (it stops first).
    pub(crate) fn clear(&mut self, p: PadId, now: u64, io: &mut Io) {
        self.stop_pad(p, now, io);
        if let Some(pad) = self.pads.get_mut(p as usize) {
            pad.cfg = None;
        }
        self.publish(&io.stats, p);
    }

    /// Slot `slot` is unloading: pads using it stop and are cleared, voices reading it fade.
    pub(crate) fn forget_slot(&mut self, slot: SlotId, now: u64, io: &mut Io) {
        for p in 0..self.pads.len() {
            if self.pads[p].cfg.is_some_and(|c| c.slot == slot) {
                self.clear(p as PadId, now, io);
            }
        }
        let fade = self.fade;
        for v in self.voices.iter_mut().filter(|v| v.slot == slot) {
            v.release(fade);
        }
    }

    /// Picks a voice slot: a free one; at the polyphony limit a playing voice is faded out
    /// first (one-shots before loops, oldest first: a groove loop is the last thing a looper
    /// should lose); when no slot is free at all, the quietest fading voice is cut (counted).
    fn allocate_voice(&mut self, now: u64, cx: &mut Ctx) -> usize {
        let playing = self
            .voices
            .iter()
            .filter(|v| v.state == VoiceState::Playing)
            .count();
        if playing >= self.polyphony {
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
                    self.publish(&cx.io.stats, pad);
                }
                cx.io.bump(Counter::VoicesStolen);
                cx.io.emit(now, EventKind::VoiceStolen(pad));
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
        cx.io.bump(Counter::HardCuts);
        self.release_voice(quietest, cx.slots, &cx.io.stats);
        quietest
    }
}

/// The beat a synced loop launched off the grid is anchored on to play in phase: its loop
/// starts fall on whole multiples of its length in beats, counted from the transport's first
/// beat (on bar lines for a loop of whole bars). A pad with an intro, or not looping, starts
/// at its start. Real-time safe.
fn phase_origin(cfg: &PadConfig, src_per_beat: f64, beat: f64) -> f64 {
    let len = (crate::engine::command::exact_end(cfg.loop_end, cfg.end_frac)
        - cfg.loop_start as f64)
        / src_per_beat;
    if !cfg.looping || cfg.start != cfg.loop_start || len.is_nan() || len <= 0.0 {
        return beat;
    }
    (beat / len).floor() * len
}
