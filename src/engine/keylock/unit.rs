//! One real-time stretcher of the pool and what it is doing: idle, being primed for a voice,
//! playing for one, or on its way back from a worker. Real-time safe.

use super::super::voice::FeedHead;
use super::ahead::Lane;
use super::pool::ALIGN_WINDOW;
use crate::dsp::stretch::TimeStretch;

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
    /// Its lane to a worker thread, when stretching runs ahead on workers (see `ahead`).
    pub(crate) lane: Option<Lane>,
    /// Its stretcher is with the lane's worker (`st` is then empty).
    pub(crate) away: bool,
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
            lane: None,
            away: false,
        }
    }

    /// The lane to hand this unit's stretcher to, when its worker runs. Real-time safe.
    pub(crate) fn live_lane(&self) -> bool {
        self.lane.as_ref().is_some_and(Lane::alive)
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
    /// Done; its stretcher is on its way back from the lane's worker.
    Returning,
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
    /// Output frames dropped on top of the start delay (the hop stagger); on a worker's lane,
    /// every output frame the worker drops.
    pub(crate) extra: usize,
}

/// Priming progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stage {
    /// Feeding the start pad: frames left.
    Pad(usize),
    /// Dropping the start delay: output frames left (on a worker's lane: input frames left to
    /// feed for it and the lead).
    Drop(usize),
    /// Ready.
    Done,
}

impl Stage {
    /// Back from ready to waiting for output (a stage before is kept).
    pub(crate) fn min_drop(self) -> Stage {
        match self {
            Stage::Done => Stage::Drop(0),
            s => s,
        }
    }
}
