//! The real-time core: a plain struct rendering interleaved stereo blocks.
//!
//! Everything here is allocated in [`Engine::new`]; [`Engine::process`] never allocates, frees,
//! locks, blocks, logs or does I/O. Control traffic arrives over lock-free SPSC queues owned by
//! an [`EngineHandle`](handle::EngineHandle) on the control side.

pub mod command;
pub mod event;
pub mod handle;
pub mod voice;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use crate::dsp::delay::{Delay, Division};
use crate::dsp::djfilter::DjFilter;
use crate::dsp::eq::ThreeBandEq;
use crate::dsp::limiter::Limiter;
use crate::dsp::phaser::Phaser;
use crate::dsp::ramp::Ramp;
use crate::dsp::reverb::Reverb;
use crate::sample::buffer::{F32Frames, I16Frames, SampleBuffer, SampleData};
use command::{Command, FxParam, LaunchMode, PadConfig, PadFx, PadId, PlayMode, SlotId, Timed};
use event::{EngineEvent, EngineStats, EventKind};
pub use handle::{CommandLane, EngineHandle};
use voice::{Voice, VoiceEnd, VoiceState};

/// Capacity of the engine's sorted list of commands waiting for their frame.
pub const PENDING_CAPACITY: usize = 512;

/// Fixed capacities and timing constants of an engine, fixed at construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineSettings {
    /// Output sample rate in Hz.
    pub sample_rate: u32,
    /// Maximum simultaneously playing voices (more start stealing).
    pub voices: usize,
    /// Total pads across all banks.
    pub pads: usize,
    /// Sample slots (distinct loaded buffers).
    pub sample_slots: usize,
    /// Control → engine command queue capacity.
    pub command_queue: usize,
    /// Engine → control event queue capacity.
    pub event_queue: usize,
    /// Commands drained per `process` call at most.
    pub command_budget: usize,
    /// Extra command queues, one per controller thread (see `EngineHandle::take_lane`).
    pub lanes: usize,
    /// Declick fade length for starts, stops, retriggers and steals, in milliseconds.
    pub fade_ms: f32,
    /// Smoothing time for gain and volume changes, in milliseconds.
    pub smooth_ms: f32,
    /// Largest block rendered in one internal pass (longer buffers are split).
    pub max_block: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            sample_rate: 48_000,
            voices: 64,
            pads: 8 * 64,
            sample_slots: 1024,
            command_queue: 1024,
            event_queue: 4096,
            command_budget: 256,
            lanes: 8,
            fade_ms: 3.0,
            smooth_ms: 20.0,
            max_block: 1024,
        }
    }
}

/// A buffer being published to a slot (control → engine).
pub struct Load {
    /// Destination slot (must be free; the handle guarantees it).
    pub slot: SlotId,
    /// The ready-to-play sample.
    pub buffer: Arc<SampleBuffer>,
}

/// A buffer the engine no longer uses (engine → control, dropped there).
pub struct Retired {
    /// Slot it occupied (free again once received).
    pub slot: SlotId,
    /// The buffer, to be dropped off the audio thread.
    pub buffer: Arc<SampleBuffer>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Pad {
    cfg: Option<PadConfig>,
    /// The voice currently representing this pad (not a fading one).
    voice: Option<u16>,
}

/// Per-pad sound shaping state (the pad's voices are summed, then shaped).
#[derive(Debug, Clone, Copy)]
struct PadDsp {
    eq: ThreeBandEq,
    filter: DjFilter,
    sends: [Ramp; 2],
    /// Segment counter value when the pad last had voices (a pad restarting from silence starts
    /// its filters from clean state).
    last_seen: u64,
}

impl PadDsp {
    fn new(rate: u32) -> Self {
        Self {
            eq: ThreeBandEq::new(rate as f64),
            filter: DjFilter::new(rate as f32),
            sends: [Ramp::steady(0.0); 2],
            last_seen: u64::MAX,
        }
    }

