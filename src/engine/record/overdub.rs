//! An overdub pass: the input summed into a playing loop, at the place in the loop where it
//! was heard, pass after pass, into a tape of its own (so undo can give the pad its loop back).
//! The first time round the tape gets the loop's frames (at the feedback) plus the input, while
//! the pad still plays its loop; once every frame of the loop is in the tape, the pad plays the
//! tape, and later times round add to it in place. Stopped before the first time round is
//! complete, the rest of the loop is copied in without input. Real-time safe.

use std::sync::Arc;

use super::super::command::{PadConfig, PadId, SlotId};
use super::super::slots::SlotTable;
use super::super::transport::Transport;
use crate::sample::buffer::{SampleBuffer, exact_end};

/// Loop frames copied per block when a pass stopped early finishes its first time round.
const FILL: i64 = 16384;

/// What a block of capture did to a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PassStep {
    /// Nothing to report.
    Going,
    /// Every frame of the loop is in the tape: the pad must play it from now on.
    Swap,
    /// The pass is complete (stopped, and its first time round written).
    Done,
}

/// An overdub pass in progress.
pub(crate) struct Pass {
    /// Take number (shared with takes: the disk writer's files are named by it).
    pub(crate) n: u32,
    pub(crate) pad: PadId,
    /// The pad's settings when the pass began (its loop).
    pub(crate) old: PadConfig,
    /// The tape while the engine holds it (`None` once it sits in its slot).
    pub(crate) tape: Option<Arc<SampleBuffer>>,
    pub(crate) slot: SlotId,
    /// Whole frames of the loop, and its exact length.
    pub(crate) len: usize,
    exact: f64,
    fb: f32,
    /// The beat the pad's loop counts from, and loop frames per beat.
    origin: f64,
    spb: f64,
    /// Engine frame the pass began at, and the one it ends at (`u64::MAX` while it runs).
    begin: u64,
    pub(crate) end_at: u64,
    /// Input-bus frames are heard this much earlier (look-ahead + devices' round trip).
    delay: u64,
    /// The first loop position written (unwrapped: time round × frames + frame), and the next.
    first: Option<i64>,
    next: i64,
    /// Whether the pad plays the tape.
    pub(crate) swapped: bool,
}

