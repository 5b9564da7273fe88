//! What the audio thread publishes to the control side: meters, drop counters, per-pad states
//! and the engine clock. All atomics: writing is real-time safe, reading never blocks the
//! writer.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering, fence};
use std::time::Instant;

/// Something that was lost, degraded or repaired instead of failing, counted so it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Counter {
    /// A controller message did not fit its command lane (the controller thread outran the
    /// audio, or the audio is not running).
    LaneFull,
    /// A command did not fit the engine's command queue.
    QueueFull,
    /// An engine event did not fit the event queue.
    EventsDropped,
    /// A voice was stolen to make room for another.
    VoicesStolen,
    /// Malformed or cut-off MIDI from a controller.
    MidiErrors,
    /// The engine's list of timed commands was full: the earliest was applied early.
    PendingOverflow,
    /// A non-finite value (NaN or infinity) was replaced by silence, or a filter or effect was
    /// reset after its state went non-finite.
    NonFinite,
    /// A voice had to be cut without a fade (no voice slot free at all).
    HardCuts,
    /// A command stamped too far in the future was brought forward.
    FarFuture,
    /// A key-locked or transposed voice played off pitch for a while because no real-time
    /// stretcher was free (the overload governor).
    Governed,
    /// A stretcher gave less audio than a block needed (silence filled the gap).
    StretchStarved,
    /// A streamed pad's audio did not arrive from disk in time (it faded out until it did).
    DiskStarved,
    /// A block found less audio input than it needed (silence filled the gap).
    InputUnderrun,
    /// Audio input did not fit the input ring and was dropped.
    InputOverrun,
    /// Recorded frames did not fit the ring to the disk writer (the file misses them).
    RecordLost,
}

/// Display name, status-line label and advice for each counter.
pub struct CounterInfo {
    /// The counter.
    pub counter: Counter,
    /// Short label for the status line.
    pub label: &'static str,
    /// What it means and what to do, logged once at the first occurrence.
    pub advice: &'static str,
}

/// Every counter with its label and advice, in display order.
pub const COUNTERS: &[CounterInfo] = &[
    CounterInfo {
        counter: Counter::LaneFull,
        label: "lane full",
        advice: "controller messages were dropped because the audio engine did not take them in time; check that audio is running (xruns, device errors) and that the controller is not flooding",
    },
    CounterInfo {
        counter: Counter::QueueFull,
        label: "queue full",
        advice: "commands were dropped because the engine's command queue was full; is the audio running? a very large set may need fewer pads",
    },
    CounterInfo {
        counter: Counter::EventsDropped,
        label: "events dropped",
        advice: "engine events were dropped (the control thread fell behind); pad lights still follow the engine's own state",
    },
    CounterInfo {
        counter: Counter::VoicesStolen,
        label: "stolen",
        advice: "the polyphony limit was reached and voices were stolen; raise `voices` in [master] if pads cut each other off",
    },
    CounterInfo {
        counter: Counter::MidiErrors,
        label: "MIDI errors",
        advice: "malformed or cut-off MIDI messages arrived from a controller and were ignored; check the cable or USB hub",
    },
    CounterInfo {
        counter: Counter::PendingOverflow,
        label: "early",
        advice: "more timed commands were waiting than the engine holds; the earliest ones were applied a little early",
    },
    CounterInfo {
        counter: Counter::NonFinite,
        label: "non-finite",
        advice: "a NaN or infinite value was replaced by silence or a filter/effect was reset; check float sample files and scripts",
    },
    CounterInfo {
        counter: Counter::HardCuts,
        label: "hard cuts",
        advice: "a voice was cut without a fade because every voice slot was busy; raise `voices` in [master]",
    },
    CounterInfo {
        counter: Counter::FarFuture,
        label: "far future",
        advice: "commands stamped far in the future were brought forward (a clock problem after an audio outage)",
    },
    CounterInfo {
        counter: Counter::Governed,
        label: "governed",
        advice: "key-locked or transposed pads played slightly off pitch because every real-time stretcher was busy; raise `keylock_voices` in [master] if the machine has CPU to spare, or give the stretched tables time to render",
    },
    CounterInfo {
        counter: Counter::StretchStarved,
        label: "stretch starved",
        advice: "a time stretcher gave less audio than needed and silence filled the gap: its worker thread fell behind (the machine is busier than the pool was sized for; lower `keylock_voices` in [master]) or, without workers, please report this",
    },
    CounterInfo {
        counter: Counter::DiskStarved,
        label: "disk starved",
        advice: "a streamed pad's audio did not arrive from disk in time, so it faded out until it did; use faster storage (a USB SSD), raise `memory_limit` in [master] so more stays in RAM, or see `padlooper check --plan`",
    },
    CounterInfo {
        counter: Counter::InputUnderrun,
        label: "input underrun",
        advice: "the audio input delivered less than the engine needed and silence filled the gap (a recording has a hole there); check the input device (xruns, USB power) or raise `buffer_size` in [master]",
    },
    CounterInfo {
        counter: Counter::InputOverrun,
        label: "input overrun",
        advice: "audio input arrived faster than the engine took it and was dropped (a recording misses it); check that audio output is running",
    },
    CounterInfo {
        counter: Counter::RecordLost,
        label: "record lost",
        advice: "recorded audio could not be handed to the disk writer in time, so the recording's file misses some (the pad still plays it all); use faster storage or check the log for disk errors",
    },
];