    /// Takes the pad's settings: at once when the pad is silent, gliding when it plays.
    fn configure(&mut self, fx: &PadFx, glide: bool, smooth: u32) {
        for b in 0..3 {
            if glide {
                self.eq.set(b, fx.eq[b])
            } else {
                self.eq.jump(b, fx.eq[b])
            }
        }
        if glide {
            self.filter.set(fx.filter)
        } else {
            self.filter.jump(fx.filter)
        }
        self.filter.set_resonance(fx.resonance);
        for (r, &v) in self.sends.iter_mut().zip(fx.sends.iter()) {
            r.go(v, if glide { smooth } else { 0 });
        }
    }

    /// Whether the pad's voices can go straight to the mix (bit-identical to no processing).
    fn is_transparent(&self) -> bool {
        self.eq.is_flat()
            && self.filter.is_off()
            && self.sends.iter().all(|r| r.value == 0.0 && !r.is_moving())
    }
}

#[derive(Default)]
struct Slot {
    buffer: Option<Arc<SampleBuffer>>,
    users: u32,
    retiring: bool,
}

/// The audio engine. Create with [`Engine::new`], drive with [`Engine::process`].
pub struct Engine {
    settings: EngineSettings,
    voices: Box<[Voice]>,
    /// Sounding voices sorted by pad, rebuilt every segment (capacity = voice slots).
    order: Box<[u16]>,
    pads: Box<[Pad]>,
    pad_dsp: Box<[PadDsp]>,
    /// One `max_block` stereo scratch buffer per voice slot: pads being shaped are mixed here.
    scratch: Box<[f32]>,
    /// Pads being shaped in the current segment, with their scratch buffer index.
    shaped: Box<[(u16, u16)]>,
    /// Lane buffer for grouped EQ processing (`max_block` frames of 8 lanes).
    lanes: Box<[crate::dsp::eq::Lanes]>,
    buses: [Box<[f32]>; 2],
    delay: Delay,
    reverb: Reverb,
    phaser: Phaser,
    limiter: Limiter,
    segment: u64,
    slots: Box<[Slot]>,
    commands: HeapCons<Timed>,
    /// Controller command lanes (drained after the main queue).
    lane_queues: Box<[HeapCons<Timed>]>,
    loads: HeapCons<Load>,
    events: HeapProd<EngineEvent>,
    retired: HeapProd<Retired>,
    pending: heapless::Vec<Timed, PENDING_CAPACITY>,
    stats: Arc<EngineStats>,
    frame: u64,
    master: Ramp,
    global_speed: f32,
    play_mode: PlayMode,
    fade: u32,
    smooth: u32,
    retiring: usize,
}

/// Errors in engine construction.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    /// A capacity or rate is out of range.
    #[error("invalid engine settings: {0}")]
    InvalidSettings(&'static str),
}

impl Engine {
    /// Builds an engine and the control-side handle connected to it. Allocates everything the
    /// engine will ever use; not real-time safe.
    pub fn new(settings: EngineSettings) -> Result<(Engine, EngineHandle), EngineError> {
        let s = settings;
        if !(8_000..=384_000).contains(&s.sample_rate) {
            return Err(EngineError::InvalidSettings(
                "sample_rate must be 8000..=384000",
            ));
        }
        if s.voices == 0 || s.voices > 4096 {
            return Err(EngineError::InvalidSettings("voices must be 1..=4096"));
        }
        if s.pads == 0 || s.pads > u16::MAX as usize {
            return Err(EngineError::InvalidSettings("pads must be 1..=65535"));
        }
        if s.sample_slots == 0 || s.sample_slots > u16::MAX as usize {
            return Err(EngineError::InvalidSettings(
                "sample_slots must be 1..=65535",
            ));
        }
        if s.command_queue == 0 || s.event_queue == 0 || s.command_budget == 0 || s.max_block == 0 {
            return Err(EngineError::InvalidSettings(
                "queue sizes and budgets must be > 0",
            ));
        }
        let (cmd_tx, cmd_rx) = split(s.command_queue);
        let (lane_tx, lane_rx): (Vec<_>, Vec<_>) = (0..s.lanes)
            .map(|_| split::<Timed>(s.command_queue))
            .unzip();
        let (load_tx, load_rx) = split(s.sample_slots);
        let (ev_tx, ev_rx) = split(s.event_queue);
        // Room for every slot plus every load in flight: a retire can never find the queue full.
        let (ret_tx, ret_rx) = split(2 * s.sample_slots);
        let stats = Arc::new(EngineStats::default());
        let ms = |ms: f32| ((ms / 1000.0) * s.sample_rate as f32).round().max(1.0) as u32;
        // Extra voice slots let stolen voices fade out while their replacement starts.
        let physical = s.voices + (s.voices / 4).max(4);
        let block = vec![0.0f32; 2 * s.max_block].into_boxed_slice();
        let engine = Engine {
            settings: s,
            voices: vec![Voice::default(); physical].into_boxed_slice(),
            order: vec![0u16; physical].into_boxed_slice(),
            pads: vec![Pad::default(); s.pads].into_boxed_slice(),
            pad_dsp: vec![PadDsp::new(s.sample_rate); s.pads].into_boxed_slice(),
            scratch: vec![0.0f32; 2 * s.max_block * physical].into_boxed_slice(),
            shaped: vec![(0u16, 0u16); physical].into_boxed_slice(),
            lanes: vec![[0.0f32; 8]; s.max_block].into_boxed_slice(),
            buses: [block.clone(), block],
            delay: Delay::new(s.sample_rate),
            reverb: Reverb::new(s.sample_rate),
            phaser: Phaser::new(s.sample_rate),
            limiter: Limiter::new(s.sample_rate),
            segment: 0,
            slots: (0..s.sample_slots).map(|_| Slot::default()).collect(),
            commands: cmd_rx,
            lane_queues: lane_rx.into_boxed_slice(),
            loads: load_rx,
            events: ev_tx,
            retired: ret_tx,
            pending: heapless::Vec::new(),
            stats: stats.clone(),
            frame: 0,
            master: Ramp::steady(1.0),
            global_speed: 1.0,
            play_mode: PlayMode::Multi,
            fade: ms(s.fade_ms),
            smooth: ms(s.smooth_ms),
            retiring: 0,
        };
        let handle = EngineHandle::new(cmd_tx, lane_tx, load_tx, ev_rx, ret_rx, stats, s);
        Ok((engine, handle))
    }

