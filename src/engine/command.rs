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

/// Launch quantisation of looping pads: a press takes effect on the next grid point of the
/// transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quantize {
    /// Presses take effect at once.
    #[default]
    Off,
    /// The next beat.
    Beat,
    /// The next bar.
    Bar,
    /// The next 2-bar line.
    TwoBars,
    /// The next 4-bar line.
    FourBars,
}

impl Quantize {
    /// The set file's spelling: "off", "beat", "bar", "2bars" or "4bars". Real-time safe.
    pub fn name(self) -> &'static str {
        match self {
            Quantize::Off => "off",
            Quantize::Beat => "beat",
            Quantize::Bar => "bar",
            Quantize::TwoBars => "2bars",
            Quantize::FourBars => "4bars",
        }
    }

    /// Grid spacing in beats for `beats_per_bar` (None when off). Real-time safe.
    pub fn beats(self, beats_per_bar: u32) -> Option<f64> {
        let bar = beats_per_bar.max(1) as f64;
        match self {
            Quantize::Off => None,
            Quantize::Beat => Some(1.0),
            Quantize::Bar => Some(bar),
            Quantize::TwoBars => Some(2.0 * bar),
            Quantize::FourBars => Some(4.0 * bar),
        }
    }
}

/// Which 3-band EQ a pad uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EqMode {
    /// A DJ-mixer isolator: Linkwitz-Riley crossovers, each band scaled (the default).
    #[default]
    Isolator,
    /// Low shelf, mid peak and high shelf (the specification's EQ).
    Shelf,
}

/// A pad's sound-shaping settings (all knob-style values, see README for the curves).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PadFx {
    /// EQ knobs low/mid/high, 0..1 (0 = kill, 0.5 = flat, 1 = +6 dB).
    pub eq: [f32; 3],
    /// Which EQ the knobs drive.
    pub eq_mode: EqMode,
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
            eq_mode: EqMode::default(),
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
}

impl FxParam {
    /// Every effect parameter, in declaration order (their `as usize` indices).
    pub const ALL: [FxParam; 10] = [
        FxParam::DelayDivision,
        FxParam::DelayFeedback,
        FxParam::DelayWet,
        FxParam::ReverbRoom,
        FxParam::ReverbDamping,
        FxParam::ReverbWet,
        FxParam::PhaserRate,
        FxParam::PhaserDepth,
        FxParam::PhaserFeedback,
        FxParam::PhaserMix,
    ];
}

/// What the control side tells the transport.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TransportCmd {
    /// Start from bar 1.
    Start,
    /// Stop: every pad and queued launch stops; the position is kept.
    Stop,
    /// Start again from where it stopped.
    Continue,
    /// Stop when running, else start from bar 1 (a controller's play button).
    Toggle,
    /// Tempo in BPM, 20..300 (glides over the glide time; keeps the bar phase).
    Tempo(f64),
    /// Tempo at once, no glide (an external clock, a tap).
    TempoNow(f64),
    /// Glide time of tempo changes, in milliseconds (0 = at once).
    Glide(f32),
    /// Beats per bar, 1..=32.
    Meter(u8),
    /// Late-press window in milliseconds: a quantised start pressed this soon after a grid
    /// line starts at once, phase-aligned as if pressed on it.
    LatePress(f32),
    /// A temporary tempo multiplier while a nudge button is held (1 = released).
    Nudge(f32),
    /// Moves the position to this beat (a MIDI song position pointer).
    Locate(f64),
    /// A tempo multiplier a clock follower uses to pull the transport's phase onto the
    /// clock's (1 = none); the tempo shown stays the clock's.
    Trim(f32),
    /// A tap of tap tempo: the tempo follows the last taps (up to 2 s apart), the bar phase
    /// stays where it is.
    Tap,
}