const N_COUNTERS: usize = 15;

/// Drop and repair counters, shared by the engine, controller threads and the control thread.
#[derive(Debug, Default)]
pub struct Counters {
    values: [AtomicU64; N_COUNTERS],
}

impl Counters {
    /// Adds `n` to a counter. Real-time safe.
    #[inline]
    pub fn add(&self, c: Counter, n: u64) {
        self.values[c as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one. Real-time safe.
    #[inline]
    pub fn bump(&self, c: Counter) {
        self.add(c, 1);
    }

    /// A counter's value. Real-time safe.
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize].load(Ordering::Relaxed)
    }

    /// Every counter's value, in [`COUNTERS`] order. Real-time safe.
    pub fn snapshot(&self) -> [u64; N_COUNTERS] {
        std::array::from_fn(|i| self.get(COUNTERS[i].counter))
    }
}

/// What a pad is doing, as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PadState {
    /// No sample assigned.
    Empty = 0,
    /// A sample is assigned; silent.
    Loaded = 1,
    /// Playing.
    Playing = 2,
    /// Waiting for the quantisation point to start.
    QueuedStart = 3,
    /// Waiting for the quantisation point to stop.
    QueuedStop = 4,
}

impl PadState {
    fn from_u8(v: u8) -> PadState {
        match v {
            1 => PadState::Loaded,
            2 => PadState::Playing,
            3 => PadState::QueuedStart,
            4 => PadState::QueuedStop,
            _ => PadState::Empty,
        }
    }
}

/// Per-pad states written by the engine; the control side (LEDs, status) reads them, so pad
/// lights never depend on an event queue that can drop.
#[derive(Debug)]
pub struct PadStates {
    states: Box<[AtomicU8]>,
    /// [`PadFlags`] bits per pad.
    flags: Box<[AtomicU8]>,
    /// Bumped whenever any state changes (LED refresh trigger).
    version: AtomicU64,
}

impl PadStates {
    /// `pads` states, all empty. Allocates; not real-time safe.
    pub fn new(pads: usize) -> Self {
        Self {
            states: (0..pads).map(|_| AtomicU8::new(0)).collect(),
            flags: (0..pads).map(|_| AtomicU8::new(0)).collect(),
            version: AtomicU64::new(0),
        }
    }

    /// Publishes a pad's state. Real-time safe.
    #[inline]
    pub fn set(&self, pad: usize, s: PadState) {
        if let Some(a) = self.states.get(pad)
            && a.swap(s as u8, Ordering::Relaxed) != s as u8
        {
            self.version.fetch_add(1, Ordering::Release);
        }
    }

    /// Publishes a pad's settings that controllers show. Real-time safe.
    #[inline]
    pub fn set_flags(&self, pad: usize, f: PadFlags) {
        if let Some(a) = self.flags.get(pad)
            && a.swap(f.0, Ordering::Relaxed) != f.0
        {
            self.version.fetch_add(1, Ordering::Release);
        }
    }

    /// A pad's settings that controllers show. Real-time safe.
    pub fn flags(&self, pad: usize) -> PadFlags {
        PadFlags(self.flags.get(pad).map_or(0, |a| a.load(Ordering::Relaxed)))
    }

