//! State shared between controller threads, the control thread and LED feedback: the current
//! bank, the selected pad, the tempo shown, and what each pad looks like. Pad states come from
//! what the engine publishes ([`EngineStats::pads`]), never from an event stream that can drop;
//! load errors are the only control-side overlay. All atomics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::config::set::{GridSection, SetFile};
use crate::engine::command::LaunchMode;
use crate::engine::shared::{EngineStats, PadState, mono_nanos};
use crate::sample::buffer::MAX_STEMS;

/// What a pad shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadStatus {
    /// No sample.
    Empty,
    /// Sample loaded, silent.
    Loaded,
    /// Playing.
    Playing,
    /// Waiting for the quantisation point to start.
    QueuedStart,
    /// Waiting for the quantisation point to stop.
    QueuedStop,
    /// Its sample failed to load.
    Error,
}

/// Ableton Link as controllers see it (the control loop keeps it current). All atomics.
#[derive(Debug, Default)]
pub struct LinkShown {
    /// Link is on.
    pub on: AtomicBool,
    /// Other Link apps in the session.
    pub peers: AtomicU32,
    /// A controller asked to switch Link on or off (the control loop takes it).
    pub toggle_requested: AtomicBool,
}

/// No pad selected.
pub const NONE: usize = usize::MAX;

/// Shared controller-side state of a running set.
pub struct SharedControl {
    /// The set's grid.
    pub grid: GridSection,
    /// Output sample rate.
    pub rate: u32,
    /// Current bank.
    pub bank: AtomicUsize,
    /// Selected pad (global id) or [`NONE`].
    pub selected: AtomicUsize,
    /// Exclusive play mode on.
    pub exclusive: AtomicBool,
    /// How much a nudge button changes the tempo, in %.
    pub nudge: f32,
    /// Pads whose sample failed to load (shown with the error look).
    failed: Box<[AtomicBool]>,
    /// Pads the set assigns a sample to.
    assigned: Box<[AtomicBool]>,
    modes: Box<[AtomicU8]>,
    /// Bumped on every control-side change that LEDs show (bank, selection, shift, ...).
    pub version: AtomicU64,
    /// The engine's meters, counters, pad states and clock.
    pub engine: Arc<EngineStats>,
    /// A controller asked to forget the saved state (the control loop takes it).
    pub reset_requested: AtomicBool,
    /// Stem mode: the profile's `[stems]` row controls the selected pad's stems.
    pub stem_mode: AtomicBool,
    /// Ableton Link as controllers show it.
    pub link: LinkShown,
    /// The set has loaded and recording is set up (until then a pad still loading, or a
    /// record action, is refused as not ready yet).
    pub ready: AtomicBool,
    /// Stems per pad (0: none).
    stem_count: Box<[AtomicU8]>,
    /// Each stem's colour as `0xRRGGBB`.
    stem_colors: Box<[[AtomicU32; MAX_STEMS]]>,
}

impl SharedControl {
    /// State for `set` at `rate` Hz, reading pad states from `engine`.
    pub fn new(set: &SetFile, rate: u32, engine: Arc<EngineStats>) -> Self {
        let n = set.grid.total_pads();
        mono_nanos();
        let s = Self {
            grid: set.grid,
            rate,
            bank: AtomicUsize::new(0),
            selected: AtomicUsize::new(NONE),
            exclusive: AtomicBool::new(
                set.master.play_mode == crate::config::set::PlayModeName::Exclusive,
            ),
            nudge: set.master.nudge,
            failed: (0..n).map(|_| AtomicBool::new(false)).collect(),
            assigned: (0..n).map(|_| AtomicBool::new(false)).collect(),
            modes: (0..n).map(|_| AtomicU8::new(0)).collect(),
            version: AtomicU64::new(0),
            reset_requested: AtomicBool::new(false),
            stem_mode: AtomicBool::new(false),
            link: LinkShown::default(),
            ready: AtomicBool::new(false),
            stem_count: (0..n).map(|_| AtomicU8::new(0)).collect(),
            stem_colors: (0..n)
                .map(|_| std::array::from_fn(|_| AtomicU32::new(0)))
                .collect(),
            engine,
        };
        for p in &set.pads {
            s.modes[p.id].store(p.mode as u8, Ordering::Relaxed);
            s.assigned[p.id].store(true, Ordering::Relaxed);
        }
        s.update_stems(set);
        s
    }

    /// Takes the stems' count and colours of `set`'s pads (read from the files' names and
    /// metadata, nothing decoded).
    fn update_stems(&self, set: &SetFile) {
        for c in self.stem_count.iter() {
            c.store(0, Ordering::Relaxed);
        }
        for p in set.pads.iter().filter(|p| p.id < self.stem_count.len()) {
            let infos = set.stem_infos(p.id).unwrap_or_default();
            let n = infos.len().min(MAX_STEMS);
            for (a, i) in self.stem_colors[p.id].iter().zip(&infos) {
                let [r, g, b] = i.color;
                a.store(u32::from_be_bytes([0, r, g, b]), Ordering::Relaxed);
            }
            self.stem_count[p.id].store(n as u8, Ordering::Relaxed);
        }
    }

