//! The stretcher pool and the key-lock pass: for each pad's current voice, how it plays this
//! segment (see the module docs of `keylock`). Real-time safe.

use ringbuf::{HeapCons, HeapProd};

use super::super::command::{Geometry, PadConfig, PadId, SlotId, TableSource};
use super::super::event::{EventKind, TableRequest};
use super::super::io::Io;
use super::super::pads::{Pad, PadBank};
use super::super::settings::EngineSettings;
use super::super::shared::{Counter, EngineStats};
use super::super::slots::SlotTable;
use super::super::transport::Transport;
use super::super::voice::{Path, Voice, VoiceState};
use super::ahead::Lane;
use super::pull::Scratch;
pub(crate) use super::unit::{Priming, Stage, Unit, UnitState};
use super::view::KeylockReading;
use crate::dsp::stretch::{TimeStretch, semitone_ratio};

/// A buffer within this many cents of the wanted pitch is played directly.
pub const EXACT_CENTS: f64 = 1.0;
/// A wanted pitch moving by more than this restarts the steadiness timer.
pub const CHANGE_CENTS: f64 = 0.5;
/// How long a ratio must hold before a stretched table is asked for / used.
pub const STEADY_SECONDS: f64 = 1.0;
/// Cross-fade length of a hand-off between two ways of playing a voice.
pub const HANDOFF_MS: f32 = 20.0;
/// Largest shift a phase-aligned hand-off may give a voice.
pub const ALIGN_MS: f32 = 5.0;
/// Frames compared when aligning a hand-off.
pub const ALIGN_WINDOW: usize = 512;
/// Stretched tables a pad remembers.
pub const MAX_TABLES: usize = 4;
/// Frames of start pad fed to workers' lanes per block at most (reading them costs the callback
/// about 30 ns each on a small x86 machine: under a millisecond).
pub(crate) const LANE_PRIME_FRAMES: u32 = 24_576;
/// Phase-aligned hand-offs per block at most (each costs a correlation).
pub(crate) const ALIGNS_PER_BLOCK: u32 = 2;

/// Cents between two ratios. Real-time safe.
#[inline]
pub fn cents(ratio: f64) -> f64 {
    1200.0 * ratio.log2()
}

/// The pad's buffers a voice can read directly: the sample and its stretched tables.
fn buffers(pad: &Pad, cfg: &PadConfig) -> impl Iterator<Item = Geometry> {
    std::iter::once(Geometry::of(cfg)).chain(pad.tables.iter().flatten().copied())
}

/// The pitch per tempo a voice of this pad wants, relative to the sample. Real-time safe.
pub(crate) fn wanted_k(v: &Voice, cfg: &PadConfig, t: &Transport, global_speed: f32) -> f64 {
    let p = semitone_ratio(cfg.transpose as f64);
    if cfg.key_lock {
        p / nominal_tempo(v, cfg, t, global_speed)
    } else {
        p
    }
}

/// Source frames per output frame the voice plays at, without a re-sync's correction.
/// Real-time safe.
pub(crate) fn nominal_tempo(v: &Voice, cfg: &PadConfig, t: &Transport, global_speed: f32) -> f64 {
    match v.sync {
        Some(s) => s.src_per_beat / v.scale * t.effective_bpm() / (60.0 * t.rate()),
        None => cfg.speed as f64 * global_speed as f64 * t.nudge(),
    }
    .max(1e-6)
}

/// What the pool works on: the voices and pads, the sample slots, the transport (read only)
/// and the engine's queues.
pub(crate) struct Ctx<'a> {
    pub(crate) bank: &'a mut PadBank,
    pub(crate) slots: &'a mut SlotTable,
    pub(crate) transport: &'a Transport,
    pub(crate) io: &'a mut Io,
}

impl Ctx<'_> {
    /// Voice `v`'s nominal tempo (see [`nominal_tempo`]). Real-time safe.
    pub(super) fn tempo(&self, v: &Voice, cfg: &PadConfig) -> f64 {
        nominal_tempo(v, cfg, self.transport, self.bank.global_speed)
    }
}