    /// A pad's state (Empty for an unknown pad). Real-time safe.
    pub fn get(&self, pad: usize) -> PadState {
        self.states.get(pad).map_or(PadState::Empty, |a| {
            PadState::from_u8(a.load(Ordering::Relaxed))
        })
    }

    /// Changes so far (compare with an earlier value to see whether anything changed).
    /// Real-time safe.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Number of pads.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether there are no pads.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}

/// A pad's settings a controller shows (key lock, sync, transpose), as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PadFlags(pub u8);

impl PadFlags {
    /// Key lock is on.
    pub const KEY_LOCK: u8 = 1;
    /// The pad follows the transport.
    pub const SYNC: u8 = 2;
    /// Transposed up.
    pub const UP: u8 = 4;
    /// Transposed down.
    pub const DOWN: u8 = 8;

    /// Whether a flag is set. Real-time safe.
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// Nanoseconds since the first call in this process (a monotonic clock every thread shares).
/// Real-time safe after the first call (which the control side makes at start-up).
pub fn mono_nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A reading of the engine clock: engine frame `frame` was reached at `nanos` (on
/// [`mono_nanos`]' clock); blocks are `block` frames long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockReading {
    /// Engine frame at the end of the last rendered block.
    pub frame: u64,
    /// When that block was rendered.
    pub nanos: u64,
    /// Frames in the last block (the output's callback size).
    pub block: u64,
    /// How long after the callback its first frame is heard (the output's buffering), ns.
    pub out_delay: u64,
}

impl ClockReading {
    /// When engine frame `frame` leaves the speakers (on [`mono_nanos`]' clock), given the
    /// engine's own output latency in frames.
    pub fn play_time(&self, frame: u64, rate: u32, latency: u64) -> u64 {
        let block_start = self.frame.saturating_sub(self.block) as i128;
        let df = frame as i128 + latency as i128 - block_start;
        (self.nanos as i128 + self.out_delay as i128 + df * 1_000_000_000 / rate as i128).max(0)
            as u64
    }
}

/// The engine clock as the output front-end publishes it after each callback: a seqlock, so a
/// reader never pairs the frame of one callback with the time of another.
#[derive(Debug, Default)]
pub struct EngineClock {
    seq: AtomicU64,
    frame: AtomicU64,
    nanos: AtomicU64,
    block: AtomicU64,
    out_delay: AtomicU64,
}

/// After this long without a callback the audio is taken to be stopped: new controller
/// commands are stamped at the last frame reached (they play as soon as audio returns) instead
/// of being extrapolated into a future the engine has not reached.
pub const STALE_NANOS: u64 = 200_000_000;

impl EngineClock {
    /// Publishes a reading. Real-time safe (single writer: the audio callback).
    pub fn publish(&self, frame: u64, nanos: u64, block: u64) {
        self.publish_with_delay(frame, nanos, block, 0);
    }

    /// Publishes a reading with the output's delay (callback to playback). Real-time safe.
    pub fn publish_with_delay(&self, frame: u64, nanos: u64, block: u64, out_delay: u64) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.frame.store(frame, Ordering::Relaxed);
        self.nanos.store(nanos, Ordering::Relaxed);
        self.block.store(block, Ordering::Relaxed);
        self.out_delay.store(out_delay, Ordering::Relaxed);
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// A consistent reading (None before the first publish). Real-time safe; retries while a
    /// publish is in progress.
    pub fn read(&self) -> Option<ClockReading> {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let r = ClockReading {
                frame: self.frame.load(Ordering::Relaxed),
                nanos: self.nanos.load(Ordering::Relaxed),
                block: self.block.load(Ordering::Relaxed),
                out_delay: self.out_delay.load(Ordering::Relaxed),
            };
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s1 {
                return (s1 != 0).then_some(r);
            }
        }
    }

