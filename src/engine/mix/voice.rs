//! Rendering one voice into its pad's buffer: its speed this segment (synced, nudged, its
//! own), its stems, its streamed data's gate, and the path it plays by (directly, through a
//! stretcher, fading for a late disk); its end frees it. Real-time safe.

use super::super::command::PadConfig;
use super::super::event::EventKind;
use super::super::io::Io;
use super::super::keylock::feed_rate;
use super::super::keylock::{Pool, Pulled, render_stretched};
use super::super::pads::PadBank;
use super::super::shared::Counter;
use super::super::slots::SlotTable;
use super::super::streaming::{self, Gate, Starve};
use super::super::transport::Transport;
use super::super::voice::{Path, SilentRead, Voice, VoiceEnd};
use crate::sample::buffer::SampleBuffer;
use crate::sample::stream::StreamHints;

/// What rendering a voice works on: the engine's parts it reaches, and the mixer's streaming
/// hints and stem ramp length.
pub(super) struct VoiceCtx<'a> {
    pub(super) bank: &'a mut PadBank,
    pub(super) slots: &'a mut SlotTable,
    pub(super) pool: &'a mut Pool,
    pub(super) io: &'a mut Io,
    pub(super) transport: &'a Transport,
    pub(super) stem_ramp: u32,
    pub(super) hints: &'a StreamHints,
}

/// Renders voice `vi` into `out` and handles its end (slot use count, pad state, events).
pub(super) fn render_voice(vi: usize, c: &mut VoiceCtx, out: &mut [f32], seg_start: u64) {
    let n = out.len() / 2;
    let (cfg, is_current, step) = advance(vi, c, seg_start, n);
    let slot = c.bank.voices[vi].slot;
    let Some(buf) = c.slots.buffer(slot) else {
        c.bank.release_voice(vi, c.slots, &c.io.stats);
        return;
    };
    let fade = c.bank.fade;
    let v = &mut c.bank.voices[vi];
    let pad_id = v.pad;
    let groups = buf.groups();
    if groups > 1 {
        let stems = cfg.map(|c| c.stems).unwrap_or_default();
        if is_current || v.stems.groups == 0 {
            v.stems
                .follow(groups, &stems.targets(groups - 1), c.stem_ramp);
        }
    }
    let gate = match buf.stream() {
        Some(t) => {
            let (g, starve) = streaming::gate(v, vi, t, c.hints, step, n, fade);
            if starve == Starve::Began {
                c.io.bump(Counter::DiskStarved);
                c.io.emit(seg_start, EventKind::DiskStarved(pad_id));
            }
            if g == Gate::Silent && t.failed() {
                // The file broke: the voice has faded out; it ends here.
                c.hints.clear(vi);
                v.streaming = false;
                c.bank.release_voice(vi, c.slots, &c.io.stats);
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
    let how = How {
        gate,
        cfg,
        step,
        fade,
        seg_start,
    };
    let end = play(v, buf, c.pool, c.io, c.transport, how, out);
    if end != VoiceEnd::Running {
        let was_current = c.bank.release_voice(vi, c.slots, &c.io.stats);
        if was_current && end == VoiceEnd::Ended {
            let frame = seg_start + n as u64;
            c.io.emit(frame, EventKind::PadEnded(pad_id));
        }
    }
}

/// The voice's gain follows its pad; returns the pad's configuration, whether the voice is
/// the pad's current one, and its step this segment in buffer frames per output frame (the
/// voice's travel moves on unless the transport places it).
fn advance(
    vi: usize,
    c: &mut VoiceCtx,
    seg_start: u64,
    n: usize,
) -> (Option<PadConfig>, bool, f64) {
    let (smooth, global_speed) = (c.bank.smooth, c.bank.global_speed as f64);
    let v = &mut c.bank.voices[vi];
    let pad = &c.bank.pads[v.pad as usize];
    let is_current = pad.voice == Some(vi as u16);
    let cfg = pad.cfg;
    let (speed, gain) = match cfg {
        Some(c) => (c.speed as f64, c.gain),
        None => (1.0, v.gain.target),
    };
    if is_current && gain != v.gain.target {
        v.gain.go(gain, smooth);
    }
    let transport = c.transport;
    let step = match v.sync {
        Some(_) if transport.running() => {
            // Where the transport says the voice must be at the segment's end.
            let beat_end = transport.beat_at(seg_start + n as u64);
            let seg_beats = beat_end - transport.beat_at(seg_start);
            v.sync_step(beat_end, seg_beats, n)
        }
        Some(s) => s.src_per_beat * transport.effective_bpm() / (60.0 * transport.rate()),
        None => speed * global_speed * transport.nudge() * v.scale,
    };
    if v.sync.is_none() || !transport.running() {
        v.travel += step * n as f64;
    }
    (cfg, is_current, step)
}

/// How a voice plays this segment.
#[derive(Clone, Copy)]
struct How {
    gate: Gate,
    cfg: Option<PadConfig>,
    /// Buffer frames per output frame.
    step: f64,
    /// Declick fade in frames.
    fade: u32,
    seg_start: u64,
}

/// Renders the voice's sound by its path: silent while its data is missing, faded while the
/// disk catches up, through its stretcher, or read directly.
fn play(
    v: &mut Voice,
    buf: &SampleBuffer,
    pool: &mut Pool,
    io: &mut Io,
    t: &Transport,
    how: How,
    out: &mut [f32],
) -> VoiceEnd {
    let How {
        gate,
        cfg,
        step,
        fade,
        seg_start,
    } = how;
    let n = out.len() / 2;
    let gains = v.stems.gains();
    let pad_id = v.pad;
    let on_wrap = |off: usize| io.emit(seg_start + off as u64, EventKind::PadLooped(pad_id));
    match (gate, v.path, cfg) {
        (Gate::Silent, _, _) => {
            v.render_with(&mut SilentRead(buf.frames()), out, step, fade, on_wrap)
        }
        (Gate::Fade, _, _) => {
            // Rendered apart, then faded in or out into the mix.
            let tmp = &mut pool.scratch.disk[..out.len()];
            tmp.fill(0.0);
            let end = crate::with_frames!(buf.data(), &gains, |src| v
                .render(src, tmp, step, fade, on_wrap));
            v.disk.each(n, |k, g| {
                out[2 * k] += tmp[2 * k] * g;
                out[2 * k + 1] += tmp[2 * k + 1] * g;
            });
            end
        }
        (Gate::Play, Path::Stretch(u), Some(cfg)) if pool.has_unit(u) => {
            let rate = feed_rate(v, &cfg, step);
            let nominal = match v.sync {
                Some(s) => s.src_per_beat * t.effective_bpm() / (60.0 * t.rate()),
                None => step,
            };
            let Some((unit, sc)) = pool.unit(u) else {
                return VoiceEnd::Running;
            };
            let (end, pulled) = crate::with_frames!(buf.data(), &gains, |src| render_stretched(
                v, unit, src, sc, out, step, nominal, rate, fade, on_wrap
            ));
            match pulled {
                Pulled::Full => {}
                Pulled::Starved => {
                    io.bump(Counter::StretchStarved);
                    pool.starved(seg_start);
                }
                Pulled::Broken => {
                    // Read directly until a stretcher is primed again.
                    io.bump(Counter::NonFinite);
                    v.path = Path::Direct;
                }
            }
            end
        }
        _ => {
            v.path = Path::Direct;
            crate::with_frames!(buf.data(), &gains, |src| v
                .render(src, out, step, fade, on_wrap))
        }
    }
}
