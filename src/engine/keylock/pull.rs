//! Rendering a voice through its stretcher: the stretcher is fed from the voice's second read
//! head (circularly over a loop: no reset, no seam) until it has the frames the block needs;
//! the voice's own read head then moves as usual and mixes them in with its envelope and
//! gain. Real-time safe.
//!
//! Keeping time: Rubber Band follows the time ratio it is given exactly while it holds, but
//! every change re-anchors its bookkeeping on a rounded frame (up to half a frame each time;
//! changed every block, that adds up to milliseconds a minute). So the stretcher's tempo only
//! changes when it must: at once for a big move (a transpose step), otherwise at most every
//! [`RETUNE_FRAMES`], and only when the voice's tempo moved or the stretcher's consumption
//! (counted exactly on this side) fell behind or ahead of the voice's travel; the new tempo
//! then also makes up that difference over [`CATCH_UP_FRAMES`]. A steady voice never
//! changes its stretcher's tempo, and a tempo glide costs a fraction of a millisecond.

use super::super::voice::{FeedHead, PlanarRead, Voice, VoiceEnd};
use super::ahead::Lane;
use super::pool::{ALIGN_WINDOW, Unit};
use crate::dsp::finite::all_finite;
use crate::dsp::stretch::{MAX_FEED, WARM_TEMPO};
use crate::engine::source::FrameSource;

/// Engine-owned buffers for stretching (allocated once with the engine).
pub(crate) struct Scratch {
    /// Frames read for a stretcher (left, right).
    pub(crate) feed: [Box<[f32]>; 2],
    /// Frames taken from a stretcher (left, right), `max_block` long.
    pub(crate) out: [Box<[f32]>; 2],
    /// What a voice just played, for aligning a hand-off.
    pub(crate) reference: Box<[f32]>,
    /// Candidate frames of the buffer a voice moves onto.
    pub(crate) cand: Box<[f32]>,
    /// A streamed voice fading because its data came late (stereo, `max_block` long).
    pub(crate) disk: Box<[f32]>,
}

impl Scratch {
    /// Buffers for blocks of up to `max_block` frames and alignments of up to `max_lag`
    /// frames. Allocates; not real-time safe.
    pub(crate) fn new(max_block: usize, max_lag: usize) -> Self {
        let z = |n: usize| vec![0.0f32; n].into_boxed_slice();
        Self {
            feed: [z(MAX_FEED), z(MAX_FEED)],
            out: [z(max_block.max(MAX_FEED)), z(max_block.max(MAX_FEED))],
            reference: z(ALIGN_WINDOW),
            cand: z(ALIGN_WINDOW + 2 * max_lag),
            disk: z(2 * max_block),
        }
    }
}

/// Least time between two tempo changes of a stretcher (small moves), in output frames.
pub(crate) const RETUNE_FRAMES: u32 = 2400;
/// Time over which a stretcher makes up a difference with its voice's travel.
const CATCH_UP_FRAMES: f64 = 4800.0;
/// A tempo change this large (relative) is given to the stretcher at once.
const BIG_MOVE: f64 = 1e-3;
/// Smaller tempo changes than this (relative) wait until the travel difference matters.
const SMALL_MOVE: f64 = 1e-7;
/// A travel difference (frames) worth a tempo change.
const BEHIND: f64 = 2.0;

/// What rendering through a stretcher gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pulled {
    /// All frames came.
    Full,
    /// The stretcher gave too few frames; the rest is silence.
    Starved,
    /// The stretcher's output was not finite: silenced and the stretcher reset.
    Broken,
}

