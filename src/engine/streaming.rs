//! Voices reading streamed tables: before each segment the engine checks that the audio the
//! voice will read is resident (and the audio after it, so a fade-out can still be played),
//! fades the voice out when the disk is late and back in when the data arrives, keeping its
//! musical position throughout, and tells the disk service where it reads. Real-time safe.

use crate::sample::stream::{Hint, StreamHints, StreamedTable};

use super::voice::Voice;

/// What a streamed voice does in this segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Everything it reads is resident and it is not fading: render as from RAM.
    Play,
    /// Resident, but fading (out: the data after this runs out; in: the data arrived).
    Fade,
    /// Not resident (or failed): silent, the read head still moves.
    Silent,
}

/// What became of the voice's data this segment, for counters and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Starve {
    /// Nothing new.
    No,
    /// A starvation episode began (the data was late).
    Began,
}

/// Whether every chunk the voice touches over the next `ahead` buffer frames is resident.
/// Real-time safe.
fn resident(v: &Voice, t: &StreamedTable, ahead: f64) -> bool {
    v.play_ranges(ahead, |a, b| t.resident_range(a, b))
}

/// Decides how voice `vi` (reading `t` at `step` buffer frames per frame) renders the next `n`
/// frames, publishes its hint, and moves its disk fade (`fade` frames long). Real-time safe.
pub(crate) fn gate(
    v: &mut Voice,
    vi: usize,
    t: &StreamedTable,
    hints: &StreamHints,
    step: f64,
    n: usize,
    fade: u32,
) -> (Gate, Starve) {
    let (ls, le) = (v.geometry().loop_start, v.geometry().loop_end);
    hints.publish(
        vi,
        Hint {
            table: t.id,
            pos: v.pos,
            step,
            loop_start: ls as usize,
            loop_end: le as usize,
            looping: v.looping(),
        },
    );
    v.streaming = true;
    let step = step.abs();
    let now = resident(v, t, step * n as f64 + 1.0);
    // Enough after this segment for a whole fade-out (a failed table fades out for good).
    let later = now && !t.failed() && resident(v, t, step * (n as f64 + fade.max(1) as f64) + 1.0);
    let was_on = v.disk.target > 0.0;
    let mut starve = Starve::No;
    if !now {
        if was_on || v.disk.value > 0.0 {
            starve = Starve::Began;
        }
        v.disk = crate::dsp::ramp::Ramp::steady(0.0);
        return (Gate::Silent, starve);
    }
    let target = if later { 1.0 } else { 0.0 };
    if target != v.disk.target {
        if target == 0.0 {
            starve = Starve::Began;
        }
        v.disk.go(target, fade.max(1));
    }
    if !v.disk.is_moving() {
        if v.disk.value >= 1.0 {
            return (Gate::Play, starve);
        }
        return (Gate::Silent, starve);
    }
    (Gate::Fade, starve)
}
