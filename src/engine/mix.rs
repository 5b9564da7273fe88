//! Rendering one segment: voices grouped by pad, each pad through its EQ, DJ filter and sends,
//! then the send effects, phaser, master volume and limiter. Real-time safe.
//!
//! Bad numbers stop here: a pad whose shaped block is not finite is silenced for that block
//! and its filters reset; every recursive effect checks its own state after each block and
//! resets itself if it went non-finite; the limiter turns anything non-finite into silence. Each
//! repair is counted ([`Counter::NonFinite`]).

use ringbuf::HeapProd;

use super::command::{EqMode, PadFx};
use super::event::{EngineEvent, EventKind};
use super::keylock::prime_rates::feed_rate;
use super::keylock::{Pulled, Scratch, Unit, render_stretched};
use super::pads::{Pad, release_voice};
use super::shared::{Counter, EngineStats};
use super::slots::Slot;
use super::stems::STEM_RAMP_MS;
use super::streaming::{self, Gate, Starve};
use super::transport::Transport;
use super::voice::SilentRead;
use super::voice::{Path, Voice, VoiceEnd, VoiceState};
use super::{Engine, push_event};
use crate::dsp::djfilter::DjFilter;
use crate::dsp::eq::ThreeBandEq;
use crate::dsp::isolator::Isolator;
use crate::dsp::ramp::Ramp;
use crate::sample::stream::StreamHints;

/// Per-pad sound shaping state (the pad's voices are summed, then shaped).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PadDsp {
    pub(crate) eq: ThreeBandEq,
    pub(crate) iso: Isolator,
    /// Where the EQ stands between the shelf EQ (0) and the isolator (1); it glides over
    /// [`MODE_FADE_MS`] when the mode changes while the pad plays.
    iso_mix: Ramp,
    pub(crate) filter: DjFilter,
    pub(crate) sends: [Ramp; 2],
    /// Segment counter value when the pad last had voices or a ringing tail (a pad restarting
    /// from silence starts its filters from clean state).
    last_seen: u64,
    /// Frames the pad's filters may still ring after its last voice ended.
    tail_left: u32,
}

/// Cross-fade time when a playing pad switches EQ mode.
pub const MODE_FADE_MS: f32 = 20.0;

/// Longest a pad's filters ring out after its last voice (resonant low-pass at 40 Hz, Q 8,
/// decays below -100 dB in about 0.7 s).
const TAIL_SECONDS: f32 = 1.0;
/// A ringing tail ends when a block's peak falls below this (-100 dBFS).
const TAIL_FLOOR: f32 = 1e-5;

impl PadDsp {
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            eq: ThreeBandEq::new(rate as f64),
            iso: Isolator::new(rate as f64),
            iso_mix: Ramp::steady(1.0),
            filter: DjFilter::new(rate as f32),
            sends: [Ramp::steady(0.0); 2],
            last_seen: u64::MAX,
            tail_left: 0,
        }
    }

    /// Takes the pad's settings: at once when the pad is silent, gliding when it plays.
    pub(crate) fn configure(&mut self, fx: &PadFx, glide: bool, smooth: u32) {
        for b in 0..3 {
            if glide {
                self.eq.set(b, fx.eq[b]);
                self.iso.set(b, fx.eq[b]);
            } else {
                self.eq.jump(b, fx.eq[b]);
                self.iso.jump(b, fx.eq[b]);
            }
        }
        let mode = if fx.eq_mode == EqMode::Isolator {
            1.0
        } else {
            0.0
        };
        let fade = (MODE_FADE_MS / 1000.0 * self.eq.rate() as f32) as u32;
        self.iso_mix.go(mode, if glide { fade } else { 0 });
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

    /// Whether the EQ (whichever is in use) does nothing.
    fn eq_is_flat(&self) -> bool {
        match (self.iso_mix.is_moving(), self.iso_mix.value == 1.0) {
            (true, _) => false,
            (false, true) => self.iso.is_bypassed(),
            (false, false) => self.eq.is_flat(),
        }
    }

    /// Clears both EQs' and the filter's memory.
    fn reset(&mut self) {
        self.eq.reset();
        self.iso.reset();
        self.filter.reset();
    }

    /// Whether the pad's voices can go straight to the mix (bit-identical to no processing).
    fn is_transparent(&self) -> bool {
        self.eq_is_flat()
            && self.filter.is_off()
            && self.sends.iter().all(|r| r.value == 0.0 && !r.is_moving())
    }
}

