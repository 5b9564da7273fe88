//! Rendering one segment: voices grouped by pad, each pad through its EQ, DJ filter and sends,
//! then the send effects, phaser, master volume and limiter. Real-time safe.
//!
//! Bad numbers stop here: a pad whose shaped block is not finite is silenced for that block
//! and its filters reset; every recursive effect checks its own state after each block and
//! resets itself if it went non-finite; the limiter turns anything non-finite into silence. Each
//! repair is counted ([`Counter::NonFinite`]).

mod group;
mod pad_dsp;
mod voice;

use std::sync::Arc;

use super::command::FxParam;
use super::io::Io;
use super::keylock::Pool;
use super::pads::PadBank;
use super::params;
use super::settings::EngineSettings;
use super::shared::Counter;
use super::slots::SlotTable;
use super::stems::STEM_RAMP_MS;
use super::transport::Transport;
use super::voice::{Voice, VoiceState};
use crate::dsp::delay::{Delay, Division};
use crate::dsp::eq::Lanes;
use crate::dsp::finite::{all_finite, peak};
use crate::dsp::isolator::{DEFAULT_CROSSOVERS, IsolatorDesign};
use crate::dsp::limiter::Limiter;
use crate::dsp::phaser::Phaser;
use crate::dsp::ramp::Ramp;
use crate::dsp::reverb::Reverb;
use crate::engine::command::PadFx;
use crate::sample::stream::StreamHints;
pub use pad_dsp::MODE_FADE_MS;
use pad_dsp::PadDsp;
use pad_dsp::{TAIL_FLOOR, TAIL_SECONDS};

/// Most pads whose filters ring out at once after their voices ended.
pub const MAX_TAILS: usize = 32;

/// What rendering a segment works on besides the mixer: voices and pads, sample slots, the
/// stretcher pool, the engine's queues and the transport (read only).
pub(crate) struct Ctx<'a> {
    pub(crate) bank: &'a mut PadBank,
    pub(crate) slots: &'a mut SlotTable,
    pub(crate) pool: &'a mut Pool,
    pub(crate) io: &'a mut Io,
    pub(crate) transport: &'a Transport,
}

/// Per-pad shaping, the send buses and effects, master volume and limiter. Owned by the
/// engine; real-time safe (every buffer is allocated in `new`).
pub(crate) struct Mixer {
    /// Sounding voices sorted by pad, rebuilt every segment (capacity = voice slots).
    order: Box<[u16]>,
    pad_dsp: Box<[PadDsp]>,
    /// One `max_block` stereo scratch buffer per voice slot and per tail: pads being shaped
    /// are mixed here.
    scratch: Box<[f32]>,
    /// Pads being shaped in the current segment, with their scratch buffer index.
    shaped: Box<[(u16, u16)]>,
    /// Pads whose voices have ended but whose filters still ring out.
    tails: heapless::Vec<u16, MAX_TAILS>,
    /// Lane buffer for grouped EQ processing (`max_block` frames of 8 lanes).
    eq_lanes: Box<[Lanes]>,
    buses: [Box<[f32]>; 2],
    /// The isolator EQ's crossovers (shared by every pad).
    iso_design: IsolatorDesign,
    /// Scratch for a pad switching EQ mode (both EQs run while they cross-fade).
    xfade_buf: Box<[f32]>,
    delay: Delay,
    reverb: Reverb,
    phaser: Phaser,
    limiter: Limiter,
    /// Segments rendered (a pad not seen in the previous one starts from clean filters).
    segment: u64,
    master: Ramp,
    /// Where streaming voices read, for the disk service.
    hints: Arc<StreamHints>,
    /// Samples between two scratch buffers (`2 * max_block`).
    stride: usize,
    rate: u32,
    /// Frames of a stem gain ramp.
    stem_ramp: u32,
}

impl Mixer {
    /// Buffers and effects for `s` and `voices` voice slots. Allocates; not real-time safe.
    pub(crate) fn new(s: &EngineSettings, voices: usize, hints: Arc<StreamHints>) -> Self {
        let shapers = voices + MAX_TAILS;
        let block = vec![0.0f32; 2 * s.max_block].into_boxed_slice();
        let rate = s.sample_rate;
        Self {
            order: vec![0u16; voices].into_boxed_slice(),
            pad_dsp: vec![PadDsp::new(rate); s.pads].into_boxed_slice(),
            scratch: vec![0.0f32; 2 * s.max_block * shapers].into_boxed_slice(),
            shaped: vec![(0u16, 0u16); shapers].into_boxed_slice(),
            tails: heapless::Vec::new(),
            eq_lanes: vec![[0.0f32; 8]; s.max_block].into_boxed_slice(),
            buses: [block.clone(), block.clone()],
            iso_design: IsolatorDesign::new(
                DEFAULT_CROSSOVERS[0],
                DEFAULT_CROSSOVERS[1],
                rate as f64,
            ),
            xfade_buf: block,
            delay: Delay::new(rate),
            reverb: Reverb::new(rate),
            phaser: Phaser::new(rate),
            limiter: Limiter::new(rate),
            segment: 0,
            master: Ramp::steady(1.0),
            hints,
            stride: 2 * s.max_block,
            rate,
            stem_ramp: (rate as f32 * STEM_RAMP_MS / 1000.0) as u32,
        }
    }