    /// The engine frame at time `nanos`: extrapolated from the last callback while audio runs;
    /// the last frame reached when the clock is stale (audio stopped) or was never published.
    /// Not for the audio thread's hot path (it is, however, allocation-free).
    pub fn frame_at(&self, nanos: u64, rate: u32) -> u64 {
        let Some(r) = self.read() else { return 0 };
        let delta = nanos as i128 - r.nanos as i128;
        if delta > STALE_NANOS as i128 {
            return r.frame;
        }
        (r.frame as i128 + delta * rate as i128 / 1_000_000_000).max(0) as u64
    }
}

/// The transport as the engine last published it (after each block).
#[derive(Debug, Default)]
pub struct TransportView {
    /// Set tempo (BPM) as `f32` bits.
    bpm_bits: AtomicU32,
    /// The tempo the position advances at (glides and nudges included), `f64` bits.
    effective_bits: AtomicU64,
    /// Engine frame the published beat belongs to.
    frame: AtomicU64,
    /// Position in beats at the end of the last block, as `f64` bits.
    beat_bits: AtomicU64,
    /// Beats per bar.
    beats_per_bar: AtomicU32,
    /// Whether the transport runs.
    running: std::sync::atomic::AtomicBool,
}

impl TransportView {
    /// Publishes the transport's state at engine frame `frame`. Real-time safe.
    pub fn publish(
        &self,
        frame: u64,
        bpm: f64,
        effective: f64,
        beat: f64,
        beats_per_bar: u32,
        running: bool,
    ) {
        self.bpm_bits
            .store((bpm as f32).to_bits(), Ordering::Relaxed);
        self.effective_bits
            .store(effective.to_bits(), Ordering::Relaxed);
        self.frame.store(frame, Ordering::Relaxed);
        self.beat_bits.store(beat.to_bits(), Ordering::Relaxed);
        self.beats_per_bar.store(beats_per_bar, Ordering::Relaxed);
        self.running.store(running, Ordering::Release);
    }

    /// The set tempo in BPM (120 before the engine ran). Real-time safe.
    pub fn bpm(&self) -> f32 {
        let b = f32::from_bits(self.bpm_bits.load(Ordering::Relaxed));
        if b > 0.0 { b } else { 120.0 }
    }

    /// The transport's beat at engine frame `frame`, extrapolated from the last block at the
    /// effective tempo (a close estimate; the engine itself is exact). Real-time safe.
    pub fn beat_at(&self, frame: u64, rate: u32) -> f64 {
        let beat = self.beat();
        if !self.running() {
            return beat;
        }
        let at = self.frame.load(Ordering::Relaxed);
        let bpm = f64::from_bits(self.effective_bits.load(Ordering::Relaxed));
        beat + (frame as f64 - at as f64) * bpm / (60.0 * rate as f64)
    }

    /// The position in beats at the end of the last block. Real-time safe.
    pub fn beat(&self) -> f64 {
        f64::from_bits(self.beat_bits.load(Ordering::Relaxed))
    }

    /// Beats per bar. Real-time safe.
    pub fn beats_per_bar(&self) -> u32 {
        self.beats_per_bar.load(Ordering::Relaxed).max(1)
    }