impl TransportCmd {
    fn is_finite(&self) -> bool {
        match *self {
            TransportCmd::Tempo(v) | TransportCmd::TempoNow(v) | TransportCmd::Locate(v) => {
                v.is_finite()
            }
            TransportCmd::Glide(v)
            | TransportCmd::LatePress(v)
            | TransportCmd::Nudge(v)
            | TransportCmd::Trim(v) => v.is_finite(),
            _ => true,
        }
    }
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
    /// Where in its last frame the region really ends (a resampled source's exact length is
    /// rarely whole): 0 = at `loop_end`; else at `loop_end - 1 + end_frac`. A loop of fractional
    /// length keeps the fraction from cycle to cycle instead of rounding every cycle.
    pub end_frac: f32,
    /// Whether the region loops (false: it plays to `loop_end` once).
    pub looping: bool,
    /// Linear gain.
    pub gain: f32,
    /// Playback speed factor (pitch follows), 0.5..=2.
    pub speed: f32,
    /// The sample's own tempo in BPM (0 = not known): synced pads play at master / this.
    pub bpm: f32,
    /// Follow the transport: speed master tempo / `bpm`, loop phase-locked to the bars.
    pub sync: bool,
    /// A synced loop started off the grid (no quantisation) starts in phase: at the place in
    /// its loop the transport's beat asks for, so its loop start falls on bar lines. False:
    /// it starts at its start wherever the press falls.
    pub in_phase: bool,
    /// Key lock: speed changes (pad, global, tempo sync, nudges, glides) change the tempo
    /// only, never the pitch.
    pub key_lock: bool,
    /// Transpose in semitones (cents as hundredths), -12.5..=12.5: the pitch moves, the tempo
    /// does not.
    pub transpose: f32,
    /// Launch behaviour.
    pub mode: LaunchMode,
    /// Choke group (0 = none): starting a pad stops the other pads of its group.
    pub choke: u8,
    /// Launch quantisation of this pad, overriding the engine's (None: the engine's).
    pub quantize: Option<Quantize>,
    /// EQ, filter and sends.
    pub fx: PadFx,
    /// Full mix or stems, and each stem's mute, solo and gain (a pad whose sample is a stem
    /// bundle; ignored otherwise).
    pub stems: super::stems::StemMix,
}

/// A change to a pad's stems (see `stems`). Stem numbers count from 0 in storage order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StemCmd {
    /// Play the stems (true) or the full mix (false); `None` toggles.
    Stems(Option<bool>),
    /// Mute a stem (true) or unmute it; `None` toggles.
    Mute(u8, Option<bool>),
    /// Solo a stem (true) or unsolo it; `None` toggles.
    Solo(u8, Option<bool>),
    /// Solo this stem alone (every other solo cleared), or clear the solos when it already is
    /// the only one (a controller's shift+pad).
    SoloOnly(u8),
    /// A stem's linear gain (see `params::STEM_GAIN_DB`).
    Gain(u8, f32),
    /// Back to the full mix with nothing muted or soloed and every gain at unity.
    Reset,
}

/// The buffer a voice reads and how it relates to the pad's sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Sample slot of the buffer.
    pub slot: SlotId,
    /// Region start, loop start and loop end in buffer frames.
    pub start: u32,
    /// See `start`.
    pub loop_start: u32,
    /// See `start`.
    pub loop_end: u32,
    /// See [`PadConfig::end_frac`].
    pub end_frac: f32,
    /// Buffer frames per source frame (1 for the sample itself).
    pub scale: f64,
    /// Pitch of the buffer read at one frame per output frame, relative to the sample.
    pub pitch0: f64,
}

/// The sample region a stretched table was made from. Real-time safe (plain data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSource {
    /// The sample's slot.
    pub slot: SlotId,
    /// Region start, loop start and loop end in sample frames.
    pub start: u32,
    /// See `start`.
    pub loop_start: u32,
    /// See `start`.
    pub loop_end: u32,
}

impl PadConfig {
    /// This configuration with `region`'s region of the sample (start, loop start and end)
    /// and tempo, everything else kept: what [`PadCmd::Reshape`] changes. Real-time safe.
    pub fn with_region_of(&self, region: &PadConfig) -> PadConfig {
        PadConfig {
            start: region.start,
            loop_start: region.loop_start,
            loop_end: region.loop_end,
            end_frac: region.end_frac,
            bpm: region.bpm,
            ..*self
        }
    }
}

