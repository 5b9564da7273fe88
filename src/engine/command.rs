//! Small `Copy` messages between the control side and the audio thread.

/// Index of a pad across all banks: `bank * pads_per_bank + row * cols + col`.
pub type PadId = u16;
/// Index of a sample slot in the engine's sample table.
pub type SlotId = u16;

/// How a pad reacts to presses and releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LaunchMode {
    /// Press starts, press again stops.
    #[default]
    Toggle,
    /// Plays while held; release stops.
    Gate,
    /// Plays the region once to its end; a press while playing restarts it.
    OneShot,
    /// Every press restarts from the beginning (loops until stopped).
    Retrigger,
}

/// Whether pads play together or one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlayMode {
    /// Any number of pads at once.
    #[default]
    Multi,
    /// Starting a pad stops every other playing pad.
    Exclusive,
}

/// A pad's sound-shaping settings (all knob-style values, see README for the curves).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PadFx {
    /// EQ knobs low/mid/high, 0..1 (0 = kill, 0.5 = flat, 1 = +6 dB).
    pub eq: [f32; 3],
    /// DJ filter knob 0..1 (0.5 = off, below = low-pass, above = high-pass).
    pub filter: f32,
    /// Filter resonance 0..1.
    pub resonance: f32,
    /// Send levels to the delay and the reverb, 0..1.
    pub sends: [f32; 2],
}

impl Default for PadFx {
    fn default() -> Self {
        Self {
            eq: [0.5; 3],
            filter: 0.5,
            resonance: 0.0,
            sends: [0.0; 2],
        }
    }
}

/// A send effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBus {
    /// The tempo-synced delay.
    Delay = 0,
    /// The reverb.
    Reverb = 1,
}

/// A global effect parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FxParam {
    /// Delay note division index: 0 = 1/4, 1 = 1/8, 2 = dotted 1/8, 3 = 1/16.
    DelayDivision,
    /// Delay feedback 0..0.95.
    DelayFeedback,
    /// Delay wet level 0..1.
    DelayWet,
    /// Reverb room size 0..1.
    ReverbRoom,
    /// Reverb damping 0..1.
    ReverbDamping,
    /// Reverb wet level 0..1.
    ReverbWet,
    /// Phaser LFO rate in Hz, 0.05..10.
    PhaserRate,
    /// Phaser depth 0..1.
    PhaserDepth,
    /// Phaser feedback 0..0.9.
    PhaserFeedback,
    /// Phaser mix 0..1 (0 = off).
    PhaserMix,
    /// Set tempo in BPM, 20..300.
    Bpm,
}

/// Everything the engine needs to play a pad; frame positions are at the engine rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PadConfig {
    /// Sample slot the pad plays.
    pub slot: SlotId,
    /// Frame where playback begins (the intro start, or `loop_start` when there is no intro).
    pub start: u32,
    /// Frame where the loop begins.
    pub loop_start: u32,
    /// Frame where the loop (or, without looping, playback) ends; exclusive.
    pub loop_end: u32,
    /// Whether the region loops (false: it plays to `loop_end` once).
    pub looping: bool,
    /// Linear gain.
    pub gain: f32,
    /// Playback speed factor (pitch follows), 0.5..=2.
    pub speed: f32,
    /// Launch behaviour.
    pub mode: LaunchMode,
    /// Choke group (0 = none): starting a pad stops the other pads of its group.
    pub choke: u8,
    /// EQ, filter and sends.
    pub fx: PadFx,
}

/// A control → engine command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// A pad was pressed (behaviour depends on its launch mode).
    Press(PadId),
    /// A pad was released (stops `gate` pads).
    Release(PadId),
    /// Stop a pad with a declick fade.
    Stop(PadId),
    /// Stop every pad.
    StopAll,
    /// Set or replace a pad's configuration (stops it if it is playing another sample).
    Assign(PadId, PadConfig),
    /// Remove a pad's sample (stops it).
    Clear(PadId),
    /// Unload a sample slot: pads using it are cleared and the buffer is handed back.
    Unload(SlotId),
    /// Master volume, linear gain (smoothed).
    MasterVolume(f32),
    /// Global speed factor, 0.5..=2, multiplied with each pad's speed.
    GlobalSpeed(f32),
    /// A pad's gain, linear (smoothed).
    PadGain(PadId, f32),
    /// A pad's speed factor.
    PadSpeed(PadId, f32),
    /// Set-wide play mode.
    PlayMode(PlayMode),
    /// A pad's EQ band (0 low, 1 mid, 2 high) knob, 0..1 (glides).
    PadEq(PadId, u8, f32),
    /// A pad's DJ filter knob, 0..1 (glides).
    PadFilter(PadId, f32),
    /// A pad's filter resonance, 0..1.
    PadResonance(PadId, f32),
    /// A pad's send level to an effect, 0..1 (smoothed).
    PadSend(PadId, SendBus, f32),
    /// A global effect parameter.
    Fx(FxParam, f32),
}

/// A command stamped with the engine frame at which it takes effect.
///
/// Frames in the past (including 0) take effect at the start of the next block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timed {
    /// Absolute engine frame (see `EngineStats::frames`).
    pub at: u64,
    /// The command.
    pub cmd: Command,
}

impl Timed {
    /// A command to apply as soon as possible.
    pub fn now(cmd: Command) -> Self {
        Self { at: 0, cmd }
    }
}