/// Renders voice `v` for `out.len() / 2` frames through `unit`, fed from `src` at `rate`
/// buffer frames per fed frame; `step` (buffer frames per output frame) moved the voice's own
/// read head for this segment already, `nominal` is its tempo without a re-sync's fine
/// corrections. Real-time safe.
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_stretched<S: FrameSource>(
    v: &mut Voice,
    unit: &mut Unit,
    src: &S,
    sc: &mut Scratch,
    out: &mut [f32],
    step: f64,
    nominal: f64,
    rate: f64,
    fade: u32,
    on_wrap: impl FnMut(usize),
) -> (VoiceEnd, Pulled) {
    let n = out.len() / 2;
    let mut pulled = Pulled::Full;
    let retune = retune(v, unit, step, nominal, rate, n);
    if unit.away
        && let Some(lane) = unit.lane.as_mut()
    {
        // On a worker: keep it fed, take what it made.
        if let Some(t) = retune {
            lane.set_tempo(t);
        }
        let more = lane.input_target(unit.tempo).saturating_sub(lane.queued());
        feed_lane(v, &mut unit.head, src, rate, lane, more, sc);
        let [ol, or] = &mut sc.out;
        let (got, fed) = lane.take(&mut ol[..n], &mut or[..n]);
        unit.expect += fed * rate;
        if got < n {
            // The worker fell behind: the rest is the buffer read directly (its pitch off by
            // the stretch, never silent); the stretcher catches up with the voice after.
            for k in got..n {
                [ol[k], or[k]] = v.peek(src, v.travel - step * (n - k) as f64);
            }
            pulled = Pulled::Starved;
        }
        if lane.broken() {
            ol[..n].fill(0.0);
            or[..n].fill(0.0);
            pulled = Pulled::Broken;
        }
        return finish(v, unit, src, sc, out, step, fade, on_wrap, pulled);
    }
    let [fl, fr] = &mut sc.feed;
    let [ol, or] = &mut sc.out;
    if let Some(st) = unit.st.as_mut() {
        if let Some(t) = retune {
            st.set_tempo(t);
        }
        unit.expect += n as f64 * unit.tempo * rate;
        let mut got = 0;
        let mut guard = 0;
        while got < n {
            let avail = st.available();
            if avail > 0 {
                let k = avail.min(n - got);
                got += st.retrieve(&mut ol[got..got + k], &mut or[got..got + k]);
                continue;
            }
            guard += 1;
            if guard > 64 {
                break;
            }
            let k = st.required().clamp(64, MAX_FEED);
            v.feed(&mut unit.head, src, rate, &mut fl[..k], &mut fr[..k]);
            st.process(&fl[..k], &fr[..k]);
        }
        if got < n {
            ol[got..n].fill(0.0);
            or[got..n].fill(0.0);
            pulled = Pulled::Starved;
        }
        if !(all_finite(&ol[..n]) && all_finite(&or[..n])) {
            // The voice leaves the unit; it is reset off the audio thread.
            ol[..n].fill(0.0);
            or[..n].fill(0.0);
            pulled = Pulled::Broken;
        }
    } else {
        ol[..n].fill(0.0);
        or[..n].fill(0.0);
        pulled = Pulled::Starved;
    }
    finish(v, unit, src, sc, out, step, fade, on_wrap, pulled)
}

/// The stretcher tempo to give now, if any (see the module docs), and the unit's record of
/// it. Real-time safe.
fn retune(v: &Voice, unit: &mut Unit, step: f64, nominal: f64, rate: f64, n: usize) -> Option<f64> {
    let behind = (v.travel - step * n as f64) - unit.expect;
    let catch_up = (behind / CATCH_UP_FRAMES).clamp(-0.05 * nominal, 0.05 * nominal);
    let want = ((nominal + catch_up) / rate).clamp(WARM_TEMPO[0], WARM_TEMPO[1]);
    let moved = (want / unit.tempo - 1.0).abs();
    let due = unit.since >= RETUNE_FRAMES && (moved > SMALL_MOVE || behind.abs() > BEHIND);
    unit.since = unit.since.saturating_add(n as u32);
    if moved > BIG_MOVE || due {
        unit.tempo = want;
        unit.since = n as u32;
        return Some(want);
    }
    None
}

/// Up to `frames` frames of voice `v`'s audio from `head` into `lane` (as many as fit);
/// returns how many went in. Real-time safe.
pub(crate) fn feed_lane<S: FrameSource>(
    v: &Voice,
    head: &mut FeedHead,
    src: &S,
    rate: f64,
    lane: &mut Lane,
    frames: usize,
    sc: &mut Scratch,
) -> usize {
    let [fl, fr] = &mut sc.feed;
    let mut left = frames.min(lane.room());
    let mut pushed = 0;
    while left > 0 {
        let k = left.min(MAX_FEED);
        v.feed(head, src, rate, &mut fl[..k], &mut fr[..k]);
        pushed += lane.push(&fl[..k], &fr[..k]);
        left -= k;
    }
    pushed
}

/// The stretched frames in `sc.out` go to the unit's history and through the voice's envelope
/// and gain into `out`.
#[allow(clippy::too_many_arguments)]
fn finish<S: FrameSource>(
    v: &mut Voice,
    unit: &mut Unit,
    src: &S,
    sc: &mut Scratch,
    out: &mut [f32],
    step: f64,
    fade: u32,
    on_wrap: impl FnMut(usize),
    pulled: Pulled,
) -> (VoiceEnd, Pulled) {
    let n = out.len() / 2;
    let [ol, or] = &sc.out;
    let len = unit.hist.len();
    for k in 0..n {
        unit.hist[unit.hist_pos] = 0.5 * (ol[k] + or[k]);
        unit.hist_pos = (unit.hist_pos + 1) % len;
    }
    let mut rd = PlanarRead {
        left: &ol[..n],
        right: &or[..n],
        frames: src.len_frames(),
    };
    (v.render_with(&mut rd, out, step, fade, on_wrap), pulled)
}