    /// The settings the engine was built with. Real-time safe.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The shared meters. Real-time safe.
    pub fn stats(&self) -> &Arc<EngineStats> {
        &self.stats
    }

    /// Frames rendered so far (the engine clock). Real-time safe.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// Output latency in frames added by the master limiter's look-ahead: audio for engine
    /// frame `f` leaves `process` at output frame `f + latency()`. Real-time safe.
    pub fn latency(&self) -> usize {
        self.limiter.latency()
    }

    /// Renders `out.len() / 2` interleaved stereo frames, applying queued commands at their
    /// frame. Real-time safe: no allocation, no locks, no I/O.
    pub fn process(&mut self, out: &mut [f32]) {
        let usable = out.len() & !1;
        out[usable..].fill(0.0);
        let max = self.settings.max_block * 2;
        for chunk in out[..usable].chunks_mut(max) {
            self.process_chunk(chunk);
        }
    }

    fn process_chunk(&mut self, out: &mut [f32]) {
        self.drain_inputs();
        out.fill(0.0);
        for bus in self.buses.iter_mut() {
            bus[..out.len()].fill(0.0);
        }
        let frames = out.len() / 2;
        let block_start = self.frame;
        let mut cursor = 0usize;
        while cursor < frames {
            // Apply every command due at or before this point.
            while let Some(t) = self.pending.last() {
                if t.at > block_start + cursor as u64 {
                    break;
                }
                if let Some(t) = self.pending.pop() {
                    self.apply(t.cmd, block_start + cursor as u64);
                }
            }
            let seg_end = match self.pending.last() {
                Some(t) if t.at < block_start + frames as u64 => (t.at - block_start) as usize,
                _ => frames,
            };
            self.render_segment(out, cursor, seg_end, block_start + cursor as u64);
            cursor = seg_end;
        }
        self.frame += frames as u64;
        self.retire_unused();
        let mut peak = 0.0f32;
        for s in out.iter() {
            peak = peak.max(s.abs());
        }
        self.stats.record_peak(peak);
        self.stats.record_limiter_gain(self.limiter.take_min_gain());
        let active = self
            .voices
            .iter()
            .filter(|v| v.state != VoiceState::Free)
            .count();
        self.stats
            .active_voices
            .store(active as u32, Ordering::Relaxed);
        self.stats.frames.store(self.frame, Ordering::Release);
    }