impl TableSource {
    /// Whether a pad configured as `cfg` plays this region. Real-time safe.
    pub fn matches(&self, cfg: &PadConfig) -> bool {
        cfg.slot == self.slot
            && cfg.start == self.start
            && cfg.loop_start == self.loop_start
            && cfg.loop_end == self.loop_end
    }
}

pub use crate::sample::buffer::exact_end;

impl Geometry {
    /// The pad's own sample. Real-time safe.
    pub fn of(cfg: &PadConfig) -> Self {
        Self {
            slot: cfg.slot,
            start: cfg.start,
            loop_start: cfg.loop_start,
            loop_end: cfg.loop_end,
            end_frac: cfg.end_frac,
            scale: 1.0,
            pitch0: 1.0,
        }
    }

    /// Pitch per tempo this buffer gives when read directly. Real-time safe.
    pub fn k(&self) -> f64 {
        self.pitch0 * self.scale
    }
}

/// What a command does to one pad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadCmd {
    /// The pad was pressed (behaviour depends on its launch mode; looping pads other than gate
    /// pads wait for the next quantisation point of the transport when quantisation is on).
    Press,
    /// The pad was released: a gate pad stops once every press holding it has been released.
    Release,
    /// Stop the pad with a declick fade.
    Stop,
    /// Set or replace the pad's configuration (stops it if it is playing another sample).
    Assign(PadConfig),
    /// A new region of the pad's sample: `start`, `loop_start`, `loop_end`, `end_frac` and
    /// `bpm` are taken from the configuration, the rest of the pad's settings stay. A playing
    /// pad keeps playing on the new region (a cross-fade at the same place in its loop; a
    /// synced pad stays on the beat grid): the web editor's live preview of a loop being
    /// dragged. Ignored when the slot is not the pad's.
    Reshape(PadConfig),
    /// Remove the pad's sample (stops it).
    Clear,
    /// The pad's gain, linear (smoothed).
    Gain(f32),
    /// The pad's speed factor.
    Speed(f32),
    /// The pad's EQ band (0 low, 1 mid, 2 high) knob, 0..1 (glides).
    Eq(u8, f32),
    /// The pad's DJ filter knob, 0..1 (glides).
    Filter(f32),
    /// The pad's filter resonance, 0..1.
    Resonance(f32),
    /// The pad's send level to an effect, 0..1 (smoothed).
    Send(SendBus, f32),
    /// The pad's EQ mode (switching while it plays cross-fades).
    EqMode(EqMode),
    /// Turns the pad's tempo sync on or off, or toggles it (`None`); a playing pad re-syncs
    /// smoothly.
    Sync(Option<bool>),
    /// Turns the pad's key lock on or off, or toggles it (`None`).
    KeyLock(Option<bool>),
    /// The pad's transpose in semitones (cents as hundredths), -12.5..=12.5.
    Transpose(f32),
    /// Moves the pad's transpose by this many semitones (± buttons).
    TransposeBy(f32),
    /// A stretched table of the pad's sample is ready in a slot (see `keylock`). The engine
    /// refuses it when the pad no longer plays that source region (a set reloaded meanwhile).
    Table(TableSource, Geometry),
    /// The pad's stems: full mix or stems, mute, solo, gain (ramped, click-free).
    Stem(StemCmd),
}

impl PadCmd {
    /// Whether every number the command carries is finite. Real-time safe.
    pub fn is_finite(&self) -> bool {
        match *self {
            PadCmd::Reshape(c) => c.bpm.is_finite() && c.end_frac.is_finite(),
            PadCmd::Assign(c) => {
                c.gain.is_finite()
                    && c.speed.is_finite()
                    && c.bpm.is_finite()
                    && c.transpose.is_finite()
                    && c.fx.is_finite()
                    && c.stems.is_finite()
            }
            PadCmd::Stem(StemCmd::Gain(_, g)) => g.is_finite(),
            PadCmd::Table(_, g) => {
                g.scale.is_finite() && g.scale > 0.0 && g.pitch0.is_finite() && g.pitch0 > 0.0
            }
            PadCmd::Gain(v)
            | PadCmd::Speed(v)
            | PadCmd::Eq(_, v)
            | PadCmd::Filter(v)
            | PadCmd::Resonance(v)
            | PadCmd::Send(_, v)
            | PadCmd::Transpose(v)
            | PadCmd::TransposeBy(v) => v.is_finite(),
            PadCmd::Press
            | PadCmd::Release
            | PadCmd::Stop
            | PadCmd::Clear
            | PadCmd::EqMode(_)
            | PadCmd::Sync(_)
            | PadCmd::KeyLock(_)
            | PadCmd::Stem(_) => true,
        }
    }