    /// Frames of look-ahead latency the limiter adds. Real-time safe.
    pub(crate) fn latency(&self) -> usize {
        self.limiter.latency()
    }

    /// A block of `samples` interleaved samples begins: the send buses start silent.
    /// Real-time safe.
    pub(crate) fn begin_block(&mut self, samples: usize) {
        for bus in self.buses.iter_mut() {
            bus[..samples].fill(0.0);
        }
    }

    /// After the last block of a `process` call: voices that stopped reading a streamed table
    /// stop asking for its audio. Real-time safe.
    pub(crate) fn end_blocks(&mut self, voices: &mut [Voice]) {
        for (i, v) in voices.iter_mut().enumerate() {
            if v.streaming && v.state == VoiceState::Free {
                v.streaming = false;
                self.hints.clear(i);
            }
        }
        self.hints.end_block();
    }

    /// The limiter's smallest gain since the last call. Real-time safe.
    pub(crate) fn take_min_gain(&mut self) -> f32 {
        self.limiter.take_min_gain()
    }

    /// Master volume (linear, clamped), gliding over `smooth` frames. Real-time safe.
    pub(crate) fn set_master(&mut self, v: f32, smooth: u32) {
        self.master.go(params::VOLUME.clamp(v), smooth);
    }

    /// The master volume it is going to. Real-time safe.
    pub(crate) fn master(&self) -> f32 {
        self.master.target
    }

    /// Keeps the delay on the tempo. Real-time safe.
    pub(crate) fn follow_tempo(&mut self, bpm: f32) {
        if self.delay.bpm() != bpm {
            self.delay.set_bpm(bpm);
        }
    }

    /// The isolator EQ's crossovers for every pad. Real-time safe.
    pub(crate) fn set_crossovers(&mut self, low: f32, high: f32) {
        self.iso_design = IsolatorDesign::new(low, high, self.rate as f64);
    }

    /// Pad `p` takes new sound-shaping settings: gliding when it plays. Real-time safe.
    pub(crate) fn configure_pad(&mut self, p: usize, fx: &PadFx, glide: bool, smooth: u32) {
        if let Some(d) = self.pad_dsp.get_mut(p) {
            d.configure(fx, glide, smooth);
        }
    }