/// Whether every sample of `x` is finite: one multiply-add per sample in 8 independent lanes
/// (vectorised), no branch (NaN·0 and ∞·0 are NaN, anything finite·0 is 0). Real-time safe.
#[inline]
pub fn all_finite(x: &[f32]) -> bool {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i] * 0.0;
        }
    }
    for (a, &v) in acc.iter_mut().zip(rest) {
        *a += v * 0.0;
    }
    acc.iter().sum::<f32>() == 0.0
}

impl Engine {
    /// Runs the isolators of up to four pads side by side on their scratch buffers.
    fn iso_group(&mut self, group: &[(u16, usize)], stride: usize, n: usize) {
        match group.len() {
            0 => {}
            1 => self.iso_group_n::<1>(group, stride, n),
            2 => self.iso_group_n::<2>(group, stride, n),
            3 => self.iso_group_n::<3>(group, stride, n),
            _ => self.iso_group_n::<4>(group, stride, n),
        }
    }

    fn iso_group_n<const P: usize>(&mut self, group: &[(u16, usize)], stride: usize, n: usize) {
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
        let mut isos = dsps.map(|d| &mut d.iso);
        crate::dsp::isolator::process_group(
            &mut isos,
            &self.iso_design,
            &mut bufs,
            &mut self.eq_lanes,
        );
    }

    /// A pad switching EQ mode: both EQs process its block and it cross-fades between them.
    fn mode_fade(&mut self, pad: usize, range: std::ops::Range<usize>) {
        let n = range.len();
        let tmp = &mut self.xfade_buf[..n];
        tmp.copy_from_slice(&self.scratch[range.clone()]);
        let dsp = &mut self.pad_dsp[pad];
        dsp.iso.process(&self.iso_design, tmp, &mut self.eq_lanes);
        let shelf = &mut self.scratch[range];
        dsp.eq.process(shelf);
        dsp.iso_mix.each(n / 2, |k, t| {
            shelf[2 * k] += t * (tmp[2 * k] - shelf[2 * k]);
            shelf[2 * k + 1] += t * (tmp[2 * k + 1] - shelf[2 * k + 1]);
        });
    }

