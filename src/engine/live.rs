//! What the performer has changed while playing, published by the engine so the control side
//! can save it and restore it after a restart: every pad's gain, speed, EQ, filter, sends,
//! transpose, key lock and sync, and the master volume, global speed, tempo, play mode,
//! quantisation and effect settings. Written with relaxed atomics after each command that
//! changes one of them (real-time safe); a version counter tells the control side something
//! changed.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::command::{EqMode, FxParam, PadConfig, PlayMode, Quantize};
use super::stems::StemMix;
use crate::sample::buffer::MAX_STEMS;

/// Number of effect parameters (see [`FxParam::ALL`]).
pub const FX_PARAMS: usize = FxParam::ALL.len();

/// One pad's live values, as plain data. Real-time safe (Copy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PadLive {
    /// Linear gain.
    pub gain: f32,
    /// Speed factor.
    pub speed: f32,
    /// EQ knobs.
    pub eq: [f32; 3],
    /// DJ filter knob.
    pub filter: f32,
    /// Filter resonance.
    pub resonance: f32,
    /// Delay and reverb sends.
    pub sends: [f32; 2],
    /// Transpose in semitones.
    pub transpose: f32,
    /// Key lock on.
    pub key_lock: bool,
    /// Tempo sync on.
    pub sync: bool,
    /// Isolator (false) or shelf (true) EQ.
    pub shelf: bool,
    /// Stems: mode, mutes, solos, gains.
    pub stems: StemMix,
}

impl PadLive {
    /// The live part of a pad's configuration. Real-time safe.
    pub fn of(cfg: &PadConfig) -> Self {
        Self {
            gain: cfg.gain,
            speed: cfg.speed,
            eq: cfg.fx.eq,
            filter: cfg.fx.filter,
            resonance: cfg.fx.resonance,
            sends: cfg.fx.sends,
            transpose: cfg.transpose,
            key_lock: cfg.key_lock,
            sync: cfg.sync,
            shelf: cfg.fx.eq_mode == EqMode::Shelf,
            stems: cfg.stems,
        }
    }
}

/// The master's live values, as plain data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MasterLive {
    /// Master volume (linear).
    pub volume: f32,
    /// Global speed.
    pub speed: f32,
    /// Transport tempo (where a glide is heading).
    pub bpm: f64,
    /// Exclusive play mode.
    pub exclusive: bool,
    /// Launch quantisation (index of [`Quantize`]).
    pub quantize: u8,
    /// Effect values in [`FxParam`] order; NaN where never set since start.
    pub fx: [f32; FX_PARAMS],
}

const PAD_FIELDS: usize = 12 + MAX_STEMS;

/// The published live state (see the module docs).
#[derive(Debug)]
pub struct LiveState {
    version: AtomicU64,
    pads: Box<[[AtomicU32; PAD_FIELDS]]>,
    /// Present (1) or not (0) per pad.
    present: Box<[AtomicU32]>,
    master: [AtomicU32; 5],
    bpm: AtomicU64,
    fx: [AtomicU32; FX_PARAMS],
}

fn bits(v: f32) -> u32 {
    v.to_bits()
}
fn val(a: &AtomicU32) -> f32 {
    f32::from_bits(a.load(Ordering::Relaxed))
}

impl LiveState {
    /// Room for `pads` pads. Not real-time (allocates).
    pub fn new(pads: usize) -> Self {
        Self {
            version: AtomicU64::new(0),
            pads: (0..pads)
                .map(|_| std::array::from_fn(|_| AtomicU32::new(0)))
                .collect(),
            present: (0..pads).map(|_| AtomicU32::new(0)).collect(),
            master: std::array::from_fn(|_| AtomicU32::new(0)),
            bpm: AtomicU64::new(120f64.to_bits()),
            fx: std::array::from_fn(|_| AtomicU32::new(f32::NAN.to_bits())),
        }
    }