/// The real-time stretcher pool and the key-lock decisions. Owned by the engine; real-time
/// safe (stretchers arrive built and leave to be reset over queues).
pub(crate) struct Pool {
    pub(super) units: Box<[Unit]>,
    /// Stretchers built (or reset) by the control side, on their way into the pool.
    pub(super) unit_in: HeapCons<Box<dyn TimeStretch>>,
    /// Used stretchers on their way back to be reset.
    pub(super) unit_out: HeapProd<Box<dyn TimeStretch>>,
    /// Most units in use at once (the governor's limit).
    pub(super) limit: usize,
    /// Scratch buffers for stretching, hand-offs and disk fades.
    pub(crate) scratch: Scratch,
    /// Priming work left in this block, in fed frames.
    pub(super) prime_left: u32,
    /// Phase-aligned hand-offs left in this block.
    pub(super) aligns_left: u32,
    /// Frames of the last block (predicts when priming will be done).
    pub(super) block_len: usize,
    /// Priming work allowed per block, in fed frames.
    pub(super) prime_budget: u32,
    /// Frames of start pad the callback may still feed to workers' lanes in this block.
    pub(super) lane_left: u32,
    /// Some voice found no stretcher free (this pass, and the one before).
    short_now: bool,
    short: bool,
    /// Engine frame before which a starved stretcher does not lower the limit again.
    starve_at: u64,
    pub(super) rate: u32,
    /// Cross-fade length of a hand-off in frames.
    pub(super) handoff_frames: u32,
    /// Largest shift of a phase-aligned hand-off in frames.
    pub(super) max_lag: usize,
}

impl Pool {
    /// An empty pool of `s.stretch_units` places and its scratch buffers. Allocates; not
    /// real-time safe.
    pub(crate) fn new(
        s: &EngineSettings,
        unit_in: HeapCons<Box<dyn TimeStretch>>,
        unit_out: HeapProd<Box<dyn TimeStretch>>,
        lanes: Vec<Lane>,
    ) -> Self {
        let max_lag = (ALIGN_MS / 1000.0 * s.sample_rate as f32) as usize;
        let mut lanes = lanes.into_iter();
        Self {
            units: (0..s.stretch_units)
                .map(|_| Unit {
                    lane: lanes.next(),
                    ..Unit::empty()
                })
                .collect(),
            unit_in,
            unit_out,
            limit: s.stretch_units,
            scratch: Scratch::new(s.max_block, max_lag),
            prime_left: 0,
            aligns_left: 0,
            block_len: s.max_block,
            prime_budget: s.prime_frames,
            lane_left: 0,
            short_now: false,
            short: false,
            starve_at: 0,
            rate: s.sample_rate,
            handoff_frames: s.frames(HANDOFF_MS),
            max_lag,
        }
    }

    /// A block of `frames` begins: the per-block priming and alignment budgets refill.
    /// Real-time safe.
    pub(crate) fn begin_block(&mut self, frames: usize) {
        self.prime_left = self.prime_budget;
        self.lane_left = LANE_PRIME_FRAMES;
        self.aligns_left = ALIGNS_PER_BLOCK;
        self.block_len = frames;
    }

    /// A stretcher gave less than a block needed at engine frame `frame` (a worker fell
    /// behind: the pool is more than the workers keep up with here): one place fewer, at most
    /// every half second and never below one, and steady voices give theirs up for their
    /// tables. The control side's next budget (a set load) sets it again. Real-time safe.
    pub(crate) fn starved(&mut self, frame: u64) {
        if frame >= self.starve_at {
            self.limit = self.limit.saturating_sub(1).max(1);
            self.starve_at = frame + self.rate as u64 / 2;
        }
        self.short_now = true;
    }

    /// The callback renders `frames` frames at once: stretchers on workers stay ahead of the
    /// largest such block. Real-time safe.
    pub(crate) fn note_block(&self, frames: usize) {
        if let Some(lane) = self.units.first().and_then(|u| u.lane.as_ref()) {
            lane.note_block(frames);
        }
    }

    /// The governor's limit and the priming budget (see `Command::StretchBudget`).
    /// Real-time safe.
    pub(crate) fn set_budget(&mut self, units: u16, frames: u32) {
        self.limit = (units as usize).min(self.units.len());
        self.prime_budget = frames.max(1);
    }

    /// Whether the pool has a place `u`. Real-time safe.
    pub(crate) fn has_unit(&self, u: u16) -> bool {
        (u as usize) < self.units.len()
    }

    /// Unit `u` and the scratch buffers, for rendering a voice through it. Real-time safe.
    pub(crate) fn unit(&mut self, u: u16) -> Option<(&mut Unit, &mut Scratch)> {
        Some((self.units.get_mut(u as usize)?, &mut self.scratch))
    }