    /// Runs the EQs of up to four pads side by side on their scratch buffers.
    fn eq_group(&mut self, group: &[(u16, usize)], stride: usize, n: usize) {
        match group.len() {
            0 => {}
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
        crate::dsp::eq::process_group(&mut eqs, &mut bufs, &mut self.eq_lanes);
    }

    /// Renders frames `a..b` of the chunk `out`: voices grouped by pad (each pad through its EQ,
    /// filter and sends), then the send effects, phaser, master volume and limiter.
    pub(crate) fn render_segment(&mut self, out: &mut [f32], a: usize, b: usize, seg_start: u64) {
        if a == b {
            return;
        }
        self.segment += 1;
        self.keylock_pass(seg_start);
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
                dsp.reset();
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
            let mut ended = true;
            for k in g..end {
                let vi = self.order[k] as usize;
                let mut ctx = VoiceCtx {
                    voices: &mut self.voices,
                    pads: &mut self.pads,
                    slots: &mut self.slots,
                    units: &mut self.units,
                    scratch: &mut self.kl,
                    events: &mut self.events,
                    stats: &self.stats,
                    transport: &self.transport,
                    global_speed: self.global_speed as f64,
                    fade: self.fade,
                    smooth: self.smooth,
                    stem_ramp: (self.settings.sample_rate as f32 * STEM_RAMP_MS / 1000.0) as u32,
                    hints: &self.hints,
                };
                render_voice(vi, &mut ctx, target, seg_start);
                ended &= self.voices[vi].state == VoiceState::Free;
            }
            let listed = self.tails.iter().position(|&p| p == pad);
            if ended && !transparent {
                // The voices are gone but the filters may still ring: let them (no click).
                if listed.is_some() || self.tails.push(pad).is_ok() {
                    self.pad_dsp[pad as usize].tail_left =
                        (TAIL_SECONDS * self.settings.sample_rate as f32) as u32;
                }
            } else if let Some(i) = listed {
                self.tails.swap_remove(i);
                self.pad_dsp[pad as usize].tail_left = 0;
            }
            g = end;
        }
        // Pads ringing out: shaped from silence until the tail decays.
        let mut t = 0;
        while t < self.tails.len() {
            let pad = self.tails[t];
            let dsp = &mut self.pad_dsp[pad as usize];
            if dsp.last_seen == self.segment {
                // Its last voice ended just now: shaped above.
                t += 1;
                continue;
            }
            if dsp.tail_left == 0 || dsp.last_seen != self.segment - 1 || dsp.is_transparent() {
                dsp.tail_left = 0;
                self.tails.swap_remove(t);
                continue;
            }
            dsp.last_seen = self.segment;
            dsp.tail_left = dsp.tail_left.saturating_sub(n as u32);
            let j = shaped;
            self.shaped[shaped] = (pad, j as u16);
            shaped += 1;
            self.scratch[j * stride..j * stride + 2 * n].fill(0.0);
            t += 1;
        }
        // Phase 2: EQs. Steady shelf EQs run four pads at a time (gliding ones one by one);
        // isolators always run four at a time (their knobs only move gains); a pad switching
        // mode runs both and cross-fades.
        let mut group = [(0u16, 0usize); 4];
        let mut in_group = 0;
        let mut iso_group = [(0u16, 0usize); 4];
        let mut in_iso = 0;
        for k in 0..shaped {
            let (pad, j) = self.shaped[k];
            let range = j as usize * stride..j as usize * stride + 2 * n;
            let dsp = &mut self.pad_dsp[pad as usize];
            if dsp.iso_mix.is_moving() {
                self.mode_fade(pad as usize, range);
                continue;
            }
            if dsp.iso_mix.value == 1.0 {
                if dsp.iso.is_bypassed() {
                    continue;
                }
                iso_group[in_iso] = (pad, j as usize);
                in_iso += 1;
                if in_iso == 4 {
                    self.iso_group(&iso_group, stride, n);
                    in_iso = 0;
                }
                continue;
            }
            let eq = &mut dsp.eq;
            if eq.is_flat() {
                eq.process(&mut []);
                continue;
            }
            if !eq.is_steady() {
                eq.process(&mut self.scratch[range]);
                continue;
            }
            group[in_group] = (pad, j as usize);
            in_group += 1;
            if in_group == 4 {
                self.eq_group(&group, stride, n);
                in_group = 0;
            }
        }
        self.eq_group(&group[..in_group], stride, n);
        self.iso_group(&iso_group[..in_iso], stride, n);
        // Phase 3: filter, then into the mix and the send buses.
        let mut sent = false;
        for k in 0..shaped {
            let (pad, j) = self.shaped[k];
            let j = j as usize;
            let dsp = &mut self.pad_dsp[pad as usize];
            let mix = &mut self.scratch[j * stride..j * stride + 2 * n];
            dsp.filter.process(mix);
            if dsp.tail_left > 0 && peak(mix) < TAIL_FLOOR {
                dsp.tail_left = 0;
            }
            if !all_finite(mix) {
                // Only this pad is silenced, and only for this block.
                mix.fill(0.0);
                dsp.reset();
                self.stats.counters.bump(Counter::NonFinite);
            }
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
        let repaired = self.delay.recover() as u64
            + self.reverb.recover() as u64
            + self.phaser.recover() as u64;
        if repaired > 0 {
            self.stats.counters.add(Counter::NonFinite, repaired);
        }
        if self.master.is_moving() || self.master.value != 1.0 {
            self.master.each(n, |k, g| {
                out[2 * k] *= g;
                out[2 * k + 1] *= g;
            });
        }
        if self.limiter.process(out) {
            self.stats.counters.bump(Counter::NonFinite);
        }
    }
}

/// Largest absolute sample (NaN is ignored). Real-time safe.
#[inline]
fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// What rendering a voice needs of the engine (its fields, borrowed apart).
struct VoiceCtx<'a> {
    voices: &'a mut [Voice],
    pads: &'a mut [Pad],
    slots: &'a mut [Slot],
    units: &'a mut [Unit],
    scratch: &'a mut Scratch,
    events: &'a mut HeapProd<EngineEvent>,
    stats: &'a EngineStats,
    transport: &'a Transport,
    global_speed: f64,
    fade: u32,
    smooth: u32,
    stem_ramp: u32,
    hints: &'a StreamHints,
}