    /// Bumped after every change. Never blocks.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Publishes pad `p`'s live values (None: the pad is empty). Real-time safe.
    pub fn set_pad(&self, p: usize, live: Option<PadLive>) {
        let (Some(slot), Some(present)) = (self.pads.get(p), self.present.get(p)) else {
            return;
        };
        let Some(l) = live else {
            present.store(0, Ordering::Relaxed);
            self.bump();
            return;
        };
        let flags = l.key_lock as u32
            | (l.sync as u32) << 1
            | (l.shelf as u32) << 2
            | (l.stems.on as u32) << 3;
        let g = l.stems.gain;
        let v = [
            bits(l.gain),
            bits(l.speed),
            bits(l.eq[0]),
            bits(l.eq[1]),
            bits(l.eq[2]),
            bits(l.filter),
            bits(l.resonance),
            bits(l.sends[0]),
            bits(l.sends[1]),
            bits(l.transpose),
            flags,
            l.stems.mute as u32 | (l.stems.solo as u32) << 8,
            bits(g[0]),
            bits(g[1]),
            bits(g[2]),
            bits(g[3]),
            bits(g[4]),
            bits(g[5]),
        ];
        for (a, x) in slot.iter().zip(v) {
            a.store(x, Ordering::Relaxed);
        }
        present.store(1, Ordering::Relaxed);
        self.bump();
    }

    /// Pad `p`'s live values (None: empty). Never blocks.
    pub fn pad(&self, p: usize) -> Option<PadLive> {
        if self.present.get(p)?.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let a = self.pads.get(p)?;
        let flags = a[10].load(Ordering::Relaxed);
        let masks = a[11].load(Ordering::Relaxed);
        Some(PadLive {
            gain: val(&a[0]),
            speed: val(&a[1]),
            eq: [val(&a[2]), val(&a[3]), val(&a[4])],
            filter: val(&a[5]),
            resonance: val(&a[6]),
            sends: [val(&a[7]), val(&a[8])],
            transpose: val(&a[9]),
            key_lock: flags & 1 != 0,
            sync: flags & 2 != 0,
            shelf: flags & 4 != 0,
            stems: StemMix {
                on: flags & 8 != 0,
                mute: masks as u8,
                solo: (masks >> 8) as u8,
                gain: std::array::from_fn(|i| val(&a[12 + i])),
            },
        })
    }

    /// Number of pads.
    pub fn pads(&self) -> usize {
        self.pads.len()
    }

    /// Publishes the master's values (effects apart). Real-time safe.
    pub fn set_master(&self, volume: f32, speed: f32, bpm: f64, mode: PlayMode, q: Quantize) {
        self.master[0].store(bits(volume), Ordering::Relaxed);
        self.master[1].store(bits(speed), Ordering::Relaxed);
        self.master[2].store((mode == PlayMode::Exclusive) as u32, Ordering::Relaxed);
        self.master[3].store(quantize_index(q) as u32, Ordering::Relaxed);
        self.bpm.store(bpm.to_bits(), Ordering::Relaxed);
        self.bump();
    }

    /// Publishes an effect parameter's value. Real-time safe.
    pub fn set_fx(&self, p: FxParam, v: f32) {
        if let Some(a) = self.fx.get(p as usize) {
            a.store(bits(v), Ordering::Relaxed);
            self.bump();
        }
    }

    /// The master's values. Never blocks.
    pub fn master(&self) -> MasterLive {
        MasterLive {
            volume: val(&self.master[0]),
            speed: val(&self.master[1]),
            bpm: f64::from_bits(self.bpm.load(Ordering::Relaxed)),
            exclusive: self.master[2].load(Ordering::Relaxed) != 0,
            quantize: self.master[3].load(Ordering::Relaxed) as u8,
            fx: std::array::from_fn(|i| val(&self.fx[i])),
        }
    }
}

/// Quantize values in a fixed order (for storage).
pub const QUANTIZE_ORDER: [Quantize; 5] = [
    Quantize::Off,
    Quantize::Beat,
    Quantize::Bar,
    Quantize::TwoBars,
    Quantize::FourBars,
];

fn quantize_index(q: Quantize) -> usize {
    QUANTIZE_ORDER.iter().position(|&x| x == q).unwrap_or(0)
}