    /// Takes new sample loads and commands from the queues, within the per-block budget.
    fn drain_inputs(&mut self) {
        while let Some(load) = self.loads.try_pop() {
            let slot = &mut self.slots[load.slot as usize];
            if slot.buffer.is_none() && !slot.retiring {
                slot.buffer = Some(load.buffer);
                slot.users = 0;
            } else {
                // Protocol violation: hand the buffer straight back (the queue has room for it).
                let _ = self.retired.try_push(Retired {
                    slot: u16::MAX,
                    buffer: load.buffer,
                });
            }
        }
        let mut budget = self.settings.command_budget;
        for q in std::iter::once(&mut self.commands).chain(self.lane_queues.iter_mut()) {
            while budget > 0 && !self.pending.is_full() {
                let Some(t) = q.try_pop() else { break };
                let at = t.at;
                let idx = self.pending.partition_point(|p| p.at > at);
                // Cannot fail: we checked there is room.
                let _ = self.pending.insert(idx, t);
                budget -= 1;
            }
        }
    }

    fn emit(&mut self, frame: u64, kind: EventKind) {
        push_event(&mut self.events, &self.stats, frame, kind);
    }

    fn apply(&mut self, cmd: Command, now: u64) {
        match cmd {
            Command::Press(p) => self.press(p, now),
            Command::Release(p) => {
                if let Some(cfg) = self.pad(p).and_then(|pad| pad.cfg)
                    && cfg.mode == LaunchMode::Gate
                {
                    self.stop_pad(p, now);
                }
            }
            Command::Stop(p) => self.stop_pad(p, now),
            Command::StopAll => {
                for p in 0..self.pads.len() {
                    self.stop_pad(p as PadId, now);
                }
            }
            Command::Assign(p, cfg) => self.assign(p, cfg, now),
            Command::Clear(p) => {
                self.stop_pad(p, now);
                if let Some(pad) = self.pads.get_mut(p as usize) {
                    pad.cfg = None;
                }
            }
            Command::Unload(slot) => self.unload(slot, now),
            Command::MasterVolume(v) => self.master.go(v.clamp(0.0, 4.0), self.smooth),
            Command::GlobalSpeed(s) => self.global_speed = s.clamp(0.5, 2.0),
            Command::PadGain(p, g) => {
                if let Some(cfg) = self
                    .pads
                    .get_mut(p as usize)
                    .and_then(|pad| pad.cfg.as_mut())
                {
                    cfg.gain = g.clamp(0.0, 16.0);
                }
            }
            Command::PadSpeed(p, s) => {
                if let Some(cfg) = self
                    .pads
                    .get_mut(p as usize)
                    .and_then(|pad| pad.cfg.as_mut())
                {
                    cfg.speed = s.clamp(0.5, 2.0);
                }
            }
            Command::PlayMode(m) => self.play_mode = m,
            Command::PadEq(p, band, k) => self.pad_fx(p, |fx| {
                if let Some(v) = fx.eq.get_mut(band as usize) {
                    *v = k.clamp(0.0, 1.0);
                }
            }),
            Command::PadFilter(p, k) => self.pad_fx(p, |fx| fx.filter = k.clamp(0.0, 1.0)),
            Command::PadResonance(p, r) => self.pad_fx(p, |fx| fx.resonance = r.clamp(0.0, 1.0)),
            Command::PadSend(p, bus, v) => {
                self.pad_fx(p, |fx| fx.sends[bus as usize] = v.clamp(0.0, 1.0))
            }
            Command::Fx(param, v) => self.set_fx(param, v),
        }
    }