    /// A global effect parameter (clamped through the parameter table). Real-time safe.
    pub(crate) fn set_fx(&mut self, param: FxParam, v: f32) {
        use params as P;
        match param {
            FxParam::DelayDivision => self
                .delay
                .set_division(Division::from_index(P::DELAY_DIVISION.clamp(v) as u8)),
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

    /// Renders frames `a..b` of the chunk `out`: voices grouped by pad (each pad through its
    /// EQ, filter and sends), then the send effects, phaser, master volume and limiter.
    /// Real-time safe.
    pub(crate) fn render(
        &mut self,
        out: &mut [f32],
        a: usize,
        b: usize,
        seg_start: u64,
        cx: &mut Ctx,
    ) {
        self.segment += 1;
        let n = b - a;
        let out = &mut out[2 * a..2 * b];
        let count = self.gather(&cx.bank.voices);
        let shaped = self.mix_voices(out, count, n, seg_start, cx);
        let shaped = self.ring_tails(shaped, n);
        group::EqWork {
            pad_dsp: &mut self.pad_dsp,
            scratch: &mut self.scratch,
            eq_lanes: &mut self.eq_lanes,
            iso_design: &self.iso_design,
            xfade_buf: &mut self.xfade_buf,
            stride: self.stride,
        }
        .run(&self.shaped[..shaped], n);
        let sent = self.filter_and_send(out, shaped, a, cx.io);
        self.effects_and_master(out, a, b, sent, cx.io);
    }

    /// Lists the sounding voices in `order`, grouped by pad; returns how many.
    fn gather(&mut self, voices: &[Voice]) -> usize {
        let mut count = 0;
        for (i, v) in voices.iter().enumerate() {
            if v.state != VoiceState::Free {
                self.order[count] = i as u16;
                count += 1;
            }
        }
        self.order[..count].sort_unstable_by_key(|&i| voices[i as usize].pad);
        count
    }

    /// Phase 1: each pad's voices go straight to the mix (transparent pads) or into a scratch
    /// buffer of their own (pads with EQ, filter or sends). Returns the pads being shaped.
    fn mix_voices(
        &mut self,
        out: &mut [f32],
        count: usize,
        n: usize,
        seg_start: u64,
        cx: &mut Ctx,
    ) -> usize {
        let stride = self.stride;
        let mut shaped = 0;
        let mut g = 0;
        while g < count {
            let pad = cx.bank.voices[self.order[g] as usize].pad;
            let mut end = g + 1;
            while end < count && cx.bank.voices[self.order[end] as usize].pad == pad {
                end += 1;
            }
            let dsp = &mut self.pad_dsp[pad as usize];
            if dsp.last_seen != self.segment - 1 {
                dsp.reset();
            }
            dsp.last_seen = self.segment;
            // A watched pad is measured on its own buffer, so it goes the shaped way.
            let transparent = dsp.is_transparent() && !cx.io.stats.meters.wanted();
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
            let mut vc = voice::VoiceCtx {
                bank: &mut *cx.bank,
                slots: &mut *cx.slots,
                pool: &mut *cx.pool,
                io: &mut *cx.io,
                transport: cx.transport,
                stem_ramp: self.stem_ramp,
                hints: &self.hints,
            };
            let mut ended = true;
            for k in g..end {
                let vi = self.order[k] as usize;
                voice::render_voice(vi, &mut vc, target, seg_start);
                ended &= vc.bank.voices[vi].state == VoiceState::Free;
            }
            self.track_tail(pad, ended && !transparent);
            g = end;
        }
        shaped
    }

    /// Pad `pad`'s voices are all gone (`ended`): its filters may still ring, so it joins the
    /// tails; a pad sounding again leaves them.
    fn track_tail(&mut self, pad: u16, ended: bool) {
        let listed = self.tails.iter().position(|&p| p == pad);
        if ended {
            // The voices are gone but the filters may still ring: let them (no click).
            if listed.is_some() || self.tails.push(pad).is_ok() {
                self.pad_dsp[pad as usize].tail_left = (TAIL_SECONDS * self.rate as f32) as u32;
            }
        } else if let Some(i) = listed {
            self.tails.swap_remove(i);
            self.pad_dsp[pad as usize].tail_left = 0;
        }
    }

    /// Pads ringing out: shaped from silence until the tail decays. Returns the pads being
    /// shaped (`shaped` plus the tails).
    fn ring_tails(&mut self, mut shaped: usize, n: usize) -> usize {
        let stride = self.stride;
        let mut t = 0;
        while t < self.tails.len() {
            let pad = self.tails[t];
            let dsp = &mut self.pad_dsp[pad as usize];
            if dsp.last_seen == self.segment {
                // Its last voice ended just now: shaped already.
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
        shaped
    }

    /// Phase 3: each shaped pad through its filter, then into the mix and the send buses.
    /// Returns whether anything was sent.
    fn filter_and_send(&mut self, out: &mut [f32], shaped: usize, a: usize, io: &Io) -> bool {
        let (stride, n) = (self.stride, out.len() / 2);
        let mut sent = false;
        for k in 0..shaped {
            let (pad, j) = self.shaped[k];
            let j = j as usize;
            let dsp = &mut self.pad_dsp[pad as usize];
            let mix = &mut self.scratch[j * stride..j * stride + 2 * n];
            dsp.filter.process(mix);
            if io.stats.meters.wanted() {
                io.stats.meters.record(pad as usize, peak(mix));
            }
            if dsp.tail_left > 0 && peak(mix) < TAIL_FLOOR {
                dsp.tail_left = 0;
            }
            if !all_finite(mix) {
                // Only this pad is silenced, and only for this block.
                mix.fill(0.0);
                dsp.reset();
                io.bump(Counter::NonFinite);
            }
            for (o, x) in out.iter_mut().zip(mix.iter()) {
                *o += *x;
            }
            for (bus, send) in self.buses.iter_mut().zip(dsp.sends.iter_mut()) {
                if send.value == 0.0 && !send.is_moving() {
                    continue;
                }
                sent = true;
                let bus = &mut bus[2 * a..2 * a + 2 * n];
                send.each(n, |k, gain| {
                    bus[2 * k] += mix[2 * k] * gain;
                    bus[2 * k + 1] += mix[2 * k + 1] * gain;
                });
            }
        }
        sent
    }

    /// The send effects, phaser, master volume and limiter over the segment.
    fn effects_and_master(&mut self, out: &mut [f32], a: usize, b: usize, sent: bool, io: &Io) {
        let n = b - a;
        self.delay.process(&self.buses[0][2 * a..2 * b], out, !sent);
        self.reverb
            .process(&self.buses[1][2 * a..2 * b], out, !sent);
        self.phaser.process(out);
        let repaired = self.delay.recover() as u64
            + self.reverb.recover() as u64
            + self.phaser.recover() as u64;
        if repaired > 0 {
            io.stats.counters.add(Counter::NonFinite, repaired);
        }
        if self.master.is_moving() || self.master.value != 1.0 {
            self.master.each(n, |k, g| {
                out[2 * k] *= g;
                out[2 * k + 1] *= g;
            });
        }
        if self.limiter.process(out) {
            io.bump(Counter::NonFinite);
        }
    }
}