    /// Takes stretchers built by the control side into free pool places.
    pub(crate) fn take_units(&mut self) {
        use ringbuf::traits::Consumer;
        while let Some(st) = self.unit_in.try_pop() {
            match self.units.iter_mut().find(|u| u.st.is_none() && !u.away) {
                Some(u) => u.st = Some(st),
                // Cannot happen: the handle never sends more than there are places. Leaked
                // rather than freed on the audio thread.
                None => std::mem::forget(st),
            }
        }
    }

    /// Frees units whose voice is gone or no longer uses them: they go back to the control
    /// side to be reset (not real-time safe in Rubber Band) and come back clean.
    fn reap_units(&mut self, bank: &PadBank) {
        for (u, unit) in self.units.iter_mut().enumerate() {
            let keep = match unit.state {
                UnitState::Idle => true,
                UnitState::Returning => {
                    if let Some(st) = unit.lane.as_mut().and_then(Lane::take_back) {
                        unit.st = Some(st);
                        unit.away = false;
                        unit.state = UnitState::Idle;
                        recycle(unit, &mut self.unit_out);
                    }
                    true
                }
                UnitState::Active(vi) => {
                    let v = &bank.voices[vi as usize];
                    v.state != VoiceState::Free && v.path == Path::Stretch(u as u16)
                }
                UnitState::Priming(p) => {
                    let v = &bank.voices[p.voice as usize];
                    v.state == VoiceState::Playing
                        && bank.pads[v.pad as usize].voice == Some(p.voice)
                }
            };
            if !keep {
                release(unit, &mut self.unit_out);
            }
        }
    }

    /// Decides, for every pad's current voice, how it plays (see the module docs).
    pub(crate) fn pass(&mut self, now: u64, cx: &mut Ctx) {
        self.reap_units(cx.bank);
        self.short = self.short_now;
        self.short_now = false;
        let steady_frames = (STEADY_SECONDS * self.rate as f64) as u64;
        for vi in 0..cx.bank.voices.len() {
            let v = cx.bank.voices[vi];
            if v.state != VoiceState::Playing {
                continue;
            }
            let pad = cx.bank.pads[v.pad as usize];
            if pad.voice != Some(vi as u16) {
                continue;
            }
            let Some(cfg) = pad.cfg else { continue };
            let plain = !cfg.key_lock && cfg.transpose == 0.0;
            if plain && v.path == Path::Direct && v.scale == 1.0 && v.pitch0 == 1.0 {
                continue;
            }
            let k = wanted_k(&v, &cfg, cx.transport, cx.bank.global_speed);
            let track = &mut cx.bank.voices[vi].lock;
            if cents(k / track.k).abs() > CHANGE_CENTS || !track.k.is_finite() {
                track.k = k;
                track.since = now;
                track.asked = false;
            }
            let steady = now.saturating_sub(track.since) >= steady_frames;
            let want = Want { k, steady, now };
            match v.path {
                Path::Direct => self.direct_voice(vi, &pad, &cfg, want, cx),
                Path::Stretch(u) => self.stretch_voice(vi, u, &pad, &cfg, want, cx),
            }
        }
    }

