//! Priming a stretcher for a voice: the audio before the voice's position goes in first and
//! the stretcher's start delay is dropped, so its first output frame is the voice's position.
//! At most `prime_frames` frames of feeding per block; a voice whose stretcher cannot be
//! primed at once keeps playing directly and is handed over when it is ready, at the place it
//! has reached by then. Real-time safe.

use super::super::command::PadConfig;
use super::super::voice::{Path, Voice};
use super::ahead::AHEAD_FRAMES;
use super::pool::{Ctx, Pool, Priming, Stage, Unit, UnitState};
use super::pull::{Scratch, feed_lane};
use crate::dsp::stretch::{MAX_FEED, WARM_TEMPO, semitone_ratio};
use crate::engine::source::FrameSource;

/// Buffer frames per fed frame for a voice playing at `step` buffer frames per output frame:
/// the pitch it wants over the buffer's own (the stretcher then only changes time).
/// Real-time safe.
#[inline]
pub(crate) fn feed_rate(v: &Voice, cfg: &PadConfig, step: f64) -> f64 {
    let p = semitone_ratio(cfg.transpose as f64);
    let pitch = if cfg.key_lock { p } else { p * step / v.scale };
    (pitch / v.pitch0).max(1e-6)
}

/// The stretcher tempo (fed frames per output frame) for `step` and `rate`. Real-time safe.
#[inline]
pub(crate) fn stretch_tempo(step: f64, rate: f64) -> f64 {
    (step / rate).clamp(WARM_TEMPO[0], WARM_TEMPO[1])
}

impl Pool {
    /// Starts priming unit `u` for voice `vi`: at once if this block's priming budget covers
    /// it, else for a frame a few blocks ahead (where the voice will be by then).
    pub(crate) fn begin_prime(
        &mut self,
        u: usize,
        vi: usize,
        cfg: &PadConfig,
        now: u64,
        cx: &mut Ctx,
    ) {
        let v = cx.bank.voices[vi];
        let step = cx.tempo(&v, cfg) * v.scale;
        let rate = feed_rate(&v, cfg, step);
        let tempo = stretch_tempo(step, rate);
        // Units in the pool are clean: reset off the audio thread after their last use.
        let Some(st) = self.units[u].st.as_mut() else {
            return;
        };
        st.set_tempo(tempo);
        // Stretchers work in hops of a few hundred frames; started together, they would all do
        // their hop in the same block. Each unit starts a different number of frames early
        // (and drops that much more), which spreads the hops without moving the sound.
        let stagger = (u * 211) % st.hop().clamp(1, 4096);
        let early = (stagger as f64 * tempo).round() as usize;
        let pad = st.start_pad() + early;
        let work = pad + ((st.start_delay() + stagger) as f64 * tempo) as usize + MAX_FEED;
        // A voice starting now is primed here when the budget allows, so its first frame is
        // already stretched; it moves to a worker after (see `Pool::stretch_voice`).
        let now_here = v.started == now && work <= self.prime_left as usize;
        let on_lane = self.units[u].live_lane() && !now_here;
        let at = if on_lane {
            // A worker primes it and runs ahead: ready a few blocks from now.
            let block = self.block_len.max(1);
            now + (AHEAD_FRAMES.div_ceil(block) * block) as u64
        } else if work <= self.prime_left as usize {
            now
        } else {
            let per_block = self.prime_budget.max(1) as usize;
            let blocks = (work - self.prime_left as usize).div_ceil(per_block) + 1;
            now + (blocks * self.block_len.max(1)) as u64
        };
        let t = cx.transport;
        let ahead = match v.sync {
            Some(s) if t.running() => (t.beat_at(at) - t.beat_at(now)) * s.src_per_beat,
            _ => step * (at - now) as f64,
        };
        let travel = v.travel + ahead;
        let mut probe = v;
        probe.seek(travel);
        let unit = &mut self.units[u];
        unit.head = probe.feed_head(pad as f64 * rate);
        unit.hist.fill(0.0);
        unit.tempo = tempo;
        unit.since = 0;
        unit.expect = travel;
        let mut extra = (early as f64 / tempo).round() as usize;
        if on_lane && let (Some(st), Some(lane)) = (unit.st.take(), unit.lane.as_mut()) {
            let drop = st.start_delay() + extra;
            match lane.launch(st, tempo, drop) {
                Ok(()) => {
                    unit.away = true;
                    extra = drop;
                }
                Err(st) => unit.st = Some(st),
            }
        }
        unit.state = UnitState::Priming(Priming {
            voice: vi as u16,
            stage: Stage::Pad(pad),
            at,
            travel,
            extra,
        });
    }