    /// Changes a pad's sound-shaping settings; they glide from where they are.
    fn pad_fx(&mut self, p: PadId, change: impl FnOnce(&mut PadFx)) {
        let Some(cfg) = self
            .pads
            .get_mut(p as usize)
            .and_then(|pad| pad.cfg.as_mut())
        else {
            return;
        };
        change(&mut cfg.fx);
        let fx = cfg.fx;
        self.pad_dsp[p as usize].configure(&fx, true, self.smooth);
    }

    fn set_fx(&mut self, param: FxParam, v: f32) {
        match param {
            FxParam::DelayDivision => self
                .delay
                .set_division(Division::from_index(v.clamp(0.0, 3.0) as u8)),
            FxParam::DelayFeedback => self.delay.feedback = v.clamp(0.0, 0.95),
            FxParam::DelayWet => self.delay.wet = v.clamp(0.0, 1.0),
            FxParam::ReverbRoom => self.reverb.set_room(v),
            FxParam::ReverbDamping => self.reverb.set_damping(v),
            FxParam::ReverbWet => self.reverb.wet = v.clamp(0.0, 1.0),
            FxParam::PhaserRate => self.phaser.lfo_hz = v.clamp(0.05, 10.0),
            FxParam::PhaserDepth => self.phaser.depth = v.clamp(0.0, 1.0),
            FxParam::PhaserFeedback => self.phaser.feedback = v.clamp(0.0, 0.9),
            FxParam::PhaserMix => self.phaser.set_mix(v),
            FxParam::Bpm => self.delay.set_bpm(v),
        }
    }

    fn pad(&self, p: PadId) -> Option<&Pad> {
        self.pads.get(p as usize)
    }

    fn press(&mut self, p: PadId, now: u64) {
        let Some(pad) = self.pad(p).copied() else {
            return;
        };
        let Some(cfg) = pad.cfg else {
            self.emit(now, EventKind::PadEmpty(p));
            return;
        };
        if cfg.mode == LaunchMode::Toggle && pad.voice.is_some() {
            self.stop_pad(p, now);
            return;
        }
        self.start_pad(p, cfg, now);
    }

    fn start_pad(&mut self, p: PadId, cfg: PadConfig, now: u64) {
        let slot = &self.slots[cfg.slot as usize];
        if slot.buffer.is_none() || slot.retiring {
            self.emit(now, EventKind::PadEmpty(p));
            return;
        }
        if self.play_mode == PlayMode::Exclusive || cfg.choke != 0 {
            for other in 0..self.pads.len() {
                let o = &self.pads[other];
                if other == p as usize || o.voice.is_none() {
                    continue;
                }
                let choked = cfg.choke != 0 && o.cfg.is_some_and(|c| c.choke == cfg.choke);
                if self.play_mode == PlayMode::Exclusive || choked {
                    self.stop_pad(other as PadId, now);
                }
            }
        }
        // Retrigger: the old voice fades out while the new one fades in.
        if let Some(v) = self.pads[p as usize].voice.take() {
            self.voices[v as usize].release(self.fade);
        }
        let v = self.allocate_voice(now);
        self.voices[v] = Voice::start(p, &cfg, self.fade, now);
        self.slots[cfg.slot as usize].users += 1;
        self.pads[p as usize].voice = Some(v as u16);
        self.emit(now, EventKind::PadStarted(p));
    }