    /// Pad `pad`'s stem colours (empty: no stems). Never blocks.
    pub fn stems(&self, pad: usize) -> Vec<[u8; 3]> {
        let n = self
            .stem_count
            .get(pad)
            .map_or(0, |c| c.load(Ordering::Relaxed)) as usize;
        (0..n)
            .map(|i| {
                let [_, r, g, b] = self.stem_colors[pad][i]
                    .load(Ordering::Relaxed)
                    .to_be_bytes();
                [r, g, b]
            })
            .collect()
    }

    /// Takes a reloaded set's pads (launch modes, which pads have a sample, which failed) and
    /// play mode. Never blocks.
    pub fn update_pads(&self, set: &SetFile, failed: &[usize]) {
        for i in 0..self.modes.len() {
            self.assigned[i].store(false, Ordering::Relaxed);
            self.failed[i].store(false, Ordering::Relaxed);
        }
        for p in set.pads.iter().filter(|p| p.id < self.modes.len()) {
            self.modes[p.id].store(p.mode as u8, Ordering::Relaxed);
            self.assigned[p.id].store(true, Ordering::Relaxed);
        }
        self.exclusive.store(
            set.master.play_mode == crate::config::set::PlayModeName::Exclusive,
            Ordering::Relaxed,
        );
        self.update_stems(set);
        self.mark_failed(failed);
    }

    /// Marks pads whose sample failed to load (after the set loader ran).
    pub fn mark_failed(&self, failed: &[usize]) {
        for &p in failed {
            if let Some(f) = self.failed.get(p) {
                f.store(true, Ordering::Relaxed);
            }
        }
        self.touch();
    }

    /// A pad's status: the engine's state, or the error look for a pad that failed to load.
    pub fn status(&self, pad: usize) -> PadStatus {
        match self.engine.pads.get(pad) {
            PadState::Empty
                if self
                    .failed
                    .get(pad)
                    .is_some_and(|f| f.load(Ordering::Relaxed)) =>
            {
                PadStatus::Error
            }
            PadState::Empty => PadStatus::Empty,
            PadState::Loaded => PadStatus::Loaded,
            PadState::Playing => PadStatus::Playing,
            PadState::QueuedStart => PadStatus::QueuedStart,
            PadState::QueuedStop => PadStatus::QueuedStop,
        }
    }

    /// Whether the set gives the pad a sample that did not fail to load (it can be pressed,
    /// even before the engine has taken the assignment in).
    pub fn playable(&self, pad: usize) -> bool {
        let get = |v: &[AtomicBool]| v.get(pad).is_some_and(|f| f.load(Ordering::Relaxed));
        get(&self.assigned) && !get(&self.failed)
    }

    /// A pad's launch mode (from the set).
    pub fn mode(&self, pad: usize) -> LaunchMode {
        match self.modes.get(pad).map_or(0, |m| m.load(Ordering::Relaxed)) {
            1 => LaunchMode::Gate,
            2 => LaunchMode::OneShot,
            3 => LaunchMode::Retrigger,
            _ => LaunchMode::Toggle,
        }
    }

    /// Marks any change LEDs should show.
    pub fn touch(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// A number that changes whenever anything LEDs show has changed (control-side state or
    /// an engine pad state).
    pub fn led_version(&self) -> u64 {
        // The beat lights change four times a beat while the transport runs.
        let t = &self.engine.transport;
        let beat = if t.running() {
            (t.beat() * 4.0).floor() as u64
        } else {
            u64::MAX
        };
        // The stem row shows the live mutes and solos, knob rings the live values.
        let live = self.engine.live.version();
        self.version
            .load(Ordering::Acquire)
            .wrapping_add(self.engine.pads.version().wrapping_mul(0x9E37_79B9))
            .wrapping_add(beat.wrapping_mul(0x85EB_CA6B))
            .wrapping_add(live.wrapping_mul(0xC2B2_AE35))
    }

    /// Whether the set gives pad `p` a sample.
    pub fn assigned(&self, p: usize) -> bool {
        self.assigned
            .get(p)
            .is_some_and(|a| a.load(Ordering::Relaxed))
    }

    /// Global pad id of grid cell `(row, col)` in `bank`, if the set's grid has it.
    pub fn pad_at(&self, bank: usize, row: usize, col: usize) -> Option<usize> {
        let g = &self.grid;
        (bank < g.banks && row < g.rows && col < g.cols).then(|| g.pad_id(bank, row * g.cols + col))
    }

    /// The engine frame at time `nanos` (see [`EngineClock::frame_at`]).
    ///
    /// [`EngineClock::frame_at`]: crate::engine::shared::EngineClock::frame_at
    pub fn frame_at(&self, nanos: u64) -> u64 {
        self.engine.clock.frame_at(nanos, self.rate)
    }

    /// The engine frame corresponding to now.
    pub fn frame_now(&self) -> u64 {
        self.frame_at(mono_nanos())
    }
}