impl Pass {
    /// A pass into `tape` over the loop `old` the pad plays (its voice's loop counting from
    /// beat `origin`, `spb` loop frames a beat), beginning at `now`; `delay` frames between
    /// what is heard and when the input bus has it. `None` when the loop does not fit the tape.
    /// Real-time safe.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        n: u32,
        pad: PadId,
        old: PadConfig,
        tape: (SlotId, Arc<SampleBuffer>),
        (origin, spb): (f64, f64),
        fb: f32,
        now: u64,
        delay: u64,
    ) -> Result<Self, (SlotId, Arc<SampleBuffer>)> {
        let len = old.loop_end.saturating_sub(old.loop_start) as usize;
        let exact = exact_end(old.loop_end, old.end_frac) - old.loop_start as f64;
        if len < 4 || len > tape.1.frames() || exact.is_nan() || exact <= 0.0 {
            return Err(tape);
        }
        Ok(Self {
            n,
            pad,
            old,
            tape: Some(tape.1),
            slot: tape.0,
            len,
            exact,
            fb,
            origin,
            spb,
            begin: now,
            end_at: u64::MAX,
            delay,
            first: None,
            next: 0,
            swapped: false,
        })
    }

    /// The loop position (unwrapped: time round × frames + frame) the pad plays at engine
    /// frame `e`. Real-time safe.
    fn at(&self, e: u64, t: &Transport) -> Option<i64> {
        unwrap(
            (t.beat_at(e) - self.origin) * self.spb,
            self.exact,
            self.len,
        )
    }

    /// The engine frame the pad is once round the loop from where the pass began: from then
    /// on it can play the tape (every frame it reads was written a round before). Real-time
    /// safe.
    pub(crate) fn once_round(&self, t: &Transport) -> u64 {
        t.frame_of_beat(t.beat_at(self.begin) + self.exact / self.spb)
    }

    /// Whether the pad plays the second time round at `now` (the scheduled swap is due).
    /// Real-time safe.
    pub(crate) fn due(&self, now: u64, t: &Transport) -> bool {
        let first = self.first.or_else(|| self.at(self.begin, t));
        matches!((first, self.at(now, t)), (Some(f), Some(k)) if k >= f + self.len as i64)
    }

    /// The pad's settings once it plays the tape (`cur`: what it has now, which keeps its
    /// gain, effects and the rest). Real-time safe.
    pub(crate) fn config(&self, cur: &PadConfig) -> PadConfig {
        PadConfig {
            slot: self.slot,
            start: 0,
            loop_start: 0,
            loop_end: self.len as u32,
            end_frac: self.old.end_frac,
            ..*cur
        }
    }

    /// Whether the pass wrote anything. Real-time safe.
    pub(crate) fn started(&self) -> bool {
        self.first.is_some()
    }

    /// Sums the input-bus frames of the block that began at `start` into the loop, and
    /// finishes a stopped pass's first time round. Bounded work: the block's frames plus
    /// [`FILL`]. Real-time safe.
    pub(crate) fn capture(
        &mut self,
        start: u64,
        input: &[f32],
        t: &Transport,
        slots: &mut SlotTable,
    ) -> PassStep {
        let n = (input.len() / 2) as i64;
        // The engine frame the block's first input frame was heard at.
        let heard = start as i64 - self.delay as i64;
        let lo = (self.begin as i64 - heard).clamp(0, n);
        let hi = (self.end_at.min(i64::MAX as u64) as i64 - heard).clamp(0, n);
        let (old, dst) = match self.tape.as_mut() {
            Some(tape) => (
                slots.buffer(self.old.slot),
                Arc::get_mut(tape).and_then(|b| b.tape_mut()),
            ),
            None => {
                let (dst, old) = slots.tape_mut_beside(self.slot, self.old.slot);
                (old, dst)
            }
        };
        let Some(dst) = dst else {
            return PassStep::Done;
        };
        let mut w = Writer {
            old,
            dst,
            len: self.len as i64,
            from: self.old.loop_start as usize,
            fb: self.fb,
            first: 0,
        };
        if lo < hi {
            let u = |e: i64| (t.beat_at(e.max(0) as u64) - self.origin) * self.spb;
            let (ua, ub) = (u(heard + lo), u(heard + hi));
            let step = (ub - ua) / (hi - lo) as f64;
            let mut budget = FILL + n;
            for i in lo..hi {
                let Some(k) = unwrap(ua + step * (i - lo) as f64, self.exact, self.len) else {
                    continue;
                };
                let first = match self.first {
                    Some(f) => f,
                    None => {
                        self.next = k;
                        *self.first.insert(k)
                    }
                };
                if k < self.next - self.len as i64 {
                    // The transport went back (a relocated beat): follow it.
                    self.next = k;
                }
                w.first = first;
                let frame = [input[2 * i as usize], input[2 * i as usize + 1]];
                while self.next <= k && budget > 0 {
                    w.put(self.next, frame);
                    self.next += 1;
                    budget -= 1;
                }
            }
        }
        let Some(first) = self.first else {
            return if heard + n >= self.end_at as i64 {
                PassStep::Done
            } else {
                PassStep::Going
            };
        };
        let once = first + self.len as i64;
        if heard + n >= self.end_at.min(i64::MAX as u64) as i64 {
            // Stopped: the rest of the first time round without input.
            w.first = first;
            let to = once.min(self.next + FILL);
            while self.next < to {
                w.put(self.next, [0.0, 0.0]);
                self.next += 1;
            }
            if self.next >= once {
                return if self.swapped {
                    PassStep::Done
                } else {
                    PassStep::Swap
                };
            }
        } else if !self.swapped && self.next >= once {
            return PassStep::Swap;
        }
        PassStep::Going
    }
}

/// `pos` (loop frames since the origin, over a loop of `exact` frames, `len` whole) unwrapped:
/// time round × `len` + frame. A hair over: a frame that falls on a loop frame is not read as
/// the one before. Real-time safe.
fn unwrap(pos: f64, exact: f64, len: usize) -> Option<i64> {
    let pos = pos + 1e-6;
    if !pos.is_finite() {
        return None;
    }
    let round = (pos / exact).floor();
    let at = (pos - round * exact).floor().clamp(0.0, (len - 1) as f64);
    Some(round as i64 * len as i64 + at as i64)
}

/// Writes loop positions into the tape.
struct Writer<'a> {
    /// The loop's sample (read the first time round).
    old: Option<&'a SampleBuffer>,
    dst: &'a mut [f32],
    len: i64,
    /// The loop's first frame in `old`.
    from: usize,
    fb: f32,
    /// The first unwrapped position of the pass.
    first: i64,
}

impl Writer<'_> {
    /// Position `k` (unwrapped) = what it held × feedback + `input`.
    fn put(&mut self, k: i64, input: [f32; 2]) {
        let q = k.rem_euclid(self.len) as usize;
        let was = if k - self.first < self.len {
            match self.old {
                Some(b) if self.from + q < b.frames() => b.frame(self.from + q),
                _ => [0.0, 0.0],
            }
        } else {
            [self.dst[2 * q], self.dst[2 * q + 1]]
        };
        self.dst[2 * q] = was[0] * self.fb + input[0];
        self.dst[2 * q + 1] = was[1] * self.fb + input[1];
    }
}