    /// A voice reading a buffer directly.
    fn direct_voice(&mut self, vi: usize, pad: &Pad, cfg: &PadConfig, w: Want, cx: &mut Ctx) {
        let (k, now) = (w.k, w.now);
        let v = cx.bank.voices[vi];
        let leaving = cx.slots.retiring(v.slot);
        let err = cents(v.geometry().k() / k);
        if err.abs() <= EXACT_CENTS && !leaving {
            cx.bank.voices[vi].lock.error_cents = 0.0;
            // With workers, a stretcher takes over while one is free: a tempo move then finds
            // it ready (tables and the sample are what plays when the workers are full).
            if self.on_lanes() && self.prime_early(vi, cfg, now, cx) {
                return;
            }
            self.abandon_priming(vi);
            return;
        }
        if let Some(g) = buffers(pad, cfg)
            .find(|g| cents(g.k() / k).abs() <= EXACT_CENTS && !cx.slots.retiring(g.slot))
            && self.switch_direct(vi, g, now, cx)
        {
            self.abandon_priming(vi);
            return;
        }
        // A stretcher: continue priming one, or begin.
        let unit = self.priming_unit(vi).or_else(|| {
            let u = self.free_unit(false)?;
            self.begin_prime(u, vi, cfg, now, cx);
            Some(u)
        });
        if let Some(u) = unit
            && self.continue_prime(u, vi, cfg, now, cx)
        {
            return;
        }
        // Governed: the nearest buffer, off pitch by what is left.
        let v = cx.bank.voices[vi];
        let mut err = cents(v.geometry().k() / k);
        let nearest = buffers(pad, cfg)
            .filter(|g| !cx.slots.retiring(g.slot))
            .min_by(|a, b| cents(a.k() / k).abs().total_cmp(&cents(b.k() / k).abs()));
        if let Some(g) = nearest
            && (cents(g.k() / k).abs() + 5.0 < err.abs() || leaving)
            && self.switch_direct(vi, g, now, cx)
        {
            err = cents(g.k() / k);
        }
        let vi = cx.bank.pads[pad_of(&v)].voice.map_or(vi, |x| x as usize);
        self.short_now = true;
        let track = &mut cx.bank.voices[vi].lock;
        if track.error_cents == 0.0 {
            cx.io.bump(Counter::Governed);
        }
        track.error_cents = err as f32;
        if w.steady && !track.asked {
            track.asked = true;
            ask_table(vi, cfg, now, cx);
        }
    }

    /// A voice playing through a stretcher: once its ratio holds, onto a buffer that fits
    /// exactly, or ask for one.
    fn stretch_voice(
        &mut self,
        vi: usize,
        u: u16,
        pad: &Pad,
        cfg: &PadConfig,
        w: Want,
        cx: &mut Ctx,
    ) {
        cx.bank.voices[vi].lock.error_cents = 0.0;
        // Stretched in the callback while workers run: onto one of theirs when one is free.
        if !self.units[u as usize].away && self.on_lanes() && self.prime_early(vi, cfg, w.now, cx) {
            return;
        }
        if !w.steady {
            return;
        }
        // On a worker, it stays there unless another voice needs the place.
        let stay = self.units[u as usize].away && !self.short;
        if let Some(g) = buffers(pad, cfg)
            .filter(|_| !stay)
            .find(|g| cents(g.k() / w.k).abs() <= EXACT_CENTS && !cx.slots.retiring(g.slot))
        {
            self.stretch_to_direct(vi, u, g, cx);
            return;
        }
        if !cx.bank.voices[vi].lock.asked {
            cx.bank.voices[vi].lock.asked = true;
            ask_table(vi, cfg, w.now, cx);
        }
    }

    /// Whether stretchers run ahead on workers. Real-time safe.
    fn on_lanes(&self) -> bool {
        self.units.first().is_some_and(Unit::live_lane)
    }

    /// Voice `vi`, playing a buffer at its pitch: a stretcher primed ahead on a worker (never
    /// in the callback) takes over as soon as it is ready. Returns whether one is being
    /// primed (or took over).
    fn prime_early(&mut self, vi: usize, cfg: &PadConfig, now: u64, cx: &mut Ctx) -> bool {
        let unit = self.priming_unit(vi).or_else(|| {
            let u = self.free_unit(true)?;
            self.begin_prime(u, vi, cfg, now, cx);
            Some(u)
        });
        match unit {
            Some(u) => {
                self.continue_prime(u, vi, cfg, now, cx);
                true
            }
            None => false,
        }
    }

    /// The unit being primed for voice `vi`, if any.
    fn priming_unit(&self, vi: usize) -> Option<usize> {
        self.units
            .iter()
            .position(|u| matches!(u.state, UnitState::Priming(p) if p.voice as usize == vi))
    }

    /// A free unit (`on_lane`: one a worker serves), if the governor's limit allows one more.
    fn free_unit(&self, on_lane: bool) -> Option<usize> {
        let busy = self
            .units
            .iter()
            .filter(|u| u.state != UnitState::Idle)
            .count();
        if busy >= self.limit {
            return None;
        }
        self.units.iter().position(|u| {
            u.st.is_some() && u.state == UnitState::Idle && (!on_lane || u.live_lane())
        })
    }

    /// Stops priming for a voice that no longer needs it.
    fn abandon_priming(&mut self, vi: usize) {
        if let Some(u) = self.priming_unit(vi) {
            release(&mut self.units[u], &mut self.unit_out);
        }
    }

