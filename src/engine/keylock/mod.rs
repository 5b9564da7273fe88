//! Key lock and transpose: which voices need a time stretcher, the stretcher pool, priming,
//! and hand-offs between the sample, stretched tables and real-time stretchers. Real-time
//! safe (runs inside `Engine::process`).
//!
//! A voice wants a pitch per tempo `k = pitch / tempo` (relative to the sample): 1 for plain
//! varispeed, `2^(t/12)` for a pad transposed by `t` without key lock (any speed), and
//! `2^(t/12) / tempo` with key lock. A buffer read directly gives a fixed `k`: 1 for the sample,
//! `pitch0 × scale` for a table stretched by `1/scale` and transposed by `pitch0`. So:
//!
//! - a buffer whose `k` is within [`EXACT_CENTS`] is played directly (the plain path, or a
//!   stretched table: as cheap as plain playback);
//! - otherwise the voice takes a real-time stretcher from the pool, primed with the audio before
//!   its position (so nothing is late) and handed over with a cross-fade;
//! - when none is free (the pool's size is the CPU budget), the voice plays the buffer whose
//!   `k` is nearest, a small varispeed correction off pitch (the governor; counted and shown);
//! - a voice whose `k` has held for [`STEADY_SECONDS`] asks the control side for a table at
//!   that ratio, and moves onto it (phase-aligned cross-fade) once it exists.

mod handoff;
mod prime;
mod pull;
pub mod view;

pub(crate) use pull::{Pulled, Scratch, render_stretched};

/// The feed rate and stretcher tempo of a voice (shared with the mixer).
pub(crate) mod prime_rates {
    pub(crate) use super::prime::feed_rate;
}

use super::Engine;
use super::command::{Geometry, PadConfig, PadId, SlotId, TableSource};
use super::event::{EventKind, TableRequest};
use super::pads::Pad;
use super::shared::Counter;
use super::voice::{FeedHead, Path, Voice, VoiceState};
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
/// Phase-aligned hand-offs per block at most (each costs a correlation).
pub(crate) const ALIGNS_PER_BLOCK: u32 = 2;

/// Cents between two ratios. Real-time safe.
#[inline]
pub fn cents(ratio: f64) -> f64 {
    1200.0 * ratio.log2()
}

/// One real-time stretcher of the pool and what it is doing.
pub(crate) struct Unit {
    pub(crate) st: Option<Box<dyn TimeStretch>>,
    pub(crate) state: UnitState,
    /// The read head feeding it.
    pub(crate) head: FeedHead,
    /// Its last output frames (mono, a ring), for aligning a hand-off away from it.
    pub(crate) hist: Box<[f32]>,
    pub(crate) hist_pos: usize,
    /// The tempo it was last given (fed frames per output frame).
    pub(crate) tempo: f64,
    /// Output frames since it was last given a tempo.
    pub(crate) since: u32,
    /// Buffer frames it has been asked to consume since priming, counted at the voice's
    /// travel (what keeps it in time with the voice, see `pull`).
    pub(crate) expect: f64,
}

impl Unit {
    pub(crate) fn empty() -> Self {
        Self {
            st: None,
            state: UnitState::Idle,
            head: FeedHead::default(),
            hist: vec![0.0; ALIGN_WINDOW].into_boxed_slice(),
            hist_pos: 0,
            tempo: 1.0,
            since: 0,
            expect: 0.0,
        }
    }

    /// The last `out.len()` output frames, oldest first.
    pub(crate) fn history(&self, out: &mut [f32]) {
        let n = self.hist.len();
        let w = out.len().min(n);
        for (j, o) in out[..w].iter_mut().enumerate() {
            *o = self.hist[(self.hist_pos + n - w + j) % n];
        }
    }
}

/// What a unit is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum UnitState {
    /// Free.
    Idle,
    /// Being primed for a voice.
    Priming(Priming),
    /// Playing for this voice.
    Active(u16),
}

/// A stretcher being primed: fed the audio before the voice's position, then its start delay
/// dropped, a bounded amount of work per block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Priming {
    /// The voice it is for (the pad's current voice when priming began).
    pub(crate) voice: u16,
    pub(crate) stage: Stage,
    /// Engine frame at which its output begins.
    pub(crate) at: u64,
    /// The voice's travel (buffer frames) at `at`.
    pub(crate) travel: f64,
    /// Output frames dropped on top of the start delay (the hop stagger).
    pub(crate) extra: usize,
}

/// Priming progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stage {
    /// Feeding the start pad: frames left.
    Pad(usize),
    /// Dropping the start delay: output frames left.
    Drop(usize),
    /// Ready.
    Done,
}

/// The pad's buffers a voice can read directly: the sample and its stretched tables.
fn buffers(pad: &Pad, cfg: &PadConfig) -> impl Iterator<Item = Geometry> {
    std::iter::once(Geometry::of(cfg)).chain(pad.tables.iter().flatten().copied())
}

