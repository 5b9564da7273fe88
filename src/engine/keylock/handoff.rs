//! Hand-offs: a voice changes how it plays (another buffer, or a stretcher) by starting a
//! second voice at the same musical place and cross-fading; the old one fades out and frees
//! itself. Moving onto a buffer read directly is phase-aligned first: the new voice starts up
//! to [`ALIGN_MS`] off, where it lines up best with what the old one just played, so the two
//! never cancel in the fade. Real-time safe.

use super::super::Engine;
use super::super::command::Geometry;
use super::super::slots::Slot;
use super::super::voice::{Path, Voice, VoiceState};
use super::{ALIGN_MS, ALIGN_WINDOW, HANDOFF_MS, UnitState};
use crate::dsp::align::best_lag;
use crate::dsp::ramp::Ramp;

/// Mono frame `off` buffer frames after voice `v`'s region start, read from its slot.
fn peek_mono(slots: &[Slot], v: &Voice, off: f64) -> f32 {
    let Some(buf) = slots[v.slot as usize].buffer.as_deref() else {
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

impl Engine {
    /// The voice's step in buffer frames per output frame (without a re-sync's correction).
    fn step_of(&self, v: &Voice) -> f64 {
        match self.pads[v.pad as usize].cfg {
            Some(cfg) => self.nominal_tempo(v, &cfg) * v.scale,
            None => v.scale,
        }
    }

    /// Starts `nv` in a free voice slot in place of voice `vi`, which fades out while `nv`
    /// fades in. Returns the new voice's index (None when no slot is free).
    fn handoff(&mut self, vi: usize, mut nv: Voice) -> Option<usize> {
        let ni = self
            .voices
            .iter()
            .position(|v| v.state == VoiceState::Free)?;
        let xf = self.settings.frames(HANDOFF_MS);
        let old = &mut self.voices[vi];
        nv.state = VoiceState::Playing;
        nv.env = Ramp::steady(0.0);
        nv.env.go(1.0, xf);
        old.release(xf);
        self.voices[ni] = nv;
        self.slots[nv.slot as usize].users += 1;
        self.pads[nv.pad as usize].voice = Some(ni as u16);
        Some(ni)
    }

    /// The lag (output frames) at which `nv` best continues the `reference` frames just
    /// played; `reference` is in `self.kl.reference`.
    fn align(&mut self, nv: &Voice) -> f64 {
        let max = (ALIGN_MS / 1000.0 * self.settings.sample_rate as f32) as usize;
        let w = ALIGN_WINDOW;
        let step = self.step_of(nv);
        for m in 0..w + 2 * max {
            let off = nv.travel + (m as f64 - (w + max) as f64) * step;
            self.kl.cand[m] = peek_mono(&self.slots, nv, off);
        }
        let (d, _) = best_lag(&self.kl.reference[..w], &self.kl.cand[..w + 2 * max], max);
        d as f64 * step
    }

    /// Voice `vi`, read directly, moves onto buffer `g` (in place when it has not sounded
    /// yet). Returns whether it moved.
    pub(crate) fn switch_direct(&mut self, vi: usize, g: Geometry, now: u64) -> bool {
        let v = self.voices[vi];
        let mut nv = v.retarget(&g);
        nv.path = Path::Direct;
        if v.started == now {
            let old = &mut self.slots[v.slot as usize];
            old.users = old.users.saturating_sub(1);
            self.slots[g.slot as usize].users += 1;
            self.voices[vi] = nv;
            return true;
        }
        if self.aligns_left == 0 {
            return false;
        }
        self.aligns_left -= 1;
        let step = self.step_of(&v);
        for j in 0..ALIGN_WINDOW {
            let off = v.travel - (ALIGN_WINDOW - j) as f64 * step;
            self.kl.reference[j] = peek_mono(&self.slots, &v, off);
        }
        let lag = self.align(&nv);
        shift(&mut nv, lag);
        self.handoff(vi, nv).is_some()
    }

    /// Voice `vi`, playing through unit `u`, moves onto buffer `g`, read directly; the old
    /// voice keeps the unit while it fades.
    pub(crate) fn stretch_to_direct(&mut self, vi: usize, u: u16, g: Geometry, _now: u64) {
        if self.aligns_left == 0 {
            return;
        }
        self.aligns_left -= 1;
        let v = self.voices[vi];
        let mut nv = v.retarget(&g);
        nv.path = Path::Direct;
        self.units[u as usize].history(&mut self.kl.reference[..ALIGN_WINDOW]);
        let lag = self.align(&nv);
        shift(&mut nv, lag);
        let _ = self.handoff(vi, nv);
    }

    /// Voice `vi` hands over to primed unit `u`, whose output begins at `travel`.
    pub(crate) fn handoff_to_stretch(
        &mut self,
        vi: usize,
        u: usize,
        travel: f64,
        now: u64,
    ) -> bool {
        let v = self.voices[vi];
        let mut nv = v;
        nv.path = Path::Stretch(u as u16);
        nv.seek(travel);
        if let Some(s) = nv.sync.as_mut() {
            // Where the stretcher starts; drift back home from there (free on a stretcher).
            s.origin = self.transport.beat_at(now) - travel / s.src_per_beat;
            s.target_origin = s.home;
        }
        match self.handoff(vi, nv) {
            Some(ni) => {
                self.units[u].state = UnitState::Active(ni as u16);
                true
            }
            None => {
                self.units[u].state = UnitState::Idle;
                super::recycle(&mut self.units[u], &mut self.unit_out);
                false
            }
        }
    }
}