    /// Primes unit `u` further within the block's budget; when it is ready and its frame has
    /// come, the voice plays through it (in place when it has not sounded yet, else with a
    /// cross-fade). Returns whether the voice now plays through the unit.
    pub(crate) fn continue_prime(
        &mut self,
        u: usize,
        vi: usize,
        cfg: &PadConfig,
        now: u64,
        cx: &mut Ctx,
    ) -> bool {
        let UnitState::Priming(mut p) = self.units[u].state else {
            return false;
        };
        let v = cx.bank.voices[vi];
        let step = cx.tempo(&v, cfg) * v.scale;
        let rate = feed_rate(&v, cfg, step);
        let tempo = stretch_tempo(step, rate);
        if let Some(buf) = cx.slots.buffer(v.slot) {
            let (unit, scratch, budget) =
                (&mut self.units[u], &mut self.scratch, &mut self.prime_left);
            if unit.away {
                let budget = &mut self.lane_left;
                crate::with_frames!(buf.data(), &v.stems.gains(), |src| prime_lane(
                    unit, &v, src, rate, tempo, &mut p, scratch, budget
                ));
            } else {
                crate::with_frames!(buf.data(), &v.stems.gains(), |src| prime_work(
                    unit, &v, src, rate, tempo, &mut p, budget, scratch
                ));
            }
        }
        self.units[u].state = UnitState::Priming(p);
        if p.stage != Stage::Done || now < p.at {
            return false;
        }
        let unit = &mut self.units[u];
        if unit.away
            && let Some(lane) = unit.lane.as_mut()
        {
            // Ready late: its output from `at` on waits; what is past goes (`at` and `travel`
            // move with it) until the rest starts now, with enough behind it.
            if now > p.at {
                let (k, fed) = lane.skip((now - p.at) as usize);
                p.at += k as u64;
                p.travel += fed * rate;
                unit.expect += fed * rate;
            }
            if lane.ready() < AHEAD_FRAMES / 2 {
                p.stage = p.stage.min_drop();
            }
            unit.state = UnitState::Priming(p);
            if p.stage != Stage::Done || p.at < now {
                return false;
            }
        }
        if p.at == now && v.started == now {
            // Nothing sounded yet: the voice simply plays through the stretcher.
            cx.bank.voices[vi].path = Path::Stretch(u as u16);
            self.units[u].state = UnitState::Active(vi as u16);
            return true;
        }
        self.handoff_to_stretch(vi, u, p.travel, now, cx)
    }
}

/// Feeds a stretcher being primed on a worker: its start pad first, then ahead as it plays;
/// done once the worker has a good part of its lead ready.
#[allow(clippy::too_many_arguments)]
fn prime_lane<S: FrameSource>(
    unit: &mut Unit,
    v: &Voice,
    src: &S,
    rate: f64,
    tempo: f64,
    p: &mut Priming,
    sc: &mut Scratch,
    budget: &mut u32,
) {
    let Some(lane) = unit.lane.as_mut() else {
        return;
    };
    lane.set_tempo(tempo);
    unit.tempo = tempo;
    // The start pad, then what the worker turns into the output it drops (`p.extra` frames)
    // and its lead, within the block's budget; then as it plays.
    let k = match p.stage {
        Stage::Pad(left) => left,
        Stage::Drop(left) => left,
        Stage::Done => 0,
    };
    let k = k.min(*budget as usize);
    let pushed = feed_lane(v, &mut unit.head, src, rate, lane, k, sc);
    *budget -= pushed as u32;
    p.stage = match p.stage {
        Stage::Pad(left) if left > pushed => Stage::Pad(left - pushed),
        Stage::Pad(_) => Stage::Drop(((p.extra + AHEAD_FRAMES) as f64 * tempo).ceil() as usize),
        Stage::Drop(left) => Stage::Drop(left - pushed),
        Stage::Done => Stage::Done,
    };
    if matches!(p.stage, Stage::Drop(0) | Stage::Done) {
        let more = lane.input_target(tempo).saturating_sub(lane.queued());
        feed_lane(v, &mut unit.head, src, rate, lane, more, sc);
        if lane.ready() >= AHEAD_FRAMES / 2 {
            p.stage = Stage::Done;
        }
    }
}

/// Feeds a priming stretcher within `budget` frames (taken from it); advances its stage.
#[allow(clippy::too_many_arguments)]
fn prime_work<S: FrameSource>(
    unit: &mut Unit,
    v: &Voice,
    src: &S,
    rate: f64,
    tempo: f64,
    p: &mut Priming,
    budget: &mut u32,
    sc: &mut Scratch,
) {
    let extra = p.extra;
    let stage = &mut p.stage;
    let Some(st) = unit.st.as_mut() else {
        return;
    };
    st.set_tempo(tempo);
    unit.tempo = tempo;
    let [fl, fr] = &mut sc.feed;
    let [ol, or] = &mut sc.out;
    // Bounded: each pass feeds or drains at least one frame, and both are capped.
    for _ in 0..256 {
        match *stage {
            Stage::Pad(0) => *stage = Stage::Drop(st.start_delay() + extra),
            Stage::Pad(left) => {
                if *budget == 0 {
                    return;
                }
                let k = left.min(MAX_FEED).min(*budget as usize);
                v.feed(&mut unit.head, src, rate, &mut fl[..k], &mut fr[..k]);
                st.process(&fl[..k], &fr[..k]);
                *budget -= k as u32;
                *stage = Stage::Pad(left - k);
            }
            Stage::Drop(0) => *stage = Stage::Done,
            Stage::Drop(left) => {
                let avail = st.available();
                if avail > 0 {
                    let k = avail.min(left).min(ol.len());
                    let got = st.retrieve(&mut ol[..k], &mut or[..k]);
                    *stage = Stage::Drop(left - got.min(left));
                    continue;
                }
                if *budget == 0 {
                    return;
                }
                let k = st.required().clamp(64, MAX_FEED);
                v.feed(&mut unit.head, src, rate, &mut fl[..k], &mut fr[..k]);
                st.process(&fl[..k], &fr[..k]);
                *budget = budget.saturating_sub(k as u32);
            }
            Stage::Done => return,
        }
    }
}