/// Renders voice `vi` into `out` and handles its end (slot use count, pad state, events).
fn render_voice(vi: usize, c: &mut VoiceCtx, out: &mut [f32], seg_start: u64) {
    let v = &mut c.voices[vi];
    let pad = &c.pads[v.pad as usize];
    let is_current = pad.voice == Some(vi as u16);
    let cfg = pad.cfg;
    let (speed, gain) = match cfg {
        Some(c) => (c.speed as f64, c.gain),
        None => (1.0, v.gain.target),
    };
    if is_current && gain != v.gain.target {
        v.gain.go(gain, c.smooth);
    }
    let n = out.len() / 2;
    let transport = c.transport;
    let step = match v.sync {
        Some(_) if transport.running() => {
            // Where the transport says the voice must be at the segment's end.
            let beat_end = transport.beat_at(seg_start + n as u64);
            let seg_beats = beat_end - transport.beat_at(seg_start);
            v.sync_step(beat_end, seg_beats, n)
        }
        Some(s) => s.src_per_beat * transport.effective_bpm() / (60.0 * transport.rate()),
        None => speed * c.global_speed * transport.nudge() * v.scale,
    };
    if v.sync.is_none() || !transport.running() {
        v.travel += step * n as f64;
    }
    let Some(buf) = c.slots[v.slot as usize].buffer.as_deref() else {
        release_voice(c.voices, c.pads, c.slots, c.stats, vi);
        return;
    };
    let pad_id = v.pad;
    let groups = buf.groups();
    if groups > 1 {
        let stems = cfg.map(|c| c.stems).unwrap_or_default();
        if is_current || v.stems.groups == 0 {
            v.stems
                .follow(groups, &stems.targets(groups - 1), c.stem_ramp);
        }
    }
    let gains = v.stems.gains();
    let gate = match buf.stream() {
        Some(t) => {
            let (g, starve) = streaming::gate(v, vi, t, c.hints, step, n, c.fade);
            if starve == Starve::Began {
                c.stats.counters.bump(Counter::DiskStarved);
                push_event(c.events, c.stats, seg_start, EventKind::DiskStarved(pad_id));
            }
            if g == Gate::Silent && t.failed() {
                // The file broke: the voice has faded out; it ends here.
                c.hints.clear(vi);
                v.streaming = false;
                release_voice(c.voices, c.pads, c.slots, c.stats, vi);
                return;
            }
            g
        }
        None => {
            if v.streaming {
                c.hints.clear(vi);
                v.streaming = false;
            }
            Gate::Play
        }
    };
    let (events, stats) = (&mut *c.events, c.stats);
    let on_wrap = |off: usize| {
        push_event(
            events,
            stats,
            seg_start + off as u64,
            EventKind::PadLooped(pad_id),
        );
    };
    let end = match (gate, v.path, cfg) {
        (Gate::Silent, _, _) => {
            v.render_with(&mut SilentRead(buf.frames()), out, step, c.fade, on_wrap)
        }
        (Gate::Fade, _, _) => {
            // Rendered apart, then faded in or out into the mix.
            let tmp = &mut c.scratch.disk[..out.len()];
            tmp.fill(0.0);
            let end = crate::with_frames!(buf.data(), &gains, |src| v
                .render(src, tmp, step, c.fade, on_wrap));
            v.disk.each(n, |k, g| {
                out[2 * k] += tmp[2 * k] * g;
                out[2 * k + 1] += tmp[2 * k + 1] * g;
            });
            end
        }
        (Gate::Play, Path::Stretch(u), Some(cfg)) if (u as usize) < c.units.len() => {
            let rate = feed_rate(v, &cfg, step);
            let nominal = match v.sync {
                Some(s) => s.src_per_beat * transport.effective_bpm() / (60.0 * transport.rate()),
                None => step,
            };
            let unit = &mut c.units[u as usize];
            let sc = &mut *c.scratch;
            let (end, pulled) = crate::with_frames!(buf.data(), &gains, |src| render_stretched(
                v, unit, src, sc, out, step, nominal, rate, c.fade, on_wrap
            ));
            match pulled {
                Pulled::Full => {}
                Pulled::Starved => stats.counters.bump(Counter::StretchStarved),
                Pulled::Broken => {
                    // Read directly until a stretcher is primed again.
                    stats.counters.bump(Counter::NonFinite);
                    v.path = Path::Direct;
                }
            }
            end
        }
        _ => {
            v.path = Path::Direct;
            crate::with_frames!(buf.data(), &gains, |src| v
                .render(src, out, step, c.fade, on_wrap))
        }
    };
    if end != VoiceEnd::Running {
        let was_current = release_voice(c.voices, c.pads, c.slots, c.stats, vi);
        if was_current && end == VoiceEnd::Ended {
            let frame = seg_start + (out.len() / 2) as u64;
            push_event(c.events, c.stats, frame, EventKind::PadEnded(pad_id));
        }
    }
}