    /// Picks a voice slot: a free one; when the polyphony limit is reached, the oldest playing
    /// voice is faded out (stolen) first; when no slot is free, the quietest releasing voice is
    /// reused.
    fn allocate_voice(&mut self, now: u64) -> usize {
        let playing = self
            .voices
            .iter()
            .filter(|v| v.state == VoiceState::Playing)
            .count();
        if playing >= self.settings.voices {
            let oldest = self
                .voices
                .iter()
                .enumerate()
                .filter(|(_, v)| v.state == VoiceState::Playing)
                .min_by_key(|(_, v)| v.started)
                .map(|(i, _)| i);
            if let Some(i) = oldest {
                let pad = self.voices[i].pad;
                self.voices[i].release(self.fade);
                if self.pads[pad as usize].voice == Some(i as u16) {
                    self.pads[pad as usize].voice = None;
                }
                self.stats.voices_stolen.fetch_add(1, Ordering::Relaxed);
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
            .map(|(i, _)| i)
            .unwrap_or(0);
        release_voice(&mut self.voices, &mut self.pads, &mut self.slots, quietest);
        quietest
    }

    fn stop_pad(&mut self, p: PadId, now: u64) {
        let Some(pad) = self.pads.get_mut(p as usize) else {
            return;
        };
        if let Some(v) = pad.voice.take() {
            self.voices[v as usize].release(self.fade);
            self.emit(now, EventKind::PadStopped(p));
        }
    }

    fn assign(&mut self, p: PadId, cfg: PadConfig, now: u64) {
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
        let playing = self.pads[p as usize].voice.is_some();
        self.pad_dsp[p as usize].configure(&cfg.fx, playing, self.smooth);
        self.pads[p as usize].cfg = Some(cfg);
    }

    fn unload(&mut self, slot: SlotId, now: u64) {
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return;
        };
        if s.buffer.is_none() || s.retiring {
            return;
        }
        s.retiring = true;
        self.retiring += 1;
        for p in 0..self.pads.len() {
            if self.pads[p].cfg.is_some_and(|c| c.slot == slot) {
                self.stop_pad(p as PadId, now);
                self.pads[p].cfg = None;
            }
        }
        let fade = self.fade;
        for v in self.voices.iter_mut().filter(|v| v.slot == slot) {
            v.release(fade);
        }
    }

    /// Hands buffers of unloaded slots back once no voice reads them.
    fn retire_unused(&mut self) {
        if self.retiring == 0 {
            return;
        }
        for i in 0..self.slots.len() {
            let s = &mut self.slots[i];
            if !s.retiring || s.users > 0 || self.retired.is_full() {
                continue;
            }
            if let Some(buffer) = s.buffer.take() {
                // Cannot fail: checked above that there is room.
                let _ = self.retired.try_push(Retired {
                    slot: i as SlotId,
                    buffer,
                });
            }
            s.retiring = false;
            self.retiring -= 1;
            self.emit(self.frame, EventKind::SlotRetired(i as SlotId));
        }
    }

    /// Runs the EQs of up to four pads side by side on their scratch buffers.
    fn eq_group(&mut self, group: &[(u16, usize)], stride: usize, n: usize) {
        match group.len() {
            1 => self.eq_group_n::<1>(group, stride, n),
            2 => self.eq_group_n::<2>(group, stride, n),
            3 => self.eq_group_n::<3>(group, stride, n),
            _ => self.eq_group_n::<4>(group, stride, n),
        }
    }

    fn eq_group_n<const P: usize>(&mut self, group: &[(u16, usize)], stride: usize, n: usize) {
        let ranges: [std::ops::Range<usize>; P] =
            std::array::from_fn(|i| group[i].1 * stride..group[i].1 * stride + 2 * n);
        let pads: [usize; P] = std::array::from_fn(|i| group[i].0 as usize);
        // Pads in a group are distinct and their scratch buffers disjoint, so these succeed.
        let (Ok(mut bufs), Ok(dsps)) = (
            self.scratch.get_disjoint_mut(ranges),
            self.pad_dsp.get_disjoint_mut(pads),
        ) else {
            return;
        };
        let mut eqs = dsps.map(|d| &mut d.eq);
        crate::dsp::eq::process_group(&mut eqs, &mut bufs, &mut self.lanes);
    }

    /// Renders frames `a..b` of the chunk `out`: voices grouped by pad (each pad through its EQ,
    /// filter and sends), then the send effects, phaser, master volume and limiter.
    fn render_segment(&mut self, out: &mut [f32], a: usize, b: usize, seg_start: u64) {
        if a == b {
            return;
        }
        self.segment += 1;
        let n = b - a;
        let out = &mut out[2 * a..2 * b];
        // Sounding voices, grouped by pad.
        let mut count = 0;
        for (i, v) in self.voices.iter().enumerate() {
            if v.state != VoiceState::Free {
                self.order[count] = i as u16;
                count += 1;
            }
        }
        let voices = &self.voices;
        self.order[..count].sort_unstable_by_key(|&i| voices[i as usize].pad);
        let stride = 2 * self.settings.max_block;
        // Phase 1: each pad's voices go straight to the mix (transparent pads) or into a scratch
        // buffer of their own (pads with EQ, filter or sends).
        let mut shaped = 0;
        let mut g = 0;
        while g < count {
            let pad = self.voices[self.order[g] as usize].pad;
            let mut end = g + 1;
            while end < count && self.voices[self.order[end] as usize].pad == pad {
                end += 1;
            }
            let dsp = &mut self.pad_dsp[pad as usize];
            if dsp.last_seen != self.segment - 1 {
                dsp.eq.reset();
                dsp.filter.reset();
            }
            dsp.last_seen = self.segment;
            let transparent = dsp.is_transparent();
            let target: &mut [f32] = if transparent {
                out
            } else {
                let j = shaped;
                self.shaped[shaped] = (pad, j as u16);
                shaped += 1;
                let t = &mut self.scratch[j * stride..j * stride + 2 * n];
                t.fill(0.0);
                t
            };
            for k in g..end {
                let vi = self.order[k] as usize;
                render_voice(
                    vi,
                    &mut self.voices,
                    &mut self.pads,
                    &mut self.slots,
                    &mut self.events,
                    &self.stats,
                    target,
                    seg_start,
                    self.global_speed as f64,
                    self.fade,
                    self.smooth,
                );
            }
            g = end;
        }
        // Phase 2: EQs with steady knobs run four pads at a time; gliding ones one by one.
        let mut group = [(0u16, 0usize); 4];
        let mut in_group = 0;
        for k in 0..shaped {
            let (pad, j) = self.shaped[k];
            let eq = &mut self.pad_dsp[pad as usize].eq;
            if eq.is_flat() {
                eq.process(&mut []);
                continue;
            }
            if !eq.is_steady() {
                eq.process(&mut self.scratch[j as usize * stride..j as usize * stride + 2 * n]);
                continue;
            }
            group[in_group] = (pad, j as usize);
            in_group += 1;
            if in_group == 4 || k + 1 == shaped {
                self.eq_group(&group[..in_group], stride, n);
                in_group = 0;
            }
        }
        if in_group > 0 {
            self.eq_group(&group[..in_group], stride, n);
        }
        // Phase 3: filter, then into the mix and the send buses.
        let mut sent = false;
        for k in 0..shaped {
            let (pad, j) = self.shaped[k];
            let j = j as usize;
            let dsp = &mut self.pad_dsp[pad as usize];
            let mix = &mut self.scratch[j * stride..j * stride + 2 * n];
            dsp.filter.process(mix);
            for (o, x) in out.iter_mut().zip(mix.iter()) {
                *o += *x;
            }
            for (bus, send) in self.buses.iter_mut().zip(dsp.sends.iter_mut()) {
                if send.value == 0.0 && !send.is_moving() {
                    continue;
                }
                sent = true;
                let bus = &mut bus[2 * a..2 * b];
                send.each(n, |k, gain| {
                    bus[2 * k] += mix[2 * k] * gain;
                    bus[2 * k + 1] += mix[2 * k + 1] * gain;
                });
            }
        }
        self.delay.process(&self.buses[0][2 * a..2 * b], out, !sent);
        self.reverb
            .process(&self.buses[1][2 * a..2 * b], out, !sent);
        self.phaser.process(out);
        if self.master.is_moving() || self.master.value != 1.0 {
            self.master.each(n, |k, g| {
                out[2 * k] *= g;
                out[2 * k + 1] *= g;
            });
        }
        self.limiter.process(out);
    }
}

/// Renders voice `vi` into `out` and handles its end (slot use count, pad state, events).
#[allow(clippy::too_many_arguments)]
fn render_voice(
    vi: usize,
    voices: &mut [Voice],
    pads: &mut [Pad],
    slots: &mut [Slot],
    events: &mut HeapProd<EngineEvent>,
    stats: &EngineStats,
    out: &mut [f32],
    seg_start: u64,
    global_speed: f64,
    fade: u32,
    smooth: u32,
) {
    let v = &mut voices[vi];
    let pad = &pads[v.pad as usize];
    let is_current = pad.voice == Some(vi as u16);
    let (speed, gain) = match pad.cfg {
        Some(c) => (c.speed as f64, c.gain),
        None => (1.0, v.gain.target),
    };
    if is_current && gain != v.gain.target {
        v.gain.go(gain, smooth);
    }
    let step = speed * global_speed;
    let Some(buf) = slots[v.slot as usize].buffer.as_deref() else {
        release_voice(voices, pads, slots, vi);
        return;
    };
    let pad_id = v.pad;
    let on_wrap = |off: usize| {
        push_event(
            events,
            stats,
            seg_start + off as u64,
            EventKind::PadLooped(pad_id),
        );
    };
    let end = match buf.data() {
        SampleData::I16(d) => v.render(&I16Frames(d), out, step, fade, on_wrap),
        SampleData::F32(d) => v.render(&F32Frames(d), out, step, fade, on_wrap),
    };
    if end != VoiceEnd::Running {
        let was_current = release_voice(voices, pads, slots, vi);
        if was_current && end == VoiceEnd::Ended {
            let frame = seg_start + (out.len() / 2) as u64;
            push_event(events, stats, frame, EventKind::PadEnded(pad_id));
        }
    }
}

/// Marks voice `i` free, gives back its use of the sample slot and detaches it from its pad.
/// Returns whether it was the pad's current (not fading) voice. Real-time safe.
fn release_voice(voices: &mut [Voice], pads: &mut [Pad], slots: &mut [Slot], i: usize) -> bool {
    let v = &mut voices[i];
    v.state = VoiceState::Free;
    let slot = &mut slots[v.slot as usize];
    slot.users = slot.users.saturating_sub(1);
    let pad = &mut pads[v.pad as usize];
    let was_current = pad.voice == Some(i as u16);
    if was_current {
        pad.voice = None;
    }
    was_current
}

/// Reports an event, counting it as dropped when the queue is full. Real-time safe.
fn push_event(
    events: &mut HeapProd<EngineEvent>,
    stats: &EngineStats,
    frame: u64,
    kind: EventKind,
) {
    if events.try_push(EngineEvent { frame, kind }).is_err() {
        stats.events_dropped.fetch_add(1, Ordering::Relaxed);
    }
}

fn split<T>(capacity: usize) -> (HeapProd<T>, HeapCons<T>) {
    use ringbuf::traits::Split;
    ringbuf::HeapRb::<T>::new(capacity).split()
}