    /// Whether the transport runs. Real-time safe.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }
}

/// Meters shared between the audio thread and the control side (all atomics, real-time safe).
#[derive(Debug)]
pub struct EngineStats {
    /// Frames rendered since the engine was created (the engine clock).
    pub frames: AtomicU64,
    /// Voices currently sounding (including fading ones).
    pub active_voices: AtomicU32,
    /// Highest absolute output sample since last read, as `f32` bits (read with `take_peak`).
    pub peak_bits: AtomicU32,
    /// Audio callback load of the last callback, in per-mille of the block budget (set by the
    /// output front-end).
    pub load_permille: AtomicU32,
    /// Highest callback load since last read, per-mille (set by the output front-end).
    pub load_max_permille: AtomicU32,
    /// Buffer underruns/overruns reported by the output (set by the output front-end).
    pub xruns: AtomicU64,
    /// Lowest master limiter gain since last read, as `f32` bits (read with `take_limiter_gain`).
    pub limiter_gain_bits: AtomicU32,
    /// Callbacks that took longer than their time budget (set by the output front-end).
    pub overloads: AtomicU64,
    /// Whether the last block's arithmetic flushed subnormals (false on a platform without
    /// flush-to-zero: the DSP then relies on its own guards).
    pub flushed: std::sync::atomic::AtomicBool,
    /// Drop and repair counters.
    pub counters: Counters,
    /// Per-pad states.
    pub pads: PadStates,
    /// The clock the output publishes after each callback.
    pub clock: EngineClock,
    /// The transport's tempo and position.
    pub transport: TransportView,
    /// What key lock is doing.
    pub keylock: super::keylock::view::KeylockView,
    /// What the performer changed while playing (see [`super::live`]).
    pub live: super::live::LiveState,
    /// Per-pad level meters (measured only while a screen watches).
    pub meters: super::meters::PadMeters,
    /// The audio input and recording.
    pub record: super::record::RecordView,
}

impl EngineStats {
    /// Meters for an engine with `pads` pads. Allocates; not real-time safe.
    pub fn new(pads: usize) -> Self {
        Self {
            frames: AtomicU64::new(0),
            active_voices: AtomicU32::new(0),
            peak_bits: AtomicU32::new(0),
            load_permille: AtomicU32::new(0),
            load_max_permille: AtomicU32::new(0),
            xruns: AtomicU64::new(0),
            flushed: std::sync::atomic::AtomicBool::new(false),
            limiter_gain_bits: AtomicU32::new(1.0f32.to_bits()),
            overloads: AtomicU64::new(0),
            counters: Counters::default(),
            pads: PadStates::new(pads),
            clock: EngineClock::default(),
            transport: TransportView::default(),
            keylock: Default::default(),
            live: super::live::LiveState::new(pads),
            meters: super::meters::PadMeters::new(pads),
            record: Default::default(),
        }
    }

    /// Returns and resets the lowest limiter gain since the last call (1 = no limiting).
    /// Real-time safe.
    pub fn take_limiter_gain(&self) -> f32 {
        f32::from_bits(
            self.limiter_gain_bits
                .swap(1.0f32.to_bits(), Ordering::Relaxed),
        )
    }

    /// Lowers the recorded limiter gain to `g` if lower. Real-time safe.
    pub fn record_limiter_gain(&self, g: f32) {
        self.limiter_gain_bits
            .fetch_min(g.max(0.0).to_bits(), Ordering::Relaxed);
    }

    /// Returns and resets the output peak since the last call. Real-time safe.
    pub fn take_peak(&self) -> f32 {
        f32::from_bits(self.peak_bits.swap(0, Ordering::Relaxed))
    }

    /// Raises the recorded peak to `peak` if higher (NaN is ignored). Real-time safe.
    pub fn record_peak(&self, peak: f32) {
        if peak >= 0.0 {
            self.peak_bits.fetch_max(peak.to_bits(), Ordering::Relaxed);
        }
    }

    /// Engine clock in frames. Real-time safe.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }

    /// Voices stolen since start. Real-time safe.
    pub fn voices_stolen(&self) -> u64 {
        self.counters.get(Counter::VoicesStolen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_table_covers_every_counter_once() {
        assert_eq!(COUNTERS.len(), N_COUNTERS);
        for (i, c) in COUNTERS.iter().enumerate() {
            assert_eq!(c.counter as usize, i);
        }
    }

    #[test]
    fn clock_reads_are_never_torn() {
        let clock = std::sync::Arc::new(EngineClock::default());
        let w = clock.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let writer = std::thread::spawn(move || {
            let mut i = 1u64;
            while !s.load(Ordering::Relaxed) {
                // Frame and time always satisfy nanos = 1000 * frame in a consistent pair.
                w.publish(i, 1000 * i, 256);
                i += 1;
            }
        });
        // Read until the writer has published many times while we were reading.
        let mut seen = 0;
        let mut last = 0;
        while seen < 100_000 || last < 1000 {
            if let Some(r) = clock.read() {
                assert_eq!(r.nanos, 1000 * r.frame, "torn read");
                last = r.frame;
            }
            seen += 1;
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
    }

    #[test]
    fn a_stale_clock_stamps_at_the_last_frame() {
        let c = EngineClock::default();
        assert_eq!(c.frame_at(5, 48_000), 0);
        c.publish(48_000, 1_000_000_000, 256);
        // 10 ms later: extrapolated.
        assert_eq!(c.frame_at(1_010_000_000, 48_000), 48_480);
        // 5 s later with no callback: audio is down, stamp at the last frame.
        assert_eq!(c.frame_at(6_000_000_000, 48_000), 48_000);
    }
}