    /// Publishes how many voices play through stretchers, tables and the governor.
    pub(crate) fn publish(&self, voices: &[Voice], stats: &EngineStats) {
        let mut rt = 0;
        let mut tables = 0;
        let mut governed = 0;
        let mut worst = 0.0f32;
        let mut ahead = 0;
        for v in voices.iter().filter(|v| v.state != VoiceState::Free) {
            match v.path {
                Path::Stretch(u) => {
                    rt += 1;
                    ahead += u32::from(self.units.get(u as usize).is_some_and(|u| u.away));
                }
                Path::Direct if v.scale != 1.0 || v.pitch0 != 1.0 => tables += 1,
                Path::Direct => {}
            }
            if v.state == VoiceState::Playing && v.lock.error_cents != 0.0 {
                governed += 1;
                worst = worst.max(v.lock.error_cents.abs());
            }
        }
        let units = self
            .units
            .iter()
            .filter(|u| u.st.is_some() || u.away)
            .count();
        stats.keylock.publish(KeylockReading {
            rt,
            tables,
            governed,
            worst_cents: worst,
            units: units as u32,
            limit: self.limit.min(u32::MAX as usize) as u32,
            ahead,
        });
    }
}

/// What a voice wants this segment: its pitch per tempo, whether that has held long enough,
/// and the segment's frame.
#[derive(Clone, Copy)]
struct Want {
    k: f64,
    steady: bool,
    now: u64,
}

/// Asks the control side for a stretched table fitting voice `vi`'s wanted ratio.
fn ask_table(vi: usize, cfg: &PadConfig, now: u64, cx: &mut Ctx) {
    let v = cx.bank.voices[vi];
    let pitch = semitone_ratio(cfg.transpose as f64);
    let tempo = if cfg.key_lock { cx.tempo(&v, cfg) } else { 1.0 };
    cx.io.emit(
        now,
        EventKind::TableWanted(TableRequest::for_pad(v.pad, cfg, tempo, pitch)),
    );
}

/// Pad `p` learns of a stretched table (replacing one in the same slot, else its oldest).
/// Real-time safe.
pub(crate) fn add_table(
    bank: &mut PadBank,
    slots: &SlotTable,
    p: PadId,
    src: TableSource,
    g: Geometry,
) {
    if !slots.loaded(g.slot) {
        return;
    }
    let Some(pad) = bank.pads.get_mut(p as usize) else {
        return;
    };
    // A table made for what the pad played before a reload is refused.
    if !pad.cfg.is_some_and(|cfg| src.matches(&cfg)) {
        return;
    }
    if let Some(t) = pad.tables.iter_mut().flatten().find(|t| t.slot == g.slot) {
        *t = g;
    } else if let Some(free) = pad.tables.iter_mut().find(|t| t.is_none()) {
        *free = Some(g);
    } else {
        pad.tables.rotate_left(1);
        pad.tables[MAX_TABLES - 1] = Some(g);
    }
}

/// A table goes away: pads forget it; its slot is handed back once no voice reads it.
/// Real-time safe.
pub(crate) fn drop_table(bank: &mut PadBank, slots: &mut SlotTable, slot: SlotId) {
    for pad in bank.pads.iter_mut() {
        for t in pad.tables.iter_mut() {
            if t.is_some_and(|g| g.slot == slot) {
                *t = None;
            }
        }
    }
    slots.begin_retire(slot);
}

fn pad_of(v: &Voice) -> usize {
    v.pad as usize
}

/// A unit is done: its stretcher goes back to be reset, at once or (from a worker's lane) once
/// the worker gave it back. Real-time safe.
pub(crate) fn release(unit: &mut Unit, out: &mut ringbuf::HeapProd<Box<dyn TimeStretch>>) {
    if unit.away {
        if let Some(lane) = unit.lane.as_ref() {
            lane.stop();
        }
        unit.state = UnitState::Returning;
    } else {
        unit.state = UnitState::Idle;
        recycle(unit, out);
    }
}

/// Sends a used unit's stretcher back to be reset.
pub(crate) fn recycle(unit: &mut Unit, out: &mut ringbuf::HeapProd<Box<dyn TimeStretch>>) {
    use ringbuf::traits::Producer;
    if let Some(st) = unit.st.take()
        && let Err(st) = out.try_push(st)
    {
        // Cannot happen: the queue holds every stretcher there is. Leaked rather than freed
        // on the audio thread.
        std::mem::forget(st);
    }
}