impl Engine {
    /// Takes stretchers built by the control side into free pool places.
    pub(crate) fn take_units(&mut self) {
        use ringbuf::traits::Consumer;
        while let Some(st) = self.unit_in.try_pop() {
            match self.units.iter_mut().find(|u| u.st.is_none()) {
                Some(u) => u.st = Some(st),
                // Cannot happen: the handle never sends more than there are places. Leaked
                // rather than freed on the audio thread.
                None => std::mem::forget(st),
            }
        }
    }

    /// Frees units whose voice is gone or no longer uses them: they go back to the control
    /// side to be reset (not real-time safe in Rubber Band) and come back clean.
    fn reap_units(&mut self) {
        for (u, unit) in self.units.iter_mut().enumerate() {
            let keep = match unit.state {
                UnitState::Idle => true,
                UnitState::Active(vi) => {
                    let v = &self.voices[vi as usize];
                    v.state != VoiceState::Free && v.path == Path::Stretch(u as u16)
                }
                UnitState::Priming(p) => {
                    let v = &self.voices[p.voice as usize];
                    v.state == VoiceState::Playing
                        && self.pads[v.pad as usize].voice == Some(p.voice)
                }
            };
            if !keep {
                unit.state = UnitState::Idle;
                recycle(unit, &mut self.unit_out);
            }
        }
    }

    /// The pitch per tempo a voice of this pad wants, relative to the sample. Real-time safe.
    pub(crate) fn wanted_k(&self, v: &Voice, cfg: &PadConfig) -> f64 {
        let p = semitone_ratio(cfg.transpose as f64);
        if cfg.key_lock {
            p / self.nominal_tempo(v, cfg)
        } else {
            p
        }
    }

    /// Source frames per output frame the voice plays at, without a re-sync's correction.
    pub(crate) fn nominal_tempo(&self, v: &Voice, cfg: &PadConfig) -> f64 {
        let t = &self.transport;
        match v.sync {
            Some(s) => s.src_per_beat / v.scale * t.effective_bpm() / (60.0 * t.rate()),
            None => cfg.speed as f64 * self.global_speed as f64 * t.nudge(),
        }
        .max(1e-6)
    }

    /// Decides, for every pad's current voice, how it plays (see the module docs), and
    /// publishes what the voices do.
    pub(crate) fn keylock_pass(&mut self, now: u64) {
        self.reap_units();
        let steady_frames = (STEADY_SECONDS * self.settings.sample_rate as f64) as u64;
        for vi in 0..self.voices.len() {
            let v = self.voices[vi];
            if v.state != VoiceState::Playing {
                continue;
            }
            let pad = self.pads[v.pad as usize];
            if pad.voice != Some(vi as u16) {
                continue;
            }
            let Some(cfg) = pad.cfg else { continue };
            let plain = !cfg.key_lock && cfg.transpose == 0.0;
            if plain && v.path == Path::Direct && v.scale == 1.0 && v.pitch0 == 1.0 {
                continue;
            }
            let k = self.wanted_k(&v, &cfg);
            let track = &mut self.voices[vi].lock;
            if cents(k / track.k).abs() > CHANGE_CENTS || !track.k.is_finite() {
                track.k = k;
                track.since = now;
                track.asked = false;
            }
            let steady = now.saturating_sub(track.since) >= steady_frames;
            match v.path {
                Path::Direct => self.direct_voice(vi, &pad, &cfg, k, steady, now),
                Path::Stretch(u) => self.stretch_voice(vi, u, &pad, &cfg, k, steady, now),
            }
        }
    }

    /// A voice reading a buffer directly.
    fn direct_voice(
        &mut self,
        vi: usize,
        pad: &Pad,
        cfg: &PadConfig,
        k: f64,
        steady: bool,
        now: u64,
    ) {
        let v = self.voices[vi];
        let leaving = self.slots[v.slot as usize].retiring;
        let err = cents(v.geometry().k() / k);
        if err.abs() <= EXACT_CENTS && !leaving {
            self.voices[vi].lock.error_cents = 0.0;
            self.abandon_priming(vi);
            return;
        }
        if let Some(g) = buffers(pad, cfg).find(|g| {
            cents(g.k() / k).abs() <= EXACT_CENTS && !self.slots[g.slot as usize].retiring
        }) && self.switch_direct(vi, g, now)
        {
            self.abandon_priming(vi);
            return;
        }
        // A stretcher: continue priming one, or begin.
        let unit = self.priming_unit(vi).or_else(|| {
            let u = self.free_unit()?;
            self.begin_prime(u, vi, cfg, now);
            Some(u)
        });
        if let Some(u) = unit
            && self.continue_prime(u, vi, cfg, now)
        {
            return;
        }
        // Governed: the nearest buffer, off pitch by what is left.
        let v = self.voices[vi];
        let mut err = cents(v.geometry().k() / k);
        let nearest = buffers(pad, cfg)
            .filter(|g| !self.slots[g.slot as usize].retiring)
            .min_by(|a, b| cents(a.k() / k).abs().total_cmp(&cents(b.k() / k).abs()));
        if let Some(g) = nearest
            && (cents(g.k() / k).abs() + 5.0 < err.abs() || leaving)
            && self.switch_direct(vi, g, now)
        {
            err = cents(g.k() / k);
        }
        let vi = self.pads[pad_of(&v)].voice.map_or(vi, |x| x as usize);
        let track = &mut self.voices[vi].lock;
        if track.error_cents == 0.0 {
            self.stats.counters.bump(Counter::Governed);
        }
        track.error_cents = err as f32;
        if steady && !track.asked {
            track.asked = true;
            self.ask_table(vi, cfg, now);
        }
    }

