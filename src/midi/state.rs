//! State shared between controller threads, the control thread and LED feedback: the current
//! bank, the selected pad, what each pad is doing, the tempo and the engine clock. All atomics.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use crate::config::set::{GridSection, Quantize, SetFile};
use crate::engine::command::LaunchMode;
use crate::engine::event::{EngineEvent, EventKind};

/// What a pad shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PadStatus {
    /// No sample.
    Empty = 0,
    /// Sample loaded, silent.
    Loaded = 1,
    /// Playing.
    Playing = 2,
    /// Waiting for the quantisation point to start.
    QueuedStart = 3,
    /// Waiting for the quantisation point to stop.
    QueuedStop = 4,
    /// Its sample failed to load.
    Error = 5,
}

impl PadStatus {
    fn from_u8(v: u8) -> PadStatus {
        match v {
            1 => PadStatus::Loaded,
            2 => PadStatus::Playing,
            3 => PadStatus::QueuedStart,
            4 => PadStatus::QueuedStop,
            5 => PadStatus::Error,
            _ => PadStatus::Empty,
        }
    }
}

/// No pad selected.
pub const NONE: usize = usize::MAX;

/// Shared controller-side state of a running set.
pub struct SharedControl {
    /// The set's grid.
    pub grid: GridSection,
    /// Output sample rate.
    pub rate: u32,
    /// Launch quantisation.
    pub quantize: Quantize,
    /// Current bank.
    pub bank: AtomicUsize,
    /// Selected pad (global id) or [`NONE`].
    pub selected: AtomicUsize,
    /// Exclusive play mode on.
    pub exclusive: AtomicBool,
    bpm_bits: AtomicU32,
    status: Box<[AtomicU8]>,
    modes: Box<[AtomicU8]>,
    looping: Box<[AtomicBool]>,
    /// Bumped on every change that LEDs show.
    pub version: AtomicU64,
    clock_frame: AtomicU64,
    clock_nanos: AtomicU64,
    epoch: Instant,
}

impl SharedControl {
    /// State for `set` at `rate` Hz; pads start empty until [`mark_loaded`](Self::mark_loaded).
    pub fn new(set: &SetFile, rate: u32) -> Self {
        let n = set.grid.total_pads();
        let s = Self {
            grid: set.grid,
            rate,
            quantize: set.master.quantize,
            bank: AtomicUsize::new(0),
            selected: AtomicUsize::new(NONE),
            exclusive: AtomicBool::new(
                set.master.play_mode == crate::config::set::PlayModeName::Exclusive,
            ),
            bpm_bits: AtomicU32::new(set.master.bpm.to_bits()),
            status: (0..n).map(|_| AtomicU8::new(0)).collect(),
            modes: (0..n).map(|_| AtomicU8::new(0)).collect(),
            looping: (0..n).map(|_| AtomicBool::new(false)).collect(),
            version: AtomicU64::new(0),
            clock_frame: AtomicU64::new(0),
            clock_nanos: AtomicU64::new(0),
            epoch: Instant::now(),
        };
        for p in &set.pads {
            s.modes[p.id].store(p.mode as u8, Ordering::Relaxed);
            s.looping[p.id].store(p.looping, Ordering::Relaxed);
        }
        s
    }

    /// Marks which pads loaded and which failed (after the set loader ran).
    pub fn mark_loaded(&self, ready: &[usize], failed: &[usize]) {
        for &p in ready {
            self.set_status(p, PadStatus::Loaded);
        }
        for &p in failed {
            self.set_status(p, PadStatus::Error);
        }
    }

    /// A pad's status.
    pub fn status(&self, pad: usize) -> PadStatus {
        self.status.get(pad).map_or(PadStatus::Empty, |s| {
            PadStatus::from_u8(s.load(Ordering::Relaxed))
        })
    }

    /// Sets a pad's status.
    pub fn set_status(&self, pad: usize, st: PadStatus) {
        if let Some(s) = self.status.get(pad)
            && s.swap(st as u8, Ordering::Relaxed) != st as u8
        {
            self.version.fetch_add(1, Ordering::Release);
        }
    }

    /// A pad's launch mode.
    pub fn mode(&self, pad: usize) -> LaunchMode {
        match self.modes.get(pad).map_or(0, |m| m.load(Ordering::Relaxed)) {
            1 => LaunchMode::Gate,
            2 => LaunchMode::OneShot,
            3 => LaunchMode::Retrigger,
            _ => LaunchMode::Toggle,
        }
    }

    /// Whether a pad loops.
    pub fn looping(&self, pad: usize) -> bool {
        self.looping
            .get(pad)
            .is_some_and(|l| l.load(Ordering::Relaxed))
    }

    /// Tempo in BPM.
    pub fn bpm(&self) -> f32 {
        f32::from_bits(self.bpm_bits.load(Ordering::Relaxed))
    }

    /// Sets the tempo.
    pub fn set_bpm(&self, bpm: f32) {
        self.bpm_bits
            .store(bpm.clamp(20.0, 300.0).to_bits(), Ordering::Relaxed);
    }

    /// Marks any change LEDs should show.
    pub fn touch(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Global pad id of grid cell `(row, col)` in `bank`, if the set's grid has it.
    pub fn pad_at(&self, bank: usize, row: usize, col: usize) -> Option<usize> {
        let g = &self.grid;
        (bank < g.banks && row < g.rows && col < g.cols).then(|| g.pad_id(bank, row * g.cols + col))
    }

    /// Applies an engine event to the pad statuses.
    pub fn apply_event(&self, e: &EngineEvent) {
        match e.kind {
            EventKind::PadStarted(p) => self.set_status(p as usize, PadStatus::Playing),
            EventKind::PadStopped(p) | EventKind::PadEnded(p)
                if self.status(p as usize) != PadStatus::QueuedStart =>
            {
                self.set_status(p as usize, PadStatus::Loaded)
            }
            EventKind::VoiceStolen(p) => self.set_status(p as usize, PadStatus::Loaded),
            _ => {}
        }
    }

    /// Called by the audio callback after each block: the engine frame reached, now. Real-time
    /// safe (two atomic stores).
    pub fn publish_clock(&self, frame: u64) {
        self.clock_nanos
            .store(self.epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.clock_frame.store(frame, Ordering::Release);
    }

    /// Nanoseconds on the clock [`frame_at`](Self::frame_at) uses.
    pub fn now_nanos(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// The engine frame at time `nanos` (on [`now_nanos`](Self::now_nanos)'s clock),
    /// extrapolated from the last audio callback.
    pub fn frame_at(&self, nanos: u64) -> u64 {
        let frame = self.clock_frame.load(Ordering::Acquire);
        let at = self.clock_nanos.load(Ordering::Relaxed);
        let delta = nanos as i128 - at as i128;
        (frame as i128 + delta * self.rate as i128 / 1_000_000_000).max(0) as u64
    }

    /// The engine frame corresponding to now.
    pub fn frame_now(&self) -> u64 {
        self.frame_at(self.now_nanos())
    }

    /// The next quantisation point at or after `frame` (the frame itself when off).
    pub fn quantized(&self, frame: u64) -> u64 {
        let beats = match self.quantize {
            Quantize::Off => return frame,
            Quantize::Beat => 1.0,
            Quantize::Bar => 4.0,
        };
        let unit = (60.0 / self.bpm() as f64 * beats * self.rate as f64)
            .round()
            .max(1.0) as u64;
        frame.div_ceil(unit) * unit
    }
}