    /// Whether the command changes the pad's settings (what the live state shows), as opposed
    /// to playing it. Real-time safe.
    pub fn changes_settings(&self) -> bool {
        !matches!(
            self,
            PadCmd::Press | PadCmd::Release | PadCmd::Stop | PadCmd::Table(..)
        )
    }
}

/// A control → engine command. Every variant is a small `Copy` value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Something for one pad.
    Pad(PadId, PadCmd),
    /// Stop every pad.
    StopAll,
    /// Unload a sample slot: pads using it are cleared and the buffer is handed back.
    Unload(SlotId),
    /// Master volume, linear gain (smoothed).
    MasterVolume(f32),
    /// Global speed factor, 0.5..=2, multiplied with each pad's speed.
    GlobalSpeed(f32),
    /// Set-wide play mode.
    PlayMode(PlayMode),
    /// A global effect parameter.
    Fx(FxParam, f32),
    /// Launch quantisation of looping pads.
    Quantize(Quantize),
    /// The isolator EQ's crossover frequencies in Hz (low, high), for every pad.
    EqCrossovers(f32, f32),
    /// The transport.
    Transport(TransportCmd),
    /// Emits MIDI clock messages (someone reads them) or not.
    ClockOut(bool),
    /// Key lock on or off for every pad, or toggled (`None`).
    GlobalKeyLock(Option<bool>),
    /// A table is going away: pads forget it, and the slot is handed back once no voice
    /// reads it (voices on it move to a stretcher or another table first).
    TableDrop(SlotId),
    /// At most this many voices use a real-time stretcher at once (the overload governor's
    /// limit; the pool may hold more), and at most this many frames are fed to stretchers
    /// being primed per block.
    StretchBudget(u16, u32),
    /// Recording into a pad (see `engine::record`).
    Record(PadId, super::record::RecordCmd),
    /// The audio input: monitoring, latency compensation, first-take length.
    Input(super::record::InputCmd),
}

impl PadFx {
    /// Whether every value is finite. Real-time safe.
    pub fn is_finite(&self) -> bool {
        self.eq
            .iter()
            .chain(self.sends.iter())
            .all(|v| v.is_finite())
            && self.filter.is_finite()
            && self.resonance.is_finite()
    }
}

impl Command {
    /// Whether every number the command carries is finite (NaN and infinities are refused at
    /// the handle and ignored by the engine). Real-time safe.
    pub fn is_finite(&self) -> bool {
        match *self {
            Command::Pad(_, c) => c.is_finite(),
            Command::Transport(t) => t.is_finite(),
            Command::MasterVolume(v) | Command::GlobalSpeed(v) | Command::Fx(_, v) => v.is_finite(),
            Command::EqCrossovers(a, b) => a.is_finite() && b.is_finite(),
            Command::StopAll
            | Command::Unload(_)
            | Command::PlayMode(_)
            | Command::Quantize(_)
            | Command::ClockOut(_)
            | Command::GlobalKeyLock(_)
            | Command::TableDrop(_)
            | Command::StretchBudget(..)
            | Command::Record(..)
            | Command::Input(_) => true,
        }
    }

    /// A command for pad `p`. Real-time safe.
    pub fn pad(p: PadId, cmd: PadCmd) -> Self {
        Command::Pad(p, cmd)
    }
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
    /// A command to apply as soon as possible. Real-time safe.
    pub fn now(cmd: Command) -> Self {
        Self { at: 0, cmd }
    }
}
