//! Hand-offs: a voice changes how it plays (another buffer, or a stretcher) by starting a
//! second voice at the same musical place and cross-fading; the old one fades out and frees
//! itself. Moving onto a buffer read directly is phase-aligned first: the new voice starts up
//! to [`ALIGN_MS`] off, where it lines up best with what the old one just played, so the two
//! never cancel in the fade. Real-time safe.

use super::super::command::Geometry;
use super::super::slots::SlotTable;
use super::super::voice::{Path, Voice, VoiceState};
use super::pool::{ALIGN_WINDOW, Ctx, Pool, UnitState, release};
use crate::dsp::align::best_lag;
use crate::dsp::ramp::Ramp;

/// Mono frame `off` buffer frames after voice `v`'s region start, read from its slot.
fn peek_mono(slots: &SlotTable, v: &Voice, off: f64) -> f32 {
    let Some(buf) = slots.buffer(v.slot) else {
        return 0.0;
    };
    let [l, r] = crate::with_frames!(buf.data(), &v.stems.gains(), |src| v.peek(src, off));
    0.5 * (l + r)
}

/// Moves a voice's place by `off` buffer frames; a synced voice keeps that offset from the
/// grid (pulling it back would bend a directly read buffer's pitch).
fn shift(v: &mut Voice, off: f64) {
    v.seek(v.travel + off);
    if let Some(s) = v.sync.as_mut() {
        s.origin -= off / s.src_per_beat;
        s.target_origin = s.origin;
    }
}

/// The voice's step in buffer frames per output frame (without a re-sync's correction).
fn step_of(cx: &Ctx, v: &Voice) -> f64 {
    match cx.bank.pads[v.pad as usize].cfg {
        Some(cfg) => cx.tempo(v, &cfg) * v.scale,
        None => v.scale,
    }
}

impl Pool {
    /// Starts `nv` in a free voice slot in place of voice `vi`, which fades out while `nv`
    /// fades in. Returns the new voice's index (None when no slot is free).
    fn handoff(&mut self, vi: usize, mut nv: Voice, cx: &mut Ctx) -> Option<usize> {
        let voices = &mut cx.bank.voices;
        let ni = voices.iter().position(|v| v.state == VoiceState::Free)?;
        let xf = self.handoff_frames;
        let old = &mut voices[vi];
        nv.state = VoiceState::Playing;
        nv.env = Ramp::steady(0.0);
        nv.env.go(1.0, xf);
        old.release(xf);
        voices[ni] = nv;
        cx.slots.acquire(nv.slot);
        cx.bank.pads[nv.pad as usize].voice = Some(ni as u16);
        Some(ni)
    }

    /// The lag (output frames) at which `nv` best continues the `reference` frames just
    /// played; `reference` is in `self.scratch.reference`.
    fn align(&mut self, nv: &Voice, cx: &Ctx) -> f64 {
        let max = self.max_lag;
        let w = ALIGN_WINDOW;
        let step = step_of(cx, nv);
        let sc = &mut self.scratch;
        for m in 0..w + 2 * max {
            let off = nv.travel + (m as f64 - (w + max) as f64) * step;
            sc.cand[m] = peek_mono(cx.slots, nv, off);
        }
        let (d, _) = best_lag(&sc.reference[..w], &sc.cand[..w + 2 * max], max);
        d as f64 * step
    }

    /// Voice `vi`, read directly, moves onto buffer `g` (in place when it has not sounded
    /// yet). Returns whether it moved.
    pub(crate) fn switch_direct(&mut self, vi: usize, g: Geometry, now: u64, cx: &mut Ctx) -> bool {
        let v = cx.bank.voices[vi];
        let mut nv = v.retarget(&g);
        nv.path = Path::Direct;
        if v.started == now {
            cx.slots.release(v.slot);
            cx.slots.acquire(g.slot);
            cx.bank.voices[vi] = nv;
            return true;
        }
        if self.aligns_left == 0 {
            return false;
        }
        self.aligns_left -= 1;
        let step = step_of(cx, &v);
        for j in 0..ALIGN_WINDOW {
            let off = v.travel - (ALIGN_WINDOW - j) as f64 * step;
            self.scratch.reference[j] = peek_mono(cx.slots, &v, off);
        }
        let lag = self.align(&nv, cx);
        shift(&mut nv, lag);
        self.handoff(vi, nv, cx).is_some()
    }

    /// Voice `vi`, playing through unit `u`, moves onto buffer `g`, read directly; the old
    /// voice keeps the unit while it fades.
    pub(crate) fn stretch_to_direct(&mut self, vi: usize, u: u16, g: Geometry, cx: &mut Ctx) {
        if self.aligns_left == 0 {
            return;
        }
        self.aligns_left -= 1;
        let v = cx.bank.voices[vi];
        let mut nv = v.retarget(&g);
        nv.path = Path::Direct;
        self.units[u as usize].history(&mut self.scratch.reference[..ALIGN_WINDOW]);
        let lag = self.align(&nv, cx);
        shift(&mut nv, lag);
        let _ = self.handoff(vi, nv, cx);
    }

    /// Voice `vi` hands over to primed unit `u`, whose output begins at `travel`.
    pub(crate) fn handoff_to_stretch(
        &mut self,
        vi: usize,
        u: usize,
        travel: f64,
        now: u64,
        cx: &mut Ctx,
    ) -> bool {
        let v = cx.bank.voices[vi];
        let mut nv = v;
        nv.path = Path::Stretch(u as u16);
        nv.seek(travel);
        if let Some(s) = nv.sync.as_mut() {
            // Where the stretcher starts; drift back home from there (free on a stretcher).
            s.origin = cx.transport.beat_at(now) - travel / s.src_per_beat;
            s.target_origin = s.home;
        }
        match self.handoff(vi, nv, cx) {
            Some(ni) => {
                self.units[u].state = UnitState::Active(ni as u16);
                true
            }
            None => {
                release(&mut self.units[u], &mut self.unit_out);
                false
            }
        }
    }
}
