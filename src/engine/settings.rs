//! Fixed capacities and timing constants of an engine.

/// Capacity of the engine's sorted list of commands waiting for their frame.
pub const PENDING_CAPACITY: usize = 512;

/// Fixed capacities and timing constants of an engine, fixed at construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineSettings {
    /// Output sample rate in Hz.
    pub sample_rate: u32,
    /// Maximum simultaneously playing voices (more start stealing).
    pub voices: usize,
    /// Total pads across all banks.
    pub pads: usize,
    /// Sample slots (distinct loaded buffers).
    pub sample_slots: usize,
    /// Control → engine command queue capacity.
    pub command_queue: usize,
    /// Engine → control event queue capacity.
    pub event_queue: usize,
    /// Commands drained per `process` call at most.
    pub command_budget: usize,
    /// Extra command queues, one per controller thread (see `EngineHandle::take_lane`).
    pub lanes: usize,
    /// Declick fade length for starts, stops, retriggers and steals, in milliseconds.
    pub fade_ms: f32,
    /// Smoothing time for gain and volume changes, in milliseconds.
    pub smooth_ms: f32,
    /// Largest block rendered in one internal pass (longer buffers are split).
    pub max_block: usize,
    /// Commands stamped further ahead than this are brought forward to it (and counted): a
    /// clock glitch can never park a command minutes in the future.
    pub max_ahead_ms: f32,
    /// Most real-time time stretchers the engine can hold (key lock and transpose); they are
    /// built off the audio thread and handed over (see `EngineHandle::add_stretcher`).
    pub stretch_units: usize,
    /// Frames of audio fed to stretchers being primed, per block at most (priming a stretcher
    /// costs about a millisecond of CPU on a small x86 machine; this bounds a block's share).
    pub prime_frames: u32,
    /// The real-time stretcher key lock plays through (the control side builds them).
    pub stretcher: crate::dsp::stretch::StretcherKind,
    /// Worker threads real-time stretchers may run ahead on (0: they run in the audio
    /// callback, deterministic, as offline renders need); started with
    /// `EngineHandle::start_stretch_workers`.
    pub stretch_workers: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            sample_rate: 48_000,
            voices: 64,
            pads: 8 * 64,
            sample_slots: 1024,
            command_queue: 1024,
            event_queue: 4096,
            command_budget: 256,
            lanes: 8,
            fade_ms: 3.0,
            smooth_ms: 20.0,
            max_block: 1024,
            max_ahead_ms: 2000.0,
            stretch_units: 64,
            prime_frames: 8192,
            stretcher: crate::dsp::stretch::StretcherKind::Signalsmith,
            stretch_workers: 0,
        }
    }
}

/// Errors in engine construction.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    /// A capacity or rate is out of range.
    #[error("invalid engine settings: {0}")]
    InvalidSettings(String),
}

impl EngineSettings {
    /// Checks every capacity and rate; the message names the setting and its allowed range.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: String| Err(EngineError::InvalidSettings(m));
        let s = self;
        let rate = super::params::SAMPLE_RATE;
        if !rate.contains(s.sample_rate as u64) {
            return bad(format!("sample rate {}", rate.out_of_range(s.sample_rate)));
        }
        if s.voices == 0 || s.voices > 4096 {
            return bad(format!("voices = {}; allowed 1 to 4096", s.voices));
        }
        if s.pads == 0 || s.pads > u16::MAX as usize {
            return bad(format!("pads = {}; allowed 1 to 65535", s.pads));
        }
        if s.sample_slots == 0 || s.sample_slots > u16::MAX as usize {
            return bad(format!(
                "sample slots = {}; allowed 1 to 65535",
                s.sample_slots
            ));
        }
        if s.command_queue == 0 || s.event_queue == 0 || s.command_budget == 0 || s.max_block == 0 {
            return bad("queue sizes and budgets must be > 0".into());
        }
        if s.stretch_units > 256 {
            return bad(format!(
                "stretch units = {}; allowed 0 to 256",
                s.stretch_units
            ));
        }
        if s.stretch_workers > 64 {
            return bad(format!(
                "stretch workers = {}; allowed 0 to 64",
                s.stretch_workers
            ));
        }
        if !(s.fade_ms.is_finite() && s.smooth_ms.is_finite() && s.max_ahead_ms > 0.0) {
            return bad("fade, smoothing and look-ahead times must be finite and positive".into());
        }
        Ok(())
    }

    /// Frames for a time in milliseconds at the engine rate (at least 1).
    pub fn frames(&self, ms: f32) -> u32 {
        ((ms / 1000.0) * self.sample_rate as f32).round().max(1.0) as u32
    }
}