    /// A voice playing through a stretcher: once its ratio holds, onto a buffer that fits
    /// exactly, or ask for one.
    #[allow(clippy::too_many_arguments)]
    fn stretch_voice(
        &mut self,
        vi: usize,
        u: u16,
        pad: &Pad,
        cfg: &PadConfig,
        k: f64,
        steady: bool,
        now: u64,
    ) {
        self.voices[vi].lock.error_cents = 0.0;
        if !steady {
            return;
        }
        if let Some(g) = buffers(pad, cfg).find(|g| {
            cents(g.k() / k).abs() <= EXACT_CENTS && !self.slots[g.slot as usize].retiring
        }) {
            self.stretch_to_direct(vi, u, g, now);
            return;
        }
        if !self.voices[vi].lock.asked {
            self.voices[vi].lock.asked = true;
            self.ask_table(vi, cfg, now);
        }
    }

    /// Asks the control side for a stretched table fitting the voice's wanted ratio.
    fn ask_table(&mut self, vi: usize, cfg: &PadConfig, now: u64) {
        let v = self.voices[vi];
        let pitch = semitone_ratio(cfg.transpose as f64);
        let tempo = if cfg.key_lock {
            self.nominal_tempo(&v, cfg)
        } else {
            1.0
        };
        self.emit(
            now,
            EventKind::TableWanted(TableRequest::for_pad(v.pad, cfg, tempo, pitch)),
        );
    }

    /// The unit being primed for voice `vi`, if any.
    fn priming_unit(&self, vi: usize) -> Option<usize> {
        self.units
            .iter()
            .position(|u| matches!(u.state, UnitState::Priming(p) if p.voice as usize == vi))
    }

    /// A free unit, if the governor's limit allows one more.
    fn free_unit(&self) -> Option<usize> {
        let busy = self
            .units
            .iter()
            .filter(|u| u.state != UnitState::Idle)
            .count();
        if busy >= self.unit_limit {
            return None;
        }
        self.units
            .iter()
            .position(|u| u.st.is_some() && u.state == UnitState::Idle)
    }

    /// Stops priming for a voice that no longer needs it.
    fn abandon_priming(&mut self, vi: usize) {
        if let Some(u) = self.priming_unit(vi) {
            self.units[u].state = UnitState::Idle;
            recycle(&mut self.units[u], &mut self.unit_out);
        }
    }

    /// Pad `p` learns of a stretched table (replacing one in the same slot, else its oldest).
    pub(crate) fn add_table(&mut self, p: PadId, src: TableSource, g: Geometry) {
        if (g.slot as usize) >= self.slots.len() || self.slots[g.slot as usize].buffer.is_none() {
            return;
        }
        let Some(pad) = self.pads.get_mut(p as usize) else {
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
    pub(crate) fn drop_table(&mut self, slot: SlotId) {
        for pad in self.pads.iter_mut() {
            for t in pad.tables.iter_mut() {
                if t.is_some_and(|g| g.slot == slot) {
                    *t = None;
                }
            }
        }
        if let Some(s) = self.slots.get_mut(slot as usize)
            && s.buffer.is_some()
            && !s.retiring
        {
            s.retiring = true;
            self.retiring += 1;
        }
    }

    /// Publishes how many voices play through stretchers, tables and the governor.
    pub(crate) fn publish_keylock(&self) {
        let mut rt = 0;
        let mut tables = 0;
        let mut governed = 0;
        let mut worst = 0.0f32;
        for v in self.voices.iter().filter(|v| v.state != VoiceState::Free) {
            match v.path {
                Path::Stretch(_) => rt += 1,
                Path::Direct if v.scale != 1.0 || v.pitch0 != 1.0 => tables += 1,
                Path::Direct => {}
            }
            if v.state == VoiceState::Playing && v.lock.error_cents != 0.0 {
                governed += 1;
                worst = worst.max(v.lock.error_cents.abs());
            }
        }
        let units = self.units.iter().filter(|u| u.st.is_some()).count();
        self.stats
            .keylock
            .publish(rt, tables, governed, worst, units, self.unit_limit);
    }
}

fn pad_of(v: &Voice) -> usize {
    v.pad as usize
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
